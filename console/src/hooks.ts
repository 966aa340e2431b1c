import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { useConsole } from './context.js';
import { licenseName, shortId } from './format.js';
import { alertIdsAfter, type LiveFeed } from './live.js';
import type { License, Product } from './types.js';

/** How often pages poll when the server has no admin event stream (or the caller may not read it). */
export const POLL_MS = 3000;
/** With the stream up, a slow safety poll still runs (an event may be lost on a reconnect). */
const STREAM_SAFETY_MS = 30_000;

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  updatedAt: number | null;
  reload(): Promise<void>;
}

/**
 * Loads `fn` when `deps` change. With `live`, reloads on every admin event (debounced) or,
 * without the stream, every POLL_MS while the tab is visible. Loads never overlap: a
 * request for another while one runs is folded into one more afterwards.
 */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], live = false): Loaded<T> {
  const { feed } = useConsole();
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean; updatedAt: number | null }>({
    data: undefined, error: null, loading: true, updatedAt: null,
  });
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const running = useRef<Promise<void> | null>(null);
  const again = useRef(false);
  const generation = useRef(0);

  const reload = useCallback(async (): Promise<void> => {
    if (running.current) {
      again.current = true;
      return running.current;
    }
    const gen = generation.current;
    const run = (async () => {
      do {
        again.current = false;
        try {
          const data = await fnRef.current();
          if (gen === generation.current) setState({ data, error: null, loading: false, updatedAt: Date.now() });
        } catch (error) {
          if (gen === generation.current) setState((s) => ({ ...s, error, loading: false }));
        }
      } while (again.current && gen === generation.current);
    })();
    running.current = run;
    try {
      await run;
    } finally {
      if (running.current === run) running.current = null;
    }
  }, []);

  useEffect(() => {
    // New deps: answers of older loads are dropped.
    generation.current++;
    running.current = null;
    setState((s) => ({ ...s, loading: true, error: null }));
    void reload();
  }, deps);

  const [mode, setMode] = useState(feed.mode);
  useEffect(() => feed.onMode(() => setMode(feed.mode)), [feed]);

  useEffect(() => {
    if (!live) return;
    let debounce: ReturnType<typeof setTimeout> | null = null;
    const off = feed.onEvent(() => {
      if (debounce) return;
      debounce = setTimeout(() => {
        debounce = null;
        void reload();
      }, 250);
    });
    const every = mode === 'stream' ? STREAM_SAFETY_MS : POLL_MS;
    const timer = setInterval(() => {
      if (!document.hidden) void reload();
    }, every);
    return () => {
      off();
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
    };
  }, [live, mode, feed, reload]);

  return { ...state, reload };
}

/** The current time, ticking every `ms` (for countdowns and "ago" labels). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Products and licenses of the account (admins), to put names on ids and keys. */
export interface Catalog {
  products: Product[];
  licenses: License[];
}

export function useCatalog(deps: unknown[] = []): Loaded<Catalog> & { productName(keyOrId: string): string; licenseLabel(id: string | null): string } {
  const { api } = useConsole();
  const loaded = useLoad(async () => {
    const [products, licenses] = await Promise.all([api.all<Product>('/v1/products').then((r) => r.items), api.all<License>('/v1/licenses').then((r) => r.items)]);
    return { products, licenses };
  }, deps);
  const productName = (keyOrId: string) => {
    const p = loaded.data?.products.find((x) => x.key === keyOrId || x.id === keyOrId);
    return p ? p.name || p.key : keyOrId;
  };
  const licenseLabel = (id: string | null) => {
    if (id === null) return '—';
    const l = loaded.data?.licenses.find((x) => x.id === id);
    return l ? licenseName(l) : shortId(id);
  };
  return { ...loaded, productName, licenseLabel };
}

/**
 * Calls `onNew` with the ids of the alerts of each `alert` event of the admin stream that are
 * newer than `baseline.current` (nothing until that is known: a stream replays old events).
 */
export function useAlertEvents(feed: LiveFeed, baseline: { current: string | null }, onNew: (ids: string[]) => void): void {
  const fn = useRef(onNew);
  fn.current = onNew;
  useEffect(
    () =>
      feed.onEvent((m) => {
        if (m.event === 'alert' && baseline.current !== null) fn.current(alertIdsAfter(m.data, baseline.current));
      }),
    [feed, baseline],
  );
}
