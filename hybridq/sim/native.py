"""Native CPU kernels (``native.c``, ``chains.c``, ``measure.c``, ``state.c``, ``pairs.c``; ``lanes.h``, ``steps.h``), built with the system C compiler.

``pip install`` builds them into the package (``_native.so``, by :func:`build`, called from
``setup.py``) when a C compiler is found, with ``-O3 -march=native`` and OpenMP. The loader
takes that library only if it was built from these sources for this CPU (a package built on
another machine could use instructions this one lacks); otherwise it compiles the kernels on
first use into a cache folder (``$HYBRIDQ_CACHE``, else ``~/.cache/hybridq``; one library per
package folder, compiler and CPU, see :func:`cached`), reused by later imports. The compiler is
``$CC`` (a command, e.g. ``ccache gcc``), else ``cc`` or ``gcc``. Without one, or with
``HYBRIDQ_NATIVE=0``, :func:`library` returns None and the simulator keeps to its PyTorch path
(one warning says why); :func:`status` says which kernels are active and why.
The build record beside a library holds the digest of its sources and its own SHA-256: a library
from other sources is not taken (a cached one is rebuilt), a damaged file (truncated, emptied,
overwritten) is never loaded, and a library that still fails to load leaves the PyTorch path, like
a failed build. Both checks read every file, so the record also keeps the files' stamps (size,
modification and change times, inode) from the last check that passed: while no stamp has changed,
a start only compares stamps; any write to a source or to the library changes one, and the next
start reads and checks them all again.

This module imports only the standard library at load time (``setup.py`` runs it without torch).

>>> lib = library()
>>> lib is None or hasattr(lib, "fused_forward_f32")
True
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

SOURCES = [Path(__file__).with_name(name) for name in ("native.c", "chains.c", "measure.c", "state.c", "pairs.c")]
#: Included by the sources (part of the build's cache key).
HEADERS = [Path(__file__).with_name(name) for name in ("lanes.h", "steps.h")]
FLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-ffp-contract=fast", "-fopenmp", "-fPIC", "-shared", "-std=c11"]
#: Tried in turn when a compiler rejects FLAGS: without OpenMP (Apple clang: single-threaded
#: kernels), then without the CPU-specific options.
FALLBACK_FLAGS = [[f for f in FLAGS if f != "-fopenmp"], ["-O3", "-fPIC", "-shared", "-std=c11"]]
#: The library built at install, and the record of how (sources, CPU, compiler, flags).
INSTALLED = Path(__file__).with_name("_native.so")

_i64, _int, _ptr = ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
_SIGNATURES = {
    "fused_forward": [_ptr, _i64, _ptr, _i64, _ptr, _ptr, _ptr, _ptr, _ptr, _int, _int, _i64, _int, _int, _int, _ptr],
    "fused_backward": [_ptr, _ptr, _ptr, _ptr, _int, _ptr, _i64, _ptr, _ptr, _ptr, _ptr, _int, _i64, _int, _int,
                       _int, _ptr],
    "state_forward": [_ptr, _ptr, _ptr, _ptr, _ptr, _int, _int, _int],
    "squared_modulus": [_ptr, _ptr, _i64, _int],
    "squared_modulus_backward": [_ptr, _ptr, _ptr, _i64, _int],
    "expval_z": [_ptr, _ptr, _i64, _int, _int],
    "expval_z_backward": [_ptr, _ptr, _ptr, _i64, _int, _int],
    "first_nonfinite": [_ptr, _i64, _ptr],
    "pairs_forward": [_ptr, _i64, _i64, _ptr, _int, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _int],
    "pairs_backward": [_ptr, _ptr, _i64, _i64, _ptr, _int, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _ptr, _i64, _int],
    "chain_products": [_ptr, _ptr, _i64, _i64, _i64, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _ptr, _i64, _i64, _ptr, _ptr,
                       _int, _int],
    "chain_products_backward": [_ptr, _ptr, _i64, _i64, _i64, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _ptr, _i64, _i64,
                                _ptr, _ptr, _int, _ptr, _ptr, _int],
}


def _cache_dir() -> Path:
    return Path(os.environ.get("HYBRIDQ_CACHE") or os.path.expanduser("~/.cache/hybridq"))


@lru_cache(maxsize=None)
def _cpu_model() -> str:
    """What ``-march=native`` depends on (the first processor's model and flags), so a cache shared
    by different machines stays apart."""
    lines = []
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:  # the first processor's block only: a large machine lists hundreds
                if not line.strip():
                    break
                if line.startswith(("model name", "flags")):
                    lines.append(line.strip())
    except OSError:
        return platform.processor()
    return "\n".join(lines)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _sources_digest() -> str:
    return _digest(*(path.read_text() for path in SOURCES + HEADERS))


def _stamp(paths: list[Path]) -> list[list[int]]:
    """Each file's size, modification and change times (ns) and inode: what a write to it changes.

    Raises:
        OSError: a file is missing.
    """
    return [[s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino] for s in map(os.stat, paths)]


def compiler() -> list[str] | None:
    """The C compiler command: ``$CC`` split like a shell word list (``ccache gcc``), else ``cc`` or ``gcc``."""
    if os.environ.get("CC", "").strip():
        return shlex.split(os.environ["CC"])
    found = shutil.which("cc") or shutil.which("gcc")
    return [found] if found else None


def build(target: Path, command: list[str] | None = None) -> dict:
    """Compile the kernels into ``target`` (FLAGS, else each of FALLBACK_FLAGS) and write the record
    of the build beside it (``target`` with suffix ``.json``); returns that record.

    Raises:
        OSError: no compiler was found, or it could not be run.
        subprocess.CalledProcessError: every set of flags failed (its ``stderr`` says why).
    """
    command = command or compiler()
    if command is None:
        raise FileNotFoundError("no C compiler found (set CC, or install cc or gcc)")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:  # build aside, then rename: safe
        built = Path(tmp) / target.name                            # with concurrent processes
        for flags in [FLAGS, *FALLBACK_FLAGS]:
            try:
                subprocess.run([*command, *flags, *map(str, SOURCES), "-o", str(built), "-lm"], check=True,
                               capture_output=True, text=True, timeout=300)
                break
            except subprocess.CalledProcessError:
                if flags is FALLBACK_FLAGS[-1]:
                    raise
        record = {"sources": _sources_digest(), "cpu": _digest(_cpu_model()), "compiler": shlex.join(command),
                  "flags": flags, "sha256": hashlib.sha256(built.read_bytes()).hexdigest()}
        built.with_suffix(".json").write_text(json.dumps(record))  # without stamps: the next start checks it all
        os.replace(built, target)  # the record last: a crash between the renames leaves a mismatch (rebuilt)
        os.replace(built.with_suffix(".json"), target.with_suffix(".json"))
    return record


def _checked(target: Path) -> tuple[dict | None, str]:
    """The build record of ``target`` if the library may be loaded here, else None; and why not.

    It may when built for this CPU, from these sources, and intact (its SHA-256 matches the
    record's: a truncated file would crash the process with SIGBUS when loaded or used). The last
    two are taken as shown while the files' stamps equal those of the last check that passed;
    otherwise the files are read and checked, and on success the record keeps the new stamps
    (where it can be written).
    """
    try:
        record = json.loads(target.with_suffix(".json").read_text())
        stamp = _stamp(SOURCES + HEADERS + [target])  # before the files are read: a write meanwhile changes it
        if record.get("cpu") != _digest(_cpu_model()):
            return None, "was compiled for another CPU"
        if record.get("stamp") == stamp:
            return record, ""
        if record.get("sha256") != hashlib.sha256(target.read_bytes()).hexdigest():
            return None, "is damaged (its checksum does not match)"
        if record.get("sources") != _sources_digest():
            return None, "is from other sources"
    except (OSError, ValueError, AttributeError):
        return None, "is missing or has no readable record"
    aside = target.with_name(f".{target.name}.{os.getpid()}.json")  # written aside, then renamed: never half read
    try:
        aside.write_text(json.dumps({**record, "stamp": stamp}))
        os.replace(aside, target.with_suffix(".json"))
    except OSError:  # a read-only install: checked again at the next start
        pass
    return record, ""


def _installed() -> tuple[Path | None, str]:
    """The library built at install if it fits these sources and this CPU, and why (not)."""
    if not INSTALLED.exists():
        return None, "no library was built at install"
    record, why = _checked(INSTALLED)
    if record is None:
        return None, f"the library built at install {why}"
    return INSTALLED, f"built at install by {record['compiler']} {' '.join(record['flags'])}"


def cached(command: list[str]) -> Path:
    """Where the kernels that ``command`` compiles on first use are kept: one library per package
    folder, compiler, flags and CPU (rebuilt in place when the sources change).

    >>> cached(["gcc"]).name.startswith("native-") and cached(["gcc"]) != cached(["clang"])
    True
    """
    key = _digest(str(Path(__file__).parent), shlex.join(command), *FLAGS, _cpu_model())
    return _cache_dir() / f"native-{key}.so"


_status = ["not loaded yet"]


def _note(text: str) -> None:
    _status[0] = text


@lru_cache(maxsize=None)
def library() -> ctypes.CDLL | None:
    """The compiled kernels, or None where they cannot be built (see the module docstring)."""
    if os.environ.get("HYBRIDQ_NATIVE", "1") == "0":
        _note("PyTorch only: HYBRIDQ_NATIVE=0")
        return None
    target, why = _installed()
    if target is None:
        command = compiler()
        if command is None:
            _note(f"PyTorch only: no C compiler found (set CC); {why}")
            warnings.warn("hybridq: no C compiler found; CPU simulation uses the PyTorch kernels only", stacklevel=2)
            return None
        target = cached(command)
        record, _ = _checked(target)
        fresh = record is None
        if fresh:
            try:
                record = build(target, command)
            except (OSError, subprocess.SubprocessError) as error:
                detail = str(getattr(error, "stderr", None) or error).strip()[:300]
                _note(f"PyTorch only: {shlex.join(command)} could not build the kernels ({detail}); {why}")
                warnings.warn(f"hybridq: could not build the native CPU kernels with {shlex.join(command)} ({detail}); "
                              "CPU simulation uses the PyTorch kernels only", stacklevel=2)
                return None
        how = f"{record.get('compiler', shlex.join(command))} {' '.join(record.get('flags', []))}"
        why = f"{'compiled on first use' if fresh else 'compiled earlier'} into {target.parent} by {how} ({why})"
    try:
        lib = ctypes.CDLL(str(target))
        for name in _SIGNATURES:  # every kernel is there (their argument types are set on first use, by kernel)
            getattr(lib, f"{name}_f32"), getattr(lib, f"{name}_f64")
    except (OSError, AttributeError) as error:
        detail = f"could not load the native CPU kernels from {target} ({str(error)[:300]})"
        _note(f"PyTorch only: {detail}; delete it to rebuild")
        warnings.warn(f"hybridq: {detail}; CPU simulation uses the PyTorch kernels only", stacklevel=2)
        return None
    _note(f"native, {why}")
    return lib


def status() -> str:
    """Which CPU kernels are active and why (loads them if needed).

    >>> status().startswith(("native, ", "PyTorch only: "))
    True
    """
    library()
    return _status[0]


def kernel(name: str, dtype):
    """The built kernel ``name`` for single precision (float32 or complex64 ``dtype``) or double.

    Other dtypes are refused (the kernels would write 4- or 8-byte values into smaller ones).

    >>> import torch
    >>> lib = library()
    >>> lib is None or kernel("expval_z", torch.complex64) is lib.expval_z_f32
    True
    """
    return _kernel_of(library(), name, dtype)


@lru_cache(maxsize=None)
def _kernel_of(lib, name: str, dtype):
    """:func:`kernel` of the library ``lib``, looked up once (a training step calls several)."""
    import torch

    from ..errors import DTypeError

    suffix = {torch.float32: "f32", torch.complex64: "f32", torch.float64: "f64", torch.complex128: "f64"}.get(dtype)
    if suffix is None:
        raise DTypeError(f"the native kernels take float32, float64, complex64 or complex128 data, got {dtype}")
    function = getattr(lib, f"{name}_{suffix}")
    if function.argtypes is None:
        function.argtypes, function.restype = _SIGNATURES[name], None
    return function
