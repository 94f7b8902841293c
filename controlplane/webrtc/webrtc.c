/* SPDX-License-Identifier: BSD-3-Clause
 * WebRTC participants on the control thread (webrtc.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_seqcount.h>

#include "appliance.h"
#include "cmd.h"
#include "counters.h"
#include "dtls.h"
#include "ice_dp.h"
#include "json_req.h"
#include "room_dp.h"
#include "rooms.h"
#include "session_dp.h"
#include "srtp_cp.h"
#include "webrtc.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_webrtc, webrtc);
#define WR_LOG(level, ...) MR_LOG(level, mr_logtype_webrtc, "webrtc", __VA_ARGS__)

#define WR_BUCKETS 4096
#define WR_UFRAG_LEN 8			/* 48 bits */
#define WR_PWD_LEN 24			/* 144 bits (RFC 8445 §5.3: at least 128) */

/* A WebRTC endpoint: a room participant (dp) or a session leg (sess, leg: ng's DTLS-SRTP),
 * seen through the fields both have (ice, local, seq, path, port_idx). */
struct wr_part {
	struct mr_webrtc *wr;
	LIST_ENTRY(wr_part) hlink;	/* hash bucket */
	TAILQ_ENTRY(wr_part) link;	/* all of them */
	struct mr_dp_part *dp;		/* a participant, or NULL */
	struct mr_dp_session *sess;	/* a session leg, or NULL */
	unsigned int leg;
	struct mr_dp_ice *ice;
	struct mr_ep local;
	rte_seqcount_t *seq;
	struct mr_dp_path *path;
	uint16_t port_idx;
	struct mr_cp_srtp *cs;
	uint32_t room, part;
	unsigned int owner;
	char ufrag[WR_UFRAG_LEN + 1];
	char pwd[WR_PWD_LEN + 1];
	struct mr_dtls *dtls;		/* NULL until the peer's fingerprint is known */
	uint64_t created_tsc;
	uint64_t dtls_done_tsc;		/* 0: not yet */
	uint8_t keyed;			/* SRTP keys installed */
	uint8_t leaving;		/* removal due at the next slow tick */
	uint8_t why;			/* enum mr_leave_reason */
	uint8_t timed_out;		/* a leg whose handshake limit passed (counted once) */
};

struct mr_webrtc {
	struct mr_appliance *a;
	struct mr_dtls_ctx *ctx;
	LIST_HEAD(, wr_part) bucket[WR_BUCKETS];
	TAILQ_HEAD(, wr_part) all;
	uint64_t last_slow;
	/* counters */
	uint64_t parts, legs, handshakes, handshake_fail, handshake_timeout, consent_timeout,
		 closed, dtls_in, dtls_out, dtls_no_part, dtls_malformed, tx_fail;
};

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* ICE characters (RFC 8839 §5.4 ice-char: ALPHA / DIGIT / "+" / "/"), 6 random bits each. */
static int
wr_random_chars(char *out, size_t n)
{
	uint8_t r[64];
	size_t i;

	if (n > sizeof(r) || getrandom(r, n, 0) != (ssize_t)n)
		return -1;
	for (i = 0; i < n; i++)
		out[i] = b64[r[i] & 63];
	out[n] = '\0';
	return 0;
}

static unsigned int
wr_hash(const struct mr_ep *e)
{
	uint32_t h = e->port * 2654435761u;
	unsigned int i;

	for (i = 0; i < 16; i++)
		h = (h ^ e->a[i]) * 16777619u;
	return h % WR_BUCKETS;
}

static struct wr_part *
wr_find(const struct mr_webrtc *wr, const struct mr_ep *local)
{
	struct wr_part *p;

	LIST_FOREACH(p, &wr->bucket[wr_hash(local)], hlink)
		if (mr_ep_eq(&p->local, local))
			return p;
	return NULL;
}

static struct wr_part *
wr_of(const struct mr_webrtc *wr, const struct mr_dp_part *dp)
{
	struct wr_part *p = dp != NULL && dp->ice != NULL ? wr_find(wr, &dp->local) : NULL;

	return p != NULL && p->dp == dp ? p : NULL;
}

static struct wr_part *
wr_of_leg(const struct mr_webrtc *wr, const struct mr_dp_session *s, unsigned int leg)
{
	struct wr_part *p;

	/* By the local endpoint (written before publication): the leg's srtp pointer is the
	 * owner's to change. */
	if (wr == NULL || s == NULL)
		return NULL;
	p = wr_find(wr, &s->leg[leg].local);
	return p != NULL && p->sess == s && p->leg == leg ? p : NULL;
}

struct mr_webrtc *
mr_webrtc_create(struct mr_appliance *a, char *err, size_t errlen)
{
	struct mr_webrtc *wr = calloc(1, sizeof(*wr));
	unsigned int i;

	if (wr == NULL) {
		snprintf(err, errlen, "webrtc: out of memory");
		return NULL;
	}
	wr->a = a;
	wr->ctx = mr_dtls_ctx_create(err, errlen);
	if (wr->ctx == NULL) {
		free(wr);
		return NULL;
	}
	for (i = 0; i < WR_BUCKETS; i++)
		LIST_INIT(&wr->bucket[i]);
	TAILQ_INIT(&wr->all);
	return wr;
}

static void
wr_part_free(struct mr_webrtc *wr, struct wr_part *p)
{
	LIST_REMOVE(p, hlink);
	TAILQ_REMOVE(&wr->all, p, link);
	mr_dtls_free(p->dtls);
	explicit_bzero(p->pwd, sizeof(p->pwd));
	free(p);
}

void
mr_webrtc_free(struct mr_webrtc *wr)
{
	struct wr_part *p;

	if (wr == NULL)
		return;
	while ((p = TAILQ_FIRST(&wr->all)) != NULL)
		wr_part_free(wr, p);
	mr_dtls_ctx_free(wr->ctx);
	free(wr);
}

const char *
mr_webrtc_fingerprint(const struct mr_webrtc *wr)
{
	return mr_dtls_ctx_fingerprint(wr->ctx);
}

/* A new endpoint's entry (before publication): random ICE credentials, its struct mr_dp_ice
 * and a struct mr_dp_srtp saying "SRTP both ways, no key yet" (until DTLS gives the keys RTP
 * in is dropped as srtp_no_key and nothing goes out in clear), cs recording the latter; local,
 * seq, path and port_idx are the caller's to set before wr_insert(). NULL with *status (500,
 * 503), the reason in err and the part of the API's message before it in *kind. */
static struct wr_part *
wr_new(struct mr_webrtc *wr, unsigned int owner, struct mr_cp_srtp *cs, int *status,
       const char **kind, char *err, size_t errlen)
{
	struct mr_appliance *a = wr->a;
	int socket = (int)rte_lcore_to_socket_id(a->dp->w[owner]->lcore_id);
	struct mr_dp_srtp *d;
	struct wr_part *p;

	*status = 500;
	*kind = "internal: ";
	if (!a->srtp_ok) {
		*status = 503;
		*kind = "webrtc: ";
		snprintf(err, errlen, "no SRTP engine is running (see the log at start)");
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (wr_random_chars(p->ufrag, WR_UFRAG_LEN) < 0 ||
	    wr_random_chars(p->pwd, WR_PWD_LEN) < 0) {
		free(p);
		snprintf(err, errlen, "no random numbers (getrandom)");
		return NULL;
	}
	d = rte_zmalloc_socket("mr_srtp", sizeof(*d), RTE_CACHE_LINE_SIZE, socket);
	p->ice = rte_zmalloc_socket("mr_ice", sizeof(*p->ice), RTE_CACHE_LINE_SIZE, socket);
	if (d == NULL || p->ice == NULL) {
		rte_free(d);
		rte_free(p->ice);
		free(p);
		*status = 503;
		*kind = "memory: ";
		snprintf(err, errlen, "no room for WebRTC state");
		return NULL;
	}
	mr_ice_dp_init(p->ice, p->ufrag, p->pwd);
	d->rx_srtp = 1;
	cs->dp = d;
	p->wr = wr;
	p->cs = cs;
	p->owner = owner;
	p->created_tsc = rte_get_tsc_cycles();
	return p;
}

static void
wr_insert(struct mr_webrtc *wr, struct wr_part *p)
{
	LIST_INSERT_HEAD(&wr->bucket[wr_hash(&p->local)], p, hlink);
	TAILQ_INSERT_TAIL(&wr->all, p, link);
}

int
mr_webrtc_part_new(struct mr_webrtc *wr, uint32_t room, uint32_t part, unsigned int owner,
		   struct mr_dp_part *dp, struct mr_cp_srtp *cs, json_t **body)
{
	const char *kind;
	char err[96];
	int status;
	struct wr_part *p = wr_new(wr, owner, cs, &status, &kind, err, sizeof(err));

	if (p == NULL)
		return mr_json_err(body, status, "%s%s", kind, err);
	/* The room sends a WebRTC participant nothing in clear (room_fwd.c). */
	dp->ice = p->ice;
	dp->srtp = cs->dp;
	p->dp = dp;
	p->local = dp->local;
	p->seq = &dp->seq;
	p->path = &dp->path;
	p->port_idx = dp->port_idx;
	p->room = room;
	p->part = part;
	wr_insert(wr, p);
	wr->parts++;
	return 0;
}

int
mr_webrtc_leg_new(struct mr_webrtc *wr, struct mr_dp_session *s, unsigned int leg,
		  unsigned int owner, struct mr_cp_srtp *cs, char *err, size_t errlen)
{
	struct mr_dp_leg *l = &s->leg[leg];
	const char *kind;
	int status;
	struct wr_part *p = wr_new(wr, owner, cs, &status, &kind, err, errlen);

	if (p == NULL)
		return -1;
	/* relay.h sends such a leg nothing in clear: its srtp carries the ICE state. */
	cs->dp->ice = p->ice;
	l->srtp = cs->dp;
	p->sess = s;
	p->leg = leg;
	p->local = l->local;
	p->seq = &l->seq;
	p->path = &l->path[0];
	p->port_idx = l->port_idx;
	wr_insert(wr, p);
	wr->legs++;
	return 0;
}

void
mr_webrtc_leg_gone(struct mr_webrtc *wr, struct mr_dp_session *s, unsigned int leg)
{
	struct wr_part *p = wr_of_leg(wr, s, leg);

	if (p == NULL)
		return;
	if (p->dtls != NULL)
		mr_dtls_close(p->dtls);
	wr_part_free(wr, p);
}

void
mr_webrtc_part_gone(struct mr_webrtc *wr, struct mr_dp_part *dp)
{
	struct wr_part *p = wr != NULL ? wr_of(wr, dp) : NULL;

	if (p == NULL)
		return;
	if (p->dtls != NULL)
		mr_dtls_close(p->dtls);
	wr_part_free(wr, p);
}

void
mr_webrtc_ice_free(struct mr_dp_part *dp)
{
	if (dp == NULL || dp->ice == NULL)
		return;
	rte_free(dp->ice);
	dp->ice = NULL;
}

/* ---- DTLS ---- */

/* A datagram of the handshake to the participant's latched remote, sent by worker 0. */
static void
wr_send(void *arg, const uint8_t *data, size_t len)
{
	struct wr_part *p = arg;
	struct mr_webrtc *wr = p->wr;
	struct mr_appliance *a = wr->a;
	struct mr_ep remote;
	struct rte_ether_addr mac;
	uint8_t state;
	struct rte_mbuf *m;
	uint32_t sn;
	char *d;

	do {
		sn = rte_seqcount_read_begin(p->seq);
		remote = p->path->remote;
		mac = p->path->mac;
		state = p->path->state;
	} while (rte_seqcount_read_retry(p->seq, sn));
	if (state != MR_PATH_LATCHED) {
		wr->tx_fail++;
		return;
	}
	m = rte_pktmbuf_alloc(a->mp);
	if (m == NULL || (d = rte_pktmbuf_append(m, (uint16_t)len)) == NULL) {
		rte_pktmbuf_free(m);
		wr->tx_fail++;
		return;
	}
	memcpy(d, data, len);
	if (mr_dp_udp_frame(a->dp, p->port_idx, m, &p->local, &remote, mac.addr_bytes) < 0) {
		rte_pktmbuf_free(m);
		wr->tx_fail++;
		return;
	}
	if (mr_cp_tx(a, p->port_idx, m) < 0) {
		wr->tx_fail++;
		return;
	}
	wr->dtls_out++;
}

static int
wr_set_remote(struct mr_webrtc *wr, struct wr_part *p, const char *fingerprint)
{
	struct mr_dtls *d;

	if (p == NULL)
		return -ENOENT;
	d = mr_dtls_new(wr->ctx, fingerprint, wr_send, p);
	if (d == NULL)
		return -EINVAL;
	/* A new offer (a re-join) starts a new handshake. A leg's limit runs from here: a
	 * call to a browser rings before its answer brings the fingerprint. */
	mr_dtls_free(p->dtls);
	p->dtls = d;
	p->dtls_done_tsc = 0;
	if (p->sess != NULL) {
		p->created_tsc = rte_get_tsc_cycles();
		p->timed_out = 0;
	}
	return 0;
}

int
mr_webrtc_set_remote(struct mr_webrtc *wr, struct mr_dp_part *dp, const char *fingerprint)
{
	return wr_set_remote(wr, wr_of(wr, dp), fingerprint);
}

int
mr_webrtc_leg_set_remote(struct mr_webrtc *wr, struct mr_dp_session *s, unsigned int leg,
			 const char *fingerprint)
{
	return wr_set_remote(wr, wr_of_leg(wr, s, leg), fingerprint);
}

const char *
mr_webrtc_leg_ufrag(struct mr_webrtc *wr, const struct mr_dp_session *s, unsigned int leg)
{
	struct wr_part *p = wr_of_leg(wr, s, leg);

	return p != NULL ? p->ufrag : NULL;
}

const char *
mr_webrtc_leg_pwd(struct mr_webrtc *wr, const struct mr_dp_session *s, unsigned int leg)
{
	struct wr_part *p = wr_of_leg(wr, s, leg);

	return p != NULL ? p->pwd : NULL;
}

const char *
mr_webrtc_ufrag(struct mr_webrtc *wr, const struct mr_dp_part *dp)
{
	struct wr_part *p = wr_of(wr, dp);

	return p != NULL ? p->ufrag : NULL;
}

const char *
mr_webrtc_pwd(struct mr_webrtc *wr, const struct mr_dp_part *dp)
{
	struct wr_part *p = wr_of(wr, dp);

	return p != NULL ? p->pwd : NULL;
}

static void
wr_leave(struct wr_part *p, enum mr_leave_reason why)
{
	/* A session leg stays: its session ends by signalling or its idle timeout. */
	if (p->sess == NULL && !p->leaving) {
		p->leaving = 1;
		p->why = (uint8_t)why;
	}
}

/* The handshake is done: the exported keys become the participant's SRTP, installed on its
 * owner between two bursts; the struct without keys is retired through the deferral queue. */
static void
wr_install_keys(struct mr_webrtc *wr, struct wr_part *p)
{
	struct mr_srtp_req req;

	/* The exported keys as a request: the peer's key to decrypt with, ours to encrypt
	 * with; built and installed as a REST re-key would be (controlplane/core/srtp_cp.h). */
	memset(&req, 0, sizeof(req));
	if (mr_dtls_keys(p->dtls, &req.remote_key, &req.local_key) < 0)
		goto fail;
	req.present = 1;
	req.has_remote_key = 1;
	req.has_local_key = 1;
	req.suite = req.remote_key.suite;
	if ((p->sess != NULL ?
	     mr_cp_srtp_leg_install(wr->a, p->owner, p->sess, p->leg, p->cs, &req) :
	     mr_cp_srtp_part_install(wr->a, p->owner, p->dp, p->cs, &req, 1)) < 0) {
		mr_srtp_req_wipe(&req);
		goto fail;
	}
	p->keyed = 1;
	mr_srtp_req_wipe(&req);
	return;
fail:
	if (p->sess != NULL)
		WR_LOG(WARNING, "session leg at port %u: SRTP keys not installed\n",
		       p->local.port);
	else
		WR_LOG(WARNING, "room %" PRIu32 " participant %" PRIu32 ": SRTP keys not "
		       "installed\n", p->room, p->part);
	wr_leave(p, MR_LEAVE_TIMEOUT);
}

static void
wr_dtls_state(struct mr_webrtc *wr, struct wr_part *p, enum mr_dtls_state st)
{
	switch (st) {
	case MR_DTLS_CONNECTED:
		if (p->dtls_done_tsc == 0) {
			p->dtls_done_tsc = rte_get_tsc_cycles();
			wr->handshakes++;
			wr_install_keys(wr, p);
		}
		break;
	case MR_DTLS_CLOSED:
		wr->closed++;
		wr_leave(p, MR_LEAVE_LEFT);
		break;
	case MR_DTLS_FAILED:
		wr->handshake_fail++;
		if (p->sess != NULL)
			WR_LOG(INFO, "session leg at port %u: DTLS: %s\n", p->local.port,
			       mr_dtls_error(p->dtls));
		else
			WR_LOG(INFO, "room %" PRIu32 " participant %" PRIu32 ": DTLS: %s\n",
			       p->room, p->part, mr_dtls_error(p->dtls));
		wr_leave(p, MR_LEAVE_KICKED);
		break;
	default:
		break;
	}
}

int
mr_webrtc_input(struct mr_webrtc *wr, struct rte_mbuf *m)
{
	struct mr_ep src, dst;
	const uint8_t *pl;
	uint16_t len;
	struct wr_part *p;
	uint64_t bad;

	if (wr == NULL || mr_dp_udp_parse(m, &src, &dst, &pl, &len) < 0)
		return -1;
	wr->a->cps.exceptions++;
	p = wr_find(wr, &dst);
	if (p == NULL || p->dtls == NULL || p->leaving) {
		/* Gone since, or its SDP not seen yet. */
		wr->dtls_no_part++;
		rte_pktmbuf_free(m);
		return 0;
	}
	wr->dtls_in++;
	bad = mr_dtls_malformed(p->dtls);
	wr_dtls_state(wr, p, mr_dtls_input(p->dtls, pl, len));
	wr->dtls_malformed += mr_dtls_malformed(p->dtls) - bad;
	rte_pktmbuf_free(m);
	return 0;
}

void
mr_webrtc_tick(struct mr_webrtc *wr, uint64_t now)
{
	uint64_t hz = rte_get_tsc_hz();
	struct wr_part *p, *next;
	uint64_t consent;
	int slow;

	if (wr == NULL)
		return;
	consent = wr->a->cfg->rooms.consent_timeout;
	slow = now - wr->last_slow > hz / 10;
	if (slow)
		wr->last_slow = now;
	TAILQ_FOREACH(p, &wr->all, link) {
		if (p->dtls != NULL && mr_dtls_state(p->dtls) == MR_DTLS_HANDSHAKE &&
		    mr_dtls_timer_us(p->dtls) == 0)
			wr_dtls_state(wr, p, mr_dtls_timeout(p->dtls));
		if (!slow || p->leaving)
			continue;
		if (p->dtls_done_tsc == 0) {
			if (!p->timed_out && (p->sess == NULL || p->dtls != NULL) &&
			    now - p->created_tsc > MR_WEBRTC_HANDSHAKE_S * hz) {
				wr->handshake_timeout++;
				p->timed_out = p->sess != NULL;
				wr_leave(p, MR_LEAVE_TIMEOUT);
			}
		} else if (p->sess == NULL) {
			/* Consent (RFC 7675): a valid check from the latched remote, or an
			 * authenticated SRTP/SRTCP packet from it (last_rx_tsc: a WebRTC
			 * participant's RTP is dropped before it unless it authenticates), which
			 * only the peer holding the DTLS-exported keys can send. libnice
			 * (GStreamer's webrtcbin) keeps its pair alive with Binding indications,
			 * which prove nothing; its media does. Relaxed: words the owner stores;
			 * stale by a burst at most. */
			uint64_t last = RTE_MAX(__atomic_load_n(&p->ice->last_check_tsc,
								__ATOMIC_RELAXED),
						__atomic_load_n(&p->dp->last_rx_tsc,
								__ATOMIC_RELAXED));

			if ((int64_t)(now - RTE_MAX(last, p->dtls_done_tsc)) >
			    (int64_t)(consent * hz)) {
				wr->consent_timeout++;
				wr_leave(p, MR_LEAVE_TIMEOUT);
			}
		}
	}
	if (!slow)
		return;
	/* Removal calls back into mr_webrtc_part_gone, which frees the entry; one the rooms
	 * module no longer knows is freed here. */
	for (p = TAILQ_FIRST(&wr->all); p != NULL; p = next) {
		next = TAILQ_NEXT(p, link);
		if (p->leaving) {
			/* next may be freed by the callback only if it is p's own entry. */
			if (mr_rooms_leave(wr->a->rooms, p->room, p->part,
					   (enum mr_leave_reason)p->why) != 204)
				wr_part_free(wr, p);
		}
	}
}

static const char *const wr_state_name[] = {
	[MR_DTLS_HANDSHAKE] = "handshake", [MR_DTLS_CONNECTED] = "connected",
	[MR_DTLS_CLOSED] = "closed", [MR_DTLS_FAILED] = "failed",
};

static json_t *
wr_json(struct mr_webrtc *wr, const struct wr_part *p, int secrets)
{
	struct mr_ice_ctr c;
	json_t *j;

	if (p == NULL)
		return json_null();
	mr_read_u64s(&c, &p->ice->ctr, sizeof(c));
	j = json_pack("{s:s,s:s,s:s}", "ice_ufrag", p->ufrag, "fingerprint",
		      mr_dtls_ctx_fingerprint(wr->ctx), "dtls", p->dtls == NULL ? "waiting_sdp" :
		      wr_state_name[mr_dtls_state(p->dtls)]);
	if (j == NULL)
		return json_null();
	if (secrets)
		json_object_set_new(j, "ice_pwd", json_string(p->pwd));
	if (p->dtls != NULL && mr_dtls_state(p->dtls) == MR_DTLS_CONNECTED)
		json_object_set_new(j, "dtls_version", json_string(mr_dtls_version(p->dtls)));
	json_object_set_new(j, "ice", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"requests", (json_int_t)c.requests, "answered", (json_int_t)c.answered,
		"stun_auth_fail", (json_int_t)c.auth_fail,
		"stun_malformed", (json_int_t)c.malformed, "stun_ignored", (json_int_t)c.ignored,
		"nominations", (json_int_t)c.nominations, "latches", (json_int_t)c.latches,
		"dtls_in", (json_int_t)c.dtls_in, "dtls_not_latched", (json_int_t)c.dtls_drop));
	return j;
}

json_t *
mr_webrtc_part_json(struct mr_webrtc *wr, const struct mr_dp_part *dp, int secrets)
{
	return wr_json(wr, wr_of(wr, dp), secrets);
}

json_t *
mr_webrtc_leg_json(struct mr_webrtc *wr, const struct mr_dp_session *s, unsigned int leg,
		   int secrets)
{
	return wr_json(wr, wr_of_leg(wr, s, leg), secrets);
}

json_t *
mr_webrtc_stats(const struct mr_webrtc *wr)
{
	if (wr == NULL)
		return json_null();
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"participants", (json_int_t)wr->parts, "session_legs", (json_int_t)wr->legs,
		"dtls_handshakes", (json_int_t)wr->handshakes,
		"dtls_failed", (json_int_t)wr->handshake_fail,
		"dtls_timeouts", (json_int_t)wr->handshake_timeout,
		"consent_timeouts", (json_int_t)wr->consent_timeout,
		"dtls_closed", (json_int_t)wr->closed,
		"dtls_in", (json_int_t)wr->dtls_in, "dtls_out", (json_int_t)wr->dtls_out,
		"dtls_no_participant", (json_int_t)wr->dtls_no_part,
		"dtls_malformed", (json_int_t)wr->dtls_malformed,
		"dtls_tx_failed", (json_int_t)wr->tx_fail);
}
