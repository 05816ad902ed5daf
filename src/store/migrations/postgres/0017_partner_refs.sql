-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: imports: the id a partner had in the referral tool a business leaves (Rewardful's affiliate id, a
-- FirstPromoter promoter id, a PartnerStack partner_key, a Tolt partner id), by program, so that the tool's other
-- exports (referrals, commissions), which name partners by that id, are credited to the same partner in refd, and
-- so that the same file imported again finds the partners it made.
CREATE TABLE partner_refs (
	program_id TEXT COLLATE "C" NOT NULL REFERENCES programs (id) DEFERRABLE INITIALLY IMMEDIATE,
	ref TEXT COLLATE "C" NOT NULL,
	partner_id TEXT COLLATE "C" NOT NULL REFERENCES partners (id) DEFERRABLE INITIALLY IMMEDIATE,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (program_id, ref)
);
CREATE INDEX partner_refs_partner ON partner_refs (partner_id);

-- An import run through the API (POST /api/v1/imports): its status and report (the import object as JSON, with
-- its counts and the rows' problems), written by the importer as the rows go, so that GET /api/v1/imports/{id}
-- shows the progress of a running import, from any refd process of the database.
CREATE TABLE imports (
	id TEXT COLLATE "C" PRIMARY KEY,
	program_id TEXT COLLATE "C" NOT NULL REFERENCES programs (id) DEFERRABLE INITIALLY IMMEDIATE,
	status TEXT COLLATE "C" NOT NULL,
	report TEXT COLLATE "C" NOT NULL,
	created_by TEXT COLLATE "C",
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
