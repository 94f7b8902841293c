/* SPDX-License-Identifier: BSD-3-Clause
 * The pcapng writer (controlplane/media/pcapng.c): a file written with it is walked block by
 * block as draft-ietf-opsawg-pcapng lays them out (the smoke test reads captures with tshark
 * too): section header, interface (Ethernet, nanosecond resolution), one Enhanced Packet
 * Block per frame with its timestamp, lengths, padded data and epb_flags direction.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "pcapng.h"

static uint32_t
rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t
rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

/* The value of option code in the options at o..end, NULL when absent. */
static const uint8_t *
opt(const uint8_t *o, const uint8_t *end, uint16_t code, uint16_t *len)
{
	while (o + 4 <= end) {
		uint16_t c = rd16(o), l = rd16(o + 2);

		if (c == 0)
			return NULL;
		if (c == code) {
			*len = l;
			return o + 4;
		}
		o += 4 + ((l + 3u) & ~3u);
	}
	return NULL;
}

static uint8_t *
slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *b = malloc(1 << 16);

	assert_non_null(f);
	*n = fread(b, 1, 1 << 16, f);
	fclose(f);
	return b;
}

static void
test_pcapng_file(void **state)
{
	char path[] = "/tmp/mr_pcapng_XXXXXX";
	uint8_t f1[60], f2[61], f3[100];
	struct { const uint8_t *data; uint32_t cap, orig, dir; uint64_t ts; } want[] = {
		{ f1, sizeof(f1), sizeof(f1), 1, 1733385600123456789ull },
		{ f2, sizeof(f2), sizeof(f2), 2, 1733385600123460000ull },
		{ f3, 50, 1500, 1, 1733385601000000001ull },	/* cut at the snap length */
	};
	struct mr_pcapng w;
	const uint8_t *p, *end, *v;
	uint8_t *b;
	uint16_t len;
	size_t n;
	unsigned int i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(f3); i++)
		f3[i] = (uint8_t)i;
	memset(f1, 0xa1, sizeof(f1));
	memset(f2, 0xb2, sizeof(f2));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mr_pcapng_open(&w, path, "mrelay-capture-7", "session x leg 0", 2032), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(mr_pcapng_packet(&w, want[i].ts, want[i].data, want[i].cap,
						  want[i].orig, want[i].dir), 0);
	assert_int_equal(mr_pcapng_close(&w), 0);
	b = slurp(path, &n);
	unlink(path);
	assert_int_equal(n % 4, 0);

	/* Section Header Block: type, length at both ends, byte order, version 1.0. */
	p = b;
	assert_int_equal(rd32(p), 0x0A0D0D0A);
	assert_int_equal(rd32(p + 8), 0x1A2B3C4D);
	assert_int_equal(rd16(p + 12), 1);
	assert_int_equal(rd16(p + 14), 0);
	assert_int_equal(rd32(p + rd32(p + 4) - 4), rd32(p + 4));
	v = opt(p + 24, p + rd32(p + 4) - 4, 4, &len);
	assert_non_null(v);
	assert_memory_equal(v, "mrelay", 6);
	p += rd32(p + 4);

	/* Interface Description Block: Ethernet, the snap length, name, description, ns. */
	assert_int_equal(rd32(p), 1);
	assert_int_equal(rd16(p + 8), 1);
	assert_int_equal(rd32(p + 12), 2032);
	assert_int_equal(rd32(p + rd32(p + 4) - 4), rd32(p + 4));
	end = p + rd32(p + 4) - 4;
	v = opt(p + 16, end, 2, &len);
	assert_non_null(v);
	assert_int_equal(len, strlen("mrelay-capture-7"));
	assert_memory_equal(v, "mrelay-capture-7", len);
	v = opt(p + 16, end, 3, &len);
	assert_non_null(v);
	assert_memory_equal(v, "session x leg 0", len);
	v = opt(p + 16, end, 9, &len);
	assert_non_null(v);
	assert_int_equal(len, 1);
	assert_int_equal(v[0], 9);
	p += rd32(p + 4);

	/* Enhanced Packet Blocks. */
	for (i = 0; i < 3; i++) {
		uint32_t bl = rd32(p + 4), cap = rd32(p + 20);

		assert_true(p + bl <= b + n);
		assert_int_equal(rd32(p), 6);
		assert_int_equal(bl % 4, 0);
		assert_int_equal(rd32(p + bl - 4), bl);
		assert_int_equal(rd32(p + 8), 0);
		assert_int_equal(((uint64_t)rd32(p + 12) << 32) | rd32(p + 16), want[i].ts);
		assert_int_equal(cap, want[i].cap);
		assert_int_equal(rd32(p + 24), want[i].orig);
		assert_memory_equal(p + 28, want[i].data, cap);
		v = opt(p + 28 + ((cap + 3) & ~3u), p + bl - 4, 2, &len);
		assert_non_null(v);
		assert_int_equal(len, 4);
		assert_int_equal(rd32(v) & 3, want[i].dir);
		p += bl;
	}
	assert_ptr_equal(p, b + n);
	free(b);
}

static void
test_pcapng_errors(void **state)
{
	struct mr_pcapng w;

	(void)state;
	assert_int_equal(mr_pcapng_open(&w, "/nonexistent-dir/x.pcapng", "x", NULL, 64), -ENOENT);
	assert_null(w.f);
	assert_int_equal(mr_pcapng_close(&w), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcapng_file),
		cmocka_unit_test(test_pcapng_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
