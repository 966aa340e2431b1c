-- The store's grant and release, as pgbench runs them (-M prepared): one transaction to take a
-- seat slot and start a lease and its session, one to end them and free the slot. :lic picks
-- the license (1..:licenses), so the same script serves "spread" and "hot" runs. With
-- :refusal_first, the transaction starts with the store's one-read refusal check, as the server
-- does for a product whose last request was refused.
\set lic random(1, :licenses)
\set n random(1, 2000000000)
BEGIN;
\if :refusal_first
-- The store's first statement for a request that can only be refused (lease-ops quickRefusal):
-- is any slot below a limit free, is any license soft or suspended, the account's settings,
-- and the load a refusal reports.
SELECT CASE WHEN EXISTS (SELECT 1 FROM licenses li JOIN seat_slots ss ON ss.license_id = li.id AND ss.lease_id IS NULL AND ss.slot < li.max_seats WHERE li.product_id = 'prd_bench') THEN 1 ELSE 0 END AS free,
  (SELECT settings FROM accounts WHERE id = 'acc_bench') AS settings,
  EXISTS (SELECT 1 FROM licenses li WHERE li.product_id = 'prd_bench' AND (li.enforcement = 'soft' OR li.suspended_at IS NOT NULL)) AS special,
  (SELECT COALESCE(SUM(li.max_seats + (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.slot >= li.max_seats AND ss.lease_id IS NOT NULL)), 0) FROM licenses li WHERE li.product_id = 'prd_bench') AS in_use_when_full,
  (SELECT COALESCE(SUM(li.seats), 0) FROM licenses li WHERE li.product_id = 'prd_bench') AS capacity \gset
\else
\set free 1
\endif
\if :free
SELECT id, team_id, platform, starts_at, expires_at, seats, max_seats FROM licenses WHERE product_id = 'prd_bench' ORDER BY id;
WITH u AS (
  UPDATE seat_slots SET lease_id = 'lse_' || :n || '_' || :client_id
   WHERE license_id = 'lic_bench_' || :lic AND slot = (
     SELECT slot FROM seat_slots WHERE license_id = 'lic_bench_' || :lic AND lease_id IS NULL AND slot < :seats ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
     AND lease_id IS NULL RETURNING slot)
SELECT count(*) AS got FROM u \gset
\if :got
INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, endpoint_id, join_code, hold, sessions, client_type, channel, platform, meta, seat_key, started_at, ends_at, notice_at, notice_message, ends_reason, ppu_paid_until, due_at)
  VALUES ('lse_' || :n || '_' || :client_id, 'acc_bench', 'prd_bench', 'lic_bench_' || :lic, 'regular', 'active', NULL, NULL, NULL, 'J' || :n || '_' || :client_id, 'heartbeat', 1, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO sessions (id, lease_id, account_id, token_hash, client_type, hb_interval, hb_timeout, started_at, expires_at)
  VALUES ('ses_' || :n || '_' || :client_id, 'lse_' || :n || '_' || :client_id, 'acc_bench', 'h', NULL, 10, 30, 1, 30001);
\else
-- Another request took the slot first: the refusal's reads (refusals are recorded in the
-- server's batch, once per tick).
SELECT COALESCE(SUM((SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.lease_id IS NOT NULL)), 0) AS in_use, COALESCE(SUM(li.seats), 0) AS capacity
  FROM licenses li WHERE li.product_id = 'prd_bench';
\endif
\else
\set got 0
\endif
COMMIT;
\if :got
BEGIN;
UPDATE sessions SET ended_at = 2, end_reason = 'ended' WHERE id = 'ses_' || :n || '_' || :client_id AND ended_at IS NULL RETURNING lease_id;
UPDATE leases SET sessions = sessions - 1 WHERE id = 'lse_' || :n || '_' || :client_id AND ended_at IS NULL;
SELECT l.*, p.key AS product_key, p.config AS product_config, a.timezone AS account_tz, a.settings AS account_settings
  FROM leases l JOIN products p ON p.id = l.product_id JOIN accounts a ON a.id = l.account_id WHERE l.id = 'lse_' || :n || '_' || :client_id;
UPDATE leases SET status = 'ended', ended_at = 2, end_reason = 'released', due_at = NULL, timer = NULL, sessions = 0 WHERE id = 'lse_' || :n || '_' || :client_id AND ended_at IS NULL;
UPDATE seat_slots SET lease_id = NULL WHERE license_id || '' = 'lic_bench_' || :lic AND lease_id = 'lse_' || :n || '_' || :client_id
  AND slot < (SELECT max_seats FROM licenses WHERE id = 'lic_bench_' || :lic)
  AND NOT EXISTS (SELECT 1 FROM seat_slots o WHERE o.license_id = 'lic_bench_' || :lic AND o.lease_id IS NOT NULL AND o.slot >= (SELECT max_seats FROM licenses WHERE id = 'lic_bench_' || :lic));
SELECT 1 AS x FROM leases WHERE product_id = 'prd_bench' AND kind = 'flex' AND ended_at IS NULL UNION ALL SELECT 1 AS x FROM tickets WHERE product_id = 'prd_bench' AND status = 'waiting';
INSERT INTO events (account_id, lease_id, type, data, at) VALUES ('acc_bench', 'lse_' || :n || '_' || :client_id, 'lease.ended', '{"reason":"released"}', 2) RETURNING seq;
COMMIT;
\endif
