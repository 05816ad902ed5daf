-- PostgreSQL: literal search needs nothing new here: the trigram indexes of migration 1 already serve it.
--
-- On SQLite this migration adds partners_trgm, an FTS5 trigram index over name, email and company, so that a
-- fragment holding punctuation ("reyes@north", "lee+referrals", "smith-jones") matches as written, anywhere in a
-- field, apart from case. On PostgreSQL the GIN trigram indexes partners_name_trgm, partners_email_trgm and
-- partners_company_trgm (0001_foundation.sql) answer the same question, e.g. lower(email) LIKE '%reyes@north%',
-- and PostgreSQL keeps them up to date itself, so there is no table, trigger or rebuild to add. (Their lower()
-- folds ASCII letters only, the columns being COLLATE "C", where FTS5's trigram tokenizer folds all of Unicode.)
-- The version is still recorded, so both databases count their migrations alike.
SELECT 1;
