/**
 * The store keeps credentials, users and products by key in memory (docs/architecture.md):
 * every change made through this server shows at once, on both stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

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
});
