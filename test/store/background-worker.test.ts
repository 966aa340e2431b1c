import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `startBackgroundWorker`: a worker's isolate compiles optimised code on its own thread, and
 * nothing else changes. Checked from V8's own trace (`--trace-opt` prints each TurboFan job
 * with its mode) in a child process, where the flag's state is the process's own.
 */
const MODULE = new URL('../../src/store/sql/background-worker.ts', import.meta.url).href;
const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-bg-worker-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Code that makes `hotIn<where>` and its caller hot enough for TurboFan (the caller's loop is
 * compiled on stack, with the callee inlined, or the callee on its own).
 */
const hot = (where: string) =>
  `function hotIn${where}(x) { return x * 2 + 1; } function runHotIn${where}() { let t = 0; for (let k = 0; k < 300000; k++) t += hotIn${where}(k); return t; } for (let i = 0; i < 200; i++) runHotIn${where}();`;

const SCRIPT = `
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { startBackgroundWorker } from ${JSON.stringify(MODULE)};
// Started while the background worker's isolate is being created: the main isolate's jobs.
const bg = startBackgroundWorker(${JSON.stringify(hot('Background'))}, { eval: true });
${hot('Main')}
await once(bg, 'exit');
// A worker started afterwards, the plain way: the flag is back as it was.
await once(new Worker(${JSON.stringify(hot('PlainWorker'))}, { eval: true }), 'exit');
`;

/** The modes of the TurboFan jobs V8 traced for each part of the script (Background, Main, PlainWorker). */
async function modes(nodeFlags: string[]): Promise<Record<string, string[]>> {
  const file = join(dir, `script-${nodeFlags.length}.mjs`);
  writeFileSync(file, SCRIPT);
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, '--trace-opt', '--import', 'tsx', file], {
    env: { ...process.env, NODE_OPTIONS: '' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const out: Record<string, string[]> = {};
  for (const m of stdout.matchAll(/\[compiling method .*?<JSFunction (?:runH|h)otIn(\w+) .*?mode: ConcurrencyMode::(\w+)/g)) {
    (out[m[1]!] ??= []).push(m[2]!);
  }
  return out;
}

describe('startBackgroundWorker', () => {
  it("compiles the worker's code on its own thread, and only the worker's", async () => {
    const m = await modes([]);
    expect(m.Background?.length).toBeGreaterThan(0);
    expect(new Set(m.Background)).toEqual(new Set(['kSynchronous']));
    // The main isolate compiled concurrently while the flag was off, and a worker started later does too.
    expect(new Set(m.Main)).toEqual(new Set(['kConcurrent']));
    expect(new Set(m.PlainWorker)).toEqual(new Set(['kConcurrent']));
  }, 60_000);

  it('leaves a process started with the flag as it is', async () => {
    const m = await modes(['--no-concurrent-recompilation']);
    expect(new Set(m.Background)).toEqual(new Set(['kSynchronous']));
    expect(new Set(m.Main)).toEqual(new Set(['kSynchronous']));
    // Not turned on behind the user's back when the background worker came online.
    expect(new Set(m.PlainWorker)).toEqual(new Set(['kSynchronous']));
  }, 60_000);
});
