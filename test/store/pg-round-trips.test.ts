/**
 * PostgreSQL answers each statement over the network, so a grant and a client's close are
 * written to take few round trips: the lease and its session are one insert, and a close is
 * the session's end with its lease's count, then the lease's end with its seat, its event and
 * the check for waiters. Counted here at the pg client, with the effects they must still have.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AcquireRequest, Product } from '../../src/store/types.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import { defaultProductConfig, defaultSettings } from '../../src/server/defaults.js';
import { createPgDatabase, postgresReachable } from '../helpers/stores.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();

describe.runIf(reachable)('round trips on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let store: SqlStore;
  let product: Product;
  let n = 0;

  beforeAll(async () => {
    db = await createPgDatabase();
    store = new SqlStore(new PostgresDriver(db.url), 0);
    await store.migrate();
    await store.createAccount(
      { id: 'acc_t', name: 't', timezone: 'UTC', settings: defaultSettings() },
      { id: 'usr_t', username: 'owner', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
      NOW,
    );
    product = await store.createProduct('acc_t', 'prd_t', { ...defaultProductConfig(), key: 'p', name: 'P', seatModel: 'session' }, NOW);
    await store.createLicense('acc_t', 'lic_t', {
      productId: product.id, seats: 1, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
  });
  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await db?.drop();
  });

  const request = (): AcquireRequest => {
    n++;
    return {
      accountId: 'acc_t', product, user: null, endpointId: null, device: null, clientType: null, channel: null, platform: null,
      join: null, hold: 'heartbeat', meta: null, standby: false, wait: false, flex: undefined, ppu: undefined,
      newLease: { id: `lse_t${n}`, joinCode: `J${n}` }, ticket: null,
      session: { id: `ses_t${n}`, tokenHash: `h${n}`, interval: 10, timeout: 30 },
    };
  };

  /** The statements `fn` sends, other than BEGIN and COMMIT (a group commit's, shared). */
  async function statements<T>(fn: () => Promise<T>): Promise<{ value: T; count: number }> {
    const query = vi.spyOn(pg.Client.prototype, 'query');
    try {
      const value = await fn();
      const count = query.mock.calls.filter(([q]) => q !== 'BEGIN' && q !== 'COMMIT').length;
      return { value, count };
    } finally {
      query.mockRestore();
    }
  }

  it('grants in three statements and closes in two, with every effect of the close', async () => {
    const grant = await statements(() => store.acquire(request(), NOW));
    if (grant.value.kind !== 'granted') throw new Error('expected a grant');
    const { lease, session } = grant.value;
    // The licenses, the claim of a slot, the lease with its session.
    expect(grant.count).toBe(3);
    expect(await store.heartbeat(session.id)).toMatchObject({ kind: 'alive', session: { id: session.id, leaseId: lease.id }, lease: { id: lease.id, license: 'lic_t' } });

    const close = await statements(() => store.closeSession(session.id, session.tokenHash, NOW + 1000));
    expect(close.count).toBe(2);
    expect(close.value).toMatchObject({ kind: 'closed', leaseId: lease.id });
    const events = close.value.kind === 'closed' ? close.value.events : [];
    expect(events).toEqual([{ seq: expect.any(Number), accountId: 'acc_t', leaseId: lease.id, type: 'lease.ended', data: { reason: 'released' }, at: NOW + 1000 }]);
    expect(await store.eventsSince(lease.id, 0, 10)).toMatchObject([{ seq: events[0]!.seq, type: 'lease.ended', data: { reason: 'released' } }]);
    expect(await store.getLease('acc_t', lease.id)).toMatchObject({ status: 'ended', endedAt: NOW + 1000, endReason: 'released', sessions: 0 });
    expect(await store.heartbeat(session.id)).toMatchObject({ kind: 'ended', session: { endedAt: NOW + 1000, endReason: 'ended' } });
    // The seat is free again.
    expect((await store.acquire(request(), NOW + 1000)).kind).toBe('granted');

    // A second close of the same session ends nothing, and says why.
    expect(await store.closeSession(session.id, session.tokenHash, NOW + 2000)).toEqual({ kind: 'ended', leaseId: lease.id, events: [] });
  });
});
