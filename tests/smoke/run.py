#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Smoke-test runner: starts mrelayd on a TAP port with test hosts in a network namespace,
runs the test_* functions of the test_*.py modules beside this file in order, and prints one
line per test ("PASS name", "FAIL name: reason", "SKIP name: reason") and a summary line.

  sudo python3 tests/smoke/run.py [--build DIR] [-k PATTERN] [--keep-logs] [--summary FILE]
  sudo python3 tests/smoke/run.py --cleanup-stale     # remove leftovers of killed runs
  sudo python3 tests/smoke/run.py --list

Python standard library only. Everything is bounded: each test has a time limit (alarm), every
wait has a timeout and every traffic loop a count.
"""

import argparse
import contextlib
import importlib
import inspect
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import harness as h  # noqa: E402

# Module order is test order: the most important cases first, the daemon's shutdown last.
MODULES = ["test_net", "test_relay", "test_api", "test_robustness", "test_workers",
	   "test_af_packet", "test_media", "test_srtp", "test_ng", "test_redis", "test_recording",
	   "test_capture", "test_rtpgen", "test_rooms", "test_mix", "test_messages", "test_webrtc",
	   "test_openapi",
	   "test_ops",
	   "test_lifecycle"]
TEST_TIMEOUT = 90

# Groups of modules for scripts/test (docs/TESTING.md "Smoke groups side by side"): the
# groups of a phase run side by side, one runner each, the phases one after the other. Each
# runner has its own namespaces, bridge, TAPs, DPDK file prefixes, main daemon and peers
# (Kamailio, Redis, browsers), all named after its PID or on ports the kernel chose. Every
# module is in exactly one group; a group runs its modules in the order given here: the
# browsers (the heaviest on the CPUs) beside Kamailio's calls (which mostly wait on 9 s of
# real-time media). What measures the machine's own resources runs alone: rtpgen's exact
# counts through memif (packets lost to a busy CPU are not the relay's), and the tests that
# reserve hugepages for dpdk-dumpcap (a machine-wide count they check is given back).
GROUPS = {
	"calls": ["test_net", "test_ng", "test_relay", "test_api", "test_robustness",
		  "test_workers", "test_af_packet", "test_media", "test_srtp", "test_rooms",
		  "test_mix", "test_messages"],
	"browsers": ["test_webrtc", "test_redis", "test_recording", "test_capture",
		     "test_openapi"],
	"alone": ["test_rtpgen", "test_ops", "test_lifecycle"],
}
PHASES = [("calls", "browsers"), ("alone",)]
# Single tests of other groups' modules that run in "alone", first. Beside the browsers: a load
# test of its own (100 simultaneous Kamailio calls, every packet counted) lost one packet once
# in the ASan pass; mrelayd's restart in the middle of a Kamailio call took long enough once
# that the call (9 s of sipp's media) had ended before the restarted daemon was asked for it.
SOLO = ("ng_kamailio_100_calls", "ng_kamailio_restart")


class Env:
	"""What the tests share: the topology, the main daemon and per-test helpers."""

	def __init__(self, args, workdir):
		self.args = args
		self.workdir = workdir
		self.binary = os.path.join(args.build, "mrelayd")
		self.topo = h.Topology()
		self.host = self.topo.host
		self.token = f"smoke-token-{h.PID}-0123456789abcdef"
		self.require_all = args.require_all
		self._main = None
		self._main_failed = None
		self._live = []		# daemons start_daemon started (on the bridge)
		self._tap_idx = 0
		self._port = 40000

	def ports(self, n=1):
		"""n distinct even UDP ports for host sockets (each with port+1 free for RTCP)."""
		out = []
		for _ in range(n):
			out.append(self._port)
			self._port += 2
		return out if n > 1 else out[0]

	def new_daemon(self, name, token="", **conf):
		self._tap_idx += 1
		tap = self.topo.tap_name(self._tap_idx)
		d = h.Daemon(self.binary, self.workdir, name, token=token)
		d.tap = tap
		d.addr4 = conf.get("addr4", h.RELAY4)
		d.write_config(h.config_text(tap, d.api_port, d.file_prefix, token=token, **conf))
		return d

	def start_daemon(self, d, beside=()):
		"""Start d and put its TAP on the bridge. Two daemons with one address on the bridge
		both answer ARP for it and the hosts send to whichever answered last, so every other
		live daemon on d's address is stopped first (the main daemon and test_ng.py's module
		daemon start again when a test next wants them), except those in beside: an
		active/standby pair shares its address on purpose. The hosts then forget the MAC
		addresses they knew, so that the next packet asks who has the address now."""
		for x in self._live:
			if x is d or x in beside or not x.alive() or x.addr4 != d.addr4:
				continue
			if x is self._main:
				self.stop_main()
			x.stop()
		self._live = [x for x in self._live if x.alive()] + [d]
		d.start()
		d.wait_health()
		self.topo.attach_tap(d.tap)
		self.host.run("ip", "neigh", "flush", "dev", "eth0", check_rc=False)
		return d

	@property
	def main(self):
		"""The shared daemon; (re)started on demand so that one crash does not fail the rest
		of the suite for the same reason twice."""
		if self._main is not None and self._main.alive():
			return self._main
		if self._main is not None:
			died = self._main
			self._main = None
			raise h.SmokeError(f"main mrelayd died (rc {died.proc.returncode}); "
					   f"log tail:\n{died.log_tail(25)}")
		# Recordings (test_recording.py), captures (test_capture.py) and voice messages
		# (test_messages.py) go into the run's directory.
		d = self.new_daemon(f"main{self._tap_idx + 1}", token=self.token,
				    recording_dir=os.path.join(self.workdir, "recordings"),
				    capture_dir=os.path.join(self.workdir, "captures"),
				    messages_dir=os.path.join(self.workdir, "messages"),
				    messages_max_bytes=h.MESSAGES_MAX_BYTES)
		self.start_daemon(d)
		self._main = d
		return d

	def stop_main(self):
		d = self._main
		self._main = None
		return d


def check_groups():
	"""Every module in exactly one group, every group in exactly one phase (a new module
	must be given a group)."""
	grouped = [m for g in GROUPS.values() for m in g]
	missing = [m for m in MODULES if m not in grouped]
	twice = sorted({m for m in grouped if grouped.count(m) > 1})
	unknown = [m for m in grouped if m not in MODULES]
	phased = sorted(g for p in PHASES for g in p)
	names = {t[0] for m in MODULES for t in _module_tests(m)}
	lost = [t for t in SOLO if t not in names]
	if missing or twice or unknown or phased != sorted(GROUPS) or lost:
		raise SystemExit(f"smoke: GROUPS in {__file__} is out of step with MODULES: "
				 f"without a group {missing}, in two {twice}, unknown {unknown}; "
				 f"or PHASES with GROUPS: {phased}; or SOLO names no test: {lost}")


def _module_tests(modname):
	"""(short name, function) of a module's tests, in the order of the file."""
	mod = importlib.import_module(modname)
	fns = [(fn.__code__.co_firstlineno, name, fn)
	       for name, fn in inspect.getmembers(mod, inspect.isfunction)
	       if name.startswith("test_") and fn.__module__ == modname]
	return [(name[len("test_"):], fn) for _, name, fn in sorted(fns)]


def discover(pattern, group=None):
	"""The tests to run: all (no group), or a group's: its modules' tests less the SOLO
	ones; "alone" runs the SOLO tests first, then its modules'."""
	picked = []
	if group is None:
		for modname in MODULES:
			picked += [(modname, t) for t in _module_tests(modname)]
	else:
		if group == "alone":
			for modname in MODULES:
				if modname not in GROUPS["alone"]:
					picked += [(modname, t) for t in _module_tests(modname)
						   if t[0] in SOLO]
		for modname in GROUPS[group]:
			picked += [(modname, t) for t in _module_tests(modname)
				   if group == "alone" or t[0] not in SOLO]
	return [t for modname, t in picked
		if not pattern or pattern in t[0] or pattern in modname]


class TestTimeout(h.SmokeError):
	pass


def _alarm(signum, frame):
	raise TestTimeout(f"test exceeded {TEST_TIMEOUT}s")


class Interrupted(BaseException):
	pass


def _interrupt(signum, frame):
	raise Interrupted(signal.Signals(signum).name)


def main():
	ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
	ap.add_argument("--build", default=os.environ.get("BUILD", "build"),
			help="build directory holding mrelayd (default: $BUILD or build)")
	ap.add_argument("-k", dest="pattern", default="", help="run tests whose name contains this")
	ap.add_argument("--summary", help="write {passed, failed, skipped, results} JSON here")
	ap.add_argument("--keep-logs", action="store_true", help="keep the daemons' logs and configs")
	ap.add_argument("--require-all", action="store_true",
			help="a test that would be skipped (missing tool) fails instead")
	ap.add_argument("--cleanup-stale", action="store_true",
			help="only remove what killed runs left behind, then exit")
	ap.add_argument("--list", action="store_true", help="list the tests and exit")
	ap.add_argument("--group", choices=sorted(GROUPS),
			help="run only this group's modules (scripts/test runs a phase's groups side "
			"by side)")
	ap.add_argument("--list-groups", action="store_true",
			help="list the phases, one a line (its groups, to run side by side), and exit")
	args = ap.parse_args()
	os.chdir(ROOT)
	if not os.path.isabs(args.build):
		args.build = os.path.join(ROOT, args.build)

	if args.cleanup_stale:
		for what in h.cleanup_stale():
			print(f"removed {what}")
		return 0
	check_groups()
	if args.list_groups:
		for p in PHASES:
			print(" ".join(p))
		return 0
	tests = discover(args.pattern, args.group)
	if args.list:
		for name, _ in tests:
			print(name)
		return 0
	if os.geteuid() != 0:
		print("smoke: must run as root (namespaces, DPDK)", file=sys.stderr)
		return 2
	if not tests:
		# -k matched nothing of this group: no topology to set up.
		if args.summary:
			with open(args.summary, "w") as f:
				json.dump({"passed": 0, "failed": 0, "skipped": 0, "results": [],
					   "interrupted": None}, f)
		print("smoke: 0 passed, 0 failed, 0 skipped (no test matched)", flush=True)
		return 0

	results = []
	signal.signal(signal.SIGTERM, _interrupt)
	signal.signal(signal.SIGINT, _interrupt)
	signal.signal(signal.SIGALRM, _alarm)
	stale = h.cleanup_stale()
	if stale:
		print(f"smoke: removed leftovers of earlier runs: {', '.join(stale)}", file=sys.stderr)
	workdir = tempfile.mkdtemp(prefix=f"mrelay-smoke-{h.PID}-")
	env = Env(args, workdir)
	interrupted = None
	t_start = time.monotonic()
	try:
		if not os.access(env.binary, os.X_OK):
			raise h.SmokeError(f"{env.binary} not found: build first (scripts/build)")
		env.topo.setup()
		for name, fn in tests:
			t0 = time.monotonic()
			status, reason = "PASS", ""
			signal.alarm(TEST_TIMEOUT)
			try:
				fn(env)
			except h.Skip as e:
				status, reason = ("FAIL" if env.require_all else "SKIP"), str(e)
			except h.NotForThisBuild as e:
				status, reason = "SKIP", str(e)
			except h.SmokeError as e:
				status, reason = "FAIL", str(e)
				# A failure in a test's cleanup (finally:) must not hide the one
				# that sent it there.
				first = e.__context__
				if first is not None and not isinstance(first, Interrupted):
					reason += (f"\n  while cleaning up after {type(first).__name__}: "
						   f"{first}")
			except Interrupted:
				raise
			except Exception as e:	# noqa: BLE001 - a test bug is a failure, not a crash
				status = "FAIL"
				reason = f"{type(e).__name__}: {e}\n" + "".join(
					traceback.format_exception(e)[-4:])
			finally:
				signal.alarm(0)
				h.delete_leftover_sessions()
				env.host.close_all()
			dt = time.monotonic() - t0
			line = f"{status} {name}" + (f": {reason}" if reason else "")
			print(f"{line}  ({dt:.1f}s)" if "\n" not in line else
			      f"{line.rstrip()}\n  ({dt:.1f}s)", flush=True)
			results.append({"name": name, "status": status, "reason": reason,
					"seconds": round(dt, 2)})
	except Interrupted as e:
		interrupted = str(e)
		print(f"smoke: interrupted by {e}; cleaning up", file=sys.stderr, flush=True)
	except h.SmokeError as e:
		print(f"FAIL setup: {e}", flush=True)
		results.append({"name": "setup", "status": "FAIL", "reason": str(e), "seconds": 0})
	finally:
		signal.signal(signal.SIGINT, signal.SIG_IGN)
		signal.signal(signal.SIGTERM, signal.SIG_IGN)
		signal.alarm(0)
		h.delete_leftover_sessions()
		env.topo.teardown()
		h.CLEANUP.run()
		failed_any = any(r["status"] == "FAIL" for r in results)
		if args.keep_logs or failed_any:
			print(f"smoke: daemon logs and configs kept in {workdir}", file=sys.stderr)
		else:
			subprocess.run(["rm", "-rf", workdir])

	passed = sum(r["status"] == "PASS" for r in results)
	failed = sum(r["status"] == "FAIL" for r in results) + (1 if interrupted else 0)
	skipped = sum(r["status"] == "SKIP" for r in results)
	if args.summary:
		with open(args.summary, "w") as f:
			json.dump({"passed": passed, "failed": failed, "skipped": skipped,
				   "results": results, "interrupted": interrupted}, f, indent=1)
	print(f"smoke: {passed} passed, {failed} failed, {skipped} skipped "
	      f"({time.monotonic() - t_start:.0f}s)", flush=True)
	return 130 if interrupted else (1 if failed else 0)


if __name__ == "__main__":
	with contextlib.suppress(BrokenPipeError):
		sys.exit(main())
