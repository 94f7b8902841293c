/* SPDX-License-Identifier: BSD-3-Clause
 * A small blocking keep-alive HTTP/1.1 client for the benchmarks (RFC 9112).
 *
 * The socket is non-blocking and every wait is a poll() bounded by HTTPC_TIMEOUT_MS without
 * progress and by HTTPC_ANSWER_MAX_MS per answer, so a dead or trickling server cannot hang a
 * benchmark. Answers are read into one buffer and parsed in place; a pipelined writer also
 * reads while it waits for room to write, so a server that stops reading until its answers
 * are read cannot deadlock a deep pipeline.
 *
 * Requests are answered in order (RFC 9112 §9.3.2). A small ring remembers, per request sent
 * and not answered, whether it was a HEAD (its answer has no body, RFC 9112 §6.3 rule 1).
 * When the connection ends, the requests still queued on it become "dead": httpc_recv answers
 * them -ECONNRESET in their turn, and the next request opens a new connection.
 */
#include "httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTPC_HEAD_MAX		(64 * 1024)	/* status line + header fields */
#define HTTPC_LINE_MAX		4096		/* chunk-size line, trailer line */
#define HTTPC_READ_MIN		16384		/* free room before each read */
#define HTTPC_HOST_MAX		80

struct httpc {
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
	char host[HTTPC_HOST_MAX];	/* the Host field (RFC 9112 §3.2): "host:port" as given */
	char *auth;			/* "Authorization: Bearer T\r\n" or NULL */
	bool eof;			/* the server closed its side of this connection */

	/* Bytes read and not consumed yet: rbuf[rpos..rlen). */
	char *rbuf;
	size_t rcap, rpos, rlen;

	/* One request being written. */
	char *wbuf;
	size_t wcap;

	/* Requests sent and not answered, oldest first: a ring of "is HEAD" flags. The first
	 * `dead` of them were lost with an earlier connection, the next `live` wait on fd. */
	unsigned char *q;
	unsigned int qcap, qhead, dead, live;
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "a.b.c.d:p" or "[v6]:p" into c->sa; port 1..65535, decimal. */
static int
parse_hostport(struct httpc *c, const char *hp)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port, *end;
	bool v6 = hp[0] == '[';
	unsigned long p = 0;
	size_t n;

	if (v6) {
		end = strchr(hp, ']');
		if (end == NULL || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - hp - 1);
		hp++;
		port = end + 2;
	} else {
		end = strrchr(hp, ':');
		if (end == NULL)
			return -EINVAL;
		n = (size_t)(end - hp);
		port = end + 1;
	}
	if (n == 0 || n >= sizeof(host) || port[0] == '\0' || strlen(port) > 5)
		return -EINVAL;
	memcpy(host, hp, n);
	host[n] = '\0';
	for (; *port != '\0'; port++) {
		if (*port < '0' || *port > '9')
			return -EINVAL;
		p = p * 10 + (unsigned long)(*port - '0');
	}
	if (p == 0 || p > 65535)
		return -EINVAL;

	memset(&c->sa, 0, sizeof(c->sa));
	if (v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&c->sa;

		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		c->salen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&c->sa;

		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		c->salen = sizeof(*s4);
	}
	return 0;
}

/* Close the connection: whatever was still queued on it will never be answered. */
static void
conn_drop(struct httpc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->eof = false;
	c->rpos = 0;
	c->rlen = 0;
	c->dead += c->live;
	c->live = 0;
}

static int
conn_open(struct httpc *c)
{
	struct pollfd pfd;
	socklen_t sl;
	int fd, one = 1, err = 0, r;

	conn_drop(c);
	fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Small requests and answers: do not let Nagle hold a request back waiting for the
	 * ACK of the previous one (RFC 896 against delayed ACKs, RFC 1122 §4.2.3.2). */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		goto fail_errno;
	if (connect(fd, (struct sockaddr *)&c->sa, c->salen) < 0) {
		if (errno != EINPROGRESS)
			goto fail_errno;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			r = poll(&pfd, 1, HTTPC_TIMEOUT_MS);
		} while (r < 0 && errno == EINTR);
		if (r < 0)
			goto fail_errno;
		if (r == 0) {
			err = ETIMEDOUT;
			goto fail;
		}
		sl = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
			goto fail_errno;
		if (err != 0)
			goto fail;
	}
	c->fd = fd;
	return 0;

fail_errno:
	err = errno;
fail:
	close(fd);
	return -err;
}

/* Wait for events on the socket: at most HTTPC_TIMEOUT_MS, and never past deadline. */
static int
wait_fd(struct httpc *c, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (left > HTTPC_TIMEOUT_MS)
			left = HTTPC_TIMEOUT_MS;
		r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return pfd.revents;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Make at least HTTPC_READ_MIN bytes of room at the end of rbuf. */
static int
rbuf_room(struct httpc *c)
{
	size_t ncap;
	char *n;

	if (c->rpos == c->rlen) {
		c->rpos = 0;
		c->rlen = 0;
	}
	if (c->rcap - c->rlen >= HTTPC_READ_MIN)
		return 0;
	if (c->rpos > 0) {
		memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
		c->rlen -= c->rpos;
		c->rpos = 0;
		if (c->rcap - c->rlen >= HTTPC_READ_MIN)
			return 0;
	}
	ncap = c->rcap ? c->rcap * 2 : 4 * HTTPC_READ_MIN;
	if (ncap < c->rcap)
		return -ENOMEM;
	n = realloc(c->rbuf, ncap);
	if (n == NULL)
		return -ENOMEM;
	c->rbuf = n;
	c->rcap = ncap;
	return 0;
}

/* One read of what is there: >0 bytes appended, 0 at end of stream (c->eof), -EAGAIN
 * when nothing is there, else -errno. */
static int
read_some(struct httpc *c)
{
	ssize_t n;
	int ret;

	ret = rbuf_room(c);
	if (ret < 0)
		return ret;
	do {
		n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0) {
		c->eof = true;
		return 0;
	}
	c->rlen += (size_t)n;
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* Wait for and read more bytes of an answer: >0, -ECONNRESET at end of stream, -errno. */
static int
fill(struct httpc *c, int64_t deadline)
{
	int ret;

	if (c->eof)
		return -ECONNRESET;
	for (;;) {
		ret = read_some(c);
		if (ret > 0)
			return ret;
		if (ret == 0)
			return -ECONNRESET;
		if (ret != -EAGAIN)
			return ret;
		ret = wait_fd(c, POLLIN, deadline);
		if (ret < 0)
			return ret;
	}
}

/* Before a request on an idle connection: has the server closed it meanwhile (keep-alive
 * timeout)? Anything it sent unasked (a 408 before closing) also means it is finished. */
static bool
conn_stale(struct httpc *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	if (c->eof || c->rlen > c->rpos)
		return true;
	if (poll(&pfd, 1, 0) <= 0)
		return false;
	return true;
}

/* Get a usable connection for a new request; *fresh when it was opened here. */
static int
conn_ready(struct httpc *c, bool *fresh)
{
	*fresh = false;
	if (c->fd >= 0 && c->live == 0 && conn_stale(c))
		conn_drop(c);
	if (c->fd >= 0) {
		/* The server closed with answers still due: nothing more goes on this one. */
		return c->eof ? -ECONNRESET : 0;
	}
	*fresh = true;
	return conn_open(c);
}

static bool
token_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

/* Format and write one request (RFC 9112 §3, §6.2). Reads while it waits for room. */
static int
write_req(struct httpc *c, const char *method, const char *path, const char *body,
	  size_t body_len)
{
	int64_t deadline = now_ms() + HTTPC_ANSWER_MAX_MS;
	size_t need, off = 0;
	ssize_t n;
	int len, ret;

	for (;;) {
		if (body != NULL)
			len = snprintf(c->wbuf, c->wcap, "%s %s HTTP/1.1\r\nHost: %s\r\n%s"
				       "Content-Type: application/json\r\n"
				       "Content-Length: %zu\r\n\r\n", method, path, c->host,
				       c->auth ? c->auth : "", body_len);
		else
			len = snprintf(c->wbuf, c->wcap, "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
				       method, path, c->host, c->auth ? c->auth : "");
		if (len < 0)
			return -EINVAL;
		need = (size_t)len + (body ? body_len : 0) + 1;
		if (need < body_len)
			return -ENOMEM;
		if (need <= c->wcap)
			break;
		if (need < 2 * c->wcap)
			need = 2 * c->wcap;
		free(c->wbuf);
		c->wbuf = malloc(need);
		c->wcap = c->wbuf ? need : 0;
		if (c->wbuf == NULL)
			return -ENOMEM;
	}
	if (body != NULL && body_len > 0)
		memcpy(c->wbuf + len, body, body_len);
	need = (size_t)len + (body ? body_len : 0);

	while (off < need) {
		n = send(c->fd, c->wbuf + off, need - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EWOULDBLOCK)
			return -errno;
		/* No room: the server may be waiting for us to read its answers. */
		ret = wait_fd(c, c->eof ? POLLOUT : POLLOUT | POLLIN, deadline);
		if (ret < 0)
			return ret;
		if ((ret & POLLIN) && !c->eof) {
			ret = read_some(c);
			if (ret < 0 && ret != -EAGAIN)
				return ret;
		}
	}
	return 0;
}

static void
q_push(struct httpc *c, bool head)
{
	c->q[(c->qhead + c->dead + c->live) % c->qcap] = head;
}

static int
q_reserve(struct httpc *c)
{
	unsigned int n = c->dead + c->live, i, ncap;
	unsigned char *nq;

	if (n < c->qcap)
		return 0;
	ncap = c->qcap ? c->qcap * 2 : 64;
	if (ncap < c->qcap)
		return -ENOMEM;
	nq = malloc(ncap);
	if (nq == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		nq[i] = c->q[(c->qhead + i) % c->qcap];
	free(c->q);
	c->q = nq;
	c->qcap = ncap;
	c->qhead = 0;
	return 0;
}

/* Send one request on a ready connection and queue it: 0 or -errno (then not queued, and the
 * connection is dropped when the write broke it). */
static int
send_one(struct httpc *c, const char *method, const char *path, const char *body,
	 size_t body_len)
{
	int ret;

	ret = q_reserve(c);
	if (ret < 0)
		return ret;
	ret = write_req(c, method, path, body, body_len);
	if (ret < 0) {
		/* Part of a request may be on the wire: the stream is unusable. */
		conn_drop(c);
		return ret;
	}
	q_push(c, strcmp(method, "HEAD") == 0);
	c->live++;
	return 0;
}

/* A growing body buffer, always with room for the final NUL. */
struct body {
	char *p;
	size_t len, cap;
	bool keep;	/* false: the caller does not want it; count only */
};

static int
body_add(struct body *b, const char *s, size_t n)
{
	size_t ncap;
	char *p;

	if (!b->keep) {
		b->len += n;
		return 0;
	}
	if (n == 0)
		return 0;
	if (b->len + n + 1 < n)
		return -ENOMEM;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n + 1) {
			if (ncap * 2 < ncap)
				return -ENOMEM;
			ncap *= 2;
		}
		p = realloc(b->p, ncap);
		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* Find the end of a line in rbuf[from..rlen): the index after its '\n', or 0. */
static size_t
line_end(const struct httpc *c, size_t from)
{
	const char *nl = memchr(c->rbuf + from, '\n', c->rlen - from);

	return nl ? (size_t)(nl - c->rbuf) + 1 : 0;
}

/* Wait for a whole line at rpos (LF or CRLF ended, at most HTTPC_LINE_MAX): its length
 * without the line ending into *len, the index after it into *next. */
static int
get_line(struct httpc *c, int64_t deadline, size_t *len, size_t *next)
{
	size_t scan = 0, e;	/* offset from rpos already known to hold no '\n' */
	int ret;

	for (;;) {
		e = line_end(c, c->rpos + scan);
		if (e != 0)
			break;
		if (c->rlen - c->rpos > HTTPC_LINE_MAX)
			return -EPROTO;
		/* fill() may move the unread bytes to the front: keep offsets from rpos. */
		scan = c->rlen - c->rpos;
		ret = fill(c, deadline);
		if (ret < 0)
			return ret;
	}
	*next = e;
	e--;
	if (e > c->rpos && c->rbuf[e - 1] == '\r')
		e--;
	*len = e - c->rpos;
	return 0;
}

/* Case-insensitive: is tok one of the comma-separated elements of the value v[0..n)? */
static bool
list_has(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok), i = 0, s, e;

	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < n && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

/* Is the last transfer coding "chunked" (RFC 9112 §6.3 rule 4)? */
static bool
te_chunked(const char *v, size_t n)
{
	size_t e = n, s;

	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	s = e;
	while (s > 0 && v[s - 1] != ',' && v[s - 1] != ' ' && v[s - 1] != '\t')
		s--;
	return e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
}

enum body_mode { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };

struct head {
	int status;
	enum body_mode mode;
	uint64_t length;
	bool close;
};

/* Parse a complete head in rbuf[rpos..end): status line (RFC 9112 §4) and the fields that
 * frame the body (§6) and end the connection (§9.6). */
static int
parse_head(struct httpc *c, size_t end, bool is_head_req, struct head *h)
{
	bool http10, have_len = false, chunked = false, te = false, ka = false;
	const char *p = c->rbuf + c->rpos, *lim = c->rbuf + end, *eol, *colon, *v, *ve;
	size_t nl;
	uint64_t len = 0;

	memset(h, 0, sizeof(*h));
	/* "HTTP/1.x SSS reason" */
	if (lim - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') ||
	    p[8] != ' ' || p[9] < '1' || p[9] > '5' || p[10] < '0' || p[10] > '9' ||
	    p[11] < '0' || p[11] > '9' || (lim - p > 12 && p[12] != ' ' && p[12] != '\r' &&
					   p[12] != '\n'))
		return -EPROTO;
	http10 = p[7] == '0';
	h->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	eol = memchr(p, '\n', (size_t)(lim - p));
	if (eol == NULL)
		return -EPROTO;
	p = eol + 1;

	while (p < lim) {
		eol = memchr(p, '\n', (size_t)(lim - p));
		if (eol == NULL)
			return -EPROTO;
		nl = (size_t)(eol - p);
		if (nl > 0 && p[nl - 1] == '\r')
			nl--;
		if (nl == 0)
			break;		/* the empty line that ends the head */
		if (p[0] == ' ' || p[0] == '\t')
			return -EPROTO;	/* obsolete line folding (RFC 9112 §5.2) */
		colon = memchr(p, ':', nl);
		if (colon == NULL || colon == p)
			return -EPROTO;
		v = colon + 1;
		ve = p + nl;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (colon - p == 14 && strncasecmp(p, "content-length", 14) == 0) {
			uint64_t x = 0;
			const char *d;

			if (v == ve)
				return -EPROTO;
			for (d = v; d < ve; d++) {
				if (*d < '0' || *d > '9' || x > (UINT64_MAX - 9) / 10)
					return -EPROTO;
				x = x * 10 + (uint64_t)(*d - '0');
			}
			/* Two different lengths: the framing cannot be trusted (§6.3 rule 5). */
			if (have_len && x != len)
				return -EPROTO;
			have_len = true;
			len = x;
		} else if (colon - p == 17 && strncasecmp(p, "transfer-encoding", 17) == 0) {
			te = true;
			chunked = te_chunked(v, (size_t)(ve - v));
		} else if (colon - p == 10 && strncasecmp(p, "connection", 10) == 0) {
			if (list_has(v, (size_t)(ve - v), "close"))
				h->close = true;
			if (list_has(v, (size_t)(ve - v), "keep-alive"))
				ka = true;
		}
		p = eol + 1;
	}
	/* HTTP/1.0 closes unless it says keep-alive (RFC 9112 §9.3). */
	if (http10 && !ka)
		h->close = true;

	/* RFC 9112 §6.3, in its order. */
	if (is_head_req || h->status < 200 || h->status == 204 || h->status == 304) {
		h->mode = BODY_NONE;
	} else if (te) {
		h->mode = chunked ? BODY_CHUNKED : BODY_EOF;
		if (!chunked)
			h->close = true;
	} else if (have_len) {
		h->mode = BODY_LENGTH;
		h->length = len;
	} else {
		h->mode = BODY_EOF;
		h->close = true;
	}
	return 0;
}

/* Wait for a whole head at rpos; its end (the index after the empty line) into *end. */
static int
get_head(struct httpc *c, int64_t deadline, size_t *end)
{
	size_t scan = 0, e;	/* offset from rpos already known to hold no empty line */
	const char *b;
	int ret;

	for (;;) {
		b = c->rbuf + c->rpos;
		for (e = scan; e < c->rlen - c->rpos; e++) {
			if (b[e] != '\n')
				continue;
			if ((e >= 1 && b[e - 1] == '\n') ||
			    (e >= 2 && b[e - 1] == '\r' && b[e - 2] == '\n')) {
				*end = c->rpos + e + 1;
				return 0;
			}
		}
		scan = e;
		if (c->rlen - c->rpos > HTTPC_HEAD_MAX)
			return -EPROTO;
		ret = fill(c, deadline);
		if (ret < 0)
			return ret;
	}
}

/* Read exactly n body bytes (n may be huge). */
static int
read_len(struct httpc *c, int64_t deadline, uint64_t n, struct body *b)
{
	size_t have;
	int ret;

	while (n > 0) {
		if (c->rpos == c->rlen) {
			ret = fill(c, deadline);
			if (ret < 0)
				return ret;
		}
		have = c->rlen - c->rpos;
		if (have > n)
			have = (size_t)n;
		ret = body_add(b, c->rbuf + c->rpos, have);
		if (ret < 0)
			return ret;
		c->rpos += have;
		n -= have;
	}
	return 0;
}

/* A chunked body (RFC 9112 §7.1): chunk-size [; ext] CRLF data CRLF ... 0 CRLF trailers CRLF */
static int
read_chunked(struct httpc *c, int64_t deadline, struct body *b)
{
	size_t len, next, i;
	uint64_t size;
	int ret, d;

	for (;;) {
		ret = get_line(c, deadline, &len, &next);
		if (ret < 0)
			return ret;
		size = 0;
		for (i = 0; i < len; i++) {
			char ch = c->rbuf[c->rpos + i];

			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				d = ch - 'A' + 10;
			else
				break;
			if (size > (UINT64_MAX >> 4))
				return -EPROTO;
			size = size << 4 | (uint64_t)d;
		}
		if (i == 0 || (i < len && c->rbuf[c->rpos + i] != ';' &&
			       c->rbuf[c->rpos + i] != ' ' && c->rbuf[c->rpos + i] != '\t'))
			return -EPROTO;
		c->rpos = next;
		if (size == 0)
			break;
		ret = read_len(c, deadline, size, b);
		if (ret < 0)
			return ret;
		ret = get_line(c, deadline, &len, &next);
		if (ret < 0)
			return ret;
		if (len != 0)
			return -EPROTO;
		c->rpos = next;
	}
	/* Trailer fields, ignored, up to the empty line. */
	for (;;) {
		ret = get_line(c, deadline, &len, &next);
		if (ret < 0)
			return ret;
		c->rpos = next;
		if (len == 0)
			return 0;
	}
}

static int
read_eof(struct httpc *c, int64_t deadline, struct body *b)
{
	int ret;

	for (;;) {
		ret = body_add(b, c->rbuf + c->rpos, c->rlen - c->rpos);
		if (ret < 0)
			return ret;
		c->rpos = c->rlen;
		ret = fill(c, deadline);
		if (ret == -ECONNRESET && c->eof)
			return 0;
		if (ret < 0)
			return ret;
	}
}

/* Read the answer to the oldest live request, which the caller has popped. *got: some byte
 * of it had arrived (a retry would not be safe). */
static int
recv_answer(struct httpc *c, bool is_head_req, struct body *b, bool *got)
{
	int64_t deadline = now_ms() + HTTPC_ANSWER_MAX_MS;
	struct head h;
	size_t end;
	int ret;

	*got = false;
	for (;;) {
		ret = get_head(c, deadline, &end);
		if (c->rlen > c->rpos)
			*got = true;
		if (ret < 0)
			return ret;
		ret = parse_head(c, end, is_head_req, &h);
		if (ret < 0)
			return ret;
		c->rpos = end;
		/* Interim answers (100 Continue, 103 Early Hints) precede the final one. */
		if (h.status >= 100 && h.status < 200 && h.status != 101)
			continue;
		break;
	}
	switch (h.mode) {
	case BODY_LENGTH:
		ret = read_len(c, deadline, h.length, b);
		break;
	case BODY_CHUNKED:
		ret = read_chunked(c, deadline, b);
		break;
	case BODY_EOF:
		ret = read_eof(c, deadline, b);
		break;
	default:
		ret = 0;
		break;
	}
	if (ret < 0)
		return ret;
	if (h.close)
		conn_drop(c);
	return h.status;
}

/* httpc_recv's work; *got as recv_answer's. */
static int
recv_one(struct httpc *c, char **resp, size_t *resp_len, bool *got)
{
	struct body b = { .keep = resp != NULL };
	bool is_head;
	int ret;

	*got = false;
	if (resp != NULL)
		*resp = NULL;
	if (resp_len != NULL)
		*resp_len = 0;
	if (c->dead + c->live == 0)
		return -EINVAL;
	is_head = c->q[c->qhead] != 0;
	c->qhead = (c->qhead + 1) % c->qcap;
	if (c->dead > 0) {
		c->dead--;
		return -ECONNRESET;
	}
	c->live--;

	ret = recv_answer(c, is_head, &b, got);
	if (ret < 0) {
		/* The stream is out of step now: nothing more can be read from it. */
		conn_drop(c);
		free(b.p);
		return ret;
	}
	if (resp != NULL) {
		if (b.p == NULL) {
			b.p = malloc(1);
			if (b.p == NULL)
				return -ENOMEM;
		}
		b.p[b.len] = '\0';
		*resp = b.p;
	}
	if (resp_len != NULL)
		*resp_len = b.len;
	return ret;
}

struct httpc *
httpc_open(const char *hostport, const char *token)
{
	struct httpc *c;
	int ret;

	if (hostport == NULL || strlen(hostport) >= HTTPC_HOST_MAX ||
	    (token != NULL && token[0] != '\0' && !token_ok(token))) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = -1;
	ret = parse_hostport(c, hostport);
	if (ret < 0)
		goto fail;
	strcpy(c->host, hostport);
	if (token != NULL && token[0] != '\0') {
		size_t n = strlen(token) + sizeof("Authorization: Bearer \r\n");

		c->auth = malloc(n);
		if (c->auth == NULL) {
			ret = -ENOMEM;
			goto fail;
		}
		snprintf(c->auth, n, "Authorization: Bearer %s\r\n", token);
	}
	c->wcap = 1024;
	c->wbuf = malloc(c->wcap);
	if (c->wbuf == NULL) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = conn_open(c);
	if (ret < 0)
		goto fail;
	return c;

fail:
	httpc_close(c);
	errno = -ret;
	return NULL;
}

void
httpc_close(struct httpc *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->auth);
	free(c->rbuf);
	free(c->wbuf);
	free(c->q);
	free(c);
}

static bool
req_ok(const char *method, const char *path)
{
	if (method == NULL || path == NULL || path[0] != '/')
		return false;
	return token_ok(method) && token_ok(path);
}

int
httpc_send(struct httpc *c, const char *method, const char *path, const char *body,
	   size_t body_len)
{
	bool fresh;
	int ret;

	if (c == NULL || !req_ok(method, path))
		return -EINVAL;
	ret = conn_ready(c, &fresh);
	if (ret < 0)
		return ret;
	return send_one(c, method, path, body, body_len);
}

int
httpc_recv(struct httpc *c, char **resp, size_t *resp_len)
{
	bool got;

	if (c == NULL)
		return -EINVAL;
	return recv_one(c, resp, resp_len, &got);
}

int
httpc_request(struct httpc *c, const char *method, const char *path, const char *body,
	      size_t body_len, char **resp, size_t *resp_len)
{
	bool fresh, got;
	int ret, attempt;

	if (resp != NULL)
		*resp = NULL;
	if (resp_len != NULL)
		*resp_len = 0;
	if (c == NULL || !req_ok(method, path))
		return -EINVAL;
	if (c->dead + c->live > 0)
		return -EBUSY;
	/* A keep-alive connection the server closed between two requests fails at once and
	 * before any byte of an answer: then, and only then, try once on a new connection. */
	for (attempt = 0; ; attempt++) {
		ret = conn_ready(c, &fresh);
		if (ret < 0)
			return ret;
		ret = send_one(c, method, path, body, body_len);
		if (ret < 0) {
			if (attempt == 0 && !fresh && (ret == -EPIPE || ret == -ECONNRESET))
				continue;
			return ret;
		}
		ret = recv_one(c, resp, resp_len, &got);
		if (ret < 0 && attempt == 0 && !fresh && !got && ret == -ECONNRESET)
			continue;
		return ret;
	}
}

unsigned int
httpc_pending(const struct httpc *c)
{
	return c ? c->dead + c->live : 0;
}

int
httpc_fd(const struct httpc *c)
{
	return c ? c->fd : -1;
}
