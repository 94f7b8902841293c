/* SPDX-License-Identifier: BSD-3-Clause
 * fanout_bench: what the SFU fan-out costs per egress packet, full copies against indirect
 * mbufs (docs/PERFORMANCE.md "Fan-out"). No assertions: it prints a Markdown table.
 *
 * One worker, one room: a publisher and K subscribers, all latched, on one net_null port
 * (its TX frees the mbufs, as a NIC's TX completion would). Input frames are prepared outside
 * the timed region; the timed region is mr_worker_input() (parse, flow lookup, room input,
 * fan-out) plus mr_worker_flush() (TX bursts, the frees in the null PMD). The figure is TSC
 * cycles divided by egress packets, for K = 1, 2, 10, 100, 1000, UDP payloads of 200 and 1200
 * bytes, fanout = copy and indirect (K = 1 is in place either way). Last, ICE-lite on the
 * same owner: cycles per STUN Binding request answered in place (dataplane/stun/ice.c: parse,
 * USERNAME, MESSAGE-INTEGRITY, FINGERPRINT, the response written over the request).
 *
 *   fanout_bench [EAL args]    default: --no-huge -m 512 --no-pci --vdev net_null0 -l 0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "cksum.h"
#include "ice_dp.h"
#include "stun.h"
#include "dp_priv.h"
#include "flow_table.h"
#include "room_dp.h"
#include "room_fwd.h"
#include "srtp.h"
#include "rtp_stats.h"

#define MAX_SUBS	1000
#define EGRESS_TARGET	200000	/* egress packets per measurement */
#define REPEAT		7	/* measurements per cell; the minimum is printed: on a shared
				 * machine interference only ever adds cycles */

static const uint8_t MAC_P[6] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t MAC_R[6] = { 0x02, 0, 0, 0, 0xbb, 0x01 };

static struct mr_dp *dp;
static struct mr_worker *w;
static struct rte_mempool *pool, *hdr_pool;
static struct mr_dp_room *room;
static struct mr_dp_part *pub, *subs[MAX_SUBS];
static struct mr_dp_stream *st;

static uint8_t frame[1600];
static uint16_t frame_len;

/* A UDP/IPv4 frame from the publisher's remote to its local endpoint, RTP inside. */
static void
frame_build(uint16_t plen, uint16_t seq)
{
	uint8_t *b = frame, *ip = b + 14, *udp = ip + 20, *rtp = udp + 8;
	uint16_t ulen = 8 + plen, c;
	unsigned int i;

	memset(b, 0, sizeof(frame));
	memcpy(b, MAC_P, 6);
	memcpy(b + 6, MAC_R, 6);
	b[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (20 + ulen) >> 8;
	ip[3] = (uint8_t)(20 + ulen);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, pub->path.remote.a, 4);
	memcpy(ip + 16, pub->local.a, 4);
	c = mr_ipv4_hdr_cksum(ip, 20);
	memcpy(ip + 10, &c, 2);
	udp[0] = pub->path.remote.port >> 8;
	udp[1] = (uint8_t)pub->path.remote.port;
	udp[2] = pub->local.port >> 8;
	udp[3] = (uint8_t)pub->local.port;
	udp[4] = ulen >> 8;
	udp[5] = (uint8_t)ulen;
	rtp[0] = 0x80;
	rtp[1] = 96;
	rtp[2] = seq >> 8;
	rtp[3] = (uint8_t)seq;
	rtp[8] = st->ssrc >> 24;
	rtp[9] = (uint8_t)(st->ssrc >> 16);
	rtp[10] = (uint8_t)(st->ssrc >> 8);
	rtp[11] = (uint8_t)st->ssrc;
	for (i = 12; i < plen; i++)
		rtp[i] = (uint8_t)i;
	c = mr_udp_cksum(MR_AF4, ip + 12, ip + 16, udp, ulen);
	memcpy(udp + 6, &c, 2);
	frame_len = 14 + 20 + ulen;
}

static int
world_up(void)
{
	struct rte_eth_conf conf;
	struct mr_flow_key k;
	struct mr_dp_port *p;
	uint16_t pid;
	unsigned int i;
	size_t sz;

	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "no port: give --vdev net_null0\n");
		return -1;
	}
	pid = 0;
	pool = rte_pktmbuf_pool_create("fb_pool", 8191, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	hdr_pool = rte_pktmbuf_pool_create("fb_hdr", 8191, 256, 0, 128, 0);
	if (pool == NULL || hdr_pool == NULL)
		return -1;
	memset(&conf, 0, sizeof(conf));
	if (rte_eth_dev_configure(pid, 1, 2, &conf) != 0 ||
	    rte_eth_rx_queue_setup(pid, 0, 512, 0, NULL, pool) != 0 ||
	    rte_eth_tx_queue_setup(pid, 0, 512, 0, NULL) != 0 ||
	    rte_eth_tx_queue_setup(pid, 1, 512, 0, NULL) != 0 || rte_eth_dev_start(pid) != 0)
		return -1;

	dp = rte_zmalloc("fb_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	w = rte_zmalloc("fb_w", sizeof(*w), RTE_CACHE_LINE_SIZE);
	room = rte_zmalloc("fb_room", sizeof(*room), RTE_CACHE_LINE_SIZE);
	if (dp == NULL || w == NULL || room == NULL)
		return -1;
	dp->owner = rte_zmalloc("fb_owner", 65536, 0);
	sz = rte_rcu_qsbr_get_memsize(1);
	dp->qsv = rte_zmalloc("fb_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (dp->owner == NULL || dp->qsv == NULL || rte_rcu_qsbr_init(dp->qsv, 1) != 0)
		return -1;
	dp->tsc_hz = rte_get_tsc_hz();
	dp->n_ports = 1;
	dp->n_workers = 1;
	dp->w[0] = w;
	p = &dp->port[0];
	p->port_id = pid;
	p->n_rxq = 1;
	memcpy(p->mac.addr_bytes, MAC_P, 6);
	p->has4 = 1;
	p->plen4 = 24;
	p->addr4[0] = 198;
	p->addr4[1] = 18;
	p->addr4[2] = 0;
	p->addr4[3] = 1;
	dp->port_idx_of[pid] = 0;
	w->dp = dp;
	w->mp = pool;
	w->hdr_mp = hdr_pool;
	w->flows = mr_flow_table_create("fb_flows", 4096, SOCKET_ID_ANY, dp->qsv);
	if (w->flows == NULL || mr_dp_rooms_setup(dp) != 0)
		return -1;

	/* Participants: local ports 20000, 20002, ...; remotes 198.18.0.(10 + i % 200). */
	for (i = 0; i <= MAX_SUBS; i++) {
		struct mr_dp_part *q = rte_zmalloc("fb_part", sizeof(*q), RTE_CACHE_LINE_SIZE);

		if (q == NULL)
			return -1;
		q->room = room;
		q->local.family = MR_AF4;
		q->local.port = (uint16_t)(20000 + 2 * i);
		memcpy(q->local.a, p->addr4, 4);
		q->relay_ssrc = 0x52000000u + i;
		rte_seqcount_init(&q->seq);
		q->path.state = MR_PATH_LATCHED;
		q->path.remote.family = MR_AF4;
		q->path.remote.port = (uint16_t)(40000 + i);
		q->path.remote.a[0] = 198;
		q->path.remote.a[1] = 18;
		q->path.remote.a[2] = (uint8_t)(i / 200);
		q->path.remote.a[3] = (uint8_t)(10 + i % 200);
		memcpy(q->path.mac.addr_bytes, MAC_R, 6);
		if (i == 0)
			pub = q;
		else
			subs[i - 1] = q;
	}
	memset(&k, 0, sizeof(k));
	memcpy(k.a, pub->local.a, 4);
	k.port = pub->local.port;
	k.family = MR_AF4;
	if (mr_flow_table_add(w->flows, &k, mr_room_flow_val(pub)) != 0)
		return -1;
	dp->owner[pub->local.port] = 1;

	st = rte_zmalloc("fb_st", sizeof(*st), RTE_CACHE_LINE_SIZE);
	room->map = rte_zmalloc("fb_map", sizeof(*room->map) + sizeof(room->map->e[0]), 0);
	if (st == NULL || room->map == NULL)
		return -1;
	st->ssrc = 0x11223344;
	st->kind = MR_KIND_VIDEO;
	st->clock_rate = 90000;
	st->ts_mult = ((uint64_t)90000 << 32) / dp->tsc_hz;
	st->pub = pub;
	mr_rtp_stats_init(&st->rtp);
	room->map->n = 1;
	room->map->e[0].ssrc = st->ssrc;
	room->map->e[0].st = st;
	return 0;
}

static void
subs_set(unsigned int k)
{
	struct mr_dp_sublist *l = rte_zmalloc("fb_subs", sizeof(*l) + k * sizeof(l->sub[0]), 0);

	if (l == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	l->n = k;
	memcpy(l->sub, subs, k * sizeof(subs[0]));
	rte_free(st->subs);
	st->subs = l;
}

/* Cycles per egress packet for k subscribers, plen payload bytes, mode. */
static double
measure(unsigned int k, uint16_t plen, enum mr_dp_fanout mode)
{
	unsigned int burst = k >= 32 ? 1 : 32 / k, inputs = EGRESS_TARGET / k, done = 0;
	struct rte_mbuf *pkts[MR_BURST];
	uint64_t cycles = 0, tx0 = w->stats.tx_pkts, drops0 = 0;
	static uint16_t seq;
	unsigned int i, r;

	if (inputs < 64)
		inputs = 64;
	dp->fanout = (uint8_t)mode;
	for (r = 0; r < MR_DROP_MAX; r++)
		drops0 += w->stats.drops[r];
	while (done < inputs) {
		uint64_t t0;
		unsigned int n = RTE_MIN(burst, inputs - done);

		frame_build(plen, ++seq);
		if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0) {
			fprintf(stderr, "pool empty\n");
			exit(1);
		}
		for (i = 0; i < n; i++) {
			memcpy(rte_pktmbuf_append(pkts[i], frame_len), frame, frame_len);
			pkts[i]->port = dp->port[0].port_id;
		}
		t0 = rte_rdtsc_precise();
		mr_worker_input(w, pkts, (uint16_t)n, t0);
		if (w->srtp_burst != NULL && w->srtp_burst->n_room)
			mr_room_srtp_flush(w);
		mr_worker_flush(w);
		cycles += rte_rdtsc_precise() - t0;
		done += n;
	}
	for (r = 0; r < MR_DROP_MAX; r++)
		drops0 -= w->stats.drops[r];
	if (w->stats.tx_pkts - tx0 != (uint64_t)done * k || drops0 != 0) {
		fprintf(stderr, "k=%u plen=%u mode=%d: %lu egress for %u inputs, %ld drops\n", k,
			plen, mode, (unsigned long)(w->stats.tx_pkts - tx0), done, (long)-drops0);
		exit(1);
	}
	return (double)cycles / ((double)done * k);
}

/* ---- ICE-lite ---- */

#define STUN_PWD "0123456789abcdefghijklmn"

/* A browser's Binding request to the publisher's endpoint: USERNAME "bench:peer",
 * ICE-CONTROLLING, USE-CANDIDATE, MESSAGE-INTEGRITY under STUN_PWD, FINGERPRINT; the frame
 * around it as frame_build() makes one. */
static void
stun_frame(uint32_t tid)
{
	struct mr_hmac_sha1_key k;
	uint8_t m[128];
	uint16_t n = 20;
	uint32_t crc;

	memset(m, 0, sizeof(m));
	m[1] = 0x01;				/* Binding request */
	m[4] = 0x21; m[5] = 0x12; m[6] = 0xa4; m[7] = 0x42;
	memcpy(m + 8, &tid, 4);
	m[n + 1] = 0x06; m[n + 3] = 10;		/* USERNAME */
	memcpy(m + n + 4, "bench:peer", 10);
	n += 16;
	m[n] = 0x80; m[n + 1] = 0x2a; m[n + 3] = 8;	/* ICE-CONTROLLING */
	n += 12;
	m[n + 1] = 0x25;			/* USE-CANDIDATE */
	n += 4;
	m[3] = (uint8_t)(n + 24 - 20);
	mr_hmac_sha1_key_init(&k, (const uint8_t *)STUN_PWD, strlen(STUN_PWD));
	m[n + 1] = 0x08; m[n + 3] = 20;		/* MESSAGE-INTEGRITY */
	mr_hmac_sha1(&k, m, n, NULL, 0, m + n + 4);
	n += 24;
	m[3] = (uint8_t)(n + 8 - 20);
	crc = mr_crc32(0, m, n) ^ MR_STUN_FP_XOR;
	m[n] = 0x80; m[n + 1] = 0x28; m[n + 3] = 4;	/* FINGERPRINT */
	m[n + 4] = (uint8_t)(crc >> 24); m[n + 5] = (uint8_t)(crc >> 16);
	m[n + 6] = (uint8_t)(crc >> 8); m[n + 7] = (uint8_t)crc;
	n += 8;
	frame_build(n, 0);
	memcpy(frame + 14 + 20 + 8, m, n);
	/* The UDP checksum is not verified on this port (no offload flags, net_null): 0 = none
	 * (RFC 768). */
	frame[14 + 20 + 6] = 0;
	frame[14 + 20 + 7] = 0;
}

/* Cycles per Binding request answered (bursts of 32), the minimum of REPEAT runs. */
static double
stun_measure(void)
{
	struct rte_mbuf *pkts[MR_BURST];
	double best = 1e30;
	unsigned int r, i;

	for (r = 0; r < REPEAT; r++) {
		uint64_t cycles = 0, ans0 = pub->ice->ctr.answered, done = 0;

		while (done < EGRESS_TARGET) {
			uint64_t t0;

			if (rte_pktmbuf_alloc_bulk(pool, pkts, MR_BURST) != 0) {
				fprintf(stderr, "pool empty\n");
				exit(1);
			}
			for (i = 0; i < MR_BURST; i++) {
				memcpy(rte_pktmbuf_append(pkts[i], frame_len), frame, frame_len);
				pkts[i]->port = dp->port[0].port_id;
			}
			t0 = rte_rdtsc_precise();
			mr_worker_input(w, pkts, MR_BURST, t0);
			mr_worker_flush(w);
			cycles += rte_rdtsc_precise() - t0;
			done += MR_BURST;
		}
		if (pub->ice->ctr.answered - ans0 != done) {
			fprintf(stderr, "STUN: %lu answered of %lu\n",
				(unsigned long)(pub->ice->ctr.answered - ans0), (unsigned long)done);
			exit(1);
		}
		best = RTE_MIN(best, (double)cycles / (double)done);
	}
	return best;
}

/* Every subscriber takes SRTP of suite su under a key of its own (NULL su: plain again). */
static int
srtp_subs(enum mr_srtp_suite su)
{
	const struct mr_srtp_suite_info *si = mr_srtp_suite_info(su);
	unsigned int i;

	for (i = 0; i < MAX_SUBS; i++) {
		struct mr_dp_srtp *d = subs[i]->srtp;
		struct mr_srtp_key key = { .suite = (uint8_t)su };

		if (d != NULL) {
			mr_srtp_ctx_free(d->tx);
			rte_free(d);
			subs[i]->srtp = NULL;
		}
		if (si == NULL)
			continue;
		d = rte_zmalloc("fb_srtp", sizeof(*d), RTE_CACHE_LINE_SIZE);
		if (d == NULL)
			return -1;
		key.len = (uint8_t)(si->key_len + si->salt_len);
		memset(key.master, (int)(i + 1), key.len);
		d->tx = mr_srtp_ctx_create(MR_SRTP_ENGINE_IPSEC_MB, &key);
		if (d->tx == NULL)
			return -1;
		subs[i]->srtp = d;
	}
	return 0;
}

/* Copy and indirect measured alternately, REPEAT times each; the minimum of each. */
static void
pair(unsigned int k, uint16_t plen, double *copy, double *ind)
{
	unsigned int i;

	*copy = 1e30;
	*ind = 1e30;
	for (i = 0; i < REPEAT; i++) {
		*copy = RTE_MIN(*copy, measure(k, plen, MR_DP_FANOUT_COPY));
		*ind = RTE_MIN(*ind, measure(k, plen, MR_DP_FANOUT_INDIRECT));
	}
}

int
main(int argc, char **argv)
{
	static char *def_argv[] = { "fanout_bench", "--no-huge", "-m", "512", "--no-pci",
		"--no-shconf", "--vdev", "net_null0", "-l", "0", "--log-level", "lib.eal:error",
		NULL };
	static const unsigned int ks[] = { 1, 2, 10, 100, 1000 };
	static const uint16_t sizes[] = { 200, 1200 };
	unsigned int i, j;

	if (argc > 1) {
		if (rte_eal_init(argc, argv) < 0)
			goto eal_fail;
	} else if (rte_eal_init((int)RTE_DIM(def_argv) - 1, def_argv) < 0) {
		goto eal_fail;
	}
	if (world_up() != 0) {
		fprintf(stderr, "setup failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	/* Warm the caches and the pools once. */
	subs_set(100);
	measure(100, 1200, MR_DP_FANOUT_COPY);
	measure(100, 1200, MR_DP_FANOUT_INDIRECT);

	printf("TSC %.2f GHz; cycles per egress packet (minimum of %d runs of ~%d egress "
	       "packets)\n\n", (double)dp->tsc_hz / 1e9, REPEAT, EGRESS_TARGET);
	printf("| subscribers | payload (B) | copy | indirect | indirect / copy |\n");
	printf("|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < RTE_DIM(ks); i++) {
		subs_set(ks[i]);
		for (j = 0; j < RTE_DIM(sizes); j++) {
			double c, d;

			pair(ks[i], sizes[j], &c, &d);

			printf("| %u | %u | %.1f | %.1f | %.2f |\n", ks[i], sizes[j], c, d, d / c);
		}
	}
	/* The crossover: payload sizes between the two above, at 10 subscribers. */
	printf("\nCrossover scan, 10 subscribers:\n\n| payload (B) | copy | indirect |\n"
	       "|---:|---:|---:|\n");
	subs_set(10);
	for (j = 100; j <= 1400; j += 100) {
		double c, d;

		pair(10, (uint16_t)j, &c, &d);

		printf("| %u | %.1f | %.1f |\n", j, c, d);
	}
	/* Every subscriber an SRTP participant: each copy encrypted under its own key, 32 copies
	 * per engine flush (IPsec-MB). */
	if (mr_srtp_global_init(MR_SRTP_ENGINE_IPSEC_MB) != 0 ||
	    (w->srtp = mr_srtp_engine_create(MR_SRTP_ENGINE_IPSEC_MB)) == NULL ||
	    mr_worker_srtp_setup(w, w->srtp) != 0) {
		fprintf(stderr, "no IPsec-MB engine\n");
		return 1;
	}
	printf("\nSRTP subscribers (copy, 200 bytes, IPsec-MB), cycles per egress packet:\n\n"
	       "| subscribers | plain | AES_CM_128_HMAC_SHA1_80 | AEAD_AES_128_GCM |\n"
	       "|---:|---:|---:|---:|\n");
	for (i = 0; i < RTE_DIM(ks); i++) {
		static const enum mr_srtp_suite su[] = { MR_SRTP_SUITE_NONE,
			MR_SRTP_AES_CM_128_HMAC_SHA1_80, MR_SRTP_AEAD_AES_128_GCM };
		double c[3];

		subs_set(ks[i]);
		for (j = 0; j < 3; j++) {
			unsigned int r;

			if (srtp_subs(su[j]) != 0) {
				fprintf(stderr, "SRTP setup failed\n");
				return 1;
			}
			c[j] = 1e30;
			for (r = 0; r < REPEAT; r++)
				c[j] = RTE_MIN(c[j], measure(ks[i], 200, MR_DP_FANOUT_COPY));
		}
		printf("| %u | %.1f | %.1f | %.1f |\n", ks[i], c[0], c[1], c[2]);
	}
	/* ICE-lite: the publisher becomes a WebRTC participant whose remote checks it. */
	pub->ice = rte_zmalloc("fb_ice", sizeof(*pub->ice), RTE_CACHE_LINE_SIZE);
	if (pub->ice == NULL || mr_ice_dp_init(pub->ice, "bench", STUN_PWD) != 0) {
		fprintf(stderr, "ICE setup failed\n");
		return 1;
	}
	stun_frame(0x01020304);
	{
		double c = stun_measure();

		printf("\nICE-lite, STUN Binding requests answered in place on the owner (bursts of "
		       "%d, IPv4, 1 check each):\n\n| cycles per answer | answers/s per core at "
		       "%.2f GHz |\n|---:|---:|\n| %.0f | %.2f M |\n", MR_BURST,
		       (double)dp->tsc_hz / 1e9, c, (double)dp->tsc_hz / c / 1e6);
	}
	rte_eal_cleanup();
	return 0;
eal_fail:
	fprintf(stderr, "rte_eal_init: %s\n", rte_strerror(rte_errno));
	return 1;
}
