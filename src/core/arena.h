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

/* Copies a NUL-terminated string (NULL gives NULL) into the arena. */
char *rf_arena_strdup(rf_arena *a, const char *s);

/* Copies n bytes and adds a NUL. */
char *rf_arena_strndup(rf_arena *a, const char *s, size_t n);

/* printf into arena memory; NULL on failure. */
char *rf_arena_printf(rf_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Frees everything the arena handed out; the arena can be used again. */
void rf_arena_reset(rf_arena *a);

#endif
