-- The same grant and release with one counter row per license instead of seat slots: every
-- grant on the license queues on that row until the previous transaction commits. This is the
-- baseline the hot-license target is measured against. With :refusal_first, a request first
-- reads the counter and a full one is refused without waiting on the row, as the store's
-- slot version does.
\set n random(1, 2000000000)
BEGIN;
\if :refusal_first
-- The same first read as the slot version, on the counter row: is a seat free?
SELECT CASE WHEN in_use < seats THEN 1 ELSE 0 END AS free, in_use, seats, (SELECT settings FROM accounts WHERE id = 'acc_bench') AS settings FROM bench_counter WHERE id = 1 \gset
\else
\set free 1
\endif
\if :free
-- The candidate licenses read in the statement that claims, as sk_claim_seat does.
WITH c AS (SELECT array_agg(id ORDER BY id) AS ids FROM licenses WHERE product_id = 'prd_hot' AND suspended_at IS NULL),
     u AS (UPDATE bench_counter SET in_use = in_use + 1 FROM c WHERE id = 1 AND in_use < seats AND 'lic_hot' = ANY (c.ids) RETURNING 1)
SELECT count(*) AS got FROM u \gset
\if :got
WITH l AS (INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, endpoint_id, join_code, hold, sessions, client_type, channel, platform, meta, seat_key, started_at, ends_at, notice_at, notice_message, ends_reason, ppu_paid_until, due_at)
  VALUES ('lse_' || :n || '_' || :client_id, 'acc_bench', 'prd_hot', 'lic_hot', 'regular', 'active', NULL, NULL, NULL, 'J' || :n || '_' || :client_id, 'heartbeat', 1, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL) RETURNING id)
INSERT INTO sessions (id, lease_id, account_id, token_hash, client_type, hb_interval, hb_timeout, started_at, expires_at)
  VALUES ('ses_' || :n || '_' || :client_id, (SELECT id FROM l), 'acc_bench', 'h', NULL, 10, 30, 1, 30001);
\else
-- Another request took the seat first: the refusal's reads.
SELECT COALESCE(SUM((SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.lease_id IS NOT NULL)), 0) AS in_use, COALESCE(SUM(li.seats), 0) AS capacity
  FROM licenses li WHERE li.product_id = 'prd_hot';
\endif
\else
\set got 0
\endif
COMMIT;
\if :got
BEGIN;
-- The same one statement as the slot version (written here by bench/pgbench.ts from lease-ops
-- closeSessionSqlPg), with the counter decremented instead of a slot freed.
-- @release counter
COMMIT;
\endif
