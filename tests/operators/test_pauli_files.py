import json
from importlib import resources

import pytest

from hybridq.errors import PauliError
from hybridq.operators import PauliSum

EXPECTED = PauliSum.from_list([("ZIX", 0.5), ("IYY", -1.0 + 0.25j)])


def test_line_pair_text(tmp_path):
    path = tmp_path / "jw.txt"
    path.write_text("ZIX\n(0.5+0j)\n\nIYY\n(-1+0.25j)\n")
    assert PauliSum.from_file(path) == EXPECTED


def test_json_terms_with_each_coefficient_form(tmp_path):
    path = tmp_path / "h.json"
    terms = [["ZIX", 0.5], ["IYY", {"real": -1.0, "imag": 0.25}]]
    path.write_text(json.dumps({"name": "x", "n_qubits": 3, "terms": terms}))
    assert PauliSum.from_file(path) == EXPECTED
    path.write_text(json.dumps({"terms": [["ZIX", 0.5], ["IYY", [-1.0, 0.25]]]}))
    assert PauliSum.from_file(str(path)) == EXPECTED


def test_json_paulis_format(tmp_path):
    path = tmp_path / "jw.txt"
    paulis = [
        {"label": "ZIX", "coeff": {"real": 0.5, "imag": 0.0}},
        {"label": "IYY", "coeff": {"real": -1.0, "imag": 0.25}},
    ]
    path.write_text(json.dumps({"paulis": paulis}))
    assert PauliSum.from_file(path) == EXPECTED


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("ZIX\n(0.5+0j)\nIYY\n", "pairs of lines"),
        ("ZIX\nhalf\n", "complex coefficient"),
        ("ZIQ\n(0.5+0j)\n", "I, X, Y, Z"),
        ('{"operators": []}', "'terms' or 'paulis'"),
        ('{"terms": [["ZI", "0.5"]]}', "coefficient as a number"),
    ],
)
def test_malformed_files_raise_clear_errors(tmp_path, text, match):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(PauliError, match=match):
        PauliSum.from_file(path)


def test_shipped_files_read_as_plain_files():
    path = resources.files("hybridq.operators").joinpath("data", "LiH_jw.json")
    assert PauliSum.from_file(path) == PauliSum.from_molecule("LiH")
