/* SPDX-License-Identifier: BSD-3-Clause
 * ngbench: calls per second over the rtpengine "ng" protocol (docs/PERFORMANCE.md "ng calls
 * per second"). Against any ng server (mrelayd's ng.listen, rtpengine's --listen-ng):
 *
 *   ngbench --ng HOST:PORT [--calls N] [--clients C] [--depth D] [--prefix P] [--json]
 *
 * runs N calls, each an offer (the caller's SDP), an answer (the callee's SDP, to-tag) and a
 * delete (from-tag and to-tag, "delete delay" 0 so that neither server keeps the call), one
 * after the other. C clients (UDP sockets of their own, served round-robin by one thread)
 * each keep D calls in flight, so C x D calls are under way at any time. Reported: calls per
 * second (N over the time from the first request sent to the last delete answered), the
 * latency of each command (request sent to answer read), errors (an answer that is not
 * "result" "ok", or whose offer/answer has no SDP) and retransmissions (a request
 * unanswered for 1 s is sent again with its cookie; after 5 tries the run fails).
 *
 * The SDP: one audio section (PCMU, PCMA, telephone-event), the caller at 198.18.0.10, the
 * callee at 198.18.0.11 (RFC 2544 benchmarking range; nothing is sent to them). Cookies and
 * call-ids carry the prefix, so runs do not mix. Standard C and POSIX only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NGB_CLIENTS_MAX	64
#define NGB_DEPTH_MAX	256
#define NGB_RTX_NS	1000000000ull	/* a request unanswered this long is sent again */
#define NGB_TRIES	5
#define NGB_MSG_MAX	4096
#define NGB_ANS_MAX	65536

enum { OFFER, ANSWER, DELETE, NCMD };
static const char *const cmd_name[NCMD] = { "offer", "answer", "delete" };

struct slot {
	unsigned long call;	/* call number; ~0ul: idle */
	int step;		/* OFFER, ANSWER, DELETE */
	unsigned int tries;
	uint64_t sent_ns, first_ns;
	size_t len;
	char cookie[48];
	char msg[NGB_MSG_MAX];
};

struct client {
	int fd;
	struct slot slot[NGB_DEPTH_MAX];
};

struct lat {
	uint64_t *ns;
	size_t n;
};

static struct {
	const char *prefix;
	unsigned long calls, next, done, errors, rtx;
	unsigned int clients, depth;
	struct lat lat[NCMD];
	char first_error[256];
} g;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	fprintf(stderr, "ngbench: %s\n", what);
	exit(1);
}

/* Append a bencoded string. */
static size_t
bstr(char *o, size_t off, const char *s)
{
	return off + (size_t)sprintf(o + off, "%zu:%s", strlen(s), s);
}

static size_t
sdp(char *o, const char *addr, unsigned long call, unsigned int port)
{
	return (size_t)sprintf(o, "v=0\r\no=- %lu 1 IN IP4 %s\r\ns=ngbench\r\nc=IN IP4 %s\r\n"
			       "t=0 0\r\nm=audio %u RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\n"
			       "a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n"
			       "a=sendrecv\r\n", call + 1, addr, addr, port);
}

/* Build the request of a slot's step (keys in sorted order, as bencode wants). */
static void
build(struct slot *s, unsigned int client)
{
	static unsigned long seq;
	char cid[64], ftag[32], ttag[32], body[1024];
	size_t o;

	snprintf(cid, sizeof(cid), "%s-%lu", g.prefix, s->call);
	snprintf(ftag, sizeof(ftag), "from%lu", s->call);
	snprintf(ttag, sizeof(ttag), "to%lu", s->call);
	snprintf(s->cookie, sizeof(s->cookie), "%s_%u_%lu", g.prefix, client, ++seq);
	o = (size_t)sprintf(s->msg, "%s d", s->cookie);
	o = bstr(s->msg, o, "call-id");
	o = bstr(s->msg, o, cid);
	o = bstr(s->msg, o, "command");
	o = bstr(s->msg, o, cmd_name[s->step]);
	if (s->step == DELETE) {
		o = bstr(s->msg, o, "delete delay");
		o += (size_t)sprintf(s->msg + o, "i0e");
	}
	o = bstr(s->msg, o, "from-tag");
	o = bstr(s->msg, o, ftag);
	if (s->step != DELETE) {
		o = bstr(s->msg, o, "replace");
		o += (size_t)sprintf(s->msg + o, "l");
		o = bstr(s->msg, o, "origin");
		o += (size_t)sprintf(s->msg + o, "e");
		sdp(body, s->step == OFFER ? "198.18.0.10" : "198.18.0.11", s->call,
		    (unsigned int)(10000 + 2 * (s->call % 20000)));
		o = bstr(s->msg, o, "sdp");
		o = bstr(s->msg, o, body);
	}
	if (s->step != OFFER) {
		o = bstr(s->msg, o, "to-tag");
		o = bstr(s->msg, o, ttag);
	}
	s->msg[o++] = 'e';
	s->len = o;
	s->tries = 0;
}

static void
send_slot(struct client *c, struct slot *s)
{
	s->sent_ns = now_ns();
	if (s->tries++ == 0)
		s->first_ns = s->sent_ns;
	else
		g.rtx++;
	if (s->tries > NGB_TRIES) {
		fprintf(stderr, "ngbench: no answer to %s after %u tries\n", s->cookie, NGB_TRIES);
		exit(1);
	}
	if (send(c->fd, s->msg, s->len, 0) != (ssize_t)s->len && errno != EAGAIN &&
	    errno != ENOBUFS)
		die("send failed");
}

/* Start the next call in a free slot, if any is left. */
static void
start(struct client *c, unsigned int ci, struct slot *s)
{
	if (g.next >= g.calls) {
		s->call = ~0ul;
		return;
	}
	s->call = g.next++;
	s->step = OFFER;
	build(s, ci);
	send_slot(c, s);
}

static bool
answer_ok(const char *a, size_t n, int step)
{
	if (memmem(a, n, "6:result2:ok", 12) == NULL)
		return false;
	return step == DELETE || memmem(a, n, "3:sdp", 5) != NULL;
}

static void
receive(struct client *c, unsigned int ci)
{
	static char a[NGB_ANS_MAX + 1];
	ssize_t n;

	while ((n = recv(c->fd, a, NGB_ANS_MAX, MSG_DONTWAIT)) > 0) {
		const char *sp = memchr(a, ' ', (size_t)n);
		struct slot *s = NULL;
		unsigned int i;

		if (sp == NULL)
			continue;
		for (i = 0; i < g.depth; i++)
			if (c->slot[i].call != ~0ul && (size_t)(sp - a) == strlen(c->slot[i].cookie) &&
			    memcmp(a, c->slot[i].cookie, (size_t)(sp - a)) == 0) {
				s = &c->slot[i];
				break;
			}
		if (s == NULL)
			continue;	/* the answer to a retransmission already answered */
		g.lat[s->step].ns[g.lat[s->step].n++] = now_ns() - s->first_ns;
		if (!answer_ok(sp + 1, (size_t)(a + n - sp - 1), s->step)) {
			if (g.errors++ == 0) {
				a[n] = 0;
				snprintf(g.first_error, sizeof(g.first_error), "%s: %.200s",
					 cmd_name[s->step], sp + 1);
			}
		}
		if (s->step == DELETE) {
			g.done++;
			start(c, ci, s);
		} else {
			s->step++;
			build(s, ci);
			send_slot(c, s);
		}
	}
	if (n < 0 && errno == ECONNREFUSED)
		die("no ng server there (ICMP port unreachable)");
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(struct lat *l, double p)
{
	size_t i;

	if (l->n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(l->n - 1) + 0.5);
	return (double)l->ns[i] / 1000.0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: ngbench --ng HOST:PORT [--calls N] [--clients C] [--depth D] "
		"[--prefix P] [--json]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "ng", required_argument, NULL, 'n' },
		{ "calls", required_argument, NULL, 'c' },
		{ "clients", required_argument, NULL, 'C' },
		{ "depth", required_argument, NULL, 'd' },
		{ "prefix", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct client *cl;
	struct pollfd pfd[NGB_CLIENTS_MAX];
	char host[64], *colon;
	const char *ng = NULL;
	bool json = false;
	uint64_t t0, t1;
	double secs;
	unsigned int i, j;
	int opt;

	g.calls = 20000;
	g.clients = 1;
	g.depth = 1;
	g.prefix = "ngb";
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': ng = optarg; break;
		case 'c': g.calls = strtoul(optarg, NULL, 10); break;
		case 'C': g.clients = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'd': g.depth = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p': g.prefix = optarg; break;
		case 'j': json = true; break;
		default: usage();
		}
	}
	if (ng == NULL || g.calls == 0 || g.calls > 10000000 || g.clients == 0 ||
	    g.clients > NGB_CLIENTS_MAX || g.depth == 0 || g.depth > NGB_DEPTH_MAX ||
	    strlen(g.prefix) > 16)
		usage();
	snprintf(host, sizeof(host), "%s", ng);
	colon = strrchr(host, ':');
	if (colon == NULL)
		usage();
	*colon = 0;
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		die("--ng: an IPv4 address and a port");
	for (i = 0; i < NCMD; i++) {
		g.lat[i].ns = calloc(g.calls, sizeof(uint64_t));
		if (g.lat[i].ns == NULL)
			die("out of memory");
	}
	cl = calloc(g.clients, sizeof(*cl));
	if (cl == NULL)
		die("out of memory");
	for (i = 0; i < g.clients; i++) {
		int buf = 4 << 20;

		cl[i].fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (cl[i].fd < 0 || connect(cl[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("socket/connect failed");
		setsockopt(cl[i].fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		pfd[i].fd = cl[i].fd;
		pfd[i].events = POLLIN;
	}
	t0 = now_ns();
	for (j = 0; j < g.depth; j++)
		for (i = 0; i < g.clients; i++)
			start(&cl[i], i, &cl[i].slot[j]);
	while (g.done < g.calls) {
		uint64_t t;

		if (poll(pfd, g.clients, 100) < 0 && errno != EINTR)
			die("poll failed");
		for (i = 0; i < g.clients; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				receive(&cl[i], i);
		t = now_ns();
		for (i = 0; i < g.clients; i++)
			for (j = 0; j < g.depth; j++) {
				struct slot *s = &cl[i].slot[j];

				if (s->call != ~0ul && t - s->sent_ns > NGB_RTX_NS)
					send_slot(&cl[i], s);
			}
	}
	t1 = now_ns();
	secs = (double)(t1 - t0) / 1e9;
	for (i = 0; i < NCMD; i++)
		qsort(g.lat[i].ns, g.lat[i].n, sizeof(uint64_t), cmp_u64);
	if (json) {
		printf("{\"ng\":\"%s\",\"calls\":%lu,\"clients\":%u,\"depth\":%u,\"seconds\":%.3f,"
		       "\"calls_per_s\":%.1f,\"errors\":%lu,\"retransmissions\":%lu,\"lat_us\":{",
		       ng, g.calls, g.clients, g.depth, secs, (double)g.calls / secs, g.errors,
		       g.rtx);
		for (i = 0; i < NCMD; i++)
			printf("%s\"%s\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}", i ? "," : "",
			       cmd_name[i], pct(&g.lat[i], 50), pct(&g.lat[i], 99),
			       pct(&g.lat[i], 100));
		printf("},\"first_error\":\"");
		for (const char *p = g.first_error; *p; p++)
			if (*p >= 0x20 && *p != '"' && *p != '\\')
				putchar(*p);
		printf("\"}\n");
	} else {
		printf("%lu calls in %.3f s: %.0f calls/s (%u clients x %u in flight), %lu errors, "
		       "%lu retransmissions\n", g.calls, secs, (double)g.calls / secs, g.clients,
		       g.depth, g.errors, g.rtx);
		for (i = 0; i < NCMD; i++)
			printf("  %-6s p50 %8.1f us  p99 %8.1f us  max %8.1f us\n", cmd_name[i],
			       pct(&g.lat[i], 50), pct(&g.lat[i], 99), pct(&g.lat[i], 100));
		if (g.errors)
			printf("  first error: %s\n", g.first_error);
	}
	for (i = 0; i < g.clients; i++)
		close(cl[i].fd);
	free(cl);
	for (i = 0; i < NCMD; i++)
		free(g.lat[i].ns);
	return g.errors ? 1 : 0;
}
