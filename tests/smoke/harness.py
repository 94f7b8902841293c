# SPDX-License-Identifier: BSD-3-Clause
"""Smoke-test harness: the real mrelayd on a DPDK TAP port, test hosts in a network namespace.

Topology (all names carry the harness's pid, so parallel or leftover runs never collide):

    root namespace                                  namespace mrt-<pid>-h
    mrelayd --(net_tap)--> mrt<pid>t0 ---+
                                          bridge mrt<pid>b (no address)
                            mrt<pid>v ---+-- veth --> eth0: 198.18.0.10-.13/24, .254/24 (gateway)
                                                            2001:2::10-12/64, 2001:2::fe/64
                                                      lo:   198.18.1.2/32, 2001:2:1::2/128

Host sockets are opened inside the namespace by this process: the calling thread enters the
namespace with setns(2), creates the socket and comes back; a socket stays in the namespace it
was created in. Everything the harness creates is registered and torn down in reverse order,
on success, failure, SIGINT or SIGTERM. Addresses come only from 198.18.0.0/15 and 2001:2::/48.
"""

import contextlib
import ctypes
import errno
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

CLONE_NEWNET = 0x40000000
PREFIX = "mrt"
PID = os.getpid()
MESSAGES_MAX_BYTES = 262144	# messages.max_bytes of the main daemon (test_messages.py)

NS_V4 = ["198.18.0.10", "198.18.0.11", "198.18.0.12", "198.18.0.13"]
NS_V6 = ["2001:2::10", "2001:2::11", "2001:2::12"]
GW4 = "198.18.0.254"
GW6 = "2001:2::fe"
FAR4 = "198.18.1.2"		# behind the gateway (on the namespace's lo)
FAR6 = "2001:2:1::2"		# behind gateway6
RELAY4 = "198.18.0.1"
RELAY6 = "2001:2::1"
RELAY4_B = "198.18.0.2"		# a second daemon on the same segment (two-worker test)
RELAY6_B = "2001:2::2"

_libc = ctypes.CDLL(None, use_errno=True)
_ROOT_NS_FD = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)


class SmokeError(Exception):
	"""A failed expectation; the message is what the test report prints."""


class Skip(Exception):
	"""The test cannot run here (missing tool); reported as SKIP."""


class NotForThisBuild(Exception):
	"""The test is left out for this build of mrelayd, for the reason given (docs/TESTING.md);
	reported as SKIP even with --require-all, which is about missing tools."""


def asan_build(binary):
	"""Is binary built with AddressSanitizer (scripts/test's $BUILD-asan)?"""
	try:
		with open(binary, "rb") as f:
			return b"__asan_init" in f.read()
	except OSError:
		return False


def read_text(path):
	"""A file's text ('' when it cannot be read, e.g. not written yet)."""
	try:
		with open(path, errors="replace") as f:
			return f.read()
	except OSError:
		return ""


def check(cond, msg):
	if not cond:
		raise SmokeError(msg)


def eq(got, want, what):
	if got != want:
		raise SmokeError(f"{what}: got {got!r}, want {want!r}")


def log(msg):
	print(f"  .. {msg}", file=sys.stderr, flush=True)


def sh(*argv, check_rc=True, timeout=20, capture=True, ns=None, env=None):
	"""Run a command (inside namespace ns when given), bounded in time."""
	cmd = list(argv)
	if ns:
		cmd = ["ip", "netns", "exec", ns] + cmd
	try:
		p = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None,
				   stderr=subprocess.STDOUT if capture else None, timeout=timeout,
				   text=True, env=env, stdin=subprocess.DEVNULL)
	except subprocess.TimeoutExpired:
		raise SmokeError(f"command timed out after {timeout}s: {' '.join(cmd)}") from None
	if check_rc and p.returncode != 0:
		raise SmokeError(f"command failed ({p.returncode}): {' '.join(cmd)}: "
				 f"{(p.stdout or '').strip()[-400:]}")
	return p


def _setns(fd):
	if _libc.setns(fd, CLONE_NEWNET) != 0:
		e = ctypes.get_errno()
		raise OSError(e, f"setns: {os.strerror(e)}")


@contextlib.contextmanager
def inside(ns):
	"""Run the block with this thread in network namespace ns (sockets made here stay there)."""
	fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
	try:
		_setns(fd)
		try:
			yield
		finally:
			_setns(_ROOT_NS_FD)
	finally:
		os.close(fd)


def family_of(addr):
	return socket.AF_INET6 if ":" in addr else socket.AF_INET


def parse_ep(text):
	"""'198.18.0.1:30000' / '[2001:2::1]:30000' -> (addr, port)."""
	m = re.fullmatch(r"\[([0-9a-fA-F:.]+)\]:(\d+)", text) or re.fullmatch(r"([0-9.]+):(\d+)", text)
	if not m:
		raise SmokeError(f"not an IP:port endpoint: {text!r}")
	return m.group(1), int(m.group(2))


def fmt_ep(addr, port):
	return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def norm_addr(addr):
	fam = family_of(addr)
	return socket.inet_ntop(fam, socket.inet_pton(fam, addr))


# ------------------------------------------------------------------------------------------
# RTP / RTCP packets (RFC 3550 §5.1, §6.4.1)

def rtp(seq, ssrc, pt=0, ts=None, payload=b"", marker=False):
	if ts is None:
		ts = seq * 160
	return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | (pt & 0x7F), seq & 0xFFFF,
			   ts & 0xFFFFFFFF, ssrc & 0xFFFFFFFF) + payload


def rtp_seq(data):
	return struct.unpack("!H", data[2:4])[0]


def rtp_ssrc(data):
	return struct.unpack("!I", data[8:12])[0]


def rtcp_sr(ssrc, n=0):
	return struct.pack("!BBHIIIIII", 0x80, 200, 6, ssrc, 0x83AA7E80 + n, 0, n * 160, n, n * 160)


def payload_for(tag, seq, size=160):
	"""A payload that identifies the test, the stream and the packet."""
	head = f"{tag}:{seq}:".encode()
	return (head + bytes((seq + i) & 0xFF for i in range(size)))[:max(size, len(head))]


# ------------------------------------------------------------------------------------------
# Host sockets in the namespace

class Host:
	"""The test hosts: one namespace whose eth0 holds several addresses."""

	def __init__(self, ns):
		self.ns = ns
		self._socks = []

	def udp(self, addr, port=0):
		with inside(self.ns):
			s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
		try:
			s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
			s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
			s.bind((addr, port))
		except OSError:
			s.close()
			raise
		self._socks.append(s)
		return s

	def packet_socket(self, ifname="eth0"):
		with inside(self.ns):
			s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
			s.bind((ifname, 0))
		self._socks.append(s)
		return s

	def close_all(self):
		for s in self._socks:
			with contextlib.suppress(OSError):
				s.close()
		self._socks.clear()

	def run(self, *argv, **kw):
		return sh(*argv, ns=self.ns, **kw)

	def mac_of(self, addr, dev="eth0"):
		"""The link-layer address the namespace has resolved for addr ('' if none)."""
		p = self.run("ip", "-j", "neigh", "show", addr, "dev", dev, check_rc=False)
		try:
			for n in json.loads(p.stdout or "[]"):
				if n.get("lladdr"):
					return n["lladdr"]
		except ValueError:
			pass
		return ""

	def own_mac(self, dev="eth0"):
		p = self.run("ip", "-j", "link", "show", "dev", dev)
		return json.loads(p.stdout)[0]["address"]


def packet_socket_root(ifname):
	"""An AF_PACKET socket on a root-namespace link (the daemon's TAP): raw frames sent on it
	reach the daemon exactly as written."""
	s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
	s.bind((ifname, 0))
	return s


def drain(sock, wait=0.05):
	"""Discard what is queued on sock (waiting at most `wait` for stragglers)."""
	n = 0
	sock.settimeout(wait)
	while n < 10000:
		try:
			sock.recvfrom(65535)
			n += 1
		except (socket.timeout, BlockingIOError):
			break
	return n


def _recv(sock, timeout, done):
	"""Datagrams as (data, (addr, port)) until done(them), waiting at most timeout seconds in
	all."""
	out = []
	deadline = time.monotonic() + timeout
	while not done(out):
		left = deadline - time.monotonic()
		if left <= 0:
			break
		sock.settimeout(left)
		try:
			data, src = sock.recvfrom(65535)
		except socket.timeout:
			break
		out.append((data, (norm_addr(src[0]), src[1])))
	return out


def recv_n(sock, n, timeout=3.0):
	"""Up to n datagrams as (data, (addr, port)), waiting at most timeout seconds in all."""
	return _recv(sock, timeout, lambda out: len(out) >= n)


def same_packets(got, sent, what):
	"""got (from recv_n) must be exactly the datagrams in sent, in order; the message names
	sequence numbers rather than bytes."""
	data = [d for d, _ in got]
	if data == sent:
		return
	def seqs(lst):
		return [rtp_seq(d) if len(d) >= 12 else f"{len(d)}B" for d in lst]
	raise SmokeError(f"{what}: got {len(data)} packets {seqs(data)[:12]}, want {len(sent)} "
			 f"{seqs(sent)[:12]}" + ("" if len(data) != len(sent) else " (contents differ)"))


def expect_none(sock, wait=0.5, what="packet"):
	got = recv_n(sock, 1, timeout=wait)
	check(not got, f"unexpected {what} from {got[0][1] if got else ''}")


def recv_until(sock, pred, timeout=5.0, what="packet"):
	"""Datagrams as recv_n returns them, up to and including the first whose data satisfies
	pred; SmokeError when none does within timeout seconds."""
	out = _recv(sock, timeout, lambda got: got and pred(got[-1][0]))
	if not out or not pred(out[-1][0]):
		raise SmokeError(f"timed out after {timeout}s waiting for {what} "
				 f"({len(out)} other packets)")
	return out


def prime(src, dst, sink, ssrc, seq0=0, tries=40, interval=0.1):
	"""Send RTP from src to dst until sink receives one (the relay may first have to resolve
	the next hop with ARP/ND and drop the packets meanwhile), then flush: a marker sent last
	comes out after everything sent before it (the relay keeps a flow's order). Returns the
	next sequence number."""
	seq = seq0
	for _ in range(tries):
		src.sendto(rtp(seq, ssrc, payload=b"prime"), dst)
		seq += 1
		if recv_n(sink, 1, timeout=interval):
			marker = rtp(seq, ssrc, payload=b"prime-end")
			src.sendto(marker, dst)
			recv_until(sink, lambda d: d == marker, what="the end of priming")
			return seq + 1
	raise SmokeError(f"nothing relayed from {src.getsockname()[:2]} to {dst} "
			 f"({tries} packets over {tries * interval:.1f}s)")


def relay_check(src, dst, sink, n, ssrc, tag, seq0, want_from, timeout=3.0):
	"""Send n RTP packets src -> dst; sink must get exactly them, in order, from want_from."""
	sent = []
	for i in range(n):
		seq = (seq0 + i) & 0xFFFF
		pkt = rtp(seq, ssrc, payload=payload_for(tag, seq))
		src.sendto(pkt, dst)
		sent.append(pkt)
		if i % 8 == 7:
			time.sleep(0.002)	# gentle on a 2-core machine
	got = recv_n(sink, n, timeout=timeout)
	eq(len(got), n, f"{tag}: packets received")
	for i, (data, frm) in enumerate(got):
		if data != sent[i]:
			raise SmokeError(f"{tag}: packet {i} differs: seq {rtp_seq(data)} "
					 f"(want {rtp_seq(sent[i])}), {len(data)} bytes "
					 f"(want {len(sent[i])})")
		eq(frm, want_from, f"{tag}: source of packet {i}")
	expect_none(sink, wait=0.1, what=f"{tag}: extra packet")
	return (seq0 + n) & 0xFFFF


# ------------------------------------------------------------------------------------------
# Frames for the AF_PACKET tests

def cksum(data):
	if len(data) % 2:
		data += b"\0"
	s = sum(struct.unpack(f"!{len(data) // 2}H", data))
	while s >> 16:
		s = (s & 0xFFFF) + (s >> 16)
	return (~s) & 0xFFFF


def mac_bytes(mac):
	return bytes(int(x, 16) for x in mac.split(":"))


def eth(dst, src, ethertype, payload):
	return mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, flags_frag=0, ihl=5, total=None, ttl=64, ident=0x1234):
	tl = total if total is not None else 20 + len(payload)
	hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tl, ident, flags_frag, ttl, proto, 0,
			  socket.inet_aton(src), socket.inet_aton(dst))
	hdr = hdr[:10] + struct.pack("!H", cksum(hdr)) + hdr[12:]
	return hdr + payload


def udp4(sport, dport, payload, length=None):
	ln = length if length is not None else 8 + len(payload)
	return struct.pack("!HHHH", sport, dport, ln, 0) + payload


def ipv6(src, dst, nh, payload, plen=None, hlim=64):
	pl = plen if plen is not None else len(payload)
	return (struct.pack("!IHBB", 0x60000000, pl, nh, hlim) +
		socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
		payload)


def udp6(src, dst, sport, dport, payload):
	ln = 8 + len(payload)
	pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
		  struct.pack("!IxxxB", ln, 17))
	hdr = struct.pack("!HHHH", sport, dport, ln, 0)
	c = cksum(pseudo + hdr + payload) or 0xFFFF
	return struct.pack("!HHHH", sport, dport, ln, c) + payload


# ------------------------------------------------------------------------------------------
# Teardown registry and stale cleanup

class Cleanup:
	"""Undo actions, run in reverse order exactly once."""

	def __init__(self):
		self._actions = []

	def add(self, what, fn):
		self._actions.append((what, fn))

	def run(self):
		while self._actions:
			what, fn = self._actions.pop()
			try:
				fn()
			except Exception as e:	# noqa: BLE001 - teardown goes on whatever happens
				print(f"  .. cleanup '{what}' failed: {e}", file=sys.stderr)


CLEANUP = Cleanup()


def _pid_alive(pid):
	try:
		os.kill(pid, 0)
		return True
	except ProcessLookupError:
		return False
	except PermissionError:
		return True


def cleanup_stale():
	"""Remove namespaces, links, daemons and peers left by harness runs whose process is
	gone."""
	removed = []
	for name in sorted(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else []:
		m = re.fullmatch(rf"{PREFIX}-(\d+)-\w+", name)
		if m and not _pid_alive(int(m.group(1))):
			subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)
			removed.append(name)
	for name in sorted(os.listdir("/sys/class/net")):
		m = re.fullmatch(rf"{PREFIX}(\d+)[a-z]\w*", name)
		if m and not _pid_alive(int(m.group(1))):
			subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)
			removed.append(name)
	for name in os.listdir("/var/run/dpdk") if os.path.isdir("/var/run/dpdk") else []:
		m = re.fullmatch(rf"{PREFIX}(\d+)\w*", name)
		if m and not _pid_alive(int(m.group(1))):
			shutil.rmtree(f"/var/run/dpdk/{name}", ignore_errors=True)
			removed.append(f"/var/run/dpdk/{name}")
	tmp = tempfile.gettempdir()
	# Peers a dead run left behind: a browser whose start a SIGTERM interrupted outlives its
	# driver (Chromium's --user-data-dir, Firefox's --profile are in the run's directories).
	own = re.compile(rb"mrelay-smoke-(\d+)-")
	for pid in os.listdir("/proc"):
		if not pid.isdigit():
			continue
		with contextlib.suppress(OSError):
			with open(f"/proc/{pid}/cmdline", "rb") as f:
				m = own.search(f.read())
			if m and not _pid_alive(int(m.group(1))):
				os.kill(int(pid), signal.SIGKILL)
				removed.append(f"pid {pid} of run {m.group(1).decode()}")
	for d in os.listdir(tmp):
		m = re.fullmatch(r"mrelay-smoke-(\d+)-\w+", d)
		if not m or _pid_alive(int(m.group(1))):
			continue
		path = os.path.join(tmp, d)
		for f in os.listdir(path) if os.path.isdir(path) else []:
			if f.endswith(".pid"):
				with contextlib.suppress(OSError, ValueError):
					dpid = int(open(os.path.join(path, f)).read().strip())
					if _daemon_cmdline(dpid):
						os.kill(dpid, signal.SIGKILL)
						removed.append(f"mrelayd pid {dpid}")
				with contextlib.suppress(OSError):
					os.unlink(os.path.join(path, f))
		# Logs of failed runs are kept for a day for whoever looks into the failure.
		with contextlib.suppress(OSError):
			if time.time() - os.path.getmtime(path) > 86400:
				shutil.rmtree(path, ignore_errors=True)
				removed.append(path)
	return removed


def _daemon_cmdline(pid):
	try:
		with open(f"/proc/{pid}/cmdline", "rb") as f:
			return b"mrelayd" in f.read()
	except OSError:
		return False


# ------------------------------------------------------------------------------------------
# Topology

def no_addresses(dev):
	"""A root-namespace link carries no address: no IPv6 link-local either."""
	subprocess.run(["ip", "link", "set", "dev", dev, "addrgenmode", "none"],
		       stderr=subprocess.DEVNULL)
	with contextlib.suppress(OSError):
		with open(f"/proc/sys/net/ipv6/conf/{dev}/disable_ipv6", "w") as f:
			f.write("1")
	subprocess.run(["ip", "addr", "flush", "dev", dev], stderr=subprocess.DEVNULL)


class Topology:
	def __init__(self):
		self.ns = f"{PREFIX}-{PID}-h"
		self.br = f"{PREFIX}{PID}b"
		self.veth = f"{PREFIX}{PID}v"
		self.host = Host(self.ns)
		self._mac_seq = 0

	def tap_name(self, idx):
		return f"{PREFIX}{PID}t{idx}"

	def setup(self):
		sh("ip", "netns", "add", self.ns)
		CLEANUP.add(f"netns {self.ns}", lambda: sh("ip", "netns", "del", self.ns))
		sh("ip", "link", "add", self.br, "type", "bridge", "stp_state", "0",
		   "forward_delay", "0")
		CLEANUP.add(f"bridge {self.br}", lambda: sh("ip", "link", "del", self.br,
							     check_rc=False))
		no_addresses(self.br)
		sh("ip", "link", "add", self.veth, "type", "veth", "peer", "name", "eth0", "netns",
		   self.ns)
		CLEANUP.add(f"veth {self.veth}", lambda: sh("ip", "link", "del", self.veth,
							     check_rc=False))
		no_addresses(self.veth)
		sh("ip", "link", "set", "dev", self.veth, "master", self.br)
		sh("ip", "link", "set", "dev", self.br, "up")
		sh("ip", "link", "set", "dev", self.veth, "up")
		x = self.host.run
		x("ip", "link", "set", "dev", "lo", "up")
		# Answer ARP only for eth0's own addresses, so FAR4 (on lo) is reachable only through
		# the gateway, as a remote network is.
		x("sysctl", "-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.eth0.arp_ignore=1")
		# No router solicitations or other unsolicited chatter from the hosts.
		x("sysctl", "-qw", "net.ipv6.conf.eth0.router_solicitations=0")
		for a in NS_V4 + [GW4]:
			x("ip", "addr", "add", f"{a}/24", "dev", "eth0")
		for a in NS_V6 + [GW6]:
			x("ip", "-6", "addr", "add", f"{a}/64", "dev", "eth0", "nodad")
		x("ip", "addr", "add", f"{FAR4}/32", "dev", "lo")
		x("ip", "-6", "addr", "add", f"{FAR6}/128", "dev", "lo")
		x("ip", "link", "set", "dev", "eth0", "up")

	def attach_tap(self, tap):
		"""Put the daemon's TAP interface on the bridge. DPDK's net_tap gives the kernel side
		of the TAP the same MAC address as the port: the bridge would then take frames for the
		daemon as its own, so the kernel side gets another (locally administered) address."""
		deadline = time.monotonic() + 10
		while not os.path.exists(f"/sys/class/net/{tap}"):
			if time.monotonic() > deadline:
				raise SmokeError(f"TAP interface {tap} did not appear")
			time.sleep(0.1)
		no_addresses(tap)
		self._mac_seq += 1
		mac = "02:6d:%02x:%02x:%02x:%02x" % ((PID >> 16) & 0xFF, (PID >> 8) & 0xFF, PID & 0xFF,
						    0x80 | self._mac_seq)
		sh("ip", "link", "set", "dev", tap, "address", mac)
		sh("ip", "link", "set", "dev", tap, "master", self.br)
		sh("ip", "link", "set", "dev", tap, "up")

	def teardown(self):
		self.host.close_all()


class VethNet:
	"""A segment for a daemon on a kernel-socket port (net_af_packet), as on a plain Linux box
	or VM: the daemon's port is veth mrt<pid><tag> in the root namespace, its peer is eth0 of
	namespace mrt-<pid>-<tag>, which holds the test hosts:

	    mrelayd --(net_af_packet)--> mrt<pid><tag> --veth--> eth0: <net4>.10-.13/24
	                                                               <net6>10-12/64

	The root end carries no address, no IPv6 and forwards nothing, so the kernel leaves its
	frames to the daemon's packet sockets. eth0 keeps the kernel's defaults, TX checksum
	offload included: the UDP checksums it sends are partial, as a container's are."""

	def __init__(self, tag, net4="198.18.2.", net6="2001:2:2::"):
		self.ns = f"{PREFIX}-{PID}-{tag}"
		self.link = f"{PREFIX}{PID}{tag}"
		self.host = Host(self.ns)
		self.relay4 = f"{net4}1"
		self.relay6 = f"{net6}1"
		self.v4 = [f"{net4}{i}" for i in (10, 11, 12, 13)]
		self.v6 = [f"{net6}{i}" for i in (10, 11, 12)]

	def setup(self):
		sh("ip", "netns", "add", self.ns)
		CLEANUP.add(f"netns {self.ns}", lambda: sh("ip", "netns", "del", self.ns,
							    check_rc=False))
		sh("ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns",
		   self.ns)
		CLEANUP.add(f"veth {self.link}", lambda: sh("ip", "link", "del", self.link,
							    check_rc=False))
		no_addresses(self.link)
		with open(f"/proc/sys/net/ipv4/conf/{self.link}/forwarding", "w") as f:
			f.write("0")
		sh("ip", "link", "set", "dev", self.link, "up")
		x = self.host.run
		x("ip", "link", "set", "dev", "lo", "up")
		x("sysctl", "-qw", "net.ipv6.conf.eth0.router_solicitations=0")
		for a in self.v4:
			x("ip", "addr", "add", f"{a}/24", "dev", "eth0")
		for a in self.v6:
			x("ip", "-6", "addr", "add", f"{a}/64", "dev", "eth0", "nodad")
		x("ip", "link", "set", "dev", "eth0", "up")
		return self

	def teardown(self):
		"""Close the hosts' sockets, delete the namespace and the veth (the cleanup
		registry does it too, at exit)."""
		self.host.close_all()
		sh("ip", "netns", "del", self.ns, check_rc=False)
		sh("ip", "link", "del", self.link, check_rc=False)

	def udp_csum_errors(self):
		"""The namespace's Udp InCsumErrors (/proc/net/snmp): datagrams its kernel
		dropped for a bad checksum."""
		snmp = self.host.run("cat", "/proc/net/snmp").stdout.splitlines()
		lines = [ln.split() for ln in snmp if ln.startswith("Udp:")]
		return int(dict(zip(lines[0][1:], lines[1][1:]))["InCsumErrors"])


# ------------------------------------------------------------------------------------------
# The daemon

def free_tcp_port():
	with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def config_text(tap, api_port, file_prefix, addr4=RELAY4, addr6=RELAY6, workers=(1,),
		idle_sleep_us=50, rx_queues=1, token="", relay=None, api_extra=None,
		log_level="info", device=None, gw4=GW4, gw6=GW6, port_extra=None,
		srtp_overlap_ms=60000, recording_dir=None, capture_dir=None, media=(),
		messages_dir=None, messages_max_bytes=None):
	"""A daemon configuration: one port, net_tap on `tap` unless `device` names another;
	addr6/gw4/gw6 None leave those keys out; port_extra adds keys to the port. The SRTP
	re-key overlap is long, so that a test's packets under the old key are in it whatever
	the machine's speed."""
	r = {"port_min": 30000, "port_max": 30999, "idle_timeout": 60,
	     "relatch_timeout_ms": 500, "max_sessions": 32, "ended_history": 100, "mbufs": 4095}
	r.update(relay or {})
	a = {"listen": f'"127.0.0.1:{api_port}"', "token": f'"{token}"', "max_body": 4096}
	a.update(api_extra or {})
	relay_s = "\n".join(f"\t{k} = {v};" for k, v in r.items())
	api_s = "\n".join(f"\t{k} = {v};" for k, v in a.items())
	port = {"name": '"edge0"', "device": f'"{device or f"net_tap0,iface={tap}"}"',
		"address": f'"{addr4}/24"', "gateway": f'"{gw4}"' if gw4 else None,
		"address6": f'"{addr6}/64"' if addr6 else None,
		"gateway6": f'"{gw6}"' if addr6 and gw6 else None, "rx_queues": rx_queues}
	port.update(port_extra or {})
	port_s = "\n".join(f"\t\t{k} = {v};" for k, v in port.items() if v is not None)
	return f"""# written by tests/smoke/harness.py
eal = [ "--no-huge", "-m", "512", "--no-pci",
	"--file-prefix", "{file_prefix}", "--no-shconf" ];

lcores = {{
	control = 0;
	workers = [ {", ".join(str(w) for w in workers)} ];{f'{chr(10)}{chr(9)}media = [ {", ".join(str(m) for m in media)} ];' if media else ""}
	idle_sleep_us = {idle_sleep_us};
}};

ports = (
	{{
{port_s}
	}}
);

relay = {{
{relay_s}
}};

api = {{
{api_s}
}};

log = {{
	level = "{log_level}";
}};

srtp = {{
	rekey_overlap_ms = {srtp_overlap_ms};
}};
{f'{chr(10)}recording = {{{chr(10)}{chr(9)}directory = "{recording_dir}";{chr(10)}}};{chr(10)}' if recording_dir else ""}\
{f'{chr(10)}capture = {{{chr(10)}{chr(9)}directory = "{capture_dir}";{chr(10)}}};{chr(10)}' if capture_dir else ""}\
{f'{chr(10)}messages = {{{chr(10)}{chr(9)}directory = "{messages_dir}";{chr(10)}{chr(9)}max_bytes = {messages_max_bytes or 1048576};{chr(10)}}};{chr(10)}' if messages_dir else ""}"""


class Daemon:
	"""One mrelayd process with its own configuration file, log and API port."""

	def __init__(self, binary, workdir, name, token=""):
		self.binary = binary
		self.workdir = workdir
		self.name = name
		self.token = token
		self.api_port = free_tcp_port()
		self.file_prefix = f"mrt{PID}{name}"
		self.conf = os.path.join(workdir, f"{name}.conf")
		self.logpath = os.path.join(workdir, f"{name}.log")
		self.proc = None
		self.rc = None

	def write_config(self, text):
		with open(self.conf, "w") as f:
			f.write(text)

	def start(self):
		CLEANUP.add(f"DPDK runtime dir of {self.name}",
			    lambda: shutil.rmtree(f"/var/run/dpdk/{self.file_prefix}", ignore_errors=True))
		logf = open(self.logpath, "ab")
		self.proc = subprocess.Popen([self.binary, "-c", self.conf], stdout=logf,
					     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
					     start_new_session=True)
		logf.close()
		with open(os.path.join(self.workdir, f"{self.name}.pid"), "w") as f:
			f.write(str(self.proc.pid))
		CLEANUP.add(f"daemon {self.name}", self.kill)

	def alive(self):
		return self.proc is not None and self.proc.poll() is None

	def wait_health(self, timeout=40):
		deadline = time.monotonic() + timeout
		last = ""
		while time.monotonic() < deadline:
			if not self.alive():
				raise SmokeError(f"mrelayd ({self.name}) exited with {self.proc.returncode} "
						 f"during startup:\n{self.log_tail(30)}")
			try:
				st, body, _ = self.api("GET", "/v1/health", timeout=2)
				if st == 200:
					return body
				last = f"HTTP {st} {body}"
			except (OSError, http.client.HTTPException) as e:
				last = str(e)
			time.sleep(0.2)
		raise SmokeError(f"mrelayd ({self.name}) not healthy after {timeout}s ({last}):\n"
				 f"{self.log_tail(30)}")

	def api(self, method, path, body=None, token=None, raw=None, headers=None, timeout=10):
		"""(status, parsed JSON or text, headers). token=None uses the daemon's token;
		token='' sends no Authorization header."""
		conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
		try:
			hdrs = dict(headers or {})
			tok = self.token if token is None else token
			if tok:
				hdrs["Authorization"] = f"Bearer {tok}"
			data = raw if raw is not None else (json.dumps(body).encode()
							    if body is not None else None)
			if data is not None:
				hdrs.setdefault("Content-Type", "application/json")
			conn.request(method, path, body=data, headers=hdrs)
			resp = conn.getresponse()
			text = resp.read().decode("utf-8", "replace")
			hd = {k.lower(): v for k, v in resp.getheaders()}
			parsed = text
			if "json" in hd.get("content-type", "") or text[:1] in ("{", "["):
				with contextlib.suppress(ValueError):
					parsed = json.loads(text)
			return resp.status, parsed, hd
		finally:
			conn.close()

	def get_bytes(self, path, timeout=10):
		"""GET a download: (status, body bytes, Content-Type)."""
		conn = http.client.HTTPConnection("127.0.0.1", self.api_port, timeout=timeout)
		try:
			conn.request("GET", path, headers={"Authorization": f"Bearer {self.token}"}
				     if self.token else {})
			resp = conn.getresponse()
			return resp.status, resp.read(), resp.getheader("Content-Type")
		finally:
			conn.close()

	def ok(self, method, path, body=None, want=(200, 201, 204)):
		st, b, _ = self.api(method, path, body)
		if st not in ((want,) if isinstance(want, int) else want):
			raise SmokeError(f"{method} {path}: HTTP {st}: {b}")
		return b

	def stop(self, sig=signal.SIGTERM, timeout=15):
		if not self.alive():
			self.rc = self.proc.returncode if self.proc else None
			return self.rc
		self.proc.send_signal(sig)
		try:
			self.rc = self.proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			stacks = self._stacks()
			self.proc.kill()
			self.proc.wait(timeout=5)
			raise SmokeError(f"mrelayd ({self.name}) still running {timeout}s after "
					 f"{signal.Signals(sig).name}:\n{self.log_tail(20)}\n"
					 f"threads:\n{stacks}") from None
		return self.rc

	def _stacks(self):
		"""Where a hung daemon's threads are (gdb, when installed): the failure says why."""
		if shutil.which("gdb") is None:
			return "(gdb not installed)"
		try:
			p = subprocess.run(["gdb", "-p", str(self.proc.pid), "-batch", "-nx",
					    "-ex", "thread apply all bt 12"], capture_output=True,
					   text=True, timeout=30)
		except subprocess.TimeoutExpired:
			return "(gdb timed out)"
		return "\n".join(ln for ln in p.stdout.splitlines()
				 if ln.startswith(("Thread", "#")))[-6000:]

	def kill(self):
		if self.alive():
			self.proc.send_signal(signal.SIGTERM)
			try:
				self.proc.wait(timeout=8)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait(timeout=5)

	def log_text(self):
		return read_text(self.logpath)

	def log_tail(self, n=20):
		return "\n".join("    | " + ln for ln in self.log_text().splitlines()[-n:])

	# --- API conveniences ----------------------------------------------------------------

	def create(self, legs, **extra):
		body = {"legs": legs}
		body.update(extra)
		st, b, _ = self.api("POST", "/v1/sessions", body)
		if st != 201:
			raise SmokeError(f"POST /v1/sessions {json.dumps(body)}: HTTP {st}: {b}")
		check(isinstance(b, dict) and "id" in b and len(b.get("legs", [])) == 2,
		      f"POST /v1/sessions: unexpected body {b}")
		return Session(self, b)

	def stats(self):
		return self.ok("GET", "/v1/stats", want=200)

	def drops(self):
		return sum_drops(self.stats())


class Session:
	def __init__(self, daemon, body):
		self.d = daemon
		self.body = body
		self.id = str(body["id"])
		self.local = [parse_ep(leg["local"]) for leg in body["legs"]]
		CLEANUP_SESSIONS.append(self)

	def rtcp_local(self, leg):
		a, p = self.local[leg]
		return (a, p + 1)

	def get(self):
		return self.d.ok("GET", f"/v1/sessions/{self.id}", want=200)

	def leg(self, i):
		return self.get()["legs"][i]

	def counters(self, i):
		return self.leg(i).get("counters", {})

	def delete(self):
		st, b, _ = self.d.api("DELETE", f"/v1/sessions/{self.id}")
		if self in CLEANUP_SESSIONS:
			CLEANUP_SESSIONS.remove(self)
		return st


# Sessions a test created; the runner deletes what a test left behind.
CLEANUP_SESSIONS = []


def delete_leftover_sessions():
	while CLEANUP_SESSIONS:
		s = CLEANUP_SESSIONS.pop()
		with contextlib.suppress(Exception):
			if s.d.alive():
				s.d.api("DELETE", f"/v1/sessions/{s.id}", timeout=3)


def sum_drops(stats):
	"""Total drops by reason over the lcores in a /v1/stats body. Uses a totals object when
	the body has one, else sums every per-lcore "drops" object."""
	for key in ("total", "totals"):
		t = stats.get(key) if isinstance(stats, dict) else None
		if isinstance(t, dict) and isinstance(t.get("drops"), dict):
			return dict(t["drops"])
	out = {}

	def walk(o, depth=0):
		if depth > 6:
			return
		if isinstance(o, dict):
			for k, v in o.items():
				if k == "drops" and isinstance(v, dict):
					for r, n in v.items():
						if isinstance(n, int):
							out[r] = out.get(r, 0) + n
				elif k not in ("total", "totals", "ports"):
					walk(v, depth + 1)
		elif isinstance(o, list):
			for v in o:
				walk(v, depth + 1)
	walk(stats)
	return out


def sum_field(stats, name):
	"""Sum of a numeric field over the per-lcore objects of /v1/stats."""
	total = 0

	def walk(o, depth=0):
		nonlocal total
		if depth > 6:
			return
		if isinstance(o, dict):
			for k, v in o.items():
				if k == name and isinstance(v, int):
					total += v
				elif k not in ("total", "totals"):
					walk(v, depth + 1)
		elif isinstance(o, list):
			for v in o:
				walk(v, depth + 1)
	walk(stats)
	return total


def wait_for(fn, timeout, interval=0.1, what="condition"):
	"""Poll fn() until it returns a truthy value; bounded by timeout seconds."""
	deadline = time.monotonic() + timeout
	last = None
	while True:
		last = fn()
		if last:
			return last
		if time.monotonic() > deadline:
			raise SmokeError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
		time.sleep(interval)


def errno_name(e):
	return errno.errorcode.get(e, str(e))
