/**
 * The PostgreSQL ceiling for the cluster benchmark: pgbench running the store's own acquire,
 * release and heartbeat statements (bench/pgbench/*.sql, -M prepared) against a database set
 * up like the server's, so that "N % of what PostgreSQL itself does" compares like with like.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { SqlStore } from '../src/store/sql/sql-store.js';
import { PostgresDriver } from '../src/store/sql/postgres-driver.js';
import { closeSessionSqlPg, sessionEndSql } from '../src/store/sql/lease-ops.js';
import { defaultProductConfig, defaultSettings } from '../src/server/defaults.js';

const DIR = fileURLToPath(new URL('./pgbench/', import.meta.url));

export interface PgbenchResult {
  tps: number;
  p50Ms: number;
  p99Ms: number;
  transactions: number;
  /** Leases granted per second (each released in the same iteration): the seats' turnover. */
  grantsPerS: number;
}

/** A fresh database with the server's schema, a product of `licenses` × `seats` seats (prd_bench), and one of a license of `seats` (prd_hot). */
export async function prepareBenchDb(url: string, opts: { licenses: number; seats: number; heartbeatSessions: number }): Promise<void> {
  const store = new SqlStore(new PostgresDriver(url, 4));
  await store.migrate();
  const now = Date.now();
  await store.createAccount(
    { id: 'acc_bench', name: `bench-${now}`, timezone: 'UTC', settings: defaultSettings() },
    { id: 'usr_bench', username: 'bench', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
    now,
  );
  await store.createProduct('acc_bench', 'prd_bench', { ...defaultProductConfig(), key: 'bench', name: 'bench', seatModel: 'session' }, now);
  for (let i = 1; i <= opts.licenses; i++) {
    await store.createLicense('acc_bench', `lic_bench_${i}`, {
      productId: 'prd_bench', seats: opts.seats, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, now);
  }
  // The hot license: a product of its own with one license, as the server's bench has.
  await store.createProduct('acc_bench', 'prd_hot', { ...defaultProductConfig(), key: 'hot', name: 'hot', seatModel: 'session' }, now);
  await store.createLicense('acc_bench', 'lic_hot', {
    productId: 'prd_hot', seats: opts.seats, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
    enforcement: 'hard', window: 180, exceptionQuota: null,
  }, now);
  await store.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('CREATE TABLE bench_counter (id INTEGER PRIMARY KEY, in_use INTEGER NOT NULL, seats INTEGER NOT NULL)');
  await c.query('INSERT INTO bench_counter VALUES (1, 0, $1)', [opts.seats]);
  // Sessions for the heartbeat read, on a lease outside the licenses.
  await c.query(`INSERT INTO leases (id, account_id, product_id, kind, status, join_code, hold, sessions, started_at)
                 VALUES ('lse_hb', 'acc_bench', 'prd_bench', 'ppu', 'active', 'JHB', 'heartbeat', $1, 1)`, [opts.heartbeatSessions]);
  await c.query(`INSERT INTO sessions (id, lease_id, account_id, token_hash, hb_interval, hb_timeout, started_at, expires_at)
                 SELECT 'hb_' || i, 'lse_hb', 'acc_bench', 'h', 10, 30, 1, 30001 FROM generate_series(1, $1) i`, [opts.heartbeatSessions]);
  await c.query('VACUUM ANALYZE');
  await c.end();
}

/**
 * The store's own statement for a client's close (lease-ops `closeSessionSqlPg`), with its
 * parameters written as pgbench expressions: the session the iteration started (its id and
 * token hash as the script's grant made them), at time 2. `freeSeat`: as in the store.
 */
function releaseStatement(freeSeat?: string): string {
  const values = ['2', "'ended'", "'ses_' || :n || '_' || :client_id", "'h'", '2', "'released'", `'${JSON.stringify({ reason: 'released' })}'`, '2'];
  let i = 0;
  const sql = closeSessionSqlPg(sessionEndSql(false, true), 'ended', freeSeat).replace(/\?/g, () => {
    const v = values[i++];
    if (v === undefined) throw new Error('the close statement takes more parameters than the bench gives');
    return v;
  });
  if (i !== values.length) throw new Error('the close statement takes fewer parameters than the bench gives');
  return `${sql};`;
}

/** What a script's `-- @release` line stands for: the slot version, or the counter row's. */
const RELEASES: Record<string, () => string> = {
  slot: () => releaseStatement(),
  counter: () => releaseStatement('UPDATE bench_counter SET in_use = in_use - 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM l WHERE released) RETURNING 1'),
};

/** A script of bench/pgbench with its `-- @release` lines written out, in `dir`; its path. */
function renderScript(script: string, dir: string): string {
  const text = readFileSync(join(DIR, script), 'utf8').replace(/^-- @release (\w+)$/gm, (_, kind: string) => {
    const make = RELEASES[kind];
    if (!make) throw new Error(`${script}: no release "${kind}"`);
    return make();
  });
  const path = join(dir, script);
  writeFileSync(path, text);
  return path;
}

/** Runs one pgbench script and reads throughput and latency percentiles from its log. */
export async function runPgbench(url: string, script: string, clients: number, seconds: number, vars: Record<string, number | string>): Promise<PgbenchResult> {
  const logDir = mkdtempSync(join(tmpdir(), 'sk-pgbench-'));
  const u = new URL(url);
  const args = [
    '-n', '-M', 'prepared', '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds),
    '-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'),
    '-f', renderScript(script, logDir), '-l', '--log-prefix', join(logDir, 'tx'),
    ...Object.entries(vars).flatMap(([k, v]) => ['-D', `${k}=${v}`]),
    u.pathname.slice(1),
  ];
  const countLeases = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM leases WHERE id <> 'lse_hb'");
    await c.end();
    return r.rows[0]!.n;
  };
  const leasesBefore = await countLeases();
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('pgbench', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr.on('data', (d: Buffer) => (text += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`pgbench exited ${code}:\n${text}`))));
  });
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
  // Per-transaction log lines: client_id transaction_no time_us script_no epoch epoch_us
  const latencies: number[] = [];
  for (const f of readdirSync(logDir)) {
    for (const line of readFileSync(join(logDir, f), 'utf8').split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && us > 0) latencies.push(us / 1000);
    }
  }
  rmSync(logDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN;
  const grantsPerS = (await countLeases() - leasesBefore) / seconds;
  return { tps, p50Ms: pct(0.5), p99Ms: pct(0.99), transactions: latencies.length, grantsPerS };
}
