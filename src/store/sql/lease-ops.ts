/**
 * Lease operations, each run inside one transaction by `SqlStore`. The rules come from the
 * pure engine (`afterSessionLoss`, `orderCandidates`, …); this file only reads the facts
 * those rules need and applies their decisions, in the same transaction, so that no other
 * request can act on a stale view in between.
 */
import { nextDailyReset } from '../../engine/daily-reset.js';
import { afterSessionLoss, onExplicitRelease, onLeaseTimer, type LossDecision } from '../../engine/release.js';
import { seatKey } from '../../engine/seat.js';
import type { EndReason } from '../../engine/types.js';
import type {
  AccountSettings, AcquireOutcome, AcquireRequest, NoSeat, HeartbeatOutcome, Lease, LeaseEvent, LiveSession, Session,
} from '../types.js';
import { skipLockedClause, type Row, type SqlExecutor } from './driver.js';
import { inUseSql, claimCandidateSeat, freeSeatSlowly, freeSeats, freeSlotsSql, seatCandidates } from './seats.js';
import { MAX_LIST, inList, slices } from './lists.js';
import { quotaExhausted, quotaLimit } from '../../engine/metering.js';
import { authoriseDevice, quotaUsed } from './metering-ops.js';
import { flexEligible, flexTimes, dueActions } from '../../engine/policy.js';
import { onlyRefusable } from '../../engine/acquisition.js';
import { announceBalance, appendEvent, appendLeaseEvents, debitMinute, leaseClock, offerSeats, retime, waitingSql } from './policy-ops.js';
import { getTicket } from './read-ops.js';
export { appendEvent } from './policy-ops.js';
import { LEASE_COLUMNS, LEASE_FROM, json, num, numOrNull, str, strOrNull, toLease, toSession } from './rows.js';

const LEASE_SELECT = `SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM}`;

async function leaseById(tx: SqlExecutor, id: string): Promise<Lease | undefined> {
  const r = await tx.get<Row>(`${LEASE_SELECT} WHERE l.id = ?`, [id]);
  return r && toLease(r);
}

/**
 * A user's live leases, read through `leases_live_user`. Every refusal of a user's request
 * lists them, so this must not read the account's history: given `account_id = ?`, SQLite
 * preferred the account's index (it also serves the ORDER BY), which reads every lease the
 * account ever had (0.3 ms at 3,400 leases, and growing). The account is still checked, as
 * an expression no index serves. `OWN_LEASES_WHERE` takes the user, then the account.
 */
const OWN_LEASES_WHERE = "l.user_id = ? AND l.ended_at IS NULL AND l.account_id || '' = ?";
export const OWN_LEASES_SQL = `${LEASE_SELECT} WHERE ${OWN_LEASES_WHERE} ORDER BY l.id`;
/**
 * PostgreSQL: the same leases as one JSON column, so that a read that needs them anyway (the
 * one-read refusal) takes no second round trip. The rows keep their column names and types
 * (int8 as JSON numbers, text as strings), so `toLease` reads them as it reads `OWN_LEASES_SQL`'s.
 */
const OWN_LEASES_JSON_PG = `(SELECT COALESCE(json_agg(o ORDER BY o.id), '[]'::json) FROM (${LEASE_SELECT} WHERE ${OWN_LEASES_WHERE}) o) AS own`;

async function ownLeases(tx: SqlExecutor, accountId: string, userId: string | null): Promise<Lease[]> {
  if (userId === null) return [];
  const rows = await tx.all<Row>(OWN_LEASES_SQL, [userId, accountId]);
  return rows.map(toLease);
}

/** The seats of the product's licenses valid now, as column `capacity`. */
const CAPACITY_SQL = `(SELECT COALESCE(SUM(CASE WHEN (li.starts_at IS NULL OR li.starts_at <= ?) AND (li.expires_at IS NULL OR li.expires_at > ?) THEN li.seats ELSE 0 END), 0)
     FROM licenses li WHERE li.product_id = ?) AS capacity`;
const capacityParams = (productId: string, now: number) => [now, now, productId];

/** Seats in use and valid capacity of a product, as two columns (`in_use`, `capacity`). */
const loadSql = (dialect: SqlExecutor['dialect']) => `(SELECT COALESCE(SUM(${inUseSql(dialect)}), 0) FROM licenses li WHERE li.product_id = ?) AS in_use,
  ${CAPACITY_SQL}`;
const LOAD_SQL = { sqlite: loadSql('sqlite'), postgres: loadSql('postgres') };
const loadParams = (productId: string, now: number) => [productId, ...capacityParams(productId, now)];

async function productLoad(tx: SqlExecutor, productId: string, now: number): Promise<{ inUse: number; capacity: number }> {
  const r = await tx.get<Row>(`SELECT ${LOAD_SQL[tx.dialect]}`, loadParams(productId, now));
  return { inUse: num(r?.in_use ?? 0), capacity: num(r?.capacity ?? 0) };
}

/**
 * `refusalFirst`: the product was full at its last request, so a refusal is likely: answer it
 * from one read (`quickRefusal`) before trying the candidates. Otherwise the candidates are
 * tried at once (a grant does not pay for the extra read) and a refusal takes the full way.
 * Either way the outcome is the same; only the number of statements differs.
 */
export async function acquire(tx: SqlExecutor, req: AcquireRequest, now: number, refusalFirst: RefusalFirst | null): Promise<AcquireOutcome> {
  const { product } = req;
  const userId = req.user?.id ?? null;

  if (product.quota !== null) {
    const used = await quotaUsed(tx, product.id);
    if (quotaExhausted(used, product.quota)) return { kind: 'quota-exhausted', used, quota: product.quota.units, limit: quotaLimit(product.quota) };
  }

  if (req.join !== null) {
    const r = await tx.get<Row>(`${LEASE_SELECT} WHERE l.account_id = ? AND l.join_code = ? AND l.ended_at IS NULL`, [req.accountId, req.join]);
    if (!r) return { kind: 'unknown-join-code' };
    return attach(tx, toLease(r), req, now, false);
  }

  const key = seatKey(product.seatModel, userId, req.device);
  let read = refusalFirst?.read;
  if (refusalFirst && read === undefined) {
    // Under contention most requests: one read answers the refusal.
    const known = refusalFirst.known?.();
    if (known) {
      read = known;
      refusalFirst.seen?.(known);
    }
    const refused = await quickRefusal(tx, req, now, { key, known, seen: (f) => (refusalFirst.seen?.(f), (read = f)) });
    if (refused) return refused;
  }
  if (key !== null) {
    const r = await tx.get<Row>(`${LEASE_SELECT} WHERE l.product_id = ? AND l.seat_key = ? AND l.ended_at IS NULL`, [product.id, key]);
    if (r) return attach(tx, toLease(r), req, now, false);
  }

  // The personal cap comes before any seat is considered (SPEC §4).
  const cap = req.user?.maxLeases ?? null;
  if (cap !== null) {
    const own = await ownLeases(tx, req.accountId, userId);
    if (own.length >= cap) {
      return { kind: 'user-limit', ...(await productLoad(tx, product.id, now)), ownLeases: own, maxLeases: cap };
    }
  }

  const who = { teams: req.user?.teams ?? [], mayBorrow: req.user !== null && req.user.role !== 'member' };
  if (product.seatModel === 'device' && req.device !== null) {
    const { candidates } = await seatCandidates(tx, product.id, who, req.platform, now);
    return authoriseDevice(tx, req, key, candidates, now, (r, k, shape) => newLease(tx, r, k, shape, now, []));
  }

  // Every seat below 100 % in preference order first, then overage seats. The claim takes a
  // free slot with a conditional update: the database, not this code, decides there is room.
  const claim = await claimCandidateSeat(tx, product.id, who, req.platform, now, req.newLease.id, !req.standby);
  const { granted } = claim;
  if (!granted && claim.suspended && claim.candidates === 0) return { kind: 'license-suspended' };
  if (granted && req.standby) {
    // A seat reserved for a client that has not connected: no session, optionally timed out.
    const timeout = product.standbyTimeout;
    const shape: NewLeaseShape = { license: granted.license, kind: granted.kind, standby: true, ...(timeout !== null && { endsAt: now + timeout * 1000, endsReason: 'expired' }) };
    const outcome = await newLease(tx, req, null, shape, now, []);
    if (outcome.kind !== 'granted') return outcome;
    return { kind: 'standby', lease: outcome.lease, events: [] };
  }
  if (granted) return newLease(tx, req, key, { license: granted.license, kind: granted.kind }, now, []);
  // The fullness read of this request found a slot free, and the claim then found none (on
  // PostgreSQL, another transaction took it in between). With every license a candidate and
  // none soft or suspended, every slot is now held, so the read's load when full is the
  // product's load, and its settings are the account's: no need to read them again.
  const reuse = read !== undefined && read.at === now && !read.special && claim.everyLicense ? read : undefined;
  return noSeat(tx, req, key, now, reuse);
}

/**
 * How `acquire` tries the one-read refusal first; `seen` is told what that read found.
 * `read`: the read was made already, for this request, outside the transaction (PostgreSQL)
 * and found a slot free; the transaction goes straight to the claim, and a refusal after a
 * failed claim reports the read's load.
 */
export interface RefusalFirst {
  seen?: ((f: Fullness) => void) | undefined;
  read?: Fullness | undefined;
  /**
   * A read still valid when the transaction runs (see `SqlStore.acquire`), if any: an earlier
   * transaction of the same group commit may have read the product with nothing written
   * since.
   */
  known?: (() => Fullness | undefined) | undefined;
}

/**
 * What the one-read refusal reads of a product: how many slots below a license's limit are
 * free (counted up to `FREE_SLOTS_COUNTED`, which stands for that many or more), whether a
 * license is soft or suspended, the seats in use when none is free, the valid capacity, and
 * the account's settings. Valid at `at` and, while nothing is written, until `until`: the
 * next time a license of the product starts or expires (the capacity is the only part that
 * depends on the time).
 */
export interface Fullness {
  settings: string;
  freeSlots: number;
  special: boolean;
  /** A license of the product is for a team or a platform: a free slot may not be for everyone. */
  restricted: boolean;
  inUseWhenFull: number;
  capacity: number;
  at: number;
  until: number;
  /** PostgreSQL, when read for a user: that user's live leases, read with the rest. */
  own?: Lease[];
}

/** How far the one-read refusal counts a product's free slots: a bound on the read's cost. */
export const FREE_SLOTS_COUNTED = 16;

/**
 * One read. When no slot below a license's limit is free, every one of them is held, so the
 * seats in use are the limits plus any held slots beyond them (seats lowered while held): the
 * same figure as counting the held slots (`inUseSql`), without reading them all.
 */
export async function readFullness(db: SqlExecutor, accountId: string, productId: string, now: number, userId: string | null = null): Promise<Fullness> {
  const own = userId !== null && db.dialect === 'postgres';
  const r = await db.get<Row>(
    `SELECT (SELECT settings FROM accounts WHERE id = ?) AS settings,
       (SELECT COUNT(*) FROM (SELECT 1 FROM licenses li JOIN seat_slots ss ON ss.license_id = li.id AND ss.lease_id IS NULL AND ss.slot < li.max_seats
                WHERE li.product_id = ? LIMIT ${FREE_SLOTS_COUNTED}) AS counted) AS free,
       EXISTS (SELECT 1 FROM licenses li WHERE li.product_id = ? AND (li.enforcement = 'soft' OR li.suspended_at IS NOT NULL)) AS special,
       EXISTS (SELECT 1 FROM licenses li WHERE li.product_id = ? AND (li.team_id IS NOT NULL OR li.platform IS NOT NULL)) AS restricted,
       (SELECT COALESCE(SUM(li.max_seats + (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.slot >= li.max_seats AND ss.lease_id IS NOT NULL)), 0)
          FROM licenses li WHERE li.product_id = ?) AS in_use_when_full,
       (SELECT MIN(CASE WHEN li.starts_at > ? THEN li.starts_at WHEN li.expires_at > ? THEN li.expires_at END)
          FROM licenses li WHERE li.product_id = ?) AS until,
       ${CAPACITY_SQL}${own ? `, ${OWN_LEASES_JSON_PG}` : ''}`,
    [accountId, productId, productId, productId, productId, now, now, productId, ...capacityParams(productId, now), ...(own ? [userId, accountId] : [])],
  );
  // SQL booleans: 0/1 on SQLite, false/true on PostgreSQL; num() reads both.
  return {
    settings: str(r?.settings ?? '{}'), freeSlots: num(r?.free ?? 0), special: num(r?.special ?? 0) === 1, restricted: num(r?.restricted ?? 0) === 1,
    inUseWhenFull: num(r?.in_use_when_full ?? 0), capacity: num(r?.capacity ?? 0),
    at: now, until: r?.until === null || r?.until === undefined ? Number.POSITIVE_INFINITY : num(r.until),
    // node-postgres parses a json column.
    ...(own && { own: (r?.own as Row[] | undefined ?? []).map(toLease) }),
  };
}

/**
 * The refusal of a request with no way but a free seat (`onlyRefusable`), from one read,
 * when no license of the product has a free slot: under contention that is most requests,
 * and the full way (candidates in order, a claim per candidate, then the refusal's reads)
 * costs several statements more. Null when the full way must run: a slot may be free (the
 * claim decides), a license is soft (never refuses) or suspended (a refusal that says so),
 * or the account's pay-per-use may serve the request, or the request itself has another way
 * (`onlyRefusable`). On SQLite it runs in the acquiring transaction, so a seat freed earlier
 * in the same group commit is seen and taken, not refused; the store may also answer from
 * the last read while nothing has been written since (`known`, see `SqlStore.acquire`). On
 * PostgreSQL the store runs it alone, before queueing the transaction (`SqlStore.acquire`):
 * it sees what is committed, and a seat freed by a batch not yet committed has not been
 * reported freed to anyone either.
 */
export async function quickRefusal(db: SqlExecutor, req: AcquireRequest, now: number, o: QuickRefusalOptions = {}): Promise<NoSeat | null> {
  if (!refusableByRead(req, o.key)) return null;
  let f = o.known;
  if (f === undefined) {
    f = await readFullness(db, req.accountId, req.product.id, now, req.user?.id ?? null);
    o.seen?.(f);
  }
  return readRefuses(req, f, 0) ? noSeatFromRead(db, req, f) : null;
}

export interface QuickRefusalOptions {
  /** The request's seat key, if the caller has it already. */
  key?: string | null;
  /** Told what the read found. */
  seen?: ((f: Fullness) => void) | undefined;
  /** A read still valid (see `SqlStore.acquire`): no statement is sent for it. */
  known?: Fullness;
}

/** Whether a refusal from one read is possible at all: the request has no way but a free seat. */
export function refusableByRead(req: AcquireRequest, key?: string | null): boolean {
  const { product } = req;
  return onlyRefusable({
    seatModel: product.seatModel, seatKey: key !== undefined ? key : seatKey(product.seatModel, req.user?.id ?? null, req.device), join: req.join,
    maxLeases: req.user?.maxLeases ?? null, hasQuota: product.quota !== null,
    standby: req.standby, wait: req.wait, flex: flexEligible(req.channel, product.flex.channels, req.flex),
  });
}

/**
 * Whether a read refuses a request that `refusableByRead` allows: no license is soft or
 * suspended, pay-per-use cannot serve it, and no slot is free for it. `claiming`: on
 * PostgreSQL, how many acquiring transactions of the product this server has queued or
 * running ahead of this request. The read sees what is committed, so a slot they are
 * claiming still reads as free; when they are at least as many as the free slots, the
 * request is refused from the read instead of queueing a transaction that would find every
 * free slot locked (`FOR UPDATE SKIP LOCKED`) or taken, and refuse all the same. Not when a
 * license is for a team or a platform: the claims ahead may be for slots this request could
 * not take, and the free slot for this one.
 */
export function readRefuses(req: AcquireRequest, f: Fullness, claiming: number): boolean {
  if (f.special) return false;
  if (f.freeSlots > 0 && (f.restricted || f.freeSlots >= FREE_SLOTS_COUNTED || claiming < f.freeSlots)) return false;
  return req.ppu === false || !ppuEnabled(f.settings);
}

/** The refusal `readRefuses` decided, with the load the read found. */
export async function noSeatFromRead(db: SqlExecutor, req: AcquireRequest, f: Fullness): Promise<NoSeat> {
  return { kind: 'no-seat', inUse: f.inUseWhenFull, capacity: f.capacity, ownLeases: f.own ?? await ownLeases(db, req.accountId, req.user?.id ?? null) };
}

/** Whether the account's settings enable pay-per-use, remembered for the last settings read. */
function ppuEnabled(settings: string): boolean {
  if (settings !== lastSettings.text) lastSettings = { text: settings, ppu: json<AccountSettings>(settings).ppu.enabled };
  return lastSettings.ppu;
}
let lastSettings = { text: '', ppu: false };

/**
 * No seat: flex (on a flex channel, while the account holds fewer than `flexMax`), then
 * pay-per-use (while the balance lasts), then the queue (if the request asked to wait),
 * else a recorded refusal (SPEC §4). Each limit is a conditional update of the account row.
 */
async function noSeat(tx: SqlExecutor, req: AcquireRequest, key: string | null, now: number, known?: Fullness): Promise<AcquireOutcome> {
  const { product } = req;
  const userId = req.user?.id ?? null;
  // The account's settings and the product's load in one round trip: the load is what a
  // refusal reports, and a refusal is the usual way out of here. `known`: both were just read.
  let load = known ? { inUse: known.inUseWhenFull, capacity: known.capacity } : null;
  let settingsText = known?.settings ?? '';
  if (!load) {
    const acc = await tx.get<Row>(
      `SELECT (SELECT settings FROM accounts WHERE id = ?) AS settings, ${LOAD_SQL[tx.dialect]}`,
      [req.accountId, ...loadParams(product.id, now)],
    );
    load = { inUse: num(acc!.in_use ?? 0), capacity: num(acc!.capacity ?? 0) };
    settingsText = str(acc!.settings);
  }
  const settings = json<AccountSettings>(settingsText);

  if (flexEligible(req.channel, product.flex.channels, req.flex)) {
    const took = await tx.run('UPDATE accounts SET flex_in_use = flex_in_use + 1 WHERE id = ? AND flex_in_use < ?', [req.accountId, settings.flexMax]);
    if (took === 1) {
      const { endsAt, noticeAt } = flexTimes(now, product.flex.duration);
      return newLease(tx, req, key, { license: null, kind: 'flex', endsAt, noticeAt, endsReason: 'flex-ended', noticeMessage: 'Flex time is ending; save your work.' }, now, []);
    }
  }
  if (req.ppu !== false && settings.ppu.enabled) {
    // The first minute is paid when the lease starts (API.md: one minute at start, one
    // more for every further started minute).
    const debit = await debitMinute(tx, req.accountId);
    if (debit) {
      const outcome = await newLease(tx, req, key, { license: null, kind: 'ppu', ppuPaidUntil: now + 60_000 }, now, []);
      if (outcome.kind === 'granted') {
        outcome.events.push(...(await announceBalance(tx, req.accountId, debit, now)));
        if (debit.after === 0) outcome.lease.endsAt = now + 60_000;
      }
      return outcome;
    }
  }
  if (req.wait && req.ticket !== null) {
    const t = req.ticket;
    await tx.run(
      `INSERT INTO tickets (id, account_id, product_id, token_hash, session_token_hash, user_id, device, endpoint_id, client_type, channel,
         platform, hold, meta, hb_interval, hb_timeout, lease_id, join_code, session_id, status, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?)`,
      [t.id, req.accountId, product.id, t.tokenHash, t.sessionTokenHash, userId, req.device, req.endpointId, req.clientType, req.channel,
        req.platform, req.hold, req.meta === null ? null : JSON.stringify(req.meta), req.session.interval, req.session.timeout,
        req.newLease.id, req.newLease.joinCode, req.session.id, now, now + t.ttlMs],
    );
    const ticket = await getTicket(tx, t.id);
    return { kind: 'queued', ticket: ticket! };
  }
  // A refusal writes nothing here: the server records it (and opens the max-reached
  // interval) in its next batch, so refusals under contention do not each wait on a commit.
  return { kind: 'no-seat', ...load, ownLeases: known?.own ?? await ownLeases(tx, req.accountId, userId) };
}

interface NewLeaseShape {
  license: string | null;
  standby?: boolean;
  kind: Lease['kind'];
  endsAt?: number;
  noticeAt?: number;
  noticeMessage?: string;
  endsReason?: string;
  ppuPaidUntil?: number;
}

async function newLease(tx: SqlExecutor, req: AcquireRequest, key: string | null, shape: NewLeaseShape, now: number, events: LeaseEvent[]): Promise<AcquireOutcome> {
  const { product } = req;
  const lease: Lease = {
    id: req.newLease.id, accountId: req.accountId, productId: product.id, product: product.key, license: shape.license, kind: shape.kind,
    status: shape.standby ? 'standby' : 'active', user: req.user?.id ?? null, device: req.device, endpoint: req.endpointId, joinCode: req.newLease.joinCode, hold: req.hold,
    sessions: shape.standby ? 0 : 1, clientType: req.clientType, channel: req.channel, platform: req.platform, meta: req.meta, startedAt: now,
    endsAt: shape.endsAt ?? null, endedAt: null, endReason: null,
  };
  const due = [shape.endsAt, shape.noticeAt, shape.ppuPaidUntil].filter((t): t is number => t !== undefined);
  const leaseParams = [lease.id, req.accountId, product.id, shape.license, shape.kind, lease.status, lease.user, req.device, req.endpointId,
    req.newLease.joinCode, req.hold, lease.sessions, req.clientType, req.channel, req.platform,
    req.meta === null ? null : JSON.stringify(req.meta), key, now, shape.endsAt ?? null, shape.noticeAt ?? null,
    shape.noticeMessage ?? null, shape.endsReason ?? null, shape.ppuPaidUntil ?? null, due.length ? Math.min(...due) : null];
  if (!shape.standby && tx.dialect === 'postgres') {
    // One round trip for both rows: the session's insert names the lease the CTE inserted.
    await tx.run(INSERT_LEASE_AND_SESSION_SQL, [...leaseParams, req.session.id, ...sessionValues(lease, req, now)]);
    return { kind: 'granted', lease, session: sessionOf(lease, req, now), created: true, events };
  }
  await tx.run(INSERT_LEASE_SQL, leaseParams);
  if (shape.standby) return { kind: 'granted', lease, session: null as never, created: true, events };
  const session = await insertSession(tx, lease, req, now);
  return { kind: 'granted', lease, session, created: true, events };
}

const INSERT_LEASE_SQL = `INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, endpoint_id, join_code, hold,
       sessions, client_type, channel, platform, meta, seat_key, started_at, ends_at, notice_at, notice_message, ends_reason, ppu_paid_until, due_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const SESSION_COLUMNS = 'id, lease_id, account_id, token_hash, client_type, hb_interval, hb_timeout, started_at, expires_at';

/** PostgreSQL: the lease and its first session in one statement (the session names the lease the CTE inserts). */
const INSERT_LEASE_AND_SESSION_SQL = `WITH l AS (${INSERT_LEASE_SQL} RETURNING id)
  INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, (SELECT id FROM l), ?, ?, ?, ?, ?, ?, ?)`;

/** A new session's columns after `id, lease_id`. */
function sessionValues(lease: Lease, req: AcquireRequest, now: number): unknown[] {
  const s = req.session;
  return [lease.accountId, s.tokenHash, req.clientType, s.interval, s.timeout, now, now + s.timeout * 1000];
}

async function insertSession(tx: SqlExecutor, lease: Lease, req: AcquireRequest, now: number): Promise<Session> {
  await tx.run(`INSERT INTO sessions (${SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [req.session.id, lease.id, ...sessionValues(lease, req, now)]);
  return sessionOf(lease, req, now);
}

function sessionOf(lease: Lease, req: AcquireRequest, now: number): Session {
  const s = req.session;
  return {
    id: s.id, leaseId: lease.id, accountId: lease.accountId, tokenHash: s.tokenHash, clientType: req.clientType,
    interval: s.interval, timeout: s.timeout, startedAt: now, endedAt: null, endReason: null,
  };
}

/** Thrown when the lease to attach to ended in between; the store re-runs the acquisition. */
export class LeaseGone extends Error {}

async function attach(tx: SqlExecutor, lease: Lease, req: AcquireRequest, now: number, created: boolean): Promise<AcquireOutcome> {
  // Conditional on the lease still being live: a lease found by seat key or join code may
  // have ended since it was read. The update also locks the lease until commit. A new
  // session cancels a pending linger or daily-reset timer; a session joined with
  // hold=until-reset makes the whole lease survive the loss of its sessions (SPEC §3.3).
  const live = await tx.run(
    // Joining a standby lease starts it (and cancels its standby timeout).
    `UPDATE leases SET sessions = sessions + 1, timer = NULL, timer_at = NULL,
            ends_at = CASE WHEN status = 'standby' THEN NULL ELSE ends_at END,
            ends_reason = CASE WHEN status = 'standby' THEN NULL ELSE ends_reason END,
            status = CASE WHEN status = 'standby' THEN 'active' ELSE status END,
            hold = CASE WHEN ? = 'until-reset' THEN 'until-reset' ELSE hold END WHERE id = ? AND ended_at IS NULL`,
    [req.hold, lease.id],
  );
  if (live === 0) throw new LeaseGone(lease.id);
  await retime(tx, lease.id);
  const session = await insertSession(tx, lease, req, now);
  return { kind: 'granted', lease: (await leaseById(tx, lease.id))!, session, created, events: [] };
}

export async function heartbeat(db: SqlExecutor, sessionId: string): Promise<HeartbeatOutcome> {
  // One statement (one round trip on PostgreSQL): the session and its lease.
  const r = await db.get<Row>(
    `SELECT ${LEASE_COLUMNS}, s.id AS s_id, s.lease_id AS s_lease_id, s.account_id AS s_account_id, s.token_hash AS s_token_hash,
            s.client_type AS s_client_type, s.hb_interval AS s_hb_interval, s.hb_timeout AS s_hb_timeout,
            s.started_at AS s_started_at, s.ended_at AS s_ended_at, s.end_reason AS s_end_reason
       FROM sessions s JOIN leases l ON l.id = s.lease_id JOIN products p ON p.id = l.product_id WHERE s.id = ?`,
    [sessionId],
  );
  if (!r) return { kind: 'ended', reason: 'unknown', session: null };
  const session = toSession({
    id: r.s_id, lease_id: r.s_lease_id, account_id: r.s_account_id, token_hash: r.s_token_hash, client_type: r.s_client_type,
    hb_interval: r.s_hb_interval, hb_timeout: r.s_hb_timeout, started_at: r.s_started_at, ended_at: r.s_ended_at, end_reason: r.s_end_reason,
  });
  if (session.endedAt !== null) return { kind: 'ended', reason: session.endReason ?? 'ended', session };
  const lease = toLease(r);
  if (lease.endedAt !== null) return { kind: 'ended', reason: lease.endReason ?? 'ended', session };
  return { kind: 'alive', session, lease };
}

/**
 * Ends a live session and applies the engine's decision to its lease. Returns the events
 * produced, or null if the session was already ended (or, with `aliveAfter`, its shared
 * deadline is later than that instant because another server saw a heartbeat).
 */
export async function endSession(
  tx: SqlExecutor, sessionId: string, how: 'ended' | 'expired', now: number, aliveAfter: number | null,
): Promise<LeaseEvent[] | null> {
  return (await endOneSession(tx, sessionId, how, now, aliveAfter, null))?.events ?? null;
}

/**
 * Ends a live session with one conditional update and applies its loss to its lease: of two
 * concurrent ends (a client's DELETE racing the expiry loop, or two servers) exactly one gets
 * the row. A client's end also names the token, so that checking it costs no read of its own.
 * Null if this call did not end the session. On PostgreSQL the session's end and its lease's
 * count are one statement: a round trip less for every session a client closes.
 */
export async function endOneSession(
  tx: SqlExecutor, sessionId: string, how: 'ended' | 'expired', now: number, aliveAfter: number | null, tokenHash: string | null,
): Promise<{ leaseId: string; events: LeaseEvent[] } | null> {
  const params = [now, how, sessionId, ...(aliveAfter === null ? [] : [aliveAfter]), ...(tokenHash === null ? [] : [tokenHash])];
  const claimSql = sessionEndSql(aliveAfter !== null, tokenHash !== null);
  if (tx.dialect === 'postgres') {
    // The lease's row comes back only if it was still live (as from `afterClaims`' update).
    // When the session was its last and the lease ends at once (`releasesAtOnceSql`), the same
    // statement ends it as `endSeatedLease` does; otherwise the rules run as below.
    const reason: EndReason = how === 'ended' ? 'released' : 'expired';
    const r = await tx.get<Row>(closeSessionSqlPg(claimSql, how), [...params, now, reason, JSON.stringify({ reason }), now]);
    if (!r) return null;
    const leaseId = str(r.claimed);
    if (r.released === true) {
      const lease = { id: str(r.id), accountId: str(r.account_id) };
      return { leaseId, events: await afterSeatedEnd(tx, lease, str(r.license_id), reason, now, r) };
    }
    return { leaseId, events: await applyLosses(tx, r.id === null || r.id === undefined ? [] : [r], how, now) };
  }
  const claimed = await tx.get<Row>(claimSql, params);
  if (!claimed) return null;
  const leaseId = str(claimed.lease_id);
  return { leaseId, events: await afterClaims(tx, new Map([[leaseId, 1]]), how, now) };
}

/**
 * Ends expired sessions in a few statements for the whole batch: the same effect as ending
 * each in turn (`endSession`), which a mass expiry would pay for with several statements per
 * session while heartbeats wait. Returns the sessions this call ended and the events.
 */
export async function expireSessions(
  tx: SqlExecutor, ids: readonly string[], now: number, aliveAfter: number | null,
): Promise<{ expired: string[]; events: LeaseEvent[] }> {
  if (ids.length > MAX_LIST) {
    const all = { expired: [] as string[], events: [] as LeaseEvent[] };
    for (const part of slices(ids)) {
      const r = await expireSessions(tx, part, now, aliveAfter);
      all.expired.push(...r.expired);
      all.events.push(...r.events);
    }
    return all;
  }
  if (ids.length === 0) return { expired: [], events: [] };
  const w = inList('id', ids);
  const claimed = await tx.all<Row>(
    `UPDATE sessions SET ended_at = ?, end_reason = 'expired' WHERE ${w.sql} AND ended_at IS NULL${aliveAfter === null ? '' : ' AND expires_at <= ?'}
     RETURNING id, lease_id`,
    [now, ...w.params, ...(aliveAfter === null ? [] : [aliveAfter])],
  );
  const lost = new Map<string, number>();
  for (const r of claimed) lost.set(str(r.lease_id), (lost.get(str(r.lease_id)) ?? 0) + 1);
  return { expired: claimed.map((r) => str(r.id)), events: await afterClaims(tx, lost, 'expired', now) };
}

/**
 * When losing a session ends its lease at once, written in SQL over the lease's row before the
 * loss: `afterSessionLoss` says `release` for the last session of a lease held by heartbeat
 * when it timed out, or when it ended and its product has no linger; `endLeases` ends a lease
 * with a seat of its own (regular or overage) in one statement (`endSeatedLease`). Any other
 * case (another session left, a hold until reset, a linger, another kind of lease) is left to
 * those functions, so this may say less than the engine but never more.
 * test/store/pg-round-trips.test.ts covers each condition.
 */
function releasesAtOnceSql(how: 'ended' | 'expired'): string {
  // `n.linger`: the product's, read once per statement (see closeSessionSqlPg).
  const linger = how === 'ended' ? ' AND (SELECT linger FROM n) = 0' : '';
  return `(${RELEASED_BY_TIMEOUT} AND license_id IS NOT NULL AND kind IN ('regular', 'overage')${linger})`;
}

/**
 * The engine's release on a timeout (`afterSessionLoss`), in SQL over a lease's row before the
 * loss: the lease's last session, and no hold until the daily reset. (An explicit end also
 * needs a product with no linger: `releasesAtOnceSql`.)
 */
const RELEASED_BY_TIMEOUT = "sessions = 1 AND hold = 'heartbeat'";

/**
 * The conditional update that ends a live session and names its lease. Parameters: the time,
 * the end kind, the session's id, then the shared deadline's bound (`aliveAfter`) and the
 * token's hash (`tokenChecked`) when asked for.
 */
export function sessionEndSql(aliveAfter: boolean, tokenChecked: boolean): string {
  const guard = (aliveAfter ? ' AND expires_at <= ?' : '') + (tokenChecked ? ' AND token_hash = ?' : '');
  return `UPDATE sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL${guard} RETURNING lease_id`;
}

/** How `closeSessionSqlPg` frees a released lease's seat: its slot (`freeSlotsSql`'s fast path). */
const FREE_RELEASED_SLOT = `${freeSlotsSql('lease_id = (SELECT id FROM l WHERE released)', '(SELECT license_id FROM l WHERE released)')} RETURNING slot`;

/**
 * A session's end on PostgreSQL, in one statement: the session, its lease's count and, when
 * that ends the lease at once (`releasesAtOnceSql`), the lease's end with its seat, its
 * `lease.ended` event and the check whether anyone waits for the seat (as `endSeatedLease`).
 * The decrement and the end are one update of the lease's row: PostgreSQL lets a statement
 * update a row only once, and the conditions are then read from the row as it is locked. The
 * product's linger is read once, in `n` (a lease's product never changes).
 * Parameters: the session claim's, then the time, the end reason, the event's data, the time.
 * `freeSeat`: the statement that frees the seat (the pgbench ceiling's counter-row version
 * decrements its counter instead; bench/pgbench.ts writes its scripts from this function).
 */
export function closeSessionSqlPg(claimSql: string, how: 'ended' | 'expired', freeSeat = FREE_RELEASED_SLOT): string {
  const end = releasesAtOnceSql(how);
  return `WITH s AS (${claimSql}),
    n AS (SELECT CAST(? AS BIGINT) AS at, CAST(? AS TEXT) AS reason,
            (SELECT (p.config::jsonb ->> 'linger')::numeric FROM leases x JOIN products p ON p.id = x.product_id WHERE x.id = (SELECT lease_id FROM s)) AS linger),
    l AS (UPDATE leases SET sessions = sessions - 1,
            status = CASE WHEN ${end} THEN 'ended' ELSE status END,
            ended_at = CASE WHEN ${end} THEN (SELECT at FROM n) ELSE ended_at END,
            end_reason = CASE WHEN ${end} THEN (SELECT reason FROM n) ELSE end_reason END,
            due_at = CASE WHEN ${end} THEN NULL ELSE due_at END,
            timer = CASE WHEN ${end} THEN NULL ELSE timer END
          WHERE id = (SELECT lease_id FROM s) AND ended_at IS NULL
          RETURNING ${LOSS_CONTEXT}, ended_at IS NOT NULL AS released),
    f AS (${freeSeat}),
    v AS (INSERT INTO events (account_id, lease_id, type, data, at)
            SELECT account_id, id, 'lease.ended', CAST(? AS TEXT), CAST(? AS BIGINT) FROM l WHERE released RETURNING seq)
    SELECT s.lease_id AS claimed, l.*, (SELECT seq FROM v) AS seq, (SELECT COUNT(*) FROM f) AS freed,
      l.released AND ${waitingSql('license', 'l.license_id')} AS waiting
    FROM s LEFT JOIN l ON true`;
}

/** What `afterSessionLoss` and `endLeases` need of a lease, brought back by its update. */
const LOSS_CONTEXT = `id, account_id, license_id, kind, sessions, hold,
       (SELECT config FROM products WHERE id = leases.product_id) AS product_config,
       (SELECT timezone FROM accounts WHERE id = leases.account_id) AS account_tz,
       (SELECT settings FROM accounts WHERE id = leases.account_id) AS account_settings`;

/** What a session's end does to its lease (`afterSessionLoss`), in the claiming transaction, for several leases, each having lost `lost.get(id)` sessions. */
async function afterClaims(tx: SqlExecutor, lost: ReadonlyMap<string, number>, how: 'ended' | 'expired', now: number): Promise<LeaseEvent[]> {
  // These updates also lock the lease rows for the rest of the transaction, so the counts
  // they answer are the ones the decisions apply to. Leases that lost one session (nearly
  // all) share one statement; the others take one each. No row: the lease had already ended.
  const rows: Row[] = [];
  const ones = [...lost].filter(([, n]) => n === 1).map(([id]) => id);
  if (ones.length > 0) {
    const w = inList('id', ones);
    // A timeout ends most of them in the same update (`EXPIRE_ONE_SQL`).
    const [update, params] = how === 'expired' ? [EXPIRE_ONE_SQL, [now, ...w.params]] : ['UPDATE leases SET sessions = sessions - 1', w.params];
    rows.push(...(await tx.all<Row>(`${update} WHERE ${w.sql} AND ended_at IS NULL RETURNING ${LOSS_CONTEXT}, ended_at IS NOT NULL AS released`, params)));
  }
  for (const [id, n] of lost) {
    if (n === 1) continue;
    const r = await tx.get<Row>(`UPDATE leases SET sessions = sessions - ? WHERE id = ? AND ended_at IS NULL RETURNING ${LOSS_CONTEXT}`, [n, id]);
    if (r) rows.push(r);
  }
  return applyLosses(tx, rows, how, now);
}

/**
 * A lease's loss of one expired session, and its end when that ends it, in one update of its
 * row instead of two (parameters: the time, then the caller's). The condition is the engine's
 * for a timeout (`afterSessionLoss`): the lease's last session, and no hold until the reset.
 * SET reads the row as it was, RETURNING as it is: `released` says which leases this ended,
 * and `endLeases` takes the steps after the end for them (seat, event, flex count). A mass
 * expiry mostly ends leases this way.
 */
const EXPIRE_ONE_SQL = `UPDATE leases SET sessions = sessions - 1,
    status = CASE WHEN ${RELEASED_BY_TIMEOUT} THEN 'ended' ELSE status END,
    ended_at = CASE WHEN ${RELEASED_BY_TIMEOUT} THEN ? ELSE ended_at END,
    end_reason = CASE WHEN ${RELEASED_BY_TIMEOUT} THEN 'expired' ELSE end_reason END,
    due_at = CASE WHEN ${RELEASED_BY_TIMEOUT} THEN NULL ELSE due_at END,
    timer = CASE WHEN ${RELEASED_BY_TIMEOUT} THEN NULL ELSE timer END`;

/** The engine's decision (`afterSessionLoss`) for each lease that lost sessions, given its `LOSS_CONTEXT` row, applied. */
async function applyLosses(tx: SqlExecutor, rows: readonly Row[], how: 'ended' | 'expired', now: number): Promise<LeaseEvent[]> {
  const ends: LeaseEnd[] = [];
  /** Leases the row's own update ended (`EXPIRE_ONE_SQL`): the engine would have released them. */
  const ended: LeaseEnd[] = [];
  // A batch's leases mostly share a product and an account: their settings are read once.
  const lingerOf = memo((config: string) => json<{ linger: number }>(config).linger);
  const resetOf = memo((settings: string) => json<AccountSettings>(settings).dailyReset);
  for (const ctx of rows) {
    const lease: EndingLease = {
      id: str(ctx.id), accountId: str(ctx.account_id), license: strOrNull(ctx.license_id), kind: str(ctx.kind) as Lease['kind'], sessions: num(ctx.sessions),
    };
    if (ctx.released === true || ctx.released === 1) {
      ended.push({ lease, reason: 'expired' });
      continue;
    }
    const decision = afterSessionLoss({
      remaining: lease.sessions,
      how,
      hold: str(ctx.hold) as Lease['hold'],
      linger: lingerOf(str(ctx.product_config)),
      now,
      nextReset: () => nextDailyReset(now, str(ctx.account_tz), resetOf(str(ctx.account_settings))),
    });
    if (decision.kind === 'release') ends.push({ lease, reason: decision.reason });
    else await keepOrTime(tx, lease, decision);
  }
  return endLeases(tx, ends, now, ended);
}

async function keepOrTime(tx: SqlExecutor, lease: EndingLease, d: Exclude<LossDecision, { kind: 'release' }>): Promise<void> {
  switch (d.kind) {
    case 'keep':
      return;
    case 'linger':
      await tx.run("UPDATE leases SET timer = 'linger', timer_at = ? WHERE id = ?", [d.until, lease.id]);
      await retime(tx, lease.id);
      return;
    case 'hold-until-reset':
      await tx.run("UPDATE leases SET timer = 'daily-reset', timer_at = ? WHERE id = ?", [d.until, lease.id]);
      await retime(tx, lease.id);
      return;
  }
}

/** Ends a lease: frees its seat, ends its sessions, records the event. Idempotent. */
export function endLease(tx: SqlExecutor, lease: Lease, reason: EndReason, now: number): Promise<LeaseEvent[]> {
  return endLeases(tx, [{ lease, reason }], now);
}

/** Ends leases (parameters: the time, the reason); the caller adds which, and `ended_at IS NULL`. */
const END_LEASES_SQL = "UPDATE leases SET status = 'ended', ended_at = ?, end_reason = ?, due_at = NULL, timer = NULL, sessions = 0";

/** What ending a lease needs to know of it (a whole `Lease` will do). */
export type EndingLease = Pick<Lease, 'id' | 'accountId' | 'license' | 'kind' | 'sessions'>;

export interface LeaseEnd {
  lease: EndingLease;
  reason: EndReason;
}

/**
 * `endLease` for many leases, with a statement per step for all of them (per reason where the
 * reason is stored) rather than per lease. Leases that had already ended are left alone.
 * `endedHere`: leases the caller's own update of their rows has just ended, in this
 * transaction; the steps after the end (seat, event, flex count) are taken for them too.
 */
export async function endLeases(tx: SqlExecutor, ends: readonly LeaseEnd[], now: number, endedHere: readonly LeaseEnd[] = []): Promise<LeaseEvent[]> {
  if (ends.length + endedHere.length > MAX_LIST) {
    const events: LeaseEvent[] = [];
    for (const part of slices(ends)) events.push(...(await endLeases(tx, part, now)));
    for (const part of slices(endedHere)) events.push(...(await endLeases(tx, [], now, part)));
    return events;
  }
  const one = ends.length === 1 && endedHere.length === 0 ? ends[0]! : null;
  if (one !== null && tx.dialect === 'postgres' && one.lease.license !== null && one.lease.sessions === 0 && (one.lease.kind === 'regular' || one.lease.kind === 'overage')) {
    return endSeatedLease(tx, one.lease, one.lease.license, one.reason, now);
  }
  const ended: LeaseEnd[] = [...endedHere];
  for (const [reason, group] of byReason(ends)) {
    const w = inList('id', group.map((e) => e.lease.id));
    const sql = `${END_LEASES_SQL} WHERE ${w.sql} AND ended_at IS NULL`;
    if (group.length === 1) {
      // One lease (most ends): the count says whether it ended here.
      if ((await tx.run(sql, [now, reason, ...w.params])) === 1) ended.push(group[0]!);
      continue;
    }
    const done = new Set((await tx.all<Row>(`${sql} RETURNING id`, [now, reason, ...w.params])).map((r) => str(r.id)));
    ended.push(...group.filter((e) => done.delete(e.lease.id)));
  }
  if (ended.length === 0) return [];

  const seated = ended.filter((e) => e.lease.license !== null && (e.lease.kind === 'regular' || e.lease.kind === 'overage'));
  await freeSeats(tx, seated.map((e) => ({ license: e.lease.license!, holder: e.lease.id })));
  // The ends are recorded before the freed seats are offered, so that sequence numbers follow
  // cause and effect.
  const events = await appendLeaseEvents(
    tx, ended.map((e) => ({ accountId: e.lease.accountId, leaseId: e.lease.id, type: 'lease.ended', data: { reason: e.reason } })), now,
  );
  // The freed seats go to waiting flex leases or tickets before anyone else can take them.
  const offered: LeaseEvent[] = [];
  for (const license of new Set(seated.map((e) => e.lease.license!))) offered.push(...(await offerSeats(tx, license, now)));

  const flexEnded = new Map<string, number>();
  for (const e of ended) if (e.lease.kind === 'flex') flexEnded.set(e.lease.accountId, (flexEnded.get(e.lease.accountId) ?? 0) + 1);
  for (const [accountId, n] of flexEnded) await tx.run('UPDATE accounts SET flex_in_use = flex_in_use - ? WHERE id = ?', [n, accountId]);

  // Their sessions end with them (none are left when the last one's loss ended the lease).
  for (const [reason, group] of byReason(ended.filter((e) => e.lease.sessions > 0))) {
    const w = inList('lease_id', group.map((e) => e.lease.id));
    await tx.run(`UPDATE sessions SET ended_at = ?, end_reason = ? WHERE ${w.sql} AND ended_at IS NULL`, [now, reason, ...w.params]);
  }
  return [...events, ...offered];
}

/**
 * `endLeases` for one lease that holds a seat and has no live session (a client closing its
 * last session), on PostgreSQL: the lease's end, its seat's release (`freeSlotsSql`'s fast
 * path), its `lease.ended` event and the check whether anyone waits for the seat, in one
 * statement instead of four round trips. The rarer ways then run as `endLeases` runs them:
 * the slow path for a seat the fast path could not free (seats lowered below those held),
 * and the offer of the seat to a waiting flex lease or ticket.
 */
async function endSeatedLease(tx: SqlExecutor, lease: EndingLease, license: string, reason: EndReason, now: number): Promise<LeaseEvent[]> {
  const data = { reason };
  const r = await tx.get<Row>(
    `WITH e AS (${END_LEASES_SQL} WHERE id = ? AND ended_at IS NULL RETURNING id),
          f AS (${freeSlotsSql('lease_id = (SELECT id FROM e)')} RETURNING slot),
          v AS (INSERT INTO events (account_id, lease_id, type, data, at) SELECT CAST(? AS TEXT), id, 'lease.ended', CAST(? AS TEXT), CAST(? AS BIGINT) FROM e RETURNING seq)
     SELECT (SELECT seq FROM v) AS seq, (SELECT COUNT(*) FROM f) AS freed, ${waitingSql('license')} AS waiting`,
    [now, reason, lease.id, license, license, license, license, lease.accountId, JSON.stringify(data), now, license, license],
  );
  if (!r || r.seq === null || r.seq === undefined) return []; // it had already ended
  return afterSeatedEnd(tx, lease, license, reason, now, r);
}

/**
 * The rest of a seated lease's end after the statement that ended it (`endSeatedLease`, or a
 * session's end on PostgreSQL): the slow path for a seat its fast path could not free (seats
 * lowered below those held), the event, and the seat offered to a waiting flex lease or ticket.
 * `r`: that statement's `seq`, `freed` and `waiting`.
 */
async function afterSeatedEnd(tx: SqlExecutor, lease: Pick<EndingLease, 'id' | 'accountId'>, license: string, reason: EndReason, now: number, r: Row): Promise<LeaseEvent[]> {
  if (num(r.freed) === 0) await freeSeatSlowly(tx, license, lease.id);
  const events: LeaseEvent[] = [{ seq: num(r.seq), accountId: lease.accountId, leaseId: lease.id, type: 'lease.ended', data: { reason }, at: now }];
  if (num(r.waiting) === 1) events.push(...(await offerSeats(tx, license, now)));
  return events;
}

/** `f` remembering its answers by argument, for the length of one call of the caller. */
function memo<T>(f: (key: string) => T): (key: string) => T {
  const seen = new Map<string, T>();
  return (key) => {
    if (!seen.has(key)) seen.set(key, f(key));
    return seen.get(key)!;
  };
}

function byReason(ends: readonly LeaseEnd[]): Map<EndReason, LeaseEnd[]> {
  const m = new Map<EndReason, LeaseEnd[]>();
  for (const e of ends) {
    const g = m.get(e.reason);
    if (g) g.push(e);
    else m.set(e.reason, [e]);
  }
  return m;
}

export async function recoverSessions(tx: SqlExecutor, now: number): Promise<LiveSession[]> {
  await tx.run(
    'UPDATE sessions SET expires_at = CAST(? AS BIGINT) + hb_timeout * 1000 WHERE ended_at IS NULL AND expires_at < CAST(? AS BIGINT) + hb_timeout * 1000',
    [now, now],
  );
  const rows = await tx.all<Row>('SELECT id, hb_timeout FROM sessions WHERE ended_at IS NULL');
  return rows.map((r) => ({ id: str(r.id), timeout: num(r.hb_timeout) }));
}

export async function releaseLease(tx: SqlExecutor, accountId: string, leaseId: string, now: number): Promise<{ lease: Lease; events: LeaseEvent[] } | undefined> {
  // Dropping the hold first locks the lease row, so the session count read next is current.
  await tx.run("UPDATE leases SET hold = 'heartbeat' WHERE account_id = ? AND id = ? AND ended_at IS NULL", [accountId, leaseId]);
  const r = await tx.get<Row>(`${LEASE_SELECT} WHERE l.account_id = ? AND l.id = ?`, [accountId, leaseId]);
  if (!r) return undefined;
  const lease = toLease(r);
  if (lease.endedAt !== null) return { lease, events: [] };
  const d = onExplicitRelease({ sessions: lease.sessions });
  const events = d.kind === 'release' ? await endLease(tx, lease, d.reason, now) : [];
  return { lease: (await leaseById(tx, leaseId))!, events };
}

/** Leases whose timed state is due (`fireLeaseTimers` has work). */
const TIMERS_DUE = 'l.due_at <= ? AND l.ended_at IS NULL';

/** Whether any lease timer is due (read through `leases_due`). */
export const LEASE_TIMERS_DUE_SQL = `SELECT 1 AS due FROM leases l WHERE ${TIMERS_DUE} LIMIT 1`;

/** Whether any lease timer is due: `fireLeaseTimers` would find work. */
export async function leaseTimersDue(db: SqlExecutor, now: number): Promise<boolean> {
  return (await db.get<Row>(LEASE_TIMERS_DUE_SQL, [now])) !== undefined;
}

export async function fireLeaseTimers(tx: SqlExecutor, now: number, limit: number): Promise<LeaseEvent[]> {
  // On PostgreSQL every server runs this loop; SKIP LOCKED lets each claim different leases
  // so a timer fires exactly once.
  const lock = skipLockedClause(tx, 'l');
  const rows = await tx.all<Row>(`${LEASE_SELECT} WHERE ${TIMERS_DUE} ORDER BY l.due_at LIMIT ?${lock}`, [now, limit]);
  const events: LeaseEvent[] = [];
  for (const r of rows) {
    const lease = toLease(r);
    let ended = false;
    for (const action of dueActions(leaseClock(r), now)) {
      if (ended) break;
      switch (action.kind) {
        case 'end':
          events.push(...(await endLease(tx, lease, (strOrNull(r.ends_reason) ?? 'terminated') as EndReason, now)));
          ended = true;
          break;
        case 'ppu-debit': {
          // Every started minute is charged, including minutes that passed while no server
          // ran the loop (a restart): catch up until the paid time is in the future.
          let paidUntil = num(r.ppu_paid_until);
          while (paidUntil <= now && !ended) {
            const debit = await debitMinute(tx, lease.accountId);
            if (!debit) {
              events.push(...(await endLease(tx, lease, 'ppu-exhausted', now)));
              ended = true;
              break;
            }
            paidUntil += 60_000;
            await tx.run('UPDATE leases SET ppu_paid_until = ? WHERE id = ?', [paidUntil, lease.id]);
            events.push(...(await announceBalance(tx, lease.accountId, debit, now)));
          }
          break;
        }
        case 'notice':
          events.push(await appendEvent(tx, lease.accountId, lease.id, 'lease.terminating', {
            at: new Date(numOrNull(r.ends_at) ?? now).toISOString(), message: strOrNull(r.notice_message) ?? 'This session is ending.',
          }, now));
          await tx.run('UPDATE leases SET notice_at = NULL WHERE id = ?', [lease.id]);
          break;
        case 'release-timer': {
          const d = onLeaseTimer({ sessions: lease.sessions, timer: action.timer });
          if (d.kind === 'release') {
            events.push(...(await endLease(tx, lease, d.reason, now)));
            ended = true;
          } else {
            await tx.run('UPDATE leases SET timer = NULL, timer_at = NULL WHERE id = ?', [lease.id]);
          }
          break;
        }
      }
    }
    if (!ended) await retime(tx, lease.id);
  }
  return events;
}

export async function retimeDailyResets(tx: SqlExecutor, accountId: string, now: number): Promise<void> {
  const a = await tx.get<Row>('SELECT timezone, settings FROM accounts WHERE id = ?', [accountId]);
  if (!a) return;
  const at = nextDailyReset(now, str(a.timezone), json<AccountSettings>(a.settings).dailyReset);
  const held = await tx.all<Row>("SELECT id FROM leases WHERE account_id = ? AND timer = 'daily-reset' AND ended_at IS NULL", [accountId]);
  for (const l of held) {
    await tx.run('UPDATE leases SET timer_at = ? WHERE id = ?', [at, l.id]);
    await retime(tx, str(l.id));
  }
}

