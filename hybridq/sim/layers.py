"""The neutral layered description of a circuit: what a compiled circuit hands to the executors.

A :class:`Layered` program runs on a batch of ``B`` states of ``n`` qubits (qubit 0 the most
significant bit of a basis-state index). It is a sequence of :class:`Layer`\\ s; layer ``l`` is

1. a ``2 x 2`` matrix on **every** qubit at once, ``Layered.one_qubit()[:, l, q]`` (the product
   of qubit ``q``'s chain of one-qubit gates in that layer; the identity on qubits outside
   ``Layer.one_qubit_on``, which an executor may skip). Gates on distinct qubits commute, so
   their order is free;
2. then ``Layer.steps``, in order, each one of

   - :class:`Diagonal` ``(qubits, values)``: multiply amplitude ``i`` by ``values[:, j]``,
     ``j`` the bits of ``i`` on ``qubits`` (``qubits[0]`` the most significant bit of ``j``).
     CZ, CP, CRZ (controls folded in: ``[1, 1, 1, e]``), RZ, RZZ, multi-Z rotations, ``Diagonal``;
   - :class:`Dense` ``(qubits, matrix, controls, control_values)``: a ``2**k x 2**k`` unitary on
     ``qubits`` (first = most significant bit of the matrix index), applied to the amplitudes
     whose ``controls`` bits equal ``control_values``. CRX, CRY, CH, controlled U3, open
     controls (``k = 1``); RXX, RYY, arbitrary two-qubit unitaries (``k = 2``), any pair;
   - :class:`Permutation` ``(index, inverse)``: ``out[:, i] = in[:, index[i]]``. A run of X,
     CNOT, Toffoli, SWAP, composed into one gather (a CNOT ring is one step);
   - :class:`PairRotation` ``(x_index, y_index, phase, angles)``: a run of commuting Pauli
     rotations that flip the same qubits (a fermionic excitation's terms) as one rotation of
     each basis-state pair ``(x_index[s], y_index[s])`` by ``angles[:, s]``, with unit factors
     ``phase`` (:mod:`hybridq.sim.pairs`; ``angles`` real).

Data tensors have a leading axis ``P``: 1 (shared by the batch) or ``B`` (one per sample, e.g.
angles read from the inputs); they are complex of ``Layered.dtype``, unitary (``|values| = 1``)
(a pair rotation's are its real angles),
and carry the autograd graph back to the weights and inputs: an executor differentiates with
respect to them (the adjoint method needs unitarity to un-compute states).

**Grouping.** One-qubit gates are deferred per qubit until a gate touches their qubit (gates on
disjoint qubits commute; :func:`hybridq.sim.fusion.plan`); every such flush starts a layer, and
the gates between two flushes are its steps. A layered ansatz (rotations on every qubit, then
an entangler) is one layer per ansatz layer; a circuit in any order becomes layers whose
``one_qubit_on`` names only the qubits that have a gate (a leading layer may have none).

**Where the one-qubit matrices come from.** :meth:`Layered.one_qubit` returns the
``(P, L, n, 2, 2)`` tensor. On a CPU with the native kernels the compiled circuit instead hands
a :class:`ChainRecipe` (angles as sums of ``coef * weight * input`` and each gate in
trigonometric form, :mod:`hybridq.sim.chains`): an executor that can evaluate it natively
(straight into its own memory layout) reads ``Layered.recipe``; any other calls
:meth:`Layered.one_qubit`, which evaluates it once.

**All the steps' data at once.** :meth:`Layered.step_data` is the data of every diagonal and
dense step side by side, one ``(P, D)`` tensor. A compiled circuit builds it with one gather from
its builders' outputs (``Layered.data``), so an executor that runs every step in one kernel (the
Triton and native executors) differentiates through one tensor: a ring of 40 CRX gates costs the
same few torch ops in a training step as one. Where a step's data start in it is one rule,
:func:`data_starts`.

**Steps made on demand.** A step whose data is a slice of the step data may be given as a
:class:`StepView` (which columns, which shape) in the program's ``Layered.outline``;
:attr:`Layered.layers` makes the views and steps the first time an executor asks for them.
An executor that reads the step data alone (the native kernels) reads the outline and makes
none: a ring of 40 CRX gates costs no 40 views and step objects per call.

Executors (:mod:`hybridq.sim.engine`) take a program or decline it; each is free to regroup the
steps (e.g. fuse consecutive diagonals) as long as the result is the same.

>>> import torch
>>> z = torch.tensor([[1, 1, 1, -1]], dtype=torch.complex64)           # CZ(0, 1)
>>> ry = torch.tensor([[[0.6, -0.8], [0.8, 0.6]]], dtype=torch.complex64).expand(1, 1, 2, 2, 2)
>>> program = Layered(2, 1, torch.complex64, torch.device("cpu"), (Layer((0, 1), (Diagonal((0, 1), z),)),), ry)
>>> program.n_layers, [type(s).__name__ for s in program.layers[0].steps]
(1, ['Diagonal'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Hashable, Union

import torch

if TYPE_CHECKING:
    from .chains import ChainPlan

Tensor = torch.Tensor


@dataclass(frozen=True, eq=False)
class Diagonal:
    """Multiply each amplitude by ``values[:, j]``, ``j`` its bits on ``qubits`` (first = most
    significant). ``values``: ``(P, 2**k)`` complex, ``|values| = 1``; ``constant``: the same
    values (the same tensor) in every call, e.g. a compiled circuit's CZ (executors may merge them
    once per structure)."""

    qubits: tuple[int, ...]
    values: Tensor
    constant: bool = False


@dataclass(frozen=True, eq=False)
class Dense:
    """A unitary ``matrix`` ``(P, 2**k, 2**k)`` on ``qubits`` (first = most significant bit of
    its index), on the amplitudes whose ``controls`` bits equal ``control_values`` (empty: no
    controls; the values are 0 or 1, one per control). ``zero_parts``: the parts of ``matrix``
    zero whatever the angles its maker built it from (:attr:`hybridq.sim.gates.GateSpec.zero_parts`;
    None: none known); its gradient there is never read, and executors may leave it zero."""

    qubits: tuple[int, ...]
    matrix: Tensor
    controls: tuple[int, ...] = ()
    control_values: tuple[int, ...] = ()
    zero_parts: str | None = None


@dataclass(frozen=True, eq=False)
class Permutation:
    """A basis-state gather over all qubits: ``out[:, i] = in[:, index[i]]`` (``index`` and its
    ``inverse``: ``(2**n,)`` int32 on the program's device, cached and shared between calls)."""

    index: Tensor
    inverse: Tensor


@dataclass(frozen=True, eq=False)
class PairRotation:
    """Rotate each basis-state pair ``(x_index[s], y_index[s])`` by ``angles[:, s]`` with the
    unit factor ``phase[s]`` (:func:`hybridq.sim.pairs.apply_pair_rotation`). ``x_index``,
    ``y_index``: ``(S,)`` int64; ``phase``: ``(S,)`` complex; ``angles``: ``(P, S)`` real."""

    x_index: Tensor
    y_index: Tensor
    phase: Tensor
    angles: Tensor


Step = Union[Diagonal, Dense, Permutation, PairRotation]


@dataclass(frozen=True, eq=False)
class StepView:
    """A :class:`Diagonal` or :class:`Dense` step (``kind``) whose data is a slice of the program's
    step data (:meth:`Layered.step_data`): ``prod(shape)`` columns from :func:`data_starts`'
    start, viewed as ``(P, *shape)``, row 0 alone when ``shared`` (the batch shares the step; its
    maker sets it where the step data have one row). ``qubits``, ``controls``,
    ``control_values`` and ``zero_parts`` are the step's. :attr:`Layered.layers` makes the step.

    >>> view = StepView(Dense, (1,), (2, 2), shared=True, controls=(0,), control_values=(1,))
    >>> step = view.of(torch.eye(2).unsqueeze(0))
    >>> type(step).__name__, step.qubits, step.controls, tuple(step.matrix.shape)
    ('Dense', (1,), (0,), (1, 2, 2))
    """

    kind: type
    qubits: tuple[int, ...]
    shape: tuple[int, ...]
    shared: bool
    controls: tuple[int, ...] = ()
    control_values: tuple[int, ...] = ()
    zero_parts: str | None = None

    def of(self, view: Tensor) -> Diagonal | Dense:
        """The step with data ``view``."""
        if self.kind is Diagonal:
            return Diagonal(self.qubits, view)
        return Dense(self.qubits, view, self.controls, self.control_values, self.zero_parts)


@dataclass(frozen=True, eq=False)
class Layer:
    """One-qubit matrices on every qubit (identity outside ``one_qubit_on``, ascending), then
    ``steps`` in order (in a program's ``Layered.outline``, a step may be a :class:`StepView`)."""

    one_qubit_on: tuple[int, ...]
    steps: tuple[Step | StepView, ...] = ()


@dataclass(frozen=True, eq=False)
class ChainRecipe:
    """The one-qubit matrices as :func:`hybridq.sim.chains.chain_products` makes them: ``weights``
    (1-D), ``inputs`` ``(B, columns)`` or None, and the plan whose chain rows are ``(layer, qubit)``
    in that order (``L * n`` rows; a row of -1 is the identity)."""

    weights: Tensor
    inputs: Tensor | None
    plan: ChainPlan


@dataclass(frozen=True, eq=False)
class Layered:
    """A circuit as layers (see the module docstring).

    Attributes:
        n_qubits: qubits of the states.
        batch: ``B``, the number of states (data with ``P = 1`` is shared by all of them).
        dtype: the states' complex dtype.
        device: the states' device.
        outline: the layers, in order; a step may be a :class:`StepView` of ``data`` (see
            :attr:`layers`).
        matrices: the ``(P, L, n, 2, 2)`` one-qubit matrices, or None when ``recipe`` gives them.
        recipe: how to build them natively (CPU), or None.
        structure: None, or a hashable key that is the same for programs whose layers have the
            same step kinds, qubits, controls and data shapes (``P`` included; a compiled
            circuit sets it): executors may cache what they derive from the structure by it.
        data: None, or what :meth:`step_data` returns, built by the maker of the program (a
            compiled circuit gathers the data of all its steps into it at once).
        packed: None, or the one-qubit matrices and the step data side by side in one ``(P, L * n * 4 + D)``
            tensor, when the maker built them so (``matrices`` and ``data`` are then views of it).
    """

    n_qubits: int
    batch: int
    dtype: torch.dtype
    device: torch.device
    outline: tuple[Layer, ...]
    matrices: Tensor | None = None
    recipe: ChainRecipe | None = None
    structure: Hashable | None = None
    data: Tensor | None = None
    packed: Tensor | None = None
    _built: dict = field(default_factory=dict, repr=False)

    @property
    def n_layers(self) -> int:
        """The number of layers ``L``."""
        return len(self.outline)

    @property
    def layers(self) -> tuple[Layer, ...]:
        """The layers with every step made: each :class:`StepView` of the outline becomes its step,
        its data a view of :meth:`step_data` (on the first call; one ``unbind`` per run of views
        of one kind, shape and sharing whose data lie side by side). Executors that read the
        step data alone read ``outline`` instead and make no views.

        >>> data = torch.tensor([[1, -1, 1, 1, 1, -1]], dtype=torch.complex64)
        >>> outline = (Layer((), (StepView(Diagonal, (0,), (2,), True), StepView(Diagonal, (1, 0), (4,), True))),)
        >>> program = Layered(2, 1, torch.complex64, torch.device("cpu"), outline, data=data)
        >>> [s.values.real.tolist() for s in program.layers[0].steps]
        [[[1.0, -1.0]], [[1.0, 1.0, 1.0, -1.0]]]
        """
        if "layers" not in self._built:
            self._built["layers"] = _made(self.outline, self.step_data())
        return self._built["layers"]

    def one_qubit(self) -> Tensor:
        """The ``(P, L, n, 2, 2)`` one-qubit matrices (from the recipe on the first call), differentiable."""
        if self.matrices is not None:
            return self.matrices
        if "matrices" not in self._built:
            from .chains import chain_products

            r = self.recipe
            products = chain_products(r.weights, r.inputs, r.plan, self.dtype)
            self._built["matrices"] = products.unflatten(1, (self.n_layers, self.n_qubits))
        return self._built["matrices"]

    def step_data(self) -> Tensor | None:
        """The data of every :class:`Diagonal` and :class:`Dense` step, flattened and side by side in
        step order: one ``(P, D)`` tensor (``P`` the steps' ``P`` other than 1, if any), differentiable; None
        without such steps. An executor that reads it instead of each step's data differentiates
        through one tensor, not one per step: ``data`` where the program came with it, else the
        steps' data joined (on the first call).

        >>> z = torch.tensor([[1, 1, 1, -1]], dtype=torch.complex64)
        >>> x = torch.tensor([[[0, 1], [1, 0]]], dtype=torch.complex64)
        >>> steps = (Diagonal((0, 1), z), Dense((1,), x, (0,), (1,)))
        >>> Layered(2, 1, torch.complex64, torch.device("cpu"), (Layer((), steps),)).step_data().real.tolist()
        [[1.0, 1.0, 1.0, -1.0, 0.0, 1.0, 1.0, 0.0]]
        """
        if self.data is not None:
            return self.data
        if "data" not in self._built:
            parts = [data_of(s) for layer in self.outline for s in layer.steps if isinstance(s, (Diagonal, Dense))]
            self._built["data"] = joined(parts, self.dtype) if parts else None
        return self._built["data"]

    def plain(self) -> bool:
        """Whether every layer is one-qubit matrices on every qubit and at most one permutation (the
        whole-layer kernels' shape, :func:`hybridq.sim.fused.run_layers`)."""
        return all(len(layer.one_qubit_on) == self.n_qubits and len(layer.steps) <= 1
                   and all(isinstance(s, Permutation) for s in layer.steps) for layer in self.outline)

    def final_permutations(self) -> list[tuple[Tensor, Tensor] | None]:
        """Per layer, the ``(index, inverse)`` of its last step where that is a :class:`Permutation`
        (the layer kernels apply it as they write the layer's output), else None.

        >>> swap = Permutation(torch.tensor([1, 0]), torch.tensor([1, 0]))
        >>> eye = torch.eye(2, dtype=torch.complex64).expand(1, 2, 1, 2, 2)
        >>> program = Layered(1, 1, torch.complex64, torch.device("cpu"), (Layer((0,), (swap,)), Layer((0,))), eye)
        >>> [None if p is None else p[0].tolist() for p in program.final_permutations()]
        [[1, 0], None]
        """
        return [(last.index, last.inverse) if layer.steps and isinstance(last := layer.steps[-1], Permutation) else None
                for layer in self.outline]

    @property
    def n_steps(self) -> int:
        """The number of steps of all layers."""
        return sum(len(layer.steps) for layer in self.outline)


def _made(outline: tuple[Layer, ...], data: Tensor | None) -> tuple[Layer, ...]:
    """``outline`` with its :class:`StepView`\\ s made into steps (see :attr:`Layered.layers`)."""
    steps = [s for layer in outline for s in layer.steps]
    views = [(i, s) for i, s in enumerate(steps) if isinstance(s, StepView)]
    if not views:
        return outline
    starts = data_starts(steps)
    run: list[tuple[int, StepView]] = []
    for at, (i, view) in enumerate(views):  # runs of views side by side: one unbind each
        run.append((i, view))
        following = views[at + 1] if at + 1 < len(views) else None
        if following is None or (following[1].kind, following[1].shape, following[1].shared) != (
                view.kind, view.shape, view.shared) or starts[following[0]] != starts[i] + math.prod(view.shape):
            first_i, first = run[0]
            rows = data[:1] if first.shared else data
            width = len(run) * math.prod(first.shape)
            block = rows[:, starts[first_i]:starts[first_i] + width].view(rows.shape[0], len(run), *first.shape)
            for (j, v), part in zip(run, block.unbind(1)):
                steps[j] = v.of(part)
            run = []
    made, at = [], 0
    for layer in outline:
        made.append(Layer(layer.one_qubit_on, tuple(steps[at:at + len(layer.steps)])))
        at += len(layer.steps)
    return tuple(made)


def data_of(step: Diagonal | Dense) -> Tensor:
    """A diagonal's ``values`` or a dense step's ``matrix``."""
    return step.values if isinstance(step, Diagonal) else step.matrix


def kind_of(step: Step | StepView) -> type:
    """The step's class: a :class:`StepView`'s ``kind``, else its type."""
    return step.kind if isinstance(step, StepView) else type(step)


def data_width(step: Diagonal | Dense | StepView) -> int:
    """The entries of one row of the step's data."""
    return math.prod(step.shape) if isinstance(step, StepView) else data_of(step)[0].numel()


def data_starts(steps: list[Step | StepView]) -> list[int]:
    """Where each step's data start in the step data (:meth:`Layered.step_data`), then the width of
    its rows: the data of the :class:`Diagonal` and :class:`Dense` steps (and views of them) side by
    side, in step order; the one rule for it (a step without data gets the start of the next one).

    >>> z, x = torch.ones(1, 4), torch.ones(1, 2, 2)
    >>> data_starts([Diagonal((0, 1), z), Permutation(None, None), Dense((0,), x), Diagonal((1, 0), z)])
    [0, 4, 4, 8, 12]
    """
    out, start = [], 0
    for step in steps:
        out.append(start)
        if kind_of(step) in (Diagonal, Dense):
            start += data_width(step)
    return out + [start]


def shared_by_batch(step: Diagonal | Dense | StepView) -> bool:
    """Whether every sample reads the same data of ``step`` (its leading axis ``P`` is 1; a
    view's ``shared``): the rule by which executors run a step once for the whole batch (a merged
    diagonal, one table).

    >>> shared_by_batch(Diagonal((0, 1), torch.ones(1, 4))), shared_by_batch(Diagonal((0,), torch.ones(3, 2)))
    (True, False)
    """
    return step.shared if isinstance(step, StepView) else data_of(step).shape[0] == 1


def joined(parts: list[Tensor], dtype: torch.dtype) -> Tensor:
    """``parts`` (each ``(P_i, ...)``, ``P_i`` 1 or ``P``) flattened to ``(P_i, w_i)`` and put side by side:
    one ``(P, sum w_i)`` tensor of ``dtype``, the parts of one row broadcast to ``P``.

    >>> joined([torch.ones(1, 2, 2), torch.zeros(3, 1)], torch.float32).tolist()
    [[1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0, 0.0]]
    """
    rows = next((p.shape[0] for p in parts if p.shape[0] != 1), 1)
    flat = [p.flatten(1).to(dtype) for p in parts]
    flat = [f if f.shape[0] == rows else f.expand(rows, -1) for f in flat]
    return flat[0] if len(flat) == 1 else torch.cat(flat, dim=1)


#: Largest Pauli rotation with X or Y factors described as a :class:`Dense` step.
MAX_DENSE_PAULI_QUBITS = 3


def from_op(op, n: int, device=None) -> Step | None:
    """The step of one gate-level :class:`~hybridq.sim.program.Op` (controls folded into a
    diagonal's qubits) on ``device`` (where a permutation's index is made; ops with data have
    theirs), or None for a Pauli rotation with X or Y factors on more than
    :data:`MAX_DENSE_PAULI_QUBITS` qubits."""
    from .fusion import permutation_op

    if op.kind in ("flip", "swap"):
        return Permutation(*permutation_op([op], n, device if op.data is None else op.data.device).index)
    if op.kind == "pauli_rotation":
        return _pauli_step(op)
    data = op.data.unsqueeze(0) if op.data.dim() == (1 if op.kind == "diagonal" else 2) else op.data
    values = op.control_values or (1,) * len(op.controls)
    if op.kind == "dense":
        return Dense(op.qubits, data, op.controls, values if op.controls else ())
    return Diagonal(op.controls + op.qubits, controlled_diagonal(data, values))


def controlled_diagonal(data: Tensor, values: tuple[int, ...]) -> Tensor:
    """``(P, 2**(c + k))``: ``data`` ``(P, 2**k)`` where the ``c`` control bits equal ``values``, 1 elsewhere.

    >>> controlled_diagonal(torch.tensor([[2, 3]]), (0,)).tolist()  # an open control on a 2-entry diagonal
    [[2, 3, 1, 1]]
    """
    if not values:
        return data
    at = int("".join(map(str, values)), 2)
    size, total = data.shape[1], data.shape[1] << len(values)
    ones = lambda count: torch.ones(data.shape[0], count, dtype=data.dtype, device=data.device)  # noqa: E731
    return torch.cat([ones(at * size), data, ones(total - (at + 1) * size)], dim=1)


def _pauli_step(op) -> Step | None:
    """``exp(-i theta/2 P)`` as a diagonal (Z factors only) or a dense matrix."""
    table = pauli_table(op.pauli, op.data.dtype.to_complex(), op.data.device)
    return None if table is None else pauli_step(op.qubits, op.controls, op.data.reshape(-1), table)


def pauli_table(pauli: str, dtype: torch.dtype, device) -> Tensor | None:
    """What :func:`pauli_step` needs of the Pauli string: the ``(2**k,)`` real signs of ``P``
    when it is diagonal, else its ``(2**k, 2**k)`` matrix of ``dtype`` (None past
    :data:`MAX_DENSE_PAULI_QUBITS` qubits)."""
    k = len(pauli)
    if set(pauli) <= {"I", "Z"}:
        j = torch.arange(2**k)
        parity = sum((((j >> (k - 1 - i)) & 1) for i, p in enumerate(pauli) if p == "Z"), torch.zeros_like(j)) % 2
        return (1 - 2 * parity).to(device=device, dtype=dtype.to_real())
    if k > MAX_DENSE_PAULI_QUBITS:
        return None
    paulis = {"I": [[1, 0], [0, 1]], "X": [[0, 1], [1, 0]], "Y": [[0, -1j], [1j, 0]], "Z": [[1, 0], [0, -1]]}
    matrix = torch.ones(1, 1, dtype=torch.complex128)
    for p in pauli:
        matrix = torch.kron(matrix, torch.tensor(paulis[p], dtype=torch.complex128))
    return matrix.to(device=device, dtype=dtype)


def pauli_step(qubits: tuple[int, ...], controls: tuple[int, ...], theta: Tensor, table: Tensor) -> Step:
    """The step of ``exp(-i theta/2 P)`` (``theta`` ``(P,)`` real) from :func:`pauli_table`'s ``table``."""
    values = (1,) * len(controls)
    if table.dim() == 1:
        half = -table * theta[:, None] / 2
        diagonal = torch.complex(half.cos(), half.sin())  # torch.polar is ~3x slower on the CPU
        return Diagonal(controls + qubits, controlled_diagonal(diagonal, values))
    half = theta[:, None, None] / 2
    eye = torch.eye(table.shape[0], dtype=table.dtype, device=table.device)
    return Dense(qubits, torch.cos(half) * eye - 1j * torch.sin(half) * table, controls, values if controls else ())
