/*
 * id_set.h - a set of 64-bit ids with room for a number fixed up front (open addressing, linear
 * probing, at most half full): what keeps one hit per document when results are grouped.
 *
 * Threading: a set belongs to one thread at a time.
 */
#ifndef FRUGAL_BASE_ID_SET_H
#define FRUGAL_BASE_ID_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct id_set {
    int64_t *ids;
    bool *used;
    size_t mask;   /* slots - 1 (a power of two minus one) */
};

/* Room for n ids. FRUGAL_OK or FRUGAL_ENOMEM (then *s holds nothing). A zeroed struct id_set
 * may be released without being initialized. */
frugal_status id_set_init(struct id_set *s, size_t n);
/* Adds id; true when it was not there yet. At most the n ids of id_set_init. */
bool id_set_add(struct id_set *s, int64_t id);
void id_set_release(struct id_set *s);

#endif
