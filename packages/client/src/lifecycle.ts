/**
 * Giving the seat back when the program goes away: `pagehide` in browsers (a keepalive
 * request outlives the page), SIGINT/SIGTERM/beforeExit in Node. Both are reached through
 * `globalThis`, so this file needs neither DOM nor Node types and the SDK has no
 * platform-specific build.
 */

interface PageEvent {
  persisted?: boolean;
}
interface PageGlobal {
  addEventListener(type: string, fn: (e: PageEvent) => void): void;
  removeEventListener(type: string, fn: (e: PageEvent) => void): void;
  document?: unknown;
}
interface ProcessLike {
  pid: number;
  on(event: string, fn: (...args: unknown[]) => void): unknown;
  off(event: string, fn: (...args: unknown[]) => void): unknown;
  listenerCount(event: string): number;
  kill(pid: number, signal: string): unknown;
}

/**
 * Calls `onHide` on `pagehide` and `onShow` when the page comes back from the back/forward
 * cache. Does nothing outside a browser page. Returns the uninstaller.
 */
export function onPageLifecycle(onHide: () => void, onShow: () => void): () => void {
  const g = globalThis as unknown as Partial<PageGlobal>;
  if (typeof g.addEventListener !== 'function' || typeof g.removeEventListener !== 'function' || g.document === undefined) {
    return () => undefined;
  }
  const hide = () => onHide();
  const show = (e: PageEvent) => {
    if (e.persisted) onShow();
  };
  g.addEventListener('pagehide', hide);
  g.addEventListener('pageshow', show);
  return () => {
    g.removeEventListener?.('pagehide', hide);
    g.removeEventListener?.('pageshow', show);
  };
}

type Releaser = () => Promise<unknown>;
const releasers = new Set<Releaser>();
const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed: { proc: ProcessLike; onSignal: (signal: unknown) => void; onBeforeExit: () => void } | null = null;

function processLike(): ProcessLike | null {
  const p = (globalThis as { process?: Partial<ProcessLike> }).process;
  return p && typeof p.on === 'function' && typeof p.off === 'function' && typeof p.kill === 'function' ? (p as ProcessLike) : null;
}

/**
 * Node: runs `release` (with every other registered handle's) on SIGINT, SIGTERM or
 * beforeExit. After a signal, once all releases settled, the signal is raised again if no
 * one else listens for it, so the process ends as it would have. Returns the uninstaller.
 */
export function onProcessExit(release: Releaser): () => void {
  const proc = processLike();
  if (!proc) return () => undefined;
  releasers.add(release);
  if (!installed) {
    const releaseAll = () => {
      const all = [...releasers];
      releasers.clear();
      uninstallProcessHooks();
      return Promise.allSettled(all.map((r) => r()));
    };
    const onSignal = (signal: unknown) => {
      void releaseAll().then(() => {
        if (typeof signal === 'string' && proc.listenerCount(signal) === 0) proc.kill(proc.pid, signal);
      });
    };
    const onBeforeExit = () => void releaseAll();
    for (const s of SIGNALS) proc.on(s, onSignal);
    proc.on('beforeExit', onBeforeExit);
    installed = { proc, onSignal, onBeforeExit };
  }
  return () => {
    releasers.delete(release);
    if (releasers.size === 0) uninstallProcessHooks();
  };
}

function uninstallProcessHooks(): void {
  if (!installed) return;
  for (const s of SIGNALS) installed.proc.off(s, installed.onSignal);
  installed.proc.off('beforeExit', installed.onBeforeExit);
  installed = null;
}
