/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdlib.h>

#include "portalloc.h"

#define MR_PA_END 0xffffu	/* end of the free list (at most 32768 pairs) */

/* Free pairs form a doubly linked FIFO list (head: next to hand out, tail: the last freed),
 * so that mr_portalloc_get_if() can take a pair from the middle while the others keep
 * their order, and mr_portalloc_take() (a restore: every stored port once) takes any pair
 * at once rather than after a walk of the list. */
struct mr_portalloc {
	uint16_t min;
	unsigned int cap;	/* number of pairs */
	unsigned int count;	/* free pairs in the list */
	uint16_t head, tail;
	uint8_t *used;		/* per pair */
	uint16_t *next;		/* per free pair: the next free one */
	uint16_t *prev;		/* per free pair: the one before, MR_PA_END at the head */
};

static void
mr_pa_link(struct mr_portalloc *pa, unsigned int first)
{
	unsigned int i;

	for (i = 0; i < pa->cap; i++) {
		pa->next[(first + i) % pa->cap] = (uint16_t)((first + i + 1) % pa->cap);
		pa->prev[(first + i + 1) % pa->cap] = (uint16_t)((first + i) % pa->cap);
	}
	pa->head = (uint16_t)first;
	pa->tail = (uint16_t)((first + pa->cap - 1) % pa->cap);
	pa->next[pa->tail] = MR_PA_END;
	pa->prev[pa->head] = MR_PA_END;
	pa->count = pa->cap;
}

struct mr_portalloc *
mr_portalloc_create(uint16_t min, uint16_t max)
{
	struct mr_portalloc *pa;

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
	pa->next = calloc(pa->cap, sizeof(*pa->next));
	pa->prev = calloc(pa->cap, sizeof(*pa->prev));
	if (pa->used == NULL || pa->next == NULL || pa->prev == NULL) {
		mr_portalloc_free(pa);
		errno = ENOMEM;
		return NULL;
	}
	mr_pa_link(pa, 0);
	return pa;
}

void
mr_portalloc_free(struct mr_portalloc *pa)
{
	if (pa == NULL)
		return;
	free(pa->used);
	free(pa->next);
	free(pa->prev);
	free(pa);
}

void
mr_portalloc_rotate(struct mr_portalloc *pa, unsigned int n)
{
	/* A full list read from another place is the same FIFO. */
	if (pa->count == pa->cap)
		mr_pa_link(pa, n % pa->cap);
}

/* Take free pair idx out of the list; prev is the free pair before it, MR_PA_END at the
 * head. */
static int
mr_pa_take(struct mr_portalloc *pa, unsigned int prev, unsigned int idx)
{
	if (prev == MR_PA_END)
		pa->head = pa->next[idx];
	else
		pa->next[prev] = pa->next[idx];
	if (pa->next[idx] != MR_PA_END)
		pa->prev[pa->next[idx]] = (uint16_t)prev;
	if (pa->tail == idx)
		pa->tail = (uint16_t)prev;
	pa->count--;
	pa->used[idx] = 1;
	return pa->min + 2 * (int)idx;
}

int
mr_portalloc_get(struct mr_portalloc *pa)
{
	if (pa->count == 0)
		return -ENOSPC;
	return mr_pa_take(pa, MR_PA_END, pa->head);
}

int
mr_portalloc_get_if(struct mr_portalloc *pa, int (*ok)(void *arg, uint16_t port), void *arg)
{
	unsigned int prev = MR_PA_END, idx;

	if (pa->count == 0)
		return -ENOSPC;
	for (idx = pa->head; idx != MR_PA_END; prev = idx, idx = pa->next[idx])
		if (ok(arg, (uint16_t)(pa->min + 2 * idx)))
			return mr_pa_take(pa, prev, idx);
	return -ESRCH;
}

int
mr_portalloc_put(struct mr_portalloc *pa, uint16_t p)
{
	unsigned int idx;

	if (p < pa->min || ((p - pa->min) & 1))
		return -EINVAL;
	idx = (p - pa->min) / 2;
	if (idx >= pa->cap || !pa->used[idx])
		return -EINVAL;
	pa->used[idx] = 0;
	pa->next[idx] = MR_PA_END;
	pa->prev[idx] = pa->count == 0 ? MR_PA_END : pa->tail;
	if (pa->count == 0)
		pa->head = (uint16_t)idx;
	else
		pa->next[pa->tail] = (uint16_t)idx;
	pa->tail = (uint16_t)idx;
	pa->count++;
	return 0;
}

unsigned int
mr_portalloc_available(const struct mr_portalloc *pa)
{
	return pa->count;
}

unsigned int
mr_portalloc_capacity(const struct mr_portalloc *pa)
{
	return pa->cap;
}

int
mr_portalloc_take(struct mr_portalloc *pa, uint16_t p)
{
	unsigned int want;

	if (p < pa->min || ((p - pa->min) & 1) || (unsigned int)(p - pa->min) / 2 >= pa->cap)
		return -EINVAL;
	want = (unsigned int)(p - pa->min) / 2;
	if (pa->used[want])
		return -EBUSY;
	/* Free: in the list, right after prev[want]. */
	mr_pa_take(pa, pa->prev[want], want);
	return 0;
}

void
mr_portalloc_compact(struct mr_portalloc *pa)
{
	/* The free list is a linked list: a take unlinks its pair at once. */
	(void)pa;
}
