import type { RoutePlugin } from './common.js';
import { sendProblem } from '../problems.js';

/** Health, readiness, metrics and the API description. None of these needs a token. */
export const opsRoutes: RoutePlugin = async (app, { ctx }) => {
  app.get('/healthz', { schema: { tags: ['operations'], summary: 'The process is up' } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['operations'], summary: 'The store is reachable' } }, async (_req, reply) => {
    try {
      await ctx.store.ping();
      return { status: 'ready', store: ctx.store.dialect };
    } catch {
      return sendProblem(reply, 'unavailable', 'the store is not reachable');
    }
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const body = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(body);
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
