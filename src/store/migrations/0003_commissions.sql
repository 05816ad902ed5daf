-- SPDX-License-Identifier: Apache-2.0
-- Plans, customers, sales, refunds, the commission ledger with its history, FX rates and Stripe events.
CREATE TABLE plans (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	name TEXT NOT NULL,
	is_default INTEGER NOT NULL DEFAULT 0,
	version INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX plans_program ON plans (program_id, seq);
-- At most one default plan per program.
CREATE UNIQUE INDEX plans_default ON plans (program_id) WHERE is_default = 1;

-- Every version of a plan's rules (normalised JSON), valid from a time on; commissions name the version used.
CREATE TABLE plan_versions (
	plan_id TEXT NOT NULL REFERENCES plans (id),
	version INTEGER NOT NULL,
	rules TEXT NOT NULL,
	valid_from INTEGER NOT NULL,
	PRIMARY KEY (plan_id, version)
) STRICT, WITHOUT ROWID;

ALTER TABLE partners ADD COLUMN plan_id TEXT REFERENCES plans (id);
ALTER TABLE programs ADD COLUMN stripe_secret_sealed BLOB;

CREATE TABLE customers (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	lead_id TEXT NOT NULL UNIQUE REFERENCES leads (id),
	external_id TEXT,
	first_sale_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	UNIQUE (program_id, external_id)
) STRICT;

CREATE TABLE sales (
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
	source TEXT NOT NULL CHECK (source IN ('api', 'stripe')),
	created_at INTEGER NOT NULL,
	CHECK (refunded >= 0 AND disputed >= 0 AND refunded + disputed <= amount),
	UNIQUE (program_id, external_id)
) STRICT;

CREATE INDEX sales_partner ON sales (partner_id, occurred_at);
CREATE INDEX sales_customer ON sales (customer_id, occurred_at);
CREATE INDEX sales_charge ON sales (program_id, charge_id) WHERE charge_id IS NOT NULL;
CREATE INDEX sales_program ON sales (program_id, occurred_at);

CREATE TABLE refunds (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	sale_id TEXT NOT NULL REFERENCES sales (id),
	kind TEXT NOT NULL CHECK (kind IN ('refund', 'dispute')),
	amount INTEGER NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL,
	prior INTEGER NOT NULL, -- what the sale had given back before this one
	external_id TEXT,
	reason TEXT,
	occurred_at INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	UNIQUE (program_id, external_id)
) STRICT;

CREATE INDEX refunds_sale ON refunds (sale_id, seq);
CREATE INDEX refunds_program ON refunds (program_id, occurred_at);

-- The ledger. An entry's facts are written once: the triggers below refuse edits of amounts and deletions.
-- amount and fx_rate_ppb may go from NULL (held for a missing FX rate) to a value, once.
CREATE TABLE commissions (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	partner_id TEXT NOT NULL REFERENCES partners (id),
	role TEXT NOT NULL CHECK (role IN ('direct', 'agent', 'team', 'override')),
	level INTEGER NOT NULL,
	rule TEXT NOT NULL CHECK (rule IN ('lead', 'sale', 'recurring', 'override', 'reversal')),
	basis TEXT NOT NULL,
	event_type TEXT NOT NULL CHECK (event_type IN ('lead', 'sale', 'refund', 'dispute')),
	event_id TEXT NOT NULL,
	event_at INTEGER NOT NULL,
	lead_id TEXT,
	sale_id TEXT,
	refund_id TEXT,
	reverses_id TEXT REFERENCES commissions (id),
	of_commission_id TEXT REFERENCES commissions (id),
	plan_id TEXT,
	plan_version INTEGER NOT NULL DEFAULT 0,
	base_amount INTEGER NOT NULL,
	base_currency TEXT NOT NULL,
	rate_bps INTEGER,
	earned INTEGER NOT NULL,
	earned_currency TEXT NOT NULL,
	fx_rate_ppb INTEGER,
	fx_inverse INTEGER NOT NULL DEFAULT 0,
	amount INTEGER,
	currency TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'held', 'approved', 'paid', 'rejected')),
	status_reason TEXT,
	fx_missing INTEGER NOT NULL DEFAULT 0,
	hold_until INTEGER NOT NULL,
	detail TEXT NOT NULL DEFAULT '{}',
	dedupe TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX commissions_partner ON commissions (partner_id, seq);
CREATE INDEX commissions_sale ON commissions (sale_id) WHERE sale_id IS NOT NULL;
CREATE INDEX commissions_lead ON commissions (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX commissions_reverses ON commissions (reverses_id) WHERE reverses_id IS NOT NULL;
CREATE INDEX commissions_due ON commissions (status, hold_until);
CREATE INDEX commissions_program ON commissions (program_id, seq);

CREATE TRIGGER commissions_immutable BEFORE UPDATE ON commissions
WHEN old.id IS NOT new.id OR old.partner_id IS NOT new.partner_id OR old.earned IS NOT new.earned
	OR old.earned_currency IS NOT new.earned_currency OR old.currency IS NOT new.currency
	OR old.base_amount IS NOT new.base_amount OR old.rate_bps IS NOT new.rate_bps
	OR old.event_id IS NOT new.event_id OR old.reverses_id IS NOT new.reverses_id
	OR (old.amount IS NOT NULL AND old.amount IS NOT new.amount)
	OR (old.fx_rate_ppb IS NOT NULL AND old.fx_rate_ppb IS NOT new.fx_rate_ppb)
BEGIN
	SELECT RAISE(ABORT, 'commission entries are append-only: amounts are never edited');
END;

CREATE TRIGGER commissions_no_delete BEFORE DELETE ON commissions
BEGIN
	SELECT RAISE(ABORT, 'commission entries are append-only: they are never deleted');
END;

CREATE TABLE commission_events (
	seq INTEGER PRIMARY KEY,
	commission_id TEXT NOT NULL REFERENCES commissions (id),
	from_status TEXT,
	to_status TEXT NOT NULL,
	actor TEXT NOT NULL,
	reason TEXT,
	at INTEGER NOT NULL
) STRICT;

CREATE INDEX commission_events_commission ON commission_events (commission_id, seq);

CREATE TABLE fx_rates (
	base TEXT NOT NULL,
	quote TEXT NOT NULL,
	valid_from INTEGER NOT NULL,
	rate_ppb INTEGER NOT NULL CHECK (rate_ppb > 0),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (base, quote, valid_from)
) STRICT, WITHOUT ROWID;

CREATE TABLE stripe_events (
	program_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	type TEXT NOT NULL,
	outcome TEXT NOT NULL,
	object_id TEXT,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (program_id, event_id)
) STRICT, WITHOUT ROWID;
