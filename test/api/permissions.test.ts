/**
 * The permission matrix (SPEC §1, seed 001): each role and per-user override against each
 * lease route, for the caller's own lease and another user's, and across two accounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

type Who = 'owner' | 'admin' | 'member' | 'viewOwn' | 'viewNone' | 'noControl';
const people: Record<Who, { role: string; permissions: { view: string; control: string } | null }> = {
  owner: { role: 'owner', permissions: null },
  admin: { role: 'admin', permissions: null },
  member: { role: 'member', permissions: null }, // account default: view domain, control own
  viewOwn: { role: 'member', permissions: { view: 'own', control: 'own' } },
  viewNone: { role: 'member', permissions: { view: 'none', control: 'none' } },
  noControl: { role: 'member', permissions: { view: 'domain', control: 'none' } },
};

// Expected status for [route][who]: own lease / someone else's lease.
const matrix: Record<string, Record<Who, [number, number]>> = {
  'GET /v1/leases/:id': { owner: [200, 200], admin: [200, 200], member: [200, 200], viewOwn: [200, 404], viewNone: [404, 404], noControl: [200, 200] },
  'POST /v1/leases/:id/release': { owner: [200, 200], admin: [200, 200], member: [200, 403], viewOwn: [200, 404], viewNone: [404, 404], noControl: [403, 403] },
  'POST /v1/leases/terminate': { owner: [202, 202], admin: [202, 202], member: [202, 403], viewOwn: [202, 403], viewNone: [403, 403], noControl: [403, 403] },
};

describe.each(kinds)('permission matrix ($name)', (kind) => {
  let h: Harness;
  const tokens = {} as Record<Who, string>;
  let otherAccount: { token: string; lease: string };
  beforeAll(async () => {
    h = await harness(kind);
    await h.req('POST', '/v1/products', h.owner, { key: 'p', seatModel: 'user-device', heartbeat: { interval: 60, timeout: 3600 } });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 100 });
    for (const [name, p] of Object.entries(people) as [Who, (typeof people)[Who]][]) {
      if (name === 'owner') {
        tokens.owner = h.owner;
        continue;
      }
      const r = await h.req('POST', '/v1/users', h.owner, { username: name, password: PASSWORD, role: p.role, permissions: p.permissions });
      expect(r.status).toBe(201);
      tokens[name] = await h.login(name);
    }
    const other = await h.newAccount(`matrix-${kind.name}`);
    await h.req('POST', '/v1/products', other.token, { key: 'p' });
    await h.req('POST', '/v1/licenses', other.token, { product: 'p', seats: 5 });
    otherAccount = { token: other.token, lease: (await h.req('POST', '/v1/leases', other.token, { product: 'p' })).body.lease.id };
  });
  afterAll(async () => h.close());

  let n = 0;
  const newLease = async (token: string) => (await h.req('POST', '/v1/leases', token, { product: 'p', device: `d${++n}` })).body.lease.id as string;
  const call = (route: string, token: string, id: string) => {
    if (route === 'GET /v1/leases/:id') return h.req('GET', `/v1/leases/${id}`, token);
    if (route === 'POST /v1/leases/:id/release') return h.req('POST', `/v1/leases/${id}/release`, token);
    return h.req('POST', '/v1/leases/terminate', token, { ids: [id], grace: 60 });
  };

  for (const route of Object.keys(matrix)) {
    for (const who of Object.keys(people) as Who[]) {
      it(`${route} as ${who}: own lease → ${matrix[route]![who][0]}, another's → ${matrix[route]![who][1]}`, async () => {
        const [ownStatus, otherStatus] = matrix[route]![who];
        const own = await newLease(tokens[who]);
        const others = await newLease(tokens[who === 'member' ? 'admin' : 'member']);
        const before = (await h.req('GET', `/v1/leases/${others}`, h.owner)).body;
        expect((await call(route, tokens[who], own)).status).toBe(ownStatus);
        expect((await call(route, tokens[who], others)).status).toBe(otherStatus);
        // A refused call changes nothing.
        if (otherStatus >= 400) expect((await h.req('GET', `/v1/leases/${others}`, h.owner)).body).toEqual(before);
        // Another account's lease is never visible to anyone here.
        expect((await call(route, tokens[who], otherAccount.lease)).status).toBe(route.includes('terminate') ? 403 : 404);
      });
    }
  }

  it('lists leases by view: domain sees all, own sees own, none is refused', async () => {
    const ids = (t: string) => h.req('GET', '/v1/leases?limit=1000', t).then((r) => r.body.items?.map((l: { user: string }) => l.user));
    const all = await ids(tokens.admin);
    expect(new Set(all).size).toBeGreaterThan(2);
    expect(await ids(tokens.member)).toEqual(all);
    const me = (await h.req('GET', '/v1/users?limit=100', h.owner)).body.items.find((u: { username: string }) => u.username === 'viewOwn').id;
    const own = await ids(tokens.viewOwn);
    expect(own.length).toBeGreaterThan(0);
    expect(new Set(own)).toEqual(new Set([me]));
    expect((await h.req('GET', '/v1/leases', tokens.viewNone)).status).toBe(403);
    expect((await h.req('GET', '/v1/leases', otherAccount.token)).body.items).toHaveLength(1);
  });

  it('keeps set-up, reports and audit to owners and admins', async () => {
    for (const url of ['/v1/products', '/v1/users', '/v1/settings', '/v1/reports/denials', '/v1/reports/active-logins', '/v1/audit']) {
      for (const who of ['owner', 'admin'] as const) expect((await h.req('GET', url, tokens[who])).status, `${who} ${url}`).toBe(200);
      for (const who of ['member', 'viewOwn', 'viewNone', 'noControl'] as const) expect((await h.req('GET', url, tokens[who])).status, `${who} ${url}`).toBe(403);
    }
  });

  it('clamps control to view: an override with control wider than view acts as view', async () => {
    await h.req('POST', '/v1/users', h.owner, { username: 'wide', password: PASSWORD, permissions: { view: 'own', control: 'domain' } });
    const wide = await h.login('wide');
    const others = await newLease(tokens.admin);
    expect((await h.req('POST', '/v1/leases/terminate', wide, { ids: [others] })).status).toBe(403);
  });
});
