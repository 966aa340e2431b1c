/**
 * Time is an input: a handle schedules everything (heartbeats, retries, request timeouts)
 * through this interface, so tests drive it with fake timers instead of waiting.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The platform's timers, looked up at call time (so that globally installed fakes apply). */
export const systemTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (id) => globalThis.clearTimeout(id as Parameters<typeof globalThis.clearTimeout>[0]),
  now: () => Date.now(),
};

export interface BackoffOptions {
  /** Ceiling of the first retry's delay (ms). Default 1000. */
  initialDelay?: number;
  /** Largest ceiling (ms). Default 30000. */
  maxDelay?: number;
  /** Growth of the ceiling per attempt. Default 2. */
  factor?: number;
}

/**
 * Exponential backoff with full jitter: the delay before retry `attempt` (1, 2, …) is
 * uniform in [0, min(maxDelay, initialDelay · factor^(attempt-1))). Full jitter spreads
 * the clients of a restarted server over the whole window instead of letting them return
 * in waves.
 */
export function backoffDelay(attempt: number, o: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = o.initialDelay ?? 1000;
  const max = o.maxDelay ?? 30_000;
  const factor = o.factor ?? 2;
  const ceiling = Math.min(max, initial * factor ** Math.max(0, attempt - 1));
  return Math.floor(Math.min(1, Math.max(0, random())) * ceiling);
}
