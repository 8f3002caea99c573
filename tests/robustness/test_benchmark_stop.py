"""Stopping ``benchmarks/run.py`` stops its worker too.

Workers run in their own session (so that a cap can kill a worker's whole process group), out of
reach of the terminal's Ctrl-C and of a SIGTERM sent to the runner: a stopped run left its worker
computing, on a GPU for minutes, and timing the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _marked(mark: str) -> list[int]:
    """Processes whose environment holds ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _wait(condition, seconds: float) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads processes from /proc (Linux)")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_stopping_the_runner_stops_its_worker(stop):
    mark = f"HYBRIDQ_BENCH_TEST={uuid.uuid4().hex}"
    env = dict(os.environ, HYBRIDQ_BENCH_TEST=mark.partition("=")[2])
    runner = subprocess.Popen(
        [sys.executable, "benchmarks/run.py", "--only", "W1", "--quick", "--libs", "hybridq", "--threads", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert _wait(lambda: len(_marked(mark)) >= 2, 60), "no worker started"  # the runner and its worker
        runner.send_signal(stop)
        code = runner.wait(30)
        assert _wait(lambda: not _marked(mark), 10), "the worker outlived the runner"
        assert code != 0
        assert "Traceback" not in runner.stderr.read()
    finally:
        runner.kill()
        for pid in _marked(mark):
            os.kill(pid, signal.SIGKILL)
