/**
 * The SQLite driver's group commit: transactions started together share one COMMIT, each in
 * its own savepoint, so one that fails leaves no trace and takes no other down with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';

let dir: string;
let db: SqliteDriver;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sk-driver-'));
  db = new SqliteDriver(join(dir, 'db.sqlite'));
  await db.run('CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

it('commits concurrent transactions together and isolates the one that fails', async () => {
  const results = await Promise.allSettled([
    db.transaction(async (tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1])),
    db.transaction(async (tx) => {
      await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2]);
      throw new Error('changed my mind');
    }),
    db.transaction(async (tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 3])), // duplicate key
    db.transaction(async (tx) => {
      // Sees the first transaction's row: they run one after another, in order.
      const a = await tx.get<{ v: number }>('SELECT v FROM t WHERE k = ?', ['a']);
      return tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['c', (a?.v ?? 0) + 10]);
    }),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'changed my mind' });
  expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
  expect(await db.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 1 }, { k: 'c', v: 11 }]);
  // Another connection sees exactly that: it was committed before the answers.
  const other = new Database(join(dir, 'db.sqlite'), { readonly: true });
  try {
    expect(other.prepare('SELECT k FROM t ORDER BY k').all()).toEqual([{ k: 'a' }, { k: 'c' }]);
  } finally {
    other.close();
  }
});

it('runs many transactions in several bounded groups and answers each', async () => {
  const n = 500;
  const out = await Promise.all(Array.from({ length: n }, (_, i) => db.transaction(async (tx) => {
    await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [`k${i}`, i]);
    return i;
  })));
  expect(out).toEqual(Array.from({ length: n }, (_, i) => i));
  expect(await db.get('SELECT COUNT(*) AS n, SUM(v) AS s FROM t')).toEqual({ n, s: (n * (n - 1)) / 2 });
});

it('lets a statement outside a transaction wait for the group in progress', async () => {
  const tx = db.transaction(async (t) => {
    await t.run('INSERT INTO t (k, v) VALUES (?, ?)', ['x', 1]);
    await new Promise((r) => setTimeout(r, 20));
    await t.run('UPDATE t SET v = 2 WHERE k = ?', ['x']);
  });
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  const read = await db.get<{ v: number }>('SELECT v FROM t WHERE k = ?', ['x']);
  await tx;
  expect(read).toEqual({ v: 2 });
});

it('keeps temporary storage, savepoint sub-journals included, in memory', async () => {
  expect(await db.get('PRAGMA temp_store')).toEqual({ temp_store: 2 });
});

it('opens a transaction\'s savepoint at its first write: a failure after reads and writes still leaves no trace', async () => {
  const results = await Promise.allSettled([
    db.transaction(async (tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1])),
    // Reads only, then fails: nothing to undo, and the group goes on.
    db.transaction(async (tx) => {
      await tx.get('SELECT v FROM t WHERE k = ?', ['a']);
      throw new Error('read and gave up');
    }),
    // Reads, then writes twice, then fails: both writes are undone, not the first transaction's.
    db.transaction(async (tx) => {
      const a = await tx.get<{ v: number }>('SELECT v FROM t WHERE k = ?', ['a']);
      await tx.run('UPDATE t SET v = ? WHERE k = ?', [(a?.v ?? 0) + 100, 'a']);
      await tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['b', 2]);
      throw new Error('wrote and gave up');
    }),
    db.transaction(async (tx) => (await tx.get<{ v: number }>('SELECT v FROM t WHERE k = ?', ['a']))?.v),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
  expect((results[3] as PromiseFulfilledResult<number>).value).toBe(1);
  expect(await db.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 1 }]);
});
