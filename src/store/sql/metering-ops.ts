/**
 * Device activations and usage quotas (SPEC §6, seed 004), each run inside one transaction
 * by `SqlStore`. An activation holds a seat slot the way a lease does (the slot's holder is
 * the activation id), so the same conditional slot claim bounds both.
 */
import { activationEnds, decideUnits, quotaLimit } from '../../engine/metering.js';
import type { AcquireOutcome, AcquireRequest, DeviceActivation, Page, PageOf, UnitsOutcome } from '../types.js';
import { skipLockedClause, type Row, type SqlExecutor } from './driver.js';
import { num, paged, str } from './rows.js';
import { claimSeat, freeSeat, type SeatCandidate } from './seats.js';

type Grant = { license: string; kind: 'regular' | 'overage' };

export async function quotaUsed(tx: SqlExecutor, productId: string): Promise<number> {
  const r = await tx.get<Row>('SELECT quota_used FROM products WHERE id = ?', [productId]);
  return num(r?.quota_used ?? 0);
}

/**
 * A device-model request for a device with no live lease: an activation still in its window
 * authorises it at once; otherwise the device takes a seat (regular, then overage) for a new
 * window, or is refused with `device-limit` while devices already activated keep working.
 * `open` starts the lease, which holds no slot itself.
 */
export async function authoriseDevice(
  tx: SqlExecutor, req: AcquireRequest, key: string | null, candidates: readonly SeatCandidate[], now: number,
  open: (req: AcquireRequest, key: string | null, grant: Grant) => Promise<AcquireOutcome>,
): Promise<AcquireOutcome> {
  const { product } = req;
  const act = await tx.get<Row>('SELECT id, license_id, kind, active_until FROM device_activations WHERE product_id = ? AND device = ?', [product.id, req.device]);
  if (act && act.license_id !== null && num(act.active_until) > now) {
    await tx.run('UPDATE device_activations SET last_seen = ? WHERE id = ?', [now, act.id]);
    return open(req, key, { license: str(act.license_id), kind: act.kind === 'overage' ? 'overage' : 'regular' });
  }
  // A lapsed activation the timed work has not released yet gives its seat back first.
  if (act && act.license_id !== null) await lapse(tx, str(act.id), str(act.license_id));
  const holder = act ? str(act.id) : `dev_${req.newLease.id.replace(/^[a-z]+_/, '')}`;
  const grant = await claimSeat(tx, candidates, holder, false);
  if (!grant) return { kind: 'device-limit', ...(await deviceLoad(tx, product.id, now)) };
  const until = activationEnds(now, product.activationWindow);
  if (act) {
    await tx.run('UPDATE device_activations SET license_id = ?, kind = ?, first_seen = ?, last_seen = ?, active_until = ? WHERE id = ?', [
      grant.license, grant.kind, now, now, until, holder,
    ]);
  } else {
    // Two first authorisations of one device race here: the loser's insert violates the
    // unique (product, device) key and its whole transaction is retried, slot claim included.
    await tx.run(
      'INSERT INTO device_activations (id, account_id, product_id, device, license_id, kind, first_seen, last_seen, active_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [holder, req.accountId, product.id, req.device, grant.license, grant.kind, now, now, until],
    );
  }
  return open(req, key, grant);
}

/** Active devices, and how many the product's valid licenses allow (seats, seats + overage). */
async function deviceLoad(tx: SqlExecutor, productId: string, now: number): Promise<{ inUse: number; capacity: number; limit: number }> {
  const r = await tx.get<Row>(
    `SELECT (SELECT COUNT(*) FROM device_activations WHERE product_id = ? AND license_id IS NOT NULL) AS in_use,
            COALESCE(SUM(seats), 0) AS capacity, COALESCE(SUM(max_seats), 0) AS lim
       FROM licenses WHERE product_id = ? AND (starts_at IS NULL OR starts_at <= ?) AND (expires_at IS NULL OR expires_at > ?)`,
    [productId, productId, now, now],
  );
  return { inUse: num(r?.in_use ?? 0), capacity: num(r?.capacity ?? 0), limit: num(r?.lim ?? 0) };
}

async function lapse(tx: SqlExecutor, activationId: string, licenseId: string): Promise<void> {
  await freeSeat(tx, licenseId, activationId);
  await tx.run('UPDATE device_activations SET license_id = NULL WHERE id = ?', [activationId]);
}

/** Frees the seats of activations whose window has passed (up to `limit`, claimed exclusively). */
export async function lapseActivations(tx: SqlExecutor, now: number, limit: number): Promise<number> {
  const lock = skipLockedClause(tx);
  const rows = await tx.all<Row>(`SELECT id, license_id FROM device_activations WHERE license_id IS NOT NULL AND active_until <= ? ORDER BY active_until LIMIT ?${lock}`, [now, limit]);
  for (const r of rows) await lapse(tx, str(r.id), str(r.license_id));
  return rows.length;
}

export async function listDevices(db: SqlExecutor, accountId: string, productId: string | null, page: Page): Promise<PageOf<DeviceActivation>> {
  const rows = await db.all<Row>(
    `SELECT a.id, a.device, p.key AS product_key, a.license_id, a.kind, a.first_seen, a.last_seen, a.active_until
       FROM device_activations a JOIN products p ON p.id = a.product_id
      WHERE a.account_id = ? AND a.license_id IS NOT NULL ${productId === null ? '' : 'AND a.product_id = ?'} ${page.cursor === null ? '' : 'AND a.id > ?'}
      ORDER BY a.id LIMIT ?`,
    [accountId, ...(productId === null ? [] : [productId]), ...(page.cursor === null ? [] : [page.cursor]), page.limit + 1],
  );
  return paged(rows.map((r) => ({
    id: str(r.id), device: str(r.device), product: str(r.product_key), license: str(r.license_id), kind: r.kind === 'overage' ? 'overage' as const : 'regular' as const,
    firstSeen: num(r.first_seen), lastSeen: num(r.last_seen), activeUntil: num(r.active_until),
  })), page);
}

/**
 * Adds units to a metered product's counter with a conditional update (never past the
 * limit, whatever runs concurrently). With an idempotency key, a repeat counts nothing and
 * answers as the first report did.
 */
export async function recordUnits(
  tx: SqlExecutor, r: { accountId: string; productId: string; units: number; device: string | null; idempotencyKey: string | null }, now: number,
): Promise<UnitsOutcome> {
  const p = await tx.get<Row>('SELECT config, quota_used FROM products WHERE account_id = ? AND id = ?', [r.accountId, r.productId]);
  if (!p) return { kind: 'no-quota' };
  const quota = (JSON.parse(str(p.config)) as { quota?: { units: number; overage: number } | null }).quota ?? null;
  if (quota === null) return { kind: 'no-quota' };
  if (r.idempotencyKey !== null) {
    const seen = await tx.get<Row>('SELECT product_id, units, used_after FROM usage_reports WHERE account_id = ? AND idem_key = ?', [r.accountId, r.idempotencyKey]);
    if (seen) {
      if (str(seen.product_id) !== r.productId || num(seen.units) !== r.units) return { kind: 'key-reused' };
      return { kind: 'replayed', used: num(seen.used_after), quota };
    }
  }
  const before = num(p.quota_used);
  const decision = decideUnits(before, r.units, quota);
  if (!decision.ok) return { kind: 'exhausted', used: before, quota };
  // The decision was made on `before`; the update re-checks it in the database.
  const row = await tx.get<Row>(
    'UPDATE products SET quota_used = quota_used + ? WHERE id = ? AND quota_used + ? <= ? RETURNING quota_used',
    [r.units, r.productId, r.units, quotaLimit(quota)],
  );
  if (!row) return { kind: 'exhausted', used: await quotaUsed(tx, r.productId), quota };
  const used = num(row.quota_used);
  if (r.idempotencyKey !== null) {
    await tx.run('INSERT INTO usage_reports (account_id, idem_key, product_id, units, used_after, device, at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
      r.accountId, r.idempotencyKey, r.productId, r.units, used, r.device, now,
    ]);
  }
  return { kind: 'counted', used, quota };
}

/** Idempotency keys are kept this long (7 days). */
export const IDEMPOTENCY_TTL_MS = 7 * 24 * 3600 * 1000;

export async function forgetUsageReports(tx: SqlExecutor, now: number): Promise<void> {
  await tx.run('DELETE FROM usage_reports WHERE at < ?', [now - IDEMPOTENCY_TTL_MS]);
}
