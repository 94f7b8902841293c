/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef RTPGEN_RX_H
#define RTPGEN_RX_H
#endif
