/* SPDX-License-Identifier: BSD-3-Clause
 * A small pcapng writer (draft-ietf-opsawg-pcapng, the format tshark and Wireshark read):
 * one Section Header Block, one Interface Description Block (link type Ethernet, nanosecond
 * timestamps) and an Enhanced Packet Block per frame, with the frame's direction in its
 * epb_flags. Pure C on stdio, for the per-flow capture's writer thread (capture.c) and the
 * unit tests.
 */
#ifndef MR_PCAPNG_H
#define MR_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

struct mr_pcapng {
	FILE *f;
	uint64_t bytes;			/* written so far */
};

enum mr_pcapng_dir {
	MR_PCAPNG_IN = 1,		/* epb_flags direction: inbound */
	MR_PCAPNG_OUT = 2,		/* outbound */
};

/* Create path (truncated) and write the section and interface headers: interface if_name,
 * if_description desc (may be NULL), snap length snaplen. 0 or -errno (nothing left open). */
int mr_pcapng_open(struct mr_pcapng *w, const char *path, const char *if_name,
		   const char *desc, uint32_t snaplen);
/* One frame: caplen bytes at data of a frame of origlen bytes, at ts_ns nanoseconds since
 * the epoch, direction dir (enum mr_pcapng_dir). 0 or -errno. */
int mr_pcapng_packet(struct mr_pcapng *w, uint64_t ts_ns, const void *data, uint32_t caplen,
		     uint32_t origlen, unsigned int dir);
/* Write out what stdio holds. 0 or -errno. */
int mr_pcapng_flush(struct mr_pcapng *w);
/* Flush and close. 0 or -errno (the file is closed either way). NULL file: 0. */
int mr_pcapng_close(struct mr_pcapng *w);

#endif
