/* SPDX-License-Identifier: BSD-3-Clause
 * Dataplane worker test with a real EAL (--no-huge) and real ethdev ports made from rings
 * (net_ring PMD): frames are built byte by byte, enqueued on a port's RX ring, the worker runs
 * one iteration at a chosen TSC value, and what it transmitted is read back from the TX ring
 * of its queue. Checksums are checked against byte-by-byte RFC 1071 references written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <dlfcn.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_seqcount.h>

#include "appliance.h"
#include "cap.h"
#include "cmdq.h"
#include "counters.h"
#include "defer.h"
#include "dp_priv.h"
#include "flow_table.h"
#include "flows.h"
#include "neigh_pkt.h"
#include "pkt_parse.h"
#include "rtp_stats.h"
#include "session_dp.h"
#include "dp_frames.h"

#define N_WORKERS	2
#define N_PORTS		3
#define P_A		0	/* IPv4 + IPv6, untagged */
#define P_B		1	/* IPv4 + IPv6, untagged */
#define P_C		2	/* IPv4, VLAN 100 */
#define N_MBUF		511
#define RING_SZ		256
#define T0		1000000000ULL	/* synthetic TSC base */
#define MAX_SESS	32

/* rte_eth_from_rings lives in librte_net_ring, which the test is not linked with: it is
 * looked up at run time (from the PMDs the EAL loaded, or by loading the library). */
static __typeof__(rte_eth_from_rings) *from_rings;

static struct rte_mempool *pool;
static struct mr_dp *dp;
static uint16_t port_id[N_PORTS];
static struct rte_ring *rx_ring[N_PORTS];
static struct rte_ring *tx_ring[N_PORTS][N_WORKERS + 1];
static struct mr_dp_session *sess[MAX_SESS];
static unsigned int n_sess;
static unsigned int pool_base;	/* free mbufs when the case started */
static int dummy[RING_SZ];	/* stand-ins that fill a ring; never freed as mbufs */

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0x0b, 0x01 };
static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0x0c, 0x01 };
static const uint8_t RMAC0[6] = { 0x02, 0, 0, 0, 0xaa, 0x10 };	/* next hop of R0 */
static const uint8_t RMAC1[6] = { 0x02, 0, 0, 0, 0xaa, 0x20 };	/* another next hop */
static const uint8_t XMAC[6] = { 0x02, 0, 0, 0, 0xbb, 0x11 };	/* the caller's router */
static const uint8_t YMAC[6] = { 0x02, 0, 0, 0, 0xbb, 0x12 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---- helpers: endpoints ---- */




static uint64_t
mac48(const uint8_t *m)
{
	return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
		(uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
}

static void
neigh_set(unsigned int pidx, unsigned int slot, const uint8_t *mac)
{
	dp->port[pidx].neigh[slot].w = MR_NEIGH_VALID | mac48(mac);
}

/* ---- reference checksums (RFC 1071, big-endian words, no shortcuts) ---- */





/* ICMPv6 checksum: 1 when the message (field included) sums to 0xffff with its
 * pseudo-header (RFC 4443 §2.3). */
static int
ref_icmp6_ok(const uint8_t *ip6, const uint8_t *icmp, uint16_t len)
{
	uint8_t ph[8] = { 0, 0, len >> 8, (uint8_t)len, 0, 0, 0, 58 };
	uint32_t s = ref_add(0, ip6 + 8, 32);

	s = ref_add(s, ph, 8);
	s = ref_add(s, icmp, len);
	return ref_fold(s) == 0xffff;
}

/* ---- helpers: frames ---- */




/* An RTCP sender report header (RFC 3550 §6.4.1), 28 bytes. */
static uint16_t
rtcp_sr(uint8_t *p, uint32_t ssrc)
{
	memset(p, 0, 28);
	p[0] = 0x80;
	p[1] = 200;
	p[3] = 6;
	p[4] = ssrc >> 24;
	p[5] = ssrc >> 16;
	p[6] = ssrc >> 8;
	p[7] = (uint8_t)ssrc;
	p[20] = 0x5a;
	return 28;
}

static struct rte_mbuf *
inject_room(unsigned int pidx, const uint8_t *b, uint16_t len, uint16_t headroom)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *d;

	assert_non_null(m);
	m->data_off = headroom;
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	assert_non_null(d);
	memcpy(d, b, len);
	m->port = port_id[pidx];
	assert_int_equal(rte_ring_sp_enqueue(rx_ring[pidx], m), 0);
	return m;
}

static struct rte_mbuf *
inject(unsigned int pidx, const uint8_t *b, uint16_t len)
{
	return inject_room(pidx, b, len, RTE_PKTMBUF_HEADROOM);
}

static struct rte_mbuf *
inject_f(unsigned int pidx, const struct frame *f)
{
	return inject(pidx, f->b, f->len);
}

/* What worker queue q sent on port pidx: exactly n mbufs, returned in out. */
static void
take_n(unsigned int pidx, unsigned int q, struct rte_mbuf **out, unsigned int n)
{
	unsigned int got = rte_ring_sc_dequeue_burst(tx_ring[pidx][q], (void **)out, 64, NULL);

	assert_int_equal(got, n);
}

static struct rte_mbuf *
take1(unsigned int pidx, unsigned int q)
{
	struct rte_mbuf *m[64];

	take_n(pidx, q, m, 1);
	return m[0];
}

static void
assert_quiet(void)
{
	unsigned int i, q;

	for (i = 0; i < N_PORTS; i++) {
		assert_int_equal(rte_ring_count(rx_ring[i]), 0);
		for (q = 0; q <= N_WORKERS; q++)
			assert_int_equal(rte_ring_count(tx_ring[i][q]), 0);
	}
	assert_int_equal(rte_ring_count(dp->w[0]->cp_tx), 0);
	for (i = 0; i < N_WORKERS; i++) {
		assert_int_equal(rte_ring_count(dp->w[i]->exc), 0);
		for (q = 0; q < N_WORKERS; q++)
			if (dp->w[i]->handoff[q] != NULL)
				assert_int_equal(rte_ring_count(dp->w[i]->handoff[q]), 0);
	}
}

static uint64_t
drops_total(const struct mr_worker *w)
{
	uint64_t t = 0;
	unsigned int i;

	for (i = 0; i < MR_DROP_MAX; i++)
		t += w->stats.drops[i];
	return t;
}

/* Check a relayed frame: every header field the worker writes, both checksums against the
 * references, and the payload. tci: -1 untagged. expect_zero_ck: UDP checksum must be 0. */
static void
check_udp_out(const struct rte_mbuf *m, const uint8_t *dmac, const uint8_t *smac, int tci,
	      const struct mr_ep *src, const struct mr_ep *dst, uint8_t tos, const uint8_t *pl,
	      uint16_t plen, int expect_zero_ck)
{
	const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t l2 = tci >= 0 ? 18 : 14, l3len = dst->family == MR_AF4 ? 20 : 40;
	uint16_t ulen = 8 + plen;
	const uint8_t *ip = f + l2, *udp = f + l2 + l3len;

	assert_int_equal(m->nb_segs, 1);
	assert_int_equal(m->data_len, l2 + l3len + ulen);
	assert_int_equal(m->pkt_len, l2 + l3len + ulen);
	assert_memory_equal(f, dmac, 6);
	assert_memory_equal(f + 6, smac, 6);
	if (tci >= 0) {
		assert_int_equal(be16(f + 12), 0x8100);
		assert_int_equal(be16(f + 14), tci);
	}
	if (dst->family == MR_AF4) {
		assert_int_equal(be16(f + l2 - 2), 0x0800);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], tos);
		assert_int_equal(be16(ip + 2), 20 + ulen);
		assert_int_equal(be16(ip + 4), 0);
		assert_int_equal(be16(ip + 6), 0x4000);	/* DF, offset 0 */
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 17);
		assert_int_equal(be16(ip + 10), ref_ip4(ip, 20));
		assert_int_equal(ref_fold(ref_add(0, ip, 20)), 0xffff);
		assert_memory_equal(ip + 12, src->a, 4);
		assert_memory_equal(ip + 16, dst->a, 4);
	} else {
		assert_int_equal(be16(f + l2 - 2), 0x86dd);
		assert_int_equal(ip[0], 0x60 | (tos >> 4));
		assert_int_equal(ip[1], (uint8_t)(tos << 4));	/* flow label 0 */
		assert_int_equal(be16(ip + 2), 0);
		assert_int_equal(be16(ip + 4), ulen);
		assert_int_equal(ip[6], 17);
		assert_int_equal(ip[7], 64);
		assert_memory_equal(ip + 8, src->a, 16);
		assert_memory_equal(ip + 24, dst->a, 16);
	}
	assert_int_equal(be16(udp), src->port);
	assert_int_equal(be16(udp + 2), dst->port);
	assert_int_equal(be16(udp + 4), ulen);
	if (expect_zero_ck)
		assert_int_equal(be16(udp + 6), 0);
	else
		assert_int_equal(be16(udp + 6), ref_udp(dst->family, src->a, dst->a, udp, ulen));
	assert_memory_equal(udp + 8, pl, plen);
	assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM), 0);
}

/* ---- helpers: sessions (as controlplane/sessions/sessions.c builds and publishes them) ---- */

static struct mr_dp_session *
sess_new(unsigned int owner, int mux, unsigned int p0, uint8_t f0, uint16_t port0,
	 unsigned int p1, uint8_t f1, uint16_t port1)
{
	struct mr_dp_session *s = rte_zmalloc("test_sess", sizeof(*s), RTE_CACHE_LINE_SIZE);
	unsigned int pidx[2] = { p0, p1 }, i;
	uint8_t fam[2] = { f0, f1 };
	uint16_t port[2] = { port0, port1 };

	assert_non_null(s);
	assert_true(n_sess < MAX_SESS);
	sess[n_sess++] = s;
	s->rtcp_mux = (uint8_t)mux;
	s->owner = (uint8_t)owner;
	s->last_rx_tsc = T0;
	for (i = 0; i < 2; i++) {
		struct mr_dp_leg *l = &s->leg[i];

		l->port_idx = (uint16_t)pidx[i];
		l->local.family = fam[i];
		l->local.port = port[i];
		if (fam[i] == MR_AF4)
			memcpy(l->local.a, dp->port[pidx[i]].addr4, 4);
		else
			memcpy(l->local.a, dp->port[pidx[i]].addr6, 16);
		rte_seqcount_init(&l->seq);
		mr_rtp_stats_init(&l->rtp);
	}
	return s;
}

/* A configured remote, as mr_fill_path() sets it before publication. */
static void
path_set(struct mr_dp_session *s, unsigned int leg, unsigned int path, const struct mr_ep *r,
	 uint16_t nh)
{
	struct mr_dp_path *p = &s->leg[leg].path[path];

	p->remote = *r;
	p->nh = nh;
	p->state = MR_PATH_CONFIGURED;
	p->last_rx_tsc = T0;
}

static void
key_of(const struct mr_dp_session *s, unsigned int leg, unsigned int path,
       struct mr_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->a, s->leg[leg].local.a, 16);
	k->port = s->leg[leg].local.port + path;
	k->family = s->leg[leg].local.family;
}

static void
sess_publish(struct mr_dp_session *s)
{
	struct mr_flow_key k;
	unsigned int i, p;

	for (i = 0; i < 2; i++) {
		dp->owner[s->leg[i].local.port] = s->owner + 1;
		dp->owner[s->leg[i].local.port + 1] = s->owner + 1;
	}
	for (i = 0; i < 2; i++) {
		for (p = 0; p < (s->rtcp_mux ? 1u : 2u); p++) {
			key_of(s, i, p, &k);
			assert_int_equal(mr_flow_table_add(dp->w[s->owner]->flows, &k,
							   mr_flow_val(s, i, p)), 0);
		}
	}
}

static void
sess_free_all(void)
{
	struct mr_flow_key k;
	unsigned int j, i, p;

	for (j = 0; j < n_sess; j++) {
		struct mr_dp_session *s = sess[j];

		for (i = 0; i < 2; i++) {
			for (p = 0; p < 2; p++) {
				key_of(s, i, p, &k);
				mr_flow_table_del(dp->w[s->owner]->flows, &k);
			}
			dp->owner[s->leg[i].local.port] = 0;
			dp->owner[s->leg[i].local.port + 1] = 0;
		}
		rte_free(s);
		sess[j] = NULL;
	}
	n_sess = 0;
}

/* ---- world: EAL objects, ports, workers ---- */

static int
port_make(unsigned int i, const char *name)
{
	struct rte_ring *tx[N_WORKERS + 1];
	struct rte_eth_conf conf;
	char rn[RTE_RING_NAMESIZE];
	unsigned int q;
	int pid;

	snprintf(rn, sizeof(rn), "t_rx_%u", i);
	rx_ring[i] = rte_ring_create(rn, RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rx_ring[i] == NULL)
		return -1;
	for (q = 0; q <= N_WORKERS; q++) {
		snprintf(rn, sizeof(rn), "t_tx_%u_%u", i, q);
		tx_ring[i][q] = rte_ring_create(rn, RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (tx_ring[i][q] == NULL)
			return -1;
		tx[q] = tx_ring[i][q];
	}
	pid = from_rings(name, &rx_ring[i], 1, tx, N_WORKERS + 1, 0);
	if (pid < 0)
		return -1;
	port_id[i] = (uint16_t)pid;
	/* The ring PMD's burst functions are installed by start, not by creation. */
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port_id[i], 1, N_WORKERS + 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port_id[i], 0, RING_SZ, 0, NULL, pool) != 0)
		return -1;
	for (q = 0; q <= N_WORKERS; q++)
		if (rte_eth_tx_queue_setup(port_id[i], q, RING_SZ, 0, NULL) != 0)
			return -1;
	return rte_eth_dev_start(port_id[i]);
}

static void
port_fill(unsigned int i, const uint8_t *mac, const uint8_t *a4, const char *a6, uint16_t vlan)
{
	struct mr_dp_port *p = &dp->port[i];

	p->port_id = port_id[i];
	p->n_rxq = 1;
	p->vlan = vlan;
	memcpy(p->mac.addr_bytes, mac, 6);
	p->has4 = 1;
	p->plen4 = 24;
	memcpy(p->addr4, a4, 4);
	if (a6 != NULL) {
		p->has6 = 1;
		p->plen6 = 64;
		assert_int_equal(inet_pton(AF_INET6, a6, p->addr6), 1);
	}
	/* EUI-64 link-local, as drivers/port.c derives it. */
	p->ll6[0] = 0xfe;
	p->ll6[1] = 0x80;
	p->ll6[8] = mac[0] ^ 0x02;
	p->ll6[9] = mac[1];
	p->ll6[10] = mac[2];
	p->ll6[11] = 0xff;
	p->ll6[12] = 0xfe;
	p->ll6[13] = mac[3];
	p->ll6[14] = mac[4];
	p->ll6[15] = mac[5];
	p->tx_ip_cksum = 0;	/* software checksums are what is tested */
	p->tx_udp_cksum = 0;
	p->neigh = rte_zmalloc("t_neigh", sizeof(struct mr_neigh_slot) * MR_NEIGH_SLOTS, 0);
	assert_non_null(p->neigh);
	snprintf(p->name, sizeof(p->name), "ring%u", i);
	dp->port_idx_of[port_id[i]] = (uint8_t)i;
}

static int
world_up(void **state)
{
	static const uint8_t a4[N_PORTS][4] = {
		{ 198, 18, 0, 1 }, { 198, 18, 1, 1 }, { 198, 18, 2, 1 } };
	static const char *const names[N_PORTS] = { "t_a", "t_b", "t_c" };
	char name[RTE_RING_NAMESIZE];
	unsigned int i, j;
	size_t sz;

	(void)state;
	if (dlsym(RTLD_DEFAULT, "rte_eth_from_rings") == NULL &&
	    dlopen("librte_net_ring.so.23", RTLD_NOW | RTLD_GLOBAL) == NULL &&
	    dlopen("librte_net_ring.so", RTLD_NOW | RTLD_GLOBAL) == NULL) {
		fprintf(stderr, "cannot load librte_net_ring: %s\n", dlerror());
		return -1;
	}
	*(void **)&from_rings = dlsym(RTLD_DEFAULT, "rte_eth_from_rings");
	if (from_rings == NULL)
		return -1;
	pool = rte_pktmbuf_pool_create("t_pool", N_MBUF, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		return -1;
	for (i = 0; i < N_PORTS; i++)
		if (port_make(i, names[i]) != 0)
			return -1;

	dp = rte_zmalloc("t_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL)
		return -1;
	dp->owner = rte_zmalloc("t_owner", 65536, RTE_CACHE_LINE_SIZE);
	sz = rte_rcu_qsbr_get_memsize(N_WORKERS);
	dp->qsv = rte_zmalloc("t_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->owner == NULL || dp->qsv == NULL || rte_rcu_qsbr_init(dp->qsv, N_WORKERS) != 0)
		return -1;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->relatch_tsc = dp->tsc_hz;		/* 1 s */
	dp->n_addr_idx = 1;
	dp->n_ports = N_PORTS;
	dp->n_workers = N_WORKERS;
	port_fill(P_A, MAC_A, a4[P_A], "2001:db8:a::1", 0);
	port_fill(P_B, MAC_B, a4[P_B], "2001:db8:b::1", 0);
	port_fill(P_C, MAC_C, a4[P_C], NULL, 100);

	for (i = 0; i < N_WORKERS; i++) {
		struct mr_worker *w = rte_zmalloc("t_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);

		if (w == NULL)
			return -1;
		dp->w[i] = w;
		w->dp = dp;
		w->idx = i;
		w->lcore_id = rte_lcore_id();
		snprintf(name, sizeof(name), "t_flows_%u", i);
		w->flows = mr_flow_table_create(name, 1024, SOCKET_ID_ANY, dp->qsv);
		snprintf(name, sizeof(name), "t_cmd_%u", i);
		w->cmd = rte_ring_create_elem(name, sizeof(struct mr_cmd), 64, SOCKET_ID_ANY,
					      RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "t_exc_%u", i);
		w->exc = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->flows == NULL || w->cmd == NULL || w->exc == NULL)
			return -1;
	}
	for (i = 0; i < N_WORKERS; i++) {
		for (j = 0; j < N_WORKERS; j++) {
			if (i == j)
				continue;
			snprintf(name, sizeof(name), "t_ho_%u_%u", j, i);
			dp->w[i]->handoff[j] = rte_ring_create(name, 64, SOCKET_ID_ANY,
							       RING_F_SP_ENQ | RING_F_SC_DEQ);
			if (dp->w[i]->handoff[j] == NULL)
				return -1;
		}
	}
	/* The control thread's packets go out through worker 0, as in appliance.c. */
	dp->w[0]->cp_tx = rte_ring_create("t_cp_tx", 64, SOCKET_ID_ANY,
					  RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (dp->w[0]->cp_tx == NULL)
		return -1;
	/* Worker 0 polls queue 0 of every port; worker 1 gets packets only by hand-off. */
	for (i = 0; i < N_PORTS; i++) {
		dp->w[0]->rxq[i].port_idx = (uint16_t)i;
		dp->w[0]->rxq[i].queue = 0;
	}
	dp->w[0]->n_rxq = N_PORTS;
	return 0;
}

static int
is_dummy(const void *p)
{
	return (const int *)p >= dummy && (const int *)p < dummy + RING_SZ;
}

static void
drain(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(r, (void **)&m) == 0)
		if (!is_dummy(m))
			rte_pktmbuf_free(m);
}

/* Fill r to capacity with dummy pointers; returns how many went in. */
static unsigned int
fill_ring(struct rte_ring *r)
{
	void *fill[RING_SZ];
	unsigned int i;

	for (i = 0; i < RING_SZ; i++)
		fill[i] = &dummy[i];
	return rte_ring_enqueue_burst(r, fill, RING_SZ, NULL);
}

/* Take the dummies back out: exactly n, all of them dummies. */
static void
unfill_ring(struct rte_ring *r, unsigned int n)
{
	void *fill[RING_SZ];
	unsigned int i, got = rte_ring_dequeue_burst(r, fill, RING_SZ, NULL);

	for (i = 0; i < got; i++) {
		if (!is_dummy(fill[i]))
			rte_pktmbuf_free(fill[i]);
		assert_true(is_dummy(fill[i]));
	}
	assert_int_equal(got, n);
}

static void
drain_all(void)
{
	unsigned int i, q;

	for (i = 0; i < N_PORTS; i++) {
		drain(rx_ring[i]);
		for (q = 0; q <= N_WORKERS; q++)
			drain(tx_ring[i][q]);
	}
	drain(dp->w[0]->cp_tx);
	for (i = 0; i < N_WORKERS; i++) {
		struct mr_cmd c;

		drain(dp->w[i]->exc);
		while (rte_ring_dequeue_elem(dp->w[i]->cmd, &c, sizeof(c)) == 0)
			;
		for (q = 0; q < N_WORKERS; q++)
			if (dp->w[i]->handoff[q] != NULL)
				drain(dp->w[i]->handoff[q]);
	}
}

static int
world_down(void **state)
{
	unsigned int i, q;

	(void)state;
	if (dp != NULL) {
		drain_all();
		for (i = 0; i < N_WORKERS; i++) {
			struct mr_worker *w = dp->w[i];

			if (w == NULL)
				continue;
			mr_flow_table_free(w->flows);
			rte_ring_free(w->cmd);
			rte_ring_free(w->exc);
			rte_ring_free(w->cp_tx);
			for (q = 0; q < N_WORKERS; q++)
				rte_ring_free(w->handoff[q]);
			rte_free(w);
		}
		for (i = 0; i < N_PORTS; i++)
			rte_free(dp->port[i].neigh);
		rte_free(dp->qsv);
		rte_free(dp->owner);
		rte_free(dp);
		dp = NULL;
	}
	for (i = 0; i < N_PORTS; i++) {
		rte_eth_dev_stop(port_id[i]);
		rte_eth_dev_close(port_id[i]);
		rte_ring_free(rx_ring[i]);
		for (q = 0; q <= N_WORKERS; q++)
			rte_ring_free(tx_ring[i][q]);
	}
	rte_mempool_free(pool);
	return 0;
}

static int
case_up(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < N_WORKERS; i++) {
		memset(&dp->w[i]->stats, 0, sizeof(dp->w[i]->stats));
		/* A case's command sender starts counting from 0 (cmdq.h). */
		dp->w[i]->cmd_done = 0;
	}
	for (i = 0; i < N_PORTS; i++) {
		memset(dp->port[i].neigh, 0, sizeof(struct mr_neigh_slot) * MR_NEIGH_SLOTS);
		dp->port[i].rx_cksum_recompute = 0;
	}
	dp->relatch_tsc = dp->tsc_hz;
	/* First-packet latching unless a case asks for the RTP Bleed rules. */
	dp->latch_packets = 0;
	dp->latch_window_tsc = 0;
	dp->latch_signalled_only = 0;
	pool_base = rte_mempool_avail_count(pool);
	return 0;
}

static int
case_down(void **state)
{
	(void)state;
	drain_all();
	sess_free_all();
	/* Every mbuf came back: nothing leaked by a drop or slow path. (A failed case may
	 * hold some in its locals: compare with its own start, not with N_MBUF.) */
	assert_int_equal(rte_mempool_avail_count(pool), pool_base);
	return 0;
}

/* Common setting: leg 0 on port A with remote R0 = 198.18.0.10:5000 behind neighbor slot 1
 * (RMAC0); leg 1 on port B, no remote. X = 198.18.0.11:6000 calls leg 1. */
#define R0	ep4(198, 18, 0, 10, 5000)
#define X	ep4(198, 18, 0, 11, 6000)

static struct mr_dp_session *
sess_std(unsigned int owner, uint16_t port0, uint16_t port1)
{
	struct mr_dp_session *s = sess_new(owner, 1, P_A, MR_AF4, port0, P_B, MR_AF4, port1);
	struct mr_ep r0 = R0;

	path_set(s, 0, 0, &r0, 1);
	neigh_set(P_A, 1, RMAC0);
	sess_publish(s);
	return s;
}

/* ---- 1. relay both ways ---- */

static void
test_relay_v4(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, r0 = R0, l0, l1;
	struct rte_mbuf *in, *out;
	struct udp_opts o = { .vlan = -1, .tos = 0xb8, .pad = 6 };
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	s = sess_std(0, 20000, 20002);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;

	/* X → leg 1: latches leg 1, leaves from leg 0's local to R0 via the neighbor MAC. */
	plen = rtp(pl, 0, 1000, 160000, 0x11223344, 20);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	in = inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 10), 1);
	out = take1(P_A, 0);
	assert_ptr_equal(out, in);		/* zero copy: the same mbuf */
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0xb8, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&s->leg[1].path[0].remote, &x));
	assert_memory_equal(s->leg[1].path[0].mac.addr_bytes, XMAC, 6);
	assert_int_equal(s->leg[1].path[0].last_rx_tsc, T0 + 10);
	assert_int_equal(s->last_rx_tsc, T0 + 10);
	assert_int_equal(s->leg[1].ctr.pkts_in, 1);
	assert_int_equal(s->leg[1].ctr.bytes_in, plen);
	assert_int_equal(s->leg[1].ctr.cls[MR_CLASS_RTP], 1);
	assert_int_equal(s->leg[0].ctr.pkts_out, 1);
	assert_int_equal(s->leg[0].ctr.bytes_out, plen);
	assert_int_equal(s->leg[0].ctr.pkts_in, 0);
	assert_int_equal(w->stats.rx_pkts, 1);
	assert_int_equal(w->stats.rx_bytes, f.len);
	assert_int_equal(w->stats.relayed, 1);
	assert_int_equal(w->stats.tx_pkts, 1);
	assert_int_equal(w->stats.tx_bytes, 14 + 20 + 8 + plen);
	assert_int_equal(drops_total(w), 0);

	/* R0 → leg 0: goes to the latched source and its MAC, from leg 1's local. */
	plen = rtp(pl, 8, 7, 999, 0xaabbccdd, 100);
	o.tos = 0;
	o.pad = 0;
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, plen, &o);
	in = inject_f(P_A, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 20), 1);
	out = take1(P_B, 0);
	assert_ptr_equal(out, in);
	check_udp_out(out, XMAC, MAC_B, -1, &l1, &x, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	/* The configured remote confirmed itself: now latched to the MAC it came from. */
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_LATCHED);
	assert_memory_equal(s->leg[0].path[0].mac.addr_bytes, RMAC0, 6);
	assert_int_equal(s->leg[1].ctr.pkts_out, 1);
	assert_int_equal(s->leg[0].ctr.pkts_in, 1);
	assert_int_equal(w->stats.relayed, 2);
	assert_int_equal(w->stats.tx_pkts, 2);
	assert_int_equal(s->leg[0].ctr.relatches + s->leg[1].ctr.relatches, 0);
	assert_quiet();
}

/* ---- 2. source mismatch and re-latch ---- */

static void
test_src_mismatch_relatch(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, y = ep4(198, 18, 0, 12, 6000), y2 = ep4(198, 18, 0, 11, 6002);
	struct mr_ep r0 = R0, l0, l1;
	struct rte_mbuf *out;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	s = sess_std(0, 20100, 20102);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;
	plen = rtp(pl, 0, 1, 0, 0x1, 8);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0);
	rte_pktmbuf_free(take1(P_A, 0));

	/* Another address, and the same address from another port: both mismatches. */
	build_udp(&f, MAC_B, YMAC, &y, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	build_udp(&f, MAC_B, XMAC, &y2, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 5), 2);
	assert_int_equal(w->stats.drops[MR_DROP_SRC_MISMATCH], 2);
	assert_int_equal(s->leg[1].ctr.drop_src, 2);
	assert_int_equal(drops_total(w), 2);
	assert_int_equal(s->leg[1].ctr.pkts_in, 1);
	assert_true(mr_ep_eq(&s->leg[1].path[0].remote, &x));
	assert_int_equal(s->leg[1].path[0].last_rx_tsc, T0);	/* drops do not refresh it */

	/* Exactly relatch_tsc of silence is not yet more than it. */
	build_udp(&f, MAC_B, YMAC, &y, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + dp->relatch_tsc);
	assert_int_equal(s->leg[1].ctr.drop_src, 3);
	assert_int_equal(s->leg[1].ctr.relatches, 0);

	/* One tick more: the source moved (NAT rebinding), follow it. */
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + dp->relatch_tsc + 1);
	assert_int_equal(s->leg[1].ctr.relatches, 1);
	assert_int_equal(s->leg[1].ctr.drop_src, 3);
	assert_true(mr_ep_eq(&s->leg[1].path[0].remote, &y));
	assert_memory_equal(s->leg[1].path[0].mac.addr_bytes, YMAC, 6);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_LATCHED);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* The old source is now the stranger; replies go to the new one. */
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + dp->relatch_tsc + 2);
	assert_int_equal(s->leg[1].ctr.drop_src, 4);
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + dp->relatch_tsc + 3);
	out = take1(P_B, 0);
	check_udp_out(out, YMAC, MAC_B, -1, &l1, &y, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* relatch_tsc 0: never re-latch, however long the silence. */
	dp->relatch_tsc = 0;
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 1000 * dp->tsc_hz);
	assert_int_equal(s->leg[1].ctr.drop_src, 5);
	assert_int_equal(s->leg[1].ctr.relatches, 1);
	assert_int_equal(w->stats.drops[MR_DROP_SRC_MISMATCH], 5);
	assert_quiet();
}

/* ---- 2b. RTP Bleed: learning, signalled addresses, re-latch by SSRC ---- */

/* Send one RTP packet from src (source MAC smac) to leg li's path pi of s at now; returns
 * how many packets came out on the other leg's port (0 or 1, freed). */
static unsigned int
bleed_send(struct mr_dp_session *s, unsigned int li, unsigned int pi, const uint8_t *smac,
	   const struct mr_ep *src, uint16_t seq, uint32_t ssrc, uint64_t now)
{
	struct mr_worker *w = dp->w[0];
	unsigned int in_port = s->leg[li].port_idx, out_port = s->leg[li ^ 1].port_idx;
	struct mr_ep dst = s->leg[li].local;
	struct rte_mbuf *out[64];
	uint8_t pl[64];
	uint16_t plen;
	struct frame f;
	unsigned int n, i;

	dst.port += pi;
	if (pi == 1)
		plen = rtcp_sr(pl, ssrc);
	else
		plen = rtp(pl, 0, seq, seq * 160u, ssrc, 8);
	build_udp(&f, in_port == P_A ? MAC_A : MAC_B, smac, src, &dst, pl, plen, &PLAIN);
	inject_f(in_port, &f);
	mr_worker_iteration(w, now);
	n = rte_ring_sc_dequeue_burst(tx_ring[out_port][0], (void **)out, 64, NULL);
	for (i = 0; i < n; i++)
		rte_pktmbuf_free(out[i]);
	return n;
}

static void
test_rtp_bleed(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s, *t;
	struct mr_ep x = X, a = ep4(198, 18, 0, 66, 7000), a2 = ep4(198, 18, 0, 66, 7002);
	struct mr_ep r0 = R0, r0p = ep4(198, 18, 0, 10, 5100), y = ep4(198, 18, 0, 12, 6000);
	struct mr_ep x2 = ep4(198, 18, 0, 11, 6100);
	struct mr_dp_leg *l1;
	uint64_t now = T0;
	unsigned int k;

	(void)state;
	dp->latch_packets = 3;
	dp->latch_window_tsc = 10 * dp->tsc_hz;
	dp->latch_signalled_only = 1;
	s = sess_std(0, 20700, 20702);
	s->leg[0].path[0].signalled = 1;
	s->leg[1].path[0].last_rx_tsc = T0;	/* created: the learning window opens */
	l1 = &s->leg[1];

	/* The attack: one packet at the fresh call's port latches nothing, relays nothing. */
	assert_int_equal(bleed_send(s, 1, 0, YMAC, &a, 100, 0xbad, ++now), 0);
	assert_int_equal(l1->path[0].state, MR_PATH_LEARNING);
	assert_false(mr_path_has_remote(&l1->path[0]));
	assert_int_equal(l1->ctr.latch.drop_learning, 1);
	assert_int_equal(w->stats.drops[MR_DROP_LATCH_LEARNING], 1);
	assert_int_equal(l1->ctr.pkts_in, 0);

	/* The caller X: its third consistent packet latches. A stranger's packet in between
	 * makes it start again; a non-RTP packet neither counts nor interrupts. */
	assert_int_equal(bleed_send(s, 1, 0, XMAC, &x, 10, 0x1234, ++now), 0);
	assert_int_equal(bleed_send(s, 1, 0, YMAC, &a, 101, 0xbad, ++now), 0);
	assert_int_equal(bleed_send(s, 1, 0, XMAC, &x, 11, 0x1234, ++now), 0);
	assert_int_equal(bleed_send(s, 1, 0, XMAC, &x, 12, 0x1234, ++now), 0);
	{
		uint8_t pl[20] = { 0x00, 0x01 };	/* a STUN binding request */
		struct mr_ep dst = l1->local;
		struct frame f;

		build_udp(&f, MAC_B, XMAC, &x, &dst, pl, sizeof(pl), &PLAIN);
		inject_f(P_B, &f);
		mr_worker_iteration(w, ++now);
	}
	assert_int_equal(l1->path[0].learn.n, 2);
	assert_int_equal(bleed_send(s, 1, 0, XMAC, &x, 13, 0x1234, ++now), 1);
	assert_int_equal(l1->path[0].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&l1->path[0].remote, &x));
	assert_memory_equal(l1->path[0].mac.addr_bytes, XMAC, 6);
	assert_int_equal(l1->ctr.latch.drop_learning, 6);
	assert_int_equal(l1->ctr.pkts_in, 1);
	assert_int_equal(l1->ctr.relatches, 0);
	/* Latched: the stranger is a source_mismatch, the caller flows. */
	assert_int_equal(bleed_send(s, 1, 0, YMAC, &a, 102, 0xbad, ++now), 0);
	assert_int_equal(l1->ctr.drop_src, 1);
	assert_int_equal(bleed_send(s, 1, 0, XMAC, &x, 14, 0x1234, ++now), 1);

	/* Leg 0's remote came from the signalling: another address is refused however silent
	 * R0 is; R0's address from another port latches at once. */
	assert_int_equal(bleed_send(s, 0, 0, YMAC, &y, 1, 0x55, now + 5 * dp->tsc_hz), 0);
	assert_int_equal(s->leg[0].ctr.latch.drop_address, 1);
	assert_int_equal(w->stats.drops[MR_DROP_LATCH_ADDRESS], 1);
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_CONFIGURED);
	assert_int_equal(bleed_send(s, 0, 0, RMAC0, &r0p, 1, 0x55, ++now), 1);
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&s->leg[0].path[0].remote, &r0p));
	(void)r0;

	/* Re-latch after silence: only with the SSRC the leg was receiving. */
	now += dp->relatch_tsc + 1;
	assert_int_equal(bleed_send(s, 1, 0, YMAC, &a2, 500, 0xbad, ++now), 0);
	assert_int_equal(l1->ctr.latch.drop_relatch, 1);
	assert_int_equal(w->stats.drops[MR_DROP_RELATCH_SSRC], 1);
	assert_true(mr_ep_eq(&l1->path[0].remote, &x));
	assert_int_equal(bleed_send(s, 1, 0, XMAC, &x2, 15, 0x1234, ++now), 1);
	assert_int_equal(l1->ctr.relatches, 1);
	assert_int_equal(w->stats.relatches, 1);
	assert_true(mr_ep_eq(&l1->path[0].remote, &x2));
	assert_true(mr_ep_eq(&w->last_relatch.from, &x));
	assert_true(mr_ep_eq(&w->last_relatch.to, &x2));
	assert_true(mr_ep_eq(&w->last_relatch.local, &l1->local));

	/* RTCP port without rtcp-mux: nothing before the RTP port latched, then only from the
	 * RTP remote's address (any port), at the first packet. */
	t = sess_new(0, 0, P_A, MR_AF4, 20710, P_B, MR_AF4, 20712);
	sess_publish(t);
	neigh_set(P_A, 1, RMAC0);
	for (k = 0; k < 2; k++)
		t->leg[k].path[0].last_rx_tsc = t->leg[k].path[1].last_rx_tsc = now;
	{
		struct mr_ep rr0 = R0;

		t->leg[0].path[0].remote = rr0;
		t->leg[0].path[0].nh = 1;
		t->leg[0].path[0].state = MR_PATH_CONFIGURED;
		t->leg[0].path[0].signalled = 1;
	}
	x2.port = 6101;
	assert_int_equal(bleed_send(t, 1, 1, XMAC, &x2, 0, 0x1234, ++now), 0);
	assert_int_equal(t->leg[1].ctr.latch.drop_learning, 1);
	for (k = 0; k < 3; k++)
		bleed_send(t, 1, 0, XMAC, &x, (uint16_t)(40 + k), 0x1234, ++now);
	assert_int_equal(t->leg[1].path[0].state, MR_PATH_LATCHED);
	assert_int_equal(bleed_send(t, 1, 1, YMAC, &a2, 0, 0x1234, ++now), 0);
	assert_int_equal(t->leg[1].ctr.latch.drop_address, 1);
	x2 = x;
	x2.port = 7777;
	assert_int_equal(bleed_send(t, 1, 1, XMAC, &x2, 0, 0x1234, ++now), 1);
	assert_int_equal(t->leg[1].path[1].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&t->leg[1].path[1].remote, &x2));

	/* The learning window: nothing latches once it closed, however good the stream. */
	t = sess_std(0, 20720, 20722);
	t->leg[1].path[0].last_rx_tsc = now;
	now += dp->latch_window_tsc + 1;
	for (k = 0; k < 4; k++)
		assert_int_equal(bleed_send(t, 1, 0, XMAC, &x, (uint16_t)(1 + k), 0x77, ++now),
				 0);
	assert_int_equal(t->leg[1].ctr.latch.drop_window, 4);
	assert_int_equal(w->stats.drops[MR_DROP_LATCH_WINDOW], 4);
	assert_int_equal(t->leg[1].path[0].state, MR_PATH_NONE);
	assert_quiet();
}

/* A command applied in the same iteration as packets: mr_worker_main passes the TSC read at
 * the top of the iteration as now, and mr_cmd_apply stamps the path with a later TSC read. */
static void
test_set_remote_then_stranger(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, r1 = ep4(198, 18, 0, 20, 5010), l1;
	struct mr_cmd c;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;
	uint64_t now;

	(void)state;
	s = sess_std(0, 20150, 20152);
	l1 = s->leg[1].local;
	/* X streams to leg 1 (latched)... */
	plen = rtp(pl, 0, 1, 0, 0x1, 8);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, rte_get_tsc_cycles());
	rte_pktmbuf_free(take1(P_A, 0));
	assert_true(mr_ep_eq(&s->leg[1].path[0].remote, &x));

	/* ...when the API moves leg 1's remote to r1 (a re-INVITE), and X's next packet is
	 * read in the iteration that applies the command. r1 was never silent: X must be
	 * dropped, not latched back. */
	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_SET_REMOTE;
	c.leg = 1;
	c.path = 0;
	c.nh = 1;
	c.s = s;
	c.remote = r1;
	now = rte_get_tsc_cycles();	/* as mr_worker_main: read before the commands run */
	assert_int_equal(rte_ring_enqueue_elem(w->cmd, &c, sizeof(c)), 0);
	inject_f(P_B, &f);
	mr_worker_iteration(w, now);
	assert_int_equal(w->stats.cmds, 1);
	/* Regression: mr_cmd_apply stamps last_rx_tsc later than this iteration's now; an
	 * unsigned difference would wrap and re-latch X at once, losing the API's remote.
	 * Expected: one source_mismatch drop, no re-latch, remote still r1. */
	assert_int_equal(s->leg[1].ctr.relatches, 0);
	assert_int_equal(s->leg[1].ctr.drop_src, 1);
	assert_true(mr_ep_eq(&s->leg[1].path[0].remote, &r1));
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_CONFIGURED);
	assert_int_equal(rte_ring_count(tx_ring[P_A][0]), 0);
	assert_quiet();
}

/* ---- 3. no remote, no neighbor ---- */

static void
test_no_remote_no_neighbor(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s, *t;
	struct mr_ep x = X, r1 = ep4(198, 18, 0, 30, 7000), l0, l1;
	struct rte_mbuf *out;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	/* Nobody has a remote: the packet latches its leg but has nowhere to go. */
	s = sess_new(0, 1, P_A, MR_AF4, 20200, P_B, MR_AF4, 20202);
	sess_publish(s);
	plen = rtp(pl, 0, 1, 0, 0x1, 4);
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0), 1);
	assert_int_equal(w->stats.drops[MR_DROP_NO_REMOTE], 1);
	assert_int_equal(s->leg[1].ctr.drop_no_remote, 1);
	assert_int_equal(s->leg[0].ctr.drop_no_remote, 0);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_LATCHED);
	assert_int_equal(w->stats.relayed, 0);
	assert_int_equal(drops_total(w), 1);
	assert_quiet();

	/* Configured remote whose next hop is unresolved (slot 2 not valid). */
	t = sess_new(0, 1, P_A, MR_AF4, 20210, P_B, MR_AF4, 20212);
	path_set(t, 0, 0, &r1, 2);
	dp->port[P_A].neigh[2].w = mac48(RMAC1);	/* a MAC, but not MR_NEIGH_VALID */
	sess_publish(t);
	l0 = t->leg[0].local;
	l1 = t->leg[1].local;
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 1);
	assert_int_equal(w->stats.drops[MR_DROP_NO_NEIGHBOR], 1);
	assert_int_equal(t->leg[1].ctr.drop_no_neigh, 1);
	assert_int_equal(drops_total(w), 2);
	assert_quiet();

	/* The control plane resolves it: the next packet goes out to that MAC. */
	neigh_set(P_A, 2, RMAC1);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 2);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC1, MAC_A, -1, &l0, &r1, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(t->leg[1].ctr.drop_no_neigh, 1);
	assert_int_equal(t->leg[0].ctr.pkts_out, 1);
	assert_int_equal(drops_total(w), 2);
	assert_quiet();
}

/* ---- 4. drops by reason ---- */

static void
expect_drop(unsigned int pidx, const uint8_t *b, uint16_t len, enum mr_drop why)
{
	struct mr_worker *w = dp->w[0];
	uint64_t before = w->stats.drops[why], total = drops_total(w);
	uint64_t relayed = w->stats.relayed, tx = w->stats.tx_pkts;

	inject(pidx, b, len);
	assert_int_equal(mr_worker_iteration(w, T0), 1);
	assert_int_equal(w->stats.drops[why], before + 1);
	assert_int_equal(drops_total(w), total + 1);
	assert_int_equal(w->stats.relayed, relayed);
	assert_int_equal(w->stats.tx_pkts, tx);
	assert_quiet();
}

static void
test_drops(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, l1, other, x6 = ep6("2001:db8:b::99", 6000);
	struct mr_ep l1_6 = ep6("2001:db8:b::1", 20302);
	uint8_t pl[256], junk[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	uint16_t plen;
	struct frame f;
	unsigned int n;

	(void)state;
	s = sess_std(0, 20300, 20302);
	l1 = s->leg[1].local;
	plen = rtp(pl, 0, 1, 0, 0x1, 4);

	/* Unknown UDP port. */
	other = l1;
	other.port = 30001;
	build_udp(&f, MAC_B, XMAC, &x, &other, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_NO_FLOW);
	/* Port owned (rtcp_mux session: port+1 reserved) but no flow on it. */
	other.port = l1.port + 1;
	build_udp(&f, MAC_B, XMAC, &x, &other, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_NO_FLOW);
	/* The session's port number on the port's IPv6 address: its flows are IPv4 only. */
	build_udp(&f, MAC_B, XMAC, &x6, &l1_6, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_NO_FLOW);
	/* Leg 1's port number on port A's address: not the session's key. */
	other = l1;
	other.a[2] = 0;
	build_udp(&f, MAC_A, XMAC, &x, &other, pl, plen, &PLAIN);
	expect_drop(P_A, f.b, f.len, MR_DROP_NO_FLOW);
	/* Not one of port B's addresses. */
	other = l1;
	other.a[3] = 99;
	build_udp(&f, MAC_B, XMAC, &x, &other, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_NOT_OUR_IP);
	/* Another port's MAC, and broadcast: not ours for UDP. */
	build_udp(&f, MAC_A, XMAC, &x, &l1, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_NOT_FOR_US_MAC);
	build_udp(&f, BCAST, XMAC, &x, &l1, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_NOT_FOR_US_MAC);

	/* Malformed frames, by reason. */
	expect_drop(P_B, junk, sizeof(junk), MR_DROP_RUNT);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[f.l3 + 6] = 0x20;		/* MF */
	expect_drop(P_B, f.b, f.len, MR_DROP_IP4_FRAG);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[f.l3 + 7] = 0x10;		/* offset, last fragment */
	expect_drop(P_B, f.b, f.len, MR_DROP_IP4_FRAG);
	build_udp(&f, MAC_B, XMAC, &x6, &l1_6, pl, plen, &PLAIN);
	f.b[f.l3 + 6] = 0;		/* hop-by-hop options header */
	expect_drop(P_B, f.b, f.len, MR_DROP_IP6_EXT);
	build_udp(&f, MAC_B, XMAC, &x6, &l1_6, pl, plen, &PLAIN);
	f.b[f.l3 + 6] = 44;		/* fragment header */
	expect_drop(P_B, f.b, f.len, MR_DROP_IP6_EXT);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[f.l4 + 5] += 10;		/* UDP length beyond the IP payload */
	expect_drop(P_B, f.b, f.len, MR_DROP_UDP_MALFORMED);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[f.l4 + 4] = 0;		/* UDP length 7 */
	f.b[f.l4 + 5] = 7;
	expect_drop(P_B, f.b, f.len, MR_DROP_UDP_MALFORMED);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, 5, &PLAIN);	/* RTP with 5 bytes */
	expect_drop(P_B, f.b, f.len, MR_DROP_RTP_MALFORMED);
	rtcp_sr(pl, 1);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, 7, &PLAIN);	/* RTCP with 7 bytes */
	expect_drop(P_B, f.b, f.len, MR_DROP_RTP_MALFORMED);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[f.l3] = 0x55;		/* IPv5 */
	expect_drop(P_B, f.b, f.len, MR_DROP_IP4_MALFORMED);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	expect_drop(P_B, f.b, f.len - 1, MR_DROP_IP4_MALFORMED);	/* truncated */
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[f.l3 + 9] = 6;		/* TCP */
	expect_drop(P_B, f.b, f.len, MR_DROP_L4_PROTO);
	build_udp(&f, MAC_B, XMAC, &x6, &l1_6, pl, plen, &PLAIN);
	f.b[f.l3 + 5] += 1;		/* payload length beyond the frame */
	expect_drop(P_B, f.b, f.len, MR_DROP_IP6_MALFORMED);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[12] = 0x88;
	f.b[13] = 0xb5;
	expect_drop(P_B, f.b, f.len, MR_DROP_ETHERTYPE);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	f.b[12] = 0x88;			/* 802.1ad S-tag */
	f.b[13] = 0xa8;
	expect_drop(P_B, f.b, f.len, MR_DROP_VLAN);
	assert_int_equal(drops_total(w), 22);
	assert_int_equal(w->stats.rx_pkts, 22);
	assert_int_equal(s->leg[1].ctr.pkts_in, 0);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_NONE);

	/* The NIC TX queue refuses: counted and freed (the fill pointers are not mbufs). */
	n = fill_ring(tx_ring[P_A][0]);
	assert_int_equal(n, RING_SZ - 1);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0);
	assert_int_equal(w->stats.drops[MR_DROP_TX_FULL], 1);
	assert_int_equal(w->stats.tx_pkts, 0);
	assert_int_equal(w->stats.tx_bytes, 0);
	assert_int_equal(w->stats.relayed, 1);
	unfill_ring(tx_ring[P_A][0], n);
	assert_quiet();
}

/* ---- 5. hand-off between workers ---- */

static void
test_handoff(void **state)
{
	struct mr_worker *w0 = dp->w[0], *w1 = dp->w[1];
	struct mr_dp_session *s;
	struct mr_ep x = X, r0 = R0, l0, l1;
	struct rte_mbuf *in, *out;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;
	unsigned int n;

	(void)state;
	s = sess_std(1, 20400, 20402);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;
	assert_int_equal(dp->owner[20402], 2);
	plen = rtp(pl, 0, 1, 0, 0x1, 16);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	in = inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w0, T0), 1);
	assert_int_equal(w0->stats.handoff_out, 1);
	assert_int_equal(w0->stats.relayed, 0);
	assert_int_equal(rte_ring_count(w1->handoff[0]), 1);
	assert_int_equal(s->leg[1].ctr.pkts_in, 0);	/* worker 0 never touched it */
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_NONE);

	assert_int_equal(mr_worker_iteration(w1, T0 + 1), 1);
	assert_int_equal(w1->stats.handoff_in, 1);
	assert_int_equal(w1->stats.rx_pkts, 0);		/* counted once, by worker 0 */
	assert_int_equal(w0->stats.rx_pkts, 1);
	assert_int_equal(w1->stats.relayed, 1);
	assert_int_equal(w1->stats.tx_pkts, 1);
	assert_int_equal(w0->stats.tx_pkts, 0);
	out = take1(P_A, 1);				/* worker 1's TX queue */
	assert_ptr_equal(out, in);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_LATCHED);
	assert_int_equal(drops_total(w0) + drops_total(w1), 0);

	/* A packet on a hand-off ring for a port its receiver does not own: not passed on
	 * again (no ping-pong), and counted as what it is, not as a port without a flow. */
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	dp->owner[20402] = 1;		/* as if ownership moved to worker 0 meanwhile */
	in = inject(P_B, f.b, f.len);
	assert_int_equal(rte_ring_dequeue(rx_ring[P_B], (void **)&in), 0);
	assert_int_equal(rte_ring_sp_enqueue(w1->handoff[0], in), 0);
	mr_worker_iteration(w1, T0 + 2);
	assert_int_equal(w1->stats.drops[MR_DROP_HANDOFF_STALE], 1);
	assert_int_equal(w1->stats.drops[MR_DROP_NO_FLOW], 0);
	assert_int_equal(drops_total(w1), 1);
	assert_int_equal(rte_ring_count(w0->handoff[1]), 0);
	dp->owner[20402] = 2;
	assert_quiet();

	/* The owner's hand-off ring is full: counted and freed by the receiver. */
	n = fill_ring(w1->handoff[0]);
	assert_int_equal(n, 63);
	inject(P_B, f.b, f.len);
	mr_worker_iteration(w0, T0 + 3);
	assert_int_equal(w0->stats.drops[MR_DROP_HANDOFF_FULL], 1);
	assert_int_equal(w0->stats.handoff_out, 1);
	unfill_ring(w1->handoff[0], n);
	assert_quiet();
}

/* ---- 6. IPv4 <-> IPv6 ---- */

static void
test_v4_v6(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s, *t;
	struct mr_ep x = X, r6 = ep6("2001:db8:a::10", 5000), r0 = R0, l0, l1;
	struct rte_mbuf *in, *out;
	struct udp_opts o = { .vlan = -1, .tos = 0xb8 };
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	s = sess_new(0, 1, P_A, MR_AF6, 20500, P_B, MR_AF4, 20502);
	path_set(s, 0, 0, &r6, 7);
	neigh_set(P_A, 7, RMAC0);
	sess_publish(s);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;

	/* IPv4 in, IPv6 out: 20 bytes more header, IPv6 pseudo-header checksum. */
	plen = rtp(pl, 0, 1, 0, 0x1, 41);		/* odd length */
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	in = inject_f(P_B, &f);
	mr_worker_iteration(w, T0);
	out = take1(P_A, 0);
	assert_ptr_equal(out, in);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r6, 0xb8, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* IPv6 in (traffic class 0x2e), IPv4 out to the latched source. */
	o.tos = 0x2e;
	plen = rtp(pl, 0, 50, 0, 0x9, 160);
	build_udp(&f, MAC_A, RMAC0, &r6, &l0, pl, plen, &o);
	in = inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 1);
	out = take1(P_B, 0);
	assert_ptr_equal(out, in);
	check_udp_out(out, XMAC, MAC_B, -1, &l1, &x, 0x2e, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* IPv4 without a UDP checksum to IPv6, where one is mandatory: computed in full. */
	o.tos = 0;
	o.zero_ck = 1;
	plen = rtp(pl, 0, 2, 0, 0x1, 33);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	assert_int_equal(be16(f.b + f.l4 + 6), 0);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 2);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r6, 0, pl, plen, 0);
	assert_int_not_equal(be16(rte_pktmbuf_mtod(out, uint8_t *) + 14 + 40 + 6), 0);
	rte_pktmbuf_free(out);

	/* No headroom for the 20 extra bytes: dropped, not written before the buffer. */
	o.zero_ck = 0;
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	inject_room(P_B, f.b, f.len, 10);
	mr_worker_iteration(w, T0 + 3);
	assert_int_equal(w->stats.drops[MR_DROP_HDR_ROOM], 1);
	assert_int_equal(s->leg[0].ctr.pkts_out, 2);
	assert_quiet();

	/* IPv4 with options (IHL 6) in, a plain 20-byte IPv4 header out. */
	t = sess_std(0, 20510, 20512);
	l0 = t->leg[0].local;
	l1 = t->leg[1].local;
	o.ip4_opt = 4;
	o.tos = 0x10;
	plen = rtp(pl, 0, 1, 0, 0x1, 20);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	assert_int_equal(f.b[f.l3], 0x46);
	in = inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 4);
	out = take1(P_A, 0);
	assert_ptr_equal(out, in);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0x10, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* IPv4 to IPv4 without a checksum: may stay without one (RFC 768). */
	o.ip4_opt = 0;
	o.tos = 0;
	o.zero_ck = 1;
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 5);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0, pl, plen, 1);
	rte_pktmbuf_free(out);

	/* IPv4 whose UDP length is shorter than the IP payload: the trailing bytes go. */
	o.zero_ck = 0;
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &o);
	f.b[f.l3 + 3] += 4;		/* IP total length + 4 */
	memset(f.b + f.len, 0x77, 4);
	f.len += 4;
	{
		uint16_t c = ref_ip4(f.b + f.l3, 20);

		f.b[f.l3 + 10] = c >> 8;
		f.b[f.l3 + 11] = (uint8_t)c;
	}
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 6);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(drops_total(w), 1);
	assert_quiet();
}

/* ---- 7. RTCP ---- */

static void
test_rtcp(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s, *t;
	struct mr_ep x1 = ep4(198, 18, 0, 11, 6001), r0 = R0, r0c = ep4(198, 18, 0, 10, 5001);
	struct mr_ep x = X, from, l0, l1;
	struct rte_mbuf *out, *two[64];
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	/* rtcp_mux off: flows on port and port + 1 of both legs. */
	s = sess_new(0, 0, P_A, MR_AF4, 20600, P_B, MR_AF4, 20602);
	path_set(s, 0, 0, &r0, 1);
	neigh_set(P_A, 1, RMAC0);
	sess_publish(s);
	l1 = s->leg[1].local;
	l1.port++;
	plen = rtcp_sr(pl, 0x55);
	build_udp(&f, MAC_B, XMAC, &x1, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0);
	out = take1(P_A, 0);
	/* Path 1 of leg 0 has no remote: derived from path 0, port + 1 (RFC 3550 §11). */
	from = s->leg[0].local;
	from.port++;
	check_udp_out(out, RMAC0, MAC_A, -1, &from, &r0c, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(s->leg[1].path[1].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&s->leg[1].path[1].remote, &x1));
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_NONE);
	assert_int_equal(s->leg[0].path[1].state, MR_PATH_NONE);
	assert_int_equal(s->leg[1].ctr.cls[MR_CLASS_RTCP], 1);
	assert_int_equal(s->leg[1].ctr.cls[MR_CLASS_RTP], 0);

	/* And back: R0's RTCP to leg 0's port + 1 goes to X's RTCP source. */
	l0 = s->leg[0].local;
	l0.port++;
	build_udp(&f, MAC_A, RMAC0, &r0c, &l0, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 1);
	out = take1(P_B, 0);
	check_udp_out(out, XMAC, MAC_B, -1, &l1, &x1, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(s->leg[0].path[1].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&s->leg[0].path[1].remote, &r0c));
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_CONFIGURED);

	/* RTP on path 0 still goes to path 0. */
	plen = rtp(pl, 0, 1, 0, 0x1, 4);
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 2);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &s->leg[0].local, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_quiet();

	/* rtcp_mux on: RTCP on the RTP port, counted as RTCP, relayed on path 0. */
	t = sess_std(0, 20610, 20612);
	plen = rtcp_sr(pl, 0x66);
	build_udp(&f, MAC_B, XMAC, &x, &t->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 3);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &t->leg[0].local, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(t->leg[1].ctr.cls[MR_CLASS_RTCP], 1);
	assert_int_equal(t->leg[1].ctr.cls[MR_CLASS_RTP], 0);
	assert_int_equal(mr_rtp_stats_have_ssrc(&t->leg[1].rtp), 0);	/* not RTP */
	/* Other RFC 7983 classes pass too and are counted as such. */
	pl[0] = 0x00;			/* STUN */
	pl[1] = 0x01;
	build_udp(&f, MAC_B, XMAC, &x, &t->leg[1].local, pl, 20, &PLAIN);
	inject_f(P_B, &f);
	pl[0] = 22;			/* DTLS handshake */
	build_udp(&f, MAC_B, XMAC, &x, &t->leg[1].local, pl, 20, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 4);
	take_n(P_A, 0, two, 2);
	rte_pktmbuf_free_bulk(two, 2);
	assert_int_equal(t->leg[1].ctr.cls[MR_CLASS_STUN], 1);
	assert_int_equal(t->leg[1].ctr.cls[MR_CLASS_DTLS], 1);
	assert_int_equal(t->leg[1].ctr.pkts_in, 3);
	assert_int_equal(drops_total(w), 0);
	assert_quiet();
}

/* ---- 8. VLAN ---- */

static void
test_vlan(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = ep4(198, 18, 2, 11, 6000), r0 = R0, l0, l1;
	struct rte_mbuf *in, *out;
	struct udp_opts o = { .vlan = 100, .tos = 0x88 };
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	s = sess_new(0, 1, P_A, MR_AF4, 20700, P_C, MR_AF4, 20702);
	path_set(s, 0, 0, &r0, 1);
	neigh_set(P_A, 1, RMAC0);
	sess_publish(s);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;

	/* Tagged in on C (VLAN 100), untagged out on A. */
	plen = rtp(pl, 0, 1, 0, 0x1, 10);
	build_udp(&f, MAC_C, XMAC, &x, &l1, pl, plen, &o);
	in = inject_f(P_C, &f);
	mr_worker_iteration(w, T0);
	out = take1(P_A, 0);
	assert_ptr_equal(out, in);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0x88, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* Untagged in on A, tagged out on C to the latched source. */
	o.vlan = -1;
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, plen, &o);
	in = inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 1);
	out = take1(P_C, 0);
	assert_ptr_equal(out, in);
	check_udp_out(out, XMAC, MAC_C, 100, &l1, &x, 0x88, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* Priority bits in the tag do not matter, the VID does. */
	o.vlan = 0xa000 | 100;
	build_udp(&f, MAC_C, XMAC, &x, &l1, pl, plen, &o);
	inject_f(P_C, &f);
	mr_worker_iteration(w, T0 + 2);
	rte_pktmbuf_free(take1(P_A, 0));
	assert_int_equal(drops_total(w), 0);

	/* Untagged on the VLAN port, another VID, a tag on the untagged port. */
	o.vlan = -1;
	build_udp(&f, MAC_C, XMAC, &x, &l1, pl, plen, &o);
	expect_drop(P_C, f.b, f.len, MR_DROP_VLAN);
	o.vlan = 200;
	build_udp(&f, MAC_C, XMAC, &x, &l1, pl, plen, &o);
	expect_drop(P_C, f.b, f.len, MR_DROP_VLAN);
	o.vlan = 100;
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, plen, &o);
	expect_drop(P_A, f.b, f.len, MR_DROP_VLAN);
	o.vlan = 0;			/* priority tag on the untagged port */
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, plen, &o);
	expect_drop(P_A, f.b, f.len, MR_DROP_VLAN);
	assert_int_equal(drops_total(w), 4);
	assert_int_equal(s->leg[1].ctr.pkts_in, 2);
	assert_int_equal(s->leg[0].ctr.pkts_in, 1);
	assert_quiet();
}

/* ---- 9. RTP statistics ---- */

static void
test_rtp_stats(void **state)
{
	static const uint16_t seqs[] = { 100, 101, 102, 106 };	/* 103..105 lost */
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;
	unsigned int i;

	(void)state;
	s = sess_std(0, 20800, 20802);
	for (i = 0; i < RTE_DIM(seqs); i++) {
		plen = rtp(pl, 0, seqs[i], 160u * seqs[i], 0xcafe0001, 160);
		build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
		inject_f(P_B, &f);
	}
	/* One burst: the bulk lookup and the per-packet updates in order. */
	assert_int_equal(mr_worker_iteration(w, T0), RTE_DIM(seqs));
	assert_int_equal(rte_ring_count(tx_ring[P_A][0]), RTE_DIM(seqs));
	drain(tx_ring[P_A][0]);
	assert_int_equal(mr_rtp_stats_lost(&s->leg[1].rtp), 3);
	assert_int_equal(mr_rtp_stats_received(&s->leg[1].rtp), 3);	/* 100 is probation */
	assert_int_equal(mr_rtp_stats_expected(&s->leg[1].rtp), 6);
	assert_int_equal(mr_rtp_stats_ssrc(&s->leg[1].rtp), 0xcafe0001);
	assert_int_equal(mr_rtp_stats_pt(&s->leg[1].rtp), 0);
	assert_int_equal(mr_rtp_stats_received(&s->leg[0].rtp), 0);
	assert_int_equal(mr_rtp_stats_have_ssrc(&s->leg[0].rtp), 0);
	assert_int_equal(s->leg[1].clock_rate, 8000);		/* PCMU, RFC 3551 */
	assert_int_equal(s->leg[1].ctr.cls[MR_CLASS_RTP], 4);
	assert_int_equal(s->leg[1].ctr.bytes_in, 4u * plen);
	assert_quiet();
}

/* ---- 10. slow path ---- */

static uint16_t
build_arp(uint8_t *b, uint16_t op, const uint8_t *sha, const uint8_t *spa, const uint8_t *tha,
	  const uint8_t *tpa, const uint8_t *dmac)
{
	uint8_t *a;

	memset(b, 0, 60);
	a = b + eth_hdr(b, dmac, sha, -1, 0x0806);
	a[1] = 1;
	a[2] = 0x08;
	a[4] = 6;
	a[5] = 4;
	a[7] = (uint8_t)op;
	memcpy(a + 8, sha, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, tha, 6);
	memcpy(a + 24, tpa, 4);
	return 60;			/* padded to the Ethernet minimum */
}

static uint16_t
build_ip6(uint8_t *b, const uint8_t *dmac, const uint8_t *smac, const uint8_t *src,
	  const uint8_t *dst, uint8_t hlim, const uint8_t *icmp, uint16_t ilen)
{
	uint8_t *ip = b + eth_hdr(b, dmac, smac, -1, 0x86dd), *ic;
	uint32_t s;
	uint16_t c;
	uint8_t ph[8] = { 0, 0, ilen >> 8, (uint8_t)ilen, 0, 0, 0, 58 };

	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = ilen >> 8;
	ip[5] = (uint8_t)ilen;
	ip[6] = 58;
	ip[7] = hlim;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	ic = ip + 40;
	memcpy(ic, icmp, ilen);
	ic[2] = 0;
	ic[3] = 0;
	s = ref_add(ref_add(ref_add(0, ip + 8, 32), ph, 8), ic, ilen);
	c = (uint16_t)~ref_fold(s);
	ic[2] = c >> 8;
	ic[3] = (uint8_t)c;
	return 14 + 40 + ilen;
}

/* Active/standby (struct mr_dp standby): a standby drops every frame, media and ARP alike,
 * counted as standby, and sends nothing; cleared, the same packets relay and are answered.
 * The announcement of a takeover reads back as a gratuitous ARP and an unsolicited NA. */
static void
test_standby(void **state)
{
	static const uint8_t zero6[6];
	static const uint8_t peer4[4] = { 198, 18, 0, 50 };
	const uint8_t *a4 = dp->port[P_A].addr4;
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, l1, ip;
	struct rte_mbuf *m;
	uint8_t pl[64], b[64], mac[6];
	uint16_t plen, len;
	struct frame f;
	int reply = -1;

	(void)state;
	s = sess_std(0, 20400, 20402);
	l1 = s->leg[1].local;
	plen = rtp(pl, 0, 1, 0, 0x5, 8);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	len = build_arp(b, 1, XMAC, peer4, zero6, a4, BCAST);

	__atomic_store_n(&dp->standby, 1, __ATOMIC_RELAXED);
	inject_f(P_B, &f);
	inject(P_A, b, len);
	mr_worker_iteration(w, T0);
	assert_int_equal(w->stats.drops[MR_DROP_STANDBY], 2);
	assert_int_equal(w->stats.rx_pkts, 2);
	assert_int_equal(w->stats.arp_replies, 0);
	assert_int_equal(w->stats.relayed, 0);
	assert_int_equal(drops_total(w), 2);
	assert_quiet();

	__atomic_store_n(&dp->standby, 0, __ATOMIC_RELAXED);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 1);
	rte_pktmbuf_free(take1(P_A, 0));
	assert_int_equal(w->stats.relayed, 1);
	inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 2);
	rte_pktmbuf_free(take1(P_A, 0));
	assert_int_equal(w->stats.arp_replies, 1);
	assert_int_equal(w->stats.drops[MR_DROP_STANDBY], 2);
	assert_quiet();

	/* RFC 5227 §3 / RFC 4861 §7.2.6 announcements, read back by the neighbor parser. */
	m = rte_pktmbuf_alloc(pool);
	assert_non_null(m);
	memset(&ip, 0, sizeof(ip));
	ip.family = MR_AF4;
	memcpy(ip.a, a4, 4);
	assert_int_equal(mr_neigh_pkt_announce(m, &dp->port[P_A], &ip), 0);
	assert_int_equal(mr_neigh_pkt_learn(m, &x, mac, &reply), 0);
	assert_int_equal(x.family, MR_AF4);
	assert_memory_equal(x.a, a4, 4);
	assert_memory_equal(mac, MAC_A, 6);
	assert_int_equal(reply, 0);		/* gratuitous: not a reply */
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), BCAST, 6);
	ip.family = MR_AF6;
	memcpy(ip.a, dp->port[P_A].addr6, 16);
	assert_int_equal(mr_neigh_pkt_announce(m, &dp->port[P_A], &ip), 0);
	reply = -1;
	assert_int_equal(mr_neigh_pkt_learn(m, &x, mac, &reply), 0);
	assert_int_equal(x.family, MR_AF6);
	assert_memory_equal(x.a, dp->port[P_A].addr6, 16);
	assert_memory_equal(mac, MAC_A, 6);
	assert_int_equal(reply, 0);		/* unsolicited */
	rte_pktmbuf_free(m);
}

static void
test_slowpath(void **state)
{
	static const uint8_t zero6[6];
	static const uint8_t peer4[4] = { 198, 18, 0, 50 }, other4[4] = { 198, 18, 0, 51 };
	const uint8_t *a4 = dp->port[P_A].addr4, *a6 = dp->port[P_A].addr6;
	struct mr_worker *w = dp->w[0];
	uint8_t b[256], icmp[64], peer6[16], snm[16], all_nodes[16] = { 0xff, 0x02 };
	uint8_t snm_mac[6] = { 0x33, 0x33, 0xff, 0, 0, 0x01 };
	static const uint8_t unspec[16];
	struct rte_mbuf *in, *out;
	const uint8_t *o, *ip, *ic;
	uint16_t len, i;

	(void)state;
	all_nodes[15] = 1;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8:a::50", peer6), 1);
	assert_int_equal(inet_pton(AF_INET6, "ff02::1:ff00:1", snm), 1);

	/* ARP request for our address → reply in place. */
	len = build_arp(b, 1, XMAC, peer4, zero6, a4, BCAST);
	in = inject(P_A, b, len);
	assert_int_equal(mr_worker_iteration(w, T0), 1);
	out = take1(P_A, 0);
	assert_ptr_equal(out, in);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_memory_equal(o, XMAC, 6);
	assert_memory_equal(o + 6, MAC_A, 6);
	assert_int_equal(be16(o + 12), 0x0806);
	assert_int_equal(be16(o + 14), 1);
	assert_int_equal(be16(o + 16), 0x0800);
	assert_int_equal(o[18], 6);
	assert_int_equal(o[19], 4);
	assert_int_equal(be16(o + 20), 2);		/* reply */
	assert_memory_equal(o + 22, MAC_A, 6);		/* sender: us */
	assert_memory_equal(o + 28, a4, 4);
	assert_memory_equal(o + 32, XMAC, 6);		/* target: the requester */
	assert_memory_equal(o + 38, peer4, 4);
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.arp_replies, 1);

	/* ARP request for someone else: ignored. */
	len = build_arp(b, 1, XMAC, peer4, zero6, other4, BCAST);
	expect_drop(P_A, b, len, MR_DROP_ARP_IGNORED);
	/* Truncated ARP. */
	len = build_arp(b, 1, XMAC, peer4, zero6, a4, BCAST);
	expect_drop(P_A, b, 14 + 27, MR_DROP_ARP_MALFORMED);

	/* ARP reply to us → the control plane's exception ring, untouched. */
	len = build_arp(b, 2, XMAC, peer4, MAC_A, a4, MAC_A);
	in = inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 1);
	assert_int_equal(rte_ring_count(w->exc), 1);
	assert_int_equal(rte_ring_dequeue(w->exc, (void **)&out), 0);
	assert_ptr_equal(out, in);
	assert_memory_equal(rte_pktmbuf_mtod(out, uint8_t *), b, len);
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.exception, 1);
	/* Gratuitous ARP from a neighbor: also to the control plane. */
	len = build_arp(b, 1, XMAC, peer4, zero6, peer4, BCAST);
	inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 1);
	assert_int_equal(rte_ring_dequeue(w->exc, (void **)&out), 0);
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.exception, 2);
	assert_quiet();
	/* The control plane is behind (exception ring full): counted and freed. */
	{
		unsigned int n = fill_ring(w->exc);

		assert_int_equal(n, 63);
		inject(P_A, b, len);
		mr_worker_iteration(w, T0 + 1);
		assert_int_equal(w->stats.drops[MR_DROP_EXCEPTION_FULL], 1);
		assert_int_equal(w->stats.exception, 2);
		unfill_ring(w->exc, n);
	}

	/* ICMP echo request → echo reply with valid checksums. */
	{
		uint8_t *p = b + eth_hdr(b, MAC_A, XMAC, -1, 0x0800), *ic4;
		uint16_t c, ilen = 8 + 37;

		memset(p, 0, 20);
		p[0] = 0x45;
		p[2] = 0;
		p[3] = (uint8_t)(20 + ilen);
		p[6] = 0x40;
		p[8] = 3;
		p[9] = 1;
		memcpy(p + 12, peer4, 4);
		memcpy(p + 16, a4, 4);
		c = ref_ip4(p, 20);
		p[10] = c >> 8;
		p[11] = (uint8_t)c;
		ic4 = p + 20;
		ic4[0] = 8;
		ic4[1] = 0;
		ic4[2] = 0;
		ic4[3] = 0;
		ic4[4] = 0x12;
		ic4[5] = 0x34;
		ic4[6] = 0;
		ic4[7] = 9;
		for (i = 8; i < ilen; i++)
			ic4[i] = (uint8_t)(i * 3);
		c = (uint16_t)~ref_fold(ref_add(0, ic4, ilen));
		ic4[2] = c >> 8;
		ic4[3] = (uint8_t)c;
		len = 14 + 20 + ilen;
		in = inject(P_A, b, len);
		mr_worker_iteration(w, T0 + 2);
		out = take1(P_A, 0);
		assert_ptr_equal(out, in);
		o = rte_pktmbuf_mtod(out, const uint8_t *);
		ip = o + 14;
		ic = ip + 20;
		assert_int_equal(out->pkt_len, len);
		assert_memory_equal(o, XMAC, 6);
		assert_memory_equal(o + 6, MAC_A, 6);
		assert_memory_equal(ip + 12, a4, 4);
		assert_memory_equal(ip + 16, peer4, 4);
		assert_int_equal(ip[8], 64);
		assert_int_equal(ref_fold(ref_add(0, ip, 20)), 0xffff);
		assert_int_equal(ic[0], 0);
		assert_int_equal(ic[1], 0);
		assert_int_equal(be16(ic + 2), (uint16_t)~ref_fold(ref_add(0, ic, 2) +
				 ref_add(0, ic + 4, ilen - 4)));
		assert_int_equal(ref_fold(ref_add(0, ic, ilen)), 0xffff);
		assert_memory_equal(ic + 4, b + 14 + 20 + 4, ilen - 4);	/* id, seq, data */
		rte_pktmbuf_free(out);
		assert_int_equal(w->stats.echo_replies, 1);

		/* Echo reply (type 0) to us: not answered. */
		p[20] = 0;
		expect_drop(P_A, b, len, MR_DROP_ICMP_IGNORED);
		/* Echo request to another address: not answered. */
		p[20] = 8;
		memcpy(p + 16, other4, 4);
		expect_drop(P_A, b, len, MR_DROP_IP4_CKSUM);	/* the header changed */
		p[10] = p[11] = 0;
		c = ref_ip4(p, 20);
		p[10] = c >> 8;
		p[11] = (uint8_t)c;
		expect_drop(P_A, b, len, MR_DROP_ICMP_IGNORED);
	}

	/* IPv6 NS for our address (to its solicited-node group) → NA in place. */
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 135;
	memcpy(icmp + 8, a6, 16);
	icmp[24] = 1;			/* source link-layer address option */
	icmp[25] = 1;
	memcpy(icmp + 26, XMAC, 6);
	len = build_ip6(b, snm_mac, XMAC, peer6, snm, 255, icmp, 32);
	in = inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 3);
	out = take1(P_A, 0);
	assert_ptr_equal(out, in);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	ip = o + 14;
	ic = ip + 40;
	assert_int_equal(out->pkt_len, 14 + 40 + 32);
	assert_memory_equal(o, XMAC, 6);
	assert_memory_equal(o + 6, MAC_A, 6);
	assert_int_equal(be16(o + 12), 0x86dd);
	assert_int_equal(be16(ip + 4), 32);
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 255);			/* RFC 4861 §7.1.2 */
	assert_memory_equal(ip + 8, a6, 16);
	assert_memory_equal(ip + 24, peer6, 16);
	assert_int_equal(ic[0], 136);
	assert_int_equal(ic[1], 0);
	assert_int_equal(ic[4], 0x60);			/* Solicited, Override */
	assert_int_equal(ic[5] | ic[6] | ic[7], 0);
	assert_memory_equal(ic + 8, a6, 16);
	assert_int_equal(ic[24], 2);			/* target link-layer address */
	assert_int_equal(ic[25], 1);
	assert_memory_equal(ic + 26, MAC_A, 6);
	assert_true(ref_icmp6_ok(ip, ic, 32));
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.nd_replies, 1);

	/* DAD probe (unspecified source, no option, 24 bytes) → NA to all-nodes. */
	len = build_ip6(b, snm_mac, XMAC, unspec, snm, 255, icmp, 24);
	in = inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 4);
	out = take1(P_A, 0);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	ip = o + 14;
	ic = ip + 40;
	assert_int_equal(out->pkt_len, 14 + 40 + 32);
	assert_int_equal(be16(ip + 4), 32);
	assert_memory_equal(o, ((const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 }), 6);
	assert_memory_equal(o + 6, MAC_A, 6);
	assert_memory_equal(ip + 8, a6, 16);
	assert_memory_equal(ic + 8, a6, 16);
	assert_memory_equal(ic + 26, MAC_A, 6);
	assert_memory_equal(ip + 24, all_nodes, 16);
	assert_int_equal(ic[4], 0x20);			/* Override only */
	assert_true(ref_icmp6_ok(ip, ic, 32));
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.nd_replies, 2);

	/* The same probe in an mbuf without the 8 bytes of tailroom the NA needs: not
	 * answered, and counted as a tailroom shortage, not as an ICMP message ignored. */
	{
		uint64_t ign = w->stats.drops[MR_DROP_ICMP_IGNORED], all = drops_total(w);

		len = build_ip6(b, snm_mac, XMAC, unspec, snm, 255, icmp, 24);
		inject_room(P_A, b, len, (uint16_t)(RTE_MBUF_DEFAULT_BUF_SIZE - len - 4));
		mr_worker_iteration(w, T0 + 4);
		assert_int_equal(w->stats.drops[MR_DROP_NO_TAILROOM], 1);
		assert_int_equal(w->stats.drops[MR_DROP_ICMP_IGNORED], ign);
		assert_int_equal(drops_total(w), all + 1);
		assert_int_equal(w->stats.nd_replies, 2);
	}

	/* NS with hop limit 64 (forwarded: forged), for another target: ignored. */
	len = build_ip6(b, snm_mac, XMAC, peer6, snm, 64, icmp, 32);
	expect_drop(P_A, b, len, MR_DROP_ICMP_IGNORED);
	icmp[23] = 0x99;
	len = build_ip6(b, snm_mac, XMAC, peer6, snm, 255, icmp, 32);
	expect_drop(P_A, b, len, MR_DROP_ICMP_IGNORED);

	/* ICMPv6 echo to our address → reply. */
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 128;
	icmp[5] = 7;
	for (i = 8; i < 21; i++)
		icmp[i] = (uint8_t)i;
	len = build_ip6(b, MAC_A, XMAC, peer6, a6, 64, icmp, 21);
	in = inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 5);
	out = take1(P_A, 0);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	ip = o + 14;
	ic = ip + 40;
	assert_memory_equal(o, XMAC, 6);
	assert_memory_equal(ip + 8, a6, 16);
	assert_memory_equal(ip + 24, peer6, 16);
	assert_int_equal(ic[0], 129);
	assert_true(ref_icmp6_ok(ip, ic, 21));
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.echo_replies, 2);

	/* NA from a neighbor → the control plane. */
	memset(icmp, 0, sizeof(icmp));
	icmp[0] = 136;
	icmp[4] = 0x60;
	memcpy(icmp + 8, peer6, 16);
	len = build_ip6(b, MAC_A, XMAC, peer6, a6, 255, icmp, 24);
	in = inject(P_A, b, len);
	mr_worker_iteration(w, T0 + 6);
	assert_int_equal(rte_ring_dequeue(w->exc, (void **)&out), 0);
	assert_ptr_equal(out, in);
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.exception, 3);
	assert_int_equal(drops_total(w), 9);
	assert_quiet();
}

/* ---- 11. commands ---- */

static void
test_commands(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, r1 = ep4(198, 18, 0, 40, 4000), l0, l1;
	struct rte_mbuf *out;
	struct mr_cmd c;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	s = sess_new(0, 1, P_A, MR_AF4, 20900, P_B, MR_AF4, 20902);
	sess_publish(s);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;
	neigh_set(P_A, 5, RMAC1);

	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_SET_REMOTE;
	c.leg = 0;
	c.path = 0;
	c.nh = 5;
	c.s = s;
	c.remote = r1;
	assert_int_equal(rte_ring_enqueue_elem(w->cmd, &c, sizeof(c)), 0);
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_NONE);	/* not before */
	assert_int_equal(mr_worker_iteration(w, T0), 0);
	assert_int_equal(w->stats.cmds, 1);
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_CONFIGURED);
	assert_true(mr_ep_eq(&s->leg[0].path[0].remote, &r1));
	assert_int_equal(s->leg[0].path[0].nh, 5);
	assert_int_equal(rte_ring_count(w->cmd), 0);

	plen = rtp(pl, 0, 1, 0, 0x1, 4);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 1);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC1, MAC_A, -1, &l0, &r1, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* Clear it (family 0): back to no remote. */
	memset(&c.remote, 0, sizeof(c.remote));
	assert_int_equal(rte_ring_enqueue_elem(w->cmd, &c, sizeof(c)), 0);
	inject_f(P_B, &f);
	mr_worker_iteration(w, T0 + 2);
	assert_int_equal(w->stats.cmds, 2);
	assert_int_equal(s->leg[0].path[0].state, MR_PATH_NONE);
	assert_int_equal(w->stats.drops[MR_DROP_NO_REMOTE], 1);
	assert_int_equal(s->leg[1].ctr.drop_no_remote, 1);

	/* Every command applied is counted where the control plane reads it (release). */
	assert_int_equal(__atomic_load_n(&w->cmd_done, __ATOMIC_ACQUIRE), 2);
	/* Worker 1 has its own command ring: nothing leaked over. */
	assert_int_equal(dp->w[1]->stats.cmds, 0);
	assert_int_equal(dp->w[1]->cmd_done, 0);
	assert_quiet();
}

/* ---- 12. the control plane's core: owner map, command sender, deferral queue ---- */

/* An appliance with just what controlplane/core/flows.c reads: the dataplane, a relay port
 * range of two endpoints, no steering. */
static struct mr_config cp_cfg;
static struct mr_appliance cp_app;

static struct mr_flows *
cp_flows(void)
{
	struct mr_flows *fl;

	memset(&cp_cfg, 0, sizeof(cp_cfg));
	cp_cfg.port_min = 30000;
	cp_cfg.port_max = 30003;
	memset(&cp_app, 0, sizeof(cp_app));
	cp_app.cfg = &cp_cfg;
	cp_app.dp = dp;
	fl = mr_flows_create(&cp_app);
	assert_non_null(fl);
	return fl;
}

static void
test_owner_map(void **state)
{
	struct mr_worker *w0 = dp->w[0], *w1 = dp->w[1];
	struct mr_flows *fl = cp_flows();
	struct mr_dp_session *s;
	struct mr_ep ep, ep2, x = X, r0 = R0;
	struct rte_mbuf *in, *out;
	uint8_t pl[64];
	uint16_t plen;
	struct frame f;

	(void)state;
	/* The least loaded worker owns the next endpoint. */
	assert_int_equal(mr_flows_least_loaded(fl), 0);
	mr_flows_load_add(fl, 0, 1);
	assert_int_equal(mr_flows_least_loaded(fl), 1);

	/* Allocated: both ports of the endpoint map to worker 1 (index + 1) before any flow
	 * is published. */
	assert_int_equal(mr_flows_ep_available(fl), 2);
	assert_int_equal(mr_flows_ep_alloc(fl, P_C, MR_AF6, 1, &ep2), -EAFNOSUPPORT);
	assert_int_equal(mr_flows_ep_alloc(fl, P_B, MR_AF4, 1, &ep), 0);
	assert_int_equal(ep.family, MR_AF4);
	/* Either pair: the allocator starts at a random one (docs/OPERATIONS.md). */
	assert_true(ep.port == 30000 || ep.port == 30002);
	assert_memory_equal(ep.a, dp->port[P_B].addr4, 4);
	assert_int_equal(mr_owner_load(dp, 0, ep.port), 2);
	assert_int_equal(mr_owner_load(dp, 0, ep.port + 1), 2);
	assert_int_equal(mr_owner_load(dp, 0, ep.port ^ 2), 0);
	assert_int_equal(mr_flows_ep_available(fl), 1);

	/* Published on worker 1: worker 0 receives it and hands it over by the owner map. */
	s = sess_new(1, 1, P_A, MR_AF4, 20600, P_B, MR_AF4, ep.port);
	path_set(s, 0, 0, &r0, 1);
	neigh_set(P_A, 1, RMAC0);
	assert_int_equal(mr_flows_add(fl, &ep, ep.port, 1, mr_flow_val(s, 1, 0)), 0);
	plen = rtp(pl, 0, 1, 0, 0x1, 16);
	build_udp(&f, MAC_B, XMAC, &x, &ep, pl, plen, &PLAIN);
	in = inject_f(P_B, &f);
	mr_worker_iteration(w0, T0);
	assert_int_equal(w0->stats.handoff_out, 1);
	mr_worker_iteration(w1, T0 + 1);
	assert_int_equal(w1->stats.relayed, 1);
	out = take1(P_A, 1);
	assert_ptr_equal(out, in);
	rte_pktmbuf_free(out);

	/* Unpublished: the key is gone at once; the map keeps the owner until the endpoint
	 * is given back (after the grace period), so a stray packet still reaches worker 1,
	 * which has no flow for it. */
	mr_flows_del(fl, &ep, ep.port, 1);
	assert_int_equal(mr_owner_load(dp, 0, ep.port), 2);
	inject_f(P_B, &f);
	mr_worker_iteration(w0, T0 + 2);
	mr_worker_iteration(w1, T0 + 3);
	assert_int_equal(w0->stats.handoff_out, 2);
	assert_int_equal(w1->stats.drops[MR_DROP_NO_FLOW], 1);

	/* Given back: the map is clear, worker 0 drops the next one itself. */
	mr_flows_ep_free(fl, P_B, &ep);
	assert_int_equal(mr_owner_load(dp, 0, ep.port), 0);
	assert_int_equal(mr_owner_load(dp, 0, ep.port + 1), 0);
	assert_int_equal(mr_flows_ep_available(fl), 2);
	inject_f(P_B, &f);
	mr_worker_iteration(w0, T0 + 4);
	assert_int_equal(w0->stats.handoff_out, 2);
	assert_int_equal(w0->stats.drops[MR_DROP_NO_FLOW], 1);

	/* FIFO reuse: the port just freed comes last. */
	assert_int_equal(mr_flows_ep_alloc(fl, P_B, MR_AF4, 0, &ep2), 0);
	assert_int_equal(ep2.port, ep.port ^ 2);
	assert_int_equal(mr_owner_load(dp, 0, ep2.port), 1);
	mr_flows_ep_free(fl, P_B, &ep2);
	assert_int_equal(mr_owner_load(dp, 0, ep2.port), 0);
	mr_flows_free(fl);
	assert_quiet();
}

static void
cmd_clear_remote(struct mr_cmd *c, struct mr_dp_session *s)
{
	memset(c, 0, sizeof(*c));
	c->type = MR_CMD_SET_REMOTE;
	c->s = s;
	c->leg = 1;
}

static void
test_cmdq_bounded(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s = sess_std(0, 20700, 20702);
	unsigned int cap = rte_ring_get_capacity(w->cmd), i;
	struct mr_cmd c[3];
	struct mr_cmdq q;
	uint64_t seq = 0;

	(void)state;
	mr_cmdq_init(&q, dp);
	for (i = 0; i < RTE_DIM(c); i++)
		cmd_clear_remote(&c[i], s);
	/* The worker runs no iteration: nothing drains its ring. Fill it. */
	for (i = 0; i < cap; i++)
		assert_int_equal(mr_cmdq_send(&q, 0, c, 1, 1, &seq), 0);
	assert_int_equal(seq, cap);
	assert_int_equal(q.full, 0);
	/* Full: given up after a bounded wait (the call returns), counted. */
	seq = 0;
	assert_int_equal(mr_cmdq_send(&q, 0, c, 1, 1, &seq), -EBUSY);
	assert_int_equal(seq, 0);
	assert_int_equal(q.full, 1);
	assert_int_equal(q.refused, 1);
	assert_int_equal(mr_cmdq_send(&q, 0, c, 1, 0, NULL), -EBUSY);
	assert_int_equal(q.refused, 2);
	assert_int_equal(mr_cmdq_sent(&q, 0), cap);
	assert_int_equal(rte_ring_count(w->cmd), cap);
	/* More than the ring ever holds is a caller's error, not a busy worker. */
	assert_int_equal(mr_cmdq_send(&q, 0, c, cap + 1, 1, NULL), -EINVAL);
	assert_int_equal(q.refused, 2);
	/* Worker 1's ring is another ring. */
	assert_int_equal(mr_cmdq_send(&q, 1, c, 1, 0, &seq), 0);
	assert_int_equal(seq, 1);

	/* Not applied yet: a bounded wait for them times out. */
	assert_int_equal(mr_cmdq_wait(&q, 0, cap, 0), -ETIMEDOUT);
	assert_false(mr_cmdq_applied(&q, 0, cap));
	mr_worker_commands(w);
	assert_int_equal(mr_cmdq_wait(&q, 0, cap, 0), 0);
	assert_int_equal(w->stats.cmds, cap);

	/* A group goes all or nothing: two free slots refuse three commands, take two. */
	for (i = 0; i < cap - 2; i++)
		assert_int_equal(mr_cmdq_send(&q, 0, c, 1, 0, NULL), 0);
	assert_int_equal(mr_cmdq_send(&q, 0, c, 3, 1, &seq), -EBUSY);
	assert_int_equal(rte_ring_count(w->cmd), cap - 2);
	assert_int_equal(q.refused, 3);
	assert_int_equal(mr_cmdq_send(&q, 0, c, 2, 1, &seq), 0);
	assert_int_equal(seq, 2 * cap);
	mr_worker_commands(w);
	assert_true(mr_cmdq_applied(&q, 0, seq));
	assert_int_equal(w->cmd_done, 2 * cap);
	mr_worker_commands(dp->w[1]);
	assert_quiet();
}

/* An object on the deferral queue. */
struct dobj {
	struct mr_defer d;
	int ready;		/* what its ready() answers */
	unsigned int asked;	/* ready() calls */
	unsigned int freed;
	struct mr_dp_session *s;	/* a session a command names */
	uint8_t state_at_free;	/* s->leg[1].path[0].state when freed */
};

static int
dobj_ready(struct mr_defer *d, void *arg)
{
	struct dobj *o = container_of(d, struct dobj, d);

	(void)arg;
	o->asked++;
	return o->ready;
}

static void
dobj_free(struct mr_defer *d, void *arg)
{
	struct dobj *o = container_of(d, struct dobj, d);

	(void)arg;
	o->freed++;
	if (o->s != NULL)
		o->state_at_free = o->s->leg[1].path[0].state;
}

static const struct mr_defer_ops dobj_ops = { .free = dobj_free };
static const struct mr_defer_ops dobj_ready_ops = { .ready = dobj_ready, .free = dobj_free };

static void
test_defer(void **state)
{
	struct mr_worker *w0 = dp->w[0];
	struct mr_dp_session *s = sess_std(0, 20800, 20802);
	struct dobj a = { .s = s }, b = { 0 }, nb = { 0 }, r = { 0 }, late = { 0 };
	struct mr_ep x = X;
	struct mr_defer_q dq;
	struct mr_cmdq q;
	struct mr_cmd c;

	(void)state;
	mr_cmdq_init(&q, dp);
	mr_defer_init(&dq, &q, dp->qsv);
	/* Worker 0 is an RCU reader, online: grace periods wait for its quiescent states. */
	assert_int_equal(rte_rcu_qsbr_thread_register(dp->qsv, 0), 0);
	rte_rcu_qsbr_thread_online(dp->qsv, 0);

	/* a: a command naming its session is queued on worker 0 before a is. */
	cmd_clear_remote(&c, s);
	c.remote = x;
	c.nh = 1;
	assert_int_equal(mr_cmdq_send(&q, 0, &c, 1, 1, NULL), 0);
	mr_defer_add(&dq, &a.d, 0, &dobj_ops, NULL);
	/* b: owned by worker 1, which has nothing pending; nb: no owner (an old list);
	 * r: waits for its ready() too. */
	mr_defer_add(&dq, &b.d, 1, &dobj_ops, NULL);
	mr_defer_add(&dq, &nb.d, MR_DEFER_NO_OWNER, &dobj_ops, NULL);
	mr_defer_add(&dq, &r.d, 1, &dobj_ready_ops, NULL);
	assert_int_equal(dq.n, 4);

	/* No grace period has passed: nothing is freed. */
	assert_int_equal(mr_defer_poll(&dq), 0);
	assert_int_equal(r.asked, 1);
	/* Worker 0 passes a quiescent state: the grace period of b and nb ended, but a's
	 * owner has not applied the command naming it (a grace period alone is not enough),
	 * and r is not ready. */
	rte_rcu_qsbr_quiescent(dp->qsv, 0);
	assert_int_equal(mr_defer_poll(&dq), 2);
	assert_int_equal(b.freed, 1);
	assert_int_equal(nb.freed, 1);
	assert_int_equal(a.freed, 0);
	assert_int_equal(r.freed, 0);
	assert_int_equal(dq.n, 2);

	/* The owner applies it: a's grace period starts only now, and must pass too. */
	mr_worker_commands(w0);
	assert_int_equal(mr_defer_poll(&dq), 0);
	assert_int_equal(a.freed, 0);
	rte_rcu_qsbr_quiescent(dp->qsv, 0);
	assert_int_equal(mr_defer_poll(&dq), 1);
	assert_int_equal(a.freed, 1);
	assert_int_equal(a.state_at_free, MR_PATH_CONFIGURED);	/* the command was applied */

	/* r becomes ready: then a grace period. */
	r.ready = 1;
	assert_int_equal(mr_defer_poll(&dq), 0);
	assert_int_equal(r.freed, 0);
	rte_rcu_qsbr_quiescent(dp->qsv, 0);
	assert_int_equal(mr_defer_poll(&dq), 1);
	assert_int_equal(r.freed, 1);
	assert_int_equal(dq.n, 0);

	/* An offline reader (an idle worker asleep) does not hold grace periods up. */
	rte_rcu_qsbr_thread_offline(dp->qsv, 0);
	mr_defer_add(&dq, &late.d, 0, &dobj_ops, NULL);
	assert_int_equal(mr_defer_poll(&dq), 1);
	assert_int_equal(late.freed, 1);

	/* Draining (workers stopped) frees what waits at once, once each. */
	late.freed = 0;
	cmd_clear_remote(&c, s);
	assert_int_equal(mr_cmdq_send(&q, 0, &c, 1, 1, NULL), 0);
	mr_defer_add(&dq, &late.d, 0, &dobj_ops, NULL);
	assert_int_equal(mr_defer_poll(&dq), 0);
	mr_defer_drain(&dq);
	assert_int_equal(late.freed, 1);
	assert_int_equal(dq.n, 0);
	assert_int_equal(mr_defer_poll(&dq), 0);
	rte_rcu_qsbr_thread_unregister(dp->qsv, 0);
	mr_worker_commands(w0);
	assert_quiet();
}

/* ---- a full burst mixing sessions and drops ---- */

static void
test_burst(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s, *t;
	struct mr_ep x = X, r0 = R0, nf;
	struct rte_mbuf *in[MR_BURST], *out[64];
	uint8_t pl[MR_BURST][64];
	uint16_t plen[MR_BURST];
	struct frame f;
	unsigned int i, j;

	(void)state;
	s = sess_std(0, 21000, 21002);
	t = sess_std(0, 21010, 21012);
	nf = s->leg[1].local;
	nf.port = 31000;
	for (i = 0; i < MR_BURST; i++) {
		const struct mr_ep *dst = i % 4 == 3 ? &nf : (i & 1 ? &t->leg[1].local :
							      &s->leg[1].local);

		plen[i] = rtp(pl[i], 0, (uint16_t)(1 + i / 2), 0, 0x1, (uint16_t)(i + 1));
		build_udp(&f, MAC_B, XMAC, &x, dst, pl[i], plen[i], &PLAIN);
		in[i] = inject_f(P_B, &f);
	}
	assert_int_equal(mr_worker_iteration(w, T0), MR_BURST);
	take_n(P_A, 0, out, MR_BURST - MR_BURST / 4);
	for (i = 0, j = 0; i < MR_BURST; i++) {
		if (i % 4 == 3)
			continue;
		assert_ptr_equal(out[j], in[i]);	/* order kept */
		check_udp_out(out[j], RMAC0, MAC_A, -1,
			      i & 1 ? &t->leg[0].local : &s->leg[0].local, &r0, 0, pl[i],
			      plen[i], 0);
		rte_pktmbuf_free(out[j]);
		j++;
	}
	assert_int_equal(w->stats.drops[MR_DROP_NO_FLOW], MR_BURST / 4);
	assert_int_equal(w->stats.relayed, MR_BURST - MR_BURST / 4);
	assert_int_equal(s->leg[1].ctr.pkts_in + t->leg[1].ctr.pkts_in, MR_BURST - MR_BURST / 4);
	assert_quiet();
}

/* ---- ports that cannot vouch for received UDP checksums (ports.rx_checksum) ---- */

/* What Linux leaves in the field of a datagram whose checksum it offloads (CHECKSUM_PARTIAL),
 * which a veth passes on and af_packet does not complete: the folded pseudo-header sum. */
static void
partial_cksum(struct frame *f, const struct mr_ep *src, const struct mr_ep *dst)
{
	uint8_t *udp = f->b + f->l4;
	uint8_t tail[4] = { 0, 17, udp[4], udp[5] };
	uint16_t c = ref_fold(ref_add(ref_add(ref_add(0, src->a, 4), dst->a, 4), tail, 4));

	udp[6] = c >> 8;
	udp[7] = (uint8_t)c;
}

static void
test_rx_cksum_recompute(void **state)
{
	struct mr_worker *w0 = dp->w[0], *w1 = dp->w[1];
	struct mr_dp_session *s, *t;
	struct mr_ep x = X, r0 = R0;
	struct udp_opts none = { .vlan = -1, .zero_ck = 1 };
	struct rte_mbuf *out;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;

	(void)state;
	s = sess_std(0, 21100, 21102);	/* owned by the worker polling port B */
	t = sess_std(1, 21110, 21112);	/* reached over a hand-off ring */
	dp->port[P_B].rx_cksum_recompute = 1;
	plen = rtp(pl, 0, 1, 160, 0x1, 101);

	/* From the RX queue (the loop's constant variant): a valid checksum comes out. */
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	partial_cksum(&f, &x, &s->leg[1].local);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w0, T0), 1);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &s->leg[0].local, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* Over a hand-off ring, where each packet's port decides. */
	build_udp(&f, MAC_B, XMAC, &x, &t->leg[1].local, pl, plen, &PLAIN);
	partial_cksum(&f, &x, &t->leg[1].local);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w0, T0 + 1), 1);
	assert_int_equal(mr_worker_iteration(w1, T0 + 2), 1);
	out = take1(P_A, 1);
	check_udp_out(out, RMAC0, MAC_A, -1, &t->leg[0].local, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* An IPv4 sender that sent no checksum still sends none (RFC 768). */
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &none);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w0, T0 + 3), 1);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &s->leg[0].local, &r0, 0, pl, plen, 1);
	rte_pktmbuf_free(out);
	assert_int_equal(drops_total(w0) + drops_total(w1), 0);
	assert_quiet();
}

/* One RTP packet (pl, plen) from X to leg 1 of s at seq: relayed from leg 0 to R0 as want
 * (want NULL: held back). */
static void
silence_one(struct mr_dp_session *s, const uint8_t *pl, uint16_t plen, const uint8_t *want,
	    uint16_t seq)
{
	struct mr_worker *w = dp->w[0];
	struct mr_ep x = X, r0 = R0;
	struct rte_mbuf *out;
	struct frame f;

	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + seq), 1);
	if (want == NULL)
		return;
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &s->leg[0].local, &r0, 0, want, plen, 0);
	rte_pktmbuf_free(out);
}

/* ng "silence media" (MR_LEG_MUTE_SILENCE on the leg the media goes to): G.711 goes on with
 * its audio bytes (after CSRCs and the extension, before the padding) replaced by the codec's
 * silence and a UDP checksum that is right for them, whether the port vouches for the
 * received checksum or not; anything else is held back and counted as muted, as with block
 * media, and so is everything while the leg is blocked too. Then "block DTMF"
 * (MR_LEG_MUTE_DTMF): its payload type held back, the rest as it came, or silenced with
 * silence media too. */
static void
test_silence(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	uint8_t pl[256], want[256];
	uint16_t plen, seq = 1;
	unsigned int k;
	static const struct { uint8_t pt, fill, first; int recompute; } g711[] = {
		{ 0, 0xff, 0x80, 0 },	/* PCMU */
		{ 8, 0xd5, 0x80, 0 },	/* PCMA */
		{ 8, 0xd5, 0x80, 1 },	/* the port cannot vouch for the checksum */
		{ 0, 0xff, 0xb1, 0 },	/* padding, a CSRC and a one-word extension */
	};

	(void)state;
	s = sess_std(0, 21200, 21202);
	__atomic_store_n(&s->leg[0].mute, MR_LEG_MUTE_SILENCE, __ATOMIC_RELAXED);
	for (k = 0; k < sizeof(g711) / sizeof(g711[0]); k++, seq++) {
		unsigned int hl = 12;

		dp->port[P_B].rx_cksum_recompute = g711[k].recompute;
		plen = rtp(pl, g711[k].pt, seq, 160u * seq, 0x5151, 160);
		pl[0] = g711[k].first;
		if (g711[k].first & 0x10) {
			/* CSRC word, then the extension header (profile, 1 word) and its word */
			pl[15] = 1;
			pl[16] = 0xbe;
			pl[17] = 0xde;
			pl[18] = 0;
			pl[19] = 1;
			hl = 24;
		}
		if (g711[k].first & 0x20)
			pl[plen - 1] = 4;	/* 4 bytes of padding */
		memcpy(want, pl, plen);
		memset(want + hl, g711[k].fill, plen - hl - (g711[k].first & 0x20 ? 4 : 0));
		silence_one(s, pl, plen, want, seq);
	}
	dp->port[P_B].rx_cksum_recompute = 0;
	assert_int_equal(w->stats.silenced, k);
	assert_int_equal(s->leg[0].ctr.pkts_out, k);
	/* telephone-event (101) and G.722 (9): held back, counted as muted */
	for (k = 0; k < 2; k++, seq++) {
		plen = rtp(pl, k ? 9 : 101, seq, 160u * seq, 0x5151, 4);
		silence_one(s, pl, plen, NULL, seq);
	}
	assert_int_equal(s->leg[1].drop_muted, 2);
	assert_int_equal(w->stats.drops[MR_DROP_MUTED], 2);
	/* A header longer than the packet: held back too, nothing written past it. */
	plen = rtp(pl, 0, seq, 0, 0x5151, 4);
	pl[0] = 0x8f;			/* 15 CSRCs in 16 bytes */
	silence_one(s, pl, plen, NULL, seq++);
	assert_int_equal(s->leg[1].drop_muted, 3);
	/* Blocked as well: everything held back. */
	__atomic_store_n(&s->leg[0].mute, MR_LEG_MUTE_SILENCE | MR_LEG_MUTE_BLOCK,
			 __ATOMIC_RELAXED);
	plen = rtp(pl, 0, seq, 0, 0x5151, 160);
	silence_one(s, pl, plen, NULL, seq++);
	assert_int_equal(s->leg[1].drop_muted, 4);
	/* Cleared: as it came. */
	__atomic_store_n(&s->leg[0].mute, 0, __ATOMIC_RELAXED);
	plen = rtp(pl, 0, seq, 0, 0x5151, 160);
	silence_one(s, pl, plen, pl, seq++);
	assert_int_equal(w->stats.silenced, 4);
	/* ng "block DTMF" (MR_LEG_MUTE_DTMF): payload type 101 held back, PCMU as it came;
	 * with silence too, PCMU silenced. */
	__atomic_store_n(&s->leg[0].dtmf_pt, 101, __ATOMIC_RELAXED);
	__atomic_store_n(&s->leg[0].mute, MR_LEG_MUTE_DTMF, __ATOMIC_RELAXED);
	plen = rtp(pl, 101, seq, 0, 0x5151, 4);
	silence_one(s, pl, plen, NULL, seq++);
	assert_int_equal(s->leg[1].drop_muted, 5);
	plen = rtp(pl, 0, seq, 0, 0x5151, 160);
	silence_one(s, pl, plen, pl, seq++);
	__atomic_store_n(&s->leg[0].mute, MR_LEG_MUTE_DTMF | MR_LEG_MUTE_SILENCE,
			 __ATOMIC_RELAXED);
	plen = rtp(pl, 0, seq, 0, 0x5151, 160);
	memcpy(want, pl, plen);
	memset(want + 12, 0xff, 160);
	silence_one(s, pl, plen, want, seq++);
	assert_int_equal(s->leg[1].drop_muted, 5);
	assert_int_equal(w->stats.silenced, 5);
	assert_quiet();
}

/* Checksum offload on TX (a NIC that has it, ports.c): the IPv4 header checksum is left to
 * the NIC (field 0, RTE_MBUF_F_TX_IP_CKSUM), and the UDP field holds the pseudo-header sum the
 * NIC finishes from, as DPDK's rte_ipv4/6_phdr_cksum() compute it over the header written
 * (hdr.h sums it from the addresses instead of reading the header back). */
static void
test_tx_cksum_offload(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s, *t;
	struct mr_ep x = X, r6 = ep6("2001:db8:a::10", 5000);
	struct rte_mbuf *out;
	const uint8_t *o;
	uint8_t pl[256];
	uint16_t plen, ck;
	struct frame f;

	(void)state;
	dp->port[P_A].tx_ip_cksum = 1;
	dp->port[P_A].tx_udp_cksum = 1;
	s = sess_std(0, 21300, 21302);
	t = sess_new(0, 1, P_A, MR_AF6, 21310, P_B, MR_AF4, 21312);
	path_set(t, 0, 0, &r6, 7);
	neigh_set(P_A, 7, RMAC0);
	sess_publish(t);

	/* IPv4 out: odd payload length, DSCP kept. */
	plen = rtp(pl, 0, 1, 160, 0x1, 41);
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0), 1);
	out = take1(P_A, 0);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_int_equal(out->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM |
					  RTE_MBUF_F_TX_UDP_CKSUM),
			 RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM);
	assert_int_equal(out->l2_len, 14);
	assert_int_equal(out->l3_len, 20);
	assert_int_equal(be16(o + 14 + 10), 0);
	assert_int_equal(be16(o + 14 + 2), 20 + 8 + plen);
	ck = rte_ipv4_phdr_cksum((const struct rte_ipv4_hdr *)(o + 14), out->ol_flags);
	assert_memory_equal(o + 14 + 20 + 6, &ck, 2);
	assert_memory_equal(o + 14 + 20 + 8, pl, plen);
	rte_pktmbuf_free(out);

	/* IPv6 out. */
	plen = rtp(pl, 0, 2, 320, 0x1, 160);
	build_udp(&f, MAC_B, XMAC, &x, &t->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 1), 1);
	out = take1(P_A, 0);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_true(out->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM);
	assert_true(out->ol_flags & RTE_MBUF_F_TX_IPV6);
	assert_int_equal(out->l3_len, 40);
	ck = rte_ipv6_phdr_cksum((const struct rte_ipv6_hdr *)(o + 14), out->ol_flags);
	assert_memory_equal(o + 14 + 40 + 6, &ck, 2);
	assert_memory_equal(o + 14 + 40 + 8, pl, plen);
	rte_pktmbuf_free(out);
	dp->port[P_A].tx_ip_cksum = 0;
	dp->port[P_A].tx_udp_cksum = 0;
	assert_int_equal(drops_total(w), 0);
	assert_quiet();
}

/* Corruption is not laundered (issue 14 §2): a wrong IPv4 header checksum is dropped (the
 * relay writes a fresh header), a wrong UDP checksum where the relay would send a fresh one
 * (rx_checksum recompute) too; on a port that is trusted, the updated checksum stays wrong. */
static void
test_bad_checksums(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct mr_dp_session *s;
	struct mr_ep x = X, r0 = R0;
	struct rte_mbuf *out, *in;
	uint8_t pl[256];
	uint16_t plen;
	struct frame f;
	const uint8_t *o;

	(void)state;
	s = sess_std(0, 21200, 21202);
	plen = rtp(pl, 0, 1, 160, 0x1, 101);

	/* IPv4 header checksum wrong: dropped before anything latches. */
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	f.b[14 + 10] ^= 0x40;
	expect_drop(P_B, f.b, f.len, MR_DROP_IP4_CKSUM);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_NONE);
	/* ...unless the NIC vouched for it. */
	in = inject_f(P_B, &f);
	in->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	assert_int_equal(mr_worker_iteration(w, T0), 1);
	rte_pktmbuf_free(take1(P_A, 0));

	/* A payload byte corrupted on a trusted port: relayed, and the updated checksum is
	 * still wrong (the receiver sees the corruption). */
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	f.b[f.len - 1] ^= 0x01;
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 1), 1);
	out = take1(P_A, 0);
	o = rte_pktmbuf_mtod(out, const uint8_t *);
	assert_int_not_equal(be16(o + 34 + 6), ref_udp(MR_AF4, s->leg[0].local.a, r0.a, o + 34,
						      8 + plen));
	rte_pktmbuf_free(out);
	/* The NIC saying it is bad is enough. */
	in = inject_f(P_B, &f);
	in->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	assert_int_equal(mr_worker_iteration(w, T0 + 2), 1);
	assert_int_equal(w->stats.drops[MR_DROP_UDP_CKSUM], 1);

	/* A port that cannot vouch (recompute): the same packet is dropped, a valid one, one
	 * without a checksum and a partial one (a local sender's offload) are relayed. */
	dp->port[P_B].rx_cksum_recompute = 1;
	expect_drop(P_B, f.b, f.len, MR_DROP_UDP_CKSUM);
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 3), 1);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &s->leg[0].local, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	partial_cksum(&f, &x, &s->leg[1].local);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 4), 1);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &s->leg[0].local, &r0, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* An empty datagram on a leg is a malformed RTP packet, charged to the leg. */
	build_udp(&f, MAC_B, XMAC, &x, &s->leg[1].local, pl, 0, &PLAIN);
	expect_drop(P_B, f.b, f.len, MR_DROP_RTP_MALFORMED);
	assert_int_equal(s->leg[1].ctr.drop_rtp, 1);
	assert_int_equal(w->stats.drops[MR_DROP_IP4_CKSUM], 1);
	assert_int_equal(w->stats.drops[MR_DROP_UDP_CKSUM], 2);
	assert_quiet();
}

/* ---- the control thread's packets (ARP/ND requests) leave through worker 0 ---- */

static void
test_cp_tx(void **state)
{
	struct mr_worker *w = dp->w[0];
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool), *out;

	(void)state;
	assert_non_null(m);
	memset(rte_pktmbuf_append(m, 60), 0xff, 60);
	m->port = port_id[P_C];
	assert_int_equal(rte_ring_sp_enqueue(w->cp_tx, m), 0);
	assert_int_equal(mr_worker_iteration(w, T0), 1);
	out = take1(P_C, 0);			/* worker 0's TX queue of that port */
	assert_ptr_equal(out, m);
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.tx_pkts, 1);
	assert_int_equal(drops_total(w), 0);
	assert_quiet();
}

/* ---- SRTP in the relay (dataplane/srtp/, both engines) ---- */

static struct mr_srtp_ctx *
srtp_ctx(enum mr_srtp_engine_kind kind, uint8_t fill)
{
	struct mr_srtp_key k = { .suite = MR_SRTP_AES_CM_128_HMAC_SHA1_80, .len = 30 };
	struct mr_srtp_ctx *c;

	memset(k.master, fill, k.len);
	c = mr_srtp_ctx_create(kind, &k);
	assert_non_null(c);
	return c;
}

/* Encrypt (or decrypt) the len bytes at p with c, through engine e: the new length. */
static uint16_t
srtp_do(struct mr_srtp_engine *e, struct mr_srtp_ctx *c, uint8_t *p, uint16_t len, int protect,
	int want)
{
	struct mr_srtp_op op = { .ctx = c, .pkt = p, .len = len, .room = 64 };

	if (protect)
		mr_srtp_protect_burst(e, &op, 1);
	else
		mr_srtp_unprotect_burst(e, &op, 1);
	assert_int_equal(op.res, want);
	return op.len;
}

static void
srtp_case(enum mr_srtp_engine_kind kind)
{
	struct mr_worker *w = dp->w[0];
	struct mr_srtp_engine *e = mr_srtp_engine_create(kind), *te = mr_srtp_engine_create(kind);
	struct mr_srtp_ctx *snd1 = srtp_ctx(kind, 0x11), *snd2 = srtp_ctx(kind, 0x22);
	struct mr_srtp_ctx *rcv = srtp_ctx(kind, 0x33);
	struct mr_dp_srtp *d1, *d2;
	struct mr_dp_session *s;
	struct mr_ep x = X, y = ep4(198, 18, 0, 12, 6002), r0 = R0, l0, l1;
	uint8_t pl[256], plain[256], enc[8][256], plain_s[8][256];
	uint16_t plen, elen[8], n;
	struct frame f;
	struct mr_cmd c;
	struct rte_mbuf *out, *outs[64];
	unsigned int i;

	assert_non_null(e);
	assert_non_null(te);
	assert_int_equal(mr_worker_srtp_setup(w, e), 0);
	dp->srtp_overlap_tsc = 1000;
	s = sess_std(0, 20100, 20102);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;
	/* Leg 1 (latching) speaks SRTP: the remote encrypts with key 0x11, mrelay with 0x33. */
	d1 = rte_zmalloc("t_srtp", sizeof(*d1), 0);
	assert_non_null(d1);
	d1->rx = srtp_ctx(kind, 0x11);
	d1->tx = srtp_ctx(kind, 0x33);
	d1->rx_srtp = 1;
	s->leg[1].srtp = d1;

	/* Eight packets as the remote sends them. */
	for (i = 0; i < 8; i++) {
		plen = rtp(plain_s[i], 0, (uint16_t)(100 + i), 160 * i, 0x5ec0de01, 40);
		memcpy(enc[i], plain_s[i], plen);
		elen[i] = srtp_do(te, snd1, enc[i], plen, 1, MR_SRTP_OK);
		assert_int_equal(elen[i], plen + 10);
	}
	plen = elen[0] - 10;

	/* 1. Forged (a flipped bit) from a stranger, and plain RTP: dropped, nothing learned. */
	memcpy(pl, enc[0], elen[0]);
	pl[20] ^= 1;
	build_udp(&f, MAC_B, YMAC, &y, &l1, pl, elen[0], &PLAIN);
	inject_f(P_B, &f);
	build_udp(&f, MAC_B, YMAC, &y, &l1, plain_s[0], plen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 10), 2);
	assert_int_equal(w->stats.drops[MR_DROP_SRTP_AUTH], 2);
	assert_int_equal(d1->ctr.auth_fail, 2);
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_NONE);
	assert_int_equal(s->leg[1].ctr.pkts_in, 0);
	assert_int_equal(mr_rtp_stats_received(&s->leg[1].rtp), 0);
	assert_quiet();

	/* 2. The genuine packets, in one burst: latch X, leave decrypted to R0 (checksum in
	 * full), in order. */
	for (i = 0; i < 3; i++) {
		build_udp(&f, MAC_B, XMAC, &x, &l1, enc[i], elen[i], &PLAIN);
		inject_f(P_B, &f);
	}
	assert_int_equal(mr_worker_iteration(w, T0 + 20), 3);
	take_n(P_A, 0, outs, 3);
	for (i = 0; i < 3; i++) {
		check_udp_out(outs[i], RMAC0, MAC_A, -1, &l0, &r0, 0, plain_s[i], plen, 0);
		rte_pktmbuf_free(outs[i]);
	}
	assert_int_equal(s->leg[1].path[0].state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&s->leg[1].path[0].remote, &x));
	assert_int_equal(d1->ctr.decrypted, 3);
	assert_int_equal(s->leg[1].ctr.pkts_in, 3);
	/* (the first packet only starts the RFC 3550 A.1 source: not counted as received) */
	assert_true(mr_rtp_stats_received(&s->leg[1].rtp) > 0);

	/* 3. A replay, and a duplicate inside one burst: srtp_replay, not relayed. */
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc[1], elen[1], &PLAIN);
	inject_f(P_B, &f);
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc[3], elen[3], &PLAIN);
	inject_f(P_B, &f);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 30), 3);
	out = take1(P_A, 0);
	check_udp_out(out, RMAC0, MAC_A, -1, &l0, &r0, 0, plain_s[3], plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(w->stats.drops[MR_DROP_SRTP_REPLAY], 2);
	assert_int_equal(d1->ctr.replay, 2);

	/* 4. R0 → leg 0 → leg 1: encrypted under 0x33 towards X; the remote decrypts it. */
	n = rtp(pl, 8, 7, 999, 0xaabbccdd, 100);
	memcpy(plain, pl, n);
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, n, &PLAIN);
	inject_f(P_A, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 40), 1);
	out = take1(P_B, 0);
	{
		uint8_t *o = rte_pktmbuf_mtod_offset(out, uint8_t *, 14 + 20 + 8);
		uint16_t olen = out->data_len - (14 + 20 + 8);

		assert_int_equal(olen, n + 10);
		memcpy(pl, o, olen);
		check_udp_out(out, XMAC, MAC_B, -1, &l1, &x, 0, pl, olen, 0);
		assert_int_equal(srtp_do(te, rcv, pl, olen, 0, MR_SRTP_OK), n);
		assert_memory_equal(pl, plain, n);
	}
	rte_pktmbuf_free(out);
	assert_int_equal(d1->ctr.encrypted, 1);

	/* 4b. Corrupted on its way in (a payload bit; the port trusts checksums): it would
	 * leave with a valid tag, so it is dropped (udp_cksum), unless the NIC vouched for
	 * its checksum; the NIC saying it is bad is enough. */
	n = rtp(pl, 8, 8, 1159, 0xaabbccdd, 100);
	build_udp(&f, MAC_A, RMAC0, &r0, &l0, pl, n, &PLAIN);
	f.b[f.len - 1] ^= 0x01;
	expect_drop(P_A, f.b, f.len, MR_DROP_UDP_CKSUM);
	assert_int_equal(d1->ctr.encrypted, 1);
	out = inject_f(P_A, &f);
	out->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
	assert_int_equal(mr_worker_iteration(w, T0 + 41), 1);
	assert_int_equal(w->stats.drops[MR_DROP_UDP_CKSUM], 2);
	out = inject_f(P_A, &f);
	out->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	assert_int_equal(mr_worker_iteration(w, T0 + 42), 1);
	rte_pktmbuf_free(take1(P_B, 0));
	assert_int_equal(d1->ctr.encrypted, 2);

	/* 5. Re-key (MR_CMD_SRTP_SET): the new key works at once, the old one during the
	 * overlap (dp->srtp_overlap_tsc = 1000 cycles of the synthetic clock), then not. */
	d2 = rte_zmalloc("t_srtp", sizeof(*d2), 0);
	assert_non_null(d2);
	d2->rx = srtp_ctx(kind, 0x22);
	d2->rx_old = d1->rx;
	d2->tx = d1->tx;
	d2->rx_srtp = 1;
	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_SRTP_SET;
	c.s = s;
	c.leg = 1;
	c.arg = d2;
	assert_int_equal(rte_ring_sp_enqueue_elem(w->cmd, &c, sizeof(c)), 0);
	memcpy(pl, plain_s[5], plen);
	n = srtp_do(te, snd2, pl, plen, 1, MR_SRTP_OK);
	build_udp(&f, MAC_B, XMAC, &x, &l1, pl, n, &PLAIN);
	inject_f(P_B, &f);					/* new key */
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc[4], elen[4], &PLAIN);
	inject_f(P_B, &f);					/* old key */
	assert_int_equal(mr_worker_iteration(w, T0 + 1000), 2);
	assert_ptr_equal(s->leg[1].srtp, d2);
	assert_int_equal(d2->rx_old_until, T0 + 2000);
	assert_int_equal(d2->ctr.decrypted, 6);		/* carried over: 4 + 2 */
	assert_int_equal(d2->ctr.old_key, 1);
	take_n(P_A, 0, outs, 2);
	rte_pktmbuf_free_bulk(outs, 2);
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc[6], elen[6], &PLAIN);
	inject_f(P_B, &f);					/* old key, too late */
	assert_int_equal(mr_worker_iteration(w, T0 + 2001), 1);
	assert_int_equal(d2->ctr.auth_fail, 3);
	assert_int_equal(d2->ctr.decrypted, 6);
	assert_quiet();

	s->leg[1].srtp = NULL;
	mr_srtp_ctx_free(d1->rx);
	mr_srtp_ctx_free(d1->tx);
	mr_srtp_ctx_free(d2->rx);
	rte_free(d1);
	rte_free(d2);
	mr_srtp_ctx_free(snd1);
	mr_srtp_ctx_free(snd2);
	mr_srtp_ctx_free(rcv);
	mr_srtp_engine_free(te);
	mr_worker_srtp_free(w);
}

static void
test_srtp(void **state)
{
	(void)state;
	assert_int_equal(mr_srtp_global_init(MR_SRTP_ENGINE_IPSEC_MB), 0);
	assert_int_equal(mr_srtp_global_init(MR_SRTP_ENGINE_LIBSRTP), 0);
	srtp_case(MR_SRTP_ENGINE_IPSEC_MB);
	case_down(NULL);
	case_up(NULL);
	srtp_case(MR_SRTP_ENGINE_LIBSRTP);
}

/* ---- per-flow capture (cap.h) ---- */

/* The next copy on ring: its header checked, its frame compared with want. */
static void
cap_expect(struct rte_ring *ring, uint8_t slot, uint8_t dir, const uint8_t *want, uint16_t len)
{
	const struct mr_cap_hdr *h;
	struct rte_mbuf *c = NULL;

	assert_int_equal(rte_ring_dequeue(ring, (void **)&c), 0);
	h = rte_pktmbuf_mtod(c, const struct mr_cap_hdr *);
	assert_int_equal(h->slot, slot);
	assert_int_equal(h->dir, dir);
	assert_int_equal(h->len, len);
	assert_int_equal(h->orig_len, len);
	assert_int_equal(c->data_len, sizeof(*h) + len);
	assert_memory_equal(h + 1, want, len);
	rte_pktmbuf_free(c);
}

/* A captured leg: the frame that arrives on it as it came (SRTP, before decryption) and
 * the frame that leaves from it as it went (headers rewritten, encrypted), nothing of the
 * other leg; a full ring drops the copy (capture_dropped), never the media; an uncaptured
 * leg copies nothing, even without a ring. */
static void
test_capture(void **state)
{
	struct mr_worker *w = dp->w[0];
	enum mr_srtp_engine_kind kind = MR_SRTP_ENGINE_IPSEC_MB;
	struct mr_srtp_engine *e = mr_srtp_engine_create(kind), *te = mr_srtp_engine_create(kind);
	struct mr_srtp_ctx *snd = srtp_ctx(kind, 0x11);
	struct rte_ring *ring = rte_ring_create("t_cap", 4, 0, RING_F_SC_DEQ);	/* holds 3 */
	struct rte_mempool *cmp = rte_pktmbuf_pool_create("t_cap_mp", 15, 0, 0,
							  RTE_PKTMBUF_HEADROOM + MR_CAP_BUF, 0);
	struct mr_ep x = X, r0 = R0, l0, l1;
	struct mr_dp_srtp *d1;
	struct mr_dp_session *s;
	struct rte_mbuf *out, *outs[64];
	uint8_t pl[256], enc[256];
	uint16_t n, elen;
	struct frame f, g;
	unsigned int i;

	(void)state;
	assert_non_null(e);
	assert_non_null(te);
	assert_non_null(ring);
	assert_non_null(cmp);
	assert_int_equal(mr_worker_srtp_setup(w, e), 0);
	s = sess_std(0, 20200, 20202);
	l0 = s->leg[0].local;
	l1 = s->leg[1].local;
	d1 = rte_zmalloc("t_srtp", sizeof(*d1), 0);
	assert_non_null(d1);
	d1->rx = srtp_ctx(kind, 0x11);
	d1->tx = srtp_ctx(kind, 0x33);
	d1->rx_srtp = 1;
	s->leg[1].srtp = d1;
	n = rtp(pl, 0, 100, 16000, 0x5ec0de01, 40);
	memcpy(enc, pl, n);
	elen = srtp_do(te, snd, enc, n, 1, MR_SRTP_OK);

	/* Not captured, no ring: nothing copied, nothing counted. */
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc, elen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 10), 1);
	rte_pktmbuf_free(take1(P_A, 0));
	assert_int_equal(w->stats.cap_captured + w->stats.cap_dropped, 0);

	/* Captured without a ring: counted, relayed. */
	s->leg[1].cap_id = 3;
	n = rtp(pl, 0, 101, 16160, 0x5ec0de01, 40);
	memcpy(enc, pl, n);
	elen = srtp_do(te, snd, enc, n, 1, MR_SRTP_OK);
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc, elen, &PLAIN);
	inject_f(P_B, &f);
	assert_int_equal(mr_worker_iteration(w, T0 + 20), 1);
	rte_pktmbuf_free(take1(P_A, 0));
	assert_int_equal(w->stats.cap_dropped, 1);

	/* In on leg 1 as it arrived (encrypted); R0's packet to leg 0 is not copied there, only
	 * when it leaves leg 1, as it went (from l1 to X, encrypted under leg 1's key). */
	dp->cap_ring = ring;
	dp->cap_mp = cmp;
	n = rtp(pl, 0, 102, 16320, 0x5ec0de01, 40);
	memcpy(enc, pl, n);
	elen = srtp_do(te, snd, enc, n, 1, MR_SRTP_OK);
	build_udp(&f, MAC_B, XMAC, &x, &l1, enc, elen, &PLAIN);
	inject_f(P_B, &f);
	n = rtp(pl, 8, 7, 999, 0xaabbccdd, 100);
	build_udp(&g, MAC_A, RMAC0, &r0, &l0, pl, n, &PLAIN);
	inject_f(P_A, &g);
	assert_int_equal(mr_worker_iteration(w, T0 + 30), 2);
	rte_pktmbuf_free(take1(P_A, 0));
	out = take1(P_B, 0);
	assert_int_equal(out->data_len, 14 + 20 + 8 + n + 10);
	assert_int_equal(w->stats.cap_captured, 2);
	/* (port A is polled first: its packet's copy comes first) */
	cap_expect(ring, 3, MR_CAP_OUT, rte_pktmbuf_mtod(out, const uint8_t *), out->data_len);
	cap_expect(ring, 3, MR_CAP_IN, f.b, f.len);
	rte_pktmbuf_free(out);

	/* A full ring: the copies are dropped and counted, the media goes on. */
	for (i = 0; i < 4; i++) {
		build_udp(&g, MAC_A, RMAC0, &r0, &l0, pl, n, &PLAIN);
		inject_f(P_A, &g);
	}
	assert_int_equal(mr_worker_iteration(w, T0 + 40), 4);
	take_n(P_B, 0, outs, 4);
	rte_pktmbuf_free_bulk(outs, 4);
	assert_int_equal(w->stats.cap_captured, 5);
	assert_int_equal(w->stats.cap_dropped, 2);
	assert_int_equal(drops_total(w), 0);
	for (i = 0; i < 3; i++) {
		struct rte_mbuf *c = NULL;

		assert_int_equal(rte_ring_dequeue(ring, (void **)&c), 0);
		assert_int_equal(rte_pktmbuf_mtod(c, const struct mr_cap_hdr *)->dir, MR_CAP_OUT);
		rte_pktmbuf_free(c);
	}

	dp->cap_ring = NULL;
	dp->cap_mp = NULL;
	s->leg[1].cap_id = 0;
	s->leg[1].srtp = NULL;
	mr_srtp_ctx_free(d1->rx);
	mr_srtp_ctx_free(d1->tx);
	rte_free(d1);
	mr_srtp_ctx_free(snd);
	mr_srtp_engine_free(te);
	mr_worker_srtp_free(w);
	rte_ring_free(ring);
	rte_mempool_free(cmp);
	assert_quiet();
}

int
main(void)
{
	static char *eal_argv[] = { "test_dp", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "-l", "0", "--log-level", "lib.eal:error", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_v4, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_src_mismatch_relatch, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_set_remote_then_stranger, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_rtp_bleed, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_no_remote_no_neighbor, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_drops, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_handoff, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_v4_v6, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_rtcp, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_vlan, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_rtp_stats, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_slowpath, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_standby, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_commands, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_owner_map, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_cmdq_bounded, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_defer, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_burst, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_rx_cksum_recompute, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_silence, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_tx_cksum_offload, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_bad_checksums, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_cp_tx, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_srtp, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_capture, case_up, case_down),
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
