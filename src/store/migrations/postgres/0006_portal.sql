-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: the partner portal: self sign-up per program, and one-time password reset links.
ALTER TABLE programs ADD COLUMN partner_signup TEXT COLLATE "C" NOT NULL DEFAULT 'review'
	CHECK (partner_signup IN ('off', 'review', 'open'));

CREATE TABLE password_resets (
	token_hash TEXT COLLATE "C" PRIMARY KEY,
	user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX password_resets_user ON password_resets (user_id);
