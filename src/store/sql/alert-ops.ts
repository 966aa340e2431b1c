/**
 * Alerts and their delivery (SPEC §6): the rules per account, the check that compares every
 * license (and metered product) with its thresholds, webhooks, and the outbox of messages
 * to send. What to decide comes from the engine (`crossings`, `wantsEvent`); this file
 * reads the facts and writes the decisions in the same transaction, so that a check, and
 * the notification it produces, happens once however many servers run it.
 */
import { DEFAULT_ALERT_RULES, crossings, normaliseThresholds, percentOf, wantsEvent, type AlertKind, type AlertRule } from '../../engine/metering.js';
import type { Alert, AlertCheck, AlertCondition, Delivery, DeliveryStatus, DueDelivery, LeaseEvent, Page, PageOf, ReportRange, Webhook, WebhookInput } from '../types.js';
import { skipLockedClause, type Row, type SqlExecutor } from './driver.js';
import { appendEvent } from './policy-ops.js';
import { json, num, numOrNull, paged, str, strOrNull } from './rows.js';
import { inUseSql } from './seats.js';

export type NewId = (prefix: string) => string;

// ── rules ────────────────────────────────────────────────────────────────────────────────

export async function alertRules(db: SqlExecutor, accountId: string): Promise<AlertRule[]> {
  const rows = await db.all<Row>('SELECT id, thresholds, enabled FROM alert_rules WHERE account_id = ?', [accountId]);
  const stored = new Map(rows.map((r) => [str(r.id), r]));
  return DEFAULT_ALERT_RULES.map((d) => {
    const r = stored.get(d.id);
    return r ? { ...d, thresholds: json<number[]>(r.thresholds), enabled: num(r.enabled) === 1 } : { ...d, thresholds: [...d.thresholds] };
  });
}

export async function updateAlertRule(tx: SqlExecutor, accountId: string, id: string, patch: { thresholds?: number[]; enabled?: boolean }): Promise<AlertRule | undefined> {
  const current = (await alertRules(tx, accountId)).find((r) => r.id === id);
  if (!current) return undefined;
  const next = { ...current, ...(patch.thresholds && { thresholds: normaliseThresholds(patch.thresholds) }), ...(patch.enabled !== undefined && { enabled: patch.enabled }) };
  await tx.run(
    'INSERT INTO alert_rules (account_id, id, thresholds, enabled) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, id) DO UPDATE SET thresholds = excluded.thresholds, enabled = excluded.enabled',
    [accountId, id, JSON.stringify(next.thresholds), next.enabled ? 1 : 0],
  );
  return next;
}

// ── the check ────────────────────────────────────────────────────────────────────────────

interface Subject {
  kind: AlertKind;
  subject: string;
  license: string | null;
  licenseName: string | null;
  productId: string;
  product: string;
  value: number;
}

/** What each rule measures, for every license and metered product of the account. */
async function subjects(tx: SqlExecutor, accountId: string): Promise<Subject[]> {
  const out: Subject[] = [];
  const lics = await tx.all<Row>(
    `SELECT li.id, li.name, li.product_id, p.key AS product_key, p.seat_model, li.enforcement, li.seats, li.exceptions, li.exception_quota, ${inUseSql(tx.dialect)} AS in_use
       FROM licenses li JOIN products p ON p.id = li.product_id WHERE li.account_id = ? ORDER BY li.id`,
    [accountId],
  );
  for (const r of lics) {
    const base = { subject: str(r.id), license: str(r.id), licenseName: strOrNull(r.name), productId: str(r.product_id), product: str(r.product_key) };
    const seats = num(r.seats);
    if (r.enforcement === 'soft') {
      const quota = numOrNull(r.exception_quota);
      if (quota !== null && quota > 0) out.push({ ...base, kind: 'soft-exceptions', value: percentOf(num(r.exceptions), quota) });
    } else if (seats > 0) {
      out.push({ ...base, kind: r.seat_model === 'device' ? 'devices' : 'seats', value: percentOf(num(r.in_use), seats) });
    }
  }
  const products = await tx.all<Row>('SELECT id, key, config, quota_used FROM products WHERE account_id = ? ORDER BY id', [accountId]);
  for (const p of products) {
    const quota = json<{ quota?: { units: number } | null }>(p.config).quota ?? null;
    if (quota === null || quota.units <= 0) continue;
    out.push({ kind: 'usage', subject: str(p.id), license: null, licenseName: null, productId: str(p.id), product: str(p.key), value: percentOf(num(p.quota_used), quota.units) });
  }
  return out;
}

/**
 * Accounts whose check is due: their next check time has passed (or was never set). The
 * check itself claims the account with a compare-and-set, so only one server runs it.
 */
export async function dueAlertAccounts(db: SqlExecutor, now: number): Promise<{ id: string; intervalSec: number; recipients: string }[]> {
  const rows = await db.all<Row>('SELECT id, settings FROM accounts WHERE alert_next_at IS NULL OR alert_next_at <= ? ORDER BY id LIMIT 100', [now]);
  return rows.map((r) => {
    const s = json<{ alertCheckInterval?: number; alertRecipients?: string }>(r.settings);
    return { id: str(r.id), intervalSec: s.alertCheckInterval ?? 600, recipients: s.alertRecipients ?? '' };
  });
}

/**
 * Runs one account's check: each enabled rule's thresholds against each subject's value,
 * firing each threshold once per crossing. When anything fired, one `alert` event and one
 * e-mail (in the outbox) list every condition met. `claim` false runs it regardless of the
 * schedule (an administrator's "check now"); both move the next check to `nextAt`.
 */
export async function runAlertCheck(
  tx: SqlExecutor, accountId: string, now: number, nextAt: number, claim: boolean, newId: NewId,
): Promise<AlertCheck | null> {
  const claimed = await tx.run(
    `UPDATE accounts SET alert_next_at = ? WHERE id = ?${claim ? ' AND (alert_next_at IS NULL OR alert_next_at <= ?)' : ''}`,
    claim ? [nextAt, accountId, now] : [nextAt, accountId],
  );
  if (claimed === 0) return null;
  const acc = await tx.get<Row>('SELECT settings FROM accounts WHERE id = ?', [accountId]);
  const recipients = (json<{ alertRecipients?: string }>(acc!.settings).alertRecipients ?? '').split(';').map((s) => s.trim()).filter(Boolean);
  const rules = new Map((await alertRules(tx, accountId)).filter((r) => r.enabled).map((r) => [r.kind, r]));
  const state = new Map((await tx.all<Row>('SELECT kind, subject, fired FROM alert_state WHERE account_id = ?', [accountId])).map((r) => [`${str(r.kind)}:${str(r.subject)}`, json<number[]>(r.fired)]));

  const fired: Alert[] = [];
  const conditions: AlertCondition[] = [];
  for (const s of await subjects(tx, accountId)) {
    const rule = rules.get(s.kind);
    if (!rule) continue;
    const before = state.get(`${s.kind}:${s.subject}`) ?? [];
    const c = crossings(rule.thresholds, s.value, before);
    if (JSON.stringify(c.fired) !== JSON.stringify(before)) {
      await tx.run(
        'INSERT INTO alert_state (account_id, kind, subject, fired) VALUES (?, ?, ?, ?) ON CONFLICT (account_id, kind, subject) DO UPDATE SET fired = excluded.fired',
        [accountId, s.kind, s.subject, JSON.stringify(c.fired)],
      );
    }
    for (const t of c.fire) {
      const a: Alert = { id: newId('alr'), at: now, kind: s.kind, license: s.license, product: s.product, threshold: t, value: s.value };
      await tx.run('INSERT INTO alerts (id, account_id, at, kind, license_id, product_id, threshold, value) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
        a.id, accountId, now, a.kind, a.license, s.productId, t, s.value,
      ]);
      fired.push(a);
    }
    if (c.met.length > 0) conditions.push({ kind: s.kind, license: s.license, licenseName: s.licenseName, product: s.product, value: s.value, met: c.met, fired: c.fire });
  }
  if (fired.length === 0) return { accountId, fired, events: [] };

  const data = { alerts: fired.map((a) => ({ ...a, at: new Date(a.at).toISOString() })), conditions };
  const events: LeaseEvent[] = [await appendEvent(tx, accountId, '', 'alert', data, now)];
  if (recipients.length > 0) {
    await insertDelivery(tx, { id: newId('dlv'), accountId, channel: 'email', webhookId: null, type: 'alert', payload: { to: recipients, ...data } }, now);
  }
  return { accountId, fired, events };
}

export async function listAlerts(db: SqlExecutor, accountId: string, range: ReportRange, page: Page): Promise<PageOf<Alert>> {
  const where = ['a.account_id = ?'];
  const params: unknown[] = [accountId];
  if (range.from !== null) { where.push('a.at >= ?'); params.push(range.from); }
  if (range.to !== null) { where.push('a.at < ?'); params.push(range.to); }
  if (range.productId) { where.push('a.product_id = ?'); params.push(range.productId); }
  if (page.cursor !== null) { where.push('a.id < ?'); params.push(page.cursor); }
  const rows = await db.all<Row>(
    `SELECT a.*, p.key AS product_key FROM alerts a JOIN products p ON p.id = a.product_id WHERE ${where.join(' AND ')} ORDER BY a.id DESC LIMIT ?`,
    [...params, page.limit + 1],
  );
  return paged(rows.map((r) => ({
    id: str(r.id), at: num(r.at), kind: str(r.kind) as AlertKind, license: strOrNull(r.license_id), product: str(r.product_key), threshold: num(r.threshold), value: num(r.value),
  })), page);
}

// ── webhooks ─────────────────────────────────────────────────────────────────────────────

function toWebhook(r: Row): Webhook {
  return { id: str(r.id), accountId: str(r.account_id), url: str(r.url), events: json<string[]>(r.events), enabled: num(r.enabled) === 1, createdAt: num(r.created_at) };
}

export async function createWebhook(tx: SqlExecutor, accountId: string, id: string, w: WebhookInput, now: number): Promise<Webhook> {
  await tx.run('INSERT INTO webhooks (id, account_id, url, events, secret, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    id, accountId, w.url, JSON.stringify(w.events), w.secret, w.enabled ? 1 : 0, now,
  ]);
  return { id, accountId, url: w.url, events: w.events, enabled: w.enabled, createdAt: now };
}

export async function getWebhook(db: SqlExecutor, accountId: string, id: string): Promise<Webhook | undefined> {
  const r = await db.get<Row>('SELECT * FROM webhooks WHERE account_id = ? AND id = ?', [accountId, id]);
  return r && toWebhook(r);
}

export async function listWebhooks(db: SqlExecutor, accountId: string, page: Page): Promise<PageOf<Webhook>> {
  const rows = await db.all<Row>(
    `SELECT * FROM webhooks WHERE account_id = ?${page.cursor === null ? '' : ' AND id > ?'} ORDER BY id LIMIT ?`,
    [accountId, ...(page.cursor === null ? [] : [page.cursor]), page.limit + 1],
  );
  return paged(rows.map(toWebhook), page);
}

export async function updateWebhook(tx: SqlExecutor, accountId: string, id: string, patch: Partial<WebhookInput>): Promise<Webhook | undefined> {
  const cur = await getWebhook(tx, accountId, id);
  if (!cur) return undefined;
  const next = { ...cur, ...patch };
  await tx.run('UPDATE webhooks SET url = ?, events = ?, enabled = ? WHERE id = ?', [next.url, JSON.stringify(next.events), next.enabled ? 1 : 0, id]);
  if (patch.secret !== undefined) await tx.run('UPDATE webhooks SET secret = ? WHERE id = ?', [patch.secret, id]);
  return { id, accountId, url: next.url, events: next.events, enabled: next.enabled, createdAt: cur.createdAt };
}

export async function deleteWebhook(tx: SqlExecutor, accountId: string, id: string): Promise<boolean> {
  return (await tx.run('DELETE FROM webhooks WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
}

// ── the outbox ───────────────────────────────────────────────────────────────────────────

export async function insertDelivery(
  tx: SqlExecutor, d: { id: string; accountId: string; channel: 'email' | 'webhook'; webhookId: string | null; type: string; payload: Record<string, unknown> }, now: number,
): Promise<void> {
  await tx.run(
    "INSERT INTO deliveries (id, account_id, channel, webhook_id, type, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
    [d.id, d.accountId, d.channel, d.webhookId, d.type, JSON.stringify(d.payload), now, now],
  );
}

/**
 * Copies events committed since the last pass into the outbox of every enabled webhook that
 * wants them (one delivery per event and webhook, for events after the webhook was made).
 * The single cursor row is locked for the pass, so servers never fan out the same event
 * twice. On PostgreSQL sequence numbers may commit out of order: a gap is waited for until
 * the event after it is `lagMs` old.
 */
export async function fanOutEvents(tx: SqlExecutor, now: number, lagMs: number, limit: number, newId: NewId, forUpdate: boolean): Promise<number> {
  const cur = await tx.get<Row>(`SELECT seq FROM outbox_cursor WHERE id = 1${forUpdate ? ' FOR UPDATE' : ''}`);
  let seq = num(cur?.seq ?? 0);
  const hooks = (await tx.all<Row>('SELECT * FROM webhooks WHERE enabled = 1')).map((r) => ({ ...toWebhook(r), account: str(r.account_id) }));
  if (hooks.length === 0) {
    // Nobody to tell: skip ahead (a webhook made later gets only events after its creation).
    await tx.run('UPDATE outbox_cursor SET seq = (SELECT COALESCE(MAX(seq), 0) FROM events) WHERE id = 1');
    return 0;
  }
  const rows = await tx.all<Row>('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?', [seq, limit]);
  let queued = 0;
  for (const r of rows) {
    const s = num(r.seq);
    if (s !== seq + 1 && now - num(r.at) < lagMs) break;
    seq = s;
    const type = str(r.type);
    const at = num(r.at);
    for (const h of hooks) {
      if (h.account !== str(r.account_id) || at < h.createdAt || !wantsEvent(h.events, type)) continue;
      const leaseId = str(r.lease_id);
      const data = { ...(leaseId ? { lease: leaseId } : {}), ...json<Record<string, unknown>>(r.data) };
      const id = newId('dlv');
      await insertDelivery(tx, { id, accountId: h.account, channel: 'webhook', webhookId: h.id, type, payload: { id, type, at: new Date(at).toISOString(), account: h.account, seq: s, data } }, now);
      queued++;
    }
  }
  if (seq !== num(cur?.seq ?? 0)) await tx.run('UPDATE outbox_cursor SET seq = ? WHERE id = 1', [seq]);
  return queued;
}

function toDelivery(r: Row): Delivery {
  return {
    id: str(r.id), accountId: str(r.account_id), channel: r.channel === 'email' ? 'email' : 'webhook', webhookId: strOrNull(r.webhook_id), type: str(r.type),
    payload: json<Record<string, unknown>>(r.payload), status: str(r.status) as DeliveryStatus, attempts: num(r.attempts), nextAttemptAt: num(r.next_attempt_at),
    lastStatus: numOrNull(r.last_status), lastError: strOrNull(r.last_error), createdAt: num(r.created_at), deliveredAt: numOrNull(r.delivered_at),
  };
}

/**
 * Claims up to `limit` due deliveries: each gets an attempt counted and its next attempt
 * moved `leaseMs` ahead, so another server (or this one after a crash) retries it only if
 * this attempt never reports back.
 */
export async function claimDeliveries(tx: SqlExecutor, now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
  const ids = (await tx.all<Row>(
    `SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?${skipLockedClause(tx)}`,
    [now, limit],
  )).map((r) => str(r.id));
  const out: DueDelivery[] = [];
  for (const id of ids) {
    await tx.run('UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?', [now + leaseMs, id]);
    const r = await tx.get<Row>('SELECT d.*, w.url, w.secret FROM deliveries d LEFT JOIN webhooks w ON w.id = d.webhook_id WHERE d.id = ?', [id]);
    if (r) out.push({ ...toDelivery(r), url: strOrNull(r.url), secret: strOrNull(r.secret) });
  }
  return out;
}

export async function finishDelivery(
  db: SqlExecutor, id: string, r: { status: DeliveryStatus; lastStatus: number | null; lastError: string | null; nextAttemptAt: number; deliveredAt: number | null },
): Promise<void> {
  await db.run('UPDATE deliveries SET status = ?, last_status = ?, last_error = ?, next_attempt_at = ?, delivered_at = ? WHERE id = ?', [
    r.status, r.lastStatus, r.lastError, r.nextAttemptAt, r.deliveredAt, id,
  ]);
}

export async function listDeliveries(db: SqlExecutor, accountId: string, filter: { channel: 'email' } | { webhookId: string }, page: Page): Promise<PageOf<Delivery>> {
  const [col, val] = 'channel' in filter ? ['channel', filter.channel] : ['webhook_id', filter.webhookId];
  const rows = await db.all<Row>(
    `SELECT * FROM deliveries WHERE account_id = ? AND ${col} = ?${page.cursor === null ? '' : ' AND id < ?'} ORDER BY id DESC LIMIT ?`,
    [accountId, val, ...(page.cursor === null ? [] : [page.cursor]), page.limit + 1],
  );
  return paged(rows.map(toDelivery), page);
}

/** Delivered and failed messages are kept for 30 days. */
export async function pruneDeliveries(db: SqlExecutor, now: number): Promise<void> {
  await db.run("DELETE FROM deliveries WHERE status <> 'pending' AND created_at < ?", [now - 30 * 24 * 3600 * 1000]);
}
