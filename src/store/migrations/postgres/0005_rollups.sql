-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: rollups kept up to date on write, so reports never scan raw clicks.
--
-- rollup_entity holds running totals per partner ('p:ptn_…'), agent ('a:ptn_…') and team ('t:ptn_…', the
-- results of a partner's agents), one row per day with activity: the totals of a period are the row at its end
-- minus the row at its start, two index lookups per entity whatever the period's length. rollup_daily holds the
-- day's own figures for the program ('all'), each lead source ('s:…') and each campaign ('c:…'). Counts and
-- revenue (in the program's currency) are on rows with currency ''; commission amounts on rows of their currency.
CREATE TABLE rollup_entity (
	program_id TEXT COLLATE "C" NOT NULL,
	entity TEXT COLLATE "C" NOT NULL,
	currency TEXT COLLATE "C" NOT NULL,
	day BIGINT NOT NULL,
	clicks BIGINT NOT NULL DEFAULT 0,
	leads BIGINT NOT NULL DEFAULT 0,
	qualified BIGINT NOT NULL DEFAULT 0,
	customers BIGINT NOT NULL DEFAULT 0,
	sales BIGINT NOT NULL DEFAULT 0,
	revenue BIGINT NOT NULL DEFAULT 0,
	refunds BIGINT NOT NULL DEFAULT 0,
	conversions BIGINT NOT NULL DEFAULT 0,
	conversion_ms BIGINT NOT NULL DEFAULT 0,
	earned BIGINT NOT NULL DEFAULT 0,
	approved BIGINT NOT NULL DEFAULT 0,
	paid BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (program_id, entity, currency, day)
);

-- The entities and currencies that have rollups, so a report lists them without scanning rollup_entity.
CREATE TABLE rollup_keys (
	program_id TEXT COLLATE "C" NOT NULL,
	entity TEXT COLLATE "C" NOT NULL,
	currency TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (program_id, entity, currency)
);

CREATE TABLE rollup_daily (
	program_id TEXT COLLATE "C" NOT NULL,
	dim TEXT COLLATE "C" NOT NULL,
	currency TEXT COLLATE "C" NOT NULL,
	day BIGINT NOT NULL,
	clicks BIGINT NOT NULL DEFAULT 0,
	leads BIGINT NOT NULL DEFAULT 0,
	qualified BIGINT NOT NULL DEFAULT 0,
	customers BIGINT NOT NULL DEFAULT 0,
	sales BIGINT NOT NULL DEFAULT 0,
	revenue BIGINT NOT NULL DEFAULT 0,
	refunds BIGINT NOT NULL DEFAULT 0,
	conversions BIGINT NOT NULL DEFAULT 0,
	conversion_ms BIGINT NOT NULL DEFAULT 0,
	earned BIGINT NOT NULL DEFAULT 0,
	approved BIGINT NOT NULL DEFAULT 0,
	paid BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (program_id, dim, currency, day)
);

-- Time to conversion (median) reads converted leads of a period.
CREATE INDEX leads_converted ON leads (program_id, converted_at) WHERE converted_at > 0;

-- A refund in the program's currency (in proportion to its sale's converted amount), for revenue reports.
ALTER TABLE refunds ADD COLUMN program_amount BIGINT;

-- Deal registrations waiting for review, counted for the dashboard.
CREATE INDEX leads_status ON leads (program_id, status);
