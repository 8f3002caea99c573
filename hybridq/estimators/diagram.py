"""Decision diagrams over Pauli bases (after Hillmich, Hadfield, Raymond, Mezzacapo, Wille 2021).

A diagram is a layered DAG: layer ``l`` holds the edges from the nodes of level ``l`` to those
of level ``l + 1``; each edge carries a letter (X=1, Y=2, Z=3) for qubit ``l`` and the
probability of taking it from its source node. Level 0 is one root, level ``n`` one terminal.
A root-to-terminal path is a basis drawn with the product of its edge probabilities. Product
distributions (uniform or locally biased shadows) are diagrams with one node per level.

The covering probability of a string ``S`` (its letters matched, identities free) is a
dynamic programme over the layers: a forward mass ``F`` (root to a node, prefix covered) and a
backward mass ``B`` (node to terminal, suffix covered), vectorised over many strings.
:func:`coverage` splits strings in the middle, runs ``F`` on the distinct prefixes and ``B``
on the distinct suffixes, and joins them: ``zeta(S) = sum_v F(prefix, v) B(suffix, v)``.
No path is ever enumerated.

>>> import numpy as np
>>> d = Diagram.product(np.array([[0.2, 0.3, 0.5], [1/3, 1/3, 1/3]]))
>>> coverage(d, np.array([[3, 0], [3, 1]])).round(4).tolist()
[0.5, 0.1667]
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

CHUNK_ELEMENTS = 1 << 22


@dataclass(frozen=True)
class Layer:
    """Edges from the ``n_src`` nodes of one level to the ``n_dst`` nodes of the next.

    Attributes:
        src, dst: ``(E,)`` node indices; edges are sorted by ``src``.
        letter: ``(E,)`` codes in {1, 2, 3}.
        prob: ``(E,)`` probabilities, summing to 1 over each source node's edges.
    """

    src: np.ndarray
    dst: np.ndarray
    letter: np.ndarray
    prob: np.ndarray
    n_src: int
    n_dst: int

    def gates(self) -> np.ndarray:
        """``(4, E)``: edge probability times [string letter (row) is I or the edge letter]."""
        match = np.ones((4, len(self.letter)))
        match[1:] = self.letter[None, :] == np.arange(1, 4)[:, None]
        return match * self.prob

    def src_starts(self) -> np.ndarray:
        """Index of each source node's first edge (edges are sorted by ``src``)."""
        return np.searchsorted(self.src, np.arange(self.n_src))


@dataclass(frozen=True)
class Diagram:
    """A decision diagram over ``len(layers)`` qubits (see the module docstring)."""

    layers: tuple[Layer, ...]

    @property
    def n_qubits(self) -> int:
        """Number of qubits (levels below the root)."""
        return len(self.layers)

    @property
    def n_nodes(self) -> int:
        """Number of nodes, root and terminal included."""
        return sum(layer.n_src for layer in self.layers) + 1

    @property
    def n_edges(self) -> int:
        """Number of edges."""
        return sum(len(layer.src) for layer in self.layers)

    @classmethod
    def product(cls, beta: np.ndarray) -> Diagram:
        """One node per level with edge probabilities ``beta[l]`` over (X, Y, Z)."""
        zeros = np.zeros(3, dtype=np.int64)
        letters = np.arange(1, 4, dtype=np.uint8)
        return cls(tuple(Layer(zeros, zeros.copy(), letters, np.asarray(b, float), 1, 1) for b in beta))

    def with_probs(self, probs: list[np.ndarray]) -> Diagram:
        """The same diagram with new edge probabilities (one array per layer)."""
        return replace(self, layers=tuple(replace(layer, prob=p) for layer, p in zip(self.layers, probs)))


def _segment_sum(values: np.ndarray, segment: np.ndarray, n_segments: int) -> np.ndarray:
    """Sum the columns of ``values`` ``(M, E)`` into ``n_segments`` by ``segment`` ``(E,)``."""
    order = np.argsort(segment, kind="stable")
    starts = np.searchsorted(segment[order], np.arange(n_segments))
    out = np.add.reduceat(values[:, order], np.minimum(starts, len(order) - 1), axis=1)
    empty = np.append(starts[1:], len(order)) == starts
    out[:, empty] = 0.0
    return out


def forward(diagram: Diagram, codes: np.ndarray, stop: int | None = None) -> list[np.ndarray]:
    """Forward masses ``F[l]`` ``(M, nodes at level l)`` for ``l = 0..stop`` of strings whose
    letters on qubits ``0..stop-1`` are ``codes`` ``(M, >= stop)``."""
    stop = diagram.n_qubits if stop is None else stop
    masses = [np.ones((len(codes), 1))]
    for level in range(stop):
        layer = diagram.layers[level]
        flow = masses[-1][:, layer.src] * layer.gates()[codes[:, level]]
        masses.append(_segment_sum(flow, layer.dst, layer.n_dst))
    return masses


def backward(diagram: Diagram, codes: np.ndarray, start: int = 0) -> list[np.ndarray]:
    """Backward masses ``B[l - start]`` ``(M, nodes at level l)`` for ``l = start..n`` of
    strings whose letters on qubits ``start..n-1`` are ``codes`` ``(M, n - start)``."""
    masses = [np.ones((len(codes), 1))]
    for level in range(diagram.n_qubits - 1, start - 1, -1):
        layer = diagram.layers[level]
        flow = masses[0][:, layer.dst] * layer.gates()[codes[:, level - start]]
        masses.insert(0, np.add.reduceat(flow, layer.src_starts(), axis=1))
    return masses


def _unique_rows(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a code array and the inverse index."""
    if codes.shape[1] <= 31:
        keys = codes.astype(np.uint64) @ (np.uint64(4) ** np.arange(codes.shape[1], dtype=np.uint64))
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        return codes[first], inverse.reshape(-1)
    uniq, inverse = np.unique(codes, axis=0, return_inverse=True)
    return uniq, inverse.reshape(-1)


def coverage(diagram: Diagram, codes: np.ndarray) -> np.ndarray:
    """Probability that a sampled basis covers each string ``codes`` ``(M, n)`` (I=0 free)."""
    codes = np.asarray(codes, dtype=np.uint8)
    mid = diagram.n_qubits // 2
    prefixes, pre_index = _unique_rows(codes[:, :mid])
    suffixes, suf_index = _unique_rows(codes[:, mid:])
    head = _chunked(lambda rows: forward(diagram, rows, mid)[-1], prefixes)
    tail = _chunked(lambda rows: backward(diagram, rows, mid)[0], suffixes)
    out = np.empty(len(codes))
    step = max(1, CHUNK_ELEMENTS // max(head.shape[1], 1))
    for start in range(0, len(codes), step):
        sl = slice(start, start + step)
        out[sl] = np.einsum("ij,ij->i", head[pre_index[sl]], tail[suf_index[sl]])
    return out


def _chunked(fn, codes: np.ndarray) -> np.ndarray:
    step = max(1, CHUNK_ELEMENTS // 4096)
    return np.concatenate([fn(codes[i:i + step]) for i in range(0, max(len(codes), 1), step)])


def edge_loads(diagram: Diagram, codes: np.ndarray, weights: np.ndarray) -> tuple[list[np.ndarray], float]:
    """Per edge ``T(e) = sum_Q w_Q zeta(Q through e) / zeta(Q)**2`` and the cost
    ``sum_Q w_Q / zeta(Q)`` (with ``w = a**2`` this is the diagonal variance objective)."""
    loads = [np.zeros(len(layer.src)) for layer in diagram.layers]
    cost = 0.0
    step = max(1, CHUNK_ELEMENTS // max(diagram.n_nodes, 1))
    for first in range(0, len(codes), step):
        rows = codes[first:first + step]
        fwd = forward(diagram, rows)
        bwd = backward(diagram, rows)
        zeta = bwd[0][:, 0]
        scale = weights[first:first + step] / zeta**2
        cost += float(np.sum(weights[first:first + step] / zeta))
        for level, layer in enumerate(diagram.layers):
            flow = fwd[level][:, layer.src] * layer.gates()[rows[:, level]] * bwd[level + 1][:, layer.dst]
            loads[level] += scale @ flow
    return loads, cost


def normalise(layer: Layer, weights: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Edge weights -> probabilities per source node (uniform where a node's weights are all 0),
    each at least ``floor`` times uniform."""
    totals = np.bincount(layer.src, weights=weights, minlength=layer.n_src)
    degree = np.bincount(layer.src, minlength=layer.n_src).astype(float)
    probs = np.where(totals[layer.src] > 0, weights / np.where(totals > 0, totals, 1)[layer.src],
                     1.0 / degree[layer.src])
    if floor > 0:
        probs = np.maximum(probs, floor / degree[layer.src])
        probs /= np.bincount(layer.src, weights=probs, minlength=layer.n_src)[layer.src]
    return probs


def sample(diagram: Diagram, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``shots`` bases (paths): ``(shots, n)`` uint8 codes."""
    out = np.empty((int(shots), diagram.n_qubits), dtype=np.uint8)
    node = np.zeros(int(shots), dtype=np.int64)
    for level, layer in enumerate(diagram.layers):
        cumulative = np.cumsum(layer.prob)
        starts = layer.src_starts()
        ends = np.append(starts[1:], len(layer.src)) - 1
        base = np.where(starts > 0, cumulative[np.maximum(starts - 1, 0)], 0.0)
        within = (cumulative - base[layer.src]) / (cumulative[ends] - base)[layer.src]
        within[ends] = 1.0  # every node's last edge closes at exactly 1
        keys = layer.src + within
        edge = np.searchsorted(keys, node + rng.random(len(node)), side="right")
        edge = np.minimum(edge, ends[node])
        out[:, level] = layer.letter[edge]
        node = layer.dst[edge]
    return out


def from_paths(paths: np.ndarray, weights: np.ndarray) -> Diagram:
    """Diagram whose paths are the rows of ``paths`` ``(G, n)``, drawn with probability
    proportional to ``weights`` ``(G,)``.

    Rows share their prefixes (a trie), identity letters become X, Y and Z edges to the same
    child with a third of the weight each, and nodes with the same outgoing (letter, child)
    edges are merged bottom-up (their edge weights add up), so common suffixes are stored once.
    """
    paths = np.asarray(paths, dtype=np.uint8)
    weights = np.asarray(weights, dtype=float)
    n = paths.shape[1]
    prefix_ids = [np.zeros(len(paths), dtype=np.int64)]
    for level in range(1, n + 1):
        prefix_ids.append(_unique_rows(paths[:, :level])[1] if level < n else np.zeros(len(paths), np.int64))
    canon = np.zeros(1, dtype=np.int64)  # canonical id of each trie node at level n (the terminal)
    layers: list[Layer] = []
    for level in range(n - 1, -1, -1):
        parent, child = prefix_ids[level], canon[prefix_ids[level + 1]]
        letters = paths[:, level]
        edges: dict[tuple[int, int, int], float] = {}
        for p, c, letter, w in zip(parent.tolist(), child.tolist(), letters.tolist(), weights.tolist()):
            for code in (1, 2, 3) if letter == 0 else (letter,):
                key = (p, code, c)
                edges[key] = edges.get(key, 0.0) + (w / 3 if letter == 0 else w)
        outgoing: dict[int, dict[tuple[int, int], float]] = {}
        for (p, code, c), w in edges.items():
            outgoing.setdefault(p, {})[(code, c)] = w
        signatures: dict[frozenset, int] = {}
        merged: list[dict[tuple[int, int], float]] = []
        canon = np.zeros(int(parent.max()) + 1, dtype=np.int64)
        for p in range(len(canon)):
            sig = frozenset(outgoing[p])
            if sig not in signatures:
                signatures[sig] = len(merged)
                merged.append(dict.fromkeys(outgoing[p], 0.0))
            canon[p] = signatures[sig]
            for key, w in outgoing[p].items():
                merged[canon[p]][key] += w
        rows = sorted((src, code, c, w) for src, out in enumerate(merged) for (code, c), w in out.items())
        src, code, dst, w = (np.array(col) for col in zip(*rows))
        n_dst = layers[0].n_src if layers else 1
        layer = Layer(src.astype(np.int64), dst.astype(np.int64), code.astype(np.uint8), w, len(merged), n_dst)
        layers.insert(0, replace(layer, prob=normalise(layer, w)))
    return Diagram(tuple(layers))
