import { ApiError } from '../../errors.js';
import type {
  Account, AccountSettings, AcquireOutcome, AcquireRequest, ApiKey, ApiKeyKind, Credential, Endpoint,
  ActiveLogin, AuditEntry, Denial, DenialRecord, HeartbeatOutcome, Requester, UsagePoint, Lease, LeaseEvent, LeaseFilter, License, LicenseInput, LiveSession, MaxReached, Page, PageOf, ReportRange, Ticket,
  Product, ProductInput, ProductUsage, Store, Team, User, UserInput,
  Alert, AlertCheck, AlertRule, CloseOutcome, Delivery, DeliveryStatus, DeviceActivation, DueDelivery, SoftException, UnitsOutcome, Webhook, WebhookInput,
} from '../types.js';
import type { Row, SqlDriver, SqlExecutor } from './driver.js';
import { isUniqueViolation } from './driver.js';
import { migrationsFor } from './migrations.js';
import * as leaseOps from './lease-ops.js';
import * as policyOps from './policy-ops.js';
import * as readOps from './read-ops.js';
import * as controlOps from './control-ops.js';
import * as meteringOps from './metering-ops.js';
import * as softOps from './soft-ops.js';
import * as alertOps from './alert-ops.js';
import {
  LEASE_COLUMNS, LEASE_FROM, num, paged, toAccount, toApiKey, toEndpoint, toEvent, toLease, toLicense,
  toProduct, toTeam, toUser,
} from './rows.js';
import { overageSeats } from '../../engine/seat.js';
import { IN_USE_SQL, syncSlots } from './seats.js';
import { ReadCache } from './read-cache.js';

const LICENSE_SELECT = `SELECT li.*, p.key AS product_key, ${IN_USE_SQL} AS in_use FROM licenses li JOIN products p ON p.id = li.product_id`;
const ENDPOINT_SELECT = `SELECT e.*, p.key AS product_key FROM endpoints e JOIN products p ON p.id = e.product_id`;

/**
 * The store over any `SqlDriver`. Both databases speak the same SQL here (conditional
 * updates, partial unique indexes, RETURNING), so one implementation serves both and the
 * contract suite checks it on each; what differs (locking for claims, bulk updates,
 * migrations under several servers) lives in the driver or in `dialect` branches.
 */
export class SqlStore implements Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly shared: boolean;
  private lastPrune = Number.NEGATIVE_INFINITY;
  /**
   * Credentials, users and products by key, the reads every client request makes (see
   * ReadCache). The methods below that change those rows drop the entries once their change
   * is committed (clearing a whole map: such changes are rare). Shared stores keep entries
   * for `sharedCacheTtlMs`.
   */
  private readonly cache: { credentials: ReadCache<Credential>; products: ReadCache<Product>; users: ReadCache<User> };

  /**
   * @param expiryGraceMs shared stores only: how long past its stored deadline a session is
   *   left before expiry, to cover heartbeats another server has seen but not yet written
   *   back (it writes them back every tick, 250 ms by default).
   * @param sharedCacheTtlMs shared stores only: how long a credential or product read is reused
   *   before it is read again (a key revoked on another server stops working within this).
   */
  constructor(private readonly db: SqlDriver, private readonly expiryGraceMs = 2000, sharedCacheTtlMs = 2000) {
    this.dialect = db.dialect;
    this.shared = db.dialect === 'postgres';
    const ttl = this.shared ? sharedCacheTtlMs : Number.POSITIVE_INFINITY;
    this.cache = { credentials: new ReadCache(ttl), products: new ReadCache(ttl), users: new ReadCache(ttl) };
  }

  migrate(): Promise<void> {
    return this.db.migrate(migrationsFor(this.dialect));
  }

  async ping(): Promise<void> {
    await this.db.get('SELECT 1 AS ok');
  }

  close(): Promise<void> {
    return this.db.close();
  }

  // ── accounts ──────────────────────────────────────────────────────────────────────────

  async countAccounts(): Promise<number> {
    const r = await this.db.get<Row>('SELECT COUNT(*) AS n FROM accounts');
    return num(r?.n ?? 0);
  }

  async createAccount(
    a: { id: string; name: string; timezone: string; settings: AccountSettings },
    owner: { id: string } & UserInput,
    now: number,
  ): Promise<{ account: Account; owner: User }> {
    return this.unique(`account ${a.name} already exists`, () =>
      this.db.transaction(async (tx) => {
        await tx.run('INSERT INTO accounts (id, name, timezone, settings, created_at) VALUES (?, ?, ?, ?, ?)', [
          a.id, a.name, a.timezone, JSON.stringify(a.settings), now,
        ]);
        const user = await insertUser(tx, a.id, owner.id, owner, now);
        return { account: { ...a, createdAt: now }, owner: user };
      }),
    );
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM accounts WHERE id = ?', [id]);
    return r && toAccount(r);
  }

  async findAccountByName(name: string): Promise<Account | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM accounts WHERE name = ?', [name]);
    return r && toAccount(r);
  }

  async updateAccount(id: string, patch: { timezone?: string; settings?: AccountSettings }): Promise<Account> {
    const cur = await this.getAccount(id);
    if (!cur) throw new ApiError('not-found', 'account not found');
    // The pay-per-use balance is its own column; settings never overwrite it.
    await this.db.run('UPDATE accounts SET timezone = ?, settings = ? WHERE id = ?', [
      patch.timezone ?? cur.timezone, JSON.stringify(patch.settings ?? cur.settings), id,
    ]);
    return { ...cur, timezone: patch.timezone ?? cur.timezone, settings: patch.settings ?? cur.settings };
  }

  // ── users ─────────────────────────────────────────────────────────────────────────────

  createUser(accountId: string, id: string, u: UserInput, now: number): Promise<User> {
    return this.unique(`user ${u.username} already exists`, () =>
      this.db.transaction(async (tx) => {
        await this.checkTeams(tx, accountId, u.teams);
        return insertUser(tx, accountId, id, u, now);
      }),
    );
  }

  async getUser(accountId: string, id: string): Promise<User | undefined> {
    const key = `${accountId}\u0000${id}`;
    const hit = this.cache.users.get(key);
    if (hit) return hit;
    const r = await this.db.get<Row>('SELECT * FROM users WHERE account_id = ? AND id = ?', [accountId, id]);
    const u = r && toUser(r, await this.teamsOf(this.db, str(r.id)));
    if (u) this.cache.users.set(key, u);
    return u;
  }

  async findUserByUsername(accountId: string, username: string): Promise<(User & { passwordHash: string }) | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM users WHERE account_id = ? AND username = ?', [accountId, username]);
    return r && { ...toUser(r, await this.teamsOf(this.db, str(r.id))), passwordHash: String(r.password_hash) };
  }

  async listUsers(accountId: string, page: Page): Promise<PageOf<User>> {
    const rows = await this.list('SELECT * FROM users WHERE account_id = ?', [accountId], page);
    const users = await Promise.all(rows.map(async (r) => toUser(r, await this.teamsOf(this.db, str(r.id)))));
    return paged(users, page);
  }

  updateUser(accountId: string, id: string, patch: Partial<UserInput>): Promise<User | undefined> {
    return this.unique(`user ${patch.username ?? ''} already exists`, () =>
      this.db.transaction(async (tx) => {
        const r = await tx.get<Row>('SELECT * FROM users WHERE account_id = ? AND id = ?', [accountId, id]);
        if (!r) return undefined;
        if (patch.teams) await this.checkTeams(tx, accountId, patch.teams);
        await tx.run(
          'UPDATE users SET username = ?, password_hash = ?, role = ?, max_leases = ?, permissions = ? WHERE id = ?',
          [
            patch.username ?? r.username,
            patch.passwordHash ?? r.password_hash,
            patch.role ?? r.role,
            patch.maxLeases !== undefined ? patch.maxLeases : r.max_leases,
            patch.permissions !== undefined ? JSON.stringify(patch.permissions) : r.permissions,
            id,
          ],
        );
        if (patch.teams) {
          await tx.run('DELETE FROM user_teams WHERE user_id = ?', [id]);
          for (const t of patch.teams) await tx.run('INSERT INTO user_teams (user_id, team_id) VALUES (?, ?)', [id, t]);
        }
        const after = await tx.get<Row>('SELECT * FROM users WHERE id = ?', [id]);
        return toUser(after!, await this.teamsOf(tx, id));
      }),
    ).finally(() => this.cache.users.clear());
  }

  async deleteUser(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run("DELETE FROM credentials WHERE account_id = ? AND subject_id = ? AND kind = 'user'", [accountId, id]);
      return (await tx.run('DELETE FROM users WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
    }).finally(() => {
      this.cache.credentials.clear();
      this.cache.users.clear();
    });
  }

  // ── teams ─────────────────────────────────────────────────────────────────────────────

  createTeam(accountId: string, id: string, name: string, now: number): Promise<Team> {
    return this.unique(`team ${name} already exists`, async () => {
      await this.db.run('INSERT INTO teams (id, account_id, name, created_at) VALUES (?, ?, ?, ?)', [id, accountId, name, now]);
      return { id, accountId, name, createdAt: now };
    });
  }

  async getTeam(accountId: string, id: string): Promise<Team | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM teams WHERE account_id = ? AND id = ?', [accountId, id]);
    return r && toTeam(r);
  }

  async listTeams(accountId: string, page: Page): Promise<PageOf<Team>> {
    return paged((await this.list('SELECT * FROM teams WHERE account_id = ?', [accountId], page)).map(toTeam), page);
  }

  updateTeam(accountId: string, id: string, name: string): Promise<Team | undefined> {
    return this.unique(`team ${name} already exists`, async () => {
      await this.db.run('UPDATE teams SET name = ? WHERE account_id = ? AND id = ?', [name, accountId, id]);
      return this.getTeam(accountId, id);
    });
  }

  async deleteTeam(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // A team's licenses would become unassigned (usable by anyone) if the team vanished.
      const used = await tx.get<Row>('SELECT COUNT(*) AS n FROM licenses WHERE account_id = ? AND team_id = ?', [accountId, id]);
      if (num(used?.n ?? 0) > 0) throw new ApiError('conflict', 'the team still has licenses; reassign or delete them first');
      return (await tx.run('DELETE FROM teams WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
    }).finally(() => this.cache.users.clear());
  }

  // ── products ──────────────────────────────────────────────────────────────────────────

  createProduct(accountId: string, id: string, p: ProductInput, now: number): Promise<Product> {
    return this.unique(`product ${p.key} already exists`, async () => {
      await this.db.run('INSERT INTO products (id, account_id, key, name, seat_model, config, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        id, accountId, p.key, p.name, p.seatModel, JSON.stringify(productConfig(p)), now,
      ]);
      return { ...p, id, accountId, quotaUsed: 0, createdAt: now };
    });
  }

  async getProduct(accountId: string, id: string): Promise<Product | undefined> {
    const r = await this.db.get<Row>('SELECT * FROM products WHERE account_id = ? AND id = ?', [accountId, id]);
    return r && toProduct(r);
  }

  async getProductByKey(accountId: string, key: string): Promise<Product | undefined> {
    const cacheKey = `${accountId}\u0000${key}`;
    const hit = this.cache.products.get(cacheKey);
    if (hit) return hit;
    const r = await this.db.get<Row>('SELECT * FROM products WHERE account_id = ? AND key = ?', [accountId, key]);
    const p = r && toProduct(r);
    if (p) this.cache.products.set(cacheKey, p);
    return p;
  }

  async listProducts(accountId: string, page: Page): Promise<PageOf<Product>> {
    return paged((await this.list('SELECT * FROM products WHERE account_id = ?', [accountId], page)).map(toProduct), page);
  }

  updateProduct(accountId: string, id: string, patch: Partial<ProductInput>): Promise<Product | undefined> {
    return this.unique(`product ${patch.key ?? ''} already exists`, async () => {
      const cur = await this.getProduct(accountId, id);
      if (!cur) return undefined;
      const next: Product = { ...cur, ...patch };
      if (next.seatModel !== cur.seatModel) {
        const live = await this.db.get<Row>('SELECT COUNT(*) AS n FROM leases WHERE product_id = ? AND ended_at IS NULL', [id]);
        if (num(live?.n ?? 0) > 0) throw new ApiError('conflict', 'the seat model cannot change while the product has live leases');
      }
      await this.db.run('UPDATE products SET key = ?, name = ?, seat_model = ?, config = ? WHERE id = ?', [
        next.key, next.name, next.seatModel, JSON.stringify(productConfig(next)), id,
      ]);
      this.cache.products.clear();
      return next;
    });
  }

  async deleteProduct(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      const deps = await tx.get<Row>(
        'SELECT (SELECT COUNT(*) FROM licenses WHERE product_id = ?) + (SELECT COUNT(*) FROM endpoints WHERE product_id = ?) + (SELECT COUNT(*) FROM leases WHERE product_id = ?) AS n',
        [id, id, id],
      );
      if (num(deps?.n ?? 0) > 0) throw new ApiError('conflict', 'the product still has licenses, endpoints or lease history');
      return (await tx.run('DELETE FROM products WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
    }).finally(() => this.cache.products.clear());
  }

  // ── licenses ──────────────────────────────────────────────────────────────────────────

  async createLicense(accountId: string, id: string, l: LicenseInput, now: number): Promise<License & { events: LeaseEvent[] }> {
    return this.db.transaction(async (tx) => {
      await this.checkProduct(tx, accountId, l.productId);
      if (l.team !== null) await this.checkTeams(tx, accountId, [l.team]);
      await tx.run(
        `INSERT INTO licenses (id, account_id, product_id, name, seats, team_id, platform, overage, max_seats, starts_at,
           expires_at, enforcement, win, exception_quota, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [id, accountId, l.productId, l.name, l.seats, l.team, l.platform, l.overage, l.seats + overageSeats(l.seats, l.overage),
          l.startsAt, l.expiresAt, l.enforcement, l.window, l.exceptionQuota, now],
      );
      await syncSlots(tx, id, l.seats + overageSeats(l.seats, l.overage));
      const events = await policyOps.offerSeats(tx, id, now, this.shared);
      const r = await tx.get<Row>(`${LICENSE_SELECT} WHERE li.id = ?`, [id]);
      return { ...toLicense(r!), events };
    });
  }

  async getLicense(accountId: string, id: string): Promise<License | undefined> {
    const r = await this.db.get<Row>(`${LICENSE_SELECT} WHERE li.account_id = ? AND li.id = ?`, [accountId, id]);
    return r && toLicense(r);
  }

  async listLicenses(accountId: string, page: Page, productId?: string): Promise<PageOf<License>> {
    const where = productId ? ' AND li.product_id = ?' : '';
    const params = productId ? [accountId, productId] : [accountId];
    const rows = await this.list(`${LICENSE_SELECT} WHERE li.account_id = ?${where}`, params, page, 'li.id');
    return paged(rows.map(toLicense), page);
  }

  updateLicense(accountId: string, id: string, patch: Partial<LicenseInput>, now: number): Promise<(License & { events: LeaseEvent[] }) | undefined> {
    return this.db.transaction(async (tx) => {
      const r = await tx.get<Row>(`${LICENSE_SELECT} WHERE li.account_id = ? AND li.id = ?`, [accountId, id]);
      if (!r) return undefined;
      const next = { ...toLicense(r), ...patch };
      if (next.productId !== str(r.product_id)) throw new ApiError('bad-request', 'a license cannot move to another product');
      if (patch.team) await this.checkTeams(tx, accountId, [patch.team]);
      // Lowering seats below the count in use ends no lease: holders keep their seats and no
      // new seat is granted until the count falls below the new limit.
      await tx.run(
        `UPDATE licenses SET name = ?, seats = ?, team_id = ?, platform = ?, overage = ?, max_seats = ?, starts_at = ?,
           expires_at = ?, enforcement = ?, win = ?, exception_quota = ? WHERE id = ?`,
        [next.name, next.seats, next.team, next.platform, next.overage, next.seats + overageSeats(next.seats, next.overage),
          next.startsAt, next.expiresAt, next.enforcement, next.window, next.exceptionQuota, id],
      );
      await syncSlots(tx, id, next.seats + overageSeats(next.seats, next.overage));
      const events = await policyOps.offerSeats(tx, id, now, this.shared);
      events.push(...(await softOps.resuspend(tx, id, now)));
      return { ...toLicense((await tx.get<Row>(`${LICENSE_SELECT} WHERE li.id = ?`, [id]))!), events };
    });
  }

  deleteLicense(accountId: string, id: string, now: number): Promise<{ deleted: boolean; events: LeaseEvent[] }> {
    return this.db.transaction(async (tx) => {
      const exists = await tx.run('UPDATE licenses SET max_seats = 0 WHERE account_id = ? AND id = ?', [accountId, id]);
      if (exists === 0) return { deleted: false, events: [] };
      // Removing the free seats waits for any grant holding one of them to commit, so the
      // live leases read next include every lease this license will ever have granted.
      await tx.run('DELETE FROM seat_slots WHERE license_id = ? AND lease_id IS NULL', [id]);
      const live = await tx.all<Row>(`SELECT ${LEASE_COLUMNS} FROM ${LEASE_FROM} WHERE l.license_id = ? AND l.ended_at IS NULL`, [id]);
      const events: LeaseEvent[] = [];
      for (const r of live) events.push(...(await leaseOps.endLease(tx, toLease(r), 'license-ended', now)));
      await tx.run('UPDATE device_activations SET license_id = NULL WHERE license_id = ?', [id]);
      await tx.run('DELETE FROM alerts WHERE license_id = ?', [id]);
      await tx.run('DELETE FROM licenses WHERE id = ?', [id]);
      return { deleted: true, events };
    });
  }

  // ── endpoints ─────────────────────────────────────────────────────────────────────────

  async createEndpoint(accountId: string, id: string, e: { productId: string; name: string; enabled: boolean }, keyHash: string, now: number): Promise<Endpoint> {
    return this.db.transaction(async (tx) => {
      await this.checkProduct(tx, accountId, e.productId);
      await tx.run('INSERT INTO endpoints (id, account_id, product_id, name, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)', [
        id, accountId, e.productId, e.name, e.enabled ? 1 : 0, now,
      ]);
      await insertCredential(tx, keyHash, { accountId, kind: 'endpoint', subjectId: id, expiresAt: null });
      return toEndpoint((await tx.get<Row>(`${ENDPOINT_SELECT} WHERE e.id = ?`, [id]))!);
    });
  }

  async getEndpoint(accountId: string, id: string): Promise<Endpoint | undefined> {
    const r = await this.db.get<Row>(`${ENDPOINT_SELECT} WHERE e.account_id = ? AND e.id = ?`, [accountId, id]);
    return r && toEndpoint(r);
  }

  async listEndpoints(accountId: string, page: Page): Promise<PageOf<Endpoint>> {
    const rows = await this.list(`${ENDPOINT_SELECT} WHERE e.account_id = ?`, [accountId], page, 'e.id');
    return paged(rows.map(toEndpoint), page);
  }

  async updateEndpoint(accountId: string, id: string, patch: { name?: string; enabled?: boolean }): Promise<Endpoint | undefined> {
    const cur = await this.getEndpoint(accountId, id);
    if (!cur) return undefined;
    await this.db.run('UPDATE endpoints SET name = ?, enabled = ? WHERE id = ?', [patch.name ?? cur.name, (patch.enabled ?? cur.enabled) ? 1 : 0, id]);
    return this.getEndpoint(accountId, id);
  }

  async deleteEndpoint(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run("DELETE FROM credentials WHERE account_id = ? AND subject_id = ? AND kind = 'endpoint'", [accountId, id]);
      return (await tx.run('DELETE FROM endpoints WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
    }).finally(() => this.cache.credentials.clear());
  }

  // ── api keys and credentials ──────────────────────────────────────────────────────────

  async createApiKey(accountId: string, id: string, k: { name: string; kind: ApiKeyKind }, secretHash: string, now: number): Promise<ApiKey> {
    return this.db.transaction(async (tx) => {
      await tx.run('INSERT INTO api_keys (id, account_id, name, kind, created_at) VALUES (?, ?, ?, ?, ?)', [id, accountId, k.name, k.kind, now]);
      await insertCredential(tx, secretHash, { accountId, kind: k.kind, subjectId: id, expiresAt: null });
      return { id, accountId, name: k.name, kind: k.kind, createdAt: now };
    });
  }

  async listApiKeys(accountId: string, page: Page): Promise<PageOf<ApiKey>> {
    return paged((await this.list('SELECT * FROM api_keys WHERE account_id = ?', [accountId], page)).map(toApiKey), page);
  }

  async deleteApiKey(accountId: string, id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run("DELETE FROM credentials WHERE account_id = ? AND subject_id = ? AND kind IN ('admin', 'service')", [accountId, id]);
      return (await tx.run('DELETE FROM api_keys WHERE account_id = ? AND id = ?', [accountId, id])) > 0;
    }).finally(() => this.cache.credentials.clear());
  }

  putCredential(hash: string, c: Credential): Promise<void> {
    return insertCredential(this.db, hash, c);
  }

  async findCredential(hash: string, now: number): Promise<Credential | undefined> {
    let c = this.cache.credentials.get(hash);
    if (!c) {
      const r = await this.db.get<Row>('SELECT * FROM credentials WHERE hash = ?', [hash]);
      if (!r) return undefined;
      c = { accountId: str(r.account_id), kind: str(r.kind) as Credential['kind'], subjectId: str(r.subject_id), expiresAt: r.expires_at === null ? null : num(r.expires_at) };
      this.cache.credentials.set(hash, c);
    }
    if (c.expiresAt !== null && c.expiresAt <= now) return undefined;
    return c;
  }

  async deleteCredential(hash: string): Promise<void> {
    await this.db.run('DELETE FROM credentials WHERE hash = ?', [hash]);
    this.cache.credentials.clear();
  }

  // ── leases and sessions (rules in lease-ops.ts) ───────────────────────────────────────

  async acquire(req: AcquireRequest, now: number): Promise<AcquireOutcome> {
    // Two servers may create the same seat key or join code at once; the partial unique
    // indexes let one win, and the other re-runs and finds the winner's lease.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction((tx) => leaseOps.acquire(tx, req, now, this.dialect === 'postgres'));
      } catch (e) {
        if (!(isUniqueViolation(e) || e instanceof leaseOps.LeaseGone) || attempt >= 5) throw e;
      }
    }
  }

  heartbeat(sessionId: string): Promise<HeartbeatOutcome> {
    return leaseOps.heartbeat(this.db, sessionId);
  }

  closeSession(sessionId: string, tokenHash: string, now: number): Promise<CloseOutcome> {
    return this.db.transaction(async (tx): Promise<CloseOutcome> => {
      const leaseId = await leaseOps.claimSession(tx, sessionId, 'ended', now, null, tokenHash);
      if (leaseId !== null) return { kind: 'closed', leaseId, events: await leaseOps.afterClaim(tx, leaseId, 'ended', now) };
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
    return this.db.transaction(async (tx) => {
      const expired: string[] = [];
      const events: LeaseEvent[] = [];
      for (const id of ids) {
        const ev = await leaseOps.endSession(tx, id, 'expired', now, this.shared ? now - this.expiryGraceMs : null);
        if (ev !== null) {
          expired.push(id);
          events.push(...ev);
        }
      }
      return { expired, events };
    });
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
      const expired: string[] = [];
      const events: LeaseEvent[] = [];
      for (const r of due) {
        const ev = await leaseOps.endSession(tx, str(r.id), 'expired', now, cutoff);
        if (ev !== null) {
          expired.push(str(r.id));
          events.push(...ev);
        }
      }
      return { expired, events };
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

  fireLeaseTimers(now: number, limit: number): Promise<LeaseEvent[]> {
    return this.db.transaction((tx) => leaseOps.fireLeaseTimers(tx, now, limit, this.dialect === 'postgres'));
  }

  async sample(now: number): Promise<void> {
    await this.db.transaction((tx) => readOps.sample(tx, now));
    await this.db.maintain?.();
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
    await this.db.transaction(async (tx) => {
      for (const d of ds) {
        await policyOps.recordDenial(tx, d, d.at);
        if (d.code === 'no-seat') await policyOps.openMaxReached(tx, d.accountId, d.productId, d.at);
      }
    });
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
      return { ...toLicense((await tx.get<Row>(`${LICENSE_SELECT} WHERE li.id = ?`, [licenseId]))!), events: [] };
    });
  }

  async runMeteringWork(now: number, newId: (prefix: string) => string): Promise<{ events: LeaseEvent[]; checks: AlertCheck[] }> {
    const skip = this.dialect === 'postgres';
    const events: LeaseEvent[] = [];
    const checks: AlertCheck[] = [];
    while ((await this.db.transaction((tx) => meteringOps.lapseActivations(tx, now, 200, skip))) === 200);
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
    await this.db.transaction((tx) => alertOps.fanOutEvents(tx, now, this.dialect === 'postgres' ? 2000 : 0, 500, newId, skip));
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
    return this.db.transaction((tx) => alertOps.claimDeliveries(tx, now, limit, leaseMs, this.dialect === 'postgres'));
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
      const events = await controlOps.pause(tx, lease, now, this.shared);
      return { lease: (await controlOps.leaseFor(tx, accountId, leaseId))!, events };
    });
  }

  resumeLease(accountId: string, leaseId: string, who: Requester, now: number) {
    return this.db.transaction(async (tx): Promise<{ lease: Lease; events: LeaseEvent[] } | { noSeat: true; inUse: number; capacity: number } | undefined> => {
      const lease = await controlOps.leaseFor(tx, accountId, leaseId);
      if (!lease) return undefined;
      if (lease.status !== 'paused') return { lease, events: [] };
      const events = await controlOps.resume(tx, lease, { teams: who.teams, mayBorrow: who.role !== 'member' }, now, this.shared);
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

  // ── helpers ───────────────────────────────────────────────────────────────────────────

  private list(sql: string, params: unknown[], page: Page, idCol = 'id'): Promise<Row[]> {
    const cursor = page.cursor === null ? '' : ` AND ${idCol} > ?`;
    const args = page.cursor === null ? params : [...params, page.cursor];
    return this.db.all<Row>(`${sql}${cursor} ORDER BY ${idCol} LIMIT ?`, [...args, page.limit + 1]);
  }

  private async teamsOf(ex: SqlExecutor, userId: string): Promise<string[]> {
    const rows = await ex.all<Row>('SELECT team_id FROM user_teams WHERE user_id = ? ORDER BY team_id', [userId]);
    return rows.map((r) => str(r.team_id));
  }

  private async checkTeams(ex: SqlExecutor, accountId: string, teams: string[]): Promise<void> {
    for (const t of teams) {
      const r = await ex.get<Row>('SELECT id FROM teams WHERE account_id = ? AND id = ?', [accountId, t]);
      if (!r) throw new ApiError('bad-request', `unknown team ${t}`, { field: 'team' });
    }
  }

  private async checkProduct(ex: SqlExecutor, accountId: string, productId: string): Promise<void> {
    const r = await ex.get<Row>('SELECT id FROM products WHERE account_id = ? AND id = ?', [accountId, productId]);
    if (!r) throw new ApiError('bad-request', 'unknown product', { field: 'product' });
  }

  private async unique<T>(message: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isUniqueViolation(e)) throw new ApiError('conflict', message);
      throw e;
    }
  }
}

const str = (v: unknown): string => String(v);

function productConfig(p: ProductInput) {
  return {
    heartbeat: p.heartbeat,
    clientTypes: p.clientTypes,
    linger: p.linger,
    standbyTimeout: p.standbyTimeout,
    flex: p.flex,
    activationWindow: p.activationWindow,
    quota: p.quota,
  };
}

async function insertUser(tx: SqlExecutor, accountId: string, id: string, u: UserInput, now: number): Promise<User> {
  await tx.run(
    'INSERT INTO users (id, account_id, username, password_hash, role, max_leases, permissions, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    [id, accountId, u.username, u.passwordHash, u.role, u.maxLeases, u.permissions === null ? null : JSON.stringify(u.permissions), now],
  );
  for (const t of u.teams) await tx.run('INSERT INTO user_teams (user_id, team_id) VALUES (?, ?)', [id, t]);
  return { id, accountId, username: u.username, role: u.role, teams: [...u.teams].sort(), maxLeases: u.maxLeases, permissions: u.permissions, createdAt: now };
}

async function insertCredential(ex: SqlExecutor, hash: string, c: Credential): Promise<void> {
  await ex.run('INSERT INTO credentials (hash, account_id, kind, subject_id, expires_at) VALUES (?, ?, ?, ?, ?)', [
    hash, c.accountId, c.kind, c.subjectId, c.expiresAt,
  ]);
}

function rangeWhere(col: string, accountId: string, range: ReportRange, productCol: string): { where: string; params: unknown[] } {
  const where = [`${col.split('.')[0]}.account_id = ?`];
  const params: unknown[] = [accountId];
  if (range.from !== null) { where.push(`${col} >= ?`); params.push(range.from); }
  if (range.to !== null) { where.push(`${col} < ?`); params.push(range.to); }
  if (range.productId !== undefined) { where.push(`${productCol} = ?`); params.push(range.productId); }
  return { where: where.join(' AND '), params };
}
