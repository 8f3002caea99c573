"""hybridq (W1 to W4) through its public API: ``hybridq.simulate``, ``hybridq.sim``, and for W4
``hybridq.nn.QuantumLayer`` and ``hybridq.ansatz.kernel_matrix`` (what users call)."""

from __future__ import annotations

import numpy as np

from . import Bench
from . import _torch_util as tu
from workloads import ZZ_REPS, w1_data, w2_data, w3_data, w3_path, w4_data, w4_gates

def w1_circuit(n: int, layers: int):
    """The W1 circuit: RY(w*x + b) per qubit, RZ(t0) RY(t1) per qubit, CNOT ring; per layer."""
    from hybridq.circuits import Circuit, Input, Weight

    circuit = Circuit(n)
    for k in range(layers):
        for i in range(n):
            circuit.ry(Weight(f"w_{k}_{i}") * Input(i) + Weight(f"b_{k}_{i}"), i)
        for i in range(n):
            circuit.rz(Weight(f"t_{k}_{i}_0"), i)
            circuit.ry(Weight(f"t_{k}_{i}_1"), i)
        for i in range(n):
            circuit.cx(i, (i + 1) % n)
    return circuit


def _prepare_w1(case: dict, dev, method: str) -> Bench:
    import torch

    import hybridq as hq

    n, layers = case["n"], case["L"]
    data = w1_data(case)
    circuit = w1_circuit(n, layers)
    position = {name: k for k, name in enumerate(circuit.weight_names)}
    values = np.zeros(len(position))
    index = {}
    for key, shape in (("w", (layers, n)), ("b", (layers, n)), ("t", (layers, n, 2))):
        names = np.array([f"{key}_" + "_".join(map(str, idx)) for idx in np.ndindex(*shape)]).reshape(shape)
        index[key] = torch.tensor(np.vectorize(position.__getitem__)(names), device=dev)
        values[index[key].cpu().numpy()] = data[key]
    x = tu.tensor(data["x"], dev)
    weights = tu.tensor(values, dev, grad=True)

    def step(x):
        weights.grad = None
        state = hq.simulate(circuit, inputs=x, weights=weights, method=method)
        out = hq.sim.expval_z(state)
        (out**2).sum().backward()
        grads = {f"grad_{k}": weights.grad[i] for k, i in index.items()}
        return {"out": out.detach(), **grads}

    graphed = hq.GraphedStep(step)  # on a GPU, replayed as one CUDA graph; elsewhere, a plain call
    return Bench(lambda: graphed(x), dev.type, "complex64")


def _prepare_w2(case: dict, dev) -> Bench:
    import torch

    import hybridq as hq
    from hybridq.circuits import Circuit

    n, data = case["n"], w2_data(case)
    circuit = Circuit(n)
    for layer in data["angles"]:
        for i in range(n):
            circuit.ry(float(layer[i]), i)
        for i in range(n):
            circuit.cx(i, (i + 1) % n)
    samples = torch.tensor(data["samples"], device=dev)

    @torch.no_grad()
    def step():
        return hq.simulate(circuit, device=dev)

    return Bench(step, dev.type, "complex64", lambda state: {"amplitudes": state[0, samples]})


def _prepare_w3(case: dict, dev) -> Bench:
    import torch

    import hybridq as hq
    from hybridq.operators import PauliSum

    hamiltonian = PauliSum.from_file(w3_path(case))
    states = torch.tensor(w3_data(case)["states"], dtype=torch.complex64, device=dev)

    @torch.no_grad()
    def step():
        return {"energy": hq.sim.expval(states, hamiltonian).real}

    return Bench(step, dev.type, "complex64")


def w4_circuit(case: dict):
    """The circuit of a W4 trainable family; weights named ``w_l_i``, ``b_l_i``, ``t_l_i_k``, ``c_l_i``."""
    from hybridq.circuits import Circuit, Input, Weight

    circuit = Circuit(case["n"])
    add = {"RX": circuit.rx, "RY": circuit.ry, "RZ": circuit.rz, "CRX": circuit.crx, "RZZ": circuit.rzz}
    for gate, wires, angle in w4_gates(case):
        if angle is None:
            {"CNOT": circuit.cx, "CZ": circuit.cz}[gate](*wires)
            continue
        kind, rest = angle[0], "_".join(map(str, angle[1:]))
        theta = Weight(f"w_{rest}") * Input(angle[2]) + Weight(f"b_{rest}") if kind == "enc" else Weight(f"{kind}_{rest}")
        add[gate](theta, *wires)
    return circuit


def _prepare_w4(case: dict, dev, api: str) -> Bench:
    """A training step through ``QuantumLayer`` (``api="layer"``) or ``simulate`` + ``expval_z``
    under ``GraphedStep`` (``api="step"``, the internal fast path); the kernel family:
    ``kernel_matrix`` of the ZZ feature map."""
    import torch

    import hybridq as hq

    data = w4_data(case)
    x = tu.tensor(data["x"], dev)
    if case["family"] == "zz_kernel":
        from hybridq.circuits.ansatz import kernel_matrix, zz_feature_map

        feature_map = zz_feature_map(case["n"], reps=ZZ_REPS)
        x = x.double()
        return Bench(lambda: {"gram": kernel_matrix(feature_map, x)}, dev.type, "complex128")
    circuit = w4_circuit(case)
    position = {name: k for k, name in enumerate(circuit.weight_names)}
    values, index = np.zeros(len(position)), {}
    for key in ("w", "b", "t", "c"):
        if key in data:
            names = np.array([f"{key}_" + "_".join(map(str, i)) for i in np.ndindex(*data[key].shape)])
            index[key] = torch.tensor(np.vectorize(position.__getitem__)(names).reshape(data[key].shape), device=dev)
            values[index[key].cpu().numpy()] = data[key]
    layer = hq.nn.QuantumLayer(circuit).to(dev)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(values))

    def collect(raw):  # the gradient by parameter group, for the agreement check (not timed)
        return {"out": raw["out"], **{f"grad_{k}": raw["grad"][i] for k, i in index.items()}}

    if api == "layer":
        def step():
            layer.zero_grad(set_to_none=True)
            out = layer(x)
            (out**2).sum().backward()
            return {"out": out.detach(), "grad": layer.weight.grad}

        return Bench(step, dev.type, "complex64", collect)
    weights = layer.weight

    def graphed(x):
        weights.grad = None
        out = hq.sim.expval_z(hq.simulate(circuit, inputs=x, weights=weights, method="adjoint"))
        (out**2).sum().backward()
        return {"out": out.detach(), "grad": weights.grad}

    replay = hq.GraphedStep(graphed)
    return Bench(lambda: replay(x), dev.type, "complex64", collect)


def preload(workload: str) -> None:
    import hybridq.sim  # noqa: F401
    import hybridq.circuits  # noqa: F401

    if workload == "W3":
        import hybridq.operators  # noqa: F401


def prepare(workload: str, case: dict, device: str, *, method: str = "adjoint", api: str = "layer") -> Bench:
    """W1 uses gradient ``method`` ("adjoint" or "autograd"); W2 and W3 are forward only; W4
    goes through ``api`` ("layer": QuantumLayer, or "step": simulate under GraphedStep)."""
    dev = tu.torch_device(device)
    if workload == "W4":
        return _prepare_w4(case, dev, api)
    if workload == "W1":
        return _prepare_w1(case, dev, method)
    if workload == "W2":
        return _prepare_w2(case, dev)
    if workload == "W3":
        return _prepare_w3(case, dev)
    raise ValueError(f"unknown workload {workload!r}")
