import type { Store } from '../store/types.js';
import type { Principal } from './auth.js';
import type { Clock } from './deps.js';
import type { EventHub } from './event-hub.js';
import type { LeaseService } from './lease-service.js';
import type { Metrics } from './metrics.js';
import type { Notifier } from './notify/notifier.js';

export interface ServerConfig {
  /** Operator key for POST /v1/accounts; unset disables account creation over HTTP. */
  operatorKey: string | null;
  /** Login attempts per minute per client address. */
  loginRateLimit: number;
  /** Lifetime of a login token (ms). */
  tokenTtlMs: number;
  /** Largest accepted request body (bytes). */
  bodyLimit: number;
  /** Public base URL, for links in answers (manageUrl, displayUrl). */
  publicUrl: string;
  /** SSE keep-alive comment interval (ms). */
  sseKeepAliveMs: number;
  /** How often a ticket's event stream re-reads its position and keeps it alive (ms). */
  ticketPollMs: number;
  /** SMTP server for alert e-mail (nodemailer URL); null: e-mail deliveries fail, recorded. */
  smtpUrl: string | null;
  /** Sender address of alert e-mail. */
  mailFrom: string;
}

/** What every route plugin is given: the app's collaborators, built once by `buildApp`. */
export interface Ctx {
  store: Store;
  clock: Clock;
  service: LeaseService;
  hub: EventHub;
  metrics: Metrics;
  config: ServerConfig;
  notifier: Notifier;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}
