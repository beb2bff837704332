"""Compile a module's Numba kernels in a child process when their cache is cold.

Why: Numba compiles a ``cache=True`` kernel in the process that first calls it when the
cache on disk has no entry for its source (a fresh checkout or install, or the file changed),
and LLVM's compile state stays in that process for its whole life: a remove-text worker
whose warm-up compiled FSR's kernels held ~160 MB more from then on (train, the held-out
worker's shape, ``benchmarks/rss_remove_text.py --per-style 2 --untouched 0 --dark-tiled
3``: RSS after the warm-up 330 -> 488 MB, the peak over 2 cases 741-759 -> 900 MB; the
exemplar's kernels ~65 MB more, both ~200 MB), and every later image's peak sits
on top of it. Loaded from the cache instead, the kernels cost what their machine code
weighs. So a warm-up whose cache is cold has a child interpreter compile the kernels (it
writes the cache and exits, giving its memory back), then loads them from the cache itself.

Where the child cannot run or fails (no interpreter, a frozen app whose executable is not
Python, a read-only cache the child cannot write either, a timeout: the caller waits up to
``CHILD_TIMEOUT_S`` first), the caller compiles in its own process, as before: slower to get
memory back, never a different kernel. The cache's freshness is read through Numba's own
index (private API of ``numba.core.caching``, checked by ``tests/test_jit_cache.py``); any
error reading it counts as warm (compile here, as before).

On Linux the child dies with the process that started it (:func:`_dying_with_parent`): a
parent killed while it waits (``kill -9``, the OOM killer, a supervisor's timeout) would
otherwise leave an orphan compiling for minutes, holding a core and the compiler's memory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["cold_kernels", "compile_aside", "warm_kernels"]

#: Seconds the child may take (a cold compile of FSR's and the exemplar's kernels takes
#: ~25-50 s on a loaded 2-core machine).
CHILD_TIMEOUT_S = 300


def cold_kernels(module: ModuleType) -> list[str]:
    """Names of ``module``'s Numba ``cache=True`` kernels whose cache holds no entry for their
    current source (missing, another Numba version's, or stale); [] when all have one or the
    index cannot be read."""
    cold = []
    for name, obj in sorted(vars(module).items()):
        cache = getattr(obj, "_cache", None)
        index = getattr(getattr(cache, "_cache_file", None), "_load_index", None)
        if index is None or getattr(obj, "py_func", None) is None:
            continue  # not a cached Numba dispatcher
        if getattr(obj.py_func, "__module__", None) != module.__name__:
            continue  # imported from elsewhere: that module's warm-up owns it
        try:
            if not index():
                cold.append(name)
        except Exception:  # noqa: BLE001 - unreadable index: count it warm, compile here
            continue
    return cold


def compile_aside(module: ModuleType, function: str) -> bool:
    """When ``module`` has cold kernels (:func:`cold_kernels`), run ``module.function()`` in a
    child interpreter (the same Python, the module's own folder first on its path) so the
    kernels it calls are compiled and cached there. Returns True when a child ran and
    succeeded, False when nothing was cold or the child failed (the caller's own call then
    compiles what is still cold)."""
    if getattr(sys, "frozen", False) or not sys.executable or not cold_kernels(module):
        # a frozen app's (PyInstaller, cx_Freeze) sys.executable is the app itself: started
        # with ``-c`` it would run the app again (a second window, a second server), not
        # Python; no interpreter known at all (embedded): compile here, as before
        return False
    # the folder the module's top package is in (``src`` for seamline's own): first on the
    # child's path, so it imports this very file and caches where this process will look.
    # Spelled as this process spells it (abspath, symlinks kept) and put before ``-c``'s
    # working-folder entry (which the OS gives resolved): a cache under NUMBA_CACHE_DIR or
    # the user-wide folder (a read-only install) is keyed on the source file's abspath, so
    # a resolved path would have the child fill another folder and this process compile
    root = str(Path(os.path.abspath(module.__file__)).parents[module.__name__.count(".")])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(
        os.pathsep) if p])
    code = (f"import sys; sys.path.insert(0, {root!r}); "
            f"import {module.__name__} as m; m.{function}()")
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=CHILD_TIMEOUT_S, check=False,
                              preexec_fn=_dying_with_parent())
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _dying_with_parent():
    """A ``preexec_fn`` that has the kernel send the child SIGKILL when this process dies
    (Linux's ``prctl(PR_SET_PDEATHSIG)``, through ctypes), or None off Linux or where libc's
    ``prctl`` cannot be found (the child then outlives a killed parent, as before).

    Why the kernel's signal and not the child polling its parent's pid: it comes at once,
    also while the child is inside LLVM (a poll needs the child's interpreter to run it),
    and it needs no thread in the child beside the compile. ``prctl`` is looked up here,
    before the fork: between fork and exec the child only calls it and reads its parent's
    pid (no import, no lock another thread could hold). The signal follows the thread that
    forked, which :func:`compile_aside` keeps waiting on the child. A parent that died
    before the call (the child was already given to init) is caught by its pid. Cost: with
    a ``preexec_fn`` subprocess forks instead of using vfork (page tables copied: 3-7 ms
    more to start from a 400 MB process, once per cold warm-up)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    import signal

    parent = os.getpid()
    PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
    death = ctypes.c_ulong(int(signal.SIGKILL))  # prctl is variadic: arg2 an unsigned long

    def die_with_parent():
        prctl(PR_SET_PDEATHSIG, death)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


def warm_kernels(module_name: str, function: str = "_load_kernels") -> None:
    """A kernel module's warm-up: :func:`compile_aside` for its cold kernels, then
    ``function()`` (the calls that reach every kernel) in this process, which loads them from
    the cache the child wrote (or compiles what is still cold, where the child failed).
    ``module_name``: the module's ``__name__`` (imported already: the caller itself)."""
    module = sys.modules[module_name]
    compile_aside(module, function)
    getattr(module, function)()
