/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the immutable lists the owner worker reads (room_dp.h): an SSRC map, sorted for its
 * binary search, and a stream's subscriber list. Filling, comparing and searching them is
 * pure (no EAL); publish.c's mr_room_sync() allocates and publishes them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "room_dp.h"
#include "rooms.h"

size_t
mr_ssrc_map_size(uint32_t n)
{
	return sizeof(struct mr_dp_ssrc_map) + (size_t)n * sizeof(struct mr_dp_ssrc_ent);
}

static int
ssrc_ent_cmp(const void *a, const void *b)
{
	const struct mr_dp_ssrc_ent *x = a, *y = b;

	return x->ssrc < y->ssrc ? -1 : x->ssrc > y->ssrc;
}

int
mr_ssrc_map_fill(struct mr_dp_ssrc_map *m, const struct mr_dp_ssrc_ent *e, uint32_t n)
{
	uint32_t i;

	if (n != 0)
		memcpy(m->e, e, (size_t)n * sizeof(*e));
	qsort(m->e, n, sizeof(*e), ssrc_ent_cmp);
	for (i = 1; i < n; i++)
		if (m->e[i].ssrc == m->e[i - 1].ssrc)
			return -EEXIST;
	m->n = n;
	return 0;
}

struct mr_dp_stream *
mr_ssrc_map_find(const struct mr_dp_ssrc_map *m, uint32_t ssrc)
{
	uint32_t lo = 0, hi = m->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].ssrc == ssrc)
			return m->e[mid].st;
		if (m->e[mid].ssrc < ssrc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t
mr_sublist_size(uint32_t n)
{
	return sizeof(struct mr_dp_sublist) + (size_t)n * sizeof(struct mr_dp_part *);
}

uint32_t
mr_sublist_fill(struct mr_dp_sublist *l, struct mr_dp_part *const *parts, const uint8_t *want,
		uint32_t n, const struct mr_dp_part *pub)
{
	uint32_t i, k = 0;

	for (i = 0; i < n; i++)
		if (want[i] && parts[i] != pub)
			l->sub[k++] = parts[i];
	l->n = k;
	return k;
}

int
mr_sublist_same(const struct mr_dp_sublist *a, const struct mr_dp_sublist *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->n == b->n && memcmp(a->sub, b->sub, (size_t)a->n * sizeof(a->sub[0])) == 0;
}
