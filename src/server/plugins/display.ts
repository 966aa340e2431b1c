import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Type } from 'typebox';
import type { RoutePlugin } from './common.js';
import { hashToken } from '../deps.js';
import { sendProblem } from '../problems.js';
import { DISPLAY_HTML, DISPLAY_JS } from './display-page.js';

/** The SDK's browser build: src/server/plugins and dist/server/plugins are both three levels down. */
const SDK_DIST = new URL('../../../packages/client/dist/', import.meta.url);

// The page carries a secret (the endpoint key) in its URL: no referrer, no caching, and
// scripts from this origin only.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/**
 * The example display client: GET /display/<endpoint key> serves a page that holds a seat
 * of the endpoint's product through @seatkeeper/client, shows its state live and gives the
 * seat back when closed. Its script and the SDK modules are served beside it.
 */
export const displayRoutes: RoutePlugin = async (app, { ctx }) => {
  const tags = ['display'];

  app.get('/display/page.js', { schema: { hide: true } }, async (_req, reply) =>
    reply.headers({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).type('text/javascript; charset=utf-8').send(DISPLAY_JS),
  );

  app.get(
    '/display/sdk/:file',
    { schema: { hide: true, params: Type.Object({ file: Type.String({ pattern: '^[a-z][a-z0-9-]*\\.js$', maxLength: 60 }) }) } },
    async (req, reply) => {
      let js: string;
      try {
        js = await readFile(fileURLToPath(new URL(req.params.file, SDK_DIST)), 'utf8');
      } catch {
        return sendProblem(reply, 'not-found', `no client SDK module ${req.params.file} (is packages/client built? run npm run build)`);
      }
      return reply.headers({ 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).type('text/javascript; charset=utf-8').send(js);
    },
  );

  app.get(
    '/display/:key',
    {
      schema: {
        tags,
        summary: "An endpoint's display page: holds one seat of its product and shows its state",
        params: Type.Object({ key: Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: 100 }) }),
        security: [],
      },
    },
    async (req, reply) => {
      const credential = await ctx.store.findCredential(hashToken(req.params.key), ctx.clock.now());
      if (!credential || credential.kind !== 'endpoint') return sendProblem(reply, 'not-found', 'no endpoint has this key');
      // A disabled endpoint still gets its page: it shows the refusal and keeps retrying
      // until an administrator enables it again (seed 000).
      return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(DISPLAY_HTML);
    },
  );
};
