/* SPDX-License-Identifier: BSD-3-Clause
 * Mixing benchmark (docs/PERFORMANCE.md "Mixing"): what a media lcore does per 20 ms tick for
 * N speaking participants of one room (dataplane/media/media.c media_room_tick): a packet
 * out of each jitter buffer, Opus decode, the 32-bit sum, and for each speaker its N-1 mix
 * through its own limiter and Opus encoder. Reports TSC cycles per speaker per frame and the
 * speakers one core could carry at 20 ms frames. No EAL: the same jitter buffer, mixer and
 * limiter code and libopus, fed with Opus packets encoded beforehand from tones.
 *
 * With -l, LISTENERS more participants who say nothing: each costs an empty jitter buffer's
 * look and a copy of the room's one shared encoding (media_dp.h), which is encoded once a
 * tick.
 *
 * With -k K (the room's mix_max_speakers), the selection media_room_tick makes: every frame
 * is still decoded and its level measured and smoothed (mix.h), only the K loudest are summed
 * and get their own N-1 encode; the other speakers get the shared encoding of those K, encoded
 * once a tick, as listeners do.
 *
 *	mix_bench [-n SPEAKERS] [-l LISTENERS] [-k K] [-f FRAMES] [-c COMPLEXITY] [-b BITRATE]
 *		  [-w]
 *
 * -w caps the encoders at wideband (16 kHz audio: SILK only, no CELT layer).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>
#include <opus.h>

#include "jbuf.h"
#include "mix.h"
#include "tsc_hz.h"

#define PKTS 50				/* distinct packets per speaker, replayed */

struct spk {
	OpusDecoder *dec;
	OpusEncoder *enc;
	struct mr_jb jb;
	struct mr_limiter lim;
	uint32_t level;			/* smoothed */
	uint8_t in_mix;
	int16_t pcm[MR_MIX_FRAME];
	uint8_t pkt[PKTS][MR_JB_MAX_PKT];
	int len[PKTS];
};

static int wideband;

static OpusEncoder *
encoder(int complexity, int bitrate)
{
	int err;
	OpusEncoder *e = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);

	if (e == NULL)
		exit(1);
	opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(complexity));
	opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate));
	opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	if (wideband)
		opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND));
	return e;
}

int
main(int argc, char **argv)
{
	int n = 50, nl = 0, frames = 500, complexity = 5, bitrate = 32000, opt, i, f, k;
	int kmax = 0, sl = 0, nsel;
	struct mr_mix_cand *cand;
	static uint8_t shared[MR_JB_MAX_PKT], copy[MR_JB_MAX_PKT];
	struct mr_jb *ljb;
	struct mr_limiter rlim;
	OpusEncoder *renc;
	static int32_t sum[MR_MIX_FRAME], tmp[MR_MIX_FRAME];
	static int16_t out[MR_MIX_FRAME];
	uint8_t enc_out[MR_JB_MAX_PKT];
	uint64_t t0, t1, bytes = 0, decoded = 0, mixed = 0;
	struct timespec c0, c1;
	double cpu;
	struct spk *s;
	double hz, per;

	while ((opt = getopt(argc, argv, "n:l:k:f:c:b:w")) != -1) {
		switch (opt) {
		case 'n': n = atoi(optarg); break;
		case 'l': nl = atoi(optarg); break;
		case 'k': kmax = atoi(optarg); break;
		case 'w': wideband = 1; break;
		case 'f': frames = atoi(optarg); break;
		case 'c': complexity = atoi(optarg); break;
		case 'b': bitrate = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: mix_bench [-n speakers] [-l listeners] "
				"[-k max speakers mixed] [-f frames] [-c complexity] "
				"[-b bitrate] [-w]\n");
			return 2;
		}
	}
	if (n < 2 || frames < 1 || nl < 0 || kmax < 0 || kmax > MR_MIX_MAX_SPEAKERS)
		return 2;
	s = calloc((size_t)n, sizeof(*s));
	ljb = calloc((size_t)nl + 1, sizeof(*ljb));
	cand = calloc((size_t)n, sizeof(*cand));
	if (s == NULL || ljb == NULL || cand == NULL)
		return 1;
	for (i = 0; i < nl; i++)
		mr_jb_init(&ljb[i], 1);
	renc = encoder(complexity, bitrate);
	mr_limiter_init(&rlim);
	/* Each speaker's packets: a tone of its own (speech-like bit rate), encoded once. */
	for (i = 0; i < n; i++) {
		OpusEncoder *pe = encoder(5, bitrate);
		int err;

		s[i].dec = opus_decoder_create(48000, 1, &err);
		s[i].enc = encoder(complexity, bitrate);
		mr_jb_init(&s[i].jb, 1);
		mr_limiter_init(&s[i].lim);
		for (k = 0; k < PKTS; k++) {
			int16_t pcm[MR_MIX_FRAME];
			int j;

			for (j = 0; j < MR_MIX_FRAME; j++)
				pcm[j] = (int16_t)(8000 * sin(2 * M_PI * (200 + 37 * i) *
							      (k * MR_MIX_FRAME + j) / 48000.0));
			s[i].len[k] = opus_encode(pe, pcm, MR_MIX_FRAME, s[i].pkt[k],
						  MR_JB_MAX_PKT);
		}
		opus_encoder_destroy(pe);
	}
	hz = mr_bench_tsc_hz();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
	t0 = __rdtsc();
	for (f = 0; f < frames; f++) {
		/* What the workers handed over since the last tick: one packet a speaker. */
		for (i = 0; i < n; i++)
			mr_jb_put(&s[i].jb, (uint16_t)f, s[i].pkt[f % PKTS], (uint16_t)s[i].len[f % PKTS]);
		memset(sum, 0, sizeof(sum));
		for (i = 0; i < n; i++) {
			const uint8_t *d;
			uint16_t len;
			uint8_t was = s[i].in_mix;

			if (mr_jb_get(&s[i].jb, &d, &len) == MR_JB_PACKET)
				decoded += opus_decode(s[i].dec, d, len, s[i].pcm, MR_MIX_FRAME,
						       0) == MR_MIX_FRAME;
			else
				decoded += opus_decode(s[i].dec, NULL, 0, s[i].pcm, MR_MIX_FRAME,
						       0) == MR_MIX_FRAME;
			if (kmax == 0) {
				s[i].in_mix = 1;
				mr_mix_add(sum, s[i].pcm, MR_MIX_UNITY_Q8, MR_MIX_FRAME);
				continue;
			}
			s[i].level = mr_mix_level_smooth(s[i].level, mr_mix_level(s[i].pcm,
						MR_MIX_UNITY_Q8, MR_MIX_FRAME));
			cand[i].level = s[i].level;
			cand[i].idx = (uint32_t)i;
			cand[i].was = was;
		}
		nsel = n;
		if (kmax != 0) {
			nsel = (int)mr_mix_select(cand, (unsigned int)n, (unsigned int)kmax);
			for (i = 0; i < n; i++) {
				s[i].in_mix = cand[i].sel;
				if (s[i].in_mix)
					mr_mix_add(sum, s[i].pcm, MR_MIX_UNITY_Q8, MR_MIX_FRAME);
			}
		}
		/* The shared encoding, once a tick, when someone hears it. */
		if (nl != 0 || nsel < n) {
			mr_limit(&rlim, sum, out, MR_MIX_FRAME);
			sl = opus_encode(renc, out, MR_MIX_FRAME, shared, sizeof(shared));
		}
		for (i = 0; i < n; i++) {
			if (!s[i].in_mix) {
				/* Left out: a copy of the shared encoding, as a listener. */
				memcpy(copy, shared, (size_t)sl);
				bytes += (uint64_t)sl;
				continue;
			}
			mixed++;
			mr_mix_minus(tmp, sum, s[i].pcm, MR_MIX_UNITY_Q8, MR_MIX_FRAME);
			mr_limit(&s[i].lim, tmp, out, MR_MIX_FRAME);
			bytes += (uint64_t)opus_encode(s[i].enc, out, MR_MIX_FRAME, enc_out,
						       sizeof(enc_out));
		}
		if (nl != 0) {
			const uint8_t *d;
			uint16_t len;

			for (i = 0; i < nl; i++) {
				if (mr_jb_get(&ljb[i], &d, &len) != MR_JB_NONE)
					return 1;
				memcpy(copy, shared, (size_t)sl);
				bytes += copy[sl - 1] & 1;
			}
		}
	}
	t1 = __rdtsc();
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
	/* On a shared machine the TSC also counts the time the thread was not running: the
	 * thread's CPU time is the cost; both are shown. */
	cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	per = cpu * hz / ((double)frames * n);
	if (nl != 0) {
		printf("speakers %d + listeners %d: %.0f CPU cycles a tick, %.1f %% of a core; "
		       "%.0f cycles per participant\n", n, nl, cpu * hz / frames,
		       100.0 * cpu / (frames * 0.020), cpu * hz / ((double)frames * (n + nl)));
		return 0;
	}
	printf("wall: %.0f TSC cycles per speaker per frame\n",
	       (double)(t1 - t0) / ((double)frames * n));
	printf("speakers %d, frames %d, opus complexity %d, %d b/s%s, TSC %.2f GHz\n", n,
	       frames, complexity, bitrate, wideband ? ", wideband" : "", hz / 1e9);
	if (kmax != 0)
		printf("mix_max_speakers %d: %.1f speakers mixed a frame (own N-1 encode), the "
		       "others the shared encoding\n", kmax, (double)mixed / frames);
	printf("CPU cycles per speaker per 20 ms frame: %.0f (decode + mix + N-1 + limit + encode)\n",
	       per);
	printf("speakers per core at 20 ms frames: %.0f\n", hz * 0.020 / per);
	printf("mean encoded frame: %.1f bytes, frames decoded %" PRIu64 " of %" PRIu64 "\n",
	       (double)bytes / ((double)frames * n), decoded, (uint64_t)frames * n);
	for (i = 0; i < n; i++) {
		opus_decoder_destroy(s[i].dec);
		opus_encoder_destroy(s[i].enc);
	}
	free(s);
	free(cand);
	free(ljb);
	return 0;
}
