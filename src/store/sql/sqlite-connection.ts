import Database from 'better-sqlite3';
import type { SqlExecutor } from './driver.js';

type Statement = Database.Statement<unknown[], unknown>;

/** The size the WAL is trimmed to when it starts over (bytes). */
export const WAL_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * A connection to the embedded database as every connection that writes it is set up: the
 * main one (`SqliteDriver`) and the side one (`SqliteSide`).
 */
export function openSqlite(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Each transaction of a group commit runs in a savepoint, and SQLite copies every page a
  // savepoint first touches into a sub-journal, a temporary file by default: a write
  // system call per page. In memory, the statements of a grant or release cost a third to
  // a half as much (docs/architecture.md). Temporary tables and sorts live in memory too.
  db.pragma('temp_store = MEMORY');
  // Checkpoints (the only fsyncs in WAL + NORMAL) run once a second (`SqliteDriver.maintain`)
  // on a worker thread with its own connection, instead of every 1,000 pages inside whichever
  // commit crosses the mark: the event loop never waits for the copy or its fsyncs (writes
  // wait, queued, for the short last step: see `maintain`). A connection's own setting.
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  return db;
}

/** Prepared statements by text, kept for the connection's life. */
export function statementCache(db: Database.Database): (sql: string) => Statement {
  const cache = new Map<string, Statement>();
  return (sql) => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
}

/** An executor over a connection's statements, as the store's operations take one. */
export function executor(stmt: (sql: string) => Statement): SqlExecutor {
  return {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly unknown[] = []) => stmt(sql).all(...params) as T[],
    get: async <T>(sql: string, params: readonly unknown[] = []) => stmt(sql).get(...params) as T | undefined,
    run: async (sql: string, params: readonly unknown[] = []) => stmt(sql).run(...params).changes,
  };
}
