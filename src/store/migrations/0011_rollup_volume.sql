-- SPDX-License-Identifier: Apache-2.0
-- Each program's volume: per figure, the sum of the absolute values of everything ever added to its rollups. Every
-- stored running total, daily figure and sum a report makes of them is a sum of some of those additions, so while
-- the volume fits in 64 bits none of them can overflow, and a write that would carry it past is refused.
CREATE TABLE rollup_volume (
	program_id TEXT PRIMARY KEY,
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
	paid INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

-- Existing programs start from their daily figures (total() and CAST saturate instead of failing on overflow).
INSERT INTO rollup_volume SELECT program_id, CAST(total(abs(clicks)) AS INTEGER), CAST(total(abs(leads)) AS INTEGER),
	CAST(total(abs(qualified)) AS INTEGER), CAST(total(abs(customers)) AS INTEGER), CAST(total(abs(sales)) AS INTEGER),
	CAST(total(abs(revenue)) AS INTEGER), CAST(total(abs(refunds)) AS INTEGER), CAST(total(abs(conversions)) AS INTEGER),
	CAST(total(abs(conversion_ms)) AS INTEGER), CAST(total(abs(earned)) AS INTEGER), CAST(total(abs(approved)) AS INTEGER),
	CAST(total(abs(paid)) AS INTEGER) FROM rollup_daily WHERE dim = 'all' GROUP BY program_id;
