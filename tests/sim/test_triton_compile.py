"""The Triton kernels compile for a Hopper GPU (sm_90) on a machine without one.

Triton's interpreter (the CPU tests) runs a kernel's Python; it does not check what only the
compiler checks (a module global read inside a kernel, a type the GPU has no instruction for).
This compiles every kernel of the step-table executor ahead of time, as a GPU session would on
first use, with the compiler and ``ptxas`` that ship with Triton.
"""

from __future__ import annotations

import importlib.util
import inspect

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="Triton not installed")

POINTERS_INT = {"table_ptr", "perm_ptr", "inner_ptr", "outer_ptr"}


def _interpreted(kernel) -> bool:
    """Whether Triton made ``kernel`` an interpreter function (``TRITON_INTERPRET=1`` at import)."""
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(kernel, InterpretedFunction)


def compile_for_hopper(kernel, real: str, constants: dict) -> bytes:
    """The cubin of ``kernel`` for sm_90 with float pointers of ``real`` ("fp32", "fp64")."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    signature = {}
    for name in inspect.signature(kernel.fn).parameters:
        if name in constants:
            signature[name] = "constexpr"
        elif name.endswith("_ptr"):
            signature[name] = "*i32" if name in POINTERS_INT else f"*{real}"
        else:
            signature[name] = "i32"
    source = ASTSource(fn=kernel, signature=signature, constexprs=constants)
    return triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": 8}).asm["cubin"]


@pytest.mark.parametrize("real", ["fp32", "fp64"])
@pytest.mark.parametrize("mapped", [False, True])
def test_step_table_kernels_compile_for_sm90(real, mapped):
    from hybridq.sim import triton_layers

    if triton_layers.tl is None:
        pytest.skip("this Triton has no gather (hybridq's kernels need it)")
    if _interpreted(triton_layers._forward_kernel):
        pytest.skip("TRITON_INTERPRET is set: Triton's interpreter replaces its compiler, so there is nothing "
                    "to compile (run this test without TRITON_INTERPRET)")
    forward = compile_for_hopper(triton_layers._forward_kernel, real, {"N_QUBITS": 12, "MAPPED": mapped})
    backward = compile_for_hopper(triton_layers._backward_kernel, real,
                                  {"N_QUBITS": 12, "MAPPED": mapped, "STORE_PSI": mapped, "SUMS_AFTER": mapped})
    assert len(forward) > 0 and len(backward) > 0
