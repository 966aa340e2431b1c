/**
 * Report queries over a year of generated history (issue 5): 100,000 ended leases, 100,000
 * refusals and a year of per-minute usage samples, timed on the embedded store (and on
 * PostgreSQL with --database). Target: each well under a second.
 *   npm run bench:reports [-- --database postgres://…]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { SqliteDriver } from '../src/store/sql/sqlite-driver.js';
import { PostgresDriver } from '../src/store/sql/postgres-driver.js';
import { defaultProductConfig, defaultSettings } from '../src/server/defaults.js';
import type { Store } from '../src/store/types.js';

const LEASES = 100_000;
const DENIALS = 100_000;
const MINUTES = 365 * 24 * 60;
const YEAR_START = Date.UTC(2025, 10, 1);

interface Raw {
  run(sql: string, params?: unknown[]): Promise<unknown>;
}

async function generate(store: Store, raw: Raw, dialect: string): Promise<void> {
  const now = YEAR_START;
  await store.createAccount(
    { id: 'acc_r', name: 'reports', timezone: 'Europe/Berlin', settings: defaultSettings() },
    { id: 'usr_r', username: 'o', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
    now,
  );
  await store.createProduct('acc_r', 'prd_r', { ...defaultProductConfig(), key: 'cad', name: 'CAD', seatModel: 'user-device' }, now);
  await store.createLicense('acc_r', 'lic_r', { productId: 'prd_r', seats: 50, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null, enforcement: 'hard', window: 180, exceptionQuota: null }, now);
  const series = dialect === 'postgres' ? 'generate_series(0, ? - 1) AS g(i)' : '(WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?) SELECT i FROM n)';
  const iCol = dialect === 'postgres' ? 'CAST(g.i AS BIGINT)' : 'i';
  // Ended leases spread over the year, 5 min to 8 h long, 200 users on 400 devices.
  await raw.run(
    `INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, join_code, hold, sessions, started_at, ended_at, end_reason)
     SELECT 'lse_r' || ${iCol}, 'acc_r', 'prd_r', 'lic_r', 'regular', 'ended', 'usr_' || (${iCol} % 200), 'dev' || (${iCol} % 400), 'JR' || ${iCol}, 'heartbeat', 0,
            ${YEAR_START} + ${iCol} * 315360, ${YEAR_START} + ${iCol} * 315360 + 300000 + (${iCol} % 96) * 300000,
            CASE WHEN ${iCol} % 5 = 0 THEN 'expired' ELSE 'released' END
       FROM ${series}`,
    [LEASES],
  );
  await raw.run(
    `INSERT INTO denials (account_id, product_id, user_id, device, code, at)
     SELECT 'acc_r', 'prd_r', 'usr_' || (${iCol} % 200), 'dev' || (${iCol} % 400), 'no-seat', ${YEAR_START} + ${iCol} * 315360 FROM ${series}`,
    [DENIALS],
  );
  await raw.run(
    `INSERT INTO usage_minutes (product_id, minute, peak, total, samples)
     SELECT 'prd_r', ${YEAR_START} + ${iCol} * 60000, (${iCol} % 50), (${iCol} % 50) * 60, 60 FROM ${series}`,
    [MINUTES],
  );
}

async function time<T>(label: string, fn: () => Promise<T>, describe: (r: T) => string): Promise<{ label: string; ms: number; what: string }> {
  await fn(); // warm
  const t = performance.now();
  const r = await fn();
  return { label, ms: performance.now() - t, what: describe(r) };
}

export async function runReportsBench(database: string | null): Promise<{ label: string; ms: number; what: string }[]> {
  let store: SqlStore;
  let raw: Raw;
  let cleanup: () => Promise<void>;
  if (database) {
    // A fresh database on the server named by the URL (dropped afterwards).
    process.env.SEATKEEPER_TEST_PG = database;
    const { createPgDatabase } = await import('../test/helpers/stores.js');
    const db = await createPgDatabase();
    const driver = new PostgresDriver(db.url);
    store = new SqlStore(driver);
    raw = { run: (sql, params) => driver.run(sql, params) };
    cleanup = async () => {
      await store.close();
      await db.drop();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'sk-reports-'));
    const driver = new SqliteDriver(join(dir, 'seatkeeper.db'));
    store = new SqlStore(driver);
    raw = { run: (sql, params) => driver.run(sql, params) };
    cleanup = async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  await store.migrate();
  const t0 = performance.now();
  await generate(store, raw, store.dialect);
  process.stdout.write(`generated ${LEASES} leases, ${DENIALS} refusals, ${MINUTES} usage minutes in ${((performance.now() - t0) / 1000).toFixed(1)} s (${store.dialect})\n`);
  const month = { from: YEAR_START + 180 * 86_400_000, to: YEAR_START + 211 * 86_400_000 };
  const results = [
    await time('session history, first page (100)', () => store.leaseHistory('acc_r', { from: null, to: null }, { limit: 100, cursor: null }), (r) => `${r.items.length} rows`),
    await time('session history, one month, all pages (CSV export)', async () => {
      let cursor: string | null = null;
      let n = 0;
      do {
        const page: Awaited<ReturnType<typeof store.leaseHistory>> = await store.leaseHistory('acc_r', { ...month }, { limit: 1000, cursor });
        n += page.items.length;
        cursor = page.next;
      } while (cursor !== null);
      return n;
    }, (n) => `${n} rows`),
    await time('usage over a year, daily buckets', () => store.usageSeries('prd_r', YEAR_START, YEAR_START + 365 * 86_400_000, 86_400_000), (r) => `${r.length} points`),
    await time('usage over a month, hourly buckets', () => store.usageSeries('prd_r', month.from, month.to, 3_600_000), (r) => `${r.length} points`),
    await time('denials, one month, first page', () => store.listDenials('acc_r', { ...month }, { limit: 100, cursor: null }), (r) => `${r.items.length} rows`),
    await time('max-reached, a year', () => store.listMaxReached('acc_r', { from: null, to: null }, { limit: 100, cursor: null }), (r) => `${r.items.length} rows`),
    await time('usage summary', () => store.usage('acc_r', YEAR_START + 365 * 86_400_000), (r) => `${r.length} products`),
  ];
  await cleanup();
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--database');
  const database = i >= 0 ? (process.argv[i + 1] ?? null) : null;
  const results = await runReportsBench(database);
  for (const r of results) process.stdout.write(`${r.label.padEnd(55)} ${r.ms.toFixed(1).padStart(8)} ms  ${r.what.padEnd(14)} ${r.ms < 1000 ? 'PASS' : 'FAIL'} (target < 1000 ms)\n`);
}
