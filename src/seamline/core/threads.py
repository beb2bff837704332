"""Work started on a helper thread while the caller goes on with other work."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable


def soon(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
    """``fn(*args, **kwargs)`` started on a helper thread of its own, which ends when ``fn``
    returns: read its result (or its error) from the returned future.

    For work that reads only what the caller does not change meanwhile and spends its time
    where the GIL is released (onnxruntime, OpenCV, large numpy operations): on two cores
    the caller's own work then hides it. The result is the same as calling ``fn`` in place.
    """
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
    an item's error is raised here. One item (or none) runs in place, on no thread.
    """
    items = list(items)
    if len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"seamline-{name}") as pool:
        return list(pool.map(fn, items))
