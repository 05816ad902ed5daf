-- SPDX-License-Identifier: Apache-2.0
-- Foreign keys a whole-database copy may check at its commit (postgres/0014_deferrable_keys.sql): SQLite defers
-- them per transaction already (PRAGMA defer_foreign_keys), so nothing changes here.
SELECT 1;
