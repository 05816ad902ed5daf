-- SPDX-License-Identifier: Apache-2.0
-- Payout runs and their items, the lock that keeps an entry in one approved run only, and payout schedules.
ALTER TABLE programs ADD COLUMN payout_day INTEGER NOT NULL DEFAULT 1 CHECK (payout_day BETWEEN 1 AND 28);
ALTER TABLE programs ADD COLUMN payout_terms_days INTEGER NOT NULL DEFAULT 30
	CHECK (payout_terms_days BETWEEN 0 AND 120);
-- A partner whose payouts wait for a review (fraud, missing documents): left out of runs with this reason.
ALTER TABLE partners ADD COLUMN payout_hold_reason TEXT;

CREATE TABLE payout_runs (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	program_id TEXT NOT NULL REFERENCES programs (id),
	status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'paid', 'cancelled')),
	cutoff INTEGER NOT NULL,
	left_out TEXT NOT NULL DEFAULT '[]', -- JSON: partners left out of the run and why
	created_by TEXT NOT NULL,
	approved_by TEXT,
	created_at INTEGER NOT NULL,
	approved_at INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX payout_runs_program ON payout_runs (program_id, seq);

CREATE TABLE payout_items (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	run_id TEXT NOT NULL REFERENCES payout_runs (id),
	partner_id TEXT NOT NULL REFERENCES partners (id),
	amount INTEGER NOT NULL CHECK (amount > 0),
	currency TEXT NOT NULL,
	entries INTEGER NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'failed')),
	reference TEXT,
	failure_reason TEXT,
	paid_at INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (run_id, partner_id, currency)
) STRICT;

CREATE INDEX payout_items_partner ON payout_items (partner_id, paid_at);

CREATE TABLE payout_item_entries (
	item_id TEXT NOT NULL REFERENCES payout_items (id),
	commission_id TEXT NOT NULL REFERENCES commissions (id),
	PRIMARY KEY (item_id, commission_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX payout_item_entries_commission ON payout_item_entries (commission_id);

-- An entry of an approved run: the primary key lets one run at most take it.
CREATE TABLE payout_locks (
	commission_id TEXT PRIMARY KEY REFERENCES commissions (id),
	item_id TEXT NOT NULL REFERENCES payout_items (id),
	run_id TEXT NOT NULL REFERENCES payout_runs (id)
) STRICT, WITHOUT ROWID;

CREATE INDEX payout_locks_item ON payout_locks (item_id);
