/** Steering: terminate (like lmremove) and release. */
import type { Command } from 'commander';
import { api } from './http.js';
import { connOf, integer, withConn, type GlobalOptions } from './common.js';
import { out, printJson, printTable, when } from './output.js';

export function registerSteer(program: Command): void {
  withConn(program.command('terminate'))
    .description('end leases with a notice: their clients see the message and a countdown (like lmremove)')
    .argument('<ids...>', 'lease ids')
    .option('-m, --message <text>', 'the notice shown to the users')
    .option('-g, --grace <seconds>', 'seconds before the leases end (server default 30)', integer(0, 86_400))
    .action(async (ids: string[], o: GlobalOptions & { message?: string; grace?: number }) => {
      const body = { ids, ...(o.message !== undefined && { message: o.message }), ...(o.grace !== undefined && { grace: o.grace }) };
      const r = (await api(connOf(o), 'POST', '/v1/leases/terminate', { body })).body as { terminating: { id: string; at: string }[] };
      if (o.json) return printJson(r);
      printTable(['LEASE', 'ENDS AT'], r.terminating.map((t) => [t.id, when(t.at)]));
    });

  withConn(program.command('release'))
    .description('release a lease (log out): it ends unless other sessions of it are alive')
    .argument('<id>', 'lease id')
    .action(async (id: string, o: GlobalOptions) => {
      const lease = (await api(connOf(o), 'POST', `/v1/leases/${encodeURIComponent(id)}/release`)).body as Record<string, unknown>;
      if (o.json) return printJson(lease);
      out(
        lease.status === 'ended'
          ? `Released ${String(lease.id)} (${String(lease.product)}): ended, ${String(lease.endReason)}.`
          : `Released ${String(lease.id)} (${String(lease.product)}): still ${String(lease.status)}, held by ${String(lease.sessions)} live session(s).`,
      );
    });
}
