/**
 * Query plans that matter for speed and that SQLite, with no statistics, could get wrong:
 * checked on a migrated database, since a slower plan gives the same answers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';
import { LEASE_TIMERS_DUE_SQL, OWN_LEASES_SQL } from '../../src/store/sql/lease-ops.js';
import { freeSlotsSql } from '../../src/store/sql/seats.js';

let dir: string;
let db: Database.Database;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sk-plans-'));
  const store = new SqlStore(new SqliteDriver(join(dir, 'seatkeeper.db')));
  await store.migrate();
  await store.close();
  db = new Database(join(dir, 'seatkeeper.db'), { readonly: true });
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const plan = (sql: string) => {
  const params = Array.from({ length: sql.split('?').length - 1 }, () => 'x');
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('\n');
};

it("reads a user's live leases (listed in every refusal of their requests) from the live-user index, not the account's history", () => {
  const p = plan(OWN_LEASES_SQL);
  expect(p).toContain('leases_live_user');
  expect(p).not.toMatch(/leases_account|leases_history/);
  // The same query keyed on the account, as it was, reads the account's whole history.
  expect(plan(OWN_LEASES_SQL.replace("l.user_id = ? AND l.ended_at IS NULL AND l.account_id || '' = ?", 'l.account_id = ? AND l.user_id = ? AND l.ended_at IS NULL')))
    .toMatch(/leases_account|leases_history/);
});

it('frees released seats by looking their holders up, not by walking the license\'s held slots', () => {
  for (const holders of ['lease_id = ?', 'lease_id IN (?, ?, ?, ?)']) {
    const p = plan(freeSlotsSql(holders));
    expect(p.split('\n')[0]).toMatch(/SEARCH seat_slots USING INDEX seat_slots_held \(lease_id=\?\)/);
  }
  // Keyed on the license as it was, a batch's update walks the license's slots below its limit.
  expect(plan(freeSlotsSql('lease_id IN (?, ?, ?, ?)').replace("license_id || '' = ?", 'license_id = ?')).split('\n')[0])
    .toMatch(/USING INDEX sqlite_autoindex_seat_slots_1 \(license_id=\? AND slot<\?\)/);
});

it('asks whether any lease timer is due (every tick) through the due-time index, not by reading the leases', () => {
  expect(plan(LEASE_TIMERS_DUE_SQL)).toMatch(/SEARCH l USING INDEX leases_due \(due_at<\?\)/);
});
