/* SPDX-License-Identifier: BSD-3-Clause
 * The command message: what the control plane asks of a worker lcore over its command ring
 * (struct mr_worker.cmd). Part of the contract (dataplane/include/).
 */
#ifndef MR_CMD_H
#define MR_CMD_H

#include <stdint.h>

#include "mr_types.h"

struct mr_dp_session;

/* Command ring messages, cp → owner lcore (DESIGN.md §2: lcore-owned state is changed only by
 * its owner, on the control plane's request). The owner applies them in order and counts
 * them in struct mr_worker.cmd_done; nothing is acknowledged per object: the control plane
 * frees what commands named once cmd_done passed the last of them and a grace period
 * followed (controlplane/core/defer.h). */
enum mr_cmd_type {
	MR_CMD_SET_REMOTE = 1,	/* set (or clear, family 0) path[].remote of a leg */
	MR_CMD_SRTP_SET,	/* install arg (struct mr_dp_srtp, or NULL: plain) on a leg */
	MR_CMD_LEG_PLAY_PKT,	/* a voice message's packet for leg's remote (controlplane/
				 * sessions/play.c): arg is an mbuf whose data is the RTP
				 * packet, with the default headroom; the owner sends it from
				 * the leg's local endpoint (encrypted when the leg's remote
				 * takes SRTP) and consumes it */
};

/* Room commands on the owner's command ring: struct mr_cmd with type one of
 * these and obj the participant (PART_*) or the stream (SEND_RR). */
enum mr_room_cmd_type {
	MR_CMD_SEND_RR = 17,		/* build and send a receiver report to st->pub */
	MR_CMD_PART_RESET,		/* forget the latched remote (re-join from elsewhere) */
	MR_CMD_PART_SRTP_SET,		/* install arg (struct mr_dp_srtp, or NULL) on obj */
	MR_CMD_PLAY_PKT,		/* a voice message's packet (controlplane/rooms/play.c):
					 * arg is an mbuf whose data is the RTP packet, with the
					 * default headroom; the owner fans it out to the
					 * subscribers of obj, the playback's stream (its pub is
					 * NULL), like a publisher's packet, and consumes it */
	MR_CMD_PART_LATCH,		/* a cluster room's link (controlplane/rooms/span.c):
					 * latch obj on remote, the MAC from the neighbor slot nh
					 * of its port; nothing when that slot is not resolved
					 * (the control plane sends it again) */
};

struct mr_cmd {
	uint32_t type;
	uint8_t leg;
	uint8_t path;
	uint16_t nh;
	struct mr_dp_session *s;
	void *obj;			/* room commands (room_dp.h): the participant or stream */
	void *arg;			/* MR_CMD_SRTP_SET, MR_CMD_PART_SRTP_SET: the new SRTP state */
	struct mr_ep remote;
};

#endif
