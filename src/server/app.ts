import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import rateLimit from '@fastify/rate-limit';
import type { Store } from '../store/types.js';
import { type Clock, systemClock } from './deps.js';
import { EventHub } from './event-hub.js';
import { LeaseService } from './lease-service.js';
import { createMetrics } from './metrics.js';
import { installProblemHandlers } from './problems.js';
import type { Ctx, ServerConfig } from './context.js';
import { opsRoutes } from './plugins/ops.js';
import { accountRoutes } from './plugins/accounts.js';
import { settingsRoutes } from './plugins/settings.js';
import { peopleRoutes } from './plugins/people.js';
import { catalogRoutes } from './plugins/catalog.js';
import { leaseRoutes } from './plugins/leases.js';
import { sessionRoutes } from './plugins/sessions.js';
import { ticketRoutes } from './plugins/tickets.js';
import { reportRoutes } from './plugins/reports.js';
import { eventRoutes } from './plugins/events.js';
import { installAudit } from './audit.js';
import { displayRoutes } from './plugins/display.js';
import { consoleRoutes } from './plugins/console.js';
import { meteringRoutes } from './plugins/metering.js';
import { alertRoutes } from './plugins/alerts.js';
import { Notifier } from './notify/notifier.js';
import { smtpMailer } from './notify/mailer.js';

export interface AppDeps {
  store: Store;
  clock?: Clock;
  config?: Partial<ServerConfig>;
  logger?: boolean | { level: string };
}

export type App = FastifyInstance & { ctx: Ctx };

export const DEFAULT_CONFIG: ServerConfig = {
  operatorKey: null,
  loginRateLimit: 10,
  tokenTtlMs: 7 * 24 * 3600 * 1000,
  bodyLimit: 64 * 1024,
  publicUrl: '',
  sseKeepAliveMs: 15_000,
  ticketPollMs: 1000,
  smtpUrl: null,
  mailFrom: 'seatkeeper@localhost',
};

/**
 * Builds the HTTP app without listening (tests call `inject`). Timed work is not started
 * here: the caller runs `app.ctx.service.tick()` on a timer (the CLI) or by hand (tests).
 */
export async function buildApp(deps: AppDeps): Promise<App> {
  const config: ServerConfig = { ...DEFAULT_CONFIG, ...deps.config };
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: deps.logger ?? false,
    // Requests are not logged one by one (errors are); at the default level they would be
    // filtered anyway, after costing each request two log calls.
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request (its allocation shows in every request's profile): the few
    // places that log for a request name its id themselves (`{ reqId: req.id }`).
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.bodyLimit,
    // Request ids in logs, never taken from the client.
    genReqId: (() => {
      let n = 0;
      return () => `req-${(++n).toString(36)}`;
    })(),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are validated strictly (a string is not a number); query strings and path
  // parameters are text by nature and are coerced.
  const bodyAjv = addFormats.default(new Ajv({ allErrors: false, coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false }));
  const paramAjv = addFormats.default(new Ajv({ allErrors: false, coerceTypes: true, useDefaults: true, removeAdditional: false, strict: false }));
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema));

  installProblemHandlers(app);
  // The API speaks JSON only; any other body is refused with 415 rather than half-parsed.
  app.removeContentTypeParser('text/plain');

  const hub = new EventHub();
  let service: LeaseService | null = null;
  const metrics = createMetrics(() => service?.deadlines.size ?? 0);
  service = new LeaseService(deps.store, clock, hub, metrics, {
    // Bounded batches, yielding between them: a mass expiry must not hold heartbeats up. A
    // batch of 50 is a few statements (`expireSessions`) and takes 1.5–3 ms; since batches
    // became set-based, 25 and 50 measure the same heartbeat p99 in the bench's storm (its
    // stalls are elsewhere, docs/architecture.md), and fewer batches mean fewer commits. A
    // tick keeps expiring for up to a second: with 200 ms per 250 ms tick, the storm sat idle
    // a fifth of the time.
    expiryBatch: 50,
    tickBudgetMs: 1000,
    manageUrl: `${config.publicUrl}/console/#/leases?mine=1`,
  });
  const notifier = new Notifier(deps.store, clock, config.smtpUrl ? smtpMailer(config.smtpUrl, config.mailFrom) : null, metrics);
  app.addHook('onClose', async () => notifier.close());
  const ctx: Ctx = { store: deps.store, clock, service, hub, metrics, config, notifier };

  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Seatkeeper API', version: '1.0.0', description: 'Concurrent-license server. See API.md for the contract.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  installAudit(app, ctx);
  await app.register(opsRoutes, { ctx });
  await app.register(accountRoutes, { ctx, prefix: '/v1' });
  await app.register(settingsRoutes, { ctx, prefix: '/v1' });
  await app.register(peopleRoutes, { ctx, prefix: '/v1' });
  await app.register(catalogRoutes, { ctx, prefix: '/v1' });
  await app.register(leaseRoutes, { ctx, prefix: '/v1' });
  await app.register(sessionRoutes, { ctx, prefix: '/v1' });
  await app.register(ticketRoutes, { ctx, prefix: '/v1' });
  await app.register(reportRoutes, { ctx, prefix: '/v1' });
  await app.register(eventRoutes, { ctx, prefix: '/v1' });
  await app.register(meteringRoutes, { ctx, prefix: '/v1' });
  await app.register(alertRoutes, { ctx, prefix: '/v1' });
  await app.register(displayRoutes, { ctx });
  await app.register(consoleRoutes, { ctx });

  const out = app as unknown as App;
  out.ctx = ctx;
  return out;
}
