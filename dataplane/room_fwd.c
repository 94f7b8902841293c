/* SPDX-License-Identifier: BSD-3-Clause
 * SFU forwarding on the room owner lcore. Being written.
 */
#include "room_dp.h"
