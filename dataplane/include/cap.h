/* SPDX-License-Identifier: BSD-3-Clause
 * Per-flow packet capture (docs/OPERATIONS.md "Capturing one call"): what the workers hand
 * the control plane's capture writer thread (controlplane/media/capture.c). Part of the
 * contract.
 *
 * A captured session leg or room participant carries a capture slot (struct mr_dp_leg
 * cap_id, struct mr_dp_part cap_id; cp: rw with relaxed stores, dp: ro with relaxed loads,
 * 0 = not captured: one load and a predicted branch per packet when nobody captures). The
 * owner lcore copies each whole frame of such an endpoint into an mbuf of dp->cap_mp behind
 * a struct mr_cap_hdr and enqueues it on dp->cap_ring (multi-producer, the writer thread is
 * the single consumer): a frame received on the endpoint as it arrived (MR_CAP_IN, before
 * any rewriting or decryption), and a frame sent from it as it leaves (MR_CAP_OUT, after
 * the headers were written and SRTP applied, just before the TX queue). Only captured
 * endpoints' frames are copied; the frames themselves go on unchanged. A full ring or an
 * empty pool drops the copy, counted in the lcore's cap_dropped, never the media.
 *
 * The control plane also puts its own messages on the ring (start, stop), as tagged
 * pointers (bit 0 set: mbufs are never odd; controlplane/media/wring.h), so that a stop
 * reaches the writer after the copies enqueued before it.
 */
#ifndef MR_CAP_H
#define MR_CAP_H

#include <stdint.h>

enum mr_cap_dir {
	MR_CAP_IN = 0,			/* received on the endpoint */
	MR_CAP_OUT = 1,			/* sent from the endpoint */
};

struct mr_cap_hdr {
	uint8_t slot;			/* the capture (1..MR_CAP_SLOTS - 1) */
	uint8_t dir;			/* enum mr_cap_dir */
	uint16_t len;			/* frame bytes that follow (at most MR_CAP_SNAP) */
	uint32_t orig_len;		/* the frame's length on the wire */
	uint64_t tsc;			/* when it was copied */
};

/* Room for one copy: the header and a frame up to MR_CAP_SNAP bytes (longer frames are
 * cut there; the pcapng record keeps their original length). */
#define MR_CAP_BUF 2048
#define MR_CAP_SNAP (MR_CAP_BUF - (unsigned int)sizeof(struct mr_cap_hdr))
#define MR_CAP_SLOTS 256		/* slot ids are a byte; 0 = none */

#endif
