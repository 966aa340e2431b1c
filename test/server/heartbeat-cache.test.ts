/**
 * The heartbeat cache (embedded store): a heartbeat's session, lease and the lease's JSON
 * text from memory, dropped whenever the lease or session changes, so that a miss reads the
 * store again.
 */
import { describe, expect, it } from 'vitest';
import { HeartbeatCache } from '../../src/server/heartbeat-cache.js';
import type { Lease, Session } from '../../src/store/types.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);

function lease(id: string, sessions = 1): Lease {
  return {
    id, accountId: 'acc', productId: 'prd', product: 'cad', license: 'lic', kind: 'regular', status: 'active', user: null, device: null,
    endpoint: null, joinCode: `join-${id}`, hold: 'heartbeat', sessions, clientType: null, channel: null, platform: null, meta: null,
    startedAt: NOW, endsAt: null, endedAt: null, endReason: null,
  };
}

function session(id: string, leaseId: string): Session {
  return { id, leaseId, accountId: 'acc', tokenHash: `hash-${id}`, clientType: null, interval: 10, timeout: 30, startedAt: NOW, endedAt: null, endReason: null };
}

/** Sessions s1 and s2 on lease l1, s3 on lease l2. */
function twoLeases(): HeartbeatCache {
  const c = new HeartbeatCache();
  c.put(session('s1', 'l1'), lease('l1', 2));
  c.put(session('s2', 'l1'), lease('l1', 2));
  c.put(session('s3', 'l2'), lease('l2'));
  return c;
}

/** l1's sessions miss; l2's still hits. */
function expectOnlyL2(c: HeartbeatCache): void {
  expect(c.get('s1')).toBeUndefined();
  expect(c.get('s2')).toBeUndefined();
  expect(read(c, 's3')).toMatchObject({ lease: 'l2' });
}

/** What a hit says, copied (the cache reuses its answer object). */
function read(c: HeartbeatCache, id: string) {
  const h = c.get(id);
  return h && { session: h.session.id, lease: h.lease.id, sessions: h.lease.sessions, text: h.text };
}

describe('HeartbeatCache', () => {
  it('answers a session put with its lease, and the lease as JSON text built once per change', () => {
    const c = new HeartbeatCache();
    expect(c.get('s1')).toBeUndefined();
    c.put(session('s1', 'l1'), lease('l1'));
    const first = read(c, 's1')!;
    expect(first).toMatchObject({ session: 's1', lease: 'l1', sessions: 1 });
    expect(JSON.parse(first.text)).toMatchObject({ id: 'l1', joinCode: 'join-l1', sessions: 1, startedAt: new Date(NOW).toISOString() });
    // The same text object each time until the lease changes.
    expect(read(c, 's1')!.text).toBe(first.text);
    c.put(session('s2', 'l1'), lease('l1', 2));
    expect(read(c, 's1')).toMatchObject({ lease: 'l1', sessions: 2 });
    expect(JSON.parse(read(c, 's2')!.text)).toMatchObject({ sessions: 2 });
  });

  it('misses every session of a lease that changed, until one of them is put again', () => {
    const c = twoLeases();
    c.dropLease('l1');
    expectOnlyL2(c);
    // The heartbeat that missed reads the store and puts what it read.
    c.put(session('s1', 'l1'), { ...lease('l1', 2), channel: 'beta' });
    expect(JSON.parse(read(c, 's2')!.text)).toMatchObject({ channel: 'beta' });
  });

  it('forgets every session of an ended lease', () => {
    const c = twoLeases();
    c.endLease('l1');
    expectOnlyL2(c);
    // A later put of the other lease's data does not bring the ended lease's sessions back.
    c.put(session('s4', 'l2'), lease('l2', 2));
    expect(c.get('s1')).toBeUndefined();
  });

  it('drops an ended session, and its lease (whose session count changed) for the others', () => {
    const c = twoLeases();
    c.dropSession('s1', null); // its lease from the cached session
    expect(c.get('s1')).toBeUndefined();
    expect(c.get('s2')).toBeUndefined();
    c.put(session('s2', 'l1'), lease('l1', 1));
    expect(read(c, 's2')).toMatchObject({ sessions: 1 });
    c.dropSession('s3', 'l2'); // its lease named
    expect(c.get('s3')).toBeUndefined();
    // A session it never had: its named lease is dropped all the same.
    c.dropSession('s9', 'l1');
    expect(c.get('s2')).toBeUndefined();
    // A lease's view is kept only while it has cached sessions.
    const held = c as unknown as { leases: Map<string, unknown>; sessions: Map<string, unknown> };
    expect([...held.leases.keys()]).toEqual(['l1']);
    c.dropSession('s2', null);
    expect(held.leases.size).toBe(0);
    expect(held.sessions.size).toBe(0);
  });

  it('misses every lease after clearLeases, and hits again once put', () => {
    const c = new HeartbeatCache();
    c.put(session('s1', 'l1'), lease('l1'));
    c.put(session('s2', 'l2'), lease('l2'));
    c.clearLeases();
    expect(c.get('s1')).toBeUndefined();
    expect(c.get('s2')).toBeUndefined();
    c.put(session('s1', 'l1'), lease('l1'));
    expect(read(c, 's1')).toMatchObject({ lease: 'l1' });
    expect(c.get('s2')).toBeUndefined();
  });
});
