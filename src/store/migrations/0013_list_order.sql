-- SPDX-License-Identifier: Apache-2.0
-- The order of lists on PostgreSQL (postgres/0013_list_order.sql): SQLite commits one transaction at a time, so
-- its rows commit in the order of seq and its lists need nothing more.
SELECT 1;
