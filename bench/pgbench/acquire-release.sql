-- The store's grant and release, as pgbench runs them (-M prepared): one transaction to take a
-- seat slot and start a lease and its session, one to end them and free the slot. :product is
-- prd_bench (100 licenses: "spread" runs) or prd_hot (one license: "hot" runs). With
-- :refusal_first, the transaction starts with the store's one-read refusal check, as the server
-- does for a product whose last request was refused.
\set n random(1, 2000000000)
BEGIN;
\if :refusal_first
-- The store's first statement for a request that can only be refused (lease-ops readFullness):
-- how many slots below a limit are free (up to 16), is any license soft or suspended, is any
-- for a team or a platform, the account's settings, the load a refusal reports, and the next
-- license start or expiry.
SELECT CASE WHEN (SELECT COUNT(*) FROM (SELECT 1 FROM licenses li JOIN seat_slots ss ON ss.license_id = li.id AND ss.lease_id IS NULL AND ss.slot < li.max_seats WHERE li.product_id = :product LIMIT 16) AS counted) > 0 THEN 1 ELSE 0 END AS free,
  (SELECT settings FROM accounts WHERE id = 'acc_bench') AS settings,
  (SELECT COALESCE(MIN(CASE WHEN li.starts_at > 1 THEN li.starts_at WHEN li.expires_at > 1 THEN li.expires_at END), 0) FROM licenses li WHERE li.product_id = :product) AS until,
  EXISTS (SELECT 1 FROM licenses li WHERE li.product_id = :product AND (li.enforcement = 'soft' OR li.suspended_at IS NOT NULL)) AS special,
  EXISTS (SELECT 1 FROM licenses li WHERE li.product_id = :product AND (li.team_id IS NOT NULL OR li.platform IS NOT NULL)) AS restricted,
  (SELECT COALESCE(SUM(li.max_seats + (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.slot >= li.max_seats AND ss.lease_id IS NOT NULL)), 0) FROM licenses li WHERE li.product_id = :product) AS in_use_when_full,
  (SELECT COALESCE(SUM(li.seats), 0) FROM licenses li WHERE li.product_id = :product) AS capacity \gset
\else
\set free 1
\endif
\if :free
-- The candidate licenses ranked and a seat claimed in one statement (seats.ts
-- claimCandidateSeat): the requester is the bench's user, an owner with no team.
SELECT coalesce(license_id, '') AS license_id, (license_id IS NOT NULL)::int AS got
  FROM sk_claim_seat('lse_' || :n || '_' || :client_id, :product, '{}', true, NULL, 1, true) \gset
\if :got
-- The lease and its first session in one statement, as the store does on PostgreSQL.
WITH l AS (INSERT INTO leases (id, account_id, product_id, license_id, kind, status, user_id, device, endpoint_id, join_code, hold, sessions, client_type, channel, platform, meta, seat_key, started_at, ends_at, notice_at, notice_message, ends_reason, ppu_paid_until, due_at)
  VALUES ('lse_' || :n || '_' || :client_id, 'acc_bench', :product, :license_id, 'regular', 'active', NULL, NULL, NULL, 'J' || :n || '_' || :client_id, 'heartbeat', 1, NULL, NULL, NULL, NULL, NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL) RETURNING id)
INSERT INTO sessions (id, lease_id, account_id, token_hash, client_type, hb_interval, hb_timeout, started_at, expires_at)
  VALUES ('ses_' || :n || '_' || :client_id, (SELECT id FROM l), 'acc_bench', 'h', NULL, 10, 30, 1, 30001);
\else
-- Another request took the slot first: the refusal's reads (refusals are recorded in the
-- server's batch, once per tick).
SELECT COALESCE(SUM((SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = li.id AND ss.lease_id IS NOT NULL)), 0) AS in_use, COALESCE(SUM(li.seats), 0) AS capacity
  FROM licenses li WHERE li.product_id = :product;
\endif
\else
\set got 0
\endif
COMMIT;
\if :got
BEGIN;
-- The session's end with its lease's count and, the last session gone, the lease's end with its
-- seat, its event and the check for waiters, in one statement (lease-ops closeSessionSqlPg).
WITH s AS (UPDATE sessions SET ended_at = 2, end_reason = 'ended' WHERE id = 'ses_' || :n || '_' || :client_id AND ended_at IS NULL AND token_hash = 'h' RETURNING lease_id),
     n AS (SELECT CAST(2 AS BIGINT) AS at, CAST('released' AS TEXT) AS reason, (SELECT (p.config::jsonb ->> 'linger')::numeric FROM leases x JOIN products p ON p.id = x.product_id WHERE x.id = (SELECT lease_id FROM s)) AS linger),
     l AS (UPDATE leases SET sessions = sessions - 1,
             status = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN 'ended' ELSE status END,
             ended_at = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN (SELECT at FROM n) ELSE ended_at END,
             end_reason = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN (SELECT reason FROM n) ELSE end_reason END,
             due_at = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN NULL ELSE due_at END,
             timer = CASE WHEN (sessions = 1 AND hold = 'heartbeat' AND license_id IS NOT NULL AND kind IN ('regular', 'overage') AND (SELECT linger FROM n) = 0) THEN NULL ELSE timer END
           WHERE id = (SELECT lease_id FROM s) AND ended_at IS NULL
           RETURNING id, account_id, license_id, kind, sessions, hold,
             (SELECT config FROM products WHERE id = leases.product_id) AS product_config,
             (SELECT timezone FROM accounts WHERE id = leases.account_id) AS account_tz,
             (SELECT settings FROM accounts WHERE id = leases.account_id) AS account_settings, ended_at IS NOT NULL AS released),
     f AS (UPDATE seat_slots SET lease_id = NULL WHERE license_id || '' = (SELECT license_id FROM l WHERE released) AND lease_id = (SELECT id FROM l WHERE released)
             AND slot < (SELECT max_seats FROM licenses WHERE id = (SELECT license_id FROM l WHERE released))
             AND NOT EXISTS (SELECT 1 FROM seat_slots o WHERE o.license_id = (SELECT license_id FROM l WHERE released) AND o.lease_id IS NOT NULL
                               AND o.slot >= (SELECT max_seats FROM licenses WHERE id = (SELECT license_id FROM l WHERE released)))
           RETURNING slot),
     v AS (INSERT INTO events (account_id, lease_id, type, data, at) SELECT account_id, id, 'lease.ended', '{"reason":"released"}', 2 FROM l WHERE released RETURNING seq)
SELECT s.lease_id AS claimed, l.*, (SELECT seq FROM v) AS seq, (SELECT COUNT(*) FROM f) AS freed,
  l.released AND EXISTS (SELECT 1 FROM leases w WHERE w.product_id = (SELECT product_id FROM licenses WHERE id = l.license_id) AND w.kind = 'flex' AND w.ended_at IS NULL
    UNION ALL SELECT 1 FROM tickets WHERE product_id = (SELECT product_id FROM licenses WHERE id = l.license_id) AND status = 'waiting') AS waiting
FROM s LEFT JOIN l ON true;
COMMIT;
\endif
