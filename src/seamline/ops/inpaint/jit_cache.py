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
The child asks for that itself, as its first statements: no ``preexec_fn`` (Python code run
between fork and exec, unsafe in a threaded parent).
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
    code = (_dying_with_parent() + f"import sys; sys.path.insert(0, {root!r}); "
            f"import {module.__name__} as m; m.{function}()")
    if sys.stderr is not None and sys.stderr.isatty():
        # a person waits ~10-40 s per module here, once: say why (logs and captured output
        # stay quiet, as the progress bars do)
        print(f"seamline: compiling {module.__name__.rsplit('.', 1)[-1]}'s kernels once "
              "(a fresh install or an update; later runs load them from the cache)",
              file=sys.stderr, flush=True)
    try:
        done = subprocess.run([sys.executable, "-c", code], env=env, cwd=root,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=CHILD_TIMEOUT_S, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _dying_with_parent() -> str:
    """The child's first lines of ``-c`` code: on Linux they have the kernel send it SIGKILL
    when this process dies (``prctl(PR_SET_PDEATHSIG)`` through ctypes), then compare its
    parent's pid with this process's and exit if they differ (a parent that died before the
    call: the child was already given to init or a subreaper). Off Linux "", and where
    libc's ``prctl`` cannot be found the child goes on (it outlives a killed parent, as
    before).

    Why the kernel's signal and not the child polling its parent's pid: it comes at once,
    also while the child is inside LLVM (a poll needs the child's interpreter to run it),
    and it needs no thread in the child beside the compile. The signal follows the thread that
    started the child, which :func:`compile_aside` keeps waiting on it.

    Why in the child's code and not a ``preexec_fn``: a ``preexec_fn`` runs Python between fork
    and exec (the interpreter's at-fork hooks, ctypes, the allocator), which Python's docs
    call unsafe in a threaded parent: a lock another thread held at the fork stays held in
    the child. The warm-up's parent is threaded (it runs after the text detector's ONNX
    Runtime pools started: 3-4 OS threads). Without one, subprocess can vfork and exec at
    once (and skips copying a 400-800 MB process's page tables: 3-7 ms). The child then runs
    unguarded only for its interpreter's start, before anything it could compile."""
    if not sys.platform.startswith("linux"):
        return ""
    import signal

    # PR_SET_PDEATHSIG = 1 (<linux/prctl.h>); prctl is variadic: arg2 an unsigned long
    return ("import ctypes, os\n"
            "try:\n"
            f"    ctypes.CDLL(None).prctl(1, ctypes.c_ulong({int(signal.SIGKILL)}))\n"
            "except (OSError, AttributeError):\n"
            "    pass\n"
            f"if os.getppid() != {os.getpid()}:\n"
            "    os._exit(1)\n")


def warm_kernels(module_name: str, function: str = "_load_kernels") -> None:
    """A kernel module's warm-up: :func:`compile_aside` for its cold kernels, then
    ``function()`` (the calls that reach every kernel) in this process, which loads them from
    the cache the child wrote (or compiles what is still cold, where the child failed).
    ``module_name``: the module's ``__name__`` (imported already: the caller itself)."""
    module = sys.modules[module_name]
    compile_aside(module, function)
    getattr(module, function)()
