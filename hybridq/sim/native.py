"""Native CPU kernels (``native.c``, ``chains.c``, ``measure.c``, ``state.c``; ``lanes.h``), compiled with the system C compiler on first use.

The library is built once per machine into a cache folder (``$HYBRIDQ_CACHE``, else
``~/.cache/hybridq``) with ``-O3 -march=native`` and OpenMP, then loaded with ``ctypes``;
later imports reuse it. A SHA-256 checksum kept next to the library is checked before every
load, so a damaged cache file (truncated, emptied, overwritten) is rebuilt, never loaded. Without
a C compiler, with a library that cannot be built or loaded, or with ``HYBRIDQ_NATIVE=0``,
:func:`library` returns None and the simulator keeps to its PyTorch path (one warning says why).

>>> lib = library()
>>> lib is None or hasattr(lib, "fused_forward_f32")
True
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from functools import lru_cache
from pathlib import Path

import torch

from ..errors import DTypeError

SOURCES = [Path(__file__).with_name(name) for name in ("native.c", "chains.c", "measure.c", "state.c")]
#: Included by the sources (part of the build's cache key).
HEADERS = [Path(__file__).with_name(name) for name in ("lanes.h", "steps.h")]
FLAGS = ["-O3", "-march=native", "-mprefer-vector-width=512", "-ffp-contract=fast", "-fopenmp", "-fPIC", "-shared", "-std=c11"]
#: Tried in turn when a compiler rejects FLAGS: without OpenMP (Apple clang: single-threaded
#: kernels), then without the CPU-specific options.
FALLBACK_FLAGS = [[f for f in FLAGS if f != "-fopenmp"], ["-O3", "-fPIC", "-shared", "-std=c11"]]

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
    "chain_products": [_ptr, _ptr, _i64, _i64, _i64, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _ptr, _i64, _i64, _ptr, _ptr,
                       _int, _int],
    "chain_products_backward": [_ptr, _ptr, _i64, _i64, _i64, _ptr, _ptr, _ptr, _ptr, _i64, _ptr, _ptr, _i64, _i64,
                                _ptr, _ptr, _int, _ptr, _ptr, _int],
}


def _cache_dir() -> Path:
    return Path(os.environ.get("HYBRIDQ_CACHE") or Path.home() / ".cache" / "hybridq")


def _cpu_model() -> str:
    """What ``-march=native`` depends on, so a cache shared by different machines stays apart."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    lines = [line for line in text.splitlines() if line.startswith(("model name", "flags"))]
    return "\n".join(sorted(set(lines)))


def _compile(compiler: str, flags: list[str], target: Path) -> None:
    subprocess.run([compiler, *flags, *map(str, SOURCES), "-o", str(target), "-lm"], check=True, capture_output=True, text=True,
                   timeout=120)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _checksum_file(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _intact(target: Path) -> bool:
    """Whether ``target`` is the library that was built: its SHA-256 matches the one written next
    to it (a truncated file would crash the process with SIGBUS when loaded or used)."""
    try:
        return _checksum_file(target).read_text().strip() == _digest(target)
    except OSError:
        return False


def _build(compiler: str, target: Path) -> None:
    """Build ``target`` and its checksum aside, then move both in place (each rename is atomic, and
    a crash between them leaves a mismatch, which is rebuilt)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        built = Path(tmp) / target.name
        for flags in [FLAGS, *FALLBACK_FLAGS]:
            try:
                _compile(compiler, flags, built)
                break
            except subprocess.CalledProcessError:
                if flags is FALLBACK_FLAGS[-1]:
                    raise
        checksum = _checksum_file(built)
        checksum.write_text(_digest(built))
        os.replace(checksum, _checksum_file(target))
        os.replace(built, target)


def _unavailable(why: str) -> None:
    warnings.warn(f"hybridq: {why}; CPU simulation uses the PyTorch kernels only", stacklevel=3)


@lru_cache(maxsize=None)
def library() -> ctypes.CDLL | None:
    """The compiled kernels, or None where they cannot be built or loaded (see the module docstring).

    A cached library whose checksum does not match (truncated, emptied, overwritten) is rebuilt.
    """
    if os.environ.get("HYBRIDQ_NATIVE", "1") == "0":
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        _unavailable("no C compiler found")
        return None
    key = hashlib.sha256("\n".join([*(s.read_text() for s in SOURCES + HEADERS), compiler, *FLAGS, _cpu_model()]).encode()).hexdigest()[:16]
    target = _cache_dir() / f"native-{key}.so"
    if not _intact(target):
        try:
            _build(compiler, target)
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", None) or error
            _unavailable(f"could not build the native CPU kernels ({str(detail).strip()[:300]})")
            return None
    try:
        lib = ctypes.CDLL(str(target))
        for name, args in _SIGNATURES.items():
            for suffix in ("f32", "f64"):
                function = getattr(lib, f"{name}_{suffix}")
                function.argtypes, function.restype = args, None
    except (OSError, AttributeError) as error:
        _unavailable(f"could not load the native CPU kernels from {target} ({str(error)[:300]}); delete it to rebuild")
        return None
    return lib


#: Dtypes of the kernels: single precision (``f32``) and double (``f64``).
_SUFFIX = {torch.float32: "f32", torch.complex64: "f32", torch.float64: "f64", torch.complex128: "f64"}


def kernel(name: str, dtype: torch.dtype):
    """The built kernel ``name`` for single precision (float32 or complex64 ``dtype``) or double.

    Other dtypes are refused (the kernels would write 4- or 8-byte values into smaller ones).

    >>> lib = library()
    >>> lib is None or kernel("expval_z", torch.complex64) is lib.expval_z_f32
    True
    """
    suffix = _SUFFIX.get(dtype)
    if suffix is None:
        raise DTypeError(f"the native kernels take float32, float64, complex64 or complex128 data, got {dtype}")
    return getattr(library(), f"{name}_{suffix}")
