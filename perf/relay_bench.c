/* SPDX-License-Identifier: BSD-3-Clause
 * relay_bench: the two-leg relay's worker loop alone, for before/after comparisons of the hot
 * path (docs/PERFORMANCE.md "The relay path alone"). No assertions: it prints one JSON line.
 *
 * One worker, one port made of two rte_rings (net_ring): N sessions, both legs latched;
 * frames from each session's leg-A remote to its leg-A endpoint are put on the RX ring
 * outside the measured region; the measured region is mr_worker_iteration() (RX burst,
 * parse, bulk lookup, relay, TX burst), exactly the loop mrelayd runs; the TX ring is
 * drained outside it. It reports TSC cycles per packet (noisy on a shared machine: the
 * minimum of REPEAT rounds) and, for a count that does not depend on the machine, is meant
 * to be run under callgrind:
 *
 *   valgrind --tool=callgrind --toggle-collect=mr_worker_iteration \
 *       build/perf/relay_bench --no-huge -m 512 --no-pci -l 0 -- -n 1000 -p 32000
 *
 * and the instructions (Ir) divided by the packets it prints. It compiles against the tree
 * of the restructuring (dataplane/core/dp_priv.h, the flow table handle) and, with
 * -DMR_RELAY_BENCH_OLD, against the tree before it (dataplane/dp.h, rte_hash flows), so that
 * both can be measured with the same program.
 *
 *   relay_bench [EAL args] -- [-n SESSIONS] [-p PACKETS] [-s PAYLOAD]
 *               [-m plain|srtp-in|srtp-out|srtp-both] [-S SUITE] [-e ipsec-mb|libsrtp] [-o] [-G]
 *
 * -o: the port offloads the IPv4 header and UDP checksums (TX) and vouches for them (RX), as
 * the NICs of the servers mrelay runs on do (mlx5, ice, i40e, ixgbe); the TX ring drops the
 * frames unchecked, so only the worker's share is measured. Without it the worker computes
 * them, as on net_ring, net_tap or net_af_packet.
 *
 * With -m, leg A's remote sends SRTP (srtp-in: mrelay decrypts), leg B's remote takes SRTP
 * (srtp-out: mrelay encrypts), or both (decrypt, then encrypt under the other key), with
 * suite -S (default AES_CM_128_HMAC_SHA1_80) and engine -e; the frames are encrypted outside
 * the measured region (docs/PERFORMANCE.md "SRTP in the relay"). -G: IPsec-MB's AES-GCM for
 * every packet (srtp.vaes_gcm = false), for the comparison with gcm_vaes.c.
 */
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "cksum.h"
#ifdef MR_RELAY_BENCH_OLD
#include "dp.h"
#include "flow_table.h"
#else
#include "dp_priv.h"
#include "flow_table.h"
#endif
#include "rtp_stats.h"
#include "session_dp.h"

#define RING_SZ 4096
#define REPEAT 5

static const uint8_t MAC_US[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t MAC_PEER[6] = { 0x02, 0, 0, 0, 0xbb, 0x01 };

static __typeof__(rte_eth_from_rings) *from_rings;
static struct rte_ring *rx_ring, *tx_ring;
static struct rte_mempool *pool;
static struct mr_dp *dp;
static struct mr_worker *w;
static struct mr_dp_session **sess;
static unsigned int n_sess = 1000, payload = 200;
static unsigned long n_pkts = 32000;
#ifndef MR_RELAY_BENCH_OLD
static int srtp_in, srtp_out;
static int offload;		/* -o: the port offloads IP/UDP checksums, as server NICs do */
static enum mr_srtp_suite suite = MR_SRTP_AES_CM_128_HMAC_SHA1_80;
static enum mr_srtp_engine_kind engine = MR_SRTP_ENGINE_IPSEC_MB;
static struct mr_srtp_ctx **sender;		/* per session: leg A's remote */
static struct mr_srtp_engine *gen_engine;

static struct mr_srtp_ctx *
bench_ctx(uint8_t fill)
{
	const struct mr_srtp_suite_info *si = mr_srtp_suite_info(suite);
	struct mr_srtp_key k = { .suite = (uint8_t)suite };

	k.len = (uint8_t)(si->key_len + si->salt_len);
	memset(k.master, fill, k.len);
	return mr_srtp_ctx_create(engine, &k);
}

/* Leg A decrypts what its remote sends, leg B encrypts towards its remote. */
static int
srtp_setup(void)
{
	unsigned int i;

	if (!srtp_in && !srtp_out)
		return 0;
	if (mr_srtp_global_init(engine) != 0)
		return -1;
	w->srtp = mr_srtp_engine_create(engine);
	gen_engine = mr_srtp_engine_create(engine);
	sender = calloc(n_sess, sizeof(*sender));
	if (w->srtp == NULL || gen_engine == NULL || sender == NULL ||
	    mr_worker_srtp_setup(w, w->srtp) != 0)
		return -1;
	for (i = 0; i < n_sess; i++) {
		struct mr_dp_session *s = sess[i];
		unsigned int l;

		for (l = 0; l < 2; l++) {
			if (l == 0 ? !srtp_in : !srtp_out)
				continue;
			s->leg[l].srtp = rte_zmalloc("rb_srtp", sizeof(struct mr_dp_srtp), 0);
			if (s->leg[l].srtp == NULL)
				return -1;
			s->leg[l].srtp->rx = bench_ctx(0x11);
			s->leg[l].srtp->tx = bench_ctx(0x22);
			s->leg[l].srtp->rx_srtp = 1;
			if (s->leg[l].srtp->rx == NULL || s->leg[l].srtp->tx == NULL)
				return -1;
		}
		if (srtp_in && (sender[i] = bench_ctx(0x11)) == NULL)
			return -1;
	}
	return 0;
}

/* Encrypt the RTP of frames pkts[0..k) as leg A's remotes would (outside the measurement). */
static void
srtp_encrypt(struct rte_mbuf **pkts, unsigned int k, unsigned long first)
{
	struct mr_srtp_op ops[MR_BURST];
	unsigned int i;

	if (!srtp_in)
		return;
	for (i = 0; i < k; i++) {
		ops[i].ctx = sender[(first + i) % n_sess];
		ops[i].pkt = rte_pktmbuf_mtod_offset(pkts[i], uint8_t *, 14 + 20 + 8);
		ops[i].len = (uint16_t)payload;
		ops[i].room = 64;
		ops[i].rtcp = 0;
	}
	mr_srtp_protect_burst(gen_engine, ops, k);
	for (i = 0; i < k; i++) {
		uint8_t *ip = rte_pktmbuf_mtod_offset(pkts[i], uint8_t *, 14);
		uint16_t ulen = (uint16_t)(8 + ops[i].len), c;

		ip[2] = (uint8_t)((20 + ulen) >> 8);
		ip[3] = (uint8_t)(20 + ulen);
		ip[10] = ip[11] = 0;
		c = mr_ipv4_hdr_cksum(ip, 20);
		memcpy(ip + 10, &c, 2);
		ip[20 + 4] = (uint8_t)(ulen >> 8);
		ip[20 + 5] = (uint8_t)ulen;
		pkts[i]->data_len = (uint16_t)(14 + 20 + ulen);
		pkts[i]->pkt_len = pkts[i]->data_len;
	}
}
#endif

static void
ep4(struct mr_ep *e, uint8_t c, uint8_t d, uint16_t port)
{
	memset(e, 0, sizeof(*e));
	e->family = MR_AF4;
	e->a[0] = 198;
	e->a[1] = 18;
	e->a[2] = c;
	e->a[3] = d;
	e->port = port;
}

static int
world_up(void)
{
	struct rte_eth_conf conf;
	struct mr_dp_port *p;
	unsigned int i, l;
	uint16_t pid;
	int port;
	size_t sz;

	if (dlsym(RTLD_DEFAULT, "rte_eth_from_rings") == NULL &&
	    dlopen("librte_net_ring.so.23", RTLD_NOW | RTLD_GLOBAL) == NULL &&
	    dlopen("librte_net_ring.so", RTLD_NOW | RTLD_GLOBAL) == NULL)
		return -1;
	*(void **)&from_rings = dlsym(RTLD_DEFAULT, "rte_eth_from_rings");
	pool = rte_pktmbuf_pool_create("rb_pool", 2 * RING_SZ + 1024, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	rx_ring = rte_ring_create("rb_rx", RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	tx_ring = rte_ring_create("rb_tx", RING_SZ, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
	if (from_rings == NULL || pool == NULL || rx_ring == NULL || tx_ring == NULL)
		return -1;
	port = from_rings("rb_port", &rx_ring, 1, &tx_ring, 1, 0);
	if (port < 0)
		return -1;
	pid = (uint16_t)port;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(pid, 1, 1, &conf) != 0 ||
	    rte_eth_rx_queue_setup(pid, 0, RING_SZ, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(pid, 0, RING_SZ, 0, NULL) != 0 ||
	    rte_eth_dev_start(pid) != 0)
		return -1;

	dp = rte_zmalloc("rb_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	w = rte_zmalloc("rb_w", sizeof(*w), RTE_CACHE_LINE_SIZE);
	if (dp == NULL || w == NULL)
		return -1;
	dp->owner = rte_zmalloc("rb_owner", 65536, RTE_CACHE_LINE_SIZE);
	sz = rte_rcu_qsbr_get_memsize(1);
	dp->qsv = rte_zmalloc("rb_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->owner == NULL || dp->qsv == NULL || rte_rcu_qsbr_init(dp->qsv, 1) != 0)
		return -1;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->n_addr_idx = 1;
	dp->n_ports = 1;
	dp->n_workers = 1;
	dp->w[0] = w;
	p = &dp->port[0];
	p->port_id = pid;
	p->n_rxq = 1;
	p->tx_ip_cksum = (uint8_t)offload;
	p->tx_udp_cksum = (uint8_t)offload;
	memcpy(p->mac.addr_bytes, MAC_US, 6);
	p->has4 = 1;
	p->plen4 = 16;
	p->addr4[0] = 198;
	p->addr4[1] = 18;
	p->addr4[2] = 0;
	p->addr4[3] = 1;
	p->neigh = rte_zmalloc("rb_neigh", sizeof(struct mr_neigh_slot) * MR_NEIGH_SLOTS, 0);
	dp->port_idx_of[pid] = 0;
	w->dp = dp;
	w->idx = 0;
	w->mp = pool;
	w->n_rxq = 1;
	w->rxq[0].port_idx = 0;
	w->rxq[0].queue = 0;
	w->cmd = rte_ring_create_elem("rb_cmd", sizeof(struct mr_cmd), 64, 0,
				      RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->flows = mr_flow_table_create("rb_flows", n_sess * 2 + 64, 0, dp->qsv);
	sess = calloc(n_sess, sizeof(*sess));
	if (p->neigh == NULL || w->cmd == NULL || w->flows == NULL || sess == NULL)
		return -1;

	/* Session i: local ports 1024 + 4i (leg A) and 1026 + 4i (leg B) on 198.18.0.1; leg A's
	 * remote 198.18.1.(i % 250 + 2):(10000 + i / 250), leg B's 198.18.2.(...). */
	for (i = 0; i < n_sess; i++) {
		struct mr_dp_session *s = rte_zmalloc("rb_s", sizeof(*s), RTE_CACHE_LINE_SIZE);

		if (s == NULL)
			return -1;
		s->rtcp_mux = 1;
		for (l = 0; l < 2; l++) {
			struct mr_dp_leg *lg = &s->leg[l];
			struct mr_flow_key k;

			ep4(&lg->local, 0, 1, (uint16_t)(1024 + 4 * i + 2 * l));
			lg->port_idx = 0;
			rte_seqcount_init(&lg->seq);
			mr_rtp_stats_init(&lg->rtp);
			ep4(&lg->path[0].remote, (uint8_t)(1 + l), (uint8_t)(i % 250 + 2),
			    (uint16_t)(10000 + i / 250));
			memcpy(lg->path[0].mac.addr_bytes, MAC_PEER, 6);
			lg->path[0].state = MR_PATH_LATCHED;
			dp->owner[lg->local.port] = 1;
			dp->owner[lg->local.port + 1] = 1;
			memset(&k, 0, sizeof(k));
			memcpy(k.a, lg->local.a, 16);
			k.port = lg->local.port;
			k.family = MR_AF4;
#ifdef MR_RELAY_BENCH_OLD
			if (rte_hash_add_key_data(w->flows, &k, (void *)mr_flow_val(s, l, 0)) < 0)
				return -1;
#else
			if (mr_flow_table_add(w->flows, &k, mr_flow_val(s, l, 0)) != 0)
				return -1;
#endif
		}
		sess[i] = s;
	}
#ifndef MR_RELAY_BENCH_OLD
	if (mr_dp_rooms_setup(dp) != 0)
		return -1;
#endif
	if (rte_rcu_qsbr_thread_register(dp->qsv, 0) != 0)
		return -1;
	rte_rcu_qsbr_thread_online(dp->qsv, 0);
	return 0;
}

/* Frame j: RTP from session (j % n)'s leg-A remote to its leg-A endpoint. */
static void
frame_fill(struct rte_mbuf *m, unsigned long j)
{
	const struct mr_dp_leg *lg = &sess[j % n_sess]->leg[0];
	uint16_t ulen = (uint16_t)(8 + payload), c;
	uint8_t *b = rte_pktmbuf_mtod(m, uint8_t *), *ip = b + 14, *udp = ip + 20;
	uint8_t *rtp = udp + 8;
	uint16_t seq = (uint16_t)(j / n_sess);

	memset(b, 0, 14 + 20 + 8 + 12);
	memcpy(b, MAC_US, 6);
	memcpy(b + 6, MAC_PEER, 6);
	b[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, lg->path[0].remote.a, 4);
	memcpy(ip + 16, lg->local.a, 4);
	c = mr_ipv4_hdr_cksum(ip, 20);
	memcpy(ip + 10, &c, 2);
	udp[0] = (uint8_t)(lg->path[0].remote.port >> 8);
	udp[1] = (uint8_t)lg->path[0].remote.port;
	udp[2] = (uint8_t)(lg->local.port >> 8);
	udp[3] = (uint8_t)lg->local.port;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	udp[6] = 0;		/* frames_cksum() writes it, after srtp_encrypt() */
	udp[7] = 0;
	rtp[0] = 0x80;
	rtp[1] = 0;
	rtp[2] = (uint8_t)(seq >> 8);
	rtp[3] = (uint8_t)seq;
	rtp[11] = (uint8_t)(j % n_sess);
	m->data_len = (uint16_t)(14 + 20 + ulen);
	m->pkt_len = m->data_len;
	m->port = dp->port[0].port_id;
	if (offload)	/* what such a NIC says of a frame it received */
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
}

/* The UDP checksums of frames ready to send: a plain datagram that a leg encrypts is checked
 * before (relay.h: a corrupted one must not get a valid tag), so a wrong one would be
 * dropped, not relayed. Outside the measured region. */
static void
frames_cksum(struct rte_mbuf **pkts, unsigned int k)
{
	unsigned int i;

	for (i = 0; i < k; i++) {
		uint8_t *ip = rte_pktmbuf_mtod_offset(pkts[i], uint8_t *, 14), *udp = ip + 20;
		uint16_t ulen = (uint16_t)((udp[4] << 8) | udp[5]);
		uint16_t c = mr_udp_cksum(MR_AF4, ip + 12, ip + 16, udp, ulen);

		memcpy(udp + 6, &c, 2);
	}
}

int
main(int argc, char **argv)
{
	struct rte_mbuf *pkts[MR_BURST];
	uint64_t best = UINT64_MAX, relayed0;
	unsigned int r, i;
	int n, c;

	n = rte_eal_init(argc, argv);
	if (n < 0) {
		fprintf(stderr, "relay_bench: EAL init failed\n");
		return 1;
	}
	argc -= n;
	argv += n;
	while ((c = getopt(argc, argv, "n:p:s:m:S:e:oG")) != -1) {
		switch (c) {
#ifndef MR_RELAY_BENCH_OLD
		case 'm':
			srtp_in = strcmp(optarg, "srtp-in") == 0 || strcmp(optarg, "srtp-both") == 0;
			srtp_out = strcmp(optarg, "srtp-out") == 0 ||
				   strcmp(optarg, "srtp-both") == 0;
			if (!srtp_in && !srtp_out && strcmp(optarg, "plain") != 0) {
				fprintf(stderr, "relay_bench: -m plain|srtp-in|srtp-out|srtp-both\n");
				return 2;
			}
			break;
		case 'S':
			suite = mr_srtp_suite_by_name(optarg);
			if (suite == MR_SRTP_SUITE_NONE) {
				fprintf(stderr, "relay_bench: -S: unknown suite\n");
				return 2;
			}
			break;
		case 'e':
			engine = strcmp(optarg, "libsrtp") == 0 ? MR_SRTP_ENGINE_LIBSRTP :
				 MR_SRTP_ENGINE_IPSEC_MB;
			break;
		case 'G':
			mr_srtp_set_vaes_gcm(0);
			break;
#endif
		case 'n':
			n_sess = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			n_pkts = strtoul(optarg, NULL, 10);
			break;
		case 's':
			payload = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'o':
			offload = 1;
			break;
		default:
			fprintf(stderr, "usage: relay_bench [EAL] -- [-n SESSIONS] [-p PACKETS] "
				"[-s PAYLOAD] [-o]\n");
			return 2;
		}
	}
	if (n_sess == 0 || n_sess > 16000 || payload < 12 || payload > 1400 || n_pkts == 0) {
		fprintf(stderr, "relay_bench: 1 <= -n <= 16000, 12 <= -s <= 1400, -p > 0\n");
		return 2;
	}
	if (world_up() != 0) {
		fprintf(stderr, "relay_bench: setup failed\n");
		return 1;
	}
#ifndef MR_RELAY_BENCH_OLD
	if (srtp_setup() != 0) {
		fprintf(stderr, "relay_bench: SRTP setup failed\n");
		return 1;
	}
#endif
	relayed0 = w->stats.relayed;
	for (r = 0; r < REPEAT; r++) {
		uint64_t cycles = 0, done = 0;

		while (done < n_pkts) {
			uint64_t t0, t1;
			unsigned int k = (unsigned int)RTE_MIN((uint64_t)MR_BURST, n_pkts - done);

			if (rte_pktmbuf_alloc_bulk(pool, pkts, k) != 0)
				return 1;
			for (i = 0; i < k; i++)
				frame_fill(pkts[i], r * n_pkts + done + i);
#ifndef MR_RELAY_BENCH_OLD
			srtp_encrypt(pkts, k, r * n_pkts + done);
#endif
			frames_cksum(pkts, k);
			rte_ring_sp_enqueue_bulk(rx_ring, (void **)pkts, k, NULL);
			t0 = rte_rdtsc_precise();
			mr_worker_iteration(w, t0);
			t1 = rte_rdtsc_precise();
			cycles += t1 - t0;
			done += k;
			while ((k = rte_ring_sc_dequeue_burst(tx_ring, (void **)pkts, MR_BURST,
							      NULL)) > 0)
				rte_pktmbuf_free_bulk(pkts, k);
		}
		if (cycles < best)
			best = cycles;
	}
	printf("{\"sessions\":%u,\"payload\":%u,\"packets\":%lu,\"rounds\":%u,"
	       "\"relayed\":%" PRIu64 ",\"cycles_per_packet\":%.1f,\"offload\":%d", n_sess, payload,
	       n_pkts * REPEAT, REPEAT, w->stats.relayed - relayed0,
	       (double)best / (double)n_pkts, offload);
#ifndef MR_RELAY_BENCH_OLD
	printf(",\"srtp_in\":%d,\"srtp_out\":%d,\"suite\":\"%s\",\"engine\":\"%s\","
	       "\"vaes_gcm\":%d", srtp_in, srtp_out, mr_srtp_suite_info(suite)->name,
	       engine == MR_SRTP_ENGINE_LIBSRTP ? "libsrtp" : "ipsec-mb", mr_srtp_vaes_gcm());
#endif
	printf("}\n");
	if (w->stats.relayed - relayed0 != n_pkts * REPEAT) {
		/* Cycles per packet of packets dropped would be a number of another loop. */
		fprintf(stderr, "relay_bench: %" PRIu64 " of %lu packets relayed: see the "
			"worker's drop counters\n", w->stats.relayed - relayed0, n_pkts * REPEAT);
		return 1;
	}
	return 0;
}
