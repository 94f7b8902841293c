/* SPDX-License-Identifier: BSD-3-Clause */
#include "counters.h"

const char *const mr_drop_name[MR_DROP_MAX] = {
#define MR_X_NAME(e, n, h) [MR_DROP_##e] = n,
	MR_DROP_REASONS(MR_X_NAME)
#undef MR_X_NAME
};

const char *const mr_drop_help[MR_DROP_MAX] = {
#define MR_X_HELP(e, n, h) [MR_DROP_##e] = h,
	MR_DROP_REASONS(MR_X_HELP)
#undef MR_X_HELP
};

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
