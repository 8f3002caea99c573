"""Build step of the package: the native CPU kernels are compiled while installing.

Everything else is declared in pyproject.toml. The kernels are built by
``hybridq/sim/native.py``'s :func:`build` (loaded as a plain file: torch need not be installed
yet) into the package as ``hybridq/sim/_native.so``; without a working C compiler the install
goes on and says so, and the kernels are compiled on first use (or the PyTorch ones run).
"""

import importlib.util
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithKernels(build_py):
    """``build_py``, then the native kernels into the built package."""

    def run(self):
        super().run()
        if self.dry_run:
            return
        spec = importlib.util.spec_from_file_location("_hybridq_native_build", Path("hybridq", "sim", "native.py"))
        native = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(native)
        target = Path(self.build_lib, "hybridq", "sim", native.INSTALLED.name)
        try:
            record = native.build(target)
        except Exception as error:  # noqa: BLE001 (any failure leaves the first-use build)
            detail = str(getattr(error, "stderr", None) or error).strip()[:300]
            print(f"hybridq: native CPU kernels not built at install ({detail}); they are compiled on first use "
                  "where a C compiler is found (`hybridq info` says which kernels run)", file=sys.stderr)
            return
        print(f"hybridq: native CPU kernels built by {record['compiler']} {' '.join(record['flags'])}", file=sys.stderr)


setup(cmdclass={"build_py": BuildPyWithKernels})
