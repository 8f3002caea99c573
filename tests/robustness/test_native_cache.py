"""A damaged native-kernel cache is detected before it is loaded: rebuilt, or bypassed.

A truncated library crashed every later process with SIGBUS; an empty or garbage one raised a
raw OSError. The cases run in one fresh interpreter (a crash fails the test, not the run), each
with its own cache folder seeded from this machine's good build and a compiler that fails (so
no test waits for a real build): a damaged file must fall back to the PyTorch kernels with a
warning, and the simulation must still be right.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hybridq.sim import native

ROOT = Path(__file__).resolve().parents[2]

CASES = textwrap.dedent("""
    import hashlib, json, math, os, shutil, sys, warnings
    from pathlib import Path
    import torch, hybridq as hq
    from hybridq.sim import native

    good, root = Path(sys.argv[1]), Path(sys.argv[2])
    os.environ["CC"] = "false"  # a compiler that always fails: a damaged file cannot be rebuilt
    native.INSTALLED = root / "not-installed.so"  # the cache alone is under test
    c = hq.Circuit(2).ry(hq.Weight("a") * hq.Input(0), 0).ry(hq.Weight("b") * hq.Input(1), 1).cx(0, 1)
    found = {}
    for case in ["intact", "truncated", "empty", "garbage", "no checksum", "not a library"]:
        cache = root / case.replace(" ", "-")
        cache.mkdir()
        os.environ["HYBRIDQ_CACHE"] = str(cache)
        target = native.cached(["false"])
        shutil.copy(good, target)
        record = json.loads(good.with_suffix(".json").read_text())
        data = target.read_bytes()
        if case == "truncated":
            target.write_bytes(data[: len(data) // 2])
        elif case == "empty":
            target.write_bytes(b"")
        elif case == "garbage":
            target.write_bytes(os.urandom(len(data)))
        elif case == "no checksum":
            del record["sha256"]
        elif case == "not a library":
            target.write_bytes(b"not a shared object")
            record["sha256"] = hashlib.sha256(target.read_bytes()).hexdigest()  # the checksum matches: loading fails
        target.with_suffix(".json").write_text(json.dumps(record))
        native.library.cache_clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = native.library() is not None
            p = hq.sim.probabilities(hq.simulate(c, torch.full((3, 2), 0.5), torch.ones(2)))
        right = abs(float(p[0, 0]) - math.cos(0.25) ** 4) < 1e-5
        found[case] = [loaded, right, " ".join(str(w.message) for w in caught)]
    print(json.dumps(found))
""")


def test_damaged_caches_are_never_loaded(tmp_path):
    if native.library() is None:
        pytest.skip("no native kernels on this machine")
    good = Path(native.library()._name)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", CASES, str(good), str(tmp_path)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]  # no SIGBUS, no raw OSError
    found = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found.pop("intact")[:2] == [True, True]
    loading = found.pop("not a library")
    assert loading[:2] == [False, True] and "could not load the native CPU kernels" in loading[2]
    for case, (loaded, right, warned) in found.items():
        assert not loaded and right, case
        assert "could not build the native CPU kernels" in warned, (case, warned)
