/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MR_SIGNAL_H
#define MR_SIGNAL_H
#endif
