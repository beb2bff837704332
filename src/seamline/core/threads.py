"""Work started on a helper thread while the caller goes on with other work.

Every thread pool of remove-text sizes itself with :func:`share`: batch and serve workers
give each process its share of the cores through ``cv2.setNumThreads`` (one where a worker
has one core), and a pool that ignored it would run two cores' work in a one-core worker.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


def share(most: int = 2) -> int:
    """Threads a step may run on: ``most``, capped by ``cv2.getNumThreads()`` (the process's
    share of the cores, as batch and serve workers set it), and at least 1."""
    import cv2

    return max(1, min(int(most), cv2.getNumThreads()))


def soon(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """``fn(*args, **kwargs)`` started on a helper thread of its own, which ends when ``fn``
    returns: read its result (or its error) from the returned future.

    For work that reads only what the caller does not change meanwhile and spends its time
    where the GIL is released (onnxruntime, OpenCV, large numpy operations): on two cores
    the caller's own work then hides it. The result is the same as calling ``fn`` in place.
    Where the process has one core (:func:`share`), ``fn`` runs here, now, on no thread; its
    error still comes from the future, as from a thread.
    """
    if share() < 2:
        done: Future = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001  (raised where the caller reads the result)
            done.set_exception(exc)
        return done
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seamline-soon")
    try:
        return pool.submit(fn, *args, **kwargs)
    finally:
        pool.shutdown(wait=False)  # the submitted call still runs; the thread then ends


def each(fn: Callable[[Any], Any], items, *, name: str = "each") -> list:
    """``[fn(item) for item in items]``, on two threads where there is more than one item.

    For independent pieces of one step (an image's text lines) that each read only what no
    other piece writes and spend their time where the GIL is released: on two cores two
    pieces cost about one. The results come back in the items' order, the same as in place;
    an item's error is raised here. One item (or none), or a process with one core
    (:func:`share`), runs in place, on no thread.
    """
    items = list(items)
    if len(items) < 2 or share() < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"seamline-{name}") as pool:
        return list(pool.map(fn, items))
