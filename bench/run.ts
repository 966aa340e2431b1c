/**
 * `npm run bench [-- --quick] [-- --database postgres://…] [-- --no-build] [-- --help]`
 *
 * Measures Seatkeeper against a bare Fastify route with one load generator (bench/load.ts,
 * a child process). The server runs on core 0, the generator (and this orchestrator) on
 * core 1 when `taskset` exists; each phase records the server's and the generator's CPU so
 * that the limiting side is visible. Traffic goes to 127.0.0.1 only. Results are printed and
 * written to bench/results/latest.json; server logs go to bench/results/*.log.
 *
 * --database passes a PostgreSQL URL to `serve --database`. It needs a fresh, empty database
 * (or schema): the bench logs in as admin of account "default" with the password it sets in
 * SEATKEEPER_ADMIN_PASSWORD, which only takes effect when the server creates that account.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { sleep, type ClientKind, type Target } from './http.js';
import { rssKiB, wallMs } from './proc.js';
import type { ContendResult, CreateResult, OpenResult, StormResult, Throughput } from './protocol.js';
import {
  NOISY_OTHER_CPU, atLeast, atMost, bottleneck, fmt, pct, phaseTable, summaryTable, worst, writeJson, type PhaseRow, type SummaryRow,
} from './report.js';
import { Generator, compileChildScripts, freePort, hasTaskset, installCleanup, pinSelf, PRIORITY, removeOnExit, startServer, type ServerProc } from './servers.js';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    database: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'storm-timeout': { type: 'string' },
    'storm-rounds': { type: 'string' },
    client: { type: 'string', default: 'raw' },
    profile: { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (opts.help) {
  process.stdout.write(
    [
      'usage: npm run bench [-- options]',
      '  --quick               1/10 scale, 2 s phases (a smoke run)',
      '  --database <url>      PostgreSQL URL passed to `serve --database` (must be a fresh, empty database)',
      '  --no-build            use dist/ as it is (default: build the server first, tsc -p tsconfig.build.json)',
      '  --storm-timeout <s>   heartbeat timeout of the expiry-storm sessions (default 5)',
      '  --storm-rounds <n>    expiry storms one after another, their p99s over all of them (default 3; 1 with --quick)',
      '  --client raw|node     generator HTTP client: raw keep-alive sockets (default) or node:http with a keep-alive Agent',
      '  --profile             run Seatkeeper with --cpu-prof; the profile lands in bench/results/profiles/',
      '  --only <groups>       run only these, comma-separated: heartbeats (with the first baseline and the latency),',
      '                        contention (with the second baseline), storm, rss',
      '',
    ].join('\n'),
  );
  process.exit(0);
}

const quick = opts.quick;
const GROUPS = ['heartbeats', 'contention', 'storm', 'rss'] as const;
const only = opts.only === undefined ? null : new Set(opts.only.split(',').map((g) => g.trim()));
for (const g of only ?? []) if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`--only: unknown group ${g} (${GROUPS.join(', ')})`);
const runs = (g: (typeof GROUPS)[number]) => only === null || only.has(g);
const scale = quick ? 0.1 : 1;
const cfg = {
  connections: 100,
  warmupMs: quick ? 1000 : 2000,
  durationMs: quick ? 2000 : 10_000,
  /** The heartbeat phase and its baseline: this many alternating slices, `durationMs` in all each. */
  slices: quick ? 2 : 5,
  sliceWarmupMs: quick ? 200 : 500,
  hbSessions: Math.round(10_000 * scale),
  contendClients: Math.round(1000 * scale),
  contendSeats: Math.round(100 * scale),
  latencyRate: 2000,
  latencyMs: quick ? 2000 : 10_000,
  stormCount: Math.round(10_000 * scale),
  stormTimeoutS: Number(opts['storm-timeout'] ?? 5),
  steadySessions: Math.round(1000 * scale),
  stormBeforeMs: quick ? 2500 : 4000,
  /**
   * Storms in a row. One storm's expiry window holds about 1,600 steady heartbeats, so its p99
   * is their 16th slowest: a single scheduler stall of the machine's (a few ms, several times a
   * second on this VM) decides it. Over three storms the same quantile rests on three times the
   * samples. Each storm's own figures are printed too, and "freed" is the latest storm's.
   */
  stormRounds: Number(opts['storm-rounds'] ?? (quick ? 1 : 3)),
  rssLeases: Math.round(100_000 * scale),
  rssTimeLimitMs: quick ? 20_000 : 60_000,
};
const clientKind: ClientKind = opts.client === 'node' ? 'node' : 'raw';
if (opts.client !== 'node' && opts.client !== 'raw') throw new Error('--client is raw or node');
if (!(cfg.stormTimeoutS >= 1)) throw new Error('--storm-timeout must be a number of seconds ≥ 1');
if (!(Number.isInteger(cfg.stormRounds) && cfg.stormRounds >= 1)) throw new Error('--storm-rounds must be a whole number ≥ 1');

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const SERVER_CORE = 0;
const GEN_CORE = 1;
const log = (s: string) => process.stdout.write(`${s}\n`);
const elapsed = (t0: number) => `${((wallMs() - t0) / 1000).toFixed(1)} s`;

interface PhaseError {
  phase: string;
  error: string;
}
const errors: PhaseError[] = [];

/** Phases not yet started when the run has taken this long are skipped (each phase is bounded too). */
const BUDGET_MS = 300_000;
const runStarted = wallMs();

async function phase<T>(name: string, fn: () => Promise<T>): Promise<T | null> {
  const t0 = wallMs();
  if (t0 - runStarted > BUDGET_MS) {
    errors.push({ phase: name, error: 'skipped: the run exceeded its time budget' });
    log(`✗ ${name}: skipped, the run has taken over ${BUDGET_MS / 1000} s`);
    return null;
  }
  log(`▶ ${name}`);
  try {
    const r = await fn();
    log(`  done in ${elapsed(t0)}`);
    return r;
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    errors.push({ phase: name, error });
    log(`  ✗ ${name} failed after ${elapsed(t0)}: ${error}`);
    return null;
  }
}

/** Small set-up calls from the orchestrator (not measured). */
async function api<T>(target: Target, method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`http://${target.host}:${target.port}${path}`, {
    method, headers, body: body === undefined ? null : JSON.stringify(body), signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path} → ${r.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

async function inUseOf(target: Target, token: string, product: string): Promise<number> {
  const u = await api<{ products: { product: string; inUse: number }[] }>(target, 'GET', '/v1/usage', token);
  return u.products.find((p) => p.product === product)?.inUse ?? 0;
}

function serverLogIssues(file: string): { warnings: number; errors: number; samples: string[] } {
  let warnings = 0;
  let errs = 0;
  const samples: string[] = [];
  if (!existsSync(file)) return { warnings, errors: errs, samples };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /"level":(\d+)/.exec(line);
    const level = m ? Number(m[1]) : /error/i.test(line) ? 50 : 0;
    if (level >= 50) {
      errs++;
      if (samples.length < 5) samples.push(line.slice(0, 400));
    } else if (level >= 40) {
      warnings++;
      if (samples.length < 5) samples.push(line.slice(0, 400));
    }
  }
  return { warnings, errors: errs, samples };
}

function dbBytes(dir: string): number {
  let n = 0;
  for (const f of ['seatkeeper.db', 'seatkeeper.db-wal']) {
    const p = join(dir, f);
    if (existsSync(p)) n += statSync(p).size;
  }
  return n;
}

const alive = (s: ServerProc) => s.child.exitCode === null && s.child.signalCode === null;

async function main(): Promise<void> {
  const started = runStarted;
  installCleanup();
  mkdirSync(RESULTS, { recursive: true });
  const selfPinned = pinSelf(GEN_CORE);
  log(`Seatkeeper bench${quick ? ' (--quick: 1/10 scale, 2 s phases)' : ''}; store: ${opts.database ? 'PostgreSQL (--database)' : 'SQLite (temp dir)'}`);
  log(
    hasTaskset
      ? `pinning: server → core ${SERVER_CORE}, generator${selfPinned ? ' and orchestrator' : ''} → core ${GEN_CORE}`
      : 'taskset not found: processes are not pinned (CPU shares are still recorded)',
  );
  log(PRIORITY !== null ? `priority: servers and generator at nice ${PRIORITY}` : 'priority: not raised (needs root); other processes may preempt the server');
  log(`generator client: ${clientKind === 'raw' ? 'raw keep-alive sockets (node:net)' : 'node:http with a keep-alive Agent'}`);

  if (!opts['no-build']) {
    // Only the server (the first step of `npm run build`); the client and console
    // workspaces play no part here.
    const t0 = wallMs();
    log('▶ build the server: tsc -p tsconfig.build.json');
    const b = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8' });
    if (b.status !== 0) {
      const out = `${b.stdout}${b.stderr}`.trim().split('\n').slice(-15).join('\n');
      if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error(`build failed and there is no dist/:\n${out}`);
      log(`  ✗ build failed; benchmarking the existing dist/ (it may be stale):\n${out}`);
      errors.push({ phase: 'build', error: 'tsc -p tsconfig.build.json failed; used the existing dist/' });
    } else {
      log(`  done in ${elapsed(t0)}`);
    }
  }

  const jsDir = compileChildScripts(join(ROOT, 'bench'));
  const gen = Generator.start(hasTaskset ? GEN_CORE : null, ROOT, jsDir, { SEATKEEPER_BENCH_CLIENT: clientKind });
  const phases: PhaseRow[] = [];
  const summary: SummaryRow[] = [];
  const raw: Record<string, unknown> = { config: cfg, quick, client: clientKind, taskset: hasTaskset, database: opts.database ? 'postgres' : 'sqlite' };

  // ── 1. baseline: a bare Fastify route ────────────────────────────────────────────────
  // Measured twice: in slices alternating with the heartbeats', and again right after the
  // contention phase; each ratio divides by the nearer. On a machine whose speed drifts within
  // minutes, a baseline taken a minute away says less about the phase than one taken next to it.
  const startBare = async () => {
    const port = await freePort();
    const srv = await startServer({
      name: 'bare server', nodeArgs: [join(jsDir, 'bare-server.js'), String(port)], port,
      core: hasTaskset ? SERVER_CORE : null, cwd: ROOT, ready: /bare listening/, logFile: join(RESULTS, 'bare.log'),
    });
    const measure = (warmupMs: number, durationMs: number) => gen.send({
      cmd: 'closed-get', target: { host: '127.0.0.1', port }, serverPid: srv.pid, path: '/',
      connections: cfg.connections, warmupMs, durationMs,
    });
    return { srv, measure };
  };
  const measureBare = (label: string) => phase(label, async () => {
    const { srv, measure } = await startBare();
    try {
      return await measure(cfg.warmupMs, cfg.durationMs);
    } finally {
      await srv.stop();
    }
  });

  // ── Seatkeeper ───────────────────────────────────────────────────────────────────────
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'seatkeeper-bench-'));
  removeOnExit(dataDir);
  const password = randomBytes(12).toString('base64url');
  const serverLog = join(RESULTS, 'server.log');
  const server = await startServer({
    name: 'seatkeeper',
    nodeArgs: [
      ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(RESULTS, 'profiles')}`] : []),
      ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      join(ROOT, 'dist', 'cli', 'main.js'), 'serve', '--port', String(port), '--data', dataDir, ...(opts.database ? ['--database', opts.database] : [])],
    port, core: hasTaskset ? SERVER_CORE : null, cwd: ROOT, env: { SEATKEEPER_ADMIN_PASSWORD: password, SEATKEEPER_LOG_LEVEL: 'warn' },
    ready: /Seatkeeper listening on/, logFile: serverLog,
  });
  const target: Target = { host: '127.0.0.1', port };
  const base = { target, serverPid: server.pid };
  log(`  seatkeeper pid ${server.pid} on port ${port}, data ${opts.database ? '(PostgreSQL)' : dataDir}`);

  // Set-up: product keys carry a run id so that a reused --database does not collide.
  const run = Date.now().toString(36);
  const { token: admin } = await api<{ token: string }>(target, 'POST', '/v1/auth/login', null, { account: 'default', username: 'admin', password });
  const product = async (key: string, seats: number, interval: number, timeout: number) => {
    await api(target, 'POST', '/v1/products', admin, { key, seatModel: 'session', heartbeat: { interval, timeout } });
    await api(target, 'POST', '/v1/licenses', admin, { product: key, seats });
    return key;
  };
  const P = {
    hb: await product(`hb-${run}`, cfg.hbSessions, 300, 600),
    contend: await product(`contend-${run}`, cfg.contendSeats, 300, 600),
    steady: await product(`steady-${run}`, cfg.steadySessions, 5, 60),
    storm: await product(`storm-${run}`, cfg.stormCount, Math.max(1, Math.floor(cfg.stormTimeoutS / 3)), cfg.stormTimeoutS),
    rss: await product(`rss-${run}`, cfg.rssLeases, 600, 3600),
  };
  const { secret: apiKey } = await api<{ secret: string }>(target, 'POST', '/v1/api-keys', admin, { name: `bench-${run}`, kind: 'service' });

  const ensureAlive = () => {
    if (!alive(server)) throw new Error(`the server is gone (exit ${server.child.exitCode ?? server.child.signalCode}); see ${serverLog}`);
  };

  // ── 2. heartbeats with N live sessions ────────────────────────────────────────────────
  const hbCreate = !runs('heartbeats') ? null : await phase(`start ${cfg.hbSessions.toLocaleString('en-US')} sessions`, async () => {
    ensureAlive();
    const r = await gen.send({ ...base, cmd: 'create', pool: 'hb', product: P.hb, apiKey, count: cfg.hbSessions, connections: cfg.connections, timeLimitMs: 60_000 });
    if (r.created < cfg.hbSessions) throw new Error(`only ${r.created} of ${cfg.hbSessions} sessions started: ${JSON.stringify(r.statuses)}`);
    return r;
  });
  raw.hbCreate = hbCreate;
  if (hbCreate) phases.push(createRow(`acquire, uncontended (${hbCreate.created.toLocaleString('en-US')} sessions)`, hbCreate));

  // The bare route and the heartbeats in alternating slices, both servers up on the same
  // core (the idle one costs nothing): this VM's speed moves within tens of seconds (docs/
  // architecture.md, session 14), and a baseline measured in the seconds around the phase
  // it divides says more than one measured before it.
  const interleaved = hbCreate && (await phase(`heartbeats, ${cfg.hbSessions.toLocaleString('en-US')} live sessions, and the bare route: ${cfg.slices} alternating slices each (closed loop, ${cfg.connections} connections)`, async () => {
    ensureAlive();
    const { srv, measure } = await startBare();
    try {
      const slices: { bare: Throughput; heartbeat: Throughput }[] = [];
      for (let k = 0; k < cfg.slices; k++) {
        // The first slice of each warms its code up as a whole phase did; later ones only refill the loop.
        const warmupMs = k === 0 ? cfg.warmupMs : cfg.sliceWarmupMs;
        const b = await measure(warmupMs, cfg.durationMs / cfg.slices);
        ensureAlive();
        const h = await gen.send({ ...base, cmd: 'closed-heartbeat', pool: 'hb', connections: cfg.connections, warmupMs, durationMs: cfg.durationMs / cfg.slices });
        log(`  slice ${k + 1}: bare ${fmt(b.rps, 0)} req/s, heartbeats ${fmt(h.rps, 0)} req/s (${fmt((h.rps / b.rps) * 100, 1)} %)`);
        slices.push({ bare: b, heartbeat: h });
      }
      return slices;
    } finally {
      await srv.stop();
    }
  }));
  raw.heartbeatSlices = interleaved;
  const bare = interleaved && combine(interleaved.map((x) => x.bare));
  const hb = interleaved && combine(interleaved.map((x) => x.heartbeat));
  raw.bare = bare;
  raw.heartbeat = hb;
  if (bare) phases.push(throughputRow(`bare Fastify route (${cfg.slices} slices)`, bare));
  if (hb) phases.push(throughputRow(`heartbeat (${cfg.slices} slices between the bare route's)`, hb));
  const bareRps = bare?.rps ?? null;
  const hbRatio = hb && bareRps ? hb.rps / bareRps : null;
  const sliceRatios = (interleaved ?? []).map((x) => (x.heartbeat.rps / x.bare.rps) * 100);
  if (runs('heartbeats')) summary.push({ figure: 'bare Fastify route', value: bareRps, unit: 'req/s', target: 'baseline', verdict: bareRps === null ? 'ERROR' : 'INFO' });
  if (runs('heartbeats')) summary.push({ figure: `heartbeats (${cfg.hbSessions.toLocaleString('en-US')} live sessions)`, value: hb?.rps ?? null, unit: 'req/s', target: '', verdict: hb ? 'INFO' : 'ERROR', ...(hb && nonOk(hb.statuses, 200)) });
  if (runs('heartbeats')) {
    summary.push({
      figure: '  heartbeat / bare', value: hbRatio === null ? null : hbRatio * 100, unit: '%', target: '≥ 60 %', verdict: atLeast(hbRatio, 0.6), otherCpu: worst(bare?.otherCpu, hb?.otherCpu),
      ...(sliceRatios.length ? { note: `slices ${fmt(Math.min(...sliceRatios), 1)}–${fmt(Math.max(...sliceRatios), 1)} %` } : {}),
    });
  }

  // ── 4. heartbeat latency at a fixed rate (open loop) ──────────────────────────────────
  const lat = hbCreate && (await phase(`heartbeat latency at ${cfg.latencyRate}/s (open loop, ${(cfg.latencyMs / 1000).toFixed(0)} s)`, async () => {
    ensureAlive();
    return gen.send({ ...base, cmd: 'open-heartbeat', pool: 'hb', rate: cfg.latencyRate, warmupMs: cfg.warmupMs, durationMs: cfg.latencyMs, connections: 64 });
  }));
  raw.latency = lat;
  if (lat) phases.push({ phase: `heartbeat @ ${cfg.latencyRate}/s open loop`, rps: lat.rate, p50: lat.latency.p50, p99: lat.latency.p99, serverCpu: lat.serverCpu, genCpu: lat.genCpu, otherCpu: lat.otherCpu, bottleneck: `fixed rate; lag p99 ${fmt(lat.lag.p99, 2)} ms` });
  if (runs('heartbeats')) latencyRows(summary, lat);

  // hb sessions end before the contention phase, so that it runs alone.
  if (hbCreate) await phase('end the heartbeat sessions', async () => {
    ensureAlive();
    const r = await gen.send({ ...base, cmd: 'close', pool: 'hb', connections: cfg.connections, timeLimitMs: 30_000 });
    if (r.closed < cfg.hbSessions) log(`  note: ${r.closed} closed, ${JSON.stringify(r.statuses)}`);
    return r;
  });

  // ── 3. acquire + release under contention ─────────────────────────────────────────────
  const contend = !runs('contention') ? null : await phase(
    `acquire+release, ${cfg.contendClients} clients for ${cfg.contendSeats} seats (closed loop over ${cfg.connections} connections)`,
    async () => {
      ensureAlive();
      return gen.send({
        ...base, cmd: 'contend', product: P.contend, apiKey, adminToken: admin, clients: cfg.contendClients, seats: cfg.contendSeats,
        connections: cfg.connections, warmupMs: cfg.warmupMs, durationMs: cfg.durationMs,
      });
    },
  );
  const finalInUse = contend ? await inUseOf(target, admin, P.contend).catch(() => null) : null;
  raw.contend = contend && { ...contend, finalInUse };
  if (contend) phases.push(throughputRow(`acquire+release, ${cfg.contendClients} clients *`, contend));
  // The baseline again, next to the contention phase (Seatkeeper stays up, idle, meanwhile).
  const bareAfter = contend ? await measureBare('baseline again, right after the contention phase') : null;
  raw.bareAfter = bareAfter;
  if (bareAfter) phases.push(throughputRow('bare Fastify route, again', bareAfter));
  const bareAfterRps = bareAfter?.rps ?? null;
  if (runs('contention')) summary.push({ figure: 'bare Fastify route, again', value: bareAfterRps, unit: 'req/s', target: 'baseline', verdict: bareAfterRps === null ? 'ERROR' : 'INFO' });
  if (runs('contention')) contentionRows(summary, contend, finalInUse, bareAfterRps ?? bareRps, worst(bareAfter?.otherCpu ?? bare?.otherCpu, contend?.otherCpu));

  // ── 6. expiry storm ──────────────────────────────────────────────────────────────────
  const storm = !runs('storm') ? null : await phase(
    `expiry storm${cfg.stormRounds > 1 ? `s (${cfg.stormRounds} in a row)` : ''}: ${cfg.stormCount.toLocaleString('en-US')} sessions (timeout ${cfg.stormTimeoutS} s) stop at once; ${cfg.steadySessions} steady sessions at ${cfg.steadySessions}/s`,
    async () => {
      ensureAlive();
      const s = await gen.send({ ...base, cmd: 'create', pool: 'steady', product: P.steady, apiKey, count: cfg.steadySessions, connections: cfg.connections, timeLimitMs: 30_000 });
      if (s.created < cfg.steadySessions) throw new Error(`only ${s.created} steady sessions started`);
      try {
        return await gen.send({
          ...base, cmd: 'storm', stormProduct: P.storm, steadyPool: 'steady', apiKey, adminToken: admin, stormCount: cfg.stormCount,
          timeoutS: cfg.stormTimeoutS, steadyRate: cfg.steadySessions, beforeMs: cfg.stormBeforeMs, connections: cfg.connections, rounds: cfg.stormRounds,
        });
      } finally {
        await gen.send({ ...base, cmd: 'close', pool: 'steady', connections: cfg.connections, timeLimitMs: 30_000 });
      }
    },
  );
  raw.storm = storm;
  if (storm) {
    const row = (phase: string, l: StormResult['steadyBefore'], server: number | null, other: number | null): PhaseRow =>
      ({ phase, rps: cfg.steadySessions, p50: l.p50, p99: l.p99, serverCpu: server, genCpu: null, otherCpu: other, bottleneck: 'fixed rate' });
    phases.push(row('steady heartbeats before the storm', storm.steadyBefore, storm.serverCpuBefore, storm.otherCpuBefore));
    phases.push(row('steady heartbeats during the expiry', storm.steadyDuring, storm.serverCpuDuring, storm.otherCpuDuring));
  }
  if (runs('storm')) stormRows(summary, storm);

  // ── 5. RSS per live lease ─────────────────────────────────────────────────────────────
  const rss = !runs('rss') ? null : await phase(`RSS with 0 vs ${cfg.rssLeases.toLocaleString('en-US')} live leases`, async () => {
    ensureAlive();
    await sleep(2000);
    const inUse = await api<{ products: { inUse: number }[] }>(target, 'GET', '/v1/usage', admin);
    const liveBefore = inUse.products.reduce((n, p) => n + p.inUse, 0);
    const rss0 = rssKiB(server.pid);
    const db0 = opts.database ? null : dbBytes(dataDir);
    const created = await gen.send({ ...base, cmd: 'create', pool: null, product: P.rss, apiKey, count: cfg.rssLeases, connections: cfg.connections, timeLimitMs: cfg.rssTimeLimitMs });
    await sleep(2000);
    const samples: number[] = [];
    for (let i = 0; i < 3; i++) {
      const v = rssKiB(server.pid);
      if (v !== null) samples.push(v);
      await sleep(300);
    }
    const rss1 = samples.length ? Math.min(...samples) : null;
    const live = await inUseOf(target, admin, P.rss);
    const db1 = opts.database ? null : dbBytes(dataDir);
    const perLease = rss0 !== null && rss1 !== null && live > 0 ? (rss1 - rss0) / live : null;
    return { liveBefore, rss0KiB: rss0, rss1KiB: rss1, live, perLeaseKiB: perLease, create: created, dbBytesPerLease: db0 !== null && db1 !== null && live > 0 ? (db1 - db0) / live : null };
  });
  raw.rss = rss;
  if (rss) phases.push(createRow(`acquire, uncontended (${rss.create.created.toLocaleString('en-US')} leases)`, rss.create));
  if (runs('rss')) summary.push({
    figure: `RSS per live lease (${rss ? rss.live.toLocaleString('en-US') : cfg.rssLeases.toLocaleString('en-US')} leases)`,
    value: rss?.perLeaseKiB ?? null, unit: 'KiB', target: '≤ 2 KiB', verdict: atMost(rss?.perLeaseKiB ?? null, 2),
    ...(rss && rss.live < cfg.rssLeases ? { note: `only ${rss.live} leases in ${(rss.create.seconds).toFixed(0)} s` } : {}),
  });

  // ── wrap up ──────────────────────────────────────────────────────────────────────────
  const serverAlive = alive(server);
  await gen.stop();
  await server.stop();
  const logIssues = serverLogIssues(serverLog);
  raw.serverLog = logIssues;
  raw.errors = errors;

  log('');
  log('Phases (CPU = share of one core over the measured window; the server runs on one core;');
  log('        other = busy CPU of every other process on the machine, i.e. noise)');
  log(phaseTable(phases));
  if (contend) log(`* latency includes waiting for one of the ${cfg.connections} connections the ${cfg.contendClients} clients share (Little's law: clients / req/s)`);
  const noisy = phases.filter((p) => (p.otherCpu ?? 0) > NOISY_OTHER_CPU);
  if (noisy.length) {
    log(`! other processes used > ${NOISY_OTHER_CPU} % of a core during: ${noisy.map((p) => p.phase).join('; ')}. Those figures are suspect; rerun on a quiet machine.`);
  }
  raw.noisyPhases = noisy.map((p) => p.phase);
  if (rss) {
    log('');
    log(`RSS: ${fmt(rss.rss0KiB, 0)} KiB with ${rss.liveBefore} live leases → ${fmt(rss.rss1KiB, 0)} KiB with ${rss.live.toLocaleString('en-US')}` +
      (rss.dbBytesPerLease !== null ? `; SQLite file growth ${fmt(rss.dbBytesPerLease, 0)} B/lease` : ''));
  }
  if (storm) {
    if (storm.rounds.length > 1) {
      storm.rounds.forEach((r, k) => log(`Storm ${k + 1}: ${r.created} started, freed +${fmt(r.freedMs, 0)} ms after the stop; ` +
        `steady p99 ${fmt(r.steadyBefore.p99, 2)} → ${fmt(r.steadyDuring.p99, 2)} ms (${fmt(r.steadyDuring.p99 / r.steadyBefore.p99, 2)}×; n=${r.steadyBefore.count}/${r.steadyDuring.count}), ` +
        `server CPU ${pct(r.serverCpuBefore)} → ${pct(r.serverCpuDuring)}`));
    }
    log(`Storm${storm.rounds.length > 1 ? `s, all ${storm.rounds.length}` : ''}: ${storm.created} started in ${storm.createSeconds.toFixed(1)} s, last wave ${storm.waveSeconds.toFixed(2)} s, ` +
      `${storm.expiredEarly} expired before the stop; first drop +${fmt(storm.firstDropMs, 0)} ms, freed +${fmt(storm.freedMs, 0)} ms after the stop; ` +
      `steady p99 ${fmt(storm.steadyBefore.p99, 2)} → ${fmt(storm.steadyDuring.p99, 2)} ms (n=${storm.steadyBefore.count}/${storm.steadyDuring.count}), ` +
      `server CPU ${pct(storm.serverCpuBefore)} → ${pct(storm.serverCpuDuring)}; ` +
      `GET /v1/usage poll p50 ${fmt(storm.usagePollLatency.p50, 2)} ms, max ${fmt(storm.usagePollLatency.max, 2)} ms`);
  }
  if (contend) {
    log(`Contention: ${contend.grants} grants, ${contend.refusals} refusals (409), ${contend.releases} releases in ${contend.seconds.toFixed(1)} s; ` +
      `max held as seen by the generator ${contend.maxHeldLoose} (201 → 204; strict count 201 → DELETE sent: ${contend.maxHeldStrict}), ` +
      `max inUse on ${contend.usagePolls} usage polls ${fmt(contend.maxUsageInUse, 0)}, inUse at end ${fmt(finalInUse, 0)}; statuses ${JSON.stringify(contend.statuses)}`);
    if (contend.maxHeldLoose > cfg.contendSeats) {
      log(`  note: the 201 → 204 count exceeded the seats by ${contend.maxHeldLoose - cfg.contendSeats}: a 204 and the next 201 can arrive out of order on` +
        ' different connections, so this count is not proof of an over-grant; the strict count and the server\'s own inUse decide.');
    }
  }
  log('');
  log(`over-grants: ${overGrants(contend, finalInUse) ?? 'unknown'}`);
  log('');
  log('Summary');
  log(summaryTable(summary));
  log('');
  log(`server log (${serverLog}): ${logIssues.errors} errors, ${logIssues.warnings} warnings${serverAlive ? '' : '; THE SERVER DIED DURING THE RUN'}`);
  for (const s of logIssues.samples) log(`  ${s}`);
  for (const e of errors) log(`phase error: ${e.phase}: ${e.error}`);
  const out = join(RESULTS, 'latest.json');
  writeJson(out, { at: new Date().toISOString(), seconds: (wallMs() - started) / 1000, summary, phases, raw });
  log(`\nwritten ${out} (total ${elapsed(started)})`);
  const failed = summary.some((r) => r.verdict === 'ERROR') || errors.length > 0 || !serverAlive;
  process.exitCode = failed ? 1 : 0;
}

/**
 * Slices of one measurement as one: requests over seconds; CPU shares weighted by time; the
 * median slice's p50 and the worst slice's p99 (percentiles of slices do not add up).
 */
function combine(slices: Throughput[]): Throughput {
  const seconds = slices.reduce((a, t) => a + t.seconds, 0);
  const requests = slices.reduce((a, t) => a + t.requests, 0);
  const statuses: Throughput['statuses'] = {};
  for (const t of slices) for (const [k, v] of Object.entries(t.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const share = (f: (t: Throughput) => number | null): number | null =>
    slices.some((t) => f(t) === null) ? null : slices.reduce((a, t) => a + f(t)! * t.seconds, 0) / seconds;
  const byP50 = [...slices].sort((a, b) => a.latency.p50 - b.latency.p50);
  const worstP99 = slices.reduce((w, t) => (t.latency.p99 > w.latency.p99 ? t : w));
  return {
    requests, seconds, rps: requests / seconds, statuses,
    latency: { ...worstP99.latency, count: slices.reduce((a, t) => a + t.latency.count, 0), p50: byP50[Math.floor(byP50.length / 2)]!.latency.p50 },
    serverCpu: share((t) => t.serverCpu), genCpu: share((t) => t.genCpu), otherCpu: share((t) => t.otherCpu),
  };
}

function throughputRow(phase: string, t: Throughput): PhaseRow {
  return { phase, rps: t.rps, p50: t.latency.p50, p99: t.latency.p99, serverCpu: t.serverCpu, genCpu: t.genCpu, otherCpu: t.otherCpu, bottleneck: bottleneck(t.serverCpu, t.genCpu) };
}

function createRow(phase: string, c: CreateResult): PhaseRow {
  return { phase, rps: c.rps, p50: null, p99: null, serverCpu: c.serverCpu, genCpu: c.genCpu, otherCpu: c.otherCpu, bottleneck: bottleneck(c.serverCpu, c.genCpu) };
}

/** A note for answers other than the expected status. */
function nonOk(statuses: Record<string, number>, ok: number): { note: string } | Record<string, never> {
  const other = Object.entries(statuses).filter(([k]) => k !== String(ok));
  return other.length ? { note: `non-${ok}: ${other.map(([k, v]) => `${k}×${v}`).join(', ')}` } : {};
}

function latencyRows(summary: SummaryRow[], lat: OpenResult | null): void {
  const lagOk = lat !== null && lat.lag.p99 <= 2;
  const rate = lat?.rate ?? 2000;
  const v = (n: number | undefined) => (lat ? (n ?? null) : null);
  const verdict = (ok: boolean) => (!lat ? 'ERROR' : !lagOk ? 'INVALID' : ok ? 'PASS' : 'FAIL');
  const statusNote = lat ? nonOk(lat.statuses, 200) : {};
  summary.push({ figure: `heartbeat latency p50 @ ${rate}/s`, value: lagOk ? v(lat?.latency.p50) : null, unit: 'ms', target: '', verdict: lagOk ? 'INFO' : verdict(false) });
  summary.push({ figure: `heartbeat latency p99 @ ${rate}/s`, value: lagOk ? v(lat?.latency.p99) : null, unit: 'ms', target: '≤ 10 ms', verdict: verdict((lat?.latency.p99 ?? Infinity) <= 10), otherCpu: lat?.otherCpu ?? null, ...statusNote });
  summary.push({ figure: `heartbeat latency p99.9 @ ${rate}/s`, value: lagOk ? v(lat?.latency.p999) : null, unit: 'ms', target: '', verdict: lagOk ? 'INFO' : verdict(false) });
  summary.push({ figure: '  generator send lag p99', value: v(lat?.lag.p99), unit: 'ms', target: '≤ 2 ms (else INVALID)', verdict: lat ? (lagOk ? 'PASS' : 'INVALID') : 'ERROR' });
}

function overGrants(c: ContendResult | null, finalInUse: number | null): number | null {
  if (!c) return null;
  const seats = cfg.contendSeats;
  return Math.max(0, c.overGrantsSeen, (c.maxUsageInUse ?? 0) - seats, (finalInUse ?? 0) - seats);
}

function contentionRows(summary: SummaryRow[], c: ContendResult | null, finalInUse: number | null, bareRps: number | null, otherCpu: number | null): void {
  const ratio = c && bareRps ? c.rps / bareRps : null;
  summary.push({ figure: `acquire+release (${cfg.contendClients} clients, ${cfg.contendSeats} seats)`, value: c?.rps ?? null, unit: 'req/s', target: '', verdict: c ? 'INFO' : 'ERROR' });
  summary.push({ figure: '  acquire+release / bare, again', value: ratio === null ? null : ratio * 100, unit: '%', target: '≥ 30 %', verdict: atLeast(ratio, 0.3), otherCpu });
  const og = overGrants(c, finalInUse);
  summary.push({
    figure: 'over-grants', value: og, unit: '', target: '0', verdict: og === null ? 'ERROR' : og === 0 ? 'PASS' : 'FAIL',
    ...(c ? { note: `max held ${c.maxHeldLoose}/${cfg.contendSeats}${c.leaked ? `, ${c.leaked} releases failed` : ''}` } : {}),
  });
}

function stormRows(summary: SummaryRow[], s: StormResult | null): void {
  const limitMs = cfg.stormTimeoutS * 1000 + 1000;
  // The storm is only a storm if (nearly) all its sessions were alive at the stop.
  const tooEarly = s !== null && s.expiredEarly > s.stormCount * 0.01;
  summary.push({
    figure: `storm: freed after the stop (${cfg.stormCount.toLocaleString('en-US')} × ${cfg.stormTimeoutS} s${cfg.stormRounds > 1 ? `, latest of ${cfg.stormRounds}` : ''})`,
    value: s?.freedMs ?? null, unit: 'ms', target: `≤ ${limitMs} ms`,
    verdict: tooEarly ? 'INVALID' : atMost(s?.freedMs ?? null, limitMs),
    otherCpu: s?.otherCpuDuring ?? null,
    ...(s && s.expiredEarly > 0 ? { note: `${s.expiredEarly} expired before the stop: their keep-alive heartbeats were late` } : {}),
  });
  const ratio = s && s.steadyBefore.p99 > 0 ? s.steadyDuring.p99 / s.steadyBefore.p99 : null;
  const lagged = s !== null && Math.max(s.steadyLagP99Before, s.steadyLagP99During) > 2;
  summary.push({
    figure: `  steady heartbeat p99 during / before${cfg.stormRounds > 1 ? ` (${cfg.stormRounds} storms)` : ''}`, value: ratio, unit: '×', target: '≤ 2.0×',
    verdict: tooEarly || lagged ? 'INVALID' : atMost(ratio, 2),
    otherCpu: worst(s?.otherCpuBefore, s?.otherCpuDuring),
    ...(s
      ? {
          note: `${fmt(s.steadyBefore.p99, 2)} → ${fmt(s.steadyDuring.p99, 2)} ms` +
            (s.rounds.length > 1 ? `; each storm ${s.rounds.map((r) => `${fmt(r.steadyDuring.p99 / r.steadyBefore.p99, 2)}×`).join(', ')}` : '') +
            (lagged ? `; generator lag p99 ${fmt(s.steadyLagP99Before, 2)} / ${fmt(s.steadyLagP99During, 2)} ms` : ''),
        }
      : {}),
  });
}

main().then(() => process.exit(process.exitCode ?? 0), (e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
