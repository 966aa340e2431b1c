/** Seeing: status/usage (like lmstat), leases, denials, export. */
import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { CliError, EXIT } from './errors.js';
import { api, listAll, type Conn } from './http.js';
import { connOf, isoTime, withConn, type GlobalOptions } from './common.js';
import { out, printJson, printTable, table, toCsv, when } from './output.js';

interface UsageProduct {
  product: string;
  capacity: number;
  inUse: number;
  free: number;
  overage: number;
  queued: number;
  paused: number;
  standby: number;
  peakToday: number;
  flex?: { inUse: number; max: number };
  ppu?: { inUse: number; balanceMinutes: number };
  licenses: { id: string; name: string | null; team: string | null; platform: string | null; seats: number; inUse: number }[];
}
type Row = Record<string, unknown>;

/** Usernames by id, when the caller may list users (admins); else ids are shown. */
async function usernames(conn: Conn): Promise<Map<string, string>> {
  try {
    const users = (await listAll(conn, '/v1/users')) as { id: string; username: string }[];
    return new Map(users.map((u) => [u.id, u.username]));
  } catch {
    return new Map();
  }
}

function leaseRows(leases: Row[], names: Map<string, string>) {
  return leases.map((l) => [
    l.id as string, l.product as string, l.status as string, l.kind as string,
    typeof l.user === 'string' ? (names.get(l.user) ?? l.user) : null,
    (l.device as string | null) ?? (l.endpoint as string | null), l.sessions as number, when(l.startedAt), when(l.endsAt ?? l.endedAt),
  ]);
}
const LEASE_HEADERS = ['ID', 'PRODUCT', 'STATUS', 'KIND', 'USER', 'DEVICE', 'SESSIONS', 'STARTED', 'ENDS/ENDED'];

export function registerObserve(program: Command): void {
  for (const name of ['status', 'usage']) {
    withConn(program.command(name))
      .description(name === 'status' ? 'seats in use per product and license (like lmstat)' : 'alias of status')
      .option('--leases', 'also list the live leases of each product')
      .option('--product <key>', 'only this product')
      .action(async (o: GlobalOptions & { leases?: boolean; product?: string }) => {
        const conn = connOf(o);
        const usage = (await api(conn, 'GET', '/v1/usage')).body as { products: UsageProduct[] };
        const products = usage.products.filter((p) => o.product === undefined || p.product === o.product);
        if (o.product !== undefined && products.length === 0) throw new CliError(`no product ${o.product} in this account`, EXIT.refused);
        const leases = o.leases ? ((await listAll(conn, '/v1/leases', { product: o.product })) as Row[]) : [];
        if (o.json) return printJson(o.leases ? { products, leases } : { products });
        printTable(
          ['PRODUCT', 'IN USE', 'CAPACITY', 'FREE', 'OVERAGE', 'QUEUED', 'PAUSED', 'STANDBY', 'PEAK TODAY'],
          products.map((p) => [p.product, p.inUse, p.capacity, p.free, p.overage, p.queued, p.paused, p.standby, p.peakToday]),
          'No products yet: create one with `seatkeeper products create`.',
        );
        const names = leases.length ? await usernames(conn) : new Map<string, string>();
        for (const p of products) {
          out();
          out(`Users of ${p.product}: total of ${p.capacity} seats issued; total of ${p.inUse} in use (${p.free} free)`);
          if (p.licenses.length) {
            out(indent(table(['LICENSE', 'NAME', 'TEAM', 'PLATFORM', 'SEATS', 'IN USE'], p.licenses.map((l) => [l.id, l.name, l.team, l.platform, l.seats, l.inUse]))));
          }
          const mine = leases.filter((l) => l.product === p.product);
          if (o.leases && mine.length) {
            out();
            out(indent(table(LEASE_HEADERS, leaseRows(mine, names))));
          }
        }
      });
  }

  withConn(program.command('leases'))
    .description('list leases (live ones unless --status says otherwise)')
    .option('--product <key>', 'only this product')
    .addOption(new Option('--status <status>', 'only leases in this status').choices(['active', 'standby', 'paused', 'terminating', 'ended']))
    .option('--user <id>', 'only this user (id)')
    .option('--team <id>', 'only this team (id)')
    .action(async (o: GlobalOptions & { product?: string; status?: string; user?: string; team?: string }) => {
      const conn = connOf(o);
      const leases = (await listAll(conn, '/v1/leases', { product: o.product, status: o.status, user: o.user, team: o.team })) as Row[];
      if (o.json) return printJson(leases);
      printTable(LEASE_HEADERS, leaseRows(leases, leases.length ? await usernames(conn) : new Map()), 'No leases.');
    });

  withConn(program.command('denials'))
    .description('refused requests (who, device, product, code)')
    .option('--from <time>', 'from (ISO-8601)', isoTime)
    .option('--to <time>', 'to (ISO-8601)', isoTime)
    .option('--product <key>', 'only this product')
    .action(async (o: GlobalOptions & { from?: string; to?: string; product?: string }) => {
      const items = (await listAll(connOf(o), '/v1/reports/denials', { from: o.from, to: o.to, product: o.product })) as Row[];
      if (o.json) return printJson(items);
      printTable(
        ['AT', 'PRODUCT', 'CODE', 'USER', 'DEVICE'],
        items.map((d) => [when(d.at), d.product as string, d.code as string, d.user as string | null, d.device as string | null]),
        'No denials.',
      );
    });

  withConn(program.command('export'))
    .description('ended and live leases as CSV (GET /v1/reports/leases)')
    .option('--from <time>', 'from (ISO-8601)', isoTime)
    .option('--to <time>', 'to (ISO-8601)', isoTime)
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (o: GlobalOptions & { from?: string; to?: string; output?: string }) => {
      const a = await api(connOf(o), 'GET', '/v1/reports/leases', { query: { from: o.from, to: o.to }, accept: 'text/csv' });
      let csv: string;
      if (/text\/csv/.test(a.contentType)) csv = a.text;
      else {
        // A server that answers JSON anyway: convert its rows.
        const body = a.body as { items?: Row[] } | Row[];
        const items = Array.isArray(body) ? body : body.items;
        if (!Array.isArray(items)) throw new CliError(`the server answered ${a.contentType || 'something'} that is neither CSV nor a list`, EXIT.refused);
        csv = toCsv(items);
      }
      if (o.output) {
        writeFileSync(o.output, csv);
        process.stderr.write(`wrote ${o.output}\n`);
      } else process.stdout.write(csv);
    });
}

const indent = (s: string) => s.split('\n').map((l) => `  ${l}`).join('\n');
