"""Reading Pauli sums from files.

Formats (labels are read qubit 0 first, i.e. the leftmost letter acts on qubit 0):

- JSON with ``"terms": [[label, coeff], ...]`` (hybridq's molecule files; other keys such as
  ``"e_hf"`` are metadata). A coefficient is a number, ``[re, im]`` or ``{"real", "imag"}``.
- JSON with ``"paulis": [{"label": ..., "coeff": {"real": ..., "imag": ...}}, ...]`` (the
  8- and 20-qubit files of the LBCS / adaptive-shadows benchmark set).
- Text in line pairs: a label, then a complex coefficient such as ``(-0.81+0j)`` (the other
  files of that benchmark set).

For all three benchmark formats the leftmost letter was checked to act on qubit 0: the
Jordan-Wigner Hartree-Fock bitstring read leftmost-first reproduces each file's Hartree-Fock
energy (e.g. H2/6-31G -1.835803, C2 -89.430766 electronic), while the reversed reading does not.
"""

from __future__ import annotations

import json
from os import PathLike
from pathlib import Path

from hybridq.errors import PauliError
from hybridq.operators.pauli_sum import PauliSum


def read_pauli_sum(path: str | PathLike) -> PauliSum:
    """Read a Pauli sum from a JSON or line-pair text file (format detected from the content).

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "h.txt"
    >>> _ = f.write_text("ZI\\n(0.5+0j)\\nXX\\n(-1+0j)\\n")
    >>> read_pauli_sum(f).to_list()
    [('ZI', (0.5+0j)), ('XX', (-1+0j))]
    """
    text = Path(path).read_text()
    if text.lstrip().startswith("{"):
        return pauli_sum_from_json(json.loads(text), source=str(path))
    return _from_line_pairs(text, source=str(path))


def pauli_sum_from_json(data: dict, *, source: str = "JSON data") -> PauliSum:
    """PauliSum from a parsed JSON object with ``"terms"`` or ``"paulis"`` (see module doc)."""
    if "terms" in data:
        pairs = [(label, _coeff(c, source)) for label, c in data["terms"]]
    elif "paulis" in data:
        pairs = [(p["label"], _coeff(p["coeff"], source)) for p in data["paulis"]]
    else:
        raise PauliError(f"{source}: expected a JSON object with 'terms' or 'paulis'; got keys {sorted(data)}")
    return PauliSum.from_list(pairs, n_qubits=data.get("n_qubits"))


def _coeff(value, source: str) -> complex:
    if isinstance(value, dict):
        return complex(value.get("real", 0.0), value.get("imag", 0.0))
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return complex(value[0], value[1])
    if isinstance(value, (int, float)):
        return complex(value)
    raise PauliError(f"{source}: expected a coefficient as a number, [re, im] or {{'real', 'imag'}}; got {value!r}")


def _from_line_pairs(text: str, *, source: str) -> PauliSum:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) % 2:
        raise PauliError(f"{source}: expected pairs of lines (label, coefficient); got {len(lines)} lines")
    coeffs = []
    for i, line in enumerate(lines[1::2]):
        try:
            coeffs.append(complex(line))
        except ValueError:
            raise PauliError(
                f"{source}: term {i}: expected a complex coefficient such as (0.5+0j) after label "
                f"{lines[2 * i]!r}; got {line!r}"
            ) from None
    return PauliSum.from_list(list(zip(lines[0::2], coeffs)))
