#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { registerAdminCommands, reportFailure } from './admin/index.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return n;
}

const program = new Command()
  .name('seatkeeper')
  .description('Seatkeeper, a self-hosted concurrent-license server')
  // Usage errors exit 2 (not commander's 1), so scripts can tell them from refusals.
  .exitOverride();

program
  .command('serve')
  .description('run the server')
  .option('--port <n>', 'port to listen on', port, Number(process.env.SEATKEEPER_PORT ?? 7070))
  .option('--host <addr>', 'address to listen on', process.env.SEATKEEPER_HOST ?? '127.0.0.1')
  .option('--data <dir>', 'directory of the embedded SQLite database', process.env.SEATKEEPER_DATA ?? './data')
  .option('--database <url>', 'PostgreSQL URL (cluster mode); overrides --data', process.env.SEATKEEPER_DATABASE_URL)
  .option('--demo', 'load the demo account built from the five source systems', false)
  .option('--public-url <url>', 'base URL clients reach this server at (for links in answers)', process.env.SEATKEEPER_PUBLIC_URL)
  .option('--log-level <level>', 'fatal, error, warn, info, debug', process.env.SEATKEEPER_LOG_LEVEL ?? 'warn')
  .option('--smtp-url <url>', 'SMTP server for alert e-mail, e.g. smtp://user:pass@mail.example.org:587', process.env.SEATKEEPER_SMTP_URL)
  .option('--mail-from <address>', 'sender of alert e-mail', process.env.SEATKEEPER_MAIL_FROM ?? 'seatkeeper@localhost')
  .action(async (o: { port: number; host: string; data: string; database?: string; demo: boolean; publicUrl?: string; logLevel: string; smtpUrl?: string; mailFrom: string }) => {
    // Loaded here, so that the admin commands start without loading the server.
    const { serve } = await import('./serve.js');
    await serve({
      port: o.port, host: o.host, data: o.data, database: o.database ?? null, demo: o.demo,
      // Timed work (expiry, lease timers) runs every 100 ms on the embedded store: a due
      // session waits at most that long. A cluster writes heartbeat deadlines back once a
      // tick, so there it runs every 250 ms.
      publicUrl: o.publicUrl ?? null, logLevel: o.logLevel, tickMs: o.database ? 250 : 100, smtpUrl: o.smtpUrl || null, mailFrom: o.mailFrom,
    });
  });

registerAdminCommands(program);

program.parseAsync().catch((err: unknown) => {
  process.exit(reportFailure(err, process.argv));
});
