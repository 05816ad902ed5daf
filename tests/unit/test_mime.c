/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the mail message builder: encoded words (limits, characters never cut, the text given back),
 * folding, addresses and mailboxes, quoted-printable both ways, dates, the multipart message, HTML escaping, and
 * header injection refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/mime.h"

/* The text of a header value as a reader gets it back: the folds removed, each encoded word decoded (the white
 * space between two encoded words dropped), other text as it is. Fails the test on a malformed word or on a line
 * that breaks the limits (76 characters for a line with an encoded word, 78 otherwise). */
static char *unfold_decode(const char *field, size_t name_len)
{
	size_t n = strlen(field);
	/* Line lengths first. */
	const char *line = field;
	while (line < field + n) {
		const char *end = strstr(line, "\r\n");
		assert_non_null(end);
		size_t len = (size_t)(end - line);
		bool has_word = false;
		for (const char *p = line; p + 1 < end; p++)
			if (p[0] == '=' && p[1] == '?')
				has_word = true;
		assert_true(len <= (has_word ? 76u : 78u));
		line = end + 2;
	}
	char *out = calloc(1, n + 1);
	assert_non_null(out);
	size_t k = 0;
	const char *p = field + name_len + 2;
	bool last_word = false;
	size_t after_word = 0;
	while (*p) {
		if (p[0] == '\r' && p[1] == '\n') {
			p += 2;
			continue;
		}
		if (p[0] == '=' && p[1] == '?') {
			assert_memory_equal(p, "=?UTF-8?B?", 10);
			const char *e = strstr(p + 10, "?=");
			assert_non_null(e);
			/* Only white space separates two words: what was written after the previous word is dropped. */
			if (last_word)
				k = after_word;
			unsigned char bin[64];
			size_t got = 0;
			assert_int_equal(sodium_base642bin(bin, sizeof bin, p + 10, (size_t)(e - p - 10), NULL, &got,
							   NULL, sodium_base64_VARIANT_ORIGINAL),
					 0);
			/* Each word holds whole characters: it is valid UTF-8 on its own. */
			char *piece = calloc(1, got + 1);
			memcpy(piece, bin, got);
			size_t i = 0;
			while (i < got) {
				unsigned char c = bin[i];
				size_t cl = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
				assert_true(i + cl <= got);
				i += cl;
			}
			free(piece);
			memcpy(out + k, bin, got);
			k += got;
			p = e + 2;
			last_word = true;
			after_word = k;
			continue;
		}
		if (*p != ' ')
			last_word = false;
		out[k++] = *p++;
	}
	out[k] = '\0';
	return out;
}

static char *built(rf_dbuf *b)
{
	assert_int_equal(rf_dbuf_status(b), RF_OK);
	return b->p ? b->p : "";
}

static void needs_encoding(void **state)
{
	(void)state;
	assert_false(rf_mime_needs_encoding("Welcome to Spring referrals"));
	assert_false(rf_mime_needs_encoding(""));
	assert_true(rf_mime_needs_encoding("Café"));
	assert_true(rf_mime_needs_encoding("tab\there"));
	assert_true(rf_mime_needs_encoding("looks =?like?= a word"));
	assert_false(rf_mime_needs_encoding("a = b ? c"));
}

static void ascii_subjects_fold_at_spaces(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(4096);
	assert_int_equal(rf_mime_header(&b, "Subject", "Your application is approved"), RF_OK);
	assert_string_equal(built(&b), "Subject: Your application is approved\r\n");
	rf_dbuf_free(&b);
	const char *longer = "Your new commissions: 12 entries in 3 currencies, with every one of them listed "
			     "below and a link to the portal where the rest of them are";
	assert_int_equal(rf_mime_header(&b, "Subject", longer), RF_OK);
	assert_non_null(strstr(built(&b), "\r\n "));
	char *back = unfold_decode(b.p, 7);
	assert_string_equal(back, longer);
	free(back);
	rf_dbuf_free(&b);
}

static void other_subjects_become_encoded_words(void **state)
{
	(void)state;
	const char *texts[] = {
	    "Bienvenue au programme Été",
	    "日本語のテキストはとても長い件名になることがあり、一行に収まらないので、何行にも分けて折り返されます",
	    "Emoji 🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉 at every place where a cut could fall 🎉",
	    "=?UTF-8?B?not a word?=",
	    "tab\tinside",
	    "é",
	};
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		rf_dbuf b = RF_DBUF_INIT(8192);
		assert_int_equal(rf_mime_header(&b, "Subject", texts[i]), RF_OK);
		assert_memory_equal(built(&b), "Subject: =?UTF-8?B?", 19);
		char *back = unfold_decode(b.p, 7);
		assert_string_equal(back, texts[i]);
		free(back);
		rf_dbuf_free(&b);
	}
}

static void random_text_round_trips(void **state)
{
	(void)state;
	/* Characters of 1 to 4 bytes in random order and lengths: every cut falls between characters. */
	static const char *const chars[] = {"a", " ", "é", "ß", "€", "日", "🎉", "Z", "ü"};
	uint32_t seed = 12345;
	for (int round = 0; round < 300; round++) {
		char text[1200] = "";
		size_t k = 0;
		seed = seed * 1103515245u + 12345u;
		int count = 1 + (int)(seed >> 16) % 200;
		for (int j = 0; j < count; j++) {
			seed = seed * 1103515245u + 12345u;
			const char *c = chars[(seed >> 16) % (sizeof chars / sizeof chars[0])];
			size_t cl = strlen(c);
			memcpy(text + k, c, cl);
			k += cl;
		}
		text[k] = '\0';
		rf_dbuf b = RF_DBUF_INIT(65536);
		assert_int_equal(rf_mime_header(&b, "Subject", text), RF_OK);
		char *back = unfold_decode(b.p, 7);
		assert_string_equal(back, text);
		free(back);
		rf_dbuf_free(&b);
	}
}

static void header_injection_is_refused(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(4096);
	assert_int_equal(rf_mime_header(&b, "Subject", "hello\r\nBcc: victim@example.com"), RF_EINVAL);
	assert_int_equal(rf_mime_header(&b, "Subject", "line\nbreak"), RF_EINVAL);
	assert_int_equal(rf_mime_header(&b, "Bad Name", "x"), RF_EINVAL);
	assert_int_equal(rf_mime_header(&b, "Sub:ject", "x"), RF_EINVAL);
	assert_int_equal(rf_mime_address_header(&b, "To", "Eve\r\nBcc: x@y.example", "eve@example.com"), RF_EINVAL);
	assert_int_equal(rf_mime_address_header(&b, "To", NULL, "eve@example.com>\r\nBcc: x@y.example"), RF_EINVAL);
	/* Nothing was written by the refused calls. */
	assert_int_equal(b.len, 0);
	rf_dbuf_free(&b);
}

static void addresses(void **state)
{
	(void)state;
	assert_true(rf_mime_addr_ok("marie@curie.example"));
	assert_true(rf_mime_addr_ok("a+tag@sub.example.org"));
	assert_false(rf_mime_addr_ok("no-at.example"));
	assert_false(rf_mime_addr_ok("two@at@example"));
	assert_false(rf_mime_addr_ok("@example.org"));
	assert_false(rf_mime_addr_ok("a@"));
	assert_false(rf_mime_addr_ok("sp ace@example.org"));
	assert_false(rf_mime_addr_ok("a@b>.example"));
	assert_false(rf_mime_addr_ok("é@example.org"));
	assert_false(rf_mime_addr_ok(NULL));

	rf_dbuf b = RF_DBUF_INIT(4096);
	assert_int_equal(rf_mime_address_header(&b, "To", NULL, "marie@curie.example"), RF_OK);
	assert_int_equal(rf_mime_address_header(&b, "To", "", "marie@curie.example"), RF_OK);
	assert_int_equal(rf_mime_address_header(&b, "From", "Spring \"Referrals\" \\ Co", "refd@acme.example"), RF_OK);
	assert_string_equal(built(&b), "To: marie@curie.example\r\nTo: marie@curie.example\r\n"
				       "From: \"Spring \\\"Referrals\\\" \\\\ Co\" <refd@acme.example>\r\n");
	rf_dbuf_free(&b);
	assert_int_equal(rf_mime_address_header(&b, "To", "Zoë Ångström", "zoe@example.org"), RF_OK);
	assert_memory_equal(built(&b), "To: =?UTF-8?B?", 14);
	assert_non_null(strstr(b.p, "?= <zoe@example.org>\r\n"));
	rf_dbuf_free(&b);
	/* A long encoded name puts the address on a line of its own when it does not fit after it. */
	assert_int_equal(rf_mime_address_header(&b, "To",
						"Ärzte ohne Grenzen, Regionalbüro Süd-West, Abteilung Partner",
						"partnerprogramme.regionalbuero-sued-west@aerzte.example"),
			 RF_OK);
	char *back = unfold_decode(b.p, 2);
	assert_string_equal(back, "Ärzte ohne Grenzen, Regionalbüro Süd-West, Abteilung Partner "
				  "<partnerprogramme.regionalbuero-sued-west@aerzte.example>");
	free(back);
	rf_dbuf_free(&b);
}

static void mailboxes_parse(void **state)
{
	(void)state;
	char name[64], addr[RF_MIME_ADDR_MAX + 1];
	assert_int_equal(rf_mime_parse_mailbox("refd@acme.example", name, sizeof name, addr, sizeof addr), RF_OK);
	assert_string_equal(name, "");
	assert_string_equal(addr, "refd@acme.example");
	assert_int_equal(
	    rf_mime_parse_mailbox("  Acme Partners <partners@acme.example> ", name, sizeof name, addr, sizeof addr),
	    RF_OK);
	assert_string_equal(name, "Acme Partners");
	assert_string_equal(addr, "partners@acme.example");
	assert_int_equal(rf_mime_parse_mailbox("\"Acme, Inc.\" <p@acme.example>", name, sizeof name, addr, sizeof addr),
			 RF_OK);
	assert_string_equal(name, "Acme, Inc.");
	assert_int_equal(rf_mime_parse_mailbox("Équipe <e@acme.example>", name, sizeof name, addr, sizeof addr), RF_OK);
	assert_string_equal(name, "Équipe");
	assert_int_equal(rf_mime_parse_mailbox("<p@acme.example>", name, sizeof name, addr, sizeof addr), RF_OK);
	assert_string_equal(name, "");
	const char *bad[] = {
	    "", "Acme", "Acme <>", "Acme <no-at>", "a@b.example, c@d.example", "Acme <a@b.example", "x\r\n@y.example"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(rf_mime_parse_mailbox(bad[i], name, sizeof name, addr, sizeof addr), RF_EINVAL);
	assert_int_equal(
	    rf_mime_parse_mailbox("A very long display name indeed <p@acme.example>", name, 8, addr, sizeof addr),
	    RF_EINVAL);
}

static void qp_round_trip(const char *text, const char *want_back)
{
	rf_dbuf b = RF_DBUF_INIT(1 << 20);
	assert_int_equal(rf_mime_qp(&b, text), RF_OK);
	const char *enc = built(&b);
	/* Every line within 76 characters, only printable ASCII, no space or tab before a line end. */
	size_t col = 0;
	for (const char *p = enc; *p; p++) {
		if (p[0] == '\r') {
			assert_int_equal(p[1], '\n');
			assert_true(col <= 76);
			if (p > enc)
				assert_true(p[-1] != ' ' && p[-1] != '\t');
			col = 0;
			p++;
			continue;
		}
		assert_true((*p >= 0x20 && *p < 0x7f) || *p == '\t');
		col++;
	}
	assert_true(col <= 76);
	rf_dbuf d = RF_DBUF_INIT(1 << 20);
	assert_int_equal(rf_mime_qp_decode(&d, enc), RF_OK);
	assert_string_equal(built(&d), want_back);
	rf_dbuf_free(&d);
	rf_dbuf_free(&b);
}

static void quoted_printable(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(4096);
	assert_int_equal(rf_mime_qp(&b, "a=b café\n.hidden\nFrom here\ntrailing \nend\t"), RF_OK);
	assert_string_equal(built(&b), "a=3Db caf=C3=A9\r\n=2Ehidden\r\n=46rom here\r\ntrailing=20\r\nend=09");
	rf_dbuf_free(&b);
	qp_round_trip("", "");
	qp_round_trip("plain line", "plain line");
	qp_round_trip("CRLF\r\nand LF\nmixed\r\n", "CRLF\nand LF\nmixed\n");
	qp_round_trip("lone\rCR", "lone\rCR");
	char longline[2000];
	for (int i = 0; i < 1999; i++)
		longline[i] = "abc= é"[i % 6];
	longline[1999] = '\0';
	/* The é is two bytes: cut the line where it ends. */
	qp_round_trip(longline, longline);
	char spaces[300];
	memset(spaces, ' ', sizeof spaces - 1);
	spaces[sizeof spaces - 1] = '\0';
	qp_round_trip(spaces, spaces);
	char dots[400];
	for (int i = 0; i < 399; i++)
		dots[i] = '.';
	dots[399] = '\0';
	qp_round_trip(dots, dots);
	/* A broken escape is refused when decoding. */
	assert_int_equal(rf_mime_qp_decode(&b, "bad =ZZ"), RF_EINVAL);
	rf_dbuf_free(&b);
}

static void dates(void **state)
{
	(void)state;
	char d[RF_MIME_DATE_LEN];
	rf_mime_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	rf_mime_date(1772524805000LL, d);
	assert_string_equal(d, "Tue, 03 Mar 2026 08:00:05 +0000");
	rf_mime_date(951825600000LL, d);
	assert_string_equal(d, "Tue, 29 Feb 2000 12:00:00 +0000");
	rf_mime_date(-1000, d);
	assert_string_equal(d, "Wed, 31 Dec 1969 23:59:59 +0000");
}

static void whole_message(void **state)
{
	(void)state;
	rf_mime_field extra[] = {{"List-Unsubscribe", "<https://refer.example/api/v1/unsubscribe?token=t>"},
				 {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
	rf_mime_message m = {.from_name = "Acme Partners",
			     .from_addr = "partners@acme.example",
			     .to_name = "Zoë",
			     .to_addr = "zoe@example.org",
			     .subject = "Bienvenue, Zoë",
			     .message_id = "<abc123@refer.example>",
			     .date_ms = 1772524805000LL,
			     .extra = extra,
			     .n_extra = 2,
			     .text = "Hello Zoë,\n\n.see you\n",
			     .html = "<p>Hello Zo&euml;</p>",
			     .boundary = "=_refd_b0und"};
	rf_dbuf b = RF_DBUF_INIT(1 << 16);
	rf_err err = {0};
	assert_int_equal(rf_mime_build(&b, &m, &err), RF_OK);
	const char *msg = built(&b);
	assert_non_null(strstr(msg, "Date: Tue, 03 Mar 2026 08:00:05 +0000\r\n"));
	assert_non_null(strstr(msg, "From: \"Acme Partners\" <partners@acme.example>\r\n"));
	assert_non_null(strstr(msg, "To: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "Message-ID: <abc123@refer.example>\r\nMIME-Version: 1.0\r\n"));
	assert_non_null(strstr(msg, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
	assert_non_null(strstr(msg, "Content-Type: multipart/alternative; boundary=\"=_refd_b0und\"\r\n\r\n"));
	const char *text =
	    strstr(msg, "--=_refd_b0und\r\nContent-Type: text/plain; charset=utf-8\r\n"
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nHello Zo=C3=AB,\r\n\r\n=2Esee "
			"you\r\n\r\n");
	const char *html = strstr(msg, "--=_refd_b0und\r\nContent-Type: text/html; charset=utf-8\r\n");
	assert_non_null(text);
	assert_non_null(html);
	assert_true(text < html);
	size_t n = strlen(msg);
	assert_string_equal(msg + n - 18, "--=_refd_b0und--\r\n");
	/* Every line ends with CRLF and none passes 998 characters. */
	size_t col = 0;
	for (const char *p = msg; *p; p++) {
		if (*p == '\n') {
			assert_int_equal(p[-1], '\r');
			col = 0;
		} else {
			assert_true(++col <= 998);
		}
	}
	rf_dbuf_free(&b);

	/* What cannot go into a header is refused, naming it. */
	rf_mime_message bad = m;
	bad.subject = "x\r\nBcc: y@z.example";
	assert_int_equal(rf_mime_build(&b, &bad, &err), RF_EINVAL);
	assert_string_equal(err.field, "subject");
	bad = m;
	bad.to_addr = "not an address";
	assert_int_equal(rf_mime_build(&b, &bad, &err), RF_EINVAL);
	assert_string_equal(err.field, "to");
	bad = m;
	bad.message_id = "abc";
	assert_int_equal(rf_mime_build(&b, &bad, &err), RF_EINVAL);
	bad = m;
	bad.boundary = "has space";
	assert_int_equal(rf_mime_build(&b, &bad, &err), RF_EINVAL);
	rf_mime_field evil[] = {{"X-Test", "ok\r\nBcc: y@z.example"}};
	bad = m;
	bad.extra = evil;
	bad.n_extra = 1;
	assert_int_equal(rf_mime_build(&b, &bad, &err), RF_EINVAL);
	rf_dbuf_free(&b);
	/* A message past the buffer's cap fails as a whole. */
	rf_dbuf small = RF_DBUF_INIT(200);
	assert_int_equal(rf_mime_build(&small, &m, &err), RF_ETOOBIG);
	rf_dbuf_free(&small);
}

static void html_escaping(void **state)
{
	(void)state;
	rf_dbuf b = RF_DBUF_INIT(4096);
	assert_int_equal(rf_mime_html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>"), RF_OK);
	assert_string_equal(built(&b), "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	rf_dbuf_free(&b);
	assert_int_equal(rf_mime_html_escape(&b, NULL), RF_OK);
	rf_dbuf_free(&b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(needs_encoding),
	    cmocka_unit_test(ascii_subjects_fold_at_spaces),
	    cmocka_unit_test(other_subjects_become_encoded_words),
	    cmocka_unit_test(random_text_round_trips),
	    cmocka_unit_test(header_injection_is_refused),
	    cmocka_unit_test(addresses),
	    cmocka_unit_test(mailboxes_parse),
	    cmocka_unit_test(quoted_printable),
	    cmocka_unit_test(dates),
	    cmocka_unit_test(whole_message),
	    cmocka_unit_test(html_escaping),
	};
	return cmocka_run_group_tests_name("mime", tests, NULL, NULL);
}
