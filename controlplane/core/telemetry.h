/* SPDX-License-Identifier: BSD-3-Clause
 * mrelay's counters as DPDK telemetry commands (/mrelay/...), for dpdk-telemetry.py.
 */
#ifndef MR_TELEMETRY_H
#define MR_TELEMETRY_H

struct mr_appliance;

/* Register the commands (once per process) and let them read a, after
 * mr_appliance_start. Control thread. */
void mr_telemetry_start(struct mr_appliance *a);
/* The control loop's tick: snapshot the session and room counts for the telemetry thread. */
void mr_telemetry_tick(struct mr_appliance *a);
/* Before mr_appliance_stop: the callbacks answer -EAGAIN from now on. */
void mr_telemetry_stop(void);

#endif
