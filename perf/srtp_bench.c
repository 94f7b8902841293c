/* SPDX-License-Identifier: BSD-3-Clause
 * The SRTP engines alone (dataplane/srtp/): TSC cycles per packet to protect and to unprotect,
 * per suite, per engine, in bursts (default 32), for 200- and 1200-byte RTP packets (SRTCP
 * with -r), plus the IPsec-MB engine flushing after every packet for comparison. No EAL, no
 * ports: the packets sit in memory (8192 of them, copied back between rounds, outside the
 * timing); the best of the rounds is reported (a shared machine is noisy). Prints a Markdown
 * table (docs/PERFORMANCE.md "SRTP engines"). -G: the IPsec-MB engine runs IPsec-MB's AES-GCM
 * for every packet (srtp.vaes_gcm = false), not dataplane/srtp/gcm_vaes.c's for those up to
 * 256 bytes.
 *
 *   srtp_bench [-b BURST] [-n ROUNDS] [-r] [-G] [-s SIZE]...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "srtp.h"
#include "srtp_internal.h"
#include "tsc_hz.h"

#define NPKT 8192
#define SLOT 1280

static uint8_t *plain, *wire, *work;
static uint16_t wlen[NPKT];

static void
make_plain(unsigned int size, int rtcp)
{
	for (unsigned int i = 0; i < NPKT; i++) {
		uint8_t *p = plain + (size_t)i * SLOT;

		for (unsigned int j = 0; j < size; j++)
			p[j] = (uint8_t)(i * 31 + j);
		if (rtcp) {
			p[0] = 0x80;
			p[1] = 200;
			p[2] = (uint8_t)((size / 4 - 1) >> 8);
			p[3] = (uint8_t)(size / 4 - 1);
			mr_srtp_wr32(p + 4, 0x11223344);
		} else {
			p[0] = 0x80;
			p[1] = 111;
			p[2] = (uint8_t)(i >> 8);
			p[3] = (uint8_t)i;
			mr_srtp_wr32(p + 8, 0x11223344);
		}
	}
}

/* One round over the NPKT packets in buf: cycles. */
static uint64_t
round_of(struct mr_srtp_engine *e, struct mr_srtp_ctx *c, uint8_t *buf, const uint16_t *len,
	 unsigned int burst, int rtcp, int protect)
{
	struct mr_srtp_op ops[MR_SRTP_BURST];
	uint64_t t0, total = 0;

	for (unsigned int i = 0; i < NPKT; i += burst) {
		for (unsigned int j = 0; j < burst; j++)
			ops[j] = (struct mr_srtp_op){ .ctx = c, .pkt = buf + (size_t)(i + j) * SLOT,
				.len = len[i + j], .room = MR_SRTP_MAX_TRAILER, .rtcp = (uint8_t)rtcp };
		t0 = __rdtsc();
		if (protect)
			mr_srtp_protect_burst(e, ops, burst);
		else
			mr_srtp_unprotect_burst(e, ops, burst);
		total += __rdtsc() - t0;
		for (unsigned int j = 0; j < burst; j++)
			if (ops[j].res != MR_SRTP_OK) {
				fprintf(stderr, "srtp_bench: op failed: %d\n", ops[j].res);
				exit(1);
			}
	}
	return total;
}

/* Best cycles per packet of rounds, protect and unprotect. */
static void
measure(enum mr_srtp_engine_kind kind, int flush_each, enum mr_srtp_suite suite,
	unsigned int size, unsigned int burst, unsigned int rounds, int rtcp, double *prot,
	double *unprot)
{
	struct mr_srtp_engine *e = mr_srtp_engine_create(kind);
	struct mr_srtp_ctx *tx, *rx;
	struct mr_srtp_key k;
	uint16_t plen[NPKT];
	uint64_t best_p = UINT64_MAX, best_u = UINT64_MAX, t;

	if (e == NULL || mr_srtp_key_random(suite, &k) < 0)
		exit(1);
	tx = mr_srtp_ctx_create(kind, &k);
	rx = mr_srtp_ctx_create(kind, &k);
	if (tx == NULL || rx == NULL)
		exit(1);
	if (kind == MR_SRTP_ENGINE_IPSEC_MB)
		mr_srtp_imb_engine_set_flush_each(e, flush_each);
	for (unsigned int i = 0; i < NPKT; i++)
		plen[i] = (uint16_t)size;
	for (unsigned int r = 0; r < rounds; r++) {
		memcpy(wire, plain, (size_t)NPKT * SLOT);
		mr_srtp_ctx_reset(tx);
		t = round_of(e, tx, wire, plen, burst, rtcp, 1);
		best_p = t < best_p ? t : best_p;
		if (r == 0)
			for (unsigned int i = 0; i < NPKT; i++)
				wlen[i] = (uint16_t)(size + (rtcp ? 4 + mr_srtp_suite_info(suite)->rtcp_tag_len :
						 mr_srtp_suite_info(suite)->rtp_tag_len));
		memcpy(work, wire, (size_t)NPKT * SLOT);
		mr_srtp_ctx_reset(rx);
		t = round_of(e, rx, work, wlen, burst, rtcp, 0);
		best_u = t < best_u ? t : best_u;
		if (memcmp(work, plain, size) != 0) {
			fprintf(stderr, "srtp_bench: round trip differs\n");
			exit(1);
		}
	}
	*prot = (double)best_p / NPKT;
	*unprot = (double)best_u / NPKT;
	mr_srtp_ctx_free(tx);
	mr_srtp_ctx_free(rx);
	mr_srtp_engine_free(e);
}

int
main(int argc, char **argv)
{
	unsigned int burst = 32, rounds = 5, sizes[4] = { 200, 1200 }, nsizes = 0;
	int rtcp = 0, opt;
	double hz;

	while ((opt = getopt(argc, argv, "b:n:rGs:")) != -1) {
		switch (opt) {
		case 'b':
			burst = (unsigned int)atoi(optarg);
			break;
		case 'n':
			rounds = (unsigned int)atoi(optarg);
			break;
		case 'r':
			rtcp = 1;
			break;
		case 'G':
			mr_srtp_set_vaes_gcm(0);
			break;
		case 's':
			if (nsizes < 4)
				sizes[nsizes++] = (unsigned int)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-b BURST] [-n ROUNDS] [-r] [-G] [-s SIZE]...\n",
				argv[0]);
			return 2;
		}
	}
	if (nsizes == 0)
		nsizes = 2;
	if (burst < 1 || burst > MR_SRTP_BURST || NPKT % burst != 0 || rounds < 1) {
		fprintf(stderr, "srtp_bench: burst 1..%d dividing %d, rounds >= 1\n", MR_SRTP_BURST,
			NPKT);
		return 2;
	}
	for (unsigned int i = 0; i < nsizes; i++)
		if (sizes[i] < 16 || sizes[i] > SLOT - MR_SRTP_MAX_TRAILER || sizes[i] % 4) {
			fprintf(stderr, "srtp_bench: sizes 16..%d, multiples of 4\n",
				SLOT - MR_SRTP_MAX_TRAILER);
			return 2;
		}
	plain = malloc((size_t)NPKT * SLOT);
	wire = malloc((size_t)NPKT * SLOT);
	work = malloc((size_t)NPKT * SLOT);
	if (plain == NULL || wire == NULL || work == NULL)
		return 1;
	hz = mr_bench_tsc_hz();
	if (mr_srtp_global_init(MR_SRTP_ENGINE_IPSEC_MB) != 0)
		return 1;
	printf("%s, bursts of %u, best of %u rounds of %d packets, TSC %.2f GHz, AES-GCM up to 256 "
	       "bytes by %s: cycles (ns) per packet\n\n", rtcp ? "SRTCP" : "SRTP", burst, rounds,
	       NPKT, hz / 1e9, mr_srtp_vaes_gcm() ? "gcm_vaes.c" : "IPsec-MB");
	printf("| suite | bytes | libsrtp protect | libsrtp unprotect | ipsec-mb protect | "
	       "ipsec-mb unprotect | ipsec-mb, flush per packet: protect | unprotect | "
	       "libsrtp / ipsec-mb |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (unsigned int z = 0; z < nsizes; z++) {
		make_plain(sizes[z], rtcp);
		for (int s = 1; s < MR_SRTP_SUITE_MAX; s++) {
			double lp, lu, ip, iu, fp, fu;

			measure(MR_SRTP_ENGINE_LIBSRTP, 0, (enum mr_srtp_suite)s, sizes[z], burst,
				rounds, rtcp, &lp, &lu);
			measure(MR_SRTP_ENGINE_IPSEC_MB, 0, (enum mr_srtp_suite)s, sizes[z], burst,
				rounds, rtcp, &ip, &iu);
			measure(MR_SRTP_ENGINE_IPSEC_MB, 1, (enum mr_srtp_suite)s, sizes[z], burst,
				rounds, rtcp, &fp, &fu);
			printf("| %s | %u | %.0f (%.0f) | %.0f (%.0f) | %.0f (%.0f) | %.0f (%.0f) | "
			       "%.0f (%.0f) | %.0f (%.0f) | %.1fx / %.1fx |\n",
			       mr_srtp_suite_info((enum mr_srtp_suite)s)->name, sizes[z],
			       lp, lp / hz * 1e9, lu, lu / hz * 1e9, ip, ip / hz * 1e9, iu,
			       iu / hz * 1e9, fp, fp / hz * 1e9, fu, fu / hz * 1e9, lp / ip, lu / iu);
			fflush(stdout);
		}
	}
	return 0;
}
