"""Benchmark hybridq against peer simulators: one command, markdown tables.

    python benchmarks/run.py [--quick] [--only W1,W2,W3,W4] [--device cpu|cuda] [--cap SECONDS]

Every (library, case) runs in its own process (benchmarks/worker.py) so that a slow library can
be stopped at the cap and memory is measured per process. For each case the table gives the
median time over the repetitions, memory, the ratio to the fastest library and the largest
absolute difference of the outputs (and gradients) from the reference library: hybridq when it
ran, else the first peer that did. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from peers import PEERS, missing  # noqa: E402
from workloads import SIZES, TITLES, case_label, w2_gate_count  # noqa: E402

#: Seconds a worker may take by default to import its library and build a case (JAX compiles there).
SETUP_LIMIT = 180.0
#: How often (seconds) the parent checks a worker's time and resident memory.
POLL = 0.05
#: Relative agreement (max|diff| / max|reference|) below which results count as equal.
AGREE_RTOL = 1e-4


@dataclass
class Outcome:
    """What one worker process produced: ``status`` is "ok", "cap", "memory" or "error"."""

    lib: str
    status: str
    result: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)
    message: str = ""

    @property
    def median(self) -> float:
        return float(np.median(self.result["times_s"]))


def _reader(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the worker leads its own process group
    except ProcessLookupError:
        pass
    proc.wait()


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def _limit_memory(limit: int):
    """A preexec_fn capping the child's data segment, so a huge allocation fails cleanly."""

    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    return apply


def run_worker(spec: dict, env: dict, cap: float, mem_cap: int, setup: float = SETUP_LIMIT) -> Outcome:
    """Run one worker; kill it when its setup runs past ``setup`` s, a repetition past ``cap`` s, or
    it holds over ``mem_cap`` bytes. A library's case thus ends within ``setup + 2 cap`` seconds
    (the repetitions after the warm-up stop once they add up to ``cap``)."""
    stderr = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, "-u", str(HERE / "worker.py"), json.dumps(spec)],
        stdout=subprocess.PIPE, stderr=stderr, text=True, env=env, start_new_session=True,
        preexec_fn=_limit_memory(mem_cap) if spec["device"] == "cpu" and sys.platform == "linux" else None,
    )
    try:
        return _watch(proc, spec, stderr, cap, mem_cap, setup)
    except BaseException:  # interrupted (Ctrl-C, or SIGTERM, see main): the worker, in its own session, goes too
        _kill(proc)
        raise


def _watch(proc: subprocess.Popen, spec: dict, stderr, cap: float, mem_cap: int, setup: float) -> Outcome:
    """:func:`run_worker`'s watch over the running worker ``proc``, up to its outcome."""
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + setup + cap
    result = None
    while True:
        try:
            line = lines.get(timeout=POLL)
        except queue.Empty:
            line = ""
        if line is None:
            break
        if time.monotonic() > deadline:
            _kill(proc)
            return Outcome(spec["lib"], "cap")
        if _rss_bytes(proc.pid) > mem_cap:
            _kill(proc)
            return Outcome(spec["lib"], "memory")
        if not line.startswith("@@ "):
            continue
        tag, _, payload = line[3:].strip().partition(" ")
        if tag == "start":
            deadline = time.monotonic() + cap
        elif tag == "end":
            deadline = time.monotonic() + setup
        elif tag == "result":
            result = json.loads(payload)
    proc.wait()
    if proc.returncode != 0 or result is None:
        stderr.seek(0)
        tail = [ln for ln in stderr.read().strip().splitlines() if ln.strip()]
        message = tail[-1] if tail else f"exit code {proc.returncode}"
        out_of_memory = any(m in message.lower() for m in ("out of memory", "memoryerror", "cannot allocate", "bad_alloc"))
        return Outcome(spec["lib"], "memory" if out_of_memory else "error", message=message)
    with np.load(spec["out"]) as data:
        outputs = {k: data[k] for k in data.files}
    return Outcome(spec["lib"], "ok", result, outputs)


def _max_abs_diff(outputs: dict, reference: dict) -> dict[str, float]:
    """Largest |difference| per output present in both (compared flat: shapes (1,) and () match)."""
    return {
        k: float(np.max(np.abs(np.ravel(outputs[k]) - np.ravel(reference[k])), initial=0.0))
        for k in reference
        if k in outputs and np.size(outputs[k]) == np.size(reference[k])
    }


def _agrees(diffs: dict[str, float], reference: dict) -> bool:
    return all(d <= AGREE_RTOL * max(float(np.max(np.abs(reference[k]))), 1e-12) for k, d in diffs.items())


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _fmt_diff(diffs: dict[str, float], reference: dict, workload: str) -> str:
    if not diffs:
        return "no common outputs"
    mark = "✓" if _agrees(diffs, reference) else "✗ DIFFERS"
    if any(k.startswith("grad") for k in diffs):
        grad = max(v for k, v in diffs.items() if k.startswith("grad"))
        return f"out {diffs.get('out', float('nan')):.1e}, grad {grad:.1e} {mark}"
    return f"{max(diffs.values()):.1e} {mark}"


def _fmt_memory(result: dict) -> str:
    if result.get("gpu_work_mib") is not None:
        return f"{result['gpu_work_mib']:.0f} (GPU)"
    work = result.get("work_mib")
    return "?" if work is None else f"{work:.0f}"


def case_rows(workload: str, case: dict, outcomes: list[Outcome], cap: float, mem_cap: int, bandwidth: float | None):
    """Markdown rows of one case, and the name of its reference library."""
    done = [o for o in outcomes if o.status == "ok"]
    best = min((o.median for o in done), default=None)
    ref = next((o for o in done if o.lib == "hybridq"), done[0] if done else None)
    rows = []
    for o in outcomes:
        cells = [case_label(workload, case), o.lib]
        if o.status != "ok":
            text = {"cap": f"> cap ({cap:g} s)", "memory": f"> memory cap ({mem_cap / 2**30:.1f} GiB)"}.get(
                o.status, f"error: {o.message[:80]}"
            )
            cells += ["", text, "", "", "", ""] + (["", ""] if workload == "W2" else [])
            rows.append(cells)
            continue
        r = o.result
        runs = "warm-up only" if r["warmup_only"] else f"n={len(r['times_s'])}"
        diffs = _max_abs_diff(o.outputs, ref.outputs)
        cells += [
            f"{r['device']} {r['dtype']}",
            f"{fmt_time(o.median)} ({runs})",
            f"{o.median / best:.2f}×",
            _fmt_memory(r),
            f"{r['peak_rss_mib']:.0f}",
            "reference" if o is ref else _fmt_diff(diffs, ref.outputs, workload),
        ]
        if workload == "W2":
            per_gate = o.median / w2_gate_count(case)
            floor = 16 * 2 ** case["n"] / bandwidth if bandwidth else None
            cells += [fmt_time(per_gate), f"{per_gate / floor:.1f}×" if floor else "?"]
        rows.append(cells)
    return rows, ref.lib if ref else None


def versus_best_peer(workload: str, case: dict, outcomes: list[Outcome]) -> str | None:
    """One line: hybridq's time over the fastest peer's (peers are the non-hybridq libraries)."""
    done = {o.lib: o for o in outcomes if o.status == "ok"}
    peers = [o for name, o in done.items() if not name.startswith("hybridq")]
    if "hybridq" not in done or not peers:
        return None
    best = min(peers, key=lambda o: o.median)
    ratio = done["hybridq"].median / best.median
    return f"{case_label(workload, case)}: hybridq takes {ratio:.2f}× the time of the best peer ({best.lib})"


def _agreement(own: Outcome | None, others: list[Outcome]) -> str:
    """Whether every other library's outputs agree with hybridq's: "✓ k/k", or the ones that differ."""
    if own is None or not others:
        return "—"
    differ = [o.lib for o in others if not _agrees(_max_abs_diff(o.outputs, own.outputs), own.outputs)]
    return f"✓ {len(others)}/{len(others)}" if not differ else "✗ " + ", ".join(differ)


def family_summary(results: list[tuple[dict, list[Outcome]]]) -> list[list[str]]:
    """W4 rows per case: hybridq's time and work memory, whether the others agree with it, the best
    peer's time, hybridq's speed-up over it, its time over its own CNOT-ring time at the same
    size, and QuantumLayer's time over the internal fast path's."""
    done = [(case, {o.lib: o for o in outcomes if o.status == "ok"}) for case, outcomes in results]
    ring = {(c["n"], c["L"], c["B"]): libs["hybridq"].median for c, libs in done
            if c["family"] == "cnot_ring" and "hybridq" in libs}
    rows = []
    for case, libs in done:
        own = libs.get("hybridq")
        peers = [o for name, o in libs.items() if not name.startswith("hybridq")]
        best = min(peers, key=lambda o: o.median, default=None)
        base = ring.get((case["n"], case["L"], case["B"]))
        step = libs.get("hybridq-step")
        rows.append([
            case["family"], f"n={case['n']} L={case['L']} B={case['B']}",
            fmt_time(own.median) if own else "—",
            _fmt_memory(own.result) if own else "—",
            _agreement(own, [o for name, o in libs.items() if name != "hybridq"]),
            f"{best.lib} {fmt_time(best.median)}" if best else "—",
            f"{best.median / own.median:.1f}×" if own and best else "—",
            f"{own.median / base:.2f}" if own and base and case["family"] != "zz_kernel" else "—",
            f"{own.median / step.median:.2f}" if own and step and case["family"] != "zz_kernel" else "—",
        ])
    return rows


def print_summary(rows: list[list[str]]) -> None:
    head = ["family", "size", "hybridq (QuantumLayer / kernel_matrix)", "work MiB", "agreement", "best peer",
            "speed-up over best peer",
            "÷ own CNOT ring", "÷ internal path (simulate + GraphedStep)"]
    print("\n### W4 summary\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    sys.stdout.flush()


def print_table(workload: str, rows: list[list[str]], notes: list[str]) -> None:
    head = ["case", "library", "device dtype", "median time", "× best", "work MiB", "peak RSS MiB", "max abs diff vs ref"]
    if workload == "W2":
        head += ["time/gate", "× floor"]
    print(f"\n### {TITLES[workload]}\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for note in notes:
        print(f"- {note}")
    sys.stdout.flush()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes, 3 repetitions, 15 s cap (a few minutes)")
    p.add_argument("--only", default="W1,W2,W3,W4", help="comma-separated workloads (default: all)")
    p.add_argument("--families", help="W4: comma-separated ansatz families (default: all)")
    p.add_argument("--size", help="run only the cases of this size, e.g. n=10,L=4,B=256 (keys as in the tables)")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--cap", type=float, help="seconds one repetition may take (default 15 quick, 60 full)")
    p.add_argument("--setup-cap", type=float, default=SETUP_LIMIT,
                   help=f"seconds a library may take to import and build a case, JIT compilation included "
                        f"(default {SETUP_LIMIT:g})")
    p.add_argument("--repeats", type=int, help="timed repetitions after the warm-up (default 3 quick, 5 full)")
    p.add_argument("--min-time", type=float,
                   help="keep repeating until the timed repetitions add up to this many seconds, so that a "
                        "millisecond step's median stands on more than a handful of samples (default 0.2 quick, "
                        "2 full; at most 1000 repetitions)")
    p.add_argument("--mem-cap", type=float, help="GiB of host memory one library may hold (default: half of what is free)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads for every library")
    p.add_argument("--libs", help="comma-separated libraries to run (default: all installed)")
    p.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    return p.parse_args(argv)


def _available_memory() -> int:
    """MemAvailable in bytes (Linux), else 8 GiB."""
    try:
        with open("/proc/meminfo") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration):
        return 8 * 2**30


def _machine(args) -> str:
    import torch

    gpu = torch.cuda.get_device_name() if args.device == "cuda" and torch.cuda.is_available() else "no GPU used"
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs ({args.threads} threads used), "
        f"{gpu}; Python {platform.python_version()}, torch {torch.__version__}"
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    mode = "quick" if args.quick else "full"
    cap = args.cap or (15.0 if args.quick else 60.0)
    repeats = args.repeats or (3 if args.quick else 5)
    min_time = args.min_time if args.min_time is not None else (0.2 if args.quick else 2.0)
    mem_cap = int(args.mem_cap * 2**30) if args.mem_cap else _available_memory() // 2
    workloads = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(SIZES))
    if unknown:
        raise SystemExit(f"--only expects workloads among {sorted(SIZES)}, got {unknown}")
    wanted = set(args.libs.split(",")) if args.libs else set(PEERS)
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(f"--device cuda: torch {torch.__version__} sees no CUDA device")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[var] = str(args.threads)
    print(f"# hybridq benchmarks ({mode}, device {args.device}, cap {cap:g} s per repetition, "
          f"memory cap {mem_cap / 2**30:.1f} GiB)\n")
    print(_machine(args))
    log = []
    with tempfile.TemporaryDirectory(prefix="hybridq-bench-") as tmp:

        def spec(lib, workload, case):
            out = str(Path(tmp) / f"{lib}-{workload}-{len(log)}.npz")
            return {"lib": lib, "workload": workload, "case": case, "device": args.device,
                    "repeats": repeats, "min_time": min_time, "cap": cap, "out": out}

        for workload in workloads:
            libs = [name for name, peer in PEERS.items() if workload in peer.workloads and name in wanted]
            notes = [f"{name} skipped: {missing(name)}" for name in libs if missing(name)]
            libs = [name for name in libs if not missing(name)]
            bandwidth = None
            if workload == "W2":
                bw = run_worker(spec("bandwidth", workload, {}), env, cap, mem_cap)
                if bw.status == "ok":
                    bandwidth = float(bw.outputs["bytes"]) / min(bw.result["times_s"])
                    notes.append(
                        f"memory bandwidth {bandwidth / 1e9:.1f} GB/s (fastest torch copy of 256 MiB on CPU / 1 GiB "
                        "on CUDA, read + write); × floor = time per gate / (16·2^n bytes / bandwidth)"
                    )
            rows, summary, results = [], [], []
            sizes = SIZES[workload].get("gpu" if args.device == "cuda" and mode == "full" else mode)
            families = set(args.families.split(",")) if args.families else None
            for case in sizes or SIZES[workload][mode]:
                if families and case.get("family", "") not in families:
                    continue
                if args.size and any(str(case.get(k)) != v for k, v in (kv.split("=") for kv in args.size.split(","))):
                    continue
                outcomes = []
                for lib in libs:
                    if case.get("family") in PEERS[lib].skip_families:
                        continue
                    outcome = run_worker(spec(lib, workload, case), env, cap, mem_cap, args.setup_cap)
                    outcomes.append(outcome)
                    log.append({"workload": workload, "case": case, "lib": lib, "status": outcome.status,
                                "message": outcome.message, **outcome.result})
                results.append((case, outcomes))
                if args.json:  # after every case: a run stopped early keeps what it measured
                    args.json.write_text(json.dumps(log, indent=1))
                case_row, ref = case_rows(workload, case, outcomes, cap, mem_cap, bandwidth)
                rows += case_row
                summary.append(versus_best_peer(workload, case, outcomes))
                times = ", ".join(f"{o.lib} {fmt_time(o.median) if o.status == 'ok' else o.status}" for o in outcomes)
                print(f"  [{workload} {case_label(workload, case)}: {times}; reference {ref}]", file=sys.stderr)
            notes += [line for line in summary if line]
            notes.append("time: median over the timed repetitions after one warm-up; work MiB: peak resident memory "
                         "(or CUDA allocation) above the level after imports; reference: hybridq if it ran, "
                         "else the first library listed")
            print_table(workload, rows, notes)
            if workload == "W4":
                print_summary(family_summary(results))
    if args.json:
        args.json.write_text(json.dumps(log, indent=1))
    return 0


def _terminated(signum, frame):
    raise SystemExit(128 + signum)  # unwinds through run_worker, which stops the running worker


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminated)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; the running worker was stopped")
