/**
 * The embedded store's side connection (`SqliteSide`): mass writes (a timeout storm's expiry
 * batches) run as transactions on a second connection in a worker thread, under the driver's
 * mutex, while the event loop goes on. Reads need not wait for them, writes do, and without
 * the worker the same operation runs on the main connection.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { oneSeat, type OneSeat } from '../helpers/one-seat.js';
import { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';
import { SIDE_STOPPED, type SqliteSide } from '../../src/store/sql/sqlite-side.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);

let t: OneSeat;
let driver: SqliteDriver;
/** The driver's side connection, once an operation has started it. */
const side = () => (driver as unknown as { side: SqliteSide | null }).side;

beforeEach(async () => {
  t = await oneSeat('sqlite', 'side', NOW);
  driver = t.driver as SqliteDriver;
});
afterEach(async () => {
  await t.drop();
});

async function held(): Promise<{ sessionId: string; leaseId: string }> {
  const g = await t.store.acquire(t.request(), NOW);
  if (g.kind !== 'granted') throw new Error('expected a grant');
  return { sessionId: g.session.id, leaseId: g.lease.id };
}

it('expires on the side connection, and the main connection reads what it wrote', async () => {
  const h = await held();
  const transactions = vi.spyOn(driver, 'transaction');
  const r = await t.store.expireSessions([h.sessionId], NOW + 31_000);
  expect(r.expired).toEqual([h.sessionId]);
  expect(r.events.map((e) => e.type)).toContain('lease.ended');
  expect(transactions).not.toHaveBeenCalled();
  expect(side()).not.toBeNull();
  expect(await t.store.getLease(t.account, h.leaseId)).toMatchObject({ status: 'ended', endReason: 'expired' });
  expect((await t.store.usage(t.account, NOW + 31_000))[0]?.inUse).toBe(0);
  // The same batch again ends nothing.
  expect(await t.store.expireSessions([h.sessionId], NOW + 32_000)).toEqual({ expired: [], events: [] });
  transactions.mockRestore();
});

it('answers which of a batch it expired, in the caller’s ids, leaving out unknown and ended ones', async () => {
  await t.store.updateLicense(t.account, t.license, { seats: 3 }, NOW);
  const [a, b, c] = [await held(), await held(), await held()];
  expect((await t.store.expireSessions([b.sessionId], NOW + 31_000)).expired).toEqual([b.sessionId]);
  const r = await t.store.expireSessions(['ses_unknown', c.sessionId, b.sessionId, a.sessionId], NOW + 31_000);
  expect(r.expired.sort()).toEqual([a.sessionId, c.sessionId].sort());
  expect(r.events.filter((e) => e.type === 'lease.ended').map((e) => e.leaseId).sort()).toEqual([a.leaseId, c.leaseId].sort());
});

it('fires due lease timers on the side connection, and asks nothing of it while none is due', async () => {
  const g = await t.store.acquire({ ...t.request(), hold: 'until-reset' }, NOW);
  if (g.kind !== 'granted') throw new Error('expected a grant');
  // Its session ends; the lease keeps the seat until the daily reset.
  await t.store.endSession(g.session.id, 'ended', NOW + 1);
  expect(await t.store.getLease(t.account, g.lease.id)).toMatchObject({ status: 'active' });
  const aside = vi.spyOn(driver, 'aside');
  expect(await t.store.fireLeaseTimers(NOW + 1000, 200)).toEqual([]);
  expect(aside).not.toHaveBeenCalled();
  // The daily reset (midnight UTC) has passed: the lease held until it ends.
  const events = await t.store.fireLeaseTimers(NOW + 86_400_000, 200);
  expect(events.map((e) => e.type)).toContain('lease.ended');
  expect(aside).toHaveBeenCalledTimes(1);
  expect(await t.store.getLease(t.account, g.lease.id)).toMatchObject({ status: 'ended' });
  aside.mockRestore();
});

it('lets reads outside a transaction go on while the side connection writes; writes wait for it', async () => {
  // Started (the first expiry waits for the worker before it takes the mutex).
  await t.store.expireSessions([(await held()).sessionId], NOW + 31_000);
  const h = await held();
  const order: string[] = [];
  const expiring = t.store.expireSessions([h.sessionId], NOW + 31_000).then(() => order.push('expiry'));
  const read = driver.get('SELECT COUNT(*) AS n FROM leases').then(() => order.push('read'));
  const write = driver.run('UPDATE accounts SET name = name WHERE id = ?', [t.account]).then(() => order.push('write'));
  const transaction = driver.transaction((tx) => tx.get('SELECT 1 AS one')).then(() => order.push('transaction'));
  await Promise.all([expiring, read, write, transaction]);
  expect(order).toEqual(['read', 'expiry', 'write', 'transaction']);
});

it.runIf(process.platform === 'linux')('runs on a thread of lower CPU priority than the event loop', async () => {
  const nice = () => readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
  const before = nice();
  await t.store.expireSessions([(await held()).sessionId], NOW + 31_000);
  const after = nice();
  expect(after.filter((n) => n === 10).length).toBe(before.filter((n) => n === 10).length + 1);
  expect(after[0]).toBe(before[0]); // the main thread keeps its priority
});

it('waits for its worker to start before it holds up the main connection', async () => {
  const h = await held();
  const order: string[] = [];
  const expiring = t.store.expireSessions([h.sessionId], NOW + 31_000).then(() => order.push('expiry'));
  // The worker is starting: a transaction asked for now runs first, without waiting for it.
  const transaction = driver.transaction((tx) => tx.get('SELECT 1 AS one')).then(() => order.push('transaction'));
  await Promise.all([expiring, transaction]);
  expect(order).toEqual(['transaction', 'expiry']);
});

it('is started by the periodic upkeep, ahead of the first mass write', async () => {
  expect(side()).toBeNull();
  await driver.maintain();
  expect(side()).not.toBeNull();
  await side()!.ready();
  expect(side()!.isReady).toBe(true);
});

it('is not started for a driver asked to run without it, or for an in-memory database', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sk-no-side-'));
  for (const other of [new SqliteDriver(join(dir, 'other.db'), { side: false }), new SqliteDriver(':memory:')]) {
    await other.maintain();
    expect(other.aside('expireSessions', [[], NOW])).toBeNull();
    expect((other as unknown as { side: SqliteSide | null }).side).toBeNull();
    await other.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

it('refuses an operation it does not have, and a batch it cannot run writes nothing', async () => {
  await expect(driver.aside('dropEverything', [])).rejects.toThrow('no side operation dropEverything');
  const h = await held();
  // A malformed batch (ids that are not a list) fails inside the transaction: nothing is written.
  await expect(driver.aside('expireSessions', [42, NOW + 31_000])).rejects.toThrow();
  expect(await t.store.getLease(t.account, h.leaseId)).toMatchObject({ status: 'active' });
  expect((await t.store.expireSessions([h.sessionId], NOW + 31_000)).expired).toEqual([h.sessionId]);
});

it('fails what was in flight when its worker exits, then runs the same operation on the main connection', async () => {
  const h = await held();
  const first = driver.aside('expireSessions', [[h.sessionId], NOW + 31_000]);
  // The worker has only just started: the batch has not even been sent when it is stopped.
  await side()!.close();
  await expect(first).rejects.toThrow();
  expect(await t.store.getLease(t.account, h.leaseId)).toMatchObject({ status: 'active' });

  const transactions = vi.spyOn(driver, 'transaction');
  expect(driver.aside('expireSessions', [[h.sessionId], NOW + 31_000])).toBeNull();
  expect((await t.store.expireSessions([h.sessionId], NOW + 31_000)).expired).toEqual([h.sessionId]);
  expect(transactions).toHaveBeenCalledTimes(1);
  expect(await t.store.getLease(t.account, h.leaseId)).toMatchObject({ status: 'ended', endReason: 'expired' });
  transactions.mockRestore();
});

it('warns once when its worker dies on its own, and the store goes on on the main connection', async () => {
  const h = await held();
  await driver.aside('expireSessions', [[], NOW]); // started
  const warnings: Error[] = [];
  const heard = (w: Error) => warnings.push(w);
  process.on('warning', heard);
  try {
    // A crash, as Node reports one: the worker's error, then its exit.
    const worker = (side() as unknown as { worker: { emit(e: string, v: unknown): void; terminate(): Promise<number> } }).worker;
    worker.emit('error', new Error('thread crashed'));
    await worker.terminate();
    await new Promise((r) => setImmediate(r));
    expect(side()!.gone).toBe(true);
    const ours = warnings.filter((w) => (w as Error & { code?: string }).code === SIDE_STOPPED);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.message).toMatch(/side connection stopped \(thread crashed\).*main connection/);
    expect((await t.store.expireSessions([h.sessionId], NOW + 31_000)).expired).toEqual([h.sessionId]);
    expect(warnings.filter((w) => (w as Error & { code?: string }).code === SIDE_STOPPED)).toHaveLength(1);
  } finally {
    process.off('warning', heard);
  }
});

it('says nothing when it is closed on purpose', async () => {
  await driver.aside('expireSessions', [[], NOW]);
  const warnings: Error[] = [];
  const heard = (w: Error) => warnings.push(w);
  process.on('warning', heard);
  try {
    await side()!.close();
    await new Promise((r) => setImmediate(r));
    expect(warnings.filter((w) => (w as Error & { code?: string }).code === SIDE_STOPPED)).toEqual([]);
  } finally {
    process.off('warning', heard);
  }
});

it('keeps a program alive while an operation is under way, and not once it is idle', async () => {
  // A program that runs a side operation last and never closes the store: it must neither
  // exit before the answer (Node ends an unsettled top-level await with code 13) nor hang
  // after it (execFile's timeout would kill it).
  const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-side-exit-'));
  try {
    const src = (m: string) => JSON.stringify(new URL(`../../src/store/sql/${m}`, import.meta.url).href);
    const script = join(dir, 'script.mjs');
    writeFileSync(
      script,
      `import { SqliteDriver } from ${src('sqlite-driver.ts')};
import { SqlStore } from ${src('sql-store.ts')};
const store = new SqlStore(new SqliteDriver(${JSON.stringify(join(dir, 'seatkeeper.db'))}));
await store.migrate();
const r = await store.expireSessions(['ses_none'], ${NOW});
console.log('answered', JSON.stringify(r));
`,
    );
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 30_000 });
    expect(stdout.trim()).toBe('answered {"expired":[],"events":[]}');
    expect(Date.now() - started).toBeLessThan(30_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 40_000);
