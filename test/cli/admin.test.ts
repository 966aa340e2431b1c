/**
 * The admin CLI as a user runs it: the real binary (`node --import tsx src/cli/main.ts`) in
 * a child process, against a real server listening on a port, checking what it prints and
 * its exit codes (0 ok, 1 refused, 2 usage, 3 unreachable).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, harness, type Harness } from '../helpers/app.js';
import { sqliteKind } from '../helpers/stores.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let h: Harness;
let url: string;
let home: string;
/** A port nothing listens on. */
let closedPort: number;

/** Runs the CLI with a clean environment: no URL or token unless given. */
function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SEATKEEPER_')));
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...clean, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
const as = (token = h.owner) => ['--url', url, '--token', token];

beforeAll(async () => {
  h = await harness(sqliteKind, { loginRateLimit: 1000 });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  home = mkdtempSync(join(tmpdir(), 'seatkeeper-cli-'));
  closedPort = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
});
afterAll(async () => {
  await h.close();
  rmSync(home, { recursive: true, force: true });
});

describe('seatkeeper admin commands', () => {
  it('set-up: creates and lists products, licenses, users and endpoints, as tables and as JSON', async () => {
    const p = await cli(['products', 'create', 'display', '--seat-model', 'session', '--interval', '10', '--client-type', 'kiosk:5:15', ...as()]);
    expect(p).toMatchObject({ code: 0, stderr: '' });
    expect(p.stdout).toBe('Created product display (session, heartbeat 10s/30s).\n');

    const l = await cli(['licenses', 'create', '--product', 'display', '--seats', '2', '--name', 'Wallboards', ...as(), '--json']);
    expect(l.code).toBe(0);
    const license = JSON.parse(l.stdout);
    expect(license).toMatchObject({ product: 'display', seats: 2, name: 'Wallboards', inUse: 0 });

    const u = await cli(['users', 'create', 'bob', '--password', PASSWORD, '--max-leases', '1', ...as()]);
    expect(u.code).toBe(0);
    expect(u.stdout).toMatch(/^Created user bob \(member\), id usr_\w+\.$/m);

    const e = await cli(['endpoints', 'create', '--product', 'display', '--name', 'Lobby TV', ...as()]);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/Key \(shown once\): ske_[\w-]{43}/);
    expect(e.stdout).toMatch(/Display URL: +\S*\/display\/ske_/);

    const products = await cli(['products', ...as()]);
    expect(products.stdout.split('\n')[0]).toMatch(/^KEY\s+NAME\s+SEAT MODEL\s+HEARTBEAT\s+LINGER\s+CLIENT TYPES$/);
    expect(products.stdout).toMatch(/^display\s+display\s+session\s+10s\/30s\s+0\s+kiosk$/m);
    const licenses = JSON.parse((await cli(['licenses', 'list', '--product', 'display', '--json', ...as()])).stdout);
    expect(licenses.map((x: { id: string }) => x.id)).toEqual([license.id]);
    expect((await cli(['users', 'list', ...as()])).stdout).toMatch(/^usr_\w+\s+bob\s+member\s+-\s+1$/m);
    expect((await cli(['endpoints', 'list', ...as()])).stdout).toMatch(/^end_\w+\s+display\s+Lobby TV\s+yes$/m);
  });

  it('status (like lmstat), leases with filters, release', async () => {
    const a = await h.req('POST', '/v1/leases', h.owner, { product: 'display', device: 'tv-1' });
    expect(a.status).toBe(201);

    const status = await cli(['status', ...as()]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^PRODUCT\s+IN USE\s+CAPACITY\s+FREE\s+OVERAGE\s+QUEUED\s+PAUSED\s+STANDBY\s+PEAK TODAY$/m);
    expect(status.stdout).toMatch(/^display\s+1\s+2\s+1\s+0\s+/m);
    expect(status.stdout).toContain('Users of display: total of 2 seats issued; total of 1 in use (1 free)');
    expect(status.stdout).toMatch(/^ {2}lic_\w+\s+Wallboards\s+-\s+-\s+2\s+1$/m);
    const usage = JSON.parse((await cli(['usage', '--json', '--leases', ...as()])).stdout);
    expect(usage.products[0]).toMatchObject({ product: 'display', inUse: 1, capacity: 2, free: 1 });
    expect(usage.leases.map((l: { id: string }) => l.id)).toEqual([a.body.lease.id]);

    const leases = await cli(['leases', '--product', 'display', ...as()]);
    expect(leases.code).toBe(0);
    // Usernames, not ids, for an admin.
    expect(leases.stdout).toMatch(new RegExp(`^${a.body.lease.id}\\s+display\\s+active\\s+regular\\s+owner\\s+tv-1\\s+1\\s`, 'm'));
    expect((await cli(['leases', '--status', 'ended', ...as()])).stdout).toBe('No leases.\n');
    expect(JSON.parse((await cli(['leases', '--product', 'nothing', '--json', ...as()])).stdout)).toEqual([]);

    // Release = log out: the live session keeps the lease…
    const kept = await cli(['release', a.body.lease.id, ...as()]);
    expect(kept).toMatchObject({ code: 0 });
    expect(kept.stdout).toContain('still active, held by 1 live session(s)');
    // …until it closes; released again, it has ended.
    await h.req('DELETE', `/v1/sessions/${a.body.session.id}`, a.body.session.token);
    const ended = JSON.parse((await cli(['release', a.body.lease.id, '--json', ...as()])).stdout);
    expect(ended).toMatchObject({ id: a.body.lease.id, status: 'ended' });
  });

  it('refusals exit 1 with the problem detail and code (and the problem as JSON with --json)', async () => {
    const dup = await cli(['products', 'create', 'display', ...as()]);
    expect(dup.code).toBe(1);
    expect(dup.stdout).toBe('');
    expect(dup.stderr).toMatch(/^seatkeeper: .+ \(conflict, HTTP 409\)\n$/);

    const missing = await cli(['release', 'lse_nope', '--json', ...as()]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ code: 'not-found', status: 404 });

    const member = await cli(['users', 'list', ...as(await h.login('bob'))]);
    expect(member.code).toBe(1);
    expect(member.stderr).toContain('(forbidden, HTTP 403)');

    const bad = await cli(['status', ...as('skt_wrong')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('(unauthorized, HTTP 401)');
  });

  it('terminate and export: the server’s answer, or its refusal printed clearly when it has no such endpoint', async () => {
    const t = await cli(['terminate', 'lse_a', 'lse_b', '--message', 'Maintenance', '--grace', '60', ...as()]);
    if (t.code === 0) {
      expect(t.stdout).toMatch(/^LEASE\s+ENDS AT$/m);
    } else {
      expect(t.code).toBe(1);
      expect(t.stderr).toMatch(/^seatkeeper: .+ \((not-found|forbidden|bad-request), HTTP (404|403|400)\)/);
      if (/no route/.test(t.stderr)) expect(t.stderr).toContain('this server does not offer POST /v1/leases/terminate');
    }
    const x = await cli(['export', ...as()]);
    if (x.code === 0) expect(x.stdout.split(/\r?\n/)[0]).toMatch(/\bid\b/);
    else expect(x.stderr).toContain('GET /v1/reports/leases');
  });

  it('usage errors exit 2 and say what is wrong', async () => {
    const noUrl = await cli(['status']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('no server URL: pass --url, set SEATKEEPER_URL, or run `seatkeeper login`');
    expect((await cli(['status', '--url', url])).stderr).toContain('no token');
    expect((await cli(['status', '--url', 'ftp://x', '--token', 't'])).code).toBe(2);
    const seats = await cli(['licenses', 'create', '--product', 'display', '--seats', 'many', ...as()]);
    expect(seats.code).toBe(2);
    expect(seats.stderr).toContain("option '--seats <n>' argument 'many' is invalid");
    expect((await cli(['leases', '--status', 'gone', ...as()])).code).toBe(2);
    expect((await cli(['terminate', ...as()])).code).toBe(2);
    expect((await cli(['no-such-command'])).code).toBe(2);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('terminate [options] <ids...>');
  });

  it('an unreachable server exits 3', async () => {
    const r = await cli(['status', '--url', `http://127.0.0.1:${closedPort}`, '--token', 't']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`seatkeeper: cannot reach the server at http://127.0.0.1:${closedPort} (ECONNREFUSED)\n`);
  });

  it('login keeps URL and token in the config file (0600); env beats the file, flags beat env', async () => {
    const login = await cli(['login', '--url', url, '--account', 'acme', '--username', 'owner'], {}, `${PASSWORD}\n`);
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('Logged in to');
    const file = join(home, '.config', 'seatkeeper', 'config.json');
    const saved = JSON.parse(readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ url, account: 'acme', username: 'owner' });
    expect(saved.token).toMatch(/^skt_/);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // From the file alone:
    expect((await cli(['products'])).stdout).toMatch(/^display\s/m);
    // The environment's token beats the file's; the flag beats both.
    expect((await cli(['products'], { SEATKEEPER_TOKEN: 'skt_wrong' })).code).toBe(1);
    expect((await cli(['products', '--token', saved.token], { SEATKEEPER_TOKEN: 'skt_wrong' })).code).toBe(0);
    expect((await cli(['products'], { SEATKEEPER_URL: `http://127.0.0.1:${closedPort}` })).code).toBe(3);

    const wrong = await cli(['login', '--url', url, '--account', 'acme', '--username', 'owner', '--password', 'not it']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('(unauthorized, HTTP 401)');

    // --config names another file; an API key is checked before it is kept.
    const other = join(home, 'other.json');
    const key = (await h.req('POST', '/v1/api-keys', h.owner, { name: 'ci', kind: 'admin' })).body.secret as string;
    expect((await cli(['login', '--url', url, '--token', 'ska_wrong', '--config', other])).code).toBe(1);
    expect((await cli(['login', '--url', url, '--token', key, '--config', other])).code).toBe(0);
    expect(JSON.parse(readFileSync(other, 'utf8'))).toEqual({ url, token: key });
    expect((await cli(['status', '--config', other])).code).toBe(0);
    writeFileSync(other, '{not json');
    const broken = await cli(['status', '--config', other]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`cannot read the config file ${other}`);
  });
});
