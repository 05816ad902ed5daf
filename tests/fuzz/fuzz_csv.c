/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the CSV reader and writer. Properties: any input reads the same whole and in pieces of any
 * size; every field read is UTF-8 without NUL bytes and within the caps; and cells written by refd's CSV writer
 * read back as they were written (with the writer's guard before a cell a spreadsheet would run as a formula). */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/csv.h"
#include "core/csvread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A source that hands out pieces of sizes taken from a seed. */
typedef struct {
	const char *p;
	size_t len, pos;
	uint32_t seed;
} pieces;

static long pieces_read(void *arg, char *buf, size_t cap)
{
	pieces *s = arg;
	s->seed = s->seed * 1103515245u + 12345u;
	size_t n = 1 + (s->seed >> 16) % 97;
	if (n > s->len - s->pos)
		n = s->len - s->pos;
	if (n > cap)
		n = cap;
	memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k;
		uint32_t cp, min;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			k = 1, cp = c & 0x1F, min = 0x80;
		else if (c >= 0xE0 && c <= 0xEF)
			k = 2, cp = c & 0x0F, min = 0x800;
		else if (c >= 0xF0 && c <= 0xF4)
			k = 3, cp = c & 0x07, min = 0x10000;
		else
			return false;
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += k + 1;
	}
	return true;
}

/* Renders every result of reading src into out (a running hash is enough to compare two readings). */
static uint64_t read_all(rf_csv_source src, void *arg, const rf_csv_limits *lim, size_t *rows)
{
	rf_csv_reader *r = rf_csv_reader_new(src, arg, lim);
	if (!r)
		abort();
	uint64_t h = 1469598103934665603ull;
#define MIX(x) (h = (h ^ (uint64_t)(x)) * 1099511628211ull)
	*rows = 0;
	for (;;) {
		rf_csv_row row;
		rf_csv_result res = rf_csv_next(r, &row);
		MIX(res);
		if (res == RF_CSV_END || res == RF_CSV_FAIL) {
			MIX(rf_csv_offset(r));
			break;
		}
		(*rows)++;
		MIX(row.line);
		if (res == RF_CSV_BAD) {
			MIX(row.err.line);
			MIX(row.err.column);
			MIX(row.err.position);
			for (const char *m = row.err.message; *m; m++)
				MIX(*m);
			if (row.err.line < 1 || !row.err.message[0])
				abort();
			continue;
		}
		if (row.n == 0 || row.n > lim->max_fields)
			abort();
		for (size_t i = 0; i < row.n; i++) {
			if (row.len[i] > lim->max_field || strlen(row.f[i]) != row.len[i] ||
			    !utf8_ok((const unsigned char *)row.f[i], row.len[i]))
				abort();
			MIX(row.len[i]);
			for (size_t j = 0; j < row.len[i]; j++)
				MIX(row.f[i][j]);
		}
	}
#undef MIX
	rf_csv_reader_free(r);
	return h;
}

/* The cells of data: rows split at 0x1E, cells at 0x1F; written with the writer, read back, compared. */
static void round_trip(const char *data, size_t size)
{
	rf_dbuf b = RF_DBUF_INIT(1 << 20);
	size_t nrows = 0;
	for (size_t i = 0; i <= size;) {
		size_t row_end = i;
		while (row_end < size && data[row_end] != 0x1E)
			row_end++;
		for (size_t c = i; c <= row_end;) {
			size_t cell_end = c;
			while (cell_end < row_end && data[cell_end] != 0x1F)
				cell_end++;
			char *cell = strndup(data + c, cell_end - c);
			if (!cell)
				abort();
			rf_csv_cell(&b, cell, cell_end == row_end);
			free(cell);
			c = cell_end + 1;
		}
		nrows++;
		i = row_end + 1;
	}
	char *text = NULL;
	size_t len = 0;
	if (rf_dbuf_take(&b, &text, &len) != RF_OK)
		return;
	rf_csv_mem m = {text, len, 0};
	rf_csv_limits lim = {.max_field = 1 << 20, .max_row = 1 << 21, .max_fields = 1 << 16};
	rf_csv_reader *r = rf_csv_reader_new(rf_csv_mem_read, &m, &lim);
	if (!r)
		abort();
	size_t i = 0;
	for (size_t n = 0; n < nrows; n++) {
		rf_csv_row row;
		if (rf_csv_next(r, &row) != RF_CSV_ROW)
			abort();
		size_t row_end = i;
		while (row_end < size && data[row_end] != 0x1E)
			row_end++;
		size_t k = 0;
		for (size_t c = i; c <= row_end; k++) {
			size_t cell_end = c;
			while (cell_end < row_end && data[cell_end] != 0x1F)
				cell_end++;
			if (k >= row.n)
				abort();
			const char *cell = data + c;
			size_t cl = cell_end - c;
			bool guarded = cl && strchr("=+-@\t\r", cell[0]);
			if (row.len[k] != cl + guarded || (guarded && row.f[k][0] != '\'') ||
			    memcmp(row.f[k] + guarded, cell, cl) != 0)
				abort();
			c = cell_end + 1;
		}
		if (k != row.n)
			abort();
		i = row_end + 1;
	}
	rf_csv_row row;
	if (rf_csv_next(r, &row) != RF_CSV_END)
		abort();
	rf_csv_reader_free(r);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	const char *in = (const char *)data;
	/* Small caps, so that the fuzzer reaches them. */
	rf_csv_limits lim = {.max_field = 64, .max_row = 256, .max_fields = 16, .same_width = size && data[0] & 1};
	rf_csv_mem m = {in, size, 0};
	size_t rows_whole = 0, rows_pieces = 0;
	uint64_t whole = read_all(rf_csv_mem_read, &m, &lim, &rows_whole);
	pieces p = {in, size, 0, size ? data[size - 1] : 7u};
	uint64_t split = read_all(pieces_read, &p, &lim, &rows_pieces);
	if (whole != split || rows_whole != rows_pieces)
		abort();
	/* Cells that are text (UTF-8 without NUL) survive the writer and the reader. */
	if (utf8_ok(data, size))
		round_trip(in, size);
	return 0;
}
