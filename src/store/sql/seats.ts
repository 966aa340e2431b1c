/**
 * Seats as rows. Each license has one `seat_slots` row per seat it may grant (slots
 * 0…seats-1 are regular, seats…seats+overage-1 overage); a lease holds a seat by holding a
 * slot. Taking a seat claims one free slot with a conditional update, so the database
 * decides there is room and no grant can exceed the slots that exist. On PostgreSQL the
 * free slot is chosen with FOR UPDATE SKIP LOCKED, so grants on one busy license run in
 * parallel instead of queueing on a single counter row.
 */
import { orderCandidates, type Requester } from '../../engine/acquisition.js';
import { skipLockedClause, type SqlExecutor, type Row } from './driver.js';
import { num, numOrNull, str, strOrNull } from './rows.js';
import { inList } from './lists.js';

/**
 * Seats in use of the license aliased `li`: held slots (by leases, or by device
 * activations), or for a soft license, which grants past its slots, its live leases.
 *
 * On SQLite the held slots are counted as they change, by triggers on `seat_slots`, into
 * `licenses.held_slots` (migration `sqlite-held-slots`): reading them costs the same with 10 or
 * 10,000 held, where `COUNT(*)` grew with them (a usage read and the tick's sampler took
 * 1.4–2.4 ms of the event loop with 11,000 held; docs/architecture.md, session 17). One writer
 * at a time, so the counter costs a claim one row update and no waiting. PostgreSQL counts the
 * slots: there a counter would be one row that every claim on the license updates, the
 * contention the slots exist to avoid.
 */
export function inUseSql(dialect: SqlExecutor['dialect']): string {
  return dialect === 'sqlite' ? IN_USE_SQLITE : IN_USE_COUNTED;
}

const LIVE_LEASES = '(SELECT COUNT(*) FROM leases sl WHERE sl.license_id = li.id AND sl.ended_at IS NULL)';
const IN_USE_SQLITE = `(CASE WHEN li.enforcement = 'soft' THEN ${LIVE_LEASES} ELSE li.held_slots END)`;
const IN_USE_COUNTED = `(CASE WHEN li.enforcement = 'soft' THEN ${LIVE_LEASES}
  ELSE (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.lease_id IS NOT NULL) END)`;

export interface SeatCandidate {
  id: string;
  seats: number;
  maxSeats: number;
  soft: boolean;
}

/**
 * The licenses of a product a requester may take a seat of, in preference order
 * (`orderCandidates`), without suspended soft licenses; `suspended` tells whether one was
 * left out for that reason (so a refusal can say so), and `everyLicense` whether every license
 * of the product is a candidate (none out of its validity, another team's or platform's, or
 * suspended).
 */
export async function seatCandidates(tx: SqlExecutor, productId: string, who: Requester, platform: string | null, now: number): Promise<{ candidates: SeatCandidate[]; suspended: boolean; everyLicense: boolean }> {
  const rows = await tx.all<Row>('SELECT id, team_id, platform, starts_at, expires_at, seats, max_seats, enforcement, suspended_at FROM licenses WHERE product_id = ? ORDER BY id', [productId]);
  const licenses = rows.map((r) => ({
    id: str(r.id), team: strOrNull(r.team_id), platform: strOrNull(r.platform), startsAt: numOrNull(r.starts_at), expiresAt: numOrNull(r.expires_at),
    seats: num(r.seats), maxSeats: num(r.max_seats), soft: r.enforcement === 'soft', suspended: r.suspended_at !== null && r.suspended_at !== undefined,
  }));
  const ordered = orderCandidates(licenses, who, platform, now);
  const candidates = ordered.filter((c) => !c.suspended);
  return { candidates, suspended: ordered.some((c) => c.suspended), everyLicense: candidates.length === licenses.length };
}

/**
 * Takes a seat for `holderId` (a lease, or a device activation): a regular slot of the first
 * candidate with one free, else an overage slot. A soft license never refuses, so when
 * `slotless` is allowed and every slot is taken, the first soft candidate grants an overage
 * seat that holds no slot (SPEC §6: soft licenses count exceptions instead).
 */
export async function claimSeat(tx: SqlExecutor, candidates: readonly SeatCandidate[], holderId: string, slotless: boolean): Promise<{ license: string; kind: 'regular' | 'overage' } | null> {
  for (const kind of ['regular', 'overage'] as const) {
    const limits = candidates
      .filter((c) => kind === 'regular' || c.maxSeats > c.seats) // no overage slots to try
      .map((c) => ({ id: c.id, limit: kind === 'regular' ? c.seats : c.maxSeats }));
    const license = await takeFirstSeat(tx, limits, holderId);
    if (license !== null) return { license, kind };
  }
  const soft = slotless ? candidates.find((c) => c.soft) : undefined;
  return soft ? { license: soft.id, kind: 'overage' } : null;
}

/**
 * What `claimCandidateSeat` found: the seat taken; or, when none was, how many licenses were
 * candidates, whether a suspended license was left out, and whether every license of the
 * product was a candidate (what a refusal needs to know).
 */
export type CandidateClaim =
  | { granted: { license: string; kind: 'regular' | 'overage' } }
  | { granted: null; candidates: number; suspended: boolean; everyLicense: boolean };

/**
 * `seatCandidates` then `claimSeat`. On PostgreSQL in one statement (`sk_claim_seat`, which
 * ranks the licenses as `orderCandidates` does and claims as `claimSeat` does): reading the
 * candidates had cost each grant a round trip of its own. On SQLite, which runs in this
 * process, the two in turn.
 */
export async function claimCandidateSeat(tx: SqlExecutor, productId: string, who: Requester, platform: string | null, now: number, holderId: string, slotless: boolean): Promise<CandidateClaim> {
  if (tx.dialect === 'sqlite') {
    const { candidates, suspended, everyLicense } = await seatCandidates(tx, productId, who, platform, now);
    const granted = await claimSeat(tx, candidates, holderId, slotless);
    return granted ? { granted } : { granted, candidates: candidates.length, suspended, everyLicense };
  }
  const r = await tx.get<Row>(
    'SELECT license_id, kind, candidates, suspended, every_license FROM sk_claim_seat(?, ?, ?, ?, ?, ?, ?)',
    [holderId, productId, who.teams, who.mayBorrow, platform, now, slotless],
  );
  const license = strOrNull(r?.license_id);
  if (license !== null) return { granted: { license, kind: r?.kind === 'overage' ? 'overage' : 'regular' } };
  return { granted: null, candidates: num(r?.candidates ?? 0), suspended: r?.suspended === true, everyLicense: r?.every_license === true };
}

/**
 * Makes the license's slots match `maxSeats`: adds missing ones, removes free ones beyond
 * it. Held slots beyond it stay until their lease ends (see `freeSeat`).
 */
export async function syncSlots(tx: SqlExecutor, licenseId: string, maxSeats: number): Promise<void> {
  if (maxSeats > 0) {
    await tx.run(
      `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < CAST(? AS INTEGER))
       INSERT INTO seat_slots (license_id, slot) SELECT ?, i FROM n WHERE true ON CONFLICT DO NOTHING`,
      [maxSeats, licenseId],
    );
  }
  await tx.run('DELETE FROM seat_slots WHERE license_id = ? AND slot >= ? AND lease_id IS NULL', [licenseId, maxSeats]);
}

/**
 * Claims a free slot below `limit` for the lease; false if there is none. On PostgreSQL the
 * slot is chosen with SKIP LOCKED: a slot another transaction is claiming is passed over, not
 * waited for (and then found taken).
 */
export async function takeSeat(tx: SqlExecutor, licenseId: string, limit: number, leaseId: string): Promise<boolean> {
  const lock = skipLockedClause(tx);
  const r = await tx.get<Row>(
    `UPDATE seat_slots SET lease_id = ? WHERE license_id = ? AND slot = (
       SELECT slot FROM seat_slots WHERE license_id = ? AND lease_id IS NULL AND slot < ? ORDER BY slot LIMIT 1${lock})
     AND lease_id IS NULL RETURNING slot`,
    [leaseId, licenseId, licenseId, limit],
  );
  return r !== undefined;
}

/**
 * Claims a free slot of the first license in `limits` order that has one below its limit;
 * returns the license, or null. On PostgreSQL in one round trip (with many full licenses ahead
 * of a free one, a statement per license would cost a round trip each).
 */
export async function takeFirstSeat(tx: SqlExecutor, limits: readonly { id: string; limit: number }[], holderId: string): Promise<string | null> {
  if (limits.length === 0) return null;
  if (limits.length === 1 || tx.dialect === 'sqlite') {
    // SQLite runs in this process: a statement per license costs no round trip.
    for (const l of limits) if (await takeSeat(tx, l.id, l.limit, holderId)) return l.id;
    return null;
  }
  // PostgreSQL: the same loop inside the database (sk_take_first_seat, migration
  // "pg-seat-function"), one round trip, each license's slot claimed with SKIP LOCKED.
  const r = await tx.get<Row>('SELECT sk_take_first_seat(?, ?, ?) AS license_id', [holderId, limits.map((l) => l.id), limits.map((l) => l.limit)]);
  return r && r.license_id !== null && r.license_id !== undefined ? str(r.license_id) : null;
}

/**
 * Frees the lease's slot. When seats were lowered below the number held, the slots beyond
 * the new limit are emptied first: a lease holding one of them moves into the slot being
 * freed, so that no new seat is granted until fewer than the limit are held.
 */
export async function freeSeat(tx: SqlExecutor, licenseId: string, leaseId: string): Promise<void> {
  await freeSeats(tx, [{ license: licenseId, holder: leaseId }]);
}

/**
 * The fast path of `freeSeats` for the holders `holderCondition` names (`lease_id = ?` or
 * `lease_id IN (…)`): their slots within the limit, when no slot beyond it is held. The license
 * is named rather than correlated, and the count read rather than RETURNING: either made this
 * statement about twice as dear on SQLite. It is compared as `license_id || ''`, which no index
 * serves: otherwise SQLite, without statistics, walks the license's slots below its limit by
 * primary key (every held seat of a license of 10,000: 3.2 ms for 64 holders) instead of
 * looking the holders up in `seat_slots_held` (0.17 ms). PostgreSQL, once it has statistics,
 * looks them up there as well (with `license_id = ?` it read the license's slots by bitmap).
 * `license`: the license as a parameter (given four times), or an SQL expression for it.
 */
export function freeSlotsSql(holderCondition: string, license = '?'): string {
  return `UPDATE seat_slots SET lease_id = NULL WHERE license_id || '' = ${license} AND ${holderCondition}
    AND slot < (SELECT max_seats FROM licenses WHERE id = ${license})
    AND NOT EXISTS (SELECT 1 FROM seat_slots o WHERE o.license_id = ${license} AND o.lease_id IS NOT NULL
                      AND o.slot >= (SELECT max_seats FROM licenses WHERE id = ${license}))`;
}

/** `freeSeat` for many holders at once: a statement per license frees every slot the fast path can. */
export async function freeSeats(tx: SqlExecutor, held: readonly { license: string; holder: string }[]): Promise<void> {
  const byLicense = new Map<string, string[]>();
  for (const h of held) {
    const holders = byLicense.get(h.license);
    if (holders) holders.push(h.holder);
    else byLicense.set(h.license, [h.holder]);
  }
  const short: string[] = [];
  for (const [license, holders] of byLicense) {
    const w = inList('lease_id', holders);
    const freed = await tx.run(freeSlotsSql(w.sql), [license, ...w.params, license, license, license]);
    if (freed < holders.length) short.push(license);
  }
  // The licenses where the fast path left some, one holder at a time (each may move a lease,
  // which changes what the next finds; a holder already freed is found holding nothing).
  for (const license of short) for (const holder of byLicense.get(license)!) await freeSeatSlowly(tx, license, holder);
}

/**
 * Frees one holder's slot when the fast path (`freeSlotsSql`) could not: a slot beyond the
 * limit is deleted, or the last held one beyond it moves into the slot being freed.
 */
export async function freeSeatSlowly(tx: SqlExecutor, licenseId: string, leaseId: string): Promise<void> {
  const mine = await tx.get<Row>('SELECT slot FROM seat_slots WHERE license_id = ? AND lease_id = ?', [licenseId, leaseId]);
  if (!mine) return;
  const lic = await tx.get<Row>('SELECT max_seats FROM licenses WHERE id = ?', [licenseId]);
  const max = num(lic?.max_seats ?? 0);
  const slot = num(mine.slot);
  if (slot >= max) {
    await tx.run('DELETE FROM seat_slots WHERE license_id = ? AND slot = ?', [licenseId, slot]);
    return;
  }
  const over = await tx.get<Row>(
    'SELECT slot, lease_id FROM seat_slots WHERE license_id = ? AND slot >= ? AND lease_id IS NOT NULL ORDER BY slot DESC LIMIT 1',
    [licenseId, max],
  );
  if (over) {
    await tx.run('DELETE FROM seat_slots WHERE license_id = ? AND slot = ?', [licenseId, num(over.slot)]);
    await tx.run('UPDATE seat_slots SET lease_id = ? WHERE license_id = ? AND slot = ?', [over.lease_id, licenseId, slot]);
    return;
  }
  await tx.run('UPDATE seat_slots SET lease_id = NULL WHERE license_id = ? AND slot = ?', [licenseId, slot]);
}
