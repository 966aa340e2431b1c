/** Account set-up: products, licenses, users, endpoints — list and create. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { api, listAll } from './http.js';
import { collect, connOf, integer, isoTime, seconds, withConn, type GlobalOptions } from './common.js';
import { out, printJson, printTable, when } from './output.js';

type Row = Record<string, unknown>;
interface ProductJson { key: string; name: string; seatModel: string; heartbeat: { interval: number; timeout: number }; linger: number; clientTypes?: Record<string, unknown> }
interface LicenseJson { id: string; product: string; name: string | null; seats: number; inUse: number; overage: number; team: string | null; platform: string | null; expiresAt: string | null }
interface UserJson { id: string; username: string; role: string; teams: string[]; maxLeases: number | null }
interface EndpointJson { id: string; product: string; name: string; enabled: boolean; key?: string; displayUrl?: string }

/** name:interval:timeout → [name, { interval, timeout }] */
function clientType(v: string, prev: Record<string, { interval: number; timeout: number }> = {}) {
  const m = /^([A-Za-z0-9._-]{1,50}):(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(v);
  if (!m) throw new InvalidArgumentError('expected name:interval:timeout, e.g. desktop:5:15');
  return { ...prev, [m[1]!]: { interval: Number(m[2]), timeout: Number(m[3]) } };
}

function group(program: Command, name: string, description: string) {
  return program.command(name).description(description);
}

async function created<T>(o: GlobalOptions, path: string, body: unknown, show: (r: T) => void) {
  const r = (await api(connOf(o), 'POST', path, { body })).body as T;
  if (o.json) printJson(r);
  else show(r);
}

export function registerSetup(program: Command): void {
  // ── products ────────────────────────────────────────────────────────────────────────
  const products = group(program, 'products', 'products: what is licensed and what a seat is');
  withConn(products.command('list', { isDefault: true }))
    .description('list products')
    .action(async (o: GlobalOptions) => {
      const items = (await listAll(connOf(o), '/v1/products')) as ProductJson[];
      if (o.json) return printJson(items);
      printTable(
        ['KEY', 'NAME', 'SEAT MODEL', 'HEARTBEAT', 'LINGER', 'CLIENT TYPES'],
        items.map((p) => [p.key, p.name, p.seatModel, `${p.heartbeat.interval}s/${p.heartbeat.timeout}s`, p.linger, Object.keys(p.clientTypes ?? {}).join(',')]),
        'No products.',
      );
    });
  withConn(products.command('create'))
    .description('create a product')
    .argument('<key>', 'product key, e.g. display')
    .option('--name <name>', 'display name')
    .addOption(new Option('--seat-model <model>', 'what one seat is').choices(['session', 'user-device', 'user', 'device']))
    .option('--interval <seconds>', 'heartbeat interval', seconds(86_400))
    .option('--timeout <seconds>', 'heartbeat timeout (default three intervals)', seconds(604_800))
    .option('--linger <seconds>', 'seconds a released lease is kept for a quick restart', seconds(86_400))
    .option('--client-type <name:interval:timeout>', 'heartbeat policy of a client type (repeatable)', clientType)
    .action(async (key: string, o: GlobalOptions & { name?: string; seatModel?: string; interval?: number; timeout?: number; linger?: number; clientType?: Record<string, unknown> }) => {
      const heartbeat = o.interval !== undefined || o.timeout !== undefined
        ? { interval: o.interval ?? 10, timeout: o.timeout ?? (o.interval ?? 10) * 3 }
        : undefined;
      const body = {
        key, ...(o.name !== undefined && { name: o.name }), ...(o.seatModel !== undefined && { seatModel: o.seatModel }),
        ...(heartbeat && { heartbeat }), ...(o.linger !== undefined && { linger: o.linger }), ...(o.clientType && { clientTypes: o.clientType }),
      };
      await created<ProductJson>(o, '/v1/products', body, (p) => out(`Created product ${p.key} (${p.seatModel}, heartbeat ${p.heartbeat.interval}s/${p.heartbeat.timeout}s).`));
    });

  // ── licenses ────────────────────────────────────────────────────────────────────────
  const licenses = group(program, 'licenses', 'licenses: blocks of seats of a product');
  withConn(licenses.command('list', { isDefault: true }))
    .description('list licenses')
    .option('--product <key>', 'only this product')
    .action(async (o: GlobalOptions & { product?: string }) => {
      const items = (await listAll(connOf(o), '/v1/licenses', { product: o.product })) as LicenseJson[];
      if (o.json) return printJson(items);
      printTable(
        ['ID', 'PRODUCT', 'NAME', 'SEATS', 'IN USE', 'OVERAGE %', 'TEAM', 'PLATFORM', 'EXPIRES'],
        items.map((l) => [l.id, l.product, l.name, l.seats, l.inUse, l.overage, l.team, l.platform, when(l.expiresAt)]),
        'No licenses.',
      );
    });
  withConn(licenses.command('create'))
    .description('create a license')
    .requiredOption('--product <key>', 'product key')
    .requiredOption('--seats <n>', 'number of seats', integer(0, 1_000_000))
    .option('--name <name>', 'license name')
    .option('--team <id>', 'only this team may use it')
    .option('--platform <platform>', 'only this platform, e.g. android')
    .option('--overage <percent>', 'seats allowed beyond 100 %, in percent', integer(0, 1000))
    .option('--starts-at <time>', 'valid from (ISO-8601)', isoTime)
    .option('--expires-at <time>', 'valid until (ISO-8601)', isoTime)
    .addOption(new Option('--enforcement <kind>', 'hard: deny past seats; soft: count exceptions').choices(['hard', 'soft']))
    .action(async (o: GlobalOptions & Row) => {
      const body: Row = { product: o.product, seats: o.seats };
      for (const k of ['name', 'team', 'platform', 'overage', 'startsAt', 'expiresAt', 'enforcement']) if (o[k] !== undefined) body[k] = o[k];
      await created<LicenseJson>(o, '/v1/licenses', body, (l) => out(`Created license ${l.id}: ${l.seats} seats of ${l.product}.`));
    });

  // ── users ───────────────────────────────────────────────────────────────────────────
  const users = group(program, 'users', 'users of the account');
  withConn(users.command('list', { isDefault: true }))
    .description('list users')
    .action(async (o: GlobalOptions) => {
      const items = (await listAll(connOf(o), '/v1/users')) as UserJson[];
      if (o.json) return printJson(items);
      printTable(['ID', 'USERNAME', 'ROLE', 'TEAMS', 'MAX LEASES'], items.map((u) => [u.id, u.username, u.role, u.teams.join(','), u.maxLeases]), 'No users.');
    });
  withConn(users.command('create'))
    .description('create a user')
    .argument('<username>', 'user name')
    .requiredOption('--password <password>', 'initial password (8 characters or more)')
    .addOption(new Option('--role <role>', 'role').choices(['owner', 'admin', 'member']))
    .option('--team <id>', 'team id (repeatable)', collect)
    .option('--max-leases <n>', 'most seats the user may hold at once', integer(0, 100_000))
    .action(async (username: string, o: GlobalOptions & { password: string; role?: string; team?: string[]; maxLeases?: number }) => {
      const body = {
        username, password: o.password, ...(o.role !== undefined && { role: o.role }), ...(o.team && { teams: o.team }),
        ...(o.maxLeases !== undefined && { maxLeases: o.maxLeases }),
      };
      await created<UserJson>(o, '/v1/users', body, (u) => out(`Created user ${u.username} (${u.role}), id ${u.id}.`));
    });

  // ── endpoints ───────────────────────────────────────────────────────────────────────
  const endpoints = group(program, 'endpoints', 'endpoints: unattended screens and kiosks with their own key');
  withConn(endpoints.command('list', { isDefault: true }))
    .description('list endpoints')
    .action(async (o: GlobalOptions) => {
      const items = (await listAll(connOf(o), '/v1/endpoints')) as EndpointJson[];
      if (o.json) return printJson(items);
      printTable(['ID', 'PRODUCT', 'NAME', 'ENABLED'], items.map((e) => [e.id, e.product, e.name, e.enabled ? 'yes' : 'no']), 'No endpoints.');
    });
  withConn(endpoints.command('create'))
    .description('create an endpoint; its key and display URL are shown once')
    .requiredOption('--product <key>', 'product key')
    .requiredOption('--name <name>', 'endpoint name, e.g. "Lobby TV"')
    .option('--disabled', 'create it disabled')
    .action(async (o: GlobalOptions & { product: string; name: string; disabled?: boolean }) => {
      const body = { product: o.product, name: o.name, ...(o.disabled && { enabled: false }) };
      await created<EndpointJson>(o, '/v1/endpoints', body, (e) => {
        out(`Created endpoint ${e.name} (${e.product}), id ${e.id}.`);
        out(`  Key (shown once): ${e.key}`);
        if (e.displayUrl) out(`  Display URL:      ${e.displayUrl}`);
      });
    });
}
