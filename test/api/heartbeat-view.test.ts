/**
 * Heartbeats on the embedded store are answered from memory; every change to a lease must
 * still show in the next heartbeat's `lease`, and an ended lease must answer 410.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

describe.each(kinds)('heartbeat answers show the current lease ($name)', (kind) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(kind);
    await h.req('POST', '/v1/products', h.owner, { key: 'p', seatModel: 'user-device', heartbeat: { interval: 60, timeout: 3600 } });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 1 });
  });
  afterEach(async () => h.close());
  const hb = (s: { id: string; token: string }) => h.req('POST', `/v1/sessions/${s.id}/heartbeat`, s.token);

  it('after attach, terminate, pause, resume, release, top-up and end', async () => {
    await h.req('POST', '/v1/users', h.owner, { username: 'm', password: PASSWORD });
    const m = await h.login('m');
    const a = (await h.req('POST', '/v1/leases', m, { product: 'p', device: 'x' })).body;
    expect((await hb(a.session)).body.lease.sessions).toBe(1);
    const b = (await h.req('POST', '/v1/leases', m, { product: 'p', device: 'x', hold: 'until-reset' })).body;
    expect((await hb(a.session)).body.lease).toMatchObject({ sessions: 2, hold: 'until-reset' });
    await h.req('POST', `/v1/leases/${a.lease.id}/release`, m);
    expect((await hb(a.session)).body.lease.hold).toBe('heartbeat');
    await h.req('POST', `/v1/leases/${a.lease.id}/pause`, m);
    expect((await hb(a.session)).body.lease.status).toBe('paused');
    await h.req('POST', `/v1/leases/${a.lease.id}/resume`, m);
    expect((await hb(b.session)).body.lease.status).toBe('active');
    await h.req('DELETE', `/v1/sessions/${b.session.id}`, b.session.token);
    expect((await hb(a.session)).body.lease.sessions).toBe(1);
    const t = await h.req('POST', '/v1/leases/terminate', h.owner, { ids: [a.lease.id], grace: 60 });
    expect((await hb(a.session)).body.lease).toMatchObject({ status: 'terminating', endsAt: t.body.terminating[0].at });
    h.clock.advance(60_000);
    await h.app.ctx.service.tick();
    expect((await hb(a.session)).body).toMatchObject({ status: 410, code: 'session-ended', reason: 'terminated' });
  });

  it('after a top-up lifts a pay-per-use end', async () => {
    await h.req('PATCH', '/v1/settings', h.owner, { ppu: { enabled: true } });
    await h.req('POST', '/v1/ppu/topup', h.owner, { minutes: 1 });
    await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'x' });
    const p = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'y' })).body;
    expect((await hb(p.session)).body.lease.endsAt).not.toBeNull();
    await h.req('POST', '/v1/ppu/topup', h.owner, { minutes: 5 });
    expect((await hb(p.session)).body.lease.endsAt).toBeNull();
  });
});
