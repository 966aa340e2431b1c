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
-- seat, its event and the check for waiters, in one statement: bench/pgbench.ts writes it here
-- from the store's own builder (lease-ops closeSessionSqlPg).
-- @release slot
COMMIT;
\endif
