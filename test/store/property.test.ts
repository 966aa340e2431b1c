/**
 * Property: whatever the interleaving of acquire / heartbeat / close / release / time
 * passing / expiry, no license ever holds more than seats + overage, its count always
 * equals its live leases, and no lease whose client is still heartbeating is lost.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type App } from '../../src/server/app.js';
import type { Principal } from '../../src/server/auth.js';
import { FakeClock, hashPassword } from '../../src/server/deps.js';
import { createAccount } from '../../src/server/plugins/accounts.js';
import { ApiError } from '../../src/errors.js';
import type { User } from '../../src/store/types.js';
import { granted } from '../helpers/app.js';
import { storeKinds, type TestStore } from '../helpers/stores.js';

const kinds = await storeKinds();

type Cmd =
  | { t: 'acquire'; user: number; device: number; product: number; hold: boolean }
  | { t: 'heartbeat'; session: number }
  | { t: 'close'; session: number }
  | { t: 'release'; lease: number }
  | { t: 'advance'; ms: number }
  | { t: 'tick' };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('acquire' as const), user: fc.nat(2), device: fc.nat(2), product: fc.nat(1), hold: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('heartbeat' as const), session: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('close' as const), session: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), lease: fc.nat(20) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 40_000 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tick' as const) }) },
);

describe.each(kinds)('lease invariants under random interleavings ($name)', (kind) => {
  let ts: TestStore;
  let app: App;
  const clock = new FakeClock(Date.UTC(2026, 2, 1, 8, 0, 0));
  let runs = 0;
  let passwordHash: string;

  beforeAll(async () => {
    ts = await kind.open();
    app = await buildApp({ store: ts.store, clock });
    passwordHash = await hashPassword('irrelevant password');
  });
  afterAll(async () => {
    await app.close();
    await ts.drop();
  });

  it('never over-grants and never loses a held lease', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 5, maxLength: 50 }), async (cmds) => {
        const { store, service } = app.ctx;
        const now = () => clock.now();
        const { account, owner } = await createAccount(app.ctx, `prop-${kind.name}-${++runs}`, 'UTC', { username: 'o', password: 'irrelevant password' });
        const users: User[] = [owner];
        for (const name of ['u1', 'u2']) users.push(await store.createUser(account.id, `usr_${runs}_${name}`, { username: name, passwordHash, role: 'member', teams: [], maxLeases: null, permissions: null }, now()));
        const products = [
          await store.createProduct(account.id, `prd_${runs}_s`, { ...base(), key: 's', name: 's', seatModel: 'session' }, now()),
          await store.createProduct(account.id, `prd_${runs}_u`, { ...base(), key: 'u', name: 'u', seatModel: 'user-device', linger: 5 }, now()),
        ];
        const licenses = [
          await store.createLicense(account.id, `lic_${runs}_s`, lic(products[0]!.id, 2, 0), now()),
          await store.createLicense(account.id, `lic_${runs}_u`, lic(products[1]!.id, 2, 50), now()),
        ];
        const sessions: { id: string; token: string; leaseId: string; lastSeen: number; closed: boolean; timeout: number }[] = [];
        const leaseIds: string[] = [];
        const principal = (u: User): Principal => ({ kind: 'user', accountId: account.id, user: u, tokenHash: '' });

        for (const c of cmds) {
          switch (c.t) {
            case 'acquire':
              try {
                const r = granted(await service.acquire(principal(users[c.user]!), { product: products[c.product]!.key, device: `d${c.device}`, hold: c.hold ? 'until-reset' : 'heartbeat' }));
                sessions.push({ id: r.session.id, token: r.token, leaseId: r.lease.id, lastSeen: now(), closed: false, timeout: r.session.timeout * 1000 });
                if (!leaseIds.includes(r.lease.id)) leaseIds.push(r.lease.id);
              } catch (e) {
                if (!(e instanceof ApiError) || e.code !== 'no-seat') throw e;
              }
              break;
            case 'heartbeat': {
              const s = sessions[c.session];
              if (!s || s.closed) break;
              const held = now() < s.lastSeen + s.timeout;
              try {
                await service.heartbeat(s.id, s.token);
                s.lastSeen = now();
              } catch (e) {
                if (!(e instanceof ApiError) || e.code !== 'session-ended') throw e;
                // A heartbeat inside the window must never be refused.
                expect(held, `session ${s.id} refused while within its timeout`).toBe(false);
                s.closed = true;
              }
              break;
            }
            case 'close': {
              const s = sessions[c.session];
              if (!s || s.closed) break;
              await service.closeSession(s.id, s.token);
              s.closed = true;
              break;
            }
            case 'release': {
              const id = leaseIds[c.lease];
              if (id) await service.release(account.id, id);
              break;
            }
            case 'advance':
              clock.advance(c.ms);
              break;
            case 'tick':
              await service.tick();
              break;
          }

          for (const l of licenses) {
            const cur = (await store.getLicense(account.id, l.id))!;
            const live = (await store.listLeases(account.id, {}, { limit: 1000, cursor: null })).items.filter((x) => x.license === l.id);
            expect(cur.inUse).toBe(live.length);
            expect(cur.inUse).toBeLessThanOrEqual(l.seats + Math.floor((l.seats * l.overage) / 100));
          }
          for (const s of sessions) {
            if (s.closed || now() >= s.lastSeen + s.timeout) continue;
            const lease = await store.getLease(account.id, s.leaseId);
            expect(lease?.status, `lease ${s.leaseId} of a heartbeating session`).toBe('active');
          }
        }
      }),
      { numRuns: kind.name === 'sqlite' ? 60 : 12 },
    );
  });
});

function base() {
  return {
    heartbeat: { interval: 10, timeout: 30 }, clientTypes: {}, linger: 0, standbyTimeout: null,
    flex: { channels: ['access'], duration: 1800 }, activationWindow: 7_776_000, quota: null,
  };
}

function lic(productId: string, seats: number, overage: number) {
  return { productId, seats, name: null, team: null, platform: null, overage, startsAt: null, expiresAt: null, enforcement: 'hard' as const, window: 180, exceptionQuota: null };
}
