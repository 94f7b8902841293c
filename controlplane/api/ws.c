/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket connections (RFC 6455) on the control thread.
 *
 * libmicrohttpd answers the opening handshake (mr_ws_accept) and hands the socket over in
 * its upgrade callback. Keeping it there would cost a libmicrohttpd connection (its memory
 * pool, 32 KiB by default) per WebSocket, so the socket is dup()ed and libmicrohttpd is
 * told to close its own descriptor: for a plain TCP connection it only close()s it (no
 * shutdown(), which would end our copy too), and the connection lives on in ours. From
 * then on one epoll set serves every WebSocket, driven by mr_ws_server_poll() from the
 * control loop: level-triggered, a bounded batch of events and of reads per call, output
 * watched (EPOLLOUT) only while some is queued.
 *
 * Memory per idle connection is one struct mr_ws_conn (a few hundred bytes); the message
 * and output buffers exist only while a message is being received or output waits.
 *
 * Callbacks must not free a connection under our feet: a connection that ends is closed
 * at once (socket, buffers) but its struct stays on a list until its on_close has been
 * delivered, at the end of mr_ws_server_poll(), after the batch of epoll events that may
 * still point at it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "guard.h"
#include "mono.h"
#include "ws.h"

/* §7.1.1/§7.1.2: how long we wait for the peer's close frame (or its FIN) after ours. */
#define WS_CLOSE_WAIT_MS 2000
/* Work bounds per mr_ws_server_poll(): events per call, reads per connection per call. */
#define WS_EPOLL_BATCH 64
#define WS_READ_CHUNK 16384
#define WS_READS_PER_CONN 4
/* Timers run per call: a burst of expiries (a network outage) is spread over calls
 * (mr_ws_server_next_timeout() then says 0). */
#define WS_TIMERS_PER_POLL 1024
#define WS_OUT_MIN 256

#define CT_JSON "application/json"

enum ws_state {
	WS_OPEN,
	WS_CLOSING,	/* our close frame is queued or sent; waiting for the peer's */
	WS_DEAD,	/* socket closed, on_close not delivered yet */
};

struct ws_list {
	struct mr_ws_conn *head;
	struct mr_ws_conn *tail;
};

struct mr_ws_conn {
	struct mr_ws_server *s;
	/* On exactly one list: idle (OPEN), closing (CLOSING) or dead (DEAD). The first two
	 * are sorted by deadline since every entry gets the same delay from a clock that
	 * does not go back. */
	struct mr_ws_conn *prev;
	struct mr_ws_conn *next;
	uint64_t deadline;
	/* Not admitted yet: on the pending list (sorted by join_deadline, the same delay for
	 * all), counted in peer->ws_pending. */
	struct mr_ws_conn *pprev;
	struct mr_ws_conn *pnext;
	uint64_t join_deadline;
	uint8_t pending;
	struct mr_peer *peer;		/* its address (a reference), NULL if none */
	struct sockaddr_storage sa;
	void *user;
	const char *reason;	/* for on_close */
	uint8_t *out;		/* queued output: out[out_off..out_len); NULL when none */
	size_t out_off;
	size_t out_len;
	size_t out_cap;
	unsigned int errors;
	int fd;
	uint8_t state;
	uint8_t close_rcvd;	/* the peer's close frame (or its FIN) is in */
	uint8_t discard;	/* stream broken or finished: read and drop until FIN */
	uint8_t want_out;	/* EPOLLOUT in the epoll set */
	uint8_t shut_wr;	/* shutdown(SHUT_WR) done */
	struct mr_ws_rx rx;
};

struct mr_ws_server {
	struct mr_ws_limits lim;
	struct mr_ws_handler h;
	void *arg;
	int epfd;
	uint64_t now;
	unsigned int nconns;	/* OPEN + CLOSING */
	struct ws_list idle;
	struct ws_list closing;
	struct ws_list dead;
	struct ws_list pending;		/* linked by pprev/pnext */
	struct mr_ws_stats st;
};

static void
list_del(struct ws_list *l, struct mr_ws_conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
}

static void
list_add_tail(struct ws_list *l, struct mr_ws_conn *c)
{
	c->next = NULL;
	c->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
}

static struct ws_list *
conn_list(struct mr_ws_conn *c)
{
	struct mr_ws_server *s = c->s;

	switch (c->state) {
	case WS_OPEN:
		return &s->idle;
	case WS_CLOSING:
		return &s->closing;
	default:
		return &s->dead;
	}
}

static void
conn_arm(struct mr_ws_conn *c, int want_out)
{
	struct epoll_event ev;

	if (c->want_out == want_out)
		return;
	ev.events = EPOLLIN | (want_out ? EPOLLOUT : 0);
	ev.data.ptr = c;
	if (epoll_ctl(c->s->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->want_out = (uint8_t)want_out;
}

static const struct sockaddr *
conn_sa(const struct mr_ws_conn *c)
{
	return c->sa.ss_family != 0 ? (const struct sockaddr *)&c->sa : NULL;
}

/* Off the pending list: admitted, or ended. */
static void
conn_unpend(struct mr_ws_conn *c)
{
	struct ws_list *l = &c->s->pending;

	if (!c->pending)
		return;
	if (c->pprev != NULL)
		c->pprev->pnext = c->pnext;
	else
		l->head = c->pnext;
	if (c->pnext != NULL)
		c->pnext->pprev = c->pprev;
	else
		l->tail = c->pprev;
	c->pprev = c->pnext = NULL;
	c->pending = 0;
	if (c->peer != NULL)
		c->peer->ws_pending--;
}

/* The end of a connection: everything but the struct goes now, the struct after its
 * on_close (ws_deliver). */
static void
conn_drop(struct mr_ws_conn *c, const char *reason)
{
	struct mr_ws_server *s = c->s;

	if (c->state == WS_DEAD)
		return;
	list_del(conn_list(c), c);
	conn_unpend(c);
	if (c->peer != NULL) {
		c->peer->refs--;
		mr_guard_peer_put(s->lim.guard, c->peer);
		c->peer = NULL;
	}
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
	mr_ws_rx_release(&c->rx);
	c->state = WS_DEAD;
	c->reason = reason;
	list_add_tail(&s->dead, c);
	s->nconns--;
	s->st.connections--;
}

/* The close handshake is over when our close frame is out and the peer's is in. */
static void
conn_try_finish(struct mr_ws_conn *c)
{
	if (c->state != WS_CLOSING || c->out_len != c->out_off)
		return;
	if (c->close_rcvd) {
		/* §7.1.1: the server closes the TCP connection first. */
		conn_drop(c, c->reason);
	} else if (c->discard && !c->shut_wr) {
		/* The stream is broken, the peer may not send a close frame we could read:
		 * our FIN tells it we are done, its FIN ends the connection. */
		shutdown(c->fd, SHUT_WR);
		c->shut_wr = 1;
	}
}

static void
out_release(struct mr_ws_conn *c)
{
	free(c->out);
	c->out = NULL;
	c->out_off = c->out_len = c->out_cap = 0;
}

/* Write what is queued; 0, or -EPIPE when the connection was dropped. */
static int
conn_flush(struct mr_ws_conn *c)
{
	ssize_t w;

	while (c->out_off < c->out_len) {
		w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_drop(c, "io");
			return -EPIPE;
		}
		c->out_off += (size_t)w;
		c->s->st.tx_bytes += (uint64_t)w;
		/* One write per call: the kernel took what it could. */
		break;
	}
	if (c->out_off == c->out_len) {
		out_release(c);
		conn_arm(c, 0);
		conn_try_finish(c);
	} else {
		conn_arm(c, 1);
	}
	return 0;
}

/* Queue one unmasked frame (§5.1: a server never masks). limit: refuse past max_sendbuf
 * (everything but the close frame, the last one). 0, -ENOBUFS (dropped, "slow"), -EPIPE
 * (dropped after a socket error) or -ENOMEM. */
static int
conn_send(struct mr_ws_conn *c, uint8_t op, const void *payload, size_t len, int limit)
{
	struct mr_ws_server *s = c->s;
	uint8_t hdr[MR_WS_HDR_MAX];
	size_t hl, total, skip = 0, pending, rem, need;

	hl = mr_ws_frame_hdr_build(hdr, 1, op, len, NULL);
	total = hl + len;
	pending = c->out_len - c->out_off;
	if (pending == 0) {
		/* Nothing queued: straight to the socket, and only the rest is kept. */
		struct iovec iov[2] = {
			{ .iov_base = hdr, .iov_len = hl },
			{ .iov_base = (void *)payload, .iov_len = len },
		};
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len != 0 ? 2 : 1 };
		ssize_t w;

		do {
			w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
		} while (w < 0 && errno == EINTR);
		if (w < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				conn_drop(c, "io");
				return -EPIPE;
			}
			w = 0;
		}
		s->st.tx_bytes += (uint64_t)w;
		skip = (size_t)w;
		if (skip == total)
			return 0;
	}
	rem = total - skip;
	if (limit && pending + rem > s->lim.max_sendbuf) {
		/* The client does not read fast enough: rather than queueing without bound,
		 * let it go. */
		s->st.slow++;
		mr_guard_refuse(s->lim.guard, MR_REFUSE_WS_SLOW, conn_sa(c),
				"WebSocket client does not read (rooms.ws_max_sendbuf)");
		conn_drop(c, "slow");
		return -ENOBUFS;
	}
	need = pending + rem;
	if (c->out_off != 0 && pending != 0)
		memmove(c->out, c->out + c->out_off, pending);
	c->out_off = 0;
	c->out_len = pending;
	if (need > c->out_cap) {
		size_t cap = c->out_cap != 0 ? c->out_cap : WS_OUT_MIN;
		uint8_t *p;

		while (cap < need)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			conn_drop(c, "io");
			return -ENOMEM;
		}
		c->out = p;
		c->out_cap = cap;
	}
	if (skip < hl) {
		memcpy(c->out + c->out_len, hdr + skip, hl - skip);
		c->out_len += hl - skip;
		skip = hl;
	}
	if (len > skip - hl) {
		memcpy(c->out + c->out_len, (const uint8_t *)payload + (skip - hl),
		       len - (skip - hl));
		c->out_len += len - (skip - hl);
	}
	conn_arm(c, 1);
	return 0;
}

/* Move to CLOSING: our close frame goes out, the peer has WS_CLOSE_WAIT_MS to answer. */
static void
conn_start_close(struct mr_ws_conn *c, unsigned int code, const char *why, const char *reason)
{
	uint8_t p[MR_WS_CONTROL_MAX];
	size_t n;

	if (c->state != WS_OPEN)
		return;
	list_del(&c->s->idle, c);
	c->state = WS_CLOSING;
	c->reason = reason;
	c->deadline = c->s->now + WS_CLOSE_WAIT_MS;
	list_add_tail(&c->s->closing, c);
	n = code == MR_WS_CLOSE_NO_STATUS ? 0 : mr_ws_close_build(p, code, why);
	if (conn_send(c, MR_WS_OP_CLOSE, p, n, 0) == 0)
		conn_try_finish(c);
}

/* §7.1.7 _Fail the WebSocket Connection_: close frame with the cause, then no more
 * reading of frames (the stream may be out of step). */
static void
conn_fail(struct mr_ws_conn *c, unsigned int code, const char *why)
{
	c->s->st.protocol_errors++;
	c->discard = 1;
	conn_start_close(c, code, why, "protocol");
	/* Already closing: no more reading, our FIN once our close frame is out. */
	conn_try_finish(c);
}

static void
conn_close_frame(struct mr_ws_conn *c, const uint8_t *p, size_t n)
{
	unsigned int code;
	const char *reason;
	size_t rlen;
	int ret;

	ret = mr_ws_close_parse(p, n, &code, &reason, &rlen);
	if (ret < 0) {
		conn_fail(c, ret == -EILSEQ ? MR_WS_CLOSE_INVALID_DATA : MR_WS_CLOSE_PROTOCOL,
			  "bad close frame");
		return;
	}
	c->close_rcvd = 1;
	/* §5.5.1: nothing follows a close frame. */
	c->discard = 1;
	if (c->state == WS_OPEN) {
		/* §5.5.1: answer with a close frame, echoing the status code. */
		conn_start_close(c, code, "", "closed");
	} else {
		conn_try_finish(c);
	}
}

/* A whole frame or message came in: the client is alive. */
static void
conn_seen(struct mr_ws_conn *c)
{
	struct mr_ws_server *s = c->s;

	if (c->state != WS_OPEN)
		return;
	c->deadline = s->now + s->lim.idle_timeout_ms;
	if (c != s->idle.tail) {
		list_del(&s->idle, c);
		list_add_tail(&s->idle, c);
	}
}

static void
conn_input(struct mr_ws_conn *c, const uint8_t *buf, size_t n)
{
	struct mr_ws_server *s = c->s;
	struct mr_ws_event ev;
	size_t off = 0, used;
	int ret;

	while (off < n && !c->discard && c->state != WS_DEAD) {
		ret = mr_ws_rx_feed(&c->rx, buf + off, n - off, &used, &ev);
		off += used;
		if (ret < 0) {
			conn_fail(c, mr_ws_rx_close_code(ret),
				  ret == -EILSEQ ? "invalid UTF-8" :
				  ret == -EMSGSIZE ? "message too big" : "protocol error");
			return;
		}
		if (ev.type == MR_WS_EV_NONE)
			break;
		conn_seen(c);
		if (ev.type == MR_WS_EV_MESSAGE) {
			/* §7.1.2: after our close frame, data is read but not acted on. */
			if (c->state != WS_OPEN)
				continue;
			if (ev.opcode != MR_WS_OP_TEXT) {
				/* §7.4.1 1003: we take text (JSON) only. */
				conn_fail(c, MR_WS_CLOSE_UNSUPPORTED, "text messages only");
				return;
			}
			s->st.rx_messages++;
			if (s->h.on_message != NULL)
				s->h.on_message(c, (const char *)ev.data, ev.len, s->arg);
			continue;
		}
		switch (ev.opcode) {
		case MR_WS_OP_PING:
			/* §5.5.2: answer with the same application data (none after we sent
			 * our close frame). */
			if (c->state == WS_OPEN)
				conn_send(c, MR_WS_OP_PONG, ev.data, ev.len, 1);
			break;
		case MR_WS_OP_CLOSE:
			conn_close_frame(c, ev.data, ev.len);
			break;
		default:
			/* §5.5.3: an unsolicited pong needs no answer. */
			break;
		}
	}
}

static void
conn_read(struct mr_ws_conn *c)
{
	struct mr_ws_server *s = c->s;
	uint8_t buf[WS_READ_CHUNK];
	unsigned int k;
	ssize_t r;

	for (k = 0; k < WS_READS_PER_CONN && c->state != WS_DEAD; k++) {
		r = recv(c->fd, buf, sizeof(buf), 0);
		if (r < 0) {
			if (errno == EINTR) {
				k--;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_drop(c, "io");
			break;
		}
		if (r == 0) {
			if (c->state == WS_OPEN) {
				conn_drop(c, "eof");
			} else {
				/* The peer is gone: the handshake ends here whatever is left. */
				conn_drop(c, c->reason);
			}
			return;
		}
		s->st.rx_bytes += (uint64_t)r;
		if (!c->discard)
			conn_input(c, buf, (size_t)r);
		if ((size_t)r < sizeof(buf))
			break;
	}
	/* Whatever is left in the socket is for the next call (level-triggered). */
	if (c->state != WS_DEAD)
		mr_ws_rx_trim(&c->rx);
}

/* Deliver on_close of the connections that ended, and free them. on_close may end
 * others (sending to them): they are appended and delivered in the same loop. */
static void
ws_deliver(struct mr_ws_server *s)
{
	struct mr_ws_conn *c;

	while ((c = s->dead.head) != NULL) {
		list_del(&s->dead, c);
		if (s->h.on_close != NULL)
			s->h.on_close(c, c->reason, s->arg);
		free(c);
	}
}

static void
ws_timers(struct mr_ws_server *s)
{
	unsigned int budget = WS_TIMERS_PER_POLL;
	struct mr_ws_conn *c;

	while ((c = s->idle.head) != NULL && c->deadline <= s->now && budget-- > 0) {
		uint8_t p[MR_WS_CONTROL_MAX];
		size_t n;

		/* A silent peer is most likely gone: tell it why (1001, best effort) and
		 * drop it now rather than wait for an answer that will not come. */
		s->st.timeouts++;
		mr_guard_refuse(s->lim.guard, MR_REFUSE_WS_IDLE_TIMEOUT, conn_sa(c),
				"WebSocket silent for rooms.ws_timeout");
		n = mr_ws_close_build(p, MR_WS_CLOSE_GOING_AWAY, "idle timeout");
		conn_send(c, MR_WS_OP_CLOSE, p, n, 0);
		conn_drop(c, "timeout");
		c->reason = "timeout";
	}
	while ((c = s->closing.head) != NULL && c->deadline <= s->now && budget-- > 0)
		conn_drop(c, c->reason);
	/* Pinging keeps a connection from its idle timeout, not from having to join. */
	while ((c = s->pending.head) != NULL && c->join_deadline <= s->now && budget-- > 0) {
		s->st.join_timeouts++;
		mr_guard_refuse(s->lim.guard, MR_REFUSE_WS_JOIN_TIMEOUT, conn_sa(c),
				"WebSocket did not join within rooms.ws_join_timeout");
		conn_unpend(c);
		conn_start_close(c, MR_WS_CLOSE_POLICY, "join timeout", "join_timeout");
	}
}

struct mr_ws_server *
mr_ws_server_create(const struct mr_ws_limits *lim, const struct mr_ws_handler *h, void *arg)
{
	struct mr_ws_server *s;

	if (lim == NULL || h == NULL || lim->max_message == 0 || lim->max_sendbuf == 0 ||
	    lim->max_connections == 0 || lim->idle_timeout_ms == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->lim = *lim;
	s->h = *h;
	s->arg = arg;
	s->now = mr_mono_ms();
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		int e = errno;

		free(s);
		errno = e;
		return NULL;
	}
	return s;
}

void
mr_ws_server_free(struct mr_ws_server *s)
{
	struct mr_ws_conn *c;

	if (s == NULL)
		return;
	/* §7.4.1 1001: the server is going away. Best effort, without waiting. */
	while ((c = s->closing.head) != NULL)
		conn_drop(c, "shutdown");
	while ((c = s->idle.head) != NULL) {
		uint8_t p[MR_WS_CONTROL_MAX];
		size_t n = mr_ws_close_build(p, MR_WS_CLOSE_GOING_AWAY, "server shutdown");

		conn_send(c, MR_WS_OP_CLOSE, p, n, 0);
		conn_drop(c, "shutdown");
		c->reason = "shutdown";
	}
	ws_deliver(s);
	close(s->epfd);
	free(s);
}

int
mr_ws_server_fd(const struct mr_ws_server *s)
{
	return s->epfd;
}

void
mr_ws_server_set_now(struct mr_ws_server *s, uint64_t now_ms)
{
	if (now_ms > s->now)
		s->now = now_ms;
}

void
mr_ws_server_poll(struct mr_ws_server *s, uint64_t now_ms)
{
	struct epoll_event evs[WS_EPOLL_BATCH];
	int n, i;

	mr_ws_server_set_now(s, now_ms);
	n = epoll_wait(s->epfd, evs, WS_EPOLL_BATCH, 0);
	for (i = 0; i < n; i++) {
		struct mr_ws_conn *c = evs[i].data.ptr;

		/* Dropped earlier in this batch (by a callback): its struct is still here. */
		if (c->state == WS_DEAD)
			continue;
		if (evs[i].events & EPOLLOUT)
			conn_flush(c);
		if (c->state != WS_DEAD && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			conn_read(c);
	}
	ws_timers(s);
	ws_deliver(s);
}

int
mr_ws_server_next_timeout(const struct mr_ws_server *s, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;

	if (s->dead.head != NULL)
		return 0;
	if (s->idle.head != NULL)
		next = s->idle.head->deadline;
	if (s->closing.head != NULL && s->closing.head->deadline < next)
		next = s->closing.head->deadline;
	if (s->pending.head != NULL && s->pending.head->join_deadline < next)
		next = s->pending.head->join_deadline;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now_ms)
		return 0;
	return next - now_ms > (uint64_t)INT32_MAX ? INT32_MAX : (int)(next - now_ms);
}

void
mr_ws_server_stats(const struct mr_ws_server *s, struct mr_ws_stats *st)
{
	*st = s->st;
}

int
mr_ws_server_adopt_fd(struct mr_ws_server *s, int fd, const void *extra, size_t len)
{
	struct epoll_event ev;
	struct mr_ws_conn *c;
	int fl;

	if (s->nconns >= s->lim.max_connections)
		return -EBUSY;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->s = s;
	c->fd = fd;
	c->state = WS_OPEN;
	mr_ws_rx_init(&c->rx, s->lim.max_message);
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = errno;

		free(c);
		return -e;
	}
	c->deadline = s->now + s->lim.idle_timeout_ms;
	list_add_tail(&s->idle, c);
	{
		socklen_t sl = sizeof(c->sa);

		if (getpeername(fd, (struct sockaddr *)&c->sa, &sl) != 0 ||
		    (c->sa.ss_family != AF_INET && c->sa.ss_family != AF_INET6))
			memset(&c->sa, 0, sizeof(c->sa));
	}
	c->peer = mr_guard_peer(s->lim.guard, conn_sa(c));
	if (c->peer != NULL)
		c->peer->refs++;
	if (s->lim.join_timeout_ms != 0) {
		c->pending = 1;
		c->join_deadline = s->now + s->lim.join_timeout_ms;
		c->pprev = s->pending.tail;
		if (s->pending.tail != NULL)
			s->pending.tail->pnext = c;
		else
			s->pending.head = c;
		s->pending.tail = c;
		if (c->peer != NULL)
			c->peer->ws_pending++;
	}
	s->nconns++;
	s->st.connections++;
	s->st.accepted++;
	if (s->h.on_open != NULL)
		s->h.on_open(c, s->arg);
	/* Frames the client sent right behind its handshake, read by libmicrohttpd. */
	if (len != 0 && c->state == WS_OPEN) {
		conn_input(c, extra, len);
		if (c->state != WS_DEAD)
			mr_ws_rx_trim(&c->rx);
	}
	return 0;
}

int
mr_ws_send_text(struct mr_ws_conn *c, const char *msg, size_t len)
{
	int ret;

	if (c->state == WS_DEAD)
		return -ENOTCONN;
	/* §5.5.1: no data frame after our close frame. */
	if (c->state != WS_OPEN)
		return -EPIPE;
	/* §5.6: text frames carry UTF-8. */
	if (!mr_ws_utf8_valid((const uint8_t *)msg, len))
		return -EINVAL;
	ret = conn_send(c, MR_WS_OP_TEXT, msg, len, 1);
	if (ret == 0)
		c->s->st.tx_messages++;
	return ret;
}

void
mr_ws_close(struct mr_ws_conn *c, unsigned int code, const char *reason)
{
	/* A code we may not send (1005, 1006, ...) becomes a plain normal closure. */
	if (!mr_ws_close_code_valid(code))
		code = MR_WS_CLOSE_NORMAL;
	conn_start_close(c, code, reason, "closed");
}

int
mr_ws_error_count(struct mr_ws_conn *c)
{
	c->s->st.app_errors++;
	if (c->state != WS_OPEN)
		return -ECONNABORTED;
	if (++c->errors <= c->s->lim.max_errors)
		return 0;
	/* §7.4.1 1008: the client keeps breaking our (application) rules. */
	conn_start_close(c, MR_WS_CLOSE_POLICY, "too many errors", "errors");
	return -ECONNABORTED;
}

void
mr_ws_admit(struct mr_ws_conn *c)
{
	conn_unpend(c);
}

void
mr_ws_set_user(struct mr_ws_conn *c, void *user)
{
	c->user = user;
}

void *
mr_ws_get_user(const struct mr_ws_conn *c)
{
	return c->user;
}

/* ---- the handshake, through libmicrohttpd ---- */

static enum MHD_Result
ws_reply(struct MHD_Connection *conn, unsigned int status, const char *msg, int version_hdr)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body;
	int n;

	/* msg is one of our constant strings: nothing to escape. */
	n = asprintf(&body, "{\"error\":\"%s\"}", msg);
	if (n < 0)
		return MHD_NO;
	resp = MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CT_JSON);
	/* §4.4: a server that does not speak the client's version names its own. */
	if (version_hdr)
		MHD_add_response_header(resp, "Sec-WebSocket-Version", "13");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* 1 if the comma-separated header value v has token tok (RFC 9110 §5.6.1), any case. */
static int
has_token(const char *v, const char *tok)
{
	size_t tl = strlen(tok);

	while (v != NULL && *v != '\0') {
		const char *end;
		size_t n;

		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		end = v;
		while (*end != '\0' && *end != ',')
			end++;
		n = (size_t)(end - v);
		while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
			n--;
		if (n == tl && strncasecmp(v, tok, tl) == 0)
			return 1;
		v = end;
	}
	return 0;
}

static void
upgrade_cb(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra_in,
	   size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct mr_ws_server *s = cls;
	int fd, one = 1, zero = 0, ret;

	(void)conn;
	(void)con_cls;
	/* Our own descriptor for the socket; libmicrohttpd closes its one (close(), no
	 * shutdown() for plain TCP) and frees the connection. */
	fd = fcntl(sock, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		/* Counted always, logged at most once a second (out of descriptors, this
		 * happens to every upgrade of a burst). */
		static time_t last;
		time_t now = time(NULL);

		s->st.refused++;
		if (now != last) {
			last = now;
			fprintf(stderr, "MRELAY: ws: cannot take over the socket: %s (further "
				"failures this second are only counted in websocket.refused)\n",
				strerror(errno));
		}
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		return;
	}
	/* libmicrohttpd may leave the socket corked after the 101: signaling is made of
	 * small messages that must go out at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof(zero));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = mr_ws_server_adopt_fd(s, fd, extra_in, extra_in_size);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	if (ret < 0) {
		uint8_t frame[2 + MR_WS_CONTROL_MAX];
		size_t n;

		/* Full since mr_ws_accept said yes (or out of memory): §7.4.1 1013, try
		 * again later. Best effort, the socket is non-blocking. */
		n = mr_ws_close_build(frame + 2, MR_WS_CLOSE_TRY_LATER, "server busy");
		mr_ws_frame_hdr_build(frame, 1, MR_WS_OP_CLOSE, n, NULL);
		if (send(fd, frame, 2 + n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* nothing more to do for it */
		}
		s->st.refused++;
		close(fd);
	}
}

static const struct sockaddr *
ws_client_sa(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci;

	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	return ci != NULL ? ci->client_addr : NULL;
}

enum MHD_Result
mr_ws_accept(struct mr_ws_server *s, struct MHD_Connection *conn)
{
	char accept[MR_WS_ACCEPT_LEN];
	struct MHD_Response *resp;
	const char *v;
	enum MHD_Result ret;

#define HDR(name) MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name)
	/* §4.2.1: what a client's opening handshake must have. */
	if (!has_token(HDR(MHD_HTTP_HEADER_UPGRADE), "websocket")) {
		s->st.refused++;
		return ws_reply(conn, 400, "upgrade: header must be 'websocket'", 0);
	}
	if (!has_token(HDR(MHD_HTTP_HEADER_CONNECTION), "upgrade")) {
		s->st.refused++;
		return ws_reply(conn, 400, "connection: header must contain 'Upgrade'", 0);
	}
	v = HDR("Sec-WebSocket-Version");
	if (v == NULL || strcmp(v, "13") != 0) {
		s->st.refused++;
		return ws_reply(conn, 426, "sec-websocket-version: must be 13", 1);
	}
	v = HDR("Sec-WebSocket-Key");
	if (!mr_ws_key_valid(v)) {
		s->st.refused++;
		return ws_reply(conn, 400,
				"sec-websocket-key: must be the base64 of 16 bytes", 0);
	}
#undef HDR
	if (s->nconns >= s->lim.max_connections) {
		s->st.refused++;
		mr_guard_refuse(s->lim.guard, MR_REFUSE_WS_FULL, ws_client_sa(conn),
				"every WebSocket slot taken (rooms.ws_max_connections)");
		return ws_reply(conn, 503, "websocket: too many connections", 0);
	}
	if (s->lim.max_pending_per_address != 0) {
		struct mr_peer *p = mr_guard_peer(s->lim.guard, ws_client_sa(conn));

		if (p != NULL && p->ws_pending >= s->lim.max_pending_per_address) {
			s->st.refused++;
			mr_guard_refuse(s->lim.guard, MR_REFUSE_WS_PER_ADDRESS,
					ws_client_sa(conn), "the address has "
					"rooms.ws_max_pending_per_address WebSockets not joined");
			return ws_reply(conn, 503, "websocket: too many connections from "
					"this address that have not joined", 0);
		}
		mr_guard_peer_put(s->lim.guard, p);
	}
	if (mr_ws_accept_key(v, accept) < 0)
		return ws_reply(conn, 500, "internal", 0);

	resp = MHD_create_response_for_upgrade(upgrade_cb, s);
	if (resp == NULL)
		return ws_reply(conn, 500, "internal", 0);
	/* §4.2.2 item 5 ("Connection: Upgrade" is libmicrohttpd's own). No subprotocol and
	 * no extension is selected: the client then uses none (§4.2.2 items 5.5 and 5.6). */
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket") != MHD_YES ||
	    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept) != MHD_YES) {
		MHD_destroy_response(resp);
		return ws_reply(conn, 500, "internal", 0);
	}
	ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	if (ret != MHD_YES) {
		/* libmicrohttpd upgrades HTTP/1.1 connections only (§4.1: so does RFC
		 * 6455). */
		s->st.refused++;
		return ws_reply(conn, 400, "version: WebSocket needs HTTP/1.1", 0);
	}
	return MHD_YES;
}
