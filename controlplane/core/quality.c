/* SPDX-License-Identifier: BSD-3-Clause
 * Call quality estimate (quality.h): a simplified ITU-T G.107 E-model.
 *
 *   R   = R0 - Id - Ie,eff			(G.107 §7, with Is = 0 and A = 0 folded in R0)
 *   R0  = 93.2				(G.107 default parameter values: Ro - Is = 93.2)
 *   d   = rtt / 2 + 2 * jitter + 10 ms		(chosen: one-way delay, a jitter buffer of twice
 *					 the jitter, 10 ms of packetization/processing)
 *   Id  = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)
 *					(R. G. Cole, J. H. Rosenbluth, "Voice over IP
 *					 performance monitoring", ACM SIGCOMM CCR 31(2),
 *					 2001: a fit of G.107's Idd for default echo)
 *   Ie,eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl)
 *					(G.107 §7.6 with BurstR = 1, chosen: the relay's
 *					 loss count does not say how losses cluster, so
 *					 loss is taken as random; Ppl in percent)
 *   MOS = 1 + 0.035 R + R (R - 60) (100 - R) 7e-6, 1 for R <= 0, 4.5 for R >= 100
 *					(G.107 Annex B, eq. B-4)
 *
 * The result ranks calls and flags bad ones; it is not a listening test.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <strings.h>

#include "quality.h"

#define QUALITY_R0		93.2
#define QUALITY_PROC_MS		10.0
#define QUALITY_ID_KNEE_MS	177.3

struct quality_codec {
	const char *name;	/* RFC 3551 / RFC 7587 encoding name */
	double ie;		/* equipment impairment factor */
	double bpl;		/* packet-loss robustness factor */
};

/*
 * Ie and Bpl on the narrowband (G.107) scale:
 * - unknown: Ie 0 with G.711's Bpl without concealment (4.3, ITU-T G.113 Appendix I, random
 *   loss): chosen as the most loss-sensitive tabulated codec, so loss is never understated.
 * - PCMU/PCMA: Ie 0 (G.113 Appendix I); Bpl 25.1, G.711 with the G.711 Appendix I packet loss
 *   concealment (G.113 Appendix I): chosen over 4.3 (no concealment) because current phones,
 *   softphones and WebRTC stacks (NetEq) conceal G.711 losses.
 * - G722: Ie 0, chosen: a 7 kHz codec at 64 kbit/s is at least as good as G.711 on the
 *   narrowband scale; Bpl 20, chosen, below G.711's with concealment for lack of a tabulated
 *   value for G.722 with its Appendix III/IV concealment on this scale.
 * - opus: Ie 0, chosen: at the usual VoIP rates (wideband SILK/hybrid, 24-32 kbit/s) it is at
 *   least as good as G.711; published narrowband-scale estimates range 0..11 and reach the
 *   top only at the lowest bitrates. Bpl 20, chosen: the concealment without in-band FEC
 *   (with FEC it does better than this model says).
 */
static const struct quality_codec quality_codecs[MR_CODEC_MAX] = {
	[MR_CODEC_UNKNOWN] = { NULL, 0.0, 4.3 },
	[MR_CODEC_PCMU] = { "PCMU", 0.0, 25.1 },
	[MR_CODEC_PCMA] = { "PCMA", 0.0, 25.1 },
	[MR_CODEC_G722] = { "G722", 0.0, 20.0 },
	[MR_CODEC_OPUS] = { "opus", 0.0, 20.0 },
};

enum mr_codec
mr_codec_from_name(const char *name)
{
	int c;

	if (name == NULL)
		return MR_CODEC_UNKNOWN;
	for (c = MR_CODEC_UNKNOWN + 1; c < MR_CODEC_MAX; c++)
		if (strcasecmp(name, quality_codecs[c].name) == 0)
			return (enum mr_codec)c;
	return MR_CODEC_UNKNOWN;
}

static const struct quality_codec *
quality_codec(enum mr_codec codec)
{
	/* Compare as unsigned: an enum may hold any int a caller stored in it. */
	if ((unsigned int)codec >= MR_CODEC_MAX)
		codec = MR_CODEC_UNKNOWN;
	return &quality_codecs[codec];
}

int
mr_codec_eparams(enum mr_codec codec, double *ie, double *bpl)
{
	const struct quality_codec *c = quality_codec(codec);

	if (ie == NULL || bpl == NULL)
		return -EINVAL;
	*ie = c->ie;
	*bpl = c->bpl;
	return 0;
}

/* Inputs come from counters that may be unset (0/0 = NaN) or garbage: NaN and negatives count
 * as 0, +inf stays and drives R to 0. */
static double
quality_nonneg(double v)
{
	return isnan(v) || v < 0.0 ? 0.0 : v;
}

double
mr_r_factor(const struct mr_quality_in *in)
{
	const struct quality_codec *c;
	double d, id, ppl, ie_eff, r;

	if (in == NULL)
		return 0.0;
	c = quality_codec(in->codec);
	d = quality_nonneg(in->rtt_ms) / 2.0 + 2.0 * quality_nonneg(in->jitter_ms) +
	    QUALITY_PROC_MS;
	id = 0.024 * d;
	if (d > QUALITY_ID_KNEE_MS)
		id += 0.11 * (d - QUALITY_ID_KNEE_MS);
	ppl = quality_nonneg(in->loss);
	if (ppl > 1.0)
		ppl = 1.0;
	ppl *= 100.0;
	ie_eff = c->ie + (95.0 - c->ie) * ppl / (ppl + c->bpl);
	r = QUALITY_R0 - id - ie_eff;
	/* !(r > 0) also catches a NaN (inf - inf cannot happen: only Id can be infinite). */
	if (!(r > 0.0))
		return 0.0;
	return r > 100.0 ? 100.0 : r;
}

double
mr_mos_from_r(double r)
{
	double mos;

	if (!(r > 0.0))
		return 1.0;
	if (r >= 100.0)
		return 4.5;
	mos = 1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6;
	/* Annex B's polynomial dips below 1 for R under about 6.5. */
	if (mos < 1.0)
		return 1.0;
	return mos > 4.5 ? 4.5 : mos;
}

double
mr_mos_estimate(const struct mr_quality_in *in)
{
	if (in == NULL)
		return 1.0;
	return mr_mos_from_r(mr_r_factor(in));
}
