import type { Timers } from '../../src/timers.js';

/**
 * Fake timers for the SDK only: the in-process server and fetch keep the real event loop,
 * while the SDK's heartbeats, retries and backoff wait for `advance`.
 */
export class ManualTimers implements Timers {
  private seq = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(private t: number) {}

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): number {
    const id = ++this.seq;
    this.due.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.due.delete(id as number);
  }

  /** Moves time forward by `ms`, firing each due timer at its own time, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | null = null;
      for (const e of this.due) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.due.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }

  /** Delays (from now) of the pending timers, soonest first. */
  pending(): number[] {
    return [...this.due.values()].map((d) => d.at - this.t).sort((a, b) => a - b);
  }
}

/** Waits in real time (bounded) until `cond` holds; the server and sockets run meanwhile. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
