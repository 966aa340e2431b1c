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
import type { SqlDriver } from '../../src/store/sql/driver.js';
import { FREE_SLOTS_COUNTED, readRefuses, type Fullness } from '../../src/store/sql/lease-ops.js';
import type { AcquireRequest } from '../../src/store/types.js';
import { defaultSettings } from '../../src/server/defaults.js';
import type { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import type { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';

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

/** Runs `then` after each fullness read the store sends on PostgreSQL, before its answer is used. */
function onFullnessRead(driver: SqlDriver, then: () => Promise<void>) {
  const whenSent = driver.whenSent!.bind(driver);
  return vi.spyOn(driver as Required<SqlDriver>, 'whenSent').mockImplementation((onSend) => {
    const ex = whenSent(onSend);
    return {
      ...ex,
      get: async <T>(sql: string, params?: readonly unknown[]) => {
        const r = await ex.get<T>(sql, params);
        if (sql.includes(' AS free,')) await then();
        return r;
      },
    };
  });
}

/** Holds the next transaction the driver is asked for until `release` is called. */
function holdNextTransaction(driver: SqlDriver) {
  const run = driver.transaction.bind(driver);
  let release!: () => void;
  let parked!: () => void;
  const isParked = new Promise<void>((r) => (parked = r));
  const spy = vi.spyOn(driver, 'transaction').mockImplementationOnce((fn) => new Promise((resolve, reject) => {
    release = () => void run(fn).then(resolve, reject);
    parked();
  }));
  return { spy, isParked, release: () => release() };
}

const countReads = (sent: string[]) => sent.filter((t) => t.includes(' AS free,')).length;

describe.runIf(reachable)("this server's claims ahead of a request, on PostgreSQL", () => {
  const seat = useOneSeat('postgres', 'c', NOW);

  it('refuses from the read when they are as many as the free slots, and queues a claim when fewer', async () => {
    const { store, driver, request, held, account, product } = await fill(seat());
    await store.endSession(held.session.id, 'ended', NOW + 1);

    // One slot free; a request reads it and queues its claim, which is held back.
    const first = holdNextTransaction(driver);
    const claimed = store.acquire(request(), NOW + 1);
    await first.isParked;
    // The next request reads the same free slot, already being claimed: refused from the read.
    expect(await store.acquire(request(), NOW + 1)).toEqual(REFUSED);
    expect(first.spy).toHaveBeenCalledTimes(1);
    first.release();
    expect((await claimed).kind).toBe('granted');
    first.spy.mockRestore();

    // Two slots free (a second license) and one claim ahead: the next request claims too.
    await store.createLicense(account, 'lic_c2', {
      productId: product.id, seats: 2, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    const second = holdNextTransaction(driver);
    const claimedToo = store.acquire(request(), NOW + 2);
    await second.isParked;
    expect((await store.acquire(request(), NOW + 2)).kind).toBe('granted');
    expect(second.spy).toHaveBeenCalledTimes(2);
    second.release();
    expect((await claimedToo).kind).toBe('granted');
    second.spy.mockRestore();
    // Every seat of both licenses is held, and none twice.
    expect(await store.usage(account, NOW + 2)).toMatchObject([{ inUse: 3, capacity: 3 }]);
  });
});

describe('whether a fullness read refuses', () => {
  const { product } = { product: { id: 'prd', quota: null } };
  const req = { product, ppu: undefined } as unknown as AcquireRequest;
  const read = (freeSlots: number, o: Partial<Fullness> = {}): Fullness => ({
    settings: JSON.stringify(defaultSettings()), freeSlots, special: false, restricted: false, inUseWhenFull: 10, capacity: 10, at: NOW, until: Infinity, ...o,
  });

  it('refuses when no slot is free, or when claims ahead take every free slot it counted', () => {
    expect(readRefuses(req, read(0), 0)).toBe(true);
    expect(readRefuses(req, read(2), 1)).toBe(false);
    expect(readRefuses(req, read(2), 2)).toBe(true);
    expect(readRefuses(req, read(2), 5)).toBe(true);
    // Counted as "that many or more": claims ahead never take them all.
    expect(readRefuses(req, read(FREE_SLOTS_COUNTED), 1000)).toBe(false);
    // A license for a team or a platform: the claims ahead may not be for the slot this request may take.
    expect(readRefuses(req, read(2, { restricted: true }), 5)).toBe(false);
    expect(readRefuses(req, read(0, { restricted: true }), 0)).toBe(true);
  });

  it('never refuses when a license is soft or suspended, or pay-per-use may serve the request', () => {
    expect(readRefuses(req, read(0, { special: true }), 0)).toBe(false);
    const settings = defaultSettings();
    const ppu = read(0, { settings: JSON.stringify({ ...settings, ppu: { ...settings.ppu, enabled: true } }) });
    expect(readRefuses(req, ppu, 0)).toBe(false);
    expect(readRefuses({ ...req, ppu: false }, ppu, 0)).toBe(true);
  });
});

describe.runIf(reachable)('a request ahead that may take no slot, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'j', NOW);

  it('is not counted as a claim: one joining a lease leaves the free slot to the next request', async () => {
    const { store, driver, request, held, account, product } = await fill(seat());
    await store.createLicense(account, 'lic_j2', {
      productId: product.id, seats: 1, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    const join = holdNextTransaction(driver);
    const joined = store.acquire({ ...request(), join: held.lease.joinCode }, NOW + 1);
    await join.isParked;
    const next = await store.acquire(request(), NOW + 1);
    expect(next).toMatchObject({ kind: 'granted', lease: { license: 'lic_j2' } });
    join.release();
    expect(await joined).toMatchObject({ kind: 'granted', lease: { id: held.lease.id } });
    join.spy.mockRestore();
  });
});

describe.runIf(reachable)('a product with many free slots, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'm', NOW);

  it('is claimed at once after a grant whose read found them; with a few, the next request reads first', async () => {
    const { store, request, account, product } = await fill(seat());
    const license = (id: string, seats: number) => store.createLicense(account, id, {
      productId: product.id, seats, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    // A few free slots: after the grant the product may be full again soon, and the next
    // request reads first, where it would count the claims ahead of it.
    await license('lic_m2', 3);
    for (let i = 0; i < 2; i++) {
      const few = await sentStatements(() => store.acquire(request(), NOW));
      expect(few.value.kind).toBe('granted');
      expect(countReads(few.sent)).toBe(1);
    }
    await license('lic_m3', FREE_SLOTS_COUNTED + 4);
    // Known to be full: read first, and the read finds the new license's slots.
    const first = await sentStatements(() => store.acquire(request(), NOW));
    expect(first.value.kind).toBe('granted');
    expect(countReads(first.sent)).toBe(1);
    const next = await sentStatements(() => store.acquire(request(), NOW));
    expect(next.value.kind).toBe('granted');
    expect(countReads(next.sent)).toBe(0);
  });
});

describe.runIf(reachable)('requests that read while a read waits for a connection, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'f', NOW);

  it('share that read; requests after it went out share the next', async () => {
    const { store, driver, request } = await fill(seat());
    const pool = (driver as PostgresDriver).pool;
    // Every connection busy: the first request's read waits, and two more ask meanwhile.
    const busy = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
    const shared = await sentStatements(async () => {
      const answers = Promise.all([store.acquire(request(), NOW), store.acquire(request(), NOW), store.acquire(request(), NOW)]);
      for (const c of busy) c.release();
      return answers;
    });
    expect(shared.value).toEqual([REFUSED, REFUSED, REFUSED]);
    expect(countReads(shared.sent)).toBe(1);

    // Requests that ask once the first read has gone out do not take its answer: they wait for
    // it, then share the next read, made after they asked.
    let later: Promise<unknown>[] | undefined;
    let startedMeanwhile = -1;
    const spy = onFullnessRead(driver, async () => {
      if (later) return;
      // A read is started (`whenSent`) as its request asks, unless one is out for the same key.
      const started = spy.mock.calls.length;
      later = [store.acquire(request(), NOW), store.acquire(request(), NOW)];
      startedMeanwhile = spy.mock.calls.length - started;
    });
    const own = await sentStatements(async () => [await store.acquire(request(), NOW), ...(await Promise.all(later!))]).finally(() => spy.mockRestore());
    expect(startedMeanwhile).toBe(0);
    expect(own.value).toEqual([REFUSED, REFUSED, REFUSED]);
    expect(countReads(own.sent)).toBe(2);
  });
});

describe.runIf(reachable)('a request that asks while a read is out, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'o', NOW);

  it('is answered from a read made after it asked', async () => {
    const { store, driver, request, held } = await fill(seat());
    // While the first read is out, the seat is freed, then a request asks: the read out says
    // full, and the request that asked after the seat was freed is granted it.
    let later: Promise<Awaited<ReturnType<typeof store.acquire>>> | undefined;
    const spy = onFullnessRead(driver, async () => {
      if (later) return;
      await store.endSession(held.session.id, 'ended', NOW + 1);
      later = store.acquire(request(), NOW + 1);
    });
    const first = await store.acquire(request(), NOW + 1).finally(() => spy.mockRestore());
    expect(first).toEqual(REFUSED);
    expect(await later).toMatchObject({ kind: 'granted' });
  });
});

describe.runIf(reachable)('a waiting read and the requests that would join it, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'v', NOW);

  it("is not used by a request whose time is past the read's validity (a license ended)", async () => {
    const { store, driver, request, account, product } = await fill(seat());
    // A second license, ending at NOW + 5 s, its one seat taken: full until then.
    await store.createLicense(account, 'lic_v2', {
      productId: product.id, seats: 1, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: NOW + 5000,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    expect((await store.acquire(request(), NOW)).kind).toBe('granted');
    const pool = (driver as PostgresDriver).pool;
    const busy = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
    const { value, sent } = await sentStatements(async () => {
      const answers = Promise.all([store.acquire(request(), NOW), store.acquire(request(), NOW + 10_000)]);
      for (const c of busy) c.release();
      return answers;
    });
    // The later request read for itself, and its answer has the capacity at its own time.
    expect(countReads(sent)).toBe(2);
    expect(value).toMatchObject([{ kind: 'no-seat', capacity: 2 }, { kind: 'no-seat', capacity: 1 }]);
  });

});

describe.runIf(reachable)('a read that fails, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'e', NOW);

  it('is not handed on when it fails before it is sent', async () => {
    const { store, driver, request } = await fill(seat());
    // As when no connection can be had: the statement fails and never goes out.
    const spy = vi.spyOn(driver as Required<SqlDriver>, 'whenSent').mockImplementationOnce(() => ({
      dialect: 'postgres',
      all: () => Promise.reject(new Error('no connection')),
      get: () => Promise.reject(new Error('no connection')),
      run: () => Promise.reject(new Error('no connection')),
    }));
    await expect(store.acquire(request(), NOW)).rejects.toThrow('no connection');
    spy.mockRestore();
    expect(await store.acquire(request(), NOW)).toEqual(REFUSED);
  });
});

describe.runIf(reachable)('a seat taken between the read and the claim, on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 'q', NOW);

  it('refuses with the load the read found, without reading it again in the transaction', async () => {
    const { store, driver, request, held, refused: full, another } = await fill(seat());
    await store.endSession(held.session.id, 'ended', NOW + 1);

    // The next request's read finds the freed slot; before its transaction runs, another
    // server's request takes it.
    const other = another();
    let racing = false;
    let raced: Awaited<ReturnType<typeof store.acquire>> | null = null;
    const spyGet = onFullnessRead(driver, async () => {
      if (racing) return;
      racing = true;
      raced = await other.acquire(request(), NOW + 1);
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

describe('an expiry on the embedded store', () => {
  const seat = useOneSeat('sqlite', 'x', NOW);

  it("makes the next request read again, though the side connection wrote it and this one wrote nothing", async () => {
    const { store, driver, request, held, refused: first } = await fill(seat());
    const sqlite = driver as SqliteDriver;
    expect(await store.acquire(request(), NOW)).toEqual(first);
    const transactions = vi.spyOn(sqlite, 'transaction');
    const aside = vi.spyOn(sqlite, 'aside');
    expect(await store.acquire(request(), NOW + 1)).toEqual(first); // from the kept read
    // The held session times out: the batch is written by the worker's connection, not here.
    expect(await store.expireSessions([held.session.id], NOW + 2)).toMatchObject({ expired: [held.session.id] });
    expect(aside).toHaveBeenCalledTimes(1);
    expect(await aside.mock.results[0]!.value).not.toBeNull();
    expect(transactions).not.toHaveBeenCalled();
    // Its seat is free: the generation moved, and the next request is granted, not refused from the read.
    expect((await store.acquire(request(), NOW + 3)).kind).toBe('granted');
    expect(transactions).toHaveBeenCalledTimes(1);
    transactions.mockRestore();
    aside.mockRestore();
  });
});

describe('a group commit of refusals on the embedded store', () => {
  const seat = useOneSeat('sqlite', 'g', NOW);

  it('shares one read among its refusals, and reads again after a write in it', async () => {
    const { store, driver, request, held, refused: first } = await fill(seat());
    // A write: the next requests of the product cannot be refused from the last read at arrival.
    const write = () => store.recordDenials([{ accountId: seat().account, productId: seat().product.id, userId: null, device: null, code: 'no-seat', at: NOW }]);
    await write();
    const sent = recordBatchStatements(driver);
    // Made in one turn, so their transactions run in one group commit, in this order.
    const [a, b, c] = await Promise.all([store.acquire(request(), NOW + 1), store.acquire(request(), NOW + 1), store.acquire(request(), NOW + 1)]);
    expect([a, b, c]).toEqual([first, first, first]);
    expect(countReads(sent)).toBe(1);

    // A release between two requests of the batch: the second reads again, finds the seat and
    // takes it; the third reads what the grant left, and is refused.
    await write();
    sent.length = 0;
    const [d, , e, f] = await Promise.all([
      store.acquire(request(), NOW + 2), store.endSession(held.session.id, 'ended', NOW + 2), store.acquire(request(), NOW + 2), store.acquire(request(), NOW + 2),
    ]);
    expect(d).toEqual(first);
    expect(e.kind).toBe('granted');
    expect(f).toEqual(first);
    expect(countReads(sent)).toBe(3);
  });
});

describe('a group commit that finds the product full on the embedded store', () => {
  const seat = useOneSeat('sqlite', 'h', NOW);

  it("tells its later requests at once that the product is full: they try no claim", async () => {
    const { store, driver, request } = seat();
    const sent = recordBatchStatements(driver);
    // Nothing known of the product yet: each request arrives with a claim to try.
    const outcomes = await Promise.all([store.acquire(request(), NOW), store.acquire(request(), NOW), store.acquire(request(), NOW), store.acquire(request(), NOW)]);
    expect(outcomes.map((o) => o.kind)).toEqual(['granted', 'no-seat', 'no-seat', 'no-seat']);
    // The first takes the seat and the second's claim fails; the last two, told by the second,
    // are refused from one read (the third's), shared by the fourth.
    expect(sent.filter((t) => t.startsWith('UPDATE seat_slots SET lease_id = ?')).length).toBe(2);
    expect(countReads(sent)).toBe(1);
  });
});

/** The statements of the group-committed transactions run from now on (SQLite). */
function recordBatchStatements(driver: SqlDriver): string[] {
  const sent: string[] = [];
  const run = driver.transaction.bind(driver);
  vi.spyOn(driver, 'transaction').mockImplementation((fn) => run((tx) => fn({
    ...tx,
    get: (sql, params) => (sent.push(sql.trim()), tx.get(sql, params)),
    all: (sql, params) => (sent.push(sql.trim()), tx.all(sql, params)),
    run: (sql, params) => (sent.push(sql.trim()), tx.run(sql, params)),
  })));
  return sent;
}
