/* SPDX-License-Identifier: BSD-3-Clause
 * Relay port allocator: even RTP ports p in [min, max], each with p+1 for RTCP, handed out in
 * FIFO order so a freed port is reused as late as possible (stray packets of an ended call
 * must not reach the next one). Pure C.
 */
#ifndef MR_PORTALLOC_H
#define MR_PORTALLOC_H

#include <stdint.h>

struct mr_portalloc;

/* NULL on bad range (min odd, max < min + 1) or no memory; errno set. */
struct mr_portalloc *mr_portalloc_create(uint16_t min, uint16_t max);
void mr_portalloc_free(struct mr_portalloc *pa);
/* Start handing out n pairs further on (a fresh allocator: from a random place, so that
 * after a restart the ports of the calls that died are not the first ones reused). */
void mr_portalloc_rotate(struct mr_portalloc *pa, unsigned int n);
/* An even port p (p+1 reserved with it), or -ENOSPC. */
int mr_portalloc_get(struct mr_portalloc *pa);
/* The first free port p, in FIFO order, for which ok(arg, p) is true (the pairs skipped keep
 * their places); -ESRCH when none is, -ENOSPC when none is free. Scans the free list: the
 * steering of relay ports uses it to pick a port whose packets land on a given worker
 * (controlplane/core/flows.c), about one in N workers. */
int mr_portalloc_get_if(struct mr_portalloc *pa, int (*ok)(void *arg, uint16_t port), void *arg);
/* Give p back; -EINVAL if p is not an allocated port of this allocator. */
int mr_portalloc_put(struct mr_portalloc *pa, uint16_t p);
unsigned int mr_portalloc_available(const struct mr_portalloc *pa);
unsigned int mr_portalloc_capacity(const struct mr_portalloc *pa);

#endif
