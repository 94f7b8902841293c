/* SPDX-License-Identifier: BSD-3-Clause
 * Types shared by the dataplane and the control plane (the boundary, DESIGN.md §3).
 * Pure C: no EAL needed.
 */
#ifndef MR_TYPES_H
#define MR_TYPES_H

#include <stdint.h>
#include <string.h>

#define MR_AF4 4
#define MR_AF6 6

/* A UDP endpoint. IPv4 addresses live in a[0..3], the rest is zero; every byte is in
 * network order except port, which is in host order. Compare with mr_ep_eq(). */
struct mr_ep {
	uint8_t family;		/* MR_AF4, MR_AF6, or 0 for "none" */
	uint8_t pad;
	uint16_t port;		/* host order */
	uint8_t a[16];
};

static inline int
mr_ep_eq(const struct mr_ep *x, const struct mr_ep *y)
{
	return x->family == y->family && x->port == y->port && memcmp(x->a, y->a, 16) == 0;
}

/* An interface address with its prefix. */
struct mr_prefix {
	uint8_t family;		/* 0 when not configured */
	uint8_t len;		/* prefix length */
	uint8_t a[16];
};

#endif
