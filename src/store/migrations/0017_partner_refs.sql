-- SPDX-License-Identifier: Apache-2.0
-- Imports: the id a partner had in the referral tool a business leaves (Rewardful's affiliate id, a FirstPromoter
-- promoter id, a PartnerStack partner_key, a Tolt partner id), by program, so that the tool's other exports
-- (referrals, commissions), which name partners by that id, are credited to the same partner in refd, and so that
-- the same file imported again finds the partners it made.
CREATE TABLE partner_refs (
	program_id TEXT NOT NULL REFERENCES programs (id),
	ref TEXT NOT NULL,
	partner_id TEXT NOT NULL REFERENCES partners (id),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (program_id, ref)
) STRICT;
CREATE INDEX partner_refs_partner ON partner_refs (partner_id);

-- An import run through the API (POST /api/v1/imports): its status and report (the import object as JSON, with
-- its counts and the rows' problems), written by the importer as the rows go, so that GET /api/v1/imports/{id}
-- shows the progress of a running import, from any refd process of the database.
CREATE TABLE imports (
	id TEXT PRIMARY KEY,
	program_id TEXT NOT NULL REFERENCES programs (id),
	status TEXT NOT NULL,
	report TEXT NOT NULL,
	created_by TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
