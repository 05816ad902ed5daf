-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: running totals keyed by the entity first: entity ids are unique across programs, so a report's
-- seeks compare the entity, not a program id every row shares. The program stays as a column.
CREATE TABLE rollup_entity_new (
	entity TEXT COLLATE "C" NOT NULL,
	currency TEXT COLLATE "C" NOT NULL,
	day BIGINT NOT NULL,
	program_id TEXT COLLATE "C" NOT NULL,
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
	PRIMARY KEY (entity, currency, day)
);

INSERT INTO rollup_entity_new (entity, currency, day, program_id, clicks, leads, qualified, customers, sales,
	revenue, refunds, conversions, conversion_ms, earned, approved, paid)
SELECT entity, currency, day, program_id, clicks, leads, qualified, customers, sales, revenue, refunds, conversions,
	conversion_ms, earned, approved, paid FROM rollup_entity ORDER BY entity, currency, day;

DROP TABLE rollup_entity;
ALTER TABLE rollup_entity_new RENAME TO rollup_entity;
-- The primary key's constraint and index keep the name they were made with; give them the table's name, as a
-- table created as rollup_entity would have.
ALTER TABLE rollup_entity RENAME CONSTRAINT rollup_entity_new_pkey TO rollup_entity_pkey;
