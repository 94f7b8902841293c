/* SPDX-License-Identifier: BSD-3-Clause
 * Addresses as text (configuration, API bodies, answers): parse and format the endpoint and
 * prefix types of the contract (dataplane/include/mr_types.h). Pure C.
 */
#ifndef MR_ADDR_H
#define MR_ADDR_H

#include <stddef.h>

#include "mr_types.h"

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
