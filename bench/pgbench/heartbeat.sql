-- What a heartbeat costs PostgreSQL: one read of the session and its lease. (Deadlines are
-- written back in one batched statement per tick per server, not per heartbeat.)
\set s random(1, :sessions)
SELECT l.*, p.key AS product_key, s.id AS s_id, s.token_hash AS s_token_hash, s.hb_timeout AS s_hb_timeout, s.ended_at AS s_ended_at
  FROM sessions s JOIN leases l ON l.id = s.lease_id JOIN products p ON p.id = l.product_id WHERE s.id = 'hb_' || :s;
