/**
 * What today's server cannot show yet (queue tickets, termination notices) against a
 * scripted fetch that answers exactly as API.md says: 202 + ticket, ticket polling, and a
 * session stream the test writes to by hand.
 */
import { describe, expect, it } from 'vitest';
import { acquire, type SeatEvents } from '../src/index.js';
import { ManualTimers, until } from './helpers/manual-timers.js';

const T0 = Date.UTC(2026, 5, 1, 12);
const iso = (t: number) => new Date(t).toISOString();
const lease = (over: Record<string, unknown> = {}) => ({
  id: 'lse_1', product: 'display', license: 'lic_1', kind: 'regular', status: 'active', user: null, device: null, endpoint: null,
  joinCode: 'ABC', hold: 'heartbeat', sessions: 1, startedAt: iso(T0), endsAt: null, endedAt: null, endReason: null, ...over,
});
const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' } });

/** A fetch that records requests and answers from `route`; streams are written by the test. */
function scriptedFetch(route: (method: string, path: string, headers: Record<string, string>) => Response | undefined) {
  const requests: { method: string; path: string; headers: Record<string, string>; body: string | undefined }[] = [];
  const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
  const fetch = async (input: string, init?: RequestInit) => {
    const u = new URL(input);
    const headers = Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
    const method = init?.method ?? 'GET';
    requests.push({ method, path: u.pathname, headers, body: typeof init?.body === 'string' ? init.body : undefined });
    if (u.pathname.endsWith('/events')) {
      const body = new ReadableStream<Uint8Array>({ start: (c) => void streams.push(c) });
      init?.signal?.addEventListener('abort', () => streams.at(-1)?.error(new Error('aborted')));
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    const r = route(method, u.pathname, headers);
    if (!r) throw new TypeError('fetch failed');
    return r;
  };
  const write = (text: string) => streams.at(-1)!.enqueue(new TextEncoder().encode(text));
  return { fetch, requests, streams, write };
}

function record(h: { on<K extends keyof SeatEvents>(t: K, fn: (p: SeatEvents[K]) => void): () => void }) {
  const log: [keyof SeatEvents, any][] = [];
  for (const t of ['granted', 'queued', 'terminating', 'ended', 'heartbeat', 'connected', 'retrying', 'error', 'paused', 'resumed'] as const) {
    h.on(t, (p) => log.push([t, p]));
  }
  return { log, of: (t: keyof SeatEvents) => log.filter(([k]) => k === t).map(([, p]) => p) };
}

const session = { id: 'ses_1', token: 'sss_1', heartbeatInterval: 10, heartbeatTimeout: 30, expiresAt: iso(T0 + 30_000) };

describe('queue tickets (202), as API.md describes them', () => {
  it('waits with wait: true, reports positions while polling, then holds the granted seat', async () => {
    const timers = new ManualTimers(T0);
    const polls = [
      json(200, { status: 'waiting', position: 2 }),
      json(200, { status: 'waiting', position: 1 }),
      json(200, { status: 'granted', position: 0, lease: lease(), session }),
    ];
    const f = scriptedFetch((method, path) => {
      if (method === 'POST' && path === '/v1/leases') return json(202, { ticket: { id: 'tkt_1', token: 'tkt_secret', position: 2, expiresAt: iso(T0 + 60_000) } });
      if (method === 'GET' && path === '/v1/tickets/tkt_1') return polls.shift();
      if (method === 'POST' && path === '/v1/sessions/ses_1/heartbeat') return json(200, { expiresAt: iso(timers.now() + 30_000), lease: lease() });
      if (method === 'DELETE' && path === '/v1/sessions/ses_1') return new Response(null, { status: 204 });
      return undefined;
    });
    const h = acquire({ url: 'http://sk.test', token: 'ske_key', wait: true, timers, fetch: f.fetch, releaseOnPageHide: false, ticketPollInterval: 5000 });
    const r = record(h);
    await until(() => r.of('queued').length === 1, 'queued');
    expect(h.state).toBe('queued');
    expect(r.of('queued')[0].ticket).toMatchObject({ id: 'tkt_1', position: 2 });
    expect(JSON.parse(f.requests[0]!.body!)).toEqual({ wait: true });

    timers.advance(5000); // position unchanged: no new event
    await until(() => f.requests.filter((q) => q.path === '/v1/tickets/tkt_1').length === 1, 'first poll');
    await new Promise((res) => setTimeout(res, 10));
    expect(r.of('queued')).toHaveLength(1);
    expect(f.requests.at(-1)?.headers.authorization).toBe('Bearer tkt_secret');

    timers.advance(5000);
    await until(() => r.of('queued').length === 2, 'position 1');
    expect(r.of('queued')[1].ticket.position).toBe(1);

    timers.advance(5000);
    await until(() => r.of('granted').length === 1, 'granted');
    expect(h.state).toBe('held');
    expect(h.session?.token).toBe('sss_1');
    timers.advance(10_000);
    await until(() => r.of('heartbeat').length === 1, 'a heartbeat with the session token');
    expect(f.requests.find((q) => q.path.endsWith('/heartbeat'))?.headers.authorization).toBe('Bearer sss_1');
    expect(await h.release()).toBe(true);
  });

  it('a server without tickets (404 on the poll) sends the client back to registering with backoff', async () => {
    const timers = new ManualTimers(T0);
    let posts = 0;
    const f = scriptedFetch((method, path) => {
      if (method === 'POST' && path === '/v1/leases') {
        posts++;
        return json(202, { ticket: { id: 'tkt_1', token: 't', position: 1, expiresAt: iso(T0 + 60_000) } });
      }
      if (path === '/v1/tickets/tkt_1') return json(404, { code: 'not-found', status: 404, title: 'Not found', detail: 'no route' });
      return undefined;
    });
    const h = acquire({ url: 'http://sk.test', token: 'k', product: 'p', wait: true, timers, fetch: f.fetch, random: () => 1, releaseOnPageHide: false });
    const r = record(h);
    await until(() => r.of('queued').length === 1, 'queued');
    timers.advance(5000);
    await until(() => r.of('retrying').length === 1, 'the failed poll');
    expect(r.of('retrying')[0]).toMatchObject({ during: 'ticket', delay: 1000 });
    timers.advance(1000);
    await until(() => posts === 2, 'a new registration');
    await h.release();
  });
});

describe('notices on the session stream', () => {
  it('terminating with countdown and message, Last-Event-ID on reconnect, then ended and re-registration', async () => {
    const timers = new ManualTimers(T0);
    const endsAt = iso(T0 + 30_000);
    let hbLease = lease();
    let posts = 0;
    const f = scriptedFetch((method, path) => {
      if (method === 'POST' && path === '/v1/leases') {
        posts++;
        return posts === 1 ? json(201, { lease: lease(), session }) : json(409, { code: 'no-seat', status: 409, title: 'No seat', detail: 'full', retryAfter: 30 });
      }
      if (path === '/v1/sessions/ses_1/heartbeat') return json(200, { expiresAt: iso(timers.now() + 30_000), lease: hbLease });
      return undefined;
    });
    const h = acquire({ url: 'http://sk.test', token: 'k', product: 'display', timers, fetch: f.fetch, random: () => 1, releaseOnPageHide: false });
    const r = record(h);
    await until(() => r.of('connected').length === 1, 'stream');
    expect(f.requests.find((q) => q.path.endsWith('/events'))?.headers).toMatchObject({ authorization: 'Bearer sss_1', accept: 'text/event-stream' });
    expect(f.requests.find((q) => q.path.endsWith('/events'))?.headers['last-event-id']).toBeUndefined();

    // The notice: the lease ends in 30 s.
    hbLease = lease({ status: 'terminating', endsAt });
    f.write(`retry: 2000\n\nid: 41\nevent: lease.terminating\ndata: {"at":"${endsAt}","message":"Licence moved to the night shift"}\n\n`);
    await until(() => r.of('terminating').length === 1, 'terminating');
    expect(r.of('terminating')[0]).toMatchObject({ at: new Date(endsAt), message: 'Licence moved to the night shift', secondsLeft: 30 });
    expect(h.terminatingAt?.toISOString()).toBe(endsAt);
    // A heartbeat at once confirms the end time from the lease; same time, no second event.
    timers.advance(0);
    await until(() => r.of('heartbeat').length === 1, 'confirming heartbeat');
    expect(r.of('terminating')).toHaveLength(1);
    timers.advance(12_000);
    expect(h.secondsLeft).toBe(18);

    // The stream drops; it comes back after the server's retry time, resuming after id 41.
    f.streams.at(-1)!.close();
    await new Promise((res) => setTimeout(res, 10));
    timers.advance(1999);
    expect(f.requests.filter((q) => q.path.endsWith('/events'))).toHaveLength(1);
    timers.advance(1);
    await until(() => r.of('connected').length === 2, 'reconnected');
    expect(f.requests.filter((q) => q.path.endsWith('/events')).at(-1)?.headers['last-event-id']).toBe('41');

    f.write('id: 42\nevent: lease.ended\ndata: {"reason":"terminated"}\n\n');
    await until(() => r.of('ended').length === 1, 'ended');
    expect(r.of('ended')[0]).toMatchObject({ reason: 'terminated', reacquiring: true });
    expect(r.of('ended')[0].lease).toMatchObject({ id: 'lse_1', status: 'ended' });
    expect(h.terminatingAt).toBeNull();
    await until(() => posts === 2, 're-registration');
    await until(() => r.of('retrying').length === 1, 'refused again');
    expect(h.state).toBe('retrying');
    await h.release();
  });

  it('paused and resumed, learnt from heartbeats when no stream is followed', async () => {
    const timers = new ManualTimers(T0);
    let status = 'active';
    const f = scriptedFetch((method, path) => {
      if (method === 'POST' && path === '/v1/leases') return json(201, { lease: lease(), session });
      if (path === '/v1/sessions/ses_1/heartbeat') return json(200, { expiresAt: iso(timers.now() + 30_000), lease: lease({ status }) });
      if (method === 'DELETE') return new Response(null, { status: 204 });
      return undefined;
    });
    const h = acquire({ url: 'http://sk.test', token: 'k', product: 'display', stream: false, timers, fetch: f.fetch, releaseOnPageHide: false });
    const r = record(h);
    await until(() => h.state === 'held', 'held');
    status = 'paused';
    timers.advance(10_000);
    await until(() => r.of('paused').length === 1, 'paused');
    timers.advance(10_000);
    await until(() => r.of('heartbeat').length === 2, 'second heartbeat');
    expect(r.of('paused')).toHaveLength(1);
    status = 'active';
    timers.advance(10_000);
    await until(() => r.of('resumed').length === 1, 'resumed');
    expect(f.requests.some((q) => q.path.endsWith('/events'))).toBe(false);
    await h.release();
  });
});
