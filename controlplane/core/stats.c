/* SPDX-License-Identifier: BSD-3-Clause
 * /v1/health, /v1/stats and /metrics: per-lcore counters summed by the control thread with
 * relaxed atomic loads (the lcores write them with plain stores).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "api.h"
#include "appliance.h"
#include "neigh.h"
#include "port.h"
#include "router.h"
#include "ng.h"
#include "messages.h"
#include "recorder.h"
#include "capture.h"
#include "rooms.h"
#include "sessions.h"
#include "state.h"
#include "webrtc.h"

static int
mr_http_health(struct mr_appliance *a, const struct mr_http_req *r, json_t **body)
{
	struct mr_sessions_counts c;
	json_t *ports = json_array();
	unsigned int i;

	mr_sessions_counts(a->sess, &c);
	for (i = 0; i < a->dp->n_ports; i++)
		json_array_append_new(ports, json_pack("{s:s,s:b}", "name", a->dp->port[i].name,
						       "link_up", mr_port_link_up(&a->dp->port[i])));
	*body = json_pack("{s:s,s:I,s:i,s:I,s:o}", "status", "ok",
			  "uptime_s", (json_int_t)mr_appliance_uptime(a),
			  "workers", (int)a->dp->n_workers, "sessions", (json_int_t)c.active,
			  "ports", ports);
	/* Off: absent. Down: the appliance works alone, its changes queue (docs/OPERATIONS.md
	 * "State in Redis"). */
	if (a->state != NULL)
		json_object_set_new(*body, "state", mr_state_json(a->state));
	return 200;
}

/* The media lcores' counters (media_dp.h): [] without lcores.media. */
static json_t *
mr_media_stats_json(const struct mr_dp *dp)
{
	json_t *arr = json_array();
	unsigned int i, k;

	for (i = 0; i < dp->n_media; i++) {
		struct mr_media_stats s;
		const uint64_t *v = (const uint64_t *)&s;
		json_t *j;

		mr_read_u64s(&s, &dp->media[i]->stats, sizeof(s));
		j = json_pack("{s:i,s:s,s:I,s:I}", "lcore", (int)dp->media[i]->lcore_id,
			      "role", "media", "busy_cycles", (json_int_t)s.busy_cycles,
			      "rooms_active", (json_int_t)s.rooms_active);
		for (k = 0; k < MR_MEDIA_N_COUNTERS; k++)
			json_object_set_new(j, mr_media_counter_name[k], json_integer(v[k]));
		json_array_append_new(arr, j);
	}
	return arr;
}

static int
mr_http_stats(struct mr_appliance *a, const struct mr_http_req *req, json_t **body)
{
	struct mr_dp *dp = a->dp;
	struct mr_sessions_counts c;
	json_t *lcores = json_array(), *ports = json_array(), *j;
	unsigned int i, r;

	for (i = 0; i < dp->n_workers; i++) {
		struct mr_lcore_stats s;
		json_t *drops = json_object();
		uint64_t pkts;

		mr_read_u64s(&s, &dp->w[i]->stats, sizeof(s));
		for (r = 0; r < MR_DROP_MAX; r++)
			json_object_set_new(drops, mr_drop_name[r], json_integer(s.drops[r]));
		pkts = s.rx_pkts + s.handoff_in;
		j = json_pack("{s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
			      "s:I}",
			      "lcore", (int)dp->w[i]->lcore_id, "role", "worker",
			      "rx_packets", (json_int_t)s.rx_pkts, "rx_bytes", (json_int_t)s.rx_bytes,
			      "tx_packets", (json_int_t)s.tx_pkts, "tx_bytes", (json_int_t)s.tx_bytes,
			      "relayed", (json_int_t)s.relayed,
			      "handoff_in", (json_int_t)s.handoff_in,
			      "handoff_out", (json_int_t)s.handoff_out,
			      "exceptions", (json_int_t)s.exception,
			      "arp_replies", (json_int_t)s.arp_replies,
			      "nd_replies", (json_int_t)s.nd_replies,
			      "echo_replies", (json_int_t)s.echo_replies,
			      "commands", (json_int_t)s.cmds,
			      "relatches", (json_int_t)s.relatches,
			      "busy_cycles", (json_int_t)s.busy_cycles,
			      "idle_cycles", (json_int_t)s.idle_cycles);
		/* Busy cycles per packet handled (received or handed over): the dataplane's own
		 * cost measure (DESIGN.md §6). */
		json_object_set_new(j, "cycles_per_packet", pkts ?
				    json_real((double)s.busy_cycles / pkts) : json_null());
		/* Steering (docs/ARCHITECTURE.md "Steering"): relay packets that arrived on a
		 * queue of their owner, and the enqueue bursts that carried the others. */
		json_object_set_new(j, "rx_owned", json_integer((json_int_t)s.rx_owned));
		/* ng silence media: G.711 relayed with a silent payload (not a drop). */
		json_object_set_new(j, "silenced", json_integer((json_int_t)s.silenced));
		json_object_set_new(j, "handoff_bursts",
				    json_integer((json_int_t)s.handoff_bursts));
		json_object_set_new(j, "sessions", json_integer(mr_sessions_owned(a->sess, i)));
		json_object_set_new(j, "room_participants",
				    json_integer(a->rooms ? mr_rooms_owned(a->rooms, i) : 0));
		json_object_set_new(j, "recording_captures", json_integer(s.rec_captured));
		json_object_set_new(j, "recording_captures_dropped", json_integer(s.rec_dropped));
		json_object_set_new(j, "capture_captured", json_integer(s.cap_captured));
		json_object_set_new(j, "capture_dropped", json_integer(s.cap_dropped));
		json_object_set_new(j, "drops", drops);
		json_array_append_new(lcores, j);
	}
	for (i = 0; i < dp->n_ports; i++) {
		struct rte_eth_stats es;

		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		json_t *pj;

		memset(&es, 0, sizeof(es));
		rte_eth_stats_get(dp->port[i].port_id, &es);
		rte_ether_format_addr(mac, sizeof(mac), &dp->port[i].mac);
		json_array_append_new(ports, pj = json_pack(
			"{s:s,s:i,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:s}",
			"name", dp->port[i].name, "port_id", (int)dp->port[i].port_id,
			"link_up", mr_port_link_up(&dp->port[i]),
			"rx_packets", (json_int_t)es.ipackets, "tx_packets", (json_int_t)es.opackets,
			"rx_bytes", (json_int_t)es.ibytes, "tx_bytes", (json_int_t)es.obytes,
			"rx_missed", (json_int_t)es.imissed, "rx_errors", (json_int_t)es.ierrors,
			"tx_errors", (json_int_t)es.oerrors, "rx_nombuf", (json_int_t)es.rx_nombuf,
			"steering", mr_steer_mode_name(a->steer[i].mode)));
		/* The MAC a traffic generator (pktgen) must send to. */
		json_object_set_new(pj, "mac", json_string(mac));
	}
	mr_sessions_counts(a->sess, &c);
	*body = json_pack("{s:I,s:o,s:o,s:{s:I,s:I,s:I,s:I,s:I},"
			  "s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}}",
			  "uptime_s", (json_int_t)mr_appliance_uptime(a),
			  "lcores", lcores, "ports", ports,
			  "sessions", "active", (json_int_t)c.active,
			  "created", (json_int_t)c.created, "ended", (json_int_t)c.ended,
			  "rejected", (json_int_t)c.rejected, "retiring", (json_int_t)c.retiring,
			  "control", "exceptions", (json_int_t)a->cps.exceptions,
			  "arp_requests_sent", (json_int_t)a->cps.arp_requests_sent,
			  "nd_solicits_sent", (json_int_t)a->cps.nd_solicits_sent,
			  "command_ring_full", (json_int_t)a->cmdq.full,
			  "commands_refused", (json_int_t)a->cmdq.refused,
			  "steering_rules", (json_int_t)a->cps.steer_rules,
			  "steering_misses", (json_int_t)a->cps.steer_misses,
			  "tx_ring_full", (json_int_t)a->cps.tx_ring_full,
			  "neighbor_changes", (json_int_t)a->cps.neigh_changes,
			  "neighbor_changes_refused", (json_int_t)a->cps.neigh_refused,
			  "neighbors", (int)mr_neigh_count(a->neigh),
			  "neighbors_resolved", (int)mr_neigh_count_resolved(a->neigh));
	if (*body != NULL)
		json_object_set_new(json_object_get(*body, "control"), "solicits_deferred",
				    json_integer((json_int_t)mr_neigh_deferred(a->neigh)));
	if (*body != NULL && a->ng != NULL)
		json_object_set_new(*body, "ng", mr_ng_stats(a->ng));
	if (*body != NULL)
		json_object_set_new(*body, "media", mr_media_stats_json(dp));
	if (*body != NULL && a->rooms != NULL) {
		struct mr_rooms_counts rc;

		mr_rooms_counts(a->rooms, &rc);
		json_object_set_new(*body, "rooms", json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"active", (json_int_t)rc.active, "created", (json_int_t)rc.created,
			"deleted", (json_int_t)rc.deleted, "rejected", (json_int_t)rc.rejected,
			"participants", (json_int_t)rc.participants,
			"participants_created", (json_int_t)rc.participants_created,
			"streams", (json_int_t)rc.streams,
			"ssrc_clashes", (json_int_t)rc.ssrc_clashes,
			"auto_published", (json_int_t)rc.autopublished,
			"ssrcs_learned", (json_int_t)rc.learned,
			"ssrcs_unmatched", (json_int_t)rc.learn_unmatched,
			"retiring", (json_int_t)rc.retiring));
		json_object_update_new(json_object_get(*body, "rooms"), json_pack(
			"{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "cluster_rooms", (json_int_t)rc.cluster_rooms,
			"cluster_links", (json_int_t)rc.links,
			"cluster_reads", (json_int_t)rc.span_reads,
			"cluster_ssrc_clashes", (json_int_t)rc.span_clashes,
			"cluster_refused", (json_int_t)rc.span_refused,
			"cluster_link_srtp_mismatch", (json_int_t)rc.span_srtp_mismatch,
			"ids_unreserved", (json_int_t)rc.ids_unreserved));
	}
	if (*body != NULL) {
		/* DPDK heap in use (flow tables, sessions, rooms, rings; not the mbuf pool's
		 * own memzone): what perf/bench divides by the session count. */
		struct rte_malloc_socket_stats ms;
		uint64_t used = 0, total = 0;
		unsigned int sock;

		for (sock = 0; sock < rte_socket_count(); sock++) {
			if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(sock), &ms) < 0)
				continue;
			used += ms.heap_allocsz_bytes;
			total += ms.heap_totalsz_bytes;
		}
		json_object_set_new(*body, "websocket", mr_api_ws_stats(a->api));
		json_object_set_new(*body, "webrtc", mr_webrtc_stats(a->webrtc));
		json_object_set_new(*body, "api", mr_api_stats(a->api));
		json_object_set_new(*body, "memory", json_pack("{s:I,s:I,s:I}",
			"heap_used_bytes", (json_int_t)used, "heap_total_bytes", (json_int_t)total,
			"mbufs", (json_int_t)(a->mp != NULL ? a->mp->size : 0)));
	}
	return 200;
}

/* A growing text buffer for the exposition format. */
struct mr_buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void
mr_bprintf(struct mr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
mr_bprintf(struct mr_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		char *np = realloc(b->p, b->cap * 2 + n);

		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + n;
	}
}

#define MR_LCORE_METRICS(X) \
	X(rx_pkts, "rx_packets_total", "Packets received from NIC queues") \
	X(rx_bytes, "rx_bytes_total", "Bytes received from NIC queues") \
	X(tx_pkts, "tx_packets_total", "Packets accepted by NIC TX queues") \
	X(tx_bytes, "tx_bytes_total", "Bytes accepted by NIC TX queues") \
	X(relayed, "relayed_packets_total", "Media packets relayed") \
	X(handoff_in, "handoff_in_packets_total", "Packets received from other lcores") \
	X(handoff_out, "handoff_out_packets_total", "Packets handed to their owner lcore") \
	X(handoff_bursts, "handoff_bursts_total", "Enqueue bursts to hand-off rings") \
	X(rx_owned, "rx_owned_packets_total", \
	  "Relay packets received on a queue of their owner lcore") \
	X(exception, "exception_packets_total", "Packets passed to the control plane") \
	X(arp_replies, "arp_replies_total", "ARP requests answered") \
	X(nd_replies, "nd_replies_total", "Neighbor solicitations answered") \
	X(echo_replies, "echo_replies_total", "ICMP and ICMPv6 echo requests answered") \
	X(relatches, "relatches_total", "Remotes followed to a new source after silence") \
	X(busy_cycles, "busy_cycles_total", "TSC cycles spent in loop iterations that did work") \
	X(idle_cycles, "idle_cycles_total", "TSC cycles spent in empty loop iterations") \
	X(rec_captured, "recording_captures_total", "RTP packets copied for a recording") \
	X(rec_dropped, "recording_captures_dropped_total", "Captures for a recording not " \
	  "made: ring to the writer full or capture pool empty (the media went on)") \
	X(cap_captured, "capture_captured_total", "Frames copied for a per-flow capture") \
	X(cap_dropped, "capture_dropped_total", "Frame copies for a per-flow capture not " \
	  "made: ring to the writer full or capture pool empty (the media went on)") \
	X(silenced, "silenced_packets_total", "G.711 RTP packets relayed with their payload " \
	  "replaced by silence (ng silence media)")

static char *
mr_http_metrics(struct mr_appliance *a)
{
	struct mr_dp *dp = a->dp;
	struct mr_lcore_stats s[MR_DP_MAX_WORKERS];
	struct mr_sessions_counts c;
	struct mr_buf b = { .cap = 16384 };
	unsigned int i, r;

	b.p = malloc(b.cap);
	if (b.p == NULL)
		return NULL;
	for (i = 0; i < dp->n_workers; i++)
		mr_read_u64s(&s[i], &dp->w[i]->stats, sizeof(s[i]));
#define MR_X_METRIC(f, n, h) \
	mr_bprintf(&b, "# HELP mrelay_lcore_" n " " h "\n# TYPE mrelay_lcore_" n " counter\n"); \
	for (i = 0; i < dp->n_workers; i++) \
		mr_bprintf(&b, "mrelay_lcore_" n "{lcore=\"%u\"} %lu\n", dp->w[i]->lcore_id, \
			   (unsigned long)s[i].f);
	MR_LCORE_METRICS(MR_X_METRIC)
#undef MR_X_METRIC
	mr_bprintf(&b, "# HELP mrelay_drops_total Packets dropped, by lcore and reason\n"
		   "# TYPE mrelay_drops_total counter\n");
	for (i = 0; i < dp->n_workers; i++)
		for (r = 0; r < MR_DROP_MAX; r++)
			mr_bprintf(&b, "mrelay_drops_total{lcore=\"%u\",reason=\"%s\"} %lu\n",
				   dp->w[i]->lcore_id, mr_drop_name[r],
				   (unsigned long)s[i].drops[r]);
	{
		static const char *const pm[][3] = {
			{ "port_rx_packets_total", "counter", "Packets received by the port" },
			{ "port_tx_packets_total", "counter", "Packets sent by the port" },
			{ "port_rx_missed_total", "counter", "Packets the port dropped: RX queue full" },
			{ "port_rx_nombuf_total", "counter", "RX failures for want of mbufs" },
			{ "port_link_up", "gauge", "1 when the link is up" },
		};
		unsigned int m;

		/* One family at a time: the exposition format keeps a metric's lines together. */
		for (m = 0; m < RTE_DIM(pm); m++) {
			mr_bprintf(&b, "# HELP mrelay_%s %s\n# TYPE mrelay_%s %s\n", pm[m][0],
				   pm[m][2], pm[m][0], pm[m][1]);
			for (i = 0; i < dp->n_ports; i++) {
				struct rte_eth_stats es;
				uint64_t v[5];

				memset(&es, 0, sizeof(es));
				rte_eth_stats_get(dp->port[i].port_id, &es);
				v[0] = es.ipackets;
				v[1] = es.opackets;
				v[2] = es.imissed;
				v[3] = es.rx_nombuf;
				v[4] = mr_port_link_up(&dp->port[i]);
				mr_bprintf(&b, "mrelay_%s{port=\"%s\"} %lu\n", pm[m][0],
					   dp->port[i].name, (unsigned long)v[m]);
			}
		}
	}
	for (r = 0; r < MR_MEDIA_N_COUNTERS; r++) {
		const char *n = mr_media_counter_name[r];

		if (dp->n_media == 0)
			break;
		mr_bprintf(&b, "# HELP mrelay_media_%s_total Media lcores: %s\n"
			   "# TYPE mrelay_media_%s_total counter\n", n, mr_media_counter_help[r], n);
		for (i = 0; i < dp->n_media; i++) {
			const uint64_t *v = (const uint64_t *)&dp->media[i]->stats;

			mr_bprintf(&b, "mrelay_media_%s_total{lcore=\"%u\"} %lu\n", n,
				   dp->media[i]->lcore_id,
				   (unsigned long)__atomic_load_n(&v[r], __ATOMIC_RELAXED));
		}
	}
	mr_sessions_counts(a->sess, &c);
	mr_bprintf(&b, "# HELP mrelay_sessions_active Sessions relaying now\n"
		   "# TYPE mrelay_sessions_active gauge\nmrelay_sessions_active %lu\n"
		   "# HELP mrelay_sessions_created_total Sessions created\n"
		   "# TYPE mrelay_sessions_created_total counter\n"
		   "mrelay_sessions_created_total %lu\n"
		   "# HELP mrelay_sessions_ended_total Sessions ended (deleted or idle)\n"
		   "# TYPE mrelay_sessions_ended_total counter\nmrelay_sessions_ended_total %lu\n"
		   "# HELP mrelay_sessions_rejected_total Session requests refused for capacity\n"
		   "# TYPE mrelay_sessions_rejected_total counter\n"
		   "mrelay_sessions_rejected_total %lu\n"
		   "# HELP mrelay_uptime_seconds Seconds since start\n"
		   "# TYPE mrelay_uptime_seconds gauge\nmrelay_uptime_seconds %lu\n",
		   (unsigned long)c.active, (unsigned long)c.created, (unsigned long)c.ended,
		   (unsigned long)c.rejected, (unsigned long)mr_appliance_uptime(a));
	mr_bprintf(&b, "# HELP mrelay_control_command_ring_full_total Times a worker's command "
		   "ring was found full\n"
		   "# TYPE mrelay_control_command_ring_full_total counter\n"
		   "mrelay_control_command_ring_full_total %lu\n"
		   "# HELP mrelay_control_commands_refused_total Commands given up: a worker's "
		   "command ring stayed full\n"
		   "# TYPE mrelay_control_commands_refused_total counter\n"
		   "mrelay_control_commands_refused_total %lu\n"
		   "# HELP mrelay_neighbor_changes_total Resolved neighbors whose MAC changed in a "
		   "reply to the relay's probe\n"
		   "# TYPE mrelay_neighbor_changes_total counter\n"
		   "mrelay_neighbor_changes_total %lu\n"
		   "# HELP mrelay_neighbor_changes_refused_total MAC changes refused: gratuitous "
		   "ARP, unsolicited NA or unasked replies\n"
		   "# TYPE mrelay_neighbor_changes_refused_total counter\n"
		   "mrelay_neighbor_changes_refused_total %lu\n",
		   (unsigned long)a->cmdq.full, (unsigned long)a->cmdq.refused,
		   (unsigned long)a->cps.neigh_changes, (unsigned long)a->cps.neigh_refused);
	{
		char *text = NULL;
		size_t tlen = 0;
		FILE *f = open_memstream(&text, &tlen);

		if (f == NULL) {
			b.oom = 1;
		} else {
			mr_api_metrics(a->api, f);
			mr_state_metrics(a->state, f);
			if (a->rooms != NULL)
				mr_rooms_metrics(a->rooms, f);
			mr_ng_metrics(a->ng, f);
			mr_recorder_metrics(a->rec, f);
			mr_capture_metrics(a->cap, f);
			mr_messages_metrics(a->msgs, f);
			if (fclose(f) != 0 || text == NULL)
				b.oom = 1;
			else
				mr_bprintf(&b, "%s", text);
			free(text);
		}
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- REST routes (controlplane/api/router.h) ---- */

static struct mr_http_route mr_health_route = {
	.path = "/v1/health", .match = MR_ROUTE_EXACT, .name = "/v1/health",
	.methods = MR_HTTP_GET, .handler = mr_http_health,
};
MR_HTTP_ROUTE(mr_health_route)

static struct mr_http_route mr_stats_route = {
	.path = "/v1/stats", .match = MR_ROUTE_EXACT, .name = "/v1/stats",
	.methods = MR_HTTP_GET, .handler = mr_http_stats,
};
MR_HTTP_ROUTE(mr_stats_route)

/* Prometheus text exposition format 0.0.4. */
static struct mr_http_route mr_metrics_route = {
	.path = "/metrics", .match = MR_ROUTE_EXACT, .name = "/metrics",
	.methods = MR_HTTP_GET, .text = mr_http_metrics,
	.text_type = "text/plain; version=0.0.4; charset=utf-8",
};
MR_HTTP_ROUTE(mr_metrics_route)
