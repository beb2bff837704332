"""Regions worked on as if one after another, two at a time where they do not interact.

:func:`in_order` runs one task per text region (the first pass's fills) on a pool
of threads; two regions run at once only where neither's crop holds a pixel of the other's
hole (:func:`touches`), so each sees the others as the one-after-another order leaves them
and the result does not depend on the threads (OpenCV, numpy and the fills release the GIL).
"""

from __future__ import annotations

from seamline.core.threads import pool as new_pool

__all__ = ["in_order", "touches"]


def touches(a, box: tuple[slice, slice]) -> bool:
    """Whether any pixel of hole ``a`` (a :class:`~seamline.ops.text.region_fill.Hole`) lies
    inside ``box``."""
    y0, y1 = max(a.sl[0].start, box[0].start), min(a.sl[0].stop, box[0].stop)
    x0, x1 = max(a.sl[1].start, box[1].start), min(a.sl[1].stop, box[1].stop)
    if y0 >= y1 or x0 >= x1:
        return False
    return bool(a.mask[y0 - a.sl[0].start:y1 - a.sl[0].start,
                       x0 - a.sl[1].start:x1 - a.sl[1].start].any())


def in_order(labs, holes: dict, boxes: dict, start, *, threads, alone=None) -> dict:
    """Run one task per region as if one after another in ``labs``' order, ``threads`` at
    once: a region's task starts only once every earlier region it interacts with is done
    (one's ``boxes`` crop holds a pixel of the other's hole, or either is ``alone``), so it
    sees those as the serial order leaves them, and a later one that interacts waits for it.
    A task must read ``out`` within its region's box only and write its hole only.

    Parameters
    ----------
    labs : list
        The regions' labels, in order.
    holes, boxes : dict
        ``{label: Hole}``, and ``{label: (slice, slice)}``: what each task may read.
    start : callable
        ``start(label) -> task``, called on the caller's thread in order (what must happen
        in order before the task runs); ``task()`` is run on the pool.
    threads : int, keyword-only
        Most tasks at once (1: one after another on the caller's thread).
    alone : dict, optional, keyword-only
        ``{label: bool}``: tasks that run beside no other.

    Returns
    -------
    dict
        ``{label: task()}``; an error is raised once the tasks started are done.
    """
    if threads <= 1 or len(labs) < 2:
        return {lab: start(lab)() for lab in labs}
    alone = alone or {}
    futures: dict = {}
    with new_pool(threads, "regions") as pool:  # its workers start no pool
        for j, lab in enumerate(labs):
            for prev in labs[:j]:  # wait for the earlier regions this one interacts with
                if alone.get(prev) or alone.get(lab) or touches(holes[prev], boxes[lab]) \
                        or touches(holes[lab], boxes[prev]):
                    futures[prev].result()
            futures[lab] = pool.submit(start(lab))
        return {lab: futures[lab].result() for lab in labs}
