/* SPDX-License-Identifier: BSD-3-Clause
 * Appliance ports: probe (PCI address or vdev string), configure queues and offloads, start.
 */
#ifndef MR_PORT_H
#define MR_PORT_H

#include <stddef.h>
#include <rte_mempool.h>
#include "config.h"
#include "dp.h"

/* Probe pc->device, configure it with pc->rx_queues RX queues (more where the device fills
 * more: out->n_rxq) and n_txq TX queues (one per worker), fill the dataplane view *out
 * (addresses, MAC, offloads, checksum trust), start it. 0 or -errno with err filled. */
int mr_port_setup(const struct mr_port_conf *pc, uint16_t n_txq, struct rte_mempool *mp,
		  struct mr_dp_port *out, char *err, size_t errlen);
void mr_port_close(struct mr_dp_port *p);
int mr_port_link_up(const struct mr_dp_port *p);

#endif
