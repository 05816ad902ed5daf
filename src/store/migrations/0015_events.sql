-- SPDX-License-Identifier: Apache-2.0
-- The event log (an outbox): every change that matters writes a typed event in the transaction of the change
-- itself. What the events make refd send (webhook deliveries, later mail and calls to other systems) is queued in
-- deliveries, in the same transaction, and sent by the jobs, each attempt logged.

-- An event: its type ("lead.created"), the program and the object it is about, the partner it concerns (whom
-- the portal shows it to; NULL when none), and the object as the API showed it then (JSON).
CREATE TABLE events (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	type TEXT NOT NULL,
	program_id TEXT,
	object_id TEXT NOT NULL,
	partner_id TEXT,
	data TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_program ON events (program_id, seq);
CREATE INDEX events_object ON events (object_id, seq);
CREATE INDEX events_partner ON events (partner_id, seq);
CREATE INDEX events_created ON events (created_at);

-- Where integrators want events: a URL, the types it takes (a JSON array; ["*"] for every type), an optional
-- program, and its signing secret, sealed with the instance key. A rotated secret keeps signing beside the new
-- one until old_secret_until.
CREATE TABLE webhook_endpoints (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	url TEXT NOT NULL,
	description TEXT,
	event_types TEXT NOT NULL,
	program_id TEXT REFERENCES programs (id),
	secret_sealed BLOB NOT NULL,
	old_secret_sealed BLOB,
	old_secret_until INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled')),
	disabled_reason TEXT,
	failing_since INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webhook_endpoints_status ON webhook_endpoints (status, program_id);

-- One thing to send: an event to a webhook endpoint (kind 'webhook'; other kinds come with other senders). A
-- sender claims due deliveries for a while (lease_until), so that each attempt is made by one process, and a
-- delivery whose sender died is claimed again once its lease runs out.
CREATE TABLE deliveries (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	target_id TEXT NOT NULL,
	event_id TEXT NOT NULL,
	status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0,
	last_status_code INTEGER,
	last_error TEXT,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX deliveries_due ON deliveries (kind, status, next_at);
CREATE INDEX deliveries_target ON deliveries (target_id, seq);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_created ON deliveries (created_at);

-- Every attempt: when, the answer's status code (NULL when there was none), how long it took, the first bytes of
-- the answer, and the error (a timeout, a refused connection, an address refused).
CREATE TABLE delivery_attempts (
	seq INTEGER PRIMARY KEY,
	delivery_id TEXT NOT NULL,
	at INTEGER NOT NULL,
	status_code INTEGER,
	latency_ms INTEGER NOT NULL,
	response TEXT,
	error TEXT
) STRICT;
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, seq);

-- Registrations whose protection ends: the jobs look for them to write deal.expired.
CREATE INDEX leads_protection ON leads (protected_until) WHERE registration = 1;
