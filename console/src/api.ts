import type { Page } from './types.js';

/** An error answer of the API (problem+json), or a failure to reach it (status 0, code "network"). */
export class ApiProblem extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly detail: string;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    const detail = typeof body.detail === 'string' ? body.detail : `the server answered ${status}`;
    super(detail);
    this.name = 'ApiProblem';
    this.status = status;
    this.body = body;
    this.code = typeof body.code === 'string' ? body.code : status === 0 ? 'network' : `http-${status}`;
    this.title = typeof body.title === 'string' ? body.title : status === 0 ? 'Server unreachable' : `HTTP ${status}`;
    this.detail = detail;
  }
}

/**
 * The route does not exist on this server (an older version, or a feature not built yet):
 * the server's catch-all answers 404 "no route METHOD /path". The console then shows the
 * feature as not available instead of as an error.
 */
export function isMissingRoute(e: unknown): boolean {
  return e instanceof ApiProblem && e.status === 404 && e.code === 'not-found' && e.detail.startsWith('no route');
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query: Query = {}): string {
  const qs = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return qs ? `${path}?${qs}` : path;
}

/** Thin fetch wrapper: bearer token, JSON in and out, problems as ApiProblem. */
export class Api {
  constructor(
    readonly token: string | null,
    private readonly onUnauthorized: (p: ApiProblem) => void = () => undefined,
  ) {}

  async request<T>(method: string, path: string, body?: unknown, accept = 'application/json'): Promise<T> {
    const res = await this.raw(method, path, body, accept);
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? await res.json() : await res.text()) as T;
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', withQuery(path, query));
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete(path: string): Promise<void> {
    return this.request<void>('DELETE', path);
  }

  /** Every item of a list, following `next` up to `maxPages` pages; `more` tells if it stopped early. */
  async all<T>(path: string, query: Query = {}, maxPages = 10): Promise<{ items: T[]; more: boolean }> {
    const items: T[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < maxPages; i++) {
      const page: Page<T> = await this.get<Page<T>>(path, { limit: 1000, ...query, cursor });
      items.push(...page.items);
      cursor = page.next;
      if (cursor === null) return { items, more: false };
    }
    return { items, more: true };
  }

  /** The response itself (for CSV downloads and event streams); problems still throw. */
  async raw(method: string, path: string, body?: unknown, accept = 'application/json', signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: signal ?? null });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiProblem(0, { detail: `could not reach the server (${err instanceof Error ? err.message : String(err)})` });
    }
    if (res.ok) return res;
    let problem: Record<string, unknown> = {};
    try {
      const text = await res.text();
      problem = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      problem = { detail: `the server answered ${res.status} ${res.statusText}` };
    }
    const p = new ApiProblem(res.status, problem);
    if (res.status === 401 && this.token) this.onUnauthorized(p);
    throw p;
  }
}
