/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MR_ROOMS_H
#define MR_ROOMS_H
#endif
