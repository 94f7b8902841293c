/* SPDX-License-Identifier: BSD-3-Clause
 * RSS on the local endpoint: the port hashes only the destination address and UDP port of a
 * packet (RTE_ETH_RSS_L3_DST_ONLY | RTE_ETH_RSS_L4_DST_ONLY), so the RX queue of every packet
 * sent to a relay port is a function of that port alone, and the control plane predicts it
 * with the device's key and redirection table (Toeplitz, rte_softrss) when it allocates the
 * port (docs/ARCHITECTURE.md "Steering"). Pure C: no EAL needed.
 *
 * The hash input is the destination address then the destination port, in network order
 * (the Microsoft RSS order of the fields kept); the queue is reta[hash % reta_size].
 */
#ifndef MR_RSS_H
#define MR_RSS_H

#include <stdint.h>

#include "mr_types.h"

#define MR_RSS_KEY_MAX 64
#define MR_RSS_RETA_MAX 2048

/* What the prediction needs, read back from the device after start. */
struct mr_rss {
	uint8_t key_len;		/* >= 24: the IPv6 input is 18 bytes, plus a word */
	uint8_t key[MR_RSS_KEY_MAX];
	uint16_t reta_size;		/* a power of two; 0: the port does not steer by RSS */
	uint16_t reta[MR_RSS_RETA_MAX];	/* RX queue of each hash % reta_size */
};

/* The key mrelayd gives a device that takes one (RSS_KEY_MAX bytes; a device uses its own
 * key size of it): the Microsoft verification key, extended. */
extern const uint8_t mr_rss_default_key[MR_RSS_KEY_MAX];

/* Toeplitz hash of dst's address and port (family MR_AF4 or MR_AF6) under key. The key
 * has at least 12 (IPv4) or 24 (IPv6) bytes. */
uint32_t mr_rss_hash(const uint8_t *key, const struct mr_ep *dst);
/* The RX queue a packet to dst lands on. r->reta_size must not be 0. */
uint16_t mr_rss_queue(const struct mr_rss *r, const struct mr_ep *dst);
/* A redirection table of reta_size entries spreading n_q queues round robin such that the
 * RTP port p (even) and its RTCP port p + 1 always land on the same queue, for IPv4 and IPv6
 * and every address: the Toeplitz hash is linear, so hash(a, p + 1) = hash(a, p) ^ c with c
 * the key's window at the port's last bit, one constant per family; entries i, i ^ c4, i ^ c6
 * and i ^ c4 ^ c6 get the same queue. */
void mr_rss_reta_fill(const uint8_t *key, uint16_t reta_size, uint16_t n_q, uint16_t *reta);

#endif
