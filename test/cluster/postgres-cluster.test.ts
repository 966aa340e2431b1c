/**
 * Several real server processes on one PostgreSQL database (cluster mode): grants are
 * exact across servers, events cross servers, and a server killed with SIGKILL loses
 * nothing its clients hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type ServerProcess } from '../helpers/process.js';
import { openSse } from '../helpers/sse.js';
import { createPgDatabase, postgresReachable } from '../helpers/stores.js';

const PASSWORD = 'cluster test password';
const reachable = await postgresReachable();

describe.runIf(reachable)('cluster of three servers on one PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let servers: ServerProcess[] = [];
  let token: string;

  beforeAll(async () => {
    db = await createPgDatabase();
    // All three start at once on an empty database: migrations and bootstrap must not race.
    servers = await Promise.all([0, 1, 2].map(() => startServer(['--database', db.url], { SEATKEEPER_ADMIN_PASSWORD: PASSWORD })));
    const login = await call(servers[1]!.url, 'POST', '/v1/auth/login', undefined, { account: 'default', username: 'admin', password: PASSWORD });
    expect(login.status).toBe(200);
    token = login.body.token;
    expect((await call(servers[0]!.url, 'POST', '/v1/products', token, { key: 'p' })).status).toBe(201);
    expect((await call(servers[2]!.url, 'POST', '/v1/licenses', token, { product: 'p', seats: 10 })).status).toBe(201);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.kill()));
    await db?.drop();
  });

  it('grants exactly 10 of 200 concurrent acquisitions spread over the servers', async () => {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => call(servers[i % 3]!.url, 'POST', '/v1/leases', token, { product: 'p' })),
    );
    const granted = results.filter((r) => r.status === 201);
    expect(granted).toHaveLength(10);
    expect(results.filter((r) => r.status === 409 && r.body.code === 'no-seat')).toHaveLength(190);
    for (const s of servers) expect((await call(s.url, 'GET', '/v1/usage', token)).body.products[0].inUse).toBe(10);

    // An event produced on server 0 reaches a stream held on server 2.
    const victim = granted[0]!.body;
    const stream = openSse(`${servers[2]!.url}/v1/sessions/${victim.session.id}/events`, { authorization: `Bearer ${victim.session.token}` });
    await stream.ready;
    expect(stream.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect((await call(servers[0]!.url, 'DELETE', `/v1/sessions/${victim.session.id}`, victim.session.token)).status).toBe(204);
    const [ended] = await stream.waitFor(1);
    expect(ended?.event).toBe('lease.ended');
    expect(JSON.parse(ended!.data).reason).toBe('released');

    // Give the rest back.
    for (const g of granted.slice(1)) await call(servers[1]!.url, 'DELETE', `/v1/sessions/${g.body.session.id}`, g.body.session.token);
    expect((await call(servers[0]!.url, 'GET', '/v1/usage', token)).body.products[0].inUse).toBe(0);
  });

  it('loses no lease and double-grants no seat when a server is killed mid-load', async () => {
    type Held = { lease: string; session: string; token: string };
    const held: Held[] = [];
    const survivors = [servers[0]!, servers[1]!];
    // Load on all three servers: acquisitions for 10 seats and heartbeats of what is held.
    let stop = false;
    const worker = async (w: number) => {
      for (let i = 0; i < 400 && !stop; i++) {
        const server = servers[(w + i) % 3]!;
        const r = await call(server.url, 'POST', '/v1/leases', token, { product: 'p' }).catch(() => null);
        if (r?.status === 201) held.push({ lease: r.body.lease.id, session: r.body.session.id, token: r.body.session.token });
        const h = held[i % Math.max(1, held.length)];
        if (h) await call(server.url, 'POST', `/v1/sessions/${h.session}/heartbeat`, h.token).catch(() => null);
      }
    };
    const load = Promise.all([0, 1, 2, 3, 4, 5].map(worker));
    await new Promise((r) => setTimeout(r, 300));
    await servers[2]!.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;

    expect(held.length).toBeGreaterThan(0);
    expect(held.length).toBeLessThanOrEqual(10);
    const live = (await call(survivors[0]!.url, 'GET', '/v1/leases?product=p', token)).body.items.map((l: { id: string }) => l.id);
    for (const h of held) expect(live).toContain(h.lease);
    // A grant may have committed on the killed server after its answer was lost: that lease
    // is live (and will expire unheartbeated) but no client knows it. The count still matches.
    expect(live.length).toBeLessThanOrEqual(10);
    expect((await call(survivors[1]!.url, 'GET', '/v1/usage', token)).body.products[0].inUse).toBe(live.length);
    // Clients of the dead server carry on with the others.
    for (const h of held) expect((await call(survivors[held.indexOf(h) % 2]!.url, 'POST', `/v1/sessions/${h.session}/heartbeat`, h.token)).status).toBe(200);
    const more = await Promise.all(Array.from({ length: 20 }, (_, i) => call(survivors[i % 2]!.url, 'POST', '/v1/leases', token, { product: 'p' })));
    expect(more.filter((r) => r.status === 201)).toHaveLength(10 - live.length);
    expect((await call(survivors[0]!.url, 'GET', '/v1/usage', token)).body.products[0].inUse).toBe(10);
  });
});
