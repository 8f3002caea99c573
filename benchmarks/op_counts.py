"""Torch ops of one W4 training step per ansatz family: a device-independent count of launches.

On a GPU a W4 step at (10, 4, 256) is launch-bound: what it costs is the number of small
kernels around the simulator's own, not their arithmetic. This counts them without a GPU.
One training step (forward, backward of ``sum <Z_i>**2``; the circuits of
``peers/hybridq_peer.py``) runs under ``torch.profiler`` (CPU activity), through
``QuantumLayer`` (``layer``) and through ``simulate`` + ``sim.expval_z`` (``step``, eager: what
``GraphedStep`` captures), on two engines, each in a child process:

- ``triton``: the GPU path. On the CPU the Triton kernels run in Triton's interpreter
  (``TRITON_INTERPRET=1``), the native executor is taken out of the engine and the native
  one-qubit chains are off (``HYBRIDQ_NATIVE=0``), so the torch ops are those a GPU runs;
- ``native``: the CPU's native kernels (``--device cpu`` only).

An op is a leaf ``aten::`` call that does work (views, allocations and dtype no-ops left out)
or one launch of a Triton kernel (the ops inside a launch, the interpreter's copies, are not
counted). The counts depend on the circuit's structure (n, L), not on the batch (past 1; the native kernels take batches of 8 or more).
With ``--device cuda`` the CUDA kernels are counted too, and ``QuantumLayer`` replays its
CUDA graphs (its count is then the eager work around them).

    python benchmarks/op_counts.py                       # (n, L, B) = (10, 4, 8), both engines
    python benchmarks/op_counts.py --size 6,2,8 --engines triton
    python benchmarks/op_counts.py --device cuda         # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

#: Leaf aten ops that launch no kernel: views, allocations, no-op conversions.
NO_WORK = frozenset(f"aten::{name}" for name in (
    "view", "reshape", "_reshape_alias", "_unsafe_view", "as_strided", "expand", "expand_as", "slice", "select",
    "narrow", "unsqueeze", "squeeze", "t", "transpose", "permute", "unflatten", "flatten", "alias", "detach", "detach_",
    "lift_fresh", "view_as_real", "view_as_complex", "real", "imag", "conj", "_conj", "resolve_conj", "resolve_neg",
    "empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "to", "_to_copy", "contiguous",
    "result_type", "is_nonzero", "item", "_local_scalar_dense", "numel", "size", "stride", "set_", "resize_",
    "_has_compatible_shallow_copy_type", "split", "split_with_sizes", "unbind", "chunk", "diagonal", "movedim",
))
#: The profiler range a Triton launch runs in (its inner ops are the interpreter's).
LAUNCH = "hybridq::triton_launch"


def _wrap_launches() -> None:
    """Run every Triton kernel launch of the simulator inside a :data:`LAUNCH` profiler range."""
    import torch

    from hybridq.sim import fused, triton_layers

    class Launch:
        def __init__(self, kernel):
            self.kernel = kernel

        def __getitem__(self, grid):
            def launch(*args, **kwargs):
                with torch.profiler.record_function(LAUNCH):
                    return self.kernel[grid](*args, **kwargs)

            return launch

    for module in (fused, triton_layers):
        for name in dir(module):
            if name.endswith("_kernel") and hasattr(getattr(module, name), "__getitem__"):
                setattr(module, name, Launch(getattr(module, name)))


def _count(events) -> dict[str, int]:
    """Ops (as the module docstring says), Triton launches and CUDA kernels among profiler ``events``."""
    ops = launches = cuda = 0
    for event in events:
        if event.device_type.name == "CUDA":
            cuda += 1
            continue
        parent, inside = event.cpu_parent, False
        while parent is not None:
            inside |= parent.name == LAUNCH
            parent = parent.cpu_parent
        if inside:
            continue
        if event.name == LAUNCH:
            launches += 1
        elif (event.name.startswith("aten::") and event.name not in NO_WORK
              and not any(child.name.startswith("aten::") for child in event.cpu_children)):
            ops += 1
    return {"ops": ops + launches, "triton": launches, "cuda": cuda}


def _training_steps(family: str, n: int, layers: int, batch: int, device: str):
    """The layer's and the step path's training step of one W4 family (``peers/hybridq_peer.py``'s circuits)."""
    import torch

    import hybridq as hq
    from peers.hybridq_peer import w4_circuit
    from workloads import w4_data

    case = {"family": family, "n": n, "L": layers, "B": batch}
    circuit = w4_circuit(case)
    x = torch.tensor(w4_data(case)["x"], dtype=torch.float32, device=device)
    layer = hq.nn.QuantumLayer(circuit).to(device)
    weights = layer.weight

    def through_layer():
        layer.zero_grad(set_to_none=True)
        (layer(x) ** 2).sum().backward()

    def through_simulate():
        weights.grad = None
        out = hq.sim.expval_z(hq.simulate(circuit, inputs=x, weights=weights, method="adjoint"))
        (out**2).sum().backward()

    return {"layer": through_layer, "step": through_simulate}


def child(engine: str, families: list[str], n: int, layers: int, batch: int, device: str) -> dict:
    """Each family's counts ``{family: {api: counts}}`` on ``engine`` (in this process)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from hybridq.sim import engine as dispatch

    if engine == "triton":
        dispatch.EXECUTORS[:] = [e for e in dispatch.EXECUTORS if e.name != "native"]
        _wrap_launches()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device == "cuda" else [])
    out = {}
    for family in families:
        out[family] = {}
        for api, step in _training_steps(family, n, layers, batch, device).items():
            for _ in range(4 if device == "cuda" else 2):  # caches, and on a GPU the layer's graph captures
                step()
            with profile(activities=activities) as prof:
                step()
                if device == "cuda":
                    torch.cuda.synchronize()
            out[family][api] = _count(prof.events())
    return out


def main() -> None:
    from workloads import W4_FAMILIES

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="10,4,8", help="n,L,B (default 10,4,8)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--engines", default=None, help="triton,native (default: both on the CPU, triton on cuda)")
    parser.add_argument("--families", default=",".join(f for f in W4_FAMILIES if f != "zz_kernel"))
    parser.add_argument("--json", action="store_true", help="print {engine: {family: {api: counts}}} as JSON")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n, layers, batch = map(int, args.size.split(","))
    families = args.families.split(",")
    if args.child:
        print("COUNTS" + json.dumps(child(args.child, families, n, layers, batch, args.device)))
        return
    engines = (args.engines or ("triton,native" if args.device == "cpu" else "triton")).split(",")
    found = {engine: counts(engine, args) for engine in engines}
    if args.json:
        print(json.dumps(found))
        return
    for engine, by_family in found.items():
        table(engine, by_family, n, layers, batch, args.device)


def counts(engine: str, args: argparse.Namespace) -> dict:
    """The counts of ``engine`` from a child process (:func:`child`) with the environment it needs."""
    env = dict(os.environ, HYBRIDQ_FUSED="1")
    if engine == "triton" and args.device == "cpu":
        env.update(TRITON_INTERPRET="1", HYBRIDQ_NATIVE="0")
    result = subprocess.run([sys.executable, __file__, "--child", engine, "--size", args.size, "--device", args.device,
                             "--families", args.families], env=env, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("COUNTS")]
    if result.returncode or not lines:
        sys.exit(f"the {engine} engine's run failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[0][len("COUNTS"):])


def table(engine: str, by_family: dict, n: int, layers: int, batch: int, device: str) -> None:
    """Print one engine's counts as a markdown table, with ratios to the CNOT ring."""
    print(f"\n{engine} engine, (n, L, B) = ({n}, {layers}, {batch}), {device}: ops per training step")
    cuda = device == "cuda"
    head = "| family | layer ops | step ops | layer / CNOT ring | step / CNOT ring | Triton launches (layer) |"
    print(head + (" CUDA kernels (layer, step) |" if cuda else ""))
    print("|---" * (6 + cuda) + "|")
    base = by_family.get("cnot_ring")
    for family, c in by_family.items():
        ratio = lambda api: f"{c[api]['ops'] / base[api]['ops']:.2f}" if base else "-"  # noqa: E731
        row = f"| {family} | {c['layer']['ops']} | {c['step']['ops']} | {ratio('layer')} | {ratio('step')} | {c['layer']['triton']} |"
        print(row + (f" {c['layer']['cuda']}, {c['step']['cuda']} |" if cuda else ""))


if __name__ == "__main__":
    main()
