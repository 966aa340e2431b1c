/**
 * What the console's browser tests share: a real server (buildApp on an SQLite store,
 * listening on a port, timed work running) with account "acme", Debian's chromium driven by
 * playwright-core, logging in through the form, and screenshots in test-results/console/.
 * Outside CI the tests skip with a visible message when chromium is missing; in CI they fail.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import type { Clock } from '../../src/server/deps.js';
import { createAccount } from '../../src/server/plugins/accounts.js';
import { sqliteKind, type TestStore } from '../helpers/stores.js';

export const CHROMIUM = process.env.SEATKEEPER_CHROMIUM ?? '/usr/bin/chromium';
export const PASSWORD = 'correct horse battery';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SHOTS = join(ROOT, 'test-results', 'console');
export const haveChromium = existsSync(CHROMIUM);

if (!haveChromium) {
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing and CI needs it for the console tests (apt-get install -y chromium)`);
  process.stderr.write(`\n⚠ ${CHROMIUM} not found: the web console browser tests are SKIPPED (apt-get install -y chromium).\n\n`);
}

/** Builds console/dist when it is missing or older than a console source file. */
function ensureConsoleBuilt(): void {
  const index = join(ROOT, 'console', 'dist', 'index.html');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  const sources = Math.max(newest(join(ROOT, 'console', 'src')), statSync(join(ROOT, 'console', 'index.html')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  execFileSync('npm', ['run', 'build', '-w', '@seatkeeper/console'], { cwd: ROOT, stdio: 'ignore' });
}

export type ApiCall = (method: string, path: string, token: string | null, body?: unknown) => Promise<{ status: number; body: any }>;

export interface ConsoleServer {
  app: App;
  base: string;
  /** Owner token of account "acme". */
  owner: string;
  api: ApiCall;
  login(username: string): Promise<string>;
  close(): Promise<void>;
}

/** A listening server with account "acme" (owner "owner"), its timed work ticking every 250 ms and its outbox sent every 500 ms. */
export async function startConsoleServer(opts: { clock?: Clock } = {}): Promise<ConsoleServer> {
  ensureConsoleBuilt();
  mkdirSync(SHOTS, { recursive: true });
  const ts: TestStore = await sqliteKind.open();
  const app = await buildApp({ store: ts.store, ...(opts.clock && { clock: opts.clock }), config: { loginRateLimit: 1000 } });
  await createAccount(app.ctx, 'acme', 'Europe/Berlin', { username: 'owner', password: PASSWORD });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const base = `http://127.0.0.1:${address.port}`;
  const ticker = setInterval(() => void app.ctx.service.tick().catch(() => undefined), 250);
  // Alert e-mail and webhooks go out apart from the tick, as `seatkeeper serve` sends them.
  const sender = setInterval(() => void app.ctx.notifier.run().catch(() => undefined), 500);
  const api: ApiCall = async (method, path, token, body) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const login = async (username: string) => (await api('POST', '/v1/auth/login', null, { account: 'acme', username, password: PASSWORD })).body.token as string;
  return {
    app, base, api, login, owner: await login('owner'),
    async close() {
      clearInterval(ticker);
      clearInterval(sender);
      await app.close();
      await ts.drop();
    },
  };
}

export interface ConsoleBrowser {
  browser: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** Headless chromium at 1024×768 with its own profile directory. */
export async function launchBrowser(): Promise<ConsoleBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'seatkeeper-chromium-'));
  const browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1024, height: 768 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(10_000);
  return {
    browser, page,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A full-page screenshot named after the page and the viewport, in test-results/console/. */
export async function shot(p: Page, name: string): Promise<void> {
  const size = p.viewportSize();
  await p.screenshot({ path: join(SHOTS, `${name}-${size?.width}x${size?.height}.png`), fullPage: true });
}

/** Fills the login form of account "acme" and submits it. */
export async function logIn(p: Page, username: string): Promise<void> {
  await p.getByLabel('Account').fill('acme');
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(PASSWORD);
  await p.getByRole('button', { name: 'Log in' }).click();
}

/**
 * Waits until a page has loaded what it shows: the admin stream keeps a request open, so
 * "network idle" never comes; the loading notes going is the sign instead.
 */
export async function settled(p: Page): Promise<void> {
  await p.locator('.loading').first().waitFor({ state: 'detached' });
  await p.waitForTimeout(200);
}

/**
 * Screenshots of console pages (`[hash, h1 heading, name]`) at 1024×768 and 390×844, each
 * checked to show no error; the viewport is 1024×768 again afterwards.
 */
export async function shootPages(p: Page, base: string, pages: ReadonlyArray<readonly [string, string, string]>): Promise<void> {
  for (const size of [{ width: 1024, height: 768 }, { width: 390, height: 844 }]) {
    await p.setViewportSize(size);
    for (const [hash, heading, name] of pages) {
      await p.goto(`${base}/console/${hash}`);
      await p.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await settled(p);
      expect(await p.getByRole('alert').count(), `${hash} shows an error`).toBe(0);
      await shot(p, name);
    }
  }
  await p.setViewportSize({ width: 1024, height: 768 });
}
