"""Compile the fill's Numba kernels now, once: ``python -m seamline.ops.inpaint.warm``.

Why: a kernel whose cache is cold (a fresh install, or a kernel file changed) is compiled by
the first process that needs it, which took ~40-90 s on a 2-core machine before the first
``remove-text`` (or ``make demo``) could finish. The Makefile's install step runs this module
so that cost is paid while installing, with a line that says so; later processes load the
kernels from the cache (:mod:`seamline.ops.inpaint.jit_cache`).

Warms the kernels ``remove-text``'s fill loads (:data:`MODULES`: the Telea copy, FSR's and
the exemplar fill's); each module's ``warm_up`` compiles in a child process where its cache
is cold. Nothing else is run or written.
"""

from __future__ import annotations

import importlib
import sys
import time

__all__ = ["MODULES", "main"]

#: The kernel modules, each with a ``warm_up()`` (compile where cold, then load).
MODULES = ("seamline.ops.inpaint.telea_kernel", "seamline.ops.inpaint.fsr_kernel",
           "seamline.ops.inpaint.exemplar")


def main() -> int:
    """Warm every module of :data:`MODULES`; print one line with what was compiled and how
    long it took. Returns 0."""
    from seamline.ops.inpaint.jit_cache import cold_kernels

    t0 = time.perf_counter()
    cold = []
    for name in MODULES:
        module = importlib.import_module(name)
        if cold_kernels(module):
            cold.append(name.rsplit(".", 1)[-1])
        module.warm_up()
    took = time.perf_counter() - t0
    what = f"compiled {', '.join(cold)}" if cold else "already compiled"
    print(f"seamline: fill kernels ready ({what}; {took:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
