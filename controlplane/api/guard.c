/* SPDX-License-Identifier: BSD-3-Clause
 * Per-address connection counts and refusal counters for the REST and WebSocket servers
 * (guard.h). The address table is a fixed array of hash chains: entries exist only while an
 * address has connections, so its size is bounded by the connection limits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "guard.h"

#define GUARD_BUCKETS 4096

struct mr_guard {
	struct mr_peer *tab[GUARD_BUCKETS];
	uint64_t refused[MR_REFUSE_MAX];
	/* The refusal log: one line per second at most. */
	time_t log_sec;
	unsigned long log_more;		/* refusals not logged since the last line */
};

static const char *const refusal_names[] = {
#define MR_X_NAME(e, n) [MR_REFUSE_##e] = n,
	MR_REFUSALS(MR_X_NAME)
#undef MR_X_NAME
};

struct mr_guard *
mr_guard_create(void)
{
	return calloc(1, sizeof(struct mr_guard));
}

void
mr_guard_free(struct mr_guard *g)
{
	unsigned int i;

	if (g == NULL)
		return;
	for (i = 0; i < GUARD_BUCKETS; i++) {
		while (g->tab[i] != NULL) {
			struct mr_peer *p = g->tab[i];

			g->tab[i] = p->next;
			free(p);
		}
	}
	free(g);
}

/* The address of sa as (family, 16 bytes); -1 if it has none. */
static int
addr_key(const struct sockaddr *sa, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		*family = AF_INET;
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			*family = AF_INET;
			memcpy(addr, &a6->s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(addr, a6, 16);
		}
		return 0;
	}
	return -1;
}

static unsigned int
addr_hash(uint8_t family, const uint8_t addr[16])
{
	uint32_t h = 2166136261u ^ family;
	unsigned int i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % GUARD_BUCKETS;
}

struct mr_peer *
mr_guard_peer(struct mr_guard *g, const struct sockaddr *sa)
{
	uint8_t family, addr[16];
	struct mr_peer *p;
	unsigned int h;

	if (g == NULL || addr_key(sa, &family, addr) < 0)
		return NULL;
	h = addr_hash(family, addr);
	for (p = g->tab[h]; p != NULL; p = p->next)
		if (p->family == family && memcmp(p->addr, addr, 16) == 0)
			return p;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->family = family;
	memcpy(p->addr, addr, 16);
	p->next = g->tab[h];
	g->tab[h] = p;
	return p;
}

void
mr_guard_peer_put(struct mr_guard *g, struct mr_peer *p)
{
	struct mr_peer **pp;

	if (g == NULL || p == NULL || p->rest != 0 || p->ws_pending != 0 || p->refs != 0)
		return;
	for (pp = &g->tab[addr_hash(p->family, p->addr)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			free(p);
			return;
		}
	}
}

void
mr_guard_addr_fmt(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	unsigned int port;

	if (sa == NULL || (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		snprintf(buf, len, "(unknown)");
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
		if (port != 0)
			snprintf(buf, len, "%s:%u", a, port);
		else
			snprintf(buf, len, "%s", a);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
		if (port != 0)
			snprintf(buf, len, "[%s]:%u", a, port);
		else
			snprintf(buf, len, "%s", a);
	}
}

void
mr_guard_refuse(struct mr_guard *g, enum mr_refusal why, const struct sockaddr *sa,
		const char *what)
{
	char peer[INET6_ADDRSTRLEN + 8];
	time_t now;

	if (g == NULL || why >= MR_REFUSE_MAX)
		return;
	g->refused[why]++;
	now = time(NULL);
	if (now == g->log_sec) {
		g->log_more++;
		return;
	}
	mr_guard_addr_fmt(sa, peer, sizeof(peer));
	if (g->log_more != 0)
		fprintf(stderr, "MRELAY: api: refused %s: %s (%s); %lu more refusals since the "
			"last such line (api_refused_total in /metrics)\n", peer, what,
			refusal_names[why], g->log_more);
	else
		fprintf(stderr, "MRELAY: api: refused %s: %s (%s)\n", peer, what,
			refusal_names[why]);
	g->log_sec = now;
	g->log_more = 0;
}

uint64_t
mr_guard_refusals(const struct mr_guard *g, enum mr_refusal why)
{
	return g != NULL && why < MR_REFUSE_MAX ? g->refused[why] : 0;
}

const char *
mr_guard_refusal_name(enum mr_refusal why)
{
	return why < MR_REFUSE_MAX ? refusal_names[why] : "?";
}
