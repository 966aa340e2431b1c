import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { harness, type Harness } from '../helpers/app.js';
import { sqliteKind } from '../helpers/stores.js';

describe('example display client (/display/<endpoint key>)', () => {
  let h: Harness;
  let key: string;
  beforeEach(async () => {
    h = await harness(sqliteKind);
    await h.req('POST', '/v1/products', h.owner, { key: 'display' });
    const ep = await h.req('POST', '/v1/endpoints', h.owner, { product: 'display', name: 'Lobby TV' });
    key = ep.body.key;
    expect(ep.body.displayUrl).toMatch(new RegExp(`/display/${key}$`));
  });
  afterEach(async () => h.close());

  it('serves the page for an endpoint key, with no referrer and scripts from this origin only', async () => {
    const r = await h.app.inject({ method: 'GET', url: `/display/${key}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.body).toContain('<script type="module" src="/display/page.js"></script>');
    // The key is read by the script from the URL, never written into the page.
    expect(r.body).not.toContain(key);
  });

  it('a disabled endpoint still gets its page (it shows the refusal and keeps retrying)', async () => {
    const id = (await h.req('GET', '/v1/endpoints', h.owner)).body.items[0].id;
    await h.req('PATCH', `/v1/endpoints/${id}`, h.owner, { enabled: false });
    expect((await h.app.inject({ method: 'GET', url: `/display/${key}` })).statusCode).toBe(200);
  });

  it('answers problem+json for an unknown key, another kind of token, or a malformed key', async () => {
    for (const [url, status, code] of [
      ['/display/ske_unknown', 404, 'not-found'],
      [`/display/${h.owner}`, 404, 'not-found'],
      ['/display/not%20a%20key', 400, 'bad-request'],
      ['/display/key.with.dots', 400, 'bad-request'],
      ['/display/sdk/..%2Fpackage.json', 400, 'bad-request'],
      ['/display/sdk/nothing.js', 404, 'not-found'],
    ] as const) {
      const r = await h.app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(status);
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(r.json().code).toBe(code);
    }
  });

  it('serves its script and the SDK build it imports', async () => {
    const page = await h.app.inject({ method: 'GET', url: '/display/page.js' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(page.body).toContain("import { acquire } from './sdk/index.js';");
    // Built by `npm run build` (npm ci runs it); the page needs every module the SDK imports.
    const index = await h.app.inject({ method: 'GET', url: '/display/sdk/index.js' });
    expect(index.statusCode, 'packages/client/dist missing: run npm run build').toBe(200);
    const imports = [...index.body.matchAll(/from '\.\/([a-z-]+\.js)'/g)].map((m) => m[1]!);
    expect(imports).toContain('handle.js');
    for (const file of imports) {
      const m = await h.app.inject({ method: 'GET', url: `/display/sdk/${file}` });
      expect(m.statusCode, file).toBe(200);
      expect(m.headers['content-type']).toBe('text/javascript; charset=utf-8');
    }
  });
});
