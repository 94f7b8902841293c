/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "portalloc.h"

struct mr_portalloc {
	uint16_t min;
	unsigned int cap;	/* number of pairs */
	unsigned int head;	/* next to hand out */
	unsigned int count;	/* free pairs in the ring */
	unsigned int taken;	/* of those, taken by mr_portalloc_take (not compacted yet) */
	uint8_t *used;		/* per pair */
	uint16_t *ring;		/* free pair indexes, FIFO */
};

struct mr_portalloc *
mr_portalloc_create(uint16_t min, uint16_t max)
{
	struct mr_portalloc *pa;
	unsigned int i;

	if ((min & 1) || max < min + 1) {
		errno = EINVAL;
		return NULL;
	}
	pa = calloc(1, sizeof(*pa));
	if (pa == NULL)
		return NULL;
	pa->min = min;
	pa->cap = ((unsigned int)max - min + 1) / 2;
	pa->used = calloc(pa->cap, 1);
	pa->ring = calloc(pa->cap, sizeof(*pa->ring));
	if (pa->used == NULL || pa->ring == NULL) {
		mr_portalloc_free(pa);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < pa->cap; i++)
		pa->ring[i] = i;
	pa->count = pa->cap;
	return pa;
}

void
mr_portalloc_free(struct mr_portalloc *pa)
{
	if (pa == NULL)
		return;
	free(pa->used);
	free(pa->ring);
	free(pa);
}

void
mr_portalloc_rotate(struct mr_portalloc *pa, unsigned int n)
{
	/* A full ring read from another place is the same FIFO. */
	if (pa->count == pa->cap)
		pa->head = (pa->head + n) % pa->cap;
}

int
mr_portalloc_get(struct mr_portalloc *pa)
{
	unsigned int idx;

	if (pa->count == 0)
		return -ENOSPC;
	idx = pa->ring[pa->head];
	pa->head = (pa->head + 1) % pa->cap;
	pa->count--;
	pa->used[idx] = 1;
	return pa->min + 2 * idx;
}

/* The pair index of even port p, or -EINVAL when p is not one of the allocator's. */
static int
mr_pa_idx(const struct mr_portalloc *pa, uint16_t p)
{
	unsigned int idx;

	if (p < pa->min || ((p - pa->min) & 1))
		return -EINVAL;
	idx = (p - pa->min) / 2;
	return idx < pa->cap ? (int)idx : -EINVAL;
}

int
mr_portalloc_put(struct mr_portalloc *pa, uint16_t p)
{
	int idx = mr_pa_idx(pa, p);

	if (idx < 0 || !pa->used[idx])
		return -EINVAL;
	pa->used[idx] = 0;
	pa->ring[(pa->head + pa->count) % pa->cap] = idx;
	pa->count++;
	return 0;
}

int
mr_portalloc_take(struct mr_portalloc *pa, uint16_t p)
{
	int idx = mr_pa_idx(pa, p);

	if (idx < 0)
		return idx;
	if (pa->used[idx])
		return -EBUSY;
	/* Left in the ring until the compaction: one pass for a whole restore. */
	pa->used[idx] = 1;
	pa->taken++;
	return 0;
}

void
mr_portalloc_compact(struct mr_portalloc *pa)
{
	unsigned int i, n = 0;

	if (pa->taken == 0)
		return;
	for (i = 0; i < pa->count; i++) {
		uint16_t idx = pa->ring[(pa->head + i) % pa->cap];

		if (!pa->used[idx])
			pa->ring[(pa->head + n++) % pa->cap] = idx;
	}
	pa->count = n;
	pa->taken = 0;
}

unsigned int
mr_portalloc_available(const struct mr_portalloc *pa)
{
	return pa->count - pa->taken;
}

unsigned int
mr_portalloc_capacity(const struct mr_portalloc *pa)
{
	return pa->cap;
}
