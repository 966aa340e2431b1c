/**
 * PostgreSQL answers each statement over the network, so a grant and a client's close are
 * written to take few round trips: the lease and its session are one insert, and a close is
 * the session's end with its lease's count, then the lease's end with its seat, its event and
 * the check for waiters. Counted here at the pg client, with the effects they must still have.
 */
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { postgresReachable } from '../helpers/stores.js';
import { useOneSeat } from '../helpers/one-seat.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);
const reachable = await postgresReachable();

describe.runIf(reachable)('round trips on PostgreSQL', () => {
  const seat = useOneSeat('postgres', 't', NOW);

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
    const { store, request } = seat();
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
