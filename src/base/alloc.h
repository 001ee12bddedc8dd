/*
 * alloc.h - the library's allocator. Every allocation in src/ goes through these functions so
 * that an embedder can replace the allocator (frugal_set_allocator) and tests can make the Nth
 * allocation fail (alloc_fail_after) to prove that every error path cleans up.
 */
#ifndef FRUGAL_BASE_ALLOC_H
#define FRUGAL_BASE_ALLOC_H

#include <stddef.h>

void *frugal_malloc(size_t size);
void *frugal_calloc(size_t n, size_t size);           /* overflow-checked, zeroed */
void *frugal_realloc(void *ptr, size_t size);
void *frugal_reallocarray(void *ptr, size_t n, size_t size); /* overflow-checked */
/* frugal_free is declared in frugal.h */
void frugal_free(void *ptr);
char *frugal_strdup(const char *s);                    /* NULL in -> NULL out */
char *frugal_strndup(const char *s, size_t n);         /* copies at most n bytes, NUL-terminates */

/* Test hook: after `n` more successful allocations, every allocation fails until reset with
 * n < 0. Process-wide, not thread-safe: for tests only. */
void alloc_fail_after(long n);

/* Makes the library's allocation calls visible to the compiler as ours. */
#ifdef FRUGAL_BAN_LIBC_ALLOC
#define malloc(x) use_frugal_malloc_instead
#define free(x) use_frugal_free_instead
#endif

#endif
