import type { LeaseEvent } from '../store/types.js';

type Listener = (e: LeaseEvent) => void;

/**
 * In-process fan-out of lease events to the SSE streams of this server. Events are first
 * written by the store (with their `seq`), so a stream that connects late or reconnects
 * replays from the store and then follows the hub.
 */
export class EventHub {
  private readonly byLease = new Map<string, Set<Listener>>();
  private readonly byAccount = new Map<string, Set<Listener>>();
  private readonly resyncs = new Set<() => void>();
  private readonly signals = new Map<string, Set<(type: string, data: Record<string, unknown>) => void>>();

  /** Account-wide notices that are not stored (a refusal recorded, say). */
  subscribeSignals(accountId: string, fn: (type: string, data: Record<string, unknown>) => void): () => void {
    let set = this.signals.get(accountId);
    if (!set) {
      set = new Set();
      this.signals.set(accountId, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.signals.delete(accountId);
    };
  }

  /** Whether anyone listens to the account's signals (so that unheard ones need not be built). */
  hasSignals(accountId: string): boolean {
    return this.signals.has(accountId);
  }

  signal(accountId: string, type: string, data: Record<string, unknown>): void {
    for (const fn of this.signals.get(accountId) ?? []) fn(type, data);
  }

  /** Called when events may have been missed (cluster notifications lost); streams re-read. */
  onResync(fn: () => void): () => void {
    this.resyncs.add(fn);
    return () => this.resyncs.delete(fn);
  }

  resync(): void {
    for (const fn of this.resyncs) fn();
  }

  subscribeLease(leaseId: string, fn: Listener): () => void {
    return add(this.byLease, leaseId, fn);
  }

  subscribeAccount(accountId: string, fn: Listener): () => void {
    return add(this.byAccount, accountId, fn);
  }

  publish(events: readonly LeaseEvent[]): void {
    // No stream open (a server nobody watches): no lookups per event.
    if (this.byLease.size === 0 && this.byAccount.size === 0) return;
    for (const e of events) {
      for (const fn of this.byLease.get(e.leaseId) ?? []) fn(e);
      for (const fn of this.byAccount.get(e.accountId) ?? []) fn(e);
    }
  }

  get listeners(): number {
    let n = 0;
    for (const s of this.byLease.values()) n += s.size;
    for (const s of this.byAccount.values()) n += s.size;
    return n;
  }
}

function add(map: Map<string, Set<Listener>>, key: string, fn: Listener): () => void {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  set.add(fn);
  return () => {
    set.delete(fn);
    if (set.size === 0) map.delete(key);
  };
}
