/* SPDX-License-Identifier: Apache-2.0 */
/* The capped, fail-once growable buffer of dbuf.h. */
#include "dbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rf_dbuf_init(rf_dbuf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
	b->st = RF_OK;
}

static void fail(rf_dbuf *b, rf_status st)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->st = st;
}

char *rf_dbuf_reserve(rf_dbuf *b, size_t need)
{
	if (b->st != RF_OK)
		return NULL;
	if (need > b->max || b->len > b->max - need) {
		fail(b, RF_ETOOBIG);
		return NULL;
	}
	/* One byte more for the NUL that always follows the contents. */
	size_t want = b->len + need + 1;
	if (want > b->cap) {
		size_t ncap = b->cap ? b->cap : 256;
		while (ncap < want)
			ncap = ncap > ((size_t)-1) / 2 ? want : ncap * 2;
		if (ncap > b->max + 1)
			ncap = b->max + 1;
		char *np = realloc(b->p, ncap);
		if (!np) {
			fail(b, RF_ENOMEM);
			return NULL;
		}
		b->p = np;
		b->cap = ncap;
	}
	return b->p + b->len;
}

void rf_dbuf_commit(rf_dbuf *b, size_t n)
{
	if (b->st != RF_OK || !b->p)
		return;
	b->len += n;
	b->p[b->len] = '\0';
}

rf_status rf_dbuf_add(rf_dbuf *b, const void *s, size_t n)
{
	char *at = rf_dbuf_reserve(b, n);
	if (!at)
		return b->st;
	if (n)
		memcpy(at, s, n);
	rf_dbuf_commit(b, n);
	return RF_OK;
}

rf_status rf_dbuf_adds(rf_dbuf *b, const char *s)
{
	return rf_dbuf_add(b, s ? s : "", s ? strlen(s) : 0);
}

rf_status rf_dbuf_addf(rf_dbuf *b, const char *fmt, ...)
{
	if (b->st != RF_OK)
		return b->st;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fail(b, RF_ENOMEM);
		return b->st;
	}
	char *at = rf_dbuf_reserve(b, (size_t)n);
	if (!at)
		return b->st;
	va_start(ap, fmt);
	vsnprintf(at, (size_t)n + 1, fmt, ap);
	va_end(ap);
	rf_dbuf_commit(b, (size_t)n);
	return RF_OK;
}

rf_status rf_dbuf_status(const rf_dbuf *b)
{
	return b->st;
}

rf_status rf_dbuf_take(rf_dbuf *b, char **out, size_t *len)
{
	rf_status st = b->st;
	if (st == RF_OK && !b->p) {
		/* Nothing was added: an empty string, still malloc'd like any other result. */
		if (rf_dbuf_reserve(b, 0))
			rf_dbuf_commit(b, 0);
		st = b->st;
	}
	if (st != RF_OK) {
		rf_dbuf_free(b);
		return st;
	}
	*out = b->p;
	*len = b->len;
	b->p = NULL;
	b->len = b->cap = 0;
	return RF_OK;
}

void rf_dbuf_free(rf_dbuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->st = RF_OK;
}
