/*
 * alloc.c - allocator hooks and fault injection.
 *
 * The hooks are process-wide and set once before use (frugal_set_allocator). The fault-injection
 * counter is a plain global: tests that use it are single-threaded.
 */
#include "base/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frugal.h"

static frugal_allocator g_alloc = {malloc, realloc, free};
static long g_fail_after = -1;

void frugal_set_allocator(const frugal_allocator *allocator)
{
    if (allocator == NULL || allocator->malloc_fn == NULL || allocator->realloc_fn == NULL ||
        allocator->free_fn == NULL) {
        g_alloc.malloc_fn = malloc;
        g_alloc.realloc_fn = realloc;
        g_alloc.free_fn = free;
        return;
    }
    g_alloc = *allocator;
}

void alloc_fail_after(long n)
{
    g_fail_after = n;
}

static int should_fail(void)
{
    if (g_fail_after < 0)
        return 0;
    if (g_fail_after == 0)
        return 1;
    g_fail_after--;
    return 0;
}

void *frugal_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return g_alloc.malloc_fn(size == 0 ? 1 : size);
}

void *frugal_calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = frugal_malloc(n * size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *frugal_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    return g_alloc.realloc_fn(ptr, size == 0 ? 1 : size);
}

void *frugal_reallocarray(void *ptr, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return frugal_realloc(ptr, n * size);
}

void frugal_free(void *ptr)
{
    if (ptr != NULL)
        g_alloc.free_fn(ptr);
}

char *frugal_strndup(const char *s, size_t n)
{
    if (s == NULL)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = frugal_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *frugal_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    return frugal_strndup(s, strlen(s));
}
