/**
 * PostgreSQL: a request for a product known to be full is refused from one read on a free
 * connection, without a place in a group commit (SqlStore.acquire); a seat freed meanwhile is
 * still found and granted through the transaction.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AcquireRequest, Product } from '../../src/store/types.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import { defaultProductConfig, defaultSettings } from '../../src/server/defaults.js';
import { createPgDatabase, postgresReachable } from '../helpers/stores.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();

describe.runIf(reachable)('refusals on PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof createPgDatabase>>;
  let driver: PostgresDriver;
  let store: SqlStore;
  let product: Product;
  let n = 0;

  beforeAll(async () => {
    db = await createPgDatabase();
    driver = new PostgresDriver(db.url);
    store = new SqlStore(driver, 0);
    await store.migrate();
    await store.createAccount(
      { id: 'acc_r', name: 'r', timezone: 'UTC', settings: defaultSettings() },
      { id: 'usr_r', username: 'owner', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
      NOW,
    );
    product = await store.createProduct('acc_r', 'prd_r', { ...defaultProductConfig(), key: 'p', name: 'P', seatModel: 'session' }, NOW);
    await store.createLicense('acc_r', 'lic_r', {
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
      accountId: 'acc_r', product, user: null, endpointId: null, device: null, clientType: null, channel: null, platform: null,
      join: null, hold: 'heartbeat', meta: null, standby: false, wait: false, flex: undefined, ppu: undefined,
      newLease: { id: `lse_r${n}`, joinCode: `J${n}` }, ticket: null,
      session: { id: `ses_r${n}`, tokenHash: 'h', interval: 10, timeout: 30 },
    };
  };

  it('answers a likely refusal outside group commit, and still grants a freed seat', async () => {
    const held = await store.acquire(request(), NOW);
    if (held.kind !== 'granted') throw new Error('expected a grant');
    // The first refusal takes the full way (the product was not known to be full).
    const first = await store.acquire(request(), NOW);
    expect(first).toEqual({ kind: 'no-seat', inUse: 1, capacity: 1, ownLeases: [] });

    const transactions = vi.spyOn(driver, 'transaction');
    expect(await store.acquire(request(), NOW)).toEqual(first);
    expect(transactions).not.toHaveBeenCalled();

    // Freed: the read finds the free slot, and the grant goes through the transaction.
    await store.endSession(held.session.id, 'ended', NOW + 1);
    transactions.mockClear();
    expect((await store.acquire(request(), NOW + 1)).kind).toBe('granted');
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockRestore();
  });
});
