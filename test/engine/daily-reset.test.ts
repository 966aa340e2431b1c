import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { isValidTimeZone, localDay, nextDailyReset, parseResetTime } from '../../src/engine/daily-reset.js';

const utc = (y: number, mo: number, d: number, h = 0, mi = 0): number => Date.UTC(y, mo - 1, d, h, mi);
const HOUR = 3_600_000;

describe('parseResetTime', () => {
  it.each([
    ['00:00', 0],
    ['04:00', 240],
    ['09:05', 545],
    ['12:30', 750],
    ['19:59', 1199],
    ['23:59', 1439],
  ])('%s → %i minutes', (s, m) => {
    expect(parseResetTime(s)).toBe(m);
  });

  it.each(['', '4:00', '04:0', '004:00', '24:00', '25:00', '04:60', '04:99', '0400', '04-00', ' 04:00', '04:00 ', '04:00\n', '\n04:00', '04:00:00', 'ab:cd', '-1:00', '٠٤:٠٠', '04:00Z'])(
    'rejects %j',
    (s) => {
      expect(parseResetTime(s)).toBeNull();
    },
  );
});

describe('isValidTimeZone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe'])('accepts %s', (tz) => {
    expect(isValidTimeZone(tz)).toBe(true);
  });
  it.each(['', 'Mars/Olympus_Mons', 'Europe/Atlantis', 'not a zone'])('rejects %j', (tz) => {
    expect(isValidTimeZone(tz)).toBe(false);
  });
});

describe('nextDailyReset — default 04:00 in several zones', () => {
  it.each([
    // zone, now, expected — each computed by hand from the zone's offset on that date
    ['UTC', utc(2026, 1, 15, 12), utc(2026, 1, 16, 4)],
    ['UTC', utc(2026, 1, 15, 3, 59), utc(2026, 1, 15, 4)],
    ['Europe/Berlin', utc(2026, 1, 15, 12), utc(2026, 1, 16, 3)], // CET +01:00
    ['Europe/Berlin', utc(2026, 1, 15, 2), utc(2026, 1, 15, 3)], // 03:00 local → same day
    ['Europe/Berlin', utc(2026, 7, 15, 12), utc(2026, 7, 16, 2)], // CEST +02:00
    ['Asia/Tokyo', utc(2026, 1, 15, 12), utc(2026, 1, 15, 19)], // +09:00: 04:00 on the 16th
    ['Asia/Tokyo', utc(2026, 1, 15, 20), utc(2026, 1, 16, 19)], // already the 16th, 05:00 local
    ['Asia/Kolkata', utc(2026, 1, 15, 12), utc(2026, 1, 15, 22, 30)], // +05:30
    ['Asia/Kathmandu', utc(2026, 1, 15, 12), utc(2026, 1, 15, 22, 15)], // +05:45
    ['Pacific/Auckland', utc(2026, 1, 15, 12), utc(2026, 1, 15, 15)], // NZDT +13:00
    ['America/Los_Angeles', utc(2026, 1, 15, 11, 59), utc(2026, 1, 15, 12)], // PST -08:00
  ])('%s, now %i → %i', (tz, now, expected) => {
    expect(nextDailyReset(now, tz, '04:00')).toBe(expected);
  });

  it('is strictly after now: now exactly at a reset gives the next day’s', () => {
    const at = utc(2026, 1, 15, 12); // 04:00 PST
    expect(nextDailyReset(at, 'America/Los_Angeles', '04:00')).toBe(utc(2026, 1, 16, 12));
    expect(nextDailyReset(at - 1, 'America/Los_Angeles', '04:00')).toBe(at);
    expect(nextDailyReset(utc(2026, 1, 15, 4), 'UTC', '04:00')).toBe(utc(2026, 1, 16, 4));
    expect(nextDailyReset(utc(2026, 1, 15, 3), 'Europe/Berlin', '04:00')).toBe(utc(2026, 1, 16, 3));
  });

  it('honours other reset times', () => {
    expect(nextDailyReset(utc(2026, 1, 15, 12), 'UTC', '00:00')).toBe(utc(2026, 1, 16, 0));
    expect(nextDailyReset(utc(2026, 1, 15, 12), 'UTC', '23:59')).toBe(utc(2026, 1, 15, 23, 59));
    expect(nextDailyReset(utc(2026, 1, 15, 12), 'Europe/Berlin', '13:01')).toBe(utc(2026, 1, 15, 12, 1));
    expect(nextDailyReset(utc(2026, 1, 15, 12), 'Europe/Berlin', '13:00')).toBe(utc(2026, 1, 16, 12));
  });

  it('throws RangeError on a malformed reset time or an unknown zone', () => {
    expect(() => nextDailyReset(utc(2026, 1, 15), 'UTC', '4:00')).toThrow(RangeError);
    expect(() => nextDailyReset(utc(2026, 1, 15), 'UTC', '24:00')).toThrow(RangeError);
    expect(() => nextDailyReset(utc(2026, 1, 15), 'Mars/Olympus_Mons', '04:00')).toThrow(RangeError);
  });
});

describe('nextDailyReset — Europe/Berlin DST (2026)', () => {
  // Spring forward: Sun 2026-03-29 01:00Z, 02:00 CET → 03:00 CEST.
  // Fall back:      Sun 2026-10-25 01:00Z, 03:00 CEST → 02:00 CET.

  it('04:00 across spring-forward: 04:00 CET on the 28th, then 04:00 CEST on the 29th (23 h later)', () => {
    const mar28 = utc(2026, 3, 28, 3); // 04:00 CET
    const mar29 = utc(2026, 3, 29, 2); // 04:00 CEST
    const mar30 = utc(2026, 3, 30, 2);
    expect(nextDailyReset(utc(2026, 3, 27, 12), 'Europe/Berlin', '04:00')).toBe(mar28);
    expect(nextDailyReset(mar28, 'Europe/Berlin', '04:00')).toBe(mar29);
    expect(mar29 - mar28).toBe(23 * HOUR);
    expect(nextDailyReset(utc(2026, 3, 29, 1, 30), 'Europe/Berlin', '04:00')).toBe(mar29); // 03:30 CEST
    expect(nextDailyReset(mar29, 'Europe/Berlin', '04:00')).toBe(mar30);
  });

  it('04:00 across fall-back: 04:00 CEST on the 24th, then 04:00 CET on the 25th (25 h later)', () => {
    const oct24 = utc(2026, 10, 24, 2); // 04:00 CEST
    const oct25 = utc(2026, 10, 25, 3); // 04:00 CET
    const oct26 = utc(2026, 10, 26, 3);
    expect(nextDailyReset(oct24, 'Europe/Berlin', '04:00')).toBe(oct25);
    expect(oct25 - oct24).toBe(25 * HOUR);
    expect(nextDailyReset(utc(2026, 10, 25, 0, 30), 'Europe/Berlin', '04:00')).toBe(oct25); // first 02:30
    expect(nextDailyReset(utc(2026, 10, 25, 1, 30), 'Europe/Berlin', '04:00')).toBe(oct25); // second 02:30
    expect(nextDailyReset(oct25, 'Europe/Berlin', '04:00')).toBe(oct26);
  });

  it('a reset time inside the spring-forward gap happens at the first instant after it (03:00 CEST = 01:00Z)', () => {
    const from = utc(2026, 3, 28, 12);
    expect(nextDailyReset(from, 'Europe/Berlin', '02:30')).toBe(utc(2026, 3, 29, 1));
    expect(nextDailyReset(from, 'Europe/Berlin', '02:00')).toBe(utc(2026, 3, 29, 1));
    expect(nextDailyReset(from, 'Europe/Berlin', '02:59')).toBe(utc(2026, 3, 29, 1));
  });

  it('times around the gap are unaffected', () => {
    const from = utc(2026, 3, 28, 12);
    expect(nextDailyReset(from, 'Europe/Berlin', '01:59')).toBe(utc(2026, 3, 29, 0, 59)); // CET
    expect(nextDailyReset(from, 'Europe/Berlin', '03:00')).toBe(utc(2026, 3, 29, 1)); // CEST
    expect(nextDailyReset(from, 'Europe/Berlin', '03:01')).toBe(utc(2026, 3, 29, 1, 1));
  });

  it('02:30 the day before and the day after the gap is plain 02:30 local', () => {
    expect(nextDailyReset(utc(2026, 3, 27, 12), 'Europe/Berlin', '02:30')).toBe(utc(2026, 3, 28, 1, 30)); // CET
    expect(nextDailyReset(utc(2026, 3, 28, 1, 30), 'Europe/Berlin', '02:30')).toBe(utc(2026, 3, 29, 1));
    expect(nextDailyReset(utc(2026, 3, 29, 1), 'Europe/Berlin', '02:30')).toBe(utc(2026, 3, 30, 0, 30)); // CEST
  });

  it('unambiguous times on the fall-back day', () => {
    const from = utc(2026, 10, 24, 12);
    expect(nextDailyReset(from, 'Europe/Berlin', '01:30')).toBe(utc(2026, 10, 24, 23, 30)); // CEST
    expect(nextDailyReset(from, 'Europe/Berlin', '03:00')).toBe(utc(2026, 10, 25, 2)); // CET
  });

  it('a time that occurs twice yields one reset that day, not two', () => {
    const first = nextDailyReset(utc(2026, 10, 24, 12), 'Europe/Berlin', '02:30');
    const after = nextDailyReset(first, 'Europe/Berlin', '02:30');
    expect(after).toBe(utc(2026, 10, 26, 1, 30)); // 02:30 CET on the 26th
  });

  // Regression: wallClock once let Luxon resolve ambiguous and skipped times itself.
  it('a time that occurs twice (02:30 on 2026-10-25) resets at the first occurrence, 00:30Z', () => {
    expect(nextDailyReset(utc(2026, 10, 24, 12), 'Europe/Berlin', '02:30')).toBe(utc(2026, 10, 25, 0, 30));
  });
});

describe('nextDailyReset — America/New_York DST (2026)', () => {
  // Spring forward: Sun 2026-03-08 07:00Z, 02:00 EST → 03:00 EDT.
  // Fall back:      Sun 2026-11-01 06:00Z, 02:00 EDT → 01:00 EST.

  it('04:00 across spring-forward', () => {
    const mar7 = utc(2026, 3, 7, 9); // 04:00 EST
    const mar8 = utc(2026, 3, 8, 8); // 04:00 EDT
    expect(nextDailyReset(utc(2026, 3, 6, 20), 'America/New_York', '04:00')).toBe(mar7);
    expect(nextDailyReset(mar7, 'America/New_York', '04:00')).toBe(mar8);
    expect(nextDailyReset(mar8, 'America/New_York', '04:00')).toBe(utc(2026, 3, 9, 8));
  });

  it('04:00 across fall-back', () => {
    const oct31 = utc(2026, 10, 31, 8); // 04:00 EDT
    const nov1 = utc(2026, 11, 1, 9); // 04:00 EST
    expect(nextDailyReset(oct31, 'America/New_York', '04:00')).toBe(nov1);
    expect(nov1 - oct31).toBe(25 * HOUR);
    expect(nextDailyReset(nov1, 'America/New_York', '04:00')).toBe(utc(2026, 11, 2, 9));
  });

  it('02:30 inside the spring-forward gap resets at 03:00 EDT = 07:00Z', () => {
    expect(nextDailyReset(utc(2026, 3, 7, 12), 'America/New_York', '02:30')).toBe(utc(2026, 3, 8, 7));
  });

  // Regression: wallClock once let Luxon resolve ambiguous and skipped times itself.
  it('01:30 on the fall-back day resets at its first occurrence, 05:30Z', () => {
    expect(nextDailyReset(utc(2026, 10, 31, 12), 'America/New_York', '01:30')).toBe(utc(2026, 11, 1, 5, 30));
  });
});

describe('nextDailyReset — half-hour DST gap (Australia/Lord_Howe)', () => {
  // Lord Howe moves from +10:30 to +11:00 on Sun 2026-10-04 at 02:00 local (15:30Z on the 3rd):
  // local 02:00–02:29 does not exist that day.
  it('02:00 (start of the gap) resets at the first instant after it, 15:30Z', () => {
    expect(nextDailyReset(utc(2026, 10, 3, 3), 'Australia/Lord_Howe', '02:00')).toBe(utc(2026, 10, 3, 15, 30));
  });

  // Regression: wallClock once let Luxon resolve ambiguous and skipped times itself.
  it('02:15 inside the 30-minute gap resets at the first instant after it, 15:30Z', () => {
    expect(nextDailyReset(utc(2026, 10, 3, 3), 'Australia/Lord_Howe', '02:15')).toBe(utc(2026, 10, 3, 15, 30));
  });
});

describe('nextDailyReset — properties', () => {
  const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'Asia/Kathmandu', 'Pacific/Auckland'] as const;
  const Y2026 = utc(2026, 1, 1);
  const Y2027 = utc(2027, 1, 1);
  const hhmmArb = fc
    .tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);

  it('the reset is strictly after now, within 25 h, and the same for every instant before it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Y2026, max: Y2027 }),
        fc.constantFrom(...ZONES),
        hhmmArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (now, tz, hhmm, frac) => {
          const r = nextDailyReset(now, tz, hhmm);
          expect(r).toBeGreaterThan(now);
          expect(r - now).toBeLessThanOrEqual(25 * HOUR);
          const t = now + Math.floor((r - now) * frac);
          if (t < r) expect(nextDailyReset(t, tz, hhmm)).toBe(r);
          expect(nextDailyReset(r - 1, tz, hhmm)).toBe(r);
          expect(nextDailyReset(r, tz, hhmm)).toBeGreaterThan(r);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('the reset is at the wall-clock time, or at a DST transition when that time does not exist', () => {
    fc.assert(
      fc.property(fc.integer({ min: Y2026, max: Y2027 }), fc.constantFrom(...ZONES), hhmmArb, (now, tz, hhmm) => {
        const r = nextDailyReset(now, tz, hhmm);
        const local = DateTime.fromMillis(r, { zone: tz });
        const [h, m] = hhmm.split(':').map(Number);
        if (local.hour !== h || local.minute !== m) {
          // Only legitimate in a spring-forward gap: r is then the transition instant.
          const before = DateTime.fromMillis(r - 1, { zone: tz });
          expect(before.offset).toBeLessThan(local.offset);
          expect(local.second).toBe(0);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('localDay', () => {
  it('start of the local day and its ISO date label', () => {
    expect(localDay(utc(2026, 1, 15, 20), 'Asia/Tokyo')).toEqual({ start: utc(2026, 1, 15, 15), label: '2026-01-16' });
    expect(localDay(utc(2026, 1, 15, 20), 'UTC')).toEqual({ start: utc(2026, 1, 15), label: '2026-01-15' });
    // Berlin midnight on the spring-forward day is still CET.
    expect(localDay(utc(2026, 3, 29, 12), 'Europe/Berlin')).toEqual({ start: utc(2026, 3, 28, 23), label: '2026-03-29' });
  });
});
