import type Database from 'better-sqlite3';
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { startBackgroundWorker } from './background-worker.js';
import type { MigrationStep, SqlDriver, SqlExecutor } from './driver.js';
import { SqliteSide } from './sqlite-side.js';
import { WAL_SIZE_LIMIT, executor, openSqlite, statementCache } from './sqlite-connection.js';

type Statement = Database.Statement<unknown[], unknown>;
interface Queued {
  fn: (tx: SqlExecutor) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * better-sqlite3 in WAL mode with `synchronous = NORMAL`: a committed transaction survives a
 * process crash (kill -9); a power loss may lose the last transactions before a checkpoint.
 *
 * better-sqlite3 is synchronous, so a transaction is a critical section held across the
 * store's `await`s; a mutex keeps any other statement from running inside it. Outside a
 * transaction a statement runs at once. Transactions are committed in groups (see
 * `transaction`).
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  private readonly db: Database.Database;
  private readonly stmt: (sql: string) => Statement;
  private busy = false;
  /** Transactions waiting for the next group commit. */
  private readonly queue: Queued[] = [];
  private scheduled = false;
  private readonly waiters: (() => void)[] = [];
  private readonly direct: SqlExecutor;
  /** The statements of a group-committed transaction: the first write opens its savepoint. */
  private readonly inBatch: SqlExecutor;
  /** Whether the transaction running in the batch has opened its savepoint. */
  private savepoint = false;
  private readonly file: string;
  private checkpointer: Worker | null = null;
  /** The second connection that runs mass writes (`aside`), started by the first. */
  private side: SqliteSide | null = null;
  private readonly sideWanted: boolean;
  /**
   * Another connection is working under this driver's mutex: the side connection running an
   * operation (`aside`), or the checkpoint worker restarting the WAL (`checkpointInTwoSteps`).
   */
  private besideRunning = false;
  /** The checkpoint running on the worker, if any. */
  private checkpoint: Promise<void> | null = null;
  /** Checkpoints failed since the last that succeeded (`CHECKPOINT_FAILING`). */
  private checkpointFailures = 0;
  /** Upkeeps that skip the checkpoint while checkpoints keep failing (`CHECKPOINT_PAUSE_MAX`). */
  private checkpointPause = 0;
  /** Write statements and rollbacks so far (`writeGeneration`). */
  private writes = 0;
  readonly writeGeneration = (): number => this.writes;

  /**
   * `side`: run the store's mass writes on a second connection (`aside`, `SqliteSide`). Off
   * for a database without the store's schema, whose side would have nothing to run, and
   * always off in memory (a second connection would open another database).
   */
  constructor(file: string, opts: { side?: boolean } = {}) {
    this.db = openSqlite(file);
    this.stmt = statementCache(this.db);
    this.file = file;
    this.sideWanted = (opts.side ?? true) && file !== ':memory:';
    this.direct = executor((sql) => this.directStmt(sql));
    this.inBatch = executor((sql) => this.batchStmt(sql));
  }

  all<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    if (!this.busy || this.readsBeside(sql)) return this.direct.all<T>(sql, params);
    return this.exclusive(() => this.direct.all<T>(sql, params));
  }

  get<T>(sql: string, params: readonly unknown[] = []): Promise<T | undefined> {
    if (!this.busy || this.readsBeside(sql)) return this.direct.get<T>(sql, params);
    return this.exclusive(() => this.direct.get<T>(sql, params));
  }

  run(sql: string, params: readonly unknown[] = []): Promise<number> {
    if (!this.busy) return this.direct.run(sql, params);
    return this.exclusive(() => this.direct.run(sql, params));
  }

  /**
   * Group commit: transactions requested in the same turn of the event loop run one after
   * another inside one BEGIN … COMMIT, each in its own savepoint (opened at its first write:
   * one that only reads has nothing to undo). A transaction that fails
   * rolls back to its savepoint and alone; the others commit together, and none is answered
   * before that COMMIT. A commit rewrites every page a transaction touched into the WAL
   * (leases alone have a dozen indexes), so sharing one commit among many requests is most
   * of the cost of a write saved, with the same guarantee: an answer means committed.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn: fn as (tx: SqlExecutor) => Promise<unknown>, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.exclusive(() => this.runBatch()).catch(() => undefined);
    });
  }

  private async runBatch(): Promise<void> {
    if (this.queue.length === 0) return;
    const started = performance.now();
    const done: { t: Queued; ok: boolean; value?: unknown; error?: unknown }[] = [];
    try {
      this.stmt('BEGIN IMMEDIATE').run();
    } catch (error) {
      // The database cannot take a write at all (disk, lock): every waiting transaction fails.
      for (const t of this.queue.splice(0)) t.reject(error);
      return;
    }
    try {
      // Bounded, so that one batch never holds the event loop for long.
      while (this.queue.length > 0 && done.length < MAX_BATCH && performance.now() - started < MAX_BATCH_MS) {
        const t = this.queue.shift()!;
        // A transaction that only reads (a refusal, most requests under contention) needs no
        // savepoint: there is nothing of its own to roll back. The first write opens it.
        this.savepoint = false;
        try {
          const value = await t.fn(this.inBatch);
          if (this.savepoint) this.stmt('RELEASE tx').run();
          done.push({ t, ok: true, value });
        } catch (error) {
          if (this.savepoint && this.db.inTransaction) {
            this.writes++;
            this.stmt('ROLLBACK TO tx').run();
            this.stmt('RELEASE tx').run();
          }
          done.push({ t, ok: false, error });
        }
      }
      this.stmt('COMMIT').run();
    } catch (error) {
      // The commit (or a rollback to a savepoint) failed: nothing of the batch is stored.
      this.writes++;
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const d of done) if (d.ok) Object.assign(d, { ok: false, error });
    } finally {
      for (const d of done) if (d.ok) d.t.resolve(d.value);
      else d.t.reject(d.error);
      if (this.queue.length > 0) this.schedule();
    }
  }

  private sideConnection(): SqliteSide {
    return (this.side ??= new SqliteSide(this.file));
  }

  /**
   * While the side connection writes or the checkpoint worker restarts the WAL, this
   * connection is idle: a read outside a transaction need not wait for them (WAL: it reads
   * the last commit). Writes and transactions still wait.
   */
  private readsBeside(sql: string): boolean {
    return this.besideRunning && this.stmt(sql).readonly;
  }

  aside(op: string, args: readonly unknown[]): Promise<unknown> | null {
    if (!this.sideWanted) return null;
    const side = this.sideConnection();
    if (side.gone) return null;
    const write = () => this.exclusive(async () => {
      // The other connection's writes change what this one reads: the write generation moves
      // before (a read kept from now on is not reused after) and after.
      this.writes++;
      this.besideRunning = true;
      try {
        return await side.run(op, args);
      } finally {
        this.besideRunning = false;
        this.writes++;
      }
    });
    // Started: queued for the mutex at once, in order with what is asked after it.
    return side.isReady ? write() : side.ready().then(write);
  }

  async migrate(steps: readonly MigrationStep[]): Promise<void> {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)');
    const done = new Set((this.db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
    for (const step of steps) {
      if (done.has(step.version)) continue;
      this.writes++;
      this.db.transaction(() => {
        if (step.sql.trim()) this.db.exec(step.sql);
        this.db.prepare('INSERT INTO schema_migrations (version, name) VALUES (?, ?)').run(step.version, step.name);
      })();
    }
  }

  /**
   * A checkpoint, in two steps on the worker, so that the WAL starts over. Settles when done
   * (or failed: the next one tries again); while one runs, asking again joins it.
   *
   * 1. PASSIVE copies what is committed into the database file while writes go on. But the
   *    WAL starts from its beginning again only when a write begins with every frame
   *    copied, and under steady writes a passive checkpoint never catches up with the frames
   *    appended while it runs: the WAL grew without bound (half a gigabyte in 8 s of
   *    grants), and each frame written past its end made the file system zero fresh pages,
   *    a tenth of the server's CPU.
   * 2. RESTART copies the few frames written meanwhile and syncs, with this connection's
   *    writes held back: it runs under the driver's mutex, so transactions wait in the
   *    queue (the event loop does not, nor do reads outside transactions: `readsBeside`)
   *    for that short step, and the worker never has to
   *    wait for the write lock. The worker then makes the first write of the restarted WAL
   *    itself (its header's fsync), and later writes reuse the WAL from its start;
   *    `journal_size_limit` trims it there.
   */
  maintain(): Promise<void> {
    if (this.file === ':memory:') return Promise.resolve();
    // Upkeep starts the side connection too, in the background, so that the first mass write
    // (a timeout storm's, say) does not wait for its worker to load.
    if (this.sideWanted && !this.side) void this.sideConnection().ready().catch(() => undefined);
    if (this.checkpoint === null && this.checkpointPause > 0) {
      this.checkpointPause--;
      return Promise.resolve();
    }
    this.checkpoint ??= this.checkpointInTwoSteps().finally(() => (this.checkpoint = null));
    return this.checkpoint;
  }

  private async checkpointInTwoSteps(): Promise<void> {
    const worker = (this.checkpointer ??= startCheckpointer(this.file, () => (this.checkpointer = null)));
    // The restart changes nothing a read sees: reads outside transactions go on beside it
    // (its busy handler waits out one running on this connection, a synchronous moment).
    const failed = (await ask(worker, 'passive')) ?? (await this.exclusive(async () => {
      this.besideRunning = true;
      try {
        return await ask(worker, 'restart');
      } finally {
        this.besideRunning = false;
      }
    }));
    if (failed === null) {
      this.checkpointFailures = 0;
      return;
    }
    // The next upkeep tries again; a failure now and then (a step timed out) is no news. One that
    // lasts is: the WAL grows until a checkpoint succeeds, and a restart must replay it all.
    // From then on the next tries back off, twice as long after each failure up to about a
    // minute: a try after a worker that failed or exited starts another thread.
    const beyond = ++this.checkpointFailures - CHECKPOINTS_FAILED_BEFORE_WARNING;
    if (beyond >= 0) this.checkpointPause = Math.min(2 ** beyond, CHECKPOINT_PAUSE_MAX);
    if (beyond === 0) {
      process.emitWarning(
        `the embedded store's checkpoints have failed ${CHECKPOINTS_FAILED_BEFORE_WARNING} times in a row (${failed}); the WAL file (${this.file}-wal) grows until one succeeds`,
        { code: CHECKPOINT_FAILING },
      );
    }
  }

  async close(): Promise<void> {
    await this.side?.close();
    await this.checkpointer?.terminate();
    this.checkpointer = null;
    this.db.close();
  }

  private batchStmt(sql: string): Statement {
    const s = this.directStmt(sql);
    if (!s.readonly && !this.savepoint) {
      this.stmt('SAVEPOINT tx').run();
      this.savepoint = true;
    }
    return s;
  }

  /** A statement about to run: a write moves the write generation. */
  private directStmt(sql: string): Statement {
    const s = this.stmt(sql);
    if (!s.readonly) this.writes++;
    return s;
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
      this.waiters.shift()?.();
    }
  }
}

/** The code of the process warning emitted when checkpoints keep failing. */
export const CHECKPOINT_FAILING = 'SEATKEEPER_CHECKPOINT_FAILING';
/** Checkpoints (one per upkeep, about a second apart) failed in a row before the warning. */
export const CHECKPOINTS_FAILED_BEFORE_WARNING = 5;
/** Most upkeeps skipped between two checkpoints that fail (about a minute). */
export const CHECKPOINT_PAUSE_MAX = 60;

/** Most transactions, and longest time, one group commit may take. */
const MAX_BATCH = 64;
const MAX_BATCH_MS = 4;

/** The checkpoint worker: a second connection that runs the checkpoint step it is sent. */
const CHECKPOINT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 1000');
// This connection makes the first write after a restart, and so trims the WAL: a limit is
// a connection's own setting.
db.pragma('journal_size_limit = ' + workerData.walSizeLimit);
// The checkpoint yields the CPU to the event loop whenever both want it (a server given one
// core shares it with this thread): on Linux a thread has its own nice value, and
// /proc/thread-self names this one. Elsewhere it keeps the process's priority.
try {
  const tid = Number(require('node:fs').readlinkSync('/proc/thread-self').split('/').pop());
  require('node:os').setPriority(tid, 19);
} catch {}
parentPort.on('message', ({ mode, seq }) => {
  let ok = true;
  let error;
  try {
    if (mode === 'restart') {
      db.pragma('wal_checkpoint(RESTART)');
      // The first write after a restart writes the WAL's new header and syncs it before any
      // frame. Made here by a write that changes nothing, that fsync is this thread's: on
      // the main connection it stalled the event loop for 6-10 ms once a second.
      db.pragma('user_version = ' + Number(db.pragma('user_version', { simple: true })));
    } else {
      db.pragma('wal_checkpoint(PASSIVE)');
    }
  } catch (e) {
    ok = false;
    error = e instanceof Error ? e.message : String(e);
  }
  parentPort.postMessage({ seq, ok, error });
});
`;

function startCheckpointer(file: string, onGone: () => void): Worker {
  const worker = startBackgroundWorker(CHECKPOINT_WORKER, {
    eval: true,
    workerData: { file, module: createRequire(import.meta.url).resolve('better-sqlite3'), walSizeLimit: WAL_SIZE_LIMIT },
  });
  worker.unref();
  worker.on('error', onGone);
  worker.on('exit', onGone);
  return worker;
}

/**
 * One checkpoint step on the worker: null when it ran, else why not: it failed, the worker
 * failed or is gone, or it did not answer within 5 s (the driver's mutex is never held
 * longer). Steps are numbered, so that a late answer to one that timed out is not taken for
 * the next one's.
 */
function ask(worker: Worker, mode: 'passive' | 'restart'): Promise<string | null> {
  const seq = ++steps;
  return new Promise<string | null>((resolve) => {
    const done = (failed: string | null) => {
      clearTimeout(timer);
      worker.off('message', answer);
      worker.off('error', broke);
      worker.off('exit', gone);
      resolve(failed);
    };
    const answer = (m: { seq: number; ok: boolean; error?: string }) => {
      if (m.seq === seq) done(m.ok ? null : `${mode} step: ${m.error ?? 'failed'}`);
    };
    const broke = (e: unknown) => done(`worker failed: ${e instanceof Error ? e.message : String(e)}`);
    const gone = () => done('worker exited');
    const timer = setTimeout(() => done(`${mode} step: no answer within 5 s`), 5000);
    timer.unref();
    worker.on('message', answer);
    worker.once('error', broke);
    worker.once('exit', gone);
    worker.postMessage({ mode, seq });
  });
}
let steps = 0;
