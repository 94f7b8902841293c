/* SPDX-License-Identifier: BSD-3-Clause
 * Named drop reasons and per-lcore counters (DESIGN.md §2 "Counters").
 * Every drop path in the dataplane increments exactly one of these.
 */
#ifndef MR_COUNTERS_H
#define MR_COUNTERS_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* X(enum suffix, name in the API and /metrics, help text) */
#define MR_DROP_REASONS(X) \
	X(RUNT, "runt", "frame shorter than its Ethernet/VLAN header") \
	X(VLAN, "vlan_mismatch", "802.1Q tag absent, extra, or not the port's VLAN") \
	X(ETHERTYPE, "unknown_ethertype", "neither IPv4, IPv6 nor ARP") \
	X(NOT_FOR_US_MAC, "not_our_mac", "unicast frame for another MAC address") \
	X(IP4_MALFORMED, "ipv4_malformed", "bad IPv4 version, header length or total length") \
	X(IP4_FRAG, "ipv4_fragment", "IPv4 fragment (not reassembled)") \
	X(IP4_CKSUM, "ipv4_bad_checksum", "IPv4 header checksum wrong (verified unless the NIC " \
	  "did)") \
	X(IP6_MALFORMED, "ipv6_malformed", "bad IPv6 version or payload length") \
	X(IP6_EXT, "ipv6_ext_header", "IPv6 packet with an extension header") \
	X(NOT_OUR_IP, "not_our_address", "destination is not one of the port's addresses") \
	X(L4_PROTO, "unknown_l4_protocol", "neither UDP nor ICMP/ICMPv6") \
	X(UDP_MALFORMED, "udp_malformed", "UDP length inconsistent with the IP length") \
	X(UDP_CKSUM, "udp_bad_checksum", "UDP checksum wrong, where the relay would send the " \
	  "datagram with a fresh one (ports.rx_checksum = recompute, to an SRTP remote) or the " \
	  "NIC found it bad") \
	X(ARP_MALFORMED, "arp_malformed", "ARP packet not Ethernet/IPv4 or truncated") \
	X(ARP_IGNORED, "arp_ignored", "ARP packet not for our addresses") \
	X(ICMP_IGNORED, "icmp_ignored", "ICMP/ICMPv6 message the appliance does not answer") \
	X(NO_FLOW, "no_flow", "UDP port with no session or room participant") \
	X(SRC_MISMATCH, "source_mismatch", "packet from a source other than the latched remote") \
	X(LATCH_ADDRESS, "source_address", "packet from an address the remote cannot have: " \
	  "not the one the signalling gave (relay.latch_signalled_only), or on an RTCP port " \
	  "not the RTP port's remote") \
	X(LATCH_LEARNING, "latch_learning", "packet from a source not latched yet that has " \
	  "not sent relay.latch_packets consistent RTP/RTCP packets (a lone packet latches " \
	  "nothing)") \
	X(LATCH_WINDOW, "latch_window_closed", "packet to an endpoint that latched nothing " \
	  "within relay.latch_window_ms") \
	X(RELATCH_SSRC, "relatch_refused", "packet from a new source after the remote fell " \
	  "silent, without the SSRC the endpoint was receiving") \
	X(NO_REMOTE, "no_remote", "no remote address to send to yet (the other leg, or a room " \
	  "subscriber or publisher: one count per copy or relay packet not sent)") \
	X(NO_NEIGHBOR, "no_neighbor", "next-hop MAC not resolved yet") \
	X(RTP_MALFORMED, "rtp_malformed", "RTP/RTCP packet shorter than its fixed header") \
	X(HANDOFF_FULL, "handoff_ring_full", "hand-off ring to the owner lcore full") \
	X(HANDOFF_STALE, "handoff_owner_moved", "handed-off packet whose UDP port another lcore " \
	  "owned by the time it arrived (never handed on twice)") \
	X(EXCEPTION_FULL, "exception_ring_full", "exception ring to the control plane full") \
	X(TX_FULL, "tx_full", "NIC TX queue refused the packet") \
	X(HDR_ROOM, "no_headroom", "mbuf headroom too small for the rewritten headers") \
	X(NO_TAILROOM, "no_tailroom", "mbuf data room too small for a packet the relay copies " \
	  "(room fan-out copy, RTCP to a publisher, retransmission) or for an ND reply") \
	X(ROOM_CLASS, "room_not_rtp", "neither RTP nor RTCP on a room participant's endpoint") \
	X(UNKNOWN_SSRC, "unknown_ssrc", "RTP from a participant with an SSRC the room does not know") \
	X(SSRC_FOREIGN, "ssrc_foreign", "RTP with an SSRC another participant publishes") \
	X(MUTED, "muted", "RTP of a muted room stream, or for a session leg that is blocked or " \
	  "hears a voice message instead") \
	X(NO_SUBSCRIBER, "no_subscriber", "RTP or SR of a stream with no subscriber to send it " \
	  "to (none subscribed, or none latched yet)") \
	X(RTCP_MALFORMED, "rtcp_malformed", "RTCP compound failing the RFC 3550 A.2 checks") \
	X(RTCP_UNHANDLED, "rtcp_unhandled", "RTCP compound with nothing the room acts on") \
	X(NO_MBUF, "no_mbuf", "mbuf pool empty: a packet the relay builds or copies was not sent") \
	X(RTCP_BUILD, "rtcp_build_failed", "the relay's own RTCP (receiver report, NACK to a " \
	  "publisher) did not fit in an mbuf: not sent") \
	X(SRTP_AUTH, "srtp_auth_fail", "SRTP/SRTCP packet whose authentication tag does not " \
	  "verify (or that is not SRTP/SRTCP at all) on an SRTP endpoint") \
	X(SRTP_REPLAY, "srtp_replay", "authenticated SRTP/SRTCP packet already received, or " \
	  "older than the replay window") \
	X(SRTP_MALFORMED, "srtp_malformed", "SRTP/SRTCP packet too short for its header and " \
	  "tag, or SRTCP without its index") \
	X(SRTP_NO_KEY, "srtp_no_key", "SRTP on an endpoint whose remote key is not known yet") \
	X(SRTP_PROTECT, "srtp_protect_failed", "packet to an SRTP remote that could not be " \
	  "encrypted (no room for the tag, or an engine error)") \
	X(STUN_AUTH, "stun_auth_fail", "STUN Binding request on a WebRTC participant's " \
	  "endpoint with an unknown USERNAME or a MESSAGE-INTEGRITY that does not verify") \
	X(STUN_MALFORMED, "stun_malformed", "STUN message that does not parse, fails its " \
	  "FINGERPRINT or has an unknown comprehension-required attribute") \
	X(STUN_IGNORED, "stun_ignored", "STUN message other than a Binding request on a " \
	  "WebRTC participant's endpoint") \
	X(DTLS_SRC, "dtls_not_latched", "DTLS record from a source ICE has not latched") \
	X(MIX_NOT_AUDIO, "mix_not_audio", "RTP of a video stream in a mixing room (only audio " \
	  "is mixed)") \
	X(MIX_RING_FULL, "mix_ring_full", "Opus packet for a mixing room not handed to the " \
	  "media lcore: its ring was full") \
	X(MIX_STALE, "mix_stale", "mixed packet for a participant that left before the worker " \
	  "could send it") \
	X(STANDBY, "standby", "received while the appliance is the standby of its service (or " \
	  "fenced itself, or is loading the service at a takeover): another node holds the " \
	  "shared addresses (docs/OPERATIONS.md \"Active/standby takeover\")")

/* What a UDP payload is, from its first byte (RFC 7983 §7) and, for RTP/RTCP, its second
 * byte (RFC 5761 §4): the index of the per-class packet counters. */
enum mr_class { MR_CLASS_RTP, MR_CLASS_RTCP, MR_CLASS_STUN, MR_CLASS_ZRTP, MR_CLASS_DTLS,
		MR_CLASS_TURN, MR_CLASS_OTHER, MR_CLASS_MAX };

/* "rtp", "rtcp", "stun", "zrtp", "dtls", "turn_channel", "other" */
extern const char *const mr_class_name[MR_CLASS_MAX];

enum mr_drop {
#define MR_X_ENUM(e, n, h) MR_DROP_##e,
	MR_DROP_REASONS(MR_X_ENUM)
#undef MR_X_ENUM
	MR_DROP_MAX
};

extern const char *const mr_drop_name[MR_DROP_MAX];
extern const char *const mr_drop_help[MR_DROP_MAX];

/* Per-lcore counters: written only by their lcore with plain stores (dp: rw),
 * read by the control plane with relaxed atomic loads (cp: ro). */
struct mr_lcore_stats {
	uint64_t rx_pkts;		/* received from NIC queues */
	uint64_t rx_bytes;
	uint64_t tx_pkts;		/* handed to NIC queues (accepted) */
	uint64_t tx_bytes;
	uint64_t relayed;		/* media packets relayed */
	uint64_t rx_owned;		/* UDP packets for a relay port this lcore owns, received
					 * from its own RX queues (steered right: no hand-off) */
	uint64_t handoff_out;		/* sent to another lcore's hand-off ring */
	uint64_t handoff_bursts;	/* enqueue bursts to hand-off rings (one per destination
					 * per RX burst) */
	uint64_t handoff_in;		/* received from hand-off rings */
	uint64_t exception;		/* sent to the control plane */
	uint64_t arp_replies;		/* ARP requests answered */
	uint64_t nd_replies;		/* neighbor solicitations answered */
	uint64_t echo_replies;		/* ICMP/ICMPv6 echo requests answered */
	uint64_t cmds;			/* control-plane commands applied */
	uint64_t relatches;		/* remotes followed after silence (sessions and rooms) */
	uint64_t busy_cycles;		/* TSC cycles in iterations that did work */
	uint64_t idle_cycles;		/* TSC cycles in empty iterations */
	uint64_t iterations;
	uint64_t rec_captured;		/* RTP packets copied for a recording (rec.h) */
	uint64_t rec_dropped;		/* captures not made: recording ring full or pool empty
					 * (the media itself went on) */
	uint64_t cap_captured;		/* frames copied for a per-flow capture (cap.h) */
	uint64_t cap_dropped;		/* copies not made: capture ring full or pool empty
					 * (the media itself went on) */
	uint64_t silenced;		/* G.711 RTP relayed with its payload replaced by silence
					 * (MR_LEG_MUTE_SILENCE) */
	uint64_t drops[MR_DROP_MAX];
};

/* How the control plane reads what a worker writes with plain stores (DESIGN.md §2
 * "Counters"): a relaxed atomic load per word, so that each word is whole (a 64-bit counter
 * never torn between its halves); the words need not be consistent with each other. len is
 * the size of the struct copied, a multiple of the word size (a tail is zeroed). */
static inline void
mr_read_u64s(void *dst, const void *src, size_t len)
{
	const uint64_t *s = src;
	uint64_t *d = dst;
	size_t i;

	memset(dst, 0, len);
	for (i = 0; i < len / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* The same for structs of 32-bit words (report blocks). Structs with 64-bit fields
 * (struct mr_rtp_stats: 8-byte aligned, its narrower fields packed in whole words) are read
 * with mr_read_u64s, so that no 64-bit field is torn. */
static inline void
mr_read_u32s(void *dst, const void *src, size_t len)
{
	const uint32_t *s = src;
	uint32_t *d = dst;
	size_t i;

	memset(dst, 0, len);
	for (i = 0; i < len / 4; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

#endif
