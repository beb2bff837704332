"""Hand the memory a stage freed back to the operating system (glibc's ``malloc_trim``).

Why a pipeline needs it: glibc gives every thread that allocates its own malloc arena, and
memory freed in an arena stays mapped for that arena's next allocation instead of going back
to the system. remove-text's helper threads (the ghost judge's and QA's OCR reads, FSR's
channels, the first pass's fills) allocate on other arenas than the main thread; rapidocr's
ONNX sessions run without ONNX Runtime's own arena, so each read's activations are plain
mallocs on whichever thread reads. Freed, each arena kept its own high-water mark, and a
process that ran many images held them all at once: on the held-out benchmark's case mix
(train photos, ``benchmarks/rss_remove_text.py``) the worker's peak RSS rose from ~0.9 GB to
1.2-1.4 GB when the reads moved to helper threads, with the same pixels. Trimming after every
stage returned those pages (0.84-0.85 GB, the reads still on their threads); the runner now
trims once, after a run's last stage (see below), which returns them before the next image.

Trimming between stages does not lower the high-water mark *within* a stage, and that is
where remove-text peaks: the detector's full-frame forward pass (a 1600x1200 photo: its
activations, allocated and freed by ONNX Runtime without its arena, and rapidocr's and
OpenCV's frame-sized buffers) on top of what the earlier stages left. glibc maps a block of
``M_MMAP_THRESHOLD`` bytes or more on its own and unmaps it when freed, but by default that
threshold moves: every freed mapped block up to 32 MiB raises it to that block's size, so
after the first frames every block under 32 MiB comes from the heaps, where freed blocks of
one size are not reused for the next of another and the heaps grow (the trim threshold
rises with it, so the heap tops are not trimmed either). :func:`bound_heap` fixes the
threshold (setting it turns the adjustment off): large blocks are mapped and unmapped every
time, small ones stay on the heaps. On the benchmark's mix (``benchmarks/rss_remove_text.py``,
train photos, main and this side by side) the worker's peak fell from 852-867 MB to 768-769
MB with the same output pixels, for 3-4 % more CPU (the page faults of freshly mapped blocks).

The runner trims once per run, after the last stage, not after every stage: the pages a
stage gave back were faulted in again by the next one (minor page faults of the four
1024x768 ``profile_remove_text --cases bench`` cases -22 to -30 %; the train mix of
``benchmarks/rss_remove_text.py``, both side by side: 44.1 -> 40.3 CPU s, peak 772 -> 800 MB,
the same output pixels). Tried and not taken: also fixing glibc's *trim* threshold at twice
the mmap threshold (fixing the mmap threshold stops glibc raising it, so it stays at 128 KiB
and a frame-sized array freed at a heap's top is handed back at once): a little less CPU
again, but every arena then keeps up to that much free (peak 768 -> 845 MB).

Neither call changes an allocation anyone holds or a result. Elsewhere than glibc (macOS,
musl, Windows) there are no such calls and both functions do nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["MMAP_THRESHOLD", "bound_heap", "trim_heap"]

#: Blocks of this many bytes or more get a mapping of their own, unmapped when freed
#: (glibc's ``M_MMAP_THRESHOLD``, fixed by :func:`bound_heap`; glibc starts it at 128 KiB and
#: raises it up to 32 MiB). 1-8 MiB cut the peak a little more but cost 8-13 % more CPU in
#: page faults (fresh pages for every such block); 16 MiB cost 3-4 %.
MMAP_THRESHOLD = 16 << 20
_M_MMAP_THRESHOLD = -3  # <malloc.h>


@functools.cache
def _libc_function(name: str, argtypes: tuple):
    """glibc's function ``name`` (looked up once per process), or None where the C library
    has none (musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # musl and others: no such function
        return None
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn


def _malloc_trim():
    return _libc_function("malloc_trim", (ctypes.c_size_t,))


@functools.cache
def bound_heap() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` for this process (once).

    Blocks that large are then always mapped on their own and returned to the system when
    freed, instead of the threshold rising to the largest block freed so far (up to 32 MiB)
    and such blocks piling up in the malloc heaps. Called by the pipeline runner and
    ``Pipeline.warm_up``; a process-wide allocator setting, as :func:`trim_heap` is.

    Returns
    -------
    bool
        True if ``mallopt`` accepted it, False where the C library has no such call.
    """
    mallopt = _libc_function("mallopt", (ctypes.c_int, ctypes.c_int))
    return mallopt is not None and mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def trim_heap() -> bool:
    """Return freed heap memory of every malloc arena to the system (glibc only).

    Returns
    -------
    bool
        True if ``malloc_trim`` ran, False where the C library has none.
    """
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
