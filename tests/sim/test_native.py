"""Loading the native kernels: a start whose files are unchanged compares stamps, any write is seen.

The library and its sources are copies in a temporary folder (the library of this machine's
build, its record; a "compiler" that copies it, so that a rebuild is seen without a real build).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hybridq.sim import native


@pytest.fixture
def package(monkeypatch, tmp_path):
    """A package folder with copies of the sources and of this machine's library as if built at install."""
    if native.library() is None:
        pytest.skip("no native kernels on this machine")
    good = Path(native.library()._name)
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    for path in native.SOURCES + native.HEADERS:
        shutil.copy(path, pkg / path.name)
    monkeypatch.setattr(native, "SOURCES", [pkg / p.name for p in native.SOURCES])
    monkeypatch.setattr(native, "HEADERS", [pkg / p.name for p in native.HEADERS])
    monkeypatch.setattr(native, "INSTALLED", pkg / "_native.so")
    shutil.copy(good, native.INSTALLED)
    record = {k: v for k, v in json.loads(good.with_suffix(".json").read_text()).items() if k != "stamp"}
    native.INSTALLED.with_suffix(".json").write_text(json.dumps(record))
    builds = tmp_path / "builds.txt"
    cc = tmp_path / "cc"  # a "compiler" that notes the call and copies the good library to its -o target
    cc.write_text(f'#!/bin/sh\necho build >> {builds}\nwhile [ "$1" != "-o" ]; do shift; done\ncp {good} "$2"\n')
    cc.chmod(0o755)
    monkeypatch.setenv("CC", str(cc))
    monkeypatch.setenv("HYBRIDQ_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("HYBRIDQ_NATIVE", raising=False)
    return pkg, builds


def _load(monkeypatch) -> tuple[bool, int]:
    """Load the kernels afresh: whether they loaded, and how often the sources were read."""
    reads = []
    digest = native._sources_digest
    monkeypatch.setattr(native, "_sources_digest", lambda: reads.append(1) or digest())
    loaded = native.library.__wrapped__() is not None
    return loaded, len(reads)


def test_an_unchanged_library_is_taken_by_its_stamps_and_any_write_is_checked_again(package, monkeypatch):
    pkg, builds = package
    assert _load(monkeypatch) == (True, 1)  # no stamps yet: the files are read and checked, then stamped
    assert "stamp" in json.loads(native.INSTALLED.with_suffix(".json").read_text())
    assert _load(monkeypatch) == (True, 0) and "built at install" in native.status()  # stamps only
    source = native.SOURCES[0]
    os.utime(source, ns=(source.stat().st_atime_ns, source.stat().st_mtime_ns + 10**9))  # touched, not changed
    assert _load(monkeypatch) == (True, 1) and "built at install" in native.status()
    assert _load(monkeypatch) == (True, 0)
    assert not builds.exists()


def test_an_edited_source_rebuilds(package, monkeypatch):
    pkg, builds = package
    assert _load(monkeypatch) == (True, 1)
    header = native.HEADERS[0]
    header.write_text(header.read_text() + "\n/* edited */\n")
    loaded, _ = _load(monkeypatch)
    assert loaded and builds.read_text().split() == ["build"]
    assert "from other sources" in native.status() and "compiled on first use" in native.status()
    # the new build is checked once, then stamped (the stale install is read at every start)
    assert _load(monkeypatch) == (True, 2)
    assert _load(monkeypatch) == (True, 1) and "compiled earlier" in native.status()
    assert builds.read_text().split() == ["build"]


def test_a_library_damaged_after_its_check_is_refused(package, monkeypatch):
    target = native.INSTALLED  # never loaded here: writing into a loaded library would crash this process
    assert native._checked(target)[0] is not None
    assert "stamp" in json.loads(target.with_suffix(".json").read_text())
    with monkeypatch.context() as m:  # the next check reads neither the library nor the sources
        m.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
        m.setattr(native, "_sources_digest", lambda: pytest.fail("the sources were read"))
        assert native._checked(target)[0] is not None
    data = target.read_bytes()
    with open(target, "r+b") as f:  # truncated in place: the size and times change, the inode stays
        f.truncate(len(data) // 2)
    assert native._checked(target) == (None, "is damaged (its checksum does not match)")
    target.write_bytes(data)  # the same bytes again: checked, taken
    assert native._checked(target)[0] is not None
