import pg from 'pg';
import type { MigrationStep, SqlDriver, SqlExecutor } from './driver.js';

// int8 (epoch ms, counts) as JS numbers: all our values are far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** `?` placeholders → `$1…`; our SQL has no `?` inside string literals. */
export function toPg(sql: string): string {
  let i = 0;
  return sql.replace(/\?/g, () => `$${++i}`);
}

const RETRYABLE = new Set(['40001', '40P01']);
/** Most transactions one commit may carry. */
const MAX_BATCH = 32;

interface Queued {
  fn: (tx: SqlExecutor) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  attempt: number;
}

/** The connection itself failed (it is then discarded, not returned to the pool). */
function connectionLost(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && /^(08|57P)/.test(code)) return true;
  const message = (e as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|connection error|not queryable/i.test(message);
}

/** Serialization failures and deadlocks are retried (up to 8 times); counts the attempt. */
function retryable(e: unknown, t: Queued): boolean {
  const code = (e as { code?: string }).code;
  if (code === undefined || !RETRYABLE.has(code) || t.attempt >= 8) return false;
  t.attempt++;
  return true;
}

/** PostgreSQL via a pg pool; transactions are committed in groups and retried on serialization failures and deadlocks. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly prepared = new Map<string, { name: string; text: string }>();
  private readonly queue: Queued[] = [];
  private running = 0;
  /** Connections committing batches; the rest of the pool serves single statements. */
  private readonly lanes: number;

  constructor(url: string, max = 10) {
    // Pipeline mode: a query is written as soon as it is made, not when the one before it has
    // been answered. Only a batch's BEGIN relies on it (see runBatch); every other statement is
    // awaited before the next is made, so nothing else changes.
    this.pool = new pg.Pool({ connectionString: url, max, pipeline: true });
    this.lanes = Math.max(1, max - 2);
    // An idle client losing its connection must not crash the process.
    this.pool.on('error', () => undefined);
  }

  /**
   * Each distinct statement becomes a named prepared statement (parsed and planned once per
   * connection, as `pgbench -M prepared` does), instead of being parsed on every call.
   */
  private query(s: string, params: readonly unknown[]): pg.QueryConfig {
    let q = this.prepared.get(s);
    if (q === undefined) {
      q = { name: `sk${this.prepared.size}`, text: toPg(s) };
      this.prepared.set(s, q);
    }
    return { name: q.name, text: q.text, values: params as unknown[] };
  }

  private exec(client: pg.Pool | pg.PoolClient): SqlExecutor {
    return {
      dialect: 'postgres',
      all: async <T>(s: string, params: readonly unknown[] = []) => (await client.query(this.query(s, params))).rows as T[],
      get: async <T>(s: string, params: readonly unknown[] = []) => (await client.query(this.query(s, params))).rows[0] as T | undefined,
      run: async (s: string, params: readonly unknown[] = []) => (await client.query(this.query(s, params))).rowCount ?? 0,
    };
  }

  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.exec(this.pool).all<T>(sql, params);
  }
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined> {
    return this.exec(this.pool).get<T>(sql, params);
  }
  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.exec(this.pool).run(sql, params);
  }

  whenSent(onSend: () => void): SqlExecutor {
    const on = async <T>(f: (ex: SqlExecutor) => Promise<T>): Promise<T> => {
      const client = await this.pool.connect();
      onSend();
      try {
        const r = await f(this.exec(client));
        client.release();
        return r;
      } catch (e) {
        // As pool.query does: a client whose statement failed is not reused.
        client.release(e instanceof Error ? e : true);
        throw e;
      }
    };
    return {
      dialect: 'postgres',
      all: <T>(s: string, params?: readonly unknown[]) => on((ex) => ex.all<T>(s, params)),
      get: <T>(s: string, params?: readonly unknown[]) => on((ex) => ex.get<T>(s, params)),
      run: (s: string, params?: readonly unknown[]) => on((ex) => ex.run(s, params)),
    };
  }

  /**
   * Group commit, as on SQLite: transactions queue, and each of up to `lanes` connections
   * takes what has queued and runs it inside one BEGIN … COMMIT. PostgreSQL flushes its WAL
   * once per COMMIT, so a batch shares one flush; none is answered before its batch's COMMIT
   * (see `runBatch` for what happens when one fails).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn: fn as (tx: SqlExecutor) => Promise<unknown>, resolve: resolve as (v: unknown) => void, reject, attempt: 0 });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.lanes && this.queue.length > 0) {
      this.running++;
      void this.lane().finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  /** One connection committing batches while there is work. */
  private async lane(): Promise<void> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (e) {
      // Cannot reach the database: what waits now fails (callers see the store as unavailable).
      for (const t of this.queue.splice(0)) t.reject(e);
      return;
    }
    let broken = false;
    try {
      while (this.queue.length > 0) {
        // Share the queue among the lanes, so that a burst is spread over connections.
        const n = Math.max(1, Math.min(MAX_BATCH, Math.ceil(this.queue.length / this.lanes)));
        broken = await this.runBatch(client, this.queue.splice(0, n));
        if (broken) break;
      }
    } finally {
      client.release(broken);
    }
  }

  /**
   * Runs one batch; true if the connection is no longer usable. Optimistic: no savepoints
   * (each would cost a round trip per transaction). When a transaction fails, the whole
   * batch is rolled back; the failed one gets its error (or is retried, for serialization
   * failures and deadlocks) and the others, not yet answered, go back to the front of the
   * queue to run again — which a transaction function must allow anyway.
   */
  private async runBatch(client: pg.PoolClient, batch: Queued[]): Promise<boolean> {
    const tx = this.exec(client);
    const values: unknown[] = [];
    let i = -1; // -1: BEGIN; batch.length: COMMIT; else the transaction running
    try {
      // BEGIN goes out with the first transaction's first statement instead of costing a round
      // trip of its own (the pool is in pipeline mode). BEGIN on a working connection cannot
      // fail; on a broken one the statement after it fails too, so nothing runs outside the
      // transaction. Its answer is awaited before COMMIT. The socket is corked until the current
      // turn of JavaScript ends, so that BEGIN and a first statement made in the same turn leave
      // in one write (one system call: under load a server spends a third of its time in them).
      const { stream } = client.connection;
      stream.cork();
      process.nextTick(() => stream.uncork());
      const begun = client.query('BEGIN');
      begun.catch(() => undefined);
      for (i = 0; i < batch.length; i++) values.push(await batch[i]!.fn(tx));
      i = -1;
      await begun;
      i = batch.length;
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      const failed = batch[i]; // undefined: BEGIN or COMMIT failed, no transaction is at fault
      const rest = batch.filter((t) => t !== failed);
      const lost = connectionLost(error);
      if (failed === undefined || lost) {
        // Nothing is known to be at fault but the commit or the connection: retry what may be.
        const done = [];
        const again = [];
        for (const t of batch) {
          if (retryable(error, t)) again.push(t);
          else done.push({ t, ok: false, error });
        }
        this.settle(done, again);
        return lost;
      }
      this.queue.unshift(...rest);
      this.settle(retryable(error, failed) ? [] : [{ t: failed, ok: false, error }], retryable(error, failed) ? [failed] : []);
      return false;
    }
    this.settle(batch.map((t, k) => ({ t, ok: true, value: values[k] })), []);
    return false;
  }

  private settle(done: { t: Queued; ok: boolean; value?: unknown; error?: unknown }[], again: Queued[]): void {
    for (const d of done) if (d.ok) d.t.resolve(d.value);
    else d.t.reject(d.error);
    if (again.length > 0) {
      // A short random pause, so that the transactions that collided do not collide again.
      setTimeout(() => {
        this.queue.push(...again);
        this.pump();
      }, Math.random() * 5 * Math.max(...again.map((t) => t.attempt)));
    }
  }

  async migrate(steps: readonly MigrationStep[]): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Several servers may start at once: one migrates, the others wait on the lock and
      // then find nothing left to do.
      await client.query('SELECT pg_advisory_lock(727274001)');
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
      for (const step of steps) {
        if (done.has(step.version)) continue;
        await client.query('BEGIN');
        try {
          if (step.sql.trim()) await client.query(step.sql);
          await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [step.version, step.name]);
          await client.query('COMMIT');
        } catch (e) {
          await client.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(727274001)').catch(() => undefined);
      client.release();
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}
