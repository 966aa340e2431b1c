import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  ACTIVATION_WINDOW_DEFAULT, activationEnds, countWindows, crossings, decideUnits, exceptionWindows, normaliseThresholds,
  percentOf, quotaExhausted, quotaLimit, retryDelayMs, suspends, wantsEvent, windowStart, type ActivityInterval,
} from '../../src/engine/metering.js';

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);
const SEC = 1000;
const MIN = 60 * SEC;
const DAY = 24 * 3600 * SEC;

describe('device activations', () => {
  it('hold their seat for 90 days from the first authorisation by default', () => {
    expect(ACTIVATION_WINDOW_DEFAULT).toBe(7_776_000);
    const ends = activationEnds(T0, ACTIVATION_WINDOW_DEFAULT);
    expect(ends - T0).toBe(90 * DAY);
    expect(activationEnds(T0, 3600)).toBe(T0 + 3600 * SEC);
  });
});

describe('usage quotas', () => {
  const q = { units: 1000, overage: 5 };

  it('allow up to 105 % and warn from 100 %', () => {
    expect(quotaLimit(q)).toBe(1050);
    expect(decideUnits(0, 740, q)).toEqual({ ok: true, used: 740, percent: 74, warning: false });
    expect(decideUnits(990, 10, q)).toEqual({ ok: true, used: 1000, percent: 100, warning: true });
    expect(decideUnits(1000, 50, q)).toEqual({ ok: true, used: 1050, percent: 105, warning: true });
  });

  it('refuse a report that would pass the limit and count nothing of it', () => {
    expect(decideUnits(1040, 11, q)).toEqual({ ok: false, used: 1040, percent: 104 });
    expect(decideUnits(1050, 1, q)).toEqual({ ok: false, used: 1050, percent: 105 });
    expect(quotaExhausted(1049, q)).toBe(false);
    expect(quotaExhausted(1050, q)).toBe(true);
  });

  it('round the limit down', () => {
    expect(quotaLimit({ units: 10, overage: 5 })).toBe(10);
    expect(quotaLimit({ units: 99, overage: 10 })).toBe(108);
  });

  it('never count past the limit whatever the reports (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 0, max: 50 }), fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 200 }), (units, overage, reports) => {
        const quota = { units, overage };
        let used = 0;
        for (const r of reports) {
          const d = decideUnits(used, r, quota);
          if (d.ok) {
            expect(d.used).toBe(used + r);
            used = d.used;
          } else expect(used + r).toBeGreaterThan(quotaLimit(quota));
        }
        expect(used).toBeLessThanOrEqual(quotaLimit(quota));
      }),
    );
  });

  it('percentages', () => {
    expect(percentOf(1, 3)).toBe(33.33);
    expect(percentOf(0, 0)).toBe(0);
    expect(percentOf(1, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('soft concurrency windows', () => {
  it('align windows to the epoch', () => {
    expect(windowStart(T0 + 200 * SEC, 180)).toBe(T0 + 180 * SEC);
    expect(windowStart(T0 + 180 * SEC, 180)).toBe(T0 + 180 * SEC);
  });

  it('count distinct devices per window over a day of 3-minute windows', () => {
    // Device a works 09:00–17:00, b 09:02–09:05, c 12:00–12:01 twice (one device, two leases),
    // d is live from 16:59 and never ends; e ended exactly when a window began (not active in it).
    const h = (hh: number, mm = 0, ss = 0) => T0 + hh * 3600 * SEC + mm * MIN + ss * SEC;
    const intervals: ActivityInterval[] = [
      { who: 'a', from: h(9), to: h(17) },
      { who: 'b', from: h(9, 2), to: h(9, 5) },
      { who: 'c', from: h(12), to: h(12, 0, 30) },
      { who: 'c', from: h(12, 0, 40), to: h(12, 1) },
      { who: 'd', from: h(16, 59), to: null },
      { who: 'e', from: h(8, 50), to: h(9) },
    ];
    const windows = countWindows(intervals, T0, T0 + DAY, 180);
    expect(windows).toHaveLength(480);
    const at = (t: number) => windows.find((w) => w.from <= t && t < w.to)!;
    expect(at(h(8, 59)).active).toBe(1); // e alone (08:57–09:00)
    expect(at(h(9)).active).toBe(2); // a and b (09:00–09:03)
    expect(at(h(9, 3)).active).toBe(2); // a and b (09:03–09:06)
    expect(at(h(9, 6)).active).toBe(1);
    expect(at(h(12)).active).toBe(2); // a and c, c counted once
    expect(at(h(16, 57)).active).toBe(2); // a and d (16:57–17:00)
    expect(at(h(17)).active).toBe(1); // a ended at 17:00 exactly: only d
    expect(at(h(23, 59)).active).toBe(1);
    // With one seat, exceptions are exactly the windows with two active.
    const ex = exceptionWindows(windows, 1);
    expect(ex.map((w) => new Date(w.from).toISOString().slice(11, 16))).toEqual(['09:00', '09:03', '12:00', '16:57']);
  });

  it('agree with a brute-force count (property)', () => {
    const w = 180 * SEC;
    fc.assert(
      fc.property(
        fc.array(fc.record({ who: fc.constantFrom('a', 'b', 'c', 'd'), from: fc.integer({ min: 0, max: 20 * w }), len: fc.option(fc.integer({ min: 1, max: 5 * w })) }), { maxLength: 20 }),
        (raw) => {
          const ivs = raw.map((r) => ({ who: r.who, from: T0 + r.from, to: r.len === null ? null : T0 + r.from + r.len }));
          const got = countWindows(ivs, T0, T0 + 10 * w, 180);
          for (const win of got) {
            const expected = new Set(ivs.filter((iv) => iv.from < win.to && (iv.to === null || iv.to > win.from)).map((iv) => iv.who)).size;
            expect(win.active).toBe(expected);
          }
        },
      ),
    );
  });

  it('suspend at the exception quota only when there is one', () => {
    expect(suspends(4, 5)).toBe(false);
    expect(suspends(5, 5)).toBe(true);
    expect(suspends(500, null)).toBe(false);
  });
});

describe('alert thresholds', () => {
  const ts = [75, 90, 95, 100, 110];

  it('fire each threshold once per crossing and re-arm below it', () => {
    let fired: number[] = [];
    const step = (value: number) => {
      const c = crossings(ts, value, fired);
      fired = c.fired;
      return c.fire;
    };
    expect(step(50)).toEqual([]);
    expect(step(92)).toEqual([75, 90]); // one check that passes two thresholds fires both
    expect(step(93)).toEqual([]); // still above: quiet
    expect(step(80)).toEqual([]); // 90 re-arms
    expect(step(91)).toEqual([90]); // crossing again fires again
    expect(step(120)).toEqual([95, 100, 110]);
    expect(step(10)).toEqual([]);
    expect(step(76)).toEqual([75]);
  });

  it('report every threshold met', () => {
    expect(crossings(ts, 96, [75, 90]).met).toEqual([75, 90, 95]);
  });

  it('store thresholds sorted and distinct', () => {
    expect(normaliseThresholds([90, 75, 90, 100])).toEqual([75, 90, 100]);
  });
});

describe('delivery', () => {
  it('backs off 10 s doubling, capped at an hour', () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(retryDelayMs(20)).toBe(3600_000);
  });

  it('matches webhook subscriptions', () => {
    expect(wantsEvent(['*'], 'alert')).toBe(true);
    expect(wantsEvent(['alert'], 'alert')).toBe(true);
    expect(wantsEvent(['lease.ended'], 'alert')).toBe(false);
  });
});
