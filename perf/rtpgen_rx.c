/* SPDX-License-Identifier: BSD-3-Clause
 * rtpgen receive-side checks. Being written.
 */
#include "rtpgen_rx.h"
