/**
 * Hash routes: `#/leases?mine=1` → { path: '/leases', query: { mine: '1' } }. The console
 * lives at one URL (/console/) so links such as a refusal's `manageUrl` need no server
 * fallback; this module is pure so the root test suite can check it.
 */
export interface Route {
  path: string;
  query: Record<string, string>;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const pathPart = q === -1 ? raw : raw.slice(0, q);
  const path = `/${pathPart.split('/').filter(Boolean).join('/')}`;
  const query: Record<string, string> = {};
  if (q !== -1) {
    for (const pair of raw.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const k = decodeURIComponent((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      const v = eq === -1 ? '' : decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '));
      if (k) query[k] = v;
    }
  }
  return { path, query };
}

/** The inverse of parseHash; empty values are left out so filters can be cleared. */
export function formatHash(path: string, query: Record<string, string | undefined> = {}): string {
  const parts = Object.entries(query)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return `#${path}${parts.length ? `?${parts.join('&')}` : ''}`;
}

/** First path segment: '/setup/users' → 'setup'. */
export function section(path: string): string {
  return path.split('/')[1] ?? '';
}
