-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: recruitment codes: every partner gets a stable, unguessable code for its recruitment link
-- (/portal?recruiter=CODE), through which new partners sign up with it as their recruiter. Partners made
-- before this migration get one here: twelve characters of the alphabet refd's codes use (no 0, 1, i, l, o),
-- about 59 bits. New partners get theirs from refd (libsodium) when they are created.
ALTER TABLE partners ADD COLUMN recruitment_code TEXT COLLATE "C";

-- PostgreSQL's random() is a float in [0, 1) (SQLite's a 64-bit integer, hence its abs(random() % 31)), so each
-- character is at 1 + floor(random() * 31), evenly one of the 31. random() is volatile: called anew for each
-- character of each row.
UPDATE partners SET recruitment_code =
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + floor(random() * 31)::integer, 1);

-- A sign-up finds the recruiter by its code.
CREATE UNIQUE INDEX partners_recruitment_code ON partners (recruitment_code);

-- Every partner has a code, and keeps it: a link already shared must go on naming the same partner. (A NOT NULL
-- constraint would say the first here, but SQLite cannot add one to an existing column, so both databases use
-- these triggers and give the same messages.)
CREATE TRIGGER partners_recruitment_code_required BEFORE INSERT ON partners FOR EACH ROW
WHEN (new.recruitment_code IS NULL)
EXECUTE FUNCTION refd_refuse('partners.recruitment_code is required');

CREATE TRIGGER partners_recruitment_code_kept BEFORE UPDATE OF recruitment_code ON partners FOR EACH ROW
WHEN (new.recruitment_code IS DISTINCT FROM old.recruitment_code)
EXECUTE FUNCTION refd_refuse('partners.recruitment_code never changes');
