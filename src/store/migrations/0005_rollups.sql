-- SPDX-License-Identifier: Apache-2.0
-- Rollups kept up to date on write, so reports never scan raw clicks.
--
-- rollup_entity holds running totals per partner ('p:ptn_…'), agent ('a:ptn_…') and team ('t:ptn_…', the
-- results of a partner's agents), one row per day with activity: the totals of a period are the row at its end
-- minus the row at its start, two index lookups per entity whatever the period's length. rollup_daily holds the
-- day's own figures for the program ('all'), each lead source ('s:…') and each campaign ('c:…'). Counts and
-- revenue (in the program's currency) are on rows with currency ''; commission amounts on rows of their currency.
CREATE TABLE rollup_entity (
	program_id TEXT NOT NULL,
	entity TEXT NOT NULL,
	currency TEXT NOT NULL,
	day INTEGER NOT NULL,
	clicks INTEGER NOT NULL DEFAULT 0,
	leads INTEGER NOT NULL DEFAULT 0,
	qualified INTEGER NOT NULL DEFAULT 0,
	customers INTEGER NOT NULL DEFAULT 0,
	sales INTEGER NOT NULL DEFAULT 0,
	revenue INTEGER NOT NULL DEFAULT 0,
	refunds INTEGER NOT NULL DEFAULT 0,
	conversions INTEGER NOT NULL DEFAULT 0,
	conversion_ms INTEGER NOT NULL DEFAULT 0,
	earned INTEGER NOT NULL DEFAULT 0,
	approved INTEGER NOT NULL DEFAULT 0,
	paid INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (program_id, entity, currency, day)
) STRICT, WITHOUT ROWID;

-- The entities and currencies that have rollups, so a report lists them without scanning rollup_entity.
CREATE TABLE rollup_keys (
	program_id TEXT NOT NULL,
	entity TEXT NOT NULL,
	currency TEXT NOT NULL,
	PRIMARY KEY (program_id, entity, currency)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollup_daily (
	program_id TEXT NOT NULL,
	dim TEXT NOT NULL,
	currency TEXT NOT NULL,
	day INTEGER NOT NULL,
	clicks INTEGER NOT NULL DEFAULT 0,
	leads INTEGER NOT NULL DEFAULT 0,
	qualified INTEGER NOT NULL DEFAULT 0,
	customers INTEGER NOT NULL DEFAULT 0,
	sales INTEGER NOT NULL DEFAULT 0,
	revenue INTEGER NOT NULL DEFAULT 0,
	refunds INTEGER NOT NULL DEFAULT 0,
	conversions INTEGER NOT NULL DEFAULT 0,
	conversion_ms INTEGER NOT NULL DEFAULT 0,
	earned INTEGER NOT NULL DEFAULT 0,
	approved INTEGER NOT NULL DEFAULT 0,
	paid INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (program_id, dim, currency, day)
) STRICT, WITHOUT ROWID;

-- Time to conversion (median) reads converted leads of a period.
CREATE INDEX leads_converted ON leads (program_id, converted_at) WHERE converted_at > 0;

-- A refund in the program's currency (in proportion to its sale's converted amount), for revenue reports.
ALTER TABLE refunds ADD COLUMN program_amount INTEGER;

-- Deal registrations waiting for review, counted for the dashboard.
CREATE INDEX leads_status ON leads (program_id, status);
