/* SPDX-License-Identifier: BSD-3-Clause
 * rtpgen: a DPDK RTP traffic generator for benchmarks (docs/PERFORMANCE.md).
 *
 *   rtpgen EAL-ARGS -- -f flows.json [-t SECONDS] [-r PPS] [-s PAYLOAD] [--dst-mac MAC] ...
 *
 * It sends precomputed IPv4/UDP/RTP frames round-robin over a set of flows (source and
 * destination endpoints) in bursts of 32, at full speed or at a given rate, counts what comes
 * back and prints one JSON line. A returned packet is any IPv4/UDP packet addressed to one of
 * the flows' source addresses. It answers ARP requests for those addresses, so that the device
 * under test can resolve them as next hops, and drops everything else uncounted.
 *
 * Lcores: with one lcore, sending and receiving alternate on it; with two, the second lcore
 * receives (and answers ARP through a ring to the sender, which owns TX queue 0).
 *
 * The generator shares no code with the relay: its checksums come from DPDK's rte_ip.h, so a
 * checksum bug in the device under test shows up in --verify.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <rte_arp.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_udp.h>

#define RTPGEN_BURST 32
#define RTPGEN_MAX_RXQ 8
#define RTPGEN_RTP_HLEN 12
#define RTPGEN_HDRS (RTE_ETHER_HDR_LEN + 20 + 8)	/* Ethernet + IPv4 + UDP */
#define RTPGEN_MAX_PAYLOAD 1400
#define RTPGEN_MAX_FLOWS (1u << 20)
#define RTPGEN_MBUFS 8191

struct rtpgen_flow {
	uint32_t src_ip, dst_ip;	/* network order */
	uint16_t sport, dport;		/* host order */
	uint16_t seq;			/* next RTP sequence number */
	uint32_t ts;			/* next RTP timestamp */
	uint32_t sum;			/* partial UDP checksum with seq = ts = 0, cksum = 0 */
};

/* Written by the receiving lcore, read by the main lcore with relaxed loads. */
struct rtpgen_rxstats {
	uint64_t returned;	/* IPv4/UDP to one of our addresses */
	uint64_t bad_cksum;	/* of those, with a wrong IPv4 or UDP checksum (--verify) */
	uint64_t other;		/* anything else: dropped uncounted in the results */
	uint64_t arp_replies;	/* ARP requests for our addresses answered */
	uint64_t arp_drops;	/* ARP replies the TX ring refused */
};

struct rtpgen {
	uint16_t port;
	uint16_t n_rxq;
	struct rte_mempool *mp;
	struct rte_ring *arp_ring;	/* receiving lcore -> sender: ARP replies */
	struct rte_ether_addr mac, dst_mac;
	int have_dst_mac;		/* set by the receiver on the ARP reply we asked for */
	uint32_t resolve_ip;		/* IP being resolved (network order), 0 = none */
	uint32_t *addrs;		/* our addresses, host order, sorted, unique */
	unsigned int n_addrs;
	struct rtpgen_flow *flows;
	unsigned int n_flows, cur;
	uint8_t *frames;		/* n_flows templates, stride bytes apart */
	uint32_t stride;
	uint16_t payload, frame_len;
	int verify;
	int stop_rx;			/* tells the receiving lcore to return */
	struct rtpgen_rxstats rx;
	uint64_t tx, tx_full;
};

static volatile int rtpgen_quit;

static void
rtpgen_on_signal(int sig)
{
	(void)sig;
	rtpgen_quit = 1;
}

static int
rtpgen_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static inline int
rtpgen_is_ours(const struct rtpgen *g, uint32_t ip_be)
{
	uint32_t ip = rte_be_to_cpu_32(ip_be);
	unsigned int lo = 0, hi = g->n_addrs;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (g->addrs[mid] == ip)
			return 1;
		if (g->addrs[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* "a.b.c.d:port" -> network-order address, host-order port. */
static int
rtpgen_parse_ep(const char *s, uint32_t *ip, uint16_t *port)
{
	char buf[64], *colon, *end;
	struct in_addr a;
	unsigned long p;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strrchr(buf, ':');
	if (colon == NULL)
		return -EINVAL;
	*colon = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p == 0 || p > 65535)
		return -EINVAL;
	*ip = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

static int
rtpgen_add_flow(struct rtpgen *g, const char *src, const char *dst, unsigned int *cap)
{
	struct rtpgen_flow *f;

	if (g->n_flows == *cap) {
		unsigned int ncap = *cap ? *cap * 2 : 64;
		void *p;

		if (ncap > RTPGEN_MAX_FLOWS)
			return -E2BIG;
		p = realloc(g->flows, ncap * sizeof(*g->flows));
		if (p == NULL)
			return -ENOMEM;
		g->flows = p;
		*cap = ncap;
	}
	f = &g->flows[g->n_flows];
	memset(f, 0, sizeof(*f));
	if (rtpgen_parse_ep(src, &f->src_ip, &f->sport) < 0 ||
	    rtpgen_parse_ep(dst, &f->dst_ip, &f->dport) < 0) {
		fprintf(stderr, "rtpgen: bad flow '%s' -> '%s' (want a.b.c.d:port)\n", src, dst);
		return -EINVAL;
	}
	g->n_flows++;
	return 0;
}

/* {"flows": [{"src": "198.18.0.10:5004", "dst": "198.18.0.1:30000"}, ...]} */
static int
rtpgen_load_flows(struct rtpgen *g, const char *path, unsigned int *cap)
{
	json_error_t jerr;
	json_t *root, *arr, *f;
	size_t i;
	int rc = 0;

	root = json_load_file(path, 0, &jerr);
	if (root == NULL) {
		fprintf(stderr, "rtpgen: %s:%d: %s\n", path, jerr.line, jerr.text);
		return -EINVAL;
	}
	arr = json_object_get(root, "flows");
	if (!json_is_array(arr)) {
		fprintf(stderr, "rtpgen: %s: no \"flows\" array\n", path);
		json_decref(root);
		return -EINVAL;
	}
	json_array_foreach(arr, i, f) {
		const char *src = json_string_value(json_object_get(f, "src"));
		const char *dst = json_string_value(json_object_get(f, "dst"));

		if (src == NULL || dst == NULL) {
			fprintf(stderr, "rtpgen: %s: flow %zu needs \"src\" and \"dst\"\n",
				path, i);
			rc = -EINVAL;
			break;
		}
		rc = rtpgen_add_flow(g, src, dst, cap);
		if (rc < 0)
			break;
	}
	json_decref(root);
	return rc;
}

static int
rtpgen_collect_addrs(struct rtpgen *g)
{
	unsigned int i, n = 0;

	g->addrs = calloc(g->n_flows, sizeof(*g->addrs));
	if (g->addrs == NULL)
		return -ENOMEM;
	for (i = 0; i < g->n_flows; i++)
		g->addrs[i] = rte_be_to_cpu_32(g->flows[i].src_ip);
	qsort(g->addrs, g->n_flows, sizeof(*g->addrs), rtpgen_cmp_u32);
	for (i = 0; i < g->n_flows; i++)
		if (n == 0 || g->addrs[n - 1] != g->addrs[i])
			g->addrs[n++] = g->addrs[i];
	g->n_addrs = n;
	return 0;
}

/* Build each flow's frame once; per packet only the RTP sequence number, timestamp and the
 * UDP checksum change (RFC 3550 §5.1: seq +1 and timestamp + samples per packet). */
static int
rtpgen_build_frames(struct rtpgen *g)
{
	unsigned int i;

	g->frame_len = RTPGEN_HDRS + RTPGEN_RTP_HLEN + g->payload;
	g->stride = RTE_ALIGN_CEIL(g->frame_len, RTE_CACHE_LINE_SIZE);
	/* Ordinary memory: the templates are only read by this process (and DPDK memory may not
	 * grow once a zero-copy memif has mapped it). */
	g->frames = aligned_alloc(RTE_CACHE_LINE_SIZE, (size_t)g->n_flows * g->stride);
	if (g->frames == NULL)
		return -ENOMEM;
	memset(g->frames, 0, (size_t)g->n_flows * g->stride);
	for (i = 0; i < g->n_flows; i++) {
		struct rtpgen_flow *f = &g->flows[i];
		uint8_t *fr = g->frames + (size_t)i * g->stride;
		struct rte_ether_hdr *eth = (struct rte_ether_hdr *)fr;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		uint8_t *rtp = (uint8_t *)(udp + 1);
		uint32_t ssrc = 0x52470000u + i;

		rte_ether_addr_copy(&g->dst_mac, &eth->dst_addr);
		rte_ether_addr_copy(&g->mac, &eth->src_addr);
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		ip->version_ihl = RTE_IPV4_VHL_DEF;
		ip->type_of_service = 0xb8;	/* DSCP EF: voice (RFC 3246) */
		ip->total_length = rte_cpu_to_be_16(g->frame_len - RTE_ETHER_HDR_LEN);
		ip->packet_id = 0;
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = f->src_ip;
		ip->dst_addr = f->dst_ip;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
		udp->src_port = rte_cpu_to_be_16(f->sport);
		udp->dst_port = rte_cpu_to_be_16(f->dport);
		udp->dgram_len = rte_cpu_to_be_16(8 + RTPGEN_RTP_HLEN + g->payload);
		udp->dgram_cksum = 0;
		/* RTP fixed header (RFC 3550 §5.1): V=2, PT 0 (PCMU, 8000 Hz, RFC 3551). */
		rtp[0] = 0x80;
		rtp[1] = 0;
		memset(rtp + 2, 0, 6);		/* seq and timestamp: per packet */
		rtp[8] = ssrc >> 24;
		rtp[9] = ssrc >> 16;
		rtp[10] = ssrc >> 8;
		rtp[11] = ssrc;
		memset(rtp + RTPGEN_RTP_HLEN, 0xff, g->payload);	/* PCMU silence */
		/* Pseudo-header plus UDP header and data with seq = ts = 0: per packet the two
		 * fields are added to this sum (RFC 1071 §2: the sum is associative). */
		f->sum = rte_ipv4_phdr_cksum(ip, 0) +
			rte_raw_cksum(udp, 8 + RTPGEN_RTP_HLEN + g->payload);
		f->seq = (uint16_t)(i * 7919u);
		f->ts = i * 104729u;
	}
	return 0;
}

/* Fill n mbufs with the next n flows' packets. */
static inline void
rtpgen_fill(struct rtpgen *g, struct rte_mbuf **m, unsigned int n)
{
	unsigned int i, cur = g->cur;

	for (i = 0; i < n; i++) {
		struct rtpgen_flow *f = &g->flows[cur];
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);
		uint16_t seq = rte_cpu_to_be_16(f->seq), w[3], ck;
		uint32_t ts = rte_cpu_to_be_32(f->ts), s;

		rte_memcpy(d, g->frames + (size_t)cur * g->stride, g->frame_len);
		memcpy(d + RTPGEN_HDRS + 2, &seq, 2);
		memcpy(d + RTPGEN_HDRS + 4, &ts, 4);
		memcpy(w, d + RTPGEN_HDRS + 2, 6);
		s = f->sum + w[0] + w[1] + w[2];
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		ck = (uint16_t)~s;
		if (ck == 0)
			ck = 0xffff;	/* RFC 768: 0 means "no checksum" */
		memcpy(d + RTPGEN_HDRS - 2, &ck, 2);
		m[i]->data_len = g->frame_len;
		m[i]->pkt_len = g->frame_len;
		f->seq++;
		f->ts += g->payload;	/* PCMU: one sample per byte */
		if (++cur == g->n_flows)
			cur = 0;
	}
	g->cur = cur;
}

/* Send up to n packets of the next flows; returns how many the port took. */
static unsigned int
rtpgen_send(struct rtpgen *g, unsigned int n)
{
	struct rte_mbuf *m[RTPGEN_BURST];
	unsigned int sent;
	unsigned int saved = g->cur;

	if (rte_pktmbuf_alloc_bulk(g->mp, m, n) != 0)
		return 0;
	rtpgen_fill(g, m, n);
	sent = rte_eth_tx_burst(g->port, 0, m, n);
	if (sent < n) {
		/* Ring full: the refused packets are sent again next time, with the same
		 * sequence numbers, so every flow stays in order. */
		unsigned int i;

		for (i = sent; i < n; i++) {
			unsigned int fi = (saved + i) % g->n_flows;

			g->flows[fi].seq--;
			g->flows[fi].ts -= g->payload;
		}
		g->cur = (saved + sent) % g->n_flows;
		rte_pktmbuf_free_bulk(&m[sent], n - sent);
		g->tx_full += n - sent;
	}
	g->tx += sent;
	return sent;
}

/* Hand ARP replies over from the receiver to TX queue 0. */
static void
rtpgen_send_arp(struct rtpgen *g)
{
	struct rte_mbuf *m[RTPGEN_BURST];
	unsigned int n, sent;

	n = rte_ring_sc_dequeue_burst(g->arp_ring, (void **)m, RTPGEN_BURST, NULL);
	if (n == 0)
		return;
	sent = rte_eth_tx_burst(g->port, 0, m, n);
	if (sent < n)
		rte_pktmbuf_free_bulk(&m[sent], n - sent);
}

/* An ARP request for one of our addresses becomes its reply, in the same mbuf (RFC 826:
 * swap sender and target, fill in our hardware address, opcode 2). */
static int
rtpgen_arp(struct rtpgen *g, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	struct rte_arp_ipv4 *a = &arp->arp_data;
	uint32_t tip;

	if (m->data_len < sizeof(*eth) + sizeof(*arp) ||
	    arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    arp->arp_hlen != 6 || arp->arp_plen != 4)
		return 0;
	if (arp->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY)) {
		uint32_t want = __atomic_load_n(&g->resolve_ip, __ATOMIC_RELAXED);

		if (want != 0 && a->arp_sip == want) {
			rte_ether_addr_copy(&a->arp_sha, &g->dst_mac);
			/* Release: the MAC is written before the flag that publishes it. */
			__atomic_store_n(&g->have_dst_mac, 1, __ATOMIC_RELEASE);
		}
		return 0;
	}
	if (arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    !rtpgen_is_ours(g, a->arp_tip))
		return 0;
	tip = a->arp_tip;
	rte_ether_addr_copy(&a->arp_sha, &eth->dst_addr);
	rte_ether_addr_copy(&g->mac, &eth->src_addr);
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&a->arp_sha, &a->arp_tha);
	a->arp_tip = a->arp_sip;
	rte_ether_addr_copy(&g->mac, &a->arp_sha);
	a->arp_sip = tip;
	if (rte_ring_mp_enqueue(g->arp_ring, m) != 0) {
		g->rx.arp_drops++;
		return 0;
	}
	g->rx.arp_replies++;
	return 1;
}

static inline void
rtpgen_rx_one(struct rtpgen *g, struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= RTPGEN_HDRS && ip->version_ihl == RTE_IPV4_VHL_DEF &&
	    ip->next_proto_id == IPPROTO_UDP && rtpgen_is_ours(g, ip->dst_addr)) {
		g->rx.returned++;
		if (g->verify) {
			const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);

			if (rte_ipv4_cksum(ip) != 0 ||
			    rte_be_to_cpu_16(ip->total_length) + RTE_ETHER_HDR_LEN >
			    m->data_len || (udp->dgram_cksum != 0 &&
			    rte_ipv4_udptcp_cksum_verify(ip, udp) != 0))
				g->rx.bad_cksum++;
		}
	} else if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
		if (rtpgen_arp(g, m))
			return;		/* the mbuf is the reply now */
		g->rx.other++;
	} else {
		g->rx.other++;
	}
	rte_pktmbuf_free(m);
}

/* Poll every RX queue until it is empty (at most a few bursts each). Returns the count. */
static unsigned int
rtpgen_poll_rx(struct rtpgen *g)
{
	struct rte_mbuf *m[RTPGEN_BURST];
	unsigned int q, i, n, total = 0, rounds;

	for (q = 0; q < g->n_rxq; q++) {
		for (rounds = 0; rounds < 8; rounds++) {
			n = rte_eth_rx_burst(g->port, q, m, RTPGEN_BURST);
			for (i = 0; i < n; i++) {
				if (i + 1 < n)
					rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
				rtpgen_rx_one(g, m[i]);
			}
			total += n;
			if (n < RTPGEN_BURST)
				break;
		}
	}
	return total;
}

static int
rtpgen_rx_lcore(void *arg)
{
	struct rtpgen *g = arg;

	/* Acquire pairs with the main lcore's release store of stop_rx: its final reads of the
	 * counters come after this lcore has stopped writing them (rte_eal_wait_lcore). */
	while (!__atomic_load_n(&g->stop_rx, __ATOMIC_ACQUIRE))
		rtpgen_poll_rx(g);
	return 0;
}

static uint64_t
rtpgen_returned(const struct rtpgen *g)
{
	/* Relaxed: a counter sampled while the receiver may be adding to it. */
	return __atomic_load_n(&g->rx.returned, __ATOMIC_RELAXED);
}

/* With one lcore, the main loop also receives; with two, the receiver lcore does. */
static void
rtpgen_service(struct rtpgen *g, int rx_here)
{
	if (rx_here)
		rtpgen_poll_rx(g);
	rtpgen_send_arp(g);
}

static void
rtpgen_wait(struct rtpgen *g, int rx_here, uint64_t cycles)
{
	uint64_t end = rte_get_tsc_cycles() + cycles;

	while (rte_get_tsc_cycles() < end && !rtpgen_quit)
		rtpgen_service(g, rx_here);
}

/* Ask who has the first flow's destination, from the first flow's source (RFC 826). */
static int
rtpgen_resolve(struct rtpgen *g, int rx_here)
{
	uint64_t hz = rte_get_tsc_hz();
	int tries;

	__atomic_store_n(&g->resolve_ip, g->flows[0].dst_ip, __ATOMIC_RELAXED);
	for (tries = 0; tries < 30 && !rtpgen_quit; tries++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(g->mp);
		struct rte_ether_hdr *eth;
		struct rte_arp_hdr *arp;

		if (m == NULL)
			return -ENOMEM;
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		arp = (struct rte_arp_hdr *)(eth + 1);
		memset(&eth->dst_addr, 0xff, 6);
		rte_ether_addr_copy(&g->mac, &eth->src_addr);
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
		arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
		arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		arp->arp_hlen = 6;
		arp->arp_plen = 4;
		arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
		rte_ether_addr_copy(&g->mac, &arp->arp_data.arp_sha);
		arp->arp_data.arp_sip = g->flows[0].src_ip;
		memset(&arp->arp_data.arp_tha, 0, 6);
		arp->arp_data.arp_tip = g->flows[0].dst_ip;
		m->data_len = m->pkt_len = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
		if (rte_eth_tx_burst(g->port, 0, &m, 1) != 1)
			rte_pktmbuf_free(m);
		rtpgen_wait(g, rx_here, hz / 10);
		/* Acquire: pairs with the receiver's release store after it wrote the MAC. */
		if (__atomic_load_n(&g->have_dst_mac, __ATOMIC_ACQUIRE))
			return 0;
	}
	return -ETIMEDOUT;
}

static int
rtpgen_port_init(struct rtpgen *g)
{
	struct rte_eth_conf conf;
	struct rte_eth_link link;
	uint16_t q, nrx = 1024, ntx = 1024;
	uint64_t end;
	int rc;

	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(g->port, g->n_rxq, 1, &conf);
	if (rc < 0)
		return rc;
	rte_eth_dev_adjust_nb_rx_tx_desc(g->port, &nrx, &ntx);
	for (q = 0; q < g->n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(g->port, q, nrx, rte_eth_dev_socket_id(g->port),
					    NULL, g->mp);
		if (rc < 0)
			return rc;
	}
	rc = rte_eth_tx_queue_setup(g->port, 0, ntx, rte_eth_dev_socket_id(g->port), NULL);
	if (rc < 0)
		return rc;
	rc = rte_eth_dev_start(g->port);
	if (rc < 0)
		return rc;
	rte_eth_promiscuous_enable(g->port);
	rte_eth_macaddr_get(g->port, &g->mac);
	/* memif comes up when the peer has connected over its socket. */
	end = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();
	do {
		memset(&link, 0, sizeof(link));
		rte_eth_link_get_nowait(g->port, &link);
		if (link.link_status == RTE_ETH_LINK_UP)
			return 0;
		rte_delay_ms(10);
	} while (rte_get_tsc_cycles() < end && !rtpgen_quit);
	return -ENOLINK;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: rtpgen EAL-ARGS -- [options]\n"
		"  -f, --flows FILE     {\"flows\":[{\"src\":\"IP:PORT\",\"dst\":\"IP:PORT\"}]}\n"
		"  -F, --flow SRC,DST   one flow (repeatable): 198.18.0.10:5004,198.18.0.1:30000\n"
		"  -t, --duration SEC   measured time (default 10)\n"
		"  -r, --rate PPS       packets per second offered, 0 = at full speed (default)\n"
		"  -s, --payload BYTES  RTP payload size (default 160: 20 ms of PCMU)\n"
		"  -w, --warmup MS      warm-up round: a packet per flow, then wait (default 200)\n"
		"  -q, --rxq N          RX queues to poll (= the peer's TX queues; default 1)\n"
		"  -m, --dst-mac MAC    next hop's MAC (default: ARP for the first flow's dst)\n"
		"  -V, --verify         check IPv4/UDP checksums of what comes back\n"
		"  -l, --label TEXT     label copied into the JSON line\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flows", required_argument, NULL, 'f' },
		{ "flow", required_argument, NULL, 'F' },
		{ "duration", required_argument, NULL, 't' },
		{ "rate", required_argument, NULL, 'r' },
		{ "payload", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "rxq", required_argument, NULL, 'q' },
		{ "dst-mac", required_argument, NULL, 'm' },
		{ "verify", no_argument, NULL, 'V' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct rtpgen gen;
	struct rtpgen *g = &gen;
	const char *label = "";
	double duration = 10, rate = 0, secs = 0;
	unsigned int warmup_ms = 200, cap = 0, rx_lcore = RTE_MAX_LCORE, round, lc;
	uint64_t hz, t0, t1, now, rx0 = 0, tx0 = 0, warm_back = 0;
	int c, rc, rx_here;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "rtpgen: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	g->payload = 160;
	g->n_rxq = 1;
	while ((c = getopt_long(argc, argv, "f:F:t:r:s:w:q:m:Vl:h", opts, NULL)) != -1) {
		char *comma;

		switch (c) {
		case 'f':
			if (rtpgen_load_flows(g, optarg, &cap) < 0)
				return 2;
			break;
		case 'F':
			comma = strchr(optarg, ',');
			if (comma == NULL) {
				fprintf(stderr, "rtpgen: --flow wants SRC,DST\n");
				return 2;
			}
			*comma = 0;
			if (rtpgen_add_flow(g, optarg, comma + 1, &cap) < 0)
				return 2;
			break;
		case 't':
			duration = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 's':
			g->payload = (uint16_t)atoi(optarg);
			break;
		case 'w':
			warmup_ms = (unsigned int)atoi(optarg);
			break;
		case 'q':
			g->n_rxq = (uint16_t)atoi(optarg);
			break;
		case 'm':
			if (rte_ether_unformat_addr(optarg, &g->dst_mac) < 0) {
				fprintf(stderr, "rtpgen: bad MAC '%s'\n", optarg);
				return 2;
			}
			g->have_dst_mac = 1;
			break;
		case 'V':
			g->verify = 1;
			break;
		case 'l':
			label = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (g->n_flows == 0 || duration <= 0 || rate < 0 || g->payload > RTPGEN_MAX_PAYLOAD ||
	    g->n_rxq == 0 || g->n_rxq > RTPGEN_MAX_RXQ) {
		usage(stderr);
		return 2;
	}
	if (rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "rtpgen: no port: give one with --vdev\n");
		return 1;
	}
	RTE_ETH_FOREACH_DEV(g->port)
		break;
	signal(SIGINT, rtpgen_on_signal);
	signal(SIGTERM, rtpgen_on_signal);

	g->mp = rte_pktmbuf_pool_create("rtpgen_mp", RTPGEN_MBUFS, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	g->arp_ring = rte_ring_create("rtpgen_arp", 1024, rte_socket_id(), RING_F_SC_DEQ);
	if (g->mp == NULL || g->arp_ring == NULL || rtpgen_collect_addrs(g) < 0) {
		fprintf(stderr, "rtpgen: out of memory: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rc = rtpgen_port_init(g);
	if (rc < 0) {
		fprintf(stderr, "rtpgen: port %u: %s\n", g->port,
			rc == -ENOLINK ? "link down (is the peer running?)" : rte_strerror(-rc));
		return 1;
	}
	RTE_LCORE_FOREACH_WORKER(lc) {
		rx_lcore = lc;
		break;
	}
	rx_here = rx_lcore == RTE_MAX_LCORE;
	if (!rx_here)
		rte_eal_remote_launch(rtpgen_rx_lcore, g, rx_lcore);
	hz = rte_get_tsc_hz();

	if (!g->have_dst_mac && rtpgen_resolve(g, rx_here) < 0) {
		fprintf(stderr, "rtpgen: no ARP reply for the first flow's destination\n");
		rc = 1;
		goto out;
	}
	rc = rtpgen_build_frames(g);
	if (rc < 0) {
		fprintf(stderr, "rtpgen: out of memory for %u frames\n", g->n_flows);
		goto out;
	}

	/* Warm-up: one packet per flow per round, so the relay latches every remote and learns
	 * its MAC (and resolves the others by ARP), until a round comes back whole. */
	for (round = 0; round < 5 && !rtpgen_quit; round++) {
		uint64_t before = rtpgen_returned(g);
		unsigned int left = g->n_flows;

		g->cur = 0;
		while (left > 0 && !rtpgen_quit) {
			left -= rtpgen_send(g, RTE_MIN(left, (unsigned int)RTPGEN_BURST));
			rtpgen_service(g, rx_here);
		}
		rtpgen_wait(g, rx_here, hz * warmup_ms / 1000);
		warm_back = rtpgen_returned(g) - before;
		if (warm_back >= g->n_flows)
			break;
	}

	/* Measurement. */
	tx0 = g->tx;
	rx0 = rtpgen_returned(g);
	t0 = rte_get_tsc_cycles();
	t1 = t0 + (uint64_t)(duration * hz);
	while (!rtpgen_quit && (now = rte_get_tsc_cycles()) < t1) {
		unsigned int n = RTPGEN_BURST;

		if (rate > 0) {
			double due = (double)(now - t0) * rate / hz - (double)(g->tx - tx0);

			n = due >= RTPGEN_BURST ? RTPGEN_BURST : (unsigned int)(due > 0 ? due : 0);
		}
		if (n)
			rtpgen_send(g, n);
		rtpgen_service(g, rx_here);
	}
	now = rte_get_tsc_cycles();
	secs = (double)(now - t0) / hz;
	/* What is still in flight comes back within a ring's worth of packets. */
	rtpgen_wait(g, rx_here, hz / 20);
	rc = 0;
out:
	if (!rx_here) {
		/* Release: see rtpgen_rx_lcore(). */
		__atomic_store_n(&g->stop_rx, 1, __ATOMIC_RELEASE);
		rte_eal_wait_lcore(rx_lcore);
	}
	if (rc == 0) {
		uint64_t tx = g->tx - tx0, rx = g->rx.returned - rx0;

		printf("{\"tool\":\"rtpgen\",\"label\":\"%s\",\"flows\":%u,\"addresses\":%u,"
		       "\"frame_bytes\":%u,\"lcores\":%u,\"rate_pps\":%.0f,\"duration_s\":%.3f,"
		       "\"warmup_returned\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"rx\":%" PRIu64
		       ",\"tx_pps\":%.0f,\"rx_pps\":%.0f,\"tx_ring_full\":%" PRIu64
		       ",\"rx_bad_cksum\":%" PRIu64 ",\"rx_other\":%" PRIu64
		       ",\"arp_replies\":%" PRIu64 ",\"tsc_hz\":%" PRIu64 "}\n",
		       label, g->n_flows, g->n_addrs, g->frame_len, rte_lcore_count(), rate, secs,
		       warm_back, tx, rx, tx / secs, rx / secs, g->tx_full, g->rx.bad_cksum,
		       g->rx.other, g->rx.arp_replies, hz);
		fflush(stdout);
	}
	rte_eth_dev_stop(g->port);
	rte_eth_dev_close(g->port);
	rte_eal_cleanup();
	return rc ? 1 : 0;
}
