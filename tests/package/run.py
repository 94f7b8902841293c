#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The Debian package, as an operator meets it: build it (scripts/package: dpkg-buildpackage,
lintian without errors), install it with dpkg, check the systemd units with systemd-analyze
verify, run the installed mrelayd on the installed configuration adapted to a TAP port (with
$NOTIFY_SOCKET, as systemd's Type=notify runs it), run the hugepage part of
mrelay-dpdk-setup start/stop, and remove the package: nothing but the conffiles may remain.

  sudo python3 tests/package/run.py [--deb FILE] [--summary FILE] [--keep]

One line per check ("PASS name", "FAIL name: reason", "SKIP name: reason"). The machine's
systemd is not PID 1 in the test containers: units are verified, not started
(docs/OPERATIONS.md "Package and services" says what that leaves untested). A machine that
already has a mrelay package installed is left alone (every check is skipped).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONF = "/etc/mrelay/mrelay.conf"
CONFFILES = {"/etc/mrelay/mrelay.conf", "/etc/mrelay/dpdk.conf"}
UNITS = ["/lib/systemd/system/mrelay.service", "/lib/systemd/system/mrelay-dpdk.service"]


class Fail(Exception):
	pass


class Skip(Exception):
	pass


def sh(*argv, check=True, timeout=300, env=None):
	p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
	if check and p.returncode != 0:
		raise Fail(f"{' '.join(argv)}: exit {p.returncode}\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
	return p


def pkg_status():
	p = sh("dpkg-query", "-W", "-f=${db:Status-Abbrev}", "mrelay", check=False)
	return p.stdout.strip() if p.returncode == 0 else ""


def free_port():
	with socket.socket() as s:
		s.bind(("127.0.0.1", 0))
		return s.getsockname()[1]


def get(port, path):
	c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
	try:
		c.request("GET", path)
		r = c.getresponse()
		return r.status, r.read().decode()
	finally:
		c.close()


class Run:
	def __init__(self, args):
		self.args = args
		self.work = tempfile.mkdtemp(prefix="mrelay-pkg-test-")
		self.results = []
		self.deb = args.deb
		self.files = []
		self.installed = False

	def check(self, name, fn):
		t0 = time.monotonic()
		try:
			fn()
			status, reason = "PASS", ""
		except Skip as e:
			status, reason = "SKIP", str(e)
		except Fail as e:
			status, reason = "FAIL", str(e)
		except Exception as e:	# noqa: BLE001 - a test bug is a failure
			status, reason = "FAIL", f"{type(e).__name__}: {e}"
		line = f"{status} {name}" + (f": {reason}" if reason else "")
		print(f"{line}  ({time.monotonic() - t0:.1f}s)", flush=True)
		self.results.append({"name": name, "status": status, "reason": reason})
		return status == "PASS"

	# --- the checks ------------------------------------------------------------------------

	def build(self):
		if self.deb:
			return
		p = sh(os.path.join(ROOT, "scripts/package"), "--out", self.work, timeout=1200)
		self.deb = p.stdout.strip().splitlines()[-1]
		if not re.search(r"/mrelay_[0-9][^/_]*_amd64\.deb$", self.deb):
			raise Fail(f"scripts/package printed {self.deb!r}, not a mrelay_<version>_amd64.deb")

	def install(self):
		sh("dpkg", "-i", self.deb)
		self.installed = True
		if pkg_status() != "ii":
			raise Fail(f"dpkg status after install: {pkg_status()!r}")
		self.files = [f for f in sh("dpkg", "-L", "mrelay").stdout.splitlines()
			      if f and f != "/."]
		for f in ["/usr/sbin/mrelayd", "/usr/bin/mrelayctl", CONF, "/etc/mrelay/dpdk.conf",
			  "/usr/lib/mrelay/mrelay-dpdk-setup", "/usr/share/doc/mrelay/README.md",
			  "/usr/share/doc/mrelay/openapi.yaml", *UNITS]:
			if not os.path.exists(f):
				raise Fail(f"{f} not installed")
		conff = sh("dpkg-query", "-W", "-f=${Conffiles}", "mrelay").stdout
		for f in CONFFILES:
			if f not in conff:
				raise Fail(f"{f} is not a conffile: {conff!r}")
		p = sh("/usr/sbin/mrelayd", "--check", "-c", CONF)
		if "ok" not in p.stdout:
			raise Fail(f"mrelayd --check on the installed configuration: {p.stdout}")

	def verify_units(self):
		if not self.installed:
			raise Skip("not installed")
		p = sh("systemd-analyze", "verify", *UNITS, check=False)
		out = (p.stdout + p.stderr).strip()
		# Lines about other units (the host's own) are not ours to fix.
		ours = [ln for ln in out.splitlines() if "mrelay" in ln]
		if p.returncode != 0 or ours:
			raise Fail(f"systemd-analyze verify (exit {p.returncode}):\n{out}")
		unit = open(UNITS[0]).read()
		for want in ["Type=notify", "LimitNOFILE=", "LimitMEMLOCK=", "Restart=on-failure",
			     "KillSignal=SIGTERM", "Requires=mrelay-dpdk.service"]:
			if want not in unit:
				raise Fail(f"mrelay.service lacks {want}")

	def run_installed(self):
		"""The installed binary on the installed configuration, adapted to a TAP port and
		to this machine (no hugepages, no PCI, a free API port), started as systemd's
		Type=notify starts it: READY=1 must come, and only once the API answers; SIGTERM
		must give STOPPING=1 and exit status 0."""
		if not self.installed:
			raise Skip("not installed")
		text = open(CONF).read()
		api = free_port()
		tap = f"mrpkg{os.getpid() % 100000}"
		subs = [(r'^eal = \[.*\];$', 'eal = [ "--no-huge", "-m", "512", "--no-pci", '
			 '"--no-shconf" ];'),
			(r'device = "[^"]*";', f'device = "net_tap0,iface={tap}";'),
			(r'listen = "[^"]*";', f'listen = "127.0.0.1:{api}";'),
			(r'rx_queues = \d+;', "rx_queues = 2;"),
			(r'mbufs = \d+;', "mbufs = 8191;"),
			(r'idle_sleep_us = \d+;', "idle_sleep_us = 100;")]
		for pat, rep in subs:
			text, n = re.subn(pat, rep, text, flags=re.M)
			if n != 1:
				raise Fail(f"{CONF}: expected one line matching {pat!r}, found {n}")
		conf = os.path.join(self.work, "tap.conf")
		with open(conf, "w") as f:
			f.write(text)
		sock_path = os.path.join(self.work, "notify.sock")
		ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
		ns.bind(sock_path)
		ns.settimeout(60)
		env = dict(os.environ, NOTIFY_SOCKET=sock_path)
		log = open(os.path.join(self.work, "mrelayd.log"), "wb")
		proc = subprocess.Popen(["/usr/sbin/mrelayd", "-c", conf], stdout=log,
					stderr=subprocess.STDOUT, env=env, start_new_session=True)
		try:
			msgs = []
			while not any("READY=1" in m for m in msgs):
				try:
					msgs.append(ns.recv(4096).decode())
				except socket.timeout:
					raise Fail(f"no READY=1 on $NOTIFY_SOCKET within 60 s; got {msgs}; "
						   f"mrelayd exit {proc.poll()}\n{self.log()}") from None
			st, body = get(api, "/v1/health")
			if st != 200 or json.loads(body).get("status") != "ok":
				raise Fail(f"after READY=1: GET /v1/health: {st} {body}")
			st, body = get(api, "/v1/stats")
			ports = json.loads(body).get("ports", [])
			if st != 200 or [p["name"] for p in ports] != ["edge0"]:
				raise Fail(f"GET /v1/stats: {st} {body[:300]}")
			p = sh("/usr/bin/mrelayctl", "--config", conf, "status", check=False)
			if p.returncode != 0 or "edge0" not in p.stdout:
				raise Fail(f"mrelayctl status: exit {p.returncode}: {p.stdout}{p.stderr}")
			proc.send_signal(signal.SIGTERM)
			rc = proc.wait(timeout=30)
			while not any("STOPPING=1" in m for m in msgs):
				try:
					msgs.append(ns.recv(4096).decode())
				except socket.timeout:
					raise Fail(f"no STOPPING=1 after SIGTERM: {msgs}") from None
			if rc != 0:
				raise Fail(f"mrelayd exited {rc} on SIGTERM\n{self.log()}")
		finally:
			if proc.poll() is None:
				proc.kill()
				proc.wait()
			ns.close()
			log.close()

	def log(self):
		try:
			return open(os.path.join(self.work, "mrelayd.log"), errors="replace").read()[-3000:]
		except OSError:
			return ""

	def dpdk_setup(self):
		"""mrelay-dpdk-setup start/stop with hugepages only (no NIC is ever bound here):
		the count is raised and hugetlbfs mounted, then both are given back."""
		if not self.installed:
			raise Skip("not installed")
		nr = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
		if not os.path.exists(nr) or not os.access(nr, os.W_OK):
			raise Skip(f"{nr} not writable here")
		before = int(open(nr).read())
		mnt = os.path.join(self.work, "huge")
		conf = os.path.join(self.work, "dpdk.conf")
		with open(conf, "w") as f:
			f.write(f"HUGEPAGES={(before + 16) * 2}M\nHUGEPAGE_SIZE=2M\n"
				f"HUGEPAGE_DIR={mnt}\nNICS=\"\"\n")
		env = dict(os.environ, MRELAY_DPDK_CONF=conf,
			   MRELAY_DPDK_STATE=os.path.join(self.work, "dpdk.state"))
		tool = "/usr/lib/mrelay/mrelay-dpdk-setup"
		try:
			sh(tool, "start", env=env)
			now = int(open(nr).read())
			if now < before + 16:
				raise Skip(f"kernel gave {now} pages of the {before + 16} asked "
					   "(memory fragmented)")
			if not any(ln.split()[1] == mnt and ln.split()[2] == "hugetlbfs"
				   for ln in open("/proc/mounts")):
				raise Fail(f"hugetlbfs not mounted on {mnt}")
		finally:
			sh(tool, "stop", env=env, check=False)
		after = int(open(nr).read())
		if after != before:
			raise Fail(f"stop left {after} hugepages, there were {before}")
		if any(ln.split()[1] == mnt for ln in open("/proc/mounts")):
			raise Fail(f"stop left {mnt} mounted")

	def remove(self):
		if not self.installed:
			raise Skip("not installed")
		sh("dpkg", "-r", "mrelay")
		st = pkg_status()
		if st != "rc":
			raise Fail(f"status after dpkg -r: {st!r} (want rc: config files only)")
		left = [f for f in self.files if os.path.lexists(f) and not os.path.isdir(f)]
		if set(left) != CONFFILES:
			raise Fail(f"after dpkg -r, these remain: {sorted(left)} "
				   f"(only {sorted(CONFFILES)} may)")
		sh("dpkg", "--purge", "mrelay")
		self.installed = False
		if os.path.exists("/etc/mrelay"):
			raise Fail("/etc/mrelay remains after dpkg --purge")


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--deb", help="test this package instead of building one")
	ap.add_argument("--summary", help="write {passed, failed, skipped, results} JSON here")
	ap.add_argument("--keep", action="store_true", help="keep the work directory")
	args = ap.parse_args()
	if os.geteuid() != 0:
		print("package test: must run as root (dpkg -i)", file=sys.stderr)
		return 2
	r = Run(args)
	checks = [("package_build_lintian", r.build), ("package_install", r.install),
		  ("package_units_verify", r.verify_units), ("package_run_installed", r.run_installed),
		  ("package_dpdk_setup", r.dpdk_setup), ("package_remove", r.remove)]
	preinstalled = pkg_status()
	try:
		for name, fn in checks:
			if preinstalled:
				r.results.append({"name": name, "status": "SKIP", "reason":
						  f"a mrelay package is installed ({preinstalled}): left alone"})
				print(f"SKIP {name}: mrelay already installed ({preinstalled})")
				continue
			ok = r.check(name, fn)
			if not ok and name == "package_build_lintian":
				break
	finally:
		if r.installed:
			sh("dpkg", "--purge", "mrelay", check=False)
		if not args.keep:
			shutil.rmtree(r.work, ignore_errors=True)
	passed = sum(x["status"] == "PASS" for x in r.results)
	failed = sum(x["status"] == "FAIL" for x in r.results)
	skipped = sum(x["status"] == "SKIP" for x in r.results)
	if args.summary:
		with open(args.summary, "w") as f:
			json.dump({"passed": passed, "failed": failed, "skipped": skipped,
				   "results": r.results}, f, indent=1)
	print(f"package: {passed} passed, {failed} failed, {skipped} skipped")
	return 1 if failed else 0


if __name__ == "__main__":
	sys.exit(main())
