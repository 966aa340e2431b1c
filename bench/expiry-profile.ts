/**
 * Diagnostic (not part of `npm run bench`): what a mass expiry costs the embedded store, in
 * process and on a real SQLite file, without HTTP. Each round starts N sessions through the
 * service (a service key's, as the bench's storm), lets their timeout pass on a fake clock and
 * times the ticks that expire them: time, CPU and write system calls per expired session
 * (a commit writes each page it changed into the WAL as two writes). With EXPIRY_PAGES=1 it
 * also names the tables and indexes whose pages the expiry's commits wrote, per batch of 50,
 * from the WAL's frames (a page now owned by another than before is shown as `before→now`).
 *
 *   npx tsx bench/expiry-profile.ts [sessions = 10000] [rounds = 5]
 *
 * Pin it to one core (`taskset -c 0`) and compare rounds after the first two (warm code).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/server/app.js';
import type { Principal } from '../src/server/auth.js';
import { FakeClock } from '../src/server/deps.js';
import { createAccount } from '../src/server/plugins/accounts.js';
import { defaultProductConfig } from '../src/server/defaults.js';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { SqliteDriver } from '../src/store/sql/sqlite-driver.js';
import { threadCpuMs, writeCalls } from './proc.js';

const N = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 5);
const PAGES = Boolean(process.env.EXPIRY_PAGES);
const BATCH = 50;

const writes = (): number => writeCalls(process.pid) ?? 0;

const dir = mkdtempSync(join(tmpdir(), 'sk-expiry-'));
const file = join(dir, 'seatkeeper.db');
try {
  const driver = new SqliteDriver(file);
  const store = new SqlStore(driver);
  await store.migrate();
  const clock = new FakeClock(Date.UTC(2026, 4, 4, 4, 4, 4));
  const app = await buildApp({ store, clock });
  const { account } = await createAccount(app.ctx, 'acme', 'UTC', { username: 'owner', password: 'long enough password' });
  const product = await store.createProduct(account.id, 'prd_storm', {
    ...defaultProductConfig(), key: 'p', name: 'p', seatModel: 'session', heartbeat: { interval: 10, timeout: 30 },
  }, clock.now());
  await store.createLicense(account.id, 'lic_storm', {
    productId: product.id, seats: N, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
    enforcement: 'hard', window: 180, exceptionQuota: null,
  }, clock.now());
  const service: Principal = { kind: 'service', accountId: account.id, keyId: 'key_bench' };
  const owners = async () => new Map((await driver.all<{ name: string; pageno: number }>('SELECT name, pageno FROM dbstat')).map((r) => [r.pageno, r.name]));

  const perSession: number[] = [];
  const loopPerSession: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const starts: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      starts.push(app.ctx.service.acquire(service, { product: 'p' }));
      if (starts.length === 200) await Promise.all(starts.splice(0));
    }
    await Promise.all(starts);
    clock.advance(31_000);
    let before = new Map<number, string>();
    if (PAGES) {
      await driver.run('PRAGMA wal_checkpoint(TRUNCATE)');
      before = await owners();
    }

    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const w0 = writes();
    const loop0 = threadCpuMs();
    while ((await store.usage(account.id, clock.now()))[0]!.inUse > 0) await app.ctx.service.tick();
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const w = writes();
    const loop = threadCpuMs();
    const loopUs = loop === null || loop0 === null ? null : ((loop - loop0) * 1000) / N;
    loopPerSession.push(loopUs ?? NaN);
    perSession.push((ms * 1000) / N);
    process.stdout.write(
      `round ${round}: ${N} sessions expired in ${ms.toFixed(0)} ms = ${((ms * 1000) / N).toFixed(1)} µs each ` +
        `(CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, event loop ${loopUs === null ? '?' : loopUs.toFixed(1)} µs each); ${((w - w0) / N).toFixed(2)} write system calls per session\n`,
    );

    if (PAGES) {
      const wal = readFileSync(`${file}-wal`);
      const pageSize = wal.readUInt32BE(8);
      const now = await owners();
      const frames = new Map<string, number>();
      for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
        const page = wal.readUInt32BE(off);
        const was = before.get(page);
        const is = now.get(page) ?? 'free';
        const name = was === undefined ? `new→${is}` : was === is ? is : `${was}→${is}`;
        frames.set(name, (frames.get(name) ?? 0) + 1);
      }
      const batches = Math.ceil(N / BATCH);
      const top = [...frames].sort((a, b) => b[1] - a[1]).slice(0, 12);
      process.stdout.write(`  pages written per batch of ${BATCH}: ${top.map(([k, v]) => `${k} ${(v / batches).toFixed(1)}`).join(', ')}\n`);
    }
    clock.advance(1000);
  }
  const warm = perSession.slice(2).sort((a, b) => a - b);
  if (warm.length > 0) process.stdout.write(`warm rounds (3 on): ${warm[0]!.toFixed(1)}–${warm[warm.length - 1]!.toFixed(1)} µs per expired session\n`);
  const warmLoop = loopPerSession.slice(2).sort((a, b) => a - b);
  if (warmLoop.length > 0) process.stdout.write(`  of which on the event loop: ${warmLoop[0]!.toFixed(1)}–${warmLoop[warmLoop.length - 1]!.toFixed(1)} µs per expired session\n`);
  await app.close();
  await driver.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
