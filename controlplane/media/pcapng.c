/* SPDX-License-Identifier: BSD-3-Clause
 * The pcapng writer (pcapng.h). Blocks are written in the host's byte order, which the
 * Section Header Block's byte-order magic announces (draft-ietf-opsawg-pcapng §4.1).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pcapng.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define LINKTYPE_ETHERNET 1
#define OPT_END 0
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2
#define HDR_MAX 512			/* the largest block but an EPB's frame */

static size_t
pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t
put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
	return 4;
}

static size_t
put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
	return 2;
}

/* An option (code, len, value padded to 4 bytes) at p; its size. */
static size_t
put_opt(uint8_t *p, uint16_t code, const void *v, size_t len)
{
	size_t n = put16(p, code);

	n += put16(p + n, (uint16_t)len);
	memcpy(p + n, v, len);
	memset(p + n + len, 0, pad4(len) - len);
	return n + pad4(len);
}

/* A string option, cut to fit what is left of a HDR_MAX block. */
static size_t
put_str_opt(uint8_t *p, uint16_t code, const char *s)
{
	size_t len = strlen(s);

	if (len > 200)
		len = 200;
	return put_opt(p, code, s, len);
}

static int
wr(struct mr_pcapng *w, const void *p, size_t n)
{
	if (fwrite(p, 1, n, w->f) != n)
		return errno ? -errno : -EIO;
	w->bytes += n;
	return 0;
}

/* Close a block started at b (type already there) of n bytes so far: the end of options,
 * the total length at both ends. */
static size_t
block_end(uint8_t *b, size_t n)
{
	n += put16(b + n, OPT_END);
	n += put16(b + n, 0);
	put32(b + 4, (uint32_t)(n + 4));
	n += put32(b + n, (uint32_t)(n + 4));
	return n;
}

int
mr_pcapng_open(struct mr_pcapng *w, const char *path, const char *if_name, const char *desc,
	       uint32_t snaplen)
{
	uint8_t b[HDR_MAX];
	uint8_t res = 9;	/* 10^-9 s */
	int64_t sec_len = -1;
	size_t n;
	int rc;

	w->bytes = 0;
	w->f = fopen(path, "wb");
	if (w->f == NULL)
		return -errno;
	/* Section Header Block */
	n = put32(b, BT_SHB) + 4;
	n += put32(b + n, BYTE_ORDER_MAGIC);
	n += put16(b + n, 1);
	n += put16(b + n, 0);
	memcpy(b + n, &sec_len, 8);
	n += 8;
	n += put_str_opt(b + n, OPT_SHB_USERAPPL, "mrelay");
	n = block_end(b, n);
	rc = wr(w, b, n);
	/* Interface Description Block */
	n = put32(b, BT_IDB) + 4;
	n += put16(b + n, LINKTYPE_ETHERNET);
	n += put16(b + n, 0);
	n += put32(b + n, snaplen);
	n += put_str_opt(b + n, OPT_IF_NAME, if_name);
	if (desc != NULL)
		n += put_str_opt(b + n, OPT_IF_DESCRIPTION, desc);
	n += put_opt(b + n, OPT_IF_TSRESOL, &res, 1);
	n = block_end(b, n);
	if (rc == 0)
		rc = wr(w, b, n);
	if (rc != 0) {
		fclose(w->f);
		w->f = NULL;
	}
	return rc;
}

int
mr_pcapng_packet(struct mr_pcapng *w, uint64_t ts_ns, const void *data, uint32_t caplen,
		 uint32_t origlen, unsigned int dir)
{
	static const uint8_t zero[4];
	uint8_t h[28], t[16];	/* t: epb_flags (8), end of options (4), length (4) */
	uint32_t flags = dir & 3;
	size_t n, pl = pad4(caplen), total = sizeof(h) + pl + sizeof(t);
	int rc;

	n = put32(h, BT_EPB);
	n += put32(h + n, (uint32_t)total);
	n += put32(h + n, 0);				/* interface 0 */
	n += put32(h + n, (uint32_t)(ts_ns >> 32));
	n += put32(h + n, (uint32_t)ts_ns);
	n += put32(h + n, caplen);
	put32(h + n, origlen);
	n = put_opt(t, OPT_EPB_FLAGS, &flags, 4);
	n += put16(t + n, OPT_END);
	n += put16(t + n, 0);
	n += put32(t + n, (uint32_t)total);
	rc = wr(w, h, sizeof(h));
	if (rc == 0)
		rc = wr(w, data, caplen);
	if (rc == 0 && pl != caplen)
		rc = wr(w, zero, pl - caplen);
	if (rc == 0)
		rc = wr(w, t, n);
	return rc;
}

int
mr_pcapng_flush(struct mr_pcapng *w)
{
	if (w->f != NULL && fflush(w->f) != 0)
		return errno ? -errno : -EIO;
	return 0;
}

int
mr_pcapng_close(struct mr_pcapng *w)
{
	int rc = 0;

	if (w->f == NULL)
		return 0;
	if (fclose(w->f) != 0)
		rc = errno ? -errno : -EIO;
	w->f = NULL;
	return rc;
}
