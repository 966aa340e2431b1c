import v8 from 'node:v8';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Whether `startBackgroundWorker` toggles `--concurrent-recompilation` at all: not in a process
 * started with that flag set either way, nor with `--single-threaded` or `--predictable`,
 * which imply it off (not to be undone either).
 */
const TOGGLE = ![...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
  /^--((no-)?concurrent[-_]recompilation|single[-_]threaded|predictable)(=|$)/.test(a),
);

/**
 * Starts a worker thread of the embedded store (the side connection, the checkpoint) whose
 * JavaScript engine compiles its optimised code on the worker's own thread, at the worker's
 * own low priority, instead of on V8's shared helper threads, which run at the process's.
 *
 * Why: the workers lower their thread's priority so that the event loop gets the server's core
 * whenever both want it. But V8 optimises hot functions on helper threads that every isolate of
 * the process shares, and those kept the process's priority: in the bench's first expiry storm,
 * the side's expiry code took about 100 ms of TurboFan compiling there, in slices of up to a
 * scheduler tick (4 ms) that a heartbeat's wake-up could not interrupt (docs/architecture.md,
 * session 16). Compiled on the worker's thread, that work waits behind the event loop like the
 * rest of the worker's.
 *
 * How: V8 decides whether an isolate compiles concurrently when it creates the isolate, from
 * its `--concurrent-recompilation` flag. The flag is off while a worker's isolate is being
 * created (until the worker is online, or failed) and back on afterwards; the main isolate and
 * the helpers it uses are not affected. A process started with the flag set either way (or
 * with a flag that implies it) is left as it is, and so are its workers.
 */
export function startBackgroundWorker(url: string | URL, options: WorkerOptions): Worker {
  if (!TOGGLE) return new Worker(url, options);
  if (starting++ === 0) v8.setFlagsFromString('--no-concurrent-recompilation');
  let worker: Worker;
  try {
    worker = new Worker(url, options);
  } catch (e) {
    created();
    throw e;
  }
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    created();
  };
  // 'online': the worker runs JavaScript, so its isolate exists. A worker that fails before
  // that exits (an 'error' is followed by 'exit'); the caller hears the error itself.
  worker.once('online', once);
  worker.once('exit', once);
  return worker;
}

/** Workers whose isolate may not exist yet: the flag stays off until none is left. */
let starting = 0;

function created(): void {
  if (--starting === 0) v8.setFlagsFromString('--concurrent-recompilation');
}
