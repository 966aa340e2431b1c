/**
 * Metering and soft limits through the API (SPEC §6, seed 004, docs/metering.md): device
 * activations over a 90-day window, usage quotas with a 5 % grace band and idempotent
 * reports, and soft licenses counted in 3-minute windows — with a fake clock, on both stores.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();
const DAY = 24 * 3600 * 1000;

describe.each(kinds)('metering ($name)', (kind) => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness(kind);
  });
  afterEach(async () => h.close());

  const acquire = (body: Record<string, unknown>, token = h.owner) => h.req('POST', '/v1/leases', token, body);
  const close = (s: { id: string; token: string }) => h.req('DELETE', `/v1/sessions/${s.id}`, s.token);
  const tick = () => h.app.ctx.service.tick();
  /** Moves the clock on in steps no longer than the tick's one-second cadence needs. */
  async function later(ms: number) {
    h.clock.advance(ms);
    await tick();
  }

  describe('device activations', () => {
    beforeEach(async () => {
      expect((await h.req('POST', '/v1/products', h.owner, { key: 'sdk', seatModel: 'device', heartbeat: { interval: 60, timeout: 3600 } })).status).toBe(201);
    });

    it('authorise 10 % more new devices past 100 %, then refuse new ones while activated ones keep working', async () => {
      const lic = await h.req('POST', '/v1/licenses', h.owner, { product: 'sdk', seats: 10 });
      expect(lic.body).toMatchObject({ overage: 10, inUse: 0 });
      const kinds: string[] = [];
      for (let i = 1; i <= 11; i++) {
        const r = await acquire({ product: 'sdk', device: `dev-${i}` });
        expect(r.status).toBe(201);
        kinds.push(r.body.lease.kind);
        // Closing the session frees nothing: the activation holds the seat.
        expect((await close(r.body.session)).status).toBe(204);
      }
      expect(kinds.filter((k) => k === 'regular')).toHaveLength(10);
      expect(kinds[10]).toBe('overage');
      const refused = await acquire({ product: 'sdk', device: 'dev-12' });
      expect(refused.status).toBe(409);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.body).toMatchObject({ code: 'device-limit', product: 'sdk', inUse: 11, capacity: 10, limit: 11 });
      // An activated device is authorised again at once.
      const again = await acquire({ product: 'sdk', device: 'dev-3' });
      expect(again.status).toBe(201);
      expect(again.body.lease.kind).toBe('regular');
      // Pausing would give nothing back: the activation, not the lease, holds the seat.
      expect((await h.req('POST', `/v1/leases/${again.body.lease.id}/pause`, h.owner)).body.code).toBe('conflict');
      const usage = (await h.req('GET', '/v1/usage', h.owner)).body.products.find((p: { product: string }) => p.product === 'sdk');
      expect(usage).toMatchObject({ inUse: 11, capacity: 10 });
      const denials = (await (async () => {
        await tick();
        return h.req('GET', '/v1/reports/denials', h.owner);
      })()).body.items;
      expect(denials).toEqual([expect.objectContaining({ device: 'dev-12', code: 'device-limit', product: 'sdk' })]);
    });

    it('free a device’s seat when its 90-day window ends, and list active devices', async () => {
      await h.req('POST', '/v1/licenses', h.owner, { product: 'sdk', seats: 1, overage: 0 });
      // Login tokens last a week; the devices here report for months with a service key.
      const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'fleet', kind: 'admin' })).body.secret as string;
      const acquire = (body: Record<string, unknown>) => h.req('POST', '/v1/leases', key, body);
      const first = await acquire({ product: 'sdk', device: 'scanner-a' });
      expect(first.status).toBe(201);
      await close(first.body.session);
      const t0 = h.clock.now();
      const list = (await h.req('GET', '/v1/devices?product=sdk', key)).body;
      expect(list.items).toEqual([{
        device: 'scanner-a', product: 'sdk', license: expect.any(String), kind: 'regular',
        firstSeen: new Date(t0).toISOString(), lastSeen: new Date(t0).toISOString(), activeUntil: new Date(t0 + 90 * DAY).toISOString(),
      }]);
      expect((await acquire({ product: 'sdk', device: 'scanner-b' })).body.code).toBe('device-limit');
      await later(90 * DAY - 1000);
      expect((await acquire({ product: 'sdk', device: 'scanner-b' })).body.code).toBe('device-limit');
      await later(1000);
      expect((await h.req('GET', '/v1/devices?product=sdk', key)).body.items).toEqual([]);
      const b = await acquire({ product: 'sdk', device: 'scanner-b' });
      expect(b.status).toBe(201);
      // scanner-a's window is over: it is a new device now, and the seat is taken.
      expect((await acquire({ product: 'sdk', device: 'scanner-a' })).body.code).toBe('device-limit');
    });

    it('need a device and never authorise more than seats + overage under concurrency', async () => {
      await h.req('POST', '/v1/licenses', h.owner, { product: 'sdk', seats: 5 });
      const missing = await acquire({ product: 'sdk' });
      expect(missing).toMatchObject({ status: 400, body: { code: 'bad-request', field: 'device' } });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => acquire({ product: 'sdk', device: `d${i % 12}` })));
      const granted = new Set(results.filter((r) => r.status === 201).map((r) => r.body.lease.device));
      expect(granted.size).toBe(5); // floor(5 × 10 %) = 0 overage seats
      expect(results.every((r) => r.status === 201 || r.body.code === 'device-limit')).toBe(true);
      expect((await h.req('GET', '/v1/devices', h.owner)).body.items).toHaveLength(5);
    });

    it('keep devices from members whose view is not the whole account', async () => {
      await h.req('POST', '/v1/users', h.owner, { username: 'mia', password: 'correct horse battery', role: 'member' });
      await h.req('PATCH', '/v1/settings', h.owner, { permissions: { view: 'own', control: 'own' } });
      const mia = await h.login('mia');
      expect((await h.req('GET', '/v1/devices', mia)).body.code).toBe('forbidden');
      const other = await h.newAccount('globex');
      expect((await h.req('GET', '/v1/devices?product=sdk', other.token)).body).toMatchObject({ code: 'bad-request', field: 'product' });
    });
  });

  describe('usage quotas', () => {
    beforeEach(async () => {
      await h.req('POST', '/v1/products', h.owner, { key: 'scan', quota: { units: 1000, overage: 5 } });
      await h.req('POST', '/v1/licenses', h.owner, { product: 'scan', seats: 5 });
    });
    const report = (units: number, key?: string) =>
      h.app.inject({
        method: 'POST', url: '/v1/usage',
        headers: { authorization: `Bearer ${h.owner}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
        payload: JSON.stringify({ product: 'scan', units, device: 'd1' }),
      }).then((r) => ({ status: r.statusCode, body: r.json() }));

    it('warn from 100 %, allow up to 105 %, then refuse every report and every new session', async () => {
      expect((await report(750)).body).toMatchObject({ used: 750, quota: 1000, limit: 1050, percent: 75, warning: false });
      expect((await report(250)).body).toMatchObject({ used: 1000, percent: 100, warning: true });
      const over = await report(51);
      expect(over.status).toBe(403);
      expect(over.body).toMatchObject({ code: 'quota-exhausted', used: 1000, quota: 1000, limit: 1050 });
      expect((await report(50)).body).toMatchObject({ used: 1050, percent: 105, warning: true });
      expect((await report(1)).body.code).toBe('quota-exhausted');
      const lease = await acquire({ product: 'scan' });
      expect(lease.status).toBe(403);
      expect(lease.body).toMatchObject({ code: 'quota-exhausted', used: 1050 });
      // An administrator renews the quota: the counter starts again.
      const products = (await h.req('GET', '/v1/products', h.owner)).body.items;
      const reset = await h.req('POST', `/v1/products/${products[0].id}/quota/reset`, h.owner);
      expect(reset.body.quotaUsed).toBe(0);
      expect((await acquire({ product: 'scan' })).status).toBe(201);
      expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].units).toEqual({ used: 0, quota: 1000, limit: 1050 });
    });

    it('count a retried report once with its idempotency key', async () => {
      const first = await report(100, 'batch-1');
      const retry = await report(100, 'batch-1');
      expect(first.body).toMatchObject({ used: 100, replayed: false });
      expect(retry.body).toMatchObject({ used: 100, replayed: true });
      expect((await report(100, 'batch-2')).body.used).toBe(200);
      expect((await report(5, 'batch-1'))).toMatchObject({ status: 409, body: { code: 'conflict' } });
      expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].units.used).toBe(200);
    });

    it('forget idempotency keys after 7 days', async () => {
      // Reports here use a service key: login tokens last a week.
      const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'meter', kind: 'service' })).body.secret as string;
      const send = (units: number) => h.app.inject({
        method: 'POST', url: '/v1/usage', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'daily-1' },
        payload: JSON.stringify({ product: 'scan', units }),
      }).then((r) => r.json());
      await tick(); // the hourly upkeep has run once, at the start
      expect(await send(10)).toMatchObject({ used: 10, replayed: false });
      h.clock.advance(7 * DAY - 1000);
      await tick();
      expect(await send(10)).toMatchObject({ used: 10, replayed: true });
      h.clock.advance(3600_000);
      await tick(); // the key is now more than 7 days old: forgotten
      expect(await send(10)).toMatchObject({ used: 20, replayed: false });
    });

    it('never count past the limit under concurrent reports', async () => {
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => report(30, `k${i}`)));
      const ok = results.filter((r) => r.status === 200).length;
      expect(ok).toBe(35); // 35 × 30 = 1050 = the limit
      expect(results.filter((r) => r.status === 403)).toHaveLength(5);
      expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].units.used).toBe(1050);
    });

    it('refuse bad reports clearly and change nothing', async () => {
      await report(10);
      const bad = [
        await h.req('POST', '/v1/usage', h.owner, { product: 'scan', units: 0 }),
        await h.req('POST', '/v1/usage', h.owner, { product: 'scan', units: '5' }),
        await h.req('POST', '/v1/usage', h.owner, { product: 'scan', units: 1.5 }),
        await h.req('POST', '/v1/usage', h.owner, { product: 'nope', units: 1 }),
        await h.req('POST', '/v1/usage', h.owner, '{"product": "scan", "units": '),
      ];
      for (const r of bad) expect(r).toMatchObject({ status: 400, body: { code: 'bad-request' } });
      await h.req('POST', '/v1/products', h.owner, { key: 'unmetered' });
      expect((await h.req('POST', '/v1/usage', h.owner, { product: 'unmetered', units: 1 })).body).toMatchObject({ code: 'bad-request', field: 'product' });
      expect((await h.req('POST', '/v1/usage', null, { product: 'scan', units: 1 })).status).toBe(401);
      const other = await h.newAccount('globex');
      expect((await h.req('POST', '/v1/usage', other.token, { product: 'scan', units: 1 })).body.code).toBe('bad-request');
      expect((await h.req('GET', '/v1/usage', h.owner)).body.products[0].units.used).toBe(10);
    });
  });

  describe('soft concurrency', () => {
    let license: { id: string };
    beforeEach(async () => {
      // Aligned to a window boundary so that the windows below are whole ones.
      h.clock.set(Math.ceil(h.clock.now() / 180_000) * 180_000);
      await h.req('POST', '/v1/products', h.owner, { key: 'twain', heartbeat: { interval: 60, timeout: 3600 } });
      license = (await h.req('POST', '/v1/licenses', h.owner, { product: 'twain', seats: 1, enforcement: 'soft', window: 180, exceptionQuota: 2 })).body;
    });

    it('never refuses, records one exception per crowded window, and suspends at the quota', async () => {
      const a = await acquire({ product: 'twain', device: 'a' });
      const b = await acquire({ product: 'twain', device: 'b' });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect([a.body.lease.kind, b.body.lease.kind]).toEqual(['regular', 'overage']);
      await later(179_000);
      expect((await h.req('GET', `/v1/licenses/${license.id}`, h.owner)).body).toMatchObject({ exceptions: 0, suspended: false, inUse: 2 });
      await later(1000); // the first window has closed: two devices were active, one seat
      expect((await h.req('GET', `/v1/licenses/${license.id}`, h.owner)).body).toMatchObject({ exceptions: 1, suspended: false });
      // The same window is never counted twice.
      await later(1000);
      expect((await h.req('GET', `/v1/licenses/${license.id}`, h.owner)).body.exceptions).toBe(1);
      await close(b.body.session);
      await later(180_000); // b was active in the second window too: second exception, suspended
      const l = (await h.req('GET', `/v1/licenses/${license.id}`, h.owner)).body;
      expect(l).toMatchObject({ exceptions: 2, suspended: true, suspendedAt: expect.any(String) });
      // Told as account events (admin stream, webhooks): each exception, then the suspension.
      const told = (await h.ts.store.accountEventsSince(h.accountId, 0, 1000)).filter((e) => e.type.startsWith('license.'));
      expect(told.map((e) => [e.type, e.data.exceptions, e.data.suspended])).toEqual([
        ['license.exceptions', 1, false], ['license.exceptions', 2, true], ['license.suspended', 2, undefined],
      ]);
      const lease = (await h.req('GET', `/v1/leases/${a.body.lease.id}`, h.owner)).body;
      expect(lease).toMatchObject({ status: 'ended', endReason: 'license-suspended' });
      const refused = await acquire({ product: 'twain', device: 'a' });
      expect(refused).toMatchObject({ status: 403, body: { code: 'license-suspended', product: 'twain' } });
      const windows = (await h.req('GET', `/v1/licenses/${license.id}/exceptions`, h.owner)).body.items;
      expect(windows).toHaveLength(2);
      expect(windows[0]).toMatchObject({ active: 2, seats: 1 });

      // Raising the quota above the count lifts the suspension.
      expect((await h.req('PATCH', `/v1/licenses/${license.id}`, h.owner, { exceptionQuota: 3 })).body).toMatchObject({ suspended: false });
      expect((await acquire({ product: 'twain', device: 'a' })).status).toBe(201);
      // Lowering it to the count suspends again; a reset lifts it.
      expect((await h.req('PATCH', `/v1/licenses/${license.id}`, h.owner, { exceptionQuota: 2 })).body).toMatchObject({ suspended: true });
      const reset = await h.req('POST', `/v1/licenses/${license.id}/exceptions/reset`, h.owner);
      expect(reset.body).toMatchObject({ exceptions: 0, suspended: false, suspendedAt: null });
      expect((await acquire({ product: 'twain', device: 'c' })).status).toBe(201);
    });

    it('counts a device once however many leases it has in a window, and catches up after downtime', async () => {
      const a1 = await acquire({ product: 'twain', device: 'a' });
      await close(a1.body.session);
      const a2 = await acquire({ product: 'twain', device: 'a' });
      expect(a2.status).toBe(201);
      // Nobody ran the timed work for a day: all 480 windows are counted at the next tick.
      h.clock.advance(DAY);
      await tick();
      expect((await h.req('GET', `/v1/licenses/${license.id}`, h.owner)).body).toMatchObject({ exceptions: 0, suspended: false });
    });
  });
});
