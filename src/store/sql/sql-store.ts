import type {
  AcquireOutcome, AcquireRequest, ActiveLogin, AuditEntry, Denial, DenialRecord, HeartbeatOutcome, Requester, UsagePoint, Lease, LeaseEvent,
  LeaseFilter, License, LiveSession, MaxReached, Page, PageOf, ReportRange, Ticket, Product, ProductUsage, Store,
  Alert, AlertCheck, AlertRule, CloseOutcome, Delivery, DeliveryStatus, DeviceActivation, DueDelivery, SoftException, UnitsOutcome, Webhook, WebhookInput,
} from '../types.js';
import type { Row, SqlExecutor } from './driver.js';
import { sideOps, type SideArgs, type SideOp, type SideResult } from './side-ops.js';
import { unpackEvents } from './event-columns.js';
import { isUniqueViolation } from './driver.js';
import * as leaseOps from './lease-ops.js';
import * as policyOps from './policy-ops.js';
import * as readOps from './read-ops.js';
import * as controlOps from './control-ops.js';
import * as meteringOps from './metering-ops.js';
import * as softOps from './soft-ops.js';
import * as alertOps from './alert-ops.js';
import { LEASE_COLUMNS, LEASE_FROM, num, paged, toEvent, toLease, toLicense } from './rows.js';
import { LICENSE_SELECT, SqlSetupStore } from './setup-store.js';

/**
 * The store over any `SqlDriver`. Both databases speak the same SQL here (conditional
 * updates, partial unique indexes, RETURNING), so one implementation serves both and the
 * contract suite checks it on each; what differs (locking for claims, bulk updates,
 * migrations under several servers) lives in the driver or in `dialect` branches.
 *
 * Two files: set-up resources in `SqlSetupStore` (setup-store.ts), and here what runs while
 * clients hold seats: leases and sessions (rules in lease-ops.ts and friends), reports,
 * metering, alerts and the outbox.
 */
export class SqlStore extends SqlSetupStore implements Store {
  private lastPrune = Number.NEGATIVE_INFINITY;
  /**
   * Products whose last request here was refused for want of a seat: the next request tries
   * the one-read refusal first (see `leaseOps.acquire`). A hint for the order of statements,
   * never for a decision. A grant clears it when that read found room to spare
   * (`roomToSpare`); otherwise the next request would most likely be refused the long way
   * (candidates, a claim that fails, the refusal's reads). On SQLite it is read and set as
   * each transaction of a group commit runs (`learn`).
   */
  private readonly fullProducts = new Set<string>();
  /**
   * Embedded store only: what the one-read refusal last read of a product, and the driver's
   * write generation when it read it. While the generation is the same (nothing at all was
   * written since, by any request or timed action) and the time is before the next license
   * start or expiry, the same read would return the same row, so a request that can only be
   * refused is refused from it without a transaction, and a transaction of a group commit
   * uses an earlier one's read. Any write invalidates every entry.
   */
  private readonly fullness = new Map<string, { gen: number; f: leaseOps.Fullness }>();
  /**
   * PostgreSQL: this server's acquiring transactions per product that claim a seat or are
   * refused (see `claimer` in `acquire`), from queueing to answer.
   */
  private readonly claiming = new Map<string, number>();
  /**
   * PostgreSQL: per product and user, the last fullness read made, until it is answered, and
   * whether its statement has gone out. A request that would make the same read while it has
   * not (it waits for a connection, or for the read ahead of it) takes its answer: what it
   * reads is no older than the request. Once it is out, the next read is sent only when it is
   * answered, and the requests arriving meanwhile join that next one: one read per key at a
   * time. Under contention most requests would read the same thing; before session 15, a
   * request that found a connection free sent a read of its own (on two servers sharing a hot
   * license, about three times as many reads per request as on one).
   */
  private readonly reads = new Map<string, { read: Promise<leaseOps.Fullness>; sent: boolean }>();

  // ── leases and sessions (rules in lease-ops.ts) ───────────────────────────────────────

  async acquire(req: AcquireRequest, now: number): Promise<AcquireOutcome> {
    const productId = req.product.id;
    // Two servers may create the same seat key or join code at once; the partial unique
    // indexes let one win, and the other re-runs and finds the winner's lease.
    for (let attempt = 0; ; attempt++) {
      try {
        let refusalFirst = this.fullProducts.has(productId);
        let lastRead: leaseOps.Fullness | undefined;
        // PostgreSQL: a request with no way but a free seat, which its transaction claims (or
        // is refused). Only these are counted as claims ahead of later requests: one that may
        // join a lease or reuse its device's may take no slot at all.
        const claimer = this.dialect === 'postgres' && leaseOps.refusableByRead(req);
        if (refusalFirst && this.dialect === 'postgres') {
          // One statement on a free connection, not a place in a group commit: a refusal
          // writes nothing, so it need not wait for a batch's flush (or hold up one).
          if (claimer) {
            const f = await this.fullnessRead(req, now);
            // Decided with no await between the read and the count of claims below, so that
            // requests sharing one read are counted one after the other.
            if (leaseOps.readRefuses(req, f, this.claiming.get(productId) ?? 0)) return leaseOps.noSeatFromRead(this.db, req, f);
            lastRead = f;
          }
          refusalFirst = false;
        }
        const generation = this.db.writeGeneration;
        // The product's last read, if nothing has been written since and no license has
        // started or ended: the same read would return the same row.
        const stillKnown = generation && ((): leaseOps.Fullness | undefined => {
          const known = this.fullness.get(productId);
          return known && known.gen === generation() && now >= known.f.at && now < known.f.until ? known.f : undefined;
        });
        if (refusalFirst && stillKnown) {
          const known = stillKnown();
          if (known) {
            const refused = await leaseOps.quickRefusal(this.db, req, now, { known });
            if (refused) return refused;
          }
        }
        // PostgreSQL's read above found a slot free: the transaction claims at once, and reports
        // that read's load if the claim loses the slot to another transaction.
        const hint = (first: boolean): leaseOps.RefusalFirst | null => !first ? (lastRead ? { read: lastRead } : null) : {
          seen: (f) => {
            lastRead = f;
            if (generation) this.fullness.set(productId, { gen: generation(), f });
          },
          // Asked again when the transaction runs: an earlier one of its group commit may have
          // read the product since this request arrived, with nothing written after.
          known: stillKnown || undefined,
        };
        if (claimer) this.claiming.set(productId, (this.claiming.get(productId) ?? 0) + 1);
        let outcome: AcquireOutcome;
        try {
          outcome = await this.db.transaction(async (tx) => {
            if (!generation) return leaseOps.acquire(tx, req, now, hint(refusalFirst));
            // SQLite: the transactions of a group commit run one after another. Whether to read
            // first is decided as this one runs, from the outcomes of those before it, and this
            // one's outcome is told to the next at once: requests that arrived while the product
            // seemed to have room try no claim after one of the batch found it full.
            const o = await leaseOps.acquire(tx, req, now, hint(this.fullProducts.has(productId)));
            this.learn(productId, o, lastRead);
            return o;
          });
        } finally {
          if (claimer) {
            const n = (this.claiming.get(productId) ?? 1) - 1;
            if (n === 0) this.claiming.delete(productId);
            else this.claiming.set(productId, n);
          }
        }
        if (!generation) this.learn(productId, outcome, lastRead);
        return outcome;
      } catch (e) {
        if (!(isUniqueViolation(e) || e instanceof leaseOps.LeaseGone) || attempt >= 5) throw e;
      }
    }
  }

  /** What an outcome says of the product's next request: read first (`fullProducts`) or not. */
  private learn(productId: string, outcome: AcquireOutcome, lastRead: leaseOps.Fullness | undefined): void {
    if (outcome.kind === 'no-seat') this.fullProducts.add(productId);
    else if (outcome.kind === 'granted' && (lastRead === undefined || this.roomToSpare(lastRead))) this.fullProducts.delete(productId);
  }

  /**
   * Whether a grant whose read found `f` ends reading first. On SQLite, unless the read had
   * found one free slot only: the grant most likely took it. On PostgreSQL, only when the
   * read found many free slots: a request that skips the read also skips the count of claims
   * (`leaseOps.readRefuses`), and under contention a burst of them would queue transactions
   * that find the few free slots taken and refuse all the same.
   */
  private roomToSpare(f: leaseOps.Fullness): boolean {
    return this.dialect === 'postgres' ? f.freeSlots >= leaseOps.FREE_SLOTS_COUNTED : f.freeSlots !== 1;
  }

  /** The product's fullness for a request, read once for all requests that ask before it goes out (`reads`). */
  private async fullnessRead(req: AcquireRequest, now: number): Promise<leaseOps.Fullness> {
    const key = `${req.product.id} ${req.user?.id ?? ''}`;
    const last = this.reads.get(key);
    if (last && !last.sent) {
      const f = await last.read;
      // Read at another time than this request's: valid only while no license starts or ends.
      if (f.at <= now && now < f.until) return f;
    }
    const ahead = this.reads.get(key)?.read;
    // `mine` exists before its statement can go out, which `whenSent` reports.
    const mine = { read: undefined as unknown as Promise<leaseOps.Fullness>, sent: false };
    const send = () => leaseOps.readFullness(this.db.whenSent?.(() => (mine.sent = true)) ?? this.db, req.accountId, req.product.id, now, req.user?.id ?? null);
    mine.read = ahead ? ahead.then(send, send) : send();
    this.reads.set(key, mine);
    // Answered or failed (a read that fails is not handed to later requests): the next read goes out.
    mine.read.catch(() => undefined).finally(() => {
      if (this.reads.get(key) === mine) this.reads.delete(key);
    });
    return mine.read;
  }

  heartbeat(sessionId: string): Promise<HeartbeatOutcome> {
    return leaseOps.heartbeat(this.db, sessionId);
  }

  closeSession(sessionId: string, tokenHash: string, now: number): Promise<CloseOutcome> {
    return this.db.transaction(async (tx): Promise<CloseOutcome> => {
      const ended = await leaseOps.endOneSession(tx, sessionId, 'ended', now, null, tokenHash);
      if (ended !== null) return { kind: 'closed', ...ended };
      // Not ended by this call: say why.
      const r = await tx.get<Row>('SELECT lease_id, token_hash FROM sessions WHERE id = ?', [sessionId]);
      if (!r) return { kind: 'not-found' };
      if (str(r.token_hash) !== tokenHash) return { kind: 'unauthorized' };
      return { kind: 'ended', leaseId: str(r.lease_id), events: [] };
    });
  }

  endSession(sessionId: string, how: 'ended' | 'expired', now: number): Promise<LeaseEvent[]> {
    return this.db.transaction(async (tx) => (await leaseOps.endSession(tx, sessionId, how, now, null)) ?? []);
  }

  expireSessions(ids: string[], now: number): Promise<{ expired: string[]; events: LeaseEvent[] }> {
    if (this.shared) return this.db.transaction((tx) => leaseOps.expireSessions(tx, ids, now, now - this.expiryGraceMs));
    return this.aside('expireSessions', ids, now).then((r) => ({ expired: r.expired.map((i) => ids[i]!), events: unpackEvents(r.events) }));
  }

  /**
   * A mass write (`side-ops.ts`): on the embedded store's side connection when it has one, so
   * that the event loop answers heartbeats meanwhile (`SqliteSide`); otherwise as a
   * transaction here. Either way the same function writes the same rows.
   */
  private aside<K extends SideOp>(op: K, ...args: SideArgs<K>): Promise<SideResult<K>> {
    const elsewhere = this.db.aside?.(op, args) as Promise<SideResult<K>> | null | undefined;
    if (elsewhere) return elsewhere;
    const fn = sideOps[op] as unknown as (tx: SqlExecutor, ...a: SideArgs<K>) => Promise<SideResult<K>>;
    return this.db.transaction((tx) => fn(tx, ...args));
  }

  async touchSessions(deadlines: Map<string, number>): Promise<void> {
    if (deadlines.size === 0) return;
    const ids = [...deadlines.keys()];
    const at = [...deadlines.values()];
    if (this.dialect === 'postgres') {
      // One statement for the whole batch: heartbeats cost one write per tick, not per beat.
      await this.db.run(
        `UPDATE sessions s SET expires_at = v.e
           FROM (SELECT unnest(CAST(? AS text[])) AS id, unnest(CAST(? AS bigint[])) AS e) v
          WHERE s.id = v.id AND s.ended_at IS NULL AND s.expires_at < v.e`,
        [ids, at],
      );
      return;
    }
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < ids.length; i++) {
        await tx.run('UPDATE sessions SET expires_at = ? WHERE id = ? AND ended_at IS NULL AND expires_at < ?', [at[i], ids[i], at[i]]);
      }
    });
  }

  async sweepExpiredSessions(now: number, limit: number): Promise<{ expired: string[]; events: LeaseEvent[] }> {
    if (!this.shared) return { expired: [], events: [] };
    const cutoff = now - this.expiryGraceMs;
    return this.db.transaction(async (tx) => {
      const due = await tx.all<Row>(
        'SELECT id FROM sessions WHERE ended_at IS NULL AND expires_at <= ? ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED',
        [cutoff, limit],
      );
      return leaseOps.expireSessions(tx, due.map((r) => str(r.id)), now, cutoff);
    });
  }

  /**
   * Shared stores: every server polls the events table (every `pollMs`) and relays what other
   * servers committed. Not LISTEN/NOTIFY: PostgreSQL serialises the commits of all notifying
   * transactions under one lock, which would cap grants and releases at the disk's fsync rate.
   * Sequence numbers are taken at insert but become visible at commit, so a lower one can
   * appear after a higher one: each poll looks back `lookback` numbers and skips what it has
   * already relayed.
   */
  async subscribeEvents(onEvent: (e: LeaseEvent) => void, onResync: () => void, pollMs = 200, lookback = 5000): Promise<() => Promise<void>> {
    if (!this.shared) return async () => undefined;
    const top = await this.db.get<Row>('SELECT COALESCE(MAX(seq), 0) AS seq FROM events');
    let high = num(top?.seq ?? 0);
    const seen = new Set<number>();
    let failed = false;
    let busy = false;
    const poll = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const rows = await this.db.all<Row>('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT 1000', [Math.max(0, high - lookback)]);
          if (failed) {
            failed = false;
            onResync();
          }
          let fresh = 0;
          for (const r of rows) {
            const e = toEvent(r);
            if (seen.has(e.seq)) continue;
            seen.add(e.seq);
            fresh++;
            if (e.seq > high) high = e.seq;
            onEvent(e);
          }
          for (const seq of seen) if (seq <= high - 2 * lookback) seen.delete(seq);
          if (rows.length < 1000 || fresh === 0) break;
        }
      } catch {
        failed = true;
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void poll(), pollMs);
    return async () => clearInterval(timer);
  }

  recoverSessions(now: number): Promise<LiveSession[]> {
    return this.db.transaction((tx) => leaseOps.recoverSessions(tx, now));
  }

  releaseLease(accountId: string, leaseId: string, now: number): Promise<{ lease: Lease; events: LeaseEvent[] } | undefined> {
    return this.db.transaction((tx) => leaseOps.releaseLease(tx, accountId, leaseId, now));
  }

  async fireLeaseTimers(now: number, limit: number): Promise<LeaseEvent[]> {
    if (this.shared) return this.db.transaction((tx) => leaseOps.fireLeaseTimers(tx, now, limit));
    // Every tick asks; most find nothing due, and a read says so without the side's round trip.
    // A daily reset can end thousands of leases at once: that is the side's work.
    if (!(await leaseOps.leaseTimersDue(this.db, now))) return [];
    return unpackEvents(await this.aside('fireLeaseTimers', now, limit));
  }

  async sample(now: number): Promise<void> {
    await this.db.transaction((tx) => readOps.sample(tx, now));
    // Not waited for: the checkpoint runs on its own thread while timed work goes on.
    void this.db.maintain?.();
  }

  getTicket(id: string): Promise<Ticket | undefined> {
    return readOps.getTicket(this.db, id);
  }

  async touchTicket(id: string, expiresAt: number): Promise<void> {
    await this.db.run("UPDATE tickets SET expires_at = ? WHERE id = ? AND status = 'waiting' AND expires_at < ?", [expiresAt, id, expiresAt]);
  }

  async cancelTicket(id: string, now: number): Promise<boolean> {
    return (await this.db.run("UPDATE tickets SET status = 'cancelled', done_at = ? WHERE id = ? AND status = 'waiting'", [now, id])) > 0;
  }

  topUpPpu(accountId: string, minutes: number): Promise<number | undefined> {
    return this.db.transaction((tx) => policyOps.topUp(tx, accountId, minutes));
  }

  async recordDenials(ds: readonly DenialRecord[]): Promise<void> {
    if (ds.length === 0) return;
    await this.db.transaction((tx) => policyOps.recordDenials(tx, ds));
  }

  async listDenials(accountId: string, range: ReportRange, page: Page): Promise<PageOf<Denial & { id: string }>> {
    const { where, params } = rangeWhere('d.at', accountId, range, 'd.product_id');
    const cursor = page.cursor === null ? '' : ' AND d.id > ?';
    const rows = await this.db.all<Row>(
      `SELECT d.*, p.key AS product_key FROM denials d JOIN products p ON p.id = d.product_id WHERE ${where}${cursor} ORDER BY d.id LIMIT ?`,
      [...params, ...(page.cursor === null ? [] : [Number(page.cursor)]), page.limit + 1],
    );
    return paged(rows.map((r) => ({ id: String(r.id), at: num(r.at), user: r.user_id === null ? null : str(r.user_id), device: r.device === null ? null : str(r.device), product: str(r.product_key), code: str(r.code) })), page);
  }

  async listMaxReached(accountId: string, range: ReportRange, page: Page): Promise<PageOf<MaxReached & { id: string }>> {
    // An interval belongs to the range if it overlaps it.
    const where = ['m.account_id = ?'];
    const params: unknown[] = [accountId];
    if (range.from !== null) { where.push('(m.to_at IS NULL OR m.to_at >= ?)'); params.push(range.from); }
    if (range.to !== null) { where.push('m.from_at < ?'); params.push(range.to); }
    if (range.productId !== undefined) { where.push('m.product_id = ?'); params.push(range.productId); }
    if (page.cursor !== null) { where.push('m.id > ?'); params.push(Number(page.cursor)); }
    const rows = await this.db.all<Row>(
      `SELECT m.*, p.key AS product_key FROM max_reached m JOIN products p ON p.id = m.product_id WHERE ${where.join(' AND ')} ORDER BY m.id LIMIT ?`,
      [...params, page.limit + 1],
    );
    return paged(rows.map((r) => ({ id: String(r.id), product: str(r.product_key), from: num(r.from_at), to: r.to_at === null ? null : num(r.to_at) })), page);
  }

  retimeDailyResets(accountId: string, now: number): Promise<void> {
    return this.db.transaction((tx) => leaseOps.retimeDailyResets(tx, accountId, now));
  }

  // ── metering, soft limits, alerts ─────────────────────────────────────────────────────

  async recordUnits(r: { accountId: string; productId: string; units: number; device: string | null; idempotencyKey: string | null }, now: number): Promise<UnitsOutcome> {
    const out = await this.db.transaction((tx) => meteringOps.recordUnits(tx, r, now));
    this.cache.products.clear();
    return out;
  }

  async resetUnits(accountId: string, productId: string): Promise<Product | undefined> {
    await this.db.run('UPDATE products SET quota_used = 0 WHERE account_id = ? AND id = ?', [accountId, productId]);
    this.cache.products.clear();
    return this.getProduct(accountId, productId);
  }

  listDevices(accountId: string, productId: string | null, page: Page): Promise<PageOf<DeviceActivation>> {
    return meteringOps.listDevices(this.db, accountId, productId, page);
  }

  async listSoftExceptions(accountId: string, licenseId: string, page: Page): Promise<PageOf<SoftException> | undefined> {
    if (!(await this.getLicense(accountId, licenseId))) return undefined;
    return softOps.listSoftExceptions(this.db, licenseId, page);
  }

  resetExceptions(accountId: string, licenseId: string, now: number): Promise<(License & { events: LeaseEvent[] }) | undefined> {
    return this.db.transaction(async (tx) => {
      if (!(await softOps.resetExceptions(tx, accountId, licenseId, now))) return undefined;
      return { ...toLicense((await tx.get<Row>(`${LICENSE_SELECT[tx.dialect]} WHERE li.id = ?`, [licenseId]))!), events: [] };
    });
  }

  async runMeteringWork(now: number, newId: (prefix: string) => string): Promise<{ events: LeaseEvent[]; checks: AlertCheck[] }> {
    const events: LeaseEvent[] = [];
    const checks: AlertCheck[] = [];
    while ((await this.db.transaction((tx) => meteringOps.lapseActivations(tx, now, 200))) === 200);
    for (const id of await softOps.dueSoftLicenses(this.db, now)) {
      events.push(...(await this.db.transaction((tx) => softOps.countSoftWindows(tx, id, now))));
    }
    for (const a of await alertOps.dueAlertAccounts(this.db, now)) {
      const c = await this.db.transaction((tx) => alertOps.runAlertCheck(tx, a.id, now, now + a.intervalSec * 1000, true, newId));
      if (c) {
        checks.push(c);
        events.push(...c.events);
      }
    }
    await this.db.transaction((tx) => alertOps.fanOutEvents(tx, now, this.dialect === 'postgres' ? 2000 : 0, 500, newId, this.dialect === 'postgres'));
    if (now - this.lastPrune >= 3600_000) {
      this.lastPrune = now;
      await this.db.transaction(async (tx) => {
        await meteringOps.forgetUsageReports(tx, now);
        await alertOps.pruneDeliveries(tx, now);
      });
    }
    return { events, checks };
  }

  async checkAlertsNow(accountId: string, now: number, newId: (prefix: string) => string): Promise<AlertCheck> {
    const acc = await this.getAccount(accountId);
    const next = now + (acc?.settings.alertCheckInterval ?? 600) * 1000;
    return (await this.db.transaction((tx) => alertOps.runAlertCheck(tx, accountId, now, next, false, newId))) ?? { accountId, fired: [], events: [] };
  }

  listAlertRules(accountId: string): Promise<AlertRule[]> {
    return alertOps.alertRules(this.db, accountId);
  }

  updateAlertRule(accountId: string, id: string, patch: { thresholds?: number[]; enabled?: boolean }): Promise<AlertRule | undefined> {
    return this.db.transaction((tx) => alertOps.updateAlertRule(tx, accountId, id, patch));
  }

  listAlerts(accountId: string, range: ReportRange, page: Page): Promise<PageOf<Alert>> {
    return alertOps.listAlerts(this.db, accountId, range, page);
  }

  createWebhook(accountId: string, id: string, w: WebhookInput, now: number): Promise<Webhook> {
    return this.db.transaction((tx) => alertOps.createWebhook(tx, accountId, id, w, now));
  }

  getWebhook(accountId: string, id: string): Promise<Webhook | undefined> {
    return alertOps.getWebhook(this.db, accountId, id);
  }

  listWebhooks(accountId: string, page: Page): Promise<PageOf<Webhook>> {
    return alertOps.listWebhooks(this.db, accountId, page);
  }

  updateWebhook(accountId: string, id: string, patch: Partial<WebhookInput>): Promise<Webhook | undefined> {
    return this.db.transaction((tx) => alertOps.updateWebhook(tx, accountId, id, patch));
  }

  deleteWebhook(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction((tx) => alertOps.deleteWebhook(tx, accountId, id));
  }

  claimDeliveries(now: number, limit: number, leaseMs: number): Promise<DueDelivery[]> {
    return this.db.transaction((tx) => alertOps.claimDeliveries(tx, now, limit, leaseMs));
  }

  finishDelivery(id: string, r: { status: DeliveryStatus; lastStatus: number | null; lastError: string | null; nextAttemptAt: number; deliveredAt: number | null }): Promise<void> {
    return alertOps.finishDelivery(this.db, id, r);
  }

  listDeliveries(accountId: string, filter: { channel: 'email' } | { webhookId: string }, page: Page): Promise<PageOf<Delivery>> {
    return alertOps.listDeliveries(this.db, accountId, filter, page);
  }

  async getLease(accountId: string, id: string): Promise<Lease | undefined> {
    const r = await this.db.get<Row>(`SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM} WHERE l.account_id = ? AND l.id = ?`, [accountId, id]);
    return r && toLease(r);
  }

  terminateLeases(accountId: string, ids: readonly string[], at: number, message: string, now: number) {
    return this.db.transaction((tx) => controlOps.terminate(tx, accountId, ids, at, message, now));
  }

  pauseLease(accountId: string, leaseId: string, now: number): Promise<{ lease: Lease; events: LeaseEvent[] } | undefined> {
    return this.db.transaction(async (tx) => {
      const lease = await controlOps.leaseFor(tx, accountId, leaseId);
      if (!lease) return undefined;
      const events = await controlOps.pause(tx, lease, now);
      return { lease: (await controlOps.leaseFor(tx, accountId, leaseId))!, events };
    });
  }

  resumeLease(accountId: string, leaseId: string, who: Requester, now: number) {
    return this.db.transaction(async (tx): Promise<{ lease: Lease; events: LeaseEvent[] } | { noSeat: true; inUse: number; capacity: number } | undefined> => {
      const lease = await controlOps.leaseFor(tx, accountId, leaseId);
      if (!lease) return undefined;
      if (lease.status !== 'paused') return { lease, events: [] };
      const events = await controlOps.resume(tx, lease, { teams: who.teams, mayBorrow: who.role !== 'member' }, now);
      if (events === null) {
        const load = (await readOps.usage(tx, accountId, now)).find((u) => u.product === lease.product);
        return { noSeat: true, inUse: load?.inUse ?? 0, capacity: load?.capacity ?? 0 };
      }
      return { lease: (await controlOps.leaseFor(tx, accountId, leaseId))!, events };
    });
  }

  liveLeasesOfEndpoint(accountId: string, endpointId: string): Promise<string[]> {
    return controlOps.liveLeasesOfEndpoint(this.db, accountId, endpointId);
  }

  async activeLogins(accountId: string, page: Page): Promise<PageOf<ActiveLogin & { id: string }>> {
    const cursor = page.cursor === null ? '' : ' AND l.id > ?';
    const rows = await this.db.all<Row>(
      `SELECT l.id, l.user_id, u.username, l.device, p.key AS product_key, l.started_at, l.sessions
         FROM leases l JOIN products p ON p.id = l.product_id LEFT JOIN users u ON u.id = l.user_id
        WHERE l.account_id = ? AND l.ended_at IS NULL AND l.user_id IS NOT NULL AND l.status != 'standby'${cursor} ORDER BY l.id LIMIT ?`,
      [accountId, ...(page.cursor === null ? [] : [page.cursor]), page.limit + 1],
    );
    return paged(rows.map((r) => ({
      id: str(r.id), user: str(r.user_id), username: r.username === null ? null : str(r.username), device: r.device === null ? null : str(r.device),
      product: str(r.product_key), since: num(r.started_at), sessions: num(r.sessions),
    })), page);
  }

  async leaseHistory(accountId: string, range: ReportRange, page: Page): Promise<PageOf<Lease>> {
    const where = ['l.account_id = ?'];
    const params: unknown[] = [accountId];
    if (range.to !== null) { where.push('l.started_at < ?'); params.push(range.to); }
    if (range.from !== null) { where.push('(l.ended_at IS NULL OR l.ended_at >= ?)'); params.push(range.from); }
    if (range.productId !== undefined) { where.push('l.product_id = ?'); params.push(range.productId); }
    const rows = await this.list(`SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM} WHERE ${where.join(' AND ')}`, params, page, 'l.id');
    return paged(rows.map(toLease), page);
  }

  async usageSeries(productId: string, from: number, to: number, bucketMs: number): Promise<UsagePoint[]> {
    const rows = await this.db.all<Row>(
      `SELECT (minute / CAST(? AS BIGINT)) * CAST(? AS BIGINT) AS t, MAX(peak) AS peak, SUM(total) AS total, SUM(samples) AS samples
         FROM usage_minutes WHERE product_id = ? AND minute >= ? AND minute < ? GROUP BY 1 ORDER BY 1`,
      [bucketMs, bucketMs, productId, from, to],
    );
    return rows.map((r) => ({ t: num(r.t), peak: num(r.peak), avg: num(r.samples) === 0 ? 0 : num(r.total) / num(r.samples) }));
  }

  async recordAudit(e: { accountId: string; at: number; actor: string; action: string; target: string | null; detail: Record<string, unknown> }): Promise<void> {
    await this.db.run('INSERT INTO audit (account_id, at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)', [
      e.accountId, e.at, e.actor, e.action, e.target, JSON.stringify(e.detail),
    ]);
  }

  async listAudit(accountId: string, page: Page): Promise<PageOf<AuditEntry>> {
    const cursor = page.cursor === null ? '' : ' AND id < ?';
    // Newest first: an audit log is read from the top.
    const rows = await this.db.all<Row>(`SELECT * FROM audit WHERE account_id = ?${cursor} ORDER BY id DESC LIMIT ?`, [
      accountId, ...(page.cursor === null ? [] : [Number(page.cursor)]), page.limit + 1,
    ]);
    return paged(rows.map((r) => ({ id: String(r.id), at: num(r.at), actor: str(r.actor), action: str(r.action), target: r.target === null ? null : str(r.target), detail: JSON.parse(str(r.detail)) as Record<string, unknown> })), page);
  }

  async lastAccountEventSeq(accountId: string): Promise<number> {
    const r = await this.db.get<Row>('SELECT COALESCE(MAX(seq), 0) AS seq FROM events WHERE account_id = ?', [accountId]);
    return num(r?.seq ?? 0);
  }

  async accountEventsSince(accountId: string, afterSeq: number, limit: number): Promise<LeaseEvent[]> {
    const rows = await this.db.all<Row>('SELECT * FROM events WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?', [accountId, afterSeq, limit]);
    return rows.map(toEvent);
  }

  async findLiveLeaseByJoinCode(accountId: string, joinCode: string): Promise<Lease | undefined> {
    const r = await this.db.get<Row>(`SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM} WHERE l.account_id = ? AND l.join_code = ? AND l.ended_at IS NULL`, [accountId, joinCode]);
    return r && toLease(r);
  }

  async listLeases(accountId: string, f: LeaseFilter, page: Page): Promise<PageOf<Lease>> {
    const where = ['l.account_id = ?'];
    const params: unknown[] = [accountId];
    if (f.product !== undefined) { where.push('p.key = ?'); params.push(f.product); }
    if (f.status !== undefined) { where.push('l.status = ?'); params.push(f.status); }
    else where.push('l.ended_at IS NULL');
    if (f.user !== undefined) { where.push('l.user_id = ?'); params.push(f.user); }
    if (f.onlyUser !== undefined) { where.push('l.user_id = ?'); params.push(f.onlyUser); }
    if (f.team !== undefined) { where.push('l.user_id IN (SELECT user_id FROM user_teams WHERE team_id = ?)'); params.push(f.team); }
    if (f.viewer !== undefined) {
      if (f.viewer === null) where.push("l.status != 'paused'");
      else { where.push("(l.status != 'paused' OR l.user_id = ?)"); params.push(f.viewer); }
    }
    const rows = await this.list(`SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM} WHERE ${where.join(' AND ')}`, params, page, 'l.id');
    return paged(rows.map(toLease), page);
  }

  usage(accountId: string, now: number): Promise<ProductUsage[]> {
    return readOps.usage(this.db, accountId, now);
  }

  async eventsSince(leaseId: string, afterSeq: number, limit: number): Promise<LeaseEvent[]> {
    const rows = await this.db.all<Row>('SELECT * FROM events WHERE lease_id = ? AND seq > ? ORDER BY seq LIMIT ?', [leaseId, afterSeq, limit]);
    return rows.map(toEvent);
  }
}

const str = (v: unknown): string => String(v);

function rangeWhere(col: string, accountId: string, range: ReportRange, productCol: string): { where: string; params: unknown[] } {
  const where = [`${col.split('.')[0]}.account_id = ?`];
  const params: unknown[] = [accountId];
  if (range.from !== null) { where.push(`${col} >= ?`); params.push(range.from); }
  if (range.to !== null) { where.push(`${col} < ?`); params.push(range.to); }
  if (range.productId !== undefined) { where.push(`${productCol} = ?`); params.push(range.productId); }
  return { where: where.join(' AND '), params };
}
