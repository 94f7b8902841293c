/* SPDX-License-Identifier: BSD-3-Clause
 * mrelayd configuration: a libconfig file (docs/CONFIG.md).
 */
#ifndef MR_CONFIG_H
#define MR_CONFIG_H

#include <stdint.h>
#include <string.h>
#include "addr.h"

#define MR_MAX_PORTS 16
#define MR_MAX_ADDRS 256		/* address_count at most */
#define MR_MAX_WORKERS 64
#define MR_MAX_MEDIA 8		/* lcores.media (MR_MEDIA_MAX) */
#define MR_MAX_EAL_ARGS 64
#define MR_MAX_WORKER_RXQ 64		/* RX queues one worker polls at most (MR_WORKER_MAX_RXQ) */
#define MR_NAME_LEN 32

/* How packets reach the worker that owns their local port (docs/ARCHITECTURE.md
 * "Steering"). */
enum mr_steering {
	MR_STEER_AUTO = 0,	/* RSS on the local endpoint, else rte_flow port ranges, else
				 * software, whichever the port takes first */
	MR_STEER_SOFTWARE,	/* always the software hand-off ring between workers */
	MR_STEER_RTE_FLOW,	/* rte_flow port-range rules required: startup fails when refused */
	MR_STEER_RSS,		/* RSS on the local endpoint required: startup fails when the
				 * device cannot hash on the destination only */
	MR_STEER_RSS_EMULATED,	/* the peer spreads packets over the queues as such a NIC
				 * would, with mrelayd's key and a 128-entry table (perf/rtpgen
				 * --spread rss over memif): benchmarks only */
};

/* Whether the UDP checksums a port receives can be updated (RFC 1624) as they are. */
enum mr_rx_cksum {
	MR_RX_CKSUM_AUTO = 0,	/* by driver: kernel-socket PMDs (af_packet, pcap) recompute */
	MR_RX_CKSUM_TRUST,	/* incremental update of the received field */
	MR_RX_CKSUM_RECOMPUTE,	/* the checksum is taken from the datagram itself */
};

struct mr_port_conf {
	char name[MR_NAME_LEN];		/* "edge0"; unique */
	char device[256];		/* PCI address "0000:03:00.0" or vdev "net_tap0,iface=x" */
	struct mr_prefix addr4;		/* address = "198.18.0.1/24" (family 0 if absent) */
	unsigned int n_addr4;		/* address_count: addr4 and the next n - 1, default 1 */
	struct mr_ep gw4;		/* gateway (family 0 if absent); must be inside addr4 */
	struct mr_prefix addr6;		/* address6 (family 0 if absent) */
	struct mr_ep gw6;		/* gateway6 (family 0 if absent) */
	uint16_t rx_queues;		/* 1..64, default 1 */
	uint16_t rx_desc;		/* default 1024 */
	uint16_t tx_desc;		/* default 1024 */
	uint16_t vlan;			/* 802.1Q VLAN id 1..4094, 0 = untagged (default) */
	uint16_t mtu;			/* 0 = leave the device default */
	enum mr_steering steering;	/* default MR_STEER_AUTO */
	int tx_offload;			/* tx_checksum_offload: use the NIC's IPv4/UDP checksum
					 * offloads when it has them; default true */
	enum mr_rx_cksum rx_cksum;	/* rx_checksum, default MR_RX_CKSUM_AUTO */
	int line;			/* line of this port's group in the file, for messages */
};

/* A device that is not a vdev ("net_...") is a PCI address: mrelayd allows it (EAL -a). */
static inline int
mr_port_is_pci(const struct mr_port_conf *pc)
{
	return strncmp(pc->device, "net_", 4) != 0;
}

/* How a packet reaches several subscribers (docs/PERFORMANCE.md "fan-out"). */
enum mr_fanout {
	MR_FANOUT_AUTO = 0,	/* chosen by packet size from the measured crossover */
	MR_FANOUT_COPY,		/* a full copy per subscriber */
	MR_FANOUT_INDIRECT,	/* a header mbuf per subscriber chained to a shared payload */
};

struct mr_rooms_conf {
	unsigned int max_rooms;		/* default 1000 */
	unsigned int max_participants;	/* per room, default 100 */
	unsigned int max_streams;	/* published per participant, default 8 */
	unsigned int ws_timeout;	/* s without a frame before a participant is removed, 30 */
	unsigned int consent_timeout;	/* s without a valid ICE check or authenticated SRTP from
					 * a WebRTC participant before it is removed, 30 */
	unsigned int mix_max_speakers;	/* mixing rooms mix only the loudest this many (0..64),
					 * default 0 = everyone; a room may say otherwise */
	unsigned int ws_max_connections;/* WebSocket connections at once, default 65536 */
	unsigned int ws_join_timeout;	/* s for a new connection to join, default 10 */
	unsigned int ws_max_pending_per_address;/* unjoined connections per address, 16 */
	unsigned int ws_max_message;	/* bytes in one (reassembled) message, default 65536 */
	unsigned int ws_max_sendbuf;	/* bytes queued to a slow client before it is cut, 1 MiB */
	unsigned int nack_cache;	/* packets kept per stream for NACK, 0 or 64..4096 pow2 */
	unsigned int nack_budget;	/* retransmissions per subscriber per second, default 200 */
	unsigned int pli_interval_ms;	/* at most one PLI/FIR per stream this often, 1000 */
	unsigned int nack_cache_audio_ms;/* cached audio packets answer NACKs this long, 1000 */
	unsigned int nack_cache_video_ms;/* cached video packets answer NACKs this long, 2000 */
	enum mr_fanout fanout;		/* default MR_FANOUT_AUTO */
};

#define MR_API_NAMES_MAX 16

/* state = { redis = "127.0.0.1:6379"; identity = "pop1-a"; password = "..."; ... }: sessions
 * kept in Redis (docs/CONFIG.md "state", docs/OPERATIONS.md "State in Redis"). Off when
 * redis is not set. */
struct mr_state_conf {
	int enabled;
	struct mr_ep redis;		/* IP:port of the Redis server */
	char identity[64];		/* the appliance's name in Redis keys */
	char password[256];		/* Redis AUTH, "" none */
	unsigned int queue;		/* writes waiting for Redis at most (default 100000) */
	unsigned int restore_timeout_ms;	/* restore.timeout (s) at start, default 5 */
	int restore;			/* restore at start (default true) */
	/* Active/standby (docs/OPERATIONS.md "Active/standby takeover"): enum
	 * mr_state_role; node names this appliance ("" = the host name); the holder of the
	 * service renews its lock every heartbeat_ms, the lock expires after takeover_ms. */
	unsigned int role;
	char node[64];
	unsigned int heartbeat_ms;	/* default 100 */
	unsigned int takeover_ms;	/* default 500 */
	char api_url[128];		/* where this appliance's REST API is reached, for the
					 * cluster registry; default http://<api.listen> */
	int placement_least_loaded;	/* state.placement "least_loaded": POST /v1/sessions and
					 * /v1/rooms are redirected to the least loaded node */
	unsigned int link_srtp;		/* state.link_srtp: the SRTP suite of this node's keys
					 * on cluster room links (enum mr_srtp_suite), 0: plain */
};

/* state.role */
enum mr_state_role {
	MR_STATE_SINGLE = 0,		/* one appliance per identity (no lock): the default */
	MR_STATE_ACTIVE,		/* takes the service at start unless another node
					 * holds it */
	MR_STATE_STANDBY,		/* starts standby, takes the service when the lock
					 * expires */
};

struct mr_config {
	char path[512];
	/* eal = [ ... ]: extra EAL arguments, copied verbatim */
	int n_eal_args;
	char *eal_args[MR_MAX_EAL_ARGS];
	/* lcores = { control = 0; workers = [ 1 ]; idle_sleep_us = 0; } */
	unsigned int control_lcore;
	unsigned int n_workers;
	unsigned int worker_lcores[MR_MAX_WORKERS];
	unsigned int idle_sleep_us;	/* 0 = pure polling (default) */
	/* lcores.media = [ 2 ]: media lcores (mixing rooms), none by default */
	unsigned int n_media;
	unsigned int media_lcores[MR_MAX_MEDIA];
	/* ports = ( { ... } ) */
	unsigned int n_ports;
	struct mr_port_conf ports[MR_MAX_PORTS];
	/* relay = { ... } */
	uint16_t port_min;		/* default 30000; even, >= 1024 */
	uint16_t port_max;		/* default 39999; > port_min */
	unsigned int idle_timeout;	/* seconds, default 60, 1..86400 */
	unsigned int relatch_timeout_ms;/* default 5000; 0 disables re-latching */
	unsigned int latch_packets;	/* consistent packets to latch, default 3 (1..64) */
	unsigned int latch_window_ms;	/* learning window, default 60000; 0 = no limit */
	int latch_signalled_only;	/* default true */
	unsigned int max_sessions;	/* default 100000 */
	unsigned int max_flows;		/* flow table entries per worker, 0 = 4 per session
					 * (+ room participants) */
	unsigned int ended_history;	/* ended sessions kept for GET, default 1000 */
	unsigned int mbufs;		/* mbufs in the pool, default 16383 (0 = derive) */
	/* api = { listen = "127.0.0.1:8080"; token = ""; max_body = 65536; } */
	struct mr_ep api_listen;
	char api_token[256];		/* "" = no authentication */
	unsigned int api_max_body;	/* bytes, default 131072 */
	/* docs/OPERATIONS.md "Security": connection slots and deadlines, names and origins a
	 * browser may use. 0 / empty in a configuration built by hand: the defaults. */
	unsigned int api_max_connections;	/* default 4096 */
	unsigned int api_max_conns_per_addr;	/* default 64 */
	unsigned int api_header_timeout_ms;	/* api.header_timeout (s), default 5 */
	unsigned int api_request_timeout_ms;	/* api.request_timeout (s), default 30 */
	int api_insecure;			/* api.insecure: allow what is refused below */
	unsigned int n_api_hosts;
	char api_hosts[MR_API_NAMES_MAX][128];	/* api.allowed_hosts */
	unsigned int n_api_origins;
	char api_origins[MR_API_NAMES_MAX][128];/* api.allowed_origins */
	/* log = { level = "info"; } : "error", "warning", "info", "debug" */
	int log_level;
	/* rooms = { ... }: the SFU (docs/CONFIG.md "rooms") */
	struct mr_rooms_conf rooms;
	/* ng = { listen = "127.0.0.1:22222"; tcp = true; delete_delay = 0; } (docs/NG.md):
	 * the rtpengine ng control protocol; off without listen. */
	struct mr_ep ng_listen;		/* family 0: off */
	int ng_tcp;			/* also on TCP, default true */
	unsigned int ng_delete_delay;	/* seconds, default 0 */
	/* srtp = { engine = "ipsec-mb"; rekey_overlap_ms = 1000; vaes_gcm = true; }
	 * (docs/CONFIG.md) */
	unsigned int srtp_engine;	/* enum mr_srtp_engine_kind: 0 ipsec-mb, 1 libsrtp */
	int srtp_vaes_gcm;		/* AES-GCM up to 256 bytes by gcm_vaes.c, default true */
	struct mr_state_conf state;
	unsigned int srtp_rekey_overlap_ms;	/* previous remote key accepted this long, 1000 */
	/* recording = { directory = "..."; ring = 8192; } (docs/CONFIG.md "recording") */
	char rec_dir[256];		/* "" = recording off (REST answers 503) */
	unsigned int rec_ring;		/* captures in flight to the writer, power of two */
	/* capture = { directory = "..."; ring = 4096; max_active = 8; }
	 * (docs/CONFIG.md "capture"): per-flow captures over REST */
	char cap_dir[256];		/* "" = per-flow capture off (REST answers 503) */
	unsigned int cap_ring;		/* frame copies in flight to the writer, power of two */
	unsigned int cap_max_active;	/* captures running at once, 1..64 */
	/* messages = { directory = "..."; max_bytes = 1048576; max_count = 1000; }
	 * (docs/CONFIG.md "messages"): stored voice messages */
	char msg_dir[256];		/* "" = voice messages off (REST answers 503) */
	unsigned int msg_max_bytes;	/* largest upload (bytes), 1 KiB..64 MiB */
	unsigned int msg_max_count;	/* messages stored at once, 1..100000 */			/* RTE_LOG_* value (ERR=4 .. DEBUG=8), default INFO=7 */
};

/* Load and validate a configuration file. On error returns -EINVAL (bad value or unknown key)
 * or -ENOENT/-EIO, and writes one line into err naming the file, the line and the key, e.g.
 * "default.conf:7: ports.[0].address: '198.18.0.1/33' is not an address with a prefix length".
 * mr_config_free() must be called on success. */
int mr_config_load(const char *path, struct mr_config *cfg, char *err, size_t errlen);
/* Same, from a string (tests). path is used in messages only. */
int mr_config_load_string(const char *text, const char *path, struct mr_config *cfg,
			  char *err, size_t errlen);
void mr_config_free(struct mr_config *cfg);

/* Index in cfg->eal_args of EAL option opt ("--in-memory", "-m"): a long option also with
 * "=value" or abbreviated as getopt_long() takes it, a short one also with its value attached
 * ("-m512"). -1 when absent. */
int mr_config_eal_find(const struct mr_config *cfg, const char *opt);
/* What mrelayd adds to the EAL arguments so that DPDK leaves no runtime files behind:
 * "--in-memory", "--no-shconf" where that clashes with the eal list (legacy memory), or NULL
 * when the eal list decides itself (--file-prefix, --in-memory, --no-shconf). */
const char *mr_config_eal_runtime_opt(const struct mr_config *cfg);
/* The --file-prefix NAME of eal when the instance shares runtime files under it (no
 * --in-memory, no --no-shconf), else NULL. */
const char *mr_config_eal_file_prefix(const struct mr_config *cfg);

#endif
