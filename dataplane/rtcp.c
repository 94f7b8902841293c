/* SPDX-License-Identifier: BSD-3-Clause
 * RTCP parsing and building (rtcp.h). Being written.
 */
#include "rtcp.h"
