-- SPDX-License-Identifier: Apache-2.0
-- The CRMs: an inbound event keeps what the system sent about it (one event of a batch, as JSON), for the work
-- refd does after answering (HubSpot sends only ids: refd reads the record from HubSpot's API afterwards) and for
-- whoever reads the log.
ALTER TABLE inbound_events ADD COLUMN payload TEXT;
