import { readFileSync, existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROBLEMS } from '../../src/errors.js';
import { harness, PASSWORD, type Harness } from '../helpers/app.js';
import { storeKinds } from '../helpers/stores.js';

const kinds = await storeKinds();

describe('error catalogue', () => {
  it('matches docs/api-errors.md code for code and status', () => {
    const doc = readFileSync(new URL('../../docs/api-errors.md', import.meta.url), 'utf8');
    const rows = [...doc.matchAll(/^\| `([a-z-]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(PROBLEMS).map(([c, p]) => [c, p.status])));
  });

  it('contains every code API.md names, with its status', () => {
    const api = new URL('../../../shared/API.md', import.meta.url);
    if (!existsSync(api)) return;
    const text = readFileSync(api, 'utf8');
    const named = [...text.matchAll(/`([a-z-]+)` \((\d{3})\)/g)];
    expect(named.length).toBeGreaterThan(10);
    for (const [, code, status] of named) expect(PROBLEMS[code as keyof typeof PROBLEMS]?.status, code).toBe(Number(status));
  });
});

describe.each(kinds)('bad input changes nothing ($name)', (kind) => {
  let h: Harness;
  let snapshot: () => Promise<string>;
  beforeAll(async () => {
    h = await harness(kind, { loginRateLimit: 5 });
    await h.req('POST', '/v1/products', h.owner, { key: 'p' });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'p', seats: 5 });
    await h.req('POST', '/v1/leases', h.owner, { product: 'p' });
    snapshot = async () => {
      const parts = await Promise.all(['/v1/products', '/v1/licenses', '/v1/leases', '/v1/users', '/v1/teams', '/v1/settings', '/v1/endpoints', '/v1/api-keys'].map((u) => h.req('GET', u, h.owner)));
      return JSON.stringify(parts.map((p) => p.body));
    };
  });
  afterAll(async () => h.close());

  async function expectProblem(r: { status: number; body: any; headers: Record<string, unknown> }, status: number, code: string) {
    expect(r.status).toBe(status);
    expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status, code, type: `urn:seatkeeper:problem:${code}` });
    expect(typeof r.body.title).toBe('string');
    expect(typeof r.body.detail).toBe('string');
  }

  const cases: [string, string, string, unknown, number, string][] = [
    ['malformed JSON', 'POST', '/v1/products', '{"key": "x",', 400, 'bad-request'],
    ['a string for a number', 'POST', '/v1/licenses', { product: 'p', seats: '5' }, 400, 'bad-request'],
    ['a negative seat count', 'POST', '/v1/licenses', { product: 'p', seats: -1 }, 400, 'bad-request'],
    ['an unknown field', 'POST', '/v1/products', { key: 'q', seatz: 1 }, 400, 'bad-request'],
    ['an unknown seat model', 'POST', '/v1/products', { key: 'q', seatModel: 'floating' }, 400, 'bad-request'],
    ['a timeout below the interval', 'POST', '/v1/products', { key: 'q', heartbeat: { interval: 30, timeout: 10 } }, 400, 'bad-request'],
    ['an unknown product in a license', 'POST', '/v1/licenses', { product: 'nope', seats: 1 }, 400, 'bad-request'],
    ['an unknown team in a license', 'POST', '/v1/licenses', { product: 'p', seats: 1, team: 'team_x' }, 400, 'bad-request'],
    ['expiry before start', 'POST', '/v1/licenses', { product: 'p', seats: 1, startsAt: '2026-02-01T00:00:00Z', expiresAt: '2026-01-01T00:00:00Z' }, 400, 'bad-request'],
    ['a bad time zone', 'PATCH', '/v1/settings', { timezone: 'Mars/Olympus' }, 400, 'bad-request'],
    ['a bad reset time', 'PATCH', '/v1/settings', { dailyReset: '25:00' }, 400, 'bad-request'],
    ['control wider than... a bad scope', 'PATCH', '/v1/settings', { permissions: { view: 'all', control: 'own' } }, 400, 'bad-request'],
    ['an unknown product on acquire', 'POST', '/v1/leases', { product: 'nope' }, 400, 'bad-request'],
    ['a bad hold', 'POST', '/v1/leases', { product: 'p', hold: 'forever' }, 400, 'bad-request'],
    ['a duplicate product key', 'POST', '/v1/products', { key: 'p' }, 409, 'conflict'],
    ['an unknown lease', 'GET', '/v1/leases/lse_nope', undefined, 404, 'not-found'],
    ['an unknown user', 'PATCH', '/v1/users/usr_nope', { maxLeases: 1 }, 404, 'not-found'],
    ['an unknown route', 'GET', '/v1/nothing-here', undefined, 404, 'not-found'],
    ['a short password', 'POST', '/v1/users', { username: 'x', password: 'short' }, 400, 'bad-request'],
  ];

  it.each(cases)('%s: %s %s → %i %s', async (_name, method, url, body, status, code) => {
    const before = await snapshot();
    await expectProblem(await h.req(method, url, h.owner, body), status, code);
    expect(await snapshot()).toBe(before);
  });

  it('answers an oversize body with 413 and stores nothing', async () => {
    const before = await snapshot();
    await expectProblem(await h.req('POST', '/v1/products', h.owner, { key: 'big', name: 'x'.repeat(70_000) }), 413, 'payload-too-large');
    expect(await snapshot()).toBe(before);
  });

  it('answers a non-JSON body with 415', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/v1/products', headers: { authorization: `Bearer ${h.owner}`, 'content-type': 'text/plain' }, payload: 'key=p' });
    expect(r.statusCode).toBe(415);
    expect(JSON.parse(r.body).code).toBe('unsupported-media-type');
  });

  it('needs a valid token, and the right role', async () => {
    await expectProblem(await h.req('GET', '/v1/products', null), 401, 'unauthorized');
    await expectProblem(await h.req('GET', '/v1/products', 'skt_forged'), 401, 'unauthorized');
    await h.req('POST', '/v1/users', h.owner, { username: 'member1', password: PASSWORD });
    const m = await h.login('member1');
    const before = await snapshot();
    await expectProblem(await h.req('POST', '/v1/products', m, { key: 'mine' }), 403, 'forbidden');
    await expectProblem(await h.req('PATCH', '/v1/settings', m, { flexMax: 1 }), 403, 'forbidden');
    await expectProblem(await h.req('POST', '/v1/users', m, { username: 'evil', password: PASSWORD, role: 'owner' }), 403, 'forbidden');
    expect(await snapshot()).toBe(before);
    // An admin cannot make an owner.
    await h.req('POST', '/v1/users', h.owner, { username: 'admin1', password: PASSWORD, role: 'admin' });
    const a = await h.login('admin1');
    await expectProblem(await h.req('POST', '/v1/users', a, { username: 'evil', password: PASSWORD, role: 'owner' }), 403, 'forbidden');
    // Logging out revokes the token.
    expect((await h.req('POST', '/v1/auth/logout', m)).status).toBe(204);
    await expectProblem(await h.req('GET', '/v1/leases', m), 401, 'unauthorized');
  });

  it('checks the session token', async () => {
    const a = await h.req('POST', '/v1/leases', h.owner, { product: 'p' });
    const b = await h.req('POST', '/v1/leases', h.owner, { product: 'p' });
    await expectProblem(await h.req('POST', `/v1/sessions/${a.body.session.id}/heartbeat`, b.body.session.token), 401, 'unauthorized');
    await expectProblem(await h.req('DELETE', `/v1/sessions/${a.body.session.id}`, b.body.session.token), 401, 'unauthorized');
    await expectProblem(await h.req('POST', `/v1/sessions/${a.body.session.id}/heartbeat`, h.owner), 401, 'unauthorized');
    await expectProblem(await h.req('POST', '/v1/sessions/ses_nope/heartbeat', a.body.session.token), 404, 'not-found');
    expect((await h.req('GET', `/v1/leases/${a.body.lease.id}`, h.owner)).body.status).toBe('active');
    await h.req('DELETE', `/v1/sessions/${a.body.session.id}`, a.body.session.token);
    await h.req('DELETE', `/v1/sessions/${b.body.session.id}`, b.body.session.token);
  });

  it('never shows or touches another account', async () => {
    const other = await h.newAccount(`other-${kind.name}`);
    await h.req('POST', '/v1/products', other.token, { key: 'p' });
    const lic = (await h.req('POST', '/v1/licenses', other.token, { product: 'p', seats: 1 })).body;
    const lease = (await h.req('POST', '/v1/leases', other.token, { product: 'p' })).body.lease;
    const before = await snapshot();
    await expectProblem(await h.req('GET', `/v1/leases/${lease.id}`, h.owner), 404, 'not-found');
    await expectProblem(await h.req('POST', `/v1/leases/${lease.id}/release`, h.owner), 404, 'not-found');
    await expectProblem(await h.req('GET', `/v1/licenses/${lic.id}`, h.owner), 404, 'not-found');
    await expectProblem(await h.req('PATCH', `/v1/licenses/${lic.id}`, h.owner, { seats: 100 }), 404, 'not-found');
    await expectProblem(await h.req('DELETE', `/v1/licenses/${lic.id}`, h.owner), 404, 'not-found');
    expect((await h.req('GET', '/v1/leases', h.owner)).body.items.map((l: { id: string }) => l.id)).not.toContain(lease.id);
    expect(await snapshot()).toBe(before);
    const theirs = await h.req('GET', `/v1/leases/${lease.id}`, other.token);
    expect(theirs.body).toMatchObject({ status: 'active', license: lic.id });
    expect((await h.req('GET', `/v1/licenses/${lic.id}`, other.token)).body.seats).toBe(1);
  });

  it('creates accounts only with the operator key', async () => {
    const body = { name: 'newco', owner: { username: 'boss', password: PASSWORD } };
    await expectProblem(await h.req('POST', '/v1/accounts', null, body), 401, 'unauthorized');
    await expectProblem(await h.req('POST', '/v1/accounts', h.owner, body), 401, 'unauthorized');
    const r = await h.req('POST', '/v1/accounts', 'operator-secret', body);
    expect(r.status).toBe(201);
    expect(r.body.name).toBe('newco');
    await expectProblem(await h.req('POST', '/v1/accounts', 'operator-secret', body), 409, 'conflict');
    expect((await h.req('POST', '/v1/auth/login', null, { account: 'newco', username: 'boss', password: PASSWORD })).status).toBe(200);
  });

  it('rate-limits logins', async () => {
    const bad = { account: 'acme', username: 'owner', password: 'wrong password' };
    let last = 0;
    for (let i = 0; i < 8; i++) last = (await h.req('POST', '/v1/auth/login', null, bad)).status;
    expect(last).toBe(429);
    await expectProblem(await h.req('POST', '/v1/auth/login', null, bad), 429, 'rate-limited');
  });
});
