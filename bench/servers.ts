/**
 * Child processes: the servers under test and the load generator. Every child is recorded
 * and killed when this process exits, however it exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import ts from 'typescript';
import type { Command, ContendResult, CreateResult, OpenResult, Reply, Result, StormResult, Throughput } from './protocol.js';
import type { StatusCounts } from './http.js';

const children = new Set<ChildProcess>();
const cleanupPaths = new Set<string>();

function killAll(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const p of cleanupPaths) rmSync(p, { recursive: true, force: true });
  cleanupPaths.clear();
}

let installed = false;
/** Kill every child on exit, on Ctrl-C / SIGTERM and on an uncaught error. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping children\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    killAll();
    process.exit(1);
  });
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`bench: unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAll();
    process.exit(1);
  });
}

/** Removed on exit (the temp data directory). */
export function removeOnExit(path: string): void {
  cleanupPaths.add(path);
}

/** The bench files the child processes run. */
const CHILD_SOURCES = ['load', 'http', 'proc', 'protocol', 'bare-server'];

/**
 * Transpiles the children's TypeScript to plain ESM in a temporary directory (removed on
 * exit) and returns it. The children then run on plain `node`, without tsx: tsx's loader
 * hooks live on a second thread whose garbage collection would share the child's single
 * pinned core and show up as stalls in the generator's send lag. Package imports
 * (`fastify`) are rewritten to absolute URLs, since the directory has no node_modules.
 */
export function compileChildScripts(benchDir: string): string {
  const outDir = mkdtempSync(join(tmpdir(), 'seatkeeper-bench-js-'));
  removeOnExit(outDir);
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  for (const name of CHILD_SOURCES) {
    const source = readFileSync(join(benchDir, `${name}.ts`), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
      fileName: `${name}.ts`,
    });
    const code = out.outputText.replace(/(\bfrom\s+)'([^.'][^']*)'/g, (whole, from: string, spec: string) =>
      spec.startsWith('node:') ? whole : `${from}'${import.meta.resolve(spec)}'`,
    );
    writeFileSync(join(outDir, `${name}.js`), code);
  }
  return outDir;
}

/**
 * V8 flags for the generator: pinned to one core, parallel GC helper threads only contend
 * with its main thread and lengthen its pauses (send lag). The servers under test run with
 * no extra flags.
 */
const GENERATOR_NODE_FLAGS = ['--single-threaded-gc'];

export const hasTaskset: boolean = (() => {
  if (process.platform !== 'linux') return false;
  const r = spawnSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  return r.status === 0;
})();

/** Pins this (orchestrator) process to a core, if taskset exists. */
export function pinSelf(core: number): boolean {
  if (!hasTaskset) return false;
  return spawnSync('taskset', ['-a', '-p', '-c', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/**
 * Nice value of the measured processes (servers and generator), when this process may raise
 * priority (root). The machine may run other services (this one has RabbitMQ, MariaDB, NATS):
 * their bursts otherwise take the server's core for tens of milliseconds (seen with
 * `perf sched timehist`: the server runnable but waiting 10–27 ms behind an Erlang VM's
 * threads), which lands in the latency figures as if the server had stalled. Every measured
 * process gets the same priority, the bare baseline included, so the ratios stay fair.
 */
export const PRIORITY: number | null = (() => {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  return spawnSync('nice', ['-n', '-10', 'true'], { stdio: 'ignore' }).status === 0 ? -10 : null;
})();

/**
 * `[nice -n P] [taskset -c core] cmd args`, each when available (both exec, keeping the pid).
 * Priority at exec, so that every thread of the process (V8's helpers too) inherits it.
 */
function pinned(core: number | null, cmd: string, args: string[]): [string, string[]] {
  const [c, a]: [string, string[]] = core !== null && hasTaskset ? ['taskset', ['-c', String(core), cmd, ...args]] : [cmd, args];
  return PRIORITY !== null ? ['nice', ['-n', String(PRIORITY), c, ...a]] : [c, a];
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerProc {
  name: string;
  pid: number;
  port: number;
  logFile: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface StartOptions {
  name: string;
  /** Arguments to `node`. */
  nodeArgs: string[];
  port: number;
  core: number | null;
  env?: NodeJS.ProcessEnv;
  cwd: string;
  ready: RegExp;
  logFile: string;
  timeoutMs?: number;
}

/** Starts `node …` pinned to a core; resolves once a stdout line matches `ready`. */
export function startServer(o: StartOptions): Promise<ServerProc> {
  const [cmd, args] = pinned(o.core, process.execPath, o.nodeArgs);
  const child = spawn(cmd, args, { cwd: o.cwd, env: { ...process.env, ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const log = createWriteStream(o.logFile);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let seen = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    children.delete(child);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${o.name} did not start within ${o.timeoutMs ?? 30_000} ms; see ${o.logFile}`));
    }, o.timeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('utf8');
      if (o.ready.test(seen)) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        child.off('exit', onExit);
        resolve({ name: o.name, pid: child.pid!, port: o.port, logFile: o.logFile, child, stop });
      }
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      reject(new Error(`${o.name} exited (${signal ?? code}) before it was ready: ${seen.slice(-500)}; see ${o.logFile}`));
    };
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

interface ResultOf {
  'closed-get': Throughput;
  'closed-heartbeat': Throughput;
  create: CreateResult;
  close: { closed: number; statuses: StatusCounts };
  'open-heartbeat': OpenResult;
  contend: ContendResult;
  storm: StormResult;
  exit: null;
}

/** The load generator child (bench/load.ts under tsx), driven by IPC. */
export class Generator {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Result) => void; reject: (e: Error) => void }>();
  readonly pid: number;

  private constructor(private readonly child: ChildProcess) {
    this.pid = child.pid!;
    child.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`generator: ${m.error}`));
    });
    child.on('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`the generator exited (${signal ?? code})`));
      this.pending.clear();
      children.delete(child);
    });
  }

  /** `jsDir`: the output of compileChildScripts. */
  static start(core: number | null, cwd: string, jsDir: string, env: NodeJS.ProcessEnv = {}): Generator {
    const [cmd, args] = pinned(core, process.execPath, [...GENERATOR_NODE_FLAGS, join(jsDir, 'load.js')]);
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    children.add(child);
    return new Generator(child);
  }

  send<C extends Command>(c: C): Promise<ResultOf[C['cmd']]> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: Result) => void, reject });
      this.child.send({ ...c, id });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.send({ cmd: 'exit' }).catch(() => undefined);
    await exited;
    clearTimeout(t);
  }
}
