/* SPDX-License-Identifier: Apache-2.0 */
/* Reading CSV (RFC 4180) as a stream, one row at a time, for the imports: quoted fields with doubled quotes,
 * commas and line breaks inside them, CRLF or LF line endings, a UTF-8 byte order mark skipped, every field
 * checked to be UTF-8 without NUL bytes, hard caps on a field, a row and the number of fields, and the line and
 * column of every problem. Only the row being read is held in memory, never the whole input. */
#ifndef RF_CSVREAD_H
#define RF_CSVREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The caps (0 for each default). */
typedef struct {
	size_t max_field;  /* bytes of one field once unquoted; default 64 KiB */
	size_t max_row;    /* bytes of one row's fields together; default 1 MiB */
	size_t max_fields; /* fields in one row; default 1,000 */
	bool same_width;   /* every row must have as many fields as the first (the header) */
} rf_csv_limits;

#define RF_CSV_MAX_FIELD_DEFAULT (64u << 10)
#define RF_CSV_MAX_ROW_DEFAULT (1u << 20)
#define RF_CSV_MAX_FIELDS_DEFAULT 1000u

/* Where the bytes come from: fills buf with up to cap bytes and returns how many, 0 at the end of the input, or
 * -1 when it cannot be read (the reader then fails with RF_CSV_FAIL). */
typedef long (*rf_csv_source)(void *arg, char *buf, size_t cap);

typedef enum {
	RF_CSV_ROW, /* a row was read */
	RF_CSV_BAD, /* a row was read but is not well-formed (err says where and why); reading may go on */
	RF_CSV_END, /* no more rows */
	RF_CSV_FAIL /* the input cannot be read further (err says why): a failing source, out of memory, UTF-16 */
} rf_csv_result;

/* Where a problem is. */
typedef struct {
	int64_t line;     /* 1-based line of the input (a line break inside a quoted field starts a new one) */
	int64_t column;   /* 1-based field of the row (0 when the problem is not in one field) */
	int64_t position; /* 1-based character on that line (0 when not about one character) */
	int64_t offset;   /* bytes of the input before the problem */
	char message[200];
} rf_csv_error;

typedef struct {
	size_t n;          /* fields (0 for a bad row) */
	const char **f;    /* the fields, each NUL-terminated; valid until the next call */
	const size_t *len; /* their lengths */
	int64_t line;      /* the line the row starts on */
	rf_csv_error err;  /* for RF_CSV_BAD and RF_CSV_FAIL */
} rf_csv_row;

typedef struct rf_csv_reader rf_csv_reader;

/* A reader of src with the caps of lim (NULL for the defaults); NULL when out of memory. Free it with
 * rf_csv_reader_free. */
rf_csv_reader *rf_csv_reader_new(rf_csv_source src, void *arg, const rf_csv_limits *lim);
void rf_csv_reader_free(rf_csv_reader *r);

/* Reads the next row into *row. Lines without a single character are skipped. After a bad row, the reader has
 * gone on to the end of that row (following the quotes as written), so the next call reads the row after it; an
 * unterminated quoted field runs to the end of the input. After RF_CSV_END or RF_CSV_FAIL, every call returns the
 * same. */
rf_csv_result rf_csv_next(rf_csv_reader *r, rf_csv_row *row);

/* Bytes of the input read so far (for progress). */
int64_t rf_csv_offset(const rf_csv_reader *r);

/* A source over bytes in memory: set p and len, pos 0. */
typedef struct {
	const char *p;
	size_t len, pos;
} rf_csv_mem;
long rf_csv_mem_read(void *arg, char *buf, size_t cap);

#endif
