import type { Worker } from 'node:worker_threads';
import { startBackgroundWorker } from './background-worker.js';
import type { SideAnswer, SideRequest } from './sqlite-side-worker.js';

/** The code of the process warning emitted when the side connection stops on its own. */
export const SIDE_STOPPED = 'SEATKEEPER_SIDE_CONNECTION_STOPPED';

/**
 * The embedded store's side connection: a worker thread with its own connection to the
 * database file, at a lower CPU priority than the event loop, that runs the store's mass writes (a heartbeat
 * timeout storm's expiry batches) while the event loop goes on answering heartbeats.
 *
 * Why: better-sqlite3 runs a statement on the thread that calls it. Expiring 10,000
 * sessions costs 45–70 µs each (docs/architecture.md, session 12), so on the main
 * connection a storm held the event loop for most of a second in 2–3 ms batches, with
 * the garbage its statements and rows made collected on the same thread. On the side the
 * batches run when the event loop has nothing to do, and their garbage is the worker's.
 *
 * The caller (`SqliteDriver.aside`) holds the driver's mutex while an operation runs, so the
 * two connections never write at once: the main connection's transactions wait in their
 * queue, as they would behind a group commit.
 */
export class SqliteSide {
  private worker: Worker | null = null;
  /** Closed, or the worker failed or exited: the driver runs mass writes on its own connection. */
  gone = false;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  /** The worker's first answer (number 0): its connection is open. */
  private started: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  /**
   * Settles when the worker has started and opened its connection (rejects if it failed to).
   * Starting loads the store's modules, a few hundred milliseconds: callers wait for it before
   * they take the driver's mutex, not while holding it.
   */
  ready(): Promise<void> {
    this.worker ??= this.start();
    return this.started;
  }

  /** The worker has started and its connection is open. */
  isReady = false;

  /** Runs operation `op` of `side-ops.ts` in one transaction on the side connection. */
  run(op: string, args: readonly unknown[]): Promise<unknown> {
    const worker = (this.worker ??= this.start());
    const seq = ++this.seq;
    return new Promise<unknown>((resolve, reject) => {
      this.awaitAnswer(worker, seq, { resolve, reject });
      const m: SideRequest = { seq, op, args };
      worker.postMessage(m);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    this.gone = true; // before the exit, which is then no news
    await w?.terminate();
  }

  /**
   * Waits for answer `seq`. The worker keeps the process alive only while an answer is awaited:
   * a program whose last work is a side operation does not exit before it settles, and an idle
   * side connection does not keep a program that forgot to close the store from exiting. (A
   * worker's 'message' listener refs its port whatever `unref()` said before, so this is
   * explicit.)
   */
  private awaitAnswer(worker: Worker, seq: number, p: { resolve: (v: unknown) => void; reject: (e: unknown) => void }): void {
    if (this.pending.size === 0) worker.ref();
    this.pending.set(seq, p);
  }

  private start(): Worker {
    const worker = startWorker(this.file);
    worker.on('message', (a: SideAnswer) => {
      const p = this.pending.get(a.seq);
      if (!p) return;
      this.pending.delete(a.seq);
      if (this.pending.size === 0) worker.unref();
      if (a.ok) p.resolve(a.json === undefined ? undefined : JSON.parse(a.json));
      else p.reject(Object.assign(new Error(a.error.message), a.error.code === undefined ? {} : { code: a.error.code }));
    });
    const fail = (e: unknown) => {
      // News only the first time, and not after a close: an error is followed by an exit.
      const news = !this.gone;
      this.gone = true;
      this.isReady = false;
      this.worker = null;
      // What an unanswered operation did is unknown (committed or not): its caller hears it
      // failed, and the store's operations are safe to run again (they claim what is left).
      const error = e instanceof Error ? e : new Error(`the side connection's worker exited (${String(e)})`);
      for (const p of this.pending.values()) p.reject(error);
      this.pending.clear();
      // On standard error like any process warning: the server goes on, slower in a storm,
      // and whoever runs it should know why.
      if (news) {
        process.emitWarning(`the embedded store's side connection stopped (${error.message}); expiry batches and lease timers run on the main connection from now on`, { code: SIDE_STOPPED });
      }
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    worker.unref();
    this.started = new Promise<void>((resolve, reject) => this.awaitAnswer(worker, 0, { resolve: () => ((this.isReady = true), resolve()), reject }));
    // Heard by whoever waits for it; a start that fails also fails the operations sent.
    this.started.catch(() => undefined);
    return worker;
  }
}

/**
 * The worker runs `sqlite-side-worker.js` beside this module. Run from TypeScript sources
 * (the tests, `npm run dev`), that file is `.ts`, which Node cannot load by itself: tsx,
 * which runs those sources, is registered in the worker first.
 */
function startWorker(file: string): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return startBackgroundWorker(new URL('./sqlite-side-worker.js', here), { workerData: { file } });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./sqlite-side-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return startBackgroundWorker(boot, { eval: true, workerData: { file } });
}
