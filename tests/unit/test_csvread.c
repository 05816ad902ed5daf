/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the streaming CSV reader: RFC 4180 quoting, line endings, the byte order mark, blank lines, every
 * kind of malformed input with its line and column, the caps, UTF-8, input that arrives a byte at a time, and that
 * what refd's CSV writer writes reads back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/csv.h"
#include "core/csvread.h"

/* A source that hands out at most `step` bytes per call. */
typedef struct {
	const char *p;
	size_t len, pos, step;
} trickle;

static long trickle_read(void *arg, char *buf, size_t cap)
{
	trickle *t = arg;
	size_t n = t->len - t->pos;
	if (n > t->step)
		n = t->step;
	if (n > cap)
		n = cap;
	memcpy(buf, t->p + t->pos, n);
	t->pos += n;
	return (long)n;
}

/* Reads every row of len bytes of in (step bytes per read) and renders them: "3:[a|b]" for a row starting on line
 * 3, "3!c2p5:message" for a bad one (line, column, character), "FAIL:message" at a failure; rows joined by " ". */
static char *render_lim(const char *in, size_t len, size_t step, const rf_csv_limits *lim)
{
	trickle t = {in, len, 0, step};
	rf_csv_reader *r = rf_csv_reader_new(trickle_read, &t, lim);
	assert_non_null(r);
	size_t cap = 4096, used = 0;
	char *out = calloc(1, cap);
	assert_non_null(out);
	for (int guard = 0; guard < 10000; guard++) {
		rf_csv_row row;
		rf_csv_result res = rf_csv_next(r, &row);
		char piece[1024];
		int k = 0;
		if (res == RF_CSV_END)
			break;
		if (res == RF_CSV_FAIL) {
			k = snprintf(piece, sizeof piece, "FAIL:%s", row.err.message);
		} else if (res == RF_CSV_BAD) {
			k = snprintf(piece, sizeof piece, "%lld!c%lldp%lld:%s", (long long)row.err.line,
				     (long long)row.err.column, (long long)row.err.position, row.err.message);
		} else {
			k = snprintf(piece, sizeof piece, "%lld:[", (long long)row.line);
			for (size_t i = 0; i < row.n; i++) {
				assert_int_equal(strlen(row.f[i]), row.len[i]);
				k += snprintf(piece + k, sizeof piece - (size_t)k, "%s%s", i ? "|" : "", row.f[i]);
			}
			k += snprintf(piece + k, sizeof piece - (size_t)k, "]");
		}
		while (used + (size_t)k + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		used += (size_t)snprintf(out + used, cap - used, "%s%s", used ? " " : "", piece);
		if (res == RF_CSV_FAIL)
			break;
	}
	rf_csv_reader_free(r);
	return out;
}

/* Checks that in reads as want, whole and a byte at a time. */
static void expect_lim(const char *in, size_t len, const rf_csv_limits *lim, const char *want)
{
	size_t steps[] = {1 << 20, 1, 2, 7};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		char *got = render_lim(in, len, steps[i], lim);
		if (strcmp(got, want) != 0)
			fail_msg("reading %s in steps of %zu:\n got: %s\nwant: %s", in, steps[i], got, want);
		free(got);
	}
}

static void expect_rows(const char *in, const char *want)
{
	expect_lim(in, strlen(in), NULL, want);
}

static void plain_rows_and_line_endings(void **state)
{
	(void)state;
	expect_rows("a,b,c\n1,2,3\n", "1:[a|b|c] 2:[1|2|3]");
	expect_rows("a,b,c\r\n1,2,3\r\n", "1:[a|b|c] 2:[1|2|3]");
	/* The last line needs no line break; a lone CR ends a line too. */
	expect_rows("a,b\n1,2", "1:[a|b] 2:[1|2]");
	expect_rows("a,b\r1,2\r3,4", "1:[a|b] 2:[1|2] 3:[3|4]");
	/* Empty fields, a trailing comma, spaces kept as they are. */
	expect_rows(",a,,\n x , y\n", "1:[|a||] 2:[ x | y]");
	expect_rows("", "");
}

static void quoted_fields(void **state)
{
	(void)state;
	expect_rows("\"a,b\",\"say \"\"hi\"\"\",\"\"\n", "1:[a,b|say \"hi\"|]");
	/* Line breaks inside quotes are part of the field and count as lines. */
	expect_rows("name,note\n\"Ann\",\"two\nlines\"\nBob,x\n", "1:[name|note] 2:[Ann|two\nlines] 4:[Bob|x]");
	expect_rows("\"a\r\nb\",c\r\nd,e\r\n", "1:[a\r\nb|c] 3:[d|e]");
	/* A field that is only a pair of quotes is an empty field, not a blank line. */
	expect_rows("\"\"\n", "1:[]");
}

static void bom_and_blank_lines(void **state)
{
	(void)state;
	expect_rows("\xEF\xBB\xBF"
		    "email,name\nx@y.example,X\n",
		    "1:[email|name] 2:[x@y.example|X]");
	/* Only at the start: elsewhere U+FEFF is a character like any other. */
	expect_rows("a\n\xEF\xBB\xBF"
		    "b\n",
		    "1:[a] 2:[\xEF\xBB\xBF"
		    "b]");
	expect_rows("\n\na,b\n\r\n\n1,2\n\n", "3:[a|b] 6:[1|2]");
	expect_rows("\xEF\xBB\xBF", "");
	expect_rows("\xFF\xFE"
		    "a\0,\0",
		    "FAIL:the file is UTF-16; save it as UTF-8 (CSV UTF-8 in a spreadsheet's Save As)");
}

static void malformed_quotes(void **state)
{
	(void)state;
	expect_rows("a,b\n\"open,c\nd,e\n",
		    "1:[a|b] 2!c1p1:line 2, character 1: the quoted field that starts here never ends (a quote is "
		    "missing)");
	expect_rows("a,b\nx\"y,z\nok,1\n",
		    "1:[a|b] 2!c1p2:line 2, character 2: a quote inside a field that does not start with one (quote "
		    "the whole field and double the quotes inside it) 3:[ok|1]");
	expect_rows("a,b\n\"x\"y,z\nok,1\n",
		    "1:[a|b] 2!c1p4:line 2, character 4: text after the closing quote of a field (a comma or the end "
		    "of the line must follow it; double a quote meant inside the field) 3:[ok|1]");
	/* The reader follows the quotes of a bad row to its real end. */
	expect_rows("a,b\n\"x\"y,\"1\n2\"\nok,1\n",
		    "1:[a|b] 2!c1p4:line 2, character 4: text after the closing quote of a field (a comma or the end "
		    "of the line must follow it; double a quote meant inside the field) 4:[ok|1]");
}

static void wrong_widths(void **state)
{
	(void)state;
	rf_csv_limits lim = {.same_width = true};
	const char *in = "a,b,c\n1,2\n1,2,3,4\n1,2,3\n";
	expect_lim(in, strlen(in), &lim,
		   "1:[a|b|c] 2!c3p0:line 2 has 2 fields where the first line has 3 "
		   "3!c4p0:line 3 has 4 fields where the first line has 3 4:[1|2|3]");
	/* Without the rule, rows may differ. */
	expect_rows(in, "1:[a|b|c] 2:[1|2] 3:[1|2|3|4] 4:[1|2|3]");
}

static void caps(void **state)
{
	(void)state;
	rf_csv_limits lim = {.max_field = 8, .max_row = 12, .max_fields = 3};
	const char *in = "12345678,x\n123456789,x\nok\n\"1234567\"\"\",y\n1234,5678,12345\n1,2,3,4\nend\n";
	expect_lim(in, strlen(in), &lim,
		   "1:[12345678|x] 2!c1p9:line 2, column 1: a field longer than 8 bytes 3:[ok] 4:[1234567\"|y] "
		   "5!c3p15:line 5: a row longer than 12 bytes 6!c4p6:line 6, character 6: more than 3 fields in a row "
		   "7:[end]");
	/* A very long field (1 MiB) with the default caps, then a normal row. */
	size_t big = (1u << 20) + 10;
	char *s = malloc(big + 16);
	assert_non_null(s);
	memset(s, 'x', big);
	memcpy(s + big, "\nok\n", 5);
	char *got = render_lim(s, big + 4, 1 << 20, NULL);
	assert_string_equal(got, "1!c1p65537:line 1, column 1: a field longer than 65536 bytes 2:[ok]");
	free(got);
	free(s);
}

static void utf8_is_checked(void **state)
{
	(void)state;
	expect_rows("name\nCaf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80\n",
		    "1:[name] 2:[Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80]");
	expect_rows("a\nab\xFF"
		    "c\nok\n",
		    "1:[a] 2!c1p3:line 2, character 3: invalid UTF-8 (the byte 0xFF); save the file as UTF-8 3:[ok]");
	/* An overlong form and a surrogate. */
	expect_rows("x,\xC0\xAF\n",
		    "1!c2p3:line 1, character 3: invalid UTF-8 (the byte 0xC0); save the file as UTF-8");
	expect_rows("x,y\xED\xA0\x80\n",
		    "1!c2p4:line 1, character 4: invalid UTF-8 (U+D800 is not a character one may write so); save the "
		    "file as UTF-8");
	/* A sequence cut short, inside a row and at the very end. */
	expect_rows("\xC3(\nok\n",
		    "1!c1p1:line 1, character 1: invalid UTF-8 (a sequence cut short); save the file as UTF-8 2:[ok]");
	expect_rows("ab\xE6\x97",
		    "1!c1p3:line 1, character 3: invalid UTF-8 (a sequence cut short); save the file as UTF-8");
	const char nul[] = "a,b\0c\nok\n";
	expect_lim(nul, sizeof nul - 1, NULL, "1!c2p4:line 1, character 4: a NUL byte, which no text may hold 2:[ok]");
}

static long broken_source(void *arg, char *buf, size_t cap)
{
	int *calls = arg;
	if ((*calls)++ == 0) {
		const char part[] = "a,b\n1,";
		size_t n = sizeof part - 1 < cap ? sizeof part - 1 : cap;
		memcpy(buf, part, n);
		return (long)n;
	}
	return -1;
}

static void a_failing_source_fails(void **state)
{
	(void)state;
	int calls = 0;
	rf_csv_reader *r = rf_csv_reader_new(broken_source, &calls, NULL);
	rf_csv_row row;
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_ROW);
	assert_int_equal(row.n, 2);
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_FAIL);
	assert_string_equal(row.err.message, "the input cannot be read");
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_FAIL);
	rf_csv_reader_free(r);
}

static void offsets_follow_the_input(void **state)
{
	(void)state;
	const char in[] = "\xEF\xBB\xBF"
			  "a,b\r\n1,2\r\n";
	rf_csv_mem m = {in, sizeof in - 1, 0};
	rf_csv_reader *r = rf_csv_reader_new(rf_csv_mem_read, &m, NULL);
	rf_csv_row row;
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_ROW);
	/* The LF of the CRLF is read with the next row. */
	assert_int_equal(rf_csv_offset(r), 7);
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_ROW);
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_END);
	assert_int_equal(rf_csv_offset(r), (int64_t)(sizeof in - 1));
	rf_csv_reader_free(r);
}

static void what_the_writer_writes_reads_back(void **state)
{
	(void)state;
	const char *cells[] = {
	    "plain",  "with,comma", "say \"hi\"", "two\nlines", "crlf\r\ninside", "", "=HYPERLINK(\"http://x\")",
	    "+1 555", "-3",         "@home",      "\ttab",      "Caf\xC3\xA9"};
	size_t n = sizeof cells / sizeof cells[0];
	rf_dbuf b = RF_DBUF_INIT(1 << 16);
	for (int rowi = 0; rowi < 3; rowi++)
		for (size_t i = 0; i < n; i++)
			rf_csv_cell(&b, cells[i], i == n - 1);
	char *text = NULL;
	size_t len = 0;
	assert_int_equal(rf_dbuf_take(&b, &text, &len), RF_OK);
	rf_csv_mem m = {text, len, 0};
	rf_csv_limits lim = {.same_width = true};
	rf_csv_reader *r = rf_csv_reader_new(rf_csv_mem_read, &m, &lim);
	for (int rowi = 0; rowi < 3; rowi++) {
		rf_csv_row row;
		assert_int_equal(rf_csv_next(r, &row), RF_CSV_ROW);
		assert_int_equal(row.n, n);
		for (size_t i = 0; i < n; i++) {
			/* A cell a spreadsheet would run as a formula comes back with the writer's guard before it. */
			bool guarded = strchr("=+-@\t\r", cells[i][0]) && cells[i][0];
			char want[64];
			snprintf(want, sizeof want, "%s%s", guarded ? "'" : "", cells[i]);
			assert_string_equal(row.f[i], want);
		}
	}
	rf_csv_row row;
	assert_int_equal(rf_csv_next(r, &row), RF_CSV_END);
	rf_csv_reader_free(r);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_rows_and_line_endings),
	    cmocka_unit_test(quoted_fields),
	    cmocka_unit_test(bom_and_blank_lines),
	    cmocka_unit_test(malformed_quotes),
	    cmocka_unit_test(wrong_widths),
	    cmocka_unit_test(caps),
	    cmocka_unit_test(utf8_is_checked),
	    cmocka_unit_test(a_failing_source_fails),
	    cmocka_unit_test(offsets_follow_the_input),
	    cmocka_unit_test(what_the_writer_writes_reads_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
