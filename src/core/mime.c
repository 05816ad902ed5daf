/* SPDX-License-Identifier: Apache-2.0 */
/* Internet mail messages of mime.h: header fields, encoded words, quoted-printable and the multipart body. */
#include "mime.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "text.h"

/* A line that holds an encoded word may not pass 76 characters (RFC 2047, section 2); other lines should not pass
 * 78 (RFC 5322, section 2.1.1) and must not pass 998. */
#define WORD_LINE_MAX 76
#define FOLD_MAX 78
#define HARD_LINE_MAX 998
/* "=?UTF-8?B?" and "?=" around the base64 of a word. */
#define WORD_OVERHEAD 12
/* A quoted-printable line holds at most 76 characters, the '=' of a soft break included. */
#define QP_LINE_MAX 76

static bool printable(unsigned char c)
{
	return c >= 0x20 && c < 0x7f;
}

bool rf_mime_needs_encoding(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (!printable(*p) || (p[0] == '=' && p[1] == '?'))
			return true;
	return false;
}

/* True when s holds a control character other than tab (a header value must not: CR and LF would end it). */
static bool has_controls(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			return true;
	return false;
}

/* Bytes of the UTF-8 character at p (1 for a byte that starts none, so that every input moves forward). */
static size_t char_len(const unsigned char *p)
{
	size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 1;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 1;
	return n;
}

static rf_status base64(rf_dbuf *b, const void *data, size_t len)
{
	size_t room = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *w = rf_dbuf_reserve(b, room);
	if (!w)
		return rf_dbuf_status(b);
	sodium_bin2base64(w, room, data, len, sodium_base64_VARIANT_ORIGINAL);
	rf_dbuf_commit(b, strlen(w));
	return rf_dbuf_status(b);
}

rf_status rf_mime_encode_words(rf_dbuf *b, const char *text, size_t *col)
{
	const unsigned char *p = (const unsigned char *)text;
	while (*p) {
		size_t avail = *col + WORD_OVERHEAD + 4 <= WORD_LINE_MAX ? WORD_LINE_MAX - *col - WORD_OVERHEAD : 0;
		size_t max = avail / 4 * 3, n = 0;
		while (p[n] && n + char_len(p + n) <= max)
			n += char_len(p + n);
		if (n == 0) {
			/* Not even one character fits after what the line holds: the word starts the next line (a line
			 * of its own holds 45 bytes, more than any character). */
			rf_dbuf_adds(b, "\r\n ");
			*col = 1;
			continue;
		}
		rf_dbuf_adds(b, "=?UTF-8?B?");
		base64(b, p, n);
		rf_dbuf_adds(b, "?=");
		*col += WORD_OVERHEAD + (n + 2) / 3 * 4;
		p += n;
		if (*p) {
			/* White space between two encoded words is not part of the text. */
			rf_dbuf_adds(b, "\r\n ");
			*col = 1;
		}
	}
	return rf_dbuf_status(b);
}

static bool field_name_ok(const char *name)
{
	if (!name || !*name || strlen(name) > 76)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	return true;
}

/* Appends ASCII text folded at its spaces so that lines stay within FOLD_MAX where the words allow. */
static void folded_ascii(rf_dbuf *b, const char *value, size_t col)
{
	const char *p = value;
	bool first = true;
	for (;;) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		if (!first) {
			if (col + 1 + n > FOLD_MAX) {
				/* The fold's space stands for the space between the words: unfolding gives the text
				 * back. */
				rf_dbuf_adds(b, "\r\n ");
				col = 1;
			} else {
				rf_dbuf_add(b, " ", 1);
				col++;
			}
		}
		rf_dbuf_add(b, p, n);
		col += n;
		first = false;
		if (!sp)
			break;
		p = sp + 1;
	}
}

static bool ascii_words_fit(const char *value)
{
	size_t run = 0;
	for (const char *p = value; *p; p++) {
		run = *p == ' ' ? 0 : run + 1;
		if (run > HARD_LINE_MAX - 80)
			return false;
	}
	return true;
}

rf_status rf_mime_header(rf_dbuf *b, const char *name, const char *value)
{
	if (!field_name_ok(name) || !value || has_controls(value))
		return RF_EINVAL;
	size_t col = strlen(name) + 2;
	rf_dbuf_addf(b, "%s: ", name);
	if (rf_mime_needs_encoding(value))
		rf_mime_encode_words(b, value, &col);
	else if (ascii_words_fit(value))
		folded_ascii(b, value, col);
	else
		rf_mime_encode_words(b, value, &col);
	rf_dbuf_adds(b, "\r\n");
	return rf_dbuf_status(b);
}

bool rf_mime_addr_ok(const char *addr)
{
	size_t n = addr ? strlen(addr) : 0;
	if (n < 3 || n > RF_MIME_ADDR_MAX)
		return false;
	const char *at = NULL;
	for (const char *p = addr; *p; p++) {
		if (!printable((unsigned char)*p) || strchr(" <>()[]\\,;:\"", *p))
			return false;
		if (*p == '@') {
			if (at)
				return false;
			at = p;
		}
	}
	return at && at > addr && at[1] && at - addr <= 64;
}

rf_status rf_mime_address_header(rf_dbuf *b, const char *name, const char *display, const char *addr)
{
	if (!field_name_ok(name) || !rf_mime_addr_ok(addr) || (display && has_controls(display)))
		return RF_EINVAL;
	rf_dbuf_addf(b, "%s: ", name);
	size_t col = strlen(name) + 2;
	if (display && *display && rf_mime_needs_encoding(display)) {
		rf_mime_encode_words(b, display, &col);
		if (col + 3 + strlen(addr) > FOLD_MAX) {
			rf_dbuf_adds(b, "\r\n");
			col = 0;
		}
		rf_dbuf_addf(b, " <%s>\r\n", addr);
	} else if (display && *display) {
		/* A quoted string: any printable character but the quote and the backslash, which are escaped. */
		rf_dbuf_add(b, "\"", 1);
		for (const char *p = display; *p; p++) {
			if (*p == '"' || *p == '\\')
				rf_dbuf_add(b, "\\", 1);
			rf_dbuf_add(b, p, 1);
		}
		rf_dbuf_addf(b, "\" <%s>\r\n", addr);
	} else {
		rf_dbuf_addf(b, "%s\r\n", addr);
	}
	return rf_dbuf_status(b);
}

static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

rf_status rf_mime_parse_mailbox(const char *in, char *name, size_t name_len, char *addr, size_t addr_len)
{
	if (!in || !name_len || !addr_len || has_controls(in))
		return RF_EINVAL;
	name[0] = addr[0] = '\0';
	const char *s = in, *e = in + strlen(in);
	trim(&s, &e);
	const char *as = s, *ae = e, *ns = s, *ne = s;
	if (e > s && e[-1] == '>') {
		const char *lt = NULL;
		for (const char *p = s; p < e - 1; p++)
			if (*p == '<')
				lt = p;
		if (!lt)
			return RF_EINVAL;
		as = lt + 1;
		ae = e - 1;
		ns = s;
		ne = lt;
		trim(&ns, &ne);
		if (ne - ns >= 2 && ns[0] == '"' && ne[-1] == '"') {
			ns++;
			ne--;
		}
	}
	size_t an = (size_t)(ae - as), k = 0;
	if (an >= addr_len)
		return RF_EINVAL;
	memcpy(addr, as, an);
	addr[an] = '\0';
	if (!rf_mime_addr_ok(addr))
		return RF_EINVAL;
	for (const char *p = ns; p < ne; p++) {
		if (*p == '\\' && p + 1 < ne)
			p++;
		if (k + 1 >= name_len)
			return RF_EINVAL;
		name[k++] = *p;
	}
	name[k] = '\0';
	return RF_OK;
}

rf_status rf_mime_qp(rf_dbuf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)text;
	size_t col = 0;
	while (*p) {
		if (p[0] == '\r' && p[1] == '\n') {
			rf_dbuf_add(b, "\r\n", 2);
			col = 0;
			p += 2;
			continue;
		}
		if (p[0] == '\n') {
			rf_dbuf_add(b, "\r\n", 2);
			col = 0;
			p++;
			continue;
		}
		bool line_end = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
		for (int pass = 0; pass < 2; pass++) {
			unsigned char c = *p;
			bool encode = c == '=' || (c < 0x20 && c != '\t') || c >= 0x7f ||
				      ((c == ' ' || c == '\t') && line_end) || (col == 0 && c == '.') ||
				      (col == 0 && strncmp((const char *)p, "From ", 5) == 0);
			size_t need = encode ? 3 : 1;
			/* Room for the token and, unless the line ends here, the '=' of a soft break after it. */
			if (col + need + (line_end ? 0 : 1) > QP_LINE_MAX && pass == 0) {
				rf_dbuf_add(b, "=\r\n", 3);
				col = 0;
				continue; /* judged again: the start of a line encodes more */
			}
			if (encode) {
				char t[3] = {'=', hex[c >> 4], hex[c & 15]};
				rf_dbuf_add(b, t, 3);
			} else {
				rf_dbuf_add(b, (const char *)p, 1);
			}
			col += need;
			break;
		}
		p++;
	}
	return rf_dbuf_status(b);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
				      : -1;
}

rf_status rf_mime_qp_decode(rf_dbuf *b, const char *qp)
{
	for (const char *p = qp; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n') {
			rf_dbuf_add(b, "\n", 1);
			p++;
		} else if (p[0] == '=') {
			if (p[1] == '\r' && p[2] == '\n') {
				p += 2;
			} else if (p[1] == '\n') {
				p++;
			} else if (hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				char c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				rf_dbuf_add(b, &c, 1);
				p += 2;
			} else {
				return RF_EINVAL;
			}
		} else {
			rf_dbuf_add(b, p, 1);
		}
	}
	return rf_dbuf_status(b);
}

void rf_mime_date(int64_t ms, char out[RF_MIME_DATE_LEN])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t rem = secs - day * 86400, y;
	int m, d;
	rf_civil_from_days(day, &y, &m, &d);
	/* 1970-01-01 was a Thursday. */
	int wd = (int)(((day + 4) % 7 + 7) % 7);
	snprintf(out, RF_MIME_DATE_LEN, "%s, %02d %s %04lld %02d:%02d:%02d +0000", days[wd], d, months[m - 1],
		 (long long)y, (int)(rem / 3600), (int)(rem % 3600 / 60), (int)(rem % 60));
}

static bool message_id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n < 5 || n > 250 || id[0] != '<' || id[n - 1] != '>' || !strchr(id, '@'))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!printable((unsigned char)id[i]) || strchr(" <>()[]\\,;:\"", id[i]))
			return false;
	return true;
}

static bool boundary_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n < 1 || n > 60)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      strchr("=_.-", *p)))
			return false;
	return true;
}

static bool ascii_value_ok(const char *v)
{
	size_t n = v ? strlen(v) : 0;
	if (n > HARD_LINE_MAX - 80)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!printable((unsigned char)v[i]))
			return false;
	return true;
}

static void part(rf_dbuf *b, const char *boundary, const char *type, const char *body)
{
	rf_dbuf_addf(b,
		     "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		     boundary, type);
	rf_mime_qp(b, body ? body : "");
	rf_dbuf_adds(b, "\r\n");
}

rf_status rf_mime_build(rf_dbuf *b, const rf_mime_message *m, rf_err *err)
{
	if (!boundary_ok(m->boundary))
		return rf_err_set(err, RF_EINVAL, "boundary", "the MIME boundary is not one");
	if (!message_id_ok(m->message_id))
		return rf_err_set(err, RF_EINVAL, "message_id", "Message-ID must be <unique@domain>");
	if (!m->subject || has_controls(m->subject))
		return rf_err_set(err, RF_EINVAL, "subject", "the subject must be one line of text");
	for (size_t i = 0; i < m->n_extra; i++)
		if (!field_name_ok(m->extra[i].name) || !ascii_value_ok(m->extra[i].value))
			return rf_err_set(err, RF_EINVAL, m->extra[i].name ? m->extra[i].name : "header",
					  "header %s cannot be sent as it is",
					  m->extra[i].name ? m->extra[i].name : "");
	char date[RF_MIME_DATE_LEN];
	rf_mime_date(m->date_ms, date);
	rf_dbuf_addf(b, "Date: %s\r\n", date);
	if (rf_mime_address_header(b, "From", m->from_name, m->from_addr) != RF_OK && rf_dbuf_status(b) == RF_OK)
		return rf_err_set(err, RF_EINVAL, "from", "the sender's address cannot go in a header");
	if (rf_mime_address_header(b, "To", m->to_name, m->to_addr) != RF_OK && rf_dbuf_status(b) == RF_OK)
		return rf_err_set(err, RF_EINVAL, "to", "the recipient's address cannot go in a header");
	rf_mime_header(b, "Subject", m->subject);
	rf_dbuf_addf(b, "Message-ID: %s\r\nMIME-Version: 1.0\r\n", m->message_id);
	for (size_t i = 0; i < m->n_extra; i++)
		rf_dbuf_addf(b, "%s: %s\r\n", m->extra[i].name, m->extra[i].value);
	rf_dbuf_addf(b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", m->boundary);
	part(b, m->boundary, "text/plain", m->text);
	part(b, m->boundary, "text/html", m->html);
	rf_dbuf_addf(b, "--%s--\r\n", m->boundary);
	if (rf_dbuf_status(b) != RF_OK)
		return rf_err_set(err, rf_dbuf_status(b), NULL, "the message does not fit");
	return RF_OK;
}

rf_status rf_mime_html_escape(rf_dbuf *b, const char *s)
{
	for (const char *p = s ? s : ""; *p; p++) {
		switch (*p) {
		case '&':
			rf_dbuf_adds(b, "&amp;");
			break;
		case '<':
			rf_dbuf_adds(b, "&lt;");
			break;
		case '>':
			rf_dbuf_adds(b, "&gt;");
			break;
		case '"':
			rf_dbuf_adds(b, "&quot;");
			break;
		case '\'':
			rf_dbuf_adds(b, "&#39;");
			break;
		default:
			rf_dbuf_add(b, p, 1);
		}
	}
	return rf_dbuf_status(b);
}
