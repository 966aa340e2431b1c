/**
 * The store's mass writes that the embedded store may run on its side connection
 * (`SqliteSide`): each is one transaction over an executor, by name, with arguments and a
 * result that cross threads as structured clones. The same functions run on the main
 * connection when there is no side connection (an in-memory database, or a worker that
 * failed), so the two ways cannot differ in what they write.
 */
import type { LeaseEvent } from '../types.js';
import type { SqlExecutor } from './driver.js';
import * as leaseOps from './lease-ops.js';

export const sideOps = {
  /** A batch of sessions whose heartbeat deadline passed, on the embedded store (no shared deadline). */
  expireSessions: (tx: SqlExecutor, ids: string[], now: number): Promise<{ expired: string[]; events: LeaseEvent[] }> =>
    leaseOps.expireSessions(tx, ids, now, null),
  /** Lease timers that are due (linger, daily reset, flex and pay-per-use ends), at most `limit`. */
  fireLeaseTimers: (tx: SqlExecutor, now: number, limit: number): Promise<LeaseEvent[]> => leaseOps.fireLeaseTimers(tx, now, limit),
};

export type SideOps = typeof sideOps;
export type SideOp = keyof SideOps;
/** An operation's arguments after the executor. */
export type SideArgs<K extends SideOp> = Parameters<SideOps[K]> extends [SqlExecutor, ...infer A] ? A : never;
export type SideResult<K extends SideOp> = Awaited<ReturnType<SideOps[K]>>;
