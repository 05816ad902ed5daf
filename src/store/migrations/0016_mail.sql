-- SPDX-License-Identifier: Apache-2.0
-- Mail to partners and admins. A message is composed in the transaction of its cause (an event, a daily digest, a
-- password reset) and stored here with a delivery (deliveries.kind 'mail', target_id the message's id, event_id
-- the event that caused it or else the message's own id), which the mail sender claims and sends, each attempt in
-- delivery_attempts, like the webhook deliveries of 0015_events.

-- One message: its recipient (address and display name; the user or partner it is for), what it is about
-- (category: application, deal, deal_reminder, commissions_digest, payout, password_reset, admin_digest,
-- admin_alert, test), its Message-ID, subject, text and HTML bodies, its main link, and header fields of its own
-- (a JSON object: List-Unsubscribe and List-Unsubscribe-Post for the optional kinds). A sealed message (a password
-- reset's link is a secret) holds its bodies and link sealed with the instance key, and loses them once sent or
-- given up. From and Date are the sender's: From its --mail-from, Date the time of composing.
CREATE TABLE mail_messages (
	seq INTEGER PRIMARY KEY,
	id TEXT NOT NULL UNIQUE,
	category TEXT NOT NULL,
	recipient TEXT NOT NULL,
	recipient_name TEXT,
	user_id TEXT,
	partner_id TEXT,
	program_id TEXT,
	event_id TEXT,
	message_id TEXT NOT NULL,
	subject TEXT NOT NULL,
	text_body TEXT NOT NULL,
	html_body TEXT NOT NULL,
	link TEXT,
	headers TEXT NOT NULL,
	sealed INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	sent_at INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX mail_messages_recipient ON mail_messages (recipient, seq);
CREATE INDEX mail_messages_created ON mail_messages (created_at);

-- What each person chose not to receive: a row per kind of optional mail turned off, for a partner (subject_id
-- ptn_...) or a user (usr_...), and how (settings: the notification settings; unsubscribe: a message's one-click
-- link). Mail a person cannot do without (application decisions, password resets) is never turned off.
CREATE TABLE mail_optouts (
	subject_id TEXT NOT NULL,
	category TEXT NOT NULL,
	via TEXT NOT NULL CHECK (via IN ('settings', 'unsubscribe')),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (subject_id, category)
) STRICT;

-- Mail sent once for something: a recipient's daily digest ('commissions_digest:ptn_...', 'admin_digest:usr_...':
-- mark is the day, counted from 1970-01-01, of the last one, covered_until the time its new items reached) and a
-- deal registration's reminder ('deal_reminder:lead_...': mark is the end of the protection it was sent for). Taking
-- a key moves its mark forward only, so that two processes never send the same digest or reminder.
CREATE TABLE mail_runs (
	key TEXT PRIMARY KEY,
	mark INTEGER NOT NULL,
	covered_until INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;

-- The daily digest looks for each partner's commissions made since its last digest.
CREATE INDEX commissions_partner_created ON commissions (partner_id, created_at);
