"""The CPU's multiply-add peak, and the least time the W1 training step can take at it.

Compiles a loop of independent 16-wide single-precision fused multiply-adds (AVX-512 where the
CPU has it) with the system C compiler, runs it on 1 and on all threads, then divides the
multiply-adds that hybridq's native W1 kernels need by that peak:

- forward: a product state for the first layer, then per later layer and qubit one 2x2 complex
  matrix on each amplitude pair (16 multiply-adds);
- backward: per later layer and qubit the gradient sums from the kept state (12) and the adjoint
  gate (16); the first layer's gradients come off the product state (negligible).

    python benchmarks/arithmetic_floor.py --threads 2 --peer 10,4,256=0.197 --peer 16,6,256=16.0

``--peer n,L,B=seconds`` prints the speed-up over that peer time the kernels would reach at the
peak (they run at about a fifth of it: each gate moves the block of states between the L2 cache
and the registers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

LOOP = r"""
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
/* 12 independent chains in named registers (an array would go through memory and measure
   store forwarding instead of the multiply-add units). */
#define STEP(a) a = _mm512_fmadd_ps(a, b, c)
int main(void) {
    long iters = 200000000;
    double t = omp_get_wtime();
    float sink = 0;
    #pragma omp parallel reduction(+:sink)
    {
        __m512 b = _mm512_set1_ps(0.999999f), c = _mm512_set1_ps(1e-7f);
        __m512 a0 = _mm512_set1_ps(1), a1 = _mm512_set1_ps(2), a2 = _mm512_set1_ps(3), a3 = _mm512_set1_ps(4);
        __m512 a4 = _mm512_set1_ps(5), a5 = _mm512_set1_ps(6), a6 = _mm512_set1_ps(7), a7 = _mm512_set1_ps(8);
        __m512 a8 = _mm512_set1_ps(9), a9 = _mm512_set1_ps(10), a10 = _mm512_set1_ps(11), a11 = _mm512_set1_ps(12);
        for (long i = 0; i < iters / omp_get_num_threads(); i++) {
            STEP(a0); STEP(a1); STEP(a2); STEP(a3); STEP(a4); STEP(a5);
            STEP(a6); STEP(a7); STEP(a8); STEP(a9); STEP(a10); STEP(a11);
        }
        __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                                 _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
        sink += _mm512_reduce_add_ps(_mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11))));
    }
    printf("%.6f %f\n", iters * 12 / (omp_get_wtime() - t), sink);
    return 0;
}
"""


def peak(threads: int) -> float:
    """16-wide multiply-adds per second on ``threads`` threads."""
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    with tempfile.TemporaryDirectory() as tmp:
        source, binary = Path(tmp) / "fma.c", Path(tmp) / "fma"
        source.write_text(LOOP)
        subprocess.run([compiler, "-O2", "-march=native", "-fopenmp", str(source), "-o", str(binary)], check=True)
        runs = [subprocess.run([str(binary)], capture_output=True, text=True, check=True,
                               env={**os.environ, "OMP_NUM_THREADS": str(threads)}) for _ in range(3)]
    return max(float(r.stdout.split()[0]) for r in runs)


def w1_multiply_adds(n: int, layers: int, batch: int) -> float:
    """16-wide multiply-adds of one W1 step in hybridq's native kernels (see the module docstring)."""
    per_sample = (layers - 1) * n * 2 ** (n - 1) * (16 + 12 + 16)
    return per_sample * batch / 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--peer", action="append", default=[], help="n,L,B=seconds of the best peer")
    args = parser.parse_args()
    one, all_ = peak(1), peak(args.threads)
    print(f"peak: {one / 1e9:.2f} G 16-wide multiply-adds/s on 1 thread, {all_ / 1e9:.2f} G on {args.threads}")
    print("| W1 case | multiply-adds (16-wide) | least time at peak | peer | speed-up at peak |")
    print("|---|---|---|---|---|")
    cases = {"10,4,256": None, "12,6,1024": None, "16,6,256": None}
    cases.update(dict(p.split("=") for p in args.peer))
    for case, peer in cases.items():
        n, layers, batch = map(int, case.split(","))
        work = w1_multiply_adds(n, layers, batch)
        floor = work / all_
        bound = f"{float(peer) / floor:.0f}x" if peer else ""
        print(f"| ({case}) | {work / 1e6:.1f} M | {floor * 1e3:.2f} ms | {peer or ''} s | {bound} |")


if __name__ == "__main__":
    main()
