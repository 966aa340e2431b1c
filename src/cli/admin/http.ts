import { CliError, EXIT } from './errors.js';

export interface Conn {
  url: string;
  token: string | null;
}

export interface Answer {
  status: number;
  body: unknown;
  contentType: string;
  text: string;
}

/**
 * One API request. A problem answer becomes a CliError (exit 1) carrying the problem; no
 * answer at all becomes exit 3.
 */
export async function api(conn: Conn, method: string, path: string, o: { body?: unknown; query?: Record<string, string | number | undefined>; accept?: string } = {}): Promise<Answer> {
  const url = new URL(conn.url.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(o.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        accept: o.accept ?? 'application/json',
        ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}),
        ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
    throw new CliError(`cannot reach the server at ${conn.url} (${why})`, EXIT.unreachable);
  }
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let body: unknown = text;
  if (/json/.test(contentType) && text) {
    try {
      body = JSON.parse(text);
    } catch {
      /* keep the text */
    }
  }
  if (!res.ok) throw refusal(method, path, res.status, body);
  return { status: res.status, body, contentType, text };
}

function refusal(method: string, path: string, status: number, body: unknown): CliError {
  if (typeof body === 'object' && body !== null && typeof (body as { code?: unknown }).code === 'string') {
    const p = body as Record<string, unknown> & { code: string; detail?: string; title?: string };
    let message = `${p.detail ?? p.title ?? 'refused'} (${p.code}, HTTP ${status})`;
    if (status === 404 && typeof p.detail === 'string' && p.detail.startsWith('no route')) {
      message += `\n  this server does not offer ${method} ${path.split('?')[0]}; it may be an older version`;
    }
    return new CliError(message, EXIT.refused, p);
  }
  return new CliError(`the server answered HTTP ${status} to ${method} ${path}`, EXIT.refused);
}

/** Every item of a list, following `next` cursors (bounded). */
export async function listAll(conn: Conn, path: string, query: Record<string, string | number | undefined> = {}, max = 10_000): Promise<unknown[]> {
  const items: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = (await api(conn, 'GET', path, { query: { ...query, limit: 1000, cursor } })).body as { items?: unknown[]; next?: string | null };
    if (!page || !Array.isArray(page.items)) throw new CliError(`unexpected answer to GET ${path}`, EXIT.refused);
    items.push(...page.items);
    cursor = page.next ?? undefined;
  } while (cursor && items.length < max);
  return items;
}
