/* SPDX-License-Identifier: BSD-3-Clause
 * A small keep-alive HTTP/1.1 client for the benchmarks. Being written.
 */
#include "httpc.h"
