import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import type { Principal } from '../../src/server/auth.js';
import { FakeClock } from '../../src/server/deps.js';
import { createAccount } from '../../src/server/plugins/accounts.js';
import type { Store } from '../../src/store/types.js';
import { granted } from '../helpers/app.js';
import { sqliteKind, type TestStore } from '../helpers/stores.js';

describe('mass expiry', () => {
  let ts: TestStore;
  let app: App;
  const clock = new FakeClock(Date.UTC(2026, 4, 4, 4, 4, 4));
  const batches: number[] = [];
  /** While set, the store's expiry answers only once it settles (the batch is with the store). */
  let gate: Promise<void> | null = null;
  /** Expiry batches still to fail, as a store that cannot write would. */
  let failures = 0;

  beforeEach(async () => {
    ts = await sqliteKind.open();
    // Record the size of every expiry batch the service hands the store.
    const spy = new Proxy(ts.store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'expireSessions') {
          return async (ids: string[], now: number) => {
            batches.push(ids.length);
            if (failures > 0) {
              failures--;
              throw new Error('disk I/O error');
            }
            const r = await target.expireSessions(ids, now);
            if (gate) await gate;
            return r;
          };
        }
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Store;
    app = await buildApp({ store: spy, clock });
  });
  afterEach(async () => {
    batches.length = 0;
    gate = null;
    failures = 0;
    await app.close();
    await ts.drop();
  });

  /** Account "acme", product p (heartbeat timeout 30 s) with 1,300 seats, and its owner as principal. */
  const acme = async () => {
    const { account } = await createAccount(app.ctx, 'acme', 'UTC', { username: 'o', password: 'long enough password' });
    const owner = (await ts.store.findUserByUsername(account.id, 'o'))!;
    const product = await ts.store.createProduct(account.id, 'prd_1', {
      key: 'p', name: 'p', seatModel: 'session', heartbeat: { interval: 10, timeout: 30 }, clientTypes: {}, linger: 0,
      standbyTimeout: null, flex: { channels: [], duration: 60 }, activationWindow: 1, quota: null,
    }, clock.now());
    await ts.store.createLicense(account.id, 'lic_1', {
      productId: product.id, seats: 1300, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, clock.now());
    const p: Principal = { kind: 'user', accountId: account.id, user: owner, tokenHash: '' };
    return { account, p };
  };

  it('frees 1,200 abandoned sessions in bounded batches while heartbeats are still answered', async () => {
    const { account, p } = await acme();
    const abandoned = [];
    for (let i = 0; i < 1200; i++) abandoned.push(granted(await app.ctx.service.acquire(p, { product: 'p' })));
    const alive = granted(await app.ctx.service.acquire(p, { product: 'p' }));

    clock.advance(20_000);
    await app.ctx.service.heartbeat(alive.session.id, alive.token);
    clock.advance(10_000);
    // A heartbeat racing the storm is answered.
    const [, hb] = await Promise.all([app.ctx.service.tick(), app.ctx.service.heartbeat(alive.session.id, alive.token)]);
    expect(hb.lease.status).toBe('active');

    expect(batches.reduce((a, b) => a + b, 0)).toBe(1200);
    expect(Math.max(...batches)).toBeLessThanOrEqual(500);
    expect(batches.length).toBeGreaterThanOrEqual(3);
    // Each batch stopped being in flight once the store answered it.
    expect((app.ctx.service as unknown as { expiring: unknown[] }).expiring).toEqual([]);
    const usage = await ts.store.usage(account.id, clock.now());
    expect(usage[0]?.inUse).toBe(1);
    expect((await ts.store.getLease(account.id, abandoned[0]!.lease.id))?.endReason).toBe('expired');
  });

  it('expires, in one tick, a session whose deadline sits behind more extended ones than a call settles', async () => {
    const { account, p } = await acme();
    // 1,100 sessions due at +30 s, then one due at +31 s.
    const alive = [];
    for (let i = 0; i < 1100; i++) alive.push(granted(await app.ctx.service.acquire(p, { product: 'p' })));
    clock.advance(1000);
    const gone = granted(await app.ctx.service.acquire(p, { product: 'p' }));
    // The 1,100 heartbeat: each deadline moves to +50 s, but its index entry keeps +30 s until
    // settled, so at +32 s they are all ahead of the one that stopped.
    clock.advance(19_000);
    for (const a of alive) await app.ctx.service.heartbeat(a.session.id, a.token);
    clock.advance(12_000);
    await app.ctx.service.tick();
    expect((await ts.store.getLease(account.id, gone.lease.id))?.endReason).toBe('expired');
    expect((await ts.store.usage(account.id, clock.now()))[0]?.inUse).toBe(1100);
  });

  /** Turns of the event loop until `done` holds (at most 1,000). */
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 1000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
    expect(done()).toBe(true);
  };

  it('tells a heartbeat that arrives while its session is being expired that the session ended', async () => {
    const { account, p } = await acme();
    const late = granted(await app.ctx.service.acquire(p, { product: 'p' }));
    await app.ctx.service.heartbeat(late.session.id, late.token); // its view is now kept in memory
    clock.advance(31_000);
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const tick = app.ctx.service.tick();
    await until(() => batches.length === 1);
    // The batch is with the store: the heartbeat waits for it rather than answer from memory.
    let answer: string | null = null;
    const hb = app.ctx.service.heartbeat(late.session.id, late.token).then(() => (answer = 'alive'), (e: { code?: string }) => (answer = e.code ?? 'error'));
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(answer).toBeNull();
    open();
    await tick;
    await hb;
    expect(answer).toBe('session-ended');
    expect((await ts.store.getLease(account.id, late.lease.id))?.endReason).toBe('expired');
  });

  it('expires at the next tick the sessions of a batch the store failed to write', async () => {
    const { account, p } = await acme();
    const gone = granted(await app.ctx.service.acquire(p, { product: 'p' }));
    clock.advance(31_000);
    failures = 1;
    await expect(app.ctx.service.tick()).rejects.toThrow('disk I/O error');
    expect((await ts.store.getLease(account.id, gone.lease.id))?.status).toBe('active');
    // Its session is due again: the next tick hands it to the store once more.
    await app.ctx.service.tick();
    expect(batches).toEqual([1, 1]);
    expect((await ts.store.getLease(account.id, gone.lease.id))?.endReason).toBe('expired');
  });
});
