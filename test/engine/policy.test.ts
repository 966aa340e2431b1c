import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crossedBelow, dueActions, flexEligible, flexTimes, mayUse, nextDue, pickWaiter } from '../../src/engine/policy.js';
import type { FlexWaiter, LeaseClock, TicketWaiter } from '../../src/engine/policy.js';
import type { CandidateLicense, Requester } from '../../src/engine/acquisition.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0); // 2026-01-15T12:00:00Z
const SEC = 1000;
const MIN = 60 * SEC;

function lic(id: string, team: string | null, platform: string | null, extra: Partial<CandidateLicense> = {}): CandidateLicense {
  return { id, team, platform, startsAt: null, expiresAt: null, ...extra };
}

const member = (...teams: string[]): Requester => ({ teams, mayBorrow: false });
const admin = (...teams: string[]): Requester => ({ teams, mayBorrow: true });

function flexW(id: string, startedAt: number, who: Requester, platform: string | null = null): FlexWaiter {
  return { id, startedAt, who, platform };
}

function ticket(id: string, createdAt: number, who: Requester, platform: string | null = null, expiresAt = NOW + 10 * MIN): TicketWaiter {
  return { id, createdAt, expiresAt, who, platform };
}

function clock(extra: Partial<LeaseClock> = {}): LeaseClock {
  return { sessions: 1, endsAt: null, noticeAt: null, ppuPaidUntil: null, timer: null, timerAt: null, ...extra };
}

// Seed 003 license pool. Team A: License 1 Android, License 2 iOS; Team B: License 3
// Android, License 4 unrestricted; Unassigned: License 5 unrestricted.
const L1 = lic('1', 'A', 'android');
const L2 = lic('2', 'A', 'ios');
const L3 = lic('3', 'B', 'android');
const L4 = lic('4', 'B', null);
const L5 = lic('5', null, null);

describe('flexEligible', () => {
  const channels = ['access'];

  it('offers flex on a listed channel when the request did not say', () => {
    expect(flexEligible('access', channels, undefined)).toBe(true);
  });

  it('offers flex on a listed channel when the request asked for it', () => {
    expect(flexEligible('access', channels, true)).toBe(true);
  });

  it('does not offer flex on a channel that is not listed', () => {
    expect(flexEligible('appium', channels, undefined)).toBe(false);
    expect(flexEligible('automation', ['access', 'appium'], undefined)).toBe(false);
  });

  it('honours any channel of a longer list', () => {
    expect(flexEligible('appium', ['access', 'appium'], undefined)).toBe(true);
  });

  it('does not offer flex when the request has no channel', () => {
    expect(flexEligible(null, channels, undefined)).toBe(false);
    expect(flexEligible(null, channels, true)).toBe(false);
  });

  it('does not offer flex when the product has no flex channel', () => {
    expect(flexEligible('access', [], undefined)).toBe(false);
  });

  it('an explicit opt-out (flex: false) wins over a flex channel', () => {
    expect(flexEligible('access', channels, false)).toBe(false);
  });

  it('asking for flex on a non-flex channel does not make it eligible', () => {
    expect(flexEligible('appium', channels, true)).toBe(false);
  });

  it('matches channel names exactly (no prefix or case folding)', () => {
    expect(flexEligible('Access', channels, undefined)).toBe(false);
    expect(flexEligible('acc', channels, undefined)).toBe(false);
  });
});

describe('flexTimes', () => {
  it('ends a 30-minute flex lease 30 minutes from now and warns one minute before', () => {
    expect(flexTimes(NOW, 1800)).toEqual({ endsAt: NOW + 30 * MIN, noticeAt: NOW + 29 * MIN });
  });

  it('warns half the duration before the end for a short flex lease (30 s → 15 s before)', () => {
    expect(flexTimes(NOW, 30)).toEqual({ endsAt: NOW + 30 * SEC, noticeAt: NOW + 15 * SEC });
  });

  it('a 90 s flex lease is warned 45 s before its end', () => {
    expect(flexTimes(NOW, 90)).toEqual({ endsAt: NOW + 90 * SEC, noticeAt: NOW + 45 * SEC });
  });

  it('a 2-minute flex lease is exactly at the boundary: warned one minute before', () => {
    expect(flexTimes(NOW, 120)).toEqual({ endsAt: NOW + 2 * MIN, noticeAt: NOW + 1 * MIN });
  });

  it('takes seconds, not milliseconds, and starts from the given now', () => {
    const later = NOW + 5 * MIN;
    const t = flexTimes(later, 600);
    expect(t.endsAt).toBe(later + 10 * MIN);
    expect(t.noticeAt).toBe(later + 9 * MIN);
  });

  it('property: the notice is never before now, never after the end, and at most a minute early', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000_000_000 }), fc.integer({ min: 1, max: 7 * 24 * 3600 }), (now, d) => {
        const { endsAt, noticeAt } = flexTimes(now, d);
        expect(endsAt).toBe(now + d * 1000);
        expect(noticeAt).toBeGreaterThanOrEqual(now);
        expect(noticeAt).toBeLessThan(endsAt);
        expect(endsAt - noticeAt).toBe(Math.min(60_000, (d * 1000) / 2));
      }),
    );
  });
});

describe('mayUse', () => {
  it('follows the seed 003 eligibility: members use own team and unassigned, matching platform', () => {
    const a = member('A');
    expect(mayUse(L1, a, 'android', NOW)).toBe(true);
    expect(mayUse(L2, a, 'android', NOW)).toBe(false); // wrong platform
    expect(mayUse(L3, a, 'android', NOW)).toBe(false); // other team
    expect(mayUse(L4, a, 'android', NOW)).toBe(false); // other team
    expect(mayUse(L5, a, 'android', NOW)).toBe(true);
  });

  it('admins may borrow other teams’ licenses but never another platform’s', () => {
    const a = admin('A');
    expect(mayUse(L3, a, 'android', NOW)).toBe(true);
    expect(mayUse(L4, a, 'android', NOW)).toBe(true);
    expect(mayUse(L2, a, 'android', NOW)).toBe(false);
    expect(mayUse(L3, a, null, NOW)).toBe(false); // restricted license, request without platform
  });

  it('a license that is not valid at now may not be used', () => {
    expect(mayUse(lic('x', null, null, { expiresAt: NOW }), member(), null, NOW)).toBe(false);
    expect(mayUse(lic('x', null, null, { startsAt: NOW + 1 }), member(), null, NOW)).toBe(false);
    expect(mayUse(lic('x', null, null, { startsAt: NOW, expiresAt: NOW + 1 }), member(), null, NOW)).toBe(true);
  });
});

describe('pickWaiter — upgrades before the queue', () => {
  it('a flex lease that may use the license wins over an older ticket', () => {
    const flex = [flexW('f1', NOW - 1 * MIN, member('A'), 'android')];
    const tickets = [ticket('t1', NOW - 10 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, flex, tickets, NOW)).toEqual({ kind: 'upgrade', id: 'f1' });
  });

  it('upgrades the oldest flex lease first, whatever the input order', () => {
    const flex = [
      flexW('f-new', NOW - 1 * MIN, member('A'), 'android'),
      flexW('f-old', NOW - 5 * MIN, member('A'), 'android'),
      flexW('f-mid', NOW - 3 * MIN, member(), 'android'),
    ];
    expect(pickWaiter(L5, flex, [], NOW)).toEqual({ kind: 'upgrade', id: 'f-old' });
    expect(pickWaiter(L5, [...flex].reverse(), [], NOW)).toEqual({ kind: 'upgrade', id: 'f-old' });
  });

  it('breaks a tie on startedAt by id', () => {
    const flex = [flexW('f-b', NOW - MIN, member(), null), flexW('f-a', NOW - MIN, member(), null)];
    expect(pickWaiter(L5, flex, [], NOW)).toEqual({ kind: 'upgrade', id: 'f-a' });
  });

  it('passes over an older flex lease of another team (member) for a younger one that may use it', () => {
    const flex = [flexW('f-teamB', NOW - 5 * MIN, member('B'), 'android'), flexW('f-teamA', NOW - 1 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, flex, [], NOW)).toEqual({ kind: 'upgrade', id: 'f-teamA' });
  });

  it('passes over an older flex lease on another platform', () => {
    const flex = [flexW('f-ios', NOW - 5 * MIN, member('A'), 'ios'), flexW('f-android', NOW - 1 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, flex, [], NOW)).toEqual({ kind: 'upgrade', id: 'f-android' });
  });

  it('a flex lease that may not use the license does not block the queue', () => {
    const flex = [flexW('f-teamB', NOW - 5 * MIN, member('B'), 'android')];
    const tickets = [ticket('t1', NOW - 1 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, flex, tickets, NOW)).toEqual({ kind: 'ticket', id: 't1' });
  });

  it('an admin’s flex lease is upgraded onto another team’s license (seed 003 rule 3)', () => {
    const flex = [flexW('f-member-A', NOW - 5 * MIN, member('A'), 'android'), flexW('f-admin-A', NOW - 1 * MIN, admin('A'), 'android')];
    expect(pickWaiter(L3, flex, [], NOW)).toEqual({ kind: 'upgrade', id: 'f-admin-A' });
  });
});

describe('pickWaiter — queue tickets', () => {
  it('serves tickets first-come first-served by createdAt, whatever the input order', () => {
    const tickets = [ticket('t-late', NOW - 1 * MIN, member()), ticket('t-early', NOW - 3 * MIN, member()), ticket('t-mid', NOW - 2 * MIN, member())];
    expect(pickWaiter(L5, [], tickets, NOW)).toEqual({ kind: 'ticket', id: 't-early' });
    expect(pickWaiter(L5, [], [...tickets].reverse(), NOW)).toEqual({ kind: 'ticket', id: 't-early' });
  });

  it('breaks a tie on createdAt by id', () => {
    const tickets = [ticket('t-2', NOW - MIN, member()), ticket('t-1', NOW - MIN, member()), ticket('t-3', NOW - MIN, member())];
    expect(pickWaiter(L5, [], tickets, NOW)).toEqual({ kind: 'ticket', id: 't-1' });
  });

  it('skips an expired ticket (expiresAt in the past)', () => {
    const tickets = [ticket('t-expired', NOW - 5 * MIN, member(), null, NOW - 1), ticket('t-live', NOW - 1 * MIN, member())];
    expect(pickWaiter(L5, [], tickets, NOW)).toEqual({ kind: 'ticket', id: 't-live' });
  });

  it('a ticket expiring exactly now is expired; one expiring a millisecond later is live', () => {
    const expiringNow = [ticket('t-now', NOW - 5 * MIN, member(), null, NOW), ticket('t-next', NOW - 1 * MIN, member())];
    expect(pickWaiter(L5, [], expiringNow, NOW)).toEqual({ kind: 'ticket', id: 't-next' });
    const expiringLater = [ticket('t-soon', NOW - 5 * MIN, member(), null, NOW + 1), ticket('t-next', NOW - 1 * MIN, member())];
    expect(pickWaiter(L5, [], expiringLater, NOW)).toEqual({ kind: 'ticket', id: 't-soon' });
  });

  it('skips a ticket of another team but serves the next eligible one', () => {
    const tickets = [ticket('t-B', NOW - 5 * MIN, member('B'), 'android'), ticket('t-A', NOW - 1 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, [], tickets, NOW)).toEqual({ kind: 'ticket', id: 't-A' });
  });

  it('skips a ticket for another platform but serves the next eligible one', () => {
    const tickets = [ticket('t-ios', NOW - 5 * MIN, member('A'), 'ios'), ticket('t-android', NOW - 1 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, [], tickets, NOW)).toEqual({ kind: 'ticket', id: 't-android' });
  });

  it('a restricted license does not serve a ticket without a platform', () => {
    const tickets = [ticket('t-any', NOW - 5 * MIN, member('A'), null), ticket('t-android', NOW - 1 * MIN, member('A'), 'android')];
    expect(pickWaiter(L1, [], tickets, NOW)).toEqual({ kind: 'ticket', id: 't-android' });
  });

  it('returns null when nobody may use the license', () => {
    const flex = [flexW('f-B', NOW - 5 * MIN, member('B'), 'android'), flexW('f-ios', NOW - 4 * MIN, member('A'), 'ios')];
    const tickets = [
      ticket('t-B', NOW - 5 * MIN, member('B'), 'android'),
      ticket('t-ios', NOW - 4 * MIN, member('A'), 'ios'),
      ticket('t-expired', NOW - 3 * MIN, member('A'), 'android', NOW - 1),
    ];
    expect(pickWaiter(L1, flex, tickets, NOW)).toBeNull();
  });

  it('returns null when nobody waits', () => {
    expect(pickWaiter(L5, [], [], NOW)).toBeNull();
  });

  it('a license that is no longer valid serves nobody', () => {
    const expired = lic('x', null, null, { expiresAt: NOW });
    expect(pickWaiter(expired, [flexW('f', NOW - MIN, member())], [ticket('t', NOW - MIN, member())], NOW)).toBeNull();
  });
});

describe('pickWaiter — seed 003 pool', () => {
  // Waiters: a member of A (android), a member of B (android), an admin of A (android), a
  // member of A (ios), a member of nobody's team (no platform); oldest first in that order.
  const tickets = [
    ticket('memberA-android', NOW - 5 * MIN, member('A'), 'android'),
    ticket('memberB-android', NOW - 4 * MIN, member('B'), 'android'),
    ticket('adminA-android', NOW - 3 * MIN, admin('A'), 'android'),
    ticket('memberA-ios', NOW - 2 * MIN, member('A'), 'ios'),
    ticket('nobody-any', NOW - 1 * MIN, member(), null),
  ];
  const pick = (l: CandidateLicense, ts: readonly TicketWaiter[] = tickets) => pickWaiter(l, [], ts, NOW);

  it('license 1 (A, android) goes to the oldest team-A android ticket', () => {
    expect(pick(L1)).toEqual({ kind: 'ticket', id: 'memberA-android' });
  });

  it('license 2 (A, ios) skips the android tickets and serves the team-A ios one', () => {
    expect(pick(L2)).toEqual({ kind: 'ticket', id: 'memberA-ios' });
  });

  it('license 3 (B, android) goes to the member of B, not the older member of A', () => {
    expect(pick(L3)).toEqual({ kind: 'ticket', id: 'memberB-android' });
  });

  it('license 3 (B, android) goes to the admin of A once team B no longer waits', () => {
    const withoutB = tickets.filter((t) => t.id !== 'memberB-android');
    expect(pick(L3, withoutB)).toEqual({ kind: 'ticket', id: 'adminA-android' });
  });

  it('license 4 (B, unrestricted) goes to the member of B; without them, to the admin of A', () => {
    expect(pick(L4)).toEqual({ kind: 'ticket', id: 'memberB-android' });
    expect(pick(L4, tickets.filter((t) => t.id !== 'memberB-android'))).toEqual({ kind: 'ticket', id: 'adminA-android' });
  });

  it('license 4 (B, unrestricted) is not served to members of A, nor to a user in no team', () => {
    const noB = tickets.filter((t) => t.id === 'memberA-android' || t.id === 'memberA-ios' || t.id === 'nobody-any');
    expect(pick(L4, noB)).toBeNull();
  });

  it('license 5 (unassigned, unrestricted) goes to the oldest ticket of all', () => {
    expect(pick(L5)).toEqual({ kind: 'ticket', id: 'memberA-android' });
  });

  it('license 5 serves a user in no team when nobody older waits', () => {
    expect(pick(L5, tickets.filter((t) => t.id === 'nobody-any'))).toEqual({ kind: 'ticket', id: 'nobody-any' });
  });

  it('an admin of A may take license 4 of team B while waiting as flex', () => {
    const flex = [flexW('f-memberA', NOW - 9 * MIN, member('A'), 'android'), flexW('f-adminA', NOW - 8 * MIN, admin('A'), 'android')];
    expect(pickWaiter(L4, flex, tickets, NOW)).toEqual({ kind: 'upgrade', id: 'f-adminA' });
  });
});

describe('pickWaiter — property', () => {
  const TEAMS = ['A', 'B', 'C'] as const;
  const PLATFORMS = ['android', 'ios', 'roku'] as const;
  const T0 = NOW - 60 * MIN;

  const teamArb = fc.constantFrom<string | null>(null, ...TEAMS);
  const platformArb = fc.constantFrom<string | null>(null, ...PLATFORMS);
  const whoArb: fc.Arbitrary<Requester> = fc.record({ teams: fc.subarray([...TEAMS]), mayBorrow: fc.boolean() });
  const licenseArb: fc.Arbitrary<CandidateLicense> = fc.record({
    id: fc.constant('L'),
    team: teamArb,
    platform: platformArb,
    startsAt: fc.option(fc.integer({ min: NOW - 2 * MIN, max: NOW + 2 * MIN }), { nil: null }),
    expiresAt: fc.option(fc.integer({ min: NOW - 2 * MIN, max: NOW + 2 * MIN }), { nil: null }),
  });
  // Small time ranges so that ties on startedAt / createdAt happen often.
  const flexArb = fc.array(fc.record({ startedAt: fc.integer({ min: 0, max: 5 }), who: whoArb, platform: platformArb }), { maxLength: 6 });
  const ticketArb = fc.array(
    fc.record({
      createdAt: fc.integer({ min: 0, max: 5 }),
      expiresIn: fc.integer({ min: -3, max: 3 }),
      who: whoArb,
      platform: platformArb,
    }),
    { maxLength: 8 },
  );

  /** Independent model of SPEC §4 eligibility, not using the engine. */
  function eligible(l: CandidateLicense, who: Requester, platform: string | null, now: number): boolean {
    const valid = (l.startsAt === null || l.startsAt <= now) && (l.expiresAt === null || now < l.expiresAt);
    const platformOk = l.platform === null || l.platform === platform;
    const teamOk = l.team === null || who.teams.includes(l.team) || who.mayBorrow;
    return valid && platformOk && teamOk;
  }
  const before = (a: { t: number; id: string }, b: { t: number; id: string }): boolean => a.t < b.t || (a.t === b.t && a.id < b.id);

  it('chooses the oldest eligible flex lease, else the first live eligible ticket, else nobody', () => {
    fc.assert(
      fc.property(licenseArb, flexArb, ticketArb, (license, rawFlex, rawTickets) => {
        // Ids deliberately not in time order (and 'f10' < 'f2' as strings) to exercise tie-breaks.
        const flex: FlexWaiter[] = rawFlex.map((f, i) => ({ id: `f${(i * 7) % 11}`, startedAt: T0 + f.startedAt, who: f.who, platform: f.platform }));
        const tickets: TicketWaiter[] = rawTickets.map((t, i) => ({
          id: `t${(i * 7) % 11}`,
          createdAt: T0 + t.createdAt,
          expiresAt: NOW + t.expiresIn,
          who: t.who,
          platform: t.platform,
        }));
        const choice = pickWaiter(license, flex, tickets, NOW);

        const eligibleFlex = flex.filter((f) => eligible(license, f.who, f.platform, NOW));
        const liveEligibleTickets = tickets.filter((t) => t.expiresAt > NOW && eligible(license, t.who, t.platform, NOW));

        if (choice === null) {
          expect(eligibleFlex).toEqual([]);
          expect(liveEligibleTickets).toEqual([]);
        } else if (choice.kind === 'upgrade') {
          const chosen = flex.find((f) => f.id === choice.id);
          expect(chosen).toBeDefined();
          if (chosen === undefined) return;
          expect(eligible(license, chosen.who, chosen.platform, NOW)).toBe(true);
          for (const f of eligibleFlex) {
            expect(before({ t: f.startedAt, id: f.id }, { t: chosen.startedAt, id: chosen.id })).toBe(false);
          }
        } else {
          expect(choice.kind).toBe('ticket');
          expect(eligibleFlex).toEqual([]);
          const chosen = tickets.find((t) => t.id === choice.id);
          expect(chosen).toBeDefined();
          if (chosen === undefined) return;
          expect(chosen.expiresAt).toBeGreaterThan(NOW);
          expect(eligible(license, chosen.who, chosen.platform, NOW)).toBe(true);
          for (const t of liveEligibleTickets) {
            expect(before({ t: t.createdAt, id: t.id }, { t: chosen.createdAt, id: chosen.id })).toBe(false);
          }
        }
        // Somebody is chosen exactly when somebody may be served.
        expect(choice === null).toBe(eligibleFlex.length === 0 && liveEligibleTickets.length === 0);
      }),
      { numRuns: 500 },
    );
  });

  it('does not depend on the order of the waiter lists', () => {
    fc.assert(
      fc.property(licenseArb, flexArb, ticketArb, fc.boolean(), (license, rawFlex, rawTickets, rev) => {
        const flex: FlexWaiter[] = rawFlex.map((f, i) => ({ id: `f${i}`, startedAt: T0 + f.startedAt, who: f.who, platform: f.platform }));
        const tickets: TicketWaiter[] = rawTickets.map((t, i) => ({
          id: `t${i}`,
          createdAt: T0 + t.createdAt,
          expiresAt: NOW + t.expiresIn,
          who: t.who,
          platform: t.platform,
        }));
        const shuffledFlex = rev ? [...flex].reverse() : [...flex.slice(1), ...flex.slice(0, 1)];
        const shuffledTickets = rev ? [...tickets].reverse() : [...tickets.slice(1), ...tickets.slice(0, 1)];
        expect(pickWaiter(license, shuffledFlex, shuffledTickets, NOW)).toEqual(pickWaiter(license, flex, tickets, NOW));
      }),
    );
  });

  it('does not mutate its inputs', () => {
    const flex = [flexW('f2', NOW - MIN, member()), flexW('f1', NOW - 2 * MIN, member())];
    const tickets = [ticket('t2', NOW - MIN, member()), ticket('t1', NOW - 2 * MIN, member())];
    pickWaiter(L5, flex, tickets, NOW);
    expect(flex.map((f) => f.id)).toEqual(['f2', 'f1']);
    expect(tickets.map((t) => t.id)).toEqual(['t2', 't1']);
  });
});

describe('dueActions', () => {
  it('nothing pending → []', () => {
    expect(dueActions(clock(), NOW)).toEqual([]);
  });

  it('everything pending but in the future → []', () => {
    const c = clock({ endsAt: NOW + 1, noticeAt: NOW + 1, ppuPaidUntil: NOW + 1, timer: 'linger', timerAt: NOW + 1 });
    expect(dueActions(c, NOW)).toEqual([]);
  });

  it('a forced end is due exactly at endsAt, not a millisecond before', () => {
    expect(dueActions(clock({ endsAt: NOW }), NOW)).toEqual([{ kind: 'end', cause: 'forced' }]);
    expect(dueActions(clock({ endsAt: NOW }), NOW - 1)).toEqual([]);
  });

  it('a forced end wins over everything and is the only action', () => {
    const c = clock({ endsAt: NOW - 1, noticeAt: NOW - MIN, ppuPaidUntil: NOW - MIN, timer: 'daily-reset', timerAt: NOW - MIN });
    expect(dueActions(c, NOW)).toEqual([{ kind: 'end', cause: 'forced' }]);
  });

  it('debits a pay-per-use minute once the paid-for minute has passed (boundary included)', () => {
    expect(dueActions(clock({ ppuPaidUntil: NOW }), NOW)).toEqual([{ kind: 'ppu-debit' }]);
    expect(dueActions(clock({ ppuPaidUntil: NOW - 30 * SEC }), NOW)).toEqual([{ kind: 'ppu-debit' }]);
    expect(dueActions(clock({ ppuPaidUntil: NOW + 1 }), NOW)).toEqual([]);
  });

  it('sends the notice once noticeAt has passed (boundary included), the end still pending', () => {
    expect(dueActions(clock({ endsAt: NOW + MIN, noticeAt: NOW }), NOW)).toEqual([{ kind: 'notice' }]);
    expect(dueActions(clock({ endsAt: NOW + MIN, noticeAt: NOW - 1 }), NOW)).toEqual([{ kind: 'notice' }]);
    expect(dueActions(clock({ endsAt: NOW + MIN, noticeAt: NOW + 1 }), NOW)).toEqual([]);
  });

  it('fires a linger timer at timerAt (boundary included)', () => {
    expect(dueActions(clock({ sessions: 0, timer: 'linger', timerAt: NOW }), NOW)).toEqual([{ kind: 'release-timer', timer: 'linger' }]);
    expect(dueActions(clock({ sessions: 0, timer: 'linger', timerAt: NOW + 1 }), NOW)).toEqual([]);
  });

  it('fires a daily-reset timer at timerAt', () => {
    expect(dueActions(clock({ sessions: 0, timer: 'daily-reset', timerAt: NOW - 1 }), NOW)).toEqual([
      { kind: 'release-timer', timer: 'daily-reset' },
    ]);
  });

  it('fires the timer whatever the session count (onLeaseTimer decides later)', () => {
    expect(dueActions(clock({ sessions: 3, timer: 'linger', timerAt: NOW }), NOW)).toEqual([{ kind: 'release-timer', timer: 'linger' }]);
    expect(dueActions(clock({ sessions: 1, timer: 'daily-reset', timerAt: NOW }), NOW)).toEqual([
      { kind: 'release-timer', timer: 'daily-reset' },
    ]);
  });

  it('ignores a timer instant without a timer kind, and a timer kind without an instant', () => {
    expect(dueActions(clock({ timer: null, timerAt: NOW - MIN }), NOW)).toEqual([]);
    expect(dueActions(clock({ timer: 'linger', timerAt: null }), NOW)).toEqual([]);
  });

  it('several due at once come as ppu-debit, notice, release-timer', () => {
    const c = clock({ endsAt: NOW + MIN, noticeAt: NOW - 2, ppuPaidUntil: NOW - 1, timer: 'linger', timerAt: NOW - 3 });
    expect(dueActions(c, NOW)).toEqual([{ kind: 'ppu-debit' }, { kind: 'notice' }, { kind: 'release-timer', timer: 'linger' }]);
  });

  it('only the due ones of several pending are returned, in order', () => {
    const c = clock({ endsAt: NOW + MIN, noticeAt: NOW + 1, ppuPaidUntil: NOW, timer: 'daily-reset', timerAt: NOW });
    expect(dueActions(c, NOW)).toEqual([{ kind: 'ppu-debit' }, { kind: 'release-timer', timer: 'daily-reset' }]);
  });

  it('walking the flex lease from flexTimes: nothing, then the notice, then the end', () => {
    const { endsAt, noticeAt } = flexTimes(NOW, 30);
    const c = clock({ endsAt, noticeAt });
    expect(dueActions(c, NOW)).toEqual([]);
    expect(dueActions(c, NOW + 15 * SEC - 1)).toEqual([]);
    expect(dueActions(c, NOW + 15 * SEC)).toEqual([{ kind: 'notice' }]);
    expect(dueActions(c, NOW + 30 * SEC - 1)).toEqual([{ kind: 'notice' }]);
    expect(dueActions(c, NOW + 30 * SEC)).toEqual([{ kind: 'end', cause: 'forced' }]);
  });
});

describe('nextDue', () => {
  it('null when nothing is pending', () => {
    expect(nextDue(clock())).toBeNull();
  });

  it('the only pending time when there is one', () => {
    expect(nextDue(clock({ endsAt: NOW + 5 * MIN }))).toBe(NOW + 5 * MIN);
    expect(nextDue(clock({ noticeAt: NOW + 4 * MIN }))).toBe(NOW + 4 * MIN);
    expect(nextDue(clock({ ppuPaidUntil: NOW + 3 * MIN }))).toBe(NOW + 3 * MIN);
    expect(nextDue(clock({ timer: 'linger', timerAt: NOW + 2 * MIN }))).toBe(NOW + 2 * MIN);
  });

  it('the minimum of all pending times', () => {
    const base = { endsAt: NOW + 5 * MIN, noticeAt: NOW + 4 * MIN, ppuPaidUntil: NOW + 3 * MIN, timer: 'daily-reset' as const, timerAt: NOW + 6 * MIN };
    expect(nextDue(clock(base))).toBe(NOW + 3 * MIN);
    expect(nextDue(clock({ ...base, timerAt: NOW + 1 * MIN }))).toBe(NOW + 1 * MIN);
    expect(nextDue(clock({ ...base, ppuPaidUntil: null }))).toBe(NOW + 4 * MIN);
    expect(nextDue(clock({ ...base, ppuPaidUntil: null, noticeAt: null }))).toBe(NOW + 5 * MIN);
  });

  it('a timer with no timerAt is ignored', () => {
    expect(nextDue(clock({ timer: 'linger', timerAt: null }))).toBeNull();
    expect(nextDue(clock({ timer: 'linger', timerAt: null, endsAt: NOW + MIN }))).toBe(NOW + MIN);
  });

  it('a timerAt with no timer kind is ignored', () => {
    expect(nextDue(clock({ timer: null, timerAt: NOW + MIN }))).toBeNull();
    expect(nextDue(clock({ timer: null, timerAt: NOW + MIN, endsAt: NOW + 2 * MIN }))).toBe(NOW + 2 * MIN);
  });

  it('property: something is due at nextDue and nothing a millisecond before', () => {
    const t = fc.option(fc.integer({ min: NOW, max: NOW + 10 * MIN }), { nil: null });
    fc.assert(
      fc.property(
        fc.record({
          sessions: fc.integer({ min: 0, max: 3 }),
          endsAt: t,
          noticeAt: t,
          ppuPaidUntil: t,
          timer: fc.constantFrom<LeaseClock['timer']>(null, 'linger', 'daily-reset'),
          timerAt: t,
        }),
        (c) => {
          const next = nextDue(c);
          if (next === null) {
            expect(dueActions(c, NOW + 10 * MIN)).toEqual([]);
          } else {
            expect(dueActions(c, next).length).toBeGreaterThan(0);
            expect(dueActions(c, next - 1)).toEqual([]);
          }
        },
      ),
    );
  });
});

describe('crossedBelow', () => {
  it('true when going from above the threshold to below it', () => {
    expect(crossedBelow(100, 50, 60)).toBe(true);
  });

  it('true when going from exactly the threshold to below it', () => {
    expect(crossedBelow(60, 59, 60)).toBe(true);
  });

  it('false when landing exactly on the threshold', () => {
    expect(crossedBelow(61, 60, 60)).toBe(false);
  });

  it('false when staying at or above the threshold', () => {
    expect(crossedBelow(100, 80, 60)).toBe(false);
    expect(crossedBelow(60, 60, 60)).toBe(false);
  });

  it('false when already below the threshold before the debit', () => {
    expect(crossedBelow(59, 10, 60)).toBe(false);
    expect(crossedBelow(59, 59, 60)).toBe(false);
  });

  it('true when a debit takes the balance from the threshold to zero', () => {
    expect(crossedBelow(10, 0, 10)).toBe(true);
    expect(crossedBelow(1, 0, 1)).toBe(true);
  });

  it('false for a zero threshold (a balance cannot go below zero)', () => {
    expect(crossedBelow(1, 0, 0)).toBe(false);
  });
});
