import type { MigrationStep } from './driver.js';

/**
 * Versioned schema, written once for both dialects. `{{seq}}` is an auto-incrementing
 * primary key, `{{int8}}` a 64-bit integer (epoch milliseconds). Booleans are 0/1 integers
 * and structured values JSON text, so that rows read the same from either database.
 * Append new steps; never edit an applied one.
 */
const STEPS: { name: string; sql: string; only?: 'sqlite' | 'postgres' }[] = [
  {
    name: 'core',
    sql: `
CREATE TABLE accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  timezone TEXT NOT NULL,
  settings TEXT NOT NULL,
  ppu_balance INTEGER NOT NULL DEFAULT 0 CHECK (ppu_balance >= 0),
  flex_in_use INTEGER NOT NULL DEFAULT 0 CHECK (flex_in_use >= 0),
  created_at {{int8}} NOT NULL
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  username TEXT NOT NULL,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL,
  max_leases INTEGER,
  permissions TEXT,
  created_at {{int8}} NOT NULL,
  UNIQUE (account_id, username)
);
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  created_at {{int8}} NOT NULL,
  UNIQUE (account_id, name)
);
CREATE TABLE user_teams (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  PRIMARY KEY (user_id, team_id)
);
CREATE TABLE products (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  seat_model TEXT NOT NULL,
  config TEXT NOT NULL,
  created_at {{int8}} NOT NULL,
  UNIQUE (account_id, key)
);
CREATE TABLE licenses (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL REFERENCES products(id),
  name TEXT,
  seats INTEGER NOT NULL,
  team_id TEXT REFERENCES teams(id),
  platform TEXT,
  overage DOUBLE PRECISION NOT NULL DEFAULT 0,
  max_seats INTEGER NOT NULL,
  starts_at {{int8}},
  expires_at {{int8}},
  enforcement TEXT NOT NULL,
  win INTEGER NOT NULL,
  exception_quota INTEGER,
  created_at {{int8}} NOT NULL
);
CREATE INDEX licenses_product ON licenses (product_id, id);
CREATE TABLE seat_slots (
  license_id TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
  slot INTEGER NOT NULL,
  lease_id TEXT,
  PRIMARY KEY (license_id, slot)
);
CREATE INDEX seat_slots_free ON seat_slots (license_id, slot) WHERE lease_id IS NULL;
CREATE UNIQUE INDEX seat_slots_held ON seat_slots (lease_id) WHERE lease_id IS NOT NULL;
-- In-use counts read only the held seats of a license.
CREATE INDEX seat_slots_held_by_license ON seat_slots (license_id) WHERE lease_id IS NOT NULL;
CREATE TABLE endpoints (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL REFERENCES products(id),
  name TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  created_at {{int8}} NOT NULL
);
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  created_at {{int8}} NOT NULL
);
CREATE TABLE credentials (
  hash TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  expires_at {{int8}}
);
CREATE INDEX credentials_subject ON credentials (subject_id);
CREATE TABLE leases (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL REFERENCES products(id),
  license_id TEXT,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  user_id TEXT,
  device TEXT,
  endpoint_id TEXT,
  join_code TEXT NOT NULL,
  hold TEXT NOT NULL,
  sessions INTEGER NOT NULL DEFAULT 0 CHECK (sessions >= 0),
  client_type TEXT,
  channel TEXT,
  platform TEXT,
  meta TEXT,
  seat_key TEXT,
  started_at {{int8}} NOT NULL,
  ends_at {{int8}},
  ended_at {{int8}},
  end_reason TEXT,
  -- Timed state (see engine/policy.ts dueActions); due_at is the earliest of them.
  notice_at {{int8}},
  notice_message TEXT,
  ends_reason TEXT,
  ppu_paid_until {{int8}},
  timer TEXT,
  timer_at {{int8}},
  due_at {{int8}}
);
CREATE UNIQUE INDEX leases_live_seat ON leases (product_id, seat_key) WHERE ended_at IS NULL AND seat_key IS NOT NULL;
CREATE UNIQUE INDEX leases_live_join ON leases (account_id, join_code) WHERE ended_at IS NULL;
CREATE INDEX leases_account ON leases (account_id, id);
CREATE INDEX leases_live_user ON leases (user_id) WHERE ended_at IS NULL;
CREATE INDEX leases_live_license ON leases (license_id) WHERE ended_at IS NULL;
CREATE INDEX leases_due ON leases (due_at) WHERE due_at IS NOT NULL;
CREATE TABLE sessions (
  id TEXT PRIMARY KEY,
  lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  account_id TEXT NOT NULL,
  token_hash TEXT NOT NULL,
  client_type TEXT,
  hb_interval INTEGER NOT NULL,
  hb_timeout INTEGER NOT NULL,
  started_at {{int8}} NOT NULL,
  expires_at {{int8}} NOT NULL,
  ended_at {{int8}},
  end_reason TEXT
);
CREATE INDEX sessions_live_lease ON sessions (lease_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_live_expiry ON sessions (expires_at) WHERE ended_at IS NULL;
CREATE TABLE events (
  seq {{seq}},
  account_id TEXT NOT NULL,
  lease_id TEXT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  at {{int8}} NOT NULL
);
CREATE INDEX events_lease ON events (lease_id, seq);
CREATE INDEX events_account ON events (account_id, seq);
CREATE INDEX leases_live_flex ON leases (product_id, started_at) WHERE ended_at IS NULL AND kind = 'flex';
CREATE INDEX leases_live_ppu ON leases (account_id) WHERE ended_at IS NULL AND kind = 'ppu';
-- Usage counts per product and kind read only live leases, however long the history.
CREATE INDEX leases_live_kind ON leases (account_id, product_id, kind) WHERE ended_at IS NULL;
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL REFERENCES products(id),
  token_hash TEXT NOT NULL,
  session_token_hash TEXT NOT NULL,
  user_id TEXT,
  device TEXT,
  endpoint_id TEXT,
  client_type TEXT,
  channel TEXT,
  platform TEXT,
  hold TEXT NOT NULL,
  meta TEXT,
  hb_interval INTEGER NOT NULL,
  hb_timeout INTEGER NOT NULL,
  lease_id TEXT NOT NULL,
  join_code TEXT NOT NULL,
  session_id TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at {{int8}} NOT NULL,
  expires_at {{int8}} NOT NULL,
  done_at {{int8}}
);
CREATE INDEX tickets_waiting ON tickets (product_id, created_at, id) WHERE status = 'waiting';
CREATE INDEX tickets_expiry ON tickets (expires_at) WHERE status = 'waiting';
CREATE TABLE denials (
  id {{seq}},
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL,
  user_id TEXT,
  device TEXT,
  code TEXT NOT NULL,
  at {{int8}} NOT NULL
);
CREATE INDEX denials_account ON denials (account_id, at);
CREATE TABLE max_reached (
  id {{seq}},
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL,
  from_at {{int8}} NOT NULL,
  to_at {{int8}}
);
CREATE UNIQUE INDEX max_reached_open ON max_reached (product_id) WHERE to_at IS NULL;
CREATE INDEX max_reached_account ON max_reached (account_id, from_at);
CREATE TABLE usage_minutes (
  product_id TEXT NOT NULL,
  minute {{int8}} NOT NULL,
  peak INTEGER NOT NULL,
  total INTEGER NOT NULL,
  samples INTEGER NOT NULL,
  PRIMARY KEY (product_id, minute)
);
CREATE TABLE audit (
  id {{seq}},
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at {{int8}} NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  detail TEXT NOT NULL
);
CREATE INDEX audit_account ON audit (account_id, id);
CREATE INDEX leases_history ON leases (account_id, started_at);
CREATE INDEX leases_endpoint ON leases (endpoint_id) WHERE ended_at IS NULL;
CREATE TABLE daily_peaks (
  product_id TEXT NOT NULL,
  day TEXT NOT NULL,
  peak INTEGER NOT NULL,
  PRIMARY KEY (product_id, day)
);
`,
  },
  {
    // Issue 6: device activations, usage quotas, soft windows, alerts and their delivery.
    name: 'metering',
    sql: `
ALTER TABLE products ADD COLUMN quota_used {{int8}} NOT NULL DEFAULT 0;
CREATE TABLE usage_reports (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  idem_key TEXT NOT NULL,
  product_id TEXT NOT NULL,
  units {{int8}} NOT NULL,
  used_after {{int8}} NOT NULL,
  device TEXT,
  at {{int8}} NOT NULL,
  PRIMARY KEY (account_id, idem_key)
);
CREATE INDEX usage_reports_at ON usage_reports (at);
-- A device's activation holds a seat slot (seat_slots.lease_id = the activation id) until
-- active_until; license_id is null once it has lapsed.
CREATE TABLE device_activations (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  product_id TEXT NOT NULL REFERENCES products(id) ON DELETE CASCADE,
  device TEXT NOT NULL,
  license_id TEXT,
  kind TEXT NOT NULL,
  first_seen {{int8}} NOT NULL,
  last_seen {{int8}} NOT NULL,
  active_until {{int8}} NOT NULL,
  UNIQUE (product_id, device)
);
CREATE INDEX device_activations_live ON device_activations (active_until) WHERE license_id IS NOT NULL;
CREATE INDEX device_activations_license ON device_activations (license_id) WHERE license_id IS NOT NULL;
ALTER TABLE licenses ADD COLUMN exceptions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE licenses ADD COLUMN suspended_at {{int8}};
-- Soft licenses: windows before this time have been counted (null: from the license's creation).
ALTER TABLE licenses ADD COLUMN soft_until {{int8}};
CREATE INDEX licenses_soft ON licenses (soft_until) WHERE enforcement = 'soft';
CREATE TABLE soft_exceptions (
  id {{seq}},
  license_id TEXT NOT NULL REFERENCES licenses(id) ON DELETE CASCADE,
  from_at {{int8}} NOT NULL,
  to_at {{int8}} NOT NULL,
  active INTEGER NOT NULL,
  seats INTEGER NOT NULL
);
CREATE INDEX soft_exceptions_license ON soft_exceptions (license_id, from_at);
ALTER TABLE accounts ADD COLUMN alert_next_at {{int8}};
CREATE TABLE alert_rules (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  id TEXT NOT NULL,
  thresholds TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  PRIMARY KEY (account_id, id)
);
-- Thresholds fired and still met, per subject (a license or a product) and kind.
CREATE TABLE alert_state (
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  fired TEXT NOT NULL,
  PRIMARY KEY (account_id, kind, subject)
);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  at {{int8}} NOT NULL,
  kind TEXT NOT NULL,
  license_id TEXT,
  product_id TEXT NOT NULL,
  threshold DOUBLE PRECISION NOT NULL,
  value DOUBLE PRECISION NOT NULL
);
CREATE INDEX alerts_account ON alerts (account_id, id);
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  enabled INTEGER NOT NULL,
  created_at {{int8}} NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id, id);
-- The outbox: one row per message to send (an e-mail, or one event to one webhook).
CREATE TABLE deliveries (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  channel TEXT NOT NULL,
  webhook_id TEXT REFERENCES webhooks(id) ON DELETE CASCADE,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at {{int8}} NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  created_at {{int8}} NOT NULL,
  delivered_at {{int8}}
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_channel ON deliveries (account_id, channel, id);
-- How far the events table has been fanned out to webhooks (one row).
CREATE TABLE outbox_cursor (
  id INTEGER PRIMARY KEY,
  seq {{int8}} NOT NULL
);
INSERT INTO outbox_cursor (id, seq) VALUES (1, 0);
`,
  },
  {
    // PostgreSQL: takeFirstSeat's loop over candidate licenses, server-side (one round trip).
    name: 'pg-seat-function',
    only: 'postgres',
    sql: `
CREATE OR REPLACE FUNCTION sk_take_first_seat(holder TEXT, ids TEXT[], limits INTEGER[]) RETURNS TEXT AS $$
DECLARE
  got INTEGER;
BEGIN
  FOR i IN 1 .. coalesce(array_length(ids, 1), 0) LOOP
    UPDATE seat_slots SET lease_id = holder
     WHERE license_id = ids[i] AND slot = (
       SELECT slot FROM seat_slots WHERE license_id = ids[i] AND lease_id IS NULL AND slot < limits[i]
        ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
       AND lease_id IS NULL
    RETURNING slot INTO got;
    IF FOUND THEN
      RETURN ids[i];
    END IF;
  END LOOP;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;
`,
  },
  {
    // GET /v1/usage counts live overage, flex and pay-per-use leases per product. Counted from
    // an index of all live leases, that meant reading every live regular lease too (10,000
    // of them made each usage poll 3 ms); this index holds the other kinds only.
    name: 'usage-special-kinds',
    sql: `
CREATE INDEX leases_live_special ON leases (account_id, product_id, kind) WHERE ended_at IS NULL AND kind <> 'regular';
`,
  },
  {
    // Leases with no user or no endpoint (service keys, the session seat model) had an entry
    // in these two indexes anyway, written at every grant and removed at every end. Every
    // query that uses them names a user or an endpoint, which implies IS NOT NULL.
    name: 'live-user-endpoint-not-null',
    sql: `
DROP INDEX leases_live_user;
CREATE INDEX leases_live_user ON leases (user_id) WHERE ended_at IS NULL AND user_id IS NOT NULL;
DROP INDEX leases_endpoint;
CREATE INDEX leases_endpoint ON leases (endpoint_id) WHERE ended_at IS NULL AND endpoint_id IS NOT NULL;
`,
  },
  {
    // PostgreSQL: a grant's candidate licenses are ranked in the same statement that claims the
    // seat (claimCandidateSeat), instead of being read in a round trip of their own. The rank is
    // the engine's orderCandidates, written in SQL; test/store/pg-claim-order.test.ts checks
    // that the two order every generated set of licenses the same way. On a grant it returns
    // at once, so the counts (candidates, suspended, every_license) are only a refusal's.
    name: 'pg-claim-seat-function',
    only: 'postgres',
    sql: `
CREATE OR REPLACE FUNCTION sk_claim_seat(holder TEXT, product TEXT, teams TEXT[], borrow BOOLEAN, req_platform TEXT, at BIGINT, slotless BOOLEAN,
  OUT license_id TEXT, OUT kind TEXT, OUT candidates INTEGER, OUT suspended BOOLEAN, OUT every_license BOOLEAN) AS $$
DECLARE
  c RECORD; total INTEGER := 0; ids TEXT[] := '{}'; seats INTEGER[] := '{}'; maxs INTEGER[] := '{}'; softs BOOLEAN[] := '{}'; got INTEGER;
BEGIN
  candidates := 0; suspended := false;
  -- orderCandidates: valid at the given time; a matching platform (0) before none (1), another
  -- excludes; the requester's team (0) before none (1), then, for a borrower, another team's
  -- (2); ties in id order. Licenses that may not serve (no rank) come last, and are counted.
  FOR c IN
    SELECT l.id, l.seats, l.max_seats, l.enforcement = 'soft' AS soft, l.suspended_at IS NOT NULL AS susp,
      CASE WHEN (l.starts_at IS NULL OR l.starts_at <= at) AND (l.expires_at IS NULL OR at < l.expires_at) THEN
        (CASE WHEN l.platform IS NULL THEN 1 WHEN l.platform = req_platform THEN 0 END) * 3
        + (CASE WHEN l.team_id IS NULL THEN 1 WHEN l.team_id = ANY (teams) THEN 0 WHEN borrow THEN 2 END)
      END AS rank
    FROM licenses l WHERE l.product_id = product ORDER BY rank, l.id
  LOOP
    total := total + 1;
    CONTINUE WHEN c.rank IS NULL;
    -- A suspended license is not a candidate, but a refusal says it is there.
    IF c.susp THEN suspended := true; CONTINUE; END IF;
    candidates := candidates + 1;
    -- claimSeat: a regular seat of the first candidate with one free (as sk_take_first_seat).
    UPDATE seat_slots SET lease_id = holder
     WHERE seat_slots.license_id = c.id AND slot = (
       SELECT slot FROM seat_slots s WHERE s.license_id = c.id AND s.lease_id IS NULL AND slot < c.seats
        ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
       AND lease_id IS NULL
    RETURNING slot INTO got;
    IF FOUND THEN license_id := c.id; kind := 'regular'; RETURN; END IF;
    ids := ids || c.id; seats := seats || c.seats; maxs := maxs || c.max_seats; softs := softs || c.soft;
  END LOOP;
  every_license := candidates = total;
  -- Then an overage seat, in the same order, of the candidates that have overage.
  FOR i IN 1 .. candidates LOOP
    CONTINUE WHEN maxs[i] <= seats[i];
    UPDATE seat_slots SET lease_id = holder
     WHERE seat_slots.license_id = ids[i] AND slot = (
       SELECT slot FROM seat_slots s WHERE s.license_id = ids[i] AND s.lease_id IS NULL AND slot < maxs[i]
        ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
       AND lease_id IS NULL
    RETURNING slot INTO got;
    IF FOUND THEN license_id := ids[i]; kind := 'overage'; RETURN; END IF;
  END LOOP;
  -- A soft license never refuses: its overage seat holds no slot.
  IF slotless THEN
    FOR i IN 1 .. candidates LOOP
      IF softs[i] THEN license_id := ids[i]; kind := 'overage'; RETURN; END IF;
    END LOOP;
  END IF;
END
$$ LANGUAGE plpgsql;
`,
  },
  {
    // SQLite: each license's held slots, counted as they change (inUseSql): a usage read and the
    // tick's sampler counted them row by row, 1.4–2.4 ms of the event loop with 11,000 held.
    // Triggers see every claim, free, move, insert and delete of a slot, whichever code path
    // made it. (PostgreSQL keeps counting: a counter row would serialise the license's claims.)
    name: 'sqlite-held-slots',
    only: 'sqlite',
    sql: `
ALTER TABLE licenses ADD COLUMN held_slots INTEGER NOT NULL DEFAULT 0;
UPDATE licenses SET held_slots = (SELECT COUNT(*) FROM seat_slots ss WHERE ss.license_id = licenses.id AND ss.lease_id IS NOT NULL);
CREATE TRIGGER seat_slots_held_insert AFTER INSERT ON seat_slots WHEN NEW.lease_id IS NOT NULL
BEGIN
  UPDATE licenses SET held_slots = held_slots + 1 WHERE id = NEW.license_id;
END;
CREATE TRIGGER seat_slots_held_delete AFTER DELETE ON seat_slots WHEN OLD.lease_id IS NOT NULL
BEGIN
  UPDATE licenses SET held_slots = held_slots - 1 WHERE id = OLD.license_id;
END;
CREATE TRIGGER seat_slots_held_update AFTER UPDATE OF lease_id, license_id ON seat_slots
  WHEN (OLD.lease_id IS NULL) <> (NEW.lease_id IS NULL) OR OLD.license_id <> NEW.license_id
BEGIN
  UPDATE licenses SET held_slots = held_slots - 1 WHERE id = OLD.license_id AND OLD.lease_id IS NOT NULL;
  UPDATE licenses SET held_slots = held_slots + 1 WHERE id = NEW.license_id AND NEW.lease_id IS NOT NULL;
END;
`,
  },
];

export function migrationsFor(dialect: 'sqlite' | 'postgres'): MigrationStep[] {
  const tokens: Record<string, string> =
    dialect === 'sqlite'
      ? { seq: 'INTEGER PRIMARY KEY AUTOINCREMENT', int8: 'INTEGER' }
      : { seq: 'BIGSERIAL PRIMARY KEY', int8: 'BIGINT' };
  // A step for the other dialect keeps its version number with no SQL, so that version N
  // means the same schema history on both.
  return STEPS.map((s, i) => ({
    version: i + 1,
    name: s.name,
    sql: s.only && s.only !== dialect ? '' : s.sql.replace(/\{\{(\w+)\}\}/g, (_, t: string) => tokens[t] ?? `{{${t}}}`),
  }));
}
