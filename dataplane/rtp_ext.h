/* SPDX-License-Identifier: BSD-3-Clause
 * RTP header extensions (RFC 8285) and the audio level (RFC 6464). Being written.
 */
#ifndef MR_RTP_EXT_H
#define MR_RTP_EXT_H
#endif
