-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: each entity's current running totals and last day with activity, beside its key: a report whose
-- period ends today reads them here instead of seeking the end of the entity's history.
ALTER TABLE rollup_keys ADD COLUMN last_day BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN clicks BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN leads BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN qualified BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN customers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN sales BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN revenue BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN refunds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN conversions BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN conversion_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN earned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN approved BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN paid BIGINT NOT NULL DEFAULT 0;
-- The same statement as SQLite's: a key without any rollup_entity row would get NULLs and fail, as there.
UPDATE rollup_keys SET (last_day, clicks, leads, qualified, customers, sales, revenue, refunds, conversions,
	conversion_ms, earned, approved, paid) = (SELECT day, clicks, leads, qualified, customers, sales, revenue, refunds,
	conversions, conversion_ms, earned, approved, paid FROM rollup_entity r WHERE r.program_id = rollup_keys.program_id
	AND r.entity = rollup_keys.entity AND r.currency = rollup_keys.currency ORDER BY day DESC LIMIT 1);

-- Commissions on hold, counted for the dashboard.
CREATE INDEX commissions_status ON commissions (program_id, status);
