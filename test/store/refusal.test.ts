/**
 * How a request for a product known to be full is refused (SqlStore.acquire). PostgreSQL: from
 * one read on a free connection, without a place in a group commit. SQLite: from the last such
 * read while nothing has been written since, without a transaction. Either way a seat freed
 * meanwhile is still found and granted through the transaction. On PostgreSQL, when another
 * server takes that seat between the read and the claim, the refusal reports the read's load.
 */
import { describe, expect, it, vi } from 'vitest';
import { postgresReachable } from '../helpers/stores.js';
import { useOneSeat, type OneSeat } from '../helpers/one-seat.js';
import { sentStatements } from '../helpers/pg-statements.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();
const REFUSED = { kind: 'no-seat', inUse: 1, capacity: 1, ownLeases: [] };

/**
 * Takes the one seat, then is refused once by the full way: the product is then known to be
 * full. Returns the store's parts with the held grant and that refusal.
 */
async function fill(s: OneSeat) {
  const held = await s.store.acquire(s.request(), NOW);
  if (held.kind !== 'granted') throw new Error('expected a grant');
  const refused = await s.store.acquire(s.request(), NOW);
  expect(refused).toEqual(REFUSED);
  return { ...s, held, refused };
}

describe.runIf(reachable)('refusals on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'r', NOW);

  it('answers a likely refusal outside group commit, and still grants a freed seat', async () => {
    const { store, driver, request, held, refused: first } = await fill(seat());

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

describe.runIf(reachable)('a seat taken between the read and the claim, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'q', NOW);

  it('refuses with the load the read found, without reading it again in the transaction', async () => {
    const { store, driver, request, held, refused: full } = await fill(seat());
    await store.endSession(held.session.id, 'ended', NOW + 1);

    // The next request's read finds the freed slot; before its transaction runs, another
    // request (another server, say) takes it.
    const get = driver.get.bind(driver);
    let racing = false;
    let raced: Awaited<ReturnType<typeof store.acquire>> | null = null;
    const spyGet = vi.spyOn(driver, 'get').mockImplementation(async (sql, params) => {
      const r = await get(sql, params);
      if (!racing && sql.includes(' AS free,')) {
        racing = true;
        raced = await store.acquire(request(), NOW + 1);
      }
      return r as never;
    });
    const { value: refused, sent } = await sentStatements(() => store.acquire(request(), NOW + 1)).finally(() => spyGet.mockRestore());
    expect(raced).toMatchObject({ kind: 'granted' });
    // The same refusal the full read gives, and no such read was sent.
    expect(refused).toEqual(full);
    expect(sent.some((t) => t.includes('AS settings') && t.includes('AS in_use,'))).toBe(false);
    expect(await store.usage(seat().account, NOW + 1)).toMatchObject([{ inUse: 1, capacity: 1 }]);
  });
});

describe.runIf(reachable)("a user's refusal on PostgreSQL", () => {
  const seat = useOneSeat('postgres', 'w', NOW);

  it("reads the user's own leases with the fullness read, as the same leases", async () => {
    const { store, request } = seat();
    const asUser = () => ({ ...request(), user: { id: 'usr_w', teams: [], role: 'owner' as const, maxLeases: null }, meta: { note: 'mine' }, device: 'laptop' });
    const held = await store.acquire(asUser(), NOW);
    if (held.kind !== 'granted') throw new Error('expected a grant');
    // The full way (not yet known to be full): the own leases come from their own statement.
    const full = await store.acquire(asUser(), NOW);
    expect(full).toMatchObject({ kind: 'no-seat', inUse: 1, capacity: 1, ownLeases: [{ id: held.lease.id, meta: { note: 'mine' }, device: 'laptop' }] });

    const { value: quick, sent } = await sentStatements(() => store.acquire(asUser(), NOW));
    // Known to be full: one statement, and every field of every lease as the full way read it.
    expect(sent).toHaveLength(1);
    expect(quick).toEqual(full);
  });
});

for (const kind of ['postgres', 'sqlite'] as const) {
  describe.runIf(kind === 'sqlite' || reachable)(`a refusal's load with a license the requester may not use (${kind})`, () => {
    const seat = useOneSeat(kind, kind === 'sqlite' ? 't' : 'u', NOW);

    it("reads the load again: the fullness read's free slot was another team's", async () => {
      const { store, request, account, product } = await fill(seat());
      // A second license, of a team the requester is not in, with its one seat free: the
      // fullness read counts it free, the claim may not take it.
      await store.createTeam(account, `tm_${kind}`, 'T', NOW);
      await store.createLicense(account, `lic_team_${kind}`, {
        productId: product.id, seats: 1, name: null, team: `tm_${kind}`, platform: null, overage: 0, startsAt: null, expiresAt: null,
        enforcement: 'hard', window: 180, exceptionQuota: null,
      }, NOW);
      // One seat of two in use, not two: the read's load when full would say two.
      expect(await store.acquire(request(), NOW + 1)).toEqual({ kind: 'no-seat', inUse: 1, capacity: 2, ownLeases: [] });
    });
  });
}

describe('refusals on the embedded store', () => {
  const seat = useOneSeat('sqlite', 's', NOW);

  it('answers a repeated refusal from the last read while nothing is written, and reads again after any write', async () => {
    const { store, driver, request, held, refused: first } = await fill(seat());

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
