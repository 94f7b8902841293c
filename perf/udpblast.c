/* SPDX-License-Identifier: BSD-3-Clause
 * udpblast: kernel-socket traffic source and sink for the relay baselines
 * (docs/PERFORMANCE.md). It sends RTP-sized datagrams round-robin to both legs of every
 * session of a relay with sendmmsg, in batches of 32, and counts what comes back with recvmmsg.
 *
 *   udpblast [-a RELAY_ADDR] [-p BASEPORT] [-n SESSIONS] [-t SECONDS] [-r PPS] [-s PAYLOAD]
 *            [-b SOURCE_PORT] [-P PORTS_FILE] [-l LABEL]
 *
 * Leg ports are BASEPORT + 4i and BASEPORT + 4i + 2 (kernel_relay's layout), or are read from
 * PORTS_FILE (one port per line, two lines per session: leg A then leg B) for relays that
 * choose their own ports. All traffic comes from one socket (on SOURCE_PORT if given, the
 * address a relay was told in SDP), so every leg latches it as its
 * remote and the relayed packets come back to it. A warm-up round (one datagram per leg, then
 * 200 ms) lets the relay latch before the measured window. Prints one JSON line.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define UDPBLAST_BATCH 32
#define UDPBLAST_BUF 2048
#define UDPBLAST_MAX_LEGS 65536

static volatile sig_atomic_t udpblast_quit;

static void
udpblast_on_signal(int sig)
{
	(void)sig;
	udpblast_quit = 1;
}

static double
udpblast_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Receive everything waiting (bounded); returns the count. */
static uint64_t
udpblast_drain(int fd)
{
	static uint8_t bufs[UDPBLAST_BATCH][UDPBLAST_BUF];
	struct mmsghdr msgs[UDPBLAST_BATCH];
	struct iovec iov[UDPBLAST_BATCH];
	uint64_t total = 0;
	int i, n, rounds;

	for (rounds = 0; rounds < 16; rounds++) {
		memset(msgs, 0, sizeof(msgs));
		for (i = 0; i < UDPBLAST_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = UDPBLAST_BUF;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msgs, UDPBLAST_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		total += n;
		if (n < UDPBLAST_BATCH)
			break;
	}
	return total;
}

int
main(int argc, char **argv)
{
	struct in_addr relay = { .s_addr = htonl(INADDR_LOOPBACK) };
	unsigned int n_sessions = 1, n_legs, i, cur = 0, payload = 160;
	unsigned long base = 40000, sport = 0;
	double duration = 10, rate = 0, t0, t1, now, secs;
	const char *ports_file = NULL, *label = "";
	struct sockaddr_in *dst, me;
	static uint8_t pkt[UDPBLAST_BUF];
	struct mmsghdr msgs[UDPBLAST_BATCH];
	struct iovec iov;
	uint64_t tx = 0, rx = 0, tx_err = 0, warm_back;
	int c, fd, buf = 8 << 20;
	socklen_t mlen = sizeof(me);

	while ((c = getopt(argc, argv, "a:p:n:t:r:s:b:P:l:h")) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &relay) != 1) {
				fprintf(stderr, "udpblast: bad address '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			base = strtoul(optarg, NULL, 10);
			break;
		case 'n':
			n_sessions = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 't':
			duration = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 's':
			payload = (unsigned int)strtoul(optarg, NULL, 10);
			break;
		case 'b':
			sport = strtoul(optarg, NULL, 10);
			break;
		case 'P':
			ports_file = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		default:
			fprintf(stderr, "usage: udpblast [-a ADDR] [-p BASEPORT] [-n SESSIONS] "
				"[-t SECONDS] [-r PPS] [-s PAYLOAD] [-b SPORT] [-P PORTS_FILE] "
				"[-l LABEL]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (n_sessions == 0 || 2 * n_sessions > UDPBLAST_MAX_LEGS || duration <= 0 ||
	    payload + 12 > UDPBLAST_BUF || sport > 65535) {
		fprintf(stderr, "udpblast: bad arguments\n");
		return 2;
	}
	n_legs = 2 * n_sessions;
	dst = calloc(n_legs, sizeof(*dst));
	if (dst == NULL)
		return 1;
	for (i = 0; i < n_legs; i++) {
		dst[i].sin_family = AF_INET;
		dst[i].sin_addr = relay;
		dst[i].sin_port = htons((uint16_t)(base + 2 * i));
	}
	if (ports_file != NULL) {
		FILE *f = fopen(ports_file, "r");
		unsigned int p;

		if (f == NULL) {
			perror(ports_file);
			return 1;
		}
		for (i = 0; i < n_legs && fscanf(f, "%u", &p) == 1; i++)
			dst[i].sin_port = htons((uint16_t)p);
		fclose(f);
		if (i != n_legs) {
			fprintf(stderr, "udpblast: %s: %u ports for %u legs\n", ports_file, i,
				n_legs);
			return 1;
		}
	}

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udpblast: socket");
		return 1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	memset(&me, 0, sizeof(me));
	me.sin_family = AF_INET;
	me.sin_addr = relay;
	me.sin_port = htons((uint16_t)sport);
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &mlen) < 0) {
		perror("udpblast: bind");
		return 1;
	}
	/* An RTP packet: V=2, PT 0, then PCMU silence (RFC 3550 §5.1, RFC 3551). */
	memset(pkt, 0xff, sizeof(pkt));
	memset(pkt, 0, 12);
	pkt[0] = 0x80;
	pkt[8] = 0x55;
	iov.iov_base = pkt;
	iov.iov_len = 12 + payload;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < UDPBLAST_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_namelen = sizeof(dst[0]);
	}
	signal(SIGINT, udpblast_on_signal);
	signal(SIGTERM, udpblast_on_signal);

	/* Warm-up: every leg latches this socket. */
	for (i = 0; i < n_legs; i++)
		sendto(fd, pkt, iov.iov_len, 0, (struct sockaddr *)&dst[i], sizeof(dst[i]));
	usleep(100000);
	for (i = 0; i < n_legs; i++)
		sendto(fd, pkt, iov.iov_len, 0, (struct sockaddr *)&dst[i], sizeof(dst[i]));
	usleep(200000);
	warm_back = udpblast_drain(fd);
	while (udpblast_drain(fd))
		;

	t0 = udpblast_now();
	t1 = t0 + duration;
	while (!udpblast_quit && (now = udpblast_now()) < t1) {
		unsigned int n = UDPBLAST_BATCH;
		int sent;

		if (rate > 0) {
			double due = (now - t0) * rate - (double)tx;

			n = due >= UDPBLAST_BATCH ? UDPBLAST_BATCH :
				(unsigned int)(due > 0 ? due : 0);
		}
		if (n) {
			for (i = 0; i < n; i++) {
				msgs[i].msg_hdr.msg_name = &dst[cur];
				if (++cur == n_legs)
					cur = 0;
			}
			sent = sendmmsg(fd, msgs, n, 0);
			if (sent < 0)
				sent = 0;
			tx += sent;
			tx_err += n - sent;
		}
		rx += udpblast_drain(fd);
	}
	secs = udpblast_now() - t0;
	usleep(20000);
	rx += udpblast_drain(fd);
	printf("{\"tool\":\"udpblast\",\"label\":\"%s\",\"sessions\":%u,\"payload\":%u,"
	       "\"duration_s\":%.3f,\"warmup_returned\":%" PRIu64 ",\"tx\":%" PRIu64
	       ",\"rx\":%" PRIu64 ",\"tx_err\":%" PRIu64 ",\"tx_pps\":%.0f,\"rx_pps\":%.0f,"
	       "\"source_port\":%u}\n", label, n_sessions, payload, secs, warm_back, tx, rx,
	       tx_err, tx / secs, rx / secs, ntohs(me.sin_port));
	close(fd);
	free(dst);
	return 0;
}
