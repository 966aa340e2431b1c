/**
 * Soft concurrency (SPEC §6, seed 004 "Per Concurrent Device"): closed windows of each soft
 * license are counted once, exceptions recorded, and the license suspended at its quota.
 * The counting rule is the engine's (`countWindows`); this file reads the leases' lives
 * and applies the outcome.
 */
import { countWindows, exceptionWindows, suspends, windowStart } from '../../engine/metering.js';
import type { LeaseEvent, Page, PageOf, SoftException } from '../types.js';
import type { Row, SqlExecutor } from './driver.js';
import { appendEvent, endLeases } from './lease-ops.js';
import { LEASE_COLUMNS, LEASE_FROM, num, numOrNull, paged, str, toLease } from './rows.js';

/** Most windows one pass counts per license (a day of 3-minute windows). */
const MAX_WINDOWS = 480;

/** Soft licenses with at least one closed window not yet counted. */
export async function dueSoftLicenses(db: SqlExecutor, now: number): Promise<string[]> {
  const rows = await db.all<Row>(
    "SELECT id FROM licenses WHERE enforcement = 'soft' AND (soft_until IS NULL OR soft_until + win * 1000 <= ?) ORDER BY id LIMIT 100",
    [now],
  );
  return rows.map((r) => str(r.id));
}

/**
 * Counts the license's closed windows since it was last counted. The compare-and-set on
 * `soft_until` makes the count happen once, whichever server runs it. Returns the events of
 * leases ended by a suspension.
 */
export async function countSoftWindows(tx: SqlExecutor, licenseId: string, now: number): Promise<LeaseEvent[]> {
  const li = await tx.get<Row>("SELECT * FROM licenses WHERE id = ? AND enforcement = 'soft'", [licenseId]);
  if (!li) return [];
  const win = num(li.win);
  const w = win * 1000;
  const prev = numOrNull(li.soft_until);
  const from = prev ?? windowStart(num(li.created_at), win);
  const to = Math.min(windowStart(now, win), from + MAX_WINDOWS * w);
  if (to <= from) return [];
  const claimed = await tx.run(
    `UPDATE licenses SET soft_until = ? WHERE id = ? AND ${prev === null ? 'soft_until IS NULL' : 'soft_until = ?'}`,
    prev === null ? [to, licenseId] : [to, licenseId, prev],
  );
  if (claimed === 0) return [];
  const lives = await tx.all<Row>(
    'SELECT COALESCE(device, id) AS who, started_at, ended_at FROM leases WHERE license_id = ? AND started_at < ? AND (ended_at IS NULL OR ended_at > ?)',
    [licenseId, to, from],
  );
  const seats = num(li.seats);
  const windows = exceptionWindows(
    countWindows(lives.map((r) => ({ who: str(r.who), from: num(r.started_at), to: numOrNull(r.ended_at) })), from, to, win),
    seats,
  );
  if (windows.length === 0) return [];
  for (const x of windows) {
    await tx.run('INSERT INTO soft_exceptions (license_id, from_at, to_at, active, seats) VALUES (?, ?, ?, ?, ?)', [licenseId, x.from, x.to, x.active, seats]);
  }
  const exceptions = num(li.exceptions) + windows.length;
  const quota = numOrNull(li.exception_quota);
  const suspend = li.suspended_at === null && suspends(exceptions, quota);
  await tx.run(`UPDATE licenses SET exceptions = ?${suspend ? ', suspended_at = ?' : ''} WHERE id = ?`, suspend ? [exceptions, now, licenseId] : [exceptions, licenseId]);
  // Account events (no lease): the admin stream and webhooks hear of it at once.
  const accountId = str(li.account_id);
  const events: LeaseEvent[] = [await appendEvent(tx, accountId, '', 'license.exceptions', {
    license: licenseId, exceptions, exceptionQuota: quota, suspended: suspend || li.suspended_at !== null,
    windows: windows.map((x) => ({ from: new Date(x.from).toISOString(), to: new Date(x.to).toISOString(), active: x.active })),
  }, now)];
  if (suspend) {
    events.push(await appendEvent(tx, accountId, '', 'license.suspended', { license: licenseId, exceptions, exceptionQuota: quota }, now));
    events.push(...(await endLicenseLeases(tx, licenseId, now)));
  }
  return events;
}

/** A suspended license stops working for everyone: its live leases end. */
async function endLicenseLeases(tx: SqlExecutor, licenseId: string, now: number): Promise<LeaseEvent[]> {
  const live = await tx.all<Row>(`SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM} WHERE l.license_id = ? AND l.ended_at IS NULL`, [licenseId]);
  return endLeases(tx, live.map((r) => ({ lease: toLease(r), reason: 'license-suspended' })), now);
}

/**
 * Applies a license change to its suspension: lifted when the count is reset or the quota
 * raised above it, imposed (ending its leases) when the quota is lowered to the count.
 */
export async function resuspend(tx: SqlExecutor, licenseId: string, now: number): Promise<LeaseEvent[]> {
  const li = await tx.get<Row>('SELECT enforcement, exceptions, exception_quota, suspended_at FROM licenses WHERE id = ?', [licenseId]);
  if (!li) return [];
  const should = li.enforcement === 'soft' && suspends(num(li.exceptions), numOrNull(li.exception_quota));
  const is = li.suspended_at !== null;
  if (should === is) return [];
  await tx.run('UPDATE licenses SET suspended_at = ? WHERE id = ?', [should ? now : null, licenseId]);
  return should ? endLicenseLeases(tx, licenseId, now) : [];
}

export async function resetExceptions(tx: SqlExecutor, accountId: string, licenseId: string, now: number): Promise<boolean> {
  const changed = await tx.run('UPDATE licenses SET exceptions = 0 WHERE account_id = ? AND id = ?', [accountId, licenseId]);
  if (changed === 0) return false;
  await resuspend(tx, licenseId, now);
  return true;
}

export async function listSoftExceptions(db: SqlExecutor, licenseId: string, page: Page): Promise<PageOf<SoftException>> {
  const cursor = page.cursor !== null && /^\d+$/.test(page.cursor) ? Number(page.cursor) : null;
  const rows = await db.all<Row>(
    `SELECT id, from_at, to_at, active, seats FROM soft_exceptions WHERE license_id = ? ${cursor === null ? '' : 'AND id < ?'} ORDER BY id DESC LIMIT ?`,
    [licenseId, ...(cursor === null ? [] : [cursor]), page.limit + 1],
  );
  return paged(rows.map((r) => ({ id: String(num(r.id)), from: num(r.from_at), to: num(r.to_at), active: num(r.active), seats: num(r.seats) })), page);
}
