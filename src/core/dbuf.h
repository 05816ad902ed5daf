/* SPDX-License-Identifier: Apache-2.0 */
/* A growable byte buffer with a hard size cap whose failures cannot pass unnoticed (the contract of curl's dynbuf):
 * the first failure frees the contents and sticks, later additions do nothing, and whoever finishes the buffer
 * reads its status before using it, so a truncated export can never leave as if it were whole. */
#ifndef RF_DBUF_H
#define RF_DBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

typedef struct {
	char *p;      /* the contents, NUL-terminated once anything was added; NULL after a failure */
	size_t len;   /* bytes in p, not counting the NUL */
	size_t cap;   /* bytes allocated */
	size_t max;   /* the cap on len */
	rf_status st; /* RF_OK, or the first failure: RF_ENOMEM, or RF_ETOOBIG when len would pass max */
} rf_dbuf;

/* An empty buffer that will hold at most max bytes. */
#define RF_DBUF_INIT(max_bytes)                \
	{                                      \
		NULL, 0, 0, (max_bytes), RF_OK \
	}
void rf_dbuf_init(rf_dbuf *b, size_t max);

/* Appends n bytes of s (which may hold NULs). Returns the buffer's status: after a failure nothing is appended and
 * the contents are gone. */
rf_status rf_dbuf_add(rf_dbuf *b, const void *s, size_t n);
/* Appends a NUL-terminated string (NULL appends nothing). */
rf_status rf_dbuf_adds(rf_dbuf *b, const char *s);
/* Appends printf-style text. */
rf_status rf_dbuf_addf(rf_dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Room to write need more bytes past len (and a NUL after them): where to write them, or NULL once the buffer has
 * failed (including now). rf_dbuf_commit then counts the n <= need bytes written. */
char *rf_dbuf_reserve(rf_dbuf *b, size_t need);
void rf_dbuf_commit(rf_dbuf *b, size_t n);

/* The buffer's status: RF_OK while everything added is there. */
__attribute__((warn_unused_result)) rf_status rf_dbuf_status(const rf_dbuf *b);

/* Hands the contents over: *out (malloc'd, NUL-terminated, never NULL on success; the caller frees it) and *len.
 * On a failed buffer returns its status and sets nothing. Either way the buffer is left empty. */
__attribute__((warn_unused_result)) rf_status rf_dbuf_take(rf_dbuf *b, char **out, size_t *len);

/* Frees the contents; the buffer may be used again (its status back to RF_OK). */
void rf_dbuf_free(rf_dbuf *b);

#endif
