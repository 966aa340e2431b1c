import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
let s: TestServer;
beforeEach(async () => {
  s = await startTestServer();
  await s.call('POST', '/v1/products', { key: 'display', seatModel: 'session' });
  await s.call('POST', '/v1/licenses', { product: 'display', seats: 1 });
});
afterEach(async () => s.close());

it.each(['SIGTERM', 'SIGINT'] as const)('releaseOnExit: a Node program stopped with %s gives its seat back, then ends by that signal', async (signal) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/client/test/fixtures/hold-seat.ts', s.url, s.owner], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, sig) => resolve({ code, signal: sig })));
  const deadline = Date.now() + 20_000;
  while (!/granted (\S+)/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no grant:\n${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const leaseId = /granted (\S+)/.exec(out)![1]!;
  expect((await s.call('GET', `/v1/leases/${leaseId}`)).body.status).toBe('active');

  child.kill(signal);
  expect(await exited).toEqual({ code: null, signal });
  expect(out).toContain('released');
  expect((await s.call('GET', `/v1/leases/${leaseId}`)).body).toMatchObject({ status: 'ended', endReason: 'released' });
});
