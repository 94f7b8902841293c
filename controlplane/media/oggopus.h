/* SPDX-License-Identifier: BSD-3-Clause
 * Ogg/Opus files written from RTP packets without transcoding (RFC 7845 on RFC 7587): the
 * Opus packets of one RTP stream go into one Ogg logical stream, after the OpusHead and
 * OpusTags headers, with granule positions taken from the RTP timestamps (48 kHz, RFC 7587
 * §4.1). A gap in the timestamps (lost packets, DTX, a muted sender) is left as a gap in the
 * granule positions: nothing is invented, and the file's timeline stays the call's. Packets
 * that would go back in time (reordered, duplicated) are skipped and counted.
 *
 * Pure C on libogg and libopus (for the packet durations): used by the recording writer
 * thread (recorder.c) and unit-tested without the EAL (tests/unit/test_oggopus.c).
 */
#ifndef MR_OGGOPUS_H
#define MR_OGGOPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <ogg/ogg.h>

/* Pre-skip written in OpusHead: libopus' encoder delay at 48 kHz (its lookahead, 6.5 ms),
 * what a libopus or GStreamer sender puts in front of the audio. A relay cannot know the
 * sender's real value; this one trims the usual one and never more than a first packet. */
#define MR_OGG_PRESKIP 312
/* A page is written out at least every this many 48 kHz samples (one second), so a
 * recording that stops abruptly loses at most that much. */
#define MR_OGG_PAGE_SAMPLES 48000
/* Largest Opus packet kept (RFC 6716 §3.2.1 allows 1275 bytes a frame; RTP packets of 20 ms
 * carry one frame, or a few small ones). Larger ones are skipped. */
#define MR_OGG_MAX_PACKET 1500

struct mr_oggw {
	FILE *f;
	ogg_stream_state os;
	int64_t packetno;
	uint32_t ts0;			/* RTP timestamp of the first packet */
	int64_t last_rel;		/* ts - ts0 of the last packet written, unwrapped */
	int64_t end;			/* granule position after the last packet */
	int64_t page_start;		/* granule position of the last page flushed */
	uint8_t started;		/* the headers are written */
	/* The last packet is held back until the next one (or the close) so that the end of
	 * stream flag (RFC 7845 §3) can go on it. */
	uint16_t pend_len;		/* 0: none */
	uint8_t pend[MR_OGG_MAX_PACKET];
	uint8_t channels;
	/* counters (the writer's; read by others with relaxed loads) */
	uint64_t packets;		/* audio packets written */
	uint64_t bytes;			/* bytes written to the file */
	uint64_t gaps;			/* timestamp jumps left as gaps */
	uint64_t skipped;		/* reordered, duplicate or invalid packets not written */
};

/* Open path for writing (truncating it); the headers are written with the first packet
 * (its TOC says mono or stereo). serial: the Ogg stream serial number. 0 or -errno. */
int mr_oggw_open(struct mr_oggw *w, const char *path, uint32_t serial);
/* Write one RTP packet's Opus payload with its RTP timestamp. 0 written, 1 skipped
 * (counted: invalid Opus, or not after the last packet), -errno on a write error (the
 * file is then unusable: close it). */
int mr_oggw_packet(struct mr_oggw *w, uint32_t rtp_ts, const uint8_t *opus, size_t len);
/* Flush the last page (end of stream) and close. 0 or -errno (a write error). Always
 * closes. */
int mr_oggw_close(struct mr_oggw *w);

/* The Opus payload of an RTP packet (RFC 3550 §5.1: CSRCs, header extension, padding
 * removed): 0 and *pay, *plen, or -EINVAL when the packet is malformed or empty. */
int mr_rtp_payload(const uint8_t *rtp, size_t len, const uint8_t **pay, size_t *plen);

#endif
