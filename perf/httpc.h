/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef HTTPC_H
#define HTTPC_H
#endif
