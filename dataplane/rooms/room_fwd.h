/* SPDX-License-Identifier: BSD-3-Clause
 * Room forwarding on the room's owner lcore (room_fwd.c): called by the worker loop
 * (dataplane/core/worker.c) for packets whose flow is a room participant, and for room
 * commands.
 */
#ifndef MR_ROOM_FWD_H
#define MR_ROOM_FWD_H

#include <stdint.h>
#include <rte_mbuf.h>

#include "dp_priv.h"
#include "room_dp.h"

/* A packet for participant part's local endpoint, on the room's owner lcore. Consumes m
 * (or stages it for SRTP decryption with the rest of the burst, struct mr_srtp_burst). */
void mr_room_fwd_input(struct mr_worker *w, struct rte_mbuf *m, struct mr_pkt_info *pi,
		       struct mr_dp_part *part, uint64_t now);
/* The same packet once it authenticated and was decrypted (SRTP participants). */
void mr_room_fwd_accept(struct mr_worker *w, struct rte_mbuf *m, const struct mr_pkt_info *pi,
			struct mr_dp_part *part, uint64_t now);
/* Encrypt and send the room copies staged for SRTP participants (struct mr_srtp_burst). */
void mr_room_srtp_flush(struct mr_worker *w);
/* Send the mixed packets the media lcores handed this worker (media_dp.h); how many. */
unsigned int mr_room_mix_tx(struct mr_worker *w);
/* A room command (enum mr_room_cmd_type) from the command ring; now is the TSC. */
void mr_room_fwd_cmd(struct mr_worker *w, const struct mr_cmd *c, uint64_t now);

#endif
