/**
 * The stores every contract and API test runs against: a real SQLite file and, when a
 * server is reachable, a fresh PostgreSQL database. In CI (CI=true) PostgreSQL must be
 * reachable; elsewhere its part is skipped with a visible message.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';
import { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import type { Store } from '../../src/store/types.js';

export const PG_ADMIN_URL = process.env.SEATKEEPER_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  store: Store;
  /** For cluster tests: the database URL (PostgreSQL) or data directory (SQLite). */
  location: string;
  drop(): Promise<void>;
}

export interface StoreKind {
  name: 'sqlite' | 'postgres';
  open(): Promise<TestStore>;
}

let pgReachable: boolean | null = null;
export async function postgresReachable(): Promise<boolean> {
  if (pgReachable !== null) return pgReachable;
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    pgReachable = true;
  } catch {
    pgReachable = false;
  } finally {
    await c.end().catch(() => undefined);
  }
  if (!pgReachable) {
    if (process.env.CI) throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL}, and CI needs it`);
    process.stderr.write(`\n⚠ PostgreSQL not reachable at ${PG_ADMIN_URL}: the PostgreSQL half of the suite is SKIPPED.\n\n`);
  }
  return pgReachable;
}

export const sqliteKind: StoreKind = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-test-'));
    const store = new SqlStore(new SqliteDriver(join(dir, 'seatkeeper.db')));
    await store.migrate();
    return {
      store,
      location: dir,
      async drop() {
        await store.close().catch(() => undefined);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** A fresh database per test file; dropped afterwards. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `sk_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export const postgresKind: StoreKind = {
  name: 'postgres',
  async open() {
    const db = await createPgDatabase();
    // Grace 0: with one server and a fake clock there is no write-back delay to cover, so
    // the API suite sees the same timing on both stores. Cluster tests use the real grace.
    const store = new SqlStore(new PostgresDriver(db.url), 0);
    await store.migrate();
    return {
      store,
      location: db.url,
      async drop() {
        await store.close().catch(() => undefined);
        await db.drop();
      },
    };
  },
};

/** The kinds to run: SQLite always, PostgreSQL when reachable (always in CI). */
export async function storeKinds(): Promise<StoreKind[]> {
  return (await postgresReachable()) ? [sqliteKind, postgresKind] : [sqliteKind];
}
