/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: what is inferred about media rather than told. The clock rate and kind of a stream
 * from its payload type (RFC 3551 §6), and the quality subscribers get (MOS through the
 * E-model, controlplane/core/quality.h). Pure: no EAL.
 */
#include <stdint.h>

#include "quality.h"
#include "rooms.h"
#include "rtp_stats.h"

uint32_t
mr_rooms_guess_clock(uint8_t kind, uint8_t pt)
{
	uint32_t r = mr_static_pt_clock_rate(pt);

	if (r != 0)
		return r;
	return kind == MR_KIND_AUDIO ? 48000 : 90000;
}

uint8_t
mr_rooms_guess_kind(uint8_t pt, uint8_t room_default)
{
	/* RFC 3551 §6, tables 4 and 5: 0..23 audio (assigned or reserved for audio), 24..34
	 * video; 35..95 unassigned or RTCP-conflicting, 96..127 dynamic. */
	if (pt <= 23)
		return MR_KIND_AUDIO;
	if (pt <= 34)
		return MR_KIND_VIDEO;
	return room_default;
}

double
mr_rooms_mos(double loss_up, double loss_down, double jitter_up_ms, double jitter_down_ms,
	     double rtt_ms, const char *codec)
{
	struct mr_quality_in q;

	if (loss_up < 0)
		loss_up = 0;
	if (loss_down < 0)
		loss_down = 0;
	/* Losses on the two hops are independent: what survives both is the product. */
	q.loss = 1.0 - (1.0 - (loss_up > 1 ? 1 : loss_up)) * (1.0 - (loss_down > 1 ? 1 : loss_down));
	q.jitter_ms = jitter_up_ms > jitter_down_ms ? jitter_up_ms : jitter_down_ms;
	q.rtt_ms = rtt_ms;
	q.codec = mr_codec_from_name(codec);
	return mr_mos_estimate(&q);
}
