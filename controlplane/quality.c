/* SPDX-License-Identifier: BSD-3-Clause
 * Call quality estimate (MOS). Being written.
 */
#include "quality.h"
