import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../helpers/app.js';
import { openSse } from '../helpers/sse.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

describe.each(kinds)('session event stream over a real socket ($name)', (kind) => {
  let h: Harness;
  let base: string;
  beforeEach(async () => {
    h = await harness(kind);
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    await h.req('POST', '/v1/products', h.owner, { key: 'p', seatModel: 'user-device' });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 3 });
  });
  afterEach(async () => h.close());

  it('streams lease.ended to every session of the lease, and resumes after Last-Event-ID', async () => {
    const a = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'pc' })).body;
    const b = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'pc', hold: 'until-reset' })).body;
    expect(b.lease.id).toBe(a.lease.id);

    const streamA = openSse(`${base}/v1/sessions/${a.session.id}/events`, { authorization: `Bearer ${a.session.token}` });
    await streamA.ready;
    expect(streamA.status).toBe(200);
    // Both sessions time out; the until-reset hold keeps the lease; an explicit release ends it.
    h.clock.advance(31_000);
    await h.app.ctx.service.tick();
    expect((await h.req('GET', `/v1/leases/${a.lease.id}`, h.owner)).body.status).toBe('active');
    await h.req('POST', `/v1/leases/${a.lease.id}/release`, h.owner);

    const [ended] = await streamA.waitFor(1);
    expect(ended?.event).toBe('lease.ended');
    expect(JSON.parse(ended!.data)).toMatchObject({ reason: 'released' });
    expect(ended?.id).toMatch(/^\d+$/);
    await streamA.waitEnd();

    // A client that reconnects without having seen the end gets it replayed; one that has
    // seen it (Last-Event-ID) gets nothing again and the stream closes.
    const replay = openSse(`${base}/v1/sessions/${b.session.id}/events`, { authorization: `Bearer ${b.session.token}` });
    const [again] = await replay.waitFor(1);
    expect(again).toEqual(ended);
    const resumed = openSse(`${base}/v1/sessions/${b.session.id}/events`, { authorization: `Bearer ${b.session.token}`, 'last-event-id': ended!.id! });
    await resumed.waitEnd();
    expect(resumed.events).toEqual([]);
  });

  it('refuses a stream without the session token', async () => {
    const a = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'pc' })).body;
    const s = openSse(`${base}/v1/sessions/${a.session.id}/events`, { authorization: `Bearer ${h.owner}` });
    await s.ready;
    expect(s.status).toBe(401);
    s.close();
  });

  it('sends lease.ended when the last session expires', async () => {
    const other = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'x' })).body;
    const a = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'pc', clientType: 'web' })).body;
    const stream = openSse(`${base}/v1/sessions/${a.session.id}/events`, { authorization: `Bearer ${a.session.token}` });
    await stream.ready;
    h.clock.advance(20_000);
    await h.req('POST', `/v1/sessions/${other.session.id}/heartbeat`, other.session.token);
    h.clock.advance(10_000);
    await h.app.ctx.service.tick();
    const [e] = await stream.waitFor(1);
    expect(e?.event).toBe('lease.ended');
    expect(JSON.parse(e!.data).reason).toBe('expired');
    expect((await h.req('GET', `/v1/leases/${other.lease.id}`, h.owner)).body.status).toBe('active');
  });
});
