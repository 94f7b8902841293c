/* SPDX-License-Identifier: BSD-3-Clause
 * What the control plane refuses to strangers (docs/OPERATIONS.md "Security"): connections
 * per source address, and the refusal counters and log shared by the REST server (api.c) and
 * the WebSocket server (ws.c).
 *
 * Control thread only; nothing here is thread-safe.
 */
#ifndef MR_GUARD_H
#define MR_GUARD_H

#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* Why a connection or a request was refused. The names are /metrics' reason labels. */
#define MR_REFUSALS(X) \
	X(FULL, "full")				/* REST: every connection slot taken */ \
	X(EVICTED, "evicted")			/* REST: idle, its slot given to a newcomer */ \
	X(PER_ADDRESS, "per_address")		/* REST: api.max_connections_per_address */ \
	X(HEADER_TIMEOUT, "header_timeout")	/* REST: headers not in by api.header_timeout */ \
	X(REQUEST_TIMEOUT, "request_timeout")	/* REST: not done by api.request_timeout */ \
	X(FRAMING, "framing")			/* REST: ambiguous length, NUL in the path */ \
	X(HOST, "host")				/* REST: Host not the API's own */ \
	X(ORIGIN, "origin")			/* REST and /v1/ws: a foreign Origin */ \
	X(CONTENT_TYPE, "content_type")		/* REST: a body that is not application/json */ \
	X(WS_FULL, "ws_full")			/* /v1/ws: rooms.ws_max_connections */ \
	X(WS_PER_ADDRESS, "ws_per_address")	/* /v1/ws: unjoined per address */ \
	X(WS_JOIN_TIMEOUT, "ws_join_timeout")	/* /v1/ws: no join by rooms.ws_join_timeout */ \
	X(WS_IDLE_TIMEOUT, "ws_idle_timeout")	/* /v1/ws: silent for rooms.ws_timeout */ \
	X(WS_SLOW, "ws_slow")			/* /v1/ws: does not read its messages */

enum mr_refusal {
#define MR_X_ENUM(e, n) MR_REFUSE_##e,
	MR_REFUSALS(MR_X_ENUM)
#undef MR_X_ENUM
	MR_REFUSE_MAX
};

/* An address's connections now: REST (api.c) and unjoined WebSockets (ws.c). */
struct mr_peer {
	struct mr_peer *next;		/* hash chain */
	uint8_t family;			/* AF_INET or AF_INET6 (v4-mapped become AF_INET) */
	uint8_t addr[16];
	unsigned int rest;
	unsigned int ws_pending;
	unsigned int refs;		/* holders that are neither (a joined WebSocket) */
};

struct mr_guard;

struct mr_guard *mr_guard_create(void);
void mr_guard_free(struct mr_guard *g);
/* The entry of sa's address, created with every count 0; NULL for a socket that has no IP
 * address (a socketpair in tests) or when out of memory. */
struct mr_peer *mr_guard_peer(struct mr_guard *g, const struct sockaddr *sa);
/* Free p if nothing counts on it any more. */
void mr_guard_peer_put(struct mr_guard *g, struct mr_peer *p);
/* Count a refusal of sa (NULL: unknown) and log it, at most one line a second whatever the
 * rate, with the address and how many more there were since the last line. what: a short
 * text for the log ("every slot taken"). */
void mr_guard_refuse(struct mr_guard *g, enum mr_refusal why, const struct sockaddr *sa,
		     const char *what);
uint64_t mr_guard_refusals(const struct mr_guard *g, enum mr_refusal why);
const char *mr_guard_refusal_name(enum mr_refusal why);
/* "198.18.0.1:5060", "[2001:2::1]:5060" (port 0: without it). */
void mr_guard_addr_fmt(const struct sockaddr *sa, char *buf, size_t len);

#endif
