# SPDX-License-Identifier: BSD-3-Clause
"""A minimal WebRTC endpoint in Python, independent of mrelay's code: the SDP offer written here,
the ICE connectivity check (RFC 8445 controlling agent; STUN, RFC 5389, with
MESSAGE-INTEGRITY and FINGERPRINT) built here, DTLS-SRTP as the client (RFC 5763/5764) with
pyOpenSSL (Debian's python3-openssl) on a memory BIO, the server's certificate checked against
the fingerprint of mrelayd's answer, and SRTP (AES_CM_128_HMAC_SHA1_80, test_redis.Srtp) with
the keys exported from DTLS. Used by the smoke test test_webrtc_python_client and by
perf/webrtc-joins (joins per second and the time of each phase). Run with /usr/bin/python3."""

import asyncio
import binascii
import datetime
import hashlib
import hmac
import json
import os
import re
import socket
import struct
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

import harness as h
import test_redis
import test_rooms as tr

MAGIC = 0x2112A442
PT = 111
LISTENER_SSRC = 0x9A1


def _cert():
	"""An ECDSA P-256 self-signed certificate, its key, and its SHA-256 fingerprint."""
	key = ec.generate_private_key(ec.SECP256R1())
	name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mrelay-pyclient")])
	now = datetime.datetime.now(datetime.timezone.utc)
	cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
		.public_key(key.public_key()).serial_number(x509.random_serial_number())
		.not_valid_before(now - datetime.timedelta(days=1))
		.not_valid_after(now + datetime.timedelta(days=30))
		.sign(key, hashes.SHA256()))
	fp = cert.fingerprint(hashes.SHA256()).hex().upper()
	return cert, key, ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))


CERT = None


def _rand(n, alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"):
	return "".join(alphabet[b % len(alphabet)] for b in os.urandom(n))


def stun_request(username, pwd):
	"""A Binding request as a controlling agent nominating the pair (USE-CANDIDATE)."""
	tid = os.urandom(12)
	u = username.encode()
	attrs = struct.pack("!HH", 0x0006, len(u)) + u + b"\0" * (-len(u) % 4)
	attrs += struct.pack("!HHI", 0x0024, 4, 0x6E7F1EFF)			# PRIORITY
	attrs += struct.pack("!HH", 0x802A, 8) + os.urandom(8)			# ICE-CONTROLLING
	attrs += struct.pack("!HH", 0x0025, 0)					# USE-CANDIDATE
	# MESSAGE-INTEGRITY over the message with its length counting the attribute (RFC 5389
	# §15.4), then FINGERPRINT likewise (§15.5).
	hdr = struct.pack("!HHI", 0x0001, len(attrs) + 24, MAGIC) + tid
	mi = hmac.new(pwd.encode(), hdr + attrs, hashlib.sha1).digest()
	attrs += struct.pack("!HH", 0x0008, 20) + mi
	hdr = struct.pack("!HHI", 0x0001, len(attrs) + 8, MAGIC) + tid
	crc = (binascii.crc32(hdr + attrs) ^ 0x5354554E) & 0xFFFFFFFF
	attrs += struct.pack("!HHI", 0x8028, 4, crc)
	return tid, struct.pack("!HHI", 0x0001, len(attrs), MAGIC) + tid + attrs


def stun_success(data, tid, pwd):
	"""Is data the success response to tid, with a MESSAGE-INTEGRITY that verifies?"""
	if len(data) < 20 or struct.unpack("!H", data[:2])[0] != 0x0101 or data[8:20] != tid:
		return False
	i = 20
	while i + 4 <= len(data):
		t, n = struct.unpack("!HH", data[i:i + 4])
		if t == 0x0008:
			hdr = struct.pack("!H", 0x0101) + struct.pack("!H", i + 24 - 20) + data[4:20]
			want = hmac.new(pwd.encode(), hdr + data[20:i], hashlib.sha1).digest()
			return hmac.compare_digest(want, data[i + 4:i + 24])
		i += 4 + n + (-n % 4)
	return False


def offer(ufrag, pwd, fp, ssrc):
	return "\r\n".join([
		"v=0", f"o=- {int.from_bytes(os.urandom(4), 'big')} 2 IN IP4 127.0.0.1", "s=-",
		"t=0 0", "a=group:BUNDLE 0", "a=msid-semantic: WMS py",
		f"m=audio 9 UDP/TLS/RTP/SAVPF {PT}", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
		f"a=ice-ufrag:{ufrag}", f"a=ice-pwd:{pwd}", f"a=fingerprint:sha-256 {fp}",
		"a=setup:actpass", "a=mid:0", "a=sendrecv", "a=rtcp-mux",
		f"a=rtpmap:{PT} opus/48000/2", f"a=ssrc:{ssrc} cname:py", ""])


class Phases:
	"""Monotonic seconds of each step of one join, from the join request."""

	def __init__(self):
		self.t0 = time.monotonic()
		self.t = {}

	def mark(self, what):
		self.t[what] = time.monotonic() - self.t0


class Client:
	"""One participant: join over the WebSocket (room and name, an API without token), ICE,
	DTLS, then SRTP from sock (a UDP socket, bound where the relay can reach it)."""

	def __init__(self, api_port, room, name, sock):
		global CERT
		if CERT is None:
			CERT = _cert()
		self.api_port, self.room, self.name, self.sock = api_port, room, name, sock
		self.ufrag, self.pwd = _rand(8), _rand(24)
		self.ssrc = int.from_bytes(os.urandom(4), "big") | 1
		self.ws = None
		self.tx = None
		self.seq = int.from_bytes(os.urandom(2), "big")
		self.ph = Phases()

	async def join(self, timeout=10):
		import websockets
		cert, _, fp = CERT
		self.ph = Phases()
		self.ws = await asyncio.wait_for(websockets.connect(
			f"ws://127.0.0.1:{self.api_port}/v1/ws", max_size=1 << 20), timeout)
		await self.ws.send(json.dumps({"type": "join", "room": self.room, "name": self.name,
					       "sdp": offer(self.ufrag, self.pwd, fp, self.ssrc),
					       "request_id": 1}))
		while True:
			m = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
			if m.get("request_id") == 1:
				break
		if m.get("type") != "joined":
			raise RuntimeError(f"{self.name}: join answered {m}")
		self.ph.mark("answer")
		sdp = m["sdp"]
		self.part = m["participant"]
		c = re.search(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host", sdp)
		self.connect((c.group(1), int(c.group(2))),
			     re.search(r"a=ice-ufrag:(\S+)", sdp).group(1),
			     re.search(r"a=ice-pwd:(\S+)", sdp).group(1),
			     re.search(r"a=fingerprint:sha-256 (\S+)", sdp).group(1), timeout)

	def connect(self, relay, ufrag, pwd, fp, timeout=10):
		"""ICE (a nominating check to relay with the relay's credentials) and DTLS as the
		client, the relay's certificate checked against fp (its SHA-256, "AB:CD:...")."""
		self.relay, self.r_ufrag, self.r_pwd, self.r_fp = relay, ufrag, pwd, fp
		self._ice(timeout)
		self.ph.mark("ice")
		self._dtls(timeout)
		self.ph.mark("dtls")

	def _recv(self, deadline):
		left = deadline - time.monotonic()
		if left <= 0:
			raise TimeoutError(f"{self.name}: nothing from the relay")
		self.sock.settimeout(min(left, 0.2))
		try:
			return self.sock.recvfrom(4096)[0]
		except socket.timeout:
			return None

	def _ice(self, timeout):
		deadline = time.monotonic() + timeout
		while True:
			tid, req = stun_request(f"{self.r_ufrag}:{self.ufrag}", self.r_pwd)
			self.sock.sendto(req, self.relay)
			d = self._recv(deadline)
			if d is not None and stun_success(d, tid, self.r_pwd):
				return

	def _dtls(self, timeout):
		cert, key, _ = CERT
		ctx = SSL.Context(SSL.DTLS_METHOD)
		ctx.use_certificate(crypto.X509.from_cryptography(cert))
		ctx.use_privatekey(crypto.PKey.from_cryptography_key(key))
		ctx.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80")
		ctx.set_verify(SSL.VERIFY_PEER, lambda *a: True)	# checked by fingerprint below
		conn = SSL.Connection(ctx, None)
		conn.set_connect_state()
		deadline = time.monotonic() + timeout
		while True:
			try:
				conn.do_handshake()
				done = True
			except SSL.WantReadError:
				done = False
			while True:
				try:
					out = conn.bio_read(65536)
				except SSL.WantReadError:
					break
				self.sock.sendto(out, self.relay)
			if done:
				break
			d = self._recv(deadline)
			if d is None:
				conn.DTLSv1_handle_timeout()
			elif 20 <= d[0] <= 63:
				conn.bio_write(d)
		peer = conn.get_peer_certificate().to_cryptography()
		got = peer.fingerprint(hashes.SHA256()).hex().upper()
		if ":".join(got[i:i + 2] for i in range(0, len(got), 2)) != self.r_fp:
			raise RuntimeError(f"{self.name}: the relay's certificate is not its SDP's")
		km = conn.export_keying_material(b"EXTRACTOR-dtls_srtp", 60)
		# RFC 5764 §4.2: client key, server key, client salt, server salt.
		self.tx = test_redis.Srtp(km[0:16] + km[32:46])
		self.rx = test_redis.Srtp(km[16:32] + km[46:60])
		self.conn = conn

	def send_rtp(self, payload=b"\xf8" + b"\x55" * 40):
		"""One SRTP packet of the participant's stream; the plain packet sent."""
		self.seq = (self.seq + 1) & 0xFFFF
		plain = struct.pack("!BBHII", 0x80, PT, self.seq, self.seq * 960, self.ssrc) + payload
		self.sock.sendto(self.tx.protect(plain, 0), self.relay)
		return plain

	async def close(self):
		if self.ws is not None:
			await self.ws.close()
			self.ws = None


def plain_listener(d, room, sock):
	"""A plain RTP participant of room publishing LISTENER_SSRC, latched to sock (a host
	socket): what a Client sends comes out to it, decrypted. Its REST body."""
	lis = tr.create_part(d, room, "plain")
	d.ok("POST", f"/v1/rooms/{room}/participants/{lis['id']}/streams",
	     {"ssrc": LISTENER_SSRC, "kind": "audio", "pt": PT})
	for i in range(5):
		sock.sendto(h.rtp(i, LISTENER_SSRC, pt=PT, payload=b"hello"), h.parse_ep(lis["local"]))
	h.wait_for(lambda: d.ok("GET", f"/v1/rooms/{room}/participants/{lis['id']}")
		   .get("remote") is not None, 5, what="the plain participant to latch")
	return lis
