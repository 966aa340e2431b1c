/**
 * What happens when no seat is free, and who gets a seat when one frees (SPEC §4, seeds
 * 003 TV Labs and 001 ISL Online). Pure: the store applies these decisions inside the
 * transaction that frees or requests the seat.
 */
import { orderCandidates, type CandidateLicense, type Requester } from './acquisition.js';

/** Flex is offered on the product's flex channels unless the request opted out (`flex: false`). */
export function flexEligible(channel: string | null, flexChannels: readonly string[], requested: boolean | undefined): boolean {
  if (requested === false) return false;
  return channel !== null && flexChannels.includes(channel);
}

/** When a flex lease of `durationSec` starting at `now` ends, and when its holder is warned. */
export function flexTimes(now: number, durationSec: number): { endsAt: number; noticeAt: number } {
  const endsAt = now + durationSec * 1000;
  // A minute's warning, or half the time for short flex leases.
  const lead = Math.min(60_000, (durationSec * 1000) / 2);
  return { endsAt, noticeAt: endsAt - lead };
}

/** Whether `who` may hold a seat of `license` for a request on `platform`. */
export function mayUse(license: CandidateLicense, who: Requester, platform: string | null, now: number): boolean {
  return orderCandidates([license], who, platform, now).length > 0;
}

export interface FlexWaiter {
  id: string;
  startedAt: number;
  who: Requester;
  platform: string | null;
}

export interface TicketWaiter {
  id: string;
  createdAt: number;
  expiresAt: number;
  who: Requester;
  platform: string | null;
}

export type WaiterChoice = { kind: 'upgrade'; id: string } | { kind: 'ticket'; id: string } | null;

/**
 * Who gets a seat of `license` that just became free: the oldest flex lease whose user may
 * use it (upgrades go before the queue), else the first live ticket in arrival order whose
 * requester may use it. A ticket is never passed over for a later one that the same seat
 * would serve; tickets past their expiry are not served.
 */
export function pickWaiter(license: CandidateLicense, flex: readonly FlexWaiter[], tickets: readonly TicketWaiter[], now: number): WaiterChoice {
  const oldestFirst = [...flex].sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  for (const f of oldestFirst) if (mayUse(license, f.who, f.platform, now)) return { kind: 'upgrade', id: f.id };
  const fifo = [...tickets].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  for (const t of fifo) {
    if (t.expiresAt <= now) continue;
    if (mayUse(license, t.who, t.platform, now)) return { kind: 'ticket', id: t.id };
  }
  return null;
}

/** The timed state of a lease (epoch ms, null when not pending). */
export interface LeaseClock {
  sessions: number;
  /** Forced end (flex end, termination, ppu exhausted) and its warning. */
  endsAt: number | null;
  noticeAt: number | null;
  /** End of the minute a pay-per-use lease has paid for. */
  ppuPaidUntil: number | null;
  /** Linger or daily reset. */
  timer: 'linger' | 'daily-reset' | null;
  timerAt: number | null;
}

export type TimerAction =
  | { kind: 'end'; cause: 'forced' }
  | { kind: 'notice' }
  | { kind: 'ppu-debit' }
  | { kind: 'release-timer'; timer: 'linger' | 'daily-reset' };

/**
 * What is due on a lease at `now`, in the order to apply it: a forced end wins over all; a
 * pay-per-use minute is charged (or the lease ends, if the balance cannot pay); a warning is
 * sent; a linger or daily-reset timer fires (and releases the lease if it has no session).
 */
export function dueActions(c: LeaseClock, now: number): TimerAction[] {
  if (c.endsAt !== null && c.endsAt <= now) return [{ kind: 'end', cause: 'forced' }];
  const out: TimerAction[] = [];
  if (c.ppuPaidUntil !== null && c.ppuPaidUntil <= now) out.push({ kind: 'ppu-debit' });
  if (c.noticeAt !== null && c.noticeAt <= now) out.push({ kind: 'notice' });
  // The timer fires whatever the session count; `onLeaseTimer` keeps a lease that has one.
  if (c.timer !== null && c.timerAt !== null && c.timerAt <= now) out.push({ kind: 'release-timer', timer: c.timer });
  return out;
}

/** The next instant anything is due on a lease, for the timer index. */
export function nextDue(c: LeaseClock): number | null {
  const times = [c.endsAt, c.noticeAt, c.ppuPaidUntil, c.timer !== null ? c.timerAt : null].filter((t): t is number => t !== null);
  return times.length === 0 ? null : Math.min(...times);
}

/** Whether a debit took the pay-per-use balance below the warning threshold. */
export function crossedBelow(before: number, after: number, threshold: number): boolean {
  return before >= threshold && after < threshold;
}
