/* SPDX-License-Identifier: BSD-3-Clause
 * ng transport on the control thread: one UDP socket and one TCP listener on ng.listen, the
 * TCP connections, all non-blocking in one epoll set that the control loop's wait includes
 * (mr_api_watch). A turn reads at most NG_BURST datagrams and what the TCP connections have,
 * so a flood of requests cannot starve the rest of the loop. The backend of the call model
 * (calls.h) is the session manager's handlers, called directly: they are the REST API's
 * own functions, so an ng call is exactly what a REST client would have made.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

#include "mono.h"
#include "addr.h"
#include "appliance.h"
#include "config.h"
#include "messages.h"
#include "ng.h"
#include "ng_proto.h"
#include "ng_sdp.h"
#include "player.h"
#include "recorder.h"
#include "sessions.h"
#include "state.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_ng, ng);
#define NG_LOG(level, ...) MR_LOG(level, mr_logtype_ng, "ng", __VA_ARGS__)

#define NG_BURST 64			/* datagrams per turn */
#define NG_BATCH 16			/* datagrams per recvmmsg / answers per sendmmsg */
#define NG_MAX_CONNS 256		/* TCP connections */
#define NG_CONN_MAX_IN (MR_NG_MAX_MESSAGE + MR_NG_MAX_COOKIE + 2)
#define NG_CONN_MAX_OUT (4u << 20)	/* unsent answers before a TCP client is cut off */
#define NG_CACHE_ENTRIES 65536
#define NG_CACHE_TTL_MS 30000		/* how long a retransmission is answered from cache */

struct ng_conn {
	int fd;
	char *in;
	size_t in_len;
	struct mr_bbuf out;
	size_t out_off;
};

struct mr_ng {
	struct mr_appliance *a;
	int ep, udp, tcp;
	struct mr_ng_calls *calls;
	struct mr_ng_cache *cache;
	struct mr_ng_proto_counts pc;
	uint64_t tcp_accepted, tcp_refused, tcp_closed_bad;
	struct ng_conn *conns[NG_MAX_CONNS];
	char *rx;			/* NG_BATCH buffers of MR_NG_MAX_MESSAGE + 1 */
	struct mr_bbuf out[NG_BATCH];	/* the answers of a batch (kept: no malloc a turn) */
};

/* The call model's clock (struct mr_ng_backend now_ms). */
static uint64_t
mono_ms(void *ctx)
{
	(void)ctx;
	return mr_mono_ms();
}

/* ---- the backend: the session manager ---- */

static void
leg_info(const json_t *body, struct mr_ng_sess_info *out)
{
	const json_t *legs = json_object_get(body, "legs");
	unsigned int i;

	memset(out, 0, sizeof(*out));
	snprintf(out->id, sizeof(out->id), "%s",
		 json_string_value(json_object_get(body, "id")) ?: "");
	for (i = 0; i < 2; i++) {
		const json_t *l = json_array_get(legs, i);
		const char *s;
		const json_t *sr;

		s = json_string_value(json_object_get(l, "local"));
		if (s != NULL)
			mr_ep_parse(s, &out->leg[i].local);
		s = json_string_value(json_object_get(l, "local_rtcp"));
		if (s != NULL)
			mr_ep_parse(s, &out->leg[i].local_rtcp);
		sr = json_object_get(l, "srtp");
		s = json_string_value(json_object_get(sr, "local_key"));
		if (s != NULL)
			snprintf(out->leg[i].local_key, sizeof(out->leg[i].local_key), "%s", s);
		sr = json_object_get(l, "webrtc");
		s = json_string_value(json_object_get(sr, "ice_ufrag"));
		if (s != NULL && json_string_value(json_object_get(sr, "ice_pwd")) != NULL) {
			snprintf(out->leg[i].ice_ufrag, sizeof(out->leg[i].ice_ufrag), "%s", s);
			snprintf(out->leg[i].ice_pwd, sizeof(out->leg[i].ice_pwd), "%s",
				 json_string_value(json_object_get(sr, "ice_pwd")));
		}
		s = json_string_value(json_object_get(sr, "fingerprint"));
		if (s != NULL)
			snprintf(out->fingerprint, sizeof(out->fingerprint), "%s", s);
	}
}

static void
body_err(json_t *body, char *err, size_t errlen)
{
	const char *e = json_string_value(json_object_get(body, "error"));

	snprintf(err, errlen, "%s", e != NULL ? e : "session error");
}

static int
be_create(void *ctx, const struct mr_session_req *req, struct mr_ng_sess_info *out,
	  char *err, size_t errlen)
{
	struct mr_appliance *a = ctx;
	json_t *body = NULL;
	int st;

	/* A standby creates nothing: the node holding the service does. */
	if (mr_state_refusal(a->state, err, errlen))
		return -EIO;
	st = mr_http_session_create(ctx, req, &body);
	if (st != 201) {
		body_err(body, err, errlen);
		json_decref(body);
		return -EIO;
	}
	leg_info(body, out);
	/* the key went into out; the JSON text of it goes with the object */
	json_decref(body);
	return 0;
}

static int
be_patch(void *ctx, const char *id, const struct mr_session_patch *p,
	 struct mr_ng_sess_info *out, char *err, size_t errlen)
{
	struct mr_appliance *a = ctx;
	json_t *body = NULL;
	int st;

	if (mr_state_refusal(a->state, err, errlen))
		return -EIO;
	st = mr_http_session_patch(ctx, id, p, &body);
	if (st == 404 || st == 409) {
		json_decref(body);
		return -ENOENT;
	}
	if (st != 200) {
		body_err(body, err, errlen);
		json_decref(body);
		return -EIO;
	}
	leg_info(body, out);
	json_decref(body);
	return 0;
}

static void
be_destroy(void *ctx, const char *id)
{
	json_t *body = NULL;

	mr_http_session_delete(ctx, id, &body);
	json_decref(body);
}

static int
be_active(void *ctx, const char *id)
{
	return mr_session_active(ctx, id);
}

static json_t *
be_get(void *ctx, const char *id)
{
	json_t *body = NULL;

	if (mr_http_session_get(ctx, id, &body) != 200) {
		json_decref(body);
		return NULL;
	}
	return body;
}

static int
be_record(void *ctx, const char *id, int on, char *err, size_t errlen)
{
	struct mr_appliance *a = ctx;
	int st = mr_recorder_session(a->rec, id, on, err, errlen);

	return st == 200 || st == 201 ? 0 : -EIO;
}

static int
be_block(void *ctx, const char *id, unsigned int leg, int on)
{
	return mr_session_block(ctx, id, leg, on);
}

static int
be_silence(void *ctx, const char *id, unsigned int leg, int on)
{
	return mr_session_silence(ctx, id, leg, on);
}

static int
be_block_dtmf(void *ctx, const char *id, unsigned int leg, int on, uint8_t pt)
{
	return mr_session_block_dtmf(ctx, id, leg, on, pt);
}

static int
be_play(void *ctx, const char *id, unsigned int leg, const struct mr_ng_play *pl,
	uint64_t *duration_ms, char *err, size_t errlen)
{
	static const uint8_t codec_of[] = {
		[MR_NGSDP_PLAY_PCMU] = MR_PLAY_PCMU, [MR_NGSDP_PLAY_PCMA] = MR_PLAY_PCMA,
		[MR_NGSDP_PLAY_OPUS] = MR_PLAY_OPUS, [MR_NGSDP_PLAY_DTMF] = MR_PLAY_DTMF,
	};
	struct mr_appliance *a = ctx;
	struct mr_session_play po = { 0 };
	struct mr_msg_audio *au;
	char e[200];
	int st;

	if (pl->codec == MR_NGSDP_PLAY_NONE || pl->codec > MR_NGSDP_PLAY_DTMF) {
		snprintf(err, errlen, "no codec to play in");
		return -1;
	}
	if (pl->codec == MR_NGSDP_PLAY_DTMF) {
		/* RFC 4733 events made here (play DTMF): no messages.directory needed. */
		memcpy(e, "code: ", 6);
		au = mr_dtmf_audio(pl->digits, pl->duration_ms, pl->pause_ms, pl->volume,
				   pl->dtmf_rate, e + 6, sizeof(e) - 6);
	} else if (pl->file != NULL) {
		au = mr_messages_load_file(a->msgs, pl->file, &st, e, sizeof(e));
	} else if (a->msgs == NULL) {
		/* Blobs too: messages.directory is what turns playing on (its limits apply). */
		au = NULL;
		snprintf(e, sizeof(e), "messages: not configured (messages.directory)");
	} else {
		memcpy(e, "blob: ", 6);
		au = mr_msg_audio_parse_any(pl->blob, pl->blob_len, e + 6, sizeof(e) - 6);
	}
	if (au == NULL) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	/* As rtpengine: a new play media replaces what plays to the party. */
	(void)mr_sessions_play_stop(a, id, leg, NULL);
	po.codec = codec_of[pl->codec];
	po.pt = pl->pt;
	po.loops = pl->codec == MR_NGSDP_PLAY_DTMF ? 1 : pl->repeat_times;
	po.min_ms = pl->codec == MR_NGSDP_PLAY_DTMF ? 0 : pl->repeat_ms;
	po.start_pkt = pl->codec == MR_NGSDP_PLAY_DTMF ? 0 : pl->start_pos;
	st = mr_sessions_play(a, id, leg, au, &po, pl->codec == MR_NGSDP_PLAY_DTMF ? "(DTMF)" :
			      pl->file != NULL ? pl->file : "(blob)", duration_ms, e, sizeof(e));
	if (st != 201) {
		mr_msg_audio_free(au);
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	return 0;
}

static int
be_play_stop(void *ctx, const char *id, unsigned int leg, uint32_t *last_frame)
{
	return mr_sessions_play_stop(ctx, id, leg, last_frame);
}

static void
be_changed(void *ctx, const char *callid)
{
	struct mr_appliance *a = ctx;

	mr_state_ngcall(a->state, callid);
}

static json_t *
stats_extra(void *arg)
{
	struct mr_appliance *a = arg;
	struct mr_sessions_counts c;

	mr_sessions_counts(a->sess, &c);
	return json_pack("{s:I,s:I,s:I}", "uptime", (json_int_t)mr_appliance_uptime(a),
			 "relaysessionscreated", (json_int_t)c.created,
			 "rejectedsessions", (json_int_t)c.rejected);
}

/* ---- sockets ---- */

static int
ep_add(struct mr_ng *ng, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(ng->ep, EPOLL_CTL_ADD, fd, &ev);
}

static int
sock_open(const struct mr_ep *ep, int type, char *err, size_t errlen, const char *what)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;
	char a[64];

	memset(&ss, 0, sizeof(ss));
	if (ep->family == MR_AF4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(ep->port);
		memcpy(&s4->sin_addr, ep->a, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(ep->port);
		memcpy(&s6->sin6_addr, ep->a, 16);
		sl = sizeof(*s6);
	}
	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 64) < 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "ng.listen %s (%s): %s", mr_ep_fmt(ep, a, sizeof(a), 1), what,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

struct mr_ng *
mr_ng_create(const struct mr_config *cfg, struct mr_appliance *a, char *err, size_t errlen)
{
	struct mr_ng_backend be = {
		.ctx = a, .create = be_create, .patch = be_patch, .destroy = be_destroy,
		.active = be_active, .get = be_get, .now_ms = mono_ms, .record = be_record,
		.block = be_block, .silence = be_silence, .block_dtmf = be_block_dtmf,
		.play = be_play, .play_stop = be_play_stop,
		.changed = be_changed,
	};
	struct mr_ng *ng;
	char addr[64];

	err[0] = '\0';
	if (cfg->ng_listen.family == 0)
		return NULL;
	ng = calloc(1, sizeof(*ng));
	if (ng == NULL) {
		snprintf(err, errlen, "ng: out of memory");
		return NULL;
	}
	ng->a = a;
	ng->ep = ng->udp = ng->tcp = -1;
	ng->rx = malloc((size_t)NG_BATCH * (MR_NG_MAX_MESSAGE + 1));
	ng->calls = mr_ng_calls_create(&be, cfg->max_sessions, cfg->ng_delete_delay);
	ng->cache = mr_ng_cache_create(NG_CACHE_ENTRIES, NG_CACHE_TTL_MS);
	if (ng->rx == NULL || ng->calls == NULL || ng->cache == NULL) {
		snprintf(err, errlen, "ng: out of memory");
		goto fail;
	}
	mr_ng_calls_set_stats_cb(ng->calls, stats_extra, a);
	ng->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ng->ep < 0) {
		snprintf(err, errlen, "ng: epoll: %s", strerror(errno));
		goto fail;
	}
	ng->udp = sock_open(&cfg->ng_listen, SOCK_DGRAM, err, errlen, "UDP");
	if (ng->udp < 0)
		goto fail;
	if (cfg->ng_tcp) {
		ng->tcp = sock_open(&cfg->ng_listen, SOCK_STREAM, err, errlen, "TCP");
		if (ng->tcp < 0)
			goto fail;
	}
	if (ep_add(ng, ng->udp, 0) < 0 || (ng->tcp >= 0 && ep_add(ng, ng->tcp, 1) < 0)) {
		snprintf(err, errlen, "ng: epoll: %s", strerror(errno));
		goto fail;
	}
	NG_LOG(INFO, "ng control protocol on %s (UDP%s)\n",
	       mr_ep_fmt(&cfg->ng_listen, addr, sizeof(addr), 1), ng->tcp >= 0 ? " and TCP" : "");
	return ng;
fail:
	mr_ng_free(ng);
	return NULL;
}

static void
conn_close(struct mr_ng *ng, unsigned int i)
{
	struct ng_conn *c = ng->conns[i];

	if (c == NULL)
		return;
	close(c->fd);	/* leaves the epoll set with it */
	free(c->in);
	mr_bbuf_free(&c->out);
	free(c);
	ng->conns[i] = NULL;
}

void
mr_ng_free(struct mr_ng *ng)
{
	unsigned int i;

	if (ng == NULL)
		return;
	for (i = 0; i < NG_MAX_CONNS; i++)
		conn_close(ng, i);
	if (ng->udp >= 0)
		close(ng->udp);
	if (ng->tcp >= 0)
		close(ng->tcp);
	if (ng->ep >= 0)
		close(ng->ep);
	mr_ng_calls_free(ng->calls);
	mr_ng_cache_free(ng->cache);
	free(ng->rx);
	for (i = 0; i < NG_BATCH; i++)
		mr_bbuf_free(&ng->out[i]);
	free(ng);
}

struct mr_ng_calls *
mr_ng_calls_of(struct mr_ng *ng)
{
	return ng != NULL ? ng->calls : NULL;
}

int
mr_ng_fd(const struct mr_ng *ng)
{
	return ng != NULL ? ng->ep : -1;
}

/* Datagrams in batches: one recvmmsg for up to NG_BATCH requests, one sendmmsg for their
 * answers (two system calls a batch rather than two a request; docs/PERFORMANCE.md "ng calls
 * per second"). */
static void
udp_turn(struct mr_ng *ng)
{
	struct mmsghdr in[NG_BATCH], outm[NG_BATCH];
	struct iovec iov[NG_BATCH], oiov[NG_BATCH];
	struct sockaddr_storage from[NG_BATCH];
	unsigned int done = 0;
	uint64_t now;
	int i, n, k;

	while (done < NG_BURST) {
		memset(in, 0, sizeof(in));
		for (i = 0; i < NG_BATCH; i++) {
			iov[i].iov_base = ng->rx + (size_t)i * (MR_NG_MAX_MESSAGE + 1);
			iov[i].iov_len = MR_NG_MAX_MESSAGE;
			in[i].msg_hdr.msg_name = &from[i];
			in[i].msg_hdr.msg_namelen = sizeof(from[i]);
			in[i].msg_hdr.msg_iov = &iov[i];
			in[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(ng->udp, in, NG_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		now = mr_mono_ms();
		for (i = 0, k = 0; i < n; i++) {
			struct mr_bbuf *o = &ng->out[i];

			o->len = 0;
			o->oom = 0;
			if (mr_ng_message(ng->calls, ng->cache, &ng->pc, iov[i].iov_base,
					  in[i].msg_len, now, o) < 0 || o->oom || o->len == 0)
				continue;
			memset(&outm[k], 0, sizeof(outm[k]));
			oiov[k].iov_base = o->p;
			oiov[k].iov_len = o->len;
			outm[k].msg_hdr.msg_name = &from[i];
			outm[k].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
			outm[k].msg_hdr.msg_iov = &oiov[k];
			outm[k].msg_hdr.msg_iovlen = 1;
			k++;
		}
		/* Non-blocking: a full socket buffer loses the answers it did not take; the
		 * clients retransmit and get them from the cache. */
		if (k > 0)
			(void)sendmmsg(ng->udp, outm, (unsigned int)k, MSG_DONTWAIT);
		for (i = 0; i < k; i++)
			explicit_bzero(oiov[i].iov_base, oiov[i].iov_len);	/* SDES keys */
		done += (unsigned int)n;
		if (n < NG_BATCH)
			break;		/* the socket had no more */
	}
}

static void
conn_flush(struct mr_ng *ng, unsigned int i)
{
	struct ng_conn *c = ng->conns[i];

	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (w <= 0) {
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT,
							  .data.u64 = 2 + i };

				epoll_ctl(ng->ep, EPOLL_CTL_MOD, c->fd, &ev);
				return;
			}
			conn_close(ng, i);
			return;
		}
		c->out_off += (size_t)w;
	}
	c->out.len = c->out_off = 0;
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 2 + i };

		epoll_ctl(ng->ep, EPOLL_CTL_MOD, c->fd, &ev);
	}
}

static void
conn_turn(struct mr_ng *ng, unsigned int i, uint32_t events)
{
	struct ng_conn *c = ng->conns[i];
	ssize_t r;
	long fl;

	if (events & EPOLLOUT) {
		conn_flush(ng, i);
		if (ng->conns[i] == NULL)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	r = recv(c->fd, c->in + c->in_len, NG_CONN_MAX_IN - c->in_len, MSG_DONTWAIT);
	if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
		conn_close(ng, i);
		return;
	}
	if (r < 0)
		return;
	c->in_len += (size_t)r;
	while (c->in_len > 0 && (fl = mr_ng_frame_len(c->in, c->in_len)) != 0) {
		if (fl < 0) {
			/* Never a message: count it, answer what can be, and cut the stream. */
			struct mr_bbuf tmp = { 0 };

			if (mr_ng_message(ng->calls, ng->cache, &ng->pc, c->in, c->in_len,
					  mr_mono_ms(), &tmp) == 0)
				(void)send(c->fd, tmp.p, tmp.len, MSG_DONTWAIT | MSG_NOSIGNAL);
			mr_bbuf_free(&tmp);
			ng->tcp_closed_bad++;
			conn_close(ng, i);
			return;
		}
		mr_ng_message(ng->calls, ng->cache, &ng->pc, c->in, (size_t)fl, mr_mono_ms(),
			      &c->out);
		memmove(c->in, c->in + fl, c->in_len - (size_t)fl);
		c->in_len -= (size_t)fl;
	}
	if (c->out.len - c->out_off > NG_CONN_MAX_OUT || c->out.oom) {
		conn_close(ng, i);
		return;
	}
	if (c->out.len > c->out_off)
		conn_flush(ng, i);
}

static void
tcp_accept(struct mr_ng *ng)
{
	unsigned int n, i;

	for (n = 0; n < 16; n++) {
		int fd = accept4(ng->tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct ng_conn *c;

		if (fd < 0)
			return;
		for (i = 0; i < NG_MAX_CONNS && ng->conns[i] != NULL; i++)
			;
		c = i < NG_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (c != NULL)
			c->in = malloc(NG_CONN_MAX_IN);
		if (c == NULL || c->in == NULL) {
			if (c != NULL)
				free(c);
			ng->tcp_refused++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->fd = fd;
		ng->conns[i] = c;
		if (ep_add(ng, fd, 2 + i) < 0) {
			conn_close(ng, i);
			ng->tcp_refused++;
			continue;
		}
		ng->tcp_accepted++;
	}
}

void
mr_ng_poll(void *arg)
{
	struct mr_ng *ng = arg;
	struct epoll_event ev[32];
	int n, k;

	if (ng == NULL)
		return;
	n = epoll_wait(ng->ep, ev, 32, 0);
	for (k = 0; k < n; k++) {
		uint64_t t = ev[k].data.u64;

		if (t == 0)
			udp_turn(ng);
		else if (t == 1)
			tcp_accept(ng);
		else if (t - 2 < NG_MAX_CONNS && ng->conns[t - 2] != NULL)
			conn_turn(ng, (unsigned int)(t - 2), ev[k].events);
	}
}

void
mr_ng_tick(struct mr_ng *ng)
{
	if (ng != NULL)
		mr_ng_calls_tick(ng->calls);
}

json_t *
mr_ng_stats(const struct mr_ng *ng)
{
	struct mr_ng_counts c;
	json_t *req;
	unsigned int k;

	if (ng == NULL)
		return json_null();
	mr_ng_calls_counts(ng->calls, &c);
	req = json_object();
	for (k = 0; k < MR_NG_N_CMDS; k++)
		json_object_set_new(req, mr_ng_cmd_name((enum mr_ng_cmd)k),
				    json_integer((json_int_t)c.requests[k]));
	return json_pack("{s:I,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "messages", (json_int_t)ng->pc.messages, "requests", req,
			 "errors", (json_int_t)c.errors, "malformed", (json_int_t)ng->pc.malformed,
			 "retransmissions", (json_int_t)ng->pc.retransmissions,
			 "unknown_flags", (json_int_t)c.unknown_flags,
			 "unknown_keys", (json_int_t)c.unknown_keys,
			 "calls", (json_int_t)c.calls, "calls_created", (json_int_t)c.calls_created,
			 "calls_deleted", (json_int_t)c.calls_deleted,
			 "calls_expired", (json_int_t)c.calls_expired,
			 "branches_forked", (json_int_t)c.branches_forked,
			 "tcp_accepted", (json_int_t)ng->tcp_accepted,
			 "tcp_refused", (json_int_t)ng->tcp_refused,
			 "tcp_closed_malformed", (json_int_t)ng->tcp_closed_bad);
}

void
mr_ng_metrics(const struct mr_ng *ng, FILE *f)
{
	struct mr_ng_counts c;
	unsigned int k;

	if (ng == NULL)
		return;
	mr_ng_calls_counts(ng->calls, &c);
	fprintf(f, "# HELP mrelay_ng_requests_total ng requests by command\n"
		"# TYPE mrelay_ng_requests_total counter\n");
	for (k = 0; k < MR_NG_N_CMDS; k++)
		fprintf(f, "mrelay_ng_requests_total{command=\"%s\"} %lu\n",
			mr_ng_cmd_name((enum mr_ng_cmd)k), (unsigned long)c.requests[k]);
	fprintf(f, "# HELP mrelay_ng_errors_total ng requests answered with an error\n"
		"# TYPE mrelay_ng_errors_total counter\nmrelay_ng_errors_total %lu\n"
		"# HELP mrelay_ng_malformed_total ng messages that were not cookie + dictionary\n"
		"# TYPE mrelay_ng_malformed_total counter\nmrelay_ng_malformed_total %lu\n"
		"# HELP mrelay_ng_retransmissions_total ng requests answered from the cache\n"
		"# TYPE mrelay_ng_retransmissions_total counter\n"
		"mrelay_ng_retransmissions_total %lu\n"
		"# HELP mrelay_ng_unknown_flags_total ng flags ignored\n"
		"# TYPE mrelay_ng_unknown_flags_total counter\nmrelay_ng_unknown_flags_total %lu\n"
		"# HELP mrelay_ng_unknown_keys_total ng dictionary keys ignored\n"
		"# TYPE mrelay_ng_unknown_keys_total counter\nmrelay_ng_unknown_keys_total %lu\n"
		"# HELP mrelay_ng_calls ng calls now\n# TYPE mrelay_ng_calls gauge\n"
		"mrelay_ng_calls %lu\n",
		(unsigned long)c.errors, (unsigned long)ng->pc.malformed,
		(unsigned long)ng->pc.retransmissions, (unsigned long)c.unknown_flags,
		(unsigned long)c.unknown_keys, (unsigned long)c.calls);
}
