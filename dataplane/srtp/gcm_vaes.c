/* SPDX-License-Identifier: BSD-3-Clause
 * AES-GCM of packets up to 256 bytes in one pass (gcm_vaes.h).
 *
 * Why: IPsec-MB 1.3's AES-GCM takes 65-72 cycles for a 200-byte packet on this CPU (AMD EPYC,
 * AVX-512 with VAES), about 650 instructions, most of them its general small-message handling.
 * An SRTP->SRTP relay runs it twice a packet. Here a packet's counter blocks are encrypted four
 * to a register, all at once, and GHASH multiplies every block by its own power of the hash
 * key (AAD, ciphertext, length block), with one reduction at the end: 59 and 59 cycles back
 * to back (decrypt, encrypt; IPsec-MB 65 and 71), and 16 fewer a call inside the relay.
 *
 * The maths is IPsec-MB's (and the Intel white paper's, "Intel Carry-Less Multiplication
 * Instruction and its Usage for Computing the GCM Mode"): blocks byte-reflected, the powers
 * stored as H^i << 1 mod P so that a carry-less product needs no shift, and the two-step
 * reduction by P = x^128 + x^127 + x^126 + x^121 + 1. The key schedule and the powers are
 * IPsec-MB's own (struct gcm_key_data, its VAES/AVX-512 layout: H^48 first, H^1 last); a
 * self-test at start checks both this code and that layout against IPsec-MB's AES-GCM, and
 * any difference leaves the engine on IPsec-MB's.
 *
 * Constant time as IPsec-MB's: no table lookups, no branch on data or keys; the masks depend
 * only on the lengths, which are on the wire anyway.
 */
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#include "gcm_vaes.h"

#define GV_TARGET \
	__attribute__((target("avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmul,ssse3")))
#define GV_INLINE __attribute__((always_inline)) inline
#define GV_POWERS 48		/* IPsec-MB's VAES layout: H^48 .. H^1 */

struct gv_acc {
	__m512i hi, lo, mid;	/* the products' high, low and middle 128 bits, 4 lanes each */
};

/* acc += x * h, lane by lane, unreduced (four carry-less products a lane). */
GV_TARGET static GV_INLINE void
gv_mul_acc(struct gv_acc *acc, __m512i x, __m512i h)
{
	acc->hi = _mm512_xor_si512(acc->hi, _mm512_clmulepi64_epi128(x, h, 0x11));
	acc->lo = _mm512_xor_si512(acc->lo, _mm512_clmulepi64_epi128(x, h, 0x00));
	acc->mid = _mm512_ternarylogic_epi64(acc->mid, _mm512_clmulepi64_epi128(x, h, 0x01),
					     _mm512_clmulepi64_epi128(x, h, 0x10), 0x96);
}

/* The XOR of a register's four lanes. */
GV_TARGET static GV_INLINE __m128i
gv_fold(__m512i x)
{
	__m256i y = _mm256_xor_si256(_mm512_castsi512_si256(x), _mm512_extracti64x4_epi64(x, 1));

	return _mm_xor_si128(_mm256_castsi256_si128(y), _mm256_extracti128_si256(y, 1));
}

/* hi:lo (256 bits) mod P, for operands in the H << 1 form. */
GV_TARGET static GV_INLINE __m128i
gv_reduce(__m128i hi, __m128i lo)
{
	const __m128i p = _mm_set_epi64x((long long)0xC200000000000000ULL, 0x00000001C2000000LL);
	__m128i t = _mm_clmulepi64_si128(p, lo, 0x01);

	lo = _mm_xor_si128(lo, _mm_slli_si128(t, 8));
	t = _mm_srli_si128(_mm_clmulepi64_si128(p, lo, 0x00), 4);
	lo = _mm_slli_si128(_mm_clmulepi64_si128(p, lo, 0x10), 4);
	return _mm_ternarylogic_epi64(lo, hi, t, 0x96);
}

static inline __mmask64
gv_bytes(unsigned int left)
{
	return left >= 64 ? ~0ULL : (1ULL << left) - 1;
}

/* The 64-bit lanes of a register that hold `blocks` (of 4) blocks. */
static inline __mmask8
gv_lanes(unsigned int blocks)
{
	return blocks >= 4 ? 0xff : (__mmask8)((1u << (2 * blocks)) - 1);
}

/* nr AES rounds (10 or 14), the data in nch registers of four blocks (1 to 4): both constant
 * where gv_gcm() calls it, so that the loops unroll. */
GV_TARGET static GV_INLINE void
gv_core(const struct gcm_key_data *k, const unsigned int nr, const unsigned int nch, int enc,
	uint8_t *io, unsigned int len, const uint8_t *iv, const uint8_t *aad,
	unsigned int aad_len, uint8_t *tag)
{
	const __m512i bswap = _mm512_broadcast_i32x4(_mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
								  10, 11, 12, 13, 14, 15));
	const __m128i *rk = (const __m128i *)k->expanded_keys;
	const uint8_t *hk = k->ghash_keys.vaes_avx512.shifted_hkey;
	unsigned int a = (aad_len + 15) / 16, c = (len + 15) / 16, i, r;
	/* Block j of the n hashed (AAD, ciphertext, length) takes H^(n - j), at index
	 * GV_POWERS - n + j. */
	unsigned int base = GV_POWERS - (a + c + 1);
	struct gv_acc acc = { _mm512_setzero_si512(), _mm512_setzero_si512(),
			      _mm512_setzero_si512() };
	__m512i ks[4], ct[4], ctr;
	__m128i j0, ekj0;
	uint64_t iv_lo;
	uint32_t iv_hi;

	/* J0 = IV || 00000001; the data's counter blocks are 2, 3, ... (at most 17: the last
	 * byte alone, the top byte of the fourth 32-bit word). */
	memcpy(&iv_lo, iv, 8);
	memcpy(&iv_hi, iv + 8, 4);
	j0 = _mm_set_epi32(1 << 24, (int)iv_hi, (int)(iv_lo >> 32), (int)iv_lo);
	ctr = _mm512_add_epi32(_mm512_broadcast_i32x4(j0),
			       _mm512_set_epi32(4 << 24, 0, 0, 0, 3 << 24, 0, 0, 0,
						2 << 24, 0, 0, 0, 1 << 24, 0, 0, 0));
#pragma GCC unroll 4
	for (i = 0; i < nch; i++) {
		ks[i] = _mm512_xor_si512(ctr, _mm512_broadcast_i32x4(rk[0]));
		ctr = _mm512_add_epi32(ctr, _mm512_set_epi32(4 << 24, 0, 0, 0, 4 << 24, 0, 0, 0,
							     4 << 24, 0, 0, 0, 4 << 24, 0, 0, 0));
	}
	ekj0 = _mm_xor_si128(j0, rk[0]);
	/* Round by round across the registers: independent chains the core overlaps. */
#pragma GCC unroll 14
	for (r = 1; r < nr; r++) {
		__m512i rkr = _mm512_broadcast_i32x4(rk[r]);

#pragma GCC unroll 4
		for (i = 0; i < nch; i++)
			ks[i] = _mm512_aesenc_epi128(ks[i], rkr);
		ekj0 = _mm_aesenc_si128(ekj0, rk[r]);
	}
#pragma GCC unroll 4
	for (i = 0; i < nch; i++)
		ks[i] = _mm512_aesenclast_epi128(ks[i], _mm512_broadcast_i32x4(rk[nr]));
	ekj0 = _mm_aesenclast_si128(ekj0, rk[nr]);

	/* GHASH of the AAD (zero-padded to whole blocks, as GCM pads). */
	for (i = 0; i < a; i += 4) {
		__m512i x = _mm512_maskz_loadu_epi8(gv_bytes(aad_len - 16 * i), aad + 16 * i);

		gv_mul_acc(&acc, _mm512_shuffle_epi8(x, bswap),
			   _mm512_maskz_loadu_epi64(gv_lanes(a - i), hk + 16 * (base + i)));
	}
	/* The data: XOR the key stream, store; the ciphertext (zero past len) is hashed. */
#pragma GCC unroll 4
	for (i = 0; i < nch; i++) {
		__mmask64 m = gv_bytes(len > 64 * i ? len - 64 * i : 0);
		__m512i in = _mm512_maskz_loadu_epi8(m, io + 64 * i);
		__m512i out = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(in, ks[i]));

		_mm512_mask_storeu_epi8(io + 64 * i, m, out);
		ct[i] = enc ? out : in;
	}
#pragma GCC unroll 4
	for (i = 0; i < nch; i++)
		gv_mul_acc(&acc, _mm512_shuffle_epi8(ct[i], bswap),
			   _mm512_maskz_loadu_epi64(gv_lanes(c > 4 * i ? c - 4 * i : 0),
						    hk + 16 * (base + a + 4 * i)));
	{
		/* The length block (bits of AAD, bits of ciphertext, big-endian; reflected:
		 * the AAD's in the high half) times H^1, then one reduction for all. */
		__m128i hi = gv_fold(acc.hi), lo = gv_fold(acc.lo), mid = gv_fold(acc.mid);
		__m128i h1 = _mm_loadu_si128((const __m128i *)(hk + 16 * (GV_POWERS - 1)));
		__m128i lb = _mm_set_epi64x((long long)aad_len * 8, (long long)len * 8);
		__m128i s;

		hi = _mm_xor_si128(hi, _mm_clmulepi64_si128(lb, h1, 0x11));
		lo = _mm_xor_si128(lo, _mm_clmulepi64_si128(lb, h1, 0x00));
		mid = _mm_ternarylogic_epi64(mid, _mm_clmulepi64_si128(lb, h1, 0x01),
					     _mm_clmulepi64_si128(lb, h1, 0x10), 0x96);
		hi = _mm_xor_si128(hi, _mm_srli_si128(mid, 8));
		lo = _mm_xor_si128(lo, _mm_slli_si128(mid, 8));
		s = _mm_shuffle_epi8(gv_reduce(hi, lo), _mm512_castsi512_si128(bswap));
		_mm_storeu_si128((__m128i *)tag, _mm_xor_si128(s, ekj0));
	}
}

#define GV_DISPATCH(nr)                                                                       \
	do {                                                                                  \
		switch ((c + 3) / 4) {                                                        \
		case 0:                                                                       \
		case 1:                                                                       \
			gv_core(k, nr, 1, enc, io, len, iv, aad, aad_len, tag);               \
			break;                                                                \
		case 2:                                                                       \
			gv_core(k, nr, 2, enc, io, len, iv, aad, aad_len, tag);               \
			break;                                                                \
		case 3:                                                                       \
			gv_core(k, nr, 3, enc, io, len, iv, aad, aad_len, tag);               \
			break;                                                                \
		default:                                                                      \
			gv_core(k, nr, 4, enc, io, len, iv, aad, aad_len, tag);               \
			break;                                                                \
		}                                                                             \
	} while (0)

GV_TARGET int
mr_gcm_vaes(const struct gcm_key_data *k, unsigned int key_len, int enc, uint8_t *io,
	    unsigned int len, const uint8_t *iv, const uint8_t *aad, unsigned int aad_len,
	    uint8_t *tag)
{
	unsigned int c = (len + 15) / 16;

	if (len > MR_GCM_VAES_MAX_LEN || aad_len > 16 * (GV_POWERS - 1 - 16))
		return -1;
	if (key_len == 16)
		GV_DISPATCH(10);
	else
		GV_DISPATCH(14);
	return 0;
}

/* CPUID leaf 7 (AVX512F, BW, VL; VAES, VPCLMULQDQ) and the OS saving the 512-bit state (XCR0:
 * SSE, AVX, opmask, upper ZMM halves, ZMM16-31). __builtin_cpu_supports() knows no "vaes" in
 * clang 14. */
int
mr_gcm_vaes_cpu(void)
{
	unsigned int a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))	/* OSXSAVE */
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	if ((lo & 0xe6) != 0xe6)
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & (1u << 16)) && (b & (1u << 30)) && (b & (1u << 31)) &&	/* F, BW, VL */
	       (c & (1u << 9)) && (c & (1u << 10));			/* VAES, VPCLMULQDQ */
}

/* Every length 0-256, AAD lengths around the block sizes, both key sizes, both directions,
 * against the manager's own AES-GCM: bytes and tags equal. */
int
mr_gcm_vaes_selftest(IMB_MGR *mgr)
{
	static const unsigned int aad_lens[] = { 0, 8, 12, 15, 16, 17, 28, 44, 64, 100 };
	struct gcm_key_data kd;
	struct gcm_context_data g;
	uint8_t key[32], iv[12], aad[100], a[MR_GCM_VAES_MAX_LEN + 16];
	uint8_t b[MR_GCM_VAES_MAX_LEN + 16], ta[16], tb[16];
	unsigned int i, len, ai, kl, enc, seed = 0x2545F491;
	int ok = 1;

	if (!mr_gcm_vaes_cpu() || mgr == NULL)
		return 0;
	for (kl = 16; kl <= 32 && ok; kl += 16) {
		for (i = 0; i < sizeof(key); i++) {
			seed = seed * 1103515245u + 12345u;
			key[i] = (uint8_t)(seed >> 16);
		}
		if (kl == 16)
			IMB_AES128_GCM_PRE(mgr, key, &kd);
		else
			IMB_AES256_GCM_PRE(mgr, key, &kd);
		for (len = 0; len <= MR_GCM_VAES_MAX_LEN && ok; len++) {
			for (ai = 0; ai < sizeof(aad_lens) / sizeof(aad_lens[0]) && ok; ai++) {
				for (enc = 0; enc <= 1 && ok; enc++) {
					for (i = 0; i < sizeof(iv); i++) {
						seed = seed * 1103515245u + 12345u;
						iv[i] = (uint8_t)(seed >> 16);
					}
					for (i = 0; i < sizeof(aad); i++)
						aad[i] = (uint8_t)(seed >> 8) ^ (uint8_t)i;
					for (i = 0; i < sizeof(a); i++)
						a[i] = b[i] = (uint8_t)((seed >> 3) + 7 * i + len);
					if (kl == 16)
						(enc ? mgr->gcm128_enc : mgr->gcm128_dec)(
							&kd, &g, a, a, len, iv, aad, aad_lens[ai],
							ta, 16);
					else
						(enc ? mgr->gcm256_enc : mgr->gcm256_dec)(
							&kd, &g, a, a, len, iv, aad, aad_lens[ai],
							ta, 16);
					ok = mr_gcm_vaes(&kd, kl, (int)enc, b, len, iv, aad,
							 aad_lens[ai], tb) == 0 &&
					     memcmp(a, b, sizeof(a)) == 0 &&
					     memcmp(ta, tb, 16) == 0;
				}
			}
		}
	}
	explicit_bzero(&kd, sizeof(kd));
	return ok;
}
