/**
 * Read-side queries over leases: the usage view, the tick's sampler (peaks, max-reached,
 * ticket expiry) and queue tickets with their position.
 */
import { localDay } from '../../engine/daily-reset.js';
import type { ProductUsage, Ticket } from '../types.js';
import type { Row, SqlExecutor } from './driver.js';
import { json, num, str, strOrNull } from './rows.js';
import { quotaLimit } from '../../engine/metering.js';
import { inUseSql } from './seats.js';
import { openMaxReached } from './policy-ops.js';

/**
 * The tick's sampler. Records each product's seats in use as today's peak (in the account's
 * time zone) where higher than the stored one — here rather than inside every grant, so
 * grants on one product do not queue on its peak row (a burst shorter than a tick can be
 * missed). Opens a max-reached interval while a product has no free regular seat and closes
 * it when one frees. Expires queue tickets that were neither polled nor streamed in time.
 */
export async function sample(db: SqlExecutor, now: number): Promise<void> {
  const rows = await db.all<Row>(
    `SELECT p.id AS product_id, p.account_id, a.timezone,
            COALESCE(SUM(${inUseSql(db.dialect)}), 0) AS n,
            COALESCE(SUM(CASE WHEN (li.starts_at IS NULL OR li.starts_at <= ?) AND (li.expires_at IS NULL OR li.expires_at > ?) THEN li.seats ELSE 0 END), 0) AS capacity
       FROM products p JOIN accounts a ON a.id = p.account_id LEFT JOIN licenses li ON li.product_id = p.id
      GROUP BY p.id, p.account_id, a.timezone`,
    [now, now],
  );
  for (const r of rows) {
    const n = num(r.n);
    const capacity = num(r.capacity);
    if (n > 0) {
      await db.run(
        `INSERT INTO daily_peaks (product_id, day, peak) VALUES (?, ?, ?)
         ON CONFLICT (product_id, day) DO UPDATE SET peak = excluded.peak WHERE excluded.peak > daily_peaks.peak`,
        [r.product_id, localDay(now, str(r.timezone)).label, n],
      );
    }
    // Per-minute samples for usage over time: highest, and a running total for the average.
    await db.run(
      `INSERT INTO usage_minutes (product_id, minute, peak, total, samples) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (product_id, minute) DO UPDATE SET peak = CASE WHEN excluded.peak > usage_minutes.peak THEN excluded.peak ELSE usage_minutes.peak END,
         total = usage_minutes.total + excluded.total, samples = usage_minutes.samples + 1`,
      [r.product_id, Math.floor(now / 60_000) * 60_000, n, n],
    );
    if (capacity > 0 && n >= capacity) await openMaxReached(db, str(r.account_id), str(r.product_id), now);
    else await db.run('UPDATE max_reached SET to_at = ? WHERE product_id = ? AND to_at IS NULL', [now, r.product_id]);
  }
  await db.run("UPDATE tickets SET status = 'expired', done_at = ? WHERE status = 'waiting' AND expires_at <= ?", [now, now]);
}

export async function getTicket(db: SqlExecutor, id: string): Promise<Ticket | undefined> {
  const r = await db.get<Row>('SELECT * FROM tickets WHERE id = ?', [id]);
  if (!r) return undefined;
  const status = str(r.status) as Ticket['status'];
  let position = 0;
  if (status === 'waiting') {
    const ahead = await db.get<Row>(
      "SELECT COUNT(*) AS n FROM tickets WHERE product_id = ? AND status = 'waiting' AND (created_at < ? OR (created_at = ? AND id < ?))",
      [r.product_id, r.created_at, r.created_at, r.id],
    );
    position = num(ahead?.n ?? 0) + 1;
  }
  return {
    id: str(r.id), accountId: str(r.account_id), productId: str(r.product_id), status, tokenHash: str(r.token_hash), userId: strOrNull(r.user_id),
    leaseId: str(r.lease_id), sessionId: str(r.session_id), interval: num(r.hb_interval), timeout: num(r.hb_timeout),
    createdAt: num(r.created_at), expiresAt: num(r.expires_at), position,
  };
}

export async function usage(db: SqlExecutor, accountId: string, now: number): Promise<ProductUsage[]> {
  const account = await db.get<Row>('SELECT timezone FROM accounts WHERE id = ?', [accountId]);
  const day = localDay(now, str(account?.timezone ?? 'UTC')).label;
  const products = await db.all<Row>(
    `SELECT p.id, p.key, p.config, p.quota_used, COALESCE(d.peak, 0) AS peak FROM products p
       LEFT JOIN daily_peaks d ON d.product_id = p.id AND d.day = ? WHERE p.account_id = ? ORDER BY p.id`,
    [day, accountId],
  );
  const licenses = await db.all<Row>(`SELECT li.*, ${inUseSql(db.dialect)} AS in_use FROM licenses li WHERE li.account_id = ? ORDER BY li.id`, [accountId]);
  // Live leases of the kinds counted below only (partial index leases_live_special): the cost
  // grows neither with history nor with the regular leases.
  const kinds = await db.all<Row>(
    "SELECT product_id, kind, COUNT(*) AS n FROM leases WHERE account_id = ? AND ended_at IS NULL AND kind <> 'regular' GROUP BY product_id, kind",
    [accountId],
  );
  const kindCount = (productId: string, kind: string) => num(kinds.find((k) => str(k.product_id) === productId && str(k.kind) === kind)?.n ?? 0);
  const queued = await db.all<Row>("SELECT product_id, COUNT(*) AS n FROM tickets WHERE account_id = ? AND status = 'waiting' AND expires_at > ? GROUP BY product_id", [accountId, now]);
  const queuedBy = new Map(queued.map((r) => [str(r.product_id), num(r.n)]));
  return products.map((p) => {
    const own = licenses.filter((l) => l.product_id === p.id);
    const valid = own.filter((l) => (l.starts_at === null || num(l.starts_at) <= now) && (l.expires_at === null || num(l.expires_at) > now));
    const inUse = own.reduce((n, l) => n + num(l.in_use), 0);
    const quota = json<{ quota?: { units: number; overage: number } | null }>(p.config).quota ?? null;
    return {
      units: quota === null ? null : { used: num(p.quota_used), quota: quota.units, limit: quotaLimit(quota) },
      product: str(p.key),
      capacity: valid.reduce((n, l) => n + num(l.seats), 0),
      inUse,
      overage: kindCount(str(p.id), 'overage'),
      peakToday: Math.max(num(p.peak), inUse),
      flexInUse: kindCount(str(p.id), 'flex'),
      ppuInUse: kindCount(str(p.id), 'ppu'),
      queued: queuedBy.get(str(p.id)) ?? 0,
      licenses: own.map((l) => ({
        id: str(l.id), name: strOrNull(l.name), team: strOrNull(l.team_id), platform: strOrNull(l.platform),
        seats: num(l.seats), inUse: num(l.in_use),
      })),
    };
  });
}
