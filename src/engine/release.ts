import type { EndReason, Hold } from './types.js';

/**
 * What happens to a lease when one of its sessions goes away (SPEC §3, "A lease is
 * released when"). Pure; the store calls it inside the transaction that ends the session,
 * with the number of sessions still alive counted in that same transaction.
 */
export type LossDecision =
  | { kind: 'keep' }
  | { kind: 'linger'; until: number }
  | { kind: 'hold-until-reset'; until: number }
  | { kind: 'release'; reason: EndReason };

export interface SessionLoss {
  /** Live sessions left on the lease after this one ended. */
  remaining: number;
  /** Explicit end by the client (`DELETE`), or a heartbeat timeout. */
  how: 'ended' | 'expired';
  hold: Hold;
  /** Product linger in seconds (rule 1). */
  linger: number;
  now: number;
  /** The next daily reset after `now` (rule 3); only called when the rule needs it. */
  nextReset: () => number;
}

export function afterSessionLoss(e: SessionLoss): LossDecision {
  if (e.remaining > 0) return { kind: 'keep' };
  // Rule 3: a session joined with hold=until-reset keeps the lease through the loss of all
  // sessions, timed out or closed, until an explicit release or the daily reset.
  if (e.hold === 'until-reset') return { kind: 'hold-until-reset', until: e.nextReset() };
  // Rule 1: linger applies only after an explicit end, so a quick restart keeps the seat;
  // a timeout (rule 2) frees the seat at once.
  if (e.how === 'ended' && e.linger > 0) return { kind: 'linger', until: e.now + e.linger * 1000 };
  return { kind: 'release', reason: e.how === 'ended' ? 'released' : 'expired' };
}

/**
 * A lease's timer fired (linger over, or the daily reset while held until reset). Released
 * only if it still has no live session (rule 5); a lease whose sessions came back keeps its
 * seat and is timed again when they go.
 */
export function onLeaseTimer(e: { sessions: number; timer: 'linger' | 'daily-reset' }): LossDecision {
  if (e.sessions > 0) return { kind: 'keep' };
  return { kind: 'release', reason: e.timer === 'linger' ? 'released' : 'daily-reset' };
}

/**
 * An explicit release (logout, POST /v1/leases/{id}/release): drops any until-reset hold; the
 * lease ends now unless other sessions are alive, which then keep it until they end (pixi:
 * "logs out but desktop apps still open").
 */
export function onExplicitRelease(e: { sessions: number }): { kind: 'keep' } | { kind: 'release'; reason: EndReason } {
  return e.sessions > 0 ? { kind: 'keep' } : { kind: 'release', reason: 'released' };
}
