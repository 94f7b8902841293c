# SPDX-License-Identifier: BSD-3-Clause
"""Shutdown: SIGTERM ends the daemon with status 0 and removes its TAP interface. Runs last."""

import os
import signal
import time

import harness as h
from harness import eq


def test_sigterm_exits_0(env):
	d = env.main
	tap = d.tap
	rc = d.stop(signal.SIGTERM, timeout=15)
	env.stop_main()
	eq(rc, 0, f"exit status after SIGTERM (log tail:\n{d.log_tail(10)})")
	deadline = time.monotonic() + 5
	while os.path.exists(f"/sys/class/net/{tap}") and time.monotonic() < deadline:
		time.sleep(0.1)
	h.check(not os.path.exists(f"/sys/class/net/{tap}"),
		f"TAP interface {tap} still present after exit")
