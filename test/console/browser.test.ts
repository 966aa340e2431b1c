/**
 * The web console end to end: a real server (buildApp on an SQLite store, listening on a
 * port, timed work running) and Debian's chromium driven by playwright-core. Outside CI the
 * file skips with a visible message when chromium is missing; in CI it fails instead.
 * Screenshots of the main pages at 1024×768 and 390×844 go to test-results/console/.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchBrowser, logIn, PASSWORD, shootPages, shot, startConsoleServer, type ConsoleBrowser, type ConsoleServer } from './browser-harness.js';

describe.skipIf(!haveChromium)('web console in a real browser', () => {
  let server: ConsoleServer;
  let chromium: ConsoleBrowser;
  let base: string;
  let page: Page;
  let owner: string;
  const api: ConsoleServer['api'] = (...args) => server.api(...args);
  const login = (username: string) => server.login(username);
  const gauge = (p: Page, product: string) => p.getByRole('meter', { name: `${product}: seats in use` });

  beforeAll(async () => {
    server = await startConsoleServer();
    ({ base, owner } = server);
    expect((await api('POST', '/v1/products', owner, { key: 'cad', name: 'CAD suite', seatModel: 'user-device' })).status).toBe(201);
    expect((await api('POST', '/v1/licenses', owner, { product: 'cad', seats: 2, name: 'Main' })).status).toBe(201);
    chromium = await launchBrowser();
    page = chromium.page;
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it('logs in and shows each product as a gauge of seats in use of capacity', async () => {
    await page.goto(`${base}/console`);
    await expect(page.getByRole('heading', { name: 'Seatkeeper' }).isVisible()).resolves.toBe(true);
    await shot(page, 'login');

    await page.getByLabel('Account').fill('acme');
    await page.getByLabel('Username').fill('owner');
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    // A refusal shows the server's problem: its detail and its code.
    const problem = page.getByRole('alert');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('wrong account, username or password');
    expect(await problem.textContent()).toContain('unauthorized');

    await logIn(page, 'owner');
    await page.getByRole('heading', { name: 'Usage', level: 1 }).waitFor();
    const g = gauge(page, 'cad');
    expect(await g.getAttribute('aria-valuenow')).toBe('0');
    expect(await g.getAttribute('aria-valuemax')).toBe('2');
    // The server has the admin event stream, so the console follows it rather than polling.
    await page.locator('.live-stream').getByText('Live').waitFor();
  });

  it('sees usage change when a client takes a seat over HTTP', async () => {
    const r = await api('POST', '/v1/leases', owner, { product: 'cad', device: 'laptop-1' });
    expect(r.status).toBe(201);
    await expect.poll(() => gauge(page, 'cad').getAttribute('aria-valuenow'), { timeout: 10_000 }).toBe('1');
    expect(await page.getByRole('meter', { name: 'cad Main: seats in use' }).getAttribute('aria-valuenow')).toBe('1');
    await shot(page, 'usage');
  });

  it('releases a lease from the table and sees it go', async () => {
    // A desktop-style lease: held until the daily reset after its session closed, so a
    // release (logout) ends it.
    const held = await api('POST', '/v1/leases', owner, { product: 'cad', device: 'desk-2', hold: 'until-reset' });
    expect(held.status).toBe(201);
    const close = await fetch(`${base}/v1/sessions/${held.body.session.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${held.body.session.token}` } });
    expect(close.status).toBe(204);

    await page.getByRole('link', { name: 'Leases' }).click();
    await page.getByRole('heading', { name: 'Leases', level: 1 }).waitFor();
    const row = page.locator(`tr[data-lease-id="${held.body.lease.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('desk-2');
    await shot(page, 'leases');

    await page.getByRole('button', { name: `Release lease ${held.body.lease.id}` }).click();
    await row.waitFor({ state: 'detached' });
    expect(await page.getByRole('status').filter({ hasText: 'Released lease' }).count()).toBe(1);
    expect((await api('GET', `/v1/leases/${held.body.lease.id}`, owner)).body).toMatchObject({ status: 'ended', endReason: 'released' });
  });

  it('ends selected sessions with a message and a grace period', async () => {
    const live = (await api('GET', '/v1/leases?status=active', owner)).body.items;
    expect(live).toHaveLength(1);
    const id = live[0].id as string;
    await page.getByRole('checkbox', { name: `Select lease ${id}` }).check();
    await page.getByRole('button', { name: 'End selected sessions' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Message to the users').fill('Maintenance at noon');
    await dialog.getByLabel('Grace period (seconds)').fill('0');
    await shot(page, 'terminate-dialog');
    await dialog.getByRole('button', { name: 'End sessions' }).click();
    await page.getByRole('status').filter({ hasText: 'are ending' }).waitFor();
    await page.locator(`tr[data-lease-id="${id}"]`).waitFor({ state: 'detached' });
    expect((await api('GET', `/v1/leases/${id}`, owner)).body).toMatchObject({ status: 'ended', endReason: 'terminated' });
  });

  it("changes a license's seats in set-up and sees the gauge follow", async () => {
    await page.goto(`${base}/console/#/setup/licenses`);
    await page.getByRole('button', { name: 'Edit license Main' }).click();
    await page.getByLabel('Seats').fill('5');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('tr[data-license-id] td').nth(2).filter({ hasText: '5' }).waitFor();
    await shot(page, 'setup-licenses');
    await page.getByRole('link', { name: 'Usage' }).click();
    await expect.poll(() => gauge(page, 'cad').getAttribute('aria-valuemax')).toBe('5');
  });

  it('shows flex leases with a countdown when every seat is taken', async () => {
    expect((await api('POST', '/v1/products', owner, { key: 'lab', seatModel: 'session', flex: { channels: ['access'], duration: 1800 } })).status).toBe(201);
    expect((await api('POST', '/v1/licenses', owner, { product: 'lab', seats: 1 })).status).toBe(201);
    expect((await api('POST', '/v1/leases', owner, { product: 'lab', device: 'lab-1', channel: 'access' })).body.lease.kind).toBe('regular');
    const flex = await api('POST', '/v1/leases', owner, { product: 'lab', device: 'lab-2', channel: 'access' });
    expect(flex.body.lease.kind).toBe('flex');
    await page.goto(`${base}/console/#/usage`);
    const card = page.locator('section[data-product="lab"]');
    await card.getByText('Flex leases').waitFor();
    // 30 minutes from now, counting down.
    expect(await card.locator('li', { hasText: 'lab-2' }).textContent()).toMatch(/ends in (29:[0-5]\d|30:0\d)/);
    expect(await gauge(page, 'lab').getAttribute('aria-valuenow')).toBe('1');
  });

  it('sends a refused member to their own leases, logged in with the keyboard alone', async () => {
    const bob = await api('POST', '/v1/users', owner, { username: 'bob', password: PASSWORD, maxLeases: 1 });
    expect(bob.status).toBe(201);
    const bobToken = await login('bob');
    expect((await api('POST', '/v1/leases', bobToken, { product: 'cad', device: 'bob-laptop' })).status).toBe(201);
    const refused = await api('POST', '/v1/leases', bobToken, { product: 'cad', device: 'bob-desktop' });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('user-limit');
    const manage = new URL(refused.body.manageUrl, base);

    // On a phone-sized tab: the login and the own-leases view must work there too.
    const tab = await chromium.browser.newPage();
    await tab.setViewportSize({ width: 390, height: 844 });
    try {
      await tab.goto(`${base}${manage.pathname}${manage.hash}`);
      await tab.getByLabel('Account').waitFor();
      await shot(tab, 'login');
      await tab.getByLabel('Account').focus();
      await tab.keyboard.press('ControlOrMeta+a');
      await tab.keyboard.type('acme');
      await tab.keyboard.press('Tab');
      await tab.keyboard.type('bob');
      await tab.keyboard.press('Tab');
      await tab.keyboard.type(PASSWORD);
      await tab.keyboard.press('Enter');
      await tab.getByRole('heading', { name: 'My leases', level: 1 }).waitFor();
      // The heading shows before the leases have loaded.
      await tab.locator('tbody tr').first().waitFor();
      expect(await tab.locator('tbody tr').count()).toBe(1);
      expect(await tab.locator('tbody').textContent()).toContain('bob-laptop');
      // A member sees no reports or set-up.
      expect(await tab.getByRole('link', { name: 'Set-up' }).count()).toBe(0);
      await shot(tab, 'my-leases');
    } finally {
      await tab.close();
    }
  });

  it('creates an endpoint and an API key, showing each secret once, and disables the endpoint', async () => {
    await page.goto(`${base}/console/#/setup/endpoints`);
    await page.getByRole('button', { name: 'New endpoint' }).click();
    await page.getByLabel('Name').fill('Lobby TV');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByText('Endpoint “Lobby TV” created').waitFor();
    const key = await page.getByLabel('Copy secret: value').inputValue();
    expect(key).toMatch(/^ske_/);
    expect(await page.getByLabel('Copy display URL: value').inputValue()).toBe(`${base}/display/${key}`);
    await shot(page, 'setup-endpoint-created');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByLabel('Copy secret: value').count()).toBe(0);

    await page.getByRole('button', { name: 'Disable endpoint Lobby TV' }).click();
    await page.getByRole('button', { name: 'Enable endpoint Lobby TV' }).waitFor();
    expect((await api('GET', '/v1/endpoints', owner)).body.items[0]).toMatchObject({ name: 'Lobby TV', enabled: false });
    // A disabled endpoint is refused, and the refusal is recorded.
    expect((await api('POST', '/v1/leases', key, {})).body.code).toBe('endpoint-disabled');

    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('button', { name: 'New API key' }).click();
    await page.getByLabel('Name').fill('vendor backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('Copy secret: value').inputValue();
    expect(secret).toMatch(/^sks_/);
    expect((await api('GET', '/v1/usage', secret)).status).toBe(200);
  });

  it('saves settings and tops up pay-per-use', async () => {
    await page.goto(`${base}/console/#/setup/settings`);
    await page.getByLabel('Flex maximum').fill('7');
    await page.getByLabel('Time zone').fill('America/New_York');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved.').waitFor();
    expect((await api('GET', '/v1/settings', owner)).body).toMatchObject({ flexMax: 7, timezone: 'America/New_York' });

    await page.getByLabel('Time zone').fill('Mars/Olympus');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const problem = page.getByRole('alert');
    await problem.waitFor();
    expect(await problem.textContent()).toContain('unknown time zone Mars/Olympus');
    expect(await problem.textContent()).toContain('bad-request');

    await page.getByLabel('Minutes to add').fill('120');
    await page.getByRole('button', { name: 'Top up' }).click();
    await page.getByTestId('ppu-balance').filter({ hasText: '120' }).waitFor();
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'New user' }).click();
    await shot(page, 'setup-user-form');
  });

  it('shows reports and set-up; screenshots of the main pages at 1024×768 and 390×844', async () => {
    await api('POST', '/v1/teams', owner, { name: 'Team A' });
    await shootPages(page, base, [
      ['#/usage', 'Usage', 'usage'],
      ['#/leases?status=ended', 'Leases', 'leases-ended'],
      ['#/reports/denials', 'Reports', 'reports-denials'],
      ['#/reports/usage', 'Reports', 'reports-usage'],
      ['#/reports/sessions', 'Reports', 'reports-sessions'],
      ['#/setup/products', 'Set-up', 'setup-products'],
      ['#/setup/users', 'Set-up', 'setup-users'],
      ['#/setup/settings', 'Set-up', 'setup-settings'],
    ]);
    // The refusal of bob (user-limit) is in the denials report.
    await page.goto(`${base}/console/#/reports/denials`);
    await page.getByRole('cell', { name: 'user-limit' }).waitFor();
  }, 120_000);
});
