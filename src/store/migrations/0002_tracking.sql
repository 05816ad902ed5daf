-- SPDX-License-Identifier: Apache-2.0
-- Links and codes, clicks, leads with their history, deal registrations and idempotent requests.
ALTER TABLE programs ADD COLUMN allowed_domains TEXT NOT NULL DEFAULT '';
ALTER TABLE programs ADD COLUMN fallback_url TEXT;
ALTER TABLE programs ADD COLUMN repeat_click_minutes INTEGER NOT NULL DEFAULT 30
	CHECK (repeat_click_minutes BETWEEN 0 AND 10080);
ALTER TABLE programs ADD COLUMN protection_days INTEGER NOT NULL DEFAULT 90 CHECK (protection_days BETWEEN 1 AND 3650);
ALTER TABLE programs ADD COLUMN conflict_days INTEGER NOT NULL DEFAULT 90 CHECK (conflict_days BETWEEN 0 AND 3650);
ALTER TABLE programs ADD COLUMN tracking_origins TEXT NOT NULL DEFAULT '';

-- Bumped by every change that the in-memory code table depends on, so other processes notice.
INSERT INTO settings (key, value) VALUES ('links_version', '0');

CREATE TABLE links (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	partner_id TEXT NOT NULL REFERENCES partners (id),
	code TEXT NOT NULL,
	code_folded TEXT NOT NULL UNIQUE,
	destination_url TEXT NOT NULL,
	target_url TEXT NOT NULL, -- the destination with the link's UTM parameters: where the redirect goes
	campaign TEXT,
	utm_source TEXT,
	utm_medium TEXT,
	utm_campaign TEXT,
	utm_term TEXT,
	utm_content TEXT,
	archived_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX links_partner ON links (partner_id, seq);
CREATE INDEX links_program ON links (program_id, seq);

-- Clicks are written in groups by one writer on the redirect's hot path, so the table is one B-tree: keyed by
-- the click id, which starts with the time, so new clicks append at its end. No foreign keys (a group commit
-- does no lookups; the ids come from the code table, which holds only existing links) and no secondary index:
-- attribution reads clicks by id, and reports will read rollups kept up to date on write.
CREATE TABLE clicks (
	id TEXT PRIMARY KEY,
	program_id TEXT NOT NULL,
	link_id TEXT,
	partner_id TEXT,
	prev_click_id TEXT,
	at INTEGER NOT NULL,
	ip_hash TEXT,
	ip_prefix TEXT,
	user_agent TEXT,
	referer TEXT,
	landing_url TEXT,
	source TEXT NOT NULL CHECK (source IN ('redirect', 'script')),
	status TEXT NOT NULL CHECK (status IN ('counted', 'bot', 'repeat', 'uncredited'))
) STRICT, WITHOUT ROWID;

CREATE TABLE leads (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	email TEXT,
	external_id TEXT,
	name TEXT,
	company TEXT,
	phone TEXT,
	source TEXT NOT NULL CHECK (source IN ('partner', 'referral', 'direct', 'organic', 'paid', 'campaign', 'other')),
	status TEXT NOT NULL CHECK (status IN ('pending_review', 'rejected', 'new', 'contacted', 'qualified', 'converted',
					       'lost')),
	partner_id TEXT REFERENCES partners (id),
	agent_id TEXT REFERENCES partners (id),
	click_id TEXT,
	method TEXT NOT NULL CHECK (method IN ('explicit', 'code', 'click', 'cookie', 'none')),
	registration INTEGER NOT NULL DEFAULT 0,
	review_reason TEXT,
	protected_until INTEGER NOT NULL DEFAULT 0,
	metadata TEXT NOT NULL DEFAULT '{}',
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	status_at INTEGER NOT NULL,
	converted_at INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE UNIQUE INDEX leads_email ON leads (program_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX leads_external ON leads (program_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX leads_partner ON leads (partner_id, seq);
CREATE INDEX leads_agent ON leads (agent_id, seq);
CREATE INDEX leads_program ON leads (program_id, seq);
CREATE INDEX leads_domain ON leads (program_id, substr(email, instr(email, '@') + 1));

-- Every status change of a lead, with who made it and when.
CREATE TABLE lead_events (
	seq INTEGER PRIMARY KEY,
	lead_id TEXT NOT NULL REFERENCES leads (id),
	from_status TEXT,
	to_status TEXT NOT NULL,
	actor TEXT NOT NULL,
	reason TEXT,
	at INTEGER NOT NULL
) STRICT;

CREATE INDEX lead_events_lead ON lead_events (lead_id, seq);

-- Responses to requests sent with an Idempotency-Key, replayed when the same key comes again.
CREATE TABLE idempotency (
	key TEXT NOT NULL,
	actor TEXT NOT NULL,
	route TEXT NOT NULL,
	request_hash TEXT NOT NULL,
	status INTEGER NOT NULL,
	body TEXT NOT NULL,
	at INTEGER NOT NULL,
	PRIMARY KEY (actor, key)
) STRICT;
