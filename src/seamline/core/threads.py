"""The one rule every thread pool of remove-text sizes itself by.

Batch and serve workers give each process its share of the cores through
``cv2.setNumThreads`` (one where a worker has one core), and a pool that ignored it would run
two cores' work in a one-core worker. Remove-text's pools are few and never nested: the first
pass's fills (``region_fill.FILL_THREADS``) and the exemplar/fsr kernels' channels; text-mask,
detect-text, the fill loop's judges and the ghost judge's looks run on the caller's thread
(threads there gained no wall time at idle and ran up to 4 busy threads on 2 cores: speed16).
"""

from __future__ import annotations


def share(most: int = 2) -> int:
    """Threads a step may run on: ``most``, capped by ``cv2.getNumThreads()`` (the process's
    share of the cores, as batch and serve workers set it), and at least 1."""
    import cv2

    return max(1, min(int(most), cv2.getNumThreads()))
