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

int
mr_port_setup(const struct mr_port_conf *pc, uint16_t n_txq, struct rte_mempool *mp,
	      struct mr_dp_port *out, char *err, size_t errlen)
{
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
	if (nrxq > di.max_rx_queues || n_txq > di.max_tx_queues)
		return mr_port_queue_err(pc, &di, nrxq, n_txq, err, errlen);
	memset(&conf, 0, sizeof(conf));
	if (nrxq > 1) {
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
