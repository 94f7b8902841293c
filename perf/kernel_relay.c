/* SPDX-License-Identifier: BSD-3-Clause
 * kernel_relay: the baseline a user would write instead of a DPDK relay (docs/PERFORMANCE.md).
 * One thread, ordinary UDP sockets, recvmmsg/sendmmsg in batches of 32, epoll over the sockets:
 * the best a kernel-socket relay does without an in-kernel fast path.
 *
 *   kernel_relay [-a ADDR] [-p BASEPORT] [-n SESSIONS] [-t SECONDS]
 *
 * Session i has two legs, sockets bound to ADDR:BASEPORT+4i (leg A) and ADDR:BASEPORT+4i+2
 * (leg B). Like a symmetric-RTP relay (RFC 4961), each leg latches the source of the first
 * packet it receives; a packet received on one leg is sent from the other leg's socket to
 * that leg's latched remote, and dropped while there is none.
 *
 * SIGUSR1 prints the counters as one JSON line, with the process's CPU time, so that the cost
 * per packet of a window is the difference of two snapshots; SIGINT/SIGTERM or -t end it.
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
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define KRELAY_BATCH 32
#define KRELAY_BUF 2048
#define KRELAY_MAX_SESSIONS 16384

struct krelay_leg {
	int fd;
	int latched;
	struct sockaddr_in remote;	/* latched source */
};

struct krelay_stats {
	uint64_t rx;		/* datagrams received */
	uint64_t tx;		/* datagrams the kernel accepted for sending */
	uint64_t no_remote;	/* dropped: the other leg has no remote yet */
	uint64_t tx_err;	/* refused by sendmmsg */
	uint64_t batches;	/* recvmmsg calls that returned data */
};

static volatile sig_atomic_t krelay_quit, krelay_dump;
static struct krelay_stats krelay_st;

static void
krelay_on_signal(int sig)
{
	if (sig == SIGUSR1)
		krelay_dump = 1;
	else
		krelay_quit = 1;
}

static double
krelay_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
krelay_print(const char *event, double t_start)
{
	struct rusage ru;
	double cpu;

	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("{\"tool\":\"kernel_relay\",\"event\":\"%s\",\"wall_s\":%.6f,\"cpu_s\":%.6f,"
	       "\"rx\":%" PRIu64 ",\"tx\":%" PRIu64 ",\"no_remote\":%" PRIu64
	       ",\"tx_err\":%" PRIu64 ",\"batches\":%" PRIu64 "}\n", event,
	       krelay_now() - t_start, cpu, krelay_st.rx, krelay_st.tx, krelay_st.no_remote,
	       krelay_st.tx_err, krelay_st.batches);
	fflush(stdout);
}

static int
krelay_socket(struct in_addr addr, uint16_t port)
{
	struct sockaddr_in sa;
	int fd, buf = 4 << 20;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A relay tuned for throughput: deep socket buffers absorb the bursts (root may go past
	 * net.core.rmem_max with the FORCE variant; without it the plain one caps silently). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr = addr;
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/* Drain one leg's socket, relaying through the other leg. */
static void
krelay_service(struct krelay_leg *in, struct krelay_leg *out)
{
	static uint8_t bufs[KRELAY_BATCH][KRELAY_BUF];
	struct mmsghdr msgs[KRELAY_BATCH];
	struct iovec iov[KRELAY_BATCH];
	struct sockaddr_in from[KRELAY_BATCH];
	int i, n, sent, rounds;

	for (rounds = 0; rounds < 8; rounds++) {
		for (i = 0; i < KRELAY_BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = KRELAY_BUF;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		n = recvmmsg(in->fd, msgs, KRELAY_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		krelay_st.rx += n;
		krelay_st.batches++;
		if (!in->latched) {
			in->remote = from[0];
			in->latched = 1;
		}
		if (!out->latched) {
			krelay_st.no_remote += n;
			continue;
		}
		/* The same buffers go out: only the length and the destination change. */
		for (i = 0; i < n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			msgs[i].msg_hdr.msg_name = &out->remote;
			msgs[i].msg_hdr.msg_namelen = sizeof(out->remote);
		}
		sent = sendmmsg(out->fd, msgs, n, MSG_DONTWAIT);
		if (sent < 0)
			sent = 0;
		krelay_st.tx += sent;
		krelay_st.tx_err += n - sent;
		if (n < KRELAY_BATCH)
			return;
	}
}

int
main(int argc, char **argv)
{
	struct in_addr addr = { .s_addr = htonl(INADDR_LOOPBACK) };
	unsigned int n_sessions = 1, i;
	unsigned long base = 40000;
	double duration = 0, t_start;
	struct krelay_leg *legs;
	struct epoll_event ev[64];
	int c, ep;

	signal(SIGINT, krelay_on_signal);
	signal(SIGTERM, krelay_on_signal);
	signal(SIGUSR1, krelay_on_signal);
	while ((c = getopt(argc, argv, "a:p:n:t:h")) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &addr) != 1) {
				fprintf(stderr, "kernel_relay: bad address '%s'\n", optarg);
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
		default:
			fprintf(stderr, "usage: kernel_relay [-a ADDR] [-p BASEPORT] [-n SESSIONS] "
				"[-t SECONDS]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	if (n_sessions == 0 || n_sessions > KRELAY_MAX_SESSIONS ||
	    base < 1024 || base + 4 * n_sessions > 65536) {
		fprintf(stderr, "kernel_relay: sessions 1..%u, ports must fit below 65536\n",
			KRELAY_MAX_SESSIONS);
		return 2;
	}
	legs = calloc(2 * n_sessions, sizeof(*legs));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (legs == NULL || ep < 0) {
		perror("kernel_relay");
		return 1;
	}
	for (i = 0; i < 2 * n_sessions; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = i };
		int fd = krelay_socket(addr, (uint16_t)(base + 2 * i));

		if (fd < 0) {
			fprintf(stderr, "kernel_relay: port %lu: %s\n", base + 2 * i,
				strerror(-fd));
			return 1;
		}
		legs[i].fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			perror("kernel_relay: epoll_ctl");
			return 1;
		}
	}
	fprintf(stderr, "kernel_relay: %u session(s) on %s:%lu..%lu\n", n_sessions,
		inet_ntoa(addr), base, base + 4 * n_sessions - 2);
	t_start = krelay_now();
	while (!krelay_quit) {
		int n = epoll_wait(ep, ev, 64, 100), k;

		if (krelay_dump) {
			krelay_dump = 0;
			krelay_print("snapshot", t_start);
		}
		if (duration > 0 && krelay_now() - t_start >= duration)
			break;
		for (k = 0; k < n; k++) {
			unsigned int li = ev[k].data.u32;

			/* Legs 2s and 2s+1 are the two legs of session s. */
			krelay_service(&legs[li], &legs[li ^ 1]);
		}
	}
	krelay_print("exit", t_start);
	for (i = 0; i < 2 * n_sessions; i++)
		close(legs[i].fd);
	close(ep);
	free(legs);
	return 0;
}
