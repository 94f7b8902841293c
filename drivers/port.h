/* SPDX-License-Identifier: BSD-3-Clause
 * Appliance ports: probe (PCI address or vdev string), configure queues and offloads, start.
 */
#ifndef MR_PORT_H
#define MR_PORT_H

#include <stddef.h>
#include <rte_mempool.h>
#include "config.h"
#include "dp.h"

struct mr_rss;

/* Probe pc->device, configure it with pc->rx_queues RX queues (more where the device fills
 * more: out->n_rxq) and n_txq TX queues (one per worker), fill the dataplane view *out
 * (addresses, MAC, offloads, checksum trust), start it. With several workers and
 * pc->steering "auto" or "rss", hash on the local endpoint where the device can (a queue
 * per worker at least) and fill *rss for the prediction (rss.h); rss->reta_size is 0 when
 * the port does not steer by RSS. 0 or -errno with err filled. */
int mr_port_setup(const struct mr_port_conf *pc, uint16_t n_txq, struct rte_mempool *mp,
		  struct mr_dp_port *out, struct mr_rss *rss, char *err, size_t errlen);
void mr_port_close(struct mr_dp_port *p);
int mr_port_link_up(const struct mr_dp_port *p);

#endif
