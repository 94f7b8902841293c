/* SPDX-License-Identifier: BSD-3-Clause
 * fanout_bench: SFU fan-out cost, copy against indirect mbufs. Being written.
 */
int main(void) { return 1; }
