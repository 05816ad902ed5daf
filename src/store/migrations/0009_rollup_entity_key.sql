-- SPDX-License-Identifier: Apache-2.0
-- Running totals keyed by the entity first: entity ids are unique across programs, so a report's seeks compare
-- the entity, not a program id every row shares. The program stays as a column.
CREATE TABLE rollup_entity_new (
	entity TEXT NOT NULL,
	currency TEXT NOT NULL,
	day INTEGER NOT NULL,
	program_id TEXT NOT NULL,
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
	PRIMARY KEY (entity, currency, day)
) STRICT, WITHOUT ROWID;

INSERT INTO rollup_entity_new (entity, currency, day, program_id, clicks, leads, qualified, customers, sales,
	revenue, refunds, conversions, conversion_ms, earned, approved, paid)
SELECT entity, currency, day, program_id, clicks, leads, qualified, customers, sales, revenue, refunds, conversions,
	conversion_ms, earned, approved, paid FROM rollup_entity ORDER BY entity, currency, day;

DROP TABLE rollup_entity;
ALTER TABLE rollup_entity_new RENAME TO rollup_entity;
