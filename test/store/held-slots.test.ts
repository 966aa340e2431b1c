/**
 * SQLite keeps each license's held slots in `licenses.held_slots`, by triggers on `seat_slots`
 * (migration `sqlite-held-slots`), so that seats in use are read without counting them. The
 * counter must equal the count whatever path claimed, freed, moved or deleted a slot, and a
 * database migrated from before it starts from the count.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migrationsFor } from '../../src/store/sql/migrations.js';
import { SqliteDriver } from '../../src/store/sql/sqlite-driver.js';
import { oneSeat, type OneSeat } from '../helpers/one-seat.js';

const NOW = Date.UTC(2026, 0, 15, 10, 0, 0);

/** Licenses whose counter differs from a count of their held slots (none, if it is right). */
async function drift(driver: { all<T>(sql: string): Promise<T[]> }): Promise<{ id: string; held_slots: number; counted: number }[]> {
  return driver.all(
    `SELECT id, held_slots, (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.lease_id IS NOT NULL) AS counted
       FROM licenses li WHERE held_slots <> (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.lease_id IS NOT NULL)`,
  );
}

let t: OneSeat;
beforeEach(async () => {
  t = await oneSeat('sqlite', 'held', NOW);
});
afterEach(async () => {
  await t.drop();
});

it('follows grants, ends, seats lowered and raised while held, and a deleted license', async () => {
  const counter = async () => Number((await t.driver.get<{ n: number }>('SELECT held_slots AS n FROM licenses WHERE id = ?', [t.license]))!.n);
  await t.store.updateLicense(t.account, t.license, { seats: 4 }, NOW);
  const held = [];
  for (let i = 0; i < 4; i++) {
    const g = await t.store.acquire(t.request(), NOW);
    if (g.kind !== 'granted') throw new Error('expected a grant');
    held.push(g);
  }
  expect(await counter()).toBe(4);
  expect((await t.store.getLicense(t.account, t.license))?.inUse).toBe(4);
  // Seats lowered below the held ones: the slots beyond stay held until freed.
  await t.store.updateLicense(t.account, t.license, { seats: 2 }, NOW);
  expect(await drift(t.driver)).toEqual([]);
  expect(await counter()).toBe(4);
  // An expiry batch (the side connection) and a closed session free theirs.
  const r = await t.store.expireSessions([held[3]!.session.id, held[0]!.session.id], NOW + 31_000);
  expect(r.expired).toHaveLength(2);
  await t.store.closeSession(held[1]!.session.id, held[1]!.session.tokenHash, NOW + 31_000);
  expect(await drift(t.driver)).toEqual([]);
  expect(await counter()).toBe(1);
  await t.store.updateLicense(t.account, t.license, { seats: 5 }, NOW + 31_000);
  expect(await drift(t.driver)).toEqual([]);
  expect((await t.store.usage(t.account, NOW + 31_000))[0]?.inUse).toBe(1);
  await t.store.deleteLicense(t.account, t.license, NOW + 32_000);
  expect(await drift(t.driver)).toEqual([]);
});

it('starts from the count on a database migrated from before the counter', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'seatkeeper-held-'));
  const driver = new SqliteDriver(join(dir, 'seatkeeper.db'), { side: false });
  try {
    const steps = migrationsFor('sqlite');
    const at = steps.findIndex((s) => s.name === 'sqlite-held-slots');
    expect(at).toBeGreaterThan(0);
    await driver.migrate(steps.slice(0, at));
    await driver.run("INSERT INTO accounts (id, name, timezone, settings, created_at) VALUES ('acc_1', 'a', 'UTC', '{}', 0)");
    await driver.run(
      "INSERT INTO products (id, account_id, key, name, seat_model, config, created_at) VALUES ('prd_1', 'acc_1', 'p', 'p', 'session', '{}', 0)",
    );
    for (const id of ['lic_1', 'lic_2']) {
      await driver.run(
        `INSERT INTO licenses (id, account_id, product_id, seats, max_seats, overage, enforcement, win, created_at) VALUES (?, 'acc_1', 'prd_1', 3, 3, 0, 'hard', 180, 0)`,
        [id],
      );
    }
    for (const [lic, slot, lease] of [['lic_1', 0, 'lse_a'], ['lic_1', 1, 'lse_b'], ['lic_1', 2, null], ['lic_2', 0, null], ['lic_2', 1, 'lse_c']] as const) {
      await driver.run('INSERT INTO seat_slots (license_id, slot, lease_id) VALUES (?, ?, ?)', [lic, slot, lease]);
    }
    await driver.migrate(steps);
    const counters = () => driver.all('SELECT id, held_slots FROM licenses ORDER BY id');
    expect(await counters()).toEqual([{ id: 'lic_1', held_slots: 2 }, { id: 'lic_2', held_slots: 1 }]);
    // Whatever writes the slots, the triggers follow: a held slot inserted, moved to another
    // license, freed, deleted.
    await driver.run("INSERT INTO seat_slots (license_id, slot, lease_id) VALUES ('lic_2', 5, 'lse_d')");
    expect(await counters()).toEqual([{ id: 'lic_1', held_slots: 2 }, { id: 'lic_2', held_slots: 2 }]);
    await driver.run("UPDATE seat_slots SET license_id = 'lic_1' WHERE license_id = 'lic_2' AND slot = 5");
    expect(await counters()).toEqual([{ id: 'lic_1', held_slots: 3 }, { id: 'lic_2', held_slots: 1 }]);
    await driver.run("UPDATE seat_slots SET lease_id = NULL WHERE lease_id = 'lse_a'");
    await driver.run("DELETE FROM seat_slots WHERE license_id = 'lic_1' AND slot = 5");
    expect(await counters()).toEqual([{ id: 'lic_1', held_slots: 1 }, { id: 'lic_2', held_slots: 1 }]);
    expect(await drift(driver)).toEqual([]);
  } finally {
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
