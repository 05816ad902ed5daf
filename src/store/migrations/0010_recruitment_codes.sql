-- SPDX-License-Identifier: Apache-2.0
-- Recruitment codes: every partner gets a stable, unguessable code for its recruitment link
-- (/portal?recruiter=CODE), through which new partners sign up with it as their recruiter. Partners made
-- before this migration get one here: twelve characters of the alphabet refd's codes use (no 0, 1, i, l, o),
-- about 59 bits. New partners get theirs from refd (libsodium) when they are created.
ALTER TABLE partners ADD COLUMN recruitment_code TEXT;

UPDATE partners SET recruitment_code =
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1) ||
	substr('23456789abcdefghjkmnpqrstuvwxyz', 1 + abs(random() % 31), 1);

-- A sign-up finds the recruiter by its code.
CREATE UNIQUE INDEX partners_recruitment_code ON partners (recruitment_code);

-- Every partner has a code, and keeps it: a link already shared must go on naming the same partner.
CREATE TRIGGER partners_recruitment_code_required BEFORE INSERT ON partners
WHEN new.recruitment_code IS NULL BEGIN
	SELECT RAISE(ABORT, 'partners.recruitment_code is required');
END;

CREATE TRIGGER partners_recruitment_code_kept BEFORE UPDATE OF recruitment_code ON partners
WHEN new.recruitment_code IS NOT old.recruitment_code BEGIN
	SELECT RAISE(ABORT, 'partners.recruitment_code never changes');
END;
