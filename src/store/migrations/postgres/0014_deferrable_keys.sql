-- SPDX-License-Identifier: Apache-2.0
-- Every foreign key may be checked at the commit of a transaction that asks for it (SET CONSTRAINTS ALL
-- DEFERRED), as `refd db copy` does: it copies a table at a time, and a row may name one copied later (an agent's
-- team parent made after it, an entry that reverses one of another table). Every other transaction still checks
-- each key at once (INITIALLY IMMEDIATE), as before.
DO $$
DECLARE
	k record;
BEGIN
	FOR k IN SELECT c.conname, t.relname FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace AND NOT c.condeferrable
	LOOP
		EXECUTE format('ALTER TABLE %I ALTER CONSTRAINT %I DEFERRABLE INITIALLY IMMEDIATE', k.relname, k.conname);
	END LOOP;
END
$$;
