/**
 * The worker thread of `SqliteSide`: a second connection to the embedded database that runs
 * the store's mass writes (`side-ops.ts`), one transaction per message, at a lower CPU
 * priority than the event loop. The main thread holds its driver's mutex meanwhile, so this
 * connection never waits for the write lock, and the main connection writes nothing in between.
 * Its first message, number 0, says that the connection is open.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { executor, openSqlite, statementCache } from './sqlite-connection.js';
import { sideOps } from './side-ops.js';

export interface SideRequest {
  seq: number;
  op: string;
  args: readonly unknown[];
}
/**
 * An operation's result crosses as JSON text (`undefined` as no text), not as a structured
 * clone: the event loop parses an expiry batch's events in about half the time V8's
 * deserializer takes to build them (docs/architecture.md, session 17). The results are plain
 * data (ids, numbers, lease events whose data is stored as JSON).
 */
export type SideAnswer = { seq: number; ok: true; json?: string } | { seq: number; ok: false; error: { message: string; code?: unknown } };

const { file } = workerData as { file: string };
const db = openSqlite(file);
const stmt = statementCache(db);
const tx = executor(stmt);

/**
 * The worker's nice value. On Linux a thread has its own, and /proc/thread-self names this
 * one: when the event loop and this thread both want a core, the event loop mostly gets it (a
 * server given one core shares it with this thread). Not 19, as the checkpoint's thread: on a
 * core saturated by requests, 19 leaves an expiry 1.5 % of it, and acquisitions wait behind a
 * batch stretched that long; at 10 it keeps about a tenth. In the bench's storm 0, 10 and 19
 * measured the same heartbeat p99 (docs/architecture.md, session 13). Elsewhere the thread
 * keeps the process's priority.
 */
const SIDE_NICE = 10;
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), SIDE_NICE);
} catch {
  // not Linux
}

async function run({ seq, op, args }: SideRequest): Promise<SideAnswer> {
  const fn = Object.hasOwn(sideOps, op) ? (sideOps[op as keyof typeof sideOps] as (t: typeof tx, ...a: unknown[]) => Promise<unknown>) : null;
  if (!fn) return { seq, ok: false, error: { message: `no side operation ${op}` } };
  stmt('BEGIN IMMEDIATE').run();
  try {
    const value = await fn(tx, ...args);
    stmt('COMMIT').run();
    return value === undefined ? { seq, ok: true } : { seq, ok: true, json: JSON.stringify(value) };
  } catch (e) {
    if (db.inTransaction) db.exec('ROLLBACK');
    const err = e as { message?: unknown; code?: unknown };
    return { seq, ok: false, error: { message: String(err.message ?? e), code: err.code } };
  }
}

parentPort?.postMessage({ seq: 0, ok: true } satisfies SideAnswer);

// One at a time, in order (the main thread sends one at a time anyway).
let last: Promise<unknown> = Promise.resolve();
parentPort?.on('message', (m: SideRequest) => {
  last = last.then(() => run(m)).then((a) => parentPort?.postMessage(a));
});
