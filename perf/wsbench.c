/* SPDX-License-Identifier: BSD-3-Clause
 * wsbench: WebSocket signaling benchmark (docs/PERFORMANCE.md "Signaling"). Against a running
 * mrelayd:
 *
 *   wsbench --api HOST:PORT -n N [--pid PID] [--token T] [--joins J] [--room-size K]
 *           [--sources A.B.C.D[,...]] [--window W] [--hold S] [--ping S] [--json]
 *
 * 1. opens N WebSocket connections to /v1/ws (RFC 6455 opening handshake, the server's
 *    Sec-WebSocket-Accept checked), at most W handshakes in flight, from the source addresses
 *    given (round robin; a loopback destination has about 28,000 ephemeral ports per source
 *    address, so 50,000 connections need two or more 127.0.0.x sources);
 * 2. keeps them idle for S seconds (with --ping, a WebSocket ping on each every so often, for
 *    a daemon whose rooms.ws_timeout is shorter than the hold) and counts those the server
 *    closed;
 * 3. reads mrelayd's VmRSS (/proc/PID/status) before the first connection and after the hold:
 *    the growth per connection held;
 * 4. joins J of them to rooms of K participants: with --token, the rooms and participants are
 *    created over REST first (timed separately) and each connection joins with its
 *    participant's token; without, each joins with {"room", "name"}, which creates the
 *    participant (an API without a token allows it). At most W joins are in flight; the
 *    events the joins cause (participant_joined to the others of the room) are read and
 *    counted. joins/s = J / (last "joined" - first join sent).
 * Then the rooms are deleted and everything is closed.
 *
 * One thread, one epoll set, non-blocking sockets; RLIMIT_NOFILE is raised to what N needs
 * (the hard limit too when the process may). No EAL.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WSB_CONNS_MAX		1000000
#define WSB_SOURCES_MAX		64
#define WSB_HS_MAX		1024	/* bytes of a 101 answer we accept */
#define WSB_RX_CHUNK		65536
#define WSB_TOKEN_LEN		33
#define WSB_EPOLL_BATCH		256
#define WSB_HTTP_MAX		(4 << 20)
#define WSB_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"	/* RFC 6455 §1.3 */

enum conn_state {
	C_IDLE,			/* not connected yet */
	C_CONNECTING,		/* connect() in progress */
	C_HANDSHAKE,		/* upgrade request sent, reading the 101 */
	C_OPEN,
	C_CLOSED,		/* by the server, or failed */
};

struct conn {
	int fd;
	uint8_t state;
	uint8_t join;		/* 0 none, 1 sent, 2 joined, 3 refused */
	uint8_t out_pending;	/* part of a request is still to be written */
	uint32_t room;		/* index into rooms[] of its participant */
	char key[25];		/* Sec-WebSocket-Key (base64 of 16 bytes) */
	uint8_t *rx;		/* bytes read and not parsed yet; NULL when none */
	uint32_t rx_len;
	uint32_t rx_cap;
	char *out;		/* unsent bytes of a request (rare: sockets have room) */
	uint32_t out_len;
	uint32_t out_off;
	char token[WSB_TOKEN_LEN];
};

struct opts {
	struct sockaddr_in api;
	const char *api_text;
	const char *token;
	unsigned int n, joins, room_size, window;
	double hold, ping;
	long pid;
	struct in_addr src[WSB_SOURCES_MAX];
	unsigned int n_src;
	bool json;
};

struct stats {
	unsigned int opened, failed, closed_by_server, closed_in_hold, joined, join_refused;
	uint64_t events, messages;
	char first_error[256];
};

static struct opts o;
static struct stats st;
static struct conn *conns;
static int epfd;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "wsbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void __attribute__((format(printf, 1, 2)))
note_error(const char *fmt, ...)
{
	va_list ap;

	if (st.first_error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(st.first_error, sizeof(st.first_error), fmt, ap);
	va_end(ap);
}

/* VmRSS of pid in kB, 0 when it cannot be read. */
static long
rss_kb(long pid)
{
	char path[64], line[256];
	long kb = 0;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ---- a small blocking HTTP/1.1 client for the REST calls (keep-alive) ---- */

static int http_fd = -1;

static int
http_connect(void)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&o.api, sizeof(o.api)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* One request; the status, and the parsed body in *out (NULL if none or not JSON). */
static int
http(const char *method, const char *path, const char *body, json_t **out)
{
	char head[512], *buf = NULL, *end;
	size_t n = 0, cap = 0, hl, clen = 0;
	int status = 0, tries;
	const char *cl;

	*out = NULL;
	for (tries = 0; tries < 2; tries++) {
		size_t blen = body != NULL ? strlen(body) : 0;
		int hn;

		if (http_fd < 0 && (http_fd = http_connect()) < 0)
			die("connect to %s: %s", o.api_text, strerror(-http_fd));
		hn = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n%s%s%s"
			      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			      method, path, o.api_text, o.token ? "Authorization: Bearer " : "",
			      o.token ? o.token : "", o.token ? "\r\n" : "", blen);
		if (send(http_fd, head, (size_t)hn, MSG_NOSIGNAL) != hn ||
		    (blen != 0 && send(http_fd, body, blen, MSG_NOSIGNAL) != (ssize_t)blen)) {
			close(http_fd);
			http_fd = -1;
			continue;	/* the server closed a kept-alive connection: again */
		}
		n = 0;
		for (;;) {
			ssize_t k;

			if (cap - n < 4096) {
				cap = cap ? cap * 2 : 16384;
				if (cap > WSB_HTTP_MAX)
					die("%s %s: answer too large", method, path);
				buf = realloc(buf, cap);
				if (buf == NULL)
					die("out of memory");
			}
			k = recv(http_fd, buf + n, cap - n - 1, 0);
			if (k <= 0)
				break;
			n += (size_t)k;
			buf[n] = '\0';
			end = strstr(buf, "\r\n\r\n");
			if (end == NULL)
				continue;
			hl = (size_t)(end + 4 - buf);
			cl = strcasestr(buf, "\r\nContent-Length:");
			clen = cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
			if (n >= hl + clen) {
				if (sscanf(buf, "HTTP/1.1 %d", &status) != 1)
					die("%s %s: not HTTP: %.60s", method, path, buf);
				if (clen != 0)
					*out = json_loadb(buf + hl, clen, 0, NULL);
				if (strcasestr(buf, "\r\nConnection: close") != NULL) {
					close(http_fd);
					http_fd = -1;
				}
				free(buf);
				return status;
			}
		}
		close(http_fd);
		http_fd = -1;
	}
	die("%s %s: no answer", method, path);
}

/* ---- WebSocket client side ---- */

static void
conn_free_bufs(struct conn *c)
{
	free(c->rx);
	c->rx = NULL;
	c->rx_len = c->rx_cap = 0;
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
}

static void
conn_close(struct conn *c, unsigned int state)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	conn_free_bufs(c);
	c->state = (uint8_t)state;
}

static void
conn_epoll(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

/* Write what can be written now; the rest waits for EPOLLOUT. -1 on a socket error. */
static int
conn_write(struct conn *c, const void *p, size_t len)
{
	ssize_t w = 0;

	if (c->out == NULL) {
		w = send(c->fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno != EAGAIN)
			return -1;
		if (w < 0)
			w = 0;
		if ((size_t)w == len)
			return 0;
	}
	{
		size_t rest = len - (size_t)w;
		char *nb = realloc(c->out, c->out_len + rest);

		if (nb == NULL)
			die("out of memory");
		memcpy(nb + c->out_len, (const char *)p + w, rest);
		c->out = nb;
		c->out_len += (uint32_t)rest;
		conn_epoll(c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
	}
	return 0;
}

static void
conn_flush(struct conn *c)
{
	ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (w < 0) {
		if (errno != EAGAIN)
			conn_close(c, C_CLOSED);
		return;
	}
	c->out_off += (uint32_t)w;
	if (c->out_off == c->out_len) {
		free(c->out);
		c->out = NULL;
		c->out_len = c->out_off = 0;
		conn_epoll(c, EPOLLIN, EPOLL_CTL_MOD);
	}
}

/* A masked client frame (RFC 6455 §5.2, §5.3). */
static int
ws_send(struct conn *c, uint8_t opcode, const char *p, size_t len)
{
	uint8_t stackbuf[1024], *f = stackbuf;
	uint32_t mask = (uint32_t)xorshift();
	size_t h = 2, i;
	int rc;

	if (len + 14 > sizeof(stackbuf)) {
		f = malloc(len + 14);
		if (f == NULL)
			die("out of memory");
	}
	f[0] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		f[1] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		f[1] = 0x80 | 126;
		f[2] = (uint8_t)(len >> 8);
		f[3] = (uint8_t)len;
		h = 4;
	} else {
		die("message too long");
	}
	memcpy(f + h, &mask, 4);
	for (i = 0; i < len; i++)
		f[h + 4 + i] = (uint8_t)p[i] ^ f[h + (i & 3)];
	rc = conn_write(c, f, h + 4 + len);
	if (f != stackbuf)
		free(f);
	return rc;
}

static void
b64(const uint8_t *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

static void
conn_start(struct conn *c, unsigned int i)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	uint8_t raw[16];
	int fd, one = 1, k;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s (raise the open files limit?)", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o.n_src != 0) {
		/* The port is chosen at connect(), per (source, destination): every source
		 * address has its own ephemeral range. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		src.sin_addr = o.src[i % o.n_src];
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
			die("bind %s: %s", inet_ntoa(src.sin_addr), strerror(errno));
	}
	c->fd = fd;
	for (k = 0; k < 16; k += 8) {
		uint64_t r = xorshift();

		memcpy(raw + k, &r, 8);
	}
	b64(raw, 16, c->key);
	if (connect(fd, (struct sockaddr *)&o.api, sizeof(o.api)) < 0 && errno != EINPROGRESS) {
		note_error("connect: %s", strerror(errno));
		close(fd);
		c->fd = -1;
		c->state = C_CLOSED;
		st.failed++;
		return;
	}
	c->state = C_CONNECTING;
	conn_epoll(c, EPOLLOUT, EPOLL_CTL_ADD);
}

static void
conn_connected(struct conn *c)
{
	char req[512];
	int err = 0, n;
	socklen_t el = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
		note_error("connect: %s", strerror(err ? err : errno));
		conn_close(c, C_CLOSED);
		st.failed++;
		return;
	}
	n = snprintf(req, sizeof(req), "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
		     "Sec-WebSocket-Version: 13\r\n\r\n", o.api_text, c->key);
	c->state = C_HANDSHAKE;
	conn_epoll(c, EPOLLIN, EPOLL_CTL_MOD);
	if (conn_write(c, req, (size_t)n) < 0) {
		conn_close(c, C_CLOSED);
		st.failed++;
	}
}

/* The 101 and its Sec-WebSocket-Accept (RFC 6455 §4.1, client requirements 2 to 4). */
static int
hs_check(struct conn *c, const char *resp)
{
	char in[64], want[32];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *a;

	if (strncmp(resp, "HTTP/1.1 101 ", 13) != 0)
		return -1;
	snprintf(in, sizeof(in), "%s%s", c->key, WSB_GUID);
	if (EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return -1;
	b64(md, 20, want);
	a = strcasestr(resp, "\r\nSec-WebSocket-Accept:");
	if (a == NULL)
		return -1;
	a += 23;
	while (*a == ' ')
		a++;
	return strncmp(a, want, 28) == 0 ? 0 : -1;
}

static void
rx_append(struct conn *c, const uint8_t *p, size_t n)
{
	if (c->rx_len + n > c->rx_cap) {
		uint32_t cap = c->rx_cap ? c->rx_cap : 4096;
		uint8_t *nb;

		while (cap < c->rx_len + n)
			cap *= 2;
		nb = realloc(c->rx, cap);
		if (nb == NULL)
			die("out of memory");
		c->rx = nb;
		c->rx_cap = cap;
	}
	memcpy(c->rx + c->rx_len, p, n);
	c->rx_len += (uint32_t)n;
}

/* One message from the server (servers do not mask, §5.1). */
static void
on_message(struct conn *c, const uint8_t *p, size_t n)
{
	st.messages++;
	if (memmem(p, n, "\"request_id\"", 12) == NULL) {
		st.events++;
		return;
	}
	if (memmem(p, n, "\"type\":\"joined\"", 15) != NULL) {
		c->join = 2;
		st.joined++;
	} else if (memmem(p, n, "\"type\":\"error\"", 14) != NULL) {
		c->join = 3;
		st.join_refused++;
		note_error("join refused: %.*s", (int)(n < 200 ? n : 200), (const char *)p);
	}
}

/* Parse the frames in c->rx. */
static void
rx_frames(struct conn *c)
{
	size_t off = 0;

	while (c->rx_len - off >= 2) {
		const uint8_t *f = c->rx + off;
		uint64_t len = f[1] & 0x7f;
		size_t h = 2;

		if (len == 126) {
			if (c->rx_len - off < 4)
				break;
			len = (uint64_t)f[2] << 8 | f[3];
			h = 4;
		} else if (len == 127) {
			if (c->rx_len - off < 10)
				break;
			len = 0;
			for (h = 2; h < 10; h++)
				len = len << 8 | f[h];
		}
		if (c->rx_len - off < h + len)
			break;
		switch (f[0] & 0x0f) {
		case 0x1:
			on_message(c, f + h, (size_t)len);
			break;
		case 0x8:
			/* the server closes: answer (§5.5.1) and go */
			(void)ws_send(c, 0x8, (const char *)f + h, len >= 2 ? 2 : 0);
			st.closed_by_server++;
			conn_close(c, C_CLOSED);
			return;
		case 0x9:
			(void)ws_send(c, 0xa, (const char *)f + h, (size_t)len);
			break;
		default:
			break;
		}
		off += h + (size_t)len;
	}
	if (off == c->rx_len) {
		free(c->rx);
		c->rx = NULL;
		c->rx_len = c->rx_cap = 0;
	} else if (off != 0) {
		memmove(c->rx, c->rx + off, c->rx_len - off);
		c->rx_len -= (uint32_t)off;
	}
}

static void
conn_readable(struct conn *c)
{
	static uint8_t buf[WSB_RX_CHUNK];
	ssize_t k = recv(c->fd, buf, sizeof(buf), 0);

	if (k < 0 && errno == EAGAIN)
		return;
	if (k <= 0) {
		if (c->state == C_HANDSHAKE) {
			note_error("handshake: connection closed (%s)",
				   k < 0 ? strerror(errno) : "eof");
			st.failed++;
		} else {
			st.closed_by_server++;
		}
		conn_close(c, C_CLOSED);
		return;
	}
	rx_append(c, buf, (size_t)k);
	if (c->state == C_HANDSHAKE) {
		uint8_t *end;
		size_t hl;

		end = memmem(c->rx, c->rx_len, "\r\n\r\n", 4);
		if (end == NULL) {
			if (c->rx_len > WSB_HS_MAX) {
				note_error("handshake: answer too long");
				conn_close(c, C_CLOSED);
				st.failed++;
			}
			return;
		}
		hl = (size_t)(end + 4 - c->rx);
		end[0] = '\0';
		if (hs_check(c, (const char *)c->rx) < 0) {
			note_error("handshake: %.80s", (const char *)c->rx);
			conn_close(c, C_CLOSED);
			st.failed++;
			return;
		}
		c->state = C_OPEN;
		st.opened++;
		memmove(c->rx, c->rx + hl, c->rx_len - hl);
		c->rx_len -= (uint32_t)hl;
	}
	rx_frames(c);
}

/* One round of socket work, waiting at most wait_ms. */
static void
pump(int wait_ms)
{
	struct epoll_event evs[WSB_EPOLL_BATCH];
	int n, i;

	n = epoll_wait(epfd, evs, WSB_EPOLL_BATCH, wait_ms);
	for (i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;

		if (c->fd < 0)
			continue;
		if (c->state == C_CONNECTING) {
			conn_connected(c);
			continue;
		}
		if ((evs[i].events & EPOLLOUT) && c->out != NULL)
			conn_flush(c);
		if (c->fd >= 0 && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			conn_readable(c);
	}
}

/* ---- phases ---- */

static void
phase_connect(double *secs)
{
	unsigned int next = 0, inflight, i;
	double t0 = now_s();

	for (;;) {
		inflight = 0;
		/* counting in flight each round is O(N); cheap next to the syscalls */
		for (i = 0; i < next; i++)
			inflight += conns[i].state == C_CONNECTING || conns[i].state == C_HANDSHAKE;
		while (next < o.n && inflight < o.window) {
			conn_start(&conns[next], next);
			next++;
			inflight++;
		}
		if (next == o.n && inflight == 0)
			break;
		pump(100);
		if (now_s() - t0 > 600)
			die("connecting took more than 10 minutes");
	}
	*secs = now_s() - t0;
}

static void
phase_hold(void)
{
	double t0 = now_s(), last_ping = t0;
	unsigned int i, before = st.closed_by_server;

	while (now_s() - t0 < o.hold) {
		pump(100);
		if (o.ping > 0 && now_s() - last_ping >= o.ping) {
			last_ping = now_s();
			for (i = 0; i < o.n; i++)
				if (conns[i].state == C_OPEN)
					(void)ws_send(&conns[i], 0x9, "wsb", 3);
		}
	}
	st.closed_in_hold = st.closed_by_server - before;
}

static json_t *room_ids;	/* room ids (strings), room_ids[i] for participants i*K .. */

static void
make_rooms(unsigned int nrooms)
{
	unsigned int r;

	room_ids = json_array();
	for (r = 0; r < nrooms; r++) {
		char body[128];
		json_t *out;
		int s;

		snprintf(body, sizeof(body), "{\"name\":\"wsbench-%u\",\"max_participants\":%u}", r,
			 o.room_size);
		s = http("POST", "/v1/rooms", body, &out);
		if (s != 201 || !json_is_string(json_object_get(out, "id")))
			die("POST /v1/rooms: HTTP %d %s", s, out ? json_dumps(out, 0) : "");
		json_array_append(room_ids, json_object_get(out, "id"));
		json_decref(out);
	}
}

static void
delete_rooms(void)
{
	size_t i;
	json_t *v, *out;

	json_array_foreach(room_ids, i, v) {
		char path[64];

		snprintf(path, sizeof(path), "/v1/rooms/%s", json_string_value(v));
		http("DELETE", path, NULL, &out);
		json_decref(out);
	}
	json_decref(room_ids);
	room_ids = NULL;
}

/* With an API token: every participant over REST first (their tokens), timed. */
static double
make_participants(unsigned int *list, unsigned int nj)
{
	double t0 = now_s();
	unsigned int k;

	for (k = 0; k < nj; k++) {
		struct conn *c = &conns[list[k]];
		char path[64], body[64];
		json_t *out, *tok;
		int s;

		snprintf(path, sizeof(path), "/v1/rooms/%s/participants",
			 json_string_value(json_array_get(room_ids, c->room)));
		snprintf(body, sizeof(body), "{\"name\":\"p%u\"}", list[k]);
		s = http("POST", path, body, &out);
		tok = json_object_get(out, "token");
		if (s != 201 || !json_is_string(tok) || json_string_length(tok) >= WSB_TOKEN_LEN)
			die("POST %s: HTTP %d %s", path, s, out ? json_dumps(out, 0) : "");
		memcpy(c->token, json_string_value(tok), json_string_length(tok) + 1);
		json_decref(out);
	}
	/* The joins are measured alone: no REST connection left open beside them. */
	if (http_fd >= 0) {
		close(http_fd);
		http_fd = -1;
	}
	return now_s() - t0;
}

static double
phase_join(unsigned int *create_n, double *create_s)
{
	unsigned int *list, nj = 0, i, sent = 0, r;
	double t0;

	list = calloc(o.n, sizeof(*list));
	if (list == NULL)
		die("out of memory");
	for (i = 0; i < o.n && nj < o.joins; i++)
		if (conns[i].state == C_OPEN)
			list[nj++] = i;
	if (nj == 0)
		die("no open connection to join");
	make_rooms((nj + o.room_size - 1) / o.room_size);
	for (i = 0; i < nj; i++)
		conns[list[i]].room = i / o.room_size;
	*create_n = 0;
	*create_s = 0;
	if (o.token != NULL) {
		*create_s = make_participants(list, nj);
		*create_n = nj;
	}
	t0 = now_s();
	for (;;) {
		unsigned int done = st.joined + st.join_refused, closed = 0;

		for (r = 0; r < nj; r++)
			closed += conns[list[r]].state == C_CLOSED && conns[list[r]].join == 1;
		while (sent < nj && sent - done < o.window) {
			struct conn *c = &conns[list[sent]];
			char msg[160];
			int n;

			if (o.token != NULL)
				n = snprintf(msg, sizeof(msg), "{\"type\":\"join\","
					     "\"request_id\":1,\"token\":\"%s\"}", c->token);
			else
				n = snprintf(msg, sizeof(msg), "{\"type\":\"join\","
					     "\"request_id\":1,\"room\":\"%s\",\"name\":\"p%u\"}",
					     json_string_value(json_array_get(room_ids, c->room)),
					     list[sent]);
			c->join = 1;
			if (c->state != C_OPEN || ws_send(c, 0x1, msg, (size_t)n) < 0) {
				c->join = 3;
				st.join_refused++;
				note_error("join: connection %u not open", list[sent]);
			}
			sent++;
		}
		if (done + closed >= nj)
			break;
		pump(100);
		if (now_s() - t0 > 600)
			die("joining took more than 10 minutes");
	}
	free(list);
	return now_s() - t0;
}

/* One upgrade, then close: first-use costs in the daemon (its SHA-1 loads OpenSSL's
 * configuration, a few MB) are not counted against the connections measured. */
static void
warm_up(void)
{
	char req[512], buf[1024];
	int fd = http_connect(), n;

	/* Host: the API's own address (mrelayd refuses other names, docs/OPERATIONS.md
	 * "Security"). */
	n = snprintf(req, sizeof(req), "GET /v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
		     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		     "Sec-WebSocket-Version: 13\r\n\r\n", o.api_text);
	if (fd < 0)
		die("connect to %s: %s", o.api_text, strerror(-fd));
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != (ssize_t)n ||
	    recv(fd, buf, sizeof(buf), 0) <= 0 || strncmp(buf, "HTTP/1.1 101 ", 13) != 0)
		die("warm-up: no WebSocket at %s/v1/ws", o.api_text);
	close(fd);
	usleep(200000);
}

/* ---- main ---- */

static void
raise_nofile(unsigned int need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_max < need) {
		struct rlimit want = { .rlim_cur = need, .rlim_max = need };

		/* Allowed with CAP_SYS_RESOURCE (up to fs.nr_open). */
		if (setrlimit(RLIMIT_NOFILE, &want) == 0)
			return;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < need)
		fprintf(stderr, "wsbench: open files limit %llu < %u needed: expect failures\n",
			(unsigned long long)rl.rlim_cur, need);
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: wsbench --api HOST:PORT -n N [--pid PID] [--token T] [--joins J]\n"
		"               [--room-size K] [--sources A[,B...]] [--window W] [--hold S]\n"
		"               [--ping S] [--json]\n");
	exit(2);
}

static void
parse_api(const char *s)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		usage();
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtoul(colon + 1, NULL, 10);
	o.api.sin_family = AF_INET;
	o.api.sin_port = htons((uint16_t)port);
	if (port == 0 || port > 65535 || inet_pton(AF_INET, host, &o.api.sin_addr) != 1)
		die("--api %s: want IPv4:port", s);
	o.api_text = s;
}

static void
parse_sources(char *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(s, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (o.n_src == WSB_SOURCES_MAX)
			die("--sources: at most %d", WSB_SOURCES_MAX);
		if (inet_pton(AF_INET, tok, &o.src[o.n_src]) != 1)
			die("--sources: %s is not an IPv4 address", tok);
		o.n_src++;
	}
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "pid", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "joins", required_argument, NULL, 'j' },
		{ "room-size", required_argument, NULL, 'k' },
		{ "sources", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ "hold", required_argument, NULL, 'H' },
		{ "ping", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 },
	};
	double t_conn, t_join = 0, create_s = 0;
	unsigned int create_n = 0, i, held = 0;
	long rss0, rss1, rss2;
	int c;

	o.room_size = 50;
	o.window = 256;
	o.hold = 5;
	while ((c = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
		switch (c) {
		case 'a': parse_api(optarg); break;
		case 'n': o.n = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p': o.pid = strtol(optarg, NULL, 10); break;
		case 't': o.token = optarg; break;
		case 'j': o.joins = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'k': o.room_size = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 's': parse_sources(optarg); break;
		case 'w': o.window = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'H': o.hold = strtod(optarg, NULL); break;
		case 'P': o.ping = strtod(optarg, NULL); break;
		case 'J': o.json = true; break;
		default: usage();
		}
	}
	if (o.api_text == NULL || o.n == 0 || o.n > WSB_CONNS_MAX || o.window == 0 ||
	    o.room_size < 2 || o.joins > o.n)
		usage();
	if (o.token != NULL && o.token[0] == '\0')
		o.token = NULL;
	raise_nofile(o.n + 64);
	conns = calloc(o.n, sizeof(*conns));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (conns == NULL || epfd < 0)
		die("out of memory");
	for (i = 0; i < o.n; i++)
		conns[i].fd = -1;
	rng ^= (uint64_t)getpid() << 17 ^ (uint64_t)(now_s() * 1e6);

	warm_up();
	rss0 = rss_kb(o.pid);
	phase_connect(&t_conn);
	phase_hold();
	for (i = 0; i < o.n; i++)
		held += conns[i].state == C_OPEN;
	rss1 = rss_kb(o.pid);
	if (o.joins != 0)
		t_join = phase_join(&create_n, &create_s);
	rss2 = rss_kb(o.pid);

	printf("wsbench: %u connections: %u opened in %.2f s (%.0f/s), %u failed%s%s\n", o.n,
	       st.opened, t_conn, st.opened / t_conn, st.failed,
	       st.first_error[0] && st.failed ? ": " : "", st.failed ? st.first_error : "");
	printf("wsbench: %u held after %.0f s idle (%u closed by the server meanwhile)\n", held,
	       o.hold, st.closed_in_hold);
	if (o.pid > 0)
		printf("wsbench: mrelayd VmRSS %ld kB -> %ld kB with the connections: %.2f kB per "
		       "connection; %ld kB after the joins\n", rss0, rss1,
		       held ? (double)(rss1 - rss0) / held : 0.0, rss2);
	if (o.joins != 0) {
		if (create_n != 0)
			printf("wsbench: %u participants created over REST in %.2f s (%.0f/s)\n",
			       create_n, create_s, create_n / create_s);
		printf("wsbench: %u joins (%s, rooms of %u) in %.3f s: %.0f joins/s, %u refused, "
		       "%" PRIu64 " events received%s%s\n", st.joined + st.join_refused,
		       o.token ? "token" : "room+name", o.room_size, t_join,
		       st.joined / t_join, st.join_refused, st.events,
		       st.join_refused ? ": " : "", st.join_refused ? st.first_error : "");
	}
	if (o.json)
		printf("{\"connections\":%u,\"opened\":%u,\"failed\":%u,\"connect_s\":%.3f,"
		       "\"held\":%u,\"hold_s\":%.1f,\"rss_before_kb\":%ld,\"rss_held_kb\":%ld,"
		       "\"rss_per_conn_kb\":%.3f,\"joins\":%u,\"join_s\":%.3f,\"joins_per_s\":%.0f,"
		       "\"rest_creates\":%u,\"rest_create_s\":%.3f,\"events\":%" PRIu64 "}\n",
		       o.n, st.opened, st.failed, t_conn, held, o.hold, rss0, rss1,
		       held ? (double)(rss1 - rss0) / held : 0.0, st.joined, t_join,
		       t_join > 0 ? st.joined / t_join : 0.0, create_n, create_s, st.events);

	if (room_ids != NULL)
		delete_rooms();
	for (i = 0; i < o.n; i++)
		if (conns[i].fd >= 0)
			conn_close(&conns[i], C_CLOSED);
	if (http_fd >= 0)
		close(http_fd);
	close(epfd);
	free(conns);
	return st.opened == o.n ? 0 : 1;
}
