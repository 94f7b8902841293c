/* SPDX-License-Identifier: BSD-3-Clause
 * iofwd: the ceiling of the benchmarks (docs/PERFORMANCE.md). A plain DPDK I/O forwarder that
 * sends every packet it receives back out of the same port, with the Ethernet addresses
 * swapped and, for IPv4/UDP, the IP addresses and UDP ports swapped too, so that the generator
 * counts it as returned. Swapping leaves both checksums valid (RFC 1071: the sum does not
 * depend on the order of the words).
 *
 *   iofwd EAL-ARGS -- [-q TXQ]
 *
 * One worker lcore, bursts of 32, the same TSC accounting as mrelayd's worker
 * (dataplane/core/worker.c): cycles of loop iterations that moved packets count as busy, the others
 * as idle, and cycles_per_packet = busy_cycles / rx_packets. SIGUSR1 prints the counters as one
 * JSON line; SIGINT or SIGTERM prints them and exits.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#define IOFWD_BURST 32
#define IOFWD_MBUFS 8191

/* Per-lcore counters: plain stores by the worker, relaxed loads by the main lcore. */
struct iofwd_stats {
	uint64_t rx_packets;
	uint64_t tx_packets;
	uint64_t tx_drops;	/* refused by a full TX ring and freed */
	uint64_t busy_cycles;
	uint64_t idle_cycles;
	uint64_t iterations;
} __rte_cache_aligned;

static struct iofwd_stats iofwd_st;
static uint16_t iofwd_port;
static int iofwd_stop;
static volatile sig_atomic_t iofwd_quit, iofwd_dump;

static void
iofwd_on_signal(int sig)
{
	if (sig == SIGUSR1)
		iofwd_dump = 1;
	else
		iofwd_quit = 1;
}

/* Turn a received frame around in place. */
static inline void
iofwd_swap(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ether_addr tmac;

	rte_ether_addr_copy(&eth->src_addr, &tmac);
	rte_ether_addr_copy(&eth->dst_addr, &eth->src_addr);
	rte_ether_addr_copy(&tmac, &eth->dst_addr);
	if (eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
	    m->data_len >= sizeof(*eth) + sizeof(struct rte_ipv4_hdr) +
	    sizeof(struct rte_udp_hdr)) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
		uint32_t a = ip->src_addr;

		ip->src_addr = ip->dst_addr;
		ip->dst_addr = a;
		if (ip->next_proto_id == IPPROTO_UDP) {
			struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((uint8_t *)ip +
				rte_ipv4_hdr_len(ip));
			uint16_t p = udp->src_port;

			udp->src_port = udp->dst_port;
			udp->dst_port = p;
		}
	}
}

static int
iofwd_worker(void *arg)
{
	struct iofwd_stats *st = &iofwd_st;
	struct rte_mbuf *pkts[IOFWD_BURST];
	uint64_t t0, t1;

	(void)arg;
	t0 = rte_get_tsc_cycles();
	/* Relaxed: a plain stop flag; the main lcore waits for the worker to return. */
	while (!__atomic_load_n(&iofwd_stop, __ATOMIC_RELAXED)) {
		uint16_t n = rte_eth_rx_burst(iofwd_port, 0, pkts, IOFWD_BURST), i, sent;

		if (n) {
			for (i = 0; i < n; i++) {
				if (i + 1 < n)
					rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
				iofwd_swap(pkts[i]);
			}
			sent = rte_eth_tx_burst(iofwd_port, 0, pkts, n);
			if (unlikely(sent < n)) {
				rte_pktmbuf_free_bulk(&pkts[sent], n - sent);
				st->tx_drops += n - sent;
			}
			st->rx_packets += n;
			st->tx_packets += sent;
		}
		/* Same accounting as mrelayd: an iteration that moved packets is busy. */
		t1 = rte_get_tsc_cycles();
		if (n)
			st->busy_cycles += t1 - t0;
		else
			st->idle_cycles += t1 - t0;
		st->iterations++;
		t0 = t1;
	}
	return 0;
}

static void
iofwd_print(const char *event)
{
	const uint64_t *src = (const uint64_t *)&iofwd_st;
	struct iofwd_stats s;
	uint64_t *dst = (uint64_t *)&s;
	size_t i;

	for (i = 0; i < offsetof(struct iofwd_stats, iterations) / 8 + 1; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	printf("{\"tool\":\"iofwd\",\"event\":\"%s\",\"rx_packets\":%" PRIu64
	       ",\"tx_packets\":%" PRIu64 ",\"tx_drops\":%" PRIu64 ",\"busy_cycles\":%" PRIu64
	       ",\"idle_cycles\":%" PRIu64 ",\"cycles_per_packet\":%.2f,\"tsc_hz\":%" PRIu64 "}\n",
	       event, s.rx_packets, s.tx_packets, s.tx_drops, s.busy_cycles, s.idle_cycles,
	       s.rx_packets ? (double)s.busy_cycles / s.rx_packets : 0.0, rte_get_tsc_hz());
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct rte_eth_conf conf;
	struct rte_mempool *mp;
	uint16_t q, ntxq = 1, nrx = 1024, ntx = 1024;
	unsigned int worker = RTE_MAX_LCORE, lc;
	int rc, c;

	/* Before anything else: a SIGUSR1 that arrives during start-up must not kill us. */
	signal(SIGINT, iofwd_on_signal);
	signal(SIGTERM, iofwd_on_signal);
	signal(SIGUSR1, iofwd_on_signal);
	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "iofwd: EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	while ((c = getopt(argc, argv, "q:h")) != -1) {
		switch (c) {
		case 'q':
			/* TX queues to create: the generator's RX queues must match on memif.
			 * Only queue 0 carries traffic. */
			ntxq = (uint16_t)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: iofwd EAL-ARGS -- [-q TXQUEUES]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	RTE_LCORE_FOREACH_WORKER(lc) {
		worker = lc;
		break;
	}
	if (worker == RTE_MAX_LCORE || rte_eth_dev_count_avail() < 1 || ntxq == 0) {
		fprintf(stderr, "iofwd: needs two lcores (-l MAIN,WORKER) and a port (--vdev)\n");
		return 2;
	}
	RTE_ETH_FOREACH_DEV(iofwd_port)
		break;
	mp = rte_pktmbuf_pool_create("iofwd_mp", IOFWD_MBUFS, 256, 0,
				     RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr, "iofwd: mbuf pool: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	memset(&conf, 0, sizeof(conf));
	rc = rte_eth_dev_configure(iofwd_port, 1, ntxq, &conf);
	if (rc == 0)
		rc = rte_eth_dev_adjust_nb_rx_tx_desc(iofwd_port, &nrx, &ntx);
	if (rc == 0)
		rc = rte_eth_rx_queue_setup(iofwd_port, 0, nrx, rte_eth_dev_socket_id(iofwd_port),
					    NULL, mp);
	for (q = 0; rc == 0 && q < ntxq; q++)
		rc = rte_eth_tx_queue_setup(iofwd_port, q, ntx,
					    rte_eth_dev_socket_id(iofwd_port), NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(iofwd_port);
	if (rc < 0) {
		fprintf(stderr, "iofwd: port %u: %s\n", iofwd_port, rte_strerror(-rc));
		return 1;
	}
	rte_eth_promiscuous_enable(iofwd_port);
	rte_eal_remote_launch(iofwd_worker, NULL, worker);
	fprintf(stderr, "iofwd: port %u, worker lcore %u; SIGUSR1 prints counters\n",
		iofwd_port, worker);
	while (!iofwd_quit) {
		usleep(10000);
		if (iofwd_dump && !iofwd_quit) {
			iofwd_dump = 0;
			iofwd_print("snapshot");
		}
	}
	__atomic_store_n(&iofwd_stop, 1, __ATOMIC_RELAXED);
	rte_eal_wait_lcore(worker);
	iofwd_print("exit");
	rte_eth_dev_stop(iofwd_port);
	rte_eth_dev_close(iofwd_port);
	rte_eal_cleanup();
	return 0;
}
