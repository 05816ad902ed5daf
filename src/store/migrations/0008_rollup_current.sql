-- SPDX-License-Identifier: Apache-2.0
-- Each entity's current running totals and last day with activity, beside its key: a report whose period ends
-- today reads them here instead of seeking the end of the entity's history.
ALTER TABLE rollup_keys ADD COLUMN last_day INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN clicks INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN leads INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN qualified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN customers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN sales INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN revenue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN refunds INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN conversions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN conversion_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN earned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN approved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollup_keys ADD COLUMN paid INTEGER NOT NULL DEFAULT 0;
UPDATE rollup_keys SET (last_day, clicks, leads, qualified, customers, sales, revenue, refunds, conversions,
	conversion_ms, earned, approved, paid) = (SELECT day, clicks, leads, qualified, customers, sales, revenue, refunds,
	conversions, conversion_ms, earned, approved, paid FROM rollup_entity r WHERE r.program_id = rollup_keys.program_id
	AND r.entity = rollup_keys.entity AND r.currency = rollup_keys.currency ORDER BY day DESC LIMIT 1);

-- Commissions on hold, counted for the dashboard.
CREATE INDEX commissions_status ON commissions (program_id, status);
