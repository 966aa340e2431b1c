/**
 * What happens when no seat is free (flex, pay-per-use, queue, refusal) and who gets a seat
 * that frees (flex upgrade, then the queue) — applied inside the caller's transaction. The
 * choices are the engine's (`pickWaiter`, `flexEligible`, `dueActions`); this file reads the
 * facts they need and writes their outcome.
 */
import type { Requester as EngineRequester } from '../../engine/acquisition.js';
import { crossedBelow, nextDue, pickWaiter, type LeaseClock } from '../../engine/policy.js';
import { seatKey } from '../../engine/seat.js';
import type { AccountSettings, DenialRecord, Lease, LeaseEvent } from '../types.js';
import type { Row, SqlExecutor } from './driver.js';
import { json, num, numOrNull, str, strOrNull, toLease } from './rows.js';
import { takeSeat } from './seats.js';
import { powerOfTwoChunks } from './lists.js';

export const LEASE_SELECT = 'SELECT l.*, p.key AS product_key FROM leases l JOIN products p ON p.id = l.product_id';

export async function appendEvent(tx: SqlExecutor, accountId: string, leaseId: string, type: string, data: Record<string, unknown>, now: number): Promise<LeaseEvent> {
  const r = await tx.get<Row>('INSERT INTO events (account_id, lease_id, type, data, at) VALUES (?, ?, ?, ?, ?) RETURNING seq', [
    accountId, leaseId, type, JSON.stringify(data), now,
  ]);
  return { seq: num(r!.seq), accountId, leaseId, type, data, at: now };
}

/**
 * Appends one event per lease (at most one each: a batch of ends), in multi-row inserts. The
 * sequence numbers come back by lease, since RETURNING promises no order. One event is
 * `appendEvent`'s statement.
 */
export async function appendLeaseEvents(
  tx: SqlExecutor, evs: readonly Omit<LeaseEvent, 'seq' | 'at'>[], now: number,
): Promise<LeaseEvent[]> {
  const out: LeaseEvent[] = [];
  for (const chunk of powerOfTwoChunks(evs)) {
    if (chunk.length === 1) {
      const e = chunk[0]!;
      out.push(await appendEvent(tx, e.accountId, e.leaseId, e.type, e.data, now));
      continue;
    }
    const rows = await tx.all<Row>(
      `INSERT INTO events (account_id, lease_id, type, data, at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')} RETURNING seq, lease_id`,
      chunk.flatMap((e) => [e.accountId, e.leaseId, e.type, JSON.stringify(e.data), now]),
    );
    const seqs = new Map(rows.map((r) => [str(r.lease_id), num(r.seq)]));
    for (const e of chunk) out.push({ ...e, seq: seqs.get(e.leaseId)!, at: now });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Sets `due_at` to the earliest pending time of the lease (engine `nextDue`). */
export async function retime(tx: SqlExecutor, leaseId: string): Promise<void> {
  const r = await tx.get<Row>('SELECT sessions, ends_at, notice_at, ppu_paid_until, timer, timer_at FROM leases WHERE id = ?', [leaseId]);
  if (!r) return;
  await tx.run('UPDATE leases SET due_at = ? WHERE id = ?', [nextDue(leaseClock(r)), leaseId]);
}

export function leaseClock(r: Row): LeaseClock {
  const timer = strOrNull(r.timer);
  return {
    sessions: num(r.sessions),
    endsAt: numOrNull(r.ends_at),
    noticeAt: numOrNull(r.notice_at),
    ppuPaidUntil: numOrNull(r.ppu_paid_until),
    timer: timer === 'linger' || timer === 'daily-reset' ? timer : null,
    timerAt: numOrNull(r.timer_at),
  };
}

async function requesterOf(tx: SqlExecutor, userId: string | null): Promise<EngineRequester> {
  if (userId === null) return { teams: [], mayBorrow: false };
  const u = await tx.get<Row>('SELECT role FROM users WHERE id = ?', [userId]);
  const teams = (await tx.all<Row>('SELECT team_id FROM user_teams WHERE user_id = ?', [userId])).map((t) => str(t.team_id));
  return { teams, mayBorrow: u !== undefined && str(u.role) !== 'member' };
}

// ── pay-per-use ─────────────────────────────────────────────────────────────────────────

export interface PpuSettings {
  enabled: boolean;
  lowThreshold: number;
}

/** Charges one minute; null when the balance cannot pay. */
export async function debitMinute(tx: SqlExecutor, accountId: string): Promise<{ after: number; threshold: number } | null> {
  const r = await tx.get<Row>('UPDATE accounts SET ppu_balance = ppu_balance - 1 WHERE id = ? AND ppu_balance >= 1 RETURNING ppu_balance, settings', [accountId]);
  if (!r) return null;
  return { after: num(r.ppu_balance), threshold: json<AccountSettings>(r.settings).ppu.lowThreshold ?? 30 };
}

/**
 * After a debit: when the balance crossed below the warning threshold, every pay-per-use
 * lease of the account is sent `ppu.low`; when it reached zero, each is told it ends when its
 * paid minute does (a top-up before then lifts that).
 */
export async function announceBalance(tx: SqlExecutor, accountId: string, debit: { after: number; threshold: number }, now: number): Promise<LeaseEvent[]> {
  const low = crossedBelow(debit.after + 1, debit.after, debit.threshold);
  if (!low && debit.after !== 0) return [];
  const events: LeaseEvent[] = [];
  const leases = await tx.all<Row>("SELECT id, ppu_paid_until FROM leases WHERE account_id = ? AND kind = 'ppu' AND ended_at IS NULL", [accountId]);
  for (const l of leases) {
    if (low) events.push(await appendEvent(tx, accountId, str(l.id), 'ppu.low', { balanceMinutes: debit.after }, now));
    if (debit.after === 0) {
      const at = numOrNull(l.ppu_paid_until) ?? now;
      await tx.run("UPDATE leases SET ends_at = ?, ends_reason = 'ppu-exhausted' WHERE id = ?", [at, l.id]);
      await retime(tx, str(l.id));
      events.push(await appendEvent(tx, accountId, str(l.id), 'lease.terminating', { at: new Date(at).toISOString(), message: 'The pay-per-use balance is used up; this session ends when its paid minute does.' }, now));
    }
  }
  return events;
}

/** A top-up lifts the pending pay-per-use ends. */
export async function topUp(tx: SqlExecutor, accountId: string, minutes: number): Promise<number | undefined> {
  const r = await tx.get<Row>('UPDATE accounts SET ppu_balance = ppu_balance + ? WHERE id = ? RETURNING ppu_balance', [minutes, accountId]);
  if (!r) return undefined;
  const ends = await tx.all<Row>("SELECT id FROM leases WHERE account_id = ? AND kind = 'ppu' AND ended_at IS NULL AND ends_reason = 'ppu-exhausted'", [accountId]);
  for (const l of ends) {
    await tx.run('UPDATE leases SET ends_at = NULL, ends_reason = NULL WHERE id = ?', [l.id]);
    await retime(tx, str(l.id));
  }
  return num(r.ppu_balance);
}

// ── refusals ────────────────────────────────────────────────────────────────────────────

/**
 * Records refusals: multi-row inserts (a refusal under contention is the most frequent write
 * there is, and a statement per row costs most of it), in chunks of powers of two so that a
 * handful of statement shapes serve every batch size.
 */
export async function recordDenials(tx: SqlExecutor, ds: readonly DenialRecord[]): Promise<void> {
  for (const chunk of powerOfTwoChunks(ds)) {
    await tx.run(
      `INSERT INTO denials (account_id, product_id, user_id, device, code, at) VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}`,
      chunk.flatMap((d) => [d.accountId, d.productId, d.userId, d.device, d.code, d.at]),
    );
  }
  // A product's max-reached interval opens at its first refusal for want of a seat.
  const first = new Map<string, DenialRecord>();
  for (const d of ds) if (d.code === 'no-seat' && !first.has(d.productId)) first.set(d.productId, d);
  for (const d of first.values()) await openMaxReached(tx, d.accountId, d.productId, d.at);
}

/** Opens a max-reached interval for the product unless one is open. */
export async function openMaxReached(tx: SqlExecutor, accountId: string, productId: string, now: number): Promise<void> {
  await tx.run(
    'INSERT INTO max_reached (account_id, product_id, from_at) VALUES (?, ?, ?) ON CONFLICT (product_id) WHERE to_at IS NULL DO NOTHING',
    [accountId, productId, now],
  );
}

// ── offering a freed seat ───────────────────────────────────────────────────────────────

/** Derives a ticket's session: what the store needs to start it when a seat comes. */
interface TicketRow {
  id: string;
  accountId: string;
  productId: string;
  userId: string | null;
  device: string | null;
  endpointId: string | null;
  clientType: string | null;
  channel: string | null;
  platform: string | null;
  hold: string;
  meta: string | null;
  interval: number;
  timeout: number;
  leaseId: string;
  joinCode: string;
  sessionId: string;
  sessionTokenHash: string;
}

function toTicketRow(r: Row): TicketRow {
  return {
    id: str(r.id), accountId: str(r.account_id), productId: str(r.product_id), userId: strOrNull(r.user_id), device: strOrNull(r.device),
    endpointId: strOrNull(r.endpoint_id), clientType: strOrNull(r.client_type), channel: strOrNull(r.channel), platform: strOrNull(r.platform),
    hold: str(r.hold), meta: strOrNull(r.meta), interval: num(r.hb_interval), timeout: num(r.hb_timeout), leaseId: str(r.lease_id),
    joinCode: str(r.join_code), sessionId: str(r.session_id), sessionTokenHash: str(r.session_token_hash),
  };
}

/**
 * Whether a flex lease or a ticket waits for a seat of a product, as a boolean expression:
 * the product named by a license id (`by: 'license'`) or by its own id, given twice; `license`
 * may instead be an SQL expression for the license id.
 */
export function waitingSql(by: 'license' | 'product', license = '?'): string {
  const product = by === 'license' ? `(SELECT product_id FROM licenses WHERE id = ${license})` : '?';
  return `EXISTS (SELECT 1 FROM leases WHERE product_id = ${product} AND kind = 'flex' AND ended_at IS NULL
    UNION ALL SELECT 1 FROM tickets WHERE product_id = ${product} AND status = 'waiting')`;
}

/**
 * A seat of `licenseId` may have become free: give it to the oldest flex lease that may use
 * it (upgrade), else to the first live ticket that may, and repeat while seats and waiters
 * remain. Runs in the transaction that freed the seat, so no newcomer can take it first.
 */
export async function offerSeats(tx: SqlExecutor, licenseId: string, now: number): Promise<LeaseEvent[]> {
  const events: LeaseEvent[] = [];
  // Usually nobody waits: that is asked first, in one statement, before reading the license.
  const waiting = async (productId: string | null) => num((await tx.get<Row>(
    `SELECT ${waitingSql(productId === null ? 'license' : 'product')} AS waiting`,
    productId === null ? [licenseId, licenseId] : [productId, productId],
  ))?.waiting ?? 0) === 1;
  if (!(await waiting(null))) return events;
  const lic = await tx.get<Row>('SELECT li.*, p.seat_model FROM licenses li JOIN products p ON p.id = li.product_id WHERE li.id = ?', [licenseId]);
  if (!lic) return events;
  const productId = str(lic.product_id);
  const license = {
    id: licenseId, team: strOrNull(lic.team_id), platform: strOrNull(lic.platform), startsAt: numOrNull(lic.starts_at), expiresAt: numOrNull(lic.expires_at),
  };
  for (let round = 0; round < 100; round++) {
    if (round > 0 && !(await waiting(productId))) return events;
    const flexRows = await tx.all<Row>("SELECT id, started_at, platform, user_id FROM leases WHERE product_id = ? AND kind = 'flex' AND ended_at IS NULL ORDER BY started_at, id LIMIT 50", [productId]);
    const ticketRows = await tx.all<Row>("SELECT * FROM tickets WHERE product_id = ? AND status = 'waiting' ORDER BY created_at, id LIMIT 200", [productId]);
    // One statement at a time: a transaction is one connection, and pg (from version 9)
    // refuses a query sent while another is running on it.
    const flex = [];
    for (const f of flexRows) flex.push({ id: str(f.id), startedAt: num(f.started_at), platform: strOrNull(f.platform), who: await requesterOf(tx, strOrNull(f.user_id)) });
    const tickets = [];
    for (const t of ticketRows) {
      tickets.push({ id: str(t.id), createdAt: num(t.created_at), expiresAt: num(t.expires_at), platform: strOrNull(t.platform), who: await requesterOf(tx, strOrNull(t.user_id)) });
    }
    const choice = pickWaiter(license, flex, tickets, now);
    if (choice === null) return events;

    if (choice.kind === 'upgrade') {
      const kind = (await takeSeat(tx, licenseId, num(lic.seats), choice.id)) ? 'regular'
        : (await takeSeat(tx, licenseId, num(lic.max_seats), choice.id)) ? 'overage' : null;
      if (kind === null) return events;
      await tx.run(
        'UPDATE leases SET kind = ?, license_id = ?, ends_at = NULL, notice_at = NULL, notice_message = NULL, ends_reason = NULL WHERE id = ?',
        [kind, licenseId, choice.id],
      );
      await retime(tx, choice.id);
      const f = await tx.get<Row>('SELECT account_id FROM leases WHERE id = ?', [choice.id]);
      await tx.run('UPDATE accounts SET flex_in_use = flex_in_use - 1 WHERE id = ?', [f!.account_id]);
      events.push(await appendEvent(tx, str(f!.account_id), choice.id, 'lease.upgraded', { kind, license: licenseId }, now));
      continue;
    }

    const t = toTicketRow(ticketRows.find((r) => str(r.id) === choice.id)!);
    const key = seatKey(str(lic.seat_model) as Parameters<typeof seatKey>[0], t.userId, t.device);
    // The requester got a lease for the same seat meanwhile: the ticket joins it and the
    // free seat stays on offer.
    const existing = key === null ? undefined : await tx.get<Row>(`${LEASE_SELECT} WHERE l.product_id = ? AND l.seat_key = ? AND l.ended_at IS NULL`, [productId, key]);
    let leaseId: string;
    if (existing) {
      leaseId = str(existing.id);
      await tx.run('UPDATE leases SET sessions = sessions + 1, due_at = NULL, timer = NULL, timer_at = NULL WHERE id = ?', [leaseId]);
      await retime(tx, leaseId);
    } else {
      const kind = (await takeSeat(tx, licenseId, num(lic.seats), t.leaseId)) ? 'regular'
        : (await takeSeat(tx, licenseId, num(lic.max_seats), t.leaseId)) ? 'overage' : null;
      if (kind === null) return events;
      leaseId = t.leaseId;
      await tx.run(
        `INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, endpoint_id, join_code, hold,
           sessions, client_type, channel, platform, meta, seat_key, started_at)
         VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)`,
        [leaseId, t.accountId, productId, licenseId, kind, t.userId, t.device, t.endpointId, t.joinCode, t.hold, t.clientType, t.channel, t.platform, t.meta, key, now],
      );
    }
    await tx.run(
      `INSERT INTO sessions (id, lease_id, account_id, token_hash, client_type, hb_interval, hb_timeout, started_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [t.sessionId, leaseId, t.accountId, t.sessionTokenHash, t.clientType, t.interval, t.timeout, now, now + t.timeout * 1000],
    );
    await tx.run("UPDATE tickets SET status = 'granted', lease_id = ?, done_at = ? WHERE id = ?", [leaseId, now, t.id]);
    events.push(await appendEvent(tx, t.accountId, leaseId, 'lease.granted', { ticket: t.id, session: t.sessionId, timeout: t.timeout }, now));
  }
  return events;
}

export function leaseFromRow(r: Row): Lease {
  return toLease(r);
}
