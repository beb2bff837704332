"""The fill loop's best pass per region: a refill the judges found worse is undone.

The loop (:func:`seamline.ops.text.removal.fill_text`) refills a region its judges flag
(the ghost judge's residue, a smear, a broken edge) until they pass it or its fills are used
up, and returned the last fill whatever its verdict. Over parallel structure (a guardrail's
stripes beside a title, ``benchmarks/structure_fill_eval.py``) the ghost judge reads the
stripes' edges along the letters' as residue; each regrowth takes more of the rail into the
hole, the refill blotches more of its stripes, and the last pass is the worst: more pixels
changed far from the text, and still flagged.

:class:`BestPasses` keeps, per region, the pixels and verdicts of its best-judged pass so
far (not flagged by the ghost judge first, then the fewest smear and structure flags, then
the lowest ghost residue score where only the residue flags: :func:`pass_key`) and, when
the loop ends with the region flagged and an earlier pass judged better, puts that pass back: its pixels (in ``out`` and
the final mask, over the region's hole as it grew, other regions' holes left alone) and its
verdicts. The pixels put back are the ones the ghost judge read for that verdict, so its
crop digest still matches where no other region was refilled in its box since (QA reuses
the read; otherwise QA reads again).

numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BestPasses", "better", "pass_key"]


def pass_key(verdict, smear: dict | None, structure: dict | None) -> tuple:
    """How a region's pass was judged, lower is better: ``(ghost flag, smear and structure
    flags, ghost residue score)`` from its ghost verdict
    (:class:`~seamline.ops.text.ghost.GhostVerdict`) and its smear and structure verdicts
    (dicts with ``flagged``; None: not judged). The ghost judge first: a pass it flags still
    shows the text. The residue score ranks passes only where nothing but the residue flags
    the ghost verdict (None otherwise, :func:`better`): a pass flagged by a read, the tint or
    the leftover look scores from its edges, not from what flagged it (the 36-case mix's 004:
    every pass tinted, the first at the lowest residue score and 3.6 dB under the last)."""
    residue_only = all("residue" in r for r in verdict.reasons)  # or not flagged
    return (int(bool(verdict.flagged)),
            sum(bool(v and v.get("flagged")) for v in (smear, structure)),
            round(float(verdict.residue_score), 4) if residue_only else None)


def better(a: tuple, b: tuple) -> bool:
    """Whether :func:`pass_key` ``a`` is judged strictly better than ``b`` (the residue
    scores compared only where both have one)."""
    if a[:2] != b[:2]:
        return a[:2] < b[:2]
    return a[2] is not None and b[2] is not None and a[2] < b[2]


class BestPasses:
    """Each judged region's best pass so far, and a way back to it (see the module)."""

    def __init__(self):
        self._best: dict = {}
        self._last: dict = {}

    def offer(self, lab: int, out: np.ndarray, final: np.ndarray, hole, verdict, judged,
              plan: dict) -> None:
        """A new ghost ``verdict`` on region ``lab``'s fill, as ``out`` (HxWx3 float32) and
        ``final`` (HxW bool) hold it: ``hole`` its :class:`~seamline.ops.text.region_fill.Hole`,
        ``judged`` its smear, structure and surface verdicts (dicts or None), ``plan`` its
        record in the loop's report. A copy of the crop round the judged box and the hole is
        kept only when the pass is judged strictly better than the best so far."""
        key = pass_key(verdict, judged[0], judged[1])
        self._last[lab] = key
        best = self._best.get(lab)
        if best is not None and not better(key, best["key"]):
            return
        x0, y0, x1, y1 = verdict.box
        (hy, hx) = hole.sl
        box = (slice(min(y0, hy.start), max(y1, hy.stop)), slice(min(x0, hx.start), max(x1, hx.stop)))
        self._best[lab] = {"key": key, "box": box, "out": out[box].copy(),
                           "final": final[box].copy(), "hole": hole.within(box),
                           "verdict": verdict, "judged": tuple(judged),
                           "pass": len(plan["passes"]), "backend": plan["backend"]}

    def restore(self, out: np.ndarray, final: np.ndarray, holes: dict, plan: dict,
                ghosts: dict, judged: tuple) -> int:
        """Put back, in place, the best pass of every region whose last pass was flagged and
        judged worse than an earlier one: its pixels in ``out`` and ``final`` (over its hole
        then and now, ``holes``: label -> Hole; other regions' holes left alone), its ghost
        verdict in ``ghosts``, its smear, structure and surface verdicts in the dicts of
        ``judged`` (label -> verdict each), its backend in ``plan[lab]`` (and ``kept_pass``:
        the pass put back). Returns how many regions were put back."""
        n = 0
        for lab, best in self._best.items():
            last = self._last[lab]
            if not (last[0] or last[1]) or not better(best["key"], last):
                continue
            box = best["box"]
            mine = best["hole"] | holes[lab].within(box)
            for other, h in holes.items():
                if other != lab:
                    mine &= ~h.within(box)
            np.copyto(out[box], best["out"], where=mine[..., None])
            final[box][mine] = best["final"][mine]
            ghosts[lab] = best["verdict"]
            for verdicts, v in zip(judged, best["judged"]):
                if v is not None:
                    verdicts[lab] = v
            plan[lab]["backend"] = best["backend"]
            plan[lab]["kept_pass"] = best["pass"]
            n += 1
        return n
