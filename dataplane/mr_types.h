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

/* Parse "198.18.1.2:5004", "[2001:db8::2]:5004"; 0 or -EINVAL. Port 0 is rejected. */
int mr_ep_parse(const char *s, struct mr_ep *ep);
/* Parse a bare address "198.18.1.2" or "2001:db8::2" (port set to 0); 0 or -EINVAL. */
int mr_addr_parse(const char *s, struct mr_ep *ep);
/* Parse "198.18.0.1/24" or "2001:db8::1/64"; 0 or -EINVAL. */
int mr_prefix_parse(const char *s, struct mr_prefix *p);
/* Format as "a.b.c.d:port" or "[v6]:port" (port omitted when with_port is 0). */
char *mr_ep_fmt(const struct mr_ep *ep, char *buf, size_t len, int with_port);
/* 1 when addr (an mr_ep, port ignored) is inside prefix p. */
int mr_prefix_contains(const struct mr_prefix *p, const struct mr_ep *addr);

#endif
