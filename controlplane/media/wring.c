/* SPDX-License-Identifier: BSD-3-Clause
 * A writer thread fed by a ring (wring.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "wring.h"

#define WRING_BURST 64
#define WRING_IDLE_NS 2000000L		/* the writer's sleep when the ring is empty: 2 ms */

struct wring_msg {
	int type;
	void *p;
};

int
mr_wring_dir(const char *key, const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create %s: %s", key, dir, strerror(errno));
		return -1;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "%s: %s: %s", key, dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void *
wring_main(void *arg)
{
	struct mr_wring *w = arg;
	void *objs[WRING_BURST];
	unsigned int i, n;
	int quit = 0;

	while (!quit) {
		n = rte_ring_sc_dequeue_burst(w->ring, objs, WRING_BURST, NULL);
		if (n == 0) {
			struct timespec ts = { 0, WRING_IDLE_NS };

			nanosleep(&ts, NULL);
			continue;
		}
		for (i = 0; i < n; i++) {
			uintptr_t o = (uintptr_t)objs[i];

			if (o & MR_WRING_MSG_TAG) {
				struct wring_msg *msg = (void *)(o & ~(uintptr_t)MR_WRING_MSG_TAG);
				int type = msg->type;
				void *p = msg->p;

				free(msg);
				quit |= w->on_msg(w->arg, type, p);
			} else {
				w->on_copy(w->arg, objs[i]);
				rte_pktmbuf_free(objs[i]);
			}
		}
	}
	return NULL;
}

int
mr_wring_start(struct mr_wring *w, const char *what, const char *name, unsigned int n,
	       unsigned int buf, const char *thread_name, char *err, size_t errlen)
{
	char mp_name[RTE_MEMPOOL_NAMESIZE];

	snprintf(mp_name, sizeof(mp_name), "%s_mp", name);
	w->ring = rte_ring_create(name, n, SOCKET_ID_ANY, RING_F_SC_DEQ);
	w->mp = rte_pktmbuf_pool_create(mp_name, n - 1, 64, 0, RTE_PKTMBUF_HEADROOM + buf,
					SOCKET_ID_ANY);
	if (w->ring == NULL || w->mp == NULL) {
		snprintf(err, errlen, "%s: cannot create the ring and pool (%u buffers of %u "
			 "bytes): %s", what, n, buf, rte_strerror(rte_errno));
		goto fail;
	}
	if (pthread_create(&w->thr, NULL, wring_main, w) != 0) {
		snprintf(err, errlen, "%s: cannot start the writer thread", what);
		goto fail;
	}
	pthread_setname_np(w->thr, thread_name);
	w->thr_started = 1;
	return 0;
fail:
	rte_ring_free(w->ring);
	rte_mempool_free(w->mp);
	w->ring = NULL;
	w->mp = NULL;
	return -1;
}

int
mr_wring_send(struct mr_wring *w, int type, void *p, unsigned int wait_us)
{
	struct wring_msg *msg = malloc(sizeof(*msg));
	uint64_t until;

	if (msg == NULL)
		return -ENOMEM;
	msg->type = type;
	msg->p = p;
	until = rte_get_tsc_cycles() + rte_get_tsc_hz() / 1000000 * wait_us;
	while (rte_ring_mp_enqueue(w->ring, (void *)((uintptr_t)msg | MR_WRING_MSG_TAG)) != 0) {
		if (rte_get_tsc_cycles() > until) {
			free(msg);
			return -ENOBUFS;
		}
		rte_pause();
	}
	return 0;
}

void
mr_wring_stop(struct mr_wring *w, int quit_type)
{
	void *o;

	if (w->thr_started) {
		while (mr_wring_send(w, quit_type, NULL, 1000) < 0)
			;
		pthread_join(w->thr, NULL);
		w->thr_started = 0;
	}
	/* Nothing runs any more: what is left in the ring is freed. */
	while (w->ring != NULL && rte_ring_dequeue(w->ring, &o) == 0) {
		if ((uintptr_t)o & MR_WRING_MSG_TAG)
			free((void *)((uintptr_t)o & ~(uintptr_t)MR_WRING_MSG_TAG));
		else
			rte_pktmbuf_free(o);
	}
	rte_ring_free(w->ring);
	rte_mempool_free(w->mp);
	w->ring = NULL;
	w->mp = NULL;
}
