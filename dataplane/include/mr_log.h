/* SPDX-License-Identifier: BSD-3-Clause
 * Logging: one DPDK log type per module, named "mrelay.<module>" (rte_log_register), so that
 * an operator can raise one module's level (EAL --log-level 'mrelay.neigh:debug') while
 * log.level sets them all (main.c: "mrelay.*"). Lines read "MRELAY: <module>: ...".
 * Worker lcores never log per packet: they count (DESIGN.md §4).
 *
 * In a module:
 *     MR_LOG_REGISTER(mr_logtype_neigh, neigh);
 *     #define NEIGH_LOG(level, ...) MR_LOG(level, mr_logtype_neigh, "neigh", __VA_ARGS__)
 */
#ifndef MR_LOG_H
#define MR_LOG_H

#include <rte_log.h>

#define MR_LOG_REGISTER(type, module) RTE_LOG_REGISTER(type, mrelay.module, INFO)

#define MR_LOG(level, type, module, fmt, ...)					\
	rte_log(RTE_LOG_##level, type, "MRELAY: " module ": " fmt, ##__VA_ARGS__)

#endif
