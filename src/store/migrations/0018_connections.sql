-- SPDX-License-Identifier: Apache-2.0
-- refd: foreign keys off
-- Connections to other systems (billing systems that send sales and refunds, CRMs that send and take leads), the
-- log of what each one sent, what refd learnt from them, and coupon codes as attribution: a link's coupon, the
-- method 'coupon' on leads and sales, and every billing system as the source of a sale.
--
-- The first line asks the migration runner to run this file with SQLite's foreign keys off and to check them all
-- before it commits (PRAGMA foreign_key_check): SQLite changes a CHECK constraint only by building the table
-- again, and a table others refer to cannot be dropped while its keys are enforced. PostgreSQL alters the
-- constraints in place (postgres/0018_connections.sql).

-- One connection per system and program: its credentials sealed with the instance key (a JSON object of
-- strings, shown once when given), the names of those credentials, the settings of the system that are no secret,
-- the mapping of the other system's stages to refd's lead statuses (used by the CRMs), where refd calls the system
-- (its API's base URL, NULL for the system's own), and when it last heard from it.
CREATE TABLE connections (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	system TEXT NOT NULL CHECK (system IN ('paddle', 'chargebee', 'hubspot', 'salesforce', 'pipedrive')),
	name TEXT,
	status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
	credentials_sealed BLOB,
	credential_keys TEXT NOT NULL DEFAULT '[]',
	settings TEXT NOT NULL DEFAULT '{}',
	stage_map TEXT NOT NULL DEFAULT '{}',
	base_url TEXT,
	last_event_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (program_id, system)
) STRICT;
CREATE INDEX connections_program ON connections (program_id, seq);

-- Every request a connected system sent and what came of it: processed, ignored (and why), duplicate (the same
-- event again) or refused (and why: a bad signature, a stale one, a refund before its sale). dedupe_key (the
-- system's event id, or what identifies the event when it has none) is unique per connection among the events
-- refd handled, so each is handled once; duplicates and refusals keep it NULL, which lets a refused event be sent
-- again and handled.
CREATE TABLE inbound_events (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	connection_id TEXT NOT NULL REFERENCES connections (id),
	program_id TEXT NOT NULL REFERENCES programs (id),
	system TEXT NOT NULL,
	event_id TEXT,
	dedupe_key TEXT,
	type TEXT,
	outcome TEXT NOT NULL CHECK (outcome IN ('processed', 'ignored', 'duplicate', 'refused')),
	reason TEXT,
	object_id TEXT,
	status_code INTEGER NOT NULL,
	occurred_at INTEGER NOT NULL DEFAULT 0,
	received_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX inbound_events_dedupe ON inbound_events (connection_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX inbound_events_connection ON inbound_events (connection_id, seq);
CREATE INDEX inbound_events_outcome ON inbound_events (connection_id, outcome, seq);

-- What refd learnt from a system about its objects, per program: a Paddle discount's code, a Stripe promotion
-- code's code, the last version of a Chargebee resource it acted on (so an older copy is not acted on again), a
-- CRM's record and the refd object it stands for. value is the system's or refd's text for it; version grows with
-- each change the system makes.
CREATE TABLE external_objects (
	program_id TEXT NOT NULL REFERENCES programs (id),
	system TEXT NOT NULL,
	kind TEXT NOT NULL,
	external_id TEXT NOT NULL,
	value TEXT,
	version INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (program_id, system, kind, external_id)
) STRICT, WITHOUT ROWID;

-- A link's coupon: a discount code of the business's billing system that a partner hands out. A sale that used
-- it credits the link's partner. Unique in its program without regard to case (coupon_folded is lower case).
ALTER TABLE links ADD COLUMN coupon TEXT;
ALTER TABLE links ADD COLUMN coupon_folded TEXT;
CREATE UNIQUE INDEX links_coupon ON links (program_id, coupon_folded) WHERE coupon_folded IS NOT NULL;

-- Leads credited through a coupon say so: the leads table is built again with 'coupon' among the methods.
CREATE TABLE leads_new (
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
	method TEXT NOT NULL CHECK (method IN ('explicit', 'coupon', 'code', 'click', 'cookie', 'none')),
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
INSERT INTO leads_new (seq, id, program_id, email, external_id, name, company, phone, source, status, partner_id,
	agent_id, click_id, method, registration, review_reason, protected_until, metadata, created_by, created_at,
	updated_at, status_at, converted_at)
SELECT seq, id, program_id, email, external_id, name, company, phone, source, status, partner_id, agent_id, click_id,
	method, registration, review_reason, protected_until, metadata, created_by, created_at, updated_at, status_at,
	converted_at FROM leads ORDER BY seq;
DROP TABLE leads;
ALTER TABLE leads_new RENAME TO leads;
CREATE UNIQUE INDEX leads_email ON leads (program_id, email) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX leads_external ON leads (program_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX leads_partner ON leads (partner_id, seq);
CREATE INDEX leads_agent ON leads (agent_id, seq);
CREATE INDEX leads_program ON leads (program_id, seq);
CREATE INDEX leads_domain ON leads (program_id, substr(email, instr(email, '@') + 1));
CREATE INDEX leads_status ON leads (program_id, status);
CREATE INDEX leads_converted ON leads (program_id, converted_at, created_at) WHERE converted_at > 0;
CREATE INDEX leads_protection ON leads (protected_until) WHERE registration = 1;

-- Sales: every billing system refd takes sales from as a source (and the CRMs and CSV imports), how the sale's
-- partner was found (the lead's method, or 'coupon' when a partner's coupon paid for it), the coupon used, and the
-- source system's event that recorded it (for the commission's explanation).
CREATE TABLE sales_new (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	customer_id TEXT NOT NULL REFERENCES customers (id),
	lead_id TEXT NOT NULL REFERENCES leads (id),
	partner_id TEXT REFERENCES partners (id),
	agent_id TEXT REFERENCES partners (id),
	amount INTEGER NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL,
	-- The amount in the program's currency at the sale's time (for revenue tiers); NULL without a rate.
	program_amount INTEGER,
	external_id TEXT NOT NULL,
	charge_id TEXT,
	kind TEXT NOT NULL CHECK (kind IN ('first', 'recurring')),
	occurred_at INTEGER NOT NULL,
	refunded INTEGER NOT NULL DEFAULT 0,
	disputed INTEGER NOT NULL DEFAULT 0,
	note TEXT,
	metadata TEXT NOT NULL DEFAULT '{}',
	source TEXT NOT NULL CHECK (source IN ('api', 'stripe', 'paddle', 'chargebee', 'hubspot', 'salesforce', 'pipedrive',
					       'import')),
	created_at INTEGER NOT NULL,
	method TEXT NOT NULL DEFAULT 'none' CHECK (method IN ('explicit', 'coupon', 'code', 'click', 'cookie', 'none')),
	coupon TEXT,
	source_event_id TEXT,
	CHECK (refunded >= 0 AND disputed >= 0 AND refunded + disputed <= amount),
	UNIQUE (program_id, external_id)
) STRICT;
INSERT INTO sales_new (seq, id, program_id, customer_id, lead_id, partner_id, agent_id, amount, currency,
	program_amount, external_id, charge_id, kind, occurred_at, refunded, disputed, note, metadata, source, created_at,
	method)
SELECT s.seq, s.id, s.program_id, s.customer_id, s.lead_id, s.partner_id, s.agent_id, s.amount, s.currency,
	s.program_amount, s.external_id, s.charge_id, s.kind, s.occurred_at, s.refunded, s.disputed, s.note, s.metadata,
	s.source, s.created_at,
	CASE WHEN s.partner_id IS NULL THEN 'none' ELSE coalesce((SELECT l.method FROM leads l WHERE l.id = s.lead_id),
	'none') END
	FROM sales s ORDER BY s.seq;
DROP TABLE sales;
ALTER TABLE sales_new RENAME TO sales;
CREATE INDEX sales_partner ON sales (partner_id, occurred_at);
CREATE INDEX sales_customer ON sales (customer_id, occurred_at);
CREATE INDEX sales_charge ON sales (program_id, charge_id) WHERE charge_id IS NOT NULL;
CREATE INDEX sales_program ON sales (program_id, occurred_at);

-- A refund's source and the source system's event, as for sales (NULL for refunds recorded before this).
ALTER TABLE refunds ADD COLUMN source TEXT CHECK (source IN ('api', 'stripe', 'paddle', 'chargebee', 'hubspot',
						     'salesforce', 'pipedrive', 'import'));
ALTER TABLE refunds ADD COLUMN source_event_id TEXT;
