-- SPDX-License-Identifier: Apache-2.0
-- The partner portal: self sign-up per program, and one-time password reset links.
ALTER TABLE programs ADD COLUMN partner_signup TEXT NOT NULL DEFAULT 'review'
	CHECK (partner_signup IN ('off', 'review', 'open'));

CREATE TABLE password_resets (
	token_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;

CREATE INDEX password_resets_user ON password_resets (user_id);
