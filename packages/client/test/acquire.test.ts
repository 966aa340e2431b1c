/**
 * The SDK against a real server in this process over real HTTP. The server runs on a fake
 * clock (advanced by hand, timed work run by `tick`), the SDK on fake timers; both are moved
 * together, so minutes of heartbeats take milliseconds.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquire, type AcquireOptions, type SeatEvents, type SeatHandle } from '../src/index.js';
import { ManualTimers, until } from './helpers/manual-timers.js';
import { T0, startTestServer, type TestServer } from './helpers/server.js';

let s: TestServer;
let timers: ManualTimers;
const handles: SeatHandle[] = [];

beforeEach(async () => {
  s = await startTestServer();
  timers = new ManualTimers(T0);
  expect((await s.call('POST', '/v1/products', { key: 'display', seatModel: 'session', heartbeat: { interval: 10, timeout: 30 } })).status).toBe(201);
});
afterEach(async () => {
  for (const h of handles.splice(0)) await h.release({ timeout: 1000 });
  await s.close();
});

async function license(seats: number): Promise<string> {
  const r = await s.call('POST', '/v1/licenses', { product: 'display', seats });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

function seat(o: Partial<AcquireOptions> = {}): SeatHandle {
  // random() = 1: every backoff delay is its ceiling, so tests know when retries fire.
  const h = acquire({ url: s.url, token: s.owner, product: 'display', timers, random: () => 1, releaseOnPageHide: false, ...o });
  handles.push(h);
  return h;
}

/** Records every event of a handle, in order. */
function record(h: SeatHandle) {
  const log: { type: keyof SeatEvents; payload: any }[] = [];
  const types: (keyof SeatEvents)[] = ['granted', 'queued', 'ended', 'heartbeat', 'retrying', 'error', 'connected', 'released', 'terminating', 'message'];
  for (const t of types) h.on(t, (payload) => log.push({ type: t, payload }));
  return { log, of: (t: keyof SeatEvents) => log.filter((e) => e.type === t).map((e) => e.payload) };
}

/** Moves both clocks by `ms`, firing the SDK's timers, then lets the network settle. */
async function advance(ms: number, settle = 30): Promise<void> {
  s.clock.advance(ms);
  timers.advance(ms);
  await new Promise((r) => setTimeout(r, settle));
}

/** Retries an assertion in real time (bounded) until it passes. */
async function eventually(check: () => Promise<void>, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const leaseOf = async (id: string) => (await s.call('GET', `/v1/leases/${id}`)).body;
const inUse = async () => (await s.call('GET', '/v1/usage')).body.products[0].inUse as number;

describe('@seatkeeper/client against a real server', () => {
  it('heartbeats at the server-given interval keep the seat; without them it is lost', async () => {
    await license(1);
    const h = seat();
    const r = record(h);
    const { lease, session } = await h.next('granted');
    expect(h.state).toBe('held');
    expect(session.heartbeatInterval).toBe(10);
    expect(timers.pending()).toContain(10_000);

    // Two minutes: twelve heartbeats, each sent when the interval is up, not before.
    for (let i = 1; i <= 12; i++) {
      const beat = h.next('heartbeat');
      await advance(9_999, 0);
      expect(r.of('heartbeat')).toHaveLength(i - 1);
      await advance(1, 0);
      await beat;
      await s.tick();
    }
    expect(r.of('heartbeat')).toHaveLength(12);
    expect(await leaseOf(lease.id)).toMatchObject({ status: 'active', sessions: 1 });
    expect((await s.call('POST', '/v1/leases', { product: 'display' })).body.code).toBe('no-seat');

    // Control: the server removes a session whose heartbeats stop (SDK timers held still).
    s.clock.advance(30_000);
    const ended = h.next('ended');
    // Listened for now: the client starts again at once, possibly before the lines below run.
    const regranted = h.next('granted');
    await s.tick();
    expect(await ended).toMatchObject({ reason: 'expired', reacquiring: true });
    expect(await leaseOf(lease.id)).toMatchObject({ status: 'ended', endReason: 'expired' });
    // …and the client starts again at once, on the seat that just freed.
    const again = await regranted;
    expect(again.reacquired).toBe(true);
    expect(again.lease.id).not.toBe(lease.id);
    expect(r.of('error')).toEqual([]);
  });

  it('a server restart: heartbeats fail while it is down, then the same session carries on and the stream resumes', async () => {
    await license(1);
    await license(1);
    const h = seat();
    const r = record(h);
    const connected = h.next('connected');
    const { lease } = await h.next('granted');
    await connected;

    await s.stop();
    const failed = h.next('retrying');
    await advance(10_000, 0);
    const f = await failed;
    expect(f).toMatchObject({ during: 'heartbeat', attempt: 1 });
    expect(f.error.code).toBe('network-error');
    expect(h.state).toBe('held');

    await s.restart();
    // Retries come sooner than the interval; the first one after the restart succeeds.
    const beat = h.next('heartbeat');
    for (let i = 0; i < 20 && r.of('heartbeat').length === 0; i++) await advance(1_000);
    expect((await beat).lease.id).toBe(lease.id);
    expect(h.failures).toBe(0);

    // The stream reconnects (with Last-Event-ID when it has seen events) and delivers the
    // end of the lease by itself: no SDK timer moves after this point.
    for (let i = 0; i < 30 && r.of('connected').length < 2; i++) await advance(1_000);
    expect(r.of('connected')).toHaveLength(2);
    const ended = h.next('ended');
    const del = await s.call('DELETE', `/v1/licenses/${lease.license}`);
    expect(del.status).toBe(204);
    expect(await ended).toMatchObject({ reason: 'license-ended' });
    // Re-registered on the other license.
    const again = await h.next('granted');
    expect(again.lease.license).not.toBe(lease.license);
    expect(r.of('message').filter((m) => m.type === 'lease.ended')).toHaveLength(1);
  });

  it('a restart longer than the heartbeat timeout: the session is gone, the client re-registers and continues', async () => {
    await license(1);
    const h = seat({ stream: false });
    const r = record(h);
    const { lease } = await h.next('granted');

    await s.stop();
    await advance(10_000);
    expect(r.of('retrying').at(-1)).toMatchObject({ during: 'heartbeat' });
    await s.start();
    // The server came back and timed the session out before the client got through.
    s.clock.advance(31_000);
    await s.tick();
    expect(await leaseOf(lease.id)).toMatchObject({ status: 'ended', endReason: 'expired' });

    const ended = h.next('ended');
    const granted = h.next('granted');
    for (let i = 0; i < 15 && r.of('ended').length === 0; i++) await advance(1_000);
    expect(await ended).toMatchObject({ reason: 'expired' });
    const again = await granted;
    expect(again.reacquired).toBe(true);
    expect(await leaseOf(again.lease.id)).toMatchObject({ status: 'active', sessions: 1 });
    expect(await inUse()).toBe(1);
  });

  it('refused: retries with capped backoff, shows the error from the Nth attempt, keeps trying, then gets the freed seat', async () => {
    await license(1);
    const holder = await s.call('POST', '/v1/leases', { product: 'display' });
    expect(holder.status).toBe(201);

    const h = seat({ errorAfter: 3, backoff: { initialDelay: 1000, maxDelay: 4000 } });
    const r = record(h);
    await until(() => r.of('retrying').length === 1, 'the first refusal');
    expect(h.state).toBe('retrying');
    expect(r.of('retrying')[0]).toMatchObject({ attempt: 1, delay: 1000, during: 'register' });
    expect(r.of('retrying')[0].error).toMatchObject({ code: 'no-seat', status: 409 });
    expect(r.of('retrying')[0].error.problem).toMatchObject({ product: 'display', inUse: 1, capacity: 1, retryAfter: 30 });
    expect(r.of('error')).toEqual([]);

    // Delays 1 s, 2 s, 4 s, 4 s (capped); the error appears with the third failure.
    for (const [attempt, delay] of [[2, 2000], [3, 4000], [4, 4000], [5, 4000]] as const) {
      await advance(r.of('retrying').at(-1).delay - 1, 0);
      expect(r.of('retrying')).toHaveLength(attempt - 1);
      await advance(1, 0);
      await until(() => r.of('retrying').length === attempt, `attempt ${attempt}`);
      expect(r.of('retrying').at(-1)).toMatchObject({ attempt, delay });
      expect(r.of('error')).toHaveLength(Math.max(0, attempt - 2));
    }
    expect(r.of('error')[0]).toMatchObject({ attempts: 3, fatal: false });
    expect(r.of('error')[0].error.code).toBe('no-seat');
    expect(h.state).toBe('retrying');

    // The holder closes; the next attempt gets the seat.
    expect((await s.call('DELETE', `/v1/sessions/${holder.body.session.id}`, undefined, holder.body.session.token)).status).toBe(204);
    const granted = h.next('granted');
    await advance(4000, 0);
    expect((await granted).reacquired).toBe(false);
    expect(h.state).toBe('held');
    expect(h.failures).toBe(0);
    expect(h.lastError).toBeNull();
  });

  it('wait: true queues with a ticket, polls it, and holds the seat it is granted when one frees', async () => {
    await license(1);
    const holder = await s.call('POST', '/v1/leases', { product: 'display' });
    expect(holder.status).toBe(201);
    const h = seat({ wait: true, ticketPollInterval: 5000 });
    const r = record(h);
    const { ticket } = await h.next('queued');
    expect(ticket.position).toBe(1);
    expect(h.state).toBe('queued');

    // Polls keep the ticket alive while the seat stays taken.
    for (let i = 0; i < 4; i++) await advance(5000);
    expect(h.state).toBe('queued');
    expect(r.of('error')).toEqual([]);

    expect((await s.call('DELETE', `/v1/sessions/${holder.body.session.id}`, undefined, holder.body.session.token)).status).toBe(204);
    await s.tick();
    for (let i = 0; i < 5 && h.state !== 'held'; i++) await advance(5000);
    expect(h.state).toBe('held');
    const { lease } = r.of('granted')[0];
    expect(await leaseOf(lease.id)).toMatchObject({ status: 'active', sessions: 1 });
    // The granted session is this client's: it heartbeats with it.
    const beat = h.next('heartbeat');
    await advance(10_000, 0);
    expect((await beat).lease.id).toBe(lease.id);
  });

  it('stops on a fatal answer (a wrong token) with one fatal error event', async () => {
    await license(1);
    const h = seat({ token: 'skt_not-a-token' });
    const e = await h.next('error');
    expect(e).toMatchObject({ fatal: true, attempts: 1 });
    expect(e.error).toMatchObject({ code: 'unauthorized', status: 401 });
    expect(h.state).toBe('failed');
    expect(timers.pending()).toEqual([]);
  });

  it('an endpoint key registers without naming the product; release() frees the seat and stops all timers', async () => {
    await license(1);
    const ep = await s.call('POST', '/v1/endpoints', { product: 'display', name: 'Lobby TV' });
    expect(ep.status).toBe(201);
    const h = seat({ token: ep.body.key, product: undefined });
    const { lease } = await h.next('granted');
    expect(lease).toMatchObject({ product: 'display', endpoint: ep.body.id });
    expect(await h.release()).toBe(true);
    expect(h.state).toBe('released');
    expect(await leaseOf(lease.id)).toMatchObject({ status: 'ended', endReason: 'released' });
    expect(await inUse()).toBe(0);
    expect(timers.pending()).toEqual([]);
    // Released twice is released once.
    expect(await h.release()).toBe(true);
  });

  it('release() while the registration is on its way gives the granted seat straight back', async () => {
    await license(1);
    const h = seat();
    expect(await h.release()).toBe(true);
    expect(h.state).toBe('released');
    // The grant still arrives; the handle closes that session at once.
    await eventually(async () => {
      const leases = (await s.call('GET', '/v1/leases?status=ended')).body.items;
      expect(leases).toHaveLength(1);
      expect(leases[0]).toMatchObject({ status: 'ended', endReason: 'released' });
    });
    expect(await inUse()).toBe(0);
  });

  it('reacquire: false stops after the end and reports it', async () => {
    const lic = await license(1);
    const h = seat({ reacquire: (reason) => reason !== 'license-ended' });
    await h.next('granted');
    await h.next('connected');
    const ended = h.next('ended');
    await s.call('DELETE', `/v1/licenses/${lic}`);
    expect(await ended).toMatchObject({ reason: 'license-ended', reacquiring: false });
    expect(h.state).toBe('ended');
    expect(timers.pending()).toEqual([]);
  });
});
