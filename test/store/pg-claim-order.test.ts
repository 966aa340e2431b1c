/**
 * On PostgreSQL a grant's candidate licenses are ranked inside the statement that claims the
 * seat (`sk_claim_seat`), so the engine's `orderCandidates` exists a second time, in SQL. This
 * property keeps the two the same: for generated licenses (teams, platforms, validity,
 * seats, overage, soft, suspended) and requesters, claiming seat after seat the SQL way takes
 * the same licenses, of the same kinds, in the same order as the engine's order and
 * `claimSeat` do, and a refusal reports the same candidates.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultProductConfig, defaultSettings } from '../../src/server/defaults.js';
import type { SqlExecutor } from '../../src/store/sql/driver.js';
import { PostgresDriver } from '../../src/store/sql/postgres-driver.js';
import { claimCandidateSeat, claimSeat, seatCandidates, type CandidateClaim } from '../../src/store/sql/seats.js';
import { SqlStore } from '../../src/store/sql/sql-store.js';
import { createPgDatabase, postgresReachable } from '../helpers/stores.js';

const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);
const reachable = await postgresReachable();
if (!reachable) console.warn('PostgreSQL not reachable: skipping the SQL candidate order property');

// Weighted towards licenses that are valid and open to anyone, so that several share a rank
// and the order between them (by id) is tested too.
const license = fc.record({
  team: fc.constantFrom(null, null, null, 'tm_a', 'tm_b'),
  platform: fc.constantFrom(null, null, null, 'android', 'ios'),
  startsAt: fc.constantFrom(null, null, NOW - 1000, NOW, NOW + 1000),
  expiresAt: fc.constantFrom(null, null, NOW - 1000, NOW, NOW + 1000),
  seats: fc.constantFrom(0, 1, 1, 2),
  overage: fc.constantFrom(0, 0, 50, 100),
  soft: fc.boolean(),
  suspended: fc.constantFrom(false, false, false, true),
});
const requester = fc.record({
  teams: fc.subarray(['tm_a', 'tm_b']),
  mayBorrow: fc.boolean(),
  platform: fc.constantFrom(null, 'android', 'ios'),
  slotless: fc.boolean(),
});

/** Thrown to roll a transaction back with what it found. */
class Found extends Error {
  constructor(readonly claims: CandidateClaim[]) {
    super('rolled back on purpose');
  }
}

describe.runIf(reachable)('candidate order on PostgreSQL', () => {
  let db: { url: string; drop(): Promise<void> };
  let driver: PostgresDriver;
  let store: SqlStore;
  beforeAll(async () => {
    db = await createPgDatabase();
    driver = new PostgresDriver(db.url);
    store = new SqlStore(driver, 0);
    await store.migrate();
    await store.createAccount(
      { id: 'acc_o', name: 'o', timezone: 'UTC', settings: defaultSettings() },
      { id: 'usr_o', username: 'owner', passwordHash: 'x', role: 'owner', teams: [], maxLeases: null, permissions: null },
      NOW,
    );
    await store.createTeam('acc_o', 'tm_a', 'A', NOW);
    await store.createTeam('acc_o', 'tm_b', 'B', NOW);
  });
  afterAll(async () => {
    await store?.close().catch(() => undefined);
    await db?.drop();
  });

  /** Claims seat after seat (at most 12) in one transaction, then rolls it back. */
  async function claims(claim: (tx: SqlExecutor, holder: string) => Promise<CandidateClaim>): Promise<CandidateClaim[]> {
    try {
      await driver.transaction(async (tx) => {
        const found: CandidateClaim[] = [];
        for (let i = 0; i < 12; i++) {
          const c = await claim(tx, `lse_${i}`);
          found.push(c);
          if (c.granted === null) break;
        }
        throw new Found(found);
      });
    } catch (e) {
      if (e instanceof Found) return e.claims;
      throw e;
    }
    throw new Error('the transaction was not rolled back');
  }

  let run = 0;
  const seen = new Set<string>();
  it('ranks and claims as orderCandidates and claimSeat do', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(license, { maxLength: 6 }), requester, async (licenses, who) => {
        const product = `prd_o${++run}`;
        await store.createProduct('acc_o', product, { ...defaultProductConfig(), key: `p${run}`, name: 'P', seatModel: 'session' }, NOW);
        for (const [k, l] of licenses.entries()) {
          // Ids out of creation order, so that ties are broken by id, not by insertion.
          const id = `lic_o${run}_${(k * 7) % 10}${k}`;
          await store.createLicense('acc_o', id, {
            productId: product, seats: l.seats, name: null, team: l.team, platform: l.platform, overage: l.overage,
            startsAt: l.startsAt, expiresAt: l.expiresAt, enforcement: l.soft ? 'soft' : 'hard', window: 180, exceptionQuota: null,
          }, NOW - 5000);
          if (l.suspended) await driver.run('UPDATE licenses SET suspended_at = ? WHERE id = ?', [NOW - 1, id]);
        }
        const requester = { teams: who.teams, mayBorrow: who.mayBorrow };
        const engine = await claims(async (tx, holder) => {
          const { candidates, suspended, everyLicense } = await seatCandidates(tx, product, requester, who.platform, NOW);
          const granted = await claimSeat(tx, candidates, holder, who.slotless);
          return granted ? { granted } : { granted, candidates: candidates.length, suspended, everyLicense };
        });
        const sql = await claims((tx, holder) => claimCandidateSeat(tx, product, requester, who.platform, NOW, holder, who.slotless));
        expect(sql).toEqual(engine);
        for (const c of sql) seen.add(c.granted ? c.granted.kind : c.suspended && c.candidates === 0 ? 'suspended' : 'none');
        if (sql.length === 12) seen.add('slotless');
        if (new Set(sql.map((c) => c.granted?.license)).size > 2) seen.add('several');
      }),
      { numRuns: 300 },
    );
    // The cases compared reached grants of both kinds, a soft license's grants without a slot,
    // refusals, a refusal for suspension, and seats taken from several licenses in turn.
    expect([...seen].sort()).toEqual(['none', 'overage', 'regular', 'several', 'slotless', 'suspended']);
  });
});
