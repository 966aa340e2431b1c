import { ApiError } from '../../errors.js';
import type {
  Account, AccountSettings, ApiKey, ApiKeyKind, Credential, Endpoint, LeaseEvent, License, LicenseInput, Page, PageOf,
  Product, ProductInput, Team, User, UserInput,
} from '../types.js';
import type { Row, SqlDriver, SqlExecutor } from './driver.js';
import { isUniqueViolation } from './driver.js';
import { migrationsFor } from './migrations.js';
import * as leaseOps from './lease-ops.js';
import * as policyOps from './policy-ops.js';
import * as softOps from './soft-ops.js';
import {
  LEASE_COLUMNS, LEASE_FROM, num, paged, toAccount, toApiKey, toEndpoint, toLease, toLicense,
  toProduct, toTeam, toUser,
} from './rows.js';
import { overageSeats } from '../../engine/seat.js';
import { inUseSql, syncSlots } from './seats.js';
import { ReadCache } from './read-cache.js';

const licenseSelect = (dialect: 'sqlite' | 'postgres') =>
  `SELECT li.*, p.key AS product_key, ${inUseSql(dialect)} AS in_use FROM licenses li JOIN products p ON p.id = li.product_id`;
/** Licenses with their product's key and their seats in use, per dialect. */
export const LICENSE_SELECT = { sqlite: licenseSelect('sqlite'), postgres: licenseSelect('postgres') };
const ENDPOINT_SELECT = `SELECT e.*, p.key AS product_key FROM endpoints e JOIN products p ON p.id = e.product_id`;

/**
 * The set-up half of the SQL store: accounts, people, products, licenses, endpoints, keys and
 * credentials, with the connection, the read caches and the shared helpers. `SqlStore`
 * (sql-store.ts) adds leases, sessions, reports and metering on top.
 */
export abstract class SqlSetupStore {
  readonly dialect: 'sqlite' | 'postgres';
  readonly shared: boolean;
  /**
   * Credentials, users and products by key, the reads every client request makes (see
   * ReadCache). The methods below that change those rows drop the entries once their change
   * is committed (clearing a whole map: such changes are rare). Shared stores keep entries
   * for `sharedCacheTtlMs`.
   */
  protected readonly cache: { credentials: ReadCache<Credential>; products: ReadCache<Product>; users: ReadCache<User> };

  /**
   * @param expiryGraceMs shared stores only: how long past its stored deadline a session is
   *   left before expiry, to cover heartbeats another server has seen but not yet written
   *   back (it writes them back every tick, 250 ms by default).
   * @param sharedCacheTtlMs shared stores only: how long a credential or product read is reused
   *   before it is read again (a key revoked on another server stops working within this).
   */
  constructor(protected readonly db: SqlDriver, protected readonly expiryGraceMs = 2000, sharedCacheTtlMs = 2000) {
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
      const events = await policyOps.offerSeats(tx, id, now);
      const r = await tx.get<Row>(`${LICENSE_SELECT[tx.dialect]} WHERE li.id = ?`, [id]);
      return { ...toLicense(r!), events };
    });
  }

  async getLicense(accountId: string, id: string): Promise<License | undefined> {
    const r = await this.db.get<Row>(`${LICENSE_SELECT[this.dialect]} WHERE li.account_id = ? AND li.id = ?`, [accountId, id]);
    return r && toLicense(r);
  }

  async listLicenses(accountId: string, page: Page, productId?: string): Promise<PageOf<License>> {
    const where = productId ? ' AND li.product_id = ?' : '';
    const params = productId ? [accountId, productId] : [accountId];
    const rows = await this.list(`${LICENSE_SELECT[this.dialect]} WHERE li.account_id = ?${where}`, params, page, 'li.id');
    return paged(rows.map(toLicense), page);
  }

  updateLicense(accountId: string, id: string, patch: Partial<LicenseInput>, now: number): Promise<(License & { events: LeaseEvent[] }) | undefined> {
    return this.db.transaction(async (tx) => {
      const r = await tx.get<Row>(`${LICENSE_SELECT[tx.dialect]} WHERE li.account_id = ? AND li.id = ?`, [accountId, id]);
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
      const events = await policyOps.offerSeats(tx, id, now);
      events.push(...(await softOps.resuspend(tx, id, now)));
      return { ...toLicense((await tx.get<Row>(`${LICENSE_SELECT[tx.dialect]} WHERE li.id = ?`, [id]))!), events };
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
      const events = await leaseOps.endLeases(tx, live.map((r) => ({ lease: toLease(r), reason: 'license-ended' })), now);
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

  // ── helpers ───────────────────────────────────────────────────────────────────────────

  protected list(sql: string, params: unknown[], page: Page, idCol = 'id'): Promise<Row[]> {
    const cursor = page.cursor === null ? '' : ` AND ${idCol} > ?`;
    const args = page.cursor === null ? params : [...params, page.cursor];
    return this.db.all<Row>(`${sql}${cursor} ORDER BY ${idCol} LIMIT ?`, [...args, page.limit + 1]);
  }

  protected async teamsOf(ex: SqlExecutor, userId: string): Promise<string[]> {
    const rows = await ex.all<Row>('SELECT team_id FROM user_teams WHERE user_id = ? ORDER BY team_id', [userId]);
    return rows.map((r) => str(r.team_id));
  }

  protected async checkTeams(ex: SqlExecutor, accountId: string, teams: string[]): Promise<void> {
    for (const t of teams) {
      const r = await ex.get<Row>('SELECT id FROM teams WHERE account_id = ? AND id = ?', [accountId, t]);
      if (!r) throw new ApiError('bad-request', `unknown team ${t}`, { field: 'team' });
    }
  }

  protected async checkProduct(ex: SqlExecutor, accountId: string, productId: string): Promise<void> {
    const r = await ex.get<Row>('SELECT id FROM products WHERE account_id = ? AND id = ?', [accountId, productId]);
    if (!r) throw new ApiError('bad-request', 'unknown product', { field: 'product' });
  }

  protected async unique<T>(message: string, fn: () => Promise<T>): Promise<T> {
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
