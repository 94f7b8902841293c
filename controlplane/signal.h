/* SPDX-License-Identifier: BSD-3-Clause
 * WebSocket signaling for rooms.
 *
 * NOTE (lead, for HF): controlplane/ is on the include path, so this file shadows the system
 * <signal.h> for every file of the project. Keep the #include_next below as the first line
 * of code; the lead renames this module to signaling.c/.h when integrating.
 */
#include_next <signal.h>
#ifndef MR_SIGNAL_H
#define MR_SIGNAL_H
#endif
