/**
 * How a request for a product known to be full is refused (SqlStore.acquire). PostgreSQL: from
 * one read on a free connection, without a place in a group commit. SQLite: from the last such
 * read while nothing has been written since, without a transaction. Either way a seat freed
 * meanwhile is still found and granted through the transaction.
 */
import { describe, expect, it, vi } from 'vitest';
import { postgresReachable } from '../helpers/stores.js';
import { useOneSeat } from '../helpers/one-seat.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();

describe.runIf(reachable)('refusals on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'r', NOW);

  it('answers a likely refusal outside group commit, and still grants a freed seat', async () => {
    const { store, driver, request } = seat();
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

    // That grant took the only free slot the read had found: the product stays known to be
    // full, and the next request is refused from one read again, not the long way.
    transactions.mockClear();
    expect(await store.acquire(request(), NOW + 1)).toEqual(first);
    expect(transactions).not.toHaveBeenCalled();
    transactions.mockRestore();
  });
});

describe('refusals on the embedded store', () => {
  const seat = useOneSeat('sqlite', 's', NOW);

  it('answers a repeated refusal from the last read while nothing is written, and reads again after any write', async () => {
    const { store, driver, request } = seat();
    const held = await store.acquire(request(), NOW);
    if (held.kind !== 'granted') throw new Error('expected a grant');
    const first = await store.acquire(request(), NOW); // the full way: the product was not known to be full
    expect(first).toEqual({ kind: 'no-seat', inUse: 1, capacity: 1, ownLeases: [] });

    const transactions = vi.spyOn(driver, 'transaction');
    // Known to be full: the one read runs in a transaction once, and is then reused.
    expect(await store.acquire(request(), NOW)).toEqual(first);
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockClear();
    expect(await store.acquire(request(), NOW + 1)).toEqual(first);
    expect(await store.acquire(request(), NOW + 2)).toEqual(first);
    expect(transactions).not.toHaveBeenCalled();

    // Any write, even one that frees nothing (a refusal's record), makes the next request read again.
    await store.recordDenials([{ accountId: seat().account, productId: seat().product.id, userId: null, device: null, code: 'no-seat', at: NOW }]);
    transactions.mockClear();
    expect(await store.acquire(request(), NOW + 3)).toEqual(first);
    expect(transactions).toHaveBeenCalledTimes(1);

    // A freed seat: the write moved the generation, and the transaction grants it.
    await store.endSession(held.session.id, 'ended', NOW + 4);
    transactions.mockClear();
    expect((await store.acquire(request(), NOW + 4)).kind).toBe('granted');
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockRestore();
  });
});
