-- SPDX-License-Identifier: Apache-2.0
-- The retention job removes inbound events (with the CRM reads queued for them) after --event-retention-days, the
-- oldest first: by the time they were received.
CREATE INDEX inbound_events_received ON inbound_events (received_at);
