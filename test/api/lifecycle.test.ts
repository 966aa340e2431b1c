import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

describe.each(kinds)('client life cycle ($name)', (kind) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(kind);
  });
  afterEach(async () => h.close());

  async function product(body: Record<string, unknown>, seats = 2, license: Record<string, unknown> = {}) {
    const p = await h.req('POST', '/v1/products', h.owner, body);
    expect(p.status).toBe(201);
    const l = await h.req('POST', '/v1/licenses', h.owner, { product: body.key, seats, ...license });
    expect(l.status).toBe(201);
    return { product: p.body, license: l.body };
  }
  const acquire = (body: Record<string, unknown>, token = h.owner) => h.req('POST', '/v1/leases', token, body);
  const heartbeat = (s: { id: string; token: string }) => h.req('POST', `/v1/sessions/${s.id}/heartbeat`, s.token);
  const close = (s: { id: string; token: string }) => h.req('DELETE', `/v1/sessions/${s.id}`, s.token);
  const lease = async (id: string) => (await h.req('GET', `/v1/leases/${id}`, h.owner)).body;
  const tick = () => h.app.ctx.service.tick();

  it('starts a session, heartbeats, closes it and frees the seat', async () => {
    await product({ key: 'display' }, 1);
    const a = await acquire({ product: 'display' });
    expect(a.status).toBe(201);
    expect(a.body.lease).toMatchObject({ product: 'display', kind: 'regular', status: 'active', sessions: 1, hold: 'heartbeat' });
    expect(a.body.session).toMatchObject({ heartbeatInterval: 10, heartbeatTimeout: 30, expiresAt: new Date(h.clock.now() + 30_000).toISOString() });
    expect(a.body.session.token).toMatch(/^sss_[A-Za-z0-9_-]{43}$/);

    h.clock.advance(20_000);
    const hb = await heartbeat(a.body.session);
    expect(hb.status).toBe(200);
    expect(hb.body.expiresAt).toBe(new Date(h.clock.now() + 30_000).toISOString());
    expect(hb.body.lease.id).toBe(a.body.lease.id);
    expect(hb.headers['content-type']).toBe('application/json; charset=utf-8');
    await heartbeat(a.body.session);
    // Heartbeats are counted in a plain number and read at scrape time.
    expect((await h.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^seatkeeper_heartbeats_total 2$/m);

    const full = await acquire({ product: 'display' });
    expect(full.status).toBe(409);
    expect(full.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(full.body).toMatchObject({ code: 'no-seat', product: 'display', inUse: 1, capacity: 1, retryAfter: 30 });
    expect(full.body.ownLeases.map((l: { id: string }) => l.id)).toEqual([a.body.lease.id]);
    expect(typeof full.body.manageUrl).toBe('string');
    // The next refusal is answered from one read (the product is known to be full): the same answer.
    expect((await acquire({ product: 'display' })).body).toEqual(full.body);

    expect((await close(a.body.session)).status).toBe(204);
    expect(await lease(a.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'released', sessions: 0 });
    expect((await heartbeat(a.body.session)).body).toMatchObject({ status: 410, code: 'session-ended', reason: 'ended' });
    expect((await acquire({ product: 'display' })).status).toBe(201);
  });

  it('expires a session that stops heartbeating, and only then', async () => {
    await product({ key: 'display' }, 1);
    const a = await acquire({ product: 'display' });
    h.clock.advance(29_000);
    await tick();
    expect((await lease(a.body.lease.id)).status).toBe('active');
    expect((await heartbeat(a.body.session)).status).toBe(200);
    h.clock.advance(29_999);
    await tick();
    expect((await lease(a.body.lease.id)).status).toBe('active');
    h.clock.advance(1);
    await tick();
    expect(await lease(a.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'expired' });
    expect((await heartbeat(a.body.session)).body).toMatchObject({ code: 'session-ended', reason: 'expired' });
    expect((await acquire({ product: 'display' })).status).toBe(201);
  });

  it('uses the client type heartbeat policy', async () => {
    await product({ key: 'suite', seatModel: 'user-device', clientTypes: { desktop: { interval: 5, timeout: 15 }, web: { interval: 60, timeout: 300 } } });
    const d = await acquire({ product: 'suite', device: 'pc1', clientType: 'desktop' });
    expect(d.body.session).toMatchObject({ heartbeatInterval: 5, heartbeatTimeout: 15 });
    const w = await acquire({ product: 'suite', device: 'pc1', clientType: 'web' });
    expect(w.body.session).toMatchObject({ heartbeatInterval: 60, heartbeatTimeout: 300 });
    expect(w.body.lease.id).toBe(d.body.lease.id);
    h.clock.advance(16_000);
    await tick();
    // The desktop session timed out; the web session keeps the shared seat.
    expect(await lease(d.body.lease.id)).toMatchObject({ status: 'active', sessions: 1 });
  });

  it('shares one seat per user and device under user-device, and one per user under user', async () => {
    await product({ key: 'rs', seatModel: 'user-device' }, 5);
    await product({ key: 'cu', seatModel: 'user' }, 5);
    const a = await acquire({ product: 'rs', device: 'laptop' });
    const b = await acquire({ product: 'rs', device: 'laptop' });
    const c = await acquire({ product: 'rs', device: 'phone' });
    expect(b.body.lease.id).toBe(a.body.lease.id);
    expect(b.body.lease.sessions).toBe(2);
    expect(c.body.lease.id).not.toBe(a.body.lease.id);
    // Another user on the same computer holds a second seat (pixi, ISL).
    await h.req('POST', '/v1/users', h.owner, { username: 'bob', password: 'correct horse battery' });
    const bob = await h.login('bob');
    const d = await acquire({ product: 'rs', device: 'laptop' }, bob);
    expect(d.body.lease.id).not.toBe(a.body.lease.id);

    const u1 = await acquire({ product: 'cu', device: 'laptop' });
    const u2 = await acquire({ product: 'cu', device: 'phone' });
    expect(u2.body.lease.id).toBe(u1.body.lease.id);
    const usage = (await h.req('GET', '/v1/usage', h.owner)).body.products;
    expect(usage.find((p: { product: string }) => p.product === 'rs')).toMatchObject({ inUse: 3, capacity: 5, free: 2, peakToday: 3 });
    expect(usage.find((p: { product: string }) => p.product === 'cu')).toMatchObject({ inUse: 1 });
  });

  it('gives every session its own seat under the session model, and joins by code', async () => {
    await product({ key: 'display' }, 3);
    const a = await acquire({ product: 'display', device: 'tv' });
    const b = await acquire({ product: 'display', device: 'tv' });
    expect(b.body.lease.id).not.toBe(a.body.lease.id);
    const j = await acquire({ join: a.body.lease.joinCode });
    expect(j.status).toBe(201);
    expect(j.body.lease).toMatchObject({ id: a.body.lease.id, sessions: 2 });
    expect((await acquire({ join: 'NOSUCHCODE' })).body).toMatchObject({ status: 404, code: 'not-found' });
    expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].inUse).toBe(2);
  });

  it('keeps the seat for the linger time after an explicit end, so a restart reuses it', async () => {
    await product({ key: 'desk', seatModel: 'user-device', linger: 15 }, 1);
    const a = await acquire({ product: 'desk', device: 'pc' });
    await close(a.body.session);
    expect(await lease(a.body.lease.id)).toMatchObject({ status: 'active', sessions: 0 });
    h.clock.advance(10_000);
    await tick();
    const again = await acquire({ product: 'desk', device: 'pc' });
    expect(again.body.lease.id).toBe(a.body.lease.id);
    await close(again.body.session);
    h.clock.advance(14_999);
    await tick();
    expect((await lease(a.body.lease.id)).status).toBe('active');
    h.clock.advance(1);
    await tick();
    expect(await lease(a.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'released' });
  });

  it('counts ended leases by reason in /metrics, a batch of them as well as one', async () => {
    await product({ key: 'display' }, 4);
    const sessions = [];
    for (let i = 0; i < 4; i++) sessions.push((await acquire({ product: 'display' })).body.session);
    expect((await close(sessions[0])).status).toBe(204);
    h.clock.advance(30_000);
    await tick(); // the other three expire in one batch
    const ended = async () => {
      const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
      return Object.fromEntries([...text.matchAll(/^seatkeeper_leases_ended_total\{reason="([^"]+)"\} (\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    };
    expect(await ended()).toEqual({ released: 1, expired: 3 });
    // Events of several reasons in one call, interleaved: each is counted under its own.
    const event = (leaseId: string, reason: string) => ({ seq: 0, accountId: 'acc_none', leaseId, type: 'lease.ended', data: { reason }, at: h.clock.now() });
    h.app.ctx.service.publish([
      event('lse_a', 'terminated'), event('lse_b', 'terminated'), event('lse_c', 'expired'), event('lse_d', 'terminated'), { ...event('lse_e', 'x'), type: 'lease.paused' },
    ]);
    expect(await ended()).toEqual({ released: 1, expired: 4, terminated: 3 });
  });

  it('does not linger after a timeout', async () => {
    await product({ key: 'desk', seatModel: 'user-device', linger: 15 }, 1);
    const a = await acquire({ product: 'desk', device: 'pc' });
    h.clock.advance(30_000);
    await tick();
    expect(await lease(a.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'expired' });
  });

  it('holds an until-reset lease through the loss of its sessions until the daily reset', async () => {
    // acme's time zone is Europe/Berlin; T0 is 2026-06-01 12:00 UTC = 14:00 local (CEST).
    await product({ key: 'web', seatModel: 'user-device' }, 1);
    const web = await acquire({ product: 'web', device: 'browser' });
    const desk = await acquire({ join: web.body.lease.joinCode, hold: 'until-reset' });
    expect(desk.body.lease.hold).toBe('until-reset');
    h.clock.advance(60_000);
    await tick();
    const held = await lease(web.body.lease.id);
    expect(held).toMatchObject({ status: 'active', sessions: 0 });
    // The next reset is 04:00 CEST on 2 June = 02:00 UTC.
    h.clock.set(Date.UTC(2026, 5, 2, 1, 59, 59));
    await tick();
    expect((await lease(web.body.lease.id)).status).toBe('active');
    h.clock.set(Date.UTC(2026, 5, 2, 2, 0, 0));
    await tick();
    expect(await lease(web.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'daily-reset' });
  });

  it('on logout keeps the lease while other sessions live, then releases when they end', async () => {
    await product({ key: 'web', seatModel: 'user-device' }, 1);
    const web = await acquire({ product: 'web', device: 'browser' });
    const desk = await acquire({ join: web.body.lease.joinCode, hold: 'until-reset' });
    await close(web.body.session);
    const r = await h.req('POST', `/v1/leases/${web.body.lease.id}/release`, h.owner);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'active', hold: 'heartbeat', sessions: 1 });
    await close(desk.body.session);
    expect(await lease(web.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'released' });
  });

  it('release ends a lease with no live session at once and frees the seat', async () => {
    await product({ key: 'web', seatModel: 'user-device' }, 1);
    const a = await acquire({ product: 'web', device: 'b', hold: 'until-reset' });
    h.clock.advance(31_000);
    await tick();
    expect((await lease(a.body.lease.id)).status).toBe('active');
    const r = await h.req('POST', `/v1/leases/${a.body.lease.id}/release`, h.owner);
    expect(r.body).toMatchObject({ status: 'ended', endReason: 'released' });
    expect((await acquire({ product: 'web', device: 'other' })).status).toBe(201);
  });

  it('grants overage seats past 100 % and refuses past seats + overage', async () => {
    await product({ key: 'p' }, 10, { overage: 20 });
    const kinds: string[] = [];
    for (let i = 0; i < 12; i++) kinds.push((await acquire({ product: 'p' })).body.lease.kind);
    expect(kinds.filter((k) => k === 'regular')).toHaveLength(10);
    expect(kinds.slice(10)).toEqual(['overage', 'overage']);
    expect((await acquire({ product: 'p' })).body.code).toBe('no-seat');
    expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0]).toMatchObject({ inUse: 12, capacity: 10, free: 0, overage: 2 });
  });

  it('refuses a user at their personal cap with their own leases listed', async () => {
    await product({ key: 'rs', seatModel: 'user-device' }, 5);
    await h.req('POST', '/v1/users', h.owner, { username: 'sub', password: 'correct horse battery', maxLeases: 1 });
    const sub = await h.login('sub');
    const a = await acquire({ product: 'rs', device: 'one' }, sub);
    expect(a.status).toBe(201);
    // The same device reuses the seat; a second device is refused.
    expect((await acquire({ product: 'rs', device: 'one' }, sub)).status).toBe(201);
    const r = await acquire({ product: 'rs', device: 'two' }, sub);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'user-limit', maxLeases: 1, product: 'rs' });
    expect(r.body.ownLeases.map((l: { id: string }) => l.id)).toEqual([a.body.lease.id]);
  });

  it('orders licenses by platform and team (seed 003) through the API', async () => {
    await h.req('POST', '/v1/products', h.owner, { key: 'lab' });
    const A = (await h.req('POST', '/v1/teams', h.owner, { name: 'A' })).body.id;
    const B = (await h.req('POST', '/v1/teams', h.owner, { name: 'B' })).body.id;
    const lic = async (name: string, team: string | null, platform: string | null) =>
      (await h.req('POST', '/v1/licenses', h.owner, { product: 'lab', seats: 1, name, team, platform })).body.id as string;
    const l1 = await lic('1', A, 'android');
    await lic('2', A, 'ios');
    const l3 = await lic('3', B, 'android');
    const l4 = await lic('4', B, null);
    const l5 = await lic('5', null, null);
    await h.req('POST', '/v1/users', h.owner, { username: 'reg', password: 'correct horse battery', teams: [A] });
    await h.req('POST', '/v1/users', h.owner, { username: 'adm', password: 'correct horse battery', teams: [A], role: 'admin' });
    const reg = await h.login('reg');
    const got = [];
    const sessions = [];
    for (let i = 0; i < 3; i++) {
      const r = await acquire({ product: 'lab', platform: 'android' }, reg);
      got.push(r.body.lease?.license ?? r.body.code);
      if (r.body.session) sessions.push(r.body.session);
    }
    expect(got).toEqual([l1, l5, 'no-seat']);
    // Free them, then the admin borrows in the order 1, 3, 5, 4.
    for (const s of sessions) await close(s);
    const adm = await h.login('adm');
    const order = [];
    for (let i = 0; i < 4; i++) order.push((await acquire({ product: 'lab', platform: 'android' }, adm)).body.lease.license);
    expect(order).toEqual([l1, l3, l5, l4]);
  });

  it('lets endpoints start sessions until they are disabled', async () => {
    await product({ key: 'display' }, 5);
    const e = await h.req('POST', '/v1/endpoints', h.owner, { product: 'display', name: 'Lobby' });
    expect(e.status).toBe(201);
    expect(e.body.displayUrl).toContain(e.body.key);
    const a = await acquire({ device: 'tv-1' }, e.body.key);
    expect(a.status).toBe(201);
    expect(a.body.lease).toMatchObject({ endpoint: e.body.id, product: 'display', user: null });
    await h.req('PATCH', `/v1/endpoints/${e.body.id}`, h.owner, { enabled: false });
    const r = await acquire({ device: 'tv-2' }, e.body.key);
    expect(r.body).toMatchObject({ status: 403, code: 'endpoint-disabled' });
  });

  it('lets service keys act for a user, and not user tokens', async () => {
    await product({ key: 'rs', seatModel: 'user-device' }, 5);
    const bob = (await h.req('POST', '/v1/users', h.owner, { username: 'bob', password: 'correct horse battery' })).body;
    const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'backend', kind: 'service' })).body.secret;
    const a = await acquire({ product: 'rs', device: 'd', user: bob.id }, key);
    expect(a.body.lease.user).toBe(bob.id);
    const b = await acquire({ product: 'rs', device: 'd', user: 'bob' }, key);
    expect(b.body.lease.id).toBe(a.body.lease.id);
    const bobToken = await h.login('bob');
    const owner = (await h.req('GET', '/v1/users', h.owner)).body.items.find((u: { username: string }) => u.username === 'owner');
    expect((await acquire({ product: 'rs', user: owner.id }, bobToken)).body.code).toBe('forbidden');
  });

  it('ends the leases of a deleted license', async () => {
    const { license } = await product({ key: 'p' }, 2);
    const a = await acquire({ product: 'p' });
    expect((await h.req('DELETE', `/v1/licenses/${license.id}`, h.owner)).status).toBe(204);
    expect(await lease(a.body.lease.id)).toMatchObject({ status: 'ended', endReason: 'license-ended' });
    expect((await heartbeat(a.body.session)).body).toMatchObject({ code: 'session-ended', reason: 'license-ended' });
  });

  it('lists leases by permission: members see all with view=domain, only their own with view=own', async () => {
    await product({ key: 'p' }, 5);
    await h.req('POST', '/v1/users', h.owner, { username: 'm', password: 'correct horse battery' });
    const m = await h.login('m');
    await acquire({ product: 'p' });
    const mine = await acquire({ product: 'p' }, m);
    expect((await h.req('GET', '/v1/leases', m)).body.items).toHaveLength(2);
    await h.req('PATCH', '/v1/settings', h.owner, { permissions: { view: 'own', control: 'own' } });
    const own = (await h.req('GET', '/v1/leases', m)).body.items;
    expect(own.map((l: { id: string }) => l.id)).toEqual([mine.body.lease.id]);
    const others = (await h.req('GET', '/v1/leases', h.owner)).body.items.find((l: { id: string }) => l.id !== mine.body.lease.id);
    expect((await h.req('GET', `/v1/leases/${others.id}`, m)).status).toBe(404);
    expect((await h.req('POST', `/v1/leases/${others.id}/release`, m)).status).toBe(404);
    await h.req('PATCH', '/v1/settings', h.owner, { permissions: { view: 'domain', control: 'own' } });
    expect((await h.req('POST', `/v1/leases/${others.id}/release`, m)).body.code).toBe('forbidden');
    expect((await lease(others.id)).status).toBe('active');
    // Releasing (logging out) leaves a lease held by a live session; closing it then ends it.
    expect((await h.req('POST', `/v1/leases/${mine.body.lease.id}/release`, m)).body).toMatchObject({ status: 'active', hold: 'heartbeat' });
    await close(mine.body.session);
    expect((await lease(mine.body.lease.id)).status).toBe('ended');
  });

  it('paginates lists with limit and cursor', async () => {
    await product({ key: 'p' }, 10);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await acquire({ product: 'p' })).body.lease.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r: { body: { items: { id: string }[]; next: string | null } } = await h.req('GET', `/v1/leases?limit=2${cursor ? `&cursor=${cursor}` : ''}`, h.owner);
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.items.map((l) => l.id));
      cursor = r.body.next;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('gives every live session a fresh timeout window after a restart', async () => {
    await product({ key: 'p' }, 2);
    const a = await acquire({ product: 'p' });
    h.clock.advance(25_000);
    // A new app on the same store, as after kill -9 and restart.
    const { buildApp } = await import('../../src/server/app.js');
    const app2 = await buildApp({ store: h.ts.store, clock: h.clock });
    expect(await app2.ctx.service.recover()).toBe(1);
    // Embedded: this server times the session itself. Shared: the store sweep does.
    if (!h.ts.store.shared) expect(app2.ctx.service.deadlines.deadline(a.body.session.id)).toBe(h.clock.now() + 30_000);
    h.clock.advance(29_000);
    await app2.ctx.service.tick();
    expect((await h.ts.store.getLease(h.accountId, a.body.lease.id))?.status).toBe('active');
    h.clock.advance(1_000);
    await app2.ctx.service.tick();
    expect((await h.ts.store.getLease(h.accountId, a.body.lease.id))?.status).toBe('ended');
    await app2.close();
  });
});
