/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket signaling for rooms. Being written.
 */
#include "signal.h"
