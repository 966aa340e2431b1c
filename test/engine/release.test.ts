import { describe, expect, it, vi } from 'vitest';
import { afterSessionLoss, onExplicitRelease, onLeaseTimer } from '../../src/engine/release.js';
import type { SessionLoss } from '../../src/engine/release.js';
import type { Hold } from '../../src/engine/types.js';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const RESET = Date.UTC(2026, 0, 16, 3, 0, 0); // 04:00 Europe/Berlin the next day

function loss(over: Partial<SessionLoss> = {}): SessionLoss {
  return {
    remaining: 0,
    how: 'ended',
    hold: 'heartbeat',
    linger: 0,
    now: NOW,
    nextReset: () => {
      throw new Error('nextReset must not be called here');
    },
    ...over,
  };
}

describe('afterSessionLoss — remaining sessions keep the lease', () => {
  const holds: Hold[] = ['heartbeat', 'until-reset'];
  const hows: SessionLoss['how'][] = ['ended', 'expired'];
  for (const hold of holds) {
    for (const how of hows) {
      for (const linger of [0, 15]) {
        it(`keeps with 1 and 3 sessions left (hold=${hold}, how=${how}, linger=${linger})`, () => {
          const nextReset = vi.fn(() => RESET);
          expect(afterSessionLoss(loss({ remaining: 1, hold, how, linger, nextReset }))).toEqual({ kind: 'keep' });
          expect(afterSessionLoss(loss({ remaining: 3, hold, how, linger, nextReset }))).toEqual({ kind: 'keep' });
          expect(nextReset).not.toHaveBeenCalled();
        });
      }
    }
  }
});

describe('afterSessionLoss — hold until reset (rule 3)', () => {
  it('explicit end of the last session holds the lease until the next reset', () => {
    const nextReset = vi.fn(() => RESET);
    expect(afterSessionLoss(loss({ hold: 'until-reset', how: 'ended', nextReset }))).toEqual({
      kind: 'hold-until-reset',
      until: RESET,
    });
    expect(nextReset).toHaveBeenCalledTimes(1);
  });

  it('timeout of the last session also holds the lease until the next reset', () => {
    const nextReset = vi.fn(() => RESET);
    expect(afterSessionLoss(loss({ hold: 'until-reset', how: 'expired', nextReset }))).toEqual({
      kind: 'hold-until-reset',
      until: RESET,
    });
    expect(nextReset).toHaveBeenCalledTimes(1);
  });

  it('the hold wins over linger: the lease is held until the reset, not just for the linger', () => {
    const nextReset = vi.fn(() => RESET);
    expect(afterSessionLoss(loss({ hold: 'until-reset', how: 'ended', linger: 15, nextReset }))).toEqual({
      kind: 'hold-until-reset',
      until: RESET,
    });
  });

  it('uses whatever the nextReset thunk returns', () => {
    const other = RESET + 86_400_000;
    expect(afterSessionLoss(loss({ hold: 'until-reset', nextReset: () => other }))).toEqual({
      kind: 'hold-until-reset',
      until: other,
    });
  });

  it('never calls nextReset for a heartbeat-held lease', () => {
    const nextReset = vi.fn(() => RESET);
    for (const how of ['ended', 'expired'] as const) {
      for (const linger of [0, 15]) afterSessionLoss(loss({ hold: 'heartbeat', how, linger, nextReset }));
    }
    expect(nextReset).not.toHaveBeenCalled();
  });
});

describe('afterSessionLoss — linger (rule 1) and timeout (rule 2)', () => {
  it('explicit end with linger > 0 lingers for linger seconds from now', () => {
    expect(afterSessionLoss(loss({ how: 'ended', linger: 15 }))).toEqual({ kind: 'linger', until: NOW + 15_000 });
    expect(afterSessionLoss(loss({ how: 'ended', linger: 1, now: 5 }))).toEqual({ kind: 'linger', until: 1005 });
  });

  it('explicit end with linger 0 releases at once with reason released', () => {
    expect(afterSessionLoss(loss({ how: 'ended', linger: 0 }))).toEqual({ kind: 'release', reason: 'released' });
  });

  it('timeout never lingers: it releases at once with reason expired', () => {
    expect(afterSessionLoss(loss({ how: 'expired', linger: 15 }))).toEqual({ kind: 'release', reason: 'expired' });
    expect(afterSessionLoss(loss({ how: 'expired', linger: 0 }))).toEqual({ kind: 'release', reason: 'expired' });
    expect(afterSessionLoss(loss({ how: 'expired', linger: 3600 }))).toEqual({ kind: 'release', reason: 'expired' });
  });
});

describe('onLeaseTimer', () => {
  it('linger timer with no live session releases with reason released', () => {
    expect(onLeaseTimer({ sessions: 0, timer: 'linger' })).toEqual({ kind: 'release', reason: 'released' });
  });

  it('daily-reset timer with no live session releases with reason daily-reset', () => {
    expect(onLeaseTimer({ sessions: 0, timer: 'daily-reset' })).toEqual({ kind: 'release', reason: 'daily-reset' });
  });

  it('keeps the lease when sessions came back, for either timer', () => {
    for (const timer of ['linger', 'daily-reset'] as const) {
      expect(onLeaseTimer({ sessions: 1, timer })).toEqual({ kind: 'keep' });
      expect(onLeaseTimer({ sessions: 4, timer })).toEqual({ kind: 'keep' });
    }
  });
});

describe('onExplicitRelease', () => {
  it('releases with reason released when no session is alive', () => {
    expect(onExplicitRelease({ sessions: 0 })).toEqual({ kind: 'release', reason: 'released' });
  });

  it('leaves the lease to its remaining sessions (logs out, desktop apps still open)', () => {
    expect(onExplicitRelease({ sessions: 1 })).toEqual({ kind: 'keep' });
    expect(onExplicitRelease({ sessions: 2 })).toEqual({ kind: 'keep' });
  });
});
