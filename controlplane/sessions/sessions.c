/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>
#include <jansson.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>
#include <rte_seqcount.h>

#include "api.h"
#include "appliance.h"
#include "cmdq.h"
#include "defer.h"
#include "dp.h"
#include "dpmem.h"
#include "flows.h"
#include "neigh.h"
#include "router.h"
#include "rtp_stats.h"
#include "session_dp.h"
#include "sessions.h"
#include "sessions_priv.h"
#include "srtp_cp.h"
#include "dtls.h"
#include "webrtc.h"
#include "state.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_sessions, sessions);
#define SESS_LOG(level, ...) MR_LOG(level, mr_logtype_sessions, "sessions", __VA_ARGS__)

#define MR_SLAB_BLOCK 1024u
/* How long a PATCH waits for the owner to apply its commands before it answers. */
#define MR_PATCH_WAIT_US 100000

static struct mr_dp_session *
mr_dp_alloc(struct mr_sessions *ss)
{
	struct mr_dp_session *d;

	if (ss->slab_n_free == 0) {
		uint32_t nb = 2 * ((ss->max + MR_SLAB_BLOCK - 1) / MR_SLAB_BLOCK), i;
		struct mr_dp_session *blk;

		if (ss->slab_n_blocks >= nb)
			return NULL;
		blk = rte_malloc("mr_sessions", MR_SLAB_BLOCK * sizeof(*blk), RTE_CACHE_LINE_SIZE);
		if (blk == NULL)
			return NULL;
		ss->slab_blocks[ss->slab_n_blocks++] = blk;
		for (i = MR_SLAB_BLOCK; i > 0; i--)
			ss->slab_free[ss->slab_n_free++] = &blk[i - 1];
	}
	d = ss->slab_free[--ss->slab_n_free];
	memset(d, 0, sizeof(*d));
	return d;
}

static void
mr_dp_free(struct mr_sessions *ss, struct mr_dp_session *d)
{
	mr_dpmem_poison(d, sizeof(*d));
	if (d != NULL)
		ss->slab_free[ss->slab_n_free++] = d;
}

#define mr_err mr_json_err

struct mr_sessions *
mr_sessions_create(struct mr_appliance *a)
{
	struct mr_sessions *ss = calloc(1, sizeof(*ss));
	uint32_t i;

	if (ss == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	ss->a = a;
	ss->max = a->cfg->max_sessions;
	ss->slot = calloc(ss->max, sizeof(*ss->slot));
	ss->gen = calloc(ss->max, sizeof(*ss->gen));
	/* Ids are (generation << 32 | slot): random first generations, so that ids do not
	 * start again at 0000000000000000 after a restart and an application server that
	 * missed it cannot delete a new call by an old id (docs/OPERATIONS.md "Security"). */
	if (ss->gen != NULL && getrandom(ss->gen, ss->max * sizeof(*ss->gen), 0) < 0)
		for (i = 0; i < ss->max; i++)
			ss->gen[i] = (uint32_t)rte_rdtsc() * 2654435761u + i;
	ss->free_slots = calloc(ss->max, sizeof(*ss->free_slots));
	/* Twice max_sessions at most: ended sessions keep theirs until their grace period. */
	ss->slab_blocks = calloc(2 * ((ss->max + MR_SLAB_BLOCK - 1) / MR_SLAB_BLOCK),
				 sizeof(*ss->slab_blocks));
	ss->slab_free = calloc((size_t)2 * ((ss->max + MR_SLAB_BLOCK - 1) / MR_SLAB_BLOCK) *
			       MR_SLAB_BLOCK, sizeof(*ss->slab_free));
	ss->hist_cap = a->cfg->ended_history ? a->cfg->ended_history : 1;
	ss->hist = calloc(ss->hist_cap, sizeof(*ss->hist));
	if (ss->slot == NULL || ss->gen == NULL || ss->free_slots == NULL ||
	    ss->slab_blocks == NULL || ss->slab_free == NULL ||
	    ss->hist == NULL) {
		mr_sessions_free(ss);
		rte_errno = ENOMEM;
		return NULL;
	}
	/* Hand out low slots first (a LIFO stack filled in reverse). */
	for (i = 0; i < ss->max; i++)
		ss->free_slots[i] = ss->max - 1 - i;
	ss->n_free = ss->max;
	TAILQ_INIT(&ss->retiring);
	return ss;
}

static void
mr_cp_session_release(struct mr_cp_session *s)
{
	if (s == NULL)
		return;
	free(s->dp);
	free(s);
}

void
mr_sessions_free(struct mr_sessions *ss)
{
	uint32_t i;

	if (ss == NULL)
		return;
	if (ss->slot != NULL) {
		for (i = 0; i < ss->max; i++) {
			struct mr_cp_session *s = ss->slot[i];

			if (s == NULL)
				continue;
			/* Workers are stopped: no reader can hold the session. Its SRTP
			 * contexts live outside the slab and hold keys: freed and wiped (the
			 * session stays in Redis, a stop ends nothing). */
			mr_cp_srtp_release(&s->leg[0].srtp);
			mr_cp_srtp_release(&s->leg[1].srtp);
			s->dp = NULL;
			free(s);
		}
	}
	if (ss->hist != NULL)
		for (i = 0; i < ss->hist_cap; i++)
			mr_cp_session_release(ss->hist[i]);
	for (i = 0; i < ss->slab_n_blocks; i++)
		rte_free(ss->slab_blocks[i]);
	free(ss->slab_blocks);
	free(ss->slab_free);
	free(ss->hist);
	free(ss->slot);
	free(ss->gen);
	free(ss->free_slots);
	free(ss);
}

void
mr_sessions_counts(const struct mr_sessions *ss, struct mr_sessions_counts *c)
{
	*c = ss->n;
}

unsigned int
mr_sessions_owned(const struct mr_sessions *ss, unsigned int w)
{
	return ss->owned[w];
}

/* Choose the interface (appliance port) of a leg. */
static int
mr_leg_port(struct mr_sessions *ss, const struct mr_leg_req *lr, unsigned int li,
	    unsigned int *pidx, uint8_t *family, json_t **body)
{
	const struct mr_config *cfg = ss->a->cfg;
	uint8_t fam = lr->family ? lr->family : (lr->has_remote ? lr->remote.family : 0);
	unsigned int i;

	if (lr->interface[0]) {
		for (i = 0; i < cfg->n_ports; i++)
			if (strcmp(cfg->ports[i].name, lr->interface) == 0)
				break;
		if (i == cfg->n_ports)
			return mr_err(body, 400, "legs[%u].interface: no such interface '%s'", li,
				      lr->interface);
		if (fam == 0)
			fam = cfg->ports[i].addr4.family ? MR_AF4 : MR_AF6;
		if ((fam == MR_AF4 && !cfg->ports[i].addr4.family) ||
		    (fam == MR_AF6 && !cfg->ports[i].addr6.family))
			return mr_err(body, 400, "legs[%u].interface: '%s' has no %s address", li,
				      lr->interface, fam == MR_AF4 ? "IPv4" : "IPv6");
		*pidx = i;
		*family = fam;
		return 0;
	}
	/* A port whose subnet holds the remote, else the first port with the family. */
	if (lr->has_remote) {
		for (i = 0; i < cfg->n_ports; i++) {
			const struct mr_prefix *p = fam == MR_AF4 ? &cfg->ports[i].addr4 :
				&cfg->ports[i].addr6;

			if (p->family && mr_prefix_contains(p, &lr->remote)) {
				*pidx = i;
				*family = fam;
				return 0;
			}
		}
	}
	if (fam == 0)
		fam = MR_AF4;
	for (i = 0; i < cfg->n_ports; i++) {
		if ((fam == MR_AF4 && cfg->ports[i].addr4.family) ||
		    (fam == MR_AF6 && cfg->ports[i].addr6.family)) {
			*pidx = i;
			*family = fam;
			return 0;
		}
	}
	if (lr->family == 0 && !lr->has_remote) {
		/* No family asked for and no IPv4 anywhere: use IPv6. */
		*pidx = 0;
		*family = MR_AF6;
		return 0;
	}
	return mr_err(body, 400, "legs[%u].%s: no interface has an %s address", li,
		      lr->has_remote ? "remote" : "family", fam == MR_AF4 ? "IPv4" : "IPv6");
}

/* Can leg li of s send to remote? Same family as the leg's local address, and a route: the
 * remote on-link or a gateway of its family. Fills the next hop; 0 or a 400 status. */
static int
mr_remote_check(struct mr_sessions *ss, const struct mr_cp_session *s, unsigned int li,
		const struct mr_ep *remote, const char *field, struct mr_ep *hop, json_t **body)
{
	uint8_t fam = s->dp->leg[li].local.family;
	unsigned int pidx = s->leg[li].pidx;

	if (remote->family != fam)
		return mr_err(body, 400,
			      "legs[%u].%s: %s remote on a leg whose local address is %s", li, field, remote->family == MR_AF4 ? "IPv4" : "IPv6",
			      fam == MR_AF4 ? "IPv4" : "IPv6");
	if (mr_neigh_nexthop(ss->a->neigh, pidx, remote, hop) != 0)
		return mr_err(body, 400, "legs[%u].%s: no route (no %s gateway on interface %s)",
			      li, field, remote->family == MR_AF4 ? "IPv4" : "IPv6",
			      ss->a->cfg->ports[pidx].name);
	return 0;
}

/* Take a reference on the neighbor slot of hop on port pidx; the slot, or -1 with a 503. */
static int
mr_nh_get(struct mr_sessions *ss, unsigned int pidx, const struct mr_ep *hop, json_t **body)
{
	int slot = mr_neigh_get(ss->a->neigh, pidx, hop);

	if (slot < 0)
		mr_err(body, 503, "neighbors: table of interface %s is full",
		       ss->a->cfg->ports[pidx].name);
	return slot;
}

static void
mr_fmt_id(uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%016" PRIx64, id);
}

/* Read the lcore-owned part of a leg consistently (seqcount reader side). */
void
mr_leg_snapshot(const struct mr_dp_leg *l, struct mr_dp_path path[2])
{
	uint32_t sn;

	do {
		sn = rte_seqcount_read_begin(&l->seq);
		memcpy(path, l->path, sizeof(l->path));
	} while (rte_seqcount_read_retry(&l->seq, sn));
}

/* legs[li].webrtc.fingerprint of a request: 0, or 400 with *body. */
static int
fp_check(const struct mr_leg_req *lr, unsigned int li, json_t **body)
{
	const char *md;
	uint8_t raw[64];
	unsigned int rl;

	if (mr_dtls_fp_parse(lr->fingerprint, &md, raw, &rl) == 0)
		return 0;
	return mr_err(body, 400, "legs[%u].webrtc.fingerprint: not a fingerprint ('sha-256 "
		      "AB:CD:...', hash sha-1 to sha-512)", li);
}

static json_t *
mr_leg_json(const struct mr_sessions *ss, const struct mr_cp_session *s, unsigned int li,
	    int full)
{
	const struct mr_dp_leg *l = &s->dp->leg[li];
	struct mr_dp_path path[2];
	struct mr_ep ep;
	json_t *j = json_object();

	mr_leg_snapshot(l, path);
	json_object_set_new(j, "local", mr_json_ep(&l->local));
	if (!s->rtcp_mux) {
		ep = l->local;
		ep.port++;
		json_object_set_new(j, "local_rtcp", mr_json_ep(&ep));
	}
	json_object_set_new(j, "remote", mr_path_has_remote(&path[0]) ?
			    mr_json_ep(&path[0].remote) : json_null());
	if (!s->rtcp_mux) {
		if (mr_path_has_remote(&path[1])) {
			json_object_set_new(j, "rtcp_remote", mr_json_ep(&path[1].remote));
		} else if (mr_path_has_remote(&path[0])) {
			ep = path[0].remote;
			ep.port++;
			json_object_set_new(j, "rtcp_remote", mr_json_ep(&ep));
		} else {
			json_object_set_new(j, "rtcp_remote", json_null());
		}
	}
	json_object_set_new(j, "srtp", mr_cp_srtp_json(&s->leg[li].srtp, full));
	if (mr_cp_leg_webrtc(s, li))
		json_object_set_new(j, "webrtc", mr_webrtc_leg_json(ss->a->webrtc, s->dp, li, 0));
	json_object_set_new(j, "muted", json_boolean(__atomic_load_n(&l->mute, __ATOMIC_RELAXED) &
						     MR_LEG_MUTE_BLOCK));
	json_object_set_new(j, "silenced", json_boolean(__atomic_load_n(&l->mute,
							__ATOMIC_RELAXED) & MR_LEG_MUTE_SILENCE));
	/* ng block DTMF: the payload type held back, null when none is */
	json_object_set_new(j, "dtmf_blocked", __atomic_load_n(&l->mute, __ATOMIC_RELAXED) &
			    MR_LEG_MUTE_DTMF ? json_integer(__atomic_load_n(&l->dtmf_pt,
									  __ATOMIC_RELAXED)) :
			    json_null());
	if (full) {
		struct mr_leg_ctr c;
		struct mr_rtp_stats r;
		uint32_t rate;
		json_t *cj, *dj, *rj;

		mr_read_u64s(&c, &l->ctr, sizeof(c));
		mr_read_u64s(&r, &l->rtp, sizeof(r));
		rate = __atomic_load_n(&l->clock_rate, __ATOMIC_RELAXED);
		json_object_set_new(j, "interface",
				    json_string(ss->a->cfg->ports[l->port_idx].name));
		json_object_set_new(j, "latched", json_boolean(path[0].state == MR_PATH_LATCHED));
		cj = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			       "packets_in", (json_int_t)c.pkts_in,
			       "bytes_in", (json_int_t)c.bytes_in,
			       "packets_out", (json_int_t)c.pkts_out,
			       "bytes_out", (json_int_t)c.bytes_out,
			       "rtp_packets", (json_int_t)c.cls[MR_CLASS_RTP],
			       "rtcp_packets", (json_int_t)c.cls[MR_CLASS_RTCP],
			       "other_packets", (json_int_t)(c.pkts_in - c.cls[MR_CLASS_RTP] -
							     c.cls[MR_CLASS_RTCP]),
			       "relatches", (json_int_t)c.relatches);
		dj = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			       "source_mismatch", (json_int_t)c.drop_src,
			       "no_remote", (json_int_t)c.drop_no_remote,
			       "no_neighbor", (json_int_t)c.drop_no_neigh,
			       "rtp_malformed", (json_int_t)c.drop_rtp,
			       "source_address", (json_int_t)c.latch.drop_address,
			       "latch_learning", (json_int_t)c.latch.drop_learning,
			       "latch_window_closed", (json_int_t)c.latch.drop_window,
			       "relatch_refused", (json_int_t)c.latch.drop_relatch);
		json_object_set_new(dj, "muted", json_integer(__atomic_load_n(&l->drop_muted,
									      __ATOMIC_RELAXED)));
		json_object_set_new(cj, "drops", dj);
		json_object_set_new(j, "counters", cj);
		rj = json_object();
		if (mr_rtp_stats_have_ssrc(&r)) {
			char ssrc[16];

			snprintf(ssrc, sizeof(ssrc), "0x%08" PRIx32, mr_rtp_stats_ssrc(&r));
			json_object_set_new(rj, "ssrc", json_string(ssrc));
		} else {
			json_object_set_new(rj, "ssrc", json_null());
		}
		json_object_set_new(rj, "ssrc_changes",
				    json_integer(mr_rtp_stats_ssrc_changes(&r)));
		json_object_set_new(rj, "packets", json_integer(mr_rtp_stats_received(&r)));
		json_object_set_new(rj, "expected", json_integer(mr_rtp_stats_expected(&r)));
		json_object_set_new(rj, "lost", json_integer(mr_rtp_stats_lost(&r)));
		json_object_set_new(rj, "jitter", json_integer(mr_rtp_stats_jitter(&r)));
		if (rate) {
			json_object_set_new(rj, "jitter_ms",
					    json_real(mr_rtp_stats_jitter(&r) * 1000.0 / rate));
			json_object_set_new(rj, "clock_rate", json_integer(rate));
		} else {
			json_object_set_new(rj, "jitter_ms", json_null());
			json_object_set_new(rj, "clock_rate", json_null());
		}
		json_object_set_new(j, "rtp", rj);
	}
	return j;
}

static json_t *
mr_session_json(const struct mr_sessions *ss, const struct mr_cp_session *s, int full)
{
	char id[24];
	json_t *j = json_object(), *legs = json_array();
	unsigned int i;

	mr_fmt_id(s->id, id, sizeof(id));
	json_object_set_new(j, "id", json_string(id));
	json_object_set_new(j, "state", json_string(s->state == CS_ACTIVE ? "active" : "ended"));
	json_object_set_new(j, "label", json_string(s->label));
	json_object_set_new(j, "created", json_integer(s->created));
	if (full) {
		json_object_set_new(j, "rtcp_mux", json_boolean(s->rtcp_mux));
		json_object_set_new(j, "idle_timeout", json_integer(s->idle_timeout));
		json_object_set_new(j, "owner_lcore",
				    json_integer(ss->a->dp->w[s->owner]->lcore_id));
		json_object_set_new(j, "end_reason", s->end_reason ?
				    json_string(s->end_reason) : json_null());
		json_object_set_new(j, "ended", s->state == CS_ACTIVE ? json_null() :
				    json_integer(s->ended));
	}
	for (i = 0; i < 2; i++)
		json_array_append_new(legs, mr_leg_json(ss, s, i, full));
	json_object_set_new(j, "legs", legs);
	return j;
}

/* Undo whatever mr_http_session_create installed (also used by end). */
static void
mr_session_unpublish(struct mr_sessions *ss, struct mr_cp_session *s)
{
	unsigned int i, p;

	for (i = 0; i < 2; i++) {
		struct mr_cp_leg *cl = &s->leg[i];

		if (cl->rtp_port == 0)
			continue;
		for (p = 0; p < 2; p++)
			mr_flows_del(ss->a->flows, &s->dp->leg[i].local,
				     (uint16_t)(cl->rtp_port + p), s->owner);
	}
}

/* Give back the ports and neighbor references; free the dataplane memory (after the grace
 * period, or when nothing was ever published). */
/* The local keys made or taken for this answer, into legs[i].srtp.local_key. */
static void
mr_srtp_show_keys(json_t *body, struct mr_cp_srtp_new nl[2])
{
	json_t *legs = json_object_get(body, "legs");
	unsigned int i;

	for (i = 0; i < 2; i++)
		mr_cp_srtp_show_key(json_object_get(json_array_get(legs, i), "srtp"), &nl[i]);
}

static void
mr_session_release_resources(struct mr_sessions *ss, struct mr_cp_session *s)
{
	unsigned int i, p;

	for (i = 0; i < 2; i++) {
		struct mr_cp_leg *cl = &s->leg[i];

		mr_webrtc_leg_gone(ss->a->webrtc, s->dp, i);
		mr_cp_srtp_release(&cl->srtp);

		if (cl->rtp_port != 0)
			mr_flows_ep_free(ss->a->flows, cl->pidx, &s->dp->leg[i].local);
		for (p = 0; p < 2; p++)
			if (cl->nh[p] >= 0)
				mr_neigh_put(ss->a->neigh, cl->pidx, cl->nh[p]);
	}
}

static void
mr_hist_push(struct mr_sessions *ss, struct mr_cp_session *s)
{
	uint32_t at = (ss->hist_head + ss->hist_n) % ss->hist_cap;

	if (ss->hist_n == ss->hist_cap) {
		mr_cp_session_release(ss->hist[ss->hist_head]);
		ss->hist[ss->hist_head] = s;
		ss->hist_head = (ss->hist_head + 1) % ss->hist_cap;
		return;
	}
	ss->hist[at] = s;
	ss->hist_n++;
}

/* Final step (the deferral queue's free callback): the owner applied every command sent
 * before the session ended and a grace period passed. */
static void
mr_session_reclaim(struct mr_defer *d, void *arg)
{
	struct mr_sessions *ss = arg;
	struct mr_cp_session *s = container_of(d, struct mr_cp_session, defer);
	struct mr_dp_session *copy;

	TAILQ_REMOVE(&ss->retiring, s, retire_link);
	if (s->failed) {
		/* Never answered as created: no history. */
		mr_session_release_resources(ss, s);
		mr_dp_free(ss, s->dp);
		free(s);
		ss->n.retiring--;
		return;
	}
	copy = malloc(sizeof(*copy));

	/* Keep the final counters for GET of ended sessions (the SRTP ones go to srtp_final). */
	if (copy != NULL) {
		memcpy(copy, s->dp, sizeof(*copy));
		copy->leg[0].srtp = copy->leg[1].srtp = NULL;
	}
	mr_session_release_resources(ss, s);
	mr_dp_free(ss, s->dp);
	s->dp = copy;
	s->state = CS_ENDED;
	ss->n.retiring--;
	if (copy == NULL) {
		free(s);
		return;
	}
	mr_hist_push(ss, s);
}

static const struct mr_defer_ops mr_session_defer_ops = {
	/* Nothing but commands (SET_REMOTE) and lookups reach a session: no ready(). */
	.free = mr_session_reclaim,
};

/* Unpublished: on its way out through the deferral queue. */
static void
mr_session_retire(struct mr_sessions *ss, struct mr_cp_session *s)
{
	s->state = CS_RETIRING;
	ss->n.retiring++;
	TAILQ_INSERT_TAIL(&ss->retiring, s, retire_link);
	mr_defer_add(&ss->a->defer, &s->defer, s->owner, &mr_session_defer_ops, ss);
}

static void
mr_session_end(struct mr_sessions *ss, struct mr_cp_session *s, const char *reason)
{
	/* No handshake, key or DTLS datagram for a session that ended. */
	mr_webrtc_leg_gone(ss->a->webrtc, s->dp, 0);
	mr_webrtc_leg_gone(ss->a->webrtc, s->dp, 1);
	mr_session_unpublish(ss, s);
	s->end_reason = reason;
	s->ended = time(NULL);
	ss->slot[s->slot] = NULL;
	ss->gen[s->slot]++;
	ss->free_slots[ss->n_free++] = s->slot;
	ss->owned[s->owner]--;
	mr_flows_load_add(ss->a->flows, s->owner, -1);
	ss->n.active--;
	ss->n.ended++;
	mr_session_retire(ss, s);
	mr_state_session_del(ss->a->state, s->id);
	SESS_LOG(DEBUG, "session %016" PRIx64 " ended: %s\n", s->id, reason);
}

static struct mr_cp_session *mr_session_find(struct mr_sessions *ss, const char *id);

/* sessions.h */
struct mr_dp_session *
mr_sessions_live(struct mr_sessions *ss, const char *id)
{
	struct mr_cp_session *s = mr_session_find(ss, id);

	return s != NULL && s->state == CS_ACTIVE ? s->dp : NULL;
}

/* sessions.h */
static int
session_mute_bit(struct mr_appliance *a, const char *id, unsigned int leg, int on,
		 uint8_t bit)
{
	struct mr_dp_session *s = mr_sessions_live(a->sess, id);
	uint8_t v;

	if (s == NULL || leg > 1)
		return -ENOENT;
	v = __atomic_load_n(&s->leg[leg].mute, __ATOMIC_RELAXED);
	v = (uint8_t)(on ? v | bit : v & ~bit);
	/* Relaxed: the worker reads a flag, nothing is published with it. */
	__atomic_store_n(&s->leg[leg].mute, v, __ATOMIC_RELAXED);
	return 0;
}

int
mr_session_block(struct mr_appliance *a, const char *id, unsigned int leg, int on)
{
	return session_mute_bit(a, id, leg, on, MR_LEG_MUTE_BLOCK);
}

int
mr_session_silence(struct mr_appliance *a, const char *id, unsigned int leg, int on)
{
	return session_mute_bit(a, id, leg, on, MR_LEG_MUTE_SILENCE);
}

int
mr_session_block_dtmf(struct mr_appliance *a, const char *id, unsigned int leg, int on,
		      uint8_t pt)
{
	struct mr_dp_session *s = mr_sessions_live(a->sess, id);

	if (s == NULL || leg > 1 || pt > 127)
		return -ENOENT;
	/* The type first: a worker that sees the bit with the old one holds back one packet
	 * of it, or lets one of the new through, and then sees both (relaxed: a flag). */
	if (on)
		__atomic_store_n(&s->leg[leg].dtmf_pt, pt, __ATOMIC_RELAXED);
	return session_mute_bit(a, id, leg, on, MR_LEG_MUTE_DTMF);
}

/* Find a session by id: active ones by slot, ended (retiring or in the history) by a scan. */
static struct mr_cp_session *
mr_session_find(struct mr_sessions *ss, const char *id)
{
	struct mr_cp_session *s;
	char *end;
	uint64_t v;
	uint32_t slot, i;

	if (strlen(id) != 16)
		return NULL;
	errno = 0;
	v = strtoull(id, &end, 16);
	if (errno || *end)
		return NULL;
	slot = (uint32_t)v;
	if (slot < ss->max && ss->slot[slot] != NULL && ss->slot[slot]->id == v)
		return ss->slot[slot];
	TAILQ_FOREACH(s, &ss->retiring, retire_link)
		if (s->id == v)
			return s;
	for (i = 0; i < ss->hist_n; i++) {
		s = ss->hist[(ss->hist_head + i) % ss->hist_cap];
		if (s->id == v)
			return s;
	}
	return NULL;
}

static int
mr_fill_path(struct mr_sessions *ss, struct mr_cp_session *s, unsigned int li, unsigned int pi,
	     const struct mr_ep *remote, const char *field, json_t **body)
{
	struct mr_dp_path *p = &s->dp->leg[li].path[pi];
	struct mr_ep hop;
	int rc = mr_remote_check(ss, s, li, remote, field, &hop, body);

	if (rc)
		return rc;
	s->leg[li].nh[pi] = mr_nh_get(ss, s->leg[li].pidx, &hop, body);
	if (s->leg[li].nh[pi] < 0)
		return 503;
	p->remote = *remote;
	p->nh = s->leg[li].nh[pi];
	p->state = MR_PATH_CONFIGURED;
	p->signalled = 1;
	p->last_rx_tsc = rte_get_tsc_cycles();
	return 0;
}

/* Create a session; with rst (a restore) on the id, owner and endpoints it had. */
static int
mr_session_create(struct mr_appliance *a, const struct mr_session_req *req,
		  const struct mr_session_restore *rst, json_t **body)
{
	struct mr_sessions *ss = a->sess;
	struct mr_dp *dp = a->dp;
	struct mr_cp_session *s;
	unsigned int i, p, best;
	uint8_t fam = 0;
	uint64_t now = rte_get_tsc_cycles();
	struct mr_cp_srtp_new nl[2] = { { 0 }, { 0 } };
	int rc;

	if (ss->n_free == 0) {
		ss->n.rejected++;
		return mr_err(body, 503, "sessions: limit of %u reached", ss->max);
	}
	if (mr_flows_ep_available(a->flows) < 2) {
		ss->n.rejected++;
		return mr_err(body, 503, "ports: no free relay ports");
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return mr_err(body, 500, "internal: out of memory");
	s->dp = mr_dp_alloc(ss);
	if (s->dp == NULL) {
		free(s);
		return mr_err(body, 503, "memory: no room for another session");
	}
	for (i = 0; i < 2; i++)
		s->leg[i].nh[0] = s->leg[i].nh[1] = -1;
	s->rtcp_mux = req->rtcp_mux;
	s->idle_timeout = req->idle_timeout ? req->idle_timeout : a->cfg->idle_timeout;
	snprintf(s->label, sizeof(s->label), "%s", req->label);
	s->created = rst != NULL ? rst->created : time(NULL);
	s->dp->rtcp_mux = req->rtcp_mux;
	s->dp->clock_rate = req->clock_rate;
	s->dp->last_rx_tsc = now;

	/* The least loaded worker owns the whole session: both legs' state on one lcore, so
	 * relaying never reads another lcore's mutable state. */
	best = rst != NULL ? rst->owner % dp->n_workers : mr_flows_least_loaded(a->flows);
	s->owner = best;
	s->dp->owner = best;

	for (i = 0; i < 2; i++) {
		const struct mr_leg_req *lr = &req->legs[i];
		struct mr_dp_leg *l = &s->dp->leg[i];

		rc = mr_leg_port(ss, lr, i, &s->leg[i].pidx, &fam, body);
		if (rc)
			goto undo;
		if (rst != NULL) {
			if (mr_flows_ep_take(a->flows, s->leg[i].pidx, &rst->local[i], best) < 0) {
				rc = mr_err(body, 409, "legs[%u].local: not free on this appliance",
					    i);
				goto undo;
			}
			l->local = rst->local[i];
		} else if (mr_flows_ep_alloc(a->flows, s->leg[i].pidx, fam, best,
					     &l->local) < 0) {
			rc = mr_err(body, 503, "ports: no free relay ports");
			ss->n.rejected++;
			goto undo;
		}
		s->leg[i].rtp_port = l->local.port;
		l->port_idx = s->leg[i].pidx;
		rte_seqcount_init(&l->seq);
		mr_rtp_stats_init(&l->rtp);
		/* The learning window of a path without a remote opens now. */
		l->path[0].last_rx_tsc = l->path[1].last_rx_tsc = now;
		if (lr->has_remote) {
			rc = mr_fill_path(ss, s, i, 0, &lr->remote, "remote", body);
			if (rc)
				goto undo;
		}
		if (lr->has_rtcp_remote) {
			rc = mr_fill_path(ss, s, i, 1, &lr->rtcp_remote, "rtcp_remote", body);
			if (rc)
				goto undo;
		}
		if (lr->srtp.present) {
			char f[32];

			snprintf(f, sizeof(f), "legs[%u].srtp", i);
			rc = mr_cp_srtp_build(a, f, &lr->srtp, NULL,
					      (int)rte_lcore_to_socket_id(dp->w[best]->lcore_id),
					      &l->srtp, &nl[i], body);
			if (rc)
				goto undo;
			mr_cp_srtp_set(&s->leg[i].srtp, l->srtp, &lr->srtp, &nl[i]);
			if (rst != NULL)
				mr_cp_srtp_seed(l->srtp, &rst->seed[i]);
		}
		if (lr->webrtc) {
			char e[96];

			if (lr->fingerprint[0] != '\0' && (rc = fp_check(lr, i, body)) != 0)
				goto undo;
			if (a->webrtc == NULL) {
				rc = mr_err(body, 503, "legs[%u].webrtc: WebRTC is not running (see "
					    "the log at start)", i);
				goto undo;
			}
			if (mr_webrtc_leg_new(a->webrtc, s->dp, i, best, &s->leg[i].srtp, e,
					      sizeof(e)) < 0) {
				rc = mr_err(body, 503, "legs[%u].webrtc: %s", i, e);
				goto undo;
			}
			if (lr->fingerprint[0] != '\0' &&
			    mr_webrtc_leg_set_remote(a->webrtc, s->dp, i, lr->fingerprint) < 0) {
				rc = mr_err(body, 503, "memory: no room for a DTLS connection");
				goto undo;
			}
		}
	}

	/* Publish: the owner map was set by mr_flows_ep_alloc, now the fully built flows (the
	 * add is a release, so a reader that finds the key sees the whole session). */
	for (i = 0; i < 2; i++) {
		for (p = 0; p < (s->rtcp_mux ? 1u : 2u); p++) {
			rc = mr_flows_add(a->flows, &s->dp->leg[i].local,
					  (uint16_t)(s->leg[i].rtp_port + p), best,
					  mr_flow_val(s->dp, i, p));
			if (rc < 0) {
				rc = mr_err(body, 503, "flows: table of lcore %u is full",
					    dp->w[best]->lcore_id);
				mr_session_unpublish(ss, s);
				goto undo_published;
			}
		}
	}

	if (rst != NULL) {
		/* The free slot stack is rebuilt once the restore is over. */
		s->slot = (uint32_t)rst->id;
		ss->gen[s->slot] = (uint32_t)(rst->id >> 32);
		ss->n_free--;
	} else {
		s->slot = ss->free_slots[--ss->n_free];
		ss->n.created++;
	}
	s->id = ((uint64_t)ss->gen[s->slot] << 32) | s->slot;
	ss->slot[s->slot] = s;
	s->state = CS_ACTIVE;
	ss->owned[best]++;
	mr_flows_load_add(a->flows, best, 1);
	ss->n.active++;
	if (rst == NULL)
		mr_state_session_put(a->state, s->id);
	*body = mr_session_json(ss, s, 0);
	json_object_set_new(*body, "rtcp_mux", json_boolean(s->rtcp_mux));
	json_object_set_new(*body, "idle_timeout", json_integer(s->idle_timeout));
	mr_srtp_show_keys(*body, nl);
	/* A WebRTC leg's ICE password, in the answer that made it only (like a local key). */
	for (i = 0; i < 2; i++)
		if (mr_cp_leg_webrtc(s, i))
			json_object_set_new(json_object_get(json_array_get(json_object_get(
				*body, "legs"), i), "webrtc"), "ice_pwd",
				json_string(mr_webrtc_leg_pwd(a->webrtc, s->dp, i)));
	return 201;

undo_published:
	/* Nothing was ever visible to a worker except maybe a key now deleted: wait for a grace
	 * period before freeing, by retiring it like an ended session (but not into history). */
	mr_srtp_key_wipe(&nl[0].key);
	mr_srtp_key_wipe(&nl[1].key);
	s->failed = 1;
	mr_session_retire(ss, s);
	return rc;
undo:
	mr_srtp_key_wipe(&nl[0].key);
	mr_srtp_key_wipe(&nl[1].key);
	mr_session_release_resources(ss, s);
	mr_dp_free(ss, s->dp);
	free(s);
	return rc;
}

int
mr_http_session_create(struct mr_appliance *a, const struct mr_session_req *req, json_t **body)
{
	return mr_session_create(a, req, NULL, body);
}

int
mr_session_restore(struct mr_appliance *a, const struct mr_session_req *req,
		   const struct mr_session_restore *rst, char *err, size_t errlen)
{
	struct mr_sessions *ss = a->sess;
	json_t *body = NULL;
	uint32_t slot = (uint32_t)rst->id;
	int rc;

	if (slot >= ss->max || ss->slot[slot] != NULL) {
		snprintf(err, errlen, "id: slot %u taken or beyond relay.max_sessions (%u)", slot,
			 ss->max);
		return -1;
	}
	rc = mr_session_create(a, req, rst, &body);
	if (rc != 201) {
		const char *e = json_string_value(json_object_get(body, "error"));

		snprintf(err, errlen, "%s", e != NULL ? e : "failed");
	}
	json_decref(body);
	return rc == 201 ? 0 : -1;
}

void
mr_sessions_restored(struct mr_sessions *ss)
{
	uint32_t i;

	/* Low slots first, as at the start (a LIFO stack filled in reverse). */
	ss->n_free = 0;
	for (i = ss->max; i > 0; i--)
		if (ss->slot[i - 1] == NULL)
			ss->free_slots[ss->n_free++] = i - 1;
	mr_flows_ep_restored(ss->a->flows);
}

uint32_t
mr_sessions_max(const struct mr_sessions *ss)
{
	return ss->max;
}

int
mr_http_session_get(struct mr_appliance *a, const char *id, json_t **body)
{
	struct mr_cp_session *s = mr_session_find(a->sess, id);

	if (s == NULL)
		return mr_err(body, 404, "no such session: %s", id);
	*body = mr_session_json(a->sess, s, 1);
	return 200;
}

int
mr_session_active(struct mr_appliance *a, const char *id)
{
	struct mr_cp_session *s = mr_session_find(a->sess, id);

	return s != NULL && s->state == CS_ACTIVE;
}

int
mr_http_session_delete(struct mr_appliance *a, const char *id, json_t **body)
{
	struct mr_cp_session *s = mr_session_find(a->sess, id);

	if (s == NULL)
		return mr_err(body, 404, "no such session: %s", id);
	if (s->state != CS_ACTIVE)
		return mr_err(body, 409, "state: session %s has already ended (%s)", id,
			      s->end_reason);
	mr_session_end(a->sess, s, "deleted");
	*body = NULL;
	return 204;
}

int
mr_http_session_patch(struct mr_appliance *a, const char *id, const struct mr_session_patch *pt,
		      json_t **body)
{
	struct mr_sessions *ss = a->sess;
	struct mr_cp_session *s = mr_session_find(ss, id);
	int nh[2][2] = { { -1, -1 }, { -1, -1 } };
	struct mr_cmd c[6];
	unsigned int i, p, n = 0;
	uint64_t seq = 0;
	struct mr_dp_srtp *nsrtp[2] = { NULL, NULL };
	int set_srtp[2] = { 0, 0 };
	struct mr_cp_srtp_new nl[2] = { { 0 }, { 0 } };
	int rc;

	if (s == NULL)
		return mr_err(body, 404, "no such session: %s", id);
	if (s->state != CS_ACTIVE)
		return mr_err(body, 409, "state: session %s has already ended (%s)", id,
			      s->end_reason);
	/* Check everything and take the new neighbor references before changing anything:
	 * a PATCH applies whole or not at all. */
	for (i = 0; i < 2; i++) {
		const struct mr_leg_req *lr = &pt->legs[i];

		if (!pt->has_leg[i])
			continue;
		if (lr->has_rtcp_remote && s->rtcp_mux) {
			rc = mr_err(body, 400, "legs[%u].rtcp_remote: the session uses rtcp_mux",
				    i);
			goto put_refs;
		}
		if (mr_cp_leg_webrtc(s, i) && (lr->has_remote || lr->clear_remote)) {
			rc = mr_err(body, 400, "legs[%u].remote: a WebRTC leg's remote is the one "
				    "ICE chose", i);
			goto put_refs;
		}
		if (mr_cp_leg_webrtc(s, i) && (lr->srtp.present || lr->srtp.disable)) {
			rc = mr_err(body, 400, "legs[%u].srtp: a WebRTC leg's keys come from DTLS",
				    i);
			goto put_refs;
		}
		if (lr->webrtc && !mr_cp_leg_webrtc(s, i)) {
			rc = mr_err(body, 400, "legs[%u].webrtc: the leg is not WebRTC (made so at "
				    "creation only)", i);
			goto put_refs;
		}
		if (lr->webrtc) {
			/* Checked here, applied below once nothing else can fail. */
			if ((rc = fp_check(lr, i, body)) != 0)
				goto put_refs;
		}
		for (p = 0; p < 2; p++) {
			const struct mr_ep *r = p ? &lr->rtcp_remote : &lr->remote;
			struct mr_ep hop;

			if (!(p ? lr->has_rtcp_remote : lr->has_remote))
				continue;
			rc = mr_remote_check(ss, s, i, r, p ? "rtcp_remote" : "remote", &hop, body);
			if (rc)
				goto put_refs;
			nh[i][p] = mr_nh_get(ss, s->leg[i].pidx, &hop, body);
			if (nh[i][p] < 0) {
				rc = 503;
				goto put_refs;
			}
		}
	}
	/* SRTP: a new struct for the owner to install (MR_CMD_SRTP_SET), built on the current
	 * one; "srtp": null makes the leg plain again. */
	for (i = 0; i < 2; i++) {
		const struct mr_srtp_req *sr = &pt->legs[i].srtp;

		if (!pt->has_leg[i] || (!sr->present && !sr->disable))
			continue;
		set_srtp[i] = 1;
		if (sr->disable)
			continue;
		{
			char f[32];

			snprintf(f, sizeof(f), "legs[%u].srtp", i);
			rc = mr_cp_srtp_build(a, f, sr, s->leg[i].srtp.dp,
				(int)rte_lcore_to_socket_id(a->dp->w[s->owner]->lcore_id),
				&nsrtp[i], &nl[i], body);
		}
		if (rc)
			goto put_refs;
	}
	/* The owner changes its paths itself (MR_CMD_SET_REMOTE): a new remote, or "remote":
	 * null, which forgets both paths' remotes (family 0): the leg latches again. */
	for (i = 0; i < 2; i++) {
		const struct mr_leg_req *lr = &pt->legs[i];

		if (!pt->has_leg[i])
			continue;
		for (p = 0; p < 2; p++) {
			if (nh[i][p] < 0 && !lr->clear_remote)
				continue;
			memset(&c[n], 0, sizeof(c[n]));
			c[n].type = MR_CMD_SET_REMOTE;
			c[n].s = s->dp;
			c[n].leg = (uint8_t)i;
			c[n].path = (uint8_t)p;
			if (nh[i][p] >= 0) {
				c[n].remote = p ? lr->rtcp_remote : lr->remote;
				c[n].nh = (uint16_t)nh[i][p];
			}
			n++;
		}
	}
	for (i = 0; i < 2; i++) {
		if (!set_srtp[i])
			continue;
		memset(&c[n], 0, sizeof(c[n]));
		c[n].type = MR_CMD_SRTP_SET;
		c[n].s = s->dp;
		c[n].leg = (uint8_t)i;
		c[n].arg = nsrtp[i];
		n++;
	}
	/* All of them or none: a PATCH applies whole or not at all. */
	if (n > 0 && mr_cmdq_send(&a->cmdq, s->owner, c, n, 1, &seq) < 0) {
		rc = mr_err(body, 503, "commands: the command ring of lcore %u is full",
			    a->dp->w[s->owner]->lcore_id);
		goto put_refs;
	}
	for (i = 0; i < 2; i++)
		if (set_srtp[i])
			mr_cp_srtp_installed(a, s->owner, &s->leg[i].srtp, nsrtp[i],
					     &pt->legs[i].srtp, &nl[i]);
	for (i = 0; i < n; i++) {
		struct mr_cp_leg *cl = &s->leg[c[i].leg];

		if (c[i].type != MR_CMD_SET_REMOTE)
			continue;
		/* The old slot keeps its MAC for MR_NEIGH_UNUSED_S after the last reference,
		 * far longer than the owner takes to apply the command. */
		if (cl->nh[c[i].path] >= 0)
			mr_neigh_put(a->neigh, cl->pidx, cl->nh[c[i].path]);
		cl->nh[c[i].path] = nh[c[i].leg][c[i].path];
	}
	for (i = 0; i < 2; i++)
		if (pt->legs[i].has_muted)
			mr_session_block(a, id, i, pt->legs[i].muted);
	/* A WebRTC leg's (new) peer certificate: a new handshake (the browser's answer, or a
	 * re-offer with another certificate). */
	for (i = 0; i < 2; i++)
		if (pt->has_leg[i] && pt->legs[i].webrtc)
			(void)mr_webrtc_leg_set_remote(a->webrtc, s->dp, i,
						       pt->legs[i].fingerprint);
	if (pt->has_idle_timeout)
		s->idle_timeout = pt->idle_timeout;
	if (pt->has_label)
		snprintf(s->label, sizeof(s->label), "%s", pt->label);
	/* Let the owner apply the commands so that the reply shows the new remotes. A worker
	 * that takes longer is answered with what it has applied so far. */
	if (n > 0 && !pt->no_wait)
		mr_cmdq_wait(&a->cmdq, s->owner, seq, MR_PATCH_WAIT_US);
	/* The record shows what the owner has applied: it goes out once the owner has (ng's
	 * offers and answers do not wait for it here). */
	if (n > 0)
		mr_state_session_put_after(a->state, s->id, s->owner, seq);
	else
		mr_state_session_put(a->state, s->id);
	*body = mr_session_json(ss, s, !pt->brief);
	mr_srtp_show_keys(*body, nl);
	return 200;

put_refs:
	for (i = 0; i < 2; i++)
		/* Never handed over: free what was built, not what it borrowed. */
		mr_cp_srtp_unbuild(nsrtp[i], &pt->legs[i].srtp, &nl[i]);
	for (i = 0; i < 2; i++)
		for (p = 0; p < 2; p++)
			if (nh[i][p] >= 0)
				mr_neigh_put(a->neigh, s->leg[i].pidx, nh[i][p]);
	return rc;
}

int
mr_http_session_list(struct mr_appliance *a, unsigned long cursor, unsigned int limit,
		     json_t **body)
{
	struct mr_sessions *ss = a->sess;
	json_t *arr = json_array();
	unsigned long i;
	unsigned int n = 0;
	char next[24];

	for (i = cursor; i < ss->max && n < limit; i++) {
		if (ss->slot[i] == NULL)
			continue;
		json_array_append_new(arr, mr_session_json(ss, ss->slot[i], 0));
		n++;
	}
	/* More after this page? */
	while (i < ss->max && ss->slot[i] == NULL)
		i++;
	*body = json_pack("{s:o,s:I}", "sessions", arr, "total", (json_int_t)ss->n.active);
	if (i < ss->max) {
		snprintf(next, sizeof(next), "%lu", i);
		json_object_set_new(*body, "next", json_string(next));
	} else {
		json_object_set_new(*body, "next", json_null());
	}
	return 200;
}

void
mr_sessions_tick(struct mr_sessions *ss, uint64_t now)
{
	struct mr_cp_session *s;
	uint64_t hz = rte_get_tsc_hz();
	int silent = mr_state_silent(ss->a->state);
	uint32_t i;

	/* (Ended sessions are freed by the deferral queue, polled by the control loop.) */

	/* Idle timeouts: one pass over the slots per second, a slice at each tick in proportion
	 * to the time since the last one. A million sessions cost two cache misses each per
	 * pass; done at once that stalled the control thread for a good part of a second (and
	 * whatever shares its core). */
	{
		uint64_t dt = now - ss->last_idle_scan;
		uint32_t n = dt >= hz ? ss->max : (uint32_t)((double)ss->max * dt / hz);

		if (n == 0)
			return;
		ss->last_idle_scan = now;
		ss->idle_end = ss->idle_cursor + n;
	}
	for (; ss->idle_cursor < ss->idle_end; ss->idle_cursor++) {
		struct mr_cp_session *ahead;
		uint64_t last;

		/* Two stages ahead: the control record 16 slots on, its dp line 8 slots on, so
		 * the misses overlap (this thread may share a core with others). */
		ahead = ss->slot[(ss->idle_cursor + 16) % ss->max];
		if (ahead != NULL)
			rte_prefetch0(ahead);
		ahead = ss->slot[(ss->idle_cursor + 8) % ss->max];
		if (ahead != NULL)
			rte_prefetch0(ahead->dp);
		i = ss->idle_cursor % ss->max;
		s = ss->slot[i];
		if (s == NULL)
			continue;
		if (silent) {
			/* A standby's mirror (docs/OPERATIONS.md "The standby's mirror"): its
			 * workers drop every frame (none writes these), so nothing is idle yet;
			 * each session starts its idle time, and each path without a remote
			 * its learning window, afresh when this node takes over. */
			unsigned int l, q;

			__atomic_store_n(&s->dp->last_rx_tsc, now, __ATOMIC_RELAXED);
			for (l = 0; l < 2; l++)
				for (q = 0; q < 2; q++)
					__atomic_store_n(&s->dp->leg[l].path[q].last_rx_tsc, now,
							 __ATOMIC_RELAXED);
			continue;
		}
		/* Relaxed: a slightly old value only delays the timeout by an iteration. */
		last = __atomic_load_n(&s->dp->last_rx_tsc, __ATOMIC_RELAXED);
		if (now > last && now - last > (uint64_t)s->idle_timeout * hz)
			mr_session_end(ss, s, "idle_timeout");
	}
}

/* POST /v1/sessions/batch: all the sessions or none. Capacity is checked first so that the
 * common refusal (503) creates nothing; a failure part-way (a neighbor table or flow table
 * full) ends the sessions already created, with the end reason "batch_failed". */
/* Free parsed batch requests, their keys overwritten first. */
static void
mr_reqs_free(struct mr_session_req *reqs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		mr_srtp_req_wipe(&reqs[i].legs[0].srtp);
		mr_srtp_req_wipe(&reqs[i].legs[1].srtp);
	}
	free(reqs);
}

int
mr_http_session_batch(struct mr_appliance *a, const char *body, size_t len, json_t **out)
{
	struct mr_sessions *ss = a->sess;
	struct mr_session_req *reqs;
	json_t *arr, *one = NULL;
	char err[256];
	unsigned int n, i;
	int rc;

	if (mr_parse_session_batch(body, len, &reqs, &n, err, sizeof(err)) < 0)
		return mr_err(out, 400, "%s", err);
	if (ss->n_free < n) {
		ss->n.rejected += n;
		mr_reqs_free(reqs, n);
		return mr_err(out, 503, "sessions: %u asked, room for %u (limit %u)", n,
			      ss->n_free, ss->max);
	}
	if (mr_flows_ep_available(a->flows) < 2 * n) {
		ss->n.rejected += n;
		mr_reqs_free(reqs, n);
		return mr_err(out, 503, "ports: %u relay ports needed, %u free", 2 * n,
			      mr_flows_ep_available(a->flows));
	}
	arr = json_array();
	if (arr == NULL) {
		mr_reqs_free(reqs, n);
		return mr_err(out, 500, "internal: out of memory");
	}
	for (i = 0; i < n; i++) {
		rc = mr_http_session_create(a, &reqs[i], &one);
		if (rc != 201) {
			json_t *e = json_object_get(one, "error");
			size_t k;
			json_t *v;

			snprintf(err, sizeof(err), "sessions[%u].%s", i,
				 json_is_string(e) ? json_string_value(e) : "failed");
			json_decref(one);
			json_array_foreach(arr, k, v) {
				struct mr_cp_session *s = mr_session_find(ss,
					json_string_value(json_object_get(v, "id")));

				if (s != NULL && s->state == CS_ACTIVE)
					mr_session_end(ss, s, "batch_failed");
			}
			json_decref(arr);
			mr_reqs_free(reqs, n);
			return mr_err(out, rc, "%s", err);
		}
		json_array_append_new(arr, one);
	}
	mr_reqs_free(reqs, n);
	*out = json_pack("{s:o}", "sessions", arr);
	return *out != NULL ? 201 : mr_err(out, 500, "internal: out of memory");
}

/* ---- REST routes (controlplane/api/router.h) ---- */

static void
mr_req_wipe(struct mr_leg_req legs[2])
{
	mr_srtp_req_wipe(&legs[0].srtp);
	mr_srtp_req_wipe(&legs[1].srtp);
}

static int
mr_route_sessions(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	struct mr_session_req req;
	char err[256];

	const char *there;
	int rc;

	if (r->method == MR_HTTP_GET)
		return mr_http_session_list(a, r->cursor, r->limit, out);
	/* state.placement least_loaded: another appliance may carry it better. */
	there = mr_state_place(a->state);
	if (there != NULL)
		return mr_state_redirect(out, there, "/v1/sessions");

	if (mr_parse_session_create(r->body, r->len, &req, err, sizeof(err)) < 0)
		rc = mr_err(out, 400, "%s", err);
	else
		rc = mr_http_session_create(a, &req, out);
	mr_req_wipe(req.legs);
	return rc;
}

static int
mr_route_session(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	struct mr_session_patch p;
	char err[256];
	int rc;

	switch (r->method) {
	case MR_HTTP_GET:
		return mr_http_session_get(a, r->rest, out);
	case MR_HTTP_DELETE:
		return mr_http_session_delete(a, r->rest, out);
	default:
		if (mr_parse_session_patch(r->body, r->len, &p, err, sizeof(err)) < 0)
			rc = mr_err(out, 400, "%s", err);
		else
			rc = mr_http_session_patch(a, r->rest, &p, out);
		mr_req_wipe(p.legs);
		return rc;
	}
}

static int
mr_route_batch(struct mr_appliance *a, const struct mr_http_req *r, json_t **out)
{
	return mr_http_session_batch(a, r->body, r->len, out);
}

static struct mr_http_route mr_sessions_route = {
	.path = "/v1/sessions", .match = MR_ROUTE_EXACT, .name = "/v1/sessions",
	.methods = MR_HTTP_GET | MR_HTTP_POST, .handler = mr_route_sessions,
	.body_required = 1, .paged = 1, .location = "/v1/sessions",
};
MR_HTTP_ROUTE(mr_sessions_route)

static struct mr_http_route mr_session_route = {
	.path = "/v1/sessions", .match = MR_ROUTE_ID, .name = "/v1/sessions/{id}",
	.methods = MR_HTTP_GET | MR_HTTP_PATCH | MR_HTTP_DELETE, .handler = mr_route_session,
	.body_required = 1, .not_found = "no such session",
};
MR_HTTP_ROUTE(mr_session_route)

static struct mr_http_route mr_batch_route = {
	.path = "/v1/sessions/batch", .match = MR_ROUTE_EXACT, .name = "/v1/sessions/batch",
	.methods = MR_HTTP_POST, .handler = mr_route_batch, .body_required = 1,
};
MR_HTTP_ROUTE(mr_batch_route)
