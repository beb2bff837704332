"""Numba kernels whose cache is cold are compiled in a child process (ops.inpaint.jit_cache):
the warm-up's own process then loads them from the cache and keeps no compiler state."""

from __future__ import annotations

import importlib
import sys

import pytest

pytest.importorskip("numba")

from seamline.ops.inpaint import exemplar, fsr_kernel  # noqa: E402
from seamline.ops.inpaint.jit_cache import (cold_kernels, compile_aside,  # noqa: E402
                                            warm_kernels)

KERNELS = '''
from numba import njit


@njit(cache=True)
def twice(x):
    return 2 * x


def plain(x):
    return x


def warm():
    twice(3)
    twice(1.5)
'''


@pytest.fixture
def kernels(tmp_path, monkeypatch):
    """A module of one cached kernel, written fresh (its cache cold) under tmp_path/pkg."""
    pkg = tmp_path / "jitpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "kernels.py").write_text(KERNELS)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    mod = importlib.import_module("jitpkg.kernels")
    yield mod
    for name in ("jitpkg.kernels", "jitpkg"):
        sys.modules.pop(name, None)


def test_cold_kernels_compiled_in_a_child_then_loaded_from_the_cache(kernels):
    assert cold_kernels(kernels) == ["twice"]  # plain functions are not kernels
    assert compile_aside(kernels, "warm") is True
    assert cold_kernels(kernels) == []
    kernels.warm()  # this process: both signatures from the child's cache, none compiled
    stats = kernels.twice.stats
    assert sum(stats.cache_hits.values()) == 2 and sum(stats.cache_misses.values()) == 0
    # warm now: no child runs again
    assert compile_aside(kernels, "warm") is False


def test_a_kernel_modules_warm_up_compiles_aside_then_loads_here(kernels):
    """warm_kernels (exemplar's and FSR's warm_up): the child compiles, this process then
    calls the function and loads every kernel from the child's cache."""
    warm_kernels(kernels.__name__, "warm")
    assert cold_kernels(kernels) == []
    stats = kernels.twice.stats
    assert sum(stats.cache_hits.values()) == 2 and sum(stats.cache_misses.values()) == 0


def test_failed_child_leaves_the_compile_to_the_caller(kernels):
    assert compile_aside(kernels, "no_such_function") is False
    assert cold_kernels(kernels) == ["twice"]
    kernels.warm()  # compiled here, as before
    assert kernels.twice(4) == 8 and sum(kernels.twice.stats.cache_misses.values()) == 2


class _Terminal:
    """A stderr that says it is a terminal and keeps what is written to it."""

    def __init__(self, tty: bool):
        self.tty, self.text = tty, []

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_a_cold_compile_says_so_on_a_terminal_only(kernels, monkeypatch, tty):
    """A person waiting at a terminal is told why the first run pauses (once per cold module);
    logs and captured output stay quiet, as the progress bars do."""
    err = _Terminal(tty)
    monkeypatch.setattr(sys, "stderr", err)
    assert compile_aside(kernels, "warm") is True
    said = "".join(err.text)
    assert ("compiling kernels's kernels once" in said) is tty
    err.text.clear()
    assert compile_aside(kernels, "warm") is False  # warm now: nothing compiled, nothing said
    assert err.text == []


def test_the_install_steps_warm_up_leaves_the_fill_kernels_warm(capsys):
    """``python -m seamline.ops.inpaint.warm`` (the Makefile's install step) leaves no kernel of
    the fill's modules cold and says what it did in one line."""
    from seamline.ops.inpaint import telea_kernel, warm

    assert warm.main() == 0
    for module in (telea_kernel, fsr_kernel, exemplar):
        assert cold_kernels(module) == []
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("seamline: fill kernels ready (")


def test_warm_ups_leave_no_kernel_cold():
    """Every cached kernel of the exemplar fill and FSR is reached by its warm-up: otherwise
    each warm-up would start a child for nothing."""
    exemplar.warm_up()
    fsr_kernel.warm_up()
    assert cold_kernels(exemplar) == [] and cold_kernels(fsr_kernel) == []


def test_child_caches_where_this_process_looks_through_a_symlink(tmp_path, monkeypatch):
    """A module imported through a symlinked folder, its cache under NUMBA_CACHE_DIR (a
    read-only install's case): Numba keys that cache on the source's abspath, symlink kept;
    the child must import the same spelling, or it fills another folder and this process
    compiles again."""
    numba = pytest.importorskip("numba")
    real = tmp_path / "real"
    pkg = real / "jitlinkpkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "kernels.py").write_text(KERNELS)
    link = tmp_path / "link"
    try:
        link.symlink_to(real, target_is_directory=True)
    except (OSError, NotImplementedError):
        pytest.skip("no symlinks here")
    cache = tmp_path / "nbcache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(cache))
    monkeypatch.syspath_prepend(str(link))
    try:
        mod = importlib.import_module("jitlinkpkg.kernels")
        assert cold_kernels(mod) == ["twice"]
        assert compile_aside(mod, "warm") is True
        assert cold_kernels(mod) == []
        mod.warm()
        assert sum(mod.twice.stats.cache_misses.values()) == 0
    finally:
        for name in ("jitlinkpkg.kernels", "jitlinkpkg"):
            sys.modules.pop(name, None)


def test_a_frozen_app_compiles_here_and_starts_no_child(kernels, monkeypatch):
    """In a frozen app (PyInstaller, cx_Freeze) ``sys.executable`` is the app: started with
    ``-c`` it would run the app again (a second window or server), not Python."""
    import subprocess

    started = []
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: started.append(a) or
                        subprocess.CompletedProcess(a, 0))
    assert compile_aside(kernels, "warm") is False
    assert started == [] and cold_kernels(kernels) == ["twice"]


HANGS = KERNELS + """

def hang(path=__file__ + ".pid"):
    import os
    import time

    with open(path + ".part", "w") as f:
        f.write(str(os.getpid()))
    os.replace(path + ".part", path)
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    """The process ``pid`` exists and is not a zombie (killed, not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG: Linux")
def test_the_compiling_child_dies_with_a_killed_parent(tmp_path):
    """A parent killed (SIGKILL) while its child compiles leaves no orphan compiling on: the
    child is gone within seconds (main's child slept on for its 120 s here)."""
    import os
    import signal
    import subprocess
    import time

    import seamline

    pkg = tmp_path / "jithangpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "kernels.py").write_text(HANGS)
    pid_file = pkg / "kernels.py.pid"
    src = os.path.dirname(os.path.dirname(os.path.abspath(seamline.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), src]))
    env.pop("NUMBA_CACHE_DIR", None)
    code = ("from seamline.ops.inpaint.jit_cache import compile_aside; "
            "import jithangpkg.kernels as m; compile_aside(m, 'hang')")
    parent = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=str(tmp_path),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    child = None
    try:
        deadline = time.monotonic() + 120  # two interpreters importing Numba, a loaded CI
        while not pid_file.exists() and parent.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pid_file.exists(), f"no child started (parent exit {parent.poll()})"
        child = int(pid_file.read_text())
        assert _alive(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child), "the child outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(30)
        if child is not None and _alive(child):
            os.kill(child, signal.SIGKILL)


def test_no_python_runs_in_the_forked_child_before_exec(kernels, tmp_path):
    """The child is started without a ``preexec_fn``: no Python code runs between fork and exec
    (subprocess can vfork), so a lock another thread held at the fork (the warm-up runs after
    the text detector's ONNX Runtime pools started: 3-4 threads) cannot hang it there. Seen
    through ``os.register_at_fork``'s child hooks, which run in a forked child exactly when
    Python code does (main's preexec_fn ran them); the death test below still passes."""
    import os

    marks = tmp_path / "forked_child_ran_python"
    armed = [True]

    def in_child():
        if armed[0]:
            with open(marks, "a") as f:
                f.write(f"{os.getpid()}\n")

    os.register_at_fork(after_in_child=in_child)  # cannot be unregistered: disarmed below
    try:
        assert compile_aside(kernels, "warm") is True
    finally:
        armed[0] = False
    assert cold_kernels(kernels) == []
    assert not marks.exists(), "Python ran in the forked child before exec"
