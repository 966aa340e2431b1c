/**
 * The store contract, run against every adapter: what each domain operation promises,
 * including under concurrency (the PostgreSQL pool runs these truly in parallel).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AcquireRequest, Product, Store } from '../../src/store/types.js';
import { defaultProductConfig, defaultSettings } from '../../src/server/defaults.js';
import { storeKinds, type TestStore } from '../helpers/stores.js';

const kinds = await storeKinds();
const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
let seq = 0;
const id = (p: string) => `${p}_${(++seq).toString().padStart(8, '0')}`;

describe.each(kinds)('store contract ($name)', (kind) => {
  let ts: TestStore;
  let store: Store;
  let account: string;
  let product: Product;

  beforeEach(async () => {
    ts = await kind.open();
    store = ts.store;
    account = id('acc');
    await store.createAccount(
      { id: account, name: `a${seq}`, timezone: 'UTC', settings: defaultSettings() },
      { id: id('usr'), username: 'owner', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
      NOW,
    );
    product = await store.createProduct(account, id('prd'), { ...defaultProductConfig(), key: 'p', name: 'P', seatModel: 'session' }, NOW);
  });
  afterEach(async () => ts.drop());

  const license = (seats: number, overage = 0) =>
    store.createLicense(account, id('lic'), {
      productId: product.id, seats, name: null, team: null, platform: null, overage, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);

  const request = (extra: Partial<AcquireRequest> = {}): AcquireRequest => ({
    accountId: account, product, user: null, endpointId: null, device: null, clientType: null, channel: null, platform: null,
    join: null, hold: 'heartbeat', meta: null, standby: false, wait: false, flex: undefined, ppu: undefined,
    newLease: { id: id('lse'), joinCode: id('J') },
    ticket: { id: id('tkt'), tokenHash: 't', sessionTokenHash: 's', ttlMs: 30_000 },
    session: { id: id('ses'), tokenHash: 'h', interval: 10, timeout: 30 },
    ...extra,
  });

  it('never grants more than seats + overage to concurrent acquisitions', async () => {
    const lic = await license(10, 20);
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => store.acquire(request(), NOW)));
    const granted = outcomes.filter((o) => o.kind === 'granted');
    expect(granted).toHaveLength(12);
    expect(outcomes.filter((o) => o.kind === 'no-seat')).toHaveLength(48);
    expect(granted.filter((o) => o.kind === 'granted' && o.lease.kind === 'overage')).toHaveLength(2);
    expect((await store.getLicense(account, lic.id))?.inUse).toBe(12);
  });

  it('refuses a plain request when every slot is held, and grants a freed seat once', async () => {
    const lic = await license(2);
    const held = await Promise.all([store.acquire(request(), NOW), store.acquire(request(), NOW)]);
    expect(held.map((o) => o.kind)).toEqual(['granted', 'granted']);
    // Refused three times: after the first, from the product's fullness read once (and, on
    // the embedded store, reused while nothing is written).
    for (let i = 0; i < 3; i++) expect(await store.acquire(request(), NOW)).toEqual({ kind: 'no-seat', inUse: 2, capacity: 2, ownLeases: [] });
    const first = held[0]!;
    if (first.kind !== 'granted') throw new Error('expected a grant');
    // A freed seat goes to exactly one of the requests that race for it.
    await store.endSession(first.session.id, 'ended', NOW + 1);
    const after = await Promise.all(Array.from({ length: 5 }, () => store.acquire(request(), NOW + 1)));
    expect(after.map((o) => o.kind).sort()).toEqual(['granted', 'no-seat', 'no-seat', 'no-seat', 'no-seat']);
    expect((await store.getLicense(account, lic.id))?.inUse).toBe(2);
  });

  it('a full product still grants by pay-per-use, and a soft license still grants', async () => {
    const lic = await license(1);
    expect((await store.acquire(request(), NOW)).kind).toBe('granted');
    // Refused twice, the second from the one read, while pay-per-use is off: what that read
    // learnt of the settings must not outlive a change to them.
    expect((await store.acquire(request(), NOW)).kind).toBe('no-seat');
    expect((await store.acquire(request(), NOW)).kind).toBe('no-seat');
    const acc = await store.getAccount(account);
    await store.updateAccount(account, { settings: { ...acc!.settings, ppu: { ...acc!.settings.ppu, enabled: true } } });
    await store.topUpPpu(account, 10);
    expect((await store.acquire(request({ ppu: false }), NOW)).kind).toBe('no-seat'); // opted out
    const ppu = await store.acquire(request(), NOW);
    expect(ppu.kind === 'granted' && ppu.lease.kind).toBe('ppu');
    await store.updateAccount(account, { settings: acc!.settings });
    expect((await store.acquire(request(), NOW)).kind).toBe('no-seat');
    await store.updateLicense(account, lic.id, { enforcement: 'soft', exceptionQuota: 3 }, NOW);
    const soft = await store.acquire(request(), NOW);
    expect(soft.kind === 'granted' && soft.lease.kind).toBe('overage');
  });

  it('records a batch of refusals, and opens one max-reached interval per product', async () => {
    await license(1);
    const denials = Array.from({ length: 150 }, (_, i) => ({
      accountId: account, productId: product.id, userId: null, device: `d${i}`, code: i % 3 === 0 ? 'user-limit' : 'no-seat', at: NOW + i,
    }));
    await store.recordDenials(denials);
    const page = await store.listDenials(account, { from: null, to: null }, { cursor: null, limit: 500 });
    expect(page.items.map((d) => d.device)).toEqual(denials.map((d) => d.device));
    expect(page.items.filter((d) => d.code === 'user-limit')).toHaveLength(50);
    const max = await store.listMaxReached(account, { from: null, to: null }, { cursor: null, limit: 10 });
    expect(max.items).toHaveLength(1);
    expect(max.items[0]!.from).toBe(NOW + 1); // the first refusal for want of a seat
  });

  it('creates one lease for concurrent requests with the same seat key', async () => {
    await license(10);
    const p2 = await store.updateProduct(account, product.id, { seatModel: 'user-device' });
    product = p2!;
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => store.acquire(request({ device: 'same' }), NOW)));
    const leases = new Set(outcomes.map((o) => (o.kind === 'granted' ? o.lease.id : o.kind)));
    expect(leases.size).toBe(1);
    const [leaseId] = [...leases];
    expect((await store.getLease(account, leaseId!))?.sessions).toBe(20);
  });

  it('frees the seat exactly once however often a session is ended', async () => {
    const lic = await license(1);
    const g = await store.acquire(request(), NOW);
    if (g.kind !== 'granted') throw new Error('expected a grant');
    const results = await Promise.all([
      store.endSession(g.session.id, 'ended', NOW + 1),
      store.expireSessions([g.session.id], NOW + 2),
      store.endSession(g.session.id, 'expired', NOW + 3),
    ]);
    expect(results.flatMap((r) => ('events' in r ? r.events : r)).filter((e) => e.type === 'lease.ended')).toHaveLength(1);
    expect((await store.getLicense(account, lic.id))?.inUse).toBe(0);
  });

  it('expires a batch as it would each session in turn', async () => {
    const lic = await license(4);
    const grant = async (extra: Partial<AcquireRequest> = {}) => {
      const g = await store.acquire(request(extra), NOW);
      if (g.kind !== 'granted') throw new Error(`expected a grant, got ${g.kind}`);
      return g;
    };
    const a1 = await grant();
    const a2 = await grant({ join: a1.lease.joinCode }); // both of A's sessions expire
    const b = await grant({ hold: 'until-reset' }); // held until the daily reset
    const c1 = await grant();
    const c2 = await grant({ join: c1.lease.joinCode }); // only one of C's sessions expires
    const d = await grant();
    const ended = await grant({ join: d.lease.joinCode }); // ended before the batch: D keeps one session, in the batch
    await store.endSession(ended.session.id, 'ended', NOW);
    // Full: waits for a seat (longer than the sessions' timeout).
    const queued = await store.acquire(request({ wait: true, ticket: { id: id('tkt'), tokenHash: 't', sessionTokenHash: 's', ttlMs: 300_000 } }), NOW);
    if (queued.kind !== 'queued') throw new Error(`expected a ticket, got ${queued.kind}`);
    expect(c2.lease.id).toBe(c1.lease.id);

    const batch = [a1, a2, b, c1, d, ended].map((g) => g.session.id);
    const r = await store.expireSessions([...batch, 'ses_unknown'], NOW + 30_000);
    expect(r.expired.sort()).toEqual([a1, a2, b, c1, d].map((g) => g.session.id).sort());
    const endedEvents = r.events.filter((e) => e.type === 'lease.ended');
    expect(endedEvents.map((e) => e.leaseId).sort()).toEqual([a1.lease.id, d.lease.id].sort());
    expect(endedEvents.every((e) => e.data.reason === 'expired')).toBe(true);
    // Sequence numbers are unique and come back in order.
    expect(r.events.map((e) => e.seq)).toEqual([...new Set(r.events.map((e) => e.seq))].sort((x, y) => x - y));
    expect((await store.eventsSince(a1.lease.id, 0, 10)).map((e) => e.type)).toEqual(['lease.ended']);
    // One freed seat went to the ticket; B (held until reset) and C (one session left) keep theirs.
    expect(r.events.filter((e) => e.type === 'lease.granted').map((e) => e.data.ticket)).toEqual([queued.ticket.id]);
    expect((await store.getTicket(queued.ticket.id))?.status).toBe('granted');
    expect(await store.getLease(account, b.lease.id)).toMatchObject({ status: 'active', sessions: 0, endedAt: null });
    expect(await store.getLease(account, c1.lease.id)).toMatchObject({ sessions: 1, endedAt: null });
    expect(await store.getLease(account, d.lease.id)).toMatchObject({ status: 'ended', endReason: 'expired' });
    expect((await store.getLicense(account, lic.id))?.inUse).toBe(3);
    // A second run finds nothing left to do.
    expect(await store.expireSessions(batch, NOW + 31_000)).toEqual({ expired: [], events: [] });
  });

  it('expires a batch holding seats beyond a lowered limit without granting one', async () => {
    const lic = await license(5);
    const held = [];
    for (let i = 0; i < 5; i++) {
      const g = await store.acquire(request(), NOW);
      if (g.kind !== 'granted') throw new Error('expected a grant');
      held.push(g);
    }
    await store.updateLicense(account, lic.id, { seats: 2 }, NOW);
    // Two of the five expire together, whichever slots they hold: three are still held, over a limit of two.
    await store.expireSessions([held[0]!.session.id, held[4]!.session.id], NOW + 30_000);
    expect((await store.getLicense(account, lic.id))?.inUse).toBe(3);
    expect(await store.acquire(request(), NOW + 30_000)).toMatchObject({ kind: 'no-seat', inUse: 3, capacity: 2 });
    await store.expireSessions([held[1]!.session.id, held[2]!.session.id], NOW + 30_000);
    expect((await store.getLicense(account, lic.id))?.inUse).toBe(1);
    expect((await store.acquire(request(), NOW + 30_000)).kind).toBe('granted');
    expect(await store.acquire(request(), NOW + 30_000)).toMatchObject({ kind: 'no-seat', inUse: 2, capacity: 2 });
  });

  it('fires a linger timer once and only when due', async () => {
    product = (await store.updateProduct(account, product.id, { linger: 15 }))!;
    await license(1);
    const g = await store.acquire(request(), NOW);
    if (g.kind !== 'granted') throw new Error('expected a grant');
    await store.endSession(g.session.id, 'ended', NOW);
    expect(await store.fireLeaseTimers(NOW + 14_999, 10)).toEqual([]);
    const [a, b] = await Promise.all([store.fireLeaseTimers(NOW + 15_000, 10), store.fireLeaseTimers(NOW + 15_000, 10)]);
    expect([...a!, ...b!].map((e) => e.data)).toEqual([{ reason: 'released' }]);
  });

  it('recovers live sessions with a fresh window and leaves ended ones', async () => {
    await license(3);
    const a = await store.acquire(request(), NOW);
    const b = await store.acquire(request(), NOW);
    if (a.kind !== 'granted' || b.kind !== 'granted') throw new Error('expected grants');
    await store.endSession(b.session.id, 'ended', NOW);
    const live = await store.recoverSessions(NOW + 60_000);
    expect(live).toEqual([{ id: a.session.id, timeout: 30 }]);
  });

  it('scopes every read and write to the account', async () => {
    const lic = await license(1);
    const g = await store.acquire(request(), NOW);
    if (g.kind !== 'granted') throw new Error('expected a grant');
    const other = 'acc_other';
    expect(await store.getLease(other, g.lease.id)).toBeUndefined();
    expect(await store.getLicense(other, lic.id)).toBeUndefined();
    expect(await store.getProduct(other, product.id)).toBeUndefined();
    expect(await store.releaseLease(other, g.lease.id, NOW)).toBeUndefined();
    expect((await store.deleteLicense(other, lic.id, NOW)).deleted).toBe(false);
    expect(await store.updateLicense(other, lic.id, { seats: 99 }, NOW)).toBeUndefined();
    expect((await store.listLeases(other, {}, { limit: 10, cursor: null })).items).toEqual([]);
    expect(await store.usage(other, NOW)).toEqual([]);
    expect((await store.getLease(account, g.lease.id))?.status).toBe('active');
    expect((await store.getLicense(account, lic.id))?.seats).toBe(1);
  });

  it('lowering seats ends no lease but grants nothing until below the limit', async () => {
    const lic = await license(3);
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await store.acquire(request(), NOW));
    await store.updateLicense(account, lic.id, { seats: 1 }, NOW);
    // The refusal counts the seats held beyond the new limit too, the first time (all
    // candidates tried) and the next (one read, once the product is known to be full).
    expect(await store.acquire(request(), NOW)).toMatchObject({ kind: 'no-seat', inUse: 3, capacity: 1 });
    expect(await store.acquire(request(), NOW)).toMatchObject({ kind: 'no-seat', inUse: 3, capacity: 1 });
    for (const h of held.slice(0, 2)) if (h.kind === 'granted') await store.endSession(h.session.id, 'ended', NOW);
    expect(await store.acquire(request(), NOW)).toMatchObject({ kind: 'no-seat', inUse: 1, capacity: 1 });
    if (held[2]?.kind === 'granted') await store.endSession(held[2].session.id, 'ended', NOW);
    expect((await store.acquire(request(), NOW)).kind).toBe('granted');
  });

  it('ignores licenses outside their validity dates', async () => {
    await store.createLicense(account, id('lic'), {
      productId: product.id, seats: 5, name: null, team: null, platform: null, overage: 0, startsAt: NOW + 1000, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    const r = await store.acquire(request(), NOW);
    expect(r).toMatchObject({ kind: 'no-seat', capacity: 0 });
    expect((await store.acquire(request(), NOW + 1000)).kind).toBe('granted');
  });

  it('a refusal repeated with nothing written in between still reports the capacity valid at its time', async () => {
    await store.createLicense(account, id('lic'), {
      productId: product.id, seats: 1, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: NOW + 1000,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    await license(1);
    for (let i = 0; i < 2; i++) expect((await store.acquire(request(), NOW)).kind).toBe('granted');
    // The first refusal tries every candidate; the next ones read the product's fullness
    // once (the embedded store may reuse that read while nothing is written).
    for (let i = 0; i < 3; i++) expect(await store.acquire(request(), NOW + i)).toMatchObject({ kind: 'no-seat', inUse: 2, capacity: 2 });
    // The first license has expired: no write marked the change, the time did.
    expect(await store.acquire(request(), NOW + 1000)).toMatchObject({ kind: 'no-seat', inUse: 2, capacity: 1 });
    expect(await store.acquire(request(), NOW + 1001)).toMatchObject({ kind: 'no-seat', inUse: 2, capacity: 1 });
  });

  it('refuses to delete a team that still has licenses', async () => {
    const team = await store.createTeam(account, id('team'), 'A', NOW);
    await store.createLicense(account, id('lic'), {
      productId: product.id, seats: 1, name: null, team: team.id, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, NOW);
    await expect(store.deleteTeam(account, team.id)).rejects.toMatchObject({ code: 'conflict' });
    expect(await store.getTeam(account, team.id)).toBeDefined();
  });

  it('shared stores: the sweep expires by the stored deadline, which write-back moves', async () => {
    await license(2);
    const a = await store.acquire(request(), NOW);
    const b = await store.acquire(request(), NOW);
    if (a.kind !== 'granted' || b.kind !== 'granted') throw new Error('expected grants');
    if (!store.shared) {
      // Embedded: the server's heap is the truth; the sweep never touches sessions.
      expect(await store.sweepExpiredSessions(NOW + 3_600_000, 100)).toEqual({ expired: [], events: [] });
      return;
    }
    // Another server saw a heartbeat of `a` and wrote its new deadline back.
    await store.touchSessions(new Map([[a.session.id, NOW + 60_000]]));
    expect((await store.sweepExpiredSessions(NOW + 29_999, 100)).expired).toEqual([]);
    expect((await store.sweepExpiredSessions(NOW + 30_000, 100)).expired).toEqual([b.session.id]);
    expect((await store.expireSessions([a.session.id], NOW + 59_999)).expired).toEqual([]);
    // An older write-back never moves a deadline backwards.
    await store.touchSessions(new Map([[a.session.id, NOW + 40_000]]));
    expect((await store.sweepExpiredSessions(NOW + 59_999, 100)).expired).toEqual([]);
    const done = await store.sweepExpiredSessions(NOW + 60_000, 100);
    expect(done.expired).toEqual([a.session.id]);
    expect(done.events.map((e) => e.data.reason)).toEqual(['expired']);
  });

  it('keeps today\'s peak from the tick, per day of the account', async () => {
    await license(5);
    const held = [];
    for (let i = 0; i < 3; i++) held.push(await store.acquire(request(), NOW));
    await store.sample(NOW);
    for (const h of held.slice(1)) if (h.kind === 'granted') await store.endSession(h.session.id, 'ended', NOW);
    await store.sample(NOW + 1000);
    expect((await store.usage(account, NOW + 2000))[0]).toMatchObject({ inUse: 1, peakToday: 3 });
    expect((await store.usage(account, NOW + 24 * 3_600_000))[0]).toMatchObject({ inUse: 1, peakToday: 1 });
  });

  it('ends every lease of a license deleted while grants race it', async () => {
    const lic = await license(50);
    const results = await Promise.all([
      ...Array.from({ length: 30 }, () => store.acquire(request(), NOW)),
      store.deleteLicense(account, lic.id, NOW),
      ...Array.from({ length: 30 }, () => store.acquire(request(), NOW)),
    ]);
    expect(results.some((r) => 'deleted' in r && r.deleted)).toBe(true);
    const live = (await store.listLeases(account, {}, { limit: 1000, cursor: null })).items;
    expect(live.filter((l) => l.license === lic.id)).toEqual([]);
  });

  it('records events in order for resume', async () => {
    await license(5);
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const g = await store.acquire(request(), NOW);
      if (g.kind !== 'granted') throw new Error('expected a grant');
      await store.endSession(g.session.id, 'ended', NOW);
      ids.push(g.lease.id);
    }
    const first = await store.eventsSince(ids[0]!, 0, 10);
    expect(first.map((e) => e.type)).toEqual(['lease.ended']);
    expect(await store.eventsSince(ids[0]!, first[0]!.seq, 10)).toEqual([]);
  });
});
