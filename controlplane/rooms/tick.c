/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the tick (mr_rooms_tick()). Every call: lists that lag the model are rebuilt and
 * streams the dataplane reported in auto_publish rooms are published; every 100 ms: the
 * active speaker; every second: receiver reports to the publishers (by command to the owner,
 * RFC 3550 §6.4.1), the loss over the last second and the MOS.
 */
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>
#include <rte_common.h>

#include "appliance.h"
#include "dp.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "rtp_stats.h"

/* A stream of p to learn that the reported packet (mid, payload type pt) belongs to: by its
 * mid when the packet has one, else by the payload type of the announced section. */
static int
mr_learn_match(const struct mr_cp_part *p, const char *mid, uint8_t mid_len, uint8_t pt)
{
	unsigned int i;

	for (i = 0; i < p->n_learn; i++) {
		const struct mr_learn_req *l = &p->learn[i];

		if (mid_len != 0 ? strlen(l->mid) == mid_len && memcmp(l->mid, mid, mid_len) == 0 :
		    l->req.pt == pt)
			return (int)i;
	}
	return -1;
}

/* A stream of p announced without its SSRC, now that a packet told it (req: ssrc, pt). */
static void
mr_learn_one(struct mr_rooms *rs, struct mr_cp_room *r, struct mr_cp_part *p,
	     const struct mr_stream_req *req)
{
	char mid[sizeof(p->dp->autopub_mid)];
	uint8_t len, i;
	struct mr_cp_stream *st;
	json_t *body = NULL;
	int k;

	len = __atomic_load_n(&p->dp->autopub_mid_len, __ATOMIC_RELAXED);
	if (len > sizeof(mid))
		len = 0;
	for (i = 0; i < len; i++)
		mid[i] = __atomic_load_n(&p->dp->autopub_mid[i], __ATOMIC_RELAXED);
	k = mr_learn_match(p, mid, len, req->pt);
	if (k < 0) {
		rs->n.learn_unmatched++;
		return;
	}
	p->learn[k].req.ssrc = req->ssrc;
	if (mr_room_stream_publish(rs, p, &p->learn[k].req, 1, 0, &st, &body) == 201)
		rs->n.learned++;
	json_decref(body);
	p->learn[k] = p->learn[--p->n_learn];
	if (p->n_learn == 0) {
		__atomic_store_n(&p->dp->learn_mid_id, 0, __ATOMIC_RELAXED);
		r->n_learning--;
	}
}

/* Streams the dataplane reported for participants of auto_publish rooms, and for those with
 * streams to learn. */
static void
mr_autopub_poll(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_part *p, *next;

	for (p = TAILQ_FIRST(&r->parts); p != NULL; p = next) {
		struct mr_stream_req req;
		struct mr_cp_stream *st;
		json_t *body = NULL;
		uint32_t seq;

		next = TAILQ_NEXT(p, link);
		if (!r->auto_publish && p->n_learn == 0)
			continue;
		/* Acquire: pairs with the owner's release store of autopub_seq after it wrote
		 * autopub_ssrc, autopub_pt and the mid. */
		seq = __atomic_load_n(&p->dp->autopub_seq, __ATOMIC_ACQUIRE);
		if (seq == p->autopub_seq)
			continue;
		p->autopub_seq = seq;
		memset(&req, 0, sizeof(req));
		req.ssrc = __atomic_load_n(&p->dp->autopub_ssrc, __ATOMIC_RELAXED);
		req.pt = __atomic_load_n(&p->dp->autopub_pt, __ATOMIC_RELAXED) & 0x7f;
		if (mr_room_stream_by_ssrc(r, req.ssrc) != NULL)
			continue;	/* published meanwhile, or another's: not forwarded */
		if (p->n_learn != 0) {
			mr_learn_one(rs, r, p, &req);
			continue;
		}
		req.kind = mr_rooms_guess_kind(req.pt, r->auto_publish_kind);
		req.clock_rate = mr_rooms_guess_clock(req.kind, req.pt);
		if (mr_room_stream_publish(rs, p, &req, 1, 0, &st, &body) == 201)
			rs->n.autopublished++;
		json_decref(body);
	}
}

/* Every 100 ms: who is speaking. */
static void
mr_speaker_poll(struct mr_rooms *rs, struct mr_cp_room *r, uint64_t now_ms)
{
	struct mr_speaker_in in[64];
	struct mr_cp_part *p;
	struct mr_cp_stream *st;
	unsigned int n = 0;

	TAILQ_FOREACH(p, &r->parts, link) {
		TAILQ_FOREACH(st, &p->streams, link) {
			uint32_t pk;

			if (st->dp->kind != MR_KIND_AUDIO)
				continue;
			pk = __atomic_load_n(&st->dp->level_pkts, __ATOMIC_RELAXED);
			/* A room with more than 64 audio streams: the first 64 compete. */
			if (n < RTE_DIM(in)) {
				in[n].part = p->id;
				in[n].stream = st->id;
				in[n].level_q8 = __atomic_load_n(&st->dp->level_q8,
								 __ATOMIC_RELAXED);
				in[n].active = pk != st->spk_pkts &&
					!__atomic_load_n(&st->dp->muted, __ATOMIC_RELAXED);
				n++;
			}
			st->spk_pkts = pk;
		}
	}
	mr_speaker_look(&r->spk, in, n);
	if (mr_speaker_emit_due(&r->spk, now_ms)) {
		json_t *ev = json_pack("{s:s,s:o,s:o,s:o}", "type", "active_speaker",
				       "participant", r->spk.part ? mr_room_idj(r->spk.part) :
				       json_null(),
				       "stream", r->spk.stream ? mr_room_idj(r->spk.stream) :
				       json_null(),
				       "level_dbov", r->spk.part ?
				       json_real(-(double)r->spk.level_q8 / 256.0) : json_null());

		mr_room_emit(rs, r, 0, 0, ev);
	}
}

/* Every second: receiver reports to the publishers, loss over the last second and MOS. */
static void
mr_second_poll(struct mr_rooms *rs, struct mr_cp_room *r)
{
	struct mr_cp_part *p;
	struct mr_cp_stream *st;

	TAILQ_FOREACH(p, &r->parts, link) {
		TAILQ_FOREACH(st, &p->streams, link) {
			struct mr_stream_q q;
			uint64_t exp, rcv;

			mr_room_stream_read(st, &q);
			if (q.c.pkts_in == 0)
				continue;
			/* RFC 3550 §6.4.1: the relay is the publisher's receiver. A full ring
			 * skips one report; the next second sends another. */
			mr_room_cmd(rs, r->owner, MR_CMD_SEND_RR, st->dp, 0);
			exp = mr_rtp_stats_expected(&q.rtp);
			rcv = mr_rtp_stats_received(&q.rtp);
			/* RFC 3550 A.3: the fraction lost over the interval. */
			if (exp > st->q_expected && exp - st->q_expected > rcv - st->q_received)
				st->loss_up = (double)((exp - st->q_expected) -
						       (rcv - st->q_received)) /
					(double)(exp - st->q_expected);
			else
				st->loss_up = 0;
			st->q_expected = exp;
			st->q_received = rcv;
			st->mos = mr_room_stream_mos_now(st, &q);
		}
	}
}

void
mr_rooms_tick(struct mr_rooms *rs, uint64_t now)
{
	uint64_t hz = rs->a->dp->tsc_hz, ms;
	int look, second;
	uint32_t i;

	look = now - rs->last_look >= hz / (1000 / MR_SPK_LOOK_MS);
	second = now - rs->last_rr >= hz;
	if (look)
		rs->last_look = now;
	if (second)
		rs->last_rr = now;
	ms = (now - rs->a->start_tsc) / (hz / 1000 ? hz / 1000 : 1);
	for (i = 0; i < rs->n_rooms; i++) {
		struct mr_cp_room *r = rs->room[i];

		if (r->dirty)
			mr_room_sync(rs, r);
		if (r->auto_publish || r->n_learning)
			mr_autopub_poll(rs, r);
		if (look)
			mr_speaker_poll(rs, r, ms);
		if (second)
			mr_second_poll(rs, r);
	}
	if (rs->n_cluster != 0)
		mr_room_span_tick(rs, now);
}
