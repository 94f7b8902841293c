/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: what the outside sees of the model. JSON of rooms, participants, streams and
 * subscriptions (REST, signaling answers and events; docs/API.md "Rooms"), the reads of the
 * counters and statistics the owner worker writes, with the MOS derived from them, and the
 * rooms' Prometheus series.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <jansson.h>
#include <rte_common.h>
#include <rte_seqcount.h>

#include "appliance.h"
#include "dp.h"
#include "media_dp.h"
#include "json_req.h"
#include "rooms.h"
#include "rooms_priv.h"
#include "webrtc.h"
#include "rtp_stats.h"

/* RFC 3550 §6.4.1: the fraction lost in a report block is 8-bit fixed point. */
#define MR_FRACTION_ONE 256.0

const char *const mr_room_kind_name[] = { [MR_KIND_AUDIO] = "audio",
					   [MR_KIND_VIDEO] = "video" };

/* A participant's header extension ids (room_dp.h ext_out), null when it has none. */
static json_t *
view_ext_ids(const struct mr_dp_part *dp)
{
	/* Relaxed: a word signaling sets. */
	uint32_t x = __atomic_load_n(&dp->ext_out, __ATOMIC_RELAXED);
	static const char *const names[] = { [MR_EXT_LEVEL] = "audio_level",
					      [MR_EXT_AST] = "abs_send_time",
					      [MR_EXT_TCC] = "transport_cc" };
	json_t *o;
	unsigned int k, id;

	if (x == 0)
		return json_null();
	o = json_pack("{s:i}", "unused", (int)(x & 0xf));
	for (k = 1; o != NULL && k <= MR_EXT_KINDS; k++) {
		id = (x >> (4 * k)) & 0xf;
		json_object_set_new(o, names[k], id ? json_integer(id) : json_null());
	}
	return o != NULL ? o : json_null();
}

static json_t *
mr_real_or_null(double v, int have)
{
	return have ? json_real(v) : json_null();
}

void
mr_room_stream_read(const struct mr_cp_stream *st, struct mr_stream_q *q)
{
	const struct mr_dp_stream *d = st->dp;
	uint32_t rate = d->clock_rate;
	uint64_t exp;
	int64_t lost;

	mr_read_u64s(&q->c, &d->ctr, sizeof(q->c));
	mr_read_u64s(&q->rtp, &d->rtp, sizeof(q->rtp));
	mr_read_u32s(&q->rx, &d->rx, sizeof(q->rx));
	q->level_q8 = __atomic_load_n(&d->level_q8, __ATOMIC_RELAXED);
	q->level_pkts = __atomic_load_n(&d->level_pkts, __ATOMIC_RELAXED);
	exp = mr_rtp_stats_expected(&q->rtp);
	lost = mr_rtp_stats_lost(&q->rtp);
	q->loss_pct = exp && lost > 0 ? (double)lost * 100.0 / (double)exp : 0.0;
	q->jitter_ms = rate && mr_rtp_stats_have_ssrc(&q->rtp) ?
		mr_rtp_stats_jitter(&q->rtp) * 1000.0 / rate : -1;
	q->sub_loss = q->rx.reports ? q->rx.fraction_lost / MR_FRACTION_ONE : 0;
	q->sub_jitter_ms = q->rx.reports && rate ? q->rx.jitter * 1000.0 / rate : -1;
	q->rtt_ms = q->rx.rtt_ms ? (double)q->rx.rtt_ms : -1;
}

/* MOS of an audio stream as subscribers get it (the E-model is defined for speech only:
 * video streams have none). */
double
mr_room_stream_mos_now(const struct mr_cp_stream *st, const struct mr_stream_q *q)
{
	if (st->dp->kind != MR_KIND_AUDIO || q->c.pkts_in == 0)
		return -1;
	return mr_rooms_mos(st->loss_up, q->sub_loss, q->jitter_ms > 0 ? q->jitter_ms : 0,
			    q->sub_jitter_ms > 0 ? q->sub_jitter_ms : 0,
			    q->rtt_ms > 0 ? q->rtt_ms : 0,
			    st->codec[0] ? st->codec : NULL);
}

json_t *
mr_room_stream_json(struct mr_rooms *rs, const struct mr_cp_stream *st, int full)
{
	const struct mr_dp_stream *d = st->dp;
	const struct mr_dp_sublist *subs = d->subs;
	json_t *j;

	(void)rs;
	j = json_pack("{s:o,s:o,s:I,s:s,s:i,s:I,s:o,s:b,s:i,s:b}",
		      "id", mr_room_idj(st->id), "participant", mr_room_idj(st->pub->id),
		      "ssrc", (json_int_t)d->ssrc, "kind", mr_room_kind_name[d->kind],
		      "pt", (int)d->pt, "clock_rate", (json_int_t)d->clock_rate,
		      "codec", st->codec[0] ? json_string(st->codec) : json_null(),
		      "muted", (int)__atomic_load_n(&d->muted, __ATOMIC_RELAXED),
		      "subscribers", (int)(subs ? subs->n : 0),
		      "auto_published", (int)st->autopub);
	if (j != NULL && st->pub->is_link)	/* a stream of a participant on another node */
		json_object_set_new(j, "origin", json_pack("{s:s,s:o,s:s}", "node",
							   st->pub->link_node, "participant",
							   mr_room_idj(st->origin_part),
							   "name", st->origin_name));
	if (j != NULL && full) {
		struct mr_stream_q q;
		double mos;
		json_t *sj;

		mr_room_stream_read(st, &q);
		mos = mr_room_stream_mos_now(st, &q);
		sj = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o,s:f,s:o,s:o,s:I,s:o}",
			       "packets_in", (json_int_t)q.c.pkts_in,
			       "bytes_in", (json_int_t)q.c.bytes_in,
			       "packets_out", (json_int_t)q.c.pkts_out,
			       "bytes_out", (json_int_t)q.c.bytes_out,
			       "rtp_packets", (json_int_t)mr_rtp_stats_received(&q.rtp),
			       "rtp_expected", (json_int_t)mr_rtp_stats_expected(&q.rtp),
			       "rtp_lost", (json_int_t)mr_rtp_stats_lost(&q.rtp),
			       "loss_pct", q.loss_pct,
			       "jitter_ms", mr_real_or_null(q.jitter_ms, q.jitter_ms >= 0),
			       "subscriber_loss_pct", q.sub_loss * 100.0,
			       "subscriber_jitter_ms", mr_real_or_null(q.sub_jitter_ms,
								       q.sub_jitter_ms >= 0),
			       "rtt_ms", mr_real_or_null(q.rtt_ms, q.rtt_ms >= 0),
			       "subscriber_reports", (json_int_t)q.rx.reports,
			       "mos", mr_real_or_null(mos, mos > 0));
		if (sj != NULL) {
			json_object_set_new(sj, "nack", json_pack("{s:I,s:I,s:I,s:I}",
				"received", (json_int_t)q.c.nack_rx,
				"retransmitted", (json_int_t)q.c.rtx_sent,
				"budget_dropped", (json_int_t)q.c.rtx_budget_drop,
				"forwarded", (json_int_t)q.c.nack_fwd));
			json_object_set_new(sj, "pli", json_pack("{s:I,s:I}",
				"forwarded", (json_int_t)q.c.pli_fwd,
				"rate_limited", (json_int_t)q.c.pli_limited));
			json_object_set_new(sj, "sr_forwarded", json_integer(q.c.rtcp_sr));
			json_object_set_new(sj, "rr_sent", json_integer(q.c.rr_sent));
			json_object_set_new(sj, "drop_muted", json_integer(q.c.drop_muted));
		}
		json_object_set_new(j, "stats", sj);
		json_object_set_new(j, "audio_level_dbov",
				    d->kind == MR_KIND_AUDIO && q.level_pkts ?
				    json_real(-(double)q.level_q8 / 256.0) : json_null());
	}
	return j;
}


/* A mixing room's participant on its media lcore (media_dp.h): jitter buffer and codec. */
static json_t *
mr_room_mix_json(const struct mr_mix_part *m)
{
	struct mr_mix_part_stats s;

	mr_mix_part_stats(m, &s);
	return json_pack("{s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "jitter_buffer_depth", (int)s.depth, "packets", (json_int_t)s.packets,
			 "late_packets", (json_int_t)s.late, "frames_played", (json_int_t)s.played,
			 "frames_fec_recovered", (json_int_t)s.fec,
			 "frames_concealed", (json_int_t)s.concealed,
			 "frames_skipped", (json_int_t)s.skipped,
			 "frames_encoded", (json_int_t)s.encoded,
			 "frames_shared_mix", (json_int_t)s.shared,
			 "frames_mixed", (json_int_t)s.mixed,
			 "frames_not_mixed", (json_int_t)s.not_mixed);
}

json_t *
mr_room_part_json(struct mr_rooms *rs, const struct mr_cp_part *p, int flags)
{
	const struct mr_cp_room *r = p->room;
	struct mr_cp_stream *st;
	json_t *j, *streams = json_array();

	TAILQ_FOREACH(st, &p->streams, link)
		json_array_append_new(streams, mr_room_stream_json(rs, st, flags & PJ_FULL));
	j = json_pack("{s:o,s:s,s:o,s:b,s:{s:b,s:b},s:o}",
		      "id", mr_room_idj(p->id), "name", p->name, "local", mr_json_ep(&p->dp->local),
		      "connected", (int)p->connected,
		      "muted", "audio", (int)p->kind_muted[MR_KIND_AUDIO],
		      "video", (int)p->kind_muted[MR_KIND_VIDEO], "streams", streams);
	if (j == NULL)
		return NULL;
	if (flags & PJ_TOKEN)
		json_object_set_new(j, "token", json_string(p->token));
	if (p->is_link)
		json_object_set_new(j, "link", json_string(p->link_node));
	json_object_set_new(j, "srtp", mr_cp_srtp_json(&p->srtp, flags & PJ_FULL));
	if (p->dp->ice != NULL)
		json_object_set_new(j, "webrtc", mr_webrtc_part_json(rs->a->webrtc, p->dp,
								    flags & PJ_TOKEN));
	if (flags & PJ_FULL) {
		struct mr_dp_path path;
		struct mr_part_ctr c;
		json_t *subs;
		uint32_t sn, i;

		/* Seqcount reader side: the owner brackets changes of path. */
		do {
			sn = rte_seqcount_read_begin(&p->dp->seq);
			memcpy(&path, &p->dp->path, sizeof(path));
		} while (rte_seqcount_read_retry(&p->dp->seq, sn));
		mr_read_u64s(&c, &p->dp->ctr, sizeof(c));
		json_object_set_new(j, "remote", !mr_path_has_remote(&path) ? json_null() :
				    mr_json_ep(&path.remote));
		json_object_set_new(j, "interface",
				    json_string(rs->a->cfg->ports[p->pidx].name));
		json_object_set_new(j, "relay_ssrc", json_integer(p->dp->relay_ssrc));
		json_object_set_new(j, "audio_level_ext_id", json_integer(p->dp->level_ext_id));
		{
			/* Relaxed: bytes signaling sets (room_dp.h rx_pt). */
			uint8_t a = __atomic_load_n(&p->dp->rx_pt[MR_KIND_AUDIO], __ATOMIC_RELAXED);
			uint8_t v = __atomic_load_n(&p->dp->rx_pt[MR_KIND_VIDEO], __ATOMIC_RELAXED);

			json_object_set_new(j, "rx_pt", json_pack("{s:o,s:o}",
				"audio", a == 0 ? json_null() : json_integer(a & 0x7f),
				"video", v == 0 ? json_null() : json_integer(v & 0x7f)));
		}
		json_object_set_new(j, "ext_ids", view_ext_ids(p->dp));
		json_object_set_new(j, "created", json_integer(p->created));
		if (r->auto_subscribe) {
			subs = json_null();
		} else {
			subs = json_array();
			for (i = 0; i < p->n_subs; i++)
				json_array_append_new(subs, mr_room_idj(p->subs[i]));
		}
		json_object_set_new(j, "subscriptions", subs);
		json_object_set_new(j, "counters", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}}",
			"packets_in", (json_int_t)c.pkts_in, "bytes_in", (json_int_t)c.bytes_in,
			"packets_out", (json_int_t)c.pkts_out,
			"bytes_out", (json_int_t)c.bytes_out, "rtcp_in", (json_int_t)c.rtcp_in,
			"auto_publish_requests", (json_int_t)c.autopub_req,
			"drops", "source_mismatch", (json_int_t)c.drop_src,
			"unknown_ssrc", (json_int_t)c.drop_unknown_ssrc,
			"ssrc_of_another", (json_int_t)c.drop_not_publisher,
			"rtcp_malformed", (json_int_t)c.drop_rtcp,
			"no_remote", (json_int_t)c.drop_no_remote,
			"source_address", (json_int_t)c.latch.drop_address,
			"latch_learning", (json_int_t)c.latch.drop_learning,
			"latch_window_closed", (json_int_t)c.latch.drop_window,
			"relatch_refused", (json_int_t)c.latch.drop_relatch));
		if (p->mix != NULL) {
			json_object_set_new(j, "mix", mr_room_mix_json(p->mix));
			json_object_set_new(j, "gain", json_real(p->gain_q8 / 256.0));
		}
	}
	return j;
}

static json_t *
mr_speaker_json(const struct mr_cp_room *r)
{
	if (r->spk.part == 0)
		return json_null();
	return json_pack("{s:o,s:o,s:f}", "participant", mr_room_idj(r->spk.part),
			 "stream", r->spk.stream ? mr_room_idj(r->spk.stream) : json_null(),
			 "level_dbov", -(double)r->spk.level_q8 / 256.0);
}

json_t *
mr_room_json(struct mr_rooms *rs, const struct mr_cp_room *r, int full)
{
	json_t *j;

	j = json_pack("{s:o,s:s,s:i,s:b,s:b,s:s,s:i,s:i,s:I,s:i}",
		      "id", mr_room_idj(r->id), "name", r->name,
		      "max_participants", (int)r->max_participants,
		      "auto_subscribe", (int)r->auto_subscribe,
		      "auto_publish", (int)r->auto_publish,
		      "auto_publish_kind", mr_room_kind_name[r->auto_publish_kind],
		      "participant_count", (int)r->n_parts, "stream_count", (int)r->n_streams,
		      "created", (json_int_t)r->created,
		      "owner_lcore", (int)rs->a->dp->w[r->owner]->lcore_id);
	if (j != NULL) {
		json_object_set_new(j, "mode", json_string(r->mix != NULL ? "mix" : "forward"));
		json_object_set_new(j, "cluster", json_boolean(r->cluster));
		if (r->mix != NULL) {
			json_object_set_new(j, "mix_payload_type", json_integer(r->mix_pt));
			json_object_set_new(j, "mix_max_speakers",
					    json_integer(r->mix_max_speakers));
			json_object_set_new(j, "media_lcore", json_integer(
				rs->a->dp->media[mr_mix_room_media(r->mix)]->lcore_id));
		}
	}
	if (j != NULL && full) {
		json_t *parts = json_array(), *levels = json_array();
		struct mr_cp_part *p;
		struct mr_cp_stream *st;

		TAILQ_FOREACH(p, &r->parts, link) {
			json_array_append_new(parts, mr_room_part_json(rs, p, PJ_FULL));
			TAILQ_FOREACH(st, &p->streams, link) {
				uint32_t lv, n;

				if (st->dp->kind != MR_KIND_AUDIO)
					continue;
				lv = __atomic_load_n(&st->dp->level_q8, __ATOMIC_RELAXED);
				n = __atomic_load_n(&st->dp->level_pkts, __ATOMIC_RELAXED);
				json_array_append_new(levels, json_pack("{s:o,s:o,s:o,s:b}",
					"participant", mr_room_idj(p->id),
					"stream", mr_room_idj(st->id),
					"level_dbov", n ? json_real(-(double)lv / 256.0) :
					json_null(),
					"muted", (int)__atomic_load_n(&st->dp->muted,
								     __ATOMIC_RELAXED)));
			}
		}
		json_object_set_new(j, "participants", parts);
		json_object_set_new(j, "audio_levels", levels);
		json_object_set_new(j, "active_speaker", mr_speaker_json(r));
	}
	return j;
}

json_t *
mr_room_subs_json(const struct mr_cp_part *p)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; i < p->n_subs; i++)
		json_array_append_new(a, mr_room_idj(p->subs[i]));
	return json_pack("{s:o}", "subscriptions", a);
}

/* Prometheus series. Cardinality is bounded: per-room series for the first
 * MR_ROOMS_METRICS_ROOMS rooms and per-stream series for the first MR_ROOMS_METRICS_STREAMS
 * streams (lowest ids first); the mrelay_rooms_* totals cover everything. */
void
mr_rooms_metrics(struct mr_rooms *rs, FILE *f)
{
	static const struct { const char *name, *type, *help; } sm[] = {
		{ "packets_in_total", "counter", "RTP packets received from the publisher" },
		{ "bytes_in_total", "counter", "RTP payload bytes received from the publisher" },
		{ "packets_out_total", "counter", "Copies sent to subscribers" },
		{ "drops_muted_total", "counter", "Packets not forwarded because muted" },
		{ "loss_ratio", "gauge", "Publisher to relay loss since publication (RFC 3550 A.3)" },
		{ "subscriber_loss_ratio", "gauge", "Loss fraction subscribers last reported" },
		{ "jitter_seconds", "gauge", "Publisher to relay interarrival jitter (RFC 3550 A.8)" },
		{ "rtt_seconds", "gauge", "Relay to subscriber round trip from receiver reports" },
		{ "mos", "gauge", "Estimated MOS of an audio stream (E-model)" },
		{ "audio_level_dbov", "gauge", "Smoothed RFC 6464 audio level" },
		{ "nack_received_total", "counter", "Sequence numbers subscribers NACKed" },
		{ "retransmitted_total", "counter", "NACKs answered from the cache" },
		{ "pli_forwarded_total", "counter", "PLI/FIR forwarded to the publisher" },
	};
	const struct mr_cp_stream *ss[MR_ROOMS_METRICS_STREAMS];
	struct mr_stream_q *q;
	unsigned int n = 0, i, m;
	uint32_t k;

	fprintf(f, "# HELP mrelay_rooms_active Rooms now\n# TYPE mrelay_rooms_active gauge\n"
		"mrelay_rooms_active %" PRIu64 "\n"
		"# HELP mrelay_rooms_created_total Rooms created\n"
		"# TYPE mrelay_rooms_created_total counter\nmrelay_rooms_created_total %" PRIu64
		"\n# HELP mrelay_rooms_participants Participants in all rooms\n"
		"# TYPE mrelay_rooms_participants gauge\nmrelay_rooms_participants %" PRIu64 "\n"
		"# HELP mrelay_rooms_streams Streams published in all rooms\n"
		"# TYPE mrelay_rooms_streams gauge\nmrelay_rooms_streams %" PRIu64 "\n"
		"# HELP mrelay_rooms_rejected_total Room requests refused for capacity\n"
		"# TYPE mrelay_rooms_rejected_total counter\nmrelay_rooms_rejected_total %" PRIu64
		"\n# HELP mrelay_rooms_ssrc_clashes_total Publications refused: SSRC in use\n"
		"# TYPE mrelay_rooms_ssrc_clashes_total counter\n"
		"mrelay_rooms_ssrc_clashes_total %" PRIu64 "\n",
		rs->n.active, rs->n.created, rs->n.participants, rs->n.streams, rs->n.rejected,
		rs->n.ssrc_clashes);
	fprintf(f, "# HELP mrelay_rooms_cluster Rooms across appliances now\n"
		"# TYPE mrelay_rooms_cluster gauge\nmrelay_rooms_cluster %" PRIu64 "\n"
		"# HELP mrelay_rooms_cluster_links Links to other appliances in cluster rooms\n"
		"# TYPE mrelay_rooms_cluster_links gauge\nmrelay_rooms_cluster_links %" PRIu64 "\n"
		"# HELP mrelay_rooms_cluster_reads_total Readings of cluster rooms' entries "
		"applied\n# TYPE mrelay_rooms_cluster_reads_total counter\n"
		"mrelay_rooms_cluster_reads_total %" PRIu64 "\n"
		"# HELP mrelay_rooms_cluster_ssrc_clashes_total Remote streams not published: "
		"SSRC taken here\n# TYPE mrelay_rooms_cluster_ssrc_clashes_total counter\n"
		"mrelay_rooms_cluster_ssrc_clashes_total %" PRIu64 "\n"
		"# HELP mrelay_rooms_cluster_refused_total Links and remote streams not made, "
		"entries not understood\n# TYPE mrelay_rooms_cluster_refused_total counter\n"
		"mrelay_rooms_cluster_refused_total %" PRIu64 "\n"
		"# HELP mrelay_rooms_cluster_link_srtp_mismatch_total Links not latched: SRTP "
		"on one side only (state.link_srtp)\n"
		"# TYPE mrelay_rooms_cluster_link_srtp_mismatch_total counter\n"
		"mrelay_rooms_cluster_link_srtp_mismatch_total %" PRIu64 "\n"
		"# HELP mrelay_rooms_ids_unreserved_total Room ids handed out while no block "
		"reserved in Redis was left (they may clash with another appliance's)\n"
		"# TYPE mrelay_rooms_ids_unreserved_total counter\n"
		"mrelay_rooms_ids_unreserved_total %" PRIu64 "\n",
		rs->n.cluster_rooms, rs->n.links, rs->n.span_reads, rs->n.span_clashes,
		rs->n.span_refused, rs->n.span_srtp_mismatch, rs->n.ids_unreserved);
	fprintf(f, "# HELP mrelay_room_participants Participants of a room\n"
		"# TYPE mrelay_room_participants gauge\n");
	for (k = 0; k < rs->n_rooms && k < MR_ROOMS_METRICS_ROOMS; k++)
		fprintf(f, "mrelay_room_participants{room=\"%" PRIu32 "\"} %" PRIu32 "\n",
			rs->room[k]->id, rs->room[k]->n_parts);
	for (k = 0; k < rs->n_rooms && n < RTE_DIM(ss); k++) {
		const struct mr_cp_part *p;
		const struct mr_cp_stream *st;

		TAILQ_FOREACH(p, &rs->room[k]->parts, link)
			TAILQ_FOREACH(st, &p->streams, link)
				if (n < RTE_DIM(ss))
					ss[n++] = st;
	}
	q = malloc((n + 1) * sizeof(*q));
	if (q == NULL)
		return;
	for (i = 0; i < n; i++)
		mr_room_stream_read(ss[i], &q[i]);
	for (m = 0; m < RTE_DIM(sm); m++) {
		fprintf(f, "# HELP mrelay_room_stream_%s %s\n# TYPE mrelay_room_stream_%s %s\n",
			sm[m].name, sm[m].help, sm[m].name, sm[m].type);
		for (i = 0; i < n; i++) {
			const struct mr_cp_stream *st = ss[i];
			double v;

			switch (m) {
			case 0: v = (double)q[i].c.pkts_in; break;
			case 1: v = (double)q[i].c.bytes_in; break;
			case 2: v = (double)q[i].c.pkts_out; break;
			case 3: v = (double)q[i].c.drop_muted; break;
			case 4: v = q[i].loss_pct / 100.0; break;
			case 5: v = q[i].sub_loss; break;
			case 6:
				if (q[i].jitter_ms < 0)
					continue;
				v = q[i].jitter_ms / 1000.0;
				break;
			case 7:
				if (q[i].rtt_ms < 0)
					continue;
				v = q[i].rtt_ms / 1000.0;
				break;
			case 8:
				if (st->mos <= 0)
					continue;
				v = st->mos;
				break;
			case 9:
				if (st->dp->kind != MR_KIND_AUDIO || q[i].level_pkts == 0)
					continue;
				v = -(double)q[i].level_q8 / 256.0;
				break;
			case 10: v = (double)q[i].c.nack_rx; break;
			case 11: v = (double)q[i].c.rtx_sent; break;
			default: v = (double)q[i].c.pli_fwd; break;
			}
			fprintf(f, "mrelay_room_stream_%s{room=\"%" PRIu32 "\",stream=\"%" PRIu32
				"\",kind=\"%s\"} %.17g\n", sm[m].name, st->pub->room->id, st->id,
				mr_room_kind_name[st->dp->kind], v);
		}
	}
	free(q);
}
