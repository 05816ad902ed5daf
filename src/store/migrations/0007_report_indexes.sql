-- SPDX-License-Identifier: Apache-2.0
-- Time to conversion reads its two times from the index alone.
DROP INDEX leads_converted;
CREATE INDEX leads_converted ON leads (program_id, converted_at, created_at) WHERE converted_at > 0;
