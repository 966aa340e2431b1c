import type { LeaseEvent } from '../types.js';

/**
 * Lease events as they cross from the embedded store's side connection (`side-ops.ts`):
 * columns instead of objects, with each distinct account, type and data written once. A
 * storm's expiry batch is some 50 `lease.ended` events of one account and one reason; as
 * objects their JSON took the event loop about 30 µs to parse, packed about 10 µs
 * (docs/architecture.md, session 17).
 */
export interface EventColumns {
  accounts: string[];
  types: string[];
  /** Each distinct `data`, as JSON text. */
  data: string[];
  leases: string[];
  /** Per event, five numbers: its account, type and data (places in the lists above), its seq, its time. */
  rows: number[];
}

export function packEvents(events: readonly LeaseEvent[]): EventColumns {
  const c: EventColumns = { accounts: [], types: [], data: [], leases: [], rows: [] };
  for (const e of events) {
    c.leases.push(e.leaseId);
    c.rows.push(place(c.accounts, e.accountId), place(c.types, e.type), place(c.data, JSON.stringify(e.data)), e.seq, e.at);
  }
  return c;
}

/**
 * The events `packEvents` was given, each with its own `data`: a flat one (the usual: a reason,
 * an id) is copied from one parse, one with objects inside is parsed again for each event.
 */
export function unpackEvents(c: EventColumns): LeaseEvent[] {
  const data = c.data.map((d) => JSON.parse(d) as Record<string, unknown>);
  const flat = data.map((d) => Object.values(d).every((v) => v === null || typeof v !== 'object'));
  const events: LeaseEvent[] = new Array(c.leases.length);
  for (let i = 0, r = 0; i < events.length; i++, r += 5) {
    const k = c.rows[r + 2]!;
    events[i] = {
      seq: c.rows[r + 3]!, accountId: c.accounts[c.rows[r]!]!, leaseId: c.leases[i]!, type: c.types[c.rows[r + 1]!]!,
      data: flat[k] ? { ...data[k] } : (JSON.parse(c.data[k]!) as Record<string, unknown>), at: c.rows[r + 4]!,
    };
  }
  return events;
}

/** The place of `v` in `list`, added at the end if new (the lists hold a few entries). */
function place(list: string[], v: string): number {
  const k = list.indexOf(v);
  if (k >= 0) return k;
  list.push(v);
  return list.length - 1;
}
