"""core.heap: the allocator settings the pipeline runner applies (issue 10: remove-text's
peak RSS). Checked on the mechanism (where glibc puts a block), not on an RSS figure."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import seamline as sl

_PROBE = r"""
import ctypes, sys
import numpy as np

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
from seamline.core.heap import MMAP_THRESHOLD, bound_heap
if sys.argv[1] == "bound":
    assert bound_heap()
big = np.ones(30 << 20, np.uint8)  # mapped: over the threshold's start value (128 KiB)
del big  # freed: glibc's default raises its threshold to 30 MiB here
mapped = libc.mallinfo2().hblkhd
block = np.ones(MMAP_THRESHOLD, np.uint8)
print(libc.mallinfo2().hblkhd - mapped >= block.nbytes)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_bound_heap_keeps_large_blocks_mapped_after_a_larger_one_was_freed():
    """With the threshold fixed, a block of MMAP_THRESHOLD bytes allocated after a 30 MiB one
    was freed is still mapped on its own (returned to the system when freed); by default it
    comes from the heap."""
    try:
        import ctypes

        ctypes.CDLL(None).mallinfo2  # noqa: B018  (glibc >= 2.33)
    except (OSError, AttributeError):
        pytest.skip("no glibc mallinfo2")

    def mapped(mode):
        r = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True,
                           check=True)
        return r.stdout.strip()

    assert mapped("bound") == "True"
    assert mapped("default") == "False"  # the probe sees the difference the setting makes


def test_the_runner_and_warm_up_bound_the_heap(monkeypatch):
    """Both entry points set it before any stage allocates (the CLI, serve and batch run
    through run_pipeline)."""
    import seamline.core.heap as heap
    import seamline.engine.runner as runner

    calls = []
    monkeypatch.setattr(runner, "bound_heap", lambda: calls.append("run") or True)
    monkeypatch.setattr(heap, "bound_heap", lambda: calls.append("warm") or True)
    sl.Pipeline.builtin("inpaint").warm_up()
    assert calls == ["warm"]
    img = np.full((32, 32, 3), 0.5, np.float32)
    mask = np.zeros((32, 32), np.float32)
    mask[10:14, 10:14] = 1
    sl.Pipeline.builtin("inpaint").run(img, inputs={"mask": mask})
    assert calls == ["warm", "run"]
