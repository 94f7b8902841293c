/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_malloc.h>

#include "port.h"
#include "rss.h"
#include "mr_log.h"

MR_LOG_REGISTER(mr_logtype_port, port);
#define PORT_LOG(level, ...) MR_LOG(level, mr_logtype_port, "port", __VA_ARGS__)

/* Find the ethdev a device string names: a vdev is created, a PCI device is looked up. */
static int
mr_port_probe(const char *device, uint16_t *port_id, char *err, size_t errlen)
{
	char name[RTE_DEV_NAME_MAX_LEN];
	const char *comma = strchr(device, ',');
	size_t n = comma ? (size_t)(comma - device) : strlen(device);
	uint16_t pid;
	int rc;

	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, device, n);
	name[n] = 0;
	/* Already probed (PCI devices given with -a, or found on the bus)? */
	if (rte_eth_dev_get_port_by_name(name, &pid) == 0) {
		*port_id = pid;
		return 0;
	}
	rc = rte_dev_probe(device);
	if (rc < 0) {
		snprintf(err, errlen, "device '%s': probe failed: %s%s", device, rte_strerror(-rc),
			 strncmp(device, "net_", 4) == 0 ? "" :
			 " (is the NIC bound to vfio-pci? see docs/OPERATIONS.md)");
		return rc;
	}
	if (rte_eth_dev_get_port_by_name(name, &pid) != 0) {
		/* PCI names are normalised by the bus ("3:00.0" → "0000:03:00.0"). */
		RTE_ETH_FOREACH_DEV(pid) {
			struct rte_eth_dev_info di;

			if (rte_eth_dev_info_get(pid, &di) == 0 && di.device &&
			    strstr(rte_dev_name(di.device), name)) {
				*port_id = pid;
				return 0;
			}
		}
		snprintf(err, errlen, "device '%s': probed but no ethdev port appeared", device);
		return -ENODEV;
	}
	*port_id = pid;
	return 0;
}

/* net_tap gives the kernel interface the same MAC as the port. A kernel bridge then takes
 * frames for that MAC as its own and never passes them to the port: give the kernel side a
 * MAC of its own (the port's with the last byte changed, locally administered). */
static void
mr_port_tap_fixup(uint16_t pid, const struct rte_ether_addr *mac)
{
	struct rte_eth_dev_info di;
	struct ifreq ifr;
	int fd;

	if (rte_eth_dev_info_get(pid, &di) != 0 || di.if_index == 0 ||
	    strncmp(di.driver_name, "net_tap", 7) != 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	if (if_indextoname(di.if_index, ifr.ifr_name) == NULL)
		return;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return;
	ifr.ifr_hwaddr.sa_family = 1;	/* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, mac->addr_bytes, 6);
	ifr.ifr_hwaddr.sa_data[0] |= 0x02;
	ifr.ifr_hwaddr.sa_data[5] ^= 0x01;
	if (ioctl(fd, SIOCSIFHWADDR, &ifr) != 0)
		PORT_LOG(WARNING, "tap %s: cannot set the kernel side's MAC: %s\n",
			ifr.ifr_name, strerror(errno));
	close(fd);
}

static int
mr_is_driver(const struct rte_eth_dev_info *di, const char *name)
{
	return strcmp(di->driver_name, name) == 0;
}

/* RX queues that receive traffic whatever is configured, so the workers must poll them all:
 * net_tap needs as many RX as TX queues; net_af_packet opens all its qpairs sockets at probe,
 * in one PACKET_FANOUT group, and the kernel spreads flows over every one of them (its
 * max_rx_queues is qpairs). */
static uint16_t
mr_port_rxq_floor(const struct rte_eth_dev_info *di, uint16_t n_txq)
{
	if (mr_is_driver(di, "net_tap"))
		return n_txq;
	if (mr_is_driver(di, "net_af_packet"))
		return di->max_rx_queues;
	return 1;
}

/* Whether the port cannot vouch for the UDP checksums it receives (ports.rx_checksum).
 * "auto": the PMDs that read a kernel interface through a socket (af_packet, pcap, af_xdp)
 * get frames a local sender left with a partial checksum (TP_STATUS_CSUMNOTREADY, which
 * they do not report); a NIC receives complete checksums from the wire, and a TAP gets
 * them completed by the kernel. */
static int
mr_port_rx_recompute(const struct mr_port_conf *pc, const struct rte_eth_dev_info *di)
{
	if (pc->rx_cksum != MR_RX_CKSUM_AUTO)
		return pc->rx_cksum == MR_RX_CKSUM_RECOMPUTE;
	return mr_is_driver(di, "net_af_packet") || mr_is_driver(di, "net_pcap") ||
		mr_is_driver(di, "net_af_xdp");
}

/* Why a device's queues do not fit: one line naming what to change. */
static int
mr_port_queue_err(const struct mr_port_conf *pc, const struct rte_eth_dev_info *di,
		  uint16_t nrxq, uint16_t n_txq, char *err, size_t errlen)
{
	unsigned int need = RTE_MAX(nrxq, n_txq);

	if (mr_is_driver(di, "net_af_packet"))
		snprintf(err, errlen, "port %s: net_af_packet has %u queue pair(s) but needs %u "
			 "(one TX queue per worker in lcores.workers, ports.rx_queues = %u): add "
			 "qpairs=%u to its device string", pc->name, di->max_tx_queues, need,
			 pc->rx_queues, need);
	else if (nrxq > di->max_rx_queues)
		snprintf(err, errlen, "port %s: the device has %u RX queues, ports.rx_queues is %u",
			 pc->name, di->max_rx_queues, nrxq);
	else
		snprintf(err, errlen, "port %s: the device has %u TX queues, mrelayd needs one per "
			 "worker (lcores.workers lists %u)", pc->name, di->max_tx_queues, n_txq);
	return -EINVAL;
}

/* The RSS functions that hash the local endpoint only (rss.h): UDP over IPv4 and IPv6 where
 * the port has such addresses, on the destination address and port. */
static uint64_t
mr_port_rss_dst_hf(const struct mr_port_conf *pc)
{
	uint64_t hf = RTE_ETH_RSS_L3_DST_ONLY | RTE_ETH_RSS_L4_DST_ONLY;

	if (pc->addr4.family)
		hf |= RTE_ETH_RSS_NONFRAG_IPV4_UDP;
	if (pc->addr6.family)
		hf |= RTE_ETH_RSS_NONFRAG_IPV6_UDP;
	return hf;
}

/* Why the device cannot steer by RSS on the local endpoint, or NULL when it can with nrxq
 * queues (capabilities of rte_eth_dev_info; the device may still refuse at configure). */
static const char *
mr_port_rss_unfit(const struct mr_port_conf *pc, const struct rte_eth_dev_info *di,
		  uint16_t nrxq)
{
	uint64_t hf = mr_port_rss_dst_hf(pc);

	if (nrxq < 2)
		return "one RX queue";
	if ((di->flow_type_rss_offloads & hf) != hf)
		return "no RSS on the UDP destination (RTE_ETH_RSS_L3_DST_ONLY | "
			"RTE_ETH_RSS_L4_DST_ONLY)";
	if (di->reta_size == 0 || di->reta_size > MR_RSS_RETA_MAX ||
	    (di->reta_size & (di->reta_size - 1)) != 0)
		return "no redirection table of a usable size";
	if (di->hash_key_size != 0 && (di->hash_key_size < 24 ||
				       di->hash_key_size > MR_RSS_KEY_MAX))
		return "an RSS key of an unusual size";
	return NULL;
}

/* After start: program the redirection table that keeps p and p + 1 on one queue
 * (mr_rss_reta_fill), then read back what the prediction needs: the key, the hash functions
 * in force and the table. A device that does not confirm all of it does not steer by RSS
 * (*why says what failed). */
static int
mr_port_rss_readback(uint16_t pid, const struct mr_port_conf *pc,
		     const struct rte_eth_dev_info *di, uint16_t nrxq, struct mr_rss *r,
		     const char **why)
{
	struct rte_eth_rss_reta_entry64 reta[MR_RSS_RETA_MAX / RTE_ETH_RETA_GROUP_SIZE];
	struct rte_eth_rss_conf rc;
	uint64_t hf = mr_port_rss_dst_hf(pc);
	unsigned int i, n_grp = (di->reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) /
		RTE_ETH_RETA_GROUP_SIZE;

	memset(&rc, 0, sizeof(rc));
	rc.rss_key = r->key;
	rc.rss_key_len = sizeof(r->key);
	if (rte_eth_dev_rss_hash_conf_get(pid, &rc) != 0 || rc.rss_key_len < 24) {
		*why = "the RSS key cannot be read back";
		return -ENOTSUP;
	}
	if ((rc.rss_hf & hf) != hf) {
		*why = "the device dropped the destination-only RSS functions";
		return -ENOTSUP;
	}
	r->key_len = rc.rss_key_len;
	r->reta_size = di->reta_size;
	mr_rss_reta_fill(r->key, r->reta_size, nrxq, r->reta);
	memset(reta, 0, sizeof(reta));
	for (i = 0; i < r->reta_size; i++) {
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
		reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = r->reta[i];
	}
	if (rte_eth_dev_rss_reta_update(pid, reta, r->reta_size) != 0)
		PORT_LOG(WARNING, "port %s: the redirection table cannot be set: RTP and RTCP "
			"ports may land on different queues\n", pc->name);
	for (i = 0; i < n_grp; i++)
		reta[i].mask = UINT64_MAX;
	if (rte_eth_dev_rss_reta_query(pid, reta, r->reta_size) != 0) {
		*why = "the redirection table cannot be read back";
		r->reta_size = 0;
		return -ENOTSUP;
	}
	for (i = 0; i < r->reta_size; i++) {
		r->reta[i] = reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
		if (r->reta[i] >= nrxq) {
			*why = "the redirection table names a queue that is not configured";
			r->reta_size = 0;
			return -ENOTSUP;
		}
	}
	return 0;
}

int
mr_port_setup(const struct mr_port_conf *pc, uint16_t n_txq, struct rte_mempool *mp,
	      struct mr_dp_port *out, struct mr_rss *rss, char *err, size_t errlen)
{
	const char *why = NULL;
	int want_rss;
	struct rte_eth_conf conf;
	struct rte_eth_dev_info di;
	uint16_t pid, q, nrx = pc->rx_desc, ntx = pc->tx_desc, nrxq = pc->rx_queues;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = mr_port_probe(pc->device, &pid, err, errlen);
	if (rc < 0)
		return rc;
	rc = rte_eth_dev_info_get(pid, &di);
	if (rc < 0) {
		snprintf(err, errlen, "port %s: cannot read device info: %s", pc->name,
			 rte_strerror(-rc));
		return rc;
	}
	/* One TX queue per worker, no TX locks (the control thread sends through worker 0).
	 * Every RX queue that gets traffic is polled: more than asked for where the device
	 * fills them anyway. */
	nrxq = RTE_MAX(nrxq, mr_port_rxq_floor(&di, n_txq));
	/* RSS on the local endpoint (rss.h) with several workers: a queue per worker at
	 * least, so that every worker can be the one a relay port lands on. */
	memset(rss, 0, sizeof(*rss));
	want_rss = (pc->steering == MR_STEER_AUTO || pc->steering == MR_STEER_RSS) &&
		n_txq > 1;
	if (pc->steering == MR_STEER_RSS_EMULATED) {
		/* The peer hashes (perf/rtpgen --spread rss): the table it assumes. */
		nrxq = RTE_MAX(nrxq, n_txq);
		memcpy(rss->key, mr_rss_default_key, sizeof(rss->key));
		rss->key_len = 40;
		rss->reta_size = 128;
		mr_rss_reta_fill(rss->key, rss->reta_size, nrxq, rss->reta);
	} else if (want_rss) {
		why = mr_port_rss_unfit(pc, &di, RTE_MIN(RTE_MAX(nrxq, n_txq),
							 di.max_rx_queues));
		if (why == NULL)
			nrxq = RTE_MAX(nrxq, n_txq);
	} else if (pc->steering == MR_STEER_RSS) {
		why = "one worker";
	}
	if (why != NULL && pc->steering == MR_STEER_RSS) {
		snprintf(err, errlen, "port %s: steering = \"rss\" but the device cannot: %s",
			 pc->name, why);
		return -ENOTSUP;
	}
	if (nrxq > di.max_rx_queues || n_txq > di.max_tx_queues)
		return mr_port_queue_err(pc, &di, nrxq, n_txq, err, errlen);
	memset(&conf, 0, sizeof(conf));
	if (want_rss && why == NULL) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = mr_port_rss_dst_hf(pc);
		if (di.hash_key_size != 0) {
			memcpy(rss->key, mr_rss_default_key, di.hash_key_size);
			conf.rx_adv_conf.rss_conf.rss_key = rss->key;
			conf.rx_adv_conf.rss_conf.rss_key_len = di.hash_key_size;
		}
	} else if (nrxq > 1) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf =
			(RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP) & di.flow_type_rss_offloads;
		if (conf.rx_adv_conf.rss_conf.rss_hf == 0)
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
	}
	/* Checksum offloads where the device has them; the worker computes them otherwise. */
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if (!pc->tx_offload)
		conf.txmode.offloads = 0;
	/* Fast free (every mbuf from one pool, reference count 1) speeds up the relay's TX;
	 * rooms then fan out by copy only on this port, since indirect mbufs break its rules
	 * (tx_no_chain below). Chained mbufs need MULTI_SEGS where the device lists it. */
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	rc = rte_eth_dev_configure(pid, nrxq, n_txq, &conf);
	if (rc < 0) {
		snprintf(err, errlen, "port %s: configure failed: %s", pc->name, rte_strerror(-rc));
		return rc;
	}
	rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
	if (pc->mtu) {
		rc = rte_eth_dev_set_mtu(pid, pc->mtu);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: mtu %u refused: %s", pc->name, pc->mtu,
				 rte_strerror(-rc));
			return rc;
		}
	}
	for (q = 0; q < nrxq; q++) {
		rc = rte_eth_rx_queue_setup(pid, q, nrx, rte_eth_dev_socket_id(pid), NULL, mp);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: RX queue %u: %s", pc->name, q,
				 rte_strerror(-rc));
			return rc;
		}
	}
	for (q = 0; q < n_txq; q++) {
		struct rte_eth_txconf txc = di.default_txconf;

		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_tx_queue_setup(pid, q, ntx, rte_eth_dev_socket_id(pid), &txc);
		if (rc < 0) {
			snprintf(err, errlen, "port %s: TX queue %u: %s", pc->name, q,
				 rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_start(pid);
	if (rc < 0) {
		snprintf(err, errlen, "port %s: start failed: %s", pc->name, rte_strerror(-rc));
		return rc;
	}
	/* Neighbor discovery uses multicast destinations (RFC 4861 §7.2.2); the worker filters
	 * unicast by MAC itself. */
	rte_eth_promiscuous_enable(pid);
	rte_eth_allmulticast_enable(pid);
	if (want_rss && why == NULL &&
	    mr_port_rss_readback(pid, pc, &di, nrxq, rss, &why) != 0) {
		memset(rss, 0, sizeof(*rss));
		if (pc->steering == MR_STEER_RSS) {
			snprintf(err, errlen, "port %s: steering = \"rss\" but %s", pc->name, why);
			rte_eth_dev_stop(pid);
			return -ENOTSUP;
		}
	}
	if (want_rss && why != NULL)
		PORT_LOG(INFO, "port %s: no RSS on the local endpoint: %s\n", pc->name, why);

	out->port_id = pid;
	out->n_rxq = nrxq;
	/* Fan-out by indirect mbufs only where the port takes chains and frees them normally
	 * (the software PMDs here do, without listing MULTI_SEGS). */
	out->tx_no_chain = (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0;
	out->vlan = pc->vlan;
	rte_eth_macaddr_get(pid, &out->mac);
	mr_port_tap_fixup(pid, &out->mac);
	if (pc->addr4.family) {
		out->has4 = 1;
		out->plen4 = pc->addr4.len;
		memcpy(out->addr4, pc->addr4.a, 4);
		out->n_addr4 = (uint16_t)pc->n_addr4;
	}
	if (pc->addr6.family) {
		out->has6 = 1;
		out->plen6 = pc->addr6.len;
		memcpy(out->addr6, pc->addr6.a, 16);
	}
	/* fe80::/64 with the modified EUI-64 of the MAC (RFC 4291 appendix A). */
	out->ll6[0] = 0xfe;
	out->ll6[1] = 0x80;
	out->ll6[8] = out->mac.addr_bytes[0] ^ 0x02;
	out->ll6[9] = out->mac.addr_bytes[1];
	out->ll6[10] = out->mac.addr_bytes[2];
	out->ll6[11] = 0xff;
	out->ll6[12] = 0xfe;
	out->ll6[13] = out->mac.addr_bytes[3];
	out->ll6[14] = out->mac.addr_bytes[4];
	out->ll6[15] = out->mac.addr_bytes[5];
	out->tx_ip_cksum = !!(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
	out->tx_udp_cksum = !!(conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
	out->rx_cksum_recompute = (uint8_t)mr_port_rx_recompute(pc, &di);
	snprintf(out->name, sizeof(out->name), "%s", pc->name);
	out->neigh = rte_zmalloc("mr_neigh", sizeof(struct mr_neigh_slot) * MR_NEIGH_SLOTS,
				 RTE_CACHE_LINE_SIZE);
	if (out->neigh == NULL) {
		snprintf(err, errlen, "port %s: out of memory for the neighbor table", pc->name);
		rte_eth_dev_stop(pid);
		return -ENOMEM;
	}
	PORT_LOG(INFO, "port %s: %s port %u mac " RTE_ETHER_ADDR_PRT_FMT
		" rxq %u txq %u offloads ip:%s udp:%s rx udp checksums: %s\n", pc->name,
		pc->device, pid, RTE_ETHER_ADDR_BYTES(&out->mac), nrxq, n_txq,
		out->tx_ip_cksum ? "hw" : "sw", out->tx_udp_cksum ? "hw" : "sw",
		out->rx_cksum_recompute ? "recompute" : "trust");
	return 0;
}

void
mr_port_close(struct mr_dp_port *p)
{
	if (p->neigh == NULL)
		return;
	rte_eth_dev_stop(p->port_id);
	rte_eth_dev_close(p->port_id);
	rte_free(p->neigh);
	p->neigh = NULL;
}

int
mr_port_link_up(const struct mr_dp_port *p)
{
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(p->port_id, &link) < 0)
		return 0;
	return link.link_status == RTE_ETH_LINK_UP;
}
