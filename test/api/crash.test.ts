import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startServer, type ServerProcess } from '../helpers/process.js';

const PASSWORD = 'crash test password';

describe('kill -9 and restart on the same data directory (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-crash-'));
  let server: ServerProcess;
  let admin: string;
  beforeAll(async () => {
    server = await startServer(['--data', dir], { SEATKEEPER_ADMIN_PASSWORD: PASSWORD });
    admin = (await call(server.url, 'POST', '/v1/auth/login', undefined, { account: 'default', username: 'admin', password: PASSWORD })).body.token;
    await call(server.url, 'POST', '/v1/products', admin, { key: 'p', heartbeat: { interval: 10, timeout: 30 } });
    await call(server.url, 'POST', '/v1/licenses', admin, { product: 'p', seats: 5 });
  });
  afterAll(async () => {
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every held lease, grants no seat twice, and lets clients heartbeat again', async () => {
    const held = [];
    for (let i = 0; i < 3; i++) held.push((await call(server.url, 'POST', '/v1/leases', admin, { product: 'p' })).body);
    // Concurrent acquisitions in flight when the process dies.
    const inflight = Array.from({ length: 20 }, () => call(server.url, 'POST', '/v1/leases', admin, { product: 'p' }).catch(() => null));
    await new Promise((r) => setTimeout(r, 5));
    await server.kill('SIGKILL');
    const answered = (await Promise.all(inflight)).filter((r) => r?.status === 201).map((r) => r!.body.lease.id as string);

    server = await startServer(['--data', dir]);
    expect(server.output()).not.toMatch(/Password/);
    const live = (await call(server.url, 'GET', '/v1/leases?product=p', admin)).body.items as { id: string; status: string }[];
    const liveIds = live.map((l) => l.id);
    // Every lease a client was told it holds is still held...
    for (const h of held) expect(liveIds).toContain(h.lease.id);
    for (const id of answered) expect(liveIds).toContain(id);
    // ...and the limit holds: never more than the seats, and the count matches the leases.
    expect(live.length).toBeLessThanOrEqual(5);
    const usage = (await call(server.url, 'GET', '/v1/usage', admin)).body.products[0];
    expect(usage.inUse).toBe(live.length);

    for (const h of held) {
      const hb = await call(server.url, 'POST', `/v1/sessions/${h.session.id}/heartbeat`, h.session.token);
      expect(hb.status).toBe(200);
    }
    const more = [];
    for (let i = 0; i < 10; i++) more.push((await call(server.url, 'POST', '/v1/leases', admin, { product: 'p' })).status);
    expect(more.filter((s) => s === 201)).toHaveLength(5 - live.length);
    expect((await call(server.url, 'GET', '/v1/usage', admin)).body.products[0].inUse).toBe(5);
  });
});
