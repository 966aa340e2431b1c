import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleRoutes } from '../../src/server/plugins/console.js';
import { installProblemHandlers } from '../../src/server/problems.js';
import type { Ctx } from '../../src/server/context.js';
import { harness, type Harness } from '../helpers/app.js';
import { sqliteKind } from '../helpers/stores.js';

/** The plugin alone, on a made-up build, so these tests do not depend on `npm run build`. */
async function serve(root: string): Promise<FastifyInstance> {
  const app = Fastify();
  installProblemHandlers(app);
  await app.register(consoleRoutes, { ctx: {} as Ctx, root });
  return app;
}

describe('the console is served at /console', () => {
  let dir: string;
  let app: FastifyInstance;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seatkeeper-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console build</title><script type="module" src="/console/assets/index-abc123.js"></script>');
    writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("app");');
    app = await serve(dir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('redirects /console to /console/, keeping the query', async () => {
    for (const [url, location] of [['/console', '/console/'], ['/console?x=1', '/console/?x=1']]) {
      const r = await app.inject({ method: 'GET', url: url! });
      expect(r.statusCode).toBe(302);
      expect(r.headers.location).toBe(location);
    }
  });

  it('answers index.html at /console/ and for deep links (SPA fallback), never cached, scripts from this origin only', async () => {
    for (const url of ['/console/', '/console/leases', '/console/setup/users?tab=1']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.body).toContain('<title>console build</title>');
      expect(r.headers['cache-control']).toBe('no-cache');
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('serves hashed assets with a year-long immutable cache', async () => {
    const r = await app.inject({ method: 'GET', url: '/console/assets/index-abc123.js' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.body).toBe('console.log("app");');
  });

  it('answers a missing asset or a path outside the build with problem+json, not the page', async () => {
    for (const url of ['/console/assets/nothing.js', '/console/assets/..%2findex.html', '/console/assets/..%2f..%2fpackage.json']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(r.statusCode, url).toBeLessThan(500);
      expect(r.headers['content-type'], url).toMatch(/^application\/problem\+json/);
      expect(r.body).not.toContain('console build');
    }
  });
});

describe('before the console is built', () => {
  it('answers 503 problem+json saying to run npm run build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-console-missing-'));
    const app = await serve(join(dir, 'dist'));
    try {
      for (const url of ['/console/', '/console/leases']) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.statusCode).toBe(503);
        expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(r.json()).toMatchObject({ status: 503, code: 'unavailable' });
        expect(r.json().detail).toContain('npm run build');
      }
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the app registers the console', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(sqliteKind);
  });
  afterAll(async () => h.close());

  it('at /console, and keeps it out of the OpenAPI document', async () => {
    expect((await h.app.inject({ method: 'GET', url: '/console' })).headers.location).toBe('/console/');
    // 200 after `npm run build`, 503 before: either way the console's own answer.
    const page = await h.app.inject({ method: 'GET', url: '/console/' });
    expect([200, 503]).toContain(page.statusCode);
    const doc = (await h.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(doc.paths).filter((p: string) => p.startsWith('/console'))).toEqual([]);
  });

  it('is where a refusal sends the user (manageUrl)', async () => {
    await h.req('POST', '/v1/products', h.owner, { key: 'cad' });
    await h.req('POST', '/v1/licenses', h.owner, { product: 'cad', seats: 1 });
    expect((await h.req('POST', '/v1/leases', h.owner, { product: 'cad', device: 'a' })).status).toBe(201);
    const refused = await h.req('POST', '/v1/leases', h.owner, { product: 'cad', device: 'b', flex: false });
    expect(refused.status).toBe(409);
    expect(refused.body.manageUrl).toMatch(/\/console\/#\/leases\?mine=1$/);
  });
});
