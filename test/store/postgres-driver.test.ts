/**
 * The PostgreSQL driver's group commit: transactions queued together share one COMMIT; when
 * one fails, it alone fails and the rest of its batch runs again, so nothing of the failed
 * one is stored and nothing of the others is lost or doubled.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import { createPgDatabase, postgresReachable } from '../helpers/stores.js';

const reachable = await postgresReachable();
let db: PostgresDriver;
let drop: () => Promise<void>;
beforeAll(async () => {
  if (!reachable) return;
  const pgdb = await createPgDatabase();
  drop = pgdb.drop;
  db = new PostgresDriver(pgdb.url, 4);
  await db.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
  await db.run('CREATE TABLE log (n SERIAL PRIMARY KEY, k TEXT NOT NULL)');
});
afterAll(async () => {
  if (!reachable) return;
  await db.close();
  await drop();
});

it.skipIf(!reachable)('commits concurrent transactions in groups and isolates the ones that fail', async () => {
  const n = 300;
  const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => db.transaction(async (tx) => {
    // Every attempt is logged, so re-runs are visible; only committed attempts remain.
    await tx.run('INSERT INTO log (k) VALUES (?)', [`k${i}`]);
    if (i % 50 === 7) throw new Error(`no ${i}`);
    await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [i % 50 === 9 ? 'dup' : `k${i}`, i]);
    return i;
  })));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
  const dupWinners = results.filter((r, i) => r.status === 'fulfilled' && i % 50 === 9).length;
  expect(dupWinners).toBe(1); // one 'dup' insert commits; the others violate the key
  expect(failed.filter((i) => i % 50 === 7)).toHaveLength(n / 50);
  expect(failed.every((i) => i % 50 === 7 || i % 50 === 9)).toBe(true);
  const rows = await db.all<{ k: string; v: number }>('SELECT k, v FROM t ORDER BY v');
  expect(rows).toHaveLength(n - n / 50 - (n / 50 - 1));
  // Each committed transaction committed exactly once; failed ones left nothing.
  const logged = await db.all<{ k: string; c: number }>('SELECT k, COUNT(*)::int AS c FROM log GROUP BY k');
  const byKey = new Map(logged.map((r) => [r.k, r.c]));
  for (let i = 0; i < n; i++) {
    const ok = results[i]!.status === 'fulfilled';
    expect(byKey.get(`k${i}`) ?? 0).toBe(ok ? 1 : 0);
  }
});
