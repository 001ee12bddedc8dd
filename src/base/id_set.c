/*
 * id_set.c - a fixed-room set of 64-bit ids (contract in id_set.h).
 *
 * How: 2n..4n slots (a power of two), Fibonacci hashing, linear probing; never more than half
 * full, so a probe ends quickly. Why: grouping search hits by document checks each hit once;
 * a sorted list or a general hash table would be more than this needs.
 */
#include "base/id_set.h"

#include "base/alloc.h"

frugal_status id_set_init(struct id_set *s, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    s->ids = frugal_calloc(cap, sizeof *s->ids);
    s->used = frugal_calloc(cap, sizeof *s->used);
    s->mask = cap - 1;
    if (s->ids == NULL || s->used == NULL) {
        id_set_release(s);
        return FRUGAL_ENOMEM;
    }
    return FRUGAL_OK;
}

bool id_set_add(struct id_set *s, int64_t id)
{
    size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull) & s->mask;
    while (s->used[h]) {
        if (s->ids[h] == id)
            return false;
        h = (h + 1) & s->mask;
    }
    s->used[h] = true;
    s->ids[h] = id;
    return true;
}

void id_set_release(struct id_set *s)
{
    frugal_free(s->ids);
    frugal_free(s->used);
    s->ids = NULL;
    s->used = NULL;
    s->mask = 0;
}
