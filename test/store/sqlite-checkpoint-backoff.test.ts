import { existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import * as background from '../../src/store/sql/background-worker.js';
import { CHECKPOINTS_FAILED_BEFORE_WARNING, CHECKPOINT_PAUSE_MAX, SqliteDriver } from '../../src/store/sql/sqlite-driver.js';

// Counts the worker threads the driver starts, and still starts them.
vi.mock('../../src/store/sql/background-worker.js', async (importOriginal) => {
  const real = await importOriginal<typeof background>();
  return { startBackgroundWorker: vi.fn(real.startBackgroundWorker) };
});
const starts = vi.mocked(background.startBackgroundWorker);
/** Checkpoint workers started so far (the side connection's worker is another file). */
const checkpointWorkers = () => starts.mock.calls.filter(([code]) => typeof code === 'string' && code.includes('wal_checkpoint')).length;

let dir: string;
let db: SqliteDriver;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seatkeeper-ckpt-backoff-'));
  // No side connection: only the checkpoint's workers are counted.
  db = new SqliteDriver(join(dir, 'seatkeeper.db'), { side: false });
  await db.run('CREATE TABLE t (k TEXT PRIMARY KEY)');
  starts.mockClear();
});
afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

it('backs off while checkpoints keep failing, doubling the pause up to a cap, and checkpoints again once it can', async () => {
  const quiet = () => undefined;
  process.on('warning', quiet);
  const moved = `${dir}-moved`;
  try {
    renameSync(dir, moved);
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
    // later run of failures gets five tries in a row again, sqlite-driver.test.ts shows: its
    // warning comes after five upkeeps.)
    renameSync(moved, dir);
    await db.run('INSERT INTO t (k) VALUES (?)', ['a']);
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
