/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MR_WS_H
#define MR_WS_H
#endif
