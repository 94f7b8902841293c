/* SPDX-License-Identifier: BSD-3-Clause
 * RTCP parsing and building: RFC 3550 §6 (SR, RR, SDES, BYE, APP, compound packets and the
 * A.2 validity checks), RFC 4585 §6 (generic NACK, PLI), RFC 5104 §4.3.1 (FIR) and
 * draft-alvestrand-rmcat-remb (REMB). Pure C, no allocation, no EAL: used per packet by the
 * owner lcore (dataplane/rooms/room_fwd.c) and by the unit tests.
 *
 * All multi-byte fields are read and written in network order here; every struct below holds
 * host-order values.
 */
#ifndef MR_RTCP_H
#define MR_RTCP_H

#include <stddef.h>
#include <stdint.h>

enum mr_rtcp_type {
	MR_RTCP_SR = 200,
	MR_RTCP_RR = 201,
	MR_RTCP_SDES = 202,
	MR_RTCP_BYE = 203,
	MR_RTCP_APP = 204,
	MR_RTCP_RTPFB = 205,	/* RFC 4585 transport-layer feedback: FMT 1 = generic NACK,
				 * FMT 15 = transport-cc */
	MR_RTCP_PSFB = 206,	/* payload-specific: FMT 1 = PLI, 4 = FIR, 15 = AFB (REMB) */
};

#define MR_RTCP_FMT_NACK 1
#define MR_RTCP_FMT_TCC 15
#define MR_RTCP_FMT_PLI 1
#define MR_RTCP_FMT_FIR 4
#define MR_RTCP_FMT_AFB 15

/* One RTCP packet inside a compound packet. */
struct mr_rtcp_hdr {
	uint8_t type;		/* packet type (enum mr_rtcp_type or any other value) */
	uint8_t count;		/* RC / SC / FMT field (5 bits) */
	uint8_t padding;	/* P bit */
	uint16_t len;		/* whole packet length in bytes, header and padding included */
	uint32_t ssrc;		/* first word after the header (sender SSRC); 0 if len < 8 */
	const uint8_t *p;	/* start of the packet (its 4-byte header) */
};

/* RFC 3550 §6.4.1 sender info. */
struct mr_rtcp_sr {
	uint32_t ssrc;
	uint64_t ntp;		/* 32.32 NTP timestamp */
	uint32_t rtp_ts;
	uint32_t pkt_count;
	uint32_t octet_count;
};

/* RFC 3550 §6.4.1 report block. */
struct mr_rtcp_rb {
	uint32_t ssrc;		/* source this block reports on */
	uint8_t fraction_lost;
	int32_t cum_lost;	/* 24-bit signed */
	uint32_t ext_high_seq;
	uint32_t jitter;
	uint32_t lsr;		/* middle 32 bits of the last SR's NTP time */
	uint32_t dlsr;		/* 1/65536 s */
};

/* RFC 3550 A.2 checks on a compound packet: version 2 everywhere, the first packet an SR or
 * RR (or, RFC 5506 reduced size, an RTPFB/PSFB feedback packet, alone or followed by others),
 * padding only on the last one, lengths adding up exactly to len. 0 when valid, -EINVAL
 * otherwise (also for len 0). */
int mr_rtcp_validate(const uint8_t *buf, size_t len);

/* Iterate the packets of a compound: *off starts at 0. Returns 1 and fills h, 0 at the end,
 * -EINVAL on a malformed packet (bad version, fewer than 4 bytes left, length past the end,
 * a padding count of 0 or larger than the packet after its header). Checks nothing across
 * packets (first type, padding position): that is mr_rtcp_validate(). */
int mr_rtcp_next(const uint8_t *buf, size_t len, size_t *off, struct mr_rtcp_hdr *h);

/* SR sender info; -EINVAL if h is not a well-formed SR. */
int mr_rtcp_sr_parse(const struct mr_rtcp_hdr *h, struct mr_rtcp_sr *sr);
/* Report block i (0 .. count-1) of an SR or RR; -EINVAL if absent or truncated. */
int mr_rtcp_rb_parse(const struct mr_rtcp_hdr *h, unsigned int i, struct mr_rtcp_rb *rb);
/* Media source SSRC of an RTPFB/PSFB packet (the third word); -EINVAL if truncated. */
int mr_rtcp_fb_media_ssrc(const struct mr_rtcp_hdr *h, uint32_t *media_ssrc);
/* Sequence numbers a generic NACK asks for (every PID and each set BLP bit), in order, at most
 * max of them written to seqs. Returns how many there are in all (may exceed max), -EINVAL if
 * h is not a well-formed generic NACK. */
int mr_rtcp_nack_parse(const struct mr_rtcp_hdr *h, uint16_t *seqs, unsigned int max);
/* FIR entry i: target SSRC and command sequence number; -EINVAL if absent. */
int mr_rtcp_fir_parse(const struct mr_rtcp_hdr *h, unsigned int i, uint32_t *ssrc,
		      uint8_t *seq_nr);
/* REMB: bitrate in bit/s and up to max SSRCs; returns the number of SSRCs, -EINVAL if h is not
 * a REMB ("REMB" identifier in a PSFB FMT 15). */
int mr_rtcp_remb_parse(const struct mr_rtcp_hdr *h, uint64_t *bitrate, uint32_t *ssrcs,
		       unsigned int max);

/* Builders: write one packet at buf (cap bytes available) and return its length in bytes, or
 * -ENOSPC when it does not fit (nothing useful written), -EINVAL for a NULL pointer or a count
 * the packet cannot carry (more than 31 report blocks or BYE SSRCs). */
int mr_rtcp_build_rr(uint8_t *buf, size_t cap, uint32_t ssrc, const struct mr_rtcp_rb *rb,
		     unsigned int n_rb);
int mr_rtcp_build_sr(uint8_t *buf, size_t cap, const struct mr_rtcp_sr *sr,
		     const struct mr_rtcp_rb *rb, unsigned int n_rb);
/* SDES with one chunk holding a CNAME item (RFC 3550 §6.5.1); cname at most 255 bytes. */
int mr_rtcp_build_sdes_cname(uint8_t *buf, size_t cap, uint32_t ssrc, const char *cname);
int mr_rtcp_build_bye(uint8_t *buf, size_t cap, const uint32_t *ssrcs, unsigned int n);
/* Generic NACK for seqs (any order, duplicates allowed): packed into the fewest PID/BLP pairs,
 * in sending order across the 65535 -> 0 wrap (for sets spanning less than half the sequence
 * space). -EINVAL when n is 0 (RFC 4585 §6.2.1 needs one pair at least). */
int mr_rtcp_build_nack(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media,
		       const uint16_t *seqs, unsigned int n);
int mr_rtcp_build_pli(uint8_t *buf, size_t cap, uint32_t sender, uint32_t media);
/* FIR with one entry for target (RFC 5104 §4.3.1: the media SSRC field is 0). */
int mr_rtcp_build_fir(uint8_t *buf, size_t cap, uint32_t sender, uint32_t target,
		      uint8_t seq_nr);
/* REMB with the smallest exponent whose 18-bit mantissa holds bitrate, truncated (never above
 * bitrate); n at most 255. */
int mr_rtcp_build_remb(uint8_t *buf, size_t cap, uint32_t sender, uint64_t bitrate,
		       const uint32_t *ssrcs, unsigned int n);

/* RFC 3550 §6.4.1 helpers. */
/* Middle 32 bits of a 32.32 NTP timestamp (what LSR carries). */
static inline uint32_t
mr_ntp_mid(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}

/* Round-trip time in 1/65536 s from a report block received at NTP time now: now - LSR - DLSR
 * (RFC 3550 §6.4.1, "A - LSR - DLSR"); 0 when LSR is 0 (no SR seen yet) or the result would
 * be negative. */
static inline uint32_t
mr_rtcp_rtt(uint64_t now_ntp, uint32_t lsr, uint32_t dlsr)
{
	uint32_t a = mr_ntp_mid(now_ntp);

	if (lsr == 0 || (int32_t)(a - lsr - dlsr) < 0)
		return 0;
	return a - lsr - dlsr;
}

#endif
