/* SPDX-License-Identifier: Apache-2.0 */
/* A streaming RFC 4180 reader: a byte-at-a-time state machine over a small input buffer, building one row at a
 * time in a buffer of its own, with UTF-8 checked as the bytes go by. */
#include "csvread.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_SIZE (64u << 10)

typedef enum { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED } parse_state;

struct rf_csv_reader {
	rf_csv_source src;
	void *arg;
	rf_csv_limits lim;
	char in[IN_SIZE];
	size_t in_len, in_pos;
	bool eof, done, failed, started;
	int64_t offset; /* bytes consumed */
	int64_t line;   /* the line of the byte last read */
	int64_t pos;    /* characters of that line read so far */
	bool after_cr;  /* the byte last read was a CR: a LF next belongs to the same line break */
	bool skip_lf;   /* a row ended on a CR: a LF next is the rest of that line break */
	/* UTF-8: continuation bytes still expected, the code point so far, its least legal value, where it began. */
	int need;
	uint32_t cp, min;
	int64_t cp_line, cp_pos, cp_offset;
	/* The row being built: field bytes (each field NUL-terminated) and where each field starts. */
	char *buf;
	size_t len, cap;
	size_t *starts, *lens;
	const char **ptrs;
	size_t n, nslots;
	size_t field_len; /* bytes in the current field */
	bool field_full;  /* the current field reached its cap: the rest is dropped */
	bool row_full;    /* the row reached its cap */
	size_t width;     /* fields of the first row, when rows must all have as many */
	bool bad;
	rf_csv_error err;
};

rf_csv_reader *rf_csv_reader_new(rf_csv_source src, void *arg, const rf_csv_limits *lim)
{
	rf_csv_reader *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->src = src;
	r->arg = arg;
	if (lim)
		r->lim = *lim;
	if (!r->lim.max_field)
		r->lim.max_field = RF_CSV_MAX_FIELD_DEFAULT;
	if (!r->lim.max_row)
		r->lim.max_row = RF_CSV_MAX_ROW_DEFAULT;
	if (!r->lim.max_fields)
		r->lim.max_fields = RF_CSV_MAX_FIELDS_DEFAULT;
	r->line = 1;
	return r;
}

void rf_csv_reader_free(rf_csv_reader *r)
{
	if (!r)
		return;
	free(r->buf);
	free(r->starts);
	free(r->lens);
	free(r->ptrs);
	free(r);
}

int64_t rf_csv_offset(const rf_csv_reader *r)
{
	return r->offset;
}

long rf_csv_mem_read(void *arg, char *buf, size_t cap)
{
	rf_csv_mem *m = arg;
	size_t n = m->len - m->pos;
	if (n > cap)
		n = cap;
	if (n)
		memcpy(buf, m->p + m->pos, n);
	m->pos += n;
	return (long)n;
}

/* Records the row's first problem (later ones would only be its consequences). */
static void __attribute__((format(printf, 5, 6)))
problem(rf_csv_reader *r, int64_t line, int64_t position, int64_t offset, const char *fmt, ...)
{
	if (r->bad)
		return;
	r->bad = true;
	r->err.line = line;
	r->err.column = (int64_t)r->n + 1;
	r->err.position = position;
	r->err.offset = offset;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err.message, sizeof r->err.message, fmt, ap);
	va_end(ap);
}

/* The next byte (0..255), -1 at the end of the input, -2 when the source failed. Keeps the line and character
 * counts and checks UTF-8. */
static int next_byte(rf_csv_reader *r)
{
	if (r->in_pos == r->in_len) {
		if (r->eof)
			return -1;
		long got = r->src(r->arg, r->in, sizeof r->in);
		if (got < 0 || (size_t)got > sizeof r->in) {
			r->failed = true;
			return -2;
		}
		if (got == 0) {
			r->eof = true;
			return -1;
		}
		r->in_len = (size_t)got;
		r->in_pos = 0;
	}
	int c = (unsigned char)r->in[r->in_pos++];
	r->offset++;
	/* A byte that continues a character does not start one; any other byte does (a stray one too). */
	bool continues = r->need && (c & 0xC0) == 0x80;
	if (c == '\n') {
		if (!r->after_cr)
			r->line++;
		r->pos = 0;
		r->after_cr = false;
	} else if (c == '\r') {
		r->line++;
		r->pos = 0;
		r->after_cr = true;
	} else {
		r->after_cr = false;
		if (!continues)
			r->pos++;
	}
	/* UTF-8, strictly: no overlong forms, no surrogates, nothing past U+10FFFF, no NUL. */
	if (r->need) {
		if ((c & 0xC0) != 0x80) {
			problem(r, r->cp_line, r->cp_pos, r->cp_offset,
				"line %lld, character %lld: invalid UTF-8 (a sequence "
				"cut short); save the file as UTF-8",
				(long long)r->cp_line, (long long)r->cp_pos);
			r->need = 0;
		} else {
			r->cp = r->cp << 6 | (uint32_t)(c & 0x3F);
			if (--r->need == 0 &&
			    (r->cp < r->min || (r->cp >= 0xD800 && r->cp <= 0xDFFF) || r->cp > 0x10FFFF))
				problem(r, r->cp_line, r->cp_pos, r->cp_offset,
					"line %lld, character %lld: invalid UTF-8 (U+%04X is not a character one may "
					"write so); save the file as UTF-8",
					(long long)r->cp_line, (long long)r->cp_pos, (unsigned)r->cp);
			return c;
		}
	}
	if (c < 0x80) {
		if (c == 0)
			problem(r, r->line, r->pos, r->offset - 1,
				"line %lld, character %lld: a NUL byte, which no text may hold", (long long)r->line,
				(long long)r->pos);
		return c;
	}
	r->cp_line = r->line;
	r->cp_pos = r->pos;
	r->cp_offset = r->offset - 1;
	if (c >= 0xC2 && c <= 0xDF) {
		r->need = 1;
		r->min = 0x80;
		r->cp = (uint32_t)(c & 0x1F);
	} else if (c >= 0xE0 && c <= 0xEF) {
		r->need = 2;
		r->min = 0x800;
		r->cp = (uint32_t)(c & 0x0F);
	} else if (c >= 0xF0 && c <= 0xF4) {
		r->need = 3;
		r->min = 0x10000;
		r->cp = (uint32_t)(c & 0x07);
	} else {
		problem(r, r->line, r->pos, r->offset - 1,
			"line %lld, character %lld: invalid UTF-8 (the byte 0x%02X); save the file as UTF-8",
			(long long)r->line, (long long)r->pos, (unsigned)c);
	}
	return c;
}

/* Room for one more byte in the row buffer; false when out of memory. */
static bool room(rf_csv_reader *r)
{
	if (r->len < r->cap)
		return true;
	size_t cap = r->cap ? r->cap * 2 : 256;
	size_t most = r->lim.max_row + r->lim.max_fields + 1;
	if (cap > most)
		cap = most;
	if (cap <= r->len)
		return false;
	char *grown = realloc(r->buf, cap);
	if (!grown)
		return false;
	r->buf = grown;
	r->cap = cap;
	return true;
}

/* Adds a byte to the current field, within the caps. False when out of memory. */
static bool add(rf_csv_reader *r, int c)
{
	if (r->field_full || r->row_full || r->n >= r->lim.max_fields)
		return true;
	if (r->field_len >= r->lim.max_field) {
		problem(r, r->line, r->pos, r->offset - 1, "line %lld, column %zu: a field longer than %zu bytes",
			(long long)r->line, r->n + 1, r->lim.max_field);
		r->field_full = true;
		return true;
	}
	if (r->len - r->n >= r->lim.max_row) {
		problem(r, r->line, r->pos, r->offset - 1, "line %lld: a row longer than %zu bytes", (long long)r->line,
			r->lim.max_row);
		r->row_full = true;
		return true;
	}
	if (!room(r))
		return false;
	r->buf[r->len++] = (char)c;
	r->field_len++;
	return true;
}

/* Ends the current field. False when out of memory. */
static bool end_field(rf_csv_reader *r)
{
	if (r->n >= r->lim.max_fields) {
		r->n = r->lim.max_fields + 1; /* fields past the cap are dropped (next_field said so) */
		return true;
	}
	if (r->n == r->nslots) {
		size_t slots = r->nslots ? r->nslots * 2 : 16;
		if (slots > r->lim.max_fields)
			slots = r->lim.max_fields;
		size_t *s = realloc(r->starts, slots * sizeof *s);
		if (!s)
			return false;
		r->starts = s;
		size_t *l = realloc(r->lens, slots * sizeof *l);
		if (!l)
			return false;
		r->lens = l;
		const char **p = realloc((void *)r->ptrs, slots * sizeof *p);
		if (!p)
			return false;
		r->ptrs = p;
		r->nslots = slots;
	}
	if (!room(r))
		return false;
	r->buf[r->len++] = '\0';
	r->starts[r->n] = r->len - 1 - r->field_len;
	r->lens[r->n] = r->field_len;
	r->n++;
	r->field_len = 0;
	r->field_full = false;
	return true;
}

/* After a comma: one field more than the cap allows is a problem, found where it begins. */
static void next_field(rf_csv_reader *r)
{
	if (r->n == r->lim.max_fields)
		problem(r, r->line, r->pos, r->offset - 1, "line %lld, character %lld: more than %zu fields in a row",
			(long long)r->line, (long long)r->pos, r->lim.max_fields);
}

static rf_csv_result fail(rf_csv_reader *r, rf_csv_row *row, const char *message)
{
	r->done = r->failed = true;
	memset(&row->err, 0, sizeof row->err);
	row->err.line = r->line;
	row->err.offset = r->offset;
	snprintf(row->err.message, sizeof row->err.message, "%s", message);
	row->n = 0;
	return RF_CSV_FAIL;
}

/* Ends the row: checks its width and hands it over. */
static rf_csv_result end_row(rf_csv_reader *r, rf_csv_row *row, int64_t row_line)
{
	row->line = row_line;
	size_t n = r->n > r->lim.max_fields ? r->lim.max_fields : r->n;
	if (r->lim.same_width) {
		if (!r->width)
			r->width = n;
		else if (n != r->width && !r->bad) {
			r->bad = true;
			r->err.line = row_line;
			r->err.column = (int64_t)(n < r->width ? n : r->width) + 1;
			r->err.position = 0;
			r->err.offset = r->offset;
			snprintf(r->err.message, sizeof r->err.message,
				 "line %lld has %zu field%s where the first line has %zu", (long long)row_line, n,
				 n == 1 ? "" : "s", r->width);
		}
	}
	if (r->bad) {
		row->err = r->err;
		row->n = 0;
		return RF_CSV_BAD;
	}
	for (size_t i = 0; i < n; i++)
		r->ptrs[i] = r->buf + r->starts[i];
	row->n = n;
	row->f = r->ptrs;
	row->len = r->lens;
	memset(&row->err, 0, sizeof row->err);
	return RF_CSV_ROW;
}

/* Reads the first bytes: a UTF-8 byte order mark is skipped; UTF-16 is refused. 0, or -1 after failing. */
static int start(rf_csv_reader *r, rf_csv_row *row)
{
	r->started = true;
	while (r->in_len < 3 && !r->eof) {
		long got = r->src(r->arg, r->in + r->in_len, sizeof r->in - r->in_len);
		if (got < 0 || (size_t)got > sizeof r->in - r->in_len) {
			fail(r, row, "the input cannot be read");
			return -1;
		}
		if (got == 0)
			r->eof = true;
		r->in_len += (size_t)got;
	}
	const unsigned char *b = (const unsigned char *)r->in;
	if (r->in_len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
		r->in_pos = 3;
		r->offset = 3;
	} else if (r->in_len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
		fail(r, row, "the file is UTF-16; save it as UTF-8 (CSV UTF-8 in a spreadsheet's Save As)");
		return -1;
	}
	return 0;
}

rf_csv_result rf_csv_next(rf_csv_reader *r, rf_csv_row *row)
{
	if (r->done) {
		row->n = 0;
		return r->failed ? RF_CSV_FAIL : RF_CSV_END;
	}
	if (!r->started && start(r, row) != 0)
		return RF_CSV_FAIL;
	r->len = r->n = r->field_len = 0;
	r->field_full = r->row_full = r->bad = false;
	memset(&r->err, 0, sizeof r->err);
	parse_state st = FIELD_START;
	bool any = false; /* a byte of this row was read */
	int64_t row_line = r->line, quote_line = 0, quote_pos = 0;
	for (;;) {
		int c = next_byte(r);
		if (c == -2)
			return fail(r, row, "the input cannot be read");
		if (c == -1) {
			r->done = true;
			if (!any) {
				row->n = 0;
				return RF_CSV_END;
			}
			if (r->need) {
				problem(
				    r, r->cp_line, r->cp_pos, r->cp_offset,
				    "line %lld, character %lld: invalid UTF-8 (a sequence cut short); save the file as "
				    "UTF-8",
				    (long long)r->cp_line, (long long)r->cp_pos);
				r->need = 0;
			}
			if (st == QUOTED)
				problem(r, quote_line, quote_pos, r->offset,
					"line %lld, character %lld: the quoted field that starts here never ends (a "
					"quote is missing)",
					(long long)quote_line, (long long)quote_pos);
			if (!end_field(r))
				return fail(r, row, "out of memory");
			return end_row(r, row, row_line);
		}
		if (r->skip_lf) {
			r->skip_lf = false;
			if (c == '\n')
				continue;
		}
		if (!any) {
			/* A line without a single character is no row. */
			if (c == '\n' || c == '\r') {
				r->skip_lf = c == '\r';
				continue;
			}
			any = true;
			row_line = r->line;
		}
		bool eol = c == '\n' || c == '\r';
		switch (st) {
		case FIELD_START:
			if (c == '"') {
				st = QUOTED;
				quote_line = r->line;
				quote_pos = r->pos;
				continue;
			}
			/* Any other byte starts an unquoted field. */
			st = UNQUOTED;
			__attribute__((fallthrough));
		case UNQUOTED:
			if (c == ',' || eol) {
				if (!end_field(r))
					return fail(r, row, "out of memory");
				if (eol) {
					r->skip_lf = c == '\r';
					return end_row(r, row, row_line);
				}
				next_field(r);
				st = FIELD_START;
				continue;
			}
			if (c == '"')
				problem(r, r->line, r->pos, r->offset - 1,
					"line %lld, character %lld: a quote inside a field that does not start with "
					"one (quote the whole field and double the quotes inside it)",
					(long long)r->line, (long long)r->pos);
			if (!add(r, c))
				return fail(r, row, "out of memory");
			continue;
		case QUOTED:
			if (c == '"') {
				st = QUOTE_IN_QUOTED;
				continue;
			}
			if (!add(r, c))
				return fail(r, row, "out of memory");
			continue;
		case QUOTE_IN_QUOTED:
			if (c == '"') {
				if (!add(r, c))
					return fail(r, row, "out of memory");
				st = QUOTED;
				continue;
			}
			if (c == ',' || eol) {
				if (!end_field(r))
					return fail(r, row, "out of memory");
				if (eol) {
					r->skip_lf = c == '\r';
					return end_row(r, row, row_line);
				}
				next_field(r);
				st = FIELD_START;
				continue;
			}
			problem(
			    r, r->line, r->pos, r->offset - 1,
			    "line %lld, character %lld: text after the closing quote of a field (a comma or the end "
			    "of the line must follow it; double a quote meant inside the field)",
			    (long long)r->line, (long long)r->pos);
			if (!add(r, c))
				return fail(r, row, "out of memory");
			st = UNQUOTED;
			continue;
		}
	}
}
