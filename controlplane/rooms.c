/* SPDX-License-Identifier: BSD-3-Clause
 * Rooms: the SFU control plane. Being written.
 */
#include "rooms.h"
