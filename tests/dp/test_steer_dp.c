/* SPDX-License-Identifier: BSD-3-Clause
 * Steering across 4 workers (docs/ARCHITECTURE.md "Steering"): the real endpoint allocator
 * (controlplane/core/flows.c) and worker loop on a ring port with 4 RX queues, fed by a
 * stand-in NIC that picks each packet's queue the way the port is set to: RSS on the local
 * endpoint (rte_softrss with the key and table drivers/port.c would program), rte_flow
 * port-range rules, or RSS on the 4-tuple (a NIC that steers nothing: the software hand-off,
 * batched per destination). Thousands of sessions; every packet must reach its owner, which
 * finds no flow for it (none is added) and counts it there: drops.no_flow per worker is what
 * it received as owner.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_thash.h>
#include "appliance.h"
#include "counters.h"
#include "dp_priv.h"
#include "flow_table.h"
#include "flows.h"
#include "rss.h"
#include "dp_frames.h"

#define N_W		4
#define RING_SZ		1024
#define N_SESS		2000	/* 4000 endpoints, 8000 relay ports */
#define T0		1000000000ULL

static __typeof__(rte_eth_from_rings) *from_rings;
static struct rte_mempool *pool;
static struct mr_dp *dp;
static uint16_t pid;
static struct rte_ring *rxr[N_W], *txr[N_W];
static struct mr_config cfg;
static struct mr_appliance app;

static const uint8_t MAC[6] = { 0x02, 0, 0, 0, 0x0d, 0x01 };
static const uint8_t XMAC[6] = { 0x02, 0, 0, 0, 0xbb, 0x11 };

static int
world_up(void **state)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_eth_conf conf;
	unsigned int i, j;
	int p;

	(void)state;
	if (dlsym(RTLD_DEFAULT, "rte_eth_from_rings") == NULL &&
	    dlopen("librte_net_ring.so.23", RTLD_NOW | RTLD_GLOBAL) == NULL &&
	    dlopen("librte_net_ring.so", RTLD_NOW | RTLD_GLOBAL) == NULL)
		return -1;
	*(void **)&from_rings = dlsym(RTLD_DEFAULT, "rte_eth_from_rings");
	pool = rte_pktmbuf_pool_create("s_pool", 8191, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (from_rings == NULL || pool == NULL)
		return -1;
	for (i = 0; i < N_W; i++) {
		snprintf(name, sizeof(name), "s_rx_%u", i);
		rxr[i] = rte_ring_create(name, RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "s_tx_%u", i);
		txr[i] = rte_ring_create(name, RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rxr[i] == NULL || txr[i] == NULL)
			return -1;
	}
	p = from_rings("s_port", rxr, N_W, txr, N_W, 0);
	if (p < 0)
		return -1;
	pid = (uint16_t)p;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(pid, N_W, N_W, &conf) != 0)
		return -1;
	for (i = 0; i < N_W; i++)
		if (rte_eth_rx_queue_setup(pid, i, RING_SZ, 0, NULL, pool) != 0 ||
		    rte_eth_tx_queue_setup(pid, i, RING_SZ, 0, NULL) != 0)
			return -1;
	if (rte_eth_dev_start(pid) != 0)
		return -1;

	dp = rte_zmalloc("s_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL)
		return -1;
	dp->owner = rte_zmalloc("s_owner", 65536, RTE_CACHE_LINE_SIZE);
	dp->qsv = rte_zmalloc("s_qsbr", rte_rcu_qsbr_get_memsize(N_W), RTE_CACHE_LINE_SIZE);
	if (dp->owner == NULL || dp->qsv == NULL || rte_rcu_qsbr_init(dp->qsv, N_W) != 0)
		return -1;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->n_addr_idx = 1;
	dp->n_ports = 1;
	dp->n_workers = N_W;
	dp->port[0].port_id = pid;
	dp->port[0].n_rxq = N_W;
	memcpy(dp->port[0].mac.addr_bytes, MAC, 6);
	dp->port[0].has4 = 1;
	dp->port[0].plen4 = 24;
	memcpy(dp->port[0].addr4, (uint8_t[]){ 198, 18, 0, 1 }, 4);
	dp->port[0].has6 = 1;
	dp->port[0].plen6 = 64;
	inet_pton(AF_INET6, "2001:2::1", dp->port[0].addr6);
	dp->port[0].neigh = rte_zmalloc("s_neigh", sizeof(struct mr_neigh_slot) *
					MR_NEIGH_SLOTS, 0);
	dp->port_idx_of[pid] = 0;
	for (i = 0; i < N_W; i++) {
		struct mr_worker *w = rte_zmalloc("s_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);

		if (w == NULL)
			return -1;
		dp->w[i] = w;
		w->dp = dp;
		w->idx = i;
		w->lcore_id = rte_lcore_id();
		snprintf(name, sizeof(name), "s_flows_%u", i);
		w->flows = mr_flow_table_create(name, 1024, SOCKET_ID_ANY, dp->qsv);
		snprintf(name, sizeof(name), "s_cmd_%u", i);
		w->cmd = rte_ring_create_elem(name, sizeof(struct mr_cmd), 64, SOCKET_ID_ANY,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->flows == NULL || w->cmd == NULL)
			return -1;
		/* Worker i polls queue i, as appliance.c deals them. */
		w->n_rxq = 1;
		w->rxq[0].port_idx = 0;
		w->rxq[0].queue = (uint16_t)i;
	}
	for (i = 0; i < N_W; i++)
		for (j = 0; j < N_W; j++) {
			if (i == j)
				continue;
			snprintf(name, sizeof(name), "s_ho_%u_%u", j, i);
			dp->w[i]->handoff[j] = rte_ring_create(name, RING_SZ, SOCKET_ID_ANY,
							       RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (dp->w[i]->handoff[j] == NULL)
				return -1;
		}
	cfg.port_min = 20000;
	cfg.port_max = 59999;
	app.cfg = &cfg;
	app.dp = dp;
	return 0;
}

static int
world_down(void **state)
{
	(void)state;
	return 0;
}

static int
case_up(void **state)
{
	unsigned int i;

	(void)state;
	memset(dp->owner, 0, 65536);
	for (i = 0; i < N_W; i++)
		memset(&dp->w[i]->stats, 0, sizeof(dp->w[i]->stats));
	memset(&app.steer, 0, sizeof(app.steer));
	memset(&app.cps, 0, sizeof(app.cps));
	return 0;
}

/* Run every worker until nothing moves. */
static void
run_all(void)
{
	unsigned int i, work;

	do {
		work = 0;
		for (i = 0; i < N_W; i++)
			work += mr_worker_iteration(dp->w[i], T0);
	} while (work != 0);
}

/* The queue a 4-tuple RSS NIC (no steering) picks: Toeplitz over src, dst, ports. */
static unsigned int
queue_4tuple(const struct mr_ep *src, const struct mr_ep *dst)
{
	union rte_thash_tuple t;

	memset(&t, 0, sizeof(t));
	t.v4.src_addr = rte_be_to_cpu_32(*(const uint32_t *)src->a);
	t.v4.dst_addr = rte_be_to_cpu_32(*(const uint32_t *)dst->a);
	t.v4.sport = src->port;
	t.v4.dport = dst->port;
	return rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, mr_rss_default_key) % N_W;
}

/* Allocate N_SESS sessions' endpoints (two legs, owner the least loaded worker, as
 * sessions.c does), send one packet to each RTP and RTCP port from a remote of its own,
 * each on the queue the stand-in NIC picks; check every packet reached its owner. Returns
 * the packets that arrived on another worker's queue. */
static uint64_t
send_all(struct mr_flows *fl)
{
	static struct mr_ep eps[2 * N_SESS];
	static uint8_t own[2 * N_SESS];
	uint64_t expect_owned[N_W] = { 0 }, off_queue = 0, no_flow, rx_owned = 0, hin = 0;
	uint64_t hout = 0;
	const struct mr_port_steer *st = &app.steer[0];
	unsigned int i, leg, p, w;
	uint8_t pl[64];
	uint16_t plen = rtp(pl, 0, 1, 0, 0x1, 16);
	struct frame f;

	for (i = 0; i < N_SESS; i++) {
		w = mr_flows_least_loaded(fl);
		for (leg = 0; leg < 2; leg++) {
			uint8_t fam = (i % 5 == 4) ? MR_AF6 : MR_AF4;

			assert_int_equal(mr_flows_ep_alloc(fl, 0, fam, w, &eps[2 * i + leg]), 0);
			own[2 * i + leg] = (uint8_t)w;
		}
		mr_flows_load_add(fl, w, 1);
	}
	for (i = 0; i < 2 * N_SESS; i++) {
		for (p = 0; p < 2; p++) {
			struct mr_ep dst = eps[i], src;
			struct rte_mbuf *m;
			unsigned int q;
			uint8_t *d;

			dst.port = (uint16_t)(dst.port + p);
			if (dst.family == MR_AF4)
				src = ep4(198, 19, (uint8_t)(i >> 8), (uint8_t)i,
					  (uint16_t)(1024 + i * 7 + p));
			else
				src = ep6("2001:2::99", (uint16_t)(1024 + i * 7 + p));
			if (st->mode == MR_STEERED_RSS)
				q = mr_rss_queue(&st->rss, &dst);
			else if (st->mode == MR_STEERED_RTE_FLOW)
				q = st->range_q[mr_steer_range_of(dst.port, st->range_bits)];
			else if (dst.family == MR_AF4)
				q = queue_4tuple(&src, &dst);
			else
				q = (i + p) % N_W;
			build_udp(&f, MAC, XMAC, &src, &dst, pl, plen, &PLAIN);
			m = rte_pktmbuf_alloc(pool);
			assert_non_null(m);
			d = (uint8_t *)rte_pktmbuf_append(m, f.len);
			memcpy(d, f.b, f.len);
			m->port = pid;
			assert_int_equal(rte_ring_sp_enqueue(rxr[q], m), 0);
			expect_owned[own[i]]++;
			off_queue += q != own[i];
		}
		if (i % 128 == 127)
			run_all();
	}
	run_all();
	for (w = 0; w < N_W; w++) {
		const struct mr_lcore_stats *s = &dp->w[w]->stats;

		/* Each packet reached its owner, who looked it up (no flow) and counted it. */
		no_flow = s->drops[MR_DROP_NO_FLOW];
		assert_int_equal(no_flow, expect_owned[w]);
		assert_int_equal(s->drops[MR_DROP_HANDOFF_FULL] + s->drops[MR_DROP_HANDOFF_STALE],
				 0);
		rx_owned += s->rx_owned;
		hin += s->handoff_in;
		hout += s->handoff_out;
	}
	assert_int_equal(hout, off_queue);
	assert_int_equal(hin, off_queue);
	assert_int_equal(rx_owned + off_queue, 4 * N_SESS);
	for (i = 0; i < 2 * N_SESS; i++)
		mr_flows_ep_free(fl, 0, &eps[i]);
	return off_queue;
}

/* RSS on the local endpoint: no packet crosses a hand-off ring. */
static void
test_rss_no_handoff(void **state)
{
	struct mr_port_steer *st = &app.steer[0];
	struct mr_flows *fl;
	unsigned int w;

	(void)state;
	st->mode = MR_STEERED_RSS;
	memcpy(st->rss.key, mr_rss_default_key, 40);
	st->rss.key_len = 40;
	st->rss.reta_size = 128;
	mr_rss_reta_fill(st->rss.key, 128, N_W, st->rss.reta);
	fl = mr_flows_create(&app);
	assert_non_null(fl);
	assert_int_equal(send_all(fl), 0);
	assert_int_equal(app.cps.steer_misses, 0);
	for (w = 0; w < N_W; w++) {
		assert_int_equal(dp->w[w]->stats.handoff_bursts, 0);
		/* The load stays balanced: each worker owns a quarter. */
		assert_int_equal(dp->w[w]->stats.rx_owned, N_SESS);
	}
	mr_flows_free(fl);
}

/* rte_flow rules on port ranges: same, with 4 rules a family. */
static void
test_ranges_no_handoff(void **state)
{
	struct mr_port_steer *st = &app.steer[0];
	struct mr_flows *fl;
	unsigned int r;

	(void)state;
	st->mode = MR_STEERED_RTE_FLOW;
	st->range_bits = 2;
	for (r = 0; r < 4; r++) {
		st->range_w[r] = (uint8_t)r;
		st->range_q[r] = (uint16_t)r;
	}
	fl = mr_flows_create(&app);
	assert_non_null(fl);
	assert_int_equal(send_all(fl), 0);
	assert_int_equal(app.cps.steer_misses, 0);
	mr_flows_free(fl);
}

/* A port that steers nothing: about 3/4 of the packets reach their owner over the
 * hand-off rings, and every one arrives. */
static void
test_software_handoff(void **state)
{
	struct mr_flows *fl;
	uint64_t off;

	(void)state;
	fl = mr_flows_create(&app);
	assert_non_null(fl);
	off = send_all(fl);
	assert_true(off > 4 * N_SESS / 2 && off < 4 * N_SESS);
	mr_flows_free(fl);
}

/* One RX burst of 32 packets for three other workers: three enqueue bursts, not 32, and
 * each owner receives its packets in the order they arrived. */
static void
test_handoff_batched(void **state)
{
	struct mr_worker *w0 = dp->w[0];
	struct rte_mbuf *got[64];
	uint8_t pl[64];
	uint16_t plen = rtp(pl, 0, 1, 0, 0x1, 16);
	unsigned int i, n, to;
	struct frame f;

	(void)state;
	for (i = 0; i < 32; i++) {
		struct mr_ep src = ep4(198, 19, 0, 9, (uint16_t)(5000 + i));
		struct mr_ep dst = ep4(198, 18, 0, 1, (uint16_t)(30000 + 2 * (i % 3)));
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		dp->owner[dst.port] = (uint8_t)(1 + 1 + i % 3);	/* workers 1, 2, 3 */
		build_udp(&f, MAC, XMAC, &src, &dst, pl, plen, &PLAIN);
		memcpy(rte_pktmbuf_append(m, f.len), f.b, f.len);
		m->port = pid;
		assert_int_equal(rte_ring_sp_enqueue(rxr[0], m), 0);
	}
	assert_int_equal(mr_worker_iteration(w0, T0), 32);
	assert_int_equal(w0->stats.handoff_out, 32);
	assert_int_equal(w0->stats.handoff_bursts, 3);
	assert_int_equal(w0->stats.rx_owned, 0);
	for (to = 1; to < N_W; to++) {
		n = rte_ring_sc_dequeue_burst(dp->w[to]->handoff[0], (void **)got, 64, NULL);
		assert_int_equal(n, to == 1 ? 11 : to == 2 ? 11 : 10);
		for (i = 0; i < n; i++) {
			const uint8_t *b = rte_pktmbuf_mtod(got[i], const uint8_t *);

			/* UDP source port 5000 + (to - 1) + 3 i: arrival order kept. */
			assert_int_equal(be16(b + 14 + 20), 5000 + (to - 1) + 3 * i);
		}
		rte_pktmbuf_free_bulk(got, n);
	}
	/* A full ring refuses part of a burst: counted per packet. */
	for (i = 0; i < 4; i++) {
		struct mr_ep src = ep4(198, 19, 0, 9, (uint16_t)(6000 + i));
		struct mr_ep dst = ep4(198, 18, 0, 1, 30000);
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		build_udp(&f, MAC, XMAC, &src, &dst, pl, plen, &PLAIN);
		memcpy(rte_pktmbuf_append(m, f.len), f.b, f.len);
		m->port = pid;
		assert_int_equal(rte_ring_sp_enqueue(rxr[0], m), 0);
	}
	n = rte_ring_free_count(dp->w[1]->handoff[0]);
	for (i = 0; i + 2 < n; i++)
		assert_int_equal(rte_ring_sp_enqueue(dp->w[1]->handoff[0], got), 0);
	mr_worker_iteration(w0, T0);
	assert_int_equal(w0->stats.handoff_out, 34);
	assert_int_equal(w0->stats.drops[MR_DROP_HANDOFF_FULL], 2);
	n = rte_ring_sc_dequeue_burst(dp->w[1]->handoff[0], (void **)got, 64, NULL);
	while (n == 64)
		n = rte_ring_sc_dequeue_burst(dp->w[1]->handoff[0], (void **)got, 64, NULL);
	rte_pktmbuf_free_bulk(&got[n - 2], 2);
	memset(dp->owner, 0, 65536);
}

int
main(void)
{
	static char *eal_argv[] = { "test_steer_dp", "--no-huge", "-m", "512", "--no-pci",
		"--no-shconf", "-l", "0", "--log-level", "lib.eal:error", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rss_no_handoff, case_up),
		cmocka_unit_test_setup(test_ranges_no_handoff, case_up),
		cmocka_unit_test_setup(test_software_handoff, case_up),
		cmocka_unit_test_setup(test_handoff_batched, case_up),
	};
	int rc;

	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rc = cmocka_run_group_tests(tests, world_up, world_down);
	rte_eal_cleanup();
	return rc;
}
