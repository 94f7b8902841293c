/* SPDX-License-Identifier: BSD-3-Clause
 * mrelay's counters in DPDK telemetry (dpdk-telemetry.py, /var/run/dpdk/PREFIX/
 * dpdk_telemetry.v2): per lcore, per port, drops by reason, sessions and rooms
 * (docs/OPERATIONS.md "DPDK telemetry").
 *
 * The callbacks run on DPDK's telemetry thread, not on the control thread. What they read:
 * the workers' counters with relaxed atomic loads (counters.h, as /v1/stats does), ethdev
 * statistics (rte_eth_stats_get), and a snapshot of the control thread's session and room
 * counts that the control loop stores with relaxed atomics (mr_telemetry_tick): nothing the
 * control thread writes with plain stores. A mutex keeps the appliance from going away under
 * a callback (mr_telemetry_stop); the control thread takes it only at stop.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "appliance.h"
#include "counters.h"
#include "mr_log.h"
#include "port.h"
#include "rooms.h"
#include "sessions.h"
#include "telemetry.h"

MR_LOG_REGISTER(mr_logtype_tel, telemetry);
#define TEL_LOG(level, ...) MR_LOG(level, mr_logtype_tel, "telemetry", __VA_ARGS__)

static pthread_mutex_t mr_tel_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mr_appliance *mr_tel_app;		/* under mr_tel_lock */

/* The control thread's counts, stored by mr_telemetry_tick with relaxed atomics. */
static struct mr_sessions_counts mr_tel_sess_counts;
static struct mr_rooms_counts mr_tel_room_counts;

static void
mr_tel_store(void *dst, const void *src, size_t len)
{
	const uint64_t *s = src;
	uint64_t *d = dst;
	size_t i;

	for (i = 0; i < len / 8; i++)
		__atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
}

void
mr_telemetry_tick(struct mr_appliance *a)
{
	struct mr_sessions_counts sc;
	struct mr_rooms_counts rc;

	mr_sessions_counts(a->sess, &sc);
	mr_tel_store(&mr_tel_sess_counts, &sc, sizeof(sc));
	if (a->rooms != NULL) {
		mr_rooms_counts(a->rooms, &rc);
		mr_tel_store(&mr_tel_room_counts, &rc, sizeof(rc));
	}
}

/* The appliance under the lock, or NULL (then the lock is not held). */
static struct mr_appliance *
mr_tel_get(void)
{
	pthread_mutex_lock(&mr_tel_lock);
	if (mr_tel_app == NULL) {
		pthread_mutex_unlock(&mr_tel_lock);
		return NULL;
	}
	return mr_tel_app;
}

static void
mr_tel_put(void)
{
	pthread_mutex_unlock(&mr_tel_lock);
}

#define U64(d, k, v) rte_tel_data_add_dict_u64(d, k, (uint64_t)(v))

/* The worker whose lcore id is params, or -1. */
static int
mr_tel_worker(const struct mr_dp *dp, const char *params)
{
	unsigned int i;
	char *end;
	unsigned long id;

	if (params == NULL || *params == '\0')
		return -1;
	id = strtoul(params, &end, 10);
	if (*end != '\0')
		return -1;
	for (i = 0; i < dp->n_workers; i++)
		if (dp->w[i]->lcore_id == id)
			return (int)i;
	return -1;
}

/* The port whose name or index is params, or -1. */
static int
mr_tel_port(const struct mr_dp *dp, const char *params)
{
	unsigned int i;
	char *end;
	unsigned long idx;

	if (params == NULL || *params == '\0')
		return -1;
	for (i = 0; i < dp->n_ports; i++)
		if (strcmp(dp->port[i].name, params) == 0)
			return (int)i;
	idx = strtoul(params, &end, 10);
	if (*end == '\0' && idx < dp->n_ports)
		return (int)idx;
	return -1;
}

/* /mrelay/lcores: the worker lcore ids. */
static int
mr_tel_lcores(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_appliance *a = mr_tel_get();
	unsigned int i;

	if (a == NULL)
		return -EAGAIN;
	rte_tel_data_start_array(d, RTE_TEL_INT_VAL);
	for (i = 0; i < a->dp->n_workers; i++)
		rte_tel_data_add_array_int(d, (int)a->dp->w[i]->lcore_id);
	mr_tel_put();
	return 0;
}

/* /mrelay/lcore,ID: one worker's counters, its drops by reason inside "drops". */
static int
mr_tel_lcore(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_appliance *a = mr_tel_get();
	struct mr_lcore_stats s;
	struct rte_tel_data *drops;
	unsigned int r;
	int w;

	if (a == NULL)
		return -EAGAIN;
	w = mr_tel_worker(a->dp, params);
	if (w < 0) {
		mr_tel_put();
		return -EINVAL;
	}
	mr_read_u64s(&s, &a->dp->w[w]->stats, sizeof(s));
	mr_tel_put();
	rte_tel_data_start_dict(d);
	U64(d, "rx_packets", s.rx_pkts);
	U64(d, "rx_bytes", s.rx_bytes);
	U64(d, "tx_packets", s.tx_pkts);
	U64(d, "tx_bytes", s.tx_bytes);
	U64(d, "relayed", s.relayed);
	U64(d, "handoff_in", s.handoff_in);
	U64(d, "handoff_out", s.handoff_out);
	U64(d, "handoff_bursts", s.handoff_bursts);
	U64(d, "rx_owned", s.rx_owned);
	U64(d, "exceptions", s.exception);
	U64(d, "arp_replies", s.arp_replies);
	U64(d, "nd_replies", s.nd_replies);
	U64(d, "echo_replies", s.echo_replies);
	U64(d, "commands", s.cmds);
	U64(d, "relatches", s.relatches);
	U64(d, "busy_cycles", s.busy_cycles);
	U64(d, "idle_cycles", s.idle_cycles);
	U64(d, "recording_captures", s.rec_captured);
	U64(d, "recording_captures_dropped", s.rec_dropped);
	U64(d, "capture_captured", s.cap_captured);
	U64(d, "capture_dropped", s.cap_dropped);
	drops = rte_tel_data_alloc();
	if (drops == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(drops);
	for (r = 0; r < MR_DROP_MAX; r++)
		U64(drops, mr_drop_name[r], s.drops[r]);
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	return 0;
}

/* /mrelay/drops: drops by reason, all workers together. */
static int
mr_tel_drops(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_appliance *a = mr_tel_get();
	uint64_t sum[MR_DROP_MAX] = { 0 };
	struct mr_lcore_stats s;
	unsigned int i, r;

	if (a == NULL)
		return -EAGAIN;
	for (i = 0; i < a->dp->n_workers; i++) {
		mr_read_u64s(&s, &a->dp->w[i]->stats, sizeof(s));
		for (r = 0; r < MR_DROP_MAX; r++)
			sum[r] += s.drops[r];
	}
	mr_tel_put();
	rte_tel_data_start_dict(d);
	for (r = 0; r < MR_DROP_MAX; r++)
		U64(d, mr_drop_name[r], sum[r]);
	return 0;
}

/* /mrelay/ports: the port names, in configuration order. */
static int
mr_tel_ports(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_appliance *a = mr_tel_get();
	unsigned int i;

	if (a == NULL)
		return -EAGAIN;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (i = 0; i < a->dp->n_ports; i++)
		rte_tel_data_add_array_string(d, a->dp->port[i].name);
	mr_tel_put();
	return 0;
}

/* /mrelay/port,NAME (or index): the port's counters as /v1/stats gives them. */
static int
mr_tel_port_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_appliance *a = mr_tel_get();
	struct rte_eth_stats es;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct mr_dp_port *p;
	int i;

	if (a == NULL)
		return -EAGAIN;
	i = mr_tel_port(a->dp, params);
	if (i < 0) {
		mr_tel_put();
		return -EINVAL;
	}
	p = &a->dp->port[i];
	memset(&es, 0, sizeof(es));
	rte_eth_stats_get(p->port_id, &es);
	rte_ether_format_addr(mac, sizeof(mac), &p->mac);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", p->name);
	rte_tel_data_add_dict_int(d, "port_id", p->port_id);
	rte_tel_data_add_dict_string(d, "mac", mac);
	rte_tel_data_add_dict_int(d, "link_up", mr_port_link_up(p));
	rte_tel_data_add_dict_string(d, "steering",
				     mr_steer_mode_name(a->steer[i].mode));
	mr_tel_put();
	U64(d, "rx_packets", es.ipackets);
	U64(d, "tx_packets", es.opackets);
	U64(d, "rx_bytes", es.ibytes);
	U64(d, "tx_bytes", es.obytes);
	U64(d, "rx_missed", es.imissed);
	U64(d, "rx_errors", es.ierrors);
	U64(d, "tx_errors", es.oerrors);
	U64(d, "rx_nombuf", es.rx_nombuf);
	return 0;
}

/* /mrelay/sessions: the session counts of /v1/stats "sessions". */
static int
mr_tel_sessions(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_sessions_counts c;

	mr_read_u64s(&c, &mr_tel_sess_counts, sizeof(c));
	rte_tel_data_start_dict(d);
	U64(d, "active", c.active);
	U64(d, "created", c.created);
	U64(d, "ended", c.ended);
	U64(d, "rejected", c.rejected);
	U64(d, "retiring", c.retiring);
	return 0;
}

/* /mrelay/rooms: the room counts of /v1/stats "rooms". */
static int
mr_tel_rooms(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct mr_rooms_counts c;

	mr_read_u64s(&c, &mr_tel_room_counts, sizeof(c));
	rte_tel_data_start_dict(d);
	U64(d, "active", c.active);
	U64(d, "created", c.created);
	U64(d, "deleted", c.deleted);
	U64(d, "rejected", c.rejected);
	U64(d, "participants", c.participants);
	U64(d, "participants_created", c.participants_created);
	U64(d, "streams", c.streams);
	U64(d, "ssrc_clashes", c.ssrc_clashes);
	U64(d, "auto_published", c.autopublished);
	U64(d, "ssrcs_learned", c.learned);
	U64(d, "ssrcs_unmatched", c.learn_unmatched);
	U64(d, "retiring", c.retiring);
	return 0;
}

static const struct {
	const char *cmd;
	telemetry_cb fn;
	const char *help;
} mr_tel_cmds[] = {
	{ "/mrelay/lcores", mr_tel_lcores, "mrelay worker lcore ids. Takes no parameters" },
	{ "/mrelay/lcore", mr_tel_lcore, "mrelay counters and drops of one worker. "
	  "Parameters: int lcore_id" },
	{ "/mrelay/drops", mr_tel_drops, "mrelay drops by reason, all workers. "
	  "Takes no parameters" },
	{ "/mrelay/ports", mr_tel_ports, "mrelay port names. Takes no parameters" },
	{ "/mrelay/port", mr_tel_port_info, "mrelay counters of one port. "
	  "Parameters: string name (or int index)" },
	{ "/mrelay/sessions", mr_tel_sessions, "mrelay session counts. Takes no parameters" },
	{ "/mrelay/rooms", mr_tel_rooms, "mrelay room counts. Takes no parameters" },
};

void
mr_telemetry_start(struct mr_appliance *a)
{
	static int registered;
	unsigned int i;

	mr_telemetry_tick(a);
	pthread_mutex_lock(&mr_tel_lock);
	mr_tel_app = a;
	pthread_mutex_unlock(&mr_tel_lock);
	if (registered)
		return;
	registered = 1;
	for (i = 0; i < RTE_DIM(mr_tel_cmds); i++)
		if (rte_telemetry_register_cmd(mr_tel_cmds[i].cmd, mr_tel_cmds[i].fn,
					       mr_tel_cmds[i].help) != 0)
			TEL_LOG(WARNING, "cannot register %s\n", mr_tel_cmds[i].cmd);
}

void
mr_telemetry_stop(void)
{
	pthread_mutex_lock(&mr_tel_lock);
	mr_tel_app = NULL;
	pthread_mutex_unlock(&mr_tel_lock);
}
