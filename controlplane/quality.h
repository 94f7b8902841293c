/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef MR_QUALITY_H
#define MR_QUALITY_H
#endif
