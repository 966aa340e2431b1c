import type { Lease, Session } from '../store/types.js';
import { leaseJson } from './serialize.js';

/**
 * What a heartbeat needs on the embedded store — the session's token hash and timeout, and
 * its lease as last read — so that a heartbeat touches no database. Correct only while this
 * process is the store's sole writer (never used with a shared store), and only because every
 * change is reported to it: a lease event drops that lease's view, `lease.ended` drops its
 * sessions too, and the service drops sessions it ends or expires. A miss reads the store.
 */
export class HeartbeatCache {
  private readonly sessions = new Map<string, Session>();
  private readonly byLease = new Map<string, Set<string>>();
  private readonly leases = new Map<string, Lease>();
  /** The lease as API JSON text, built once per change rather than per heartbeat. */
  private readonly texts = new Map<string, string>();

  /** The answer object is reused by the next call: read it at once (no allocation per heartbeat). */
  get(sessionId: string): { session: Session; lease: Lease; text: string } | undefined {
    const session = this.sessions.get(sessionId);
    if (!session) return undefined;
    const lease = this.leases.get(session.leaseId);
    if (!lease) return undefined;
    let text = this.texts.get(lease.id);
    if (text === undefined) {
      text = JSON.stringify(leaseJson(lease));
      this.texts.set(lease.id, text);
    }
    const hit = this.hit;
    hit.session = session;
    hit.lease = lease;
    hit.text = text;
    return hit;
  }

  private readonly hit = { session: null as unknown as Session, lease: null as unknown as Lease, text: '' };

  put(session: Session, lease: Lease): void {
    this.sessions.set(session.id, session);
    let set = this.byLease.get(lease.id);
    if (!set) {
      set = new Set();
      this.byLease.set(lease.id, set);
    }
    set.add(session.id);
    this.leases.set(lease.id, lease);
    this.texts.delete(lease.id);
  }

  /** The lease changed: its next heartbeat re-reads it. */
  dropLease(leaseId: string): void {
    this.leases.delete(leaseId);
    this.texts.delete(leaseId);
  }

  /** The lease ended: forget it and every session on it. */
  endLease(leaseId: string): void {
    this.leases.delete(leaseId);
    this.texts.delete(leaseId);
    for (const id of this.byLease.get(leaseId) ?? []) this.sessions.delete(id);
    this.byLease.delete(leaseId);
  }

  /** A session ended (its lease's session count changed too). */
  dropSession(sessionId: string, leaseId: string | null): void {
    const s = this.sessions.get(sessionId);
    const lid = leaseId ?? s?.leaseId ?? null;
    this.sessions.delete(sessionId);
    if (lid !== null) {
      this.leases.delete(lid);
      this.texts.delete(lid);
      const set = this.byLease.get(lid);
      set?.delete(sessionId);
      if (set && set.size === 0) this.byLease.delete(lid);
    }
  }

  clearLeases(): void {
    this.leases.clear();
    this.texts.clear();
  }
}
