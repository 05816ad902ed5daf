-- SPDX-License-Identifier: Apache-2.0
-- Programs, partners, users, API keys, sessions, login throttling and the audit trail.
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
) STRICT;

CREATE TABLE programs (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	currency TEXT NOT NULL,
	cookie_window_days INTEGER NOT NULL CHECK (cookie_window_days BETWEEN 1 AND 3650),
	attribution_model TEXT NOT NULL CHECK (attribution_model IN ('last_click', 'first_click')),
	holding_period_days INTEGER NOT NULL CHECK (holding_period_days BETWEEN 0 AND 3650),
	payout_threshold INTEGER NOT NULL CHECK (payout_threshold >= 0),
	tracking_params TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE partners (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	kind TEXT NOT NULL CHECK (kind IN ('partner', 'agent', 'affiliate', 'customer', 'employee')),
	status TEXT NOT NULL CHECK (status IN ('applied', 'active', 'suspended', 'banned')),
	name TEXT NOT NULL,
	email TEXT NOT NULL,
	company TEXT,
	currency TEXT NOT NULL,
	cost_per_lead INTEGER NOT NULL CHECK (cost_per_lead >= 0),
	cost_per_lead_currency TEXT NOT NULL,
	team_parent_id TEXT REFERENCES partners (id),
	recruited_by_id TEXT REFERENCES partners (id),
	tax_legal_name TEXT,
	tax_country TEXT,
	tax_id_sealed BLOB,
	tax_id_last4 TEXT,
	metadata TEXT NOT NULL DEFAULT '{}',
	status_reason TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (program_id, email)
) STRICT;

CREATE INDEX partners_program ON partners (program_id, seq);
CREATE INDEX partners_team ON partners (team_parent_id);
CREATE INDEX partners_recruiter ON partners (recruited_by_id);
-- Prefix search by email and by name without case (the search's exact and prefix tiers).
CREATE INDEX partners_email ON partners (email);
CREATE INDEX partners_name_lc ON partners (lower(name));

-- Full-text index over the searchable fields; the triggers keep it in step with the table.
CREATE VIRTUAL TABLE partners_fts USING fts5 (
	name, email, company,
	content = 'partners', content_rowid = 'seq',
	tokenize = 'unicode61 remove_diacritics 2',
	prefix = '1 2 3'
);

CREATE TRIGGER partners_fts_insert AFTER INSERT ON partners BEGIN
	INSERT INTO partners_fts (rowid, name, email, company) VALUES (new.seq, new.name, new.email, new.company);
END;

CREATE TRIGGER partners_fts_delete AFTER DELETE ON partners BEGIN
	INSERT INTO partners_fts (partners_fts, rowid, name, email, company)
	VALUES ('delete', old.seq, old.name, old.email, old.company);
END;

CREATE TRIGGER partners_fts_update AFTER UPDATE OF name, email, company ON partners BEGIN
	INSERT INTO partners_fts (partners_fts, rowid, name, email, company)
	VALUES ('delete', old.seq, old.name, old.email, old.company);
	INSERT INTO partners_fts (rowid, name, email, company) VALUES (new.seq, new.name, new.email, new.company);
END;

CREATE TABLE users (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	email TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'partner')),
	partner_id TEXT REFERENCES partners (id),
	created_at INTEGER NOT NULL,
	disabled_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE api_keys (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'partner')),
	partner_id TEXT REFERENCES partners (id),
	prefix TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0,
	revoked_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE sessions (
	hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	csrf_token TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_failures (
	seq INTEGER PRIMARY KEY,
	key TEXT NOT NULL,
	at INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE audit_log (
	seq INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	object_id TEXT,
	detail TEXT
) STRICT;
