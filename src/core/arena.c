/* SPDX-License-Identifier: Apache-2.0 */
/* The bump allocator behind per-request memory. */
#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rf_arena_chunk {
	rf_arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define RF_ARENA_CHUNK 8192u

void rf_arena_init(rf_arena *a, size_t limit)
{
	a->head = NULL;
	a->total = 0;
	a->limit = limit;
}

void *rf_arena_alloc(rf_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX - align)
		return NULL;
	n = (n + align - 1) / align * align;
	if (a->limit && (n > a->limit || a->total > a->limit - n))
		return NULL;
	rf_arena_chunk *c = a->head;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > RF_ARENA_CHUNK ? n : RF_ARENA_CHUNK;
		c = malloc(sizeof *c + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	a->total += n;
	memset(p, 0, n);
	return p;
}

char *rf_arena_strndup(rf_arena *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *p = rf_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void *rf_arena_grow(rf_arena *a, void *items, size_t n, size_t *cap, size_t size, size_t first)
{
	if (n < *cap)
		return items;
	size_t ncap = *cap ? *cap * 2 : first;
	if (ncap < *cap || (size && ncap > SIZE_MAX / size))
		return NULL;
	void *grown = rf_arena_alloc(a, size * ncap);
	if (!grown)
		return NULL;
	if (n)
		memcpy(grown, items, size * n);
	*cap = ncap;
	return grown;
}

char *rf_arena_strdup(rf_arena *a, const char *s)
{
	return s ? rf_arena_strndup(a, s, strlen(s)) : NULL;
}

char *rf_arena_printf(rf_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = rf_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void rf_arena_reset(rf_arena *a)
{
	rf_arena_chunk *c = a->head;
	while (c) {
		rf_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}
