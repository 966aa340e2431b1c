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

  it('streams a ticket\'s position and its grant, and streaming keeps the ticket alive', async () => {
    await h.app.close();
    h = await harness(kind, { ticketPollMs: 20 });
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    await h.req('POST', '/v1/products', h.owner, { key: 'p', seatModel: 'user-device' });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 1 });
    const holder = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'a' })).body;
    const first = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'b', wait: true })).body.ticket;
    const second = (await h.req('POST', '/v1/leases', h.owner, { product: 'p', device: 'c', wait: true })).body.ticket;
    const stream = openSse(`${base}/v1/tickets/${second.id}/events`, { authorization: `Bearer ${second.token}` });
    const [pos] = await stream.waitFor(1);
    expect(pos).toMatchObject({ event: 'ticket.position' });
    expect(JSON.parse(pos!.data).position).toBe(2);
    // Past the ticket timeout (30 s) with no poll: only the streamed ticket survives.
    for (let i = 0; i < 4; i++) {
      h.clock.advance(10_000);
      await h.req('POST', `/v1/sessions/${holder.session.id}/heartbeat`, holder.session.token);
      await new Promise((r) => setTimeout(r, 60)); // let the stream's poll run
      await h.app.ctx.service.tick();
    }
    expect((await h.ts.store.getTicket(first.id))?.status).toBe('expired');
    expect((await h.ts.store.getTicket(second.id))?.status).toBe('waiting');
    const [, moved] = await stream.waitFor(2);
    expect(JSON.parse(moved!.data).position).toBe(1);
    await h.req('DELETE', `/v1/sessions/${holder.session.id}`, holder.session.token);
    const [, , granted] = await stream.waitFor(3);
    expect(granted?.event).toBe('ticket.granted');
    const body = JSON.parse(granted!.data);
    expect(body).toMatchObject({ status: 'granted', lease: { device: 'c' } });
    expect((await h.req('POST', `/v1/sessions/${body.session.id}/heartbeat`, body.session.token)).status).toBe(200);
    await stream.waitEnd();
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
