/* SPDX-License-Identifier: BSD-3-Clause
 * Room (SFU) forwarding test with a real EAL (--no-huge) and ring PMD ports, like test_dp.c:
 * a room is built by hand the way controlplane/rooms/publish.c publishes one (rte_zmalloc'd room_dp.h
 * structs, flow-table entries with mr_room_flow_val()), frames are enqueued on a port's RX
 * ring, the worker runs one iteration at a chosen TSC, and what it sent is read back from the
 * TX rings and checked field by field, checksums against byte-by-byte references and DPDK's
 * own verifiers (over chained mbufs too).
 */
#include <errno.h>
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
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_seqcount.h>

#include "cap.h"
#include "counters.h"
#include "dp_priv.h"
#include "ice_dp.h"
#include "stun.h"
#include "flow_table.h"
#include "pkt_parse.h"
#include "rec.h"
#include "room_dp.h"
#include "room_fwd.h"
#include "rtcp.h"
#include "rtp_stats.h"
#include "dp_frames.h"

#define N_WORKERS	1
#define N_TXQ		(N_WORKERS + 1)
#define N_PORTS		2
#define P_A		0	/* IPv4 + IPv6, untagged */
#define P_C		1	/* IPv4, VLAN 100 */
#define N_MBUF		1023
#define RING_SZ		256
#define T0		1000000000ULL	/* synthetic TSC base */
#define MAX_PART	16
#define MAX_ST		8

static __typeof__(rte_eth_from_rings) *from_rings;

static struct rte_mempool *pool, *hdr_pool, *small_pool;
static struct mr_dp *dp;
static struct mr_worker *w;
static uint16_t port_id[N_PORTS];
static struct rte_ring *rx_ring[N_PORTS];
static struct rte_ring *tx_ring[N_PORTS][N_TXQ];
static unsigned int pool_base, hdr_base, small_base;

/* The room under test and what it owns. */
static struct mr_dp_room *room;
static struct mr_dp_part *parts[MAX_PART];
static unsigned int n_parts;
static struct mr_dp_stream *streams[MAX_ST];
static unsigned int n_streams;

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0x0c, 0x01 };
static const uint8_t PMAC[6] = { 0x02, 0, 0, 0, 0xbb, 0x01 };	/* publisher's router */
static const uint8_t SMAC1[6] = { 0x02, 0, 0, 0, 0xbb, 0x11 };
static const uint8_t SMAC2[6] = { 0x02, 0, 0, 0, 0xbb, 0x12 };
static const uint8_t SMAC3[6] = { 0x02, 0, 0, 0, 0xbb, 0x13 };
static const uint8_t XMAC[6] = { 0x02, 0, 0, 0, 0xbb, 0x99 };

#define SSRC_PUB	0x11223344u
#define SSRC_AUD	0x0a0b0c0du
#define SSRC_SUB	0x55667788u

/* ---- endpoints and references ---- */








/* ---- frames ---- */



/* RTP with an RFC 8285 one-byte extension holding RFC 6464 audio level (id 1). */
static uint16_t
rtp_level(uint8_t *p, uint16_t seq, uint32_t ssrc, uint8_t level, int voice)
{
	uint16_t n = rtp(p, 111, seq, seq * 960u, ssrc, 0);

	p[0] |= 0x10;
	p[n++] = 0xbe;
	p[n++] = 0xde;
	p[n++] = 0;
	p[n++] = 1;			/* one word of elements */
	p[n++] = 0x10;			/* id 1, length 1 */
	p[n++] = (uint8_t)((voice ? 0x80 : 0) | level);
	p[n++] = 0;			/* padding */
	p[n++] = 0;
	memset(p + n, 0x5c, 20);
	return n + 20;
}

/* ---- world ---- */

static struct rte_mbuf *
inject_f(unsigned int pidx, const struct frame *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *d;

	assert_non_null(m);
	d = (uint8_t *)rte_pktmbuf_append(m, f->len);
	assert_non_null(d);
	memcpy(d, f->b, f->len);
	m->port = port_id[pidx];
	assert_int_equal(rte_ring_sp_enqueue(rx_ring[pidx], m), 0);
	return m;
}

static unsigned int
take(unsigned int pidx, struct rte_mbuf **out, unsigned int max)
{
	return rte_ring_sc_dequeue_burst(tx_ring[pidx][0], (void **)out, max, NULL);
}

static void
take_n(unsigned int pidx, struct rte_mbuf **out, unsigned int n)
{
	assert_int_equal(take(pidx, out, 64), n);
}

static struct rte_mbuf *
take1(unsigned int pidx)
{
	struct rte_mbuf *m[64];

	take_n(pidx, m, 1);
	return m[0];
}

static void
free_n(struct rte_mbuf **m, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		rte_pktmbuf_free(m[i]);
}

static void
assert_quiet(void)
{
	unsigned int i, q;

	for (i = 0; i < N_PORTS; i++) {
		assert_int_equal(rte_ring_count(rx_ring[i]), 0);
		for (q = 0; q < N_TXQ; q++)
			assert_int_equal(rte_ring_count(tx_ring[i][q]), 0);
	}
}

static uint64_t
drops_total(void)
{
	uint64_t t = 0;
	unsigned int i;

	for (i = 0; i < MR_DROP_MAX; i++)
		t += w->stats.drops[i];
	return t;
}

/* What a subscriber receives: the frame flattened (chains included) and checked field by
 * field; the UDP checksum against the reference and DPDK's verifier over the mbuf itself. */
static void
check_out(const struct rte_mbuf *m, const uint8_t *dmac, const uint8_t *smac, int tci,
	  const struct mr_ep *src, const struct mr_ep *dst, uint8_t tos, const uint8_t *pl,
	  uint16_t plen, int expect_zero_ck)
{
	static uint8_t flat[2048];
	uint16_t l2 = tci >= 0 ? 18 : 14, l3len = dst->family == MR_AF4 ? 20 : 40;
	uint16_t ulen = 8 + plen;
	const uint8_t *f, *ip, *udp, *hip;

	assert_int_equal(m->pkt_len, l2 + l3len + ulen);
	f = rte_pktmbuf_read(m, 0, m->pkt_len, flat);
	assert_non_null(f);
	ip = f + l2;
	udp = ip + l3len;
	assert_memory_equal(f, dmac, 6);
	assert_memory_equal(f + 6, smac, 6);
	if (tci >= 0) {
		assert_int_equal(be16(f + 12), 0x8100);
		assert_int_equal(be16(f + 14), tci);
	}
	hip = rte_pktmbuf_mtod_offset(m, const uint8_t *, l2);
	assert_true(m->data_len >= l2 + l3len + 8);	/* headers in the first segment */
	if (dst->family == MR_AF4) {
		assert_int_equal(be16(f + l2 - 2), 0x0800);
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(ip[1], tos);
		assert_int_equal(be16(ip + 2), 20 + ulen);
		assert_int_equal(be16(ip + 4), 0);
		assert_int_equal(be16(ip + 6), 0x4000);
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 17);
		assert_int_equal(be16(ip + 10), ref_ip4(ip, 20));
		assert_memory_equal(ip + 12, src->a, 4);
		assert_memory_equal(ip + 16, dst->a, 4);
		if (!expect_zero_ck)
			assert_int_equal(rte_ipv4_udptcp_cksum_mbuf_verify(m,
				(const struct rte_ipv4_hdr *)hip, l2 + l3len), 0);
	} else {
		assert_int_equal(be16(f + l2 - 2), 0x86dd);
		assert_int_equal(ip[0], 0x60 | (tos >> 4));
		assert_int_equal(ip[1], (uint8_t)(tos << 4));
		assert_int_equal(be16(ip + 4), ulen);
		assert_int_equal(ip[6], 17);
		assert_int_equal(ip[7], 64);
		assert_memory_equal(ip + 8, src->a, 16);
		assert_memory_equal(ip + 24, dst->a, 16);
		assert_int_equal(rte_ipv6_udptcp_cksum_mbuf_verify(m,
				(const struct rte_ipv6_hdr *)hip, l2 + l3len), 0);
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

/* The UDP payload of an output frame (flattened) and its length. */
static const uint8_t *
out_payload(const struct rte_mbuf *m, uint16_t *plen)
{
	static uint8_t flat[2048];
	const uint8_t *f = rte_pktmbuf_read(m, 0, m->pkt_len, flat);
	struct mr_pkt_info pi;

	assert_non_null(f);
	assert_int_equal(mr_pkt_parse(f, m->pkt_len, &pi), MR_V_UDP);
	*plen = pi.payload_len;
	return f + pi.payload_off;
}

/* ---- rooms, as controlplane/rooms/ builds and publishes them ---- */

static void
key_of(const struct mr_ep *l, struct mr_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->a, l->a, 16);
	k->port = l->port;
	k->family = l->family;
}

static struct mr_dp_part *
part_new(unsigned int pidx, uint8_t family, uint16_t port)
{
	struct mr_dp_part *p = rte_zmalloc("t_part", sizeof(*p), RTE_CACHE_LINE_SIZE);
	struct mr_flow_key k;

	assert_non_null(p);
	assert_true(n_parts < MAX_PART);
	parts[n_parts++] = p;
	p->room = room;
	p->local.family = family;
	p->local.port = port;
	if (family == MR_AF4)
		memcpy(p->local.a, dp->port[pidx].addr4, 4);
	else
		memcpy(p->local.a, dp->port[pidx].addr6, 16);
	p->port_idx = (uint16_t)pidx;
	p->id = n_parts;
	p->relay_ssrc = 0x52000000u + n_parts;
	rte_seqcount_init(&p->seq);
	dp->owner[port] = 1;
	key_of(&p->local, &k);
	assert_int_equal(mr_flow_table_add(w->flows, &k, mr_room_flow_val(p)), 0);
	return p;
}

/* A remote as if the participant had sent a packet from it. */
static void
part_latch(struct mr_dp_part *p, const struct mr_ep *r, const uint8_t *mac)
{
	p->path.remote = *r;
	memcpy(p->path.mac.addr_bytes, mac, 6);
	p->path.state = MR_PATH_LATCHED;
	p->path.last_rx_tsc = T0;
}

static struct mr_dp_stream *
stream_new(struct mr_dp_part *pub, uint32_t ssrc, uint8_t kind, uint32_t clock,
	   uint32_t cache_size)
{
	struct mr_dp_stream *st = rte_zmalloc("t_st", sizeof(*st), RTE_CACHE_LINE_SIZE);

	assert_non_null(st);
	assert_true(n_streams < MAX_ST);
	streams[n_streams++] = st;
	st->ssrc = ssrc;
	st->kind = kind;
	st->clock_rate = clock;
	st->ts_mult = clock ? ((uint64_t)clock << 32) / dp->tsc_hz : 0;
	st->pub = pub;
	mr_rtp_stats_init(&st->rtp);
	if (cache_size) {
		struct mr_rtx_cache *c = rte_zmalloc("t_cache", sizeof(*c), 0);

		assert_non_null(c);
		c->size = cache_size;
		c->slot_bytes = 1500;
		c->slot = rte_zmalloc("t_slot", sizeof(*c->slot) * cache_size, 0);
		c->data = rte_zmalloc("t_data", (size_t)cache_size * c->slot_bytes, 0);
		assert_non_null(c->slot);
		assert_non_null(c->data);
		st->cache = c;
	}
	return st;
}

static void
subs_set(struct mr_dp_stream *st, struct mr_dp_part **sub, unsigned int n)
{
	struct mr_dp_sublist *l = rte_zmalloc("t_subs", sizeof(*l) + n * sizeof(l->sub[0]), 0);
	struct mr_dp_sublist *old = st->subs;

	assert_non_null(l);
	l->n = n;
	if (n != 0)
		memcpy(l->sub, sub, n * sizeof(sub[0]));
	__atomic_store_n(&st->subs, l, __ATOMIC_RELEASE);
	rte_free(old);	/* no reader holds it between iterations of this test */
}

static int
ent_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct mr_dp_ssrc_ent *)a)->ssrc;
	uint32_t y = ((const struct mr_dp_ssrc_ent *)b)->ssrc;

	return x < y ? -1 : x > y;
}

/* Publish the streams made so far in the room's SSRC map. */
static void
map_publish(void)
{
	struct mr_dp_ssrc_map *m = rte_zmalloc("t_map", sizeof(*m) + n_streams *
					       sizeof(m->e[0]), 0);
	struct mr_dp_ssrc_map *old = room->map;
	unsigned int i;

	assert_non_null(m);
	m->n = n_streams;
	for (i = 0; i < n_streams; i++) {
		m->e[i].ssrc = streams[i]->ssrc;
		m->e[i].st = streams[i];
	}
	qsort(m->e, m->n, sizeof(m->e[0]), ent_cmp);
	__atomic_store_n(&room->map, m, __ATOMIC_RELEASE);
	rte_free(old);
}

static void
room_free_all(void)
{
	struct mr_flow_key k;
	unsigned int i;

	for (i = 0; i < n_parts; i++) {
		key_of(&parts[i]->local, &k);
		mr_flow_table_del(w->flows, &k);
		dp->owner[parts[i]->local.port] = 0;
		rte_free(parts[i]);
	}
	n_parts = 0;
	for (i = 0; i < n_streams; i++) {
		if (streams[i]->cache != NULL) {
			rte_free(streams[i]->cache->slot);
			rte_free(streams[i]->cache->data);
			rte_free(streams[i]->cache);
		}
		rte_free(streams[i]->subs);
		rte_free(streams[i]);
	}
	n_streams = 0;
	rte_free(room->map);
	memset(room, 0, sizeof(*room));
}

static int
port_make(unsigned int i, const char *name)
{
	struct rte_ring *tx[N_TXQ];
	struct rte_eth_conf conf;
	char rn[RTE_RING_NAMESIZE];
	unsigned int q;
	int pid;

	snprintf(rn, sizeof(rn), "r_rx_%u", i);
	rx_ring[i] = rte_ring_create(rn, RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (rx_ring[i] == NULL)
		return -1;
	for (q = 0; q < N_TXQ; q++) {
		snprintf(rn, sizeof(rn), "r_tx_%u_%u", i, q);
		tx_ring[i][q] = rte_ring_create(rn, RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (tx_ring[i][q] == NULL)
			return -1;
		tx[q] = tx_ring[i][q];
	}
	pid = from_rings(name, &rx_ring[i], 1, tx, N_TXQ, 0);
	if (pid < 0)
		return -1;
	port_id[i] = (uint16_t)pid;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(port_id[i], 1, N_TXQ, &conf) != 0 ||
	    rte_eth_rx_queue_setup(port_id[i], 0, RING_SZ, 0, NULL, pool) != 0)
		return -1;
	for (q = 0; q < N_TXQ; q++)
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
	p->neigh = rte_zmalloc("r_neigh", sizeof(struct mr_neigh_slot) * MR_NEIGH_SLOTS, 0);
	assert_non_null(p->neigh);
	snprintf(p->name, sizeof(p->name), "ring%u", i);
	dp->port_idx_of[port_id[i]] = (uint8_t)i;
}

static int
world_up(void **state)
{
	static const uint8_t a4[N_PORTS][4] = { { 198, 18, 0, 1 }, { 198, 18, 2, 1 } };
	static const char *const names[N_PORTS] = { "r_a", "r_c" };
	unsigned int i;
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
	pool = rte_pktmbuf_pool_create("r_pool", N_MBUF, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	/* Header mbufs of indirect fan-out: no headroom needed, 128 bytes of room. */
	hdr_pool = rte_pktmbuf_pool_create("r_hdr", 255, 0, 0, 128, 0);
	/* Packets the relay builds or copies, with only 8 bytes of data room past the
	 * headroom: too small for any RTCP it sends or forwards. */
	small_pool = rte_pktmbuf_pool_create("r_small", 63, 0, 0, RTE_PKTMBUF_HEADROOM + 8, 0);
	if (pool == NULL || hdr_pool == NULL || small_pool == NULL)
		return -1;
	for (i = 0; i < N_PORTS; i++)
		if (port_make(i, names[i]) != 0)
			return -1;
	dp = rte_zmalloc("r_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	room = rte_zmalloc("r_room", sizeof(*room), RTE_CACHE_LINE_SIZE);
	if (dp == NULL || room == NULL)
		return -1;
	dp->owner = rte_zmalloc("r_owner", 65536, RTE_CACHE_LINE_SIZE);
	sz = rte_rcu_qsbr_get_memsize(N_WORKERS);
	dp->qsv = rte_zmalloc("r_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->owner == NULL || dp->qsv == NULL || rte_rcu_qsbr_init(dp->qsv, N_WORKERS) != 0)
		return -1;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->n_ports = N_PORTS;
	dp->n_workers = N_WORKERS;
	port_fill(P_A, MAC_A, a4[P_A], "2001:db8:a::1", 0);
	port_fill(P_C, MAC_C, a4[P_C], NULL, 100);

	w = rte_zmalloc("r_worker", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (w == NULL)
		return -1;
	dp->w[0] = w;
	w->dp = dp;
	w->idx = 0;
	w->lcore_id = rte_lcore_id();
	w->flows = mr_flow_table_create("r_flows", 1024, SOCKET_ID_ANY, dp->qsv);
	w->cmd = rte_ring_create_elem("r_cmd", sizeof(struct mr_cmd), 64, SOCKET_ID_ANY,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->exc = rte_ring_create("r_exc", 64, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (w->flows == NULL || w->cmd == NULL || w->exc == NULL)
		return -1;
	for (i = 0; i < N_PORTS; i++) {
		w->rxq[i].port_idx = (uint16_t)i;
		w->rxq[i].queue = 0;
	}
	w->n_rxq = N_PORTS;
	return 0;
}

static void
drain(struct rte_ring *r)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(r, (void **)&m) == 0)
		rte_pktmbuf_free(m);
}

static void
drain_all(void)
{
	struct mr_cmd c;
	unsigned int i, q;

	for (i = 0; i < N_PORTS; i++) {
		drain(rx_ring[i]);
		for (q = 0; q < N_TXQ; q++)
			drain(tx_ring[i][q]);
	}
	drain(w->exc);
	while (rte_ring_dequeue_elem(w->cmd, &c, sizeof(c)) == 0)
		;
}

static int
world_down(void **state)
{
	unsigned int i, q;

	(void)state;
	if (dp != NULL) {
		drain_all();
		mr_flow_table_free(w->flows);
		rte_ring_free(w->cmd);
		rte_ring_free(w->exc);
		rte_free(w);
		for (i = 0; i < N_PORTS; i++)
			rte_free(dp->port[i].neigh);
		rte_free(dp->qsv);
		rte_free(dp->owner);
		rte_free(dp);
		rte_free(room);
		dp = NULL;
	}
	for (i = 0; i < N_PORTS; i++) {
		rte_eth_dev_stop(port_id[i]);
		rte_eth_dev_close(port_id[i]);
		rte_ring_free(rx_ring[i]);
		for (q = 0; q < N_TXQ; q++)
			rte_ring_free(tx_ring[i][q]);
	}
	rte_mempool_free(pool);
	rte_mempool_free(hdr_pool);
	rte_mempool_free(small_pool);
	return 0;
}

static int
case_up(void **state)
{
	(void)state;
	memset(&w->stats, 0, sizeof(w->stats));
	w->mp = pool;
	w->hdr_mp = hdr_pool;
	dp->relatch_tsc = dp->tsc_hz;
	dp->latch_packets = 0;		/* first-packet latching unless a case asks */
	dp->latch_window_tsc = 0;
	dp->latch_signalled_only = 0;
	dp->fanout = MR_DP_FANOUT_AUTO;
	dp->fanout_copy_max = 0;
	dp->nack_budget = 0;
	dp->pli_interval_tsc = 0;
	memset(dp->rtx_max_age_tsc, 0, sizeof(dp->rtx_max_age_tsc));
	assert_int_equal(mr_dp_rooms_setup(dp), 0);
	dp->port[P_A].tx_no_chain = 0;
	dp->port[P_C].tx_no_chain = 0;
	room->id = 7;
	room->owner = 0;
	pool_base = rte_mempool_avail_count(pool);
	hdr_base = rte_mempool_avail_count(hdr_pool);
	small_base = rte_mempool_avail_count(small_pool);
	return 0;
}

static int
case_down(void **state)
{
	(void)state;
	drain_all();
	room_free_all();
	/* Every mbuf came back: no drop, copy, clone or header leaked. */
	assert_int_equal(rte_mempool_avail_count(pool), pool_base);
	assert_int_equal(rte_mempool_avail_count(hdr_pool), hdr_base);
	assert_int_equal(rte_mempool_avail_count(small_pool), small_base);
	return 0;
}

/* ---- the standard room: publisher P (port A, IPv4) and subscribers S1 (port A, IPv4),
 * S2 (port A, IPv6), S3 (port C, VLAN 100, IPv4), all latched. ---- */

#define R_P	ep4(198, 18, 0, 10, 5000)
#define R_S1	ep4(198, 18, 0, 21, 6001)
#define R_S2	ep6("2001:db8:a::22", 6002)
#define R_S3	ep4(198, 18, 2, 23, 6003)

struct std_room {
	struct mr_dp_part *p, *s[3];
	struct mr_dp_stream *st;
	struct mr_ep rp, rs[3];
};

static void
std_room(struct std_room *r, uint16_t base, uint32_t cache)
{
	static const uint8_t *const smac[3] = { SMAC1, SMAC2, SMAC3 };
	struct mr_ep rp = R_P, r1 = R_S1, r2 = R_S2, r3 = R_S3;
	unsigned int i;

	r->rp = rp;
	r->rs[0] = r1;
	r->rs[1] = r2;
	r->rs[2] = r3;
	r->p = part_new(P_A, MR_AF4, base);
	r->s[0] = part_new(P_A, MR_AF4, base + 2);
	r->s[1] = part_new(P_A, MR_AF6, base + 4);
	r->s[2] = part_new(P_C, MR_AF4, base + 6);
	part_latch(r->p, &r->rp, PMAC);
	for (i = 0; i < 3; i++)
		part_latch(r->s[i], &r->rs[i], smac[i]);
	r->st = stream_new(r->p, SSRC_PUB, MR_KIND_VIDEO, 90000, cache);
	subs_set(r->st, r->s, 3);
	map_publish();
}

/* The publisher sends payload pl to its local endpoint. */
static struct rte_mbuf *
pub_send(const struct std_room *r, const uint8_t *pl, uint16_t plen, const struct udp_opts *o)
{
	struct frame f;

	build_udp(&f, MAC_A, PMAC, &r->rp, &r->p->local, pl, plen, o);
	return inject_f(P_A, &f);
}

/* Subscriber i sends payload pl (from its latched remote). */
static void
sub_send(const struct std_room *r, unsigned int i, const uint8_t *pl, uint16_t plen)
{
	static const uint8_t *const smac[3] = { SMAC1, SMAC2, SMAC3 };
	struct udp_opts o = PLAIN;
	struct frame f;

	if (i == 2)
		o.vlan = 100;
	build_udp(&f, i == 2 ? MAC_C : MAC_A, smac[i], &r->rs[i], &r->s[i]->local, pl, plen,
		  &o);
	inject_f(i == 2 ? P_C : P_A, &f);
}

/* Run one fan-out of an RTP packet of plen payload bytes and check all three copies. */
static void
fanout_check(const struct std_room *r, uint16_t extra, uint16_t seq, int zero_ck,
	     int expect_segs)
{
	struct udp_opts o = { .vlan = -1, .tos = 0xb8, .zero_ck = (uint8_t)zero_ck, .pad = 4 };
	struct rte_mbuf *in, *outa[64], *outc;
	uint8_t pl[1400];
	uint16_t plen = rtp(pl, 96, seq, seq * 3000u, SSRC_PUB, extra);

	in = pub_send(r, pl, plen, &o);
	assert_int_equal(mr_worker_iteration(w, T0 + seq), 1);
	take_n(P_A, outa, 2);
	outc = take1(P_C);
	/* Order of the sublist; the last subscriber (S3) gets the received mbuf. */
	check_out(outa[0], SMAC1, MAC_A, -1, &r->s[0]->local, &r->rs[0], 0xb8, pl, plen, zero_ck);
	check_out(outa[1], SMAC2, MAC_A, -1, &r->s[1]->local, &r->rs[1], 0xb8, pl, plen, 0);
	check_out(outc, SMAC3, MAC_C, 100, &r->s[2]->local, &r->rs[2], 0xb8, pl, plen, zero_ck);
	assert_ptr_equal(outc, in);
	assert_int_equal(outc->nb_segs, 1);
	assert_int_equal(outa[0]->nb_segs, expect_segs);
	assert_int_equal(outa[1]->nb_segs, expect_segs);
	if (expect_segs == 2) {
		/* Header mbuf from the header pool, payload shared with the received mbuf. */
		assert_ptr_equal(outa[0]->pool, hdr_pool);
		assert_true(RTE_MBUF_CLONED(outa[0]->next));
		assert_ptr_equal(rte_mbuf_from_indirect(outa[0]->next), in);
		assert_int_equal(rte_mbuf_refcnt_read(in), 3);
	} else {
		assert_ptr_not_equal(outa[0], in);
		assert_ptr_not_equal(outa[1], in);
		assert_int_equal(rte_mbuf_refcnt_read(in), 1);
	}
	free_n(outa, 2);
	rte_pktmbuf_free(outc);
}

/* ---- 1. fan-out ---- */

static void
test_fanout_copy(void **state)
{
	struct std_room r;
	unsigned int i;

	(void)state;
	std_room(&r, 30000, 0);
	dp->fanout = MR_DP_FANOUT_COPY;
	fanout_check(&r, 1000, 1, 0, 1);
	/* No checksum from an IPv4 sender: IPv4 copies keep none, IPv6 gets a full one. */
	fanout_check(&r, 160, 2, 1, 1);
	assert_int_equal(r.st->ctr.pkts_in, 2);
	assert_int_equal(r.st->ctr.bytes_in, 1012 + 172);
	assert_int_equal(r.st->ctr.pkts_out, 6);
	assert_int_equal(r.st->ctr.bytes_out, 3 * (1012 + 172));
	for (i = 0; i < 3; i++) {
		assert_int_equal(r.s[i]->ctr.pkts_out, 2);
		assert_int_equal(r.s[i]->ctr.bytes_out, 1012 + 172);
	}
	assert_int_equal(r.p->ctr.pkts_out, 0);		/* never back to the publisher */
	assert_int_equal(r.p->ctr.pkts_in, 2);
	assert_int_equal(w->stats.relayed, 6);
	assert_int_equal(w->stats.tx_pkts, 6);
	assert_int_equal(drops_total(), 0);
	assert_int_equal(mr_rtp_stats_received(&r.st->rtp), 1);	/* A.1 probation */
	assert_quiet();
}

static void
test_fanout_indirect(void **state)
{
	struct std_room r;

	(void)state;
	std_room(&r, 30100, 0);
	dp->fanout = MR_DP_FANOUT_INDIRECT;
	fanout_check(&r, 1000, 1, 0, 2);
	/* The full checksum of the IPv6 copy covers the payload in the chained segment. */
	fanout_check(&r, 161, 2, 1, 2);
	fanout_check(&r, 0, 3, 0, 2);
	assert_int_equal(r.st->ctr.pkts_out, 9);
	assert_int_equal(w->stats.relayed, 9);
	assert_int_equal(drops_total(), 0);

	/* Auto: copies up to the crossover, indirect above it. */
	dp->fanout = MR_DP_FANOUT_AUTO;
	fanout_check(&r, MR_DP_FANOUT_COPY_MAX - 12, 4, 0, 1);
	fanout_check(&r, MR_DP_FANOUT_COPY_MAX - 11, 5, 0, 2);
	dp->fanout_copy_max = 2000;
	fanout_check(&r, 1200, 6, 0, 1);

	/* A port that takes no chains gets copies even in indirect mode. */
	dp->fanout = MR_DP_FANOUT_INDIRECT;
	dp->port[P_C].tx_no_chain = 1;
	{
		struct rte_mbuf *in, *outa[2], *outc;
		uint8_t pl[1400];
		uint16_t plen = rtp(pl, 96, 7, 0, SSRC_PUB, 900);

		in = pub_send(&r, pl, plen, &PLAIN);
		mr_worker_iteration(w, T0 + 7);
		take_n(P_A, outa, 2);
		outc = take1(P_C);
		assert_int_equal(outa[0]->nb_segs, 2);
		assert_int_equal(outc->nb_segs, 1);
		/* m is shared with the clones: the no-chain port gets a copy of its own. */
		assert_ptr_not_equal(outc, in);
		check_out(outc, SMAC3, MAC_C, 100, &r.s[2]->local, &r.rs[2], 0, pl, plen, 0);
		check_out(outa[1], SMAC2, MAC_A, -1, &r.s[1]->local, &r.rs[1], 0, pl, plen, 0);
		free_n(outa, 2);
		rte_pktmbuf_free(outc);
	}
	assert_int_equal(drops_total(), 0);
	assert_quiet();
}

static void
test_fanout_one_in_place(void **state)
{
	struct std_room r;
	struct rte_mbuf *in, *out;
	uint8_t pl[300];
	uint16_t plen;

	(void)state;
	std_room(&r, 30200, 0);
	dp->fanout = MR_DP_FANOUT_INDIRECT;	/* one subscriber: in place whatever the mode */
	subs_set(r.st, &r.s[1], 1);
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 200);
	in = pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0);
	out = take1(P_A);
	assert_ptr_equal(out, in);
	assert_int_equal(out->nb_segs, 1);
	check_out(out, SMAC2, MAC_A, -1, &r.s[1]->local, &r.rs[1], 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(r.s[1]->ctr.pkts_out, 1);
	assert_int_equal(r.s[0]->ctr.pkts_out + r.s[2]->ctr.pkts_out, 0);

	/* No subscriber at all: counted. */
	subs_set(r.st, NULL, 0);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 1);
	assert_int_equal(w->stats.drops[MR_DROP_NO_SUBSCRIBER], 1);
	assert_int_equal(r.st->ctr.pkts_in, 2);
	assert_int_equal(r.st->ctr.pkts_out, 1);
	assert_quiet();
}

/* The three copies of one std_room packet: s[0]'s (payload p0, a copy of its own), s[1]'s
 * (p1; a clone after the copy round 0), s[2]'s (p2), which is returned to the caller. */
static struct rte_mbuf *
three_copies(struct std_room *r, const uint8_t *p0, const uint8_t *p1, const uint8_t *p2,
	     uint16_t plen, unsigned int round)
{
	struct rte_mbuf *outa[2], *outc;

	take_n(P_A, outa, 2);
	outc = take1(P_C);
	check_out(outa[0], SMAC1, MAC_A, -1, &r->s[0]->local, &r->rs[0], 0, p0, plen, 0);
	check_out(outa[1], SMAC2, MAC_A, -1, &r->s[1]->local, &r->rs[1], 0, p1, plen, 0);
	check_out(outc, SMAC3, MAC_C, 100, &r->s[2]->local, &r->rs[2], 0, p2, plen, 0);
	assert_int_equal(outa[0]->nb_segs, 1);
	assert_int_equal(outa[1]->nb_segs, round == 0 ? 1 : 2);
	free_n(outa, 2);
	return outc;
}

/* Per-subscriber payload types (room_dp.h rx_pt): each copy carries its subscriber's, marker
 * bit kept, checksums right; a subscriber whose type differs gets a copy of its own, never
 * a clone sharing the payload, nor the received mbuf once clones share it. */
static void
test_pt_rewrite(void **state)
{
	struct std_room r;
	struct rte_mbuf *in, *outc;
	uint8_t pl[1400], p0[1400], p2[1400];
	uint16_t plen;
	unsigned int round;

	(void)state;
	std_room(&r, 30250, 0);
	r.s[0]->rx_pt[MR_KIND_VIDEO] = MR_PT_SET | 120;
	r.s[2]->rx_pt[MR_KIND_VIDEO] = MR_PT_SET | 121;
	r.s[1]->rx_pt[MR_KIND_AUDIO] = MR_PT_SET | 111;	/* another kind: no effect */
	for (round = 0; round < 3; round++) {
		dp->fanout = round == 0 ? MR_DP_FANOUT_COPY : MR_DP_FANOUT_INDIRECT;
		if (round == 2)		/* the same type as published: nothing to change */
			r.s[1]->rx_pt[MR_KIND_VIDEO] = MR_PT_SET | 96;
		plen = rtp(pl, 96, (uint16_t)(round + 1), 0, SSRC_PUB, 900);
		pl[1] |= 0x80;		/* marker */
		memcpy(p0, pl, plen);
		memcpy(p2, pl, plen);
		p0[1] = 0x80 | 120;
		p2[1] = 0x80 | 121;
		in = pub_send(&r, pl, plen, &PLAIN);
		assert_int_equal(mr_worker_iteration(w, T0 + round), 1);
		outc = three_copies(&r, p0, pl, p2, plen, round);
		if (round == 0)
			assert_ptr_equal(outc, in);	/* in place, rewritten */
		else
			assert_ptr_not_equal(outc, in);	/* m is shared by s[1]'s clone */
		rte_pktmbuf_free(outc);
	}
	assert_int_equal(r.st->ctr.pkts_out, 9);
	assert_int_equal(drops_total(), 0);
	assert_quiet();
}

/* Header extension numbering (room_dp.h ext_out): a subscriber whose SDP numbers the
 * extensions otherwise than the publisher's gets a copy of its own with the elements
 * renumbered (Firefox's transport-cc 7 -> Chromium's 3, the level 1 -> 1, an element neither
 * negotiates -> the subscriber's unused id); one without a map (plain RTP) or with the
 * publisher's gets the bytes as published, a clone where the mode allows. */
static void
test_ext_renumber(void **state)
{
	struct std_room r;
	uint8_t pl[600], p0[600];
	uint16_t plen, n;
	unsigned int round;

	(void)state;
	std_room(&r, 30280, 0);
	r.p->ext_out = 0x7418;		/* level 1, abs-send-time 4, transport-cc 7; 8 unused */
	r.s[0]->ext_out = 0x3219;	/* level 1, abs-send-time 2, transport-cc 3; 9 unused */
	r.s[2]->ext_out = 0x7418;	/* the publisher's numbering: as it is */
	for (round = 0; round < 2; round++) {
		dp->fanout = round == 0 ? MR_DP_FANOUT_COPY : MR_DP_FANOUT_INDIRECT;
		n = rtp(pl, 96, (uint16_t)(round + 1), 0, SSRC_PUB, 0);
		pl[0] |= 0x10;
		memcpy(pl + n, (const uint8_t[]){ 0xbe, 0xde, 0x00, 0x02,
				0x10, 0x9a,		/* id 1: level */
				0x71, 0x01, 0x02,	/* id 7: transport-cc */
				0x50, 0x33,		/* id 5: neither's */
				0x00 }, 12);		/* padding */
		n += 12;
		memset(pl + n, 0x5c, 500);
		plen = n + 500;
		memcpy(p0, pl, plen);
		p0[n - 8] = 0x10;
		p0[n - 6] = 0x31;
		p0[n - 3] = 0x90;
		pub_send(&r, pl, plen, &PLAIN);
		assert_int_equal(mr_worker_iteration(w, T0 + round), 1);
		rte_pktmbuf_free(three_copies(&r, p0, pl, pl, plen, round));
	}
	assert_int_equal(r.st->ctr.pkts_out, 6);
	assert_int_equal(drops_total(), 0);
	assert_quiet();
}

/* Out of mbufs: copies are counted, never a crash; the last subscriber still gets m. */
static void
test_no_mbuf(void **state)
{
	struct std_room r;
	struct rte_mbuf *in, *outa[2], *outc, *held[N_MBUF];
	unsigned int n = 0;
	uint8_t pl[300];
	uint16_t plen;

	(void)state;
	std_room(&r, 30300, 0);
	dp->fanout = MR_DP_FANOUT_COPY;
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 100);
	in = pub_send(&r, pl, plen, &PLAIN);
	while ((held[n] = rte_pktmbuf_alloc(pool)) != NULL)
		n++;
	mr_worker_iteration(w, T0);
	assert_int_equal(take(P_A, outa, 2), 0);
	outc = take1(P_C);
	assert_ptr_equal(outc, in);
	rte_pktmbuf_free(outc);
	assert_int_equal(w->stats.drops[MR_DROP_NO_MBUF], 2);

	/* Indirect: the header pool has room but the clone pool does not. */
	dp->fanout = MR_DP_FANOUT_INDIRECT;
	in = pub_send(&r, pl, plen, &PLAIN);	/* the mbuf S3 just gave back */
	while ((held[n] = rte_pktmbuf_alloc(pool)) != NULL)
		n++;
	mr_worker_iteration(w, T0 + 1);
	take_n(P_C, &outc, 1);
	assert_int_equal(take(P_A, outa, 2), 0);
	rte_pktmbuf_free(outc);
	assert_int_equal(w->stats.drops[MR_DROP_NO_MBUF], 4);
	free_n(held, n);

	/* No pool at all (w->mp NULL): one subscriber still works in place. */
	w->mp = NULL;
	w->hdr_mp = NULL;
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 2);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(w->stats.drops[MR_DROP_NO_MBUF], 6);
	assert_int_equal(r.s[2]->ctr.pkts_out, 3);
	assert_int_equal(r.s[0]->ctr.pkts_out, 0);
	assert_quiet();
}

/* Recording (rec.h): a recorded stream's packets are copied onto the recording ring with
 * their recording id and SSRC; a full ring (or no ring) drops the capture, counted, and the
 * media is forwarded all the same; an unrecorded stream costs nothing. */
static void
test_record_capture(void **state)
{
	struct std_room r;
	struct rte_mbuf *outa[4], *cap = NULL;
	struct rte_ring *ring;
	struct rte_mempool *rmp;
	const struct mr_rec_cap *c;
	uint8_t pl[300];
	uint16_t plen;

	(void)state;
	ring = rte_ring_create("r_rec", 2, 0, RING_F_SC_DEQ);	/* holds one */
	rmp = rte_pktmbuf_pool_create("r_rec_mp", 15, 0, 0, RTE_PKTMBUF_HEADROOM + MR_REC_BUF,
				      0);
	assert_non_null(ring);
	assert_non_null(rmp);
	std_room(&r, 30350, 0);
	dp->fanout = MR_DP_FANOUT_COPY;
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 100);

	/* Not recorded: nothing captured, even without a ring. */
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0);
	assert_int_equal(take(P_A, outa, 4), 2);
	free_n(outa, 2);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(w->stats.rec_captured + w->stats.rec_dropped, 0);

	/* Recorded without a ring: counted, forwarded. */
	r.st->rec_id = 7;
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 1);
	assert_int_equal(take(P_A, outa, 4), 2);
	free_n(outa, 2);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(w->stats.rec_dropped, 1);

	dp->rec_ring = ring;
	dp->rec_mp = rmp;
	pl[3] = 2;
	pub_send(&r, pl, plen, &PLAIN);
	pl[3] = 3;
	pub_send(&r, pl, plen, &PLAIN);		/* the ring is full by then */
	mr_worker_iteration(w, T0 + 2);
	assert_int_equal(take(P_A, outa, 4), 4);
	free_n(outa, 4);
	take_n(P_C, outa, 2);
	free_n(outa, 2);
	assert_int_equal(w->stats.rec_captured, 1);
	assert_int_equal(w->stats.rec_dropped, 2);
	assert_int_equal(rte_ring_dequeue(ring, (void **)&cap), 0);
	c = rte_pktmbuf_mtod(cap, const struct mr_rec_cap *);
	assert_int_equal(c->rec_id, 7);
	assert_int_equal(c->key, SSRC_PUB);
	assert_int_equal(c->len, plen);
	assert_int_equal(cap->data_len, sizeof(*c) + plen);
	pl[3] = 2;
	assert_memory_equal(c + 1, pl, plen);
	rte_pktmbuf_free(cap);
	assert_int_equal(drops_total(), 0);
	dp->rec_ring = NULL;
	dp->rec_mp = NULL;
	r.st->rec_id = 0;
	rte_ring_free(ring);
	rte_mempool_free(rmp);
	assert_quiet();
}

/* Per-flow capture (cap.h) of a publisher and a subscriber: the publisher's frame as it
 * arrived, the subscriber's indirect copy (a header mbuf chained to the payload) joined into
 * one frame as it left; other subscribers' copies are not copied. */
static void
test_capture_parts(void **state)
{
	struct std_room r;
	struct rte_mbuf *outa[4], *c = NULL;
	struct rte_ring *ring = rte_ring_create("r_cap", 8, 0, RING_F_SC_DEQ);
	struct rte_mempool *cmp = rte_pktmbuf_pool_create("r_cap_mp", 15, 0, 0,
							  RTE_PKTMBUF_HEADROOM + MR_CAP_BUF, 0);
	const struct mr_cap_hdr *h;
	uint8_t pl[1000], flat[1200];
	const void *want;
	struct frame f;
	uint16_t plen;

	(void)state;
	assert_non_null(ring);
	assert_non_null(cmp);
	std_room(&r, 30370, 0);
	dp->fanout = MR_DP_FANOUT_INDIRECT;
	dp->cap_ring = ring;
	dp->cap_mp = cmp;
	r.p->cap_id = 5;
	r.s[0]->cap_id = 6;
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 900);
	build_udp(&f, MAC_A, PMAC, &r.rp, &r.p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0);
	take_n(P_A, outa, 2);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(outa[0]->nb_segs, 2);
	assert_int_equal(w->stats.cap_captured, 2);
	assert_int_equal(rte_ring_count(ring), 2);

	assert_int_equal(rte_ring_dequeue(ring, (void **)&c), 0);
	h = rte_pktmbuf_mtod(c, const struct mr_cap_hdr *);
	assert_int_equal(h->slot, 5);
	assert_int_equal(h->dir, MR_CAP_IN);
	assert_int_equal(h->len, f.len);
	assert_memory_equal(h + 1, f.b, f.len);
	rte_pktmbuf_free(c);

	assert_int_equal(rte_ring_dequeue(ring, (void **)&c), 0);
	h = rte_pktmbuf_mtod(c, const struct mr_cap_hdr *);
	assert_int_equal(h->slot, 6);
	assert_int_equal(h->dir, MR_CAP_OUT);
	assert_int_equal(h->len, outa[0]->pkt_len);
	assert_int_equal(h->orig_len, outa[0]->pkt_len);
	want = rte_pktmbuf_read(outa[0], 0, outa[0]->pkt_len, flat);
	assert_non_null(want);
	assert_memory_equal(h + 1, want, h->len);
	rte_pktmbuf_free(c);
	free_n(outa, 2);

	dp->cap_ring = NULL;
	dp->cap_mp = NULL;
	r.p->cap_id = 0;
	r.s[0]->cap_id = 0;
	rte_ring_free(ring);
	rte_mempool_free(cmp);
	assert_int_equal(drops_total(), 0);
	assert_quiet();
}

/* ---- 2. stream checks: mute, unknown and foreign SSRCs, malformed ---- */

static void
test_mute_unknown_foreign(void **state)
{
	struct std_room r;
	struct rte_mbuf *out[2];
	uint8_t pl[300];
	uint16_t plen;

	(void)state;
	std_room(&r, 30400, 0);
	dp->fanout = MR_DP_FANOUT_COPY;
	__atomic_store_n(&r.st->muted, 1, __ATOMIC_RELAXED);
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 50);
	pub_send(&r, pl, plen, &PLAIN);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0);
	assert_int_equal(w->stats.drops[MR_DROP_MUTED], 2);
	assert_int_equal(r.st->ctr.drop_muted, 2);
	assert_int_equal(r.st->ctr.pkts_out, 0);
	assert_int_equal(w->stats.tx_pkts, 0);
	__atomic_store_n(&r.st->muted, 0, __ATOMIC_RELAXED);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 1);
	take_n(P_A, out, 2);
	free_n(out, 2);
	rte_pktmbuf_free(take1(P_C));

	/* Unknown SSRC, no auto-publish: dropped, nothing reported. */
	plen = rtp(pl, 100, 1, 0, 0xdeadbeef, 50);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 2);
	assert_int_equal(w->stats.drops[MR_DROP_UNKNOWN_SSRC], 1);
	assert_int_equal(r.p->ctr.drop_unknown_ssrc, 1);
	assert_int_equal(r.p->autopub_seq, 0);
	/* With auto-publish: left for the control plane. */
	room->auto_publish = 1;
	pub_send(&r, pl, plen, &PLAIN);
	plen = rtp(pl, 101, 2, 0, 0xdeadbef0, 50);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 3);
	assert_int_equal(w->stats.drops[MR_DROP_UNKNOWN_SSRC], 3);
	assert_int_equal(__atomic_load_n(&r.p->autopub_seq, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(r.p->autopub_ssrc, 0xdeadbef0);
	assert_int_equal(r.p->autopub_pt, 101);
	assert_int_equal(r.p->ctr.autopub_req, 2);

	/* A subscriber sending the publisher's SSRC. */
	plen = rtp(pl, 96, 9, 0, SSRC_PUB, 50);
	sub_send(&r, 0, pl, plen);
	mr_worker_iteration(w, T0 + 4);
	assert_int_equal(w->stats.drops[MR_DROP_SSRC_FOREIGN], 1);
	assert_int_equal(r.s[0]->ctr.drop_not_publisher, 1);
	assert_int_equal(r.st->ctr.pkts_in, 3);

	/* Short RTP, and a STUN packet: neither latches nor travels. */
	pl[0] = 0x80;
	sub_send(&r, 1, pl, 8);
	pl[0] = 0x00;
	pl[1] = 0x01;
	sub_send(&r, 1, pl, 20);
	mr_worker_iteration(w, T0 + 5);
	assert_int_equal(w->stats.drops[MR_DROP_RTP_MALFORMED], 1);
	assert_int_equal(w->stats.drops[MR_DROP_ROOM_CLASS], 1);
	assert_int_equal(r.s[1]->ctr.drop_rtp, 1);
	assert_int_equal(r.s[1]->ctr.drop_class, 1);
	assert_int_equal(drops_total(), 2 + 3 + 1 + 2);
	assert_quiet();
}

/* ---- 3. latching ---- */

static void
test_latching(void **state)
{
	struct mr_dp_part *p, *s;
	struct mr_dp_stream *st;
	struct mr_ep rp = R_P, other = ep4(198, 18, 0, 99, 7000), rs = R_S1;
	struct rte_mbuf *out;
	uint64_t sent;
	struct mr_cmd c;
	struct frame f;
	uint8_t pl[300];
	uint16_t plen;

	(void)state;
	p = part_new(P_A, MR_AF4, 30500);
	s = part_new(P_A, MR_AF4, 30502);
	st = stream_new(p, SSRC_PUB, MR_KIND_VIDEO, 90000, 0);
	subs_set(st, &s, 1);
	map_publish();

	/* The subscriber has no remote yet: counted, then no ready subscriber. */
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 40);
	build_udp(&f, MAC_A, PMAC, &rp, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 10);
	assert_int_equal(p->path.state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&p->path.remote, &rp));
	assert_memory_equal(p->path.mac.addr_bytes, PMAC, 6);
	assert_int_equal(p->path.last_rx_tsc, T0 + 10);
	assert_int_equal(p->last_rx_tsc, T0 + 10);
	assert_int_equal(s->ctr.drop_no_remote, 1);
	assert_int_equal(w->stats.drops[MR_DROP_NO_REMOTE], 1);
	assert_int_equal(w->stats.drops[MR_DROP_NO_SUBSCRIBER], 1);

	/* The subscriber's first packet (an RTCP RR) latches it. */
	{
		uint8_t rr[8];
		int n = mr_rtcp_build_rr(rr, sizeof(rr), SSRC_SUB, NULL, 0);

		assert_int_equal(n, 8);
		build_udp(&f, MAC_A, SMAC1, &rs, &s->local, rr, (uint16_t)n, &PLAIN);
		inject_f(P_A, &f);
		mr_worker_iteration(w, T0 + 20);
	}
	assert_int_equal(s->path.state, MR_PATH_LATCHED);
	assert_memory_equal(s->path.mac.addr_bytes, SMAC1, 6);
	assert_int_equal(s->ctr.rtcp_in, 1);
	build_udp(&f, MAC_A, PMAC, &rp, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 30);
	out = take1(P_A);
	check_out(out, SMAC1, MAC_A, -1, &s->local, &rs, 0, pl, plen, 0);
	rte_pktmbuf_free(out);

	/* Another source: dropped until relatch_tsc of silence has passed. */
	build_udp(&f, MAC_A, XMAC, &other, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 30 + dp->relatch_tsc);
	assert_int_equal(w->stats.drops[MR_DROP_SRC_MISMATCH], 1);
	assert_int_equal(p->ctr.drop_src, 1);
	assert_int_equal(p->path.last_rx_tsc, T0 + 30);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 31 + dp->relatch_tsc);
	assert_int_equal(p->ctr.relatches, 1);
	assert_true(mr_ep_eq(&p->path.remote, &other));
	assert_memory_equal(p->path.mac.addr_bytes, XMAC, 6);
	rte_pktmbuf_free(take1(P_A));

	/* PART_RESET forgets the remote; the next packet latches anew. */
	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_PART_RESET;
	c.obj = p;
	assert_int_equal(rte_ring_enqueue_elem(w->cmd, &c, sizeof(c)), 0);
	mr_worker_commands(w);
	assert_int_equal(w->stats.cmds, 1);
	assert_int_equal(p->path.state, MR_PATH_NONE);
	assert_int_equal(p->path.remote.family, 0);
	build_udp(&f, MAC_A, PMAC, &rp, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 40 + dp->relatch_tsc);
	assert_true(mr_ep_eq(&p->path.remote, &rp));
	assert_int_equal(p->ctr.relatches, 1);
	rte_pktmbuf_free(take1(P_A));

	/* Removing a subscriber takes it out of the stream's list (the control plane publishes
	 * the new list before it deletes the flow): it gets nothing more. */
	sent = s->ctr.pkts_out;
	subs_set(st, NULL, 0);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 50 + dp->relatch_tsc);
	assert_int_equal(w->stats.drops[MR_DROP_NO_SUBSCRIBER], 2);
	assert_int_equal(s->ctr.pkts_out, sent);
	assert_int_equal(w->stats.cmds, 1);
	assert_quiet();
}

/* ---- 4. RTCP: SR forwarded, RR consumed ---- */

static void
test_sr_rr(void **state)
{
	struct std_room r;
	struct rte_mbuf *outa[2], *outc;
	struct mr_rtcp_sr sr;
	struct mr_rtcp_rb rb;
	uint8_t buf[256];
	const uint8_t *op;
	uint16_t olen;
	int n, k;
	uint64_t t_sr = T0 + 1000, t_rr;

	(void)state;
	std_room(&r, 30600, 0);
	room->ntp_base = 0xe0000000ULL << 32;
	room->tsc_base = T0;
	memset(&sr, 0, sizeof(sr));
	sr.ssrc = SSRC_PUB;
	sr.ntp = 0x1234567890abcdefULL;	/* the publisher's clock, unrelated to the room's */
	sr.rtp_ts = 4242;
	sr.pkt_count = 10;
	sr.octet_count = 1000;
	n = mr_rtcp_build_sr(buf, sizeof(buf), &sr, NULL, 0);
	assert_true(n > 0);
	k = mr_rtcp_build_sdes_cname(buf + n, sizeof(buf) - n, SSRC_PUB, "pub@example");
	assert_true(k > 0);
	n += k;
	pub_send(&r, buf, (uint16_t)n, &PLAIN);
	mr_worker_iteration(w, t_sr);
	take_n(P_A, outa, 2);
	outc = take1(P_C);
	/* Unchanged compound to every subscriber. */
	check_out(outa[0], SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, buf, (uint16_t)n, 0);
	check_out(outa[1], SMAC2, MAC_A, -1, &r.s[1]->local, &r.rs[1], 0, buf, (uint16_t)n, 0);
	check_out(outc, SMAC3, MAC_C, 100, &r.s[2]->local, &r.rs[2], 0, buf, (uint16_t)n, 0);
	free_n(outa, 2);
	rte_pktmbuf_free(outc);
	assert_int_equal(r.st->sr_ntp_mid, 0x567890ab);
	assert_int_equal(r.st->sr_tsc, t_sr);
	assert_int_equal(r.st->sr_count, 1);
	assert_int_equal(r.st->ctr.rtcp_sr, 1);
	assert_int_equal(r.st->ctr.pkts_out, 0);	/* media counters untouched */
	assert_int_equal(r.p->ctr.rtcp_in, 1);

	/* S1's RR about the stream: 100 ms after the SR, 40 ms held: RTT 60 ms. */
	memset(&rb, 0, sizeof(rb));
	rb.ssrc = SSRC_PUB;
	rb.fraction_lost = 26;
	rb.cum_lost = 3;
	rb.ext_high_seq = 70000;
	rb.jitter = 321;
	rb.lsr = 0x567890ab;
	rb.dlsr = (uint32_t)(0.040 * 65536);
	n = mr_rtcp_build_rr(buf, sizeof(buf), SSRC_SUB, &rb, 1);
	k = mr_rtcp_build_sdes_cname(buf + n, sizeof(buf) - n, SSRC_SUB, "sub@example");
	n += k;
	sub_send(&r, 0, buf, (uint16_t)n);
	t_rr = t_sr + dp->tsc_hz / 10;
	mr_worker_iteration(w, t_rr);
	assert_quiet();					/* consumed, never forwarded */
	assert_int_equal(r.st->rx.fraction_lost, 26);
	assert_int_equal(r.st->rx.jitter, 321);
	assert_int_equal(r.st->rx.reports, 1);
	assert_in_range(r.st->rx.rtt_ms, 59, 60);
	assert_int_equal(w->stats.tx_pkts, 3);
	assert_int_equal(drops_total(), 0);

	/* An RR whose LSR is not the last SR forwarded: no RTT from it, the rest kept. */
	rb.lsr = 0x11111111;
	rb.jitter = 999;
	n = mr_rtcp_build_rr(buf, sizeof(buf), SSRC_SUB, &rb, 1);
	sub_send(&r, 1, buf, (uint16_t)n);
	/* An RR about an SSRC the room lacks, and one from the publisher about itself:
	 * nothing acted on. */
	rb.ssrc = 0x99999999;
	n = mr_rtcp_build_rr(buf, sizeof(buf), SSRC_SUB, &rb, 1);
	sub_send(&r, 1, buf, (uint16_t)n);
	rb.ssrc = SSRC_PUB;
	n = mr_rtcp_build_rr(buf, sizeof(buf), SSRC_PUB, &rb, 1);
	pub_send(&r, buf, (uint16_t)n, &PLAIN);
	mr_worker_iteration(w, t_rr + 1);
	assert_int_equal(r.st->rx.jitter, 999);
	assert_in_range(r.st->rx.rtt_ms, 59, 60);
	assert_int_equal(r.st->rx.reports, 2);
	assert_int_equal(w->stats.drops[MR_DROP_RTCP_UNHANDLED], 2);
	assert_int_equal(r.s[1]->ctr.rtcp_ignored, 1);
	assert_int_equal(r.p->ctr.rtcp_ignored, 1);

	/* An SR of a stream nobody subscribes to. */
	subs_set(r.st, NULL, 0);
	n = mr_rtcp_build_sr(buf, sizeof(buf), &sr, NULL, 0);
	pub_send(&r, buf, (uint16_t)n, &PLAIN);
	mr_worker_iteration(w, t_rr + 2);
	assert_int_equal(w->stats.drops[MR_DROP_NO_SUBSCRIBER], 1);
	assert_int_equal(r.st->sr_count, 2);
	(void)op;
	(void)olen;
	assert_quiet();
}

/* ---- 5. NACK: cache, budget, forwarding ---- */

/* The NACK the relay sent the publisher: exactly seqs. */
static void
check_nack_to_pub(const struct std_room *r, struct rte_mbuf *m, const uint16_t *seqs,
		  unsigned int n)
{
	struct mr_rtcp_hdr h;
	const uint8_t *pl;
	uint16_t plen, got[64];
	uint32_t media;
	size_t off = 0;
	unsigned int i;

	pl = out_payload(m, &plen);
	check_out(m, PMAC, MAC_A, -1, &r->p->local, &r->rp, 0, pl, plen, 0);
	assert_int_equal(mr_rtcp_validate(pl, plen), 0);
	assert_int_equal(mr_rtcp_next(pl, plen, &off, &h), 1);
	assert_int_equal(h.type, MR_RTCP_RTPFB);
	assert_int_equal(h.count, MR_RTCP_FMT_NACK);
	assert_int_equal(h.ssrc, r->p->relay_ssrc);
	assert_int_equal(mr_rtcp_fb_media_ssrc(&h, &media), 0);
	assert_int_equal(media, SSRC_PUB);
	assert_int_equal(mr_rtcp_nack_parse(&h, got, 64), (int)n);
	for (i = 0; i < n; i++)
		assert_int_equal(got[i], seqs[i]);
	assert_int_equal(mr_rtcp_next(pl, plen, &off, &h), 0);
}

static void
test_nack(void **state)
{
	struct std_room r;
	struct rte_mbuf *out[64];
	uint8_t pkt[8][1500], buf[256];
	uint16_t plen[8], seqs[8];
	const uint8_t *op;
	uint16_t olen;
	unsigned int i;
	int n;

	(void)state;
	std_room(&r, 30700, 64);
	subs_set(r.st, &r.s[0], 1);
	/* seq 100..107; 104 is too big for the cache slots. */
	for (i = 0; i < 8; i++) {
		plen[i] = rtp(pkt[i], 96, (uint16_t)(100 + i), i * 3000, SSRC_PUB,
			      i == 4 ? 1490 - 12 : (uint16_t)(100 + 50 * i));
		pub_send(&r, pkt[i], plen[i], &PLAIN);
	}
	mr_worker_iteration(w, T0);
	take_n(P_A, out, 8);
	free_n(out, 8);
	r.st->cache->slot_bytes = 1300;	/* (the data was sized for 1500) */
	/* Packet 104 again under the new slot size: not cached, slot emptied. */
	pub_send(&r, pkt[4], plen[4], &PLAIN);
	mr_worker_iteration(w, T0 + 1);
	rte_pktmbuf_free(take1(P_A));
	r.st->cache->slot_bytes = 1500;
	assert_int_equal(r.st->cache->slot[104 & 63].len, 0);
	assert_int_equal(r.st->cache->slot[101 & 63].len, plen[1]);

	/* S1 asks for 101, 103 (cached), 104 (not cached), 150 (never seen). */
	seqs[0] = 101;
	seqs[1] = 103;
	seqs[2] = 104;
	seqs[3] = 150;
	n = mr_rtcp_build_rr(buf, sizeof(buf), SSRC_SUB, NULL, 0);
	n += mr_rtcp_build_nack(buf + n, sizeof(buf) - n, SSRC_SUB, SSRC_PUB, seqs, 4);
	sub_send(&r, 0, buf, (uint16_t)n);
	mr_worker_iteration(w, T0 + 100);
	take_n(P_A, out, 3);
	/* Exact retransmitted bytes, from S1's own endpoint to S1. */
	op = out_payload(out[0], &olen);
	assert_int_equal(olen, plen[1]);
	check_out(out[0], SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, pkt[1], plen[1], 0);
	op = out_payload(out[1], &olen);
	assert_int_equal(olen, plen[3]);
	check_out(out[1], SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, pkt[3], plen[3], 0);
	check_nack_to_pub(&r, out[2], seqs + 2, 2);
	free_n(out, 3);
	assert_int_equal(r.st->ctr.nack_rx, 4);
	assert_int_equal(r.st->ctr.rtx_sent, 2);
	assert_int_equal(r.s[0]->ctr.rtx_sent, 2);
	assert_int_equal(r.st->ctr.nack_fwd, 2);
	assert_int_equal(r.st->ctr.rtx_budget_drop, 0);
	assert_int_equal(drops_total(), 0);

	/* Budget 3 per second: the bucket is full (3) after its first use long ago... */
	dp->nack_budget = 3;
	assert_int_equal(mr_dp_rooms_setup(dp), 0);
	r.s[0]->rtx_refill_tsc = 0;
	for (i = 0; i < 5; i++)
		seqs[i] = (uint16_t)(100 + i + (i >= 4));	/* 100 101 102 103 105 */
	n = mr_rtcp_build_nack(buf, sizeof(buf), SSRC_SUB, SSRC_PUB, seqs, 5);
	sub_send(&r, 0, buf, (uint16_t)n);
	mr_worker_iteration(w, T0 + 200);
	take_n(P_A, out, 3);
	for (i = 0; i < 3; i++) {
		op = out_payload(out[i], &olen);
		assert_int_equal(olen, plen[i]);
		assert_memory_equal(op, pkt[i], plen[i]);
	}
	free_n(out, 3);
	assert_int_equal(r.st->ctr.rtx_budget_drop, 2);	/* refused, not forwarded either */
	assert_int_equal(r.st->ctr.nack_fwd, 2);
	/* ... a third of a second later one token is back. */
	sub_send(&r, 0, buf, (uint16_t)n);
	mr_worker_iteration(w, T0 + 200 + dp->tsc_hz / 3 + dp->tsc_hz / 100);
	take_n(P_A, out, 1);
	op = out_payload(out[0], &olen);
	assert_memory_equal(op, pkt[0], plen[0]);
	free_n(out, 1);
	assert_int_equal(r.st->ctr.rtx_budget_drop, 6);
	assert_int_equal(r.st->ctr.rtx_sent, 6);

	/* Stale after rtx_max_age: forwarded to the publisher instead. */
	dp->nack_budget = 0;
	assert_int_equal(mr_dp_rooms_setup(dp), 0);
	seqs[0] = 106;
	n = mr_rtcp_build_nack(buf, sizeof(buf), SSRC_SUB, SSRC_PUB, seqs, 1);
	sub_send(&r, 0, buf, (uint16_t)n);
	mr_worker_iteration(w, T0 + 3 * dp->tsc_hz);
	check_nack_to_pub(&r, out[0] = take1(P_A), seqs, 1);
	rte_pktmbuf_free(out[0]);

	/* A NACK about a stream the sender publishes, or that does not exist: ignored. */
	n = mr_rtcp_build_nack(buf, sizeof(buf), SSRC_PUB, SSRC_PUB, seqs, 1);
	pub_send(&r, buf, (uint16_t)n, &PLAIN);
	n = mr_rtcp_build_nack(buf, sizeof(buf), SSRC_SUB, 0x77777777, seqs, 1);
	sub_send(&r, 0, buf, (uint16_t)n);
	mr_worker_iteration(w, T0 + 3 * dp->tsc_hz + 1);
	assert_int_equal(w->stats.drops[MR_DROP_RTCP_UNHANDLED], 2);
	assert_int_equal(r.st->ctr.nack_rx, 4 + 5 + 5 + 1);
	assert_quiet();
}

/* ---- 6. PLI/FIR rate limit, REMB and transport-cc to the publisher ---- */

static void
test_pli_remb(void **state)
{
	struct std_room r;
	struct rte_mbuf *out;
	uint8_t pli[64], fir[64], remb[64], tcc[32];
	const uint8_t *op;
	uint16_t olen;
	uint32_t ssrcs[2] = { SSRC_PUB, 0x1010 };
	int npli, nfir, nremb;

	(void)state;
	std_room(&r, 30800, 0);
	dp->pli_interval_tsc = 1000;
	npli = mr_rtcp_build_pli(pli, sizeof(pli), SSRC_SUB, SSRC_PUB);
	nfir = mr_rtcp_build_fir(fir, sizeof(fir), SSRC_SUB, SSRC_PUB, 7);
	nremb = mr_rtcp_build_remb(remb, sizeof(remb), SSRC_SUB, 1500000, ssrcs, 2);
	assert_true(npli > 0 && nfir > 0 && nremb > 0);

	sub_send(&r, 0, pli, (uint16_t)npli);
	sub_send(&r, 1, pli, (uint16_t)npli);
	mr_worker_iteration(w, T0 + 10);
	out = take1(P_A);		/* the second one was rate limited */
	op = out_payload(out, &olen);
	check_out(out, PMAC, MAC_A, -1, &r.p->local, &r.rp, 0, pli, (uint16_t)npli, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.pli_fwd, 1);
	assert_int_equal(r.st->ctr.pli_limited, 1);
	/* FIR shares the limit; after the interval it goes through. */
	sub_send(&r, 2, fir, (uint16_t)nfir);
	mr_worker_iteration(w, T0 + 10 + 999);
	assert_int_equal(r.st->ctr.pli_limited, 2);
	sub_send(&r, 2, fir, (uint16_t)nfir);
	mr_worker_iteration(w, T0 + 10 + 1000);
	out = take1(P_A);
	check_out(out, PMAC, MAC_A, -1, &r.p->local, &r.rp, 0, fir, (uint16_t)nfir, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.pli_fwd, 2);

	/* REMB: unchanged, to the publisher of its first SSRC. */
	sub_send(&r, 0, remb, (uint16_t)nremb);
	mr_worker_iteration(w, T0 + 5000);
	out = take1(P_A);
	check_out(out, PMAC, MAC_A, -1, &r.p->local, &r.rp, 0, remb, (uint16_t)nremb, 0);
	rte_pktmbuf_free(out);
	/* transport-cc (RTPFB FMT 15): unchanged, to the publisher of the media SSRC. */
	memset(tcc, 0, sizeof(tcc));
	tcc[0] = 0x80 | MR_RTCP_FMT_TCC;
	tcc[1] = MR_RTCP_RTPFB;
	tcc[3] = 4;			/* 5 words */
	tcc[7] = 0x77;			/* sender */
	tcc[8] = SSRC_PUB >> 24;
	tcc[9] = (uint8_t)(SSRC_PUB >> 16);
	tcc[10] = (uint8_t)(SSRC_PUB >> 8);
	tcc[11] = (uint8_t)SSRC_PUB;
	tcc[13] = 1;			/* base seq 1, status count 1, ... */
	tcc[15] = 1;
	sub_send(&r, 1, tcc, 20);
	mr_worker_iteration(w, T0 + 5001);
	out = take1(P_A);
	check_out(out, PMAC, MAC_A, -1, &r.p->local, &r.rp, 0, tcc, 20, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.fb_fwd, 2);

	/* Publisher not latched: nothing sent, counted. */
	r.p->path.state = MR_PATH_NONE;
	sub_send(&r, 0, pli, (uint16_t)npli);
	mr_worker_iteration(w, T0 + 9000);
	assert_int_equal(r.p->ctr.drop_no_remote, 1);
	assert_int_equal(r.st->ctr.pli_fwd, 2);
	assert_int_equal(w->stats.drops[MR_DROP_NO_REMOTE], 1);
	(void)op;
	assert_quiet();
}

/* ---- 7. the relay's receiver reports ---- */

static void
test_send_rr(void **state)
{
	struct std_room r;
	struct rte_mbuf *in, *out;
	struct mr_rtcp_sr sr;
	struct mr_rtcp_hdr h;
	struct mr_rtcp_rb rb;
	struct mr_cmd c;
	uint8_t pl[256];
	const uint8_t *op;
	uint16_t olen, plen, seq;
	size_t off = 0;
	int n;
	uint64_t t_sr = T0 + 50000;

	(void)state;
	std_room(&r, 30900, 0);
	subs_set(r.st, &r.s[0], 1);
	/* seq 1..10 without 5 and 6: A.1 probation takes 1, counts 2..10: 7 of 9. */
	for (seq = 1; seq <= 10; seq++) {
		if (seq == 5 || seq == 6)
			continue;
		plen = rtp(pl, 96, seq, seq * 3000u, SSRC_PUB, 20);
		pub_send(&r, pl, plen, &PLAIN);
	}
	mr_worker_iteration(w, T0);
	{
		struct rte_mbuf *all[16];

		take_n(P_A, all, 8);
		free_n(all, 8);
	}
	memset(&sr, 0, sizeof(sr));
	sr.ssrc = SSRC_PUB;
	sr.ntp = 0xaaaabbbbccccddddULL;
	n = mr_rtcp_build_sr(pl, sizeof(pl), &sr, NULL, 0);
	pub_send(&r, pl, (uint16_t)n, &PLAIN);
	mr_worker_iteration(w, t_sr);
	rte_pktmbuf_free(take1(P_A));

	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_SEND_RR;
	c.obj = r.st;
	mr_room_fwd_cmd(w, &c, t_sr + dp->tsc_hz / 2);
	mr_worker_flush(w);
	out = take1(P_A);
	op = out_payload(out, &olen);
	check_out(out, PMAC, MAC_A, -1, &r.p->local, &r.rp, 0, op, olen, 0);
	assert_int_equal(mr_rtcp_validate(op, olen), 0);
	assert_int_equal(mr_rtcp_next(op, olen, &off, &h), 1);
	assert_int_equal(h.type, MR_RTCP_RR);
	assert_int_equal(h.count, 1);
	assert_int_equal(h.ssrc, r.p->relay_ssrc);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb), 0);
	assert_int_equal(rb.ssrc, SSRC_PUB);
	assert_int_equal(rb.fraction_lost, (2 << 8) / 9);
	assert_int_equal(rb.cum_lost, 2);
	assert_int_equal(rb.ext_high_seq, 10);
	assert_int_equal(rb.jitter, mr_rtp_stats_jitter(&r.st->rtp));
	assert_int_equal(rb.lsr, 0xbbbbcccc);
	assert_in_range(rb.dlsr, 32767, 32768);		/* half a second */
	assert_int_equal(mr_rtcp_next(op, olen, &off, &h), 0);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.rr_sent, 1);

	/* 11..14 all arrive: the next report has no new loss. */
	for (seq = 11; seq <= 14; seq++) {
		plen = rtp(pl, 96, seq, seq * 3000u, SSRC_PUB, 20);
		in = pub_send(&r, pl, plen, &PLAIN);
	}
	(void)in;
	mr_worker_iteration(w, t_sr + dp->tsc_hz);
	{
		struct rte_mbuf *all[16];

		take_n(P_A, all, 4);
		free_n(all, 4);
	}
	/* Through the command ring this time (the worker stamps its own TSC). */
	assert_int_equal(rte_ring_enqueue_elem(w->cmd, &c, sizeof(c)), 0);
	mr_worker_iteration(w, t_sr + dp->tsc_hz);
	out = take1(P_A);
	op = out_payload(out, &olen);
	off = 0;
	assert_int_equal(mr_rtcp_next(op, olen, &off, &h), 1);
	assert_int_equal(mr_rtcp_rb_parse(&h, 0, &rb), 0);
	assert_int_equal(rb.fraction_lost, 0);
	assert_int_equal(rb.cum_lost, 2);
	assert_int_equal(rb.ext_high_seq, 14);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.rr_sent, 2);
	assert_int_equal(w->stats.cmds, 1);

	/* Publisher not latched: no report, counted. */
	r.p->path.state = MR_PATH_NONE;
	mr_room_fwd_cmd(w, &c, t_sr + 2 * dp->tsc_hz);
	mr_worker_flush(w);
	assert_int_equal(r.st->ctr.rr_sent, 2);
	assert_int_equal(r.p->ctr.drop_no_remote, 1);
	assert_quiet();
}

/* ---- 8. audio level ---- */

static void
test_audio_level(void **state)
{
	struct std_room r;
	struct mr_dp_stream *a;
	struct rte_mbuf *out;
	uint8_t pl[256];
	uint16_t plen;

	(void)state;
	std_room(&r, 31000, 0);
	a = stream_new(r.p, SSRC_AUD, MR_KIND_AUDIO, 48000, 0);
	subs_set(a, &r.s[0], 1);
	map_publish();
	r.p->level_ext_id = 1;

	plen = rtp_level(pl, 1, SSRC_AUD, 30, 1);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0);
	out = take1(P_A);
	check_out(out, SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, pl, plen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(a->level_q8, 30 * 256);
	assert_int_equal(a->level_pkts, 1);
	plen = rtp_level(pl, 2, SSRC_AUD, 50, 0);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 1);
	rte_pktmbuf_free(take1(P_A));
	assert_int_equal(a->level_q8, 7680 + (12800 - 7680) / 8);	/* 8320 */
	plen = rtp_level(pl, 3, SSRC_AUD, 10, 1);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 2);
	rte_pktmbuf_free(take1(P_A));
	assert_int_equal(a->level_q8, 8320 - (8320 - 2560) / 8);	/* 7600 */
	assert_int_equal(a->level_pkts, 3);

	/* No extension, and a malformed one (element past the extension's end): level
	 * unchanged, the packet still forwarded. */
	plen = rtp(pl, 111, 4, 0, SSRC_AUD, 30);
	pub_send(&r, pl, plen, &PLAIN);
	plen = rtp_level(pl, 5, SSRC_AUD, 127, 0);
	pl[16] = 0x1f;			/* id 1, 16 bytes: runs past the one word */
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 3);
	{
		struct rte_mbuf *two[2];

		take_n(P_A, two, 2);
		free_n(two, 2);
	}
	assert_int_equal(a->level_q8, 7600);
	assert_int_equal(a->level_pkts, 3);
	/* A video stream is not measured even with the extension. */
	plen = rtp_level(pl, 6, SSRC_PUB, 0, 1);
	subs_set(r.st, NULL, 0);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 4);
	assert_int_equal(r.st->level_pkts, 0);
	assert_int_equal(w->stats.drops[MR_DROP_NO_SUBSCRIBER], 1);
	assert_quiet();
}

/* ---- 9. malformed and hostile RTCP ---- */

static void
test_rtcp_malformed(void **state)
{
	struct std_room r;
	uint8_t b[128];
	uint16_t len;
	int n;

	(void)state;
	std_room(&r, 31100, 0);
	/* Length field past the end. */
	n = mr_rtcp_build_rr(b, sizeof(b), SSRC_SUB, NULL, 0);
	b[3] = 5;
	sub_send(&r, 0, b, (uint16_t)n);
	/* Lengths adding up short of the datagram (trailing garbage). */
	n = mr_rtcp_build_rr(b, sizeof(b), SSRC_SUB, NULL, 0);
	memset(b + n, 0, 4);
	sub_send(&r, 0, b, (uint16_t)(n + 4));
	/* Version 1 in the second packet of a compound. */
	n = mr_rtcp_build_rr(b, sizeof(b), SSRC_SUB, NULL, 0);
	len = (uint16_t)(n + mr_rtcp_build_sdes_cname(b + n, sizeof(b) - n, SSRC_SUB, "x"));
	b[n] = (uint8_t)((b[n] & 0x3f) | 0x40);
	sub_send(&r, 0, b, len);
	/* Starting with an SDES (neither a report nor feedback, RFC 3550 A.2). */
	n = mr_rtcp_build_sdes_cname(b, sizeof(b), SSRC_SUB, "x");
	sub_send(&r, 0, b, (uint16_t)n);
	/* Padding on the first packet of a compound. */
	n = mr_rtcp_build_rr(b, sizeof(b), SSRC_SUB, NULL, 0);
	len = (uint16_t)(n + mr_rtcp_build_sdes_cname(b + n, sizeof(b) - n, SSRC_SUB, "x"));
	b[0] |= 0x20;
	sub_send(&r, 0, b, len);
	/* A NACK whose FCI is cut short (RTPFB with no FCI at all). */
	memset(b, 0, 12);
	b[0] = 0x81;
	b[1] = MR_RTCP_RTPFB;
	b[3] = 2;
	b[11] = 1;
	sub_send(&r, 0, b, 12);
	mr_worker_iteration(w, T0);
	assert_int_equal(w->stats.drops[MR_DROP_RTCP_MALFORMED], 5);
	assert_int_equal(r.s[0]->ctr.drop_rtcp, 5);
	assert_int_equal(w->stats.drops[MR_DROP_RTCP_UNHANDLED], 1);
	assert_int_equal(r.s[0]->ctr.rtcp_in, 6);
	assert_int_equal(r.st->ctr.nack_rx, 0);
	assert_int_equal(drops_total(), 6);
	assert_quiet();
}

/* ---- 10. NACK answers by age and media kind (issue 8) ---- */

/* S1 NACKs seq of the stream with media SSRC ssrc at now. */
static void
nack_send(const struct std_room *r, uint32_t ssrc, uint16_t seq, uint64_t now)
{
	uint8_t buf[64];
	int n = mr_rtcp_build_nack(buf, sizeof(buf), SSRC_SUB, ssrc, &seq, 1);

	assert_true(n > 0);
	sub_send(r, 0, buf, (uint16_t)n);
	mr_worker_iteration(w, now);
}

/* A cached packet is resent while it is younger than the stream kind's age limit (defaults:
 * 1 s of audio, 2 s of video, like mediasoup); older, the NACK goes to the publisher. */
static void
test_nack_age(void **state)
{
	struct std_room r;
	struct mr_dp_stream *a;
	struct rte_mbuf *out;
	uint8_t vpl[300], apl[200];
	uint16_t vlen, alen;
	uint64_t hz = dp->tsc_hz;

	(void)state;
	std_room(&r, 31200, 64);
	subs_set(r.st, &r.s[0], 1);
	a = stream_new(r.p, SSRC_AUD, MR_KIND_AUDIO, 48000, 64);
	subs_set(a, &r.s[0], 1);
	map_publish();
	vlen = rtp(vpl, 96, 200, 0, SSRC_PUB, 200);
	alen = rtp(apl, 111, 300, 0, SSRC_AUD, 100);
	pub_send(&r, vpl, vlen, &PLAIN);
	pub_send(&r, apl, alen, &PLAIN);
	mr_worker_iteration(w, T0);
	{
		struct rte_mbuf *two[2];

		take_n(P_A, two, 2);
		free_n(two, 2);
	}

	/* Video, 1.5 s old: still answered from the cache (it was forwarded before). */
	nack_send(&r, SSRC_PUB, 200, T0 + hz + hz / 2);
	out = take1(P_A);
	check_out(out, SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, vpl, vlen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.rtx_sent, 1);
	assert_int_equal(r.st->ctr.nack_fwd, 0);

	/* Audio, 0.9 s old: answered; 1.5 s old: to the publisher. */
	nack_send(&r, SSRC_AUD, 300, T0 + hz - hz / 10);
	out = take1(P_A);
	check_out(out, SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, apl, alen, 0);
	rte_pktmbuf_free(out);
	nack_send(&r, SSRC_AUD, 300, T0 + hz + hz / 2);
	out = take1(P_A);
	{
		const uint8_t *op;
		uint16_t olen;

		op = out_payload(out, &olen);
		check_out(out, PMAC, MAC_A, -1, &r.p->local, &r.rp, 0, op, olen, 0);
	}
	rte_pktmbuf_free(out);
	assert_int_equal(a->ctr.rtx_sent, 1);
	assert_int_equal(a->ctr.nack_fwd, 1);

	/* Video, 2.5 s old: to the publisher. */
	nack_send(&r, SSRC_PUB, 200, T0 + 2 * hz + hz / 2);
	check_nack_to_pub(&r, out = take1(P_A), (const uint16_t[]){ 200 }, 1);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.rtx_sent, 1);
	assert_int_equal(r.st->ctr.nack_fwd, 1);

	/* Configured ages (rooms.nack_cache_{audio,video}_ms): 3 s of audio, 100 ms of video. */
	dp->rtx_max_age_tsc[MR_KIND_AUDIO] = 3 * hz;
	dp->rtx_max_age_tsc[MR_KIND_VIDEO] = hz / 10;
	assert_int_equal(mr_dp_rooms_setup(dp), 0);
	assert_int_equal(dp->rtx_max_age_tsc[MR_KIND_VIDEO], hz / 10);
	nack_send(&r, SSRC_AUD, 300, T0 + 2 * hz + hz / 2);
	out = take1(P_A);
	check_out(out, SMAC1, MAC_A, -1, &r.s[0]->local, &r.rs[0], 0, apl, alen, 0);
	rte_pktmbuf_free(out);
	assert_int_equal(a->ctr.rtx_sent, 2);
	vlen = rtp(vpl, 96, 201, 0, SSRC_PUB, 200);
	pub_send(&r, vpl, vlen, &PLAIN);
	mr_worker_iteration(w, T0 + 10 * hz);
	rte_pktmbuf_free(take1(P_A));
	nack_send(&r, SSRC_PUB, 201, T0 + 10 * hz + hz / 10);		/* exactly the age */
	rte_pktmbuf_free(take1(P_A));
	assert_int_equal(r.st->ctr.rtx_sent, 2);
	nack_send(&r, SSRC_PUB, 201, T0 + 10 * hz + hz / 10 + 1);	/* one cycle older */
	check_nack_to_pub(&r, out = take1(P_A), (const uint16_t[]){ 201 }, 1);
	rte_pktmbuf_free(out);
	assert_int_equal(r.st->ctr.rtx_sent, 2);
	assert_int_equal(r.st->ctr.nack_fwd, 2);
	assert_int_equal(drops_total(), 0);
	assert_quiet();
}

/* mr_dp_rooms_setup() resolves each "0 = default" once: the forwarding path reads the values
 * as they are. */
static void
test_rooms_setup(void **state)
{
	uint64_t hz = dp->tsc_hz;

	(void)state;
	dp->fanout_copy_max = 0;
	dp->nack_budget = 0;
	dp->pli_interval_tsc = 0;
	memset(dp->rtx_max_age_tsc, 0, sizeof(dp->rtx_max_age_tsc));
	w->hdr_mp = NULL;
	assert_int_equal(mr_dp_rooms_setup(dp), 0);
	assert_int_equal(dp->fanout_copy_max, MR_DP_FANOUT_COPY_MAX);
	assert_int_equal(dp->nack_budget, MR_DP_NACK_BUDGET);
	assert_int_equal(dp->pli_interval_tsc, hz);
	assert_int_equal(dp->rtx_max_age_tsc[MR_KIND_AUDIO], hz);
	assert_int_equal(dp->rtx_max_age_tsc[MR_KIND_VIDEO], 2 * hz);
	assert_int_equal(dp->rtx_bucket, (uint64_t)MR_DP_NACK_BUDGET << 16);
	assert_ptr_equal(w->hdr_mp, pool);
	/* Set values are kept. */
	dp->nack_budget = 7;
	dp->pli_interval_tsc = 1;
	assert_int_equal(mr_dp_rooms_setup(dp), 0);
	assert_int_equal(dp->nack_budget, 7);
	assert_int_equal(dp->pli_interval_tsc, 1);
	assert_int_equal(dp->rtx_bucket, 7ULL << 16);
	/* The factors give what the divisions they replace gave: a second, half of one,
	 * 40 ms, one cycle, in 1/65536 s and in tokens. */
	assert_int_equal(mr_scale(&dp->tsc_to_q16, hz), 65536);
	assert_int_equal(mr_scale(&dp->tsc_to_q16, hz / 2),
			 (uint64_t)(((unsigned __int128)(hz / 2) << 16) / hz));
	assert_int_equal(mr_scale(&dp->tsc_to_q16, hz / 25),
			 (uint64_t)(((unsigned __int128)(hz / 25) << 16) / hz));
	assert_int_equal(mr_scale(&dp->rtx_refill, hz / 3),
			 (uint64_t)(((unsigned __int128)(hz / 3) * (7ULL << 16)) / hz));
	assert_int_equal(mr_scale(&dp->rtx_refill, 1), (7ULL << 16) / hz);
	/* No TSC frequency: refused. */
	dp->tsc_hz = 0;
	assert_int_equal(mr_dp_rooms_setup(dp), -EINVAL);
	dp->tsc_hz = hz;
	w->hdr_mp = hdr_pool;
}

/* ---- 11. drops named for what ran short (issue 8) ---- */

/* Packets the relay copies or builds in mbufs with too little data room: counted as such,
 * never as a headroom shortage. */
static void
test_short_data_room(void **state)
{
	struct std_room r;
	struct mr_cmd c;
	uint8_t pli[64], pl[300];
	uint16_t plen;
	int npli;

	(void)state;
	std_room(&r, 31300, 64);
	w->mp = small_pool;

	/* A PLI for the publisher (12 bytes) does not fit a fresh mbuf. */
	npli = mr_rtcp_build_pli(pli, sizeof(pli), SSRC_SUB, SSRC_PUB);
	sub_send(&r, 0, pli, (uint16_t)npli);
	mr_worker_iteration(w, T0);
	assert_int_equal(w->stats.drops[MR_DROP_NO_TAILROOM], 1);
	assert_int_equal(w->stats.drops[MR_DROP_HDR_ROOM], 0);
	assert_int_equal(drops_total(), 1);
	assert_int_equal(r.st->ctr.pli_fwd, 0);

	/* Fan-out copies (300 bytes) to S1 and S2; S3 gets the received mbuf. */
	dp->fanout = MR_DP_FANOUT_COPY;
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 288);
	pub_send(&r, pl, plen, &PLAIN);
	mr_worker_iteration(w, T0 + 1);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(w->stats.drops[MR_DROP_NO_TAILROOM], 3);
	assert_int_equal(w->stats.drops[MR_DROP_HDR_ROOM], 0);
	assert_int_equal(drops_total(), 3);

	/* The relay's NACK to the publisher (seq 999 is not cached) cannot be built. */
	nack_send(&r, SSRC_PUB, 999, T0 + 2);
	assert_int_equal(w->stats.drops[MR_DROP_RTCP_BUILD], 1);
	assert_int_equal(w->stats.drops[MR_DROP_HDR_ROOM], 0);
	assert_int_equal(drops_total(), 4);
	assert_int_equal(r.st->ctr.nack_fwd, 0);

	/* Nor can its receiver report. */
	memset(&c, 0, sizeof(c));
	c.type = MR_CMD_SEND_RR;
	c.obj = r.st;
	mr_room_fwd_cmd(w, &c, T0 + 3);
	mr_worker_flush(w);
	assert_int_equal(w->stats.drops[MR_DROP_RTCP_BUILD], 2);
	assert_int_equal(w->stats.drops[MR_DROP_HDR_ROOM], 0);
	assert_int_equal(drops_total(), 5);
	assert_int_equal(r.st->ctr.rr_sent, 0);
	assert_quiet();
}

/* ---- 13. ICE-lite on a WebRTC participant (dataplane/stun/ice.c) ---- */

/* A Binding request as a browser sends it: USERNAME "ufrag:theirs", PRIORITY, ICE-CONTROLLING,
 * [USE-CANDIDATE], MESSAGE-INTEGRITY under pwd, FINGERPRINT. */
static uint8_t stun_type = 1;	/* low byte of the message type: 1 request, 0x11 indication */

static uint16_t
stun_req(uint8_t *p, const char *user, const char *pwd, int use_cand, uint8_t tid0)
{
	struct mr_hmac_sha1_key k;
	uint16_t n = 20, ul = (uint16_t)strlen(user);
	uint32_t crc;
	unsigned int i;

	memset(p, 0, 160);
	p[1] = stun_type;
	p[4] = 0x21; p[5] = 0x12; p[6] = 0xa4; p[7] = 0x42;
	for (i = 0; i < 12; i++)
		p[8 + i] = (uint8_t)(tid0 + i);
	p[n + 1] = 0x06; p[n + 3] = (uint8_t)ul;
	memcpy(p + n + 4, user, ul);
	n += 4 + ((ul + 3) & ~3);
	p[n + 1] = 0x24; p[n + 3] = 4; p[n + 4] = 0x6e; p[n + 7] = 0xff;
	n += 8;
	p[n] = 0x80; p[n + 1] = 0x2a; p[n + 3] = 8; memset(p + n + 4, 0x42, 8);
	n += 12;
	if (use_cand) {
		p[n + 1] = 0x25;
		n += 4;
	}
	p[2] = (uint8_t)((n + 24 - 20) >> 8);
	p[3] = (uint8_t)(n + 24 - 20);
	mr_hmac_sha1_key_init(&k, (const uint8_t *)pwd, strlen(pwd));
	p[n + 1] = 0x08; p[n + 3] = 20;
	mr_hmac_sha1(&k, p, n, NULL, 0, p + n + 4);
	n += 24;
	p[2] = (uint8_t)((n + 8 - 20) >> 8);
	p[3] = (uint8_t)(n + 8 - 20);
	crc = mr_crc32(0, p, n) ^ MR_STUN_FP_XOR;
	p[n] = 0x80; p[n + 1] = 0x28; p[n + 3] = 4;
	p[n + 4] = (uint8_t)(crc >> 24); p[n + 5] = (uint8_t)(crc >> 16);
	p[n + 6] = (uint8_t)(crc >> 8); p[n + 7] = (uint8_t)crc;
	return n + 8;
}

static void
test_ice(void **state)
{
	static const char pwd[] = "0123456789abcdefghijklmn";
	struct mr_ep r1 = ep4(198, 18, 0, 31, 7001), r2 = ep4(198, 18, 0, 32, 7002);
	struct mr_hmac_sha1_key k;
	struct mr_stun_msg sm;
	struct mr_dp_ice *ice;
	struct mr_dp_part *p;
	struct rte_mbuf *out;
	struct mr_ep mapped;
	const uint8_t *o;
	uint8_t pl[200];
	uint16_t plen, olen;
	struct frame f;

	(void)state;
	ice = rte_zmalloc("t_ice", sizeof(*ice), RTE_CACHE_LINE_SIZE);
	assert_non_null(ice);
	assert_int_equal(mr_ice_dp_init(ice, "uFr4g", pwd), 0);
	mr_hmac_sha1_key_init(&k, (const uint8_t *)pwd, strlen(pwd));
	p = part_new(P_A, MR_AF4, 30600);
	p->ice = ice;

	/* Wrong password, then an unknown ufrag: counted, dropped, nothing latched. */
	plen = stun_req(pl, "uFr4g:abcd", "0123456789abcdefghijklmX", 1, 1);
	build_udp(&f, MAC_A, SMAC1, &r1, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	plen = stun_req(pl, "uFr4x:abcd", pwd, 1, 2);
	build_udp(&f, MAC_A, SMAC1, &r1, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	/* A DTLS record before ICE: not to the control plane. */
	memset(pl, 0, 20);
	pl[0] = 22;
	build_udp(&f, MAC_A, SMAC1, &r1, &p->local, pl, 20, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 1);
	assert_int_equal(ice->ctr.auth_fail, 2);
	assert_int_equal(w->stats.drops[MR_DROP_STUN_AUTH], 2);
	assert_int_equal(ice->ctr.dtls_drop, 1);
	assert_int_equal(w->stats.drops[MR_DROP_DTLS_SRC], 1);
	assert_int_equal(p->path.state, MR_PATH_NONE);
	assert_int_equal(rte_ring_count(w->exc), 0);
	assert_quiet();

	/* The first valid check (no USE-CANDIDATE) latches and is answered in place. */
	plen = stun_req(pl, "uFr4g:abcd", pwd, 0, 3);
	build_udp(&f, MAC_A, SMAC1, &r1, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 2);
	assert_int_equal(p->path.state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&p->path.remote, &r1));
	assert_int_equal(ice->last_check_tsc, T0 + 2);
	out = take1(P_A);
	o = out_payload(out, &olen);
	assert_int_equal(olen, mr_stun_ok_len(MR_AF4));
	assert_int_equal(mr_stun_parse(o, olen, &sm), 0);
	assert_int_equal(sm.type, MR_STUN_BINDING_OK);
	assert_memory_equal(o + 8, pl + 8, 12);
	assert_true(mr_stun_integrity_ok(o, &sm, &k));
	assert_true(sm.fp_off != 0 && mr_stun_fingerprint_ok(o, &sm));
	assert_int_equal(mr_stun_mapped(o, &sm, &mapped), 0);
	assert_true(mr_ep_eq(&mapped, &r1));
	{
		uint8_t resp[128];

		memcpy(resp, o, olen);
		check_out(out, SMAC1, MAC_A, -1, &p->local, &r1, 0, resp, olen, 0);
	}
	rte_pktmbuf_free(out);

	/* A valid check from elsewhere without USE-CANDIDATE: answered, the remote stays. */
	plen = stun_req(pl, "uFr4g:abcd", pwd, 0, 4);
	build_udp(&f, MAC_A, SMAC2, &r2, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 3);
	rte_pktmbuf_free(take1(P_A));
	assert_true(mr_ep_eq(&p->path.remote, &r1));
	assert_int_equal(ice->last_check_tsc, T0 + 2);
	/* DTLS from the latched remote goes to the control plane; from r2 it does not. */
	pl[0] = 22;
	build_udp(&f, MAC_A, SMAC1, &r1, &p->local, pl, 20, &PLAIN);
	inject_f(P_A, &f);
	build_udp(&f, MAC_A, SMAC2, &r2, &p->local, pl, 20, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 4);
	assert_int_equal(ice->ctr.dtls_in, 1);
	assert_int_equal(ice->ctr.dtls_drop, 2);
	assert_int_equal(rte_ring_count(w->exc), 1);
	drain(w->exc);

	/* USE-CANDIDATE from r2 nominates it. */
	plen = stun_req(pl, "uFr4g:abcd", pwd, 1, 5);
	build_udp(&f, MAC_A, SMAC2, &r2, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 5);
	rte_pktmbuf_free(take1(P_A));
	assert_true(mr_ep_eq(&p->path.remote, &r2));
	assert_memory_equal(p->path.mac.addr_bytes, SMAC2, 6);
	assert_int_equal(ice->ctr.nominations, 1);
	assert_int_equal(ice->ctr.latches, 2);
	assert_int_equal(ice->ctr.answered, 3);
	assert_int_equal(ice->last_check_tsc, T0 + 5);
	/* A corrupted FINGERPRINT, and a Binding indication. */
	plen = stun_req(pl, "uFr4g:abcd", pwd, 1, 6);
	pl[plen - 1] ^= 1;
	build_udp(&f, MAC_A, SMAC2, &r2, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	stun_type = 0x11;
	plen = stun_req(pl, "uFr4g:abcd", pwd, 1, 7);
	stun_type = 1;
	build_udp(&f, MAC_A, SMAC2, &r2, &p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, T0 + 6);
	assert_int_equal(ice->ctr.malformed, 1);
	assert_int_equal(w->stats.drops[MR_DROP_STUN_MALFORMED], 1);
	assert_int_equal(w->stats.drops[MR_DROP_STUN_IGNORED], 1);
	assert_quiet();
	p->ice = NULL;
	rte_free(ice);
}

/* ---- 12. layout: who writes what, on which cache line (issue 8) ---- */

#define LINE_OF(type, field) (offsetof(struct type, field) / RTE_CACHE_LINE_SIZE)
#define LAST_LINE_OF(type, field) ((offsetof(struct type, field) + \
	sizeof(((struct type *)0)->field) - 1) / RTE_CACHE_LINE_SIZE)

/* What the control plane writes after publication, what nobody writes after it and what
 * the owner lcore writes per packet are on lines of their own: a control-plane store
 * (mute, a new subscriber list or SSRC map) never invalidates the owner's counters, and the
 * owner's counter stores never invalidate the read-only fields. */
static void
test_layout(void **state)
{
	(void)state;
	/* stream: ro | cp rw (subs, muted) | dp rw */
	assert_true(LAST_LINE_OF(mr_dp_stream, cache) < LINE_OF(mr_dp_stream, subs));
	assert_int_equal(LINE_OF(mr_dp_stream, subs), LINE_OF(mr_dp_stream, muted));
	assert_true(LAST_LINE_OF(mr_dp_stream, muted) < LINE_OF(mr_dp_stream, ctr));
	assert_true(LAST_LINE_OF(mr_dp_stream, ssrc) < LINE_OF(mr_dp_stream, ctr));
	/* participant: ro | dp rw */
	assert_true(LAST_LINE_OF(mr_dp_part, relay_ssrc) < LINE_OF(mr_dp_part, seq));
	assert_true(LAST_LINE_OF(mr_dp_part, room) < LINE_OF(mr_dp_part, path));
	/* room: ro | cp rw (map) */
	assert_true(LAST_LINE_OF(mr_dp_room, tsc_base) < LINE_OF(mr_dp_room, map));
	assert_true(LAST_LINE_OF(mr_dp_room, id) < LINE_OF(mr_dp_room, map));
}

/* RTP Bleed in rooms: a participant latches only to a source that sends latch_packets
 * consistent packets, and re-latches after silence only to one sending its own SSRC. */
static void
test_room_bleed(void **state)
{
	struct std_room r;
	struct mr_ep x = ep4(198, 18, 0, 66, 7000), moved = ep4(198, 18, 0, 10, 5020);
	struct rte_mbuf *out[64];
	uint8_t pl[64];
	uint16_t plen;
	struct frame f;
	uint64_t now = T0;
	unsigned int k;

	(void)state;
	std_room(&r, 23000, 0);
	dp->latch_packets = 3;
	dp->latch_window_tsc = 10 * dp->tsc_hz;
	memset(&r.p->path, 0, sizeof(r.p->path));	/* the publisher has not sent yet */
	r.p->path.last_rx_tsc = T0;

	/* One sprayed packet with the publisher's SSRC: nothing latched, nothing sent. */
	plen = rtp(pl, 96, 1, 0, SSRC_PUB, 8);
	build_udp(&f, MAC_A, XMAC, &x, &r.p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, ++now);
	assert_int_equal(take(P_A, out, 64) + take(P_C, out, 64), 0);
	assert_int_equal(r.p->path.state, MR_PATH_LEARNING);
	assert_int_equal(r.p->ctr.latch.drop_learning, 1);
	assert_int_equal(w->stats.drops[MR_DROP_LATCH_LEARNING], 1);

	/* The publisher's stream: the third packet latches and is fanned out. */
	for (k = 0; k < 3; k++) {
		plen = rtp(pl, 96, (uint16_t)(10 + k), 0, SSRC_PUB, 8);
		build_udp(&f, MAC_A, PMAC, &r.rp, &r.p->local, pl, plen, &PLAIN);
		inject_f(P_A, &f);
		mr_worker_iteration(w, ++now);
	}
	take_n(P_A, out, 2);
	free_n(out, 2);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(r.p->path.state, MR_PATH_LATCHED);
	assert_true(mr_ep_eq(&r.p->path.remote, &r.rp));
	assert_int_equal(r.p->ctr.latch.drop_learning, 3);

	/* Silence, then a stranger with another SSRC: refused; the publisher's SSRC from a
	 * new port: followed. */
	now += dp->relatch_tsc + 1;
	plen = rtp(pl, 96, 2, 0, 0xbad, 8);
	build_udp(&f, MAC_A, XMAC, &x, &r.p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, ++now);
	assert_int_equal(r.p->ctr.latch.drop_relatch, 1);
	assert_int_equal(w->stats.drops[MR_DROP_RELATCH_SSRC], 1);
	assert_true(mr_ep_eq(&r.p->path.remote, &r.rp));
	plen = rtp(pl, 96, 13, 0, SSRC_PUB, 8);
	build_udp(&f, MAC_A, PMAC, &moved, &r.p->local, pl, plen, &PLAIN);
	inject_f(P_A, &f);
	mr_worker_iteration(w, ++now);
	take_n(P_A, out, 2);
	free_n(out, 2);
	rte_pktmbuf_free(take1(P_C));
	assert_int_equal(r.p->ctr.relatches, 1);
	assert_int_equal(w->stats.relatches, 1);
	assert_true(mr_ep_eq(&r.p->path.remote, &moved));
	assert_quiet();
}

int
main(void)
{
	static char *eal_argv[] = { "test_room_dp", "--no-huge", "-m", "256", "--no-pci",
		"--no-shconf", "-l", "0", "--log-level", "lib.eal:error", NULL };
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fanout_copy, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_fanout_indirect, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_fanout_one_in_place, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_pt_rewrite, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_ext_renumber, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_no_mbuf, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_mute_unknown_foreign, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_latching, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_sr_rr, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_nack, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_pli_remb, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_send_rr, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_audio_level, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_rtcp_malformed, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_nack_age, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_short_data_room, case_up, case_down),
		cmocka_unit_test(test_layout),
		cmocka_unit_test_setup_teardown(test_record_capture, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_capture_parts, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_ice, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_rooms_setup, case_up, case_down),
		cmocka_unit_test_setup_teardown(test_room_bleed, case_up, case_down),
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
