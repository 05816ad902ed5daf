/* SPDX-License-Identifier: Apache-2.0 */
/* A bump allocator for request-scoped memory: everything is freed at once when the request ends. */
#ifndef RF_ARENA_H
#define RF_ARENA_H

#include <stddef.h>

typedef struct rf_arena_chunk rf_arena_chunk;

typedef struct {
	rf_arena_chunk *head;
	size_t total; /* bytes handed out, for bounding */
	size_t limit; /* 0 = no limit */
} rf_arena;

/* Prepares an empty arena; limit bounds the total bytes it will hand out (0 for none). */
void rf_arena_init(rf_arena *a, size_t limit);

/* Returns zeroed memory owned by the arena, aligned for any type, or NULL when out of memory or over the limit. */
void *rf_arena_alloc(rf_arena *a, size_t n);

/* Room for one more item in an arena array of n items of size bytes with capacity *cap: returns items while n < *cap,
 * else a copy in a new array twice as large (first items when *cap is 0) and updates *cap; NULL when out of memory,
 * with *cap unchanged. The old array stays in the arena until it resets. */
void *rf_arena_grow(rf_arena *a, void *items, size_t n, size_t *cap, size_t size, size_t first);

/* Copies a NUL-terminated string (NULL gives NULL) into the arena. */
char *rf_arena_strdup(rf_arena *a, const char *s);

/* Copies n bytes and adds a NUL. */
char *rf_arena_strndup(rf_arena *a, const char *s, size_t n);

/* printf into arena memory; NULL on failure. */
char *rf_arena_printf(rf_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees everything the arena handed out; the arena can be used again. */
void rf_arena_reset(rf_arena *a);

#endif
