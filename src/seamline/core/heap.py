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
stage returns those pages (0.84-0.85 GB, the reads still on their threads).

``malloc_trim(0)`` only releases memory that is already free; it changes no allocation
anyone holds and no result. Elsewhere than glibc (macOS, musl, Windows) there is no such
call and :func:`trim_heap` does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

__all__ = ["trim_heap"]


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim`` (looked up once per process), or None where the C library
    has none (musl, macOS, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # musl and others: no malloc_trim
        return None
    fn.argtypes = [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


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
