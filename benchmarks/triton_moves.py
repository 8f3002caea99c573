"""The cost of moving a Triton program's amplitudes to their pair partners, by bit and by method.

hybridq's step tables (``hybridq/sim/triton_layers.py``) keep a sample's ``2**M`` amplitudes in
one program's registers and apply a one-qubit row by fetching each amplitude's partner at
``idx ^ 2**J`` with ``tl.gather`` at a bit read at run time. This times that move against the
alternatives, over ``--programs`` programs of ``2**M`` amplitudes, as microseconds per pair
update (the partners of ``re`` and ``im`` fetched, then a rotation), the difference between
``--reps`` updates and none, divided by ``--reps``:

- ``gather``: ``tl.gather`` at a bit read at run time (what the step tables do);
- ``static-gather``: ``tl.gather`` at a bit known when the kernel compiles;
- ``split``: reshape to ``(2**(M-1-J), 2, 2**J)``, split the pair's axis, join it swapped, at a
  compile-time bit;
- ``chain``: a run-time bit dispatched through one compile-time branch per bit, each a split;
- ``registers``: a run-time branch: a bit a thread holds in its own registers (one at or above
  ``log2(32 * warps)`` in Triton's one-amplitude-per-thread-and-slot layout) by a split through
  a compile-time branch per such bit, any other bit by the gather.

    python benchmarks/triton_moves.py --qubits 11,12 --warps 4

Needs a CUDA GPU for times; without one, ``TRITON_INTERPRET=1 python benchmarks/triton_moves.py``
checks in Triton's interpreter that every method moves the amplitudes as the gather does.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

from hybridq.cli import count_argument

METHODS = ("gather", "static-gather", "split", "chain", "registers")

try:
    import triton
    import triton.language as tl
except ImportError:  # reported in main()
    triton = tl = None

if tl is not None:

    @triton.jit
    def _swapped(x, J: tl.constexpr, M: tl.constexpr):
        """``x`` at ``idx ^ 2**J``: the halves of every pair along bit ``J`` swapped."""
        pairs = tl.permute(tl.reshape(x, (1 << (M - 1 - J), 2, 1 << J)), (0, 2, 1))
        low, high = tl.split(pairs)
        return tl.reshape(tl.permute(tl.join(high, low), (0, 2, 1)), (1 << M,))

    @triton.jit
    def _partner(x, idx, s, J: tl.constexpr, M: tl.constexpr, METHOD: tl.constexpr, REGISTER_BIT: tl.constexpr):
        """``x`` at ``idx ^ s`` (``s = 2**J``) by method ``METHOD`` (an index of ``METHODS``)."""
        if METHOD == 0:
            out = tl.gather(x, idx ^ s, 0)
        elif METHOD == 1:
            out = tl.gather(x, idx ^ (1 << J), 0)
        elif METHOD == 2:
            out = _swapped(x, J, M)
        elif METHOD == 3:
            out = x
            for j in tl.static_range(M):
                if s == (1 << j):
                    out = _swapped(x, j, M)
        else:
            if s >= (1 << REGISTER_BIT):
                out = x
                for j in tl.static_range(REGISTER_BIT, M):
                    if s == (1 << j):
                        out = _swapped(x, j, M)
            else:
                out = tl.gather(x, idx ^ s, 0)
        return out

    @triton.jit
    def _kernel(psi_ptr, out_ptr, reps, s, J: tl.constexpr, M: tl.constexpr, METHOD: tl.constexpr,
                REGISTER_BIT: tl.constexpr):
        p = tl.program_id(0).to(tl.int64)
        idx = tl.arange(0, 1 << M)
        re = tl.load(psi_ptr + p * (2 << M) + 2 * idx)
        im = tl.load(psi_ptr + p * (2 << M) + 2 * idx + 1)
        for _ in range(reps):
            pr = _partner(re, idx, s, J, M, METHOD, REGISTER_BIT)
            pi = _partner(im, idx, s, J, M, METHOD, REGISTER_BIT)
            re, im = 0.6 * re - 0.8 * pi, 0.6 * im + 0.8 * pr
        tl.store(out_ptr + p * (2 << M) + 2 * idx, re)
        tl.store(out_ptr + p * (2 << M) + 2 * idx + 1, im)


def register_bit(warps: int) -> int:
    """The lowest bit a thread holds in its registers: 32 lanes times ``warps`` hold the bits below."""
    return 5 + (warps.bit_length() - 1)


def update(psi: torch.Tensor, out: torch.Tensor, reps: int, bit: int, qubits: int, method: str, warps: int) -> None:
    """``reps`` pair updates at ``bit`` of every program (one per row of ``psi``) into ``out``."""
    _kernel[(psi.shape[0],)](psi, out, reps, 1 << bit, J=bit, M=qubits, METHOD=METHODS.index(method),
                             REGISTER_BIT=register_bit(warps), num_warps=warps)


def check(qubits: int, warps: int) -> list[str]:
    """The methods whose single update differs from the gather's at some bit (empty: all agree)."""
    psi = torch.randn(2, 2 << qubits, generator=torch.Generator().manual_seed(0))
    expected, out = torch.empty_like(psi), torch.empty_like(psi)
    wrong = []
    for bit in range(qubits):
        update(psi, expected, 1, bit, qubits, "gather", warps)
        for method in METHODS[1:]:
            update(psi, out, 1, bit, qubits, method, warps)
            if not torch.allclose(out, expected, atol=1e-6):
                wrong.append(f"{method} at bit {bit}")
    return wrong


def time_update(psi: torch.Tensor, out: torch.Tensor, qubits: int, warps: int, method: str, bit: int, reps: int) -> float:
    """Microseconds per pair update of the programs of ``psi`` (CUDA)."""
    base = triton.testing.do_bench(lambda: update(psi, out, 0, bit, qubits, method, warps), warmup=5, rep=30)
    full = triton.testing.do_bench(lambda: update(psi, out, reps, bit, qubits, method, warps), warmup=5, rep=60)
    return (full - base) / reps * 1e3


def _counts(text: str) -> list[int]:
    """Comma-separated positive whole numbers (each as :func:`hybridq.cli.count_argument` reads it)."""
    return [count_argument(v) for v in text.split(",")]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--qubits", type=_counts, default="11,12", help="M values, comma-separated (default 11,12)")
    p.add_argument("--warps", type=_counts, default="4", help="warps per program, comma-separated (default 4)")
    p.add_argument("--programs", type=count_argument, default=4096, help="programs per launch (default 4096)")
    p.add_argument("--reps", type=count_argument, default=20, help="updates per timed launch (default 20)")
    args = p.parse_args()
    if any(w & (w - 1) for w in args.warps):
        p.error(f"--warps must be powers of two (Triton's rule), got {args.warps}")
    if tl is None:
        p.exit(2, "Triton is not installed: nothing to time (pip install triton, or torch with CUDA)\n")
    if os.environ.get("TRITON_INTERPRET") == "1":
        wrong = check(7, 1)  # one warp: bits 5 and 6 take the registers branch
        print("every method moves the amplitudes as the gather does" if not wrong else f"differ: {', '.join(wrong)}")
        sys.exit(1 if wrong else 0)
    if not torch.cuda.is_available():
        p.exit(2, "no CUDA GPU: times need one (TRITON_INTERPRET=1 checks the methods in Triton's interpreter)\n")
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, Triton {triton.__version__}: "
          f"µs per pair update, {args.programs} programs")
    for qubits in args.qubits:
        psi = torch.randn(args.programs, 2 << qubits, device="cuda")
        out = torch.empty_like(psi)
        for warps in args.warps:
            print(f"\n| M = {qubits}, {warps} warps | " + " | ".join(f"bit {b}" for b in range(qubits)) + " |")
            print("|---" * (qubits + 1) + "|")
            for method in METHODS:
                row = [f"{time_update(psi, out, qubits, warps, method, b, args.reps):.2f}" for b in range(qubits)]
                print(f"| {method} | " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
