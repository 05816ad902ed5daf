-- SPDX-License-Identifier: Apache-2.0
-- Literal search: a trigram index over the fields the word index covers, so that a search fragment holding
-- punctuation ("reyes@north", "lee+referrals", "smith-jones") matches as written, anywhere in a field, apart from
-- case. The word index (partners_fts) still answers fragments of letters and digits, by word prefix.
CREATE VIRTUAL TABLE partners_trgm USING fts5 (
	name, email, company,
	content = 'partners', content_rowid = 'seq',
	tokenize = 'trigram case_sensitive 0'
);

CREATE TRIGGER partners_trgm_insert AFTER INSERT ON partners BEGIN
	INSERT INTO partners_trgm (rowid, name, email, company) VALUES (new.seq, new.name, new.email, new.company);
END;

CREATE TRIGGER partners_trgm_delete AFTER DELETE ON partners BEGIN
	INSERT INTO partners_trgm (partners_trgm, rowid, name, email, company)
	VALUES ('delete', old.seq, old.name, old.email, old.company);
END;

CREATE TRIGGER partners_trgm_update AFTER UPDATE OF name, email, company ON partners BEGIN
	INSERT INTO partners_trgm (partners_trgm, rowid, name, email, company)
	VALUES ('delete', old.seq, old.name, old.email, old.company);
	INSERT INTO partners_trgm (rowid, name, email, company) VALUES (new.seq, new.name, new.email, new.company);
END;

-- Partners that existed before this migration.
INSERT INTO partners_trgm (partners_trgm) VALUES ('rebuild');
