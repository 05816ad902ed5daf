-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: what a CRM sent about an inbound event (see ../0019_crm.sql).
ALTER TABLE inbound_events ADD COLUMN payload TEXT COLLATE "C";
