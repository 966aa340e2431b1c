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
-- The same one statement as the slot version, with the counter decremented instead of a slot freed.
WITH s AS (UPDATE sessions SET ended_at = 2, end_reason = 'ended' WHERE id = 'ses_' || :n || '_' || :client_id AND ended_at IS NULL AND token_hash = 'h' RETURNING lease_id),
     n AS (SELECT (SELECT (p.config::jsonb ->> 'linger')::numeric FROM leases x JOIN products p ON p.id = x.product_id WHERE x.id = (SELECT lease_id FROM s)) AS linger),
     l AS (UPDATE leases SET sessions = sessions - 1,
             status = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN 'ended' ELSE status END,
             ended_at = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN 2 ELSE ended_at END,
             end_reason = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN 'released' ELSE end_reason END,
             due_at = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN NULL ELSE due_at END,
             timer = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN NULL ELSE timer END
           WHERE id = (SELECT lease_id FROM s) AND ended_at IS NULL
           RETURNING id, account_id, license_id, kind, sessions, hold,
             (SELECT config FROM products WHERE id = leases.product_id) AS product_config,
             (SELECT timezone FROM accounts WHERE id = leases.account_id) AS account_tz,
             (SELECT settings FROM accounts WHERE id = leases.account_id) AS account_settings, ended_at IS NOT NULL AS released),
     f AS (UPDATE bench_counter SET in_use = in_use - 1 WHERE id = 1 AND EXISTS (SELECT 1 FROM l WHERE released) RETURNING 1),
     v AS (INSERT INTO events (account_id, lease_id, type, data, at) SELECT account_id, id, 'lease.ended', '{"reason":"released"}', 2 FROM l WHERE released RETURNING seq)
SELECT s.lease_id AS claimed, l.*, (SELECT seq FROM v) AS seq, (SELECT COUNT(*) FROM f) AS freed,
  l.released AND EXISTS (SELECT 1 FROM leases w WHERE w.product_id = 'prd_hot' AND w.kind = 'flex' AND w.ended_at IS NULL
    UNION ALL SELECT 1 FROM tickets WHERE product_id = 'prd_hot' AND status = 'waiting') AS waiting
FROM s LEFT JOIN l ON true;
COMMIT;
\endif
