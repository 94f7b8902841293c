/* SPDX-License-Identifier: BSD-3-Clause
 * Bring-up, control loop and shutdown of the appliance (the control thread).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "addr.h"
#include "api.h"
#include "appliance.h"
#include "flow_table.h"
#include "flows.h"
#include "neigh.h"
#include "ng.h"
#include "port.h"
#include "messages.h"
#include "recorder.h"
#include "capture.h"
#include "rooms.h"
#include "sessions.h"
#include "srtp.h"
#include "state.h"
#include "steer.h"
#include "telemetry.h"
#include "webrtc.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_appliance, appliance);
#define APP_LOG(level, ...) MR_LOG(level, mr_logtype_appliance, "appliance", __VA_ARGS__)
#define MR_CMD_RING 4096
#define MR_EXC_RING 1024
#define MR_HANDOFF_RING 2048
#define MR_MBUF_CACHE 256
#define MR_CP_TX_RING 512

_Static_assert(MR_MAX_WORKER_RXQ == MR_WORKER_MAX_RXQ, "config.h and dp.h disagree");

uint64_t
mr_appliance_uptime(const struct mr_appliance *a)
{
	return (rte_get_tsc_cycles() - a->start_tsc) / rte_get_tsc_hz();
}

int
mr_cp_tx(struct mr_appliance *a, unsigned int pidx, struct rte_mbuf *m)
{
	/* Worker 0 sends it on its own TX queue (mr_worker_cp_tx): ports need one TX queue per
	 * worker and none for the control thread, which also works before the workers run. */
	m->port = a->dp->port[pidx].port_id;
	if (rte_ring_sp_enqueue(a->dp->w[0]->cp_tx, m) == 0)
		return 0;
	a->cps.tx_ring_full++;
	rte_pktmbuf_free(m);
	return -ENOBUFS;
}

static unsigned int
mr_mbufs_needed(const struct mr_config *cfg)
{
	unsigned int i, n = 0, nw = cfg->n_workers;

	for (i = 0; i < cfg->n_ports; i++)
		n += cfg->ports[i].rx_queues * cfg->ports[i].rx_desc +
			nw * cfg->ports[i].tx_desc;
	/* hand-off, exception and control TX rings, per-lcore caches, TX buffers in flight */
	n += nw * nw * MR_HANDOFF_RING + nw * MR_EXC_RING + MR_CP_TX_RING +
		(nw + 1) * MR_MBUF_CACHE * 2 + nw * MR_BURST * MR_DP_MAX_PORTS;
	/* Rooms: copies, indirect headers, RRs and retransmissions a worker builds in one
	 * burst before its TX flush, twice over for what the NIC still holds. */
	n += nw * cfg->n_ports * MR_BURST * 2 * 8;
	/* Media lcores: Opus payloads on their way in, mixed packets on their way out. */
	n += cfg->n_media * nw * 2 * 1024;
	return n;
}

/* Media lcores (lcores.media, dataplane/media/media.c) and the mixing slot table. */
static int
mr_media_lcores_create(struct mr_appliance *a, char *err, size_t errlen)
{
	struct mr_config *cfg = a->cfg;
	struct mr_dp *dp = a->dp;
	unsigned int i;

	if (cfg->n_media == 0)
		return 0;
	dp->mix_slot = rte_zmalloc("mr_mix_slot", MR_MIX_SLOTS * sizeof(*dp->mix_slot),
				   RTE_CACHE_LINE_SIZE);
	if (dp->mix_slot == NULL) {
		snprintf(err, errlen, "media lcores: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < cfg->n_media; i++) {
		dp->media[i] = mr_media_create(dp, i, cfg->media_lcores[i], a->mp);
		if (dp->media[i] == NULL) {
			snprintf(err, errlen, "media lcore %u: cannot create its rings: %s",
				 cfg->media_lcores[i], rte_strerror(rte_errno));
			return -ENOMEM;
		}
		dp->n_media = i + 1;
	}
	return 0;
}

static int
mr_workers_create(struct mr_appliance *a, char *err, size_t errlen)
{
	struct mr_config *cfg = a->cfg;
	struct mr_dp *dp = a->dp;
	unsigned int i, j, q, k = 0;
	char name[RTE_RING_NAMESIZE];

	for (i = 0; i < dp->n_workers; i++) {
		unsigned int lc = cfg->worker_lcores[i];
		int sock = rte_lcore_to_socket_id(lc);
		struct mr_worker *w = rte_zmalloc_socket("mr_worker", sizeof(*w),
							 RTE_CACHE_LINE_SIZE, sock);

		if (w == NULL) {
			snprintf(err, errlen, "lcore %u: out of memory", lc);
			return -ENOMEM;
		}
		dp->w[i] = w;
		w->dp = dp;
		w->idx = i;
		w->lcore_id = lc;
		snprintf(name, sizeof(name), "mr_flows_%u", i);
		/* Worst case one worker owns every session (2 legs x (RTP + RTCP port)) and
		 * every room participant (one muxed endpoint each), up to a million of those. */
		w->flows = mr_flow_table_create(name, cfg->max_flows ? cfg->max_flows :
				cfg->max_sessions * 4 + RTE_MIN(cfg->rooms.max_rooms *
				(uint64_t)cfg->rooms.max_participants, 1000000u), sock, dp->qsv);
		snprintf(name, sizeof(name), "mr_cmd_%u", i);
		w->cmd = rte_ring_create_elem(name, sizeof(struct mr_cmd), MR_CMD_RING, sock,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "mr_exc_%u", i);
		w->exc = rte_ring_create(name, MR_EXC_RING, sock, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->flows == NULL || w->cmd == NULL || w->exc == NULL) {
			snprintf(err, errlen, "lcore %u: cannot create tables/rings: %s "
				 "(relay.max_sessions too large for the memory given to the EAL?)",
				 lc, rte_strerror(rte_errno));
			return -ENOMEM;
		}
	}
	for (i = 0; i < dp->n_workers; i++) {
		for (j = 0; j < dp->n_workers; j++) {
			if (i == j)
				continue;
			snprintf(name, sizeof(name), "mr_ho_%u_%u", j, i);
			dp->w[i]->handoff[j] = rte_ring_create(name, MR_HANDOFF_RING,
				rte_lcore_to_socket_id(dp->w[i]->lcore_id),
				RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (dp->w[i]->handoff[j] == NULL) {
				snprintf(err, errlen, "hand-off ring %s: %s", name,
					 rte_strerror(rte_errno));
				return -ENOMEM;
			}
		}
	}
	dp->w[0]->cp_tx = rte_ring_create("mr_cp_tx", MR_CP_TX_RING,
					  rte_lcore_to_socket_id(dp->w[0]->lcore_id),
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (dp->w[0]->cp_tx == NULL) {
		snprintf(err, errlen, "control TX ring: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	/* Spread every (port, RX queue) over the workers, round robin. The loader bounded the
	 * configured queues; ports may have more (drivers/port.c polls all a device fills). */
	for (i = 0; i < dp->n_ports; i++)
		k += dp->port[i].n_rxq;
	if (k > dp->n_workers * MR_WORKER_MAX_RXQ) {
		snprintf(err, errlen, "the ports have %u RX queues in all, more than the %u "
			 "worker(s) of lcores.workers can poll (%u each): lower ports.rx_queues "
			 "(or an af_packet port's qpairs) or add workers", k, dp->n_workers,
			 MR_WORKER_MAX_RXQ);
		return -EINVAL;
	}
	k = 0;
	for (i = 0; i < dp->n_ports; i++) {
		for (q = 0; q < dp->port[i].n_rxq; q++) {
			struct mr_worker *w = dp->w[k++ % dp->n_workers];

			w->rxq[w->n_rxq].port_idx = i;
			w->rxq[w->n_rxq].queue = q;
			w->n_rxq++;
		}
	}
	return 0;
}

/* The queues of port pidx for rte_flow range steering: range r goes to the r-th worker (round
 * robin) of those that poll a queue of the port, to the first such queue. */
static void
mr_steer_ranges_plan(struct mr_dp *dp, unsigned int pidx, struct mr_port_steer *s)
{
	uint8_t wl[MR_DP_MAX_WORKERS];
	uint16_t ql[MR_DP_MAX_WORKERS];
	unsigned int w, i, n = 0, r;

	for (w = 0; w < dp->n_workers; w++) {
		for (i = 0; i < dp->w[w]->n_rxq; i++)
			if (dp->w[w]->rxq[i].port_idx == pidx)
				break;
		if (i == dp->w[w]->n_rxq)
			continue;
		wl[n] = (uint8_t)w;
		ql[n++] = dp->w[w]->rxq[i].queue;
	}
	s->range_bits = 0;
	while ((1u << s->range_bits) < n && s->range_bits < MR_STEER_RANGE_BITS_MAX)
		s->range_bits++;
	for (r = 0; r < (1u << s->range_bits); r++) {
		s->range_w[r] = wl[r % n];
		s->range_q[r] = ql[r % n];
	}
}

/* How each port brings packets to the owner of their relay port (docs/ARCHITECTURE.md
 * "Steering"): RSS on the local endpoint where drivers/port.c set it up, else rte_flow rules
 * on port ranges where the device takes them, else the software hand-off. */
static int
mr_steer_init(struct mr_appliance *a, char *err, size_t errlen)
{
	const struct mr_config *cfg = a->cfg;
	unsigned int i;

	for (i = 0; i < a->dp->n_ports; i++) {
		const struct mr_port_conf *pc = &cfg->ports[i];
		struct mr_port_steer *s = &a->steer[i];
		const char *why = NULL;

		if (s->rss.reta_size != 0) {
			s->mode = MR_STEERED_RSS;
			APP_LOG(INFO, "port %s: steering relay ports by RSS on the local endpoint "
				"(%u queues, table of %u)\n", pc->name, a->dp->port[i].n_rxq,
				s->rss.reta_size);
			continue;
		}
		s->mode = MR_STEERED_SOFTWARE;
		if (pc->steering == MR_STEER_SOFTWARE)
			continue;
		/* With one worker there is nobody to steer to. */
		if (a->dp->n_workers == 1 && pc->steering == MR_STEER_AUTO)
			continue;
		mr_steer_ranges_plan(a->dp, i, s);
		if (mr_steer_ranges_install(a->dp->port[i].port_id, s, pc->addr4.family != 0,
					    pc->addr6.family != 0, &why) == 0) {
			s->mode = MR_STEERED_RTE_FLOW;
			a->cps.steer_rules += s->n_rules;
			APP_LOG(INFO, "port %s: steering relay ports with %u rte_flow port-range "
				"rules\n", pc->name, s->n_rules);
			continue;
		}
		if (pc->steering == MR_STEER_RTE_FLOW) {
			snprintf(err, errlen, "port %s: steering = \"rte_flow\" but the device "
				 "refuses UDP port-range rules: %s", pc->name, why);
			return -ENOTSUP;
		}
		APP_LOG(INFO, "port %s: no rte_flow steering (%s): software hand-off\n",
			pc->name, why);
	}
	return 0;
}

/* An SRTP engine for every worker (srtp.engine). Without one (the library refuses this CPU,
 * say) the appliance still relays plain RTP, and SRTP requests get 503. */
static void
mr_srtp_setup(struct mr_appliance *a)
{
	struct mr_dp *dp = a->dp;
	enum mr_srtp_engine_kind kind = (enum mr_srtp_engine_kind)a->cfg->srtp_engine;
	const char *name = kind == MR_SRTP_ENGINE_LIBSRTP ? "libsrtp" : "ipsec-mb";
	unsigned int i;

	dp->srtp_overlap_tsc = (uint64_t)a->cfg->srtp_rekey_overlap_ms * dp->tsc_hz / 1000;
	a->srtp_ok = 0;
	mr_srtp_set_vaes_gcm(a->cfg->srtp_vaes_gcm);
	if (mr_srtp_global_init(kind) != 0) {
		APP_LOG(WARNING, "srtp: engine %s unavailable: SRTP requests will be refused\n",
			name);
		return;
	}
	for (i = 0; i < dp->n_workers; i++) {
		struct mr_srtp_engine *e = mr_srtp_engine_create(kind);

		if (e == NULL || mr_worker_srtp_setup(dp->w[i], e) != 0) {
			mr_srtp_engine_free(e);
			APP_LOG(WARNING, "srtp: no %s engine for worker %u: SRTP requests will be "
				"refused\n", name, i);
			for (; i > 0; i--)
				mr_worker_srtp_free(dp->w[i - 1]);
			return;
		}
	}
	a->srtp_ok = 1;
	a->srtp_kind = kind;
	APP_LOG(INFO, "srtp: engine %s%s\n", name,
		kind != MR_SRTP_ENGINE_IPSEC_MB ? "" :
		mr_srtp_vaes_gcm() ? ", AES-GCM up to 256 bytes by mrelay's VAES code (self-test "
				     "passed)" :
		a->cfg->srtp_vaes_gcm ? ", AES-GCM by IPsec-MB (no AVX-512 VAES here, or the "
					"self-test failed)" :
		", AES-GCM by IPsec-MB (srtp.vaes_gcm false)");
}

int
mr_appliance_start(struct mr_appliance *a, struct mr_config *cfg, char *err, size_t errlen)
{
	struct mr_dp *dp;
	unsigned int i, n;
	size_t sz;
	int rc;

	a->cfg = cfg;
	a->start_time = time(NULL);
	a->start_tsc = rte_get_tsc_cycles();
	dp = rte_zmalloc("mr_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->dp = dp;
	dp->n_addr_idx = 1;
	for (i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].n_addr4 > dp->n_addr_idx)
			dp->n_addr_idx = cfg->ports[i].n_addr4;
	dp->owner = rte_zmalloc("mr_owner", (size_t)dp->n_addr_idx * 65536, RTE_CACHE_LINE_SIZE);
	dp->tsc_hz = rte_get_tsc_hz();
	dp->relatch_tsc = (uint64_t)cfg->relatch_timeout_ms * dp->tsc_hz / 1000;
	dp->latch_window_tsc = (uint64_t)cfg->latch_window_ms * dp->tsc_hz / 1000;
	dp->latch_packets = (uint8_t)cfg->latch_packets;
	dp->latch_signalled_only = (uint8_t)(cfg->latch_signalled_only != 0);
	dp->idle_sleep_us = cfg->idle_sleep_us;
	dp->n_workers = cfg->n_workers;
	sz = rte_rcu_qsbr_get_memsize(dp->n_workers);
	dp->qsv = rte_zmalloc("mr_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->owner == NULL || dp->qsv == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rte_rcu_qsbr_init(dp->qsv, dp->n_workers);

	n = mr_mbufs_needed(cfg);
	if (cfg->mbufs > n)
		n = cfg->mbufs;
	a->mp = rte_pktmbuf_pool_create("mr_mbufs", n, MR_MBUF_CACHE, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (a->mp == NULL) {
		snprintf(err, errlen, "cannot create a pool of %u mbufs: %s (give the EAL more "
			 "memory: reserve more hugepages, or raise -m with --no-huge)", n,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	for (i = 0; i < cfg->n_ports; i++) {
		rc = mr_port_setup(&cfg->ports[i], dp->n_workers, a->mp, &dp->port[i],
				   &a->steer[i].rss, err, errlen);
		if (rc < 0)
			return rc;
		dp->port_idx_of[dp->port[i].port_id] = i;
		dp->n_ports = i + 1;
	}
	rc = mr_workers_create(a, err, errlen);
	if (rc < 0)
		return rc;
	rc = mr_media_lcores_create(a, err, errlen);
	if (rc < 0)
		return rc;
	/* Before the endpoints: their allocator picks relay ports by where they land. */
	rc = mr_steer_init(a, err, errlen);
	if (rc < 0)
		return rc;
	mr_srtp_setup(a);
	/* Rooms (dataplane/rooms/room_fwd.c): fan-out, NACK and PLI settings from rooms = { }. The
	 * workers build fan-out copies, RRs and retransmissions from the shared pool. */
	dp->fanout = (uint8_t)cfg->rooms.fanout;
	dp->nack_budget = cfg->rooms.nack_budget;	/* 0: no rtx cache (rooms/publish.c) */
	/* rooms.pli_interval_ms = 0 means no limit: 1 cycle in the dataplane's terms. */
	dp->pli_interval_tsc = cfg->rooms.pli_interval_ms ?
		(uint64_t)cfg->rooms.pli_interval_ms * dp->tsc_hz / 1000 : 1;
	dp->rtx_max_age_tsc[MR_KIND_AUDIO] =
		(uint64_t)cfg->rooms.nack_cache_audio_ms * dp->tsc_hz / 1000;
	dp->rtx_max_age_tsc[MR_KIND_VIDEO] =
		(uint64_t)cfg->rooms.nack_cache_video_ms * dp->tsc_hz / 1000;
	for (i = 0; i < dp->n_workers; i++)
		dp->w[i]->mp = a->mp;
	mr_cmdq_init(&a->cmdq, dp);
	mr_defer_init(&a->defer, &a->cmdq, dp->qsv);
	/* The rest of the defaults and the TSC factors, once, before any worker runs. */
	rc = mr_dp_rooms_setup(dp);
	if (rc < 0) {
		snprintf(err, errlen, "rooms: no TSC frequency");
		return rc;
	}
	a->neigh = mr_neigh_create(a);
	a->flows = mr_flows_create(a);
	a->sess = a->flows != NULL ? mr_sessions_create(a) : NULL;
	if (a->neigh == NULL || a->sess == NULL) {
		snprintf(err, errlen, "out of memory for sessions (relay.max_sessions = %u)",
			 cfg->max_sessions);
		return -ENOMEM;
	}
	a->rooms = mr_rooms_create(a);
	if (a->rooms == NULL) {
		snprintf(err, errlen, "out of memory for rooms");
		return -ENOMEM;
	}
	a->rec = mr_recorder_create(a, err, errlen);
	if (a->rec == NULL && err[0] != '\0')
		return -EINVAL;
	a->cap = mr_capture_create(a, err, errlen);
	if (a->cap == NULL && err[0] != '\0')
		return -EINVAL;
	a->msgs = mr_messages_create(a, err, errlen);
	if (a->msgs == NULL && err[0] != '\0')
		return -EINVAL;
	a->webrtc = mr_webrtc_create(a, err, errlen);
	if (a->webrtc == NULL)
		return -ENOMEM;
	/* ng before the state store: the restore makes its calls again. */
	a->ng = mr_ng_create(cfg, a, err, errlen);
	if (a->ng == NULL && err[0] != '\0')
		return -EADDRNOTAVAIL;
	/* The state store restores before the API opens: same ids, ports, remotes, keys. */
	a->state = mr_state_create(a, err, errlen);
	if (a->state == NULL && err[0] != '\0')
		return -ENOMEM;
	mr_state_restore(a->state);
	/* Resolve the gateways right away: most remotes are behind them (after the state
	 * store said whether this node is a standby, which stays silent). */
	for (i = 0; i < dp->n_ports; i++) {
		if (cfg->ports[i].gw4.family)
			mr_neigh_get(a->neigh, i, &cfg->ports[i].gw4);
		if (cfg->ports[i].gw6.family)
			mr_neigh_get(a->neigh, i, &cfg->ports[i].gw6);
	}
	a->api = mr_api_create(cfg, a, err, errlen);
	if (a->api == NULL)
		return -EADDRNOTAVAIL;
	if (a->state != NULL) {
		mr_api_set_refusal(a->api, mr_state_refusal, a->state);
		mr_api_set_elsewhere(a->api, mr_state_elsewhere, a->state);
	}
	if (a->ng != NULL)
		mr_api_watch(a->api, mr_ng_fd(a->ng), mr_ng_poll, a->ng);
	for (i = 0; i < dp->n_workers; i++) {
		rc = rte_eal_remote_launch(mr_worker_main, dp->w[i], dp->w[i]->lcore_id);
		if (rc < 0) {
			snprintf(err, errlen, "cannot launch worker on lcore %u: %s",
				 dp->w[i]->lcore_id, rte_strerror(-rc));
			return rc;
		}
	}
	for (i = 0; i < dp->n_media; i++) {
		rc = rte_eal_remote_launch(mr_media_main, dp->media[i], dp->media[i]->lcore_id);
		if (rc < 0) {
			snprintf(err, errlen, "cannot launch media lcore %u: %s",
				 dp->media[i]->lcore_id, rte_strerror(-rc));
			return rc;
		}
	}
	APP_LOG(INFO, "mrelay up: %u port(s), %u worker(s), %u media lcore(s), API on %s\n",
		dp->n_ports, dp->n_workers, dp->n_media,
		cfg->api_listen.family == MR_AF4 ? "IPv4" : "IPv6");
	return 0;
}

/* Log the workers' re-latches (docs/OPERATIONS.md "Security"): at most one line a second per
 * worker for those that happened, with the last one's addresses, and one for refused ones.
 * Workers never log; they count and keep the last event (struct mr_worker last_relatch). */
static void
mr_latch_log(struct mr_appliance *a, uint64_t now)
{
	struct mr_dp *dp = a->dp;
	unsigned int i;

	if (now - a->relatch_log_tsc < dp->tsc_hz)
		return;
	a->relatch_log_tsc = now;
	for (i = 0; i < dp->n_workers; i++) {
		struct mr_worker *w = dp->w[i];
		uint64_t n = __atomic_load_n(&w->stats.relatches, __ATOMIC_RELAXED);
		uint64_t r = __atomic_load_n(&w->stats.drops[MR_DROP_RELATCH_SSRC],
					     __ATOMIC_RELAXED);
		uint64_t *seen = a->relatch_logged[i];

		if (n != seen[0]) {
			struct mr_ep local, from, to;
			char l[64], f[64], t[64];
			uint32_t sn;

			do {
				sn = rte_seqcount_read_begin(&w->last_relatch.seq);
				local = w->last_relatch.local;
				from = w->last_relatch.from;
				to = w->last_relatch.to;
			} while (rte_seqcount_read_retry(&w->last_relatch.seq, sn));
			APP_LOG(NOTICE, "latch: %" PRIu64 " re-latch(es) on worker %u; the last: "
				"%s followed its remote from %s to %s\n", n - seen[0], i,
				mr_ep_fmt(&local, l, sizeof(l), 1), mr_ep_fmt(&from, f, sizeof(f), 1),
				mr_ep_fmt(&to, t, sizeof(t), 1));
			seen[0] = n;
		}
		if (r != seen[1]) {
			APP_LOG(NOTICE, "latch: %" PRIu64 " packet(s) from new sources refused a "
				"re-latch on worker %u (not the SSRC the endpoint received: "
				"relatch_refused)\n", r - seen[1], i);
			seen[1] = r;
		}
	}
}

void
mr_appliance_run(struct mr_appliance *a, volatile int *stop)
{
	struct mr_dp *dp = a->dp;
	struct rte_mbuf *pkts[MR_BURST];
	uint64_t hz = rte_get_tsc_hz(), last_tick = 0;
	unsigned int i, n;

	while (!*stop) {
		uint64_t now;

		/* At most 1 ms in the HTTP server so exceptions and timers stay prompt. */
		mr_api_poll(a->api, 1);
		mr_state_poll(a->state);
		for (i = 0; i < dp->n_workers; i++) {
			n = rte_ring_sc_dequeue_burst(dp->w[i]->exc, (void **)pkts, MR_BURST, NULL);
			while (n > 0) {
				struct rte_mbuf *m = pkts[--n];

				/* DTLS of WebRTC participants, else ARP/ND. */
				if (mr_webrtc_input(a->webrtc, m) < 0)
					mr_neigh_input(a->neigh, m);
			}
		}
		now = rte_get_tsc_cycles();
		mr_webrtc_tick(a->webrtc, now);
		mr_rooms_play_tick(a->rooms, now);
		mr_sessions_play_tick(a, now);
		if (now - last_tick > hz / 100) {
			last_tick = now;
			mr_neigh_tick(a->neigh, (now - a->start_tsc) * 1000 / hz);
			mr_defer_poll(&a->defer);
			mr_sessions_tick(a->sess, now);
			mr_ng_tick(a->ng);
			mr_rooms_tick(a->rooms, now);
			mr_state_tick(a->state, now);
			mr_recorder_tick(a->rec);
			mr_capture_tick(a->cap);
			mr_telemetry_tick(a);
			mr_latch_log(a, now);
		}
	}
}

void
mr_appliance_stop(struct mr_appliance *a)
{
	struct mr_dp *dp = a->dp;
	unsigned int i, j;

	if (dp == NULL)
		return;
	/* Relaxed: the workers poll the flag; rte_eal_mp_wait_lcore() synchronises. */
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	mr_api_free(a->api);
	a->api = NULL;
	/* Its calls end their sessions: before the deferral queue is drained. */
	mr_ng_free(a->ng);
	a->ng = NULL;
	/* What waits for its grace period first: its free callbacks need the rooms, the
	 * sessions and the endpoints. */
	mr_defer_drain(&a->defer);
	mr_recorder_free(a->rec);
	a->rec = NULL;
	mr_capture_free(a->cap);
	a->cap = NULL;
	mr_sessions_play_free();
	mr_messages_free(a->msgs);
	a->msgs = NULL;
	mr_rooms_free(a->rooms);
	a->rooms = NULL;
	mr_webrtc_free(a->webrtc);
	a->webrtc = NULL;
	mr_sessions_free(a->sess);
	a->sess = NULL;
	/* After the sessions: what ends one on the way out is still heard. Nothing is
	 * deleted from Redis by a stop: a restart restores the sessions. */
	mr_state_free(a->state);
	a->state = NULL;
	mr_flows_free(a->flows);
	a->flows = NULL;
	mr_neigh_free(a->neigh);
	a->neigh = NULL;
	for (i = 0; i < dp->n_workers; i++) {
		struct mr_worker *w = dp->w[i];
		struct rte_mbuf *m;

		if (w == NULL)
			continue;
		for (j = 0; j < dp->n_workers; j++) {
			if (w->handoff[j] == NULL)
				continue;
			while (rte_ring_dequeue(w->handoff[j], (void **)&m) == 0)
				rte_pktmbuf_free(m);
			rte_ring_free(w->handoff[j]);
		}
		if (w->exc != NULL)
			while (rte_ring_dequeue(w->exc, (void **)&m) == 0)
				rte_pktmbuf_free(m);
		if (w->cp_tx != NULL)
			while (rte_ring_dequeue(w->cp_tx, (void **)&m) == 0)
				rte_pktmbuf_free(m);
		rte_ring_free(w->cp_tx);
		rte_ring_free(w->exc);
		rte_ring_free(w->cmd);
		mr_flow_table_free(w->flows);
		mr_worker_srtp_free(w);
		rte_free(w);
		dp->w[i] = NULL;
	}
	/* After the rooms, which freed their mixing state: the rings' mbufs go back. */
	for (i = 0; i < dp->n_media; i++) {
		mr_media_free(dp->media[i]);
		dp->media[i] = NULL;
	}
	dp->n_media = 0;
	rte_free(dp->mix_slot);
	dp->mix_slot = NULL;
	for (i = 0; i < dp->n_ports; i++) {
		mr_steer_ranges_remove(dp->port[i].port_id, &a->steer[i]);
		mr_port_close(&dp->port[i]);
	}
	rte_mempool_free(a->mp);
	rte_free(dp->qsv);
	rte_free(dp->owner);
	rte_free(dp);
	a->dp = NULL;
}
