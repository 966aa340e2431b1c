import { ApiProblem, isMissingRoute, type Api } from './api.js';
import { SseParser, type SseMessage } from './sse-parse.js';

/**
 * Where live updates come from: the admin event stream (GET /v1/events) when the server has
 * it and the caller may read it, else polling. A stream that drops is retried with backoff,
 * polling meanwhile; a server without the route (404) or a member (403) stays on polling.
 * Events only say "something changed": pages reload what they show, so a reconnect needs no
 * replay (Last-Event-ID) to be correct.
 */
export type LiveMode = 'connecting' | 'stream' | 'poll';

export class LiveFeed {
  mode: LiveMode = 'connecting';
  /** Why the feed polls, shown beside the indicator. */
  reason = '';
  private readonly listeners = new Set<(m: SseMessage) => void>();
  private readonly modeListeners = new Set<() => void>();
  private abort: AbortController | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private backoffMs = 2000;
  private stopped = false;

  constructor(private readonly api: Api) {}

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.listeners.clear();
    this.modeListeners.clear();
  }

  onEvent(fn: (m: SseMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onMode(fn: () => void): () => void {
    this.modeListeners.add(fn);
    return () => this.modeListeners.delete(fn);
  }

  private setMode(mode: LiveMode, reason = ''): void {
    if (this.mode === mode && this.reason === reason) return;
    this.mode = mode;
    this.reason = reason;
    for (const fn of this.modeListeners) fn();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.abort = new AbortController();
    const parser = new SseParser();
    try {
      const res = await this.api.raw('GET', '/v1/events', undefined, 'text/event-stream', this.abort.signal);
      if (!res.body || !(res.headers.get('content-type') ?? '').includes('text/event-stream')) {
        this.setMode('poll', 'the server sent no event stream');
        return;
      }
      this.setMode('stream');
      this.backoffMs = 2000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const m of parser.push(value)) {
          for (const fn of this.listeners) fn(m);
        }
      }
      this.retry('the event stream closed');
    } catch (err) {
      if (this.stopped) return;
      if (isMissingRoute(err)) return this.setMode('poll', 'this server has no admin event stream');
      if (err instanceof ApiProblem && (err.status === 403 || err.status === 401)) return this.setMode('poll', 'the event stream needs an admin');
      this.retry(err instanceof Error ? err.message : 'the event stream failed');
    }
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    this.setMode('poll', `reconnecting: ${reason}`);
    this.retryTimer = setTimeout(() => void this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, 60_000);
  }
}

/**
 * The ids of the alerts an `alert` event of the admin stream carries: one event per check,
 * `{ alerts: [{ id, … }], conditions }` (docs/metering.md); a single `{ id }` is taken too.
 */
export function alertIds(data: string): string[] {
  try {
    const d = JSON.parse(data) as { id?: unknown; alerts?: unknown };
    const list = Array.isArray(d.alerts) ? (d.alerts as { id?: unknown }[]) : [d];
    return list.map((a) => a?.id).filter((id): id is string => typeof id === 'string');
  } catch {
    return [];
  }
}

/**
 * Of the alerts an `alert` event carries, those newer than `after` (an alert id; ids sort by
 * time). A new stream replays the account's past events, so "new" is judged against the
 * newest alert known when the page looked, not by the event's arrival.
 */
export function alertIdsAfter(data: string, after: string): string[] {
  return alertIds(data).filter((id) => id > after);
}
