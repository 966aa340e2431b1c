import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { licenseValid, onlyRefusable, orderCandidates } from '../../src/engine/acquisition.js';
import type { CandidateLicense, RefusalShape, Requester } from '../../src/engine/acquisition.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // 2026-01-15T12:00:00Z

function lic(id: string, team: string | null, platform: string | null, extra: Partial<CandidateLicense> = {}): CandidateLicense {
  return { id, team, platform, startsAt: null, expiresAt: null, ...extra };
}

const ids = (ls: readonly CandidateLicense[]): string[] => ls.map((l) => l.id);

const member = (...teams: string[]): Requester => ({ teams, mayBorrow: false });
const admin = (...teams: string[]): Requester => ({ teams, mayBorrow: true });

describe('orderCandidates — seed 003 worked example', () => {
  // Team A: License 1 Android, License 2 iOS; Team B: License 3 Android, License 4
  // unrestricted; Unassigned: License 5 unrestricted.
  const pool: CandidateLicense[] = [
    lic('1', 'A', 'android'),
    lic('2', 'A', 'ios'),
    lic('3', 'B', 'android'),
    lic('4', 'B', null),
    lic('5', null, null),
  ];

  it('scenario 1: a regular user of team A asking for android gets [1, 5]', () => {
    expect(ids(orderCandidates(pool, member('A'), 'android', NOW))).toEqual(['1', '5']);
  });

  it('scenario 2: an admin of team A asking for android gets [1, 3, 5, 4]', () => {
    expect(ids(orderCandidates(pool, admin('A'), 'android', NOW))).toEqual(['1', '3', '5', '4']);
  });

  it('the answer does not depend on the input order when ranks differ', () => {
    const reversed = [...pool].reverse();
    expect(ids(orderCandidates(reversed, member('A'), 'android', NOW))).toEqual(['1', '5']);
    expect(ids(orderCandidates(reversed, admin('A'), 'android', NOW))).toEqual(['1', '3', '5', '4']);
  });

  it('a regular user of team A asking for ios gets [2, 5]', () => {
    expect(ids(orderCandidates(pool, member('A'), 'ios', NOW))).toEqual(['2', '5']);
  });

  it('a regular user of team B asking for android gets own restricted, own unrestricted, unassigned', () => {
    expect(ids(orderCandidates(pool, member('B'), 'android', NOW))).toEqual(['3', '4', '5']);
  });

  it('an admin of team B asking for android borrows team A’s android license before any unrestricted one', () => {
    expect(ids(orderCandidates(pool, admin('B'), 'android', NOW))).toEqual(['3', '1', '4', '5']);
  });

  it('an admin never gets a license restricted to another platform', () => {
    expect(ids(orderCandidates(pool, admin('A'), 'android', NOW))).not.toContain('2');
    expect(ids(orderCandidates(pool, admin('B'), 'roku', NOW))).toEqual(['4', '5']);
  });

  it('a user in no team gets only unassigned licenses; an admin in no team borrows the rest', () => {
    expect(ids(orderCandidates(pool, member(), 'android', NOW))).toEqual(['5']);
    expect(ids(orderCandidates(pool, admin(), 'android', NOW))).toEqual(['1', '3', '5', '4']);
  });
});

describe('orderCandidates — requests without a platform', () => {
  const pool: CandidateLicense[] = [
    lic('a-android', 'A', 'android'),
    lic('a-any', 'A', null),
    lic('u-roku', null, 'roku'),
    lic('u-any', null, null),
    lic('b-ios', 'B', 'ios'),
    lic('b-any', 'B', null),
  ];

  it('a member never gets a restricted license', () => {
    expect(ids(orderCandidates(pool, member('A'), null, NOW))).toEqual(['a-any', 'u-any']);
  });

  it('an admin never gets a restricted license either, even by borrowing', () => {
    expect(ids(orderCandidates(pool, admin('A'), null, NOW))).toEqual(['a-any', 'u-any', 'b-any']);
  });

  it('returns nothing when every license is restricted', () => {
    const restricted = pool.filter((l) => l.platform !== null);
    expect(orderCandidates(restricted, admin('A', 'B'), null, NOW)).toEqual([]);
  });
});

describe('orderCandidates — full ordering of the six groups', () => {
  // Shuffled on purpose: the output order must come from the rules, not the input.
  const pool: CandidateLicense[] = [
    lic('other-any', 'B', null),
    lic('unassigned-any', null, null),
    lic('other-android', 'B', 'android'),
    lic('own-any', 'A', null),
    lic('unassigned-android', null, 'android'),
    lic('own-android', 'A', 'android'),
  ];

  it('member: own restricted, unassigned restricted, own unrestricted, unassigned unrestricted', () => {
    expect(ids(orderCandidates(pool, member('A'), 'android', NOW))).toEqual([
      'own-android',
      'unassigned-android',
      'own-any',
      'unassigned-any',
    ]);
  });

  it('admin: restricted (own, unassigned, other) before unrestricted (own, unassigned, other)', () => {
    expect(ids(orderCandidates(pool, admin('A'), 'android', NOW))).toEqual([
      'own-android',
      'unassigned-android',
      'other-android',
      'own-any',
      'unassigned-any',
      'other-any',
    ]);
  });

  it('platform matching is exact: a request for another platform sees only unrestricted licenses', () => {
    expect(ids(orderCandidates(pool, admin('A'), 'ios', NOW))).toEqual(['own-any', 'unassigned-any', 'other-any']);
  });
});

describe('orderCandidates — users in several teams', () => {
  const pool: CandidateLicense[] = [
    lic('c-android', 'C', 'android'),
    lic('u-any', null, null),
    lic('b-any', 'B', null),
    lic('a-android', 'A', 'android'),
    lic('c-any', 'C', null),
    lic('b-android', 'B', 'android'),
  ];

  it('every team of the user counts as own, ties in input order', () => {
    expect(ids(orderCandidates(pool, member('A', 'B'), 'android', NOW))).toEqual([
      'a-android',
      'b-android',
      'b-any',
      'u-any',
    ]);
  });

  it('the order of the user’s teams does not matter', () => {
    expect(orderCandidates(pool, member('B', 'A'), 'android', NOW)).toEqual(
      orderCandidates(pool, member('A', 'B'), 'android', NOW),
    );
  });

  it('an admin in several teams borrows only from teams they are not in', () => {
    expect(ids(orderCandidates(pool, admin('A', 'B'), 'android', NOW))).toEqual([
      'a-android',
      'b-android',
      'c-android',
      'b-any',
      'u-any',
      'c-any',
    ]);
  });
});

describe('orderCandidates — ties keep the input order', () => {
  it('licenses of equal rank come out in input order', () => {
    const pool = [lic('z', null, null), lic('a', null, null), lic('m', null, null), lic('b', null, null)];
    expect(ids(orderCandidates(pool, member(), null, NOW))).toEqual(['z', 'a', 'm', 'b']);
  });

  it('interleaved ranks: each group keeps its input order', () => {
    const pool = [
      lic('u1', null, null),
      lic('o1', 'A', null),
      lic('u2', null, null),
      lic('r1', 'A', 'android'),
      lic('o2', 'A', null),
      lic('r2', 'A', 'android'),
      lic('u3', null, null),
    ];
    expect(ids(orderCandidates(pool, member('A'), 'android', NOW))).toEqual(['r1', 'r2', 'o1', 'o2', 'u1', 'u2', 'u3']);
  });
});

describe('orderCandidates — result shape', () => {
  it('returns the caller’s own objects (extra fields kept) and does not mutate the input', () => {
    type Rich = CandidateLicense & { seats: number };
    const a: Rich = { ...lic('a', null, null), seats: 3 };
    const b: Rich = { ...lic('b', 'A', null), seats: 5 };
    const input: readonly Rich[] = Object.freeze([a, b]);
    const out = orderCandidates(input, member('A'), null, NOW);
    expect(out).toHaveLength(2);
    expect(out[0]).toBe(b);
    expect(out[1]).toBe(a);
    expect(out[0]?.seats).toBe(5);
    expect(input).toEqual([a, b]);
  });

  it('an empty pool gives an empty list', () => {
    expect(orderCandidates([], admin('A'), 'android', NOW)).toEqual([]);
  });
});

describe('licenseValid and validity dates', () => {
  it('no dates: always valid', () => {
    expect(licenseValid({ startsAt: null, expiresAt: null }, NOW)).toBe(true);
    expect(licenseValid({ startsAt: null, expiresAt: null }, 0)).toBe(true);
  });

  it('startsAt is inclusive', () => {
    expect(licenseValid({ startsAt: NOW, expiresAt: null }, NOW)).toBe(true);
    expect(licenseValid({ startsAt: NOW + 1, expiresAt: null }, NOW)).toBe(false);
    expect(licenseValid({ startsAt: NOW - 1, expiresAt: null }, NOW)).toBe(true);
  });

  it('expiresAt is exclusive', () => {
    expect(licenseValid({ startsAt: null, expiresAt: NOW }, NOW)).toBe(false);
    expect(licenseValid({ startsAt: null, expiresAt: NOW + 1 }, NOW)).toBe(true);
    expect(licenseValid({ startsAt: null, expiresAt: NOW - 1 }, NOW)).toBe(false);
  });

  it('both bounds: valid exactly on [startsAt, expiresAt)', () => {
    const l = { startsAt: NOW, expiresAt: NOW + 1000 };
    expect(licenseValid(l, NOW - 1)).toBe(false);
    expect(licenseValid(l, NOW)).toBe(true);
    expect(licenseValid(l, NOW + 999)).toBe(true);
    expect(licenseValid(l, NOW + 1000)).toBe(false);
  });

  it('an empty window (startsAt === expiresAt) is never valid', () => {
    expect(licenseValid({ startsAt: NOW, expiresAt: NOW }, NOW)).toBe(false);
  });

  it('orderCandidates drops licenses not yet started or already expired, at the exact boundaries', () => {
    const pool = [
      lic('starts-now', null, null, { startsAt: NOW }),
      lic('starts-later', null, null, { startsAt: NOW + 1 }),
      lic('expires-now', null, null, { expiresAt: NOW }),
      lic('expires-later', null, null, { expiresAt: NOW + 1 }),
      lic('expired', 'A', 'android', { startsAt: NOW - 10_000, expiresAt: NOW - 1 }),
      lic('current', 'A', 'android', { startsAt: NOW - 10_000, expiresAt: NOW + 10_000 }),
    ];
    expect(ids(orderCandidates(pool, admin('A'), 'android', NOW))).toEqual(['current', 'starts-now', 'expires-later']);
    // One millisecond later the first license starting later becomes valid.
    expect(ids(orderCandidates(pool, admin('A'), 'android', NOW + 1))).toEqual([
      'current',
      'starts-now',
      'starts-later',
    ]);
  });
});

describe('orderCandidates — properties', () => {
  const TEAMS = ['A', 'B', 'C'] as const;
  const PLATFORMS = ['android', 'ios', 'roku'] as const;
  const T0 = 1_000_000;

  const licenseArb = fc.record({
    team: fc.option(fc.constantFrom(...TEAMS), { nil: null }),
    platform: fc.option(fc.constantFrom(...PLATFORMS), { nil: null }),
    startsAt: fc.option(fc.integer({ min: T0 - 5, max: T0 + 5 }), { nil: null }),
    expiresAt: fc.option(fc.integer({ min: T0 - 5, max: T0 + 5 }), { nil: null }),
  });
  const poolArb = fc
    .array(licenseArb, { maxLength: 25 })
    .map((ls) => ls.map((l, i): CandidateLicense => ({ id: `L${i}`, ...l })));
  const requesterArb: fc.Arbitrary<Requester> = fc.record({
    teams: fc.uniqueArray(fc.constantFrom(...TEAMS), { maxLength: 3 }),
    mayBorrow: fc.boolean(),
  });
  const platformArb = fc.option(fc.constantFrom(...PLATFORMS), { nil: null });
  const nowArb = fc.integer({ min: T0 - 6, max: T0 + 6 });

  /** Independent statement of the rules: may the requester use it at all? */
  function allowed(l: CandidateLicense, who: Requester, platform: string | null, now: number): boolean {
    const started = l.startsAt === null || l.startsAt <= now;
    const notExpired = l.expiresAt === null || now < l.expiresAt;
    const platformOk = l.platform === null || l.platform === platform;
    const teamOk = l.team === null || who.teams.includes(l.team) || who.mayBorrow;
    return started && notExpired && platformOk && teamOk;
  }
  const ownership = (l: CandidateLicense, who: Requester): number =>
    l.team === null ? 1 : who.teams.includes(l.team) ? 0 : 2;

  it('output is a duplicate-free subset of the input holding exactly the usable licenses', () => {
    fc.assert(
      fc.property(poolArb, requesterArb, platformArb, nowArb, (pool, who, platform, now) => {
        const out = orderCandidates(pool, who, platform, now);
        expect(new Set(out).size).toBe(out.length);
        for (const l of out) {
          expect(pool).toContain(l);
          expect(allowed(l, who, platform, now)).toBe(true);
        }
        const expected = pool.filter((l) => allowed(l, who, platform, now));
        expect(new Set(out)).toEqual(new Set(expected));
      }),
      { numRuns: 500 },
    );
  });

  it('no license the requester may not use: no foreign team for members, no restricted license without a platform', () => {
    fc.assert(
      fc.property(poolArb, requesterArb, platformArb, nowArb, (pool, who, platform, now) => {
        const out = orderCandidates(pool, who, platform, now);
        for (const l of out) {
          if (!who.mayBorrow && l.team !== null) expect(who.teams).toContain(l.team);
          if (platform === null) expect(l.platform).toBeNull();
          else if (l.platform !== null) expect(l.platform).toBe(platform);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('restricted matching licenses precede unrestricted ones; own < unassigned < other within each; ties in input order', () => {
    fc.assert(
      fc.property(poolArb, requesterArb, platformArb, nowArb, (pool, who, platform, now) => {
        const out = orderCandidates(pool, who, platform, now);
        for (let i = 1; i < out.length; i++) {
          const a = out[i - 1]!;
          const b = out[i]!;
          const ga = a.platform === null ? 1 : 0;
          const gb = b.platform === null ? 1 : 0;
          expect(ga).toBeLessThanOrEqual(gb);
          if (ga === gb) {
            const oa = ownership(a, who);
            const ob = ownership(b, who);
            expect(oa).toBeLessThanOrEqual(ob);
            if (oa === ob) expect(pool.indexOf(a)).toBeLessThan(pool.indexOf(b));
          }
        }
        const lastRestricted = out.findLastIndex((l) => l.platform !== null);
        const firstUnrestricted = out.findIndex((l) => l.platform === null);
        if (lastRestricted !== -1 && firstUnrestricted !== -1) expect(lastRestricted).toBeLessThan(firstUnrestricted);
      }),
      { numRuns: 500 },
    );
  });

  it('a member’s list is the admin’s list without other teams’ licenses, in the same order', () => {
    fc.assert(
      fc.property(poolArb, requesterArb, platformArb, nowArb, (pool, who, platform, now) => {
        const asAdmin = orderCandidates(pool, { ...who, mayBorrow: true }, platform, now);
        const asMember = orderCandidates(pool, { ...who, mayBorrow: false }, platform, now);
        expect(asMember).toEqual(asAdmin.filter((l) => l.team === null || who.teams.includes(l.team)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('onlyRefusable — which requests a full product can only refuse', () => {
  const plain: RefusalShape = { seatModel: 'session', seatKey: null, join: null, maxLeases: null, hasQuota: false, standby: false, wait: false, flex: false };

  it('a plain session request has no way but a free seat', () => {
    expect(onlyRefusable(plain)).toBe(true);
    expect(onlyRefusable({ ...plain, seatModel: 'user-device' })).toBe(true); // no device named: no seat key
  });

  it('every way out of a refusal, or a refusal of another kind, needs the full acquisition', () => {
    const others: Partial<RefusalShape>[] = [
      { seatModel: 'device' }, { seatKey: 'u:usr_1' }, { join: 'ABCD-1234' }, { maxLeases: 2 }, { maxLeases: 0 },
      { hasQuota: true }, { standby: true }, { wait: true }, { flex: true },
    ];
    for (const o of others) expect(onlyRefusable({ ...plain, ...o }), JSON.stringify(o)).toBe(false);
  });
});
