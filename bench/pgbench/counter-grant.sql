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
SELECT id, team_id, platform, starts_at, expires_at, seats, max_seats FROM licenses WHERE product_id = 'prd_bench' ORDER BY id;
WITH u AS (UPDATE bench_counter SET in_use = in_use + 1 WHERE id = 1 AND in_use < seats RETURNING 1)
SELECT count(*) AS got FROM u \gset
\if :got
INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, endpoint_id, join_code, hold, sessions, client_type, channel, platform, meta, seat_key, started_at, ends_at, notice_at, notice_message, ends_reason, ppu_paid_until, due_at)
  VALUES ('lse_' || :n || '_' || :client_id, 'acc_bench', 'prd_bench', 'lic_bench_1', 'regular', 'active', NULL, NULL, NULL, 'J' || :n || '_' || :client_id, 'heartbeat', 1, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO sessions (id, lease_id, account_id, token_hash, client_type, hb_interval, hb_timeout, started_at, expires_at)
  VALUES ('ses_' || :n || '_' || :client_id, 'lse_' || :n || '_' || :client_id, 'acc_bench', 'h', NULL, 10, 30, 1, 30001);
\else
-- Another request took the seat first: the refusal's reads.
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
UPDATE bench_counter SET in_use = in_use - 1 WHERE id = 1;
SELECT 1 AS x FROM leases WHERE product_id = 'prd_bench' AND kind = 'flex' AND ended_at IS NULL UNION ALL SELECT 1 AS x FROM tickets WHERE product_id = 'prd_bench' AND status = 'waiting';
INSERT INTO events (account_id, lease_id, type, data, at) VALUES ('acc_bench', 'lse_' || :n || '_' || :client_id, 'lease.ended', '{"reason":"released"}', 2) RETURNING seq;
COMMIT;
\endif
