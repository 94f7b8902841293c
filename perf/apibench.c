/* SPDX-License-Identifier: BSD-3-Clause
 * apibench: REST control-plane benchmark. Being written.
 */
int main(void) { return 1; }
