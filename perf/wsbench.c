/* SPDX-License-Identifier: BSD-3-Clause
 * wsbench: WebSocket signaling benchmark. Being written.
 */
int main(void) { return 1; }
