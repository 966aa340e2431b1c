/**
 * Counting that is not "seats held right now" (SPEC §6, seed 004): device activations that
 * hold a seat for a window of time, usage quotas with a grace band, soft concurrency counted
 * in fixed windows, and alert thresholds that fire once per crossing. Pure: the store and
 * the notifier apply these decisions.
 */

// ── device activations ──────────────────────────────────────────────────────────────────

/** A device license's overage when none is given: seed 004 allows 10 % more new devices. */
export const DEVICE_OVERAGE_DEFAULT = 10;

/** The product's activation window, 90 days unless configured (seconds). */
export const ACTIVATION_WINDOW_DEFAULT = 90 * 24 * 3600;

/** When an activation made at `firstSeen` stops holding its seat. */
export function activationEnds(firstSeen: number, windowSec: number): number {
  return firstSeen + windowSec * 1000;
}

// ── usage quotas ─────────────────────────────────────────────────────────────────────────

export interface Quota {
  units: number;
  /** Percent allowed past the quota (seed 004: 5 %). */
  overage: number;
}

/** The most units that may ever be counted: the quota plus its overage, rounded down. */
export function quotaLimit(q: Quota): number {
  return Math.floor((q.units * (100 + q.overage)) / 100);
}

export type QuotaDecision =
  | { ok: true; used: number; percent: number; warning: boolean }
  | { ok: false; used: number; percent: number };

/**
 * Whether `add` more units may be counted on top of `used`. Allowed up to the limit
 * (100 % + overage); a report that would pass it counts nothing, so the counter never
 * exceeds the limit. From 100 % on the answer carries a warning.
 */
export function decideUnits(used: number, add: number, q: Quota): QuotaDecision {
  const next = used + add;
  if (next > quotaLimit(q)) return { ok: false, used, percent: percentOf(used, q.units) };
  const percent = percentOf(next, q.units);
  return { ok: true, used: next, percent, warning: percent >= 100 };
}

/** True when no further lease or report may use the product (the limit is reached). */
export function quotaExhausted(used: number, q: Quota): boolean {
  return used >= quotaLimit(q);
}

/** `value` as a percentage of `of`, two decimals; 0 of 0 is 0 %, anything of 0 is ∞. */
export function percentOf(value: number, of: number): number {
  if (of <= 0) return value > 0 ? Number.POSITIVE_INFINITY : 0;
  return Math.round((value / of) * 10_000) / 100;
}

// ── soft concurrency ─────────────────────────────────────────────────────────────────────

/** Start of the fixed window containing `t` (windows are aligned to the epoch). */
export function windowStart(t: number, windowSec: number): number {
  const w = windowSec * 1000;
  return Math.floor(t / w) * w;
}

/** One lease's life on a license: `who` is the device (or the lease when anonymous). */
export interface ActivityInterval {
  who: string;
  from: number;
  /** null while live. */
  to: number | null;
}

export interface WindowCount {
  from: number;
  to: number;
  active: number;
}

/**
 * Distinct instances active in each whole window of [from, to) (`from` and `to` on window
 * boundaries). An instance is active in a window if one of its intervals overlaps it: it
 * started before the window ended and had not ended when the window began.
 */
export function countWindows(intervals: readonly ActivityInterval[], from: number, to: number, windowSec: number): WindowCount[] {
  const w = windowSec * 1000;
  const n = Math.max(0, Math.floor((to - from) / w));
  const sets: Set<string>[] = Array.from({ length: n }, () => new Set<string>());
  for (const iv of intervals) {
    const end = iv.to ?? Number.POSITIVE_INFINITY;
    if (iv.from >= from + n * w || end <= from) continue;
    const first = Math.max(0, Math.floor((iv.from - from) / w));
    // The last window whose start is before the interval's end.
    const last = Math.min(n - 1, Math.ceil((Math.min(end, from + n * w) - from) / w) - 1);
    for (let i = first; i <= last; i++) sets[i]!.add(iv.who);
  }
  return sets.map((s, i) => ({ from: from + i * w, to: from + (i + 1) * w, active: s.size }));
}

/** The windows that record an exception: more active than the license's seats. */
export function exceptionWindows(windows: readonly WindowCount[], seats: number): WindowCount[] {
  return windows.filter((x) => x.active > seats);
}

/** A license with an exception quota is suspended once its exceptions reach it. */
export function suspends(exceptions: number, quota: number | null): boolean {
  return quota !== null && quota > 0 && exceptions >= quota;
}

// ── alerts ───────────────────────────────────────────────────────────────────────────────

export type AlertKind = 'devices' | 'usage' | 'soft-exceptions' | 'seats';

export interface AlertRule {
  id: AlertKind;
  kind: AlertKind;
  description: string;
  thresholds: number[];
  enabled: boolean;
}

export const DEFAULT_ALERT_RULES: readonly AlertRule[] = [
  { id: 'devices', kind: 'devices', description: 'Active devices as a percentage of a device license’s seats', thresholds: [75, 90, 95, 100, 110], enabled: true },
  { id: 'usage', kind: 'usage', description: 'Units used as a percentage of a metered product’s quota', thresholds: [75, 90, 95, 100, 105], enabled: true },
  { id: 'soft-exceptions', kind: 'soft-exceptions', description: 'Recorded exceptions as a percentage of a soft license’s exception quota', thresholds: [50, 75, 90, 100], enabled: true },
  { id: 'seats', kind: 'seats', description: 'Seats in use as a percentage of a hard license’s seats', thresholds: [75, 90, 100], enabled: true },
];

/** Thresholds as stored: distinct, ascending. */
export function normaliseThresholds(ts: readonly number[]): number[] {
  return [...new Set(ts)].sort((a, b) => a - b);
}

export interface Crossing {
  /** Thresholds that fire now: met, and not fired since the value was last below them. */
  fire: number[];
  /** Thresholds fired and still met: remembered so they do not fire again. */
  fired: number[];
  /** Every threshold met now. */
  met: number[];
}

/**
 * Once per crossing: a threshold fires when the value reaches it and it had not fired; it
 * stays quiet while the value stays at or above it, and re-arms when the value falls below.
 */
export function crossings(thresholds: readonly number[], value: number, previouslyFired: readonly number[]): Crossing {
  const met = normaliseThresholds(thresholds).filter((t) => value >= t);
  const before = new Set(previouslyFired);
  return { fire: met.filter((t) => !before.has(t)), fired: met, met };
}

// ── delivery ─────────────────────────────────────────────────────────────────────────────

export const DELIVERY_MAX_ATTEMPTS = 8;

/** Wait before attempt `attempt + 1` after `attempt` failed: 10 s doubling, at most 1 h. */
export function retryDelayMs(attempt: number): number {
  return Math.min(3600_000, 10_000 * 2 ** Math.max(0, attempt - 1));
}

/** Whether a webhook subscribed to `events` wants an event of `type`. */
export function wantsEvent(events: readonly string[], type: string): boolean {
  return events.includes('*') || events.includes(type);
}
