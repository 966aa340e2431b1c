/**
 * Steering leases (SPEC §3 rule 4, §7; seed 001 ISL Online): terminate with a notice and a
 * grace period, pause and resume by the lease's own user. Each runs inside one transaction.
 */
import type { Requester } from '../../engine/acquisition.js';
import type { Lease, LeaseEvent } from '../types.js';
import type { Row, SqlExecutor } from './driver.js';
import { LEASE_SELECT, appendEvent, offerSeats, retime } from './policy-ops.js';
import { str, toLease } from './rows.js';
import { claimCandidateSeat, freeSeat } from './seats.js';

/**
 * Puts each live lease in `terminating` until `at`, when the timed loop ends it with reason
 * `terminated` (unless its client ends it first). Its sessions are told at once.
 */
export async function terminate(tx: SqlExecutor, accountId: string, ids: readonly string[], at: number, message: string, now: number): Promise<{ terminating: { id: string; at: number }[]; events: LeaseEvent[] }> {
  const terminating: { id: string; at: number }[] = [];
  const events: LeaseEvent[] = [];
  for (const id of ids) {
    const changed = await tx.run(
      "UPDATE leases SET status = 'terminating', ends_at = ?, ends_reason = 'terminated', notice_at = NULL WHERE account_id = ? AND id = ? AND ended_at IS NULL",
      [at, accountId, id],
    );
    if (changed === 0) continue;
    await retime(tx, id);
    terminating.push({ id, at });
    events.push(await appendEvent(tx, accountId, id, 'lease.terminating', { at: new Date(at).toISOString(), message }, now));
  }
  return { terminating, events };
}

/** A paused lease holds no seat: its seat is freed (and offered to waiters). */
export async function pause(tx: SqlExecutor, lease: Lease, now: number): Promise<LeaseEvent[]> {
  const changed = await tx.run("UPDATE leases SET status = 'paused', license_id = NULL WHERE id = ? AND status = 'active'", [lease.id]);
  if (changed === 0) return [];
  const events = [await appendEvent(tx, lease.accountId, lease.id, 'lease.paused', {}, now)];
  if (lease.license !== null) {
    await freeSeat(tx, lease.license, lease.id);
    events.push(...(await offerSeats(tx, lease.license, now)));
  }
  return events;
}

/** Resume takes a seat like any acquisition, in the same license order; false if none is free. */
export async function resume(tx: SqlExecutor, lease: Lease, who: Requester, now: number): Promise<LeaseEvent[] | null> {
  const grant = (await claimCandidateSeat(tx, lease.productId, who, lease.platform, now, lease.id, true)).granted;
  if (!grant) return null;
  await tx.run("UPDATE leases SET status = 'active', license_id = ?, kind = ? WHERE id = ?", [grant.license, grant.kind, lease.id]);
  return [await appendEvent(tx, lease.accountId, lease.id, 'lease.resumed', { license: grant.license, kind: grant.kind }, now)];
}

export async function leaseFor(tx: SqlExecutor, accountId: string, id: string): Promise<Lease | undefined> {
  const r = await tx.get<Row>(`${LEASE_SELECT} WHERE l.account_id = ? AND l.id = ?`, [accountId, id]);
  return r && toLease(r);
}

export async function liveLeasesOfEndpoint(tx: SqlExecutor, accountId: string, endpointId: string): Promise<string[]> {
  const rows = await tx.all<Row>('SELECT id FROM leases WHERE account_id = ? AND endpoint_id = ? AND ended_at IS NULL', [accountId, endpointId]);
  return rows.map((r) => str(r.id));
}
