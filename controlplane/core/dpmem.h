/* SPDX-License-Identifier: BSD-3-Clause
 * Poisoning of freed dataplane memory, for tests.
 *
 * What the workers read (sessions, room participants, streams, SSRC maps, subscriber lists)
 * comes from rte_malloc or from the sessions' slab, which AddressSanitizer does not see: a
 * worker that reads it after it was freed reads plausible old values and the bug stays
 * silent. With mr_dpmem_poison_on set (tests/dp/test_concurrency.c sets it before the
 * appliance starts; the daemon never does), every free site overwrites the memory first, so
 * such a worker follows non-canonical pointers (a crash) or relays to 165.165.165.165 (a
 * misrouted packet the test sees).
 *
 * One call per free site, on the control thread, after the grace period and before the
 * memory is given back or recycled.
 */
#ifndef MR_DPMEM_H
#define MR_DPMEM_H

#include <stddef.h>
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_malloc.h>

#define MR_DPMEM_POISON 0xa5	/* 0xa5a5a5a5a5a5a5a5 is not a canonical x86-64 address */

/* Written by tests before the workers start, read by the control thread only. A weak
 * definition: one variable for the program whichever files include this header. */
__attribute__((weak)) int mr_dpmem_poison_on;

/* Overwrite len bytes at p; len 0: the whole rte_malloc() allocation p starts. */
static inline void
mr_dpmem_poison(void *p, size_t len)
{
	if (likely(!mr_dpmem_poison_on) || p == NULL)
		return;
	if (len == 0 && rte_malloc_validate(p, &len) != 0)
		return;
	memset(p, MR_DPMEM_POISON, len);
}

#endif
