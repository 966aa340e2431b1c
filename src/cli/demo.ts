/**
 * The demo account (`seatkeeper serve --demo`): one product modelled on each of the five
 * systems Seatkeeper was derived from (shared/seeds), so a new user sees real shapes at once.
 */
import type { Ctx } from '../server/context.js';
import { createAccount } from '../server/plugins/accounts.js';
import { defaultProductConfig } from '../server/defaults.js';
import { hashPassword, hashToken, newId, newSecret } from '../server/deps.js';
import type { ProductInput } from '../store/types.js';

export async function loadDemo(ctx: Ctx, password: string): Promise<{ account: string; endpoints: { name: string; key: string }[] } | null> {
  if (await ctx.store.findAccountByName('demo')) return null;
  const { account } = await createAccount(ctx, 'demo', 'Europe/Berlin', { username: 'admin', password });
  const a = account.id;
  const now = ctx.clock.now();
  const { store } = ctx;
  const base = defaultProductConfig();
  const product = (p: Partial<ProductInput> & Pick<ProductInput, 'key' | 'name' | 'seatModel'>) =>
    store.createProduct(a, newId('prd', now), { ...base, ...p }, now);
  const license = (productId: string, seats: number, extra: Partial<{ name: string; team: string; platform: string; overage: number; soft: number }> = {}) =>
    store.createLicense(a, newId('lic', now), {
      productId, seats, name: extra.name ?? null, team: extra.team ?? null, platform: extra.platform ?? null,
      overage: extra.overage ?? 0, startsAt: null, expiresAt: null, enforcement: extra.soft === undefined ? 'hard' : 'soft', window: 180,
      exceptionQuota: extra.soft ?? null,
    }, now);

  const teamA = await store.createTeam(a, newId('team', now), 'Team A', now);
  const teamB = await store.createTeam(a, newId('team', now), 'Team B', now);
  const pw = await hashPassword(password);
  const user = (username: string, role: 'admin' | 'member', teams: string[], maxLeases: number | null = null) =>
    store.createUser(a, newId('usr', now), { username, passwordHash: pw, role, teams, maxLeases, permissions: null }, now);
  await user('alice', 'admin', [teamA.id]);
  await user('bob', 'member', [teamA.id]);
  await user('carol', 'member', [teamB.id]);
  await user('support1', 'member', [], 1);

  // Optymyse: every display URL session is a seat; 10 s heartbeats, 3 missed frees it.
  const display = await product({ key: 'display', name: 'Wallboard display (Optymyse-style)', seatModel: 'session' });
  await license(display.id, 6, { name: 'Display pack' });
  const endpoints: { name: string; key: string }[] = [];
  for (const name of ['Lobby TV', 'Operations wall']) {
    const key = newSecret('ske');
    await store.createEndpoint(a, newId('end', now), { productId: display.id, name, enabled: true }, hashToken(key), now);
    endpoints.push({ name, key });
  }

  // ISL Online: a concurrent user is one user on one device.
  const rs = await product({ key: 'remote-support', name: 'Remote support (ISL-style)', seatModel: 'user-device' });
  await license(rs.id, 3, { name: 'Concurrent users' });

  // pixi: desktop apps and the web app share one seat per user and computer; desktop
  // closes release after 15 s, an abandoned browser after 5 min, until-reset at 04:00.
  const suite = await product({
    key: 'office-suite', name: 'Desktop + web suite (pixi-style)', seatModel: 'user-device', linger: 15,
    clientTypes: { desktop: { interval: 5, timeout: 15 }, web: { interval: 60, timeout: 300 } },
  });
  await license(suite.id, 30, { name: 'CUL' });

  // TV Labs: a device-lab pool with teams and platform-restricted licenses (seed 003).
  const lab = await product({ key: 'device-lab', name: 'Device lab (TV Labs-style)', seatModel: 'session' });
  await license(lab.id, 1, { name: 'License 1', team: teamA.id, platform: 'android' });
  await license(lab.id, 1, { name: 'License 2', team: teamA.id, platform: 'ios' });
  await license(lab.id, 1, { name: 'License 3', team: teamB.id, platform: 'android' });
  await license(lab.id, 1, { name: 'License 4', team: teamB.id });
  await license(lab.id, 1, { name: 'License 5' });

  // Dynamsoft: devices activated for 90 days, +10 % grace; a metered scan quota.
  const sdk = await product({ key: 'barcode-sdk', name: 'Barcode SDK (Dynamsoft-style)', seatModel: 'device', quota: { units: 100_000, overage: 5 } });
  await license(sdk.id, 50, { name: 'Per device', overage: 10 });
  // …and a per-concurrent-instance license: never refuses, counts 3-minute windows over 5.
  const twain = await product({ key: 'web-twain', name: 'Web TWAIN (concurrent instances)', seatModel: 'session' });
  await license(twain.id, 5, { name: 'Concurrent instances', soft: 20 });
  await store.updateAccount(a, { settings: { ...account.settings, alertRecipients: 'licensing@demo.example' } });

  return { account: 'demo', endpoints };
}
