/* SPDX-License-Identifier: BSD-3-Clause
 * rtpgen: a DPDK RTP traffic generator for benchmarks (docs/PERFORMANCE.md). It plays the RTP
 * endpoints of many calls through a relay and checks every packet that comes back.
 *
 *   rtpgen EAL-ARGS -- -f flows.json [-t SECONDS] [-r PPS] [-s PAYLOAD] [--dst-mac MAC] ...
 *   rtpgen EAL-ARGS -- --api HOST:PORT --sessions N [--batch B] [--search] ...
 *
 * Streams. Each stream is one direction of one session: a source endpoint (a call party,
 * played by rtpgen) sending to the relay's endpoint of that party's leg. Streams 2k and 2k+1
 * are the two legs of session k ("pair"): what goes into leg A comes back from leg B's local
 * endpoint to leg B's remote, and the reverse. The streams come from a flows file (-f, -F) or
 * from sessions rtpgen creates itself over mrelayd's REST API (--api), with remotes at
 * addresses it answers ARP for.
 *
 * Sending: precomputed per-stream headers; per packet the RTP sequence number and timestamp,
 * a stamp (magic, stream index, TX TSC) and a pattern that depends on (stream, seq), and the
 * UDP checksum from a per-stream partial sum (rtpgen_rx.h). Round-robin over the streams, in
 * bursts of 32: at full speed, at a total rate (-r) or every stream at --stream-pps (which is
 * the same round-robin at n x pps: each stream's packets are then evenly spaced).
 *
 * Receiving: every IPv4/UDP packet to one of our addresses is checked: stamp, addresses (it
 * must come from the relay endpoint and go to the party this stream's copies go to), the
 * sequence number (received, reordered, duplicate; lost = sent - received per stream), the
 * payload pattern (--check-payload), latency (RX TSC - TX TSC, one machine, one TSC) into a
 * log-linear histogram, and RFC 3550 A.8 jitter per stream.
 *
 * Measurements: one trial (-t), or an RFC 2544 §26.1 throughput search (--search): the
 * unpaced maximum first, then a binary search for the highest offered rate without loss (or
 * within --loss-tolerance), then optionally one trial at a fraction of it (--latency-at).
 * --first-packet N measures how soon a new session relays: the delay from reading the 201
 * answer to receiving the packet sent right after it.
 *
 * Lcores: with one lcore, sending and receiving alternate on it; with two, the second lcore
 * receives (and answers ARP through a ring to the sender, which owns TX queue 0). The receive
 * state is the receiving lcore's alone; the main lcore asks it for a trial reset or a snapshot
 * through a request/acknowledge pair of counters.
 *
 * The generator shares no code with the relay: its checksums come from DPDK's rte_ip.h, so a
 * checksum bug in the device under test shows up in --verify.
 *
 * SRTP (--srtp a|ab): leg A (a) or both legs (ab) of every session speak SRTP with
 * AEAD_AES_128_GCM (RFC 7714), or with --srtp-suite cm80 AES_CM_128_HMAC_SHA1_80 (RFC 3711).
 * rtpgen gives those legs one master key (SRTP keeps the streams apart: the IV holds the
 * SSRC), derives the session keys and salt itself (RFC 3711 §4.3.1, OpenSSL's AES-CTR) and
 * encrypts each packet it sends into an SRTP leg with IPsec-MB (AES-GCM in place; AES-CTR and
 * HMAC-SHA1 over the header, payload and ROC as jobs, flushed once a burst), building the IV,
 * AAD and authenticated data from the RFCs, not from mrelay's code. What leaves a plain
 * leg is checked in full (the relay decrypted it: stamp, pattern, latency); what leaves an
 * SRTP leg is encrypted under the key mrelay made, so it is accounted by its RTP header alone
 * (SSRC = stream, sequence number, addresses, length = payload + the tag). The sequence
 * numbers and rollover counters go on across runs through --srtp-state FILE (the relay would
 * drop a restarted sequence as replays).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <intel-ipsec-mb.h>
#include <openssl/evp.h>
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
#include <rte_thash.h>
#include <rte_udp.h>

#include "httpc.h"
#include "rss.h"
#include "rtpgen_rx.h"

#define RTPGEN_BURST 32
#define RTPGEN_MAX_RXQ 8
#define RTPGEN_HDRS (RTE_ETHER_HDR_LEN + 20 + 8)	/* Ethernet + IPv4 + UDP */
#define RTPGEN_MAX_PAYLOAD 1400
#define RTPGEN_MAX_SESSIONS 2000000u
#define RTPGEN_MAX_STREAMS (2 * RTPGEN_MAX_SESSIONS)
#define RTPGEN_MAX_FP 7000u
#define RTPGEN_MBUFS 8191
/* Session remotes: 198.18.0.10 .. 198.18.0.209, even ports from 10000 (RTP on even ports,
 * RFC 3550 §11), one (address, port) per leg. */
#define RTPGEN_REMOTE_BASE ((198u << 24) | (18u << 16) | 10u)
#define RTPGEN_REMOTE_ADDRS 200u
#define RTPGEN_REMOTE_PORT 10000u
/* --first-packet sessions: 198.18.0.10 and .11, even ports down from 64998, clear of the
 * others for up to RTPGEN_MAX_SESSIONS sessions. */
#define RTPGEN_FP_PORT 64998u
#define RTPGEN_ID_LEN 32
#define RTPGEN_SNAP_QUIET_MS 50

enum rtpgen_expect {
	RTPGEN_EXPECT_PAIR,	/* stream 2k comes back as stream 2k+1's reverse, and back */
	RTPGEN_EXPECT_REFLECT,	/* a stream comes back reversed (an I/O forwarder) */
	RTPGEN_EXPECT_ANY,	/* only the stamp is checked */
};

/* One stream's sending state: main lcore. The receiving lcore reads the addresses. */
struct rtpgen_stream {
	uint32_t src_ip, dst_ip;	/* network order */
	uint16_t sport, dport;		/* network order */
	uint16_t ip_cksum;		/* IPv4 header checksum, as in the header */
	uint16_t seq;			/* next RTP sequence number */
	uint32_t ts;			/* next RTP timestamp */
	uint32_t sum;			/* partial UDP sum with seq, ts, TSC, pattern zero */
	uint32_t sent;			/* packets sent */
	uint32_t sent_base;		/* sent when the trial began */
	uint16_t txq;			/* TX queue = the peer's RX queue (--txq, --spread) */
	uint8_t srtp;			/* sent into an SRTP leg: encrypted (--srtp) */
	uint32_t roc;			/* SRTP rollover counter (RFC 3711 §3.3.1) */
};

#define RTPGEN_SRTP_TAG 16		/* the longest tag: AEAD_AES_128_GCM's (RFC 7714 §14.2) */
#define RTPGEN_CM_TAG 10		/* AES_CM_128_HMAC_SHA1_80's (RFC 3711 §5.2) */
/* The master key and salt of every SRTP leg: 16 + 12 bytes for AEAD_AES_128_GCM, 16 + 14 for
 * AES_CM_128_HMAC_SHA1_80. A benchmark's key: known to anyone who reads this. */
static const uint8_t rtpgen_srtp_master[30] = {
	0x6d, 0x72, 0x65, 0x6c, 0x61, 0x79, 0x2d, 0x62, 0x65, 0x6e, 0x63, 0x68, 0x2d, 0x6b,
	0x65, 0x79, 0x2d, 0x73, 0x61, 0x6c, 0x74, 0x2d, 0x31, 0x32, 0x62, 0x79, 0x74, 0x65,
	0x73, 0x21,
};

/* Written by the receiving lcore, read by the main lcore with relaxed loads. */
struct rtpgen_rxstats {
	uint64_t returned;	/* IPv4/UDP to one of our addresses */
	uint64_t srtp_returned;	/* of those, SRTP accounted by the RTP header, no duplicate */
	uint64_t bad_cksum;	/* of those, with a wrong IPv4 or UDP checksum (--verify) */
	uint64_t other;		/* anything else: dropped uncounted in the results */
	uint64_t arp_replies;	/* ARP requests for our addresses answered */
	uint64_t arp_drops;	/* ARP replies the TX ring refused */
};

enum rtpgen_cmd {
	RTPGEN_CMD_RESET = 1,	/* a new trial: rtpgen_rx_reset_trial() */
	RTPGEN_CMD_SNAP,	/* copy the receive state into snap */
};

/* What the receiving lcore hands the main lcore at the end of a trial. */
struct rtpgen_snap {
	struct rtpgen_rxstats rx;
	struct rtpgen_rx_counters c;
	struct rtpgen_hist hist;
	double jit_mean;	/* TSC cycles */
	uint64_t jit_max;
	uint32_t jit_streams;
	uint64_t lost;		/* sum over the streams of sent - received this trial */
	uint32_t streams_lost;	/* streams with a loss this trial */
};

struct rtpgen_trial {
	double rate;		/* offered rate asked for, 0 = full speed */
	double secs;
	uint64_t tx, returned, relayed, reordered, dup, bad_stamp, bad_addr, bad_payload;
	uint64_t bad_cksum, lost, tx_full, srtp_returned;
	uint32_t streams_lost;
	double tx_pps, rx_pps;
	double lat_min, lat_mean, lat_p50, lat_p99, lat_p999, lat_max;	/* µs */
	uint64_t lat_samples;
	double jit_mean, jit_max;	/* µs */
	int pass;		/* for --search: loss within the tolerance */
};

/* Which of the peer's RX queues a stream is sent to (--spread), as a NIC would pick them. */
enum rtpgen_spread {
	RTPGEN_SPREAD_RSS = 0,	/* RSS on the destination address and port (drivers/rss.h) with
				 * mrelayd's key and table: a steering NIC */
	RTPGEN_SPREAD_TUPLE,	/* RSS on the 4-tuple: a NIC that does not steer for mrelay */
};

struct rtpgen {
	uint16_t port;
	uint16_t n_rxq;
	uint16_t n_txq;			/* the peer's RX queues (--txq) */
	enum rtpgen_spread spread;
	struct mr_rss rss;		/* the table and key of RTPGEN_SPREAD_RSS */
	struct rte_mempool *mp;
	struct rte_ring *arp_ring;	/* receiving lcore -> sender: ARP replies */
	struct rte_ether_addr mac, dst_mac;
	int have_dst_mac;		/* set by the receiver on the ARP reply we asked for */
	uint32_t resolve_ip;		/* IP being resolved (network order), 0 = none */
	uint32_t *addrs;		/* our addresses, host order, sorted, unique */
	unsigned int n_addrs;
	struct rtpgen_stream *st;	/* n_streams: n_main, then the --first-packet ones */
	uint32_t n_streams, n_main, cap;
	/* Round-robin over the active streams: first, first + step, ... < n_main. */
	uint32_t cur, first, step, n_active;
	uint8_t tmpl[RTPGEN_HDRS];	/* Ethernet, IPv4, UDP headers without per-stream fields */
	uint16_t payload, frame_len;
	enum rtpgen_expect expect;
	int verify;
	/* --srtp: 0 plain, 1 leg A, 2 both legs; --srtp-suite (cm: AES-CM + HMAC-SHA1-80);
	 * the tag's length; the session keys and salt. */
	int srtp, srtp_cm;
	unsigned int srtp_tag;
	IMB_MGR *imb;
	struct gcm_key_data *gk;
	uint8_t *cm_keys;		/* AES-CM: enc round keys (240), dec (240), ipad, opad */
	uint8_t srtp_salt[14];
	uint64_t srtp_job_err;		/* AES-CM jobs IPsec-MB did not complete */
	uint64_t tx, tx_full;
	/* Receiving lcore. */
	struct rtpgen_rx rxs;
	struct rtpgen_rxstats rx;
	int stop_rx;			/* tells the receiving lcore to return */
	int rx_here;			/* no receiving lcore: the main lcore receives */
	uint32_t cmd_req, cmd_done;	/* request / acknowledge (see rtpgen_command) */
	enum rtpgen_cmd cmd;
	struct rtpgen_snap snap;
	uint64_t hz;
};

/* Sessions created over the REST API. */
struct rtpgen_api {
	struct httpc *h;
	const char *hostport, *token;
	uint32_t sessions, batch, pipeline, idle_timeout;
	int keep;
	int srtp;			/* --srtp: 1 leg A, 2 both legs */
	char srtp_obj[128];		/* with --srtp: ,"srtp":{...} of an SRTP leg */
	char *ids;			/* sessions x RTPGEN_ID_LEN */
	uint32_t n_ids;
	double create_s, delete_s;
	uint32_t deleted, delete_failed;
};

struct rtpgen_fp {
	uint32_t n, lost, fails;
	uint64_t *delay;		/* TSC cycles, n */
	uint32_t n_delay;
};

static volatile int rtpgen_quit;

static void
rtpgen_on_signal(int sig)
{
	(void)sig;
	rtpgen_quit = 1;
}

static double
rtpgen_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
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

/* "a.b.c.d:port" -> network-order address and port. */
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
	*port = rte_cpu_to_be_16((uint16_t)p);
	return 0;
}

static int
rtpgen_grow(struct rtpgen *g, uint32_t n)
{
	uint32_t ncap;
	void *p;

	if (n <= g->cap)
		return 0;
	if (n > RTPGEN_MAX_STREAMS + 2 * RTPGEN_MAX_FP)
		return -E2BIG;
	ncap = g->cap ? g->cap : 64;
	while (ncap < n)
		ncap *= 2;
	p = realloc(g->st, (size_t)ncap * sizeof(*g->st));
	if (p == NULL)
		return -ENOMEM;
	g->st = p;
	memset(g->st + g->cap, 0, (size_t)(ncap - g->cap) * sizeof(*g->st));
	g->cap = ncap;
	return 0;
}

static int
rtpgen_add_flow(struct rtpgen *g, const char *src, const char *dst)
{
	struct rtpgen_stream *f;

	if (rtpgen_grow(g, g->n_streams + 1) < 0)
		return -E2BIG;
	f = &g->st[g->n_streams];
	if (rtpgen_parse_ep(src, &f->src_ip, &f->sport) < 0 ||
	    rtpgen_parse_ep(dst, &f->dst_ip, &f->dport) < 0) {
		fprintf(stderr, "rtpgen: bad flow '%s' -> '%s' (want a.b.c.d:port)\n", src, dst);
		return -EINVAL;
	}
	g->n_streams++;
	return 0;
}

/* {"flows": [{"src": "198.18.0.10:5004", "dst": "198.18.0.1:30000"}, ...]} */
static int
rtpgen_load_flows(struct rtpgen *g, const char *path)
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
		rc = rtpgen_add_flow(g, src, dst);
		if (rc < 0)
			break;
	}
	json_decref(root);
	return rc;
}

/* --flows-out: the streams in -f's format, so that a later run can reuse sessions kept with
 * --keep (perf/bench measures a window of one with the relay's own counters). */
static int
rtpgen_write_flows(const struct rtpgen *g, const char *path)
{
	FILE *f = fopen(path, "w");
	unsigned int i;

	if (f == NULL) {
		fprintf(stderr, "rtpgen: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fputs("{\"flows\": [\n", f);
	for (i = 0; i < g->n_main; i++) {
		const struct rtpgen_stream *st = &g->st[i];
		uint32_t s = rte_be_to_cpu_32(st->src_ip), d = rte_be_to_cpu_32(st->dst_ip);

		fprintf(f, "{\"src\": \"%u.%u.%u.%u:%u\", \"dst\": \"%u.%u.%u.%u:%u\"}%s\n",
			s >> 24, (s >> 16) & 255, (s >> 8) & 255, s & 255,
			rte_be_to_cpu_16(st->sport), d >> 24, (d >> 16) & 255, (d >> 8) & 255,
			d & 255, rte_be_to_cpu_16(st->dport), i + 1 < g->n_main ? "," : "");
	}
	fputs("]}\n", f);
	if (fclose(f) != 0) {
		fprintf(stderr, "rtpgen: %s: %s\n", path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* Our addresses: every flow's source, or (with --api) every remote address we hand out. */
static int
rtpgen_collect_addrs(struct rtpgen *g, int api)
{
	unsigned int i, n = 0, total = api ? RTPGEN_REMOTE_ADDRS : g->n_streams;

	g->addrs = calloc(total, sizeof(*g->addrs));
	if (g->addrs == NULL)
		return -ENOMEM;
	for (i = 0; i < total; i++)
		g->addrs[i] = api ? RTPGEN_REMOTE_BASE + i : rte_be_to_cpu_32(g->st[i].src_ip);
	qsort(g->addrs, total, sizeof(*g->addrs), rtpgen_cmp_u32);
	for (i = 0; i < total; i++)
		if (n == 0 || g->addrs[n - 1] != g->addrs[i])
			g->addrs[n++] = g->addrs[i];
	g->n_addrs = n;
	return 0;
}

/* The headers every packet shares; needs the next hop's MAC. */
static void
rtpgen_build_template(struct rtpgen *g)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)g->tmpl;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	memset(g->tmpl, 0, sizeof(g->tmpl));
	rte_ether_addr_copy(&g->dst_mac, &eth->dst_addr);
	rte_ether_addr_copy(&g->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xb8;	/* DSCP EF: voice (RFC 3246) */
	ip->total_length = rte_cpu_to_be_16(g->frame_len - RTE_ETHER_HDR_LEN);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	udp->dgram_len = rte_cpu_to_be_16(8 + RTPGEN_RTP_HLEN + g->payload);
}

/* The queue of the peer a NIC would deliver stream f to (--spread). */
static uint16_t
rtpgen_stream_queue(const struct rtpgen *g, const struct rtpgen_stream *f)
{
	struct mr_ep dst = { .family = MR_AF4 };
	union rte_thash_tuple t;

	if (g->n_txq <= 1)
		return 0;
	if (g->spread == RTPGEN_SPREAD_RSS) {
		memcpy(dst.a, &f->dst_ip, 4);
		dst.port = rte_be_to_cpu_16(f->dport);
		return mr_rss_queue(&g->rss, &dst);
	}
	memset(&t, 0, sizeof(t));
	t.v4.src_addr = rte_be_to_cpu_32(f->src_ip);
	t.v4.dst_addr = rte_be_to_cpu_32(f->dst_ip);
	t.v4.sport = rte_be_to_cpu_16(f->sport);
	t.v4.dport = rte_be_to_cpu_16(f->dport);
	return (uint16_t)(rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, mr_rss_default_key) %
			  g->n_txq);
}

/* A stream's IPv4 header checksum and partial UDP sum: the packet with seq, timestamp, TSC
 * zero and no pattern. Per packet only those are added (RFC 1071 §2: the sum is commutative
 * and associative). */
static void
rtpgen_stream_setup(struct rtpgen *g, uint32_t i, uint16_t seq0)
{
	struct rtpgen_stream *f = &g->st[i];
	uint8_t buf[20 + 8 + RTPGEN_RTP_HLEN + RTPGEN_MAX_PAYLOAD];
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint8_t *rtp = (uint8_t *)(udp + 1);
	unsigned int ulen = 8 + RTPGEN_RTP_HLEN + g->payload;

	/* Into leg A (even streams) or leg B (odd): SRTP per --srtp. */
	f->srtp = i < g->n_main && (g->srtp == 2 || (g->srtp == 1 && (i & 1) == 0));
	memset(buf, 0, 20 + ulen);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0xb8;
	ip->total_length = rte_cpu_to_be_16(20 + ulen + (f->srtp ? g->srtp_tag : 0));
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = f->src_ip;
	ip->dst_addr = f->dst_ip;
	f->ip_cksum = rte_ipv4_cksum(ip);
	udp->src_port = f->sport;
	udp->dst_port = f->dport;
	udp->dgram_len = rte_cpu_to_be_16(ulen);
	rtp[0] = 0x80;
	rtpgen_put32(rtp + 8, RTPGEN_SSRC_BASE + i);
	rtpgen_put32(rtp + 12, RTPGEN_STAMP_MAGIC);
	rtpgen_put32(rtp + 16, i);
	f->sum = rte_ipv4_phdr_cksum(ip, 0) + rte_raw_cksum(udp, ulen);
	f->seq = seq0;
	f->roc = 0;
	f->ts = i * 104729u;
	f->txq = rtpgen_stream_queue(g, f);
}

/* ---- SRTP (--srtp) ---- */

/* RFC 3711 §4.3.1 with the key derivation rate 0: AES-CM keystream under the master key, its
 * IV the master salt with the label in byte 7. RFC 7714's 96-bit salt is multiplied by 2^16
 * into the KDF's 112 bits (RFC 7714 §11 as corrected by verified erratum 4938): zeros after. */
static int
rtpgen_srtp_kdf(const struct rtpgen *g, uint8_t label, uint8_t *out, int len)
{
	uint8_t iv[16] = { 0 }, zero[32] = { 0 };
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	int ok, n = 0;

	memcpy(iv, rtpgen_srtp_master + 16, g->srtp_cm ? 14 : 12);
	iv[7] ^= label;
	ok = x != NULL && len <= (int)sizeof(zero) &&
		EVP_EncryptInit_ex(x, EVP_aes_128_ctr(), NULL, rtpgen_srtp_master, iv) == 1 &&
		EVP_EncryptUpdate(x, out, &n, zero, len) == 1 && n == len;
	EVP_CIPHER_CTX_free(x);
	return ok ? 0 : -1;
}

/* HMAC-SHA1's inner or outer state after the key block (RFC 2104: key ^ 0x36.. or 0x5c..). */
static void
rtpgen_hmac_pad(IMB_MGR *imb, const uint8_t *akey, uint8_t pad, uint8_t *state)
{
	uint8_t blk[64];
	unsigned int k;

	memset(blk, pad, sizeof(blk));
	for (k = 0; k < 20; k++)
		blk[k] ^= akey[k];
	IMB_SHA1_ONE_BLOCK(imb, blk, state);
}

/* The session keys and salt (labels 0x00, 0x01 with AES-CM, 0x02), and IPsec-MB. 0 or -1. */
static int
rtpgen_srtp_init(struct rtpgen *g)
{
	uint8_t key[16], akey[20];
	IMB_ARCH arch;

	g->imb = alloc_mb_mgr(0);
	g->gk = rte_zmalloc("rtpgen_gk", sizeof(*g->gk), 64);
	g->cm_keys = rte_zmalloc("rtpgen_cm", 2 * 240 + 2 * 32, 64);
	if (g->imb == NULL || g->gk == NULL || g->cm_keys == NULL)
		return -1;
	init_mb_mgr_auto(g->imb, &arch);
	if (imb_get_errno(g->imb) != 0 || rtpgen_srtp_kdf(g, 0x00, key, 16) < 0 ||
	    rtpgen_srtp_kdf(g, 0x02, g->srtp_salt, g->srtp_cm ? 14 : 12) < 0)
		return -1;
	if (!g->srtp_cm) {
		IMB_AES128_GCM_PRE(g->imb, key, g->gk);
		return 0;
	}
	if (rtpgen_srtp_kdf(g, 0x01, akey, 20) < 0)
		return -1;
	IMB_AES_KEYEXP_128(g->imb, key, g->cm_keys, g->cm_keys + 240);
	rtpgen_hmac_pad(g->imb, akey, 0x36, g->cm_keys + 480);
	rtpgen_hmac_pad(g->imb, akey, 0x5c, g->cm_keys + 512);
	return 0;
}

/* Where an AES-CM packet keeps its IV and computed tag until the burst's flush: the mbuf's
 * headroom, in front of the frame. */
#define RTPGEN_CM_SCRATCH 48

/* AES_CM_128_HMAC_SHA1_80 (RFC 3711): one job, AES-CTR over the payload under IV =
 * (salt << 16) ^ (SSRC << 64) ^ (index << 16), then HMAC-SHA1 over the RTP header, the
 * encrypted payload and the ROC (written after the payload, where the tag goes); completed by
 * rtpgen_srtp_cm_finish after the burst's flush. */
static inline void
rtpgen_srtp_cm_submit(struct rtpgen *g, const struct rtpgen_stream *f, uint8_t *d)
{
	uint8_t *rtp = d + RTPGEN_HDRS, *iv = d - RTPGEN_CM_SCRATCH, *pl = rtp + RTPGEN_RTP_HLEN;
	IMB_JOB *job;
	unsigned int k;

	memcpy(iv, g->srtp_salt, 14);
	iv[14] = iv[15] = 0;
	for (k = 0; k < 4; k++)
		iv[4 + k] ^= rtp[8 + k];		/* SSRC */
	rtpgen_put32(pl + g->payload, f->roc);		/* authenticated after the payload */
	iv[8] ^= (uint8_t)(f->roc >> 24);
	iv[9] ^= (uint8_t)(f->roc >> 16);
	iv[10] ^= (uint8_t)(f->roc >> 8);
	iv[11] ^= (uint8_t)f->roc;
	iv[12] ^= (uint8_t)(f->seq >> 8);
	iv[13] ^= (uint8_t)f->seq;
	job = IMB_GET_NEXT_JOB(g->imb);
	job->cipher_direction = IMB_DIR_ENCRYPT;
	job->chain_order = IMB_ORDER_CIPHER_HASH;
	job->cipher_mode = IMB_CIPHER_CNTR;
	job->key_len_in_bytes = 16;
	job->enc_keys = g->cm_keys;
	job->dec_keys = g->cm_keys;
	job->iv = iv;
	job->iv_len_in_bytes = 16;
	job->src = rtp;
	job->dst = pl;
	job->cipher_start_src_offset_in_bytes = RTPGEN_RTP_HLEN;
	job->msg_len_to_cipher_in_bytes = g->payload;
	job->hash_alg = IMB_AUTH_HMAC_SHA_1;
	job->u.HMAC._hashed_auth_key_xor_ipad = g->cm_keys + 480;
	job->u.HMAC._hashed_auth_key_xor_opad = g->cm_keys + 512;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = RTPGEN_RTP_HLEN + g->payload + 4;
	job->auth_tag_output = iv + 16;
	job->auth_tag_output_len_in_bytes = 12;
	job->user_data = NULL;
	job = IMB_SUBMIT_JOB(g->imb);
	while (job != NULL) {
		if (job->status != IMB_STATUS_COMPLETED)
			g->srtp_job_err++;
		job = IMB_GET_COMPLETED_JOB(g->imb);
	}
}

/* The UDP checksum of the SRTP frame at d, once its payload and tag are final (0 is sent as
 * 0xffff, RFC 768). */
static inline void
rtpgen_srtp_udp_cksum(uint8_t *d)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	if (udp->dgram_cksum == 0)
		udp->dgram_cksum = 0xffff;
}

/* After a burst's AES-CM jobs: flush them, then append each SRTP packet's tag and set its
 * UDP checksum. */
static void
rtpgen_srtp_cm_finish(struct rtpgen *g, struct rte_mbuf **m, const uint32_t *idx,
		      unsigned int n)
{
	IMB_JOB *job;
	unsigned int i;

	while ((job = IMB_FLUSH_JOB(g->imb)) != NULL)
		if (job->status != IMB_STATUS_COMPLETED)
			g->srtp_job_err++;
	for (i = 0; i < n; i++) {
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);

		if (!g->st[idx[i]].srtp)
			continue;
		memcpy(d + RTPGEN_HDRS + RTPGEN_RTP_HLEN + g->payload,
		       d - RTPGEN_CM_SCRATCH + 16, RTPGEN_CM_TAG);
		rtpgen_srtp_udp_cksum(d);
	}
}

/* Encrypt the packet at d (headers with the SRTP lengths, RTP header, payload) in place,
 * append the tag and set the UDP checksum: RFC 7714 §8.1 IV = salt ^ (00 00 | SSRC | ROC |
 * SEQ), AAD = the RTP header. */
static inline void
rtpgen_srtp_protect(struct rtpgen *g, const struct rtpgen_stream *f, uint8_t *d)
{
	uint8_t *rtp = d + RTPGEN_HDRS, iv[12];
	struct gcm_context_data ctx;
	unsigned int k;

	iv[0] = iv[1] = 0;
	memcpy(iv + 2, rtp + 8, 4);
	rtpgen_put32(iv + 6, f->roc);
	iv[10] = (uint8_t)(f->seq >> 8);
	iv[11] = (uint8_t)f->seq;
	for (k = 0; k < 12; k++)
		iv[k] ^= g->srtp_salt[k];
	IMB_AES128_GCM_ENC(g->imb, g->gk, &ctx, rtp + RTPGEN_RTP_HLEN, rtp + RTPGEN_RTP_HLEN,
			   g->payload, iv, rtp, RTPGEN_RTP_HLEN, rtp + RTPGEN_RTP_HLEN + g->payload,
			   RTPGEN_SRTP_TAG);
	rtpgen_srtp_udp_cksum(d);
}

/* --srtp-state: each stream's next (ROC, seq), so that a later run goes on from there. */
static int
rtpgen_srtp_state_load(struct rtpgen *g, const char *path)
{
	FILE *fp = fopen(path, "r");
	uint32_t i, roc, seq;

	if (fp == NULL)
		return errno == ENOENT ? 0 : -1;
	for (i = 0; i < g->n_main && fscanf(fp, "%u %u", &roc, &seq) == 2; i++) {
		g->st[i].roc = roc;
		g->st[i].seq = (uint16_t)seq;
	}
	fclose(fp);
	return i == g->n_main ? 0 : -1;
}

static int
rtpgen_srtp_state_save(const struct rtpgen *g, const char *path)
{
	FILE *fp = fopen(path, "w");
	uint32_t i;

	if (fp == NULL)
		return -1;
	for (i = 0; i < g->n_main; i++)
		fprintf(fp, "%u %u\n", g->st[i].roc, g->st[i].seq);
	return fclose(fp) == 0 ? 0 : -1;
}

/* Fill one packet of stream i, stamped tsc. */
static inline void
rtpgen_fill_one(struct rtpgen *g, struct rte_mbuf *m, uint32_t i, uint64_t tsc)
{
	struct rtpgen_stream *f = &g->st[i];
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *rtp = d + RTPGEN_HDRS;
	uint16_t ck;

	rte_memcpy(d, g->tmpl, RTPGEN_HDRS);
	memcpy(d + RTE_ETHER_HDR_LEN + 10, &f->ip_cksum, 2);
	memcpy(d + RTE_ETHER_HDR_LEN + 12, &f->src_ip, 4);
	memcpy(d + RTE_ETHER_HDR_LEN + 16, &f->dst_ip, 4);
	memcpy(d + RTE_ETHER_HDR_LEN + 20, &f->sport, 2);
	memcpy(d + RTE_ETHER_HDR_LEN + 22, &f->dport, 2);
	rtpgen_rtp_write(rtp, &g->rxs.pat, i, f->seq, f->ts, tsc);
	if (unlikely(f->srtp)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + RTE_ETHER_HDR_LEN);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		uint16_t ulen = (uint16_t)(8 + RTPGEN_RTP_HLEN + g->payload + g->srtp_tag);

		/* The lengths with the tag (f->ip_cksum is for them: rtpgen_stream_setup). */
		ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + ulen));
		udp->dgram_len = rte_cpu_to_be_16(ulen);
		if (g->srtp_cm)
			rtpgen_srtp_cm_submit(g, f, d);
		else
			rtpgen_srtp_protect(g, f, d);
		m->data_len = (uint16_t)(g->frame_len + g->srtp_tag);
		m->pkt_len = m->data_len;
	} else {
		ck = (uint16_t)~rtpgen_cksum_fold((uint64_t)f->sum +
						  rtpgen_rtp_var_sum(rtp, &g->rxs.pat));
		if (ck == 0)
			ck = 0xffff;	/* RFC 768: 0 means "no checksum" */
		memcpy(d + RTPGEN_HDRS - 2, &ck, 2);
		m->data_len = g->frame_len;
		m->pkt_len = g->frame_len;
	}
	if (++f->seq == 0)
		f->roc++;
	f->ts += g->payload;	/* PCMU: one sample per byte (RFC 3551 §4.5.14) */
	f->sent++;
}

/* Take back the last packet of stream i, which the port refused. */
static inline void
rtpgen_unsend(struct rtpgen *g, uint32_t i)
{
	struct rtpgen_stream *f = &g->st[i];

	if (f->seq-- == 0)
		f->roc--;
	f->ts -= g->payload;
	f->sent--;
}

/* Send a filled burst over the peer's queues (--txq): each packet on its stream's queue, one
 * TX burst per queue. A refused packet is taken back: its stream sends the same sequence
 * number next time, so it stays in order. */
static unsigned int
rtpgen_send_spread(struct rtpgen *g, struct rte_mbuf **m, const uint32_t *idx, unsigned int n)
{
	struct rte_mbuf *qm[RTPGEN_BURST];
	uint32_t qi[RTPGEN_BURST];
	uint8_t done[RTPGEN_BURST] = { 0 };
	unsigned int i, j, k, sent, total = 0;

	for (i = 0; i < n; i++) {
		uint16_t q = g->st[idx[i]].txq;

		if (done[i])
			continue;
		for (j = i, k = 0; j < n; j++) {
			if (done[j] || g->st[idx[j]].txq != q)
				continue;
			done[j] = 1;
			qm[k] = m[j];
			qi[k++] = idx[j];
		}
		sent = rte_eth_tx_burst(g->port, q, qm, (uint16_t)k);
		total += sent;
		if (sent < k) {
			for (j = sent; j < k; j++)
				rtpgen_unsend(g, qi[j]);
			rte_pktmbuf_free_bulk(&qm[sent], k - sent);
			g->tx_full += k - sent;
		}
	}
	return total;
}

/* Send up to n packets of the next streams; returns how many the port took. */
static unsigned int
rtpgen_send(struct rtpgen *g, unsigned int n)
{
	struct rte_mbuf *m[RTPGEN_BURST];
	uint32_t idx[RTPGEN_BURST], cur = g->cur;
	unsigned int i, sent;
	uint64_t tsc;

	if (rte_pktmbuf_alloc_bulk(g->mp, m, n) != 0)
		return 0;
	tsc = rte_rdtsc();
	for (i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
		idx[i] = cur;
		rtpgen_fill_one(g, m[i], cur, tsc);
		cur += g->step;
		if (cur >= g->n_main)
			cur = g->first;
	}
	if (g->srtp_cm)
		rtpgen_srtp_cm_finish(g, m, idx, n);
	if (g->n_txq > 1) {
		sent = rtpgen_send_spread(g, m, idx, n);
		g->cur = cur;
		g->tx += sent;
		return sent;
	}
	sent = rte_eth_tx_burst(g->port, 0, m, n);
	if (sent < n) {
		/* Ring full: the refused packets are sent again next time, with the same
		 * sequence numbers, so every stream stays in order. */
		for (i = sent; i < n; i++)
			rtpgen_unsend(g, idx[i]);
		cur = idx[sent];
		rte_pktmbuf_free_bulk(&m[sent], n - sent);
		g->tx_full += n - sent;
	}
	g->cur = cur;
	g->tx += sent;
	return sent;
}

/* One packet of stream i (--first-packet). 0 or -EAGAIN. */
static int
rtpgen_send_one(struct rtpgen *g, uint32_t i)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(g->mp);

	if (m == NULL)
		return -EAGAIN;
	rtpgen_fill_one(g, m, i, rte_rdtsc());
	if (rte_eth_tx_burst(g->port, 0, &m, 1) != 1) {
		g->st[i].seq--;
		g->st[i].ts -= g->payload;
		g->st[i].sent--;
		rte_pktmbuf_free(m);
		return -EAGAIN;
	}
	g->tx++;
	return 0;
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

/* Whether a packet stamped with stream s has the addresses its copies must have. */
static inline int
rtpgen_addr_ok(const struct rtpgen *g, uint32_t s, const struct rte_ipv4_hdr *ip,
	       const struct rte_udp_hdr *udp)
{
	const struct rtpgen_stream *e;

	if (g->expect == RTPGEN_EXPECT_ANY)
		return 1;
	/* Pair: what stream 2k sends into leg A leaves leg B's local endpoint (stream 2k+1's
	 * destination) towards leg B's remote (stream 2k+1's source). */
	e = &g->st[g->expect == RTPGEN_EXPECT_PAIR ? s ^ 1 : s];
	return ip->src_addr == e->dst_ip && udp->src_port == e->dport &&
		ip->dst_addr == e->src_ip && udp->dst_port == e->sport;
}

static inline void
rtpgen_rx_one(struct rtpgen *g, struct rte_mbuf *m, uint64_t now)
{
	const struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)(eth + 1);

	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= RTPGEN_HDRS && ip->version_ihl == RTE_IPV4_VHL_DEF &&
	    ip->next_proto_id == IPPROTO_UDP && rtpgen_is_ours(g, ip->dst_addr)) {
		const struct rte_udp_hdr *udp = (const struct rte_udp_hdr *)(ip + 1);
		const uint8_t *rtp = (const uint8_t *)(udp + 1);
		unsigned int ulen = rte_be_to_cpu_16(udp->dgram_len);
		uint32_t s;
		uint16_t seq;
		uint64_t tx_tsc;

		g->rx.returned++;
		if (g->verify &&
		    (rte_ipv4_cksum(ip) != 0 ||
		     rte_be_to_cpu_16(ip->total_length) + RTE_ETHER_HDR_LEN > m->data_len ||
		     (udp->dgram_cksum != 0 && rte_ipv4_udptcp_cksum_verify(ip, udp) != 0)))
			g->rx.bad_cksum++;
		if (ulen < 8 || RTPGEN_HDRS - 8 + ulen > m->data_len) {
			g->rxs.c.bad_stamp++;
		} else if (g->srtp && ulen == 8u + RTPGEN_RTP_HLEN + g->payload + g->srtp_tag) {
			/* SRTP out of an SRTP leg: its RTP header (RFC 3711 §3.1: in the clear). */
			s = rtpgen_get32(rtp + 8) - RTPGEN_SSRC_BASE;
			seq = (uint16_t)(rtp[2] << 8 | rtp[3]);
			if ((rtp[0] & 0xc0) != 0x80 || s >= g->n_streams)
				g->rxs.c.bad_stamp++;
			else if (!rtpgen_addr_ok(g, s, ip, udp))
				g->rxs.c.bad_addr++;
			else if (rtpgen_rx_account_seq(&g->rxs, s, seq) != RTPGEN_SEQ_DUP)
				g->rx.srtp_returned++;
		} else if (rtpgen_stamp_read(rtp, ulen - 8, g->payload, g->n_streams, &s, &seq,
					     &tx_tsc) < 0)
			g->rxs.c.bad_stamp++;
		else if (!rtpgen_addr_ok(g, s, ip, udp))
			g->rxs.c.bad_addr++;
		else
			rtpgen_rx_account(&g->rxs, rtp, s, seq, tx_tsc, now);
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
			uint64_t now;

			n = rte_eth_rx_burst(g->port, q, m, RTPGEN_BURST);
			if (n == 0)
				break;
			/* One TSC reading per burst: the packets of a burst arrived together. */
			now = rte_rdtsc();
			for (i = 0; i < n; i++) {
				if (i + 1 < n)
					rte_prefetch0(rte_pktmbuf_mtod(m[i + 1], void *));
				rtpgen_rx_one(g, m[i], now);
			}
			total += n;
			if (n < RTPGEN_BURST)
				break;
		}
	}
	return total;
}

/* Executed by whoever receives (see rtpgen_command). */
static void
rtpgen_exec(struct rtpgen *g, enum rtpgen_cmd cmd)
{
	struct rtpgen_snap *sn = &g->snap;
	uint32_t i;

	if (cmd == RTPGEN_CMD_RESET) {
		rtpgen_rx_reset_trial(&g->rxs);
		return;
	}
	sn->rx = g->rx;
	sn->c = g->rxs.c;
	memcpy(&sn->hist, &g->rxs.hist, sizeof(sn->hist));
	rtpgen_rx_jitter(&g->rxs, &sn->jit_mean, &sn->jit_max, &sn->jit_streams);
	sn->lost = 0;
	sn->streams_lost = 0;
	/* The sent counts were written by the main lcore before its request (release). */
	for (i = 0; i < g->n_main; i++) {
		const struct rtpgen_stream_rx *r = &g->rxs.st[i];
		uint32_t sent = g->st[i].sent - g->st[i].sent_base;
		uint32_t got = r->seq.received - r->rx_base;

		if (sent > got) {
			sn->lost += sent - got;
			sn->streams_lost++;
		}
	}
}

static void
rtpgen_check_cmd(struct rtpgen *g)
{
	/* Acquire: pairs with the main lcore's release of cmd_req, after it wrote cmd. */
	uint32_t req = __atomic_load_n(&g->cmd_req, __ATOMIC_ACQUIRE);

	if (req != g->cmd_done) {
		rtpgen_exec(g, g->cmd);
		/* Release: the snapshot is written before the acknowledgement. */
		__atomic_store_n(&g->cmd_done, req, __ATOMIC_RELEASE);
	}
}

static int
rtpgen_rx_lcore(void *arg)
{
	struct rtpgen *g = arg;

	/* Acquire pairs with the main lcore's release store of stop_rx: its final reads of the
	 * counters come after this lcore has stopped writing them (rte_eal_wait_lcore). */
	while (!__atomic_load_n(&g->stop_rx, __ATOMIC_ACQUIRE)) {
		rtpgen_poll_rx(g);
		rtpgen_check_cmd(g);
	}
	return 0;
}

/* Have the receiver run cmd and wait for it. */
static void
rtpgen_command(struct rtpgen *g, enum rtpgen_cmd cmd)
{
	uint32_t req;

	if (g->rx_here) {
		rtpgen_exec(g, cmd);
		return;
	}
	g->cmd = cmd;
	req = g->cmd_req + 1;
	/* Release: cmd (and the streams' sent counts) are written before the request. */
	__atomic_store_n(&g->cmd_req, req, __ATOMIC_RELEASE);
	while (__atomic_load_n(&g->cmd_done, __ATOMIC_ACQUIRE) != req)
		rtpgen_send_arp(g);
}

static uint64_t
rtpgen_relayed(const struct rtpgen *g)
{
	/* Relaxed: a counter sampled while the receiver may be adding to it. */
	return __atomic_load_n(&g->rxs.c.ok, __ATOMIC_RELAXED);
}

static uint64_t
rtpgen_returned(const struct rtpgen *g)
{
	return __atomic_load_n(&g->rx.returned, __ATOMIC_RELAXED);
}

/* With one lcore, the main loop also receives; with two, the receiver lcore does. */
static void
rtpgen_service(struct rtpgen *g)
{
	if (g->rx_here)
		rtpgen_poll_rx(g);
	rtpgen_send_arp(g);
}

static void
rtpgen_wait(struct rtpgen *g, uint64_t cycles)
{
	uint64_t end = rte_get_tsc_cycles() + cycles;

	while (rte_get_tsc_cycles() < end && !rtpgen_quit)
		rtpgen_service(g);
}

/* Wait until nothing has come back for RTPGEN_SNAP_QUIET_MS, at most max_ms: what is still
 * in flight (RFC 2544 §23 waits 2 s; a quiet link says sooner that nothing more comes). */
static void
rtpgen_drain(struct rtpgen *g, unsigned int max_ms)
{
	uint64_t now = rte_get_tsc_cycles(), end = now + g->hz * max_ms / 1000;
	uint64_t quiet = g->hz * RTPGEN_SNAP_QUIET_MS / 1000, last = now;
	uint64_t seen = rtpgen_returned(g);

	while ((now = rte_get_tsc_cycles()) < end && now - last < quiet) {
		uint64_t r;

		rtpgen_service(g);
		r = rtpgen_returned(g);
		if (r != seen) {
			seen = r;
			last = now;
		}
	}
}

/* Ask who has dst (network order), from src (RFC 826). */
static int
rtpgen_resolve(struct rtpgen *g, uint32_t src, uint32_t dst)
{
	int tries;

	__atomic_store_n(&g->resolve_ip, dst, __ATOMIC_RELAXED);
	for (tries = 0; tries < 30 && !rtpgen_quit; tries++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(g->mp);
		struct rte_ether_hdr *eth;
		struct rte_arp_hdr *arp;

		if (m == NULL)
			return -ENOMEM;
		eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		arp = (struct rte_arp_hdr *)(eth + 1);
		memset(eth, 0, RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN);
		memset(&eth->dst_addr, 0xff, 6);
		rte_ether_addr_copy(&g->mac, &eth->src_addr);
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
		arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
		arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		arp->arp_hlen = 6;
		arp->arp_plen = 4;
		arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
		rte_ether_addr_copy(&g->mac, &arp->arp_data.arp_sha);
		arp->arp_data.arp_sip = src;
		arp->arp_data.arp_tip = dst;
		m->data_len = m->pkt_len = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;
		if (rte_eth_tx_burst(g->port, 0, &m, 1) != 1)
			rte_pktmbuf_free(m);
		rtpgen_wait(g, g->hz / 10);
		/* Acquire: pairs with the receiver's release store after it wrote the MAC. */
		if (__atomic_load_n(&g->have_dst_mac, __ATOMIC_ACQUIRE)) {
			rtpgen_build_template(g);
			return 0;
		}
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
	rc = rte_eth_dev_configure(g->port, g->n_rxq, g->n_txq, &conf);
	if (rc < 0)
		return rc;
	rte_eth_dev_adjust_nb_rx_tx_desc(g->port, &nrx, &ntx);
	for (q = 0; q < g->n_rxq; q++) {
		rc = rte_eth_rx_queue_setup(g->port, q, nrx, rte_eth_dev_socket_id(g->port),
					    NULL, g->mp);
		if (rc < 0)
			return rc;
	}
	for (q = 0; q < g->n_txq; q++) {
		rc = rte_eth_tx_queue_setup(g->port, q, ntx, rte_eth_dev_socket_id(g->port),
					    NULL);
		if (rc < 0)
			return rc;
	}
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

/* ---- sessions over the REST API ---- */

static void
rtpgen_remote(uint32_t session, unsigned int leg, uint32_t *ip, uint16_t *port)
{
	uint32_t j = 2 * session + leg;

	*ip = RTPGEN_REMOTE_BASE + j % RTPGEN_REMOTE_ADDRS;
	*port = (uint16_t)(RTPGEN_REMOTE_PORT + 2 * (j / RTPGEN_REMOTE_ADDRS));
}

static int
rtpgen_ep_str(char *buf, size_t sz, uint32_t ip, uint16_t port)
{
	return snprintf(buf, sz, "%u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff,
			ip & 0xff, port);
}

/* The POST /v1/sessions object of a session with the given remotes (host order). */
static int
rtpgen_session_obj(char *buf, size_t sz, const struct rtpgen_api *api, uint32_t ip_a,
		   uint16_t port_a, uint32_t ip_b, uint16_t port_b)
{
	char a[32], b[32];

	rtpgen_ep_str(a, sizeof(a), ip_a, port_a);
	rtpgen_ep_str(b, sizeof(b), ip_b, port_b);
	return snprintf(buf, sz, "{\"legs\":[{\"remote\":\"%s\"%s},{\"remote\":\"%s\"%s}],"
			"\"idle_timeout\":%u}", a, api->srtp ? api->srtp_obj : "", b,
			api->srtp == 2 ? api->srtp_obj : "", api->idle_timeout);
}

/* Streams 2k (leg A) and 2k+1 (leg B) of a session from its answer object; the remotes are
 * those we asked for. Also keeps the id. 0 or -EPROTO. */
static int
rtpgen_session_answer(struct rtpgen *g, struct rtpgen_api *api, const json_t *obj, uint32_t k,
		      uint32_t ip_a, uint16_t port_a, uint32_t ip_b, uint16_t port_b,
		      char *id_out)
{
	const json_t *legs = json_object_get(obj, "legs");
	const char *id = json_string_value(json_object_get(obj, "id"));
	const char *la = json_string_value(json_object_get(json_array_get(legs, 0), "local"));
	const char *lb = json_string_value(json_object_get(json_array_get(legs, 1), "local"));
	struct rtpgen_stream *a = &g->st[2 * k], *b = &g->st[2 * k + 1];

	(void)api;
	if (id == NULL || la == NULL || lb == NULL || strlen(id) >= RTPGEN_ID_LEN ||
	    json_array_size(legs) != 2) {
		fprintf(stderr, "rtpgen: session %u: unexpected answer\n", k);
		return -EPROTO;
	}
	/* Each leg's local endpoint from the answer: the legs of a session may be on different
	 * local addresses. */
	if (rtpgen_parse_ep(la, &a->dst_ip, &a->dport) < 0 ||
	    rtpgen_parse_ep(lb, &b->dst_ip, &b->dport) < 0) {
		fprintf(stderr, "rtpgen: session %u: local endpoints %s, %s: rtpgen sends IPv4\n",
			k, la, lb);
		return -EPROTO;
	}
	a->src_ip = rte_cpu_to_be_32(ip_a);
	a->sport = rte_cpu_to_be_16(port_a);
	b->src_ip = rte_cpu_to_be_32(ip_b);
	b->sport = rte_cpu_to_be_16(port_b);
	strcpy(id_out, id);
	return 0;
}

static void
rtpgen_progress(const char *what, uint32_t done, uint32_t total, double t0, double *next)
{
	double now = rtpgen_now();

	if (total < 10000 || (now < *next && done != total))
		return;
	*next = now + 1;
	fprintf(stderr, "rtpgen: %s %u/%u sessions (%.0f/s)\n", what, done, total,
		done / (now - t0 > 0 ? now - t0 : 1e-9));
}

/* Answer i of a pipelined create: a single session (batch 0) or a batch of n from first. */
static int
rtpgen_create_answer(struct rtpgen *g, struct rtpgen_api *api, uint32_t first, uint32_t n,
		     int batch)
{
	char *resp = NULL;
	size_t len = 0;
	json_t *root, *arr;
	json_error_t jerr;
	uint32_t i;
	int st, rc = 0;

	st = httpc_recv(api->h, &resp, &len);
	if (st != 201) {
		if (st < 0)
			fprintf(stderr, "rtpgen: creating sessions %u..%u: %s\n", first,
				first + n - 1, strerror(-st));
		else
			fprintf(stderr, "rtpgen: creating sessions %u..%u: HTTP %d %s%s\n",
				first, first + n - 1, st, resp ? resp : "",
				st == 413 ? " (raise api.max_body or lower --batch)" : "");
		free(resp);
		return -EPROTO;
	}
	root = json_loadb(resp, len, 0, &jerr);
	free(resp);
	arr = batch ? json_object_get(root, "sessions") : NULL;
	if (root == NULL || (batch && json_array_size(arr) != n)) {
		fprintf(stderr, "rtpgen: sessions %u..%u: answer is not what was asked for\n",
			first, first + n - 1);
		json_decref(root);
		return -EPROTO;
	}
	for (i = 0; i < n && rc == 0; i++) {
		uint32_t k = first + i, ipa, ipb;
		uint16_t pa, pb;

		rtpgen_remote(k, 0, &ipa, &pa);
		rtpgen_remote(k, 1, &ipb, &pb);
		rc = rtpgen_session_answer(g, api, batch ? json_array_get(arr, i) : root, k,
					   ipa, pa, ipb, pb, api->ids + (size_t)k * RTPGEN_ID_LEN);
		/* ids[] up to n_ids: a hole (empty id) where a session was refused. */
		if (rc == 0)
			api->n_ids = k + 1;
	}
	json_decref(root);
	return rc;
}

/* Create api->sessions sessions: pipelined single POSTs, or batches of api->batch. */
static int
rtpgen_create_sessions(struct rtpgen *g, struct rtpgen_api *api)
{
	uint32_t n = api->sessions, per = api->batch ? api->batch : 1;
	uint32_t sent = 0, done = 0, depth = api->pipeline;
	size_t cap = (size_t)per * 320 + 64;
	char *body = malloc(cap);
	double t0 = rtpgen_now(), next = t0 + 1;
	int rc = 0;

	if (body == NULL)
		return -ENOMEM;
	while (done < n && rc == 0) {
		while (sent < n && (sent - done) / per < depth && !rtpgen_quit) {
			uint32_t k, cnt = RTE_MIN(per, n - sent);
			size_t len = 0;

			if (api->batch)
				len += (size_t)snprintf(body, cap, "{\"sessions\":[");
			for (k = sent; k < sent + cnt; k++) {
				uint32_t ipa, ipb;
				uint16_t pa, pb;

				rtpgen_remote(k, 0, &ipa, &pa);
				rtpgen_remote(k, 1, &ipb, &pb);
				if (k > sent)
					body[len++] = ',';
				len += (size_t)rtpgen_session_obj(body + len, cap - len, api, ipa,
								  pa, ipb, pb);
			}
			if (api->batch)
				len += (size_t)snprintf(body + len, cap - len, "]}");
			rc = httpc_send(api->h, "POST", api->batch ? "/v1/sessions/batch" :
					"/v1/sessions", body, len);
			if (rc < 0) {
				fprintf(stderr, "rtpgen: POST: %s\n", strerror(-rc));
				break;
			}
			sent += cnt;
		}
		if (rc < 0 || sent == done)
			break;	/* an error, or interrupted with nothing in flight */
		{
			uint32_t cnt = RTE_MIN(per, n - done);

			rc = rtpgen_create_answer(g, api, done, cnt, api->batch != 0);
			done += cnt;
		}
		rtpgen_progress("created", done, n, t0, &next);
	}
	/* Read what is still in flight so that what was created is known (and deleted). */
	while (httpc_pending(api->h) > 0 && done < sent) {
		uint32_t cnt = RTE_MIN(per, n - done);

		if (rtpgen_create_answer(g, api, done, cnt, api->batch != 0) < 0 && rc == 0)
			rc = -EPROTO;
		done += cnt;
	}
	api->create_s = rtpgen_now() - t0;
	free(body);
	if (rc == 0 && rtpgen_quit)
		rc = -EINTR;
	return rc;
}

/* Delete the n_ids sessions created, pipelined. */
static void
rtpgen_delete_sessions(struct rtpgen_api *api)
{
	uint32_t n = api->n_ids, sent = 0, done = 0;
	/* DELETEs are small both ways: pipeline deeply even when creating went by batches. */
	uint32_t depth = RTE_MAX(api->pipeline, 32u);
	double t0 = rtpgen_now(), next = t0 + 1;
	char path[64 + RTPGEN_ID_LEN];

	while (done < n) {
		int st;

		while (sent < n && sent - done < depth) {
			const char *id = api->ids + (size_t)sent * RTPGEN_ID_LEN;

			if (*id == 0 && done == sent) {
				sent++;
				done++;
				continue;	/* never created */
			}
			if (*id == 0)
				break;	/* answer what is in flight first */
			snprintf(path, sizeof(path), "/v1/sessions/%s", id);
			if (httpc_send(api->h, "DELETE", path, NULL, 0) < 0)
				break;
			sent++;
		}
		if (sent == done) {
			api->delete_failed += n - done;
			break;
		}
		st = httpc_recv(api->h, NULL, NULL);
		if (st == 204)
			api->deleted++;
		else
			api->delete_failed++;
		done++;
		rtpgen_progress("deleted", done, n, t0, &next);
	}
	api->delete_s = rtpgen_now() - t0;
	if (api->delete_failed)
		fprintf(stderr, "rtpgen: %u sessions could not be deleted\n", api->delete_failed);
}

/* ---- measurements ---- */

static double
rtpgen_us(const struct rtpgen *g, double cycles)
{
	return cycles * 1e6 / (double)g->hz;
}

/* Warm-up: one packet per active stream per round, so the relay latches every remote and
 * resolves every next hop, until a round comes back whole. Returns what came back last. */
static uint64_t
rtpgen_warmup(struct rtpgen *g, unsigned int warmup_ms)
{
	uint64_t back = 0;
	unsigned int round;

	for (round = 0; round < 5 && !rtpgen_quit; round++) {
		uint64_t before = rtpgen_relayed(g);
		uint32_t left = g->n_active;

		g->cur = g->first;
		while (left > 0 && !rtpgen_quit) {
			left -= rtpgen_send(g, RTE_MIN(left, (uint32_t)RTPGEN_BURST));
			rtpgen_service(g);
		}
		rtpgen_wait(g, g->hz * warmup_ms / 1000);
		back = rtpgen_relayed(g) - before;
		if (back >= g->n_active)
			break;
	}
	return back;
}

/* One trial of secs seconds at rate pps (0: full speed), or until max_packets have been sent
 * (0: no limit), then the drain. */
static void
rtpgen_run_trial(struct rtpgen *g, double rate, double secs, uint64_t max_packets,
		 unsigned int drain_ms, struct rtpgen_trial *t)
{
	struct rtpgen_snap s0;
	uint64_t t0, t1, now, tx0, full0;
	const struct rtpgen_hist *h = &g->snap.hist;
	uint32_t i;

	memset(t, 0, sizeof(*t));
	t->rate = rate;
	for (i = 0; i < g->n_main; i++)
		g->st[i].sent_base = g->st[i].sent;
	rtpgen_command(g, RTPGEN_CMD_RESET);
	rtpgen_command(g, RTPGEN_CMD_SNAP);
	s0 = g->snap;
	tx0 = g->tx;
	full0 = g->tx_full;
	t0 = rte_get_tsc_cycles();
	t1 = t0 + (uint64_t)(secs * g->hz);
	while (!rtpgen_quit && (now = rte_get_tsc_cycles()) < t1) {
		unsigned int n = RTPGEN_BURST;

		if (rate > 0) {
			double due = (double)(now - t0) * rate / g->hz - (double)(g->tx - tx0);

			n = due >= RTPGEN_BURST ? RTPGEN_BURST : (unsigned int)(due > 0 ? due : 0);
		}
		if (max_packets) {
			uint64_t left = max_packets - (g->tx - tx0);

			if (left == 0)
				break;
			if (n > left)
				n = (unsigned int)left;
		}
		if (n)
			rtpgen_send(g, n);
		rtpgen_service(g);
	}
	now = rte_get_tsc_cycles();
	t->secs = (double)(now - t0) / g->hz;
	rtpgen_drain(g, drain_ms);
	rtpgen_command(g, RTPGEN_CMD_SNAP);
	t->tx = g->tx - tx0;
	t->tx_full = g->tx_full - full0;
	t->returned = g->snap.rx.returned - s0.rx.returned;
	t->bad_cksum = g->snap.rx.bad_cksum - s0.rx.bad_cksum;
	t->srtp_returned = g->snap.rx.srtp_returned - s0.rx.srtp_returned;
	t->relayed = g->snap.c.ok - s0.c.ok;
	t->reordered = g->snap.c.reordered - s0.c.reordered;
	t->dup = g->snap.c.dup - s0.c.dup;
	t->bad_stamp = g->snap.c.bad_stamp - s0.c.bad_stamp;
	t->bad_addr = g->snap.c.bad_addr - s0.c.bad_addr;
	t->bad_payload = g->snap.c.bad_payload - s0.c.bad_payload;
	t->lost = g->snap.lost;
	t->streams_lost = g->snap.streams_lost;
	t->tx_pps = t->secs > 0 ? t->tx / t->secs : 0;
	t->rx_pps = t->secs > 0 ? t->relayed / t->secs : 0;
	t->lat_samples = h->count;
	if (h->count) {
		t->lat_min = rtpgen_us(g, (double)h->min);
		t->lat_mean = rtpgen_us(g, (double)h->sum / (double)h->count);
		t->lat_p50 = rtpgen_us(g, (double)rtpgen_hist_quantile(h, 0.5));
		t->lat_p99 = rtpgen_us(g, (double)rtpgen_hist_quantile(h, 0.99));
		t->lat_p999 = rtpgen_us(g, (double)rtpgen_hist_quantile(h, 0.999));
		t->lat_max = rtpgen_us(g, (double)h->max);
	}
	t->jit_mean = rtpgen_us(g, g->snap.jit_mean);
	t->jit_max = rtpgen_us(g, (double)g->snap.jit_max);
}

static double
rtpgen_r3(double x)
{
	/* Three decimals are enough for µs and seconds; the rest is noise in the JSON. */
	return (double)(int64_t)(x * 1000 + (x >= 0 ? 0.5 : -0.5)) / 1000;
}

static json_t *
rtpgen_latency_json(const struct rtpgen_trial *t)
{
	return json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f}", "samples", (json_int_t)t->lat_samples,
			 "min", rtpgen_r3(t->lat_min), "mean", rtpgen_r3(t->lat_mean),
			 "p50", rtpgen_r3(t->lat_p50), "p99", rtpgen_r3(t->lat_p99),
			 "p999", rtpgen_r3(t->lat_p999), "max", rtpgen_r3(t->lat_max));
}

static json_t *
rtpgen_trial_json(const struct rtpgen_trial *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "rate_pps", json_integer((json_int_t)t->rate));
	json_object_set_new(o, "duration_s", json_real(rtpgen_r3(t->secs)));
	json_object_set_new(o, "tx", json_integer((json_int_t)t->tx));
	json_object_set_new(o, "relayed", json_integer((json_int_t)t->relayed));
	json_object_set_new(o, "lost", json_integer((json_int_t)t->lost));
	json_object_set_new(o, "loss", json_real(t->tx ? (double)t->lost / t->tx : 0));
	json_object_set_new(o, "reordered", json_integer((json_int_t)t->reordered));
	json_object_set_new(o, "duplicates", json_integer((json_int_t)t->dup));
	json_object_set_new(o, "tx_pps", json_integer((json_int_t)t->tx_pps));
	json_object_set_new(o, "rx_pps", json_integer((json_int_t)t->rx_pps));
	/* A rate the generator could not offer is no result for that rate. */
	json_object_set_new(o, "rate_reached", json_boolean(t->rate <= 0 ||
			    t->tx_pps >= 0.99 * t->rate));
	json_object_set_new(o, "pass", json_boolean(t->pass));
	json_object_set_new(o, "latency_us", rtpgen_latency_json(t));
	json_object_set_new(o, "jitter_us", json_pack("{s:f,s:f}", "mean", rtpgen_r3(t->jit_mean),
						      "max", rtpgen_r3(t->jit_max)));
	return o;
}

static int
rtpgen_trial_pass(const struct rtpgen_trial *t, double tolerance)
{
	return t->tx > 0 && (double)t->lost <= tolerance * (double)t->tx && t->bad_addr == 0 &&
		t->bad_stamp == 0 && t->bad_payload == 0;
}

struct rtpgen_search {
	double trial_s, precision, tolerance, latency_at;
	struct rtpgen_trial *trials;
	unsigned int n_trials;
	int best;		/* index of the zero-loss trial, -1 = none */
	int at;			/* index of the --latency-at trial, -1 = none */
	double max_pps;
};

/* RFC 2544 §26.1: the highest rate at which no frame is lost, by binary search between 0
 * and the unpaced maximum, starting from what the device relayed at that maximum. */
static void
rtpgen_search(struct rtpgen *g, struct rtpgen_search *s, unsigned int drain_ms)
{
	double lo = 0, hi, rate;
	unsigned int max_trials = 40;
	struct rtpgen_trial *t;

	s->trials = calloc(max_trials + 1, sizeof(*s->trials));
	s->best = s->at = -1;
	if (s->trials == NULL)
		return;
	t = &s->trials[s->n_trials++];
	rtpgen_run_trial(g, 0, s->trial_s, 0, drain_ms, t);
	t->pass = rtpgen_trial_pass(t, s->tolerance);
	fprintf(stderr, "rtpgen: search: unpaced %.0f pps offered, %.0f relayed, %" PRIu64
		" lost\n", t->tx_pps, t->rx_pps, t->lost);
	s->max_pps = t->tx_pps;
	if (t->pass) {
		s->best = 0;
	} else {
		hi = t->tx_pps;
		rate = t->rx_pps > 0 && t->rx_pps < hi ? t->rx_pps : hi / 2;
		while (!rtpgen_quit && s->n_trials < max_trials && hi - lo > s->precision * hi) {
			t = &s->trials[s->n_trials];
			rtpgen_run_trial(g, rate, s->trial_s, 0, drain_ms, t);
			t->pass = rtpgen_trial_pass(t, s->tolerance);
			fprintf(stderr, "rtpgen: search: %.0f pps: %" PRIu64 " of %" PRIu64
				" lost: %s\n", rate, t->lost, t->tx, t->pass ? "pass" : "fail");
			if (t->pass) {
				lo = rate;
				s->best = (int)s->n_trials;
			} else {
				hi = rate;
			}
			s->n_trials++;
			rate = (lo + hi) / 2;
		}
	}
	if (s->latency_at > 0 && s->best >= 0 && !rtpgen_quit) {
		const struct rtpgen_trial *b = &s->trials[s->best];
		double r = s->latency_at * (b->rate > 0 ? b->rate : b->tx_pps);

		t = &s->trials[s->n_trials];
		rtpgen_run_trial(g, r, s->trial_s, 0, drain_ms, t);
		t->pass = rtpgen_trial_pass(t, s->tolerance);
		s->at = (int)s->n_trials++;
	}
}

/* --first-packet: for each of fp->n sessions (plus one unrecorded first one, which lets both
 * sides resolve each other's addresses), create it, send one packet into leg A as soon as
 * the 201 answer has been read, wait for it to come back from leg B, delete it. */
static int
rtpgen_first_packet(struct rtpgen *g, struct rtpgen_api *api, struct rtpgen_fp *fp)
{
	uint32_t i, base = g->n_main;
	char body[256], path[64 + RTPGEN_ID_LEN], id[RTPGEN_ID_LEN];

	fp->delay = calloc(fp->n + 1, sizeof(*fp->delay));
	if (fp->delay == NULL)
		return -ENOMEM;
	for (i = 0; i <= fp->n && !rtpgen_quit; i++) {
		uint32_t a = base + 2 * i, ipa = RTPGEN_REMOTE_BASE, ipb = RTPGEN_REMOTE_BASE + 1;
		uint16_t port = (uint16_t)(RTPGEN_FP_PORT - 2 * i);
		uint64_t t0, end, t1 = 0;
		char *resp = NULL;
		size_t len = 0;
		json_t *root;
		int st, len_body, rc;

		len_body = rtpgen_session_obj(body, sizeof(body), api, ipa, port, ipb, port);
		st = httpc_request(api->h, "POST", "/v1/sessions", body, (size_t)len_body, &resp,
				   &len);
		t0 = rte_rdtsc();
		if (st != 201) {
			fprintf(stderr, "rtpgen: first-packet session %u: %s%d %s\n", i,
				st < 0 ? "error " : "HTTP ", st, resp ? resp : "");
			free(resp);
			fp->fails++;
			if (st < 0)
				return st;
			continue;
		}
		root = json_loadb(resp, len, 0, NULL);
		free(resp);
		/* Streams a (leg A) and a + 1 (leg B) were reserved in the stream table. */
		rc = rtpgen_session_answer(g, api, root, a / 2, ipa, port, ipb, port, id);
		json_decref(root);
		if (rc < 0) {
			fp->fails++;
			continue;
		}
		rtpgen_stream_setup(g, a, (uint16_t)(a * 7919u));
		rtpgen_stream_setup(g, a + 1, (uint16_t)((a + 1) * 7919u));
		if (!g->have_dst_mac &&
		    rtpgen_resolve(g, g->st[a].src_ip, g->st[a].dst_ip) < 0) {
			fprintf(stderr, "rtpgen: no ARP reply from the relay\n");
			return -ETIMEDOUT;
		}
		while (rtpgen_send_one(g, a) < 0 && !rtpgen_quit)
			rtpgen_service(g);
		end = rte_rdtsc() + g->hz;
		while (!rtpgen_quit && rte_rdtsc() < end) {
			rtpgen_service(g);
			/* Relaxed: a count the receiver writes; only its change matters. */
			if (__atomic_load_n(&g->rxs.st[a].seq.received, __ATOMIC_RELAXED) > 0) {
				t1 = rte_rdtsc();
				break;
			}
		}
		if (i > 0) {
			if (t1)
				fp->delay[fp->n_delay++] = t1 - t0;
			else
				fp->lost++;
		}
		snprintf(path, sizeof(path), "/v1/sessions/%s", id);
		st = httpc_request(api->h, "DELETE", path, NULL, 0, NULL, NULL);
		if (st != 204)
			fprintf(stderr, "rtpgen: DELETE %s: %d\n", path, st);
	}
	return 0;
}

static int
rtpgen_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static json_t *
rtpgen_fp_json(const struct rtpgen *g, struct rtpgen_fp *fp)
{
	json_t *o = json_object();
	uint32_t n = fp->n_delay;

	json_object_set_new(o, "sessions", json_integer(fp->n));
	json_object_set_new(o, "received", json_integer(n));
	json_object_set_new(o, "lost", json_integer(fp->lost));
	json_object_set_new(o, "failed", json_integer(fp->fails));
	if (n) {
		/* Exact percentiles from the sorted delays (nearest rank). */
		qsort(fp->delay, n, sizeof(*fp->delay), rtpgen_cmp_u64);
		json_object_set_new(o, "p50_us", json_real(rtpgen_r3(rtpgen_us(g,
			(double)fp->delay[(n * 50 + 99) / 100 - 1]))));
		json_object_set_new(o, "p99_us", json_real(rtpgen_r3(rtpgen_us(g,
			(double)fp->delay[(n * 99 + 99) / 100 - 1]))));
		json_object_set_new(o, "max_us", json_real(rtpgen_r3(rtpgen_us(g,
			(double)fp->delay[n - 1]))));
		json_object_set_new(o, "min_us", json_real(rtpgen_r3(rtpgen_us(g,
			(double)fp->delay[0]))));
	}
	return o;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: rtpgen EAL-ARGS -- [options]\n"
		"streams (one of):\n"
		"  -f, --flows FILE     {\"flows\":[{\"src\":\"IP:PORT\",\"dst\":\"IP:PORT\"}]}:\n"
		"                       flows 2k and 2k+1 are the two legs of a session\n"
		"  -F, --flow SRC,DST   one flow (repeatable): 198.18.0.10:5004,198.18.0.1:30000\n"
		"  --api HOST:PORT      create the sessions on mrelayd over REST (remotes\n"
		"                       198.18.0.10-209, even ports from 10000)\n"
		"  --token T            bearer token for --api\n"
		"  --sessions N         sessions to create (default 1; 0 with --first-packet)\n"
		"  --batch B            POST /v1/sessions/batch with B sessions each (<= 1000)\n"
		"  --pipeline D         requests in flight (default 32; 1 with --batch)\n"
		"  --keep               do not delete the sessions at exit\n"
		"  --flows-out FILE     write the streams as a flows file (-f) once they exist\n"
		"  --idle-timeout S     sessions' idle_timeout (default 3600)\n"
		"traffic:\n"
		"  -t, --duration SEC   measured time (default 10; 0: no traffic trial)\n"
		"  -r, --rate PPS       total packets/s, 0 = as fast as possible (default)\n"
		"  --packets N          stop the trial after N packets (an exact count for tests)\n"
		"  --stream-pps P       every stream sends P packets/s, evenly spread (50: 20 ms)\n"
		"  --dir a|b|both       into leg A, into leg B, or both (default)\n"
		"  -s, --payload BYTES  RTP payload size (default 200, at least 16)\n"
		"  -w, --warmup MS      warm-up: a packet per stream, then wait (default 200)\n"
		"  -q, --rxq N          RX queues to poll (= the peer's TX queues; default 1)\n"
		"  --txq N              TX queues (= the peer's RX queues; default 1): each stream\n"
		"                       goes to the queue a NIC would pick (--spread)\n"
		"  --spread rss|tuple   rss: RSS on the destination address and port with mrelayd's\n"
		"                       key and table (steering = \"rss_emulated\", a steering NIC);\n"
		"                       tuple: RSS on the 4-tuple (a NIC that does not steer)\n"
		"  -m, --dst-mac MAC    next hop's MAC (default: ARP for the first stream's dst)\n"
		"  --srtp a|ab          leg A, or both legs, speak SRTP (one master key); give it\n"
		"                       to every run on the same sessions\n"
		"  --srtp-suite gcm|cm80  AEAD_AES_128_GCM (default) or AES_CM_128_HMAC_SHA1_80\n"
		"  --srtp-state FILE    SRTP sequence numbers and ROCs: read at start if present,\n"
		"                       written at exit (runs on the same sessions go on)\n"
		"checks:\n"
		"  -V, --verify         check IPv4/UDP checksums of what comes back\n"
		"  --check-payload      compare the whole payload pattern (the stamp always is)\n"
		"  --expect pair|reflect|any  where copies come back: the other leg (default),\n"
		"                       the sender itself (an I/O forwarder), or not checked\n"
		"  --drain MS           wait for stragglers after a trial, at most (default 2000)\n"
		"measurements:\n"
		"  --search             RFC 2544 throughput: highest rate without loss\n"
		"  --trial SEC          seconds per search trial (default 5)\n"
		"  --precision F        search until the interval is F of the rate (default 0.01)\n"
		"  --loss-tolerance F   loss fraction a passing trial may have (default 0)\n"
		"  --latency-at F       after the search, a trial at F x the zero-loss rate\n"
		"  --first-packet N     N sessions one by one: delay from 201 to the first packet\n"
		"                       relayed (needs --api)\n"
		"  -l, --label TEXT     label copied into the JSON line\n");
}

enum {
	OPT_API = 256, OPT_TOKEN, OPT_SESSIONS, OPT_BATCH, OPT_PIPELINE, OPT_KEEP, OPT_IDLE,
	OPT_FLOWS_OUT,
	OPT_STREAM_PPS, OPT_DIR, OPT_CHECK_PAYLOAD, OPT_EXPECT, OPT_DRAIN, OPT_SEARCH, OPT_TRIAL,
	OPT_PRECISION, OPT_TOLERANCE, OPT_LATENCY_AT, OPT_FIRST_PACKET, OPT_PACKETS,
	OPT_TXQ, OPT_SPREAD, OPT_SRTP, OPT_SRTP_STATE, OPT_SRTP_SUITE,
};

static int
rtpgen_num(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi))
		return -EINVAL;
	*out = v;
	return 0;
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
		{ "api", required_argument, NULL, OPT_API },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "sessions", required_argument, NULL, OPT_SESSIONS },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "pipeline", required_argument, NULL, OPT_PIPELINE },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "flows-out", required_argument, NULL, OPT_FLOWS_OUT },
		{ "idle-timeout", required_argument, NULL, OPT_IDLE },
		{ "stream-pps", required_argument, NULL, OPT_STREAM_PPS },
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "check-payload", no_argument, NULL, OPT_CHECK_PAYLOAD },
		{ "expect", required_argument, NULL, OPT_EXPECT },
		{ "drain", required_argument, NULL, OPT_DRAIN },
		{ "search", no_argument, NULL, OPT_SEARCH },
		{ "trial", required_argument, NULL, OPT_TRIAL },
		{ "precision", required_argument, NULL, OPT_PRECISION },
		{ "loss-tolerance", required_argument, NULL, OPT_TOLERANCE },
		{ "latency-at", required_argument, NULL, OPT_LATENCY_AT },
		{ "first-packet", required_argument, NULL, OPT_FIRST_PACKET },
		{ "packets", required_argument, NULL, OPT_PACKETS },
		{ "txq", required_argument, NULL, OPT_TXQ },
		{ "spread", required_argument, NULL, OPT_SPREAD },
		{ "srtp", required_argument, NULL, OPT_SRTP },
		{ "srtp-state", required_argument, NULL, OPT_SRTP_STATE },
		{ "srtp-suite", required_argument, NULL, OPT_SRTP_SUITE },
		{ NULL, 0, NULL, 0 },
	};
	static struct rtpgen gen;
	static struct rtpgen_api api;
	static struct rtpgen_fp fp;
	static struct rtpgen_search search;
	static struct rtpgen_trial main_trial;
	struct rtpgen *g = &gen;
	const struct rtpgen_trial *rep = NULL;
	const char *label = "", *dir = "both", *mode, *flows_out = NULL, *srtp_state = NULL;
	double duration = 10, rate = 0, stream_pps = 0, v;
	uint64_t max_packets = 0;
	unsigned int warmup_ms = 200, drain_ms = 2000, rx_lcore = RTE_MAX_LCORE, lc;
	int c, rc, check_payload = 0, do_search = 0, sessions_set = 0, expect_set = 0;
	uint64_t warm_back = 0;
	uint32_t i;
	json_t *out;
	char *line;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "rtpgen: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	g->payload = 200;
	g->n_rxq = 1;
	g->n_txq = 1;
	api.sessions = 1;
	api.idle_timeout = 3600;
	search.trial_s = 5;
	search.precision = 0.01;
	while ((c = getopt_long(argc, argv, "f:F:t:r:s:w:q:m:Vl:h", opts, NULL)) != -1) {
		char *comma;

		switch (c) {
		case 'f':
			if (rtpgen_load_flows(g, optarg) < 0)
				return 2;
			break;
		case 'F':
			comma = strchr(optarg, ',');
			if (comma == NULL) {
				fprintf(stderr, "rtpgen: --flow wants SRC,DST\n");
				return 2;
			}
			*comma = 0;
			if (rtpgen_add_flow(g, optarg, comma + 1) < 0)
				return 2;
			break;
		case 't':
			if (rtpgen_num(optarg, 0, 1e6, &duration) < 0)
				goto bad;
			break;
		case 'r':
			if (rtpgen_num(optarg, 0, 1e9, &rate) < 0)
				goto bad;
			break;
		case 's':
			if (rtpgen_num(optarg, RTPGEN_MIN_PAYLOAD, RTPGEN_MAX_PAYLOAD, &v) < 0)
				goto bad;
			g->payload = (uint16_t)v;
			break;
		case 'w':
			if (rtpgen_num(optarg, 0, 60000, &v) < 0)
				goto bad;
			warmup_ms = (unsigned int)v;
			break;
		case 'q':
			if (rtpgen_num(optarg, 1, RTPGEN_MAX_RXQ, &v) < 0)
				goto bad;
			g->n_rxq = (uint16_t)v;
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
		case OPT_API:
			api.hostport = optarg;
			break;
		case OPT_TOKEN:
			api.token = optarg;
			break;
		case OPT_SESSIONS:
			if (rtpgen_num(optarg, 0, RTPGEN_MAX_SESSIONS, &v) < 0)
				goto bad;
			api.sessions = (uint32_t)v;
			sessions_set = 1;
			break;
		case OPT_BATCH:
			if (rtpgen_num(optarg, 0, 1000, &v) < 0)
				goto bad;
			api.batch = (uint32_t)v;
			break;
		case OPT_PIPELINE:
			if (rtpgen_num(optarg, 1, 1024, &v) < 0)
				goto bad;
			api.pipeline = (uint32_t)v;
			break;
		case OPT_KEEP:
			api.keep = 1;
			break;
		case OPT_FLOWS_OUT:
			flows_out = optarg;
			break;
		case OPT_IDLE:
			if (rtpgen_num(optarg, 1, 86400, &v) < 0)
				goto bad;
			api.idle_timeout = (uint32_t)v;
			break;
		case OPT_STREAM_PPS:
			if (rtpgen_num(optarg, 0.001, 1e6, &stream_pps) < 0)
				goto bad;
			break;
		case OPT_DIR:
			if (strcmp(optarg, "a") && strcmp(optarg, "b") && strcmp(optarg, "both"))
				goto bad;
			dir = optarg;
			break;
		case OPT_CHECK_PAYLOAD:
			check_payload = 1;
			break;
		case OPT_EXPECT:
			if (strcmp(optarg, "pair") == 0)
				g->expect = RTPGEN_EXPECT_PAIR;
			else if (strcmp(optarg, "reflect") == 0)
				g->expect = RTPGEN_EXPECT_REFLECT;
			else if (strcmp(optarg, "any") == 0)
				g->expect = RTPGEN_EXPECT_ANY;
			else
				goto bad;
			expect_set = 1;
			break;
		case OPT_DRAIN:
			if (rtpgen_num(optarg, 0, 60000, &v) < 0)
				goto bad;
			drain_ms = (unsigned int)v;
			break;
		case OPT_SEARCH:
			do_search = 1;
			break;
		case OPT_TRIAL:
			if (rtpgen_num(optarg, 0.1, 3600, &search.trial_s) < 0)
				goto bad;
			break;
		case OPT_PRECISION:
			if (rtpgen_num(optarg, 1e-6, 0.5, &search.precision) < 0)
				goto bad;
			break;
		case OPT_TOLERANCE:
			if (rtpgen_num(optarg, 0, 1, &search.tolerance) < 0)
				goto bad;
			break;
		case OPT_LATENCY_AT:
			if (rtpgen_num(optarg, 0.001, 1, &search.latency_at) < 0)
				goto bad;
			break;
		case OPT_TXQ:
			if (rtpgen_num(optarg, 1, 64, &v) < 0)
				goto bad;
			g->n_txq = (uint16_t)v;
			break;
		case OPT_SPREAD:
			if (strcmp(optarg, "rss") == 0)
				g->spread = RTPGEN_SPREAD_RSS;
			else if (strcmp(optarg, "tuple") == 0)
				g->spread = RTPGEN_SPREAD_TUPLE;
			else
				goto bad;
			break;
		case OPT_SRTP:
			if (strcmp(optarg, "a") == 0)
				g->srtp = 1;
			else if (strcmp(optarg, "ab") == 0)
				g->srtp = 2;
			else
				goto bad;
			api.srtp = g->srtp;
			break;
		case OPT_SRTP_STATE:
			srtp_state = optarg;
			break;
		case OPT_SRTP_SUITE:
			if (strcmp(optarg, "gcm") == 0)
				g->srtp_cm = 0;
			else if (strcmp(optarg, "cm80") == 0)
				g->srtp_cm = 1;
			else
				goto bad;
			break;
		case OPT_PACKETS:
			if (rtpgen_num(optarg, 1, 1e15, &v) < 0)
				goto bad;
			max_packets = (uint64_t)v;
			break;
		case OPT_FIRST_PACKET:
			if (rtpgen_num(optarg, 1, RTPGEN_MAX_FP, &v) < 0)
				goto bad;
			fp.n = (uint32_t)v;
			break;
		default:
			usage(stderr);
			return 2;
		}
		continue;
bad:
		fprintf(stderr, "rtpgen: bad value '%s' for option %s\n", optarg, argv[optind - 1]);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "rtpgen: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (api.hostport != NULL && g->n_streams > 0) {
		fprintf(stderr, "rtpgen: --api or flows (-f, -F), not both\n");
		return 2;
	}
	if (api.hostport == NULL && (fp.n || sessions_set || api.batch)) {
		fprintf(stderr, "rtpgen: --sessions, --batch and --first-packet need --api\n");
		return 2;
	}
	if (api.hostport != NULL && !sessions_set && fp.n)
		api.sessions = 0;
	if (api.hostport != NULL && api.sessions == 0 && fp.n == 0) {
		fprintf(stderr, "rtpgen: --sessions 0 only with --first-packet\n");
		return 2;
	}
	if (api.pipeline == 0)
		api.pipeline = api.batch ? 1 : 32;
	if (api.hostport == NULL && g->n_streams == 0) {
		usage(stderr);
		return 2;
	}
	if (api.hostport == NULL && duration <= 0) {
		fprintf(stderr, "rtpgen: -t 0 only with --api\n");
		return 2;
	}
	if (g->expect == RTPGEN_EXPECT_PAIR && api.hostport == NULL && (g->n_streams & 1)) {
		fprintf(stderr, "rtpgen: %u flows: pairs (2k, 2k+1) need an even number; "
			"give --expect reflect or any\n", g->n_streams);
		return 2;
	}
	if (api.hostport != NULL && expect_set && g->expect != RTPGEN_EXPECT_PAIR) {
		fprintf(stderr, "rtpgen: sessions come back on the other leg: --expect pair\n");
		return 2;
	}
	if (stream_pps > 0 && rate > 0) {
		fprintf(stderr, "rtpgen: -r or --stream-pps, not both\n");
		return 2;
	}
	/* The table mrelayd's "rss_emulated" ports assume: its key, 128 entries. */
	memcpy(g->rss.key, mr_rss_default_key, sizeof(g->rss.key));
	g->rss.key_len = 40;
	g->rss.reta_size = 128;
	mr_rss_reta_fill(g->rss.key, g->rss.reta_size, g->n_txq, g->rss.reta);
	if (rte_eth_dev_count_avail() < 1) {
		fprintf(stderr, "rtpgen: no port: give one with --vdev\n");
		return 1;
	}
	RTE_ETH_FOREACH_DEV(g->port)
		break;
	signal(SIGINT, rtpgen_on_signal);
	signal(SIGTERM, rtpgen_on_signal);
	g->hz = rte_get_tsc_hz();
	g->frame_len = RTPGEN_HDRS + RTPGEN_RTP_HLEN + g->payload;

	/* The stream table: the flows, or 2 per session plus 2 per --first-packet session. */
	if (api.hostport != NULL) {
		g->n_main = 2 * api.sessions;
		g->n_streams = g->n_main + (fp.n ? 2 * (fp.n + 1) : 0);
		if (rtpgen_grow(g, g->n_streams) < 0) {
			fprintf(stderr, "rtpgen: out of memory for %u streams\n", g->n_streams);
			return 1;
		}
		api.ids = calloc(api.sessions ? api.sessions : 1, RTPGEN_ID_LEN);
		if (api.ids == NULL) {
			fprintf(stderr, "rtpgen: out of memory for %u session ids\n",
				api.sessions);
			return 1;
		}
	} else {
		g->n_main = g->n_streams;
	}
	g->step = strcmp(dir, "both") ? 2 : 1;
	g->first = strcmp(dir, "b") == 0 ? 1 : 0;
	if (g->expect != RTPGEN_EXPECT_PAIR && g->step == 2 && g->n_main < 2) {
		fprintf(stderr, "rtpgen: --dir a|b needs at least 2 streams\n");
		return 2;
	}
	g->n_active = g->n_main > g->first ? (g->n_main - g->first + g->step - 1) / g->step : 0;
	g->cur = g->first;
	if (stream_pps > 0)
		rate = stream_pps * g->n_active;
	mode = stream_pps > 0 ? "paced" : rate > 0 ? "rate" : "full";
	if (rtpgen_rx_init(&g->rxs, g->n_streams, g->payload, check_payload) < 0) {
		fprintf(stderr, "rtpgen: out of memory for %u streams' receive state\n",
			g->n_streams);
		return 1;
	}

	if (g->srtp && (fp.n > 0 || g->payload > RTPGEN_MAX_PAYLOAD - RTPGEN_SRTP_TAG)) {
		fprintf(stderr, "rtpgen: --srtp goes with neither --first-packet nor a payload "
			"above %u bytes\n", RTPGEN_MAX_PAYLOAD - RTPGEN_SRTP_TAG);
		return 2;
	}
	g->srtp_tag = g->srtp_cm ? RTPGEN_CM_TAG : RTPGEN_SRTP_TAG;
	if (g->srtp && rtpgen_srtp_init(g) < 0) {
		fprintf(stderr, "rtpgen: --srtp: IPsec-MB or the key derivation failed\n");
		return 1;
	}
	if (g->srtp) {
		/* An SRTP leg's remote key: what rtpgen encrypts with (mrelay makes its own). */
		char key[64];

		EVP_EncodeBlock((unsigned char *)key, rtpgen_srtp_master, g->srtp_cm ? 30 : 28);
		snprintf(api.srtp_obj, sizeof(api.srtp_obj),
			 ",\"srtp\":{\"remote_key\":\"%s inline:%s\"}",
			 g->srtp_cm ? "AES_CM_128_HMAC_SHA1_80" : "AEAD_AES_128_GCM", key);
	}
	g->mp = rte_pktmbuf_pool_create("rtpgen_mp", RTPGEN_MBUFS, 256, 0,
					RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	g->arp_ring = rte_ring_create("rtpgen_arp", 1024, rte_socket_id(), RING_F_SC_DEQ);
	if (g->mp == NULL || g->arp_ring == NULL ||
	    rtpgen_collect_addrs(g, api.hostport != NULL) < 0) {
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
	g->rx_here = rx_lcore == RTE_MAX_LCORE;
	if (!g->rx_here)
		rte_eal_remote_launch(rtpgen_rx_lcore, g, rx_lcore);

	if (api.hostport != NULL) {
		api.h = httpc_open(api.hostport, api.token);
		if (api.h == NULL) {
			fprintf(stderr, "rtpgen: %s: %s\n", api.hostport, strerror(errno));
			rc = 1;
			goto out;
		}
		if (api.sessions > 0) {
			rc = rtpgen_create_sessions(g, &api);
			if (rc < 0) {
				rc = 1;
				goto out;
			}
			fprintf(stderr, "rtpgen: %u sessions in %.3f s (%.0f/s)\n", api.n_ids,
				api.create_s, api.n_ids / api.create_s);
		}
	}
	if (flows_out != NULL && rtpgen_write_flows(g, flows_out) < 0) {
		rc = 1;
		goto out;
	}
	for (i = 0; i < g->n_main; i++)
		rtpgen_stream_setup(g, i, (uint16_t)(i * 7919u));
	if (g->srtp && srtp_state != NULL && rtpgen_srtp_state_load(g, srtp_state) < 0) {
		fprintf(stderr, "rtpgen: --srtp-state %s: unreadable, or not %u streams\n",
			srtp_state, g->n_main);
		rc = 1;
		goto out;
	}
	if (g->have_dst_mac)
		rtpgen_build_template(g);
	else if (g->n_main > 0 && rtpgen_resolve(g, g->st[0].src_ip, g->st[0].dst_ip) < 0) {
		fprintf(stderr, "rtpgen: no ARP reply for the first stream's destination\n");
		rc = 1;
		goto out;
	}

	rc = 0;
	if (g->n_active > 0 && duration > 0) {
		warm_back = rtpgen_warmup(g, warmup_ms);
		if (do_search) {
			rtpgen_search(g, &search, drain_ms);
			if (search.best >= 0)
				rep = &search.trials[search.best];
			else if (search.n_trials > 0)
				rep = &search.trials[0];
		} else {
			rtpgen_run_trial(g, rate, duration, max_packets, drain_ms, &main_trial);
			rep = &main_trial;
		}
	}
	if (fp.n > 0 && !rtpgen_quit) {
		rc = rtpgen_first_packet(g, &api, &fp);
		if (rc < 0)
			rc = 1;
	}
out:
	if (api.h != NULL && !api.keep && api.n_ids > 0)
		rtpgen_delete_sessions(&api);
	if (!g->rx_here) {
		/* Release: see rtpgen_rx_lcore(). */
		__atomic_store_n(&g->stop_rx, 1, __ATOMIC_RELEASE);
		rte_eal_wait_lcore(rx_lcore);
	}
	if (rc == 0 && g->srtp && srtp_state != NULL && rtpgen_srtp_state_save(g, srtp_state) < 0) {
		fprintf(stderr, "rtpgen: --srtp-state %s: %s\n", srtp_state, strerror(errno));
		rc = 1;
	}
	if (rc == 0) {
		static const struct rtpgen_trial none;
		const struct rtpgen_trial *t = rep ? rep : &none;

		out = json_object();
		json_object_set_new(out, "tool", json_string("rtpgen"));
		json_object_set_new(out, "label", json_string(label));
		json_object_set_new(out, "flows", json_integer(g->n_main));
		json_object_set_new(out, "addresses", json_integer(g->n_addrs));
		json_object_set_new(out, "frame_bytes", json_integer(g->frame_len));
		json_object_set_new(out, "lcores", json_integer(rte_lcore_count()));
		json_object_set_new(out, "rate_pps", json_integer((json_int_t)t->rate));
		json_object_set_new(out, "duration_s", json_real(rtpgen_r3(t->secs)));
		json_object_set_new(out, "warmup_returned", json_integer((json_int_t)warm_back));
		json_object_set_new(out, "tx", json_integer((json_int_t)t->tx));
		json_object_set_new(out, "rx", json_integer((json_int_t)t->returned));
		json_object_set_new(out, "tx_pps", json_integer((json_int_t)t->tx_pps));
		json_object_set_new(out, "rx_pps", json_integer((json_int_t)(t->secs > 0 ?
					t->returned / t->secs : 0)));
		json_object_set_new(out, "tx_ring_full", json_integer((json_int_t)t->tx_full));
		json_object_set_new(out, "rx_bad_cksum", json_integer((json_int_t)t->bad_cksum));
		json_object_set_new(out, "rx_other", json_integer((json_int_t)g->rx.other));
		if (g->srtp) {
			json_object_set_new(out, "srtp_returned",
					    json_integer((json_int_t)t->srtp_returned));
			json_object_set_new(out, "srtp_job_errors",
					    json_integer((json_int_t)g->srtp_job_err));
		}
		json_object_set_new(out, "arp_replies",
				    json_integer((json_int_t)g->rx.arp_replies));
		json_object_set_new(out, "tsc_hz", json_integer((json_int_t)g->hz));
		json_object_set_new(out, "streams", json_integer(g->n_active));
		json_object_set_new(out, "dir", json_string(dir));
		json_object_set_new(out, "mode", json_string(do_search ? "search" : mode));
		if (stream_pps > 0)
			json_object_set_new(out, "stream_pps", json_real(stream_pps));
		json_object_set_new(out, "payload_bytes", json_integer(g->payload));
		json_object_set_new(out, "expect", json_string(
			g->expect == RTPGEN_EXPECT_PAIR ? "pair" :
			g->expect == RTPGEN_EXPECT_REFLECT ? "reflect" : "any"));
		json_object_set_new(out, "relayed", json_integer((json_int_t)t->relayed));
		json_object_set_new(out, "relayed_pps", json_integer((json_int_t)t->rx_pps));
		json_object_set_new(out, "lost", json_integer((json_int_t)t->lost));
		json_object_set_new(out, "streams_with_loss", json_integer(t->streams_lost));
		json_object_set_new(out, "reordered", json_integer((json_int_t)t->reordered));
		json_object_set_new(out, "duplicates", json_integer((json_int_t)t->dup));
		json_object_set_new(out, "bad_stamp", json_integer((json_int_t)t->bad_stamp));
		json_object_set_new(out, "bad_addr", json_integer((json_int_t)t->bad_addr));
		json_object_set_new(out, "bad_payload", json_integer((json_int_t)t->bad_payload));
		json_object_set_new(out, "payload_checked", json_boolean(check_payload));
		json_object_set_new(out, "latency_us", rtpgen_latency_json(t));
		json_object_set_new(out, "jitter_us", json_pack("{s:f,s:f}",
			"mean", rtpgen_r3(t->jit_mean), "max", rtpgen_r3(t->jit_max)));
		if (api.hostport != NULL) {
			json_t *a = json_object();

			json_object_set_new(a, "sessions", json_integer(api.n_ids));
			json_object_set_new(a, "batch", json_integer(api.batch));
			json_object_set_new(a, "pipeline", json_integer(api.pipeline));
			json_object_set_new(a, "create_s", json_real(rtpgen_r3(api.create_s)));
			json_object_set_new(a, "created_per_s", json_integer(api.create_s > 0 ?
				(json_int_t)(api.n_ids / api.create_s) : 0));
			json_object_set_new(a, "kept", json_boolean(api.keep));
			json_object_set_new(a, "deleted", json_integer(api.deleted));
			json_object_set_new(a, "delete_failed", json_integer(api.delete_failed));
			json_object_set_new(a, "delete_s", json_real(rtpgen_r3(api.delete_s)));
			json_object_set_new(a, "deleted_per_s", json_integer(api.delete_s > 0 ?
				(json_int_t)(api.deleted / api.delete_s) : 0));
			json_object_set_new(out, "api", a);
		}
		if (do_search) {
			json_t *s = json_object(), *arr = json_array();
			unsigned int k;

			for (k = 0; k < search.n_trials; k++)
				json_array_append_new(arr, rtpgen_trial_json(&search.trials[k]));
			json_object_set_new(s, "trial_s", json_real(search.trial_s));
			json_object_set_new(s, "precision", json_real(search.precision));
			json_object_set_new(s, "loss_tolerance", json_real(search.tolerance));
			json_object_set_new(s, "max_pps", json_integer((json_int_t)search.max_pps));
			json_object_set_new(s, "zero_loss_pps", search.best >= 0 ?
				json_integer((json_int_t)search.trials[search.best].tx_pps) :
				json_null());
			json_object_set_new(s, "zero_loss", search.best >= 0 ?
				rtpgen_trial_json(&search.trials[search.best]) : json_null());
			if (search.latency_at > 0) {
				json_t *la = search.at >= 0 ?
					rtpgen_trial_json(&search.trials[search.at]) : json_null();

				if (search.at >= 0)
					json_object_set_new(la, "fraction",
							    json_real(search.latency_at));
				json_object_set_new(s, "latency_at", la);
			}
			json_object_set_new(s, "trials", arr);
			json_object_set_new(out, "search", s);
		}
		if (fp.n > 0)
			json_object_set_new(out, "first_packet", rtpgen_fp_json(g, &fp));
		line = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(12));
		if (line != NULL)
			printf("%s\n", line);
		fflush(stdout);
		free(line);
		json_decref(out);
	}
	httpc_close(api.h);
	rte_eth_dev_stop(g->port);
	rte_eth_dev_close(g->port);
	rtpgen_rx_free(&g->rxs);
	free(search.trials);
	free(fp.delay);
	free(api.ids);
	free(g->st);
	free(g->addrs);
	rte_eal_cleanup();
	return rc ? 1 : 0;
}
