"""Native CPU kernels (``native.c``, ``chains.c``, ``measure.c``, ``state.c``; ``lanes.h``), compiled with the system C compiler on first use.

The library is built once per machine into a cache folder (``$HYBRIDQ_CACHE``, else
``~/.cache/hybridq``) with ``-O3 -march=native`` and OpenMP, then loaded with ``ctypes``;
later imports reuse it. Without a C compiler, or with ``HYBRIDQ_NATIVE=0``, :func:`library`
returns None and the simulator keeps to its PyTorch path (one warning says why).

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


@lru_cache(maxsize=None)
def library() -> ctypes.CDLL | None:
    """The compiled kernels, or None where they cannot be built (see the module docstring)."""
    if os.environ.get("HYBRIDQ_NATIVE", "1") == "0":
        return None
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        warnings.warn("hybridq: no C compiler found; CPU simulation uses the PyTorch kernels only", stacklevel=2)
        return None
    key = hashlib.sha256("\n".join([*(s.read_text() for s in SOURCES + HEADERS), compiler, *FLAGS, _cpu_model()]).encode()).hexdigest()[:16]
    target = _cache_dir() / f"native-{key}.so"
    if not target.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as tmp:  # build aside, then rename: safe
                built = Path(tmp) / target.name                            # with concurrent processes
                for flags in [FLAGS, *FALLBACK_FLAGS]:
                    try:
                        _compile(compiler, flags, built)
                        break
                    except subprocess.CalledProcessError:
                        if flags is FALLBACK_FLAGS[-1]:
                            raise
                os.replace(built, target)
        except (OSError, subprocess.SubprocessError) as error:
            detail = getattr(error, "stderr", None) or error
            warnings.warn(f"hybridq: could not build the native CPU kernels ({str(detail).strip()[:300]}); "
                          "CPU simulation uses the PyTorch kernels only", stacklevel=2)
            return None
    lib = ctypes.CDLL(str(target))
    for name, args in _SIGNATURES.items():
        for suffix in ("f32", "f64"):
            function = getattr(lib, f"{name}_{suffix}")
            function.argtypes, function.restype = args, None
    return lib


def kernel(name: str, dtype: torch.dtype):
    """The built kernel ``name`` for single precision (float32 or complex64 ``dtype``) or double.

    >>> lib = library()
    >>> lib is None or kernel("expval_z", torch.complex64) is lib.expval_z_f32
    True
    """
    single = dtype in (torch.float32, torch.complex64)
    return getattr(library(), f"{name}_{'f32' if single else 'f64'}")
