/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket connections (RFC 6455). Being written.
 */
#include "ws.h"
