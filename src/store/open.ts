import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SqlStore } from './sql/sql-store.js';
import { SqliteDriver } from './sql/sqlite-driver.js';
import type { Store } from './types.js';

export interface StoreOptions {
  /** Directory of the embedded SQLite database. */
  data?: string;
  /** postgres://… for cluster mode. */
  database?: string | null;
}

/** Opens (and migrates) the store the options name: PostgreSQL if a URL is given, else SQLite. */
export async function openStore(opts: StoreOptions): Promise<{ store: Store; describe: string }> {
  if (opts.database) {
    const { PostgresDriver } = await import('./sql/postgres-driver.js');
    const store = new SqlStore(new PostgresDriver(opts.database));
    await store.migrate();
    return { store, describe: `PostgreSQL ${redact(opts.database)}` };
  }
  const dir = resolve(opts.data ?? './data');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'seatkeeper.db');
  const store = new SqlStore(new SqliteDriver(file));
  await store.migrate();
  return { store, describe: `SQLite ${file}` };
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://…';
  }
}
