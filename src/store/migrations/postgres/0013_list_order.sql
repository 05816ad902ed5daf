-- SPDX-License-Identifier: Apache-2.0
-- Lists that neither skip nor repeat a row while transactions commit out of order. Transactions running at once
-- take seq numbers in one order and may commit in another: a client paging newest first past seq 41 would never
-- see the 40 committed a moment later. So each row of a listed table records the transaction that inserted it
-- (txid, the 64-bit transaction id), lists are ordered by (txid, seq), and the API's pages hold only the rows of
-- transactions older than any still running in this database (src/store/store.c, rf_q_keyset_sql): one that
-- commits later has a larger id and comes after everything a client has seen. The rows already here share the id
-- of this migration and keep their seq order.

ALTER TABLE programs ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE partners ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE users ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE api_keys ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE plans ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE links ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE leads ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE sales ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE commissions ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);
ALTER TABLE payout_runs ADD COLUMN txid BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint);

-- The indexes that served lists in seq order serve them in (txid, seq) order instead.
DROP INDEX partners_program;
CREATE INDEX partners_program ON partners (program_id, txid, seq);
CREATE INDEX partners_order ON partners (txid, seq);
DROP INDEX plans_program;
CREATE INDEX plans_program ON plans (program_id, txid, seq);
DROP INDEX links_partner;
CREATE INDEX links_partner ON links (partner_id, txid, seq);
DROP INDEX links_program;
CREATE INDEX links_program ON links (program_id, txid, seq);
CREATE INDEX links_order ON links (txid, seq);
DROP INDEX leads_partner;
CREATE INDEX leads_partner ON leads (partner_id, txid, seq);
DROP INDEX leads_agent;
CREATE INDEX leads_agent ON leads (agent_id, txid, seq);
DROP INDEX leads_program;
CREATE INDEX leads_program ON leads (program_id, txid, seq);
CREATE INDEX leads_order ON leads (txid, seq);
CREATE INDEX sales_order ON sales (txid, seq);
DROP INDEX commissions_partner;
CREATE INDEX commissions_partner ON commissions (partner_id, txid, seq);
DROP INDEX commissions_program;
CREATE INDEX commissions_program ON commissions (program_id, txid, seq);
CREATE INDEX commissions_order ON commissions (txid, seq);
DROP INDEX payout_runs_program;
CREATE INDEX payout_runs_program ON payout_runs (program_id, txid, seq);
