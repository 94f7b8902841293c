/* SPDX-License-Identifier: BSD-3-Clause
 * The dataplane and the real control plane at the same time (DESIGN.md §2 "Publication").
 *
 * A real appliance (mr_appliance_start) runs on two ring-PMD ports with two workers on lcores
 * of their own; the main thread is its control thread. In rounds it calls the session manager
 * (mr_http_session_create/patch/delete, mr_sessions_tick) and the rooms (mr_http_rooms, the
 * signaling API, mr_rooms_tick) as fast as it can, and between calls injects packets into the
 * ports' RX rings and checks everything the workers transmit:
 *
 * - Every injected packet carries a trailer naming what it was sent for: a session, its leg
 *   and path, the generation of the other leg's remote the control plane had applied, or a
 *   room publisher; stray packets to deleted objects and packets from nobody are marked.
 *   Remote addresses encode (session, leg, generation, path) or the participant, so a relayed
 *   packet is checked exactly: it leaves from the other leg's local endpoint towards a remote
 *   that leg had, of a generation not older than the one applied when it was sent; a room
 *   copy goes to a participant of the publisher's room that existed when the packet was sent,
 *   in order, once. A packet sent after its session was deleted, or from nobody, must never
 *   come out.
 * - Relay ports are reused (a small FIFO range wraps several times). Session remotes are
 *   configured, so a stray packet reaching a port's next session is a source mismatch.
 *   Participants latch their first source; stray packets for them only go to ports reused
 *   after at least PORT_PAIRS - LIVE_PAIRS allocations, far more than the packets that can be
 *   in flight (an age window on the RX rings, and every round sends to both ports; see
 *   wait_window()), and the test checks that margin when a port comes back.
 * - A round may end a victim while a worker is held at a gate right after it looked the
 *   victim up, or in the middle of a fan-out: the case the grace period exists for.
 * - Freed dataplane memory is poisoned (controlplane/core/dpmem.h): a worker that reads it
 *   follows non-canonical pointers or relays to 165.165.165.165, and this test fails.
 * - At the end everything is deleted and the counters must add up exactly: packets in =
 *   relayed + every named drop, per the workers' counters, the sessions' final counters
 *   (GET of ended sessions) and what came out.
 *
 * Bounded by a count of rounds and a generous time limit (whichever comes first; reaching
 * the limit only shortens the run): nothing here asserts a duration. Environment:
 * MR_CONC_ROUNDS, MR_CONC_SEED, MR_CONC_SECONDS.
 *
 * Not cmocka: a worker that crashes must take the process down, and cmocka's signal
 * handlers would longjmp from the worker's thread into the main thread's test.
 *
 * Under ThreadSanitizer (scripts/test --tsan) the test tells TSan about the synchronisation
 * it cannot see in uninstrumented DPDK libraries (docs/TESTING.md "ThreadSanitizer"): the
 * ring PMD's RX and TX rings (RX/TX callbacks), the mbuf pools (mempool ops of its own),
 * publication through rte_hash and its RCU defer queue (wrappers of rte_hash_add_key_data,
 * rte_hash_del_key, rte_hash_lookup_bulk_data) and the EAL's wait for the lcores.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <jansson.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_eth_ring.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "addr.h"
#include "api.h"
#include "appliance.h"
#include "cmdq.h"
#include "config.h"
#include "counters.h"
#include "dp.h"
#include "dpmem.h"
#include "flow_table.h"
#include "flows.h"
#include "json_req.h"
#include "neigh.h"
#include "rooms.h"
#include "sessions.h"

/* dp_frames.h asserts with cmocka's macro in ep6(), which this test does not use. */
#define assert_int_equal(a, b) do { if ((a) != (b)) abort(); } while (0)
#include "dp_frames.h"

#define N_WORKERS	2
#define N_PORTS		2
#define P_A		0
#define P_B		1	/* room participants live here only */
#define N_TXQ		N_WORKERS	/* one TX queue a worker (worker 0 sends the control
				 * thread's packets too) */
#define RX_RING		1024
#define TX_RING		4096
#define PORT_MIN	20000
#define PORT_MAX	21599
#define PORT_PAIRS	((PORT_MAX - PORT_MIN + 1) / 2)
#define WINDOW		96	/* a waiting packet this old (in injections) stops them */
#define BURST_MAX	14
#define VICTIM_MAX	24	/* packets to what is ended while the workers relay them */
#define S_LIVE		40	/* sessions at once */
#define S_TOTAL		16000	/* session tokens (< 16384: the remotes encode them) */
#define ROOMS		3
#define R_PARTS		6	/* participants per room */
#define P_TOTAL		8000	/* participant tokens (< 16384) */
#define LIVE_PAIRS	(2 * S_LIVE + ROOMS * R_PARTS)
#define STALE_ROUNDS	16	/* how long deleted objects keep getting stray packets */
#define RECENT		32
#define GEN_MAX		15000	/* remote port 2048 + 4 * gen + 3 must fit */
#define ROUNDS_DEFAULT	5000
#define SECONDS_DEFAULT	150
#define WAIT_S		60	/* bound on every wait for the workers */
#define MAGIC		0x4d524343u	/* "MRCC" */
#define NOBODY_PORT	9

enum { K_SESS = 1, K_ROOM, K_NOBODY };

/* The last bytes of every injected UDP payload. */
struct trailer {
	uint32_t magic;
	uint8_t kind;
	uint8_t leg;		/* sessions: the leg it was sent to */
	uint8_t path;		/* sessions: 0 RTP port, 1 RTCP port (without rtcp-mux) */
	uint8_t stale;		/* sent after its session or participant was deleted */
	uint32_t token;		/* session or publishing participant */
	uint32_t gen;		/* sessions: the other leg's remote generation applied */
	uint64_t seq;		/* injection sequence number */
} __rte_packed;

struct t_sess {
	char id[24];
	uint8_t state;		/* 0 unused, 1 alive, 2 deleted */
	uint8_t mux;
	uint8_t quiet;		/* 1 s idle timeout, never sent to: ended by the tick */
	uint8_t pidx[2];
	int8_t txq;		/* TX queue its packets leave on (-1: none seen yet) */
	struct mr_ep local[2];
	uint32_t gen[2];	/* remote generation set and applied by the owner */
	uint64_t died;		/* round of the DELETE */
	uint64_t out[2];	/* relayed packets seen that were sent to leg L */
};

struct t_part {
	uint8_t state;		/* 0 unused, 1 alive, 2 gone */
	uint8_t muted;
	uint8_t video;
	uint8_t n_ssrc;		/* streams published so far */
	unsigned int room;	/* rooms[] slot */
	uint32_t room_id, id, stream, ssrc;
	uint16_t rtp_seq;
	struct mr_ep local;
	uint64_t born;		/* first injection sequence number after its creation */
	uint64_t gone;		/* first injection sequence number after its removal */
	uint64_t died;		/* round of the removal */
	uint64_t last_copy;	/* sequence number of the last copy it received */
};

struct t_room {
	uint8_t alive;
	uint32_t id;
	unsigned int n;
	unsigned int owner;	/* worker index */
};

static __typeof__(rte_eth_from_rings) *from_rings;

static struct mr_config cfg;
static struct mr_appliance app;
static struct rte_mempool *pool;
static uint16_t port_id[N_PORTS];
static unsigned int n_dev_start;	/* ports started through the wrapper */
static struct rte_ring *rx_ring[N_PORTS];
static struct rte_ring *tx_ring[N_PORTS][N_TXQ];
static struct rte_ether_addr port_mac[N_PORTS];
static const uint8_t GW_MAC[N_PORTS][6] = { { 0x02, 0, 0, 0, 0xaa, 0xfe },
					    { 0x02, 0, 0, 0, 0xbb, 0xfe } };
static const uint8_t PORT_IP[N_PORTS][4] = { { 198, 18, 0, 1 }, { 198, 18, 1, 1 } };
static const uint8_t GW_IP[N_PORTS][4] = { { 198, 18, 0, 254 }, { 198, 18, 1, 254 } };
static const char *const PORT_NAME[N_PORTS] = { "a", "b" };

static struct t_sess *sess;		/* [S_TOTAL], token 0 unused */
static struct t_part *parts;		/* [P_TOTAL] */
static struct t_room rooms[ROOMS];
static uint32_t n_sess, n_parts, live_sess, live_parts;
static uint32_t dead_sess[RECENT], dead_parts[RECENT];
static unsigned int n_dead_sess, n_dead_parts;

/* Injection bookkeeping: seq of every packet in each RX ring by ring position. */
static uint64_t next_seq = 1;
static uint64_t ring_seq[N_PORTS][RX_RING];
static uint32_t ring_prod[N_PORTS];
static uint64_t last_inj[65536];	/* last seq sent to each UDP port of port B's address */
static uint64_t min_reuse_gap = UINT64_MAX;
static uint8_t *room_seen;		/* bit per seq: a copy came out */
static uint64_t room_seen_bits;

static uint64_t rng = 88172645463325252ULL;
static uint64_t round_no;

static struct {
	uint64_t injected, arp_injected;
	uint64_t sess_out, room_copies, room_pkts, rr, held;
	uint64_t ops[12];
} st;

static const char *const op_name[12] = { "session_create", "session_patch", "session_delete",
	"part_create", "part_leave", "republish", "mute", "rejoin", "room_create",
	"room_delete", "idle", "session_batch" };

static void __attribute__((format(printf, 1, 2), noreturn))
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "test_concurrency: FAIL (round %" PRIu64 "): ", round_no);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	fflush(stderr);
	/* The workers are still running: leave at once, without running destructors. */
	_exit(1);
}

#define check(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (uint32_t)(rng % n) : 0;
}

/* ---- what ThreadSanitizer cannot see (docs/TESTING.md "ThreadSanitizer") ---- */

#if defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define T_ACQUIRE(p) __tsan_acquire((void *)(uintptr_t)(p))
#define T_RELEASE(p) __tsan_release((void *)(uintptr_t)(p))

/* Mbufs travel between threads through the pools' shared rings, which the uninstrumented
 * mempool driver runs: every pool here uses these ops instead (--mbuf-pool-ops-name), the
 * same ring with the hand-over said to TSan. */
static int
tsan_mp_alloc(struct rte_mempool *mp)
{
	char name[RTE_RING_NAMESIZE];
	struct rte_ring *r;

	snprintf(name, sizeof(name), "tsmp_%.20s", mp->name);
	r = rte_ring_create(name, rte_align32pow2(mp->size + 1), mp->socket_id, 0);
	if (r == NULL)
		return -rte_errno;
	mp->pool_data = r;
	return 0;
}

static void
tsan_mp_free(struct rte_mempool *mp)
{
	rte_ring_free(mp->pool_data);
}

static int
tsan_mp_enqueue(struct rte_mempool *mp, void * const *objs, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		T_RELEASE(objs[i]);
	return rte_ring_mp_enqueue_bulk(mp->pool_data, objs, n, NULL) == 0 ? -ENOBUFS : 0;
}

static int
tsan_mp_dequeue(struct rte_mempool *mp, void **objs, unsigned int n)
{
	unsigned int i;

	if (rte_ring_mc_dequeue_bulk(mp->pool_data, objs, n, NULL) == 0)
		return -ENOBUFS;
	for (i = 0; i < n; i++)
		T_ACQUIRE(objs[i]);
	return 0;
}

static unsigned int
tsan_mp_count(const struct rte_mempool *mp)
{
	return rte_ring_count(mp->pool_data);
}

static struct rte_mempool_ops tsan_mp_ops = {
	.name = "mr_tsan_ring",
	.alloc = tsan_mp_alloc,
	.free = tsan_mp_free,
	.enqueue = tsan_mp_enqueue,
	.dequeue = tsan_mp_dequeue,
	.get_count = tsan_mp_count,
};

RTE_MEMPOOL_REGISTER_OPS(tsan_mp_ops);
#else
#define T_ACQUIRE(p) do { } while (0)
#define T_RELEASE(p) do { } while (0)
#endif

/* ---- the flow tables, seen from inside: publication and the victim gate ---- */

/* These take precedence over librte_hash's functions (the executable defines them), so
 * the workers' lookups and the control thread's adds come through here.
 *
 * librte_hash is not instrumented: under TSan its release on add and acquire on lookup
 * are invisible, and every worker read of a published session or participant would be
 * reported against the control thread's initialisation of it. T_RELEASE/T_ACQUIRE say it:
 * whatever the control thread wrote before adding a key to a table happens before a
 * lookup in that table that follows.
 *
 * The gate holds a worker right after a lookup that found the round's victim (a session
 * or participant the main thread is about to end) until the main thread has ended it and
 * run its ticks: the worker then relays with pointers it took before the end, the case
 * the grace period exists for. Reclaiming too early frees (and poisons) what it is about
 * to read. */
static __typeof__(rte_hash_add_key_data) *real_add;
static __typeof__(rte_hash_del_key) *real_del;
static __typeof__(rte_hash_lookup_bulk_data) *real_lookup;
/* Keys added and deleted (the control thread's calls): equal at the end, or flows leak. */
static uint64_t n_flow_add, n_flow_del;

enum { GATE_LOOKUP, GATE_TX };

static struct {
	uint32_t armed;		/* main: 1 = the next lookup hitting ep[] holds */
	uint32_t mode;		/* GATE_LOOKUP, or GATE_TX: a full TX burst of worker w
				 * on port B holds (written before armed) */
	unsigned int w;
	uint32_t gen;		/* main: round of the arming (written before armed) */
	uint32_t held;		/* worker: the gen it holds for */
	uint32_t go;		/* main: gens up to this one may continue */
	uint32_t readers;	/* workers looking at ep[] now */
	unsigned int n_ep;	/* written before armed is set (release) */
	struct mr_ep ep[2];	/* local endpoints (RTP port; RTCP is port + 1) */
} gate;

/* On a worker: take the armed gate (one worker only) and wait for the main thread. */
static void
gate_hold(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();
	uint32_t my;

	if (!__atomic_exchange_n(&gate.armed, 0, __ATOMIC_ACQ_REL))
		return;
	my = gate.gen;
	__atomic_store_n(&gate.held, my, __ATOMIC_RELEASE);
	while ((int32_t)(__atomic_load_n(&gate.go, __ATOMIC_ACQUIRE) - my) < 0 &&
	       rte_get_tsc_cycles() < deadline)
		rte_pause();
}

/* rte_hash's RCU defer queue (RTE_HASH_QSBR_MODE_DQ) runs rte_rcu_qsbr_check() inside
 * librte_hash/librte_rcu when keys are added and deleted: it reads the workers' quiescent
 * counters with acquire loads TSan cannot see and leaves their minimum in acked_token, which
 * the control plane's own rte_rcu_qsbr_check() then trusts without loading anything. The
 * same loads, here where TSan sees them. */
static void
rcu_dq_seen(void)
{
#if defined(__SANITIZE_THREAD__)
	unsigned int i;

	if (app.dp == NULL)
		return;
	for (i = 0; i < app.dp->n_workers; i++)
		(void)__atomic_load_n(&app.dp->qsv->qsbr_cnt[i].cnt, __ATOMIC_ACQUIRE);
#endif
}

int
rte_hash_add_key_data(const struct rte_hash *h, const void *key, void *data)
{
	int r;

	T_RELEASE(h);
	r = real_add(h, key, data);
	rcu_dq_seen();
	n_flow_add += r == 0;
	return r;
}

int32_t
rte_hash_del_key(const struct rte_hash *h, const void *key)
{
	int32_t r = real_del(h, key);

	rcu_dq_seen();
	n_flow_del += r >= 0;
	return r;
}

static int
gate_match(const void **keys, uint32_t n, uint64_t hits)
{
	uint32_t i;
	unsigned int j;

	for (i = 0; i < n; i++) {
		const struct mr_flow_key *k = keys[i];

		if (!(hits & (1ULL << i)))
			continue;
		for (j = 0; j < gate.n_ep; j++)
			if (k->family == gate.ep[j].family &&
			    memcmp(k->a, gate.ep[j].a, 16) == 0 &&
			    (k->port == gate.ep[j].port || k->port == gate.ep[j].port + 1))
				return 1;
	}
	return 0;
}

int
rte_hash_lookup_bulk_data(const struct rte_hash *h, const void **keys, uint32_t num_keys,
			  uint64_t *hit_mask, void *data[])
{
	int r = real_lookup(h, keys, num_keys, hit_mask, data);

	T_ACQUIRE(h);
	/* Relaxed: a hint only; the check that counts is below, among the readers. */
	if (__atomic_load_n(&gate.armed, __ATOMIC_RELAXED)) {
		int hit;

		/* The main thread writes ep[] only with no reader and the gate disarmed;
		 * acquire: pairs with its release of armed after it set ep[]. */
		__atomic_fetch_add(&gate.readers, 1, __ATOMIC_ACQ_REL);
		hit = __atomic_load_n(&gate.armed, __ATOMIC_ACQUIRE) && gate.mode == GATE_LOOKUP &&
			gate_match(keys, num_keys, *hit_mask);
		/* Release: our reads of ep[] happen before the main thread's next writes. */
		__atomic_fetch_sub(&gate.readers, 1, __ATOMIC_RELEASE);
		if (hit)
			gate_hold();
	}
	return r;
}

static void
hash_wrap_init(void)
{
	*(void **)&real_add = dlsym(RTLD_NEXT, "rte_hash_add_key_data");
	*(void **)&real_del = dlsym(RTLD_NEXT, "rte_hash_del_key");
	*(void **)&real_lookup = dlsym(RTLD_NEXT, "rte_hash_lookup_bulk_data");
	check(real_add != NULL && real_del != NULL && real_lookup != NULL,
	      "dlsym(rte_hash_*): %s", dlerror());
}

/* The ring PMD (uninstrumented) moves the mbufs: the worker acquires what the test released
 * before enqueueing, and releases what it hands to the TX ring. */
static uint16_t
rx_cb(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t n, uint16_t max,
      void *ring)
{
	RTE_SET_USED(port);
	RTE_SET_USED(queue);
	RTE_SET_USED(pkts);
	RTE_SET_USED(max);
	RTE_SET_USED(ring);
	if (n)
		T_ACQUIRE(ring);
	return n;
}

static uint16_t
tx_cb(uint16_t port, uint16_t queue, struct rte_mbuf *pkts[], uint16_t n, void *ring)
{
	RTE_SET_USED(pkts);
	if (n)
		T_RELEASE(ring);
	/* A full burst: mr_worker_tx() flushing in the middle of a fan-out, the subscriber
	 * list in hand (room_fwd.c). The gate holds it there. */
	if (n == MR_BURST && __atomic_load_n(&gate.armed, __ATOMIC_RELAXED)) {
		int hit;

		/* As in rte_hash_lookup_bulk_data() above. */
		__atomic_fetch_add(&gate.readers, 1, __ATOMIC_ACQ_REL);
		hit = __atomic_load_n(&gate.armed, __ATOMIC_ACQUIRE) && gate.mode == GATE_TX &&
			queue == gate.w && port == port_id[P_B];
		__atomic_fetch_sub(&gate.readers, 1, __ATOMIC_RELEASE);
		if (hit)
			gate_hold();
	}
	return n;
}

/* The callbacks go in as the appliance starts each port (this takes precedence over
 * librte_ethdev's, like the rte_hash wrappers above): mr_appliance_start() asks for the
 * gateways' MACs before it launches the workers, and worker 0 sends those ARP requests at
 * once. Added after mr_appliance_start() returned, the callbacks missed them, and the
 * control thread's reuse of their mbufs looked like a race with worker 0's TX. */
static __typeof__(rte_eth_dev_start) *real_dev_start;

int
rte_eth_dev_start(uint16_t pid)
{
	unsigned int p, q;
	int rc;

	if (real_dev_start == NULL)
		*(void **)&real_dev_start = dlsym(RTLD_NEXT, "rte_eth_dev_start");
	check(real_dev_start != NULL, "dlsym(rte_eth_dev_start): %s", dlerror());
	rc = real_dev_start(pid);
	for (p = 0; rc == 0 && p < N_PORTS; p++) {
		if (pid != port_id[p])
			continue;
		check(rte_eth_add_rx_callback(pid, 0, rx_cb, rx_ring[p]) != NULL,
		      "RX callback: %s", rte_strerror(rte_errno));
		for (q = 0; q < N_TXQ; q++)
			check(rte_eth_add_tx_callback(pid, q, tx_cb, tx_ring[p][q]) != NULL,
			      "TX callback: %s", rte_strerror(rte_errno));
		n_dev_start++;
	}
	return rc;
}

/* ---- addresses: remotes encode what they belong to ---- */

static struct mr_ep
sess_remote(uint32_t t, unsigned int leg, uint32_t gen, unsigned int path)
{
	return ep4(198, 19, (uint8_t)(t >> 8), (uint8_t)t,
		   (uint16_t)(2048 + 4 * gen + 2 * leg + path));
}

static struct mr_ep
part_remote(uint32_t t)
{
	return ep4(198, 19, (uint8_t)(64 + (t >> 8)), (uint8_t)t, 5000);
}

static const struct mr_ep NOBODY = { .family = MR_AF4, .port = NOBODY_PORT,
				     .a = { 198, 19, 200, 1 } };

static uint32_t
part_ssrc(uint32_t t, unsigned int k)
{
	return 0x50000000u | t << 4 | k;
}

/* ---- the world ---- */

static int
free_tcp_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

static void
ports_make(void)
{
	char rn[RTE_RING_NAMESIZE], name[16];
	unsigned int p, q;
	int pid;

	if (dlsym(RTLD_DEFAULT, "rte_eth_from_rings") == NULL &&
	    dlopen("librte_net_ring.so.23", RTLD_NOW | RTLD_GLOBAL) == NULL &&
	    dlopen("librte_net_ring.so", RTLD_NOW | RTLD_GLOBAL) == NULL)
		die("cannot load librte_net_ring: %s", dlerror());
	*(void **)&from_rings = dlsym(RTLD_DEFAULT, "rte_eth_from_rings");
	check(from_rings != NULL, "no rte_eth_from_rings");
	for (p = 0; p < N_PORTS; p++) {
		snprintf(rn, sizeof(rn), "c_rx_%u", p);
		rx_ring[p] = rte_ring_create(rn, RX_RING, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
		check(rx_ring[p] != NULL, "ring %s: %s", rn, rte_strerror(rte_errno));
		for (q = 0; q < N_TXQ; q++) {
			snprintf(rn, sizeof(rn), "c_tx_%u_%u", p, q);
			tx_ring[p][q] = rte_ring_create(rn, TX_RING, 0,
							RING_F_SP_ENQ | RING_F_SC_DEQ);
			check(tx_ring[p][q] != NULL, "ring %s: %s", rn, rte_strerror(rte_errno));
		}
		/* The appliance finds it as "net_ring_conc_X" (config "device") and sets it up. */
		snprintf(name, sizeof(name), "conc_%s", PORT_NAME[p]);
		pid = from_rings(name, &rx_ring[p], 1, tx_ring[p], N_TXQ, 0);
		check(pid >= 0, "rte_eth_from_rings: %s", rte_strerror(rte_errno));
		port_id[p] = (uint16_t)pid;

	}
}

static void
appliance_up(void)
{
	char text[2048], err[256];
	unsigned int p;
	int api_port = free_tcp_port();

	check(api_port > 0, "no free loopback TCP port for the API");
	snprintf(text, sizeof(text),
		 "lcores = { control = 0; workers = [ 1, 2 ]; idle_sleep_us = 10; };\n"
		 "ports = ( { name = \"a\"; device = \"net_ring_conc_a\";\n"
		 "            address = \"198.18.0.1/24\"; gateway = \"198.18.0.254\";\n"
		 "            steering = \"software\"; },\n"
		 "          { name = \"b\"; device = \"net_ring_conc_b\";\n"
		 "            address = \"198.18.1.1/24\"; gateway = \"198.18.1.254\";\n"
		 "            steering = \"software\"; } );\n"
		 "relay = { port_min = %u; port_max = %u; idle_timeout = 86400;\n"
		 "          relatch_timeout_ms = 0; max_sessions = 256; ended_history = %u;\n"
		 /* Remotes' generations differ by port only: exact-match latching, the first
		  * packet latching (the RTP Bleed rules are tests/dp/test_dp.c's). */
		 "          latch_packets = 1; latch_signalled_only = false; };\n"
		 "api = { listen = \"127.0.0.1:%d\"; };\n"
		 "log = { level = \"warning\"; };\n"
		 "rooms = { max_rooms = %u; max_participants = %u; nack_cache = 64; };\n",
		 PORT_MIN, PORT_MAX, S_TOTAL, api_port, ROOMS, R_PARTS);
	if (mr_config_load_string(text, "concurrency.conf", &cfg, err, sizeof(err)) != 0)
		die("config: %s", err);
	if (mr_appliance_start(&app, &cfg, err, sizeof(err)) != 0)
		die("appliance: %s", err);
	/* The wrapper must be in the path, or the TSan annotations miss the first packets. */
	check(n_dev_start == N_PORTS, "rte_eth_dev_start() wrapper saw %u of %u ports: no longer "
	      "in the path?", n_dev_start, N_PORTS);
	for (p = 0; p < N_PORTS; p++)
		port_mac[p] = app.dp->port[p].mac;
}

/* ---- injection ---- */

/* The sequence number of the oldest packet still in port p's RX ring, 0 when empty. */
static uint64_t
rx_oldest(unsigned int p)
{
	/* Relaxed: a stale consumer position only makes the packet look older. */
	uint32_t c = __atomic_load_n(&rx_ring[p]->cons.tail, __ATOMIC_RELAXED);

	return c == ring_prod[p] ? 0 : ring_seq[p][c % RX_RING];
}

static void cp_step(void);
static void drain_tx(void);
static uint32_t pick_live_sess(int quiet_too);
static uint32_t pick_live_part(void);

/* The age window: no packet waits in an RX ring while WINDOW newer ones were injected. Every
 * round sends to both ports, so a stalled worker stops injection within WINDOW packets, and
 * what a worker holds (its burst, its hand-off ring) is bounded by what it took from a ring
 * that was young. Relay ports come back after PORT_PAIRS - LIVE_PAIRS allocations, of at
 * least one injection each: far more than that. */
static void
wait_window(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();
	unsigned int p;

	for (;;) {
		int ok = 1;

		for (p = 0; p < N_PORTS; p++) {
			uint64_t o = rx_oldest(p);

			if (o != 0 && next_seq - o >= WINDOW)
				ok = 0;
		}
		if (ok)
			return;
		drain_tx();
		cp_step();
		check(rte_get_tsc_cycles() < deadline, "the workers took nothing from their RX "
		      "rings for %u s", WAIT_S);
		rte_pause();
	}
}

static void
enqueue(unsigned int p, struct rte_mbuf **m, const uint64_t *seq, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		ring_seq[p][(ring_prod[p] + i) % RX_RING] = seq[i];
	T_RELEASE(rx_ring[p]);
	check(rte_ring_sp_enqueue_burst(rx_ring[p], (void **)m, n, NULL) == n,
	      "RX ring %u full", p);
	ring_prod[p] += n;
	st.injected += n;
}

static struct rte_mbuf *
frame_mbuf(unsigned int p, const uint8_t *b, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *d;

	check(m != NULL, "injection pool empty");
	d = (uint8_t *)rte_pktmbuf_append(m, len);
	check(d != NULL, "frame of %u bytes does not fit an mbuf", len);
	memcpy(d, b, len);
	m->port = port_id[p];
	return m;
}

/* Packets are built first and enqueued together (flush()), so that the workers take them
 * in bursts while the control thread goes on with its next operation. */
#define PENDING_MAX	(BURST_MAX + VICTIM_MAX + 8)
static struct rte_mbuf *pend_m[N_PORTS][PENDING_MAX];
static uint64_t pend_seq[N_PORTS][PENDING_MAX];
static unsigned int n_pend[N_PORTS];
/* What the last flush sent to: the next operation prefers these. */
static uint32_t burst_sess[PENDING_MAX * N_PORTS], burst_part[PENDING_MAX * N_PORTS];
static unsigned int n_burst_sess, n_burst_part;

static void
flush(void)
{
	unsigned int p;

	wait_window();
	for (p = 0; p < N_PORTS; p++) {
		if (n_pend[p])
			enqueue(p, pend_m[p], pend_seq[p], n_pend[p]);
		n_pend[p] = 0;
	}
}

static void
inject_raw(unsigned int p, const uint8_t *b, uint16_t len, uint16_t dport, uint64_t seq)
{
	if (n_pend[p] == PENDING_MAX)
		flush();
	if (p == P_B)
		last_inj[dport] = seq;
	pend_seq[p][n_pend[p]] = seq;
	pend_m[p][n_pend[p]++] = frame_mbuf(p, b, len);
}

/* A UDP packet on port p from src to dst: head (plen bytes) then a payload pattern up to
 * size bytes, then the trailer (if tr). */
static void
inject(unsigned int p, const struct mr_ep *src, const struct mr_ep *dst, const uint8_t *head,
       uint16_t hlen, uint16_t size, struct trailer *tr)
{
	static struct frame f;
	uint8_t pl[1400];
	uint16_t n = hlen, i;

	memcpy(pl, head, hlen);
	if (tr != NULL) {
		tr->magic = MAGIC;
		tr->seq = next_seq;
		if (size < hlen + sizeof(*tr))
			size = hlen + sizeof(*tr);
		for (i = n; i < size - sizeof(*tr); i++)
			pl[i] = (uint8_t)(tr->seq * 31 + i);
		memcpy(pl + i, tr, sizeof(*tr));
		n = size;
	}
	build_udp(&f, port_mac[p].addr_bytes, GW_MAC[p], src, dst, pl, n, &PLAIN);
	inject_raw(p, f.b, f.len, dst->port, next_seq++);
	if (tr != NULL && tr->kind == K_SESS && !tr->stale)
		burst_sess[n_burst_sess++ % RTE_DIM(burst_sess)] = tr->token;
	else if (tr != NULL && tr->kind == K_ROOM && !tr->stale)
		burst_part[n_burst_part++ % RTE_DIM(burst_part)] = tr->token;
}

static uint16_t
rtp_head(uint8_t *h, uint8_t pt, uint16_t seq, uint32_t ssrc)
{
	return rtp(h, pt, seq, (uint32_t)seq * 160, ssrc, 0);
}


static void
send_sess(uint32_t t, int stale)
{
	struct t_sess *s = &sess[t];
	unsigned int leg = rnd(2), path = s->mux ? 0 : rnd(2);
	struct mr_ep src = sess_remote(t, leg, s->gen[leg], path), dst = s->local[leg];
	struct trailer tr = { .kind = K_SESS, .leg = (uint8_t)leg, .path = (uint8_t)path,
			      .stale = (uint8_t)stale, .token = t, .gen = s->gen[leg ^ 1] };
	uint8_t h[16];
	uint16_t hl;

	dst.port += path;
	if (rnd(50) == 0) {
		/* RTP shorter than its fixed header: dropped and charged to the leg. */
		h[0] = 0x80;
		h[1] = 0;
		memset(h + 2, 0, 6);
		inject(s->pidx[leg], &src, &dst, h, 8, 8, NULL);
		return;
	}
	/* Second byte 200, an SR's packet type: RTCP to the relay (RFC 5761 §4). */
	hl = rtp_head(h, path == 1 || rnd(8) == 0 ? 200 : 0, (uint16_t)next_seq, t);
	inject(s->pidx[leg], &src, &dst, h, hl, (uint16_t)(40 + rnd(260)), &tr);
}

static void
send_part(uint32_t t, int stale)
{
	struct t_part *pp = &parts[t];
	struct mr_ep src = part_remote(t);
	struct trailer tr = { .kind = K_ROOM, .stale = (uint8_t)stale, .token = t };
	uint8_t h[16];
	uint16_t hl = rtp_head(h, pp->video ? 96 : 111, pp->rtp_seq++, pp->ssrc);

	/* Video crosses the fan-out's copy/indirect threshold (MR_DP_FANOUT_COPY_MAX). */
	inject(P_B, &src, &pp->local, h, hl,
	       (uint16_t)(pp->video ? 200 + rnd(1000) : 40 + rnd(160)), &tr);
}

/* From nobody: to a live session's endpoint (a source mismatch), or to any relay port of the
 * address no participant uses (no flow, or a session's: a source mismatch). Port B gets them
 * only outside the relay range: a participant there would latch them. */
static void
send_nobody(unsigned int p)
{
	struct trailer tr = { .kind = K_NOBODY };
	struct mr_ep dst = { .family = MR_AF4 };
	uint8_t h[16];
	uint16_t hl = rtp_head(h, 8, (uint16_t)next_seq, 0xdead);

	memcpy(dst.a, PORT_IP[p], 4);
	if (rnd(2)) {
		/* Not a quiet one: its idle timeout may have ended it and freed its ports. */
		uint32_t t = pick_live_sess(0);

		if (t && (sess[t].pidx[0] == p || sess[t].pidx[1] == p)) {
			dst = sess[t].local[sess[t].pidx[0] == p ? 0 : 1];
			inject(p, &NOBODY, &dst, h, hl, 60, &tr);
			return;
		}
	}
	if (p == P_A)
		dst.port = (uint16_t)(PORT_MIN - 64 + rnd(PORT_PAIRS * 2 + 128));
	else
		dst.port = (uint16_t)(PORT_MAX + 2 + rnd(64));
	inject(p, &NOBODY, &dst, h, hl, 60, &tr);
}

/* A round's victim: ended while a worker holds at the gate. Its own packets (GATE_LOOKUP)
 * or, with victim_tx, the other members' of its room, whose subscriber lists it is in. */
static uint32_t victim_sess, victim_part;
static int victim_tx;

static uint32_t
pick_recent(const uint32_t *ring, unsigned int n, int is_sess)
{
	uint32_t t;

	if (n == 0)
		return 0;
	t = ring[rnd(n < RECENT ? n : RECENT)];
	if (round_no - (is_sess ? sess[t].died : parts[t].died) > STALE_ROUNDS)
		return 0;
	return t;
}

static void
traffic(void)
{
	unsigned int n = 1 + rnd(BURST_MAX), i;
	uint32_t t;

	n_burst_sess = n_burst_part = 0;
	for (i = 0; i < n; i++) {
		unsigned int k = rnd(100);

		if (k < 55) {
			t = pick_live_sess(0);
			if (t)
				send_sess(t, 0);
		} else if (k < 85) {
			t = pick_live_part();
			if (t && parts[t].stream)
				send_part(t, 0);
		} else if (k < 90) {
			t = pick_recent(dead_sess, n_dead_sess, 1);
			if (t)
				send_sess(t, 1);
		} else if (k < 95) {
			t = pick_recent(dead_parts, n_dead_parts, 0);
			if (t && parts[t].stream)
				send_part(t, 1);
		} else {
			send_nobody(rnd(N_PORTS));
		}
	}
	/* Last, so that the workers are still at them when the victim is ended. */
	n = victim_sess || victim_part ? 8 + rnd(VICTIM_MAX - 8) : 0;
	for (i = 0; i < n; i++) {
		if (victim_sess) {
			send_sess(victim_sess, 0);
		} else if (!victim_tx) {
			send_part(victim_part, 0);
		} else {
			t = pick_live_part();
			if (t && t != victim_part && parts[t].room == parts[victim_part].room &&
			    parts[t].stream)
				send_part(t, 0);
		}
	}
	/* Both ports every round (see wait_window()). */
	send_nobody(P_A);
	send_nobody(P_B);
	flush();
}

/* ---- what comes out ---- */

static void
seen_set(uint64_t seq, int *first)
{
	check(seq < room_seen_bits, "sequence number %" PRIu64 " out of range", seq);
	*first = !(room_seen[seq / 8] & (1u << (seq % 8)));
	room_seen[seq / 8] |= (uint8_t)(1u << (seq % 8));
}

/* Which participant token a remote belongs to, 0 if none. */
static uint32_t
part_of_remote(const uint8_t *ip, uint16_t port)
{
	uint32_t t;

	if (ip[0] != 198 || ip[1] != 19 || ip[2] < 64 || ip[2] >= 128 || port != 5000)
		return 0;
	t = (uint32_t)(ip[2] - 64) << 8 | ip[3];
	return t >= 1 && t <= n_parts ? t : 0;
}

static void
check_sess_out(unsigned int p, unsigned int q, const struct trailer *tr, const uint8_t *sip,
	       uint16_t sport, const uint8_t *dip, uint16_t dport)
{
	uint32_t t = tr->token, dt, g;
	struct t_sess *s;
	unsigned int o, leg, path;

	check(tr->kind == K_SESS && t >= 1 && t <= n_sess && tr->leg < 2 && tr->path < 2,
	      "relayed packet with a bad trailer (kind %u token %u)", tr->kind, t);
	s = &sess[t];
	check(!tr->stale, "packet %" PRIu64 " sent to session %u (%s) after its DELETE "
	      "returned was relayed", tr->seq, t, s->id);
	o = tr->leg ^ 1u;
	check(p == s->pidx[o], "session %u: packet left on port %u, its leg %u is on port %u",
	      t, p, o, s->pidx[o]);
	check(memcmp(sip, s->local[o].a, 4) == 0 && sport == s->local[o].port + tr->path,
	      "session %u: relayed from %u.%u.%u.%u:%u, not from leg %u's local endpoint", t,
	      sip[0], sip[1], sip[2], sip[3], sport, o);
	check(dip[0] == 198 && dip[1] == 19 && dip[2] < 64 && dport >= 2048,
	      "session %u: relayed to %u.%u.%u.%u:%u, which is no session's remote", t,
	      dip[0], dip[1], dip[2], dip[3], dport);
	dt = (uint32_t)dip[2] << 8 | dip[3];
	g = (dport - 2048u) / 4;
	leg = ((dport - 2048u) / 2) & 1;
	path = (dport - 2048u) & 1;
	check(dt == t && leg == o && path == tr->path && g >= tr->gen && g <= s->gen[o],
	      "session %u leg %u path %u: relayed to session %u leg %u path %u generation %u; "
	      "expected generation %u..%u", t, tr->leg, tr->path, dt, leg, path, g, tr->gen,
	      s->gen[o]);
	if (s->txq < 0)
		s->txq = (int8_t)q;
	check(s->txq == (int8_t)q, "session %u: packets leave on TX queues %d and %u", t,
	      s->txq, q);
	s->out[tr->leg]++;
	st.sess_out++;
}

static void
check_room_out(unsigned int p, const struct trailer *tr, const uint8_t *sip, uint16_t sport,
	       const uint8_t *dip, uint16_t dport)
{
	uint32_t t = tr->token, u = part_of_remote(dip, dport);
	struct t_part *pub, *sub;
	int first;

	check(t >= 1 && t <= n_parts, "room copy with a bad publisher %u", t);
	pub = &parts[t];
	check(!tr->stale, "packet %" PRIu64 " of participant %u sent after it left was "
	      "forwarded", tr->seq, t);
	check(u != 0, "participant %u's packet %" PRIu64 " went to %u.%u.%u.%u:%u, no "
	      "participant's remote", t, tr->seq, dip[0], dip[1], dip[2], dip[3], dport);
	sub = &parts[u];
	check(u != t, "participant %u got its own packet %" PRIu64 " back", t, tr->seq);
	check(sub->room_id == pub->room_id, "participant %u (room %u) got a packet of "
	      "participant %u of room %u", u, sub->room_id, t, pub->room_id);
	check(p == P_B && memcmp(sip, sub->local.a, 4) == 0 && sport == sub->local.port,
	      "copy for participant %u left from %u.%u.%u.%u:%u on port %u, not from its "
	      "endpoint", u, sip[0], sip[1], sip[2], sip[3], sport, p);
	check(tr->seq >= sub->born, "participant %u got packet %" PRIu64 " sent before it "
	      "was created (%" PRIu64 ")", u, tr->seq, sub->born);
	check(sub->gone == 0 || tr->seq < sub->gone, "participant %u got packet %" PRIu64
	      " sent after it left (%" PRIu64 ")", u, tr->seq, sub->gone);
	check(tr->seq > sub->last_copy, "participant %u got packet %" PRIu64 " after %"
	      PRIu64 ": twice, or out of order", u, tr->seq, sub->last_copy);
	sub->last_copy = tr->seq;
	seen_set(tr->seq, &first);
	st.room_pkts += first;
	st.room_copies++;
}

/* A receiver report the relay built for a publisher (RFC 3550 §6.4.2). */
static void
check_rr(unsigned int p, const uint8_t *pl, uint16_t plen, const uint8_t *sip,
	 uint16_t sport, const uint8_t *dip, uint16_t dport)
{
	uint32_t u = part_of_remote(dip, dport), ssrc;

	check(plen >= 32 && (pl[0] & 0xc0) == 0x80 && pl[1] == 201 && (pl[0] & 0x1f) == 1,
	      "port %u: a packet without a trailer that is no receiver report", p);
	check(u != 0 && p == P_B && memcmp(sip, parts[u].local.a, 4) == 0 &&
	      sport == parts[u].local.port, "receiver report to %u.%u.%u.%u:%u from "
	      "%u.%u.%u.%u:%u: not a participant's remote and endpoint", dip[0], dip[1],
	      dip[2], dip[3], dport, sip[0], sip[1], sip[2], sip[3], sport);
	ssrc = (uint32_t)pl[8] << 24 | (uint32_t)pl[9] << 16 | (uint32_t)pl[10] << 8 | pl[11];
	check((ssrc >> 28) == 5 && ((ssrc >> 4) & 0xffffff) == u, "receiver report to "
	      "participant %u about SSRC %08x, not one of its streams", u, ssrc);
	st.rr++;
}

static void
answer_arp(unsigned int p, const uint8_t *f, uint16_t len)
{
	struct rte_mbuf *m;
	uint64_t seq;
	uint8_t b[60];

	check(len >= 42 && be16(f + 12) == 0x0806 && be16(f + 20) == 1,
	      "port %u: the control thread sent something other than an ARP request", p);
	check(memcmp(f + 38, GW_IP[p], 4) == 0 && memcmp(f + 28, PORT_IP[p], 4) == 0,
	      "port %u: ARP request for %u.%u.%u.%u: only the gateway is a next hop", p,
	      f[38], f[39], f[40], f[41]);
	memset(b, 0, sizeof(b));
	eth_hdr(b, f + 6, GW_MAC[p], -1, 0x0806);
	memcpy(b + 14, f + 14, 6);	/* hardware and protocol types and sizes */
	b[20] = 0;
	b[21] = 2;			/* reply */
	memcpy(b + 22, GW_MAC[p], 6);
	memcpy(b + 28, GW_IP[p], 4);
	memcpy(b + 32, f + 22, 6);
	memcpy(b + 38, f + 28, 4);
	/* At once, not with the next flush (this may run inside one): its age is the newest. */
	m = frame_mbuf(p, b, sizeof(b));
	seq = next_seq - 1;
	enqueue(p, &m, &seq, 1);
	st.arp_injected++;
}

static void
check_out(unsigned int p, unsigned int q, struct rte_mbuf *m)
{
	static uint8_t buf[2048];
	const uint8_t *f, *ip, *udp, *pl;
	uint16_t len = (uint16_t)m->pkt_len, plen, sport, dport, i;
	struct trailer tr;

	check(m->pkt_len <= sizeof(buf), "port %u queue %u: %u-byte frame", p, q, m->pkt_len);
	f = rte_pktmbuf_read(m, 0, len, buf);
	check(f != NULL, "unreadable mbuf chain");
	if (len >= 14 && be16(f + 12) == 0x0806) {
		/* The control thread's ARP requests, sent by worker 0 (mr_cp_tx()). */
		check(q == 0, "port %u: ARP from TX queue %u", p, q);
		answer_arp(p, f, len);
		return;
	}
	check(len >= 42 && be16(f + 12) == 0x0800, "port %u queue %u: not IPv4/UDP", p, q);
	ip = f + 14;
	check(ip[0] == 0x45 && ip[9] == 17 && be16(ip + 2) + 14u <= len &&
	      ref_fold(ref_add(0, ip, 20)) == 0xffff,
	      "port %u queue %u: bad IPv4 header", p, q);
	check(memcmp(f, GW_MAC[p], 6) == 0 && memcmp(f + 6, port_mac[p].addr_bytes, 6) == 0,
	      "port %u queue %u: sent to %02x:%02x:%02x:%02x:%02x:%02x, not the gateway", p, q,
	      f[0], f[1], f[2], f[3], f[4], f[5]);
	check(memcmp(ip + 12, PORT_IP[p], 4) == 0, "port %u: sent from %u.%u.%u.%u", p,
	      ip[12], ip[13], ip[14], ip[15]);
	udp = ip + 20;
	sport = be16(udp);
	dport = be16(udp + 2);
	plen = (uint16_t)(be16(udp + 4) - 8);
	check(be16(udp + 4) >= 8 && 20u + 8 + plen <= be16(ip + 2), "bad UDP length");
	pl = udp + 8;
	if (plen < sizeof(tr) || memcmp(pl + plen - sizeof(tr), &(uint32_t){ MAGIC }, 4) != 0) {
		check_rr(p, pl, plen, ip + 12, sport, ip + 16, dport);
		return;
	}
	memcpy(&tr, pl + plen - sizeof(tr), sizeof(tr));
	for (i = 12; i < plen - sizeof(tr); i++)	/* after the RTP header */
		check(pl[i] == (uint8_t)(tr.seq * 31 + i), "packet %" PRIu64 ": payload byte "
		      "%u changed", tr.seq, i);
	if (tr.kind == K_SESS)
		check_sess_out(p, q, &tr, ip + 12, sport, ip + 16, dport);
	else if (tr.kind == K_ROOM)
		check_room_out(p, &tr, ip + 12, sport, ip + 16, dport);
	else
		die("packet %" PRIu64 " from nobody came out on port %u to %u.%u.%u.%u:%u",
		    tr.seq, p, ip[16], ip[17], ip[18], ip[19], dport);
}

static void
drain_tx(void)
{
	struct rte_mbuf *m[64];
	unsigned int p, q, n, i;

	for (p = 0; p < N_PORTS; p++) {
		for (q = 0; q < N_TXQ; q++) {
			while ((n = rte_ring_sc_dequeue_burst(tx_ring[p][q], (void **)m,
							      RTE_DIM(m), NULL)) > 0) {
				T_ACQUIRE(tx_ring[p][q]);
				for (i = 0; i < n; i++) {
					check_out(p, q, m[i]);
					rte_pktmbuf_free(m[i]);
				}
			}
		}
	}
}

/* ---- the control thread's loop body (mr_appliance_run() without the HTTP server) ---- */

static void
cp_step(void)
{
	struct rte_mbuf *m[32];
	uint64_t now = rte_get_tsc_cycles();
	unsigned int w, n;

	for (w = 0; w < N_WORKERS; w++) {
		n = rte_ring_sc_dequeue_burst(app.dp->w[w]->exc, (void **)m, RTE_DIM(m), NULL);
		while (n > 0)
			mr_neigh_input(app.neigh, m[--n]);
	}
	mr_neigh_tick(app.neigh, (now - app.start_tsc) * 1000 / rte_get_tsc_hz());
	mr_defer_poll(&app.defer);
	mr_sessions_tick(app.sess, now);
	mr_rooms_tick(app.rooms, now);
}

/* Until every command sent so far was applied by its worker (controlplane/core/cmdq.h):
 * packets injected after this see the change. */
static void
wait_cmds(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();
	unsigned int w;

	for (w = 0; w < N_WORKERS; w++) {
		uint64_t seq = mr_cmdq_sent(&app.cmdq, w);

		while (!mr_cmdq_applied(&app.cmdq, w, seq)) {
			check(rte_get_tsc_cycles() < deadline, "worker %u applied no command for "
			      "%u s", w, WAIT_S);
			rte_pause();
		}
	}
}

/* ---- control operations ---- */

static void
body_ep(json_t *o, const char *key, struct mr_ep *ep)
{
	const char *s = json_string_value(json_object_get(o, key));

	check(s != NULL && mr_ep_parse(s, ep) == 0, "reply without a valid \"%s\"", key);
}

/* A relay port coming back to a participant (which latches its first source): nothing sent
 * to it may still be in flight (see wait_window()). */
static void
port_back(uint16_t port)
{
	uint64_t gap = next_seq - last_inj[port];

	if (last_inj[port] == 0)
		return;
	if (gap < min_reuse_gap)
		min_reuse_gap = gap;
	if (gap <= 2 * WINDOW + 4 * MR_BURST) {
		struct mr_sessions_counts sc;
		struct mr_rooms_counts rc;

		mr_sessions_counts(app.sess, &sc);
		mr_rooms_counts(app.rooms, &rc);
		die("relay port %u reused %" PRIu64 " packets after one was sent to it (%u pairs "
		    "free; sessions: %" PRIu64 " active, %" PRIu64 " retiring; room objects "
		    "retiring %" PRIu64 "): PORT_PAIRS too small for the test's assumptions",
		    port, gap, mr_flows_ep_available(app.flows), sc.active, sc.retiring,
		    rc.retiring);
	}
}

static void
sess_reply(uint32_t t, json_t *o)
{
	struct t_sess *s = &sess[t];
	json_t *legs = json_object_get(o, "legs");
	unsigned int i;

	snprintf(s->id, sizeof(s->id), "%s", json_string_value(json_object_get(o, "id")));
	check(strlen(s->id) == 16 && json_array_size(legs) == 2, "bad session reply");
	for (i = 0; i < 2; i++) {
		body_ep(json_array_get(legs, i), "local", &s->local[i]);
		check(memcmp(s->local[i].a, PORT_IP[s->pidx[i]], 4) == 0, "session %u leg %u on "
		      "the wrong address", t, i);
	}
	s->state = 1;
	s->txq = -1;
	live_sess++;
}

static void
sess_req(uint32_t t, struct mr_session_req *req)
{
	struct t_sess *s = &sess[t];
	unsigned int i;

	memset(req, 0, sizeof(*req));
	s->mux = rnd(2);
	s->quiet = rnd(10) == 0;
	req->rtcp_mux = s->mux;
	req->idle_timeout = s->quiet ? 1 : 0;
	for (i = 0; i < 2; i++) {
		struct mr_leg_req *l = &req->legs[i];

		s->pidx[i] = (uint8_t)rnd(N_PORTS);
		snprintf(l->interface, sizeof(l->interface), "%s", PORT_NAME[s->pidx[i]]);
		l->has_remote = 1;
		l->remote = sess_remote(t, i, 0, 0);
		if (!s->mux) {
			l->has_rtcp_remote = 1;
			l->rtcp_remote = sess_remote(t, i, 0, 1);
		}
	}
}

static void
op_sess_create(void)
{
	struct mr_session_req req;
	json_t *body = NULL;
	uint32_t t = ++n_sess;
	int rc;

	check(t < S_TOTAL, "out of session tokens");
	sess_req(t, &req);
	rc = mr_http_session_create(&app, &req, &body);
	check(rc == 201, "session create: %d %s", rc,
	      json_string_value(json_object_get(body, "error")));
	sess_reply(t, body);
	json_decref(body);
}

/* POST /v1/sessions/batch with three sessions. */
static void
op_sess_batch(void)
{
	json_t *arr = json_array(), *req_j, *body = NULL;
	uint32_t t0 = n_sess + 1, i;
	char *js;
	int rc;

	check(t0 + 3 < S_TOTAL, "out of session tokens");
	for (i = 0; i < 3; i++) {
		struct mr_session_req req;
		json_t *legs = json_array();
		unsigned int l;

		sess_req(t0 + i, &req);
		for (l = 0; l < 2; l++) {
			json_t *lj = json_pack("{s:s,s:o}", "interface", req.legs[l].interface,
					       "remote", mr_json_ep(&req.legs[l].remote));

			if (!req.rtcp_mux)
				json_object_set_new(lj, "rtcp_remote",
						    mr_json_ep(&req.legs[l].rtcp_remote));
			json_array_append_new(legs, lj);
		}
		json_array_append_new(arr, json_pack("{s:o,s:b,s:i}", "legs", legs, "rtcp_mux",
						     req.rtcp_mux, "idle_timeout",
						     sess[t0 + i].quiet ? 1 : 86400));
	}
	req_j = json_pack("{s:o}", "sessions", arr);
	js = json_dumps(req_j, JSON_COMPACT);
	json_decref(req_j);
	check(js != NULL, "batch body");
	rc = mr_http_session_batch(&app, js, strlen(js), &body);
	free(js);
	check(rc == 201, "session batch: %d %s", rc,
	      json_string_value(json_object_get(body, "error")));
	arr = json_object_get(body, "sessions");
	check(json_array_size(arr) == 3, "batch reply");
	for (i = 0; i < 3; i++)
		sess_reply(t0 + i, json_array_get(arr, i));
	n_sess += 3;
	json_decref(body);
}

static uint32_t
pick_live_sess(int quiet_too)
{
	uint32_t t, tries;

	/* Half the time one the workers may be relaying for right now. */
	if (n_burst_sess && rnd(2)) {
		t = burst_sess[rnd(RTE_MIN(n_burst_sess, RTE_DIM(burst_sess)))];
		if (sess[t].state == 1)
			return t;
	}
	for (tries = 0; tries < 64; tries++) {
		t = 1 + rnd(n_sess);
		if (sess[t].state == 1 && (quiet_too || !sess[t].quiet))
			return t;
	}
	return 0;
}

static void
op_sess_patch(void)
{
	struct mr_session_patch pt;
	uint32_t t = pick_live_sess(0);
	struct t_sess *s = &sess[t];
	json_t *body = NULL;
	unsigned int legs = 1 + rnd(3), i;
	int rc;

	if (t == 0)
		return;
	memset(&pt, 0, sizeof(pt));
	for (i = 0; i < 2; i++) {
		if (!(legs & (1u << i)) || s->gen[i] + 1 >= GEN_MAX)
			continue;
		pt.has_leg[i] = 1;
		pt.legs[i].has_remote = 1;
		pt.legs[i].remote = sess_remote(t, i, s->gen[i] + 1, 0);
		if (!s->mux) {
			pt.legs[i].has_rtcp_remote = 1;
			pt.legs[i].rtcp_remote = sess_remote(t, i, s->gen[i] + 1, 1);
		}
	}
	if (rnd(4) == 0) {
		pt.has_label = 1;
		snprintf(pt.label, sizeof(pt.label), "r%" PRIu64, round_no);
	}
	rc = mr_http_session_patch(&app, s->id, &pt, &body);
	check(rc == 200, "session %u patch: %d %s", t, rc,
	      json_string_value(json_object_get(body, "error")));
	json_decref(body);
	wait_cmds();
	for (i = 0; i < 2; i++)
		s->gen[i] += (uint32_t)pt.has_leg[i];
}

static void
sess_gone(uint32_t t)
{
	sess[t].state = 2;
	sess[t].died = round_no;
	/* Stray packets go to what the DELETE just ended, not to a quiet session that its idle
	 * timeout may have ended long ago (its ports may be a participant's now). */
	if (!sess[t].quiet)
		dead_sess[n_dead_sess++ % RECENT] = t;
	live_sess--;
}

static void
sess_end(uint32_t t)
{
	json_t *body = NULL;
	int rc;

	st.ops[2]++;
	rc = mr_http_session_delete(&app, sess[t].id, &body);
	/* A quiet session may have been ended by its idle timeout already. */
	check(rc == 204 || (rc == 409 && sess[t].quiet), "session %u delete: %d %s", t, rc,
	      json_string_value(json_object_get(body, "error")));
	json_decref(body);
	sess_gone(t);
}

static void
op_sess_delete(void)
{
	uint32_t t = pick_live_sess(1);

	if (t != 0)
		sess_end(t);
}

static int
rooms_http(const char *method, const char *body, json_t **out, const char *fmt, ...)
{
	char path[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	*out = NULL;
	return mr_http_rooms(&app, method, path, body, body ? strlen(body) : 0, out);
}

static uint32_t
json_id(json_t *o)
{
	const char *s = json_string_value(json_object_get(o, "id"));
	uint32_t id = 0;

	check(s != NULL && mr_rooms_id_parse(s, strlen(s), &id) == 0, "reply without an id");
	return id;
}

static void
op_room_create(void)
{
	json_t *out;
	unsigned int i, w;
	int rc;

	for (i = 0; i < ROOMS && rooms[i].alive; i++)
		;
	if (i == ROOMS)
		return;
	rc = rooms_http("POST", "{\"name\": \"r\"}", &out, "%s", "");
	check(rc == 201, "room create: %d", rc);
	rooms[i].id = json_id(out);
	rooms[i].alive = 1;
	rooms[i].n = 0;
	for (w = 0; w < N_WORKERS; w++)
		if ((json_int_t)app.dp->w[w]->lcore_id ==
		    json_integer_value(json_object_get(out, "owner_lcore")))
			rooms[i].owner = w;
	json_decref(out);
}

static void
part_gone(uint32_t t)
{
	struct t_part *pp = &parts[t];

	pp->state = 2;
	pp->gone = next_seq;
	pp->died = round_no;
	rooms[pp->room].n--;
	live_parts--;
	dead_parts[n_dead_parts++ % RECENT] = t;
}

static void
op_room_delete(void)
{
	unsigned int i = rnd(ROOMS);
	json_t *out;
	uint32_t t;
	int rc;

	if (!rooms[i].alive)
		return;
	rc = rooms_http("DELETE", NULL, &out, "/%u", rooms[i].id);
	check(rc == 204, "room %u delete: %d", rooms[i].id, rc);
	json_decref(out);
	for (t = 1; t <= n_parts; t++)
		if (parts[t].state == 1 && parts[t].room == i)
			part_gone(t);
	rooms[i].alive = 0;
}

static void
part_publish(uint32_t t)
{
	struct t_part *pp = &parts[t];
	struct mr_stream_req req;
	json_t *out = NULL;
	int rc;

	memset(&req, 0, sizeof(req));
	req.ssrc = part_ssrc(t, pp->n_ssrc++);
	req.kind = pp->video ? MR_KIND_VIDEO : MR_KIND_AUDIO;
	req.pt = pp->video ? 96 : 111;
	req.clock_rate = pp->video ? 90000 : 48000;
	snprintf(req.codec, sizeof(req.codec), "%s", pp->video ? "VP8" : "opus");
	rc = mr_rooms_publish(app.rooms, pp->room_id, pp->id, &req, &out);
	check(rc == 201, "participant %u publish: %d %s", t, rc,
	      json_string_value(json_object_get(out, "error")));
	pp->stream = json_id(out);
	pp->ssrc = req.ssrc;
	json_decref(out);
}

static void
op_part_create(void)
{
	unsigned int i = rnd(ROOMS);
	struct t_part *pp;
	uint32_t t;
	json_t *out;
	int rc;

	if (!rooms[i].alive || rooms[i].n >= R_PARTS)
		return;
	t = ++n_parts;
	check(t < P_TOTAL, "out of participant tokens");
	pp = &parts[t];
	rc = rooms_http("POST", "{\"name\": \"p\", \"interface\": \"b\"}", &out,
			"/%u/participants", rooms[i].id);
	check(rc == 201, "participant create: %d %s", rc,
	      json_string_value(json_object_get(out, "error")));
	pp->id = json_id(out);
	body_ep(out, "local", &pp->local);
	json_decref(out);
	port_back(pp->local.port);
	port_back(pp->local.port + 1);
	pp->state = 1;
	pp->room = i;
	pp->room_id = rooms[i].id;
	pp->video = rnd(2);
	pp->born = next_seq;
	rooms[i].n++;
	live_parts++;
	part_publish(t);
	/* Its first packet latches its remote before anything else is sent to it. */
	send_part(t, 0);
	flush();
}

static uint32_t
pick_live_part(void)
{
	uint32_t t, tries;

	if (n_burst_part && rnd(2)) {
		t = burst_part[rnd(RTE_MIN(n_burst_part, RTE_DIM(burst_part)))];
		if (parts[t].state == 1)
			return t;
	}

	for (tries = 0; n_parts && tries < 64; tries++) {
		t = 1 + rnd(n_parts);
		if (parts[t].state == 1)
			return t;
	}
	return 0;
}

static void
part_end(uint32_t t)
{
	json_t *out = NULL;
	int rc;

	st.ops[4]++;
	if (rnd(2))
		rc = mr_rooms_leave(app.rooms, parts[t].room_id, parts[t].id, MR_LEAVE_LEFT);
	else
		rc = rooms_http("DELETE", NULL, &out, "/%u/participants/%u", parts[t].room_id,
				parts[t].id);
	check(rc == 204, "participant %u leave: %d", t, rc);
	json_decref(out);
	part_gone(t);
}

static void
op_part_leave(void)
{
	uint32_t t = pick_live_part();

	if (t != 0)
		part_end(t);
}

static void
op_republish(void)
{
	uint32_t t = pick_live_part();
	json_t *out = NULL;
	int rc;

	if (t == 0 || parts[t].n_ssrc >= 15)
		return;
	rc = mr_rooms_unpublish(app.rooms, parts[t].room_id, parts[t].id, parts[t].stream,
				&out);
	check(rc == 204, "participant %u unpublish: %d", t, rc);
	json_decref(out);
	parts[t].stream = 0;
	part_publish(t);
}

static void
op_mute(void)
{
	uint32_t t = pick_live_part();
	json_t *out = NULL;
	int rc;

	if (t == 0)
		return;
	parts[t].muted ^= 1;
	rc = mr_rooms_mute(app.rooms, parts[t].room_id, parts[t].id, parts[t].stream,
			   parts[t].video ? MR_KIND_VIDEO : MR_KIND_AUDIO, parts[t].muted, &out);
	check(rc == 200, "participant %u mute: %d", t, rc);
	json_decref(out);
}

/* A (second) signaling join: the owner forgets the latched remote; the next packet of the
 * participant latches it again. */
static void
op_rejoin(void)
{
	uint32_t t = pick_live_part();
	json_t *out = NULL;
	int rc;

	if (t == 0)
		return;
	rc = mr_rooms_join(app.rooms, parts[t].room_id, parts[t].id, &out);
	check(rc == 200, "participant %u join: %d", t, rc);
	json_decref(out);
	send_part(t, 0);
	flush();
}

static void
one_op(void)
{
	unsigned int k = rnd(100), op;

	if (k < 22)
		op = live_sess < S_LIVE ? 0 : 2;
	else if (k < 24)
		op = live_sess + 3 <= S_LIVE ? 11 : 2;
	else if (k < 42)
		op = 1;
	else if (k < 58)
		op = 2;
	else if (k < 70)
		op = 3;
	else if (k < 78)
		op = 4;
	else if (k < 83)
		op = 5;
	else if (k < 87)
		op = 6;
	else if (k < 90)
		op = 7;
	else if (k < 94)
		op = 8;
	else if (k < 95)
		op = 9;
	else
		op = 10;
	if (op != 2 && op != 4)
		st.ops[op]++;	/* sess_end() and part_end() count theirs */
	switch (op) {
	case 0: op_sess_create(); break;
	case 1: op_sess_patch(); break;
	case 2: op_sess_delete(); break;
	case 3: op_part_create(); break;
	case 4: op_part_leave(); break;
	case 5: op_republish(); break;
	case 6: op_mute(); break;
	case 7: op_rejoin(); break;
	case 8: op_room_create(); break;
	case 9: op_room_delete(); break;
	case 11: op_sess_batch(); break;
	default: break;
	}
}

/* ---- the end: everything deleted, every packet accounted for ---- */

static uint64_t
in_rings(void)
{
	uint64_t n = 0;
	unsigned int p, w, j;

	for (p = 0; p < N_PORTS; p++)
		/* Relaxed: polled until it reads empty; the ring PMD writes cons.tail. */
		n += __atomic_load_n(&rx_ring[p]->cons.tail, __ATOMIC_RELAXED) != ring_prod[p];
	for (w = 0; w < N_WORKERS; w++)
		for (j = 0; j < N_WORKERS; j++)
			if (app.dp->w[w]->handoff[j] != NULL)
				/* Atomic: the worker's ring code writes the tails. */
				n += __atomic_load_n(&app.dp->w[w]->handoff[j]->prod.tail,
						     __ATOMIC_ACQUIRE) !=
				     __atomic_load_n(&app.dp->w[w]->handoff[j]->cons.tail,
						     __ATOMIC_ACQUIRE);
	return n;
}

static void
gate_arm(void)
{
	/* Disarmed (by a worker or by gate_wait()): wait for the readers of ep[] to go. */
	while (__atomic_load_n(&gate.readers, __ATOMIC_ACQUIRE) != 0)
		rte_pause();
	if (victim_sess) {
		gate.ep[0] = sess[victim_sess].local[0];
		gate.ep[1] = sess[victim_sess].local[1];
		gate.n_ep = 2;
	} else {
		gate.ep[0] = parts[victim_part].local;
		gate.n_ep = 1;
	}
	gate.mode = victim_tx ? GATE_TX : GATE_LOOKUP;
	gate.w = rooms[parts[victim_part].room].owner;
	gate.gen++;
	/* Release: the workers' acquire of armed sees ep[] and gen. */
	__atomic_store_n(&gate.armed, 1, __ATOMIC_RELEASE);
}

/* Until a worker holds at the gate (1), or all that was sent is handled without any lookup
 * finding the victim (0: a stale generation, say). */
static int
gate_wait(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();

	while (__atomic_load_n(&gate.held, __ATOMIC_ACQUIRE) != gate.gen) {
		if (!in_rings()) {
			uint64_t token = rte_rcu_qsbr_start(app.dp->qsv);

			while (rte_rcu_qsbr_check(app.dp->qsv, token, false) != 1 &&
			       __atomic_load_n(&gate.held, __ATOMIC_ACQUIRE) != gate.gen)
				rte_pause();
			/* Disarm; a worker that took it meanwhile is holding. */
			if (__atomic_exchange_n(&gate.armed, 0, __ATOMIC_ACQ_REL))
				return 0;
		}
		check(rte_get_tsc_cycles() < deadline, "no worker took the victim's packets");
		rte_pause();
	}
	return 1;
}

/* The control thread's loop while the workers handle what was sent: retirements and
 * reclamation race the packets in flight. */
static void
settle(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();

	do {
		cp_step();
		check(rte_get_tsc_cycles() < deadline, "packets still in rings after %u s",
		      WAIT_S);
	} while (in_rings());
}

/* Every packet taken and handled, every command applied, everything transmitted drained. */
static void
quiesce(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz(), token;

	while (in_rings()) {
		drain_tx();
		cp_step();
		check(rte_get_tsc_cycles() < deadline, "packets still in rings after %u s",
		      WAIT_S);
	}
	wait_cmds();
	/* Each worker passes a quiescent state after the iteration it is in: the packets it
	 * took are handled and flushed (and what it wrote happens before what we read). */
	token = rte_rcu_qsbr_start(app.dp->qsv);
	while (rte_rcu_qsbr_check(app.dp->qsv, token, false) != 1) {
		check(rte_get_tsc_cycles() < deadline, "no quiescent state in %u s", WAIT_S);
		rte_pause();
	}
	drain_tx();
}

static void
delete_all(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();
	struct mr_sessions_counts sc;
	struct mr_rooms_counts rc;
	unsigned int i;
	uint32_t t;

	for (t = 1; t <= n_sess; t++) {
		if (sess[t].state == 1) {
			json_t *body = NULL;
			int r = mr_http_session_delete(&app, sess[t].id, &body);

			check(r == 204 || (r == 409 && sess[t].quiet), "session %u delete: %d",
			      t, r);
			json_decref(body);
			sess_gone(t);
		}
	}
	for (i = 0; i < ROOMS; i++) {
		if (rooms[i].alive) {
			json_t *out;

			check(rooms_http("DELETE", NULL, &out, "/%u", rooms[i].id) == 204,
			      "room delete");
			for (t = 1; t <= n_parts; t++)
				if (parts[t].state == 1 && parts[t].room == i)
					part_gone(t);
			rooms[i].alive = 0;
		}
	}
	/* Wait for every retirement: the owners' acknowledgements and the grace periods. */
	do {
		quiesce();
		cp_step();
		mr_sessions_counts(app.sess, &sc);
		mr_rooms_counts(app.rooms, &rc);
		check(rte_get_tsc_cycles() < deadline, "%" PRIu64 " sessions and %" PRIu64
		      " room objects still retiring after %u s", sc.retiring, rc.retiring,
		      WAIT_S);
	} while (sc.retiring || rc.retiring);
	quiesce();
}

static uint64_t
jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	check(json_is_integer(v), "no counter \"%s\"", k);
	return (uint64_t)json_integer_value(v);
}

static void
account(void)
{
	struct mr_lcore_stats w;
	struct mr_sessions_counts sc;
	struct mr_rooms_counts rc;
	uint64_t drops = 0, d_src = 0, d_neigh = 0, d_rtp = 0, d_nor = 0;
	uint64_t rx = 0, relayed = 0, exc = 0, arp = 0, other = 0, ho_out = 0, ho_in = 0;
	uint64_t dr[MR_DROP_MAX] = { 0 };
	unsigned int i, k;
	uint32_t t;

	for (i = 0; i < N_WORKERS; i++) {
		const struct mr_lcore_stats *ws = &app.dp->w[i]->stats;

		/* Final values: quiesce() saw the worker pass a quiescent state after its last
		 * packet (its release, our acquire). The cycle counters still move: not read. */
#define LD(f) (w.f = __atomic_load_n(&ws->f, __ATOMIC_RELAXED))
		LD(rx_pkts);
		LD(relayed);
		LD(exception);
		LD(arp_replies);
		LD(nd_replies);
		LD(echo_replies);
		LD(handoff_out);
		LD(handoff_in);
#undef LD
		for (k = 0; k < MR_DROP_MAX; k++)
			w.drops[k] = __atomic_load_n(&ws->drops[k], __ATOMIC_RELAXED);
		rx += w.rx_pkts;
		relayed += w.relayed;
		exc += w.exception;
		arp += w.arp_replies;
		other += w.nd_replies + w.echo_replies;
		ho_out += w.handoff_out;
		ho_in += w.handoff_in;
		for (k = 0; k < MR_DROP_MAX; k++)
			dr[k] += w.drops[k];
	}
	for (k = 0; k < MR_DROP_MAX; k++)
		drops += dr[k];

	printf("rounds %" PRIu64 ", sessions %u, participants %u; ops:", round_no, n_sess,
	       n_parts);
	for (k = 0; k < RTE_DIM(op_name); k++)
		printf(" %s %" PRIu64, op_name[k], st.ops[k]);
	printf("\ninjected %" PRIu64 " (ARP %" PRIu64 "), relayed %" PRIu64 " (sessions %"
	       PRIu64 ", room copies %" PRIu64 " of %" PRIu64 " packets), receiver reports %"
	       PRIu64 ", hand-offs %" PRIu64 ", closest port reuse %" PRIu64 " packets (0: "
	       "none), workers held at the gate %" PRIu64 "\ndrops:",
	       st.injected, st.arp_injected, relayed, st.sess_out, st.room_copies, st.room_pkts,
	       st.rr, ho_out, min_reuse_gap == UINT64_MAX ? 0 : min_reuse_gap, st.held);
	for (k = 0; k < MR_DROP_MAX; k++)
		if (dr[k])
			printf(" %s %" PRIu64, mr_drop_name[k], dr[k]);
	printf("\n");

	/* The workers' counters against what went in and what came out. */
	check(rx == st.injected, "workers received %" PRIu64 " packets, %" PRIu64 " injected",
	      rx, st.injected);
	check(ho_out == ho_in, "hand-offs: %" PRIu64 " out, %" PRIu64 " in", ho_out, ho_in);
	/* Rings and pools are sized so that nothing is lost for want of room. */
	check(dr[MR_DROP_TX_FULL] == 0 && dr[MR_DROP_NO_MBUF] == 0 &&
	      dr[MR_DROP_HDR_ROOM] == 0 && dr[MR_DROP_NO_TAILROOM] == 0 &&
	      dr[MR_DROP_RTCP_BUILD] == 0 && dr[MR_DROP_HANDOFF_FULL] == 0 &&
	      dr[MR_DROP_EXCEPTION_FULL] == 0, "drops for want of room");
	check(relayed == st.sess_out + st.room_copies, "workers relayed %" PRIu64 ", %" PRIu64
	      " came out", relayed, st.sess_out + st.room_copies);
	check(exc == st.arp_injected && arp == 0 && other == 0,
	      "slow path: %" PRIu64 " exceptions for %" PRIu64 " ARP replies, %" PRIu64
	      " answers", exc, st.arp_injected, arp + other);

	/* Each session's final counters (GET still finds ended sessions). */
	for (t = 1; t <= n_sess; t++) {
		json_t *body = NULL, *legs;
		int r = mr_http_session_get(&app, sess[t].id, &body);

		check(r == 200, "GET session %u (%s): %d", t, sess[t].id, r);
		check(strcmp(json_string_value(json_object_get(body, "state")), "ended") == 0,
		      "session %u not ended", t);
		legs = json_object_get(body, "legs");
		for (i = 0; i < 2; i++) {
			json_t *c = json_object_get(json_array_get(legs, i), "counters");
			json_t *oc = json_object_get(json_array_get(legs, i ^ 1), "counters");
			json_t *d = json_object_get(c, "drops");
			uint64_t in = jint(c, "packets_in"), out = jint(oc, "packets_out");
			uint64_t nr = jint(d, "no_remote"), nn = jint(d, "no_neighbor");

			check(out == sess[t].out[i], "session %u: leg %u sent %" PRIu64 " packets "
			      "of leg %u, %" PRIu64 " came out", t, i ^ 1, out, i, sess[t].out[i]);
			check(in == sess[t].out[i] + nr + nn, "session %u leg %u: %" PRIu64
			      " packets in, %" PRIu64 " relayed, %" PRIu64 " + %" PRIu64
			      " dropped", t, i, in, sess[t].out[i], nr, nn);
			d_src += jint(d, "source_mismatch");
			d_neigh += nn;
			d_rtp += jint(d, "rtp_malformed");
			d_nor += nr;
		}
		json_decref(body);
	}
	/* Rooms never see sources other than their participants' own (the addressing above),
	 * nor malformed RTP; sessions always have a remote: these drops are the sessions'. */
	check(d_src == dr[MR_DROP_SRC_MISMATCH] && d_neigh == dr[MR_DROP_NO_NEIGHBOR] &&
	      d_rtp == dr[MR_DROP_RTP_MALFORMED] && d_nor == 0,
	      "sessions' drops (source %" PRIu64 ", neighbor %" PRIu64 ", malformed %" PRIu64
	      ", no remote %" PRIu64 ") differ from the workers' (%" PRIu64 ", %" PRIu64 ", %"
	      PRIu64 ", 0)", d_src, d_neigh, d_rtp, d_nor, dr[MR_DROP_SRC_MISMATCH],
	      dr[MR_DROP_NO_NEIGHBOR], dr[MR_DROP_RTP_MALFORMED]);
	/* Every packet in: relayed once (a session), forwarded (a room: once however many
	 * copies), dropped for one named reason, or handed to the control thread. no_remote
	 * counts room copies not sent (a subscriber not latched yet, a receiver report),
	 * never a packet. */
	check(rx == st.sess_out + st.room_pkts + (drops - dr[MR_DROP_NO_REMOTE]) + exc,
	      "packets in %" PRIu64 " != relayed %" PRIu64 " + forwarded %" PRIu64
	      " + dropped %" PRIu64 " + exceptions %" PRIu64, rx, st.sess_out, st.room_pkts,
	      drops - dr[MR_DROP_NO_REMOTE], exc);

	mr_sessions_counts(app.sess, &sc);
	check(sc.active == 0 && sc.retiring == 0 && sc.created == n_sess &&
	      sc.ended == n_sess && sc.rejected == 0, "session counts: active %" PRIu64
	      " retiring %" PRIu64 " created %" PRIu64 " ended %" PRIu64 " rejected %" PRIu64,
	      sc.active, sc.retiring, sc.created, sc.ended, sc.rejected);
	mr_rooms_counts(app.rooms, &rc);
	check(rc.active == 0 && rc.participants == 0 && rc.streams == 0 && rc.retiring == 0 &&
	      rc.participants_created == n_parts, "room counts");
	check(n_flow_add == n_flow_del, "%" PRIu64 " flows added, %" PRIu64 " deleted",
	      n_flow_add, n_flow_del);
	/* The wrappers must be in the path, or the gate and the TSan annotations do nothing. */
	check(n_flow_add > 0 && (round_no < 1000 || st.held > 0), "the rte_hash wrappers saw "
	      "%" PRIu64 " adds and held a worker %" PRIu64 " times: no longer in the path?",
	      n_flow_add, st.held);
	check(mr_flows_ep_available(app.flows) == PORT_PAIRS, "%u of %u relay ports free",
	      mr_flows_ep_available(app.flows), PORT_PAIRS);
	for (i = PORT_MIN; i <= PORT_MAX; i++)
		check(app.dp->owner[i] == 0, "owner map: port %u still owned", i);
}

static void
setup_neighbors(void)
{
	uint64_t deadline = rte_get_tsc_cycles() + WAIT_S * rte_get_tsc_hz();
	unsigned int p, found;

	/* The appliance resolves its gateways at once; answer, then every remote has a MAC. */
	do {
		drain_tx();
		cp_step();
		found = 0;
		for (p = 0; p < N_PORTS; p++) {
			unsigned int i;

			for (i = 0; i < MR_NEIGH_SLOTS; i++) {
				if (__atomic_load_n(&app.dp->port[p].neigh[i].w,
						    __ATOMIC_RELAXED) & MR_NEIGH_VALID) {
					found++;
					break;
				}
			}
		}
		check(rte_get_tsc_cycles() < deadline, "gateways not resolved in %u s",
		      WAIT_S);
	} while (found < N_PORTS);
}

static uint32_t lcore_done[RTE_MAX_LCORE];

static int
lcore_barrier(void *arg)
{
	RTE_SET_USED(arg);
	/* Release: all this lcore did before, mr_worker_main() included. */
	__atomic_store_n(&lcore_done[rte_lcore_id()], 1, __ATOMIC_RELEASE);
	return 0;
}

/* Stop the workers as mr_appliance_stop() does, then run one more function on their lcores
 * that says so: TSan cannot see the EAL's own wait for the lcores (uninstrumented), and
 * without this everything the workers did would look concurrent with the frees. */
static void
workers_stop(void)
{
	unsigned int lc;

	/* Relaxed: as mr_appliance_stop(); the workers poll it. */
	__atomic_store_n(&app.dp->stop, 1, __ATOMIC_RELAXED);
	rte_eal_mp_wait_lcore();
	check(rte_eal_mp_remote_launch(lcore_barrier, NULL, SKIP_MAIN) == 0, "launch");
	RTE_LCORE_FOREACH_WORKER(lc)
		while (!__atomic_load_n(&lcore_done[lc], __ATOMIC_ACQUIRE))
			rte_pause();
	rte_eal_mp_wait_lcore();
}

static unsigned long
env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v != NULL && *v ? strtoul(v, NULL, 0) : def;
}

int
main(int argc, char **argv)
{
	char lcores[64], prefix[64];
	char *eal_argv[24];
	unsigned long rounds = env_ul("MR_CONC_ROUNDS", ROUNDS_DEFAULT);
	unsigned long secs = env_ul("MR_CONC_SECONDS", SECONDS_DEFAULT);
	uint64_t seed = env_ul("MR_CONC_SEED", (unsigned long)time(NULL) ^ (unsigned long)getpid());
	int cpu[2] = { -1, -1 }, n = 0, i, argc_e = 0;
	uint64_t t0, deadline;
	cpu_set_t set;

	RTE_SET_USED(argc);
	hash_wrap_init();
	/* Two of the CPUs this process may use (or one twice): main and worker 1 on the first,
	 * worker 0 on the second. */
	check(sched_getaffinity(0, sizeof(set), &set) == 0, "sched_getaffinity");
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	if (n == 1)
		cpu[1] = cpu[0];
	snprintf(lcores, sizeof(lcores), "0@%d,1@%d,2@%d", cpu[0], cpu[1], cpu[0]);
	snprintf(prefix, sizeof(prefix), "mr_conc_%d", (int)getpid());
	eal_argv[argc_e++] = argv[0];
	eal_argv[argc_e++] = "--no-huge";
	eal_argv[argc_e++] = "-m";
	eal_argv[argc_e++] = "512";
	eal_argv[argc_e++] = "--no-pci";
	eal_argv[argc_e++] = "--no-shconf";
	eal_argv[argc_e++] = "--no-telemetry";
	eal_argv[argc_e++] = "--file-prefix";
	eal_argv[argc_e++] = prefix;
	eal_argv[argc_e++] = "--lcores";
	eal_argv[argc_e++] = lcores;
	eal_argv[argc_e++] = "--main-lcore";
	eal_argv[argc_e++] = "0";
	eal_argv[argc_e++] = "--log-level";
	eal_argv[argc_e++] = "lib.eal:error";
#if defined(__SANITIZE_THREAD__)
	eal_argv[argc_e++] = "--mbuf-pool-ops-name";
	eal_argv[argc_e++] = "mr_tsan_ring";
#endif
	eal_argv[argc_e] = NULL;
	if (rte_eal_init(argc_e, eal_argv) < 0)
		die("rte_eal_init: %s", rte_strerror(rte_errno));

	rng ^= seed;
	rnd(1);
	printf("test_concurrency: seed %" PRIu64 " (MR_CONC_SEED), up to %lu rounds and %lu s, "
	       "lcores %s\n", seed, rounds, secs, lcores);
	fflush(stdout);
	sess = calloc(S_TOTAL, sizeof(*sess));
	parts = calloc(P_TOTAL, sizeof(*parts));
	room_seen_bits = (uint64_t)(rounds + 16) * PENDING_MAX + 1024;
	room_seen = calloc(room_seen_bits / 8 + 1, 1);
	check(sess != NULL && parts != NULL && room_seen != NULL, "out of memory");

	pool = rte_pktmbuf_pool_create("c_inject", 8191, 64, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	check(pool != NULL, "pool: %s", rte_strerror(rte_errno));
	ports_make();
	mr_dpmem_poison_on = 1;
	appliance_up();
	setup_neighbors();

	t0 = rte_get_tsc_cycles();
	deadline = t0 + secs * rte_get_tsc_hz();
	for (round_no = 1; round_no <= rounds; round_no++) {
		if (rte_get_tsc_cycles() > deadline) {
			printf("time limit reached: %" PRIu64 " rounds\n", round_no - 1);
			break;
		}
		traffic();
		/* Half the time right when the workers have taken the packets and are relaying
		 * them (freeing too early shows then), else with the packets still in the rings. */
		victim_sess = victim_part = 0;
		if (rnd(3) == 0 && rnd(2) && live_sess > S_LIVE / 2)
			victim_sess = pick_live_sess(0);
		else if (rnd(2) == 0 && live_parts > ROOMS * R_PARTS / 2)
			victim_part = pick_live_part();
		if (victim_part && parts[victim_part].stream == 0)
			victim_part = 0;
		victim_tx = victim_part && rnd(2);
		if (!victim_sess && !victim_part)
			one_op();
		if (victim_sess || victim_part)
			gate_arm();
		traffic();
		if (victim_sess || victim_part) {
			int held = gate_wait();

			if (victim_sess)
				sess_end(victim_sess);
			else
				part_end(victim_part);
			if (held) {
				/* The ticks that would free it: none may while held. */
				cp_step();
				cp_step();
				st.held++;
			}
			/* Release: the worker goes on after what we did. */
			__atomic_store_n(&gate.go, gate.gen, __ATOMIC_RELEASE);
		}
		settle();
		drain_tx();
	}
	round_no--;
	delete_all();
	account();
	printf("test_concurrency: OK (%.1f s)\n",
	       (double)(rte_get_tsc_cycles() - t0) / (double)rte_get_tsc_hz());
	fflush(stdout);

	/* The workers are stopped before anything is freed: no poisoning needed (and TSan
	 * cannot see the EAL's wait for them). */
	mr_dpmem_poison_on = 0;
	workers_stop();
	mr_appliance_stop(&app);
	mr_config_free(&cfg);
	for (i = 0; i < N_PORTS; i++) {
		unsigned int q;

		rte_ring_free(rx_ring[i]);
		for (q = 0; q < N_TXQ; q++)
			rte_ring_free(tx_ring[i][q]);
	}
	rte_mempool_free(pool);
	free(sess);
	free(parts);
	free(room_seen);
	rte_eal_cleanup();
	return 0;
}
