/* SPDX-License-Identifier: Apache-2.0 */
/* Internet mail messages built without I/O: RFC 5322 header fields (dates, mailboxes, folding), RFC 2047 encoded
 * words for header text that is not ASCII, quoted-printable bodies (RFC 2045), a MIME multipart/alternative message
 * of a plain text part and an HTML part (RFC 2046), and HTML escaping for the HTML part. Every function appends to an
 * rf_dbuf, whose status tells whether the whole result is there. */
#ifndef RF_MIME_H
#define RF_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbuf.h"
#include "status.h"

#define RF_MIME_DATE_LEN 40
#define RF_MIME_ADDR_MAX 254

/* True when s (UTF-8) cannot go into a header as it is: it holds a byte outside printable ASCII (a space is
 * printable) or "=?", which a reader could take for the start of an encoded word. */
bool rf_mime_needs_encoding(const char *s);

/* Appends text as RFC 2047 encoded words (UTF-8, base64), cut only between characters, each short enough that no
 * line holding one passes 76 characters, separated by a fold (CRLF and a space). *col is how many characters the
 * current line holds already (the field name and ": "), and on return how many the last line holds. */
rf_status rf_mime_encode_words(rf_dbuf *b, const char *text, size_t *col);

/* Appends the unstructured header field "Name: value" with its CRLF (Subject, say): the value as it is when it is
 * printable ASCII, folded at spaces into lines of at most 78 characters where it has spaces to fold at; as encoded
 * words otherwise. RF_EINVAL (nothing appended) when name is not a field name or value holds CR, LF or another
 * control character other than tab. */
rf_status rf_mime_header(rf_dbuf *b, const char *name, const char *value);

/* True when addr is a plain address that can go between angle brackets in a header and in SMTP's MAIL FROM and
 * RCPT TO: 3 to 254 bytes of printable ASCII with one '@', a local part and a domain, and none of the characters
 * that would end it early (spaces, angle brackets, quotes, commas, brackets, backslashes, semicolons, colons). */
bool rf_mime_addr_ok(const char *addr);

/* Appends the address header field "Name: display <addr>" with its CRLF; without a display name, "Name: addr".
 * A display name of printable ASCII is written as a quoted string, any other as encoded words. RF_EINVAL (nothing
 * appended) for an address that fails rf_mime_addr_ok or a display name with control characters. */
rf_status rf_mime_address_header(rf_dbuf *b, const char *name, const char *display, const char *addr);

/* Splits a mailbox as people write it, "Display Name <addr@host>", "\"Name, Inc.\" <addr@host>" or
 * "addr@host", into its display name (empty when none; surrounding quotes removed) and address. RF_EINVAL when it
 * is not one mailbox or a part does not fit. */
rf_status rf_mime_parse_mailbox(const char *in, char *name, size_t name_len, char *addr, size_t addr_len);

/* Appends text as quoted-printable: its line breaks (LF or CRLF) become CRLF, lines hold at most 76 characters
 * (soft breaks end with '='), '=' and bytes outside printable ASCII are encoded, as are a space or tab before a
 * line break, and a '.' or the F of "From " at the start of a line, which some transports would change. */
rf_status rf_mime_qp(rf_dbuf *b, const char *text);

/* Decodes quoted-printable (soft breaks removed, CRLF kept as LF); RF_EINVAL for an '=' that starts no escape. */
rf_status rf_mime_qp_decode(rf_dbuf *b, const char *qp);

/* The RFC 5322 date of unix milliseconds, in UTC: "Tue, 03 Mar 2026 08:00:00 +0000". */
void rf_mime_date(int64_t ms, char out[RF_MIME_DATE_LEN]);

/* A header field added to a message as it is: a name of letters, digits and '-', a value of printable ASCII. */
typedef struct {
	const char *name, *value;
} rf_mime_field;

typedef struct {
	const char *from_name, *from_addr; /* from_name may be NULL or empty */
	const char *to_name, *to_addr;
	const char *subject;    /* UTF-8 */
	const char *message_id; /* "<unique@domain>" */
	int64_t date_ms;
	const rf_mime_field *extra; /* more header fields (List-Unsubscribe ...), n_extra of them */
	size_t n_extra;
	const char *text, *html; /* the two parts, UTF-8 */
	/* Separates the parts. A boundary that starts with "=_" never occurs in quoted-printable text, whose '=' is
	 * always followed by two hex digits or a line break. 1 to 60 characters of letters, digits and "=_.-". */
	const char *boundary;
} rf_mime_message;

/* Appends the whole message (header fields, then a multipart/alternative body of the text and the HTML, both
 * UTF-8 and quoted-printable) with CRLF line ends. RF_EINVAL (err names the field at fault) when a value cannot go
 * into its header. */
rf_status rf_mime_build(rf_dbuf *b, const rf_mime_message *m, rf_err *err);

/* Appends s with &, <, >, " and ' written as character references, for HTML text and attribute values. */
rf_status rf_mime_html_escape(rf_dbuf *b, const char *s);

#endif
