import { SeatkeeperError } from './errors.js';
import { systemTimers, type Timers } from './timers.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiOptions {
  /** Base URL of the server, e.g. `https://licenses.example.com`. */
  url: string;
  /** Default bearer token (user token, API key or endpoint key). */
  token?: string | undefined;
  /** Longest wait for an answer (ms); default 15000. Event streams have none. */
  timeout?: number | undefined;
  fetch?: FetchLike | undefined;
  timers?: Timers | undefined;
}

export interface RequestOptions {
  body?: unknown;
  /** Overrides the default token (session and ticket tokens); `null` sends none. */
  token?: string | null;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** `fetch` keepalive: the request outlives the page (release on page hide). */
  keepalive?: boolean;
  signal?: AbortSignal;
  timeout?: number;
}

export interface Answer<T> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A small JSON-over-fetch client for the Seatkeeper API. Any answer outside 2xx becomes a
 * `SeatkeeperError` with the problem's code; no answer becomes `network-error` or `timeout`.
 */
export class SeatkeeperApi {
  readonly url: string;
  private readonly token: string | undefined;
  private readonly timeout: number;
  private readonly fetchFn: FetchLike;
  private readonly timers: Timers;

  constructor(o: ApiOptions) {
    this.url = o.url.replace(/\/+$/, '');
    this.token = o.token;
    this.timeout = o.timeout ?? 15_000;
    // Looked up per call, so that a fetch installed (or mocked) later is the one used.
    this.fetchFn = o.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timers = o.timers ?? systemTimers;
  }

  /** The absolute URL of an API path, with a query string. */
  href(path: string, query?: RequestOptions['query']): string {
    let href = this.url + path;
    if (query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
      const s = q.toString();
      if (s) href += `?${s}`;
    }
    return href;
  }

  headers(o: Pick<RequestOptions, 'token' | 'headers' | 'body'> = {}): Record<string, string> {
    const token = o.token === undefined ? this.token : o.token;
    return {
      accept: 'application/json, application/problem+json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...o.headers,
    };
  }

  /**
   * Sends a request and returns the raw Response for a 2xx answer (the caller reads it:
   * an event stream, CSV); throws `SeatkeeperError` otherwise.
   */
  async send(method: string, path: string, o: RequestOptions = {}, withTimeout = true): Promise<Response> {
    const controller = new AbortController();
    const abort = () => controller.abort();
    o.signal?.addEventListener('abort', abort, { once: true });
    let timedOut = false;
    const limit = o.timeout ?? this.timeout;
    const timer = withTimeout
      ? this.timers.setTimeout(() => {
          timedOut = true;
          controller.abort();
        }, limit)
      : null;
    try {
      const res = await this.fetchFn(this.href(path, o.query), {
        method,
        headers: this.headers(o),
        ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
        ...(o.keepalive ? { keepalive: true } : {}),
        signal: controller.signal,
      });
      if (!res.ok) throw SeatkeeperError.fromAnswer(res.status, await readBody(res));
      return res;
    } catch (e) {
      if (e instanceof SeatkeeperError) throw e;
      if (timedOut) throw new SeatkeeperError('timeout', 0, `no answer from ${this.url} within ${limit} ms`, {}, { cause: e });
      if (o.signal?.aborted) throw e;
      throw new SeatkeeperError('network-error', 0, `cannot reach ${this.url}: ${describe(e)}`, {}, { cause: e });
    } finally {
      if (timer !== null) this.timers.clearTimeout(timer);
      o.signal?.removeEventListener('abort', abort);
    }
  }

  /** A JSON request; a 204 answers `undefined`. */
  async request<T = unknown>(method: string, path: string, o: RequestOptions = {}): Promise<Answer<T>> {
    const res = await this.send(method, path, o);
    const body = await readBody(res);
    if (res.status !== 204 && body === undefined) throw new SeatkeeperError('invalid-response', res.status, `empty answer to ${method} ${path}`);
    if (typeof body === 'string' && res.status !== 204) {
      throw new SeatkeeperError('invalid-response', res.status, `answer to ${method} ${path} is not JSON`);
    }
    return { status: res.status, body: body as T, headers: res.headers };
  }
}

/** Parses a body as JSON when it says so; otherwise answers its text (undefined when empty). */
async function readBody(res: Response): Promise<unknown> {
  const text = await res.text().catch(() => '');
  if (!text) return undefined;
  if (/json/i.test(res.headers.get('content-type') ?? '')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: { code?: unknown; message?: unknown } }).cause;
    if (cause && typeof cause.code === 'string') return cause.code;
    if (cause && typeof cause.message === 'string') return cause.message;
    return e.message;
  }
  return String(e);
}
