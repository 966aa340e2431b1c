/**
 * Seeing and steering (issue 5): terminate, pause/resume, standby, endpoint disable,
 * reports, audit — with a fake clock, and what each client's stream receives.
 */
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { openSse } from '../helpers/sse.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

describe.each(kinds)('seeing and steering ($name)', (kind) => {
  let h: Harness;
  let base: string;
  let member: string;
  beforeEach(async () => {
    h = await harness(kind, { ticketPollMs: 20 });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    // Long heartbeat timeouts: these tests move time past notices and reports, not liveness.
    await h.req('POST', '/v1/products', h.owner, { key: 'p', seatModel: 'user-device', standbyTimeout: 120, heartbeat: { interval: 60, timeout: 600 } });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 2 });
    await h.req('POST', '/v1/users', h.owner, { username: 'm', password: PASSWORD });
    member = await h.login('m');
  });
  afterEach(async () => h.close());

  const acquire = (body: Record<string, unknown>, token = h.owner) => h.req('POST', '/v1/leases', token, body);
  const lease = async (id: string) => (await h.req('GET', `/v1/leases/${id}`, h.owner)).body;
  const stream = (s: { id: string; token: string }) => openSse(`${base}/v1/sessions/${s.id}/events`, { authorization: `Bearer ${s.token}` });
  const tick = () => h.app.ctx.service.tick();

  it('terminates selected leases after a notice, and only what the caller may control', async () => {
    const mine = (await acquire({ product: 'p', device: 'a' }, member)).body;
    const theirs = (await acquire({ product: 'p', device: 'b' })).body;
    const s = stream(mine.session);
    await s.ready;
    // A member (control: own) naming another's lease ends nothing and is told which ids.
    const refused = await h.req('POST', '/v1/leases/terminate', member, { ids: [mine.lease.id, theirs.lease.id] });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'forbidden', refused: [theirs.lease.id] });
    expect((await lease(mine.lease.id)).status).toBe('active');

    const r = await h.req('POST', '/v1/leases/terminate', h.owner, { ids: [mine.lease.id], message: 'Maintenance', grace: 45 });
    expect(r.status).toBe(202);
    const at = new Date(h.clock.now() + 45_000).toISOString();
    expect(r.body).toEqual({ terminating: [{ id: mine.lease.id, at }] });
    expect(await lease(mine.lease.id)).toMatchObject({ status: 'terminating', endsAt: at });
    const [notice] = await s.waitFor(1);
    expect(notice?.event).toBe('lease.terminating');
    expect(JSON.parse(notice!.data)).toMatchObject({ at, message: 'Maintenance' });

    h.clock.advance(30_000);
    await h.req('POST', `/v1/sessions/${mine.session.id}/heartbeat`, mine.session.token);
    h.clock.advance(14_999);
    await tick();
    expect((await lease(mine.lease.id)).status).toBe('terminating');
    h.clock.advance(1);
    await tick();
    expect(await lease(mine.lease.id)).toMatchObject({ status: 'ended', endReason: 'terminated' });
    const [, ended] = await s.waitFor(2);
    expect(ended?.event).toBe('lease.ended');
    expect(JSON.parse(ended!.data).reason).toBe('terminated');
    expect((await lease(theirs.lease.id)).status).toBe('active');
  });

  it('lets only the lease\'s own user pause and resume it; a paused lease holds no seat and is hidden', async () => {
    const mine = (await acquire({ product: 'p', device: 'a' }, member)).body;
    const other = (await acquire({ product: 'p', device: 'b' })).body;
    const s = stream(mine.session);
    await s.ready;
    expect((await h.req('POST', `/v1/leases/${mine.lease.id}/pause`, h.owner)).body.code).toBe('forbidden');
    const paused = await h.req('POST', `/v1/leases/${mine.lease.id}/pause`, member);
    expect(paused.body).toMatchObject({ status: 'paused', license: null });
    expect((await s.waitFor(1))[0]?.event).toBe('lease.paused');
    // Hidden from everyone else, still listed to its user.
    expect((await h.req('GET', '/v1/leases', h.owner)).body.items.map((l: { id: string }) => l.id)).toEqual([other.lease.id]);
    expect((await h.req('GET', `/v1/leases/${mine.lease.id}`, h.owner)).status).toBe(404);
    expect((await h.req('GET', '/v1/leases', member)).body.items.map((l: { id: string }) => l.id)).toContain(mine.lease.id);
    // Its seat is free for someone else.
    const taker = (await acquire({ product: 'p', device: 'c' })).body;
    expect(taker.lease.kind).toBe('regular');
    const noSeat = await h.req('POST', `/v1/leases/${mine.lease.id}/resume`, member);
    expect(noSeat.status).toBe(409);
    expect(noSeat.body).toMatchObject({ code: 'no-seat', product: 'p', inUse: 2, capacity: 2 });
    await h.req('DELETE', `/v1/sessions/${taker.session.id}`, taker.session.token);
    const resumed = await h.req('POST', `/v1/leases/${mine.lease.id}/resume`, member);
    expect(resumed.body).toMatchObject({ status: 'active', kind: 'regular' });
    expect((await s.waitFor(2))[1]?.event).toBe('lease.resumed');
    expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].inUse).toBe(2);
  });

  it('reserves a standby seat with a join code, starts it on join, and expires it after standbyTimeout', async () => {
    const sb = await acquire({ product: 'p', standby: true });
    expect(sb.status).toBe(201);
    expect(sb.body.session).toBeUndefined();
    expect(sb.body.lease).toMatchObject({ status: 'standby', sessions: 0, endsAt: new Date(h.clock.now() + 120_000).toISOString() });
    expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].inUse).toBe(1);
    const joined = await acquire({ join: sb.body.lease.joinCode });
    expect(joined.body.lease).toMatchObject({ id: sb.body.lease.id, status: 'active', endsAt: null, sessions: 1 });
    h.clock.advance(121_000);
    await tick();
    // Started: the standby timeout no longer applies.
    expect(await lease(sb.body.lease.id)).toMatchObject({ status: 'active', endsAt: null });
    await h.req('DELETE', `/v1/sessions/${joined.body.session.id}`, joined.body.session.token);

    const idle = (await acquire({ product: 'p', standby: true })).body.lease;
    h.clock.advance(120_000);
    await tick();
    expect(await lease(idle.id)).toMatchObject({ status: 'ended', endReason: 'expired' });
    const ended = (await acquire({ product: 'p', standby: true })).body.lease;
    expect((await h.req('POST', `/v1/leases/${ended.id}/release`, h.owner)).body).toMatchObject({ status: 'ended', endReason: 'released' });
    expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].inUse).toBe(0);
  });

  it('ends the running sessions of a disabled endpoint after a notice', async () => {
    const e = (await h.req('POST', '/v1/endpoints', h.owner, { product: 'p', name: 'lobby' })).body;
    const tv = (await acquire({ device: 'tv' }, e.key)).body;
    const s = stream(tv.session);
    await s.ready;
    await h.req('PATCH', `/v1/endpoints/${e.id}`, h.owner, { enabled: false });
    const [notice] = await s.waitFor(1);
    expect(notice?.event).toBe('lease.terminating');
    expect(JSON.parse(notice!.data).message).toMatch(/disabled/);
    h.clock.advance(30_000);
    await tick();
    expect(await lease(tv.lease.id)).toMatchObject({ status: 'ended', endReason: 'terminated' });
  });

  it('reports active logins, session history (JSON and CSV) and usage over time', async () => {
    const a = (await acquire({ product: 'p', device: 'pc-1' }, member)).body;
    for (let i = 0; i < 120; i++) {
      h.clock.advance(1000);
      await tick();
    }
    const b = (await acquire({ product: 'p', device: 'pc-2' })).body;
    for (let i = 0; i < 60; i++) {
      h.clock.advance(1000);
      await tick();
    }
    await h.req('DELETE', `/v1/sessions/${a.session.id}`, a.session.token);
    const logins = (await h.req('GET', '/v1/reports/active-logins', h.owner)).body.items;
    expect(logins).toEqual([expect.objectContaining({ device: 'pc-2', product: 'p', sessions: 1, since: b.lease.startedAt })]);

    const history = (await h.req('GET', '/v1/reports/leases', h.owner)).body.items;
    expect(history.map((l: { id: string }) => l.id)).toEqual([a.lease.id, b.lease.id]);
    expect(history[0]).toMatchObject({ status: 'ended', endReason: 'released', durationSeconds: 180 });
    const csv = await h.app.inject({ method: 'GET', url: '/v1/reports/leases', headers: { authorization: `Bearer ${h.owner}`, accept: 'text/csv' } });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toBe('id,product,license,kind,status,user,device,endpoint,clientType,channel,platform,startedAt,endedAt,durationSeconds,endReason');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain(',pc-1,');
    expect(lines[1]).toMatch(/,180,released$/);

    const from = new Date(Date.parse(a.lease.startedAt)).toISOString();
    const usage = (await h.req('GET', `/v1/reports/usage?product=p&bucket=60&from=${from}`, h.owner)).body.items;
    // Minutes 0 and 1: one seat; minute 2: a second seat from its first second on. The range
    // ends now, at the start of minute 3.
    expect(usage.map((u: { peak: number }) => u.peak)).toEqual([1, 1, 2]);
    expect(usage[0].avg).toBe(1);
    expect(usage[2].avg).toBeGreaterThan(1.9);
    expect(usage[2].avg).toBeLessThan(2);
    expect((await h.req('GET', '/v1/reports/usage?product=p&bucket=90', h.owner)).body.code).toBe('bad-request');
  });

  it('records administrative changes in the audit log, without secrets', async () => {
    await h.req('PATCH', '/v1/settings', h.owner, { flexMax: 3 });
    await h.req('POST', '/v1/users', h.owner, { username: 'new', password: 'very secret password' });
    const lic = (await h.req('GET', '/v1/licenses', h.owner)).body.items[0];
    await h.req('PATCH', `/v1/licenses/${lic.id}`, h.owner, { seats: 3 });
    await h.req('PATCH', `/v1/licenses/${lic.id}`, h.owner, { seats: -1 }); // refused: not audited
    const l = (await acquire({ product: 'p', device: 'x' })).body.lease;
    await h.req('POST', '/v1/leases/terminate', h.owner, { ids: [l.id] });
    const audit = (await h.req('GET', '/v1/audit', h.owner)).body.items;
    expect(audit.map((a: { action: string }) => a.action)).toEqual([
      'POST /v1/leases/terminate', 'PATCH /v1/licenses/:id', 'POST /v1/users', 'PATCH /v1/settings',
      'POST /v1/users', 'POST /v1/licenses', 'POST /v1/products',
    ]);
    expect(audit[1]).toMatchObject({ target: lic.id, detail: { seats: 3 } });
    expect(audit[2].detail).toMatchObject({ username: 'new', password: '[redacted]' });
    expect(audit[0].actor).toMatch(/^user:.* \(owner\)$/);
    expect(JSON.stringify(audit)).not.toContain('very secret password');
    expect((await h.req('GET', '/v1/audit', member)).body.code).toBe('forbidden');
  });

  /** The account's event stream as the owner, and as a member once members may view their own. */
  const accountStreams = async () => {
    const admin = openSse(`${base}/v1/events`, { authorization: `Bearer ${h.owner}` });
    await admin.ready;
    await h.req('PATCH', '/v1/settings', h.owner, { permissions: { view: 'own', control: 'own' } });
    const own = openSse(`${base}/v1/events`, { authorization: `Bearer ${member}` });
    await own.ready;
    return { admin, own };
  };

  it('streams refusals to whole-account viewers once the tick records them, and to no one else', async () => {
    const { admin, own } = await accountStreams();
    await acquire({ product: 'p', device: 'a' });
    await acquire({ product: 'p', device: 'b' });
    expect((await acquire({ product: 'p', device: 'c' }, member)).body.code).toBe('no-seat');
    await h.app.ctx.service.tick();
    const denials = (st: typeof admin) => st.events.filter((e) => e.event === 'denial').map((e) => JSON.parse(e.data));
    for (let i = 0; i < 100 && denials(admin).length < 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(denials(admin)).toMatchObject([{ code: 'no-seat', device: 'c' }]);
    expect(denials(own)).toEqual([]);
    admin.close();
    own.close();
  });

  it('streams account events to administrators, and a member with view own sees only their own', async () => {
    const { admin, own } = await accountStreams();
    const theirs = (await acquire({ product: 'p', device: 'b' })).body;
    const mine = (await acquire({ product: 'p', device: 'a' }, member)).body;
    await h.req('DELETE', `/v1/sessions/${theirs.session.id}`, theirs.session.token);
    await h.req('DELETE', `/v1/sessions/${mine.session.id}`, mine.session.token);
    const endedIn = (st: typeof admin) => st.events.filter((e) => e.event === 'lease.ended');
    for (let i = 0; i < 100 && (endedIn(admin).length < 2 || endedIn(own).length < 1); i++) await new Promise((r) => setTimeout(r, 20));
    const adminEnded = admin.events.filter((e) => e.event === 'lease.ended').map((e) => JSON.parse(e.data).lease);
    expect(adminEnded).toEqual([theirs.lease.id, mine.lease.id]);
    expect(admin.events.some((e) => e.event === 'usage')).toBe(true);
    const ownEnded = own.events.filter((e) => e.event === 'lease.ended').map((e) => JSON.parse(e.data).lease);
    expect(ownEnded).toEqual([mine.lease.id]);
    // A member with view none may not stream at all.
    await h.req('PATCH', '/v1/settings', h.owner, { permissions: { view: 'none', control: 'none' } });
    expect((await h.req('GET', '/v1/events', member)).body.code).toBe('forbidden');
    admin.close();
    own.close();
  });
});
