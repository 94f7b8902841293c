/* SPDX-License-Identifier: BSD-3-Clause
 * AES-GCM of a small packet in one pass with VAES and VPCLMULQDQ on 512-bit registers (private
 * to the IPsec-MB engine). IPsec-MB expands the keys and precomputes the hash key powers, as
 * before; this code only reads them. docs/PERFORMANCE.md "Our own AES-GCM for small packets".
 */
#ifndef MR_SRTP_GCM_VAES_H
#define MR_SRTP_GCM_VAES_H

#include <stdint.h>

#include <intel-ipsec-mb.h>

/* The most payload bytes it takes; longer goes to IPsec-MB. */
#define MR_GCM_VAES_MAX_LEN 256

/* 1 when the CPU has the instructions (AVX-512 F/BW/VL, VAES, VPCLMULQDQ) and the OS their
 * registers. */
int mr_gcm_vaes_cpu(void);

/* 1 when this CPU has the instructions and a self-test against IPsec-MB's own AES-GCM (the
 * manager given, which precomputed the keys) passed for every length up to the maximum; 0
 * otherwise. Run once, before any mr_gcm_vaes(). */
int mr_gcm_vaes_selftest(IMB_MGR *mgr);

/* AES-GCM (RFC 7714's: 12-byte IV, 16-byte tag) in place over io[0, len), authenticating
 * aad[0, aad_len) too; the tag (computed over the ciphertext: the output when encrypting, the
 * input when decrypting) to tag. key_len 16 or 32. 0, or -1 when the packet is too long for it
 * (nothing was touched: use IPsec-MB's). Only after mr_gcm_vaes_selftest() returned 1. */
int mr_gcm_vaes(const struct gcm_key_data *k, unsigned int key_len, int encrypt, uint8_t *io,
		unsigned int len, const uint8_t *iv, const uint8_t *aad, unsigned int aad_len,
		uint8_t *tag);

#endif
