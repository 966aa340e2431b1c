/**
 * PostgreSQL answers each statement over the network, so a grant and a client's close are
 * written to take few round trips. A grant ranks the candidates in its claim, and the lease and
 * its session are one insert. A close is one statement: the session's end with its lease's
 * count and, when the rules end the lease at once, the lease's end with its seat, its event and
 * the check for waiters; when they do not (another session, a linger, a hold until reset), the
 * lease stays as the engine says. Counted here at the pg client, with the effects they must
 * still have. A group commit's BEGIN goes out with its first statement, not a round trip ahead
 * of it, and in the same write to the socket.
 */
import net from 'node:net';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { postgresReachable } from '../helpers/stores.js';
import { useOneSeat } from '../helpers/one-seat.js';
import { sentStatements } from '../helpers/pg-statements.js';
import { defaultProductConfig } from '../../src/server/defaults.js';
import type { AcquireRequest } from '../../src/store/types.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();

describe.runIf(reachable)('round trips on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 't', NOW);

  /** The statements `fn` sends, other than BEGIN and COMMIT (a group commit's, shared). */
  async function statements<T>(fn: () => Promise<T>): Promise<{ value: T; count: number }> {
    const { value, sent } = await sentStatements(fn);
    return { value, count: sent.filter((q) => q !== 'BEGIN' && q !== 'COMMIT').length };
  }

  it('grants in two statements and closes in one, with every effect of the close', async () => {
    const { store, request } = seat();
    const grant = await statements(() => store.acquire(request(), NOW));
    if (grant.value.kind !== 'granted') throw new Error('expected a grant');
    const { lease, session } = grant.value;
    // The claim of a slot (with the candidate licenses ranked in it), the lease with its session.
    expect(grant.count).toBe(2);
    expect(await store.heartbeat(session.id)).toMatchObject({ kind: 'alive', session: { id: session.id, leaseId: lease.id }, lease: { id: lease.id, license: 'lic_t' } });

    const close = await statements(() => store.closeSession(session.id, session.tokenHash, NOW + 1000));
    // The session's end, its lease's count and, the last session gone, the lease's end.
    expect(close.count).toBe(1);
    expect(close.value).toMatchObject({ kind: 'closed', leaseId: lease.id });
    const events = close.value.kind === 'closed' ? close.value.events : [];
    expect(events).toEqual([{ seq: expect.any(Number), accountId: 'acc_t', leaseId: lease.id, type: 'lease.ended', data: { reason: 'released' }, at: NOW + 1000 }]);
    expect(await store.eventsSince(lease.id, 0, 10)).toMatchObject([{ seq: events[0]!.seq, type: 'lease.ended', data: { reason: 'released' } }]);
    expect(await store.getLease('acc_t', lease.id)).toMatchObject({ status: 'ended', endedAt: NOW + 1000, endReason: 'released', sessions: 0 });
    expect(await store.heartbeat(session.id)).toMatchObject({ kind: 'ended', session: { endedAt: NOW + 1000, endReason: 'ended' } });
    // The seat is free again.
    const again = await store.acquire(request(), NOW + 1000);
    if (again.kind !== 'granted') throw new Error('expected the freed seat');

    // A second close of the same session ends nothing, and says why.
    expect(await store.closeSession(session.id, session.tokenHash, NOW + 2000)).toEqual({ kind: 'ended', leaseId: lease.id, events: [] });
    expect(await store.closeSession(again.session.id, again.session.tokenHash, NOW + 2000)).toMatchObject({ kind: 'closed' });
  });

  it("writes a batch's first statement before BEGIN is answered, and still commits them as one transaction", async () => {
    const { store, request } = seat();
    const submit = pg.Query.prototype.submit;
    let beginAnswered: boolean | null = null;
    const sentBeforeBeginAnswered: string[] = [];
    // Query.submit writes a query to the connection: in pipeline mode at once, otherwise only
    // once the query ahead of it has been answered (its ReadyForQuery read). The listener is put
    // first, so that it has run before the client's own handler writes the next query.
    const spySubmit = vi.spyOn(pg.Query.prototype, 'submit').mockImplementation(function (this: pg.Query & { text?: string }, ...args: unknown[]) {
      const connection = args[0] as { prependOnceListener(e: string, f: () => void): void };
      if (this.text === 'BEGIN') {
        beginAnswered = false;
        connection.prependOnceListener('readyForQuery', () => (beginAnswered = true));
      } else if (beginAnswered === false) {
        sentBeforeBeginAnswered.push(String(this.text));
      }
      return (submit as (...a: unknown[]) => unknown).apply(this, args) as never;
    });
    let grant;
    try {
      grant = await store.acquire(request(), NOW + 5000);
    } finally {
      spySubmit.mockRestore();
    }
    if (grant.kind !== 'granted') throw new Error('expected a grant');
    // Exactly the first statement went out behind BEGIN; the next waited for its answer.
    expect(sentBeforeBeginAnswered).toHaveLength(1);
    // And the grant was committed: a read outside the transaction sees the lease.
    expect(await store.getLease('acc_t', grant.lease.id)).toMatchObject({ id: grant.lease.id, status: 'active' });
    expect(await store.closeSession(grant.session.id, grant.session.tokenHash, NOW + 6000)).toMatchObject({ kind: 'closed' });
  });
  it("writes a batch's BEGIN and its first statement to the socket in one system call", async () => {
    const { store, request } = seat();
    // Every write a socket makes reaches the kernel through _write (one chunk) or _writev
    // (several, as a corked socket flushes them): one system call each.
    const writes: Buffer[][] = [];
    const writeOne = net.Socket.prototype._write;
    const writeMany = net.Socket.prototype._writev!;
    const spyOne = vi.spyOn(net.Socket.prototype, '_write').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      writes.push([args[0] as Buffer]);
      return (writeOne as (...a: unknown[]) => void).apply(this, args);
    });
    const spyMany = vi.spyOn(net.Socket.prototype, '_writev').mockImplementation(function (this: net.Socket, ...args: unknown[]) {
      writes.push((args[0] as { chunk: Buffer }[]).map((c) => c.chunk));
      return (writeMany as (...a: unknown[]) => void).apply(this, args);
    });
    let grant;
    try {
      grant = await store.acquire(request(), NOW + 10_000);
    } finally {
      spyOne.mockRestore();
      spyMany.mockRestore();
    }
    if (grant.kind !== 'granted') throw new Error('expected a grant');
    // A simple query's message starts with Q; a bound statement's with B (Bind).
    const isBegin = (b: Buffer) => b[0] === 0x51 && b.includes('BEGIN');
    const withBegin = writes.filter((w) => w.some(isBegin));
    expect(withBegin).toHaveLength(1);
    expect(withBegin[0]!.some((b) => b[0] === 0x42)).toBe(true);
  });
  it('ends the lease in the session\'s statement only when the rules end it at once', async () => {
    const { store, request, account } = seat();
    const at = NOW + 100_000;
    const lingering = await store.createProduct(account, 'prd_tl', { ...defaultProductConfig(), key: 'tl', name: 'TL', seatModel: 'session', linger: 60 }, at);
    await store.createLicense(account, 'lic_tl', {
      productId: lingering.id, seats: 4, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, at);
    const take = async (over: Partial<AcquireRequest> = {}) => {
      const g = await store.acquire({ ...request(), product: lingering, ...over }, at);
      if (g.kind !== 'granted') throw new Error(`expected a grant, got ${g.kind}`);
      return g;
    };

    // A linger after an explicit end: the lease stays, with no session.
    const lingers = await take();
    expect((await statements(() => store.closeSession(lingers.session.id, lingers.session.tokenHash, at + 1))).value).toEqual({ kind: 'closed', leaseId: lingers.lease.id, events: [] });
    expect(await store.getLease(account, lingers.lease.id)).toMatchObject({ status: 'active', sessions: 0, endedAt: null });

    // A timeout frees the seat at once, linger or not: one statement.
    const times = await take();
    const expired = await statements(() => store.endSession(times.session.id, 'expired', at + 2));
    expect(expired.count).toBe(1);
    expect(expired.value).toMatchObject([{ leaseId: times.lease.id, type: 'lease.ended', data: { reason: 'expired' } }]);
    expect(await store.getLease(account, times.lease.id)).toMatchObject({ status: 'ended', endReason: 'expired', sessions: 0 });

    // Another session still live: the lease keeps its seat, even when this one timed out.
    const shared = await take();
    const second = await store.acquire({ ...request(), product: lingering, join: shared.lease.joinCode }, at);
    if (second.kind !== 'granted') throw new Error('expected to join');
    expect(await store.endSession(shared.session.id, 'expired', at + 3)).toEqual([]);
    expect(await store.getLease(account, shared.lease.id)).toMatchObject({ status: 'active', sessions: 1 });

    // A flex lease (no seat of its own) ends the way `endLeases` ends it, flex count and all.
    const noSeats = await store.createProduct(account, 'prd_tf', { ...defaultProductConfig(), key: 'tf', name: 'TF', seatModel: 'session' }, at);
    await store.createLicense(account, 'lic_tf', {
      productId: noSeats.id, seats: 0, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
      enforcement: 'hard', window: 180, exceptionQuota: null,
    }, at);
    const flex = await take({ product: noSeats, channel: 'access' });
    expect(flex.lease).toMatchObject({ kind: 'flex', license: null });
    const flexOf = async (t: number) => (await store.usage(account, t)).find((u) => u.product === 'tf')?.flexInUse;
    expect(await flexOf(at)).toBe(1);
    const closed = await store.closeSession(flex.session.id, flex.session.tokenHash, at + 4);
    expect(closed).toMatchObject({ kind: 'closed', events: [{ type: 'lease.ended', data: { reason: 'released' } }] });
    expect(await store.getLease(account, flex.lease.id)).toMatchObject({ status: 'ended', endReason: 'released' });
    expect(await flexOf(at + 4)).toBe(0);
    // The account's flex count came down with it: with room for one flex lease, one is granted again.
    const settings = (await store.getAccount(account))!.settings;
    await store.updateAccount(account, { settings: { ...settings, flexMax: 1 } });
    expect((await take({ product: noSeats, channel: 'access' })).lease).toMatchObject({ kind: 'flex' });

    // Held until the daily reset: the lease stays when its last session ends, even timed out.
    const held = await take({ hold: 'until-reset' });
    expect(await store.endSession(held.session.id, 'expired', at + 4)).toEqual([]);
    expect(await store.getLease(account, held.lease.id)).toMatchObject({ status: 'active', sessions: 0, hold: 'until-reset' });
  });
});
