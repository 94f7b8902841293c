/* SPDX-License-Identifier: BSD-3-Clause
 * The control thread's wall-independent clock: CLOCK_MONOTONIC in milliseconds (deadlines and
 * timeouts of the API, WebSocket and ng connections).
 */
#ifndef MR_MONO_H
#define MR_MONO_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
mr_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
