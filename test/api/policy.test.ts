/**
 * Acquisition policy through the API (SPEC §4): flex, pay-per-use, the queue, refusal
 * records and full-capacity intervals, with a fake clock, on both stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

describe.each(kinds)('acquisition policy ($name)', (kind) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(kind);
  });
  afterEach(async () => h.close());

  const acquire = (body: Record<string, unknown>, token = h.owner) => h.req('POST', '/v1/leases', token, body);
  const close = (s: { id: string; token: string }) => h.req('DELETE', `/v1/sessions/${s.id}`, s.token);
  const lease = async (id: string) => (await h.req('GET', `/v1/leases/${id}`, h.owner)).body;
  const usage = async (product = 'p') => (await h.req('GET', '/v1/usage', h.owner)).body.products.find((u: { product: string }) => u.product === product);
  const tick = () => h.app.ctx.service.tick();
  const events = (leaseId: string) => h.ts.store.eventsSince(leaseId, 0, 100);
  async function setup(seats: number, product: Record<string, unknown> = {}, license: Record<string, unknown> = {}) {
    expect((await h.req('POST', '/v1/products', h.owner, { key: 'p', heartbeat: { interval: 10, timeout: 30 }, ...product })).status).toBe(201);
    const l = await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats, ...license });
    expect(l.status).toBe(201);
    return l.body;
  }

  describe('flex', () => {
    beforeEach(async () => {
      // Long heartbeat timeouts: these tests are about flex time, not liveness.
      await setup(1, { flex: { channels: ['access'], duration: 600 }, heartbeat: { interval: 60, timeout: 3600 } });
      await h.req('PATCH', '/v1/settings', h.owner, { flexMax: 2 });
    });

    it('gives time-limited flex leases on flex channels only, up to flexMax', async () => {
      const regular = await acquire({ product: 'p', channel: 'access' });
      expect(regular.body.lease.kind).toBe('regular');
      expect((await acquire({ product: 'p', channel: 'automation' })).body.code).toBe('no-seat');
      expect((await acquire({ product: 'p', channel: 'access', flex: false })).body.code).toBe('no-seat');
      const f1 = await acquire({ product: 'p', channel: 'access' });
      expect(f1.status).toBe(201);
      expect(f1.body.lease).toMatchObject({ kind: 'flex', license: null, endsAt: new Date(h.clock.now() + 600_000).toISOString() });
      expect((await acquire({ product: 'p', channel: 'access' })).body.lease.kind).toBe('flex');
      expect((await acquire({ product: 'p', channel: 'access' })).body.code).toBe('no-seat');
      expect(await usage()).toMatchObject({ inUse: 1, capacity: 1, flex: { inUse: 2, max: 2 } });
    });

    it('warns a minute before the end, then ends it as flex-ended', async () => {
      await acquire({ product: 'p' });
      const f = (await acquire({ product: 'p', channel: 'access' })).body;
      h.clock.advance(539_999);
      await tick();
      expect((await events(f.lease.id)).map((e) => e.type)).toEqual([]);
      h.clock.advance(1);
      await tick();
      const [notice] = await events(f.lease.id);
      expect(notice).toMatchObject({ type: 'lease.terminating', data: { at: f.lease.endsAt } });
      // Keep the session alive meanwhile: flex ends by time, not by heartbeat.
      expect((await h.req('POST', `/v1/sessions/${f.session.id}/heartbeat`, f.session.token)).status).toBe(200);
      h.clock.advance(59_999);
      await tick();
      expect((await lease(f.lease.id)).status).toBe('active');
      h.clock.advance(1);
      await tick();
      expect(await lease(f.lease.id)).toMatchObject({ status: 'ended', endReason: 'flex-ended' });
      expect((await usage()).flex.inUse).toBe(0);
    });

    it('upgrades the oldest flex lease when a seat frees, before the queue', async () => {
      const regular = (await acquire({ product: 'p' })).body;
      const older = (await acquire({ product: 'p', channel: 'access' })).body;
      h.clock.advance(1000);
      const newer = (await acquire({ product: 'p', channel: 'access' })).body;
      const queued = await acquire({ product: 'p', wait: true });
      expect(queued.status).toBe(202);
      await close(regular.session);
      expect(await lease(older.lease.id)).toMatchObject({ kind: 'regular', license: regular.lease.license, endsAt: null, status: 'active' });
      expect(await lease(newer.lease.id)).toMatchObject({ kind: 'flex' });
      expect((await events(older.lease.id)).map((e) => [e.type, e.data.kind])).toEqual([['lease.upgraded', 'regular']]);
      const t = await h.req('GET', `/v1/tickets/${queued.body.ticket.id}`, queued.body.ticket.token);
      expect(t.body).toMatchObject({ status: 'waiting', position: 1 });
      // The upgraded lease is no longer timed.
      h.clock.advance(700_000);
      await h.req('POST', `/v1/sessions/${older.session.id}/heartbeat`, older.session.token);
      await tick();
      expect((await lease(older.lease.id)).status).toBe('active');
      expect(await usage()).toMatchObject({ inUse: 1, flex: { inUse: 0 } });
    });
  });

  it('ends timed-out regular, overage and flex leases in one batch, each giving back what it held', async () => {
    // One seat plus one of overage (100 %), two flex places: four leases of every kind a
    // timeout ends at once (the expiry's own update ends them; docs/architecture.md, "Session 12").
    await setup(1, { flex: { channels: ['access'], duration: 600 } }, { overage: 100 });
    await h.req('PATCH', '/v1/settings', h.owner, { flexMax: 2 });
    const got = [];
    for (let i = 0; i < 4; i++) got.push((await acquire({ product: 'p', channel: 'access' })).body);
    expect(got.map((g) => g.lease.kind)).toEqual(['regular', 'overage', 'flex', 'flex']);
    expect(await usage()).toMatchObject({ inUse: 2, flex: { inUse: 2 } });

    h.clock.advance(31_000);
    await tick();
    for (const g of got) expect(await lease(g.lease.id)).toMatchObject({ status: 'ended', endReason: 'expired' });
    expect(await usage()).toMatchObject({ inUse: 0, flex: { inUse: 0 } });
    for (const g of got) expect((await events(g.lease.id)).map((e) => e.type)).toContain('lease.ended');
    // What they held is free again: a seat, then overage, then the flex places.
    const again = [];
    for (let i = 0; i < 4; i++) again.push((await acquire({ product: 'p', channel: 'access' })).body.lease?.kind);
    expect(again).toEqual(['regular', 'overage', 'flex', 'flex']);
  });

  describe('pay-per-use', () => {
    beforeEach(async () => {
      await setup(1);
      await h.req('PATCH', '/v1/settings', h.owner, { ppu: { enabled: true, lowThreshold: 2 } });
    });

    it('is used only when every seat is taken, debits every started minute, and ends with a notice at zero', async () => {
      expect((await acquire({ product: 'p' })).body.code).toBeUndefined();
      expect((await acquire({ product: 'p' })).body.code).toBe('no-seat'); // balance 0
      expect((await h.req('POST', '/v1/ppu/topup', h.owner, { minutes: 3 })).body).toEqual({ balanceMinutes: 3 });
      expect((await acquire({ product: 'p', ppu: false })).body.code).toBe('no-seat');
      const p = (await acquire({ product: 'p' })).body;
      expect(p.lease).toMatchObject({ kind: 'ppu', license: null });
      expect((await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes).toBe(2);
      expect(await usage()).toMatchObject({ ppu: { inUse: 1, balanceMinutes: 2 } });

      const hb = () => h.req('POST', `/v1/sessions/${p.session.id}/heartbeat`, p.session.token);
      h.clock.advance(20_000); await hb(); h.clock.advance(20_000); await hb();
      h.clock.advance(19_999);
      await tick();
      expect((await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes).toBe(2);
      h.clock.advance(1); // second minute starts
      await tick();
      expect((await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes).toBe(1);
      expect((await events(p.lease.id)).map((e) => e.type)).toEqual(['ppu.low']);
      for (let i = 0; i < 3; i++) { h.clock.advance(20_000); await hb(); }
      await tick(); // third minute: balance 0, notice
      expect((await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes).toBe(0);
      const types = (await events(p.lease.id)).map((e) => e.type);
      expect(types).toEqual(['ppu.low', 'lease.terminating']);
      for (let i = 0; i < 3; i++) { h.clock.advance(20_000); await hb(); }
      await tick();
      expect(await lease(p.lease.id)).toMatchObject({ status: 'ended', endReason: 'ppu-exhausted' });
      expect((await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes).toBe(0);
    });

    it('keeps a lease going when the balance is topped up after the notice', async () => {
      await acquire({ product: 'p' });
      await h.req('POST', '/v1/ppu/topup', h.owner, { minutes: 1 });
      const p = (await acquire({ product: 'p' })).body;
      expect((await events(p.lease.id)).map((e) => e.type)).toContain('lease.terminating');
      await h.req('POST', '/v1/ppu/topup', h.owner, { minutes: 10 });
      for (let i = 0; i < 6; i++) {
        h.clock.advance(20_000);
        await h.req('POST', `/v1/sessions/${p.session.id}/heartbeat`, p.session.token);
        await tick();
      }
      expect((await lease(p.lease.id)).status).toBe('active');
      expect((await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes).toBe(8);
    });

    it('charges exactly one minute per started minute over a simulated day, across a restart', async () => {
      await acquire({ product: 'p' });
      await h.req('POST', '/v1/ppu/topup', h.owner, { minutes: 5000 });
      const p = (await acquire({ product: 'p', device: 'x' })).body;
      const start = h.clock.now();
      let app = h.app;
      const { buildApp } = await import('../../src/server/app.js');
      for (let step = 0; step < 24 * 6; step++) {
        h.clock.advance(10 * 60_000 - 7_000); // irregular steps of 9 min 53 s
        if (step === 70) {
          // A restart in the middle of the day: charges continue from the stored state.
          app = await buildApp({ store: h.ts.store, clock: h.clock });
          await app.ctx.service.recover();
        }
        await app.ctx.store.touchSessions(new Map([[p.session.id, h.clock.now() + 30_000]]));
        app.ctx.service.deadlines.set(p.session.id, h.clock.now() + 30_000);
        await app.ctx.service.tick();
      }
      const held = h.clock.now() - start;
      const balance = (await h.req('GET', '/v1/settings', h.owner)).body.ppu.balanceMinutes;
      expect(5000 - balance).toBe(Math.floor(held / 60_000) + 1);
      if (app !== h.app) await app.close();
    });
  });

  describe('queue', () => {
    it('serves tickets first come, first served, and hands over a working session', async () => {
      await setup(1);
      const holder = (await acquire({ product: 'p' })).body;
      const t1 = await acquire({ product: 'p', wait: true, device: 'one' });
      h.clock.advance(1);
      const t2 = await acquire({ product: 'p', wait: true, device: 'two' });
      expect(t1.status).toBe(202);
      expect(t1.body.ticket).toMatchObject({ position: 1, expiresAt: new Date(h.clock.now() - 1 + 30_000).toISOString() });
      expect(t1.body.ticket.token).toMatch(/^skq_/);
      expect(t2.body.ticket.position).toBe(2);
      expect(await usage()).toMatchObject({ queued: 2 });

      await close(holder.session);
      const g = await h.req('GET', `/v1/tickets/${t1.body.ticket.id}`, t1.body.ticket.token);
      expect(g.body).toMatchObject({ status: 'granted', lease: { status: 'active', device: 'one', kind: 'regular' } });
      expect((await h.req('POST', `/v1/sessions/${g.body.session.id}/heartbeat`, g.body.session.token)).status).toBe(200);
      expect((await events(g.body.lease.id)).map((e) => e.type)).toEqual(['lease.granted']);
      expect((await h.req('GET', `/v1/tickets/${t2.body.ticket.id}`, t2.body.ticket.token)).body).toMatchObject({ status: 'waiting', position: 1 });
      // The ticket token is not a session token, and another ticket's token is refused.
      expect((await h.req('GET', `/v1/tickets/${t2.body.ticket.id}`, t1.body.ticket.token)).body.code).toBe('unauthorized');
      // The granted session is timed like any other: unheartbeated, it expires.
      h.clock.advance(30_000);
      await h.req('GET', `/v1/tickets/${t2.body.ticket.id}`, t2.body.ticket.token);
      await tick();
      expect((await lease(g.body.lease.id)).endReason).toBe('expired');
      expect((await h.req('GET', `/v1/tickets/${t2.body.ticket.id}`, t2.body.ticket.token)).body.status).toBe('granted');
    });

    it('drops a ticket that is neither polled nor streamed, and lets one cancel', async () => {
      await setup(1);
      const holder = (await acquire({ product: 'p' })).body;
      const polled = (await acquire({ product: 'p', wait: true })).body.ticket;
      const forgotten = (await acquire({ product: 'p', wait: true })).body.ticket;
      const cancelled = (await acquire({ product: 'p', wait: true })).body.ticket;
      expect((await h.req('DELETE', `/v1/tickets/${cancelled.id}`, cancelled.token)).status).toBe(204);
      for (let i = 0; i < 4; i++) {
        h.clock.advance(10_000);
        await h.req('POST', `/v1/sessions/${holder.session.id}/heartbeat`, holder.session.token);
        expect((await h.req('GET', `/v1/tickets/${polled.id}`, polled.token)).body.status).toBe('waiting');
        await tick();
      }
      expect((await h.req('GET', `/v1/tickets/${forgotten.id}`, forgotten.token)).body.status).toBe('expired');
      expect((await h.req('GET', `/v1/tickets/${cancelled.id}`, cancelled.token)).body.status).toBe('cancelled');
      await close(holder.session);
      expect((await h.req('GET', `/v1/tickets/${polled.id}`, polled.token)).body.status).toBe('granted');
    });

    it('serves the first ticket that may use the freed seat, keeping the others in order', async () => {
      await h.req('POST', '/v1/products', h.owner, { key: 'lab' });
      const A = (await h.req('POST', '/v1/teams', h.owner, { name: 'A' })).body.id;
      const B = (await h.req('POST', '/v1/teams', h.owner, { name: 'B' })).body.id;
      await h.req('POST', '/v1/licenses', h.owner, { product: 'lab', seats: 1, team: A });
      await h.req('POST', '/v1/licenses', h.owner, { product: 'lab', seats: 1, team: B });
      for (const [name, team] of [['a1', A], ['a2', A], ['b1', B]] as const) {
        await h.req('POST', '/v1/users', h.owner, { username: name, password: PASSWORD, teams: [team] });
      }
      const a1 = await h.login('a1');
      const a2 = await h.login('a2');
      const b1 = await h.login('b1');
      const holdA = (await acquire({ product: 'lab' }, a1)).body;
      await acquire({ product: 'lab' }, b1);
      const tb = (await acquire({ product: 'lab', wait: true, device: 'b' }, b1)).body.ticket; // first, but team B
      const ta = (await acquire({ product: 'lab', wait: true, device: 'a' }, a2)).body.ticket;
      await close(holdA.session); // a team A seat frees
      expect((await h.req('GET', `/v1/tickets/${ta.id}`, ta.token)).body.status).toBe('granted');
      expect((await h.req('GET', `/v1/tickets/${tb.id}`, tb.token)).body).toMatchObject({ status: 'waiting', position: 1 });
    });

    it('serves waiting tickets when seats are added', async () => {
      const lic = await setup(1);
      await acquire({ product: 'p' });
      const t = (await acquire({ product: 'p', wait: true })).body.ticket;
      await h.req('PATCH', `/v1/licenses/${lic.id}`, h.owner, { seats: 2 });
      expect((await h.req('GET', `/v1/tickets/${t.id}`, t.token)).body.status).toBe('granted');
    });
  });

  describe('refusals', () => {
    it('records every refusal and every interval at full capacity', async () => {
      await setup(1);
      await h.req('POST', '/v1/users', h.owner, { username: 'sub', password: PASSWORD, maxLeases: 0 });
      const sub = await h.login('sub');
      const e = (await h.req('POST', '/v1/endpoints', h.owner, { product: 'p', name: 'tv', enabled: false })).body;
      const holder = (await acquire({ product: 'p' })).body;
      h.clock.advance(1000);
      const full = h.clock.now();
      expect((await acquire({ product: 'p', device: 'pc-9' })).body.code).toBe('no-seat');
      expect((await acquire({ product: 'p' }, sub)).body.code).toBe('user-limit');
      expect((await acquire({ device: 'tv-1' }, e.key)).body.code).toBe('endpoint-disabled');
      await tick(); // refusals are written in the tick's batch
      const denials = (await h.req('GET', '/v1/reports/denials', h.owner)).body.items;
      expect(denials.map((d: { code: string }) => d.code)).toEqual(['no-seat', 'user-limit', 'endpoint-disabled']);
      expect(denials[0]).toMatchObject({ product: 'p', device: 'pc-9', at: new Date(full).toISOString() });
      expect(denials[1].user).toBeTruthy();

      let reached = (await h.req('GET', '/v1/reports/max-reached?product=p', h.owner)).body.items;
      expect(reached).toEqual([{ product: 'p', from: new Date(full).toISOString(), to: null }]);
      h.clock.advance(5000);
      await close(holder.session);
      await tick();
      reached = (await h.req('GET', '/v1/reports/max-reached', h.owner)).body.items;
      expect(reached).toEqual([{ product: 'p', from: new Date(full).toISOString(), to: new Date(h.clock.now()).toISOString() }]);
      const range = `from=${new Date(full + 1).toISOString()}&to=${new Date(full + 10_000).toISOString()}`;
      expect((await h.req('GET', `/v1/reports/denials?${range}`, h.owner)).body.items).toEqual([]);
      expect((await h.req('GET', `/v1/reports/max-reached?${range}`, h.owner)).body.items).toHaveLength(1);
      // Members may not read reports; another account sees none of these.
      await h.req('POST', '/v1/users', h.owner, { username: 'm', password: PASSWORD });
      expect((await h.req('GET', '/v1/reports/denials', await h.login('m'))).body.code).toBe('forbidden');
      const other = await h.newAccount(`other-${kind.name}`);
      expect((await h.req('GET', '/v1/reports/denials', other.token)).body.items).toEqual([]);
    });

    it('opens a max-reached interval from the sampler even without a refusal', async () => {
      await setup(1);
      const a = (await acquire({ product: 'p' })).body;
      await tick();
      const from = new Date(h.clock.now()).toISOString();
      h.clock.advance(2000);
      await close(a.session);
      await tick();
      expect((await h.req('GET', '/v1/reports/max-reached', h.owner)).body.items).toEqual([{ product: 'p', from, to: new Date(h.clock.now()).toISOString() }]);
    });
  });
});
