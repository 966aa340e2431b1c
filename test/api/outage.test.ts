import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import { FakeClock } from '../../src/server/deps.js';
import { createAccount } from '../../src/server/plugins/accounts.js';
import type { Store } from '../../src/store/types.js';
import { granted } from '../helpers/app.js';
import { storeKinds, type TestStore } from '../helpers/stores.js';

const kinds = await storeKinds();

/** The real store, except that every call fails like an unreachable database while `down`. */
function flaky(store: Store) {
  const state = { down: false };
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (state.down) return Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: proxy, state };
}

describe.each(kinds)('when the store goes away ($name)', (kind) => {
  let ts: TestStore;
  let app: App;
  let clock: FakeClock;
  let state: { down: boolean };
  beforeEach(async () => {
    ts = await kind.open();
    const f = flaky(ts.store);
    state = f.state;
    clock = new FakeClock(Date.UTC(2026, 3, 1, 9, 0, 0));
    app = await buildApp({ store: f.store, clock });
  });
  afterEach(async () => {
    state.down = false;
    await app.close();
    await ts.drop();
  });

  it('answers 503 unavailable, and does not expire clients for the outage', async () => {
    const { account } = await createAccount(app.ctx, 'acme', 'UTC', { username: 'o', password: 'long enough password' });
    const owner = (await app.ctx.store.findUserByUsername(account.id, 'o'))!;
    const product = await app.ctx.store.createProduct(account.id, 'prd_1', {
      key: 'p', name: 'p', seatModel: 'session', heartbeat: { interval: 10, timeout: 30 }, clientTypes: {}, linger: 0,
      standbyTimeout: null, flex: { channels: [], duration: 60 }, activationWindow: 1, quota: null,
    }, clock.now());
    await app.ctx.store.createLicense(account.id, 'lic_1', {
      productId: product.id, seats: 1, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, clock.now());
    const held = granted(await app.ctx.service.acquire({ kind: 'user', accountId: account.id, user: owner, tokenHash: '' }, { product: 'p' }));

    state.down = true;
    clock.advance(60_000);
    await expect(app.ctx.service.tick()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const hb = await app.inject({ method: 'POST', url: `/v1/sessions/${held.session.id}/heartbeat`, headers: { authorization: `Bearer ${held.token}` } });
    // The embedded store's server answers heartbeats from memory; a shared store is needed.
    expect(hb.statusCode).toBe(ts.store.shared ? 503 : 200);
    const needsStore = await app.inject({ method: 'GET', url: '/v1/usage', headers: { authorization: 'Bearer skt_anything' } });
    expect(needsStore.statusCode).toBe(503);
    expect(JSON.parse(needsStore.body)).toMatchObject({ code: 'unavailable' });
    expect(needsStore.headers['retry-after']).toBe('2');
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);

    state.down = false;
    await app.ctx.service.tick();
    expect((await ts.store.getLease(account.id, held.lease.id))?.status).toBe('active');
    const again = await app.inject({ method: 'POST', url: `/v1/sessions/${held.session.id}/heartbeat`, headers: { authorization: `Bearer ${held.token}` } });
    expect(again.statusCode).toBe(200);
    // A client that really went away is still expired, one timeout after the outage.
    clock.advance(30_000);
    await app.ctx.service.tick();
    expect((await ts.store.getLease(account.id, held.lease.id))?.status).toBe('ended');
  });
});
