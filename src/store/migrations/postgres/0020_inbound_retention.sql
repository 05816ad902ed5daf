-- SPDX-License-Identifier: Apache-2.0
-- PostgreSQL: inbound events by the time they were received, for the retention job (see ../0020_inbound_retention.sql).
CREATE INDEX inbound_events_received ON inbound_events (received_at);
