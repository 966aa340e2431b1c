/**
 * Cluster bench (issue 3): `npm run bench:cluster [-- --seconds 5] [-- --warmup 1] [-- --pg postgres://…/db]
 * [-- --only spread,hot,heartbeats] [-- --profile]`
 *
 * On PostgreSQL, in one run:
 *  - the ceiling: pgbench (-M prepared) running the store's own acquire+release SQL spread
 *    over 100 licenses, on one hot license, the single-counter-row version of the hot grant,
 *    and the heartbeat read (bench/pgbench/*.sql);
 *  - the same work over HTTP against one, then two Seatkeeper servers on one database:
 *    64 closed-loop clients each doing POST /v1/leases then, when granted, DELETE the session.
 * An "iteration" is one acquire attempt plus the release when granted, in both, so the ratios
 * compare like with like. Over-grants are counted from each run's own bookkeeping. Each phase
 * also records where the CPU went (servers, PostgreSQL, this process as the generator, and the
 * whole machine), so that a reader sees which side was the limit, and the servers' CPU time
 * and write system calls per iteration, which show a statement saved whatever the day's speed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeClient, type Client } from './http.js';
import { prepareBenchDb, runPgbench, type PgbenchResult } from './pgbench.js';
import { cpuSeconds, pidsNamed, systemBusySeconds, wallMs, writeCalls } from './proc.js';
import { freePort } from './servers.js';

const { values: opts } = parseArgs({ options: { seconds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '1' }, pg: { type: 'string' }, profile: { type: 'boolean', default: false }, only: { type: 'string' } } });
// --profile: each server writes a CPU profile (V8's --cpu-prof) to bench/results/profiles when
// the bench stops it. --only spread,hot,heartbeats: run only those HTTP phases (the pgbench
// ceilings always run: every ratio needs them).
const PHASES = new Set((opts.only ?? 'spread,hot,heartbeats').split(','));
for (const p of PHASES) if (!['spread', 'hot', 'heartbeats'].includes(p)) throw new Error(`--only: no phase "${p}" (spread, hot, heartbeats)`);
const SECONDS = Number(opts.seconds);
const WARMUP_SECONDS = Number(opts.warmup);
if (opts.pg) process.env.SEATKEEPER_TEST_PG = opts.pg;
const { createPgDatabase } = await import('../test/helpers/stores.js');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PASSWORD = 'cluster bench password';
const CLIENTS = 64;

// The load comes from raw keep-alive sockets (bench/http.ts), as in the embedded bench: on two
// cores shared by PostgreSQL, the servers and this process, node:http's client would take about
// twice the CPU per request away from the side being measured.
const clients = new Map<string, Client>();
function clientFor(base: string): Client {
  let c = clients.get(base);
  if (!c) {
    const u = new URL(base);
    clients.set(base, (c = makeClient({ host: u.hostname, port: Number(u.port) }, CLIENTS, 'raw')));
  }
  return c;
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers of many shapes
async function request(base: string, method: 'GET' | 'POST' | 'DELETE', path: string, token: string | null, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await clientFor(base).request({ method, path, ...(token ? { token } : {}), ...(body === undefined ? {} : { json: body }), wantBody: true });
  return { status: r.status, body: r.body ? JSON.parse(r.body) : undefined };
}

const children: ChildProcess[] = [];
const stopAll = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
};
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

async function startServer(url: string): Promise<{ base: string; child: ChildProcess }> {
  // A port the system has just handed out (a random one collided once with a port in use).
  const port = await freePort();
  const child = spawn(process.execPath, [...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${ROOT}bench/results/profiles`] : []), `${ROOT}dist/cli/main.js`, 'serve', '--port', String(port), '--database', url], {
    env: { ...process.env, SEATKEEPER_ADMIN_PASSWORD: PASSWORD, SEATKEEPER_LOG_LEVEL: 'error' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start')), 30_000);
    child.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('listening')) { clearTimeout(t); resolve(); } });
  });
  return { base: `http://127.0.0.1:${port}`, child };
}

/** Where the CPU went during a phase, in % of one core (the machine has 200 % on two cores). */
interface CpuShares {
  servers: number | null; postgres: number | null; generator: number; machine: number | null;
  /** The servers' CPU seconds and write system calls over the phase: divided by its iterations. */
  serverSeconds: number | null; serverWrites: number | null;
}

/**
 * Measures CPU over a phase: the servers' processes, PostgreSQL's (every process named
 * `postgres`: the servers' pooled backends live through the phase), this process (the load
 * generator) and the whole machine. pgbench's backends start and end with it, so for its
 * phases only the machine's figure is kept.
 */
function cpuMeter(serverPids: number[]): () => CpuShares {
  const sum = (pids: number[]) => pids.reduce((a, p) => a + (cpuSeconds(p) ?? 0), 0);
  const pgBefore = new Map(pidsNamed('postgres').map((p) => [p, cpuSeconds(p) ?? 0]));
  const servers0 = sum(serverPids);
  const writes = () => serverPids.reduce<number | null>((a, p) => { const w = writeCalls(p); return a === null || w === null ? null : a + w; }, 0);
  const writes0 = writes();
  const own0 = process.cpuUsage();
  const machine0 = systemBusySeconds();
  const t0 = wallMs();
  return () => {
    const dt = (wallMs() - t0) / 1000;
    const pct = (seconds: number) => (seconds / dt) * 100;
    let pg = 0;
    for (const p of pidsNamed('postgres')) pg += (cpuSeconds(p) ?? 0) - (pgBefore.get(p) ?? 0);
    const own = process.cpuUsage(own0);
    const machine1 = systemBusySeconds();
    return {
      servers: serverPids.length ? pct(sum(serverPids) - servers0) : null,
      serverSeconds: serverPids.length ? sum(serverPids) - servers0 : null,
      serverWrites: serverPids.length && writes0 !== null ? (writes() ?? writes0) - writes0 : null,
      postgres: pgBefore.size ? pct(pg) : null,
      generator: pct((own.user + own.system) / 1e6),
      machine: machine0 === null || machine1 === null ? null : pct(machine1 - machine0),
    };
  };
}

const share = (v: number | null) => (v === null ? '—' : `${v.toFixed(0)} %`);
/** `iterations`: what the phase did, to print the servers' CPU time and writes per iteration. */
const cpuCell = (c: CpuShares, iterations?: number) => {
  const per = iterations && c.serverSeconds !== null
    ? ` (${((c.serverSeconds * 1000) / iterations).toFixed(2)} ms${c.serverWrites !== null ? `, ${(c.serverWrites / iterations).toFixed(1)} writes` : ''} per iteration)` : '';
  return `servers ${share(c.servers)}${per}, PostgreSQL ${share(c.postgres)}, generator ${share(c.generator)}; machine ${share(c.machine)}`;
};

interface HttpResult { ips: number; p99: number; p99Granted: number; p99Refused: number; grants: number; maxHeld: number; overGrants: number; cpu: CpuShares }

/**
 * 64 closed-loop clients, spread round-robin over the servers: `WARMUP_SECONDS` unmeasured
 * (the servers' code is compiled as it runs: in a phase on fresh servers, `--only hot`, that
 * had fallen inside the measurement), then `SECONDS` measured.
 */
async function contend(bases: string[], pids: number[], token: string, product: string, seats: number): Promise<HttpResult> {
  await contendFor(bases, token, product, WARMUP_SECONDS);
  const meter = cpuMeter(pids);
  const r = await contendFor(bases, token, product, SECONDS);
  const cpu = meter();
  const usage = await request(bases[0]!, 'GET', '/v1/usage', token);
  const inUse = usage.body.products.find((p: { product: string }) => p.product === product)?.inUse ?? 0;
  return { ...r, overGrants: Math.max(0, inUse - seats), cpu };
}

async function contendFor(bases: string[], token: string, product: string, seconds: number): Promise<Omit<HttpResult, 'overGrants' | 'cpu'>> {
  const end = Date.now() + seconds * 1000;
  const lat: number[] = [];
  const latGranted: number[] = [];
  const latRefused: number[] = [];
  let held = 0;
  let maxHeld = 0;
  let grants = 0;
  await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
    const base = bases[c % bases.length]!;
    while (Date.now() < end) {
      const t = performance.now();
      const r = await request(base, 'POST', '/v1/leases', token, { product });
      if (r.status === 201) {
        grants++;
        maxHeld = Math.max(maxHeld, ++held);
        held--; // released before the next grant can count against it
        await request(base, 'DELETE', `/v1/sessions/${r.body.session.id}`, r.body.session.token);
      } else if (r.status !== 409) throw new Error(`unexpected ${r.status} ${JSON.stringify(r.body)}`);
      const ms = performance.now() - t;
      lat.push(ms);
      (r.status === 201 ? latGranted : latRefused).push(ms);
    }
  }));
  const p99 = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? NaN;
  return { ips: lat.length / seconds, p99: p99(lat), p99Granted: p99(latGranted), p99Refused: p99(latRefused), grants, maxHeld };
}

async function heartbeats(bases: string[], pids: number[], token: string, product: string): Promise<{ rps: number; p99: number; cpu: CpuShares }> {
  const sessions: { id: string; token: string }[] = [];
  for (let i = 0; i < 1000; i++) sessions.push((await request(bases[i % bases.length]!, 'POST', '/v1/leases', token, { product })).body.session);
  const beat = async (seconds: number) => {
    const end = Date.now() + seconds * 1000;
    const lat: number[] = [];
    await Promise.all(Array.from({ length: CLIENTS }, async (_, c) => {
      let i = c;
      while (Date.now() < end) {
        const s = sessions[i++ % sessions.length]!;
        const t = performance.now();
        const r = await request(bases[i % bases.length]!, 'POST', `/v1/sessions/${s.id}/heartbeat`, s.token);
        if (r.status !== 200) throw new Error(`heartbeat ${r.status}`);
        lat.push(performance.now() - t);
      }
    }));
    return lat;
  };
  await beat(WARMUP_SECONDS);
  const meter = cpuMeter(pids);
  const lat = await beat(SECONDS);
  const cpu = meter();
  for (const s of sessions) await request(bases[0]!, 'DELETE', `/v1/sessions/${s.id}`, s.token);
  lat.sort((a, b) => a - b);
  return { rps: lat.length / SECONDS, p99: lat[Math.floor(lat.length * 0.99)] ?? NaN, cpu };
}

async function setup(base: string): Promise<string> {
  const token = (await request(base, 'POST', '/v1/auth/login', null, { account: 'default', username: 'admin', password: PASSWORD })).body.token as string;
  await request(base, 'POST', '/v1/products', token, { key: 'spread', heartbeat: { interval: 60, timeout: 600 } });
  for (let i = 0; i < 100; i++) await request(base, 'POST', '/v1/licenses', token, { product: 'spread', seats: 10 });
  await request(base, 'POST', '/v1/products', token, { key: 'hot', heartbeat: { interval: 60, timeout: 600 } });
  await request(base, 'POST', '/v1/licenses', token, { product: 'hot', seats: 10 });
  await request(base, 'POST', '/v1/products', token, { key: 'hb', heartbeat: { interval: 60, timeout: 3600 } });
  await request(base, 'POST', '/v1/licenses', token, { product: 'hb', seats: 1000 });
  return token;
}

const out = (s: string) => process.stdout.write(`${s}\n`);
out(`Cluster bench on PostgreSQL: ${CLIENTS} clients, ${SECONDS} s per phase`);

// Ceiling: pgbench with the store's own statements.
out('pgbench ceilings…');
const ceilingDb = await createPgDatabase();
await prepareBenchDb(ceilingDb.url, { licenses: 100, seats: 10, heartbeatSessions: 1000 });
const ceilingCpu: Record<string, number | null> = {};
const pgbench = async (name: string, script: string, vars: Record<string, number | string>): Promise<PgbenchResult> => {
  const meter = cpuMeter([]);
  const r = await runPgbench(ceilingDb.url, script, CLIENTS, SECONDS, vars);
  ceilingCpu[name] = meter().machine;
  return r;
};
const ceiling: Record<string, PgbenchResult> = {
  // refusal_first: the server answers a likely refusal from one read first, and a product is
  // likely full when its last request was refused (SqlStore.fullProducts): so on the hot license
  // (mostly refusals) and not over 100 licenses (mostly grants). The counter row gets the same.
  spread: await pgbench('spread', 'acquire-release.sql', { product: 'prd_bench', refusal_first: 0 }),
  hot: await pgbench('hot', 'acquire-release.sql', { product: 'prd_hot', refusal_first: 1 }),
  counter: await pgbench('counter', 'counter-grant.sql', { refusal_first: 1 }),
  // The counter row claimed at once, as this ceiling was defined before the one-read refusal:
  // printed too, so that figures stay comparable with earlier runs.
  counterPlain: await pgbench('counterPlain', 'counter-grant.sql', { refusal_first: 0 }),
  heartbeat: await pgbench('heartbeat', 'heartbeat.sql', { sessions: 1000 }),
};
await ceilingDb.drop();

const rows: string[][] = [];
const db = await createPgDatabase();
const one = await startServer(db.url);
const pids = [one.child.pid!];
const token = await setup(one.base);
for (const [label, bases] of [['1 server', [one.base]], ['2 servers', [one.base]]] as [string, string[]][]) {
  if (label === '2 servers') {
    const two = await startServer(db.url);
    bases.push(two.base);
    pids.push(two.child.pid!);
  }
  if (PHASES.has('spread')) {
    out(`${label}: acquire+release over 100 licenses…`);
    const spread = await contend(bases, pids, token, 'spread', 1000);
    rows.push([`${label}: acquire+release, 100 licenses`, spread.ips.toFixed(0), spread.p99.toFixed(1), `${((spread.ips / ceiling.spread!.tps) * 100).toFixed(0)} % of pgbench (${ceiling.spread!.tps.toFixed(0)})`, '≥ 50 %', String(spread.overGrants), cpuCell(spread.cpu, spread.ips * SECONDS)]);
  }
  if (PHASES.has('hot')) {
    out(`${label}: acquire+release on one hot license…`);
    const hot = await contend(bases, pids, token, 'hot', 10);
    rows.push([`${label}: acquire+release, 1 hot license`, hot.ips.toFixed(0), hot.p99.toFixed(1), `${((hot.ips / ceiling.counter!.tps) * 100).toFixed(0)} % of pgbench counter row (${ceiling.counter!.tps.toFixed(0)}); ${((hot.ips / ceiling.counterPlain!.tps) * 100).toFixed(0)} % of its plain claim (${ceiling.counterPlain!.tps.toFixed(0)})`, '≥ 50 %, p99 ≤ 100 ms', String(hot.overGrants), cpuCell(hot.cpu, hot.ips * SECONDS)]);
    // The seats' turnover: grants per second (each released at once). A counter row serialises
    // every grant and release on one row, so fewer of its iterations are grants and more are
    // cheap refusals, which flatters its iteration count; grants are the work a license server
    // exists to do.
    const hotGrants = hot.grants / SECONDS;
    rows.push([`${label}: grants on 1 hot license`, hotGrants.toFixed(0), `${hot.p99Granted.toFixed(1)} (refusals ${hot.p99Refused.toFixed(1)})`, `${((hotGrants / ceiling.counter!.grantsPerS) * 100).toFixed(0)} % of pgbench counter row (${ceiling.counter!.grantsPerS.toFixed(0)}); ${((hotGrants / ceiling.counterPlain!.grantsPerS) * 100).toFixed(0)} % of its plain claim (${ceiling.counterPlain!.grantsPerS.toFixed(0)}); ${((hotGrants / ceiling.hot!.grantsPerS) * 100).toFixed(0)} % of the slots (${ceiling.hot!.grantsPerS.toFixed(0)})`, '≥ 50 %', '', '']);
  }
  if (PHASES.has('heartbeats')) {
    out(`${label}: heartbeats…`);
    const hb = await heartbeats(bases, pids, token, 'hb');
    rows.push([`${label}: heartbeats`, hb.rps.toFixed(0), hb.p99.toFixed(1), `${((hb.rps / ceiling.heartbeat!.tps) * 100).toFixed(0)} % of pgbench read (${ceiling.heartbeat!.tps.toFixed(0)})`, 'no write each', '', cpuCell(hb.cpu, hb.rps * SECONDS)]);
  }
}
out('');
out('pgbench ceilings (iterations/s, p99 ms, grants/s; machine CPU): ' + Object.entries(ceiling).map(([k, v]) => `${k} ${v.tps.toFixed(0)} (${v.p99Ms.toFixed(0)}, ${v.grantsPerS.toFixed(0)}; ${share(ceilingCpu[k] ?? null)})`).join(', '));
out('');
const header = ['figure', 'per s', 'p99 ms', 'vs PostgreSQL itself', 'target', 'over-grants', 'CPU, % of one core (two cores: 200 %)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
for (const r of [header, ...rows]) out(r.map((c, i) => c.padEnd(widths[i]!)).join('  '));
for (const c of clients.values()) c.close();
if (opts.profile) {
  // A profile is written when the process exits on its own: stop the servers gracefully.
  await Promise.all(children.map((c) => new Promise((resolve) => (c.exitCode !== null ? resolve(null) : (c.once('exit', resolve), c.kill('SIGTERM'))))));
  out(`CPU profiles: ${ROOT}bench/results/profiles`);
}
stopAll();
await db.drop().catch(() => undefined);
process.exit(0);
