/* SPDX-License-Identifier: BSD-3-Clause
 * Call quality estimate: a MOS from a simplified ITU-T G.107 E-model, fed with what a relay
 * measures per stream (loss fraction, interarrival jitter, round-trip time) and the codec.
 *
 * Pure C, no state: the control thread calls it when it reports a stream's statistics.
 */
#ifndef MR_QUALITY_H
#define MR_QUALITY_H

enum mr_codec {
	MR_CODEC_UNKNOWN = 0,
	MR_CODEC_PCMU,		/* G.711 mu-law, RFC 3551 PT 0 */
	MR_CODEC_PCMA,		/* G.711 A-law, RFC 3551 PT 8 */
	MR_CODEC_G722,		/* RFC 3551 PT 9 */
	MR_CODEC_OPUS,		/* RFC 7587 */
	MR_CODEC_MAX,
};

struct mr_quality_in {
	double loss;		/* fraction of packets lost, 0..1 (clamped; NaN counts as 0) */
	double jitter_ms;	/* interarrival jitter (RFC 3550 A.8) in ms; < 0 or NaN as 0 */
	double rtt_ms;		/* round-trip time in ms (RFC 3550 §6.4.1); < 0 or NaN as 0 */
	enum mr_codec codec;	/* out-of-range values count as MR_CODEC_UNKNOWN */
};

/* Codec from an SDP/RTP encoding name (RFC 4855 §3: case-insensitive): "PCMU", "PCMA",
 * "G722", "opus"; MR_CODEC_UNKNOWN for anything else, NULL included. */
enum mr_codec mr_codec_from_name(const char *name);

/* E-model parameters of a codec: equipment impairment Ie and packet-loss robustness Bpl
 * (ITU-T G.107 §7.6). Returns 0, or -EINVAL for a NULL pointer. */
int mr_codec_eparams(enum mr_codec codec, double *ie, double *bpl);

/* Transmission rating R, 0..100 (see quality.c); 0 for NULL. */
double mr_r_factor(const struct mr_quality_in *in);

/* Estimated MOS-CQE, 1.0..4.5, from R (ITU-T G.107 Annex B); 1.0 for NULL. */
double mr_mos_from_r(double r);
double mr_mos_estimate(const struct mr_quality_in *in);

#endif
