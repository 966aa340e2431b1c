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

/** PostgreSQL via a pg pool; transactions are retried on serialization failures and deadlocks. */
export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly prepared = new Map<string, { name: string; text: string }>();

  constructor(url: string, max = 10) {
    this.pool = new pg.Pool({ connectionString: url, max });
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

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(this.exec(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (e as { code?: string }).code;
        if (code === undefined || !RETRYABLE.has(code) || attempt >= 8) throw e;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      } finally {
        client.release();
      }
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
