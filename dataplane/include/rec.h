/* SPDX-License-Identifier: BSD-3-Clause
 * Recording captures (docs/ARCHITECTURE.md "Recording"): what the workers hand the control
 * plane's recording writer thread (controlplane/media/recorder.c). Part of the contract.
 *
 * A recorded stream (a room's audio stream, a session's leg) carries a recording id
 * (struct mr_dp_stream rec_id, struct mr_dp_leg rec_id; cp: rw with relaxed stores, dp: ro
 * with relaxed loads, 0 = not recorded). For each RTP packet it accepts on such a stream the
 * owner lcore copies the packet into an mbuf of dp->rec_mp behind a struct mr_rec_cap and
 * enqueues it on dp->rec_ring (multi-producer, the writer thread is the single consumer).
 * Only recorded packets are copied; the packet itself goes on unchanged. A full ring or an
 * empty pool drops the capture, counted in the lcore's rec_dropped, never the media.
 *
 * The control plane also puts its own messages on the ring (start, stop), as tagged
 * pointers (bit 0 set: mbufs are never odd), so that a stop reaches the writer after the
 * captures enqueued before it.
 */
#ifndef MR_REC_H
#define MR_REC_H

#include <stdint.h>

struct mr_rec_cap {
	uint16_t rec_id;		/* the recording */
	uint16_t len;			/* RTP bytes that follow */
	uint32_t key;			/* the file within the recording: a room stream's SSRC,
					 * a session leg's index */
	uint64_t tsc;			/* when it arrived */
};

/* Room for one capture: struct mr_rec_cap and an RTP packet up to an Ethernet MTU. */
#define MR_REC_BUF 1536
#define MR_REC_MSG_TAG 1u

#endif
