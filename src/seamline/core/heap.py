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
import sys

__all__ = ["trim_heap"]

#: glibc's ``malloc_trim``, looked up on the first call; False where the C library has none.
_TRIM = None


def trim_heap() -> bool:
    """Return freed heap memory of every malloc arena to the system (glibc only).

    Returns
    -------
    bool
        True if ``malloc_trim`` ran, False where the C library has none.
    """
    global _TRIM
    if _TRIM is None:
        fn = None
        if sys.platform.startswith("linux"):
            try:
                fn = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # musl and others: no malloc_trim
                fn = None
        if fn is not None:
            fn.argtypes = [ctypes.c_size_t]
            fn.restype = ctypes.c_int
        _TRIM = fn if fn is not None else False
    if _TRIM is False:
        return False
    _TRIM(0)
    return True
