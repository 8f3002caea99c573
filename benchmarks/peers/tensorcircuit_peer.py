"""tensorcircuit-ng on JAX (W4): ``jax.jit`` of ``jax.value_and_grad`` of a ``jax.vmap``-ped circuit.

The idiomatic fast path of tensorcircuit for a batch of inputs: the circuit of one sample,
vectorised over the batch, its loss and gradients compiled by XLA once (while the case is
prepared, outside the timed runs) and then replayed. complex64 like hybridq for the training step; complex128 for the kernel family (its
states, vectorised, and one Gram matrix product). JAX runs on the GPU with ``--device cuda``
(where its CUDA build is installed) and is kept on the CPU otherwise.
"""

from __future__ import annotations

import os

import numpy as np

from . import Bench
from workloads import w4_angle, w4_data, w4_gates


def preload(workload: str) -> None:
    pass  # JAX reads its platform at import: prepare() sets it first


def _import(device: str):
    if device == "cpu":
        os.environ["JAX_PLATFORMS"] = "cpu"
    # Full float32 on the GPU: JAX's default there is TF32 (gradients off by 1e-2..1), and JAX 0.11's
    # precision setting alone left complex products in TF32 on an H100; cuBLAS reads this at start.
    os.environ["NVIDIA_TF32_OVERRIDE"] = "0"
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_default_matmul_precision", "highest")
    import tensorcircuit as tc

    return jax, tc


def _compiled(jax, function, *args):
    """``function`` jitted and compiled by XLA for ``args`` now (in the untimed setup), so that
    no repetition, the warm-up included, holds the compilation."""
    return jax.jit(function).lower(*args).compile()


def prepare(workload: str, case: dict, device: str) -> Bench:
    if workload != "W4":
        raise ValueError(f"tensorcircuit runs W4 only, not {workload}")
    jax, tc = _import(device)
    import jax.numpy as jnp

    kernel = case["family"] == "zz_kernel"
    tc.set_backend("jax")
    tc.set_dtype("complex128" if kernel else "complex64")
    real = jnp.float64 if kernel else jnp.float32
    n, gates = case["n"], w4_gates(case)
    data = {k: jnp.asarray(v, dtype=real) for k, v in w4_data(case).items()}
    x = data.pop("x")
    placed = "gpu" if jax.default_backend() == "gpu" else "cpu"

    def circuit(sample, params):
        c = tc.Circuit(n)
        for gate, wires, angle in gates:
            method = getattr(c, {"CNOT": "cnot", "P": "phase"}.get(gate, gate.lower()))
            if angle is None:
                method(*wires)
            else:
                method(*wires, theta=jnp.ravel(w4_angle(angle, sample[None], params, jnp.pi))[0])
        return c

    if kernel:
        def gram(x):
            states = jax.vmap(lambda s: circuit(s, {}).state())(x)
            return jnp.abs(states @ states.conj().T) ** 2

        gram = _compiled(jax, gram, x)

        def step():
            return {"gram": jax.block_until_ready(gram(x))}

        return Bench(step, placed, "complex128")

    basis = np.arange(2**n)
    signs = jnp.asarray(np.stack([1 - 2 * ((basis >> (n - 1 - i)) & 1) for i in range(n)]), dtype=real)

    def expvals(sample, params):  # <Z_i> from the state's probabilities: one contraction, not one per qubit
        return signs @ jnp.abs(circuit(sample, params).state()) ** 2

    def loss(params, x):
        out = jax.vmap(expvals, in_axes=(0, None))(x, params)
        return jnp.sum(out**2), out

    value_and_grad = _compiled(jax, jax.value_and_grad(loss, has_aux=True), data, x)

    def step():
        (_, out), grads = jax.block_until_ready(value_and_grad(data, x))
        return {"out": out, **{f"grad_{k}": g for k, g in grads.items()}}

    return Bench(step, placed, "complex64", lambda raw: {k: np.asarray(v) for k, v in raw.items()})
