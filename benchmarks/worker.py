"""Runs one library on one workload case in its own process; run.py starts it.

``python benchmarks/worker.py SPEC_JSON``. SPEC has ``lib``, ``workload``, ``case``, ``device``,
``repeats``, ``min_time`` (repetitions go on until they add up to it, at most
:data:`MAX_REPEATS`), ``cap`` (seconds) and ``out`` (an .npz path for the outputs to compare).

Protocol on stdout (lines starting with ``@@``): ``@@ start`` before and ``@@ end SECONDS``
after every repetition, so that the parent can kill a repetition that runs past the cap, and
finally ``@@ result JSON``. One untimed warm-up repetition comes first; if it took more than a
third of the cap it is the only sample. Peak memory: on Linux the resident-set high-water mark
is reset after the libraries are imported and before the case is built (``/proc/self/clear_refs``)
and read after the last run, minus the resident set at the reset: "work" memory (data, circuit,
states and temporaries). With CUDA, ``torch.cuda.max_memory_allocated`` over the runs.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import numpy as np  # noqa: E402

from peers import PEERS, Bench, load  # noqa: E402

MIB = 2**20


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    """Reset the resident-set high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _rss_bytes() -> int:
    try:
        return _status_kib("VmRSS") * 1024
    except (OSError, KeyError):
        return 0


def _peak_rss_bytes() -> int:
    try:
        return _status_kib("VmHWM") * 1024
    except (OSError, KeyError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def bandwidth_bench(device: str) -> Bench:
    """Copy a large float32 tensor (256 MiB on CPU, 1 GiB on CUDA); result: bytes moved per copy."""
    import torch

    size = (1024 if device == "cuda" else 256) * MIB // 4
    src = torch.ones(size, device=device)
    dst = torch.empty_like(src)

    def step():
        dst.copy_(src)
        return {"bytes": np.array(2 * src.numel() * src.element_size())}

    return Bench(step, device, "float32")


#: Most timed repetitions of one case (a sub-millisecond step under ``min_time``).
MAX_REPEATS = 1000


def _emit(tag: str, payload: str = "") -> None:
    print(f"@@ {tag} {payload}".rstrip(), flush=True)


def _timed(bench: Bench, sync) -> tuple[object, float]:
    _emit("start")
    t0 = time.perf_counter()
    raw = bench.step()
    sync()
    seconds = time.perf_counter() - t0
    _emit("end", f"{seconds:.9f}")
    return raw, seconds


def _prepare(spec: dict) -> Bench:
    if spec["lib"] == "bandwidth":
        return bandwidth_bench(spec["device"])
    module = load(spec["lib"])
    return module.prepare(spec["workload"], spec["case"], spec["device"], **dict(PEERS[spec["lib"]].options))


def main(spec: dict) -> dict:
    if spec["lib"] == "bandwidth":
        import torch  # noqa: F401
    else:
        load(spec["lib"]).preload(spec["workload"])
    cuda = spec["device"] == "cuda" and "torch" in sys.modules
    if cuda:
        import torch

        cuda = torch.cuda.is_available()
    if cuda:

        torch.cuda.init()
        torch.cuda.reset_peak_memory_stats()
        base_gpu = torch.cuda.memory_allocated()
    gc.collect()
    base_rss = _rss_bytes()
    can_reset = _reset_peak_rss()
    bench = _prepare(spec)
    cuda = cuda and bench.device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    _emit("setup", json.dumps({"device": bench.device, "dtype": bench.dtype}))

    raw, warmup = _timed(bench, sync)
    times: list[float] = []
    if warmup <= spec["cap"] / 3:
        last = warmup
        while ((len(times) < spec["repeats"] or sum(times) < spec.get("min_time", 0)) and len(times) < MAX_REPEATS
               and sum(times) + last < spec["cap"]):
            raw, last = _timed(bench, sync)
            times.append(last)

    peak_rss = _peak_rss_bytes()
    outputs = {k: _to_numpy(v) for k, v in bench.collect(raw).items()}
    np.savez(spec["out"], **outputs)
    return {
        "device": bench.device,
        "dtype": bench.dtype,
        "warmup_s": warmup,
        "times_s": times or [warmup],
        "warmup_only": not times,
        "peak_rss_mib": peak_rss / MIB,
        "work_mib": (peak_rss - base_rss) / MIB if can_reset else None,
        "gpu_work_mib": (torch.cuda.max_memory_allocated() - base_gpu) / MIB if cuda else None,
    }


if __name__ == "__main__":
    _emit("result", json.dumps(main(json.loads(sys.argv[1]))))
