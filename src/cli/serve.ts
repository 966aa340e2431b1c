import { randomBytes } from 'node:crypto';
import { buildApp } from '../server/app.js';
import { createAccount } from '../server/plugins/accounts.js';
import { openStore } from '../store/open.js';
import { ApiError } from '../errors.js';
import { loadDemo } from './demo.js';

export interface ServeOptions {
  port: number;
  host: string;
  data: string;
  database: string | null;
  demo: boolean;
  publicUrl: string | null;
  logLevel: string;
  tickMs: number;
  smtpUrl: string | null;
  mailFrom: string;
}

/** `seatkeeper serve`: open the store, bootstrap an empty one, recover sessions, listen. */
export async function serve(o: ServeOptions): Promise<void> {
  const { store, describe } = await openStore({ data: o.data, database: o.database });
  const publicUrl = o.publicUrl ?? `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;
  const app = await buildApp({
    store,
    logger: { level: o.logLevel },
    config: { operatorKey: process.env.SEATKEEPER_OPERATOR_KEY || null, publicUrl, smtpUrl: o.smtpUrl, mailFrom: o.mailFrom },
  });
  const { ctx } = app;
  const out = (line: string) => process.stdout.write(`${line}\n`);

  if ((await store.countAccounts()) === 0) {
    const password = process.env.SEATKEEPER_ADMIN_PASSWORD || randomBytes(12).toString('base64url');
    try {
      await createAccount(ctx, 'default', process.env.TZ || 'UTC', { username: 'admin', password });
      out('Created account "default" with owner "admin".');
      if (!process.env.SEATKEEPER_ADMIN_PASSWORD) out(`  Password (shown once): ${password}`);
    } catch (e) {
      // Several cluster servers starting on one empty database: one of them creates it.
      if (!(e instanceof ApiError && e.code === 'conflict')) throw e;
    }
  }
  if (o.demo) {
    const password = process.env.SEATKEEPER_ADMIN_PASSWORD || randomBytes(12).toString('base64url');
    const demo = await loadDemo(ctx, password).catch((e: unknown) => {
      if (e instanceof ApiError && e.code === 'conflict') return null;
      throw e;
    });
    if (demo) {
      out('Loaded the demo account "demo": users admin, alice, bob, carol, support1.');
      if (!process.env.SEATKEEPER_ADMIN_PASSWORD) out(`  Their password (shown once): ${password}`);
      for (const e of demo.endpoints) out(`  Endpoint ${e.name}: ${publicUrl}/display/${e.key}`);
    }
  }

  const recovered = await ctx.service.recover();
  const unfollow = await ctx.service.followStore();
  const timer = setInterval(() => {
    ctx.service.tick().catch((err: unknown) => app.log.error({ err }, 'timed work failed'));
  }, o.tickMs);
  // Alert e-mail and webhooks, apart from the tick so that a slow receiver never delays expiry.
  const sender = setInterval(() => {
    ctx.notifier.run().catch((err: unknown) => app.log.error({ err }, 'sending notifications failed'));
  }, 1000);

  const address = await app.listen({ port: o.port, host: o.host });
  out(`Seatkeeper listening on ${address} (${describe}; ${recovered} live sessions recovered)`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    clearInterval(sender);
    await ctx.service.flushDenials().catch(() => undefined);
    await unfollow();
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
