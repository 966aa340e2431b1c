/**
 * A real Seatkeeper server in this process, on a real port and a real SQLite file, with a
 * fake clock: the SDK under test talks to it over HTTP. `restart` closes the app and the
 * store and opens both again on the same file and port, as a process restart would.
 */
import type { AddressInfo } from 'node:net';
import { buildApp, type App } from '../../../../src/server/app.js';
import { FakeClock } from '../../../../src/server/deps.js';
import { createAccount } from '../../../../src/server/plugins/accounts.js';
import { openStore } from '../../../../src/store/open.js';
import type { Store } from '../../../../src/store/types.js';
import { sqliteKind, type TestStore } from '../../../../test/helpers/stores.js';

export const T0 = Date.UTC(2026, 5, 1, 12, 0, 0);
const PASSWORD = 'correct horse battery';

export interface TestServer {
  app: App;
  clock: FakeClock;
  url: string;
  port: number;
  owner: string;
  /** JSON over fetch as the owner (or with `token`). */
  call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: any }>;
  /** Runs the server's timed work (expiry, linger) at the fake clock's time. */
  tick(): Promise<void>;
  /** Closes the app and the store (the port is then refused). */
  stop(): Promise<void>;
  /** Opens the store file again and listens on the same port, recovering live sessions. */
  start(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const ts: TestStore = await sqliteKind.open();
  const clock = new FakeClock(T0);
  let store: Store = ts.store;
  let app = await buildApp({ store, clock, config: { loginRateLimit: 1000 } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  await createAccount(app.ctx, 'acme', 'UTC', { username: 'owner', password: PASSWORD });

  const call: TestServer['call'] = async (method, path, body, token) => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token ?? s.owner}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
  let stopped = false;
  const s: TestServer = {
    get app() {
      return app;
    },
    clock,
    url,
    port,
    owner: '',
    call,
    tick: () => app.ctx.service.tick(),
    async stop() {
      if (stopped) return;
      stopped = true;
      // A hard stop, like a killed process: streams get their graceful end (preClose), then
      // whatever is still connected is cut. Without the cut, app.close() can wait for a
      // socket whose client went away mid-request (observed when a client aborts GET /v1/sessions/{id}/events before the stream starts).
      const closing = app.close();
      const cut = setTimeout(() => app.server.closeAllConnections(), 100);
      await closing;
      clearTimeout(cut);
      await store.close();
    },
    async restart() {
      await s.stop();
      await s.start();
    },
    async start() {
      store = (await openStore({ data: ts.location })).store;
      app = await buildApp({ store, clock, config: { loginRateLimit: 1000 } });
      await app.ctx.service.recover();
      await app.listen({ port, host: '127.0.0.1' });
      stopped = false;
    },
    async close() {
      await s.stop();
      await ts.drop();
    },
  };
  const login = await fetch(`${url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ account: 'acme', username: 'owner', password: PASSWORD }),
  });
  s.owner = ((await login.json()) as { token: string }).token;
  return s;
}
