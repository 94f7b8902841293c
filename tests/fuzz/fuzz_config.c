/* SPDX-License-Identifier: BSD-3-Clause
 * libFuzzer harness: configuration files. A bad file must be refused with a message naming a
 * line, never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mr_config cfg;
	char err[512];
	char *s;

	if (size > 65536)
		return 0;
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	err[0] = 0;
	if (mr_config_load_string(s, "fuzz.conf", &cfg, err, sizeof(err)) == 0) {
		if (cfg.n_ports == 0 || cfg.n_workers == 0)
			abort();	/* required keys were checked */
		mr_config_free(&cfg);
	} else if (strncmp(err, "fuzz.conf:", 10) != 0) {
		abort();		/* every error names the file (and the line) */
	}
	free(s);
	return 0;
}
