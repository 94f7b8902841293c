/* SPDX-License-Identifier: BSD-3-Clause
 * The TSC's frequency for the benchmarks that run without the EAL (srtp_bench, mix_bench):
 * TSC ticks over CLOCK_MONOTONIC across a 100 ms sleep.
 */
#ifndef MR_PERF_TSC_HZ_H
#define MR_PERF_TSC_HZ_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static inline double
mr_bench_tsc_hz(void)
{
	struct timespec a, b;
	uint64_t t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &a);
	t0 = __rdtsc();
	usleep(100000);
	clock_gettime(CLOCK_MONOTONIC, &b);
	t1 = __rdtsc();
	return (double)(t1 - t0) / ((double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9);
}

#endif
