"""The one rule every thread pool of remove-text follows.

Batch and serve workers give each process its share of the cores through
``cv2.setNumThreads`` (one where a worker has one core), and a pool that ignored it would run
two cores' work in a one-core worker: every pool sizes itself with :func:`share`. Pools are
made with :func:`pool`, whose workers see ``share() == 1``: work on a pool's thread starts no
pool of its own (the first pass's fsr fills on two threads each ran their three channels on
two more: four busy threads on two cores). Remove-text's pools are the first pass's fills
(``region_fill.FILL_THREADS``), the fsr kernel's channels and the ghost judge's one OCR
reader; text-mask, detect-text, the fill loop's judges and the ghost judge's looks run on the
caller's thread (threads there gained no wall time at idle: speed16).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_HERE = threading.local()  # .pooled: this thread is a worker of a pool made by pool()


def share(most: int = 2) -> int:
    """Threads a step may run on: ``most``, capped by ``cv2.getNumThreads()`` (the process's
    share of the cores, as batch and serve workers set it), and at least 1; 1 on a worker
    of a :func:`pool` (its pool already holds the share)."""
    import cv2

    if getattr(_HERE, "pooled", False):
        return 1
    return max(1, min(int(most), cv2.getNumThreads()))


def _pooled() -> None:
    _HERE.pooled = True


def pool(threads: int, name: str) -> ThreadPoolExecutor:
    """A thread pool of ``threads`` workers named ``seamline-<name>_N`` on which
    :func:`share` is 1, so that no pool starts inside it; use it as a context manager
    (its threads end with the ``with`` block)."""
    return ThreadPoolExecutor(max_workers=int(threads), thread_name_prefix=f"seamline-{name}",
                              initializer=_pooled)
