/* SPDX-License-Identifier: BSD-3-Clause
 * A strict reader of Ogg/Opus files held in memory (RFC 3533 pages, RFC 7845 headers and
 * mapping, RFC 6716 §3.1 packet TOCs): what an uploaded voice message must be before it is
 * stored or played (controlplane/media/messages.c). It accepts one logical stream (no
 * chaining, no multiplexing), mono or stereo (channel mapping family 0), and refuses
 * anything else with one line naming the problem and where: "page 3: bad CRC",
 * "packet 7: invalid Opus TOC". Pages are counted from 0 (as Ogg sequence numbers are),
 * packets from 0 (OpusHead is packet 0, OpusTags 1, the first audio packet 2).
 *
 * Pure C (libopus for the packet structure checks): unit-tested without the EAL
 * (tests/unit/test_oggread.c) and fuzzed (tests/fuzz/fuzz_oggread.c).
 */
#ifndef MR_OGGREAD_H
#define MR_OGGREAD_H

#include <stddef.h>
#include <stdint.h>

/* Largest audio packet accepted: it must fit one RTP packet when played into a room. */
#define MR_OGGR_MAX_PACKET 1500

struct mr_oggr_info {
	uint32_t serial;		/* the logical stream's serial number */
	uint8_t channels;		/* 1 or 2 */
	uint16_t preskip;		/* OpusHead pre-skip, 48 kHz samples */
	uint32_t input_rate;		/* OpusHead input sample rate (informational) */
	uint32_t pages;
	uint64_t packets;		/* audio packets (headers not counted) */
	uint64_t samples;		/* 48 kHz samples of the audio packets, from their TOCs */
	int64_t granule;		/* the last page's granule position */
	uint64_t duration_ms;		/* samples / 48 */
};

/* Called for every audio packet, in order: its bytes (inside buf, or in a reassembly buffer
 * valid during the call only) and its 48 kHz samples. A non-zero return stops the parse
 * with that value. */
typedef int (*mr_oggr_packet_fn)(void *arg, const uint8_t *pkt, size_t len, uint32_t samples);

/* Check the whole file at buf (len bytes) and fill info. Each audio packet goes to cb when
 * cb is not NULL. 0, or -EINVAL with the problem in err; a callback's non-zero value is
 * returned as it is. */
int mr_oggr_parse(const uint8_t *buf, size_t len, struct mr_oggr_info *info,
		  mr_oggr_packet_fn cb, void *arg, char *err, size_t errlen);

/* The Ogg CRC-32 (RFC 3533 §6: polynomial 0x04c11db7, no reflection, initial value 0) of
 * len bytes, continuing crc. */
uint32_t mr_ogg_crc(uint32_t crc, const uint8_t *p, size_t len);

#endif
