/**
 * Property (issue 4): under random sequences of requests (with flex channels, pay-per-use
 * and waiting), seat releases, polls, cancellations, top-ups and time passing, no license
 * exceeds seats + overage, flex never exceeds flexMax, the pay-per-use balance never goes
 * below zero, and no waiting ticket is passed over by a later one (every ticket here is
 * eligible for every seat, and all are polled, so none expire).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import type { Principal } from '../../src/server/auth.js';
import { FakeClock } from '../../src/server/deps.js';
import { createAccount } from '../../src/server/plugins/accounts.js';
import { defaultProductConfig } from '../../src/server/defaults.js';
import { ApiError } from '../../src/errors.js';
import { storeKinds, type TestStore } from '../helpers/stores.js';

const kinds = await storeKinds();

type Cmd =
  | { t: 'acquire'; access: boolean; wait: boolean; ppu: boolean }
  | { t: 'close'; i: number }
  | { t: 'cancel'; i: number }
  | { t: 'topup'; minutes: number }
  | { t: 'advance'; ms: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('acquire' as const), access: fc.constantFrom(false, false, true), wait: fc.constantFrom(true, true, false), ppu: fc.constantFrom(false, false, true) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('close' as const), i: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cancel' as const), i: fc.nat(10) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('topup' as const), minutes: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 90_000 }) }) },
);

describe.each(kinds)('policy invariants under random sequences ($name)', (kind) => {
  let ts: TestStore;
  let app: App;
  const clock = new FakeClock(Date.UTC(2026, 6, 1, 8, 0, 0));
  let run = 0;
  beforeAll(async () => {
    ts = await kind.open();
    app = await buildApp({ store: ts.store, clock });
  });
  afterAll(async () => {
    await app.close();
    await ts.drop();
  });

  it('holds seats, flex, balance and queue order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 10, maxLength: 50 }), async (cmds) => {
        const { store, service } = app.ctx;
        const { account, owner } = await createAccount(app.ctx, `pol-${kind.name}-${++run}`, 'UTC', { username: 'o', password: 'irrelevant password' });
        await store.updateAccount(account.id, { settings: { ...account.settings, flexMax: 2, ppu: { enabled: true, balanceMinutes: 0, lowThreshold: 1 } } });
        await store.topUpPpu(account.id, 2);
        const product = await store.createProduct(account.id, `prd_pol_${run}`, {
          ...defaultProductConfig(), key: 'p', name: 'p', seatModel: 'session', heartbeat: { interval: 60, timeout: 3600 },
          flex: { channels: ['access'], duration: 120 },
        }, clock.now());
        const lic = await store.createLicense(account.id, `lic_pol_${run}`, {
          productId: product.id, seats: 2, name: null, team: null, platform: null, overage: 50, startsAt: null, expiresAt: null,
          enforcement: 'hard', window: 180, exceptionQuota: null,
        }, clock.now());
        const p: Principal = { kind: 'user', accountId: account.id, user: owner, tokenHash: '' };
        const sessions: { id: string; token: string }[] = [];
        const tickets: { id: string; token: string }[] = [];

        for (const c of cmds) {
          switch (c.t) {
            case 'acquire':
              try {
                const r = await service.acquire(p, { product: 'p', channel: c.access ? 'access' : 'web', wait: c.wait, ppu: c.ppu });
                if (r.kind === 'granted') sessions.push({ id: r.session.id, token: r.token });
                else if (r.kind === 'queued') tickets.push({ id: r.ticket.id, token: r.token });
              } catch (e) {
                if (!(e instanceof ApiError) || e.code !== 'no-seat') throw e;
              }
              break;
            case 'close': {
              const s = sessions[c.i];
              if (s) await service.closeSession(s.id, s.token);
              break;
            }
            case 'cancel': {
              const t = tickets[c.i];
              if (t) await service.cancelTicket(t.id, t.token);
              break;
            }
            case 'topup':
              await store.topUpPpu(account.id, c.minutes);
              break;
            case 'advance':
              clock.advance(c.ms);
              break;
          }
          // Every live session heartbeats and every ticket is polled, so only the rules
          // under test end anything.
          for (const s of sessions) await service.heartbeat(s.id, s.token).catch(() => undefined);
          for (const t of tickets) {
            const v = await service.ticket(t.id, t.token, true);
            if (v.session && !sessions.some((s) => s.id === v.session!.id)) sessions.push({ id: v.session.id, token: v.session.token });
          }
          await service.tick();

          const live = (await store.listLeases(account.id, {}, { limit: 1000, cursor: null })).items;
          expect((await store.getLicense(account.id, lic.id))!.inUse).toBeLessThanOrEqual(3);
          expect(live.filter((l) => l.license === lic.id)).toHaveLength((await store.getLicense(account.id, lic.id))!.inUse);
          expect(live.filter((l) => l.kind === 'flex').length).toBeLessThanOrEqual(2);
          expect((await store.getAccount(account.id))!.settings.ppu.balanceMinutes).toBeGreaterThanOrEqual(0);
          const states = await Promise.all(tickets.map((t) => store.getTicket(t.id)));
          const firstWaiting = states.findIndex((t) => t?.status === 'waiting');
          if (firstWaiting >= 0) {
            // Nothing created after a waiting ticket has been served from the queue.
            expect(states.slice(firstWaiting + 1).some((t) => t?.status === 'granted')).toBe(false);
          }
        }
      }),
      { numRuns: kind.name === 'sqlite' ? 40 : 10 },
    );
  });
});
