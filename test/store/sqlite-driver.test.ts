/**
 * The SQLite driver's group commit: transactions started together share one COMMIT, each in
 * its own savepoint, so one that fails leaves no trace and takes no other down with it.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import * as background from '../../src/store/sql/background-worker.js';
import { CHECKPOINT_FAILING, CHECKPOINT_PAUSE_MAX, CHECKPOINTS_FAILED_BEFORE_WARNING, SqliteDriver } from '../../src/store/sql/sqlite-driver.js';

// Counts the worker threads the driver starts, and still starts them.
vi.mock('../../src/store/sql/background-worker.js', async (importOriginal) => {
  const real = await importOriginal<typeof background>();
  return { startBackgroundWorker: vi.fn(real.startBackgroundWorker) };
});
/** Checkpoint workers started so far. */
const checkpointWorkers = () =>
  vi.mocked(background.startBackgroundWorker).mock.calls.filter(([code]) => typeof code === 'string' && code.includes('wal_checkpoint')).length;

let dir: string;
let db: SqliteDriver;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sk-driver-'));
  // A scratch table, not the store's schema: no side connection (test/store/sqlite-side.test.ts).
  db = new SqliteDriver(join(dir, 'db.sqlite'), { side: false });
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

it('moves its write generation on every write and rollback, never on a read', async () => {
  const gen = db.writeGeneration;
  let g = gen();
  const moved = () => {
    const now = gen();
    const changed = now !== g;
    g = now;
    return changed;
  };
  await db.get('SELECT COUNT(*) AS n FROM t');
  await db.all('SELECT * FROM t');
  expect(moved()).toBe(false);
  await db.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
  expect(moved()).toBe(true);
  await db.transaction(async (tx) => tx.get('SELECT v FROM t WHERE k = ?', ['a']));
  expect(moved()).toBe(false);
  // A write inside a transaction moves it when it runs, before the commit.
  let inside = g;
  await db.transaction(async (tx) => {
    await tx.run('UPDATE t SET v = 2 WHERE k = ?', ['a']);
    inside = gen();
  });
  expect(inside).not.toBe(g);
  expect(moved()).toBe(true);
  // A write with RETURNING, read through get(), is a write.
  await db.get('INSERT INTO t (k, v) VALUES (?, ?) RETURNING k', ['b', 3]);
  expect(moved()).toBe(true);
  // A transaction that fails is rolled back, which moves it again: whatever was read
  // after its write is no longer there.
  let afterWrite = g;
  await expect(db.transaction(async (tx) => {
    await tx.run('UPDATE t SET v = 9 WHERE k = ?', ['a']);
    afterWrite = gen();
    throw new Error('undo');
  })).rejects.toThrow('undo');
  expect(gen()).not.toBe(afterWrite);
  expect(await db.get('SELECT v FROM t WHERE k = ?', ['a'])).toEqual({ v: 2 });
});

it('keeps the WAL from growing without bound while writes go on during checkpoints', async () => {
  await db.run('CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB NOT NULL)');
  const wal = join(dir, 'db.sqlite-wal');
  const page = Buffer.alloc(4000, 7);
  const rounds = 600;
  let maxWal = 0;
  await db.maintain(); // the worker is started
  // Group commits back to back, each of 16 rows of about a page (25 MB in all), while
  // checkpoints run one after another on the worker. Before a checkpoint restarted the WAL,
  // the file kept every frame ever written: it grew to the full 25 MB.
  let writing = true;
  let checkpoints = 0;
  const checkpointing = (async () => {
    for (; writing; checkpoints++) await db.maintain();
  })();
  for (let round = 0; round < rounds; round++) {
    await Promise.all(Array.from({ length: 16 }, () => db.transaction((tx) => tx.run('INSERT INTO blobs (b) VALUES (?)', [page]))));
    maxWal = Math.max(maxWal, statSync(wal).size);
  }
  writing = false;
  await checkpointing;
  expect(checkpoints).toBeGreaterThan(3);
  expect(maxWal).toBeLessThan((rounds * 16 * page.length) / 3);
  expect(await db.get('SELECT COUNT(*) AS n FROM blobs')).toEqual({ n: rounds * 16 });
});

it.runIf(process.platform === 'linux')('checkpoints on a thread of the lowest CPU priority, which yields to the event loop', async () => {
  const nice = () => readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
  const before = nice();
  await db.maintain();
  const after = nice();
  expect(after.filter((n) => n === 19).length).toBe(before.filter((n) => n === 19).length + 1);
  expect(after[0]).toBe(before[0]); // the main thread keeps its priority
});

it('starts the WAL over at each checkpoint, with the first write of the new WAL made by the worker', async () => {
  for (let i = 0; i < 50; i++) await db.transaction((tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [`k${i}`, i]));
  expect((await db.get<{ log: number }>('PRAGMA wal_checkpoint(PASSIVE)'))!.log).toBeGreaterThanOrEqual(50);
  await db.maintain();
  // The WAL has started over and holds only the worker's write: the new header, and its
  // fsync, were the worker's, not this connection's (whose next write would otherwise do it).
  expect((await db.get<{ log: number }>('PRAGMA wal_checkpoint(PASSIVE)'))!.log).toBeLessThanOrEqual(2);
  expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 50 });
});

it('answers reads outside transactions while the checkpoint restarts the WAL; writes wait for it', async () => {
  for (let i = 0; i < 20; i++) await db.transaction((tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', [`k${i}`, i]));
  // Another connection in a read transaction holds the restart step (under the driver's
  // mutex) in the worker's busy handler until it ends.
  const reader = new Database(join(dir, 'db.sqlite'));
  reader.exec('BEGIN');
  reader.prepare('SELECT COUNT(*) FROM t').get();
  let checkpointed = false;
  const checkpoint = db.maintain().then(() => (checkpointed = true));
  // Held at the start of a timer's turn: only the restart step holds the mutex across turns
  // (a group commit releases it in the microtasks after its COMMIT).
  const mutexHeld = () => (db as unknown as { busy: boolean }).busy;
  for (let waited = 0; ; waited++) {
    await new Promise((r) => setTimeout(r, 2));
    if (mutexHeld()) break;
    if (waited > 500) throw new Error('the restart step never took the mutex');
  }
  // Before: the read waited in the mutex's queue behind the restart, until the reader ended.
  expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 20 });
  expect(await db.all('SELECT v FROM t WHERE k = ?', ['k3'])).toEqual([{ v: 3 }]);
  expect(checkpointed).toBe(false);
  let wrote = false;
  const write = db.transaction((tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['late', 1])).then(() => (wrote = true));
  const direct = db.run('UPDATE t SET v = v + 1 WHERE k = ?', ['k0']);
  await new Promise((r) => setImmediate(r));
  expect(wrote).toBe(false);
  reader.exec('COMMIT');
  reader.close();
  await checkpoint;
  await Promise.all([write, direct]);
  expect(wrote).toBe(true);
  expect(await db.get('SELECT COUNT(*) AS n, SUM(v) AS s FROM t')).toEqual({ n: 21, s: 190 + 1 + 1 });
  // The restart took place: the WAL started over.
  expect((await db.get<{ log: number }>('PRAGMA wal_checkpoint(PASSIVE)'))!.log).toBeLessThanOrEqual(4);
});

it('warns once when checkpoints keep failing, and again only after one has succeeded', async () => {
  await db.transaction((tx) => tx.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]));
  const warnings: Error[] = [];
  const heard = (w: Error) => warnings.push(w);
  const ours = () => warnings.filter((w) => (w as Error & { code?: string }).code === CHECKPOINT_FAILING);
  process.on('warning', heard);
  // The data directory moved away under the running server: this connection goes on writing
  // to its open files, and every checkpoint worker fails to open the database.
  const moved = `${dir}-moved`;
  try {
    renameSync(dir, moved);
    for (let i = 1; i < CHECKPOINTS_FAILED_BEFORE_WARNING; i++) await db.maintain();
    await new Promise((r) => setImmediate(r));
    expect(ours()).toEqual([]); // a failure now and then is no news
    await db.maintain();
    await new Promise((r) => setImmediate(r));
    expect(ours()).toHaveLength(1);
    expect(ours()[0]!.message).toMatch(/checkpoints have failed 5 times in a row \(worker failed: .*directory does not exist\).*WAL/);
    for (let i = 0; i < CHECKPOINTS_FAILED_BEFORE_WARNING; i++) await db.maintain();
    expect(ours()).toHaveLength(1); // once per run of failures

    // Back in place: the first try after the back-off succeeds, and a later run of failures
    // is news again. (Failures 6 and 7 above left a pause of 4 upkeeps.)
    renameSync(moved, dir);
    for (let i = 0; i < 5; i++) await db.maintain();
    expect((await db.get<{ log: number }>('PRAGMA wal_checkpoint(PASSIVE)'))!.log).toBeLessThanOrEqual(2);
    renameSync(dir, moved);
    for (let i = 0; i < CHECKPOINTS_FAILED_BEFORE_WARNING; i++) await db.maintain();
    await new Promise((r) => setImmediate(r));
    expect(ours()).toHaveLength(2);
    expect(await db.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 1 });
  } finally {
    process.off('warning', heard);
    if (!existsSync(dir)) renameSync(moved, dir);
  }
});

it('backs off while checkpoints keep failing, doubling the pause up to a cap, and checkpoints again once it can', async () => {
  const quiet = () => undefined;
  process.on('warning', quiet);
  const moved = `${dir}-moved`;
  try {
    renameSync(dir, moved);
    vi.mocked(background.startBackgroundWorker).mockClear();
    // Every try fails (the worker cannot open the database) and so starts a worker of its own.
    const tries: number[] = [];
    for (let upkeep = 1; upkeep <= 200; upkeep++) {
      const before = checkpointWorkers();
      await db.maintain();
      if (checkpointWorkers() > before) tries.push(upkeep);
    }
    // Five tries in a row, then pauses of 1, 2, 4, … upkeeps, never more than the cap.
    expect(tries.slice(0, CHECKPOINTS_FAILED_BEFORE_WARNING)).toEqual([1, 2, 3, 4, 5]);
    const gaps = tries.slice(CHECKPOINTS_FAILED_BEFORE_WARNING - 1).map((t, k, a) => (k === 0 ? 0 : t - a[k - 1]! - 1)).slice(1);
    expect(gaps.slice(0, 6)).toEqual([1, 2, 4, 8, 16, 32]);
    expect(Math.max(...gaps)).toBe(CHECKPOINT_PAUSE_MAX);
    expect(tries.length).toBeLessThan(15); // against 200 without a back-off

    // Back in place: a try after the current pause succeeds, and the WAL starts over. (That a
    // later run of failures gets five tries in a row again, the test above shows: its warning
    // comes after five upkeeps.)
    renameSync(moved, dir);
    await db.run('INSERT INTO t (k, v) VALUES (?, ?)', ['a', 1]);
    const walFrames = async () => (await db.get<{ log: number }>('PRAGMA wal_checkpoint(PASSIVE)'))!.log;
    let upkeeps = 0;
    while ((await walFrames()) > 2 && upkeeps <= CHECKPOINT_PAUSE_MAX) {
      await db.maintain();
      upkeeps++;
    }
    expect(await walFrames()).toBeLessThanOrEqual(2);
    expect(upkeeps).toBeLessThanOrEqual(CHECKPOINT_PAUSE_MAX + 1);
  } finally {
    process.off('warning', quiet);
    if (!existsSync(dir)) renameSync(moved, dir);
  }
}, 60_000);
