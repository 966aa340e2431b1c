/**
 * The smallest surface `SqlStore` needs from a database: statements with `?` placeholders,
 * and a transaction that gives them exclusive, atomic effect. Each driver owns its
 * connection and transaction handling, and nothing of it leaves the store.
 */
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  /**
   * PostgreSQL answers each statement over the network: where a round trip costs more than
   * the statement, operations may combine statements (data-modifying CTEs) on it.
   */
  readonly dialect: 'sqlite' | 'postgres';
  all<T = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  /**
   * Runs `fn` atomically. SQLite: one writer at a time (BEGIN IMMEDIATE). PostgreSQL: READ
   * COMMITTED with row locks taken by the statements themselves; retried on serialization
   * failures and deadlocks, so `fn` must be safe to run again.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Only where this process is the database's only writer (SQLite): a number that changes
   * whenever anything readable may have changed (every write statement, every rollback), so
   * that a read may be reused while it stays the same. Absent where other servers write.
   */
  writeGeneration?: () => number;
  /**
   * PostgreSQL: statements on the pool, as on the driver itself, that call `onSend` when a
   * connection is free and the statement goes out. Until then the statement waits for a
   * connection, and what it will read is no older than anything that happens meanwhile.
   */
  whenSent?(onSend: () => void): SqlExecutor;
  /**
   * SQLite: runs one of the store's mass writes (`side-ops.ts`, by name) as one transaction on
   * a second connection in a worker thread, so that the event loop is free meanwhile
   * (`SqliteSide`). Null when there is none (an in-memory database, or its worker failed): the
   * caller then runs the same operation as a transaction here.
   */
  aside?(op: string, args: readonly unknown[]): Promise<unknown> | null;
  /** Periodic upkeep (SQLite: a WAL checkpoint), settled when done; it never rejects. */
  maintain?(): Promise<void>;
  /** Runs the migrations not yet applied, safely when several servers start at once. */
  migrate(steps: readonly MigrationStep[]): Promise<void>;
  close(): Promise<void>;
}

export interface MigrationStep {
  version: number;
  name: string;
  sql: string;
}

/**
 * The locking clause of a claim (a row that several transactions may want at once, of which
 * one should get it): on PostgreSQL, rows another transaction holds are skipped rather than
 * waited for; SQLite has one writer at a time and no row locks. `of` names the table to lock
 * in a join.
 */
export function skipLockedClause(tx: SqlExecutor, of?: string): string {
  return tx.dialect === 'postgres' ? ` FOR UPDATE${of ? ` OF ${of}` : ''} SKIP LOCKED` : '';
}

/** A unique-constraint violation, which callers may retry after re-reading. */
export function isUniqueViolation(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const code = (e as { code?: unknown }).code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
