/* SPDX-License-Identifier: BSD-3-Clause
 * A writer thread fed by a ring (recording, recorder.c; per-flow capture, capture.c): the
 * workers put copies (mbufs of a pool of the writer's own) on a multi-producer ring, the
 * control thread puts its messages on the same ring as tagged pointers (bit 0 set: mbufs
 * are never odd, rec.h, cap.h), so that the writer, the single consumer, sees them in the
 * order they were enqueued. The thread sleeps 2 ms when the ring is empty.
 */
#ifndef MR_WRING_H
#define MR_WRING_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

#define MR_WRING_MSG_TAG 1u

struct mr_wring {
	struct rte_ring *ring;
	struct rte_mempool *mp;
	/* Called on the writer thread: a copy (freed after the call), a message (type and
	 * pointer as sent); on_msg returns 1 when the thread must end. */
	void (*on_copy)(void *arg, struct rte_mbuf *m);
	int (*on_msg)(void *arg, int type, void *p);
	void *arg;
	pthread_t thr;
	int thr_started;
};

/* The directory of a writer: created (mode 0750) if missing, writable. 0, or -1 with err
 * naming key ("recording.directory"). */
int mr_wring_dir(const char *key, const char *dir, char *err, size_t errlen);
/* Ring name (n slots, a power of two), pool name_mp (n - 1 buffers of buf data bytes: the
 * copies wait in the ring, nowhere else), thread thread_name. w's callbacks and arg set
 * before. 0, or -1 with err (what prefixes it). */
int mr_wring_start(struct mr_wring *w, const char *what, const char *name, unsigned int n,
		   unsigned int buf, const char *thread_name, char *err, size_t errlen);
/* Hand the writer message (type, p): the ring's release publishes what p points to. A full
 * ring is waited on wait_us at most (the writer drains it unless the disk hangs). 0,
 * -ENOMEM or -ENOBUFS. */
int mr_wring_send(struct mr_wring *w, int type, void *p, unsigned int wait_us);
/* With the workers stopped: message (quit_type, NULL) sent until the ring takes it, the
 * thread joined, what is left in the ring freed, ring and pool freed. */
void mr_wring_stop(struct mr_wring *w, int quit_type);

/* Counters one thread writes and another reads: whole 64-bit words. */
static inline void
mr_wring_st64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline uint64_t
mr_wring_ld64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

#endif
