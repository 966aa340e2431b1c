/**
 * Liveness on PostgreSQL: a claim passes over a slot another transaction holds locked instead
 * of waiting for it. Here the locked slot is free and the lowest of its license, so a claim
 * without SKIP LOCKED would pick it first and wait for the other transaction to end: the
 * lease's end below would then not return while the lock is held, and the test would time out.
 */
import { describe, expect, it } from 'vitest';
import { postgresReachable } from '../helpers/stores.js';
import { useOneSeat } from '../helpers/one-seat.js';
import { defaultProductConfig } from '../../src/server/defaults.js';
import type { PostgresDriver } from '../../src/store/sql/postgres-driver.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();

describe.runIf(reachable)('claims skip locked slots on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'k', NOW);

  it('offers a freed seat to a waiting ticket while a lower free slot is locked elsewhere', async () => {
    const { store, driver, account, request } = seat();
    const product = await store.createProduct(account, 'prd_k2', { ...defaultProductConfig(), key: 'k2', name: 'K2', seatModel: 'session' }, NOW);
    await store.createLicense(account, 'lic_k2', {
      productId: product.id, seats: 2, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    const forK2 = () => ({ ...request(), product });

    // Another transaction (another server's claim, say) holds free slot 0 locked.
    const other = await (driver as PostgresDriver).pool.connect();
    try {
      await other.query('BEGIN');
      const locked = await other.query("SELECT slot FROM seat_slots WHERE license_id = 'lic_k2' AND slot = 0 AND lease_id IS NULL FOR UPDATE");
      expect(locked.rowCount).toBe(1);

      // A grant passes over it and takes slot 1; the next request finds nothing free and waits.
      const held = await store.acquire(forK2(), NOW);
      if (held.kind !== 'granted') throw new Error(`expected a grant, got ${held.kind}`);
      const waiting = await store.acquire({ ...forK2(), wait: true, ticket: { id: 'tkt_k2', tokenHash: 'th', sessionTokenHash: 'sth', ttlMs: 60_000 } }, NOW);
      expect(waiting.kind).toBe('queued');

      // The holder leaves: its slot is offered to the ticket while slot 0 is still locked.
      const events = await store.endSession(held.session.id, 'ended', NOW + 1000);
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['lease.ended', 'lease.granted']));
      expect(await store.getTicket('tkt_k2')).toMatchObject({ status: 'granted' });
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
  });
});
