import type { Lease, Session } from '../store/types.js';
import { leaseJson } from './serialize.js';

/** A lease as the cache knows it; its sessions' entries point at it, so a hit is one lookup. */
interface LeaseView {
  /** The lease's id, its key in `leases`. */
  id: string;
  /** Null once the lease changed: its sessions miss until one is put again. */
  lease: Lease | null;
  /** The lease as API JSON text, built once per change rather than per heartbeat. */
  text: string | undefined;
  sessions: Set<string>;
}

/**
 * What a heartbeat needs on the embedded store — the session's token hash and timeout, and
 * its lease as last read — so that a heartbeat touches no database. Correct only while this
 * process is the store's sole writer (never used with a shared store), and only because every
 * change is reported to it: a lease event drops that lease's view, `lease.ended` drops its
 * sessions too, and the service drops sessions it ends or expires. A miss reads the store.
 */
export class HeartbeatCache {
  private readonly sessions = new Map<string, { session: Session; view: LeaseView }>();
  private readonly leases = new Map<string, LeaseView>();

  /** The answer object is reused by the next call: read it at once (no allocation per heartbeat). */
  get(sessionId: string): { session: Session; lease: Lease; text: string } | undefined {
    const entry = this.sessions.get(sessionId);
    if (!entry) return undefined;
    const view = entry.view;
    const lease = view.lease;
    if (lease === null) return undefined;
    let text = view.text;
    if (text === undefined) {
      text = JSON.stringify(leaseJson(lease));
      view.text = text;
    }
    const hit = this.hit;
    hit.session = entry.session;
    hit.lease = lease;
    hit.text = text;
    return hit;
  }

  private readonly hit = { session: null as unknown as Session, lease: null as unknown as Lease, text: '' };

  put(session: Session, lease: Lease): void {
    let view = this.leases.get(lease.id);
    if (view) {
      view.lease = lease;
      view.text = undefined;
    } else {
      view = { id: lease.id, lease, text: undefined, sessions: new Set() };
      this.leases.set(lease.id, view);
    }
    view.sessions.add(session.id);
    this.sessions.set(session.id, { session, view });
  }

  /** The lease changed: its next heartbeat re-reads it. */
  dropLease(leaseId: string): void {
    const view = this.leases.get(leaseId);
    if (view) forget(view);
  }

  /** The lease ended: forget it and every session on it. */
  endLease(leaseId: string): void {
    const view = this.leases.get(leaseId);
    if (!view) return;
    forget(view);
    for (const id of view.sessions) this.sessions.delete(id);
    this.leases.delete(leaseId);
  }

  /**
   * A session ended (its lease's session count changed too). A cached session leads to its
   * lease's view without a lookup in `leases` (a storm drops thousands of sessions at once).
   */
  dropSession(sessionId: string, leaseId: string | null): void {
    const entry = this.sessions.get(sessionId);
    if (entry) {
      this.sessions.delete(sessionId);
      this.unlink(entry.view, sessionId);
    }
    if (leaseId !== null && leaseId !== entry?.view.id) {
      const view = this.leases.get(leaseId);
      if (view) this.unlink(view, sessionId);
    }
  }

  private unlink(view: LeaseView, sessionId: string): void {
    forget(view);
    view.sessions.delete(sessionId);
    if (view.sessions.size === 0) this.leases.delete(view.id);
  }

  clearLeases(): void {
    for (const view of this.leases.values()) forget(view);
  }
}

function forget(view: LeaseView): void {
  view.lease = null;
  view.text = undefined;
}
