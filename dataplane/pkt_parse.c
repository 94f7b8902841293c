/* SPDX-License-Identifier: BSD-3-Clause
 * The parser itself is static inline in pkt_parse.h (hot path); this file holds its tables.
 */
#include "pkt_parse.h"

/* Names used by the API and /metrics; "turn_channel" because only TURN ChannelData
 * (RFC 5766 §11.4) lands in 64..79, TURN methods are STUN messages. */
const char *const mr_class_name[MR_CLASS_MAX] = {
	[MR_CLASS_RTP] = "rtp",
	[MR_CLASS_RTCP] = "rtcp",
	[MR_CLASS_STUN] = "stun",
	[MR_CLASS_ZRTP] = "zrtp",
	[MR_CLASS_DTLS] = "dtls",
	[MR_CLASS_TURN] = "turn_channel",
	[MR_CLASS_OTHER] = "other",
};
