/* SPDX-License-Identifier: BSD-3-Clause
 * The media lcore (media_dp.h, docs/ARCHITECTURE.md "Mixing rooms"): takes the Opus payloads
 * the workers hand it into each participant's jitter buffer, and every 20 ms (from the TSC)
 * runs the rooms on its active list: one frame out of each jitter buffer (the packet, the
 * next packet's FEC, concealment, or nothing), decoded, summed once; each speaker gets the
 * sum less its own frame through its own limiter and encoder, everyone else the room's one
 * shared encoding of the whole sum. A room with mix_max_speakers K > 0 sums only the K
 * loudest speakers of the tick (mix.h mr_mix_select, by a smoothed level with hysteresis):
 * the others are decoded all the same (their decoders stay in step, their levels are known)
 * but get the shared encoding, which cannot contain them. The encoded packets go back to the
 * room's owner worker, which sends them from the participant's endpoint (SRTP when keyed).
 *
 * Nothing is allocated per frame: decoders, encoders, jitter buffers and scratch are made by
 * the control plane at join (mr_mix_part_create) and room creation. A room whose
 * participants all fell silent leaves the active list after MR_MIX_IDLE_TICKS and costs
 * nothing until a packet comes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <opus.h>
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dp.h"
#include "jbuf.h"
#include "media_dp.h"
#include "mix.h"
#include "rec_dp.h"

#define MR_MIX_IDLE_TICKS 50		/* 1 s without a frame: off the active list */
#define MR_MIX_MAX_OUT 400		/* bytes of one encoded frame at most */
#define MR_MIX_JB_DEPTH 3		/* frames buffered before playout (60 ms) */
#define MR_MIX_RX_BURST 64
#define MR_MIX_CATCHUP 10		/* ticks run late at most, then skipped */

static_assert(MR_DP_MAX_WORKERS == 64, "struct mr_media rx[] and tx[]");
static_assert(sizeof(struct mr_mix_item) == 24, "ring element size");

const char *const mr_media_counter_name[] = {
#define MR_X_NAME(n, h) #n,
	MR_MEDIA_COUNTERS(MR_X_NAME)
#undef MR_X_NAME
};
const char *const mr_media_counter_help[] = {
#define MR_X_HELP(n, h) h,
	MR_MEDIA_COUNTERS(MR_X_HELP)
#undef MR_X_HELP
};
static_assert(sizeof(mr_media_counter_name) / sizeof(mr_media_counter_name[0]) ==
	      MR_MEDIA_N_COUNTERS, "MR_MEDIA_N_COUNTERS");

/* An RTP stream the relay sends: its own sequence and timestamp. */
struct mr_mix_out {
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint8_t marker;			/* next packet starts a talk spurt */
};

struct mr_mix_part {
	/* cp: before MR_MEDIA_ADD_PART; media: ro. ref first (media_dp.h mr_mix_ref()). */
	struct mr_mix_ref ref;
	struct mr_mix_room *room;
	struct mr_dp_part *part;
	OpusDecoder *dec;
	OpusEncoder *enc;
	/* cp: relaxed store; media: relaxed load */
	uint32_t gain_q8;
	/* media: rw */
	uint32_t idx;			/* in room->p[] */
	uint32_t gain_now;		/* gain_q8 as this tick read it */
	uint8_t has_frame;		/* decoded a frame this tick */
	uint8_t in_mix;			/* its frame is in this tick's sum (until the next) */
	uint32_t level;			/* smoothed (mix.h), rooms with max_speakers only */
	uint64_t encoded, shared;
	uint64_t mixed, not_mixed;	/* frames summed, frames left out (not loud enough) */
	struct mr_mix_out out;
	struct mr_limiter lim;
	int16_t pcm[MR_MIX_FRAME];
	struct mr_jb jb;
};

struct mr_mix_room {
	/* cp: before the first participant; media: ro */
	uint32_t id;
	unsigned int media;
	uint8_t pt;
	uint32_t max_speakers;		/* K: the K loudest are mixed, 0 = everyone */
	OpusEncoder *enc;		/* the shared mix (listeners, silent, left out) */
	/* media: rw */
	uint32_t n;
	struct mr_mix_part *p[MR_MIX_MAX_PARTS];
	uint8_t active;
	uint32_t idle;			/* ticks without a frame */
	TAILQ_ENTRY(mr_mix_room) link;	/* on the active list */
	struct mr_limiter lim;
	/* cp: relaxed store; media: relaxed load. The recording of the mix (rec.h), 0 = none */
	uint16_t rec_id;
	/* media: rw. The recorded stream: its own SSRC and sequence, timestamps from the
	 * lcore's tick count since the recording started (silence stays a gap in the file). */
	uint16_t rec_seen;		/* rec_id the fields below are for */
	uint16_t rec_seq;
	uint32_t rec_ssrc;
	uint64_t rec_tick0;
};

TAILQ_HEAD(mr_mix_room_list, mr_mix_room);

struct mr_media_priv {
	struct mr_mix_room_list active;
	uint64_t n_active;
	uint64_t period;		/* TSC cycles a frame */
	uint64_t next_tick;
	/* scratch */
	int32_t sum[MR_MIX_FRAME];
	int32_t tmp[MR_MIX_FRAME];
	int16_t out16[MR_MIX_FRAME];
	uint8_t shared_pkt[MR_MIX_MAX_OUT];
	int shared_len;
	struct mr_mix_cand cand[MR_MIX_MAX_PARTS];	/* a tick's speakers, to select from */
	struct mr_mix_item rx[MR_MIX_RX_BURST];
};

/* ---- control plane side ---- */

static void *
mix_zalloc(size_t n)
{
	void *p = NULL;

	if (posix_memalign(&p, RTE_CACHE_LINE_SIZE, n) != 0)
		return NULL;
	memset(p, 0, n);
	return p;
}

static OpusEncoder *
mix_encoder(void)
{
	OpusEncoder *e = mix_zalloc((size_t)opus_encoder_get_size(1));

	if (e == NULL)
		return NULL;
	if (opus_encoder_init(e, 48000, 1, OPUS_APPLICATION_VOIP) != OPUS_OK) {
		free(e);
		return NULL;
	}
	opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(MR_MIX_COMPLEXITY));
	opus_encoder_ctl(e, OPUS_SET_BITRATE(MR_MIX_BITRATE));
	opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	return e;
}

struct mr_mix_room *
mr_mix_room_create(uint32_t id, unsigned int media, uint8_t pt, unsigned int max_speakers)
{
	struct mr_mix_room *r = mix_zalloc(sizeof(*r));

	if (r == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	r->enc = mix_encoder();
	if (r->enc == NULL) {
		free(r);
		rte_errno = ENOMEM;
		return NULL;
	}
	r->id = id;
	r->media = media;
	r->pt = pt ? pt : MR_MIX_PT;
	r->max_speakers = RTE_MIN(max_speakers, (unsigned int)MR_MIX_MAX_SPEAKERS);
	mr_limiter_init(&r->lim);
	return r;
}

void
mr_mix_room_free(struct mr_mix_room *r)
{
	if (r == NULL)
		return;
	free(r->enc);
	free(r);
}

void
mr_mix_room_set_rec(struct mr_mix_room *r, uint16_t rec_id)
{
	/* Relaxed: the lcore reads the id once a tick and needs nothing published with it. */
	__atomic_store_n(&r->rec_id, rec_id, __ATOMIC_RELAXED);
}

unsigned int
mr_mix_room_media(const struct mr_mix_room *r)
{
	return r->media;
}

struct mr_mix_part *
mr_mix_part_create(struct mr_mix_room *r, struct mr_dp_part *part, uint32_t slot, uint32_t gen,
		   uint32_t ssrc)
{
	struct mr_mix_part *p = mix_zalloc(sizeof(*p));
	uint32_t rnd = (uint32_t)rte_rdtsc();

	if (p == NULL)
		goto nomem;
	p->dec = mix_zalloc((size_t)opus_decoder_get_size(1));
	if (p->dec == NULL || opus_decoder_init(p->dec, 48000, 1) != OPUS_OK)
		goto free_p;
	p->enc = mix_encoder();
	if (p->enc == NULL)
		goto free_p;
	p->room = r;
	p->part = part;
	p->ref.slot = slot;
	p->ref.gen = gen;
	p->ref.media = (uint8_t)r->media;
	p->gain_q8 = MR_MIX_UNITY_Q8;
	p->out.ssrc = ssrc;
	p->out.seq = (uint16_t)rnd;
	p->out.ts = rnd * 2654435761u;
	p->out.marker = 1;
	mr_limiter_init(&p->lim);
	mr_jb_init(&p->jb, MR_MIX_JB_DEPTH);
	return p;
free_p:
	free(p->dec);
	free(p);
nomem:
	rte_errno = ENOMEM;
	return NULL;
}

void
mr_mix_part_free(struct mr_mix_part *p)
{
	if (p == NULL)
		return;
	free(p->dec);
	free(p->enc);
	free(p);
}

void
mr_mix_part_gain(struct mr_mix_part *p, uint32_t gain_q8)
{
	__atomic_store_n(&p->gain_q8, gain_q8, __ATOMIC_RELAXED);
}

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

void
mr_mix_part_stats(const struct mr_mix_part *p, struct mr_mix_part_stats *s)
{
	s->packets = LD(p->jb.st.put);
	s->late = LD(p->jb.st.late);
	s->played = LD(p->jb.st.played);
	s->fec = LD(p->jb.st.fec);
	s->concealed = LD(p->jb.st.concealed);
	s->skipped = LD(p->jb.st.skipped);
	s->encoded = LD(p->encoded);
	s->shared = LD(p->shared);
	s->mixed = LD(p->mixed);
	s->not_mixed = LD(p->not_mixed);
	s->depth = LD(p->jb.count);
}

struct mr_media *
mr_media_create(struct mr_dp *dp, unsigned int idx, unsigned int lcore_id,
		struct rte_mempool *mp)
{
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	struct mr_media *md;
	char name[RTE_RING_NAMESIZE];
	unsigned int w;

	md = rte_zmalloc_socket("mr_media", sizeof(*md), RTE_CACHE_LINE_SIZE, socket);
	if (md == NULL)
		return NULL;
	md->priv = rte_zmalloc_socket("mr_media_priv", sizeof(*md->priv), RTE_CACHE_LINE_SIZE,
				      socket);
	if (md->priv == NULL)
		goto fail;
	TAILQ_INIT(&md->priv->active);
	md->dp = dp;
	md->idx = idx;
	md->lcore_id = lcore_id;
	md->mp = mp;
	snprintf(name, sizeof(name), "mr_med_cmd%u", idx);
	md->cmd = rte_ring_create_elem(name, sizeof(struct mr_media_cmd), 1024, socket,
				       RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (md->cmd == NULL)
		goto fail;
	for (w = 0; w < dp->n_workers; w++) {
		snprintf(name, sizeof(name), "mr_med_rx%u_%u", idx, w);
		md->rx[w] = rte_ring_create_elem(name, sizeof(struct mr_mix_item), MR_MIX_RING,
						 socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "mr_med_tx%u_%u", idx, w);
		md->tx[w] = rte_ring_create_elem(name, sizeof(struct mr_mix_item), MR_MIX_RING,
						 socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (md->rx[w] == NULL || md->tx[w] == NULL)
			goto fail;
	}
	return md;
fail:
	mr_media_free(md);
	return NULL;
}

static void
media_ring_free(struct rte_ring *r)
{
	struct mr_mix_item it;

	if (r == NULL)
		return;
	while (rte_ring_dequeue_elem(r, &it, sizeof(it)) == 0)
		rte_pktmbuf_free(it.m);
	rte_ring_free(r);
}

void
mr_media_free(struct mr_media *md)
{
	unsigned int w;

	if (md == NULL)
		return;
	for (w = 0; w < RTE_DIM(md->rx); w++) {
		media_ring_free(md->rx[w]);
		media_ring_free(md->tx[w]);
	}
	rte_ring_free(md->cmd);
	rte_free(md->priv);
	rte_free(md);
}

int
mr_media_cmd(struct mr_media *md, uint32_t type, void *obj)
{
	struct mr_media_cmd c = { .type = type, .obj = obj };

	if (rte_ring_sp_enqueue_elem(md->cmd, &c, sizeof(c)) != 0)
		return -EBUSY;
	md->cmd_sent++;
	return 0;
}

int
mr_media_caught_up(const struct mr_media *md, uint64_t sent)
{
	/* Acquire: pairs with the lcore's release after it applied the command. */
	return __atomic_load_n(&md->cmd_done, __ATOMIC_ACQUIRE) >= sent;
}

/* ---- the media lcore ---- */

static void
room_activate(struct mr_media_priv *pv, struct mr_mix_room *r)
{
	r->idle = 0;
	if (r->active)
		return;
	r->active = 1;
	TAILQ_INSERT_TAIL(&pv->active, r, link);
	pv->n_active++;
}

static void
room_deactivate(struct mr_media_priv *pv, struct mr_mix_room *r)
{
	if (!r->active)
		return;
	r->active = 0;
	TAILQ_REMOVE(&pv->active, r, link);
	pv->n_active--;
}

/* The lcore's participant in slot, when gen is still its generation. Participants are found
 * through the slot table's pointer, checked against what this lcore was given: the table
 * itself is the control plane's, so the lcore keeps the participants it holds in its rooms
 * and compares. */
static inline struct mr_mix_part *
media_part(struct mr_media *md, const struct mr_mix_item *it)
{
	struct mr_mix_slot *s = &md->dp->mix_slot[it->slot];
	struct mr_dp_part *part;
	struct mr_mix_part *p;

	/* Acquire: pairs with the control plane's release of gen (part is set before). */
	if (it->slot == 0 || it->slot >= MR_MIX_SLOTS ||
	    __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != it->gen)
		return NULL;
	part = s->part;
	p = part != NULL ? part->mix : NULL;
	/* Only a participant this lcore added (and not yet removed) is used. */
	if (p == NULL || p->ref.gen != it->gen || p->room == NULL ||
	    p->idx >= p->room->n || p->room->p[p->idx] != p)
		return NULL;
	return p;
}

static void
media_rx(struct mr_media *md, struct mr_media_priv *pv)
{
	unsigned int w, i, n;

	for (w = 0; w < md->dp->n_workers; w++) {
		do {
			n = rte_ring_sc_dequeue_burst_elem(md->rx[w], pv->rx, sizeof(pv->rx[0]),
							   MR_MIX_RX_BURST, NULL);
			for (i = 0; i < n; i++) {
				struct mr_mix_item *it = &pv->rx[i];
				struct mr_mix_part *p = media_part(md, it);
				struct rte_mbuf *m = it->m;

				md->stats.rx_packets++;
				if (unlikely(p == NULL)) {
					md->stats.drop_stale++;
					rte_pktmbuf_free(m);
					continue;
				}
				switch (mr_jb_put(&p->jb, it->seq, rte_pktmbuf_mtod(m, uint8_t *),
						  m->data_len)) {
				case MR_JB_STORED:
					room_activate(pv, p->room);
					break;
				case MR_JB_LATE:
					md->stats.drop_jb_late++;
					break;
				case MR_JB_DUP:
					md->stats.drop_jb_dup++;
					break;
				default:
					md->stats.drop_jb_too_big++;
					break;
				}
				rte_pktmbuf_free(m);
			}
		} while (n == MR_MIX_RX_BURST);
	}
}

static void
media_cmd_apply(struct mr_media *md, const struct mr_media_cmd *c)
{
	struct mr_media_priv *pv = md->priv;

	switch (c->type) {
	case MR_MEDIA_ADD_PART: {
		struct mr_mix_part *p = c->obj;
		struct mr_mix_room *r = p->room;

		if (r->n < MR_MIX_MAX_PARTS) {
			p->idx = r->n;
			r->p[r->n++] = p;
		}
		break;
	}
	case MR_MEDIA_DEL_PART: {
		struct mr_mix_part *p = c->obj;
		struct mr_mix_room *r = p->room;

		if (p->idx < r->n && r->p[p->idx] == p) {
			r->p[p->idx] = r->p[--r->n];
			r->p[p->idx]->idx = p->idx;
			r->p[r->n] = NULL;
		}
		p->idx = UINT32_MAX;
		break;
	}
	case MR_MEDIA_DEL_ROOM:
		room_deactivate(pv, c->obj);
		break;
	default:
		break;
	}
	/* Release: the control plane's acquire load of cmd_done sees the command's effects
	 * and knows that nothing it named is used any more. */
	__atomic_store_n(&md->cmd_done, md->cmd_done + 1, __ATOMIC_RELEASE);
}

/* Commands, with the packets enqueued before them: a participant's packets still in the
 * rings are taken (or counted stale) before it leaves. */
static void
media_commands(struct mr_media *md, struct mr_media_priv *pv)
{
	struct mr_media_cmd c[16];
	unsigned int i, n;

	n = rte_ring_sc_dequeue_burst_elem(md->cmd, c, sizeof(c[0]), RTE_DIM(c), NULL);
	media_rx(md, pv);
	for (i = 0; i < n; i++)
		media_cmd_apply(md, &c[i]);
}

/* An RTP packet of out with the len-byte Opus frame at pl, for slot (gen), to worker w. */
static void
media_send(struct mr_media *md, struct mr_mix_room *r, struct mr_mix_part *p,
	   const uint8_t *pl, int len)
{
	struct mr_mix_out *o = &p->out;
	struct mr_mix_item it;
	struct rte_mbuf *m;
	uint8_t *h;

	m = rte_pktmbuf_alloc(md->mp);
	if (unlikely(m == NULL)) {
		md->stats.drop_no_mbuf++;
		return;
	}
	h = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(12 + len));
	if (unlikely(h == NULL)) {
		md->stats.drop_no_mbuf++;
		rte_pktmbuf_free(m);
		return;
	}
	h[0] = 0x80;
	h[1] = (uint8_t)(r->pt | (o->marker ? 0x80 : 0));
	h[2] = (uint8_t)(o->seq >> 8);
	h[3] = (uint8_t)o->seq;
	h[4] = (uint8_t)(o->ts >> 24);
	h[5] = (uint8_t)(o->ts >> 16);
	h[6] = (uint8_t)(o->ts >> 8);
	h[7] = (uint8_t)o->ts;
	h[8] = (uint8_t)(o->ssrc >> 24);
	h[9] = (uint8_t)(o->ssrc >> 16);
	h[10] = (uint8_t)(o->ssrc >> 8);
	h[11] = (uint8_t)o->ssrc;
	memcpy(h + 12, pl, (size_t)len);
	o->seq++;
	o->marker = 0;
	it.m = m;
	it.slot = p->ref.slot;
	it.gen = p->ref.gen;
	it.seq = 0;
	memset(it.pad, 0, sizeof(it.pad));
	if (unlikely(rte_ring_sp_enqueue_elem(md->tx[p->part->room->owner], &it,
					      sizeof(it)) != 0)) {
		md->stats.drop_tx_ring_full++;
		rte_pktmbuf_free(m);
		return;
	}
	md->stats.packets_out++;
}

/* Decode the participant's next frame into p->pcm; 0 when it has none (silent). */
static int
media_decode(struct mr_media *md, struct mr_mix_part *p)
{
	uint64_t skipped = p->jb.st.skipped;
	enum mr_jb_out o;
	const uint8_t *data;
	uint16_t len;
	int n;

	o = mr_jb_get(&p->jb, &data, &len);
	md->stats.drop_jb_skipped += p->jb.st.skipped - skipped;
	switch (o) {
	case MR_JB_PACKET:
		n = opus_decode(p->dec, data, len, p->pcm, MR_MIX_FRAME, 0);
		break;
	case MR_JB_FEC:
		n = opus_decode(p->dec, data, len, p->pcm, MR_MIX_FRAME, 1);
		break;
	case MR_JB_PLC:
		n = opus_decode(p->dec, NULL, 0, p->pcm, MR_MIX_FRAME, 0);
		break;
	default:
		return 0;
	}
	if (unlikely(n != MR_MIX_FRAME)) {
		/* A frame that is not 20 ms, or not Opus: concealed instead. */
		md->stats.drop_decode_error++;
		n = opus_decode(p->dec, NULL, 0, p->pcm, MR_MIX_FRAME, 0);
		if (n != MR_MIX_FRAME)
			return 0;
	}
	md->stats.frames_decoded++;
	return 1;
}

static int
media_latched(const struct mr_mix_part *p)
{
	/* Relaxed: a hint (the owner writes path under its seqcount); the worker checks again
	 * before it sends. */
	return __atomic_load_n(&p->part->path.state, __ATOMIC_RELAXED) == MR_PATH_LATCHED;
}

/* Sums the K loudest of the tick's speakers (pv->cand[0..n)) into pv->sum: the others are
 * left out of the mix and hear the shared encoding. */
static void
media_select(struct mr_media *md, struct mr_media_priv *pv, struct mr_mix_room *r,
	     unsigned int n)
{
	unsigned int j;

	mr_mix_select(pv->cand, n, r->max_speakers);
	for (j = 0; j < n; j++) {
		struct mr_mix_part *p = r->p[pv->cand[j].idx];

		p->in_mix = pv->cand[j].sel;
		if (p->in_mix) {
			mr_mix_add(pv->sum, p->pcm, p->gain_now, MR_MIX_FRAME);
			p->mixed++;
		} else {
			p->not_mixed++;
			md->stats.frames_not_mixed++;
		}
	}
}

/* The room's one encoding of everyone mixed (pv->shared_pkt), made once a tick on first use;
 * 0 when libopus refused it. */
static int
media_shared(struct mr_media *md, struct mr_media_priv *pv, struct mr_mix_room *r)
{
	if (pv->shared_len < 0) {
		mr_limit(&r->lim, pv->sum, pv->out16, MR_MIX_FRAME);
		pv->shared_len = opus_encode(r->enc, pv->out16, MR_MIX_FRAME, pv->shared_pkt,
					     sizeof(pv->shared_pkt));
		if (pv->shared_len > 0)
			md->stats.frames_encoded++;
		else
			md->stats.drop_encode_error++;
	}
	return pv->shared_len > 0;
}

/* The shared encoding as an RTP packet of the mix's recording rec, onto the recording ring
 * (rec.h): what a listener hears, encoded once. A full ring or an empty pool drops the copy
 * (counted), nothing else. */
static void
media_rec(struct mr_media *md, struct mr_media_priv *pv, struct mr_mix_room *r, uint16_t rec)
{
	uint8_t h[12];
	uint32_t ts;

	if (r->rec_seen != rec) {
		r->rec_seen = rec;
		r->rec_tick0 = md->stats.ticks;
		r->rec_ssrc = (uint32_t)rte_rdtsc() * 2654435761u | 1;
		r->rec_seq = (uint16_t)rte_rdtsc();
	}
	if (!media_shared(md, pv, r))
		return;
	ts = (uint32_t)((md->stats.ticks - r->rec_tick0) * MR_MIX_FRAME);
	h[0] = 0x80;
	h[1] = r->pt;
	h[2] = (uint8_t)(r->rec_seq >> 8);
	h[3] = (uint8_t)r->rec_seq;
	h[4] = (uint8_t)(ts >> 24);
	h[5] = (uint8_t)(ts >> 16);
	h[6] = (uint8_t)(ts >> 8);
	h[7] = (uint8_t)ts;
	h[8] = (uint8_t)(r->rec_ssrc >> 24);
	h[9] = (uint8_t)(r->rec_ssrc >> 16);
	h[10] = (uint8_t)(r->rec_ssrc >> 8);
	h[11] = (uint8_t)r->rec_ssrc;
	r->rec_seq++;
	if (unlikely(mr_rec_copy(md->dp, rec, r->rec_ssrc, h, sizeof(h), pv->shared_pkt,
				 (uint16_t)pv->shared_len, rte_get_tsc_cycles()) != 0)) {
		md->stats.rec_dropped++;
		return;
	}
	md->stats.rec_captured++;
}

static void
media_room_tick(struct mr_media *md, struct mr_media_priv *pv, struct mr_mix_room *r)
{
	unsigned int i, speakers = 0;
	uint8_t pkt[MR_MIX_MAX_OUT];
	uint16_t rec;
	int len;

	memset(pv->sum, 0, sizeof(pv->sum));
	for (i = 0; i < r->n; i++) {
		struct mr_mix_part *p = r->p[i];
		uint8_t was = p->in_mix;	/* in last tick's mix: hysteresis */

		p->has_frame = (uint8_t)media_decode(md, p);
		p->in_mix = 0;
		if (!p->has_frame) {
			/* Silence brings the level down as a quiet frame would. */
			p->level = mr_mix_level_smooth(p->level, 0);
			continue;
		}
		/* Once a tick: the same gain goes in with the sum and out with the N-1. */
		p->gain_now = __atomic_load_n(&p->gain_q8, __ATOMIC_RELAXED);
		if (r->max_speakers == 0) {
			speakers++;
			p->in_mix = 1;
			p->mixed++;
			mr_mix_add(pv->sum, p->pcm, p->gain_now, MR_MIX_FRAME);
			continue;
		}
		/* The level after the gain: a muted participant is the quietest of all. */
		p->level = mr_mix_level_smooth(p->level, mr_mix_level(p->pcm, p->gain_now,
								      MR_MIX_FRAME));
		pv->cand[speakers].level = p->level;
		pv->cand[speakers].idx = i;
		pv->cand[speakers].was = was;
		speakers++;
	}
	if (r->max_speakers != 0 && speakers != 0)
		media_select(md, pv, r, speakers);
	if (speakers == 0) {
		/* Nobody speaks: nothing is sent (the receivers' decoders conceal, then go
		 * quiet); a room silent for a second leaves the active list. */
		for (i = 0; i < r->n; i++) {
			r->p[i]->out.ts += MR_MIX_FRAME;
			r->p[i]->out.marker = 1;
		}
		if (++r->idle >= MR_MIX_IDLE_TICKS)
			room_deactivate(pv, r);
		return;
	}
	r->idle = 0;
	pv->shared_len = -1;		/* encoded on first use */
	/* Relaxed: an id the control plane sets and clears, nothing published with it. */
	rec = __atomic_load_n(&r->rec_id, __ATOMIC_RELAXED);
	if (unlikely(rec != 0))
		media_rec(md, pv, r, rec);
	for (i = 0; i < r->n; i++) {
		struct mr_mix_part *p = r->p[i];

		if (!media_latched(p)) {
			md->stats.drop_no_remote++;
			p->out.ts += MR_MIX_FRAME;
			continue;
		}
		if (p->in_mix) {
			/* A speaker in the mix: everyone but itself, its own limiter and
			 * encoder. */
			mr_mix_minus(pv->tmp, pv->sum, p->pcm, p->gain_now, MR_MIX_FRAME);
			mr_limit(&p->lim, pv->tmp, pv->out16, MR_MIX_FRAME);
			len = opus_encode(p->enc, pv->out16, MR_MIX_FRAME, pkt, sizeof(pkt));
			if (unlikely(len <= 0)) {
				md->stats.drop_encode_error++;
				p->out.ts += MR_MIX_FRAME;
				continue;
			}
			md->stats.frames_encoded++;
			p->encoded++;
			media_send(md, r, p, pkt, len);
		} else {
			/* A listener, silent, or a speaker left out of the mix: the room's one
			 * encoding of everyone mixed, which by construction is not it. */
			if (media_shared(md, pv, r)) {
				p->shared++;
				media_send(md, r, p, pv->shared_pkt, pv->shared_len);
			}
		}
		p->out.ts += MR_MIX_FRAME;
	}
}

static void
media_tick(struct mr_media *md, struct mr_media_priv *pv)
{
	struct mr_mix_room *r, *next;
	uint64_t t0 = rte_get_tsc_cycles();

	for (r = TAILQ_FIRST(&pv->active); r != NULL; r = next) {
		next = TAILQ_NEXT(r, link);
		media_room_tick(md, pv, r);
	}
	md->stats.ticks++;
	md->stats.busy_cycles += rte_get_tsc_cycles() - t0;
	md->stats.rooms_active = pv->n_active;
}

int
mr_media_main(void *arg)
{
	struct mr_media *md = arg;
	struct mr_media_priv *pv = md->priv;
	struct mr_dp *dp = md->dp;

	pv->period = dp->tsc_hz * MR_MIX_FRAME_MS / 1000;
	pv->next_tick = rte_get_tsc_cycles() + pv->period;
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		uint64_t now;

		media_commands(md, pv);
		now = rte_get_tsc_cycles();
		if ((int64_t)(now - pv->next_tick) >= 0) {
			media_rx(md, pv);
			media_tick(md, pv);
			pv->next_tick += pv->period;
			if ((int64_t)(now - pv->next_tick) >= 0) {
				/* A frame or more behind (the lcore was not scheduled, or is
				 * overloaded): the ticks missed run at once, so that 50 frames a
				 * second still go out; beyond MR_MIX_CATCHUP they are given up. */
				md->stats.tick_late++;
				if (now - pv->next_tick > MR_MIX_CATCHUP * pv->period)
					pv->next_tick = now + pv->period;
			}
			continue;
		}
		/* Nothing but the rings until the next tick: the jitter buffers only need the
		 * packets by then. With idle_sleep_us the lcore naps (a frame is 20 ms). */
		if (dp->idle_sleep_us)
			rte_delay_us_sleep(RTE_MIN(dp->idle_sleep_us * 10u, 1000u));
		else
			rte_pause();
	}
	return 0;
}
