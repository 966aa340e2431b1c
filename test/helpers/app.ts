import { buildApp, type App } from '../../src/server/app.js';
import { FakeClock } from '../../src/server/deps.js';
import { createAccount } from '../../src/server/plugins/accounts.js';
import type { ServerConfig } from '../../src/server/context.js';
import type { StoreKind, TestStore } from './stores.js';

export const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
export const PASSWORD = 'correct horse battery';

export interface Harness {
  app: App;
  clock: FakeClock;
  ts: TestStore;
  /** Owner token of account "acme". */
  owner: string;
  accountId: string;
  close(): Promise<void>;
  req(method: string, url: string, token?: string | null, body?: unknown): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  login(username: string, account?: string): Promise<string>;
  /** Creates an account with its owner and returns the owner's token. */
  newAccount(name: string): Promise<{ token: string; accountId: string }>;
}

export async function harness(kind: StoreKind, config: Partial<ServerConfig> = {}): Promise<Harness> {
  const ts = await kind.open();
  const clock = new FakeClock(T0);
  const app = await buildApp({ store: ts.store, clock, config: { operatorKey: 'operator-secret', loginRateLimit: 1000, ...config } });
  const req: Harness['req'] = async (method, url, token, body) => {
    const r = await app.inject({
      method: method as 'GET',
      url,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown = r.body;
    try {
      parsed = r.body.length ? JSON.parse(r.body) : undefined;
    } catch {
      /* not JSON */
    }
    return { status: r.statusCode, body: parsed, headers: r.headers };
  };
  const login = async (username: string, account = 'acme') => {
    const r = await req('POST', '/v1/auth/login', null, { account, username, password: PASSWORD });
    if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.token as string;
  };
  const newAccount = async (name: string) => {
    const { account } = await createAccount(app.ctx, name, 'Europe/Berlin', { username: 'owner', password: PASSWORD });
    return { token: await login('owner', name), accountId: account.id };
  };
  const acme = await newAccount('acme');
  return {
    app, clock, ts, owner: acme.token, accountId: acme.accountId, req, login, newAccount,
    async close() {
      await app.close();
      await ts.drop();
    },
  };
}

/** Narrows a service acquisition to a grant (tests that never ask to wait). */
export function granted<T extends { kind: string }>(r: T): Extract<T, { kind: 'granted' }> {
  if (r.kind !== 'granted') throw new Error(`expected a grant, got ${r.kind}`);
  return r as Extract<T, { kind: 'granted' }>;
}
