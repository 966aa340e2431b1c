/**
 * The store keeps credentials, users and products by key in memory (docs/architecture.md):
 * every change made through this server shows at once, on both stores.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';
import { thisTurn } from '../../src/server/deps.js';

const kinds = await storeKinds();

describe.each(kinds)('cached reads follow changes ($name)', (kind) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(kind);
    await h.req('POST', '/v1/products', h.owner, { key: 'p', heartbeat: { interval: 10, timeout: 30 } });
  });
  afterEach(async () => h.close());

  it('a deleted API key, a deleted user and a logged-out token stop working at once', async () => {
    const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'svc', kind: 'admin' })).body;
    expect((await h.req('GET', '/v1/usage', key.secret)).status).toBe(200);
    expect((await h.req('DELETE', `/v1/api-keys/${key.id}`, h.owner)).status).toBe(204);
    expect((await h.req('GET', '/v1/usage', key.secret)).status).toBe(401);

    const u = (await h.req('POST', '/v1/users', h.owner, { username: 'ann', password: PASSWORD, role: 'member' })).body;
    const ann = await h.login('ann');
    expect((await h.req('GET', '/v1/usage', ann)).status).toBe(200);
    expect((await h.req('DELETE', `/v1/users/${u.id}`, h.owner)).status).toBe(204);
    expect((await h.req('GET', '/v1/usage', ann)).status).toBe(401);

    const again = await h.login('owner');
    expect((await h.req('POST', '/v1/auth/logout', again)).status).toBe(204);
    expect((await h.req('GET', '/v1/usage', again)).status).toBe(401);
  });

  it('a user’s new team, role and cap, and a product’s new heartbeat, apply to the next request', async () => {
    const team = (await h.req('POST', '/v1/teams', h.owner, { name: 'Lab' })).body;
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 2, team: team.id });
    const u = (await h.req('POST', '/v1/users', h.owner, { username: 'bo', password: PASSWORD, role: 'member' })).body;
    const bo = await h.login('bo');
    expect((await h.req('POST', '/v1/leases', bo, { product: 'p' })).body.code).toBe('no-seat');
    await h.req('PATCH', `/v1/users/${u.id}`, h.owner, { teams: [team.id], maxLeases: 1 });
    const first = await h.req('POST', '/v1/leases', bo, { product: 'p' });
    expect(first.status).toBe(201);
    expect(first.body.session.heartbeatInterval).toBe(10);
    expect((await h.req('POST', '/v1/leases', bo, { product: 'p' })).body.code).toBe('user-limit');
    await h.req('PATCH', `/v1/users/${u.id}`, h.owner, { maxLeases: null, role: 'admin' });
    expect((await h.req('GET', '/v1/settings', bo)).status).toBe(200); // now an admin
    await h.req('PATCH', '/v1/products/p', h.owner, { heartbeat: { interval: 20, timeout: 60 } });
    const second = await h.req('POST', '/v1/leases', bo, { product: 'p' });
    expect(second.body.session).toMatchObject({ heartbeatInterval: 20, heartbeatTimeout: 60 });
  });

  it('a repeated refusal (one error, serialized once) follows the load, the capacity and the product', async () => {
    // A service key holds no leases of its own: its refusals are the ones built once and reused.
    const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'svc', kind: 'service' })).body.secret as string;
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 1 });
    const held = (await h.req('POST', '/v1/leases', key, { product: 'p' })).body.session;
    const refusal = async () => {
      const r = await h.req('POST', '/v1/leases', key, { product: 'p' });
      expect(r.status).toBe(409);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      return r.body;
    };
    const first = await refusal();
    expect(first).toEqual({
      type: 'urn:seatkeeper:problem:no-seat', title: 'No seat available', status: 409, code: 'no-seat',
      detail: 'all 1 seats of p are in use', product: 'p', inUse: 1, capacity: 1, retryAfter: 30, ownLeases: [],
      manageUrl: '/console/#/leases?mine=1',
    });
    expect(await refusal()).toEqual(first);

    // More seats, all taken: the capacity and the load are the new ones.
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 2 });
    const more: { id: string; token: string }[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await h.req('POST', '/v1/leases', key, { product: 'p' });
      expect(r.status).toBe(201);
      more.push(r.body.session);
    }
    expect(await refusal()).toMatchObject({ inUse: 3, capacity: 3, detail: 'all 3 seats of p are in use' });

    // Seats lowered while held: the capacity falls, the load does not.
    const lic = (await h.req('GET', '/v1/licenses', h.owner)).body.items.find((l: { seats: number }) => l.seats === 2);
    expect((await h.req('PATCH', `/v1/licenses/${lic.id}`, h.owner, { seats: 1 })).status).toBe(200);
    expect(await refusal()).toMatchObject({ inUse: 3, capacity: 2 });

    // The product's new heartbeat timeout is the new retry hint; its new key is named.
    await h.req('PATCH', '/v1/products/p', h.owner, { heartbeat: { interval: 20, timeout: 60 } });
    expect(await refusal()).toMatchObject({ retryAfter: 60, product: 'p' });
    // One of the lowered license's two leases ends: still full, with one seat fewer in use.
    expect((await h.req('DELETE', `/v1/sessions/${more[0]!.id}`, more[0]!.token)).status).toBe(204);
    expect(await refusal()).toMatchObject({ inUse: 2, capacity: 2 });
    expect((await h.req('DELETE', `/v1/sessions/${held.id}`, held.token)).status).toBe(204);
    expect((await h.req('POST', '/v1/leases', key, { product: 'p' })).status).toBe(201);
  });
});

describe('a refusal answered from the last read (sqlite)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(kinds[0]!);
  });
  afterEach(async () => h.close());

  it('leaves at the end of the turn that read its request, not while that turn still reads others', async () => {
    await h.req('POST', '/v1/products', h.owner, { key: 'p', heartbeat: { interval: 10, timeout: 30 } });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 1 });
    const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'svc', kind: 'service' })).body.secret as string;
    expect((await h.req('POST', '/v1/leases', key, { product: 'p' })).status).toBe(201);
    // Refused the long way (a claim that fails), then from a read in a transaction: that read is now known.
    for (let i = 0; i < 2; i++) expect((await h.req('POST', '/v1/leases', key, { product: 'p' })).status).toBe(409);

    // The next refusal needs no transaction: its answer is ready within the turn that read its
    // request (the one the service is called in), and waits for that turn's end.
    const order: string[] = [];
    const service = h.app.ctx.service;
    const acquire = service.acquire.bind(service);
    vi.spyOn(service, 'acquire').mockImplementationOnce((p, input) => {
      void thisTurn().end.then(() => order.push('turn ended'));
      return acquire(p, input);
    });
    const r = await h.app.inject({ method: 'POST', url: '/v1/leases', headers: { authorization: `Bearer ${key}` }, payload: { product: 'p' } });
    order.push(`answer ${r.statusCode}`);
    expect(order).toEqual(['turn ended', 'answer 409']);
  });
});
