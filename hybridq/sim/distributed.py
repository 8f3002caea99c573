"""One state vector sharded over ``P = 2**g`` processes with ``torch.distributed``.

Layout: the ``n`` index bits of a state are *physical* positions ``0..n-1`` (position 0 the
most significant). Rank ``r`` of the process group holds the ``(B, 2**(n-g))`` amplitudes whose
``g`` leading (*global*) bits spell ``r``; the other ``n - g`` bits are *local*. Each logical
qubit sits at some physical position; the map starts as the identity and changes lazily:

- a gate whose targets are local runs the ordinary kernels (:meth:`Op.apply`) on the shard;
- diagonal gates, Z letters of Pauli rotations and controls on global qubits need no data:
  a rank knows its global bits, so it slices the diagonal, flips the rotation angle or skips
  the gate (control not satisfied) on its own;
- a gate that needs a global qubit local first swaps it with a local one (an index-bit swap:
  one ``all_to_all_single`` in which each rank sends the part of its shard whose swapped
  local bits differ from its global bits). :meth:`ShardedState.run` looks ahead and brings in
  the global qubits of the next gates in the same exchange, evicting the local qubits used
  furthest in the future (``m`` bits at once move ``1 - 2**-m`` of a shard instead of ``m / 2``);
- an uncontrolled SWAP only relabels; nothing is swapped back: read-outs follow the map.

Sharded runs are forward only (no autograd through the exchanges). Processes: ``gloo`` on
CPUs, ``nccl`` on GPUs (one per process). :func:`launch` starts a local group for tests and
scripts; under ``torchrun`` initialise the default group yourself and call the same code.

In each process of a group (here a group of one, made in place):

>>> import torch.distributed as dist
>>> from hybridq.sim import gate_op
>>> dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
>>> s = ShardedState.zero(3)
>>> s.run([gate_op("H", [0], n_qubits=3), gate_op("CNOT", [0, 2], n_qubits=3)])
>>> s.probabilities([0, 2])
tensor([[0.5000, 0.0000, 0.0000, 0.5000]])
>>> dist.destroy_process_group()

``launch(work, 4)`` runs ``work(rank, 4)`` in 4 local processes joined in a gloo group and
returns what each returned; :func:`hybridq.circuits.simulate_sharded` runs a whole circuit.

Data-parallel training needs nothing from hybridq: a model with a
:class:`~hybridq.nn.QuantumLayer` is an ordinary module, so wrap it in
``torch.nn.parallel.DistributedDataParallel`` and give each rank its slice of every global
batch; the averaged gradients equal those of the whole batch (``examples/ddp_training.py``).

Timing (1 vs 2 vs 4 processes): ``python -m hybridq.sim.distributed --qubits 20 --procs 1 2 4``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Literal, Sequence

import torch
import torch.distributed as dist

from ..errors import QubitIndexError, ShapeError
from ..qubit_order import bit_position, index_to_bits, qubit_mask
from .measure import expval_z as _local_expval_z
from .measure import probabilities as _local_probabilities
from .ops import qubits_or_all
from .program import Op
from .state import check_memory

Tensor = torch.Tensor
Backend = Literal["gloo", "nccl"]


def n_global_qubits(world_size: int, n_qubits: int) -> int:
    """The number ``g`` of global qubits of an ``n_qubits`` state over ``world_size`` processes.

    >>> n_global_qubits(4, 10)
    2
    """
    if world_size < 1 or world_size & (world_size - 1):
        raise ShapeError(f"a state is sharded over a power-of-two number of processes, got world size {world_size}")
    g = world_size.bit_length() - 1
    if n_qubits - g < 1:
        raise ShapeError(f"{n_qubits} qubit(s) over {world_size} processes leave no local qubit; "
                         f"use at least {g + 1} qubits or fewer processes")
    return g


@dataclass
class CommStats:
    """What the index-bit swaps of a state have cost so far (this rank).

    Attributes:
        swaps: ``all_to_all`` exchanges made.
        bits: index bits swapped in total (an exchange swaps one or more).
        bytes_sent: bytes this rank sent to other ranks.
        comm_seconds: wall time inside ``all_to_all_single`` (waiting for peers included).
        swap_seconds: wall time of the swaps including packing and unpacking the shard.
    """

    swaps: int = 0
    bits: int = 0
    bytes_sent: int = 0
    comm_seconds: float = 0.0
    swap_seconds: float = 0.0


class ShardedState:
    """A batch of ``n``-qubit states split over the processes of a group (see the module docstring).

    Every rank of the group must make the same calls in the same order (they are collective).
    The object is mutable: :meth:`apply` and :meth:`run` replace the local shard.

    Args:
        local: this rank's shard ``(B, 2**(n - g))``; physical layout = logical (identity map).
        n_qubits: qubits of the whole state.
        group: the process group. Defaults to the default group.

    Attributes:
        local: the shard, ``(B, 2**(n - g))``, in the physical layout.
        stats: the :class:`CommStats` of this rank.
    """

    def __init__(self, local: Tensor, n_qubits: int, *, group=None) -> None:
        self.group = group
        self.world_size = dist.get_world_size(group)
        self.rank = dist.get_rank(group)
        self.n_qubits = n_qubits
        self.n_global = n_global_qubits(self.world_size, n_qubits)
        self.n_local = n_qubits - self.n_global
        if local.dim() != 2 or local.shape[1] != 2**self.n_local:
            raise ShapeError(f"a shard of {n_qubits} qubits over {self.world_size} processes has shape "
                             f"(B, {2**self.n_local}), got {tuple(local.shape)}")
        self.local = local
        self._physical = list(range(n_qubits))  # logical qubit -> physical position
        self.stats = CommStats()

    @classmethod
    def zero(cls, n_qubits: int, *, batch: int = 1, dtype: torch.dtype = torch.complex64, device=None,
             group=None) -> ShardedState:
        """``|0...0>`` sharded: rank 0 holds the one non-zero amplitude."""
        world = dist.get_world_size(group)
        local_qubits = n_qubits - n_global_qubits(world, n_qubits)
        device = default_device(group) if device is None else torch.device(device)
        check_memory(local_qubits, batch, dtype=dtype, device=device)
        local = torch.zeros(batch, 2**local_qubits, dtype=dtype, device=device)
        if dist.get_rank(group) == 0:
            local[:, 0] = 1
        return cls(local, n_qubits, group=group)

    @classmethod
    def from_state(cls, state: Tensor, *, group=None) -> ShardedState:
        """Keep this rank's slice of a full ``(B, 2**n)`` state that every rank holds."""
        if state.dim() != 2 or state.shape[1] & (state.shape[1] - 1):
            raise ShapeError(f"state must have shape (B, 2**n), got {tuple(state.shape)}")
        n = state.shape[1].bit_length() - 1
        size = 2 ** (n - n_global_qubits(dist.get_world_size(group), n))
        rank = dist.get_rank(group)
        return cls(state[:, rank * size:(rank + 1) * size].clone(), n, group=group)

    @property
    def layout(self) -> tuple[int, ...]:
        """The physical position of each logical qubit (positions ``< n_global`` are global)."""
        return tuple(self._physical)

    # ----- gates
    def apply(self, op: Op) -> None:
        """Apply one op (a collective call: every rank applies the same op)."""
        self.run([op], lookahead=False)

    def run(self, ops: Sequence[Op], *, lookahead: bool = True) -> None:
        """Apply a program; with ``lookahead`` each exchange also brings in later gates' qubits."""
        ops = [part for op in ops for part in _split_kron(op)]
        needs = [_needs_local(op) for op in ops]
        self._broadcast_batch(max((_batch_of(op) for op in ops), default=1))
        with torch.no_grad():
            for i, op in enumerate(ops):
                if needs[i] is None:  # uncontrolled SWAP: relabel
                    a, b = op.qubits
                    self._physical[a], self._physical[b] = self._physical[b], self._physical[a]
                    continue
                if len(needs[i]) > self.n_local:
                    raise QubitIndexError(f"a {op.kind} gate on {len(needs[i])} qubits needs them local, but a shard "
                                          f"has {self.n_local} local qubits; use fewer processes")
                if any(self._is_global(q) for q in needs[i]):
                    self._localize(needs, i, lookahead)
                self._apply_local(op)

    def _broadcast_batch(self, batch: int) -> None:
        """Give the shard the program's batch up front, so every rank's shard has the same shape
        (a rank that skips a gate of per-sample data would otherwise keep a batch of 1)."""
        have = self.local.shape[0]
        if batch in (1, have):
            return
        if have != 1:
            raise ShapeError(f"the program has per-sample data for a batch of {batch} but the state has a batch of {have}")
        check_memory(self.n_local, batch, dtype=self.local.dtype, device=self.local.device)
        self.local = self.local.expand(batch, -1).contiguous()

    def _is_global(self, qubit: int) -> bool:
        return self._physical[qubit] < self.n_global

    def _bit(self, position: int) -> int:
        """This rank's value of the global bit at physical ``position``."""
        return (self.rank >> bit_position(position, self.n_global)) & 1

    def _localize(self, needs: list[frozenset[int] | None], i: int, lookahead: bool) -> None:
        """Swap in the global qubits of op ``i`` (and of the following ops, if they fit)."""
        want: list[int] = []
        busy: set[int] = set()
        last = i
        for j in range(i, len(needs) if lookahead else i + 1):
            if needs[j] is None:
                break
            more = want + sorted(q for q in needs[j] if self._is_global(q) and q not in want)
            used = busy | {q for q in needs[j] if not self._is_global(q)}
            if j > i and len(more) > self.n_local - len(used):
                break
            want, busy, last = more, used, j

        def next_use(q: int) -> int:
            return next((j for j in range(last + 1, len(needs)) if needs[j] and q in needs[j]), len(needs))

        free = [q for q in range(self.n_qubits) if not self._is_global(q) and q not in busy]
        victims = sorted(free, key=next_use, reverse=True)[: len(want)]
        self._swap_bits([(self._physical[a], self._physical[b]) for a, b in zip(want, victims)])

    def _swap_bits(self, pairs: list[tuple[int, int]]) -> None:
        """Exchange global positions with local ones: ``pairs`` of (global, local) positions."""
        start = time.perf_counter()
        pairs = sorted(pairs)  # ascending global positions: destination ranks ascend with the chunk index
        m, g = len(pairs), self.n_global
        axes = [1 + local - g for _, local in pairs]
        rest = [a for a in range(1, self.n_local + 1) if a not in axes]
        order = [*axes, 0, *rest]
        shape = (self.local.shape[0],) + (2,) * self.n_local
        send = self.local.reshape(shape).permute(order).contiguous()
        base = self.rank & ~qubit_mask((glob for glob, _ in pairs), g)
        peers = {base | _spread(v, [bit_position(glob, g) for glob, _ in pairs]) for v in range(2**m)}
        chunk = _words(send).numel() // 2**m  # real words per peer
        splits = [chunk if r in peers else 0 for r in range(self.world_size)]
        recv = torch.empty_like(send)
        _sync(send)
        began = time.perf_counter()
        dist.all_to_all_single(_words(recv), _words(send), splits, splits, group=self.group)
        _sync(recv)
        self.stats.comm_seconds += time.perf_counter() - began
        inverse = sorted(range(len(order)), key=order.__getitem__)
        self.local = recv.permute(inverse).reshape(self.local.shape)
        for glob, local in pairs:
            a, b = self._physical.index(glob), self._physical.index(local)
            self._physical[a], self._physical[b] = local, glob
        self.stats.swaps += 1
        self.stats.bits += m
        self.stats.bytes_sent += (2**m - 1) * chunk * _words(send).element_size()
        self.stats.swap_seconds += time.perf_counter() - start

    def _apply_local(self, op: Op) -> None:
        """Apply ``op`` (targets that must be local are local) to the shard."""
        g = self.n_global
        controls, values = [], []
        for c, v in zip(op.controls, op.control_values or (1,) * len(op.controls)):
            p = self._physical[c]
            if p >= g:
                controls.append(p - g)
                values.append(v)
            elif self._bit(p) != v:
                return  # the control is not satisfied anywhere in this shard
        targets = [self._physical[q] for q in op.qubits]
        data = op.data
        if op.kind == "diagonal":
            data, targets = self._fix_diagonal(data, targets)
        elif op.kind == "pauli_rotation":
            sign, letters = 1, []
            for p, letter in zip(targets, op.pauli):
                if p < g:
                    sign *= 1 - 2 * self._bit(p) if letter == "Z" else 1
                else:
                    letters.append((p, letter))
            targets = [p for p, _ in letters]
            data = data * sign
            if not targets:  # exp(-i theta/2 * sign): a phase on the controlled subspace
                self._phase(torch.exp(-0.5j * data.to(self.local.dtype)), controls, values)
                return
            op = replace(op, pauli="".join(letter for _, letter in letters))
        if targets == [] and op.kind == "diagonal":
            self._phase(data[..., 0], controls, values)
            return
        local = replace(op, qubits=tuple(p - g for p in targets), controls=tuple(controls),
                        control_values=tuple(values) if op.control_values is not None else None, data=data)
        self.local = local.apply(self.local)

    def _fix_diagonal(self, data: Tensor, targets: list[int]) -> tuple[Tensor, list[int]]:
        """Slice a diagonal at this rank's global bits; keep the local targets."""
        k = len(targets)
        lead = data.shape[:-1]
        index = (Ellipsis,) + tuple(self._bit(p) if p < self.n_global else slice(None) for p in targets)
        kept = [p for p in targets if p >= self.n_global]
        return data.reshape(*lead, *(2,) * k)[index].reshape(*lead, 2 ** len(kept)), kept

    def _phase(self, phase: Tensor, controls: list[int], values: list[int]) -> None:
        """Multiply the controlled subspace of the shard by ``phase`` (``()`` or ``(B,)``)."""
        if not controls:
            self.local = self.local * (phase.reshape(-1, 1) if phase.dim() else phase)
            return
        one = torch.ones_like(phase)
        diagonal = torch.stack([one, phase] if values[0] else [phase, one], dim=-1)
        op = Op("diagonal", (controls[0],), tuple(controls[1:]), tuple(values[1:]), diagonal)
        self.local = op.apply(self.local)

    # ----- read-outs
    def probabilities(self, qubits: Sequence[int] | None = None) -> Tensor:
        """Outcome probabilities ``(B, 2**k)`` of ``qubits`` (all by default) on every rank.

        Local marginals plus one ``all_reduce`` of ``B * 2**k`` numbers: keep ``k`` small.
        """
        qubits = qubits_or_all(qubits, self.n_qubits)
        local = [q for q in qubits if not self._is_global(q)]
        p = _local_probabilities(self.local, [self._physical[q] - self.n_global for q in local])
        out = torch.zeros((p.shape[0],) + (2,) * len(qubits), dtype=p.dtype, device=p.device)
        index = tuple(self._bit(self._physical[q]) if self._is_global(q) else slice(None) for q in qubits)
        out[(slice(None),) + index] = p.reshape((p.shape[0],) + (2,) * len(local))
        dist.all_reduce(out, group=self.group)
        return out.reshape(p.shape[0], -1)

    def expval_z(self, qubits: Sequence[int] | None = None) -> Tensor:
        """``<Z_q>`` for each of ``qubits`` (all by default): ``(B, k)`` on every rank."""
        qubits = qubits_or_all(qubits, self.n_qubits)
        local = [self._physical[q] - self.n_global for q in qubits if not self._is_global(q)]
        z_local = _local_expval_z(self.local, local) if local else None
        total = _local_probabilities(self.local).sum(1)
        columns, j = [], 0
        for q in qubits:
            if self._is_global(q):
                columns.append(total * (1 - 2 * self._bit(self._physical[q])))
            else:
                columns.append(z_local[:, j])
                j += 1
        out = torch.stack(columns, dim=1)
        dist.all_reduce(out, group=self.group)
        return out

    def gather(self, dst: int = 0) -> Tensor | None:
        """The full ``(B, 2**n)`` state in logical order on rank ``dst`` (None elsewhere)."""
        local = self.local.contiguous()
        parts = [torch.empty_like(local) for _ in range(self.world_size)] if self.rank == dst else None
        dist.gather(_words(local), None if parts is None else [_words(t) for t in parts], group=self.group,
                    group_dst=dst)
        if parts is None:
            return None
        full = torch.cat(parts, dim=1).reshape((self.local.shape[0],) + (2,) * self.n_qubits)
        return full.permute(0, *(1 + p for p in self._physical)).reshape(self.local.shape[0], -1)


def _needs_local(op: Op) -> frozenset[int] | None:
    """Logical qubits that must be local to apply ``op``; None for a relabelling SWAP."""
    if op.kind == "swap" and not op.controls:
        return None
    if op.kind == "diagonal":
        return frozenset()
    if op.kind == "pauli_rotation":
        return frozenset(q for q, letter in zip(op.qubits, op.pauli) if letter in "XY")
    if op.kind == "permutation":
        raise ShapeError("a 'permutation' op gathers all 2**n amplitudes and cannot run on a shard; "
                         "build the program without fusion (hybridq.circuits.compile_ops)")
    return frozenset(op.qubits)


def _split_kron(op: Op) -> list[Op]:
    """A ``kron`` op as one dense op per qubit (each can then be swapped in on its own)."""
    if op.kind != "kron":
        return [op]
    return [Op("dense", (q,), data=op.data[..., j, :, :], real=op.real) for j, q in enumerate(op.qubits)]


def _spread(value: int, shifts: list[int]) -> int:
    """Place the bits of ``value`` (most significant first) at the rank bit ``shifts``."""
    return sum(int(bit) << s for bit, s in zip(index_to_bits(value, len(shifts)), shifts))


def _sync(tensor: Tensor) -> None:
    if tensor.is_cuda:
        torch.cuda.synchronize(tensor.device)


def _words(tensor: Tensor) -> Tensor:
    """A contiguous tensor as flat real words (collectives do not all take complex dtypes)."""
    return (torch.view_as_real(tensor) if tensor.is_complex() else tensor).reshape(-1)


def _batch_of(op: Op) -> int:
    """The batch of an op's per-sample data (1 if shared)."""
    rank = {"dense": 2, "kron": 3, "diagonal": 1, "pauli_rotation": 0}.get(op.kind)
    return op.data.shape[0] if rank is not None and op.data is not None and op.data.dim() > rank else 1


def default_device(group) -> torch.device:
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# ----- local process groups
def launch(fn: Callable, nprocs: int, *args, backend: Backend = "gloo", start_method: str | None = None,
           timeout: float = 300.0, threads: int = 1) -> list:
    """Run ``fn(rank, world_size, *args)`` in ``nprocs`` new processes joined in a process group.

    The group meets through a ``FileStore`` in a fresh temporary folder (no port to pick);
    gloo talks over the loopback interface. Each process uses ``threads`` torch threads and,
    with NCCL, GPU ``rank``. Returns each rank's return value (pickled through the folder).

    Args:
        fn: the work; with spawn, a function the new processes can import by name.
        nprocs: number of processes.
        args: more arguments for ``fn``.
        backend: ``"gloo"`` (CPU) or ``"nccl"`` (GPUs). Defaults to gloo.
        start_method: ``"fork"`` or ``"spawn"``. Defaults to fork for gloo on Linux without
            CUDA (starts in a fraction of a second), spawn otherwise: a process forked after
            CUDA started fails at its first CUDA call (even optimizers make one).
        timeout: seconds before the processes are killed and ``TimeoutError`` is raised;
            also the timeout of each collective.
        threads: torch threads per process. Defaults to 1.
    """
    import torch.multiprocessing as mp

    if start_method is None:
        fork = backend == "gloo" and sys.platform == "linux" and not torch.cuda.is_available()
        start_method = "fork" if fork else "spawn"
    with tempfile.TemporaryDirectory(prefix="hybridq-dist-") as folder:
        ctx = mp.start_processes(_entry, args=(fn, nprocs, args, backend, folder, timeout, threads), nprocs=nprocs,
                                 join=False, start_method=start_method)
        deadline = time.monotonic() + timeout
        while not ctx.join(timeout=max(0.0, min(1.0, deadline - time.monotonic()))):
            if time.monotonic() > deadline:
                for p in ctx.processes:
                    if p.is_alive():
                        p.kill()
                raise TimeoutError(f"{nprocs} processes running {getattr(fn, '__name__', fn)} "
                                   f"did not finish within {timeout:g} s")
        return [torch.load(Path(folder) / f"rank{r}.pt", weights_only=False) for r in range(nprocs)]


def _entry(rank: int, fn: Callable, nprocs: int, args: tuple, backend: str, folder: str, timeout: float,
           threads: int) -> None:
    torch.set_num_threads(threads)
    if backend == "gloo" and sys.platform == "linux":
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    if backend == "nccl":
        torch.cuda.set_device(rank % torch.cuda.device_count())
    store = dist.FileStore(os.path.join(folder, "store"), nprocs)
    dist.init_process_group(backend, store=store, rank=rank, world_size=nprocs,
                            timeout=datetime.timedelta(seconds=timeout))
    try:
        result = fn(rank, nprocs, *args)
        torch.save(result, os.path.join(folder, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


# ----- timing: python -m hybridq.sim.distributed --qubits 20 --procs 1 2 4
def layered_program(n_qubits: int, layers: int, *, dtype: torch.dtype = torch.complex64, device=None,
                    seed: int = 0) -> list[Op]:
    """A benchmark program: per layer RY on every qubit, a CNOT chain and RZ on every qubit.

    >>> [op.kind for op in layered_program(2, 1)]
    ['dense', 'dense', 'flip', 'diagonal', 'diagonal']
    """
    from .ops import gate_op

    g = torch.Generator().manual_seed(seed)
    ops = []
    for _ in range(layers):
        common = dict(n_qubits=n_qubits, dtype=dtype, device=device)
        ops += [gate_op("RY", [q], [float(torch.rand((), generator=g)) * math.pi], **common) for q in range(n_qubits)]
        ops += [gate_op("CNOT", [q, q + 1], **common) for q in range(n_qubits - 1)]
        ops += [gate_op("RZ", [q], [float(torch.rand((), generator=g)) * math.pi], **common) for q in range(n_qubits)]
    return ops


def _time_program(rank: int, world: int, n_qubits: int, layers: int, repeats: int, dtype: torch.dtype) -> dict:
    ops = layered_program(n_qubits, layers, dtype=dtype)
    best = None
    for _ in range(repeats + 1):  # the first run warms up
        state = ShardedState.zero(n_qubits, dtype=dtype)
        dist.barrier()
        start = time.perf_counter()
        state.run(ops)
        dist.barrier()
        seconds = time.perf_counter() - start
        if best is None or seconds < best[0]:
            best = (seconds, state.stats)
    seconds, stats = best
    return {"seconds": seconds, "gates": len(ops), "swaps": stats.swaps, "bits": stats.bits,
            "bytes_sent": stats.bytes_sent, "comm_seconds": stats.comm_seconds, "swap_seconds": stats.swap_seconds}


def main(argv: Sequence[str] | None = None) -> dict:
    """Time a layered program on 1, 2, 4... gloo processes; print and return the numbers."""
    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--qubits", type=int, default=20)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--repeats", type=int, default=2, help="timed runs per setting (the best is kept)")
    p.add_argument("--dtype", choices=["complex64", "complex128"], default="complex64")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--json", type=Path, help="also write the results here")
    a = p.parse_args(argv)
    dtype = getattr(torch, a.dtype)
    rows = []
    for procs in a.procs:
        per_rank = launch(_time_program, procs, a.qubits, a.layers, a.repeats, dtype, threads=a.threads)
        slowest = max(per_rank, key=lambda r: r["seconds"])
        comm = max(r["comm_seconds"] for r in per_rank)
        rows.append({"procs": procs, "qubits": a.qubits, "gates": slowest["gates"],
                     "ms_per_gate": 1e3 * slowest["seconds"] / slowest["gates"], "swaps": slowest["swaps"],
                     "bits_swapped": slowest["bits"], "mib_sent_per_rank": slowest["bytes_sent"] / 2**20,
                     "comm_share": comm / slowest["seconds"],
                     "swap_share": max(r["swap_seconds"] for r in per_rank) / slowest["seconds"]})
        print(json.dumps(rows[-1]), flush=True)
    results = {"dtype": a.dtype, "threads_per_process": a.threads, "cpus": os.cpu_count(), "rows": rows}
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
