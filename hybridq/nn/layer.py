"""``QuantumLayer``: a circuit with inputs and trainable weights as a ``torch.nn.Module``.

The layer owns the circuit's weights as one parameter vector (``circuit.weight_names`` order)
and maps a batch of inputs ``(*, n_inputs)`` to ``(*, k)`` read-outs: Pauli expectations,
outcome probabilities or the states themselves. It follows ``.to(device / dtype)``: the state
is complex64 for float32 weights and complex128 for float64 weights.

>>> import torch, hybridq as hq
>>> from hybridq.nn import QuantumLayer, Z_each
>>> c = hq.Circuit(2).ry(hq.Input(0), 0).ry(hq.Weight("a"), 1).cz(0, 1)
>>> layer = QuantumLayer(c, observables=Z_each(2))
>>> layer(torch.zeros(5, 1)).shape
torch.Size([5, 2])
"""

from __future__ import annotations

import fnmatch
import json
import math
from typing import Callable, Literal, Mapping, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from ..checks import under_torch_func
from ..circuits import Circuit, simulate
from ..cuda_graph import GraphedFunction
from ..circuits.expr import Expr, Product, Sum, Weight
from ..errors import DTypeError, NotHermitianError, ParameterError, ShapeError
from ..operators import PauliSum
from ..sim import expval_terms, expval_z, probabilities
from ..sim.measure import z_sign_table
from .observables import Z_each

Output = Literal["expval", "probs", "state"]
Observables = Union[PauliSum, Sequence[Union[PauliSum, str]], None]
Init = Union[float, Callable[[Tensor], Tensor]]


class QuantumLayer(nn.Module):
    """A parametrised circuit as a layer: ``y = readout(U(x, w) |psi_0>)``.

    Args:
        circuit: the circuit; its :class:`~hybridq.Input` angles read the layer's input columns
            and its :class:`~hybridq.Weight` angles become the parameter ``weight``.
        observables: what ``output="expval"`` returns. A :class:`~hybridq.operators.PauliSum`
            gives one output per term (coefficient applied), e.g. ``Z_each(n)``; a sequence of
            PauliSums or labels gives one output per sum. Defaults to Z on each qubit.
        output: ``"expval"``, ``"probs"`` (outcome probabilities of ``qubits``, ``2**k``
            outputs) or ``"state"`` (the ``(*, 2**n)`` complex states). Defaults to expval.
        qubits: measured qubits for ``output="probs"``, ``qubits[0]`` the most significant bit
            of the outcome index. Defaults to all.
        init: initial values by weight-name pattern (``fnmatch`` globs, first match wins): a
            number or a function returning new values for a 1-D tensor. Weights not matched
            start at 1 if they scale an input (``w * x``) and uniform in ``[0, 2 pi)`` otherwise.
        method: gradient method passed to :func:`hybridq.simulate`. Defaults to ``"auto"``,
            which chooses autograd or the adjoint method by memory.
        backend: run on a backend instead (a :class:`hybridq.backends.Backend` or a name for
            :func:`hybridq.backends.get_backend`, e.g. ``"aer"``); gradients then come from
            parameter-shift rules. Defaults to the built-in exact simulator.
        shots: shots per circuit on a backend (None: exact where the backend can).
        cuda_graphs: on a GPU, capture the circuit's forward and backward once per input shape
            as CUDA graphs and replay them (:class:`hybridq.cuda_graph.GraphedFunction`): a
            small circuit's step is hundreds of tiny kernels, whose launches would otherwise
            dominate. Defaults to True.

    Shape:
        Input ``(*, n_inputs)`` (``n_inputs`` = ``circuit.n_inputs``); output ``(*, k)``.

    Attributes:
        weight: the circuit's weights, shape ``(len(circuit.weight_names),)``.

    >>> import torch, hybridq as hq
    >>> c = hq.Circuit(1).rx(hq.Weight("w") * hq.Input(0) + hq.Weight("b"), 0)
    >>> layer = QuantumLayer(c, init={"b": 0.0})
    >>> layer(torch.tensor([[0.0], [math.pi]])).round(decimals=4).squeeze(1).tolist()
    [1.0, -1.0]
    """

    weight: Tensor

    def __init__(
        self,
        circuit: Circuit,
        observables: Observables = None,
        *,
        output: Output = "expval",
        qubits: Sequence[int] | None = None,
        init: Mapping[str, Init] | None = None,
        method: Literal["auto", "autograd", "adjoint"] = "auto",
        backend=None,
        shots: int | None = None,
        cuda_graphs: bool = True,
        device=None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if output not in ("expval", "probs", "state"):
            raise ParameterError(f"output must be 'expval', 'probs' or 'state', got {output!r}")
        if output != "expval" and observables is not None:
            raise ParameterError(f"observables are only read with output='expval', got output={output!r}")
        if qubits is not None and output != "probs":
            raise ParameterError("qubits selects the measured qubits of output='probs' only")
        self.circuit = circuit
        self.output = output
        self.qubits = None if qubits is None else [int(q) for q in qubits]
        self.method = method
        if backend is not None and output != "expval":
            raise ParameterError(f"a backend serves output='expval' only, got output={output!r}")
        from ..backends import get_backend

        self.backend = None if backend is None else get_backend(backend)
        self.shots = shots
        self.init = dict(init or {})
        self.cuda_graphs = cuda_graphs
        self._graphed = GraphedFunction(self._run)
        names = circuit.weight_names
        unknown = [p for p in self.init if not fnmatch.filter(names, p)]
        if unknown:
            raise ParameterError(f"init pattern(s) {unknown} match no weight; the circuit's weights are {names[:10]}")
        self.weight = nn.Parameter(torch.empty(len(names), device=device, dtype=dtype))
        self.observable: PauliSum | None = None
        self._z_qubits: list[int] | None = None
        if output == "expval":
            self.observable, readout = _readout(observables, circuit.n_qubits)
            self.register_buffer("readout", readout.to(device=device, dtype=self.weight.dtype), persistent=False)
            weights = self.observable.z.sum(axis=1)
            #: every term a single Z: the qubit of each (<Z> comes with the states of the fused kernels,
            #: and its backward starts from dL/d<Z>: no dL/dpsi)
            self._z_qubits = ([int(q) for q in self.observable.z.argmax(axis=1)]
                              if not self.observable.x.any() and (weights == 1).all() else None)
            #: the read-out matrix is the identity (Z_each): <Z> is the output, no product
            self._plain = readout.shape[0] == readout.shape[1] and bool((readout == torch.eye(len(readout))).all())
            diagonal = not self.observable.x.any() and circuit.n_qubits <= _DIAGONAL_MAX_QUBITS
            signs = z_sign_table(self.observable.z) @ readout if diagonal else None
            self.register_buffer("diagonal_readout", None if signs is None else signs.to(device=device, dtype=self.weight.dtype),
                                 persistent=False)
        self.reset_parameters()

    @property
    def n_outputs(self) -> int:
        """Number of outputs ``k`` (``2**n`` amplitudes for ``output="state"``)."""
        if self.output == "expval":
            return self.readout.shape[1]
        n = len(self.qubits) if self.qubits is not None else self.circuit.n_qubits
        return 2**n if self.output == "probs" else 2**self.circuit.n_qubits

    def reset_parameters(self) -> None:
        """Re-initialise the weights (see ``init`` in the class docstring)."""
        names = self.circuit.weight_names
        scales = _scale_weights(self.circuit)
        with torch.no_grad():
            values = torch.rand(len(names), dtype=torch.float64) * (2 * math.pi)
            values[[i for i, n in enumerate(names) if n in scales]] = 1.0
            for pattern, rule in self.init.items():
                index = [i for i, n in enumerate(names) if fnmatch.fnmatchcase(n, pattern)]
                picked = values[index]
                values[index] = torch.as_tensor(rule(picked) if callable(rule) else rule, dtype=torch.float64)
            self.weight.copy_(values)

    def weights_dict(self) -> dict[str, Tensor]:
        """The weights by name (views of ``weight``, differentiable)."""
        return dict(zip(self.circuit.weight_names, self.weight.unbind(0)))

    def forward(self, inputs: Tensor | None = None, *, initial_state: Tensor | None = None) -> Tensor:
        """Read-outs of the circuit run on each row of ``inputs`` (from ``initial_state`` if given).

        ``initial_state`` is ``(B, 2**n)`` (e.g. an amplitude encoding) or ``(2**n,)``; its dtype
        is the simulation dtype (a real one for circuits of RY/CNOT/CZ gates only).
        """
        lead, x = self._flatten(inputs)
        if self.backend is not None:
            if initial_state is not None:
                raise ParameterError("initial_state is not supported with a backend; prepare it in the circuit")
            from ..backends import expectation

            out = expectation(self.circuit, x, self.weight, self.observable, self.backend, self.shots) @ self.readout
            return _with_lead(out, lead)
        if initial_state is not None and not isinstance(initial_state, Tensor):
            raise ParameterError(f"initial_state must be a tensor of shape (B, 2**n), got {type(initial_state).__name__}")
        if initial_state is not None and initial_state.dim() > 2:
            initial_state = initial_state.reshape(-1, initial_state.shape[-1])
        if (self.cuda_graphs and x is not None and initial_state is None and x.is_cuda
                and not under_torch_func(x, self.weight)):
            held = (self.weight, getattr(self, "readout", None), getattr(self, "diagonal_readout", None))
            buffers = tuple(b.data_ptr() for b in held if b is not None)
            out = self._graphed(x, self.weight, key=(self.circuit.ops.edit, self.output, self.method, *buffers))
        else:
            out = self._run(x, self.weight, initial_state)
        return _with_lead(out, lead)

    def _run(self, x: Tensor | None, weight: Tensor, initial_state: Tensor | None = None) -> Tensor:
        """The read-outs ``(B, k)`` of the circuit on inputs ``x`` with weights ``weight``."""
        dtype = initial_state.dtype if initial_state is not None else _complex(weight.dtype)
        state = simulate(self.circuit, x, weight, initial_state=initial_state, dtype=dtype,
                         device=weight.device, method=self.method)
        if self.output == "state":
            out = state
        elif self.output == "probs":
            out = probabilities(state, self.qubits)
        elif self._z_qubits is not None and not torch.compiler.is_compiling():  # single-Z terms: the engine's <Z>
            z = expval_z(state, None if self._z_qubits == list(range(self.circuit.n_qubits)) else self._z_qubits)
            out = z if self._plain else z @ self.readout.to(z.dtype)
        elif self.diagonal_readout is not None:  # Z-type observables: one matrix product, compile-friendly
            p = probabilities(state)
            out = p @ self.diagonal_readout.to(p.dtype)  # an initial state may set another precision
        else:
            terms = _expval_terms(state, self.observable)
            out = terms @ self.readout.to(terms.dtype)
        return out

    def _flatten(self, inputs: Tensor | None) -> tuple[tuple[int, ...] | None, Tensor | None]:
        need = self.circuit.n_inputs
        if inputs is None:
            if need:
                raise ParameterError(f"the circuit reads {need} input(s); call the layer on a (B, {need}) tensor")
            return None, None
        if not isinstance(inputs, Tensor):
            raise ParameterError(f"the layer's inputs must be a tensor of shape (*, {need}), got {type(inputs).__name__}")
        if inputs.is_complex():
            raise DTypeError(f"the layer's inputs must be real, got {inputs.dtype}")
        if inputs.dim() == 0 or inputs.shape[-1] != need:
            raise ShapeError(f"expected inputs of shape (*, {need}), got {tuple(inputs.shape)}")
        lead = tuple(inputs.shape[:-1])
        return lead, (inputs if inputs.dim() == 2 else inputs.reshape(-1, need)).to(self.weight.dtype)

    def _save_to_state_dict(self, destination, prefix, keep_vars) -> None:
        """Adds ``weight_names``: the circuit's weight names, in the order of ``weight``, as UTF-8
        JSON in a uint8 tensor (every entry of the state dict stays a tensor)."""
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + _NAMES_KEY] = _encode_names(self.circuit.weight_names)

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs) -> None:
        """Check the saved weight names against this circuit's before loading anything: the same
        names in another order load reordered, other names raise :class:`ParameterError` (a state
        dict without names loads as it is)."""
        encoded = state_dict.get(prefix + _NAMES_KEY)
        names = self.circuit.weight_names
        saved = None if encoded is None else _decode_names(encoded)
        if saved is not None and saved != names:
            if sorted(saved) != sorted(names):
                raise ParameterError(
                    f"the state dict holds weights {saved[:10]} but this layer's circuit has {names[:10]}; "
                    "load it into a layer built on a circuit with the same weight names"
                )
            if prefix + "weight" in state_dict:
                position = {name: i for i, name in enumerate(saved)}
                state_dict[prefix + "weight"] = state_dict[prefix + "weight"][[position[n] for n in names]]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if prefix + _NAMES_KEY in unexpected_keys:
            unexpected_keys.remove(prefix + _NAMES_KEY)

    def extra_repr(self) -> str:
        c = self.circuit
        return (f"n_qubits={c.n_qubits}, n_inputs={c.n_inputs}, n_weights={self.weight.numel()}, "
                f"output={self.output!r}, n_outputs={self.n_outputs}")


#: State-dict entry of a layer's weight names.
_NAMES_KEY = "weight_names"


def _with_lead(out: Tensor, lead: tuple[int, ...] | None) -> Tensor:
    """The read-outs ``(B, k)`` shaped ``(*lead, k)`` after the inputs' leading dimensions (as they
    are for a batch of rows: no view, no autograd node)."""
    return out if lead is None or len(lead) == 1 else out.reshape(*lead, out.shape[-1])


def _encode_names(names: list[str]) -> Tensor:
    return torch.tensor(list(json.dumps(names).encode()), dtype=torch.uint8)


def _decode_names(encoded: Tensor) -> list[str]:
    return json.loads(bytes(encoded.tolist()).decode())


#: Largest qubit count for which Z-type read-outs use a dense ``(2**n, k)`` sign matrix.
_DIAGONAL_MAX_QUBITS = 14


@torch.compiler.disable
def _expval_terms(state: Tensor, observable: PauliSum) -> Tensor:
    return expval_terms(state, observable)


def _complex(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _readout(observables: Observables, n_qubits: int) -> tuple[PauliSum, Tensor]:
    """All terms as one PauliSum (terms kept apart) and the ``(T, k)`` matrix of coefficients."""
    if observables is None:
        observables = Z_each(n_qubits)
    if isinstance(observables, PauliSum):
        sums, per_term = [observables], True
    elif isinstance(observables, (list, tuple)) and observables:
        sums = [PauliSum.from_list([(o, 1.0)]) if isinstance(o, str) else o for o in observables]
        per_term = False
    else:
        raise ParameterError(f"observables must be a PauliSum or a non-empty sequence of PauliSums / labels, got {observables!r}")
    for s in sums:
        if not isinstance(s, PauliSum) or s.n_qubits != n_qubits:
            raise ShapeError(f"each observable must be a PauliSum on {n_qubits} qubits, got {s!r:.80}")
    x = np.concatenate([s.x for s in sums])
    z = np.concatenate([s.z for s in sums])
    coeffs = np.concatenate([s.coeffs for s in sums])
    if np.abs(coeffs.imag).max(initial=0.0) > 1e-12:
        raise NotHermitianError("observables must have real coefficients (Hermitian Pauli sums)")
    counts = [len(coeffs)] if per_term else [len(s) for s in sums]
    k = len(coeffs) if per_term else len(sums)
    readout = torch.zeros(len(coeffs), k, dtype=torch.float64)
    rows = torch.arange(len(coeffs))
    cols = rows if per_term else torch.repeat_interleave(torch.arange(k), torch.tensor(counts))
    readout[rows, cols] = torch.tensor(coeffs.real)
    return PauliSum.from_masks(x, z, np.ones(len(coeffs))), readout


def _scale_weights(circuit: Circuit) -> set[str]:
    """Weights that multiply an input directly (the ``w`` of ``w * x + b``)."""
    found: set[str] = set()

    def visit(e: Expr) -> None:
        if isinstance(e, Product):
            if any(f.input_indices() for f in e.factors):
                found.update(f.name for f in e.factors if isinstance(f, Weight))
            for f in e.factors:
                visit(f)
        elif isinstance(e, Sum):
            for t in e.terms:
                visit(t)

    for op in circuit.ops:
        for p in op.params:
            if isinstance(p, Expr):
                visit(p)
    return found
