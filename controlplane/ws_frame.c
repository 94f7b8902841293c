/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket framing (RFC 6455). Being written.
 */
#include "ws.h"
