/* SPDX-License-Identifier: BSD-3-Clause
 * rtpgen_rx: what rtpgen writes into each RTP packet and checks on each one that comes back,
 * in pure C (no EAL) so that it can be unit-tested: the payload stamp and pattern, the
 * per-stream sequence tracker, the latency histogram and the RFC 3550 A.8 jitter estimator.
 *
 * Packet layout (the UDP payload), all multi-byte fields in network order:
 *
 *   0   RTP fixed header (RFC 3550 §5.1): V=2, PT 0, seq, timestamp, SSRC = BASE + stream
 *   12  stamp: magic "RTPG" (4), stream index (4), TX TSC (8)
 *   28  pattern: bytes that depend on (stream, seq), to the end of the payload
 *
 * Per-stream state is kept small (1,000,000 sessions x 2 directions fit in about 100 MB) and
 * in ordinary memory, allocated by the caller.
 */
#ifndef RTPGEN_RX_H
#define RTPGEN_RX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RTPGEN_RTP_HLEN 12
#define RTPGEN_STAMP_MAGIC 0x52545047u	/* "RTPG" */
#define RTPGEN_STAMP_LEN 16
#define RTPGEN_SSRC_BASE 0x52470000u
/* Smallest RTP payload rtpgen sends: the stamp. */
#define RTPGEN_MIN_PAYLOAD RTPGEN_STAMP_LEN
/* The pattern is a window of a fixed pseudo-random table starting at one of this many
 * 2-byte-aligned offsets, chosen by (stream, seq). A power of two. */
#define RTPGEN_PATTERN_ROT 256u

/* The pattern of the bytes after the stamp. */
struct rtpgen_pattern {
	uint8_t *bytes;		/* len + 2 * RTPGEN_PATTERN_ROT bytes */
	uint32_t *prefix;	/* prefix[k] = sum of the first k native 16-bit words of bytes */
	unsigned int len;	/* pattern bytes in one packet (payload - stamp) */
};

/* Init a pattern for packets of len pattern bytes. 0 or -ENOMEM. */
int rtpgen_pattern_init(struct rtpgen_pattern *p, unsigned int len);
void rtpgen_pattern_free(struct rtpgen_pattern *p);

static inline unsigned int
rtpgen_pattern_offset(uint32_t stream, uint16_t seq)
{
	/* Even, so the window's 16-bit words line up with the checksum's (the pattern starts
	 * at an even offset of the UDP header). */
	return 2 * ((stream * 37u + seq) & (RTPGEN_PATTERN_ROT - 1));
}

static inline const uint8_t *
rtpgen_pattern_get(const struct rtpgen_pattern *p, uint32_t stream, uint16_t seq)
{
	return p->bytes + rtpgen_pattern_offset(stream, seq);
}

static inline void
rtpgen_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t
rtpgen_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Native-order 16-bit word at p, as a checksum loop reads memory. */
static inline uint32_t
rtpgen_word(const uint8_t *p)
{
	uint16_t w;

	memcpy(&w, p, 2);
	return w;
}

/* Sum of the pattern's native 16-bit words (RFC 1071 one's complement sum, not folded), as
 * the Internet checksum sees them when the pattern starts at an even offset. */
static inline uint32_t
rtpgen_pattern_sum(const struct rtpgen_pattern *p, uint32_t stream, uint16_t seq)
{
	unsigned int off = rtpgen_pattern_offset(stream, seq), w0 = off / 2;
	uint32_t s = p->prefix[w0 + p->len / 2] - p->prefix[w0];

	if (p->len & 1) {
		/* An odd last byte counts as a word padded with a zero byte (RFC 1071 §4.1). */
		uint8_t last[2] = { p->bytes[off + p->len - 1], 0 };

		s += rtpgen_word(last);
	}
	return s;
}

/* Fold a 32- or 64-bit sum of 16-bit words to 16 bits (RFC 1071 §4.1), not inverted. */
static inline uint16_t
rtpgen_cksum_fold(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Write the RTP header, stamp and pattern of one packet: rtp has 12 + payload bytes,
 * payload >= RTPGEN_MIN_PAYLOAD and payload - RTPGEN_STAMP_LEN == p->len. */
static inline void
rtpgen_rtp_write(uint8_t *rtp, const struct rtpgen_pattern *p, uint32_t stream, uint16_t seq,
		 uint32_t ts, uint64_t tsc)
{
	/* RFC 3550 §5.1: V=2, no padding, extension or CSRC, M=0, PT 0 (PCMU, RFC 3551). */
	rtp[0] = 0x80;
	rtp[1] = 0;
	rtp[2] = (uint8_t)(seq >> 8);
	rtp[3] = (uint8_t)seq;
	rtpgen_put32(rtp + 4, ts);
	rtpgen_put32(rtp + 8, RTPGEN_SSRC_BASE + stream);
	rtpgen_put32(rtp + 12, RTPGEN_STAMP_MAGIC);
	rtpgen_put32(rtp + 16, stream);
	rtpgen_put32(rtp + 20, (uint32_t)(tsc >> 32));
	rtpgen_put32(rtp + 24, (uint32_t)tsc);
	memcpy(rtp + RTPGEN_RTP_HLEN + RTPGEN_STAMP_LEN, rtpgen_pattern_get(p, stream, seq),
	       p->len);
}

/* The part of the packet's checksum sum that changes per packet: sequence number,
 * timestamp, TX TSC and pattern. The rest (addresses, ports, lengths, RTP version, SSRC,
 * magic, stream index) is the sum over the same packet with those fields zero and no pattern;
 * the two add up to the whole (RFC 1071 §2: the sum is commutative and associative). */
static inline uint32_t
rtpgen_rtp_var_sum(const uint8_t *rtp, const struct rtpgen_pattern *p)
{
	uint16_t seq = (uint16_t)(rtp[2] << 8 | rtp[3]);

	return rtpgen_word(rtp + 2) + rtpgen_word(rtp + 4) + rtpgen_word(rtp + 6) +
		rtpgen_word(rtp + 20) + rtpgen_word(rtp + 22) + rtpgen_word(rtp + 24) +
		rtpgen_word(rtp + 26) + rtpgen_pattern_sum(p, rtpgen_get32(rtp + 16), seq);
}

/* Read the stamp of a returned packet's UDP payload (RTP header first). Checks the RTP
 * version, the magic, the stream index (< n_streams), the SSRC of that stream and the length
 * (12 + payload exactly). 0 with *stream, *seq and *tx_tsc set, or -EBADMSG. */
int rtpgen_stamp_read(const uint8_t *rtp, size_t len, uint16_t payload, uint32_t n_streams,
		      uint32_t *stream, uint16_t *seq, uint64_t *tx_tsc);

/* Compare the pattern after the stamp with the one (stream, seq) must carry. 0 or -EBADMSG. */
int rtpgen_pattern_check(const struct rtpgen_pattern *p, const uint8_t *rtp, uint32_t stream,
			 uint16_t seq);

/* RTP sequence number progression of one stream. */
struct rtpgen_seq {
	uint64_t window;	/* bit d: highest - d was received (d < 64) */
	uint32_t max_ext;	/* highest extended sequence number seen (RFC 3550 A.1 cycles) */
	uint32_t received;	/* distinct packets: no duplicates */
	uint32_t reordered;	/* arrived behind the highest seen */
	uint32_t dup;		/* seen before (within the window) */
};

enum rtpgen_seq_verdict {
	RTPGEN_SEQ_FIRST,	/* the stream's first packet */
	RTPGEN_SEQ_NEXT,	/* ahead of the highest seen (in order, possibly after a gap) */
	RTPGEN_SEQ_REORDERED,	/* behind the highest seen, not seen before */
	RTPGEN_SEQ_DUP,		/* a duplicate */
};

/* Account one packet. A packet more than 64 behind the highest cannot be told from a
 * duplicate any more: it is counted as reordered. */
enum rtpgen_seq_verdict rtpgen_seq_update(struct rtpgen_seq *s, uint16_t seq);

/* Lost packets of a stream that sent `sent`: sent - received, never below 0. */
static inline uint32_t
rtpgen_seq_lost(const struct rtpgen_seq *s, uint32_t sent)
{
	return sent > s->received ? sent - s->received : 0;
}

/* RFC 3550 A.8 interarrival jitter, on transit times measured in TSC cycles (both ends on
 * the same clock, so transit is the real one-way time through the device under test). */
struct rtpgen_jitter {
	uint64_t last_transit;	/* UINT64_MAX: none yet */
	uint64_t j16;		/* jitter x 16, in TSC cycles */
};

static inline void
rtpgen_jitter_reset(struct rtpgen_jitter *j)
{
	j->last_transit = UINT64_MAX;
	j->j16 = 0;
}

void rtpgen_jitter_update(struct rtpgen_jitter *j, uint64_t transit);

static inline uint64_t
rtpgen_jitter_value(const struct rtpgen_jitter *j)
{
	return j->j16 >> 4;
}

/* Log-linear histogram (HDR style): values below 2^(B+1) exact, above that every power-of-two
 * range [2^m, 2^(m+1)) is cut into 2^B buckets of equal width, so a value is known to within
 * 1 / 2^B (3 %) of itself. */
#define RTPGEN_HIST_SUB_BITS 5
#define RTPGEN_HIST_SUB (1u << RTPGEN_HIST_SUB_BITS)
#define RTPGEN_HIST_BUCKETS ((65 - RTPGEN_HIST_SUB_BITS) * RTPGEN_HIST_SUB)

struct rtpgen_hist {
	uint64_t count;
	uint64_t sum;
	uint64_t min, max;
	uint64_t b[RTPGEN_HIST_BUCKETS];
};

void rtpgen_hist_reset(struct rtpgen_hist *h);

static inline unsigned int
rtpgen_hist_index(uint64_t v)
{
	unsigned int m, shift;

	if (v < RTPGEN_HIST_SUB)
		return (unsigned int)v;
	m = 63u - (unsigned int)__builtin_clzll(v);
	shift = m - RTPGEN_HIST_SUB_BITS;
	return shift * RTPGEN_HIST_SUB + (unsigned int)(v >> shift);
}

static inline void
rtpgen_hist_add(struct rtpgen_hist *h, uint64_t v)
{
	h->b[rtpgen_hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

/* Lowest and highest value of bucket idx. */
uint64_t rtpgen_hist_bucket_low(unsigned int idx);
uint64_t rtpgen_hist_bucket_high(unsigned int idx);

/* The value at fraction q (0 < q <= 1) of the recorded values: the highest value of the
 * bucket that holds the ceil(q * count)-th smallest, capped at the largest recorded. 0 when
 * empty. */
uint64_t rtpgen_hist_quantile(const struct rtpgen_hist *h, double q);

/* dst += src. */
void rtpgen_hist_merge(struct rtpgen_hist *dst, const struct rtpgen_hist *src);

/* Per-stream receive state: sequence tracker and jitter. */
struct rtpgen_stream_rx {
	struct rtpgen_seq seq;
	struct rtpgen_jitter jit;
	uint32_t rx_base;	/* seq.received when the trial began */
};

/* Counters of the receive checks, summed over streams. */
struct rtpgen_rx_counters {
	uint64_t ok;		/* packets that passed every check (distinct + reordered) */
	uint64_t reordered;
	uint64_t dup;
	uint64_t bad_stamp;	/* no valid stamp: wrong magic, stream, SSRC, version, length */
	uint64_t bad_payload;	/* valid stamp, pattern differs (--check-payload) */
	uint64_t bad_addr;	/* valid stamp, came from or went to the wrong endpoint */
};

/* The receive side: n_streams states, one histogram, the counters. */
struct rtpgen_rx {
	uint32_t n_streams;
	uint16_t payload;
	int check_payload;
	struct rtpgen_pattern pat;
	struct rtpgen_stream_rx *st;
	struct rtpgen_hist hist;	/* latency = RX TSC - TX TSC */
	struct rtpgen_rx_counters c;
};

/* Allocate the state of n_streams streams of RTP payload `payload` bytes. 0, -EINVAL or
 * -ENOMEM. */
int rtpgen_rx_init(struct rtpgen_rx *rx, uint32_t n_streams, uint16_t payload,
		   int check_payload);
void rtpgen_rx_free(struct rtpgen_rx *rx);

/* Forget the jitter history of every stream and empty the histogram (a new trial), and
 * remember each stream's received count; the sequence trackers and counters go on. */
void rtpgen_rx_reset_trial(struct rtpgen_rx *rx);

/* Check a returned packet's UDP payload (rtp, len) received at TSC rx_tsc. addr_ok says
 * whether its addresses are those the stamped stream's copies must have (the caller knows
 * the endpoints; it may call rtpgen_stamp_read first to learn the stream). Counts it and
 * returns the verdict (enum rtpgen_seq_verdict) or -EBADMSG (bad stamp or payload) or
 * -EADDRNOTAVAIL (wrong addresses). */
int rtpgen_rx_packet(struct rtpgen_rx *rx, const uint8_t *rtp, size_t len, int addr_ok,
		     uint64_t rx_tsc);

/* Account a packet whose stamp has been read (stream, seq, tx_tsc): the second half of
 * rtpgen_rx_packet, for a caller that checked the addresses after reading the stamp. */
int rtpgen_rx_account(struct rtpgen_rx *rx, const uint8_t *rtp, uint32_t stream, uint16_t seq,
		      uint64_t tx_tsc, uint64_t rx_tsc);

/* Account a packet by its stream and sequence number alone (an encrypted payload: no stamp,
 * pattern or latency): the sequence tracker and the ok/reordered/dup counters. */
int rtpgen_rx_account_seq(struct rtpgen_rx *rx, uint32_t stream, uint16_t seq);

/* Jitter over the streams that received a packet this trial: mean and max, in TSC cycles. */
void rtpgen_rx_jitter(const struct rtpgen_rx *rx, double *mean, uint64_t *max,
		      uint32_t *n_streams);

#endif
