import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Ctx } from '../context.js';
import { sendProblem } from '../problems.js';

/** The console's build: src/server/plugins and dist/server/plugins are both three levels down. */
export const CONSOLE_DIST = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

// The page holds a login token (in sessionStorage): scripts, styles and requests from this
// origin only, no framing, no referrer beyond this origin.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // index.html names the hashed assets of the current build: always revalidate it.
  'cache-control': 'no-cache',
};

/**
 * The web console (console/, a Vite build) at /console/. Every path under it that is not an
 * asset answers the app's index.html (the app routes on the hash; the fallback keeps stray
 * deep links working); hashed assets are cached for a year. Before `npm run build` has made
 * console/dist the console answers 503 with what to run.
 */
export const consoleRoutes: FastifyPluginAsync<{ ctx: Ctx; root?: string }> = async (app, opts) => {
  const root = opts.root ?? CONSOLE_DIST;

  await app.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/console/assets/',
    decorateReply: false,
    suppressWarning: true,
    index: false,
    immutable: true,
    maxAge: '365d',
    setHeaders: (reply) => void reply.header('x-content-type-options', 'nosniff'),
  });

  const page = async (reply: FastifyReply) => {
    let html: string;
    try {
      html = await readFile(join(root, 'index.html'), 'utf8');
    } catch {
      return sendProblem(reply, 'unavailable', 'the web console is not built: run `npm run build` (it builds console/dist), then restart the server');
    }
    return reply.headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(html);
  };

  // /console → /console/, so that the page's relative URL and manageUrl-style links agree.
  app.get('/console', { schema: { hide: true } }, async (req, reply) => {
    const q = req.url.indexOf('?');
    return reply.redirect(`/console/${q === -1 ? '' : req.url.slice(q)}`, 302);
  });
  app.get('/console/', { schema: { hide: true } }, async (_req, reply) => page(reply));
  app.get('/console/*', { schema: { hide: true } }, async (_req, reply) => page(reply));
};
