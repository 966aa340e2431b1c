/**
 * A store of its own (a fresh SQLite file or PostgreSQL database) with one account, a
 * session-model product and a license of one seat, and plain acquire requests for it (a lease
 * and session id each): for tests of how the store talks to its database.
 */
import { afterAll, beforeAll } from 'vitest';
import type { AcquireRequest, Product } from '../../src/store/types.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';
import type { SqlDriver } from '../../src/store/sql/driver.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultProductConfig, defaultSettings } from '../../src/server/defaults.js';
import { createPgDatabase } from './stores.js';

export interface OneSeat {
  driver: SqlDriver;
  store: SqlStore;
  product: Product;
  account: string;
  license: string;
  /** A new request: its lease and session ids (and session token hash) are new each time. */
  request(): AcquireRequest;
  /** A second store on the same database, as another server's (closed by `drop`). */
  another(): SqlStore;
  drop(): Promise<void>;
}

export async function oneSeat(kind: 'sqlite' | 'postgres', tag: string, now: number): Promise<OneSeat> {
  const db = kind === 'postgres' ? await createPgDatabase() : sqliteFile();
  const driver = kind === 'postgres' ? new PostgresDriver(db.url) : new SqliteDriver(db.url);
  const store = new SqlStore(driver, 0);
  await store.migrate();
  const account = `acc_${tag}`;
  const license = `lic_${tag}`;
  await store.createAccount(
    { id: account, name: tag, timezone: 'UTC', settings: defaultSettings() },
    { id: `usr_${tag}`, username: 'owner', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
    now,
  );
  const product = await store.createProduct(account, `prd_${tag}`, { ...defaultProductConfig(), key: 'p', name: 'P', seatModel: 'session' }, now);
  await store.createLicense(account, license, {
    productId: product.id, seats: 1, name: null, team: null, platform: null, overage: 0, startsAt: null, expiresAt: null,
    enforcement: 'hard', window: 180, exceptionQuota: null,
  }, now);
  let n = 0;
  const others: SqlStore[] = [];
  return {
    driver, store, product, account, license,
    another: () => {
      const other = new SqlStore(kind === 'postgres' ? new PostgresDriver(db.url) : new SqliteDriver(db.url), 0);
      others.push(other);
      return other;
    },
    request: () => {
      n++;
      return {
        accountId: account, product, user: null, endpointId: null, device: null, clientType: null, channel: null, platform: null,
        join: null, hold: 'heartbeat', meta: null, standby: false, wait: false, flex: undefined, ppu: undefined,
        newLease: { id: `lse_${tag}${n}`, joinCode: `J${tag}${n}` }, ticket: null,
        session: { id: `ses_${tag}${n}`, tokenHash: `h${n}`, interval: 10, timeout: 30 },
      };
    },
    async drop() {
      for (const other of others) await other.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      await db.drop();
    },
  };
}

function sqliteFile(): { url: string; drop(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-one-seat-'));
  return { url: join(dir, 'seatkeeper.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** `oneSeat` opened before the enclosing describe's tests and dropped after them. */
export function useOneSeat(kind: 'sqlite' | 'postgres', tag: string, now: number): () => OneSeat {
  let t: OneSeat | undefined;
  beforeAll(async () => {
    t = await oneSeat(kind, tag, now);
  });
  afterAll(async () => {
    await t?.drop();
  });
  return () => t!;
}
