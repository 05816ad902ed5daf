-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: each program's volume: per figure, the sum of the absolute values of everything ever added to its
-- rollups. Every stored running total, daily figure and sum a report makes of them is a sum of some of those
-- additions, so while the volume fits in 64 bits none of them can overflow, and a write that would carry it past
-- is refused.
CREATE TABLE rollup_volume (
	program_id TEXT COLLATE "C" PRIMARY KEY,
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
	paid BIGINT NOT NULL DEFAULT 0
);

-- Existing programs start from their daily figures. SQLite sums in floating point with total(), and its CAST
-- saturates at the largest 64-bit integer instead of failing; here each sum is exact, in numeric, and least()
-- saturates it at the same bound. (Sums of at most 2^53 are equal on both; above that SQLite's are rounded.)
INSERT INTO rollup_volume SELECT program_id,
	least(sum(abs(clicks::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(leads::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(qualified::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(customers::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(sales::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(revenue::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(refunds::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(conversions::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(conversion_ms::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(earned::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(approved::numeric)), 9223372036854775807)::bigint,
	least(sum(abs(paid::numeric)), 9223372036854775807)::bigint
FROM rollup_daily WHERE dim = 'all' GROUP BY program_id;
