/* SPDX-License-Identifier: BSD-3-Clause
 * SFU forwarding on the room's owner lcore (room_dp.h, DESIGN.md §2): latch each participant's
 * remote, account and fan out the RTP of every published stream to its subscribers, relay
 * and terminate RTCP (RFC 3550 §6, RFC 4585, RFC 5104), answer NACKs from a retransmission
 * cache and send the publishers the relay's own receiver reports.
 *
 * Everything here runs on the owner lcore of the room: it alone writes the participants' and
 * streams' mutable state, so there are no locks. Per packet there is no allocation beyond
 * mbufs, no system call and no logging; every packet not sent is counted by reason.
 */
#include <errno.h>
#include <string.h>
#include <rte_branch_prediction.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_prefetch.h>
#include <rte_ring_elem.h>

#include "cap_dp.h"
#include "dp_priv.h"
#include "ice.h"
#include "pkt_parse.h"
#include "rec_dp.h"
#include "room_dp.h"
#include "room_fwd.h"
#include "rtcp.h"
#include "rtp_ext.h"
#include "rtp_stats.h"

#define ROOM_NACK_MAX	256u		/* sequence numbers handled per NACK packet */
#define ROOM_TOKEN	(1ULL << 16)	/* one retransmission in rtx_tokens units */
#define ROOM_LEVEL_SHIFT 3		/* audio level EMA weight 1/8: about 160 ms at 20 ms
					 * packets, fast enough for active-speaker switching */

/* ---- lookups ---- */

/* The stream of ssrc in the room's sorted map (binary search), NULL when unknown. */
static inline struct mr_dp_stream *
room_stream_find(const struct mr_dp_ssrc_map *map, uint32_t ssrc)
{
	uint32_t lo = 0, hi;

	if (unlikely(map == NULL))
		return NULL;
	hi = map->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t s = map->e[mid].ssrc;

		if (s == ssrc)
			return map->e[mid].st;
		if (s < ssrc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static inline const struct mr_dp_ssrc_map *
room_map(const struct mr_dp_room *r)
{
	/* Acquire: pairs with the control plane's release store of a completely built map,
	 * so its entries (and the streams they point to) are seen initialized. */
	return __atomic_load_n(&r->map, __ATOMIC_ACQUIRE);
}

/* A TSC interval in 1/65536 s (the unit of DLSR and of RTT, RFC 3550 §6.4.1). */
static inline uint32_t
room_tsc_to_q16(const struct mr_dp *dp, uint64_t d)
{
	uint64_t x = mr_scale(&dp->tsc_to_q16, d);

	return x > UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

/* ---- sending ---- */

/* Can sub receive a packet now? Counted when it has no remote yet. */
static inline int
room_sub_ready(struct mr_worker *w, struct mr_dp_part *sub, const struct mr_dp_part *from)
{
	/* The sublist never holds the publisher (room_dp.h); the test costs nothing and keeps
	 * a control-plane slip from echoing media. */
	if (unlikely(sub == from))
		return 0;
	if (unlikely(sub->path.state != MR_PATH_LATCHED)) {
		sub->ctr.drop_no_remote++;
		w->stats.drops[MR_DROP_NO_REMOTE]++;
		return 0;
	}
	return 1;
}

static inline struct rte_mbuf *
room_alloc(struct mr_worker *w, struct rte_mempool *mp)
{
	struct rte_mbuf *m = likely(mp != NULL) ? rte_pktmbuf_alloc(mp) : NULL;

	if (unlikely(m == NULL))
		w->stats.drops[MR_DROP_NO_MBUF]++;
	return m;
}

/* Send the plen payload bytes at m's data start from to's local endpoint to its latched
 * remote: headers prepended in m's headroom. ck: checksum of the datagram the payload came
 * in, or NULL to compute it. Consumes m; 0, or -1 when it was dropped (counted). */
/* room_send()'s ck for a payload just encrypted for its subscriber: checksum in full. */
#define ROOM_CK_ENCRYPTED ((const struct mr_udp_ck *)(uintptr_t)1)

/* Does to take SRTP from the relay? Its copies are then encrypted under its own key: never an
 * indirect clone or the shared mbuf of one. */
static inline int
room_sub_srtp(const struct mr_dp_part *to)
{
	return unlikely(to->srtp != NULL) && to->srtp->tx != NULL;
}

static void room_srtp_stage(struct mr_worker *w, struct rte_mbuf *m, struct mr_dp_part *to,
			    uint16_t plen, uint8_t tclass);

static int
room_send(struct mr_worker *w, struct rte_mbuf *m, struct mr_dp_part *to, uint16_t plen,
	  uint8_t tclass, const struct mr_udp_ck *ck)
{
	const struct mr_dp_port *op = &w->dp->port[to->port_idx];
	uint16_t hlen = mr_hdr_len(op, to->local.family);
	uint8_t *payload = rte_pktmbuf_mtod(m, uint8_t *);

	/* A WebRTC participant gets nothing in clear before DTLS gave its keys. */
	if (unlikely(to->path.state != MR_PATH_LATCHED) ||
	    unlikely(to->ice != NULL && !room_sub_srtp(to))) {
		to->ctr.drop_no_remote++;
		mr_drop(w, m, MR_DROP_NO_REMOTE);
		return -1;
	}
	if (room_sub_srtp(to) && ck != ROOM_CK_ENCRYPTED) {
		/* Encrypted with the rest of the batch, then sent (mr_room_srtp_flush). */
		room_srtp_stage(w, m, to, plen, tclass);
		return 0;
	}
	if (ck == ROOM_CK_ENCRYPTED)
		ck = NULL;
	if (unlikely(m->data_off < hlen)) {
		mr_drop(w, m, MR_DROP_HDR_ROOM);
		return -1;
	}
	m->data_off -= hlen;
	m->data_len = hlen + plen;
	m->pkt_len = m->data_len;
	mr_hdr_write(m, payload - hlen, op, &to->local, &to->path.remote,
		     to->path.mac.addr_bytes, tclass, payload, plen, ck);
	to->ctr.pkts_out++;
	to->ctr.bytes_out += plen;
	mr_cap(w, &to->cap_id, MR_CAP_OUT, m);
	mr_worker_tx(w, to->port_idx, m);
	return 0;
}

/* Stage m, whose data is the plen-byte payload (the caller's alone), to be encrypted for
 * to (an SRTP participant) with the rest of the batch. */
static void
room_srtp_stage(struct mr_worker *w, struct rte_mbuf *m, struct mr_dp_part *to, uint16_t plen,
		uint8_t tclass)
{
	struct mr_srtp_burst *b = w->srtp_burst;
	struct mr_srtp_op *op = &b->room_op[b->n_room];
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *), pt = p[1] & 0x7f;

	op->ctx = to->srtp->tx;
	op->pkt = p;
	op->len = plen;
	op->room = mr_srtp_room(m, p, plen);
	/* RTCP by its packet type (RFC 5761 §4: 64..95 with the marker bit masked). */
	op->rtcp = pt >= 64 && pt <= 95;
	mr_srtp_prefetch(op->ctx, op->rtcp);
	b->room_m[b->n_room] = m;
	b->room_to[b->n_room] = to;
	b->room_tclass[b->n_room] = tclass;
	if (++b->n_room == MR_BURST)
		mr_room_srtp_flush(w);
}

void
mr_room_srtp_flush(struct mr_worker *w)
{
	struct mr_srtp_burst *b = w->srtp_burst;
	unsigned int i, n = b->n_room;

	b->n_room = 0;
	mr_srtp_protect_burst(w->srtp, b->room_op, n);
	for (i = 0; i < n; i++) {
		struct mr_dp_part *to = b->room_to[i];

		if (unlikely(b->room_op[i].res != MR_SRTP_OK)) {
			to->srtp->ctr.protect_fail++;
			mr_drop(w, b->room_m[i], MR_DROP_SRTP_PROTECT);
			continue;
		}
		to->srtp->ctr.encrypted++;
		room_send(w, b->room_m[i], to, b->room_op[i].len, b->room_tclass[i],
			  ROOM_CK_ENCRYPTED);
	}
}

#define ROOM_PT_ASIS 0xff		/* room_pt_for(): no change */

/* The payload type of st's copies to sub when it must change (room_dp.h rx_pt), else
 * ROOM_PT_ASIS (and for RTCP: st NULL). One byte load: the map is indexed by kind. */
static inline uint8_t
room_pt_for(const struct mr_dp_part *sub, const struct mr_dp_stream *st, const uint8_t *rtp)
{
	uint8_t v;

	if (st == NULL)
		return ROOM_PT_ASIS;
	/* Relaxed: a byte the control plane sets before the subscriber gets anything. */
	v = __atomic_load_n(&sub->rx_pt[st->kind & 1], __ATOMIC_RELAXED);
	if (likely(v == 0) || (v & 0x7f) == (rtp[1] & 0x7f))
		return ROOM_PT_ASIS;
	return v & 0x7f;
}

/* The header extension numbering of st's publisher (room_dp.h ext_out), once a packet; 0 for
 * RTCP (st NULL), a playback (play.c: no publisher) or a plain publisher. */
static inline uint32_t
room_ext_from(const struct mr_dp_stream *st)
{
	if (st == NULL || st->pub == NULL)
		return 0;
	/* Relaxed: a word the control plane sets before the participant gets anything. */
	return __atomic_load_n(&st->pub->ext_out, __ATOMIC_RELAXED);
}

/* The two numberings (publisher's << 32 | sub's) when copies from a publisher numbering
 * `from` (room_ext_from) to sub must have their extension elements renumbered, else 0. */
static inline uint64_t
room_ext_for(const struct mr_dp_part *sub, uint32_t from)
{
	uint32_t to;

	if (likely(from == 0))
		return 0;
	to = __atomic_load_n(&sub->ext_out, __ATOMIC_RELAXED);	/* as in room_ext_from */
	/* Equal maps need nothing, unless the publisher's packets carry its mid. */
	if (to == 0 || (to == from && !(from & MR_EXT_MID_MASK)))
		return 0;
	return (uint64_t)from << 32 | to;
}

/* Renumber the extension elements of a copy (room_ext_for's ext nonzero); a malformed
 * extension is sent as it is, its elements before the fault renumbered. */
static inline void
room_set_ext(uint8_t *rtp, uint16_t len, uint64_t ext)
{
	(void)mr_rtp_ext_renumber(rtp, len, (uint32_t)(ext >> 32), (uint32_t)ext);
}

/* Rewrite the payload type of the RTP packet at rtp, keeping the marker bit. */
static inline void
room_set_pt(uint8_t *rtp, uint8_t pt)
{
	rtp[1] = (uint8_t)((rtp[1] & 0x80) | pt);
}

/* A fresh packet with a copy of len bytes at src as its UDP payload, to to, with payload
 * type pt (ROOM_PT_ASIS: as it is) and its extension elements renumbered when ext is not 0
 * (room_ext_for). */
static int
room_send_bytes(struct mr_worker *w, struct mr_dp_part *to, const uint8_t *src, uint16_t len,
		uint8_t tclass, const struct mr_udp_ck *ck, uint8_t pt, uint64_t ext)
{
	struct rte_mbuf *m;

	if (unlikely(to->path.state != MR_PATH_LATCHED)) {
		to->ctr.drop_no_remote++;
		w->stats.drops[MR_DROP_NO_REMOTE]++;
		return -1;
	}
	m = room_alloc(w, w->mp);
	if (unlikely(m == NULL))
		return -1;
	if (unlikely(rte_pktmbuf_tailroom(m) < len)) {
		mr_drop(w, m, MR_DROP_NO_TAILROOM);
		return -1;
	}
	rte_memcpy(rte_pktmbuf_mtod(m, uint8_t *), src, len);
	if (pt != ROOM_PT_ASIS) {
		room_set_pt(rte_pktmbuf_mtod(m, uint8_t *), pt);
		ck = NULL;	/* the payload changed: the checksum is computed afresh */
	}
	if (unlikely(ext != 0)) {
		room_set_ext(rte_pktmbuf_mtod(m, uint8_t *), len, ext);
		ck = NULL;
	}
	return room_send(w, m, to, len, tclass, ck);
}

/* One subscriber's copy of an indirect fan-out: a header mbuf chained to an indirect mbuf
 * attached to m, whose data window is already the payload (DPDK's ipv4_multicast example
 * does the same). The UDP checksum is updated from ck, or finished by the NIC over both
 * segments. 0 or -1 (counted). */
static int
room_send_indirect(struct mr_worker *w, struct rte_mbuf *m, struct mr_dp_part *to,
		   const uint8_t *payload, uint16_t plen, uint8_t tclass,
		   const struct mr_udp_ck *ck)
{
	const struct mr_dp_port *op = &w->dp->port[to->port_idx];
	uint16_t hlen = mr_hdr_len(op, to->local.family);
	struct rte_mbuf *h, *c;

	h = room_alloc(w, w->hdr_mp);
	if (unlikely(h == NULL))
		return -1;
	c = room_alloc(w, w->mp);
	if (unlikely(c == NULL)) {
		rte_pktmbuf_free(h);
		return -1;
	}
	rte_pktmbuf_attach(c, m);
	/* Headers from the buffer start: a small header pool needs no headroom. */
	h->data_off = 0;
	h->data_len = hlen;
	h->pkt_len = hlen + plen;
	h->next = c;
	h->nb_segs = 2;
	mr_hdr_write(h, rte_pktmbuf_mtod(h, uint8_t *), op, &to->local, &to->path.remote,
		     to->path.mac.addr_bytes, tclass, payload, plen, ck);
	to->ctr.pkts_out++;
	to->ctr.bytes_out += plen;
	mr_cap(w, &to->cap_id, MR_CAP_OUT, h);
	mr_worker_tx(w, to->port_idx, h);
	return 0;
}

/* Send the UDP payload of m (pi) to every ready subscriber in sl. The last one gets m itself
 * with its headers rewritten in place; the others a copy, or a header mbuf chained to an
 * indirect mbuf on m's payload (indirect, a compile-time constant). st: the stream of an RTP
 * packet, whose payload type each subscriber may want changed (a copy of its own then, never
 * a clone sharing the payload); NULL for RTCP. Consumes m; returns the copies sent. */
static __rte_always_inline unsigned int
room_fanout_body(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		 const struct mr_dp_sublist *sl, const struct mr_dp_part *from,
		 const struct mr_dp_stream *st, const int indirect)
{
	struct mr_dp *dp = w->dp;
	uint16_t plen = pi->payload_len, pay_off = m->data_off + pi->payload_off, hlen;
	const uint8_t *payload = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->payload_off);
	const struct mr_dp_port *op;
	unsigned int i, last = sl->n, sent = 0, clones = 0;
	struct mr_dp_part *sub;
	struct mr_udp_ck ck, *ckp = &ck;
	uint32_t ext_from = room_ext_from(st);
	uint64_t ext;
	uint8_t pt;

	/* The last ready subscriber takes m; scanning from the end counts the others once. */
	while (last > 0) {
		if (room_sub_ready(w, sl->sub[last - 1], from))
			break;
		last--;
	}
	if (unlikely(last == 0)) {
		mr_drop(w, m, MR_DROP_NO_SUBSCRIBER);
		return 0;
	}
	last--;
	if (!pi->decrypted)
		mr_udp_ck_of(rte_pktmbuf_mtod(m, const uint8_t *), pi, &ck,
			     mr_rx_recompute(dp, m, MR_CK_PORT));
	else
		ckp = NULL;	/* changed by decryption: computed afresh */
	if (indirect) {
		/* Clones copy this window: the payload only (Ethernet padding dropped). */
		m->data_off = pay_off;
		m->data_len = plen;
		m->pkt_len = plen;
	}
	for (i = 0; i < last; i++) {
		sub = sl->sub[i];
		if (i + 1 < last) {
			/* All a copy reads and writes of the next subscriber: its first
			 * two lines (room_dp.h: read-only; path, pkts_out). */
			rte_prefetch0(sl->sub[i + 1]);
			rte_prefetch0(&sl->sub[i + 1]->seq);
		}
		if (!room_sub_ready(w, sub, from))
			continue;
		pt = room_pt_for(sub, st, payload);
		ext = room_ext_for(sub, ext_from);
		if (indirect && pt == ROOM_PT_ASIS && ext == 0 &&
		    !dp->port[sub->port_idx].tx_no_chain && !room_sub_srtp(sub)) {
			if (room_send_indirect(w, m, sub, payload, plen, pi->tclass, ckp) != 0)
				continue;
			clones++;
		} else if (room_send_bytes(w, sub, payload, plen, pi->tclass, ckp, pt, ext) != 0) {
			continue;
		}
		sent++;
		w->stats.relayed++;
	}

	sub = sl->sub[last];
	op = &dp->port[sub->port_idx];
	pt = room_pt_for(sub, st, payload);
	ext = room_ext_for(sub, ext_from);
	if (indirect && clones && (op->tx_no_chain || room_sub_srtp(sub) || pt != ROOM_PT_ASIS ||
				   ext != 0)) {
		/* m is shared by the clones: that port must not get it (fast free), nor may
		 * its payload be encrypted or rewritten for one subscriber. */
		if (room_send_bytes(w, sub, payload, plen, pi->tclass, ckp, pt, ext) == 0) {
			sent++;
			w->stats.relayed++;
		}
		rte_pktmbuf_free(m);
		return sent;
	}
	hlen = mr_hdr_len(op, sub->local.family);
	if (unlikely(pay_off < hlen)) {
		mr_drop(w, m, MR_DROP_HDR_ROOM);
		return sent;
	}
	if (pt != ROOM_PT_ASIS) {
		/* m is this subscriber's alone here: its payload type, in place. */
		room_set_pt((uint8_t *)(uintptr_t)payload, pt);
		ckp = NULL;
	}
	if (unlikely(ext != 0)) {
		/* And its extension ids. */
		room_set_ext((uint8_t *)(uintptr_t)payload, plen, ext);
		ckp = NULL;
	}
	if (room_sub_srtp(sub)) {
		/* No clone shares m here: its payload is encrypted in place with the batch. */
		m->data_off = pay_off;
		m->data_len = plen;
		m->pkt_len = plen;
		room_srtp_stage(w, m, sub, plen, pi->tclass);
		w->stats.relayed++;
		return sent + 1;
	}
	/* In place: the old headers are skipped, the new ones end where the payload starts
	 * (clones see only the payload window, which this does not touch). */
	m->data_off = pay_off - hlen;
	m->data_len = hlen + plen;
	m->pkt_len = m->data_len;
	mr_hdr_write(m, rte_pktmbuf_mtod(m, uint8_t *), op, &sub->local, &sub->path.remote,
		     sub->path.mac.addr_bytes, pi->tclass, payload, plen, ckp);
	sub->ctr.pkts_out++;
	sub->ctr.bytes_out += plen;
	w->stats.relayed++;
	mr_cap(w, &sub->cap_id, MR_CAP_OUT, m);
	mr_worker_tx(w, sub->port_idx, m);
	return sent + 1;
}

static unsigned int
room_fanout(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	    const struct mr_dp_sublist *sl, const struct mr_dp_part *from,
	    const struct mr_dp_stream *st)
{
	const struct mr_dp *dp = w->dp;

	if (sl->n > 1 && (dp->fanout == MR_DP_FANOUT_INDIRECT ||
			  (dp->fanout == MR_DP_FANOUT_AUTO &&
			   pi->payload_len > dp->fanout_copy_max)))
		return room_fanout_body(w, m, pi, sl, from, st, 1);
	return room_fanout_body(w, m, pi, sl, from, st, 0);
}

/* ---- RTP ---- */

/* RFC 6464 audio level, smoothed: an exponential moving average in -dBov * 256. */
static inline void
room_level(struct mr_dp_stream *st, const struct mr_dp_part *part, const uint8_t *rtp,
	   uint16_t len)
{
	const uint8_t *d;
	uint8_t dlen, level;
	uint32_t q, old;
	int voice;

	if (mr_rtp_ext_find(rtp, len, part->level_ext_id, &d, &dlen) != 1 ||
	    mr_audio_level_parse(d, dlen, &level, &voice) != 0)
		return;
	q = (uint32_t)level << 8;
	old = st->level_q8;
	if (st->level_pkts == 0)
		st->level_q8 = q;
	else if (q >= old)
		st->level_q8 = old + ((q - old) >> ROOM_LEVEL_SHIFT);
	else
		st->level_q8 = old - ((old - q) >> ROOM_LEVEL_SHIFT);
	st->level_pkts++;
}

/* Keep the packet for NACK answers (RFC 4585 §6.2.1): slot seq & (size - 1). */
static inline void
room_cache(struct mr_rtx_cache *c, const uint8_t *rtp, uint16_t len, uint64_t now)
{
	uint16_t seq = mr_pkt_be16(rtp + 2);
	uint32_t i = seq & (c->size - 1);
	struct mr_rtx_slot *s = &c->slot[i];

	if (len > c->slot_bytes) {
		s->len = 0;	/* whatever was there is older than this seq: not that one */
		return;
	}
	rte_memcpy(c->data + (size_t)i * c->slot_bytes, rtp, len);
	s->seq = seq;
	s->len = len;
	s->tsc = now;
}

/* ---- mixing rooms (media_dp.h) ---- */

/* An audio packet of a mixing room's participant: its Opus payload goes to the room's media
 * lcore, which mixes it; nothing is forwarded. */
static void
room_mix_rx(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	    struct mr_dp_part *part, struct mr_dp_stream *st, const uint8_t *rtp)
{
	const struct mr_mix_ref *ref;
	struct mr_mix_item it;
	uint32_t hl, len = pi->payload_len;

	if (unlikely(st->kind != MR_KIND_AUDIO || part->mix == NULL)) {
		mr_drop(w, m, MR_DROP_MIX_NOT_AUDIO);
		return;
	}
	/* RFC 3550 §5.1: fixed header, CSRCs, extension, padding. */
	hl = 12u + 4u * (rtp[0] & 0x0f);
	if (rtp[0] & 0x10) {
		if (hl + 4 > len) {
			part->ctr.drop_rtp++;
			mr_drop(w, m, MR_DROP_RTP_MALFORMED);
			return;
		}
		hl += 4u + 4u * ((uint32_t)rtp[hl + 2] << 8 | rtp[hl + 3]);
	}
	if ((rtp[0] & 0x20) && len > hl)
		len -= rtp[len - 1];
	if (unlikely(hl >= len)) {
		/* Nothing to decode (or a malformed header). */
		part->ctr.drop_rtp++;
		mr_drop(w, m, MR_DROP_RTP_MALFORMED);
		return;
	}
	ref = mr_mix_ref(part->mix);
	it.m = m;
	it.slot = ref->slot;
	it.gen = ref->gen;
	it.seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
	memset(it.pad, 0, sizeof(it.pad));
	rte_pktmbuf_adj(m, (uint16_t)(pi->payload_off + hl));
	m->data_len = (uint16_t)(len - hl);
	m->pkt_len = m->data_len;
	if (unlikely(rte_ring_sp_enqueue_elem(w->dp->media[ref->media]->rx[w->idx], &it,
					      sizeof(it)) != 0)) {
		mr_drop(w, m, MR_DROP_MIX_RING_FULL);
		return;
	}
	st->ctr.pkts_out++;
	st->ctr.bytes_out += len - hl;
}

/* The mixed packets the media lcores made for this worker's participants: sent from each
 * participant's endpoint like any room copy (encrypted for SRTP participants). A ring is
 * emptied, not just a burst taken: a participant's packets never outlive its grace period
 * here (media_dp.h). */
unsigned int
mr_room_mix_tx(struct mr_worker *w)
{
	const struct mr_dp *dp = w->dp;
	struct mr_mix_item it[MR_BURST];
	unsigned int k, i, n, work = 0;
	uint8_t pt;

	for (k = 0; k < dp->n_media; k++) {
		struct rte_ring *r = dp->media[k]->tx[w->idx];

		do {
			n = rte_ring_sc_dequeue_burst_elem(r, it, sizeof(it[0]), MR_BURST, NULL);
			work += n;
			for (i = 0; i < n; i++) {
				const struct mr_mix_slot *s = &dp->mix_slot[it[i].slot];
				struct mr_dp_part *to;

				/* Acquire: pairs with the control plane's release of gen, which
				 * it stores after part; 0 once the participant left. */
				if (unlikely(__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) !=
					     it[i].gen)) {
					mr_drop(w, it[i].m, MR_DROP_MIX_STALE);
					continue;
				}
				to = s->part;
				/* A WebRTC participant's Opus payload type, as its SDP has it
				 * (relaxed: a byte set before it has keys, room_pt_for). */
				pt = __atomic_load_n(&to->rx_pt[MR_KIND_AUDIO], __ATOMIC_RELAXED);
				if (pt & MR_PT_SET)
					room_set_pt(rte_pktmbuf_mtod(it[i].m, uint8_t *), pt & 0x7f);
				room_send(w, it[i].m, to, it[i].m->data_len, 0, NULL);
			}
		} while (n == MR_BURST);
	}
	return work;
}

/* An RTP packet of an unknown SSRC, for the control plane to publish (auto_publish rooms)
 * or to learn (learn_mid_id: its mid element, RFC 8843 §9.2). Not on the forwarding path. */
static __rte_noinline void
room_report_ssrc(struct mr_dp_part *part, const uint8_t *rtp, uint16_t len, uint32_t ssrc)
{
	uint8_t mid = __atomic_load_n(&part->learn_mid_id, __ATOMIC_RELAXED), dlen = 0, i;
	const uint8_t *data;

	if (mid == 0 || mid == MR_LEARN_BY_PT ||
	    mr_rtp_ext_find(rtp, len, mid, &data, &dlen) != 1 || dlen > sizeof(part->autopub_mid))
		dlen = 0;
	/* Relaxed byte stores: the control plane reads them after its acquire of autopub_seq
	 * and checks the sequence again (a report in between is read next time). */
	for (i = 0; i < dlen; i++)
		__atomic_store_n(&part->autopub_mid[i], (char)data[i], __ATOMIC_RELAXED);
	/* room_dp.h: ssrc, pt and mid first, then the sequence with release, so the control
	 * plane's acquire load of autopub_seq sees them. */
	__atomic_store_n(&part->autopub_mid_len, dlen, __ATOMIC_RELAXED);
	__atomic_store_n(&part->autopub_ssrc, ssrc, __ATOMIC_RELAXED);
	__atomic_store_n(&part->autopub_pt, rtp[1] & 0x7f, __ATOMIC_RELAXED);
	__atomic_store_n(&part->autopub_seq, part->autopub_seq + 1, __ATOMIC_RELEASE);
	part->ctr.autopub_req++;
}

static void
room_rtp(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	 struct mr_dp_part *part, uint64_t now)
{
	struct mr_dp_room *room = part->room;
	const uint8_t *rtp = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->payload_off);
	uint32_t ssrc = mr_pkt_be32(rtp + 8);
	const struct mr_dp_sublist *sl;
	struct mr_dp_stream *st;
	unsigned int sent;

	st = room_stream_find(room_map(room), ssrc);
	if (unlikely(st == NULL)) {
		part->ctr.drop_unknown_ssrc++;
		if (room->auto_publish || __atomic_load_n(&part->learn_mid_id, __ATOMIC_RELAXED))
			room_report_ssrc(part, rtp, pi->payload_len, ssrc);
		mr_drop(w, m, MR_DROP_UNKNOWN_SSRC);
		return;
	}
	if (unlikely(st->pub != part)) {
		/* Another participant's SSRC (RFC 3550 §8.2 collision or spoofing). */
		part->ctr.drop_not_publisher++;
		mr_drop(w, m, MR_DROP_SSRC_FOREIGN);
		return;
	}
	st->ctr.pkts_in++;
	st->ctr.bytes_in += pi->payload_len;
	/* Relaxed: a plain flag the control plane flips; either value is fine for a packet. */
	if (__atomic_load_n(&st->muted, __ATOMIC_RELAXED)) {
		st->ctr.drop_muted++;
		mr_drop(w, m, MR_DROP_MUTED);
		return;
	}
	mr_rtp_stats_update(&st->rtp, rtp,
			    (uint32_t)(((unsigned __int128)now * st->ts_mult) >> 32),
			    st->clock_rate != 0 && st->ts_mult != 0);
	if (part->level_ext_id && st->kind == MR_KIND_AUDIO)
		room_level(st, part, rtp, pi->payload_len);
	if (room->mix) {
		{
			uint16_t rec = __atomic_load_n(&st->rec_id, __ATOMIC_RELAXED);

			if (unlikely(rec != 0))
				mr_rec_capture(w, rec, st->ssrc, rtp, pi->payload_len, now);
		}
		room_mix_rx(w, m, pi, part, st, rtp);
		return;
	}
	if (st->cache != NULL)
		room_cache(st->cache, rtp, pi->payload_len, now);
	{
		/* Relaxed: a recording id the control plane sets and clears (rec.h). */
		uint16_t rec = __atomic_load_n(&st->rec_id, __ATOMIC_RELAXED);

		if (unlikely(rec != 0))
			mr_rec_capture(w, rec, st->ssrc, rtp, pi->payload_len, now);
	}

	/* Acquire: pairs with the release store of a completely built list. */
	sl = __atomic_load_n(&st->subs, __ATOMIC_ACQUIRE);
	if (unlikely(sl == NULL || sl->n == 0)) {
		mr_drop(w, m, MR_DROP_NO_SUBSCRIBER);
		return;
	}
	sent = room_fanout(w, m, pi, sl, part, st);
	st->ctr.pkts_out += sent;
	st->ctr.bytes_out += (uint64_t)sent * pi->payload_len;
}

/* ---- RTCP ---- */

/* Report blocks of an SR or RR from a subscriber (RFC 3550 §6.4): what it says about the
 * streams it receives is kept in st->rx, never forwarded. Returns the blocks consumed. */
static unsigned int
room_report_blocks(struct mr_worker *w, struct mr_dp_part *part, const struct mr_rtcp_hdr *h,
		   const struct mr_dp_ssrc_map *map, uint64_t now)
{
	const struct mr_dp *dp = w->dp;
	struct mr_rtcp_rb rb;
	unsigned int i, n = 0;

	for (i = 0; i < h->count; i++) {
		struct mr_dp_stream *st;

		if (mr_rtcp_rb_parse(h, i, &rb) != 0)
			break;
		st = room_stream_find(map, rb.ssrc);
		if (st == NULL || st->pub == part) {
			part->ctr.rtcp_ignored++;
			continue;
		}
		st->rx.fraction_lost = rb.fraction_lost;
		st->rx.jitter = rb.jitter;
		/* The subscriber's LSR is the NTP time of the publisher's SR (forwarded as is),
		 * on the publisher's clock, which the relay cannot read. When it is the last SR
		 * this lcore forwarded, that SR's arrival TSC stands for it: A - LSR - DLSR
		 * (RFC 3550 §6.4.1) becomes (now - sr_tsc) - DLSR, all in 1/65536 s, the round
		 * trip relay → subscriber → relay, with no clock conversion to get wrong. */
		if (rb.lsr != 0 && st->sr_count != 0 && rb.lsr == st->sr_ntp_mid) {
			uint32_t a = room_tsc_to_q16(dp, now - st->sr_tsc);

			if (a > rb.dlsr)
				st->rx.rtt_ms = (uint32_t)(((uint64_t)(a - rb.dlsr) * 1000) >> 16);
		}
		st->rx.reports++;
		n++;
	}
	return n;
}

/* Forward one RTCP packet (a piece of the compound, RFC 5506 reduced size) as it is to the
 * publisher of st. */
static inline int
room_to_publisher(struct mr_worker *w, struct mr_dp_stream *st, const struct mr_rtcp_hdr *h,
		  uint8_t tclass)
{
	return room_send_bytes(w, st->pub, h->p, h->len, tclass, NULL, ROOM_PT_ASIS, 0);
}

/* Refill part's retransmission bucket: nack_budget tokens per second, as deep. */
static inline void
room_refill(const struct mr_dp *dp, struct mr_dp_part *p, uint64_t now)
{
	uint64_t cap = dp->rtx_bucket;
	uint64_t el = now - p->rtx_refill_tsc;

	if (p->rtx_refill_tsc == 0 || el >= dp->tsc_hz) {
		p->rtx_tokens = cap;
	} else if ((int64_t)el > 0) {
		/* el * cap / tsc_hz */
		uint64_t add = mr_scale(&dp->rtx_refill, el);

		p->rtx_tokens = RTE_MIN(cap, p->rtx_tokens + add);
	} else {
		return;
	}
	p->rtx_refill_tsc = now;
}

/* Generic NACK (RFC 4585 §6.2.1) from subscriber part about media SSRC X: what X's cache
 * holds is resent to part within its budget; the rest goes to the publisher as one rebuilt
 * NACK from the relay. Returns 1 when it was for a stream of the room. */
static int
room_nack(struct mr_worker *w, struct mr_dp_part *part, const struct mr_rtcp_hdr *h,
	  const struct mr_dp_ssrc_map *map, uint8_t tclass, uint64_t now)
{
	const struct mr_dp *dp = w->dp;
	uint16_t seqs[ROOM_NACK_MAX], miss[ROOM_NACK_MAX];
	uint64_t max_age;
	unsigned int i, n, nm = 0;
	struct mr_dp_stream *st;
	struct mr_rtx_cache *c;
	uint32_t media;
	int rc;

	if (mr_rtcp_fb_media_ssrc(h, &media) != 0)
		return 0;
	st = room_stream_find(map, media);
	if (st == NULL || st->pub == part)
		return 0;
	rc = mr_rtcp_nack_parse(h, seqs, ROOM_NACK_MAX);
	if (rc <= 0)
		return 0;
	st->ctr.nack_rx += (unsigned int)rc;
	n = RTE_MIN((unsigned int)rc, ROOM_NACK_MAX);
	c = st->cache;
	max_age = dp->rtx_max_age_tsc[st->kind == MR_KIND_AUDIO ? MR_KIND_AUDIO : MR_KIND_VIDEO];
	room_refill(dp, part, now);
	for (i = 0; i < n; i++) {
		uint16_t seq = seqs[i];

		if (c != NULL) {
			uint32_t k = seq & (c->size - 1);
			const struct mr_rtx_slot *s = &c->slot[k];

			if (s->len != 0 && s->seq == seq && now - s->tsc <= max_age) {
				/* RFC 4585 §3.3 leaves repair policy to the sender: the budget
				 * keeps a lossy subscriber from taking the whole uplink. */
				if (part->rtx_tokens < ROOM_TOKEN) {
					st->ctr.rtx_budget_drop++;
					continue;
				}
				part->rtx_tokens -= ROOM_TOKEN;
				const uint8_t *rtp = c->data + (size_t)k * c->slot_bytes;

				if (room_send_bytes(w, part, rtp, s->len, tclass, NULL,
						    room_pt_for(part, st, rtp),
						    room_ext_for(part, room_ext_from(st))) == 0) {
					st->ctr.rtx_sent++;
					part->ctr.rtx_sent++;
				}
				continue;
			}
		}
		miss[nm++] = seq;
	}
	if (nm != 0) {
		struct rte_mbuf *m;
		int len;

		if (st->pub->path.state != MR_PATH_LATCHED) {
			st->pub->ctr.drop_no_remote++;
			w->stats.drops[MR_DROP_NO_REMOTE]++;
			return 1;
		}
		m = room_alloc(w, w->mp);
		if (m == NULL)
			return 1;
		len = mr_rtcp_build_nack(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
					 st->pub->relay_ssrc, media, miss, nm);
		if (len < 0) {
			mr_drop(w, m, MR_DROP_RTCP_BUILD);
			return 1;
		}
		if (room_send(w, m, st->pub, (uint16_t)len, tclass, NULL) == 0)
			st->ctr.nack_fwd += nm;
	}
	return 1;
}

/* PLI (RFC 4585 §6.3.1) or FIR (RFC 5104 §4.3.1) about st: to its publisher, at most one per
 * pli interval per stream (every subscriber joining or losing a frame asks for a key frame;
 * the publisher needs to hear it once). */
static int
room_pli(struct mr_worker *w, struct mr_dp_part *part, struct mr_dp_stream *st,
	 const struct mr_rtcp_hdr *h, uint8_t tclass, uint64_t now)
{
	if (st == NULL || st->pub == part)
		return 0;
	if (st->last_pli_tsc != 0 && now - st->last_pli_tsc < w->dp->pli_interval_tsc) {
		st->ctr.pli_limited++;
		return 1;
	}
	if (room_to_publisher(w, st, h, tclass) == 0) {
		st->last_pli_tsc = now;
		st->ctr.pli_fwd++;
	}
	return 1;
}

/* REMB or transport-cc: forwarded unchanged to the publisher of st. */
static int
room_fb_fwd(struct mr_worker *w, struct mr_dp_part *part, struct mr_dp_stream *st,
	    const struct mr_rtcp_hdr *h, uint8_t tclass)
{
	if (st == NULL || st->pub == part)
		return 0;
	if (room_to_publisher(w, st, h, tclass) == 0)
		st->ctr.fb_fwd++;
	return 1;
}

static void
room_rtcp(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
	  struct mr_dp_part *part, uint64_t now)
{
	const uint8_t *buf = rte_pktmbuf_mtod_offset(m, const uint8_t *, pi->payload_off);
	const struct mr_dp_ssrc_map *map;
	struct mr_dp_stream *st, *sr_st = NULL;
	const struct mr_dp_sublist *sl;
	struct mr_rtcp_hdr h;
	struct mr_rtcp_sr sr;
	unsigned int acted = 0;
	size_t off = 0;

	part->ctr.rtcp_in++;
	if (mr_rtcp_validate(buf, pi->payload_len) != 0) {
		part->ctr.drop_rtcp++;
		mr_drop(w, m, MR_DROP_RTCP_MALFORMED);
		return;
	}
	map = room_map(part->room);
	while (mr_rtcp_next(buf, pi->payload_len, &off, &h) == 1) {
		int done = 0;

		switch (h.type) {
		case MR_RTCP_SR:
			st = room_stream_find(map, h.ssrc);
			if (st != NULL && st->pub == part && mr_rtcp_sr_parse(&h, &sr) == 0) {
				/* RFC 3550 §6.4.1: LSR/DLSR of the relay's RRs refer to it. */
				st->sr_ntp_mid = mr_ntp_mid(sr.ntp);
				st->sr_tsc = now;
				st->sr_count++;
				if (sr_st == NULL)
					sr_st = st;
				done = 1;
			}
			if (room_report_blocks(w, part, &h, map, now) != 0)
				done = 1;
			break;
		case MR_RTCP_RR:
			done = room_report_blocks(w, part, &h, map, now) != 0;
			if (h.count == 0)
				continue;	/* an empty RR heads a feedback compound */
			break;
		case MR_RTCP_RTPFB: {
			uint32_t media;

			if (h.count == MR_RTCP_FMT_NACK) {
				done = room_nack(w, part, &h, map, pi->tclass, now);
			} else if (h.count == MR_RTCP_FMT_TCC &&
				   mr_rtcp_fb_media_ssrc(&h, &media) == 0) {
				done = room_fb_fwd(w, part, room_stream_find(map, media), &h,
						   pi->tclass);
			}
			break;
		}
		case MR_RTCP_PSFB: {
			uint32_t media, remb[1];
			uint64_t bitrate;
			uint8_t fir_seq;

			if (h.count == MR_RTCP_FMT_PLI && mr_rtcp_fb_media_ssrc(&h, &media) == 0)
				done = room_pli(w, part, room_stream_find(map, media), &h,
						pi->tclass, now);
			else if (h.count == MR_RTCP_FMT_FIR &&
				 mr_rtcp_fir_parse(&h, 0, &media, &fir_seq) == 0)
				done = room_pli(w, part, room_stream_find(map, media), &h,
						pi->tclass, now);
			else if (h.count == MR_RTCP_FMT_AFB &&
				 mr_rtcp_remb_parse(&h, &bitrate, remb, 1) > 0)
				done = room_fb_fwd(w, part, room_stream_find(map, remb[0]), &h,
						   pi->tclass);
			break;
		}
		default:
			/* SDES, BYE, APP, XR: they travel with a forwarded SR compound and are
			 * not acted on otherwise (the control plane ends participants). */
			break;
		}
		if (done)
			acted++;
		else if (h.type == MR_RTCP_RTPFB || h.type == MR_RTCP_PSFB ||
			 (sr_st == NULL && h.type != MR_RTCP_SR && h.type != MR_RTCP_RR &&
			  h.type != MR_RTCP_SDES))
			/* Report blocks are counted one by one; SDES is every compound's
			 * companion (RFC 3550 §6.1), not a packet to act on. */
			part->ctr.rtcp_ignored++;
	}

	if (sr_st != NULL) {
		/* The publisher's compound (SR, SDES, ...) goes to the stream's subscribers
		 * unchanged: their RRs then carry LSR/DLSR about it (RFC 3550 §6.4.1). */
		sl = __atomic_load_n(&sr_st->subs, __ATOMIC_ACQUIRE);
		if (sl == NULL || sl->n == 0) {
			mr_drop(w, m, MR_DROP_NO_SUBSCRIBER);
			return;
		}
		sr_st->ctr.rtcp_sr++;
		room_fanout(w, m, pi, sl, part, NULL);
		return;
	}
	if (acted == 0) {
		mr_drop(w, m, MR_DROP_RTCP_UNHANDLED);
		return;
	}
	/* Terminated here: its content was acted on (reports kept, feedback answered or
	 * passed on in packets of its own). */
	rte_pktmbuf_free(m);
}

/* ---- entry points ---- */

void
mr_room_fwd_input(struct mr_worker *w, struct rte_mbuf *m, struct mr_pkt_info *pi,
		  struct mr_dp_part *part, uint64_t now)
{
	/* A captured participant's frames as they arrived (cap.h). */
	mr_cap(w, &part->cap_id, MR_CAP_IN, m);
	if (unlikely(pi->drop == MR_DROP_RTP_MALFORMED)) {
		part->ctr.drop_rtp++;
		mr_drop(w, m, MR_DROP_RTP_MALFORMED);
		return;
	}
	/* Plain RTP/RTCP rooms: STUN, DTLS and the rest neither latch nor travel. WebRTC
	 * participants (ice_dp.h): STUN to ICE-lite, DTLS to the control plane. */
	if (unlikely(pi->class != MR_CLASS_RTP && pi->class != MR_CLASS_RTCP)) {
		if (part->ice != NULL) {
			mr_ice_input(w, m, pi, part, now);
			return;
		}
		part->ctr.drop_class++;
		mr_drop(w, m, MR_DROP_ROOM_CLASS);
		return;
	}
	if (unlikely(part->srtp != NULL) &&
	    mr_srtp_rx_stage(w, m, pi, mr_room_flow_val(part), part->srtp))
		return;
	mr_room_fwd_accept(w, m, pi, part, now);
}

/* Is ssrc the participant's own: 1 when it publishes it, -1 when it is another's or the
 * participant publishes other SSRCs, 0 when it publishes nothing (a subscriber's RTCP). Only
 * for packets that are not from the latched remote. */
static int
room_own_ssrc(const struct mr_dp_part *part, uint32_t ssrc)
{
	const struct mr_dp_ssrc_map *map = room_map(part->room);
	const struct mr_dp_stream *st;
	uint32_t i;

	if (map == NULL)
		return 0;
	st = room_stream_find(map, ssrc);
	if (st != NULL)
		return st->pub == part ? 1 : -1;
	for (i = 0; i < map->n; i++)
		if (map->e[i].st->pub == part)
			return -1;
	return 0;
}

/* The latching rules for a packet that is not from the latched remote (latch.c): the same
 * as a session leg's RTP port, the SSRC being any the participant publishes. */
static __rte_noinline enum mr_latch
room_latch(struct mr_worker *w, struct mr_dp_part *part, const struct rte_mbuf *m,
	   const struct mr_pkt_info *pi, const struct mr_ep *src, uint64_t now)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mr_latch_pkt k = {
		.src = src,
		.smac = (const struct rte_ether_addr *)(f + 6),
		.local = &part->local,
		.pl = f + pi->payload_off,
		.len = pi->payload_len,
		.class = pi->class,
		.authentic = pi->decrypted,
	};
	uint32_t ssrc;
	int have;

	ssrc = mr_pkt_ssrc(k.pl, k.class, &have);
	if (have)
		k.own_ssrc = (int8_t)room_own_ssrc(part, ssrc);
	return mr_path_latch_slow(w, &part->seq, &part->path, &k, now);
}

void
mr_room_fwd_accept(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
		   struct mr_dp_part *part, uint64_t now)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	struct mr_ep src;

	mr_pkt_src_ep(f, pi, &src);
	if (unlikely(!mr_path_is_latched(&part->path, &src))) {
		enum mr_latch r = room_latch(w, part, m, pi, &src, now);

		if (r >= MR_LATCH_R_SOURCE) {
			mr_latch_refuse(w, m, r, &part->ctr.drop_src, &part->ctr.latch);
			return;
		}
		if (r == MR_LATCH_MOVED)
			part->ctr.relatches++;
	}
	part->path.last_rx_tsc = now;
	part->last_rx_tsc = now;
	part->ctr.pkts_in++;
	part->ctr.bytes_in += pi->payload_len;
	if (pi->class == MR_CLASS_RTCP)
		room_rtcp(w, m, pi, part, now);
	else
		room_rtp(w, m, pi, part, now);
}

/* The relay's receiver report to a stream's publisher (RFC 3550 §6.4.2, A.3). */
static void
room_send_rr(struct mr_worker *w, struct mr_dp_stream *st, uint64_t now)
{
	const struct mr_rtp_stats *s = &st->rtp;
	struct mr_dp_part *pub = st->pub;
	uint64_t expected = mr_rtp_stats_expected(s), received = mr_rtp_stats_received(s);
	int64_t exp_int = (int64_t)(expected - st->rr_expected_prior);
	int64_t lost_int = exp_int - (int64_t)(received - st->rr_received_prior);
	int64_t lost = mr_rtp_stats_lost(s);
	struct mr_rtcp_rb rb;
	struct rte_mbuf *m;
	int len;

	if (pub->path.state != MR_PATH_LATCHED) {
		pub->ctr.drop_no_remote++;
		w->stats.drops[MR_DROP_NO_REMOTE]++;
		return;
	}
	memset(&rb, 0, sizeof(rb));
	rb.ssrc = st->ssrc;
	/* A.3: the fraction of the packets expected since the last report that were lost,
	 * 0 when duplicates outnumbered losses. */
	if (exp_int > 0 && lost_int > 0)
		rb.fraction_lost = (uint8_t)RTE_MIN((lost_int << 8) / exp_int, 255);
	/* 24-bit signed cumulative loss, clamped (§6.4.1). */
	rb.cum_lost = (int32_t)RTE_MAX(RTE_MIN(lost, 0x7fffff), -0x800000);
	rb.ext_high_seq = (uint32_t)(s->cycles + s->max_seq);
	rb.jitter = mr_rtp_stats_jitter(s);
	if (st->sr_count != 0) {
		rb.lsr = st->sr_ntp_mid;
		rb.dlsr = room_tsc_to_q16(w->dp, now - st->sr_tsc);
	}
	m = room_alloc(w, w->mp);
	if (m == NULL)
		return;
	len = mr_rtcp_build_rr(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m),
			       pub->relay_ssrc, &rb, 1);
	if (len < 0) {
		mr_drop(w, m, MR_DROP_RTCP_BUILD);
		return;
	}
	st->rr_expected_prior = expected;
	st->rr_received_prior = received;
	if (room_send(w, m, pub, (uint16_t)len, 0, NULL) == 0)
		st->ctr.rr_sent++;
}

/* A voice message's packet (MR_CMD_PLAY_PKT): the playback's stream has no publisher; its
 * subscribers get it as they get any stream's packets (payload type, SRTP, fan-out mode). The
 * control thread paces the commands; here it costs what a publisher's packet costs. */
static void
room_play(struct mr_worker *w, struct mr_dp_stream *st, struct rte_mbuf *m)
{
	const struct mr_dp_sublist *sl;
	struct mr_pkt_info pi;
	unsigned int sent;

	memset(&pi, 0, sizeof(pi));
	pi.payload_len = m->data_len;
	pi.decrypted = 1;	/* built here, no datagram checksum to update: computed */
	st->ctr.pkts_in++;
	st->ctr.bytes_in += pi.payload_len;
	/* Acquire: pairs with the release store of a completely built list. */
	sl = __atomic_load_n(&st->subs, __ATOMIC_ACQUIRE);
	if (unlikely(sl == NULL || sl->n == 0)) {
		mr_drop(w, m, MR_DROP_NO_SUBSCRIBER);
		return;
	}
	sent = room_fanout(w, m, &pi, sl, NULL, st);
	st->ctr.pkts_out += sent;
	st->ctr.bytes_out += (uint64_t)sent * pi.payload_len;
}

void
mr_room_fwd_cmd(struct mr_worker *w, const struct mr_cmd *c, uint64_t now)
{
	struct mr_dp_part *p = c->obj;

	switch (c->type) {
	case MR_CMD_SEND_RR:
		room_send_rr(w, c->obj, now);
		break;
	case MR_CMD_PART_RESET:
		rte_seqcount_write_begin(&p->seq);
		memset(&p->path.remote, 0, sizeof(p->path.remote));
		memset(&p->path.mac, 0, sizeof(p->path.mac));
		p->path.state = MR_PATH_NONE;
		p->path.signalled = 0;
		p->path.last_rx_tsc = now;	/* the learning window opens again */
		rte_seqcount_write_end(&p->seq);
		break;
	case MR_CMD_PLAY_PKT:
		room_play(w, c->obj, c->arg);
		break;
	case MR_CMD_PART_LATCH: {
		/* Relaxed: as mr_path_dmac() reads the slot. */
		uint64_t nw = __atomic_load_n(&w->dp->port[p->port_idx].neigh[c->nh].w,
					      __ATOMIC_RELAXED);
		unsigned int b;

		if (!(nw & MR_NEIGH_VALID))
			break;
		rte_seqcount_write_begin(&p->seq);
		p->path.remote = c->remote;
		for (b = 0; b < RTE_ETHER_ADDR_LEN; b++)
			p->path.mac.addr_bytes[b] = (uint8_t)(nw >> (40 - 8 * b));
		p->path.state = MR_PATH_LATCHED;
		p->path.signalled = 1;
		p->path.last_rx_tsc = now;
		rte_seqcount_write_end(&p->seq);
		break;
	}
	default:
		break;
	}
}

/* dp.h. Called by the control plane before it launches the workers, never by a worker. */
int
mr_dp_rooms_setup(struct mr_dp *dp)
{
	static const uint32_t age_ms[2] = {
		[MR_KIND_AUDIO] = MR_DP_RTX_AGE_AUDIO_MS,
		[MR_KIND_VIDEO] = MR_DP_RTX_AGE_VIDEO_MS,
	};
	unsigned int i;

	if (dp->tsc_hz == 0)
		return -EINVAL;
	if (dp->fanout_copy_max == 0)
		dp->fanout_copy_max = MR_DP_FANOUT_COPY_MAX;
	if (dp->nack_budget == 0)
		dp->nack_budget = MR_DP_NACK_BUDGET;
	if (dp->pli_interval_tsc == 0)
		dp->pli_interval_tsc = dp->tsc_hz;
	for (i = 0; i < RTE_DIM(dp->rtx_max_age_tsc); i++)
		if (dp->rtx_max_age_tsc[i] == 0)
			dp->rtx_max_age_tsc[i] = (uint64_t)age_ms[i] * dp->tsc_hz / 1000;
	dp->rtx_bucket = (uint64_t)dp->nack_budget * ROOM_TOKEN;
	/* Neither ratio reaches 2^63: 2^16 / tsc_hz < 1, and the bucket is at most 2^33. */
	if (mr_scale_init(&dp->tsc_to_q16, 1ULL << 16, dp->tsc_hz) != 0 ||
	    mr_scale_init(&dp->rtx_refill, dp->rtx_bucket, dp->tsc_hz) != 0)
		return -EINVAL;
	for (i = 0; i < dp->n_workers; i++)
		if (dp->w[i] != NULL && dp->w[i]->hdr_mp == NULL)
			dp->w[i]->hdr_mp = dp->w[i]->mp;
	return 0;
}
