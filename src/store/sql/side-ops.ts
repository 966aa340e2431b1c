/**
 * The store's mass writes that the embedded store may run on its side connection
 * (`SqliteSide`): each is one transaction over an executor, by name, with arguments that cross
 * threads as structured clones and a result that crosses as JSON text (so it must be plain
 * data; lease events cross packed, `event-columns.ts`). The same functions run on the main
 * connection when there is no side connection (an in-memory database, or a worker that
 * failed), so the two ways cannot differ in what they write.
 */
import type { SqlExecutor } from './driver.js';
import { packEvents, type EventColumns } from './event-columns.js';
import * as leaseOps from './lease-ops.js';

export const sideOps = {
  /**
   * A batch of sessions whose heartbeat deadline passed, on the embedded store (no shared
   * deadline). The expired ones are answered by their place in `ids`: the caller then looks
   * them up with its own strings, whose hashes are computed and which compare by identity,
   * rather than with copies (`SqlStore.expireSessions`).
   */
  expireSessions: async (tx: SqlExecutor, ids: string[], now: number): Promise<{ expired: number[]; events: EventColumns }> => {
    const r = await leaseOps.expireSessions(tx, ids, now, null);
    const at = new Map(ids.map((id, i) => [id, i]));
    return { expired: r.expired.map((id) => at.get(id)!), events: packEvents(r.events) };
  },
  /** Lease timers that are due (linger, daily reset, flex and pay-per-use ends), at most `limit`. */
  fireLeaseTimers: async (tx: SqlExecutor, now: number, limit: number): Promise<EventColumns> => packEvents(await leaseOps.fireLeaseTimers(tx, now, limit)),
};

export type SideOps = typeof sideOps;
export type SideOp = keyof SideOps;
/** An operation's arguments after the executor. */
export type SideArgs<K extends SideOp> = Parameters<SideOps[K]> extends [SqlExecutor, ...infer A] ? A : never;
export type SideResult<K extends SideOp> = Awaited<ReturnType<SideOps[K]>>;
