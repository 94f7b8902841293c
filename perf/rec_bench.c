/* SPDX-License-Identifier: BSD-3-Clause
 * The recording writer's per-packet work alone (docs/PERFORMANCE.md "Recording"): N streams,
 * each its own Ogg/Opus file (controlplane/media/oggopus.c, what the writer thread calls for
 * every captured packet), P packets each written round-robin as they would arrive (20 ms
 * apart in RTP time, 80-byte Opus frames: 32 kb/s), then every file closed. Reports the
 * thread's CPU time and the wall time per packet, and the streams one writer thread keeps
 * up with at 50 packets a second each (what it can write without its ring filling up and
 * the workers' copies being dropped). The ring, the capture copy on the worker and the
 * lookup of the recording (one load, recorder.c by_id) are not in it.
 *
 *	rec_bench [-n streams] [-p packets per stream] [-s payload bytes] [-d directory]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "oggopus.h"

static double
secs(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	unsigned int n = 1000, p = 500, size = 80, i, k;
	const char *dir = "/tmp";
	uint8_t pkt[MR_OGG_MAX_PACKET];
	struct mr_oggw *w;
	char path[512];
	double c0, t0, c1, t1, cw, tw;
	uint64_t bytes = 0;
	struct rlimit rl;
	int opt, rc;

	while ((opt = getopt(argc, argv, "n:p:s:d:")) != -1) {
		switch (opt) {
		case 'n': n = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p': p = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 's': size = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		default:
			fprintf(stderr, "usage: rec_bench [-n streams] [-p packets] [-s bytes] "
				"[-d directory]\n");
			return 2;
		}
	}
	if (n == 0 || p == 0 || size < 2 || size > MR_OGG_MAX_PACKET) {
		fprintf(stderr, "rec_bench: -n and -p must be > 0, -s 2..%d\n", MR_OGG_MAX_PACKET);
		return 2;
	}
	/* A file a stream: the soft limit up to the hard one. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < n + 16) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < n + 16) {
			fprintf(stderr, "rec_bench: %u streams need %u open files, the limit is "
				"%lu\n", n, n + 16, (unsigned long)rl.rlim_cur);
			return 1;
		}
	}
	w = calloc(n, sizeof(*w));
	if (w == NULL)
		return 1;
	/* A CELT-only fullband 20 ms frame (RFC 6716 §3.1: config 31, mono, one frame). */
	pkt[0] = 0xf8;
	for (i = 1; i < size; i++)
		pkt[i] = (uint8_t)(i * 37);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/rec_bench-%d-%u.opus", dir, (int)getpid(), i);
		rc = mr_oggw_open(&w[i], path, i);
		if (rc < 0) {
			fprintf(stderr, "rec_bench: %s: %s\n", path, strerror(-rc));
			return 1;
		}
	}
	c0 = secs(CLOCK_THREAD_CPUTIME_ID);
	t0 = secs(CLOCK_MONOTONIC);
	for (k = 0; k < p; k++)
		for (i = 0; i < n; i++)
			if (mr_oggw_packet(&w[i], i * 7919u + k * 960u, pkt, size) != 0) {
				fprintf(stderr, "rec_bench: packet %u of stream %u not written\n",
					k, i);
				return 1;
			}
	cw = secs(CLOCK_THREAD_CPUTIME_ID) - c0;
	tw = secs(CLOCK_MONOTONIC) - t0;
	for (i = 0; i < n; i++) {
		bytes += w[i].bytes;
		if (mr_oggw_close(&w[i]) < 0)
			fprintf(stderr, "rec_bench: closing stream %u failed\n", i);
	}
	c1 = secs(CLOCK_THREAD_CPUTIME_ID) - c0;
	t1 = secs(CLOCK_MONOTONIC) - t0;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/rec_bench-%d-%u.opus", dir, (int)getpid(), i);
		unlink(path);
	}
	printf("streams %u, packets %u each, payload %u bytes, into %s\n", n, p, size, dir);
	printf("writing:  %.0f ns CPU, %.0f ns wall a packet\n", cw * 1e9 / ((double)n * p),
	       tw * 1e9 / ((double)n * p));
	printf("closing included: %.0f ns CPU, %.0f ns wall a packet; %.1f MB written\n",
	       c1 * 1e9 / ((double)n * p), t1 * 1e9 / ((double)n * p), (double)bytes / 1e6);
	printf("streams one writer thread keeps up with at 50 packets/s: %.0f (CPU), %.0f "
	       "(wall)\n", (double)n * p / c1 / 50.0, (double)n * p / t1 / 50.0);
	free(w);
	return 0;
}
