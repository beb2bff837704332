"""Train-split check of the surface look (:mod:`seamline.ops.inpaint.surface`) (issue 10).

On the train cases of ``benchmarks/mask_train_eval.py`` (32: every overlay style twice on
train photos, bright photos under outlined and meme captions; detection cached there), every
text region's hole (the drawn mask grown 2 px, split per region as the fill loop splits it)
is judged by the surface look on the crop the loop judges it on, under these conditions:

* ``clean``: the clean photo as the cleaned image (a perfect removal): a flag is a false
  positive;
* ``untouched``: another case's clean photo (resized to this one) with this case's holes laid
  over it and nothing changed (an untouched photo): a false positive;
* ``telea`` and ``fsr``: the holes filled by Telea and by the frequency-selective fill (the
  pipeline's fill over texture): reported (a flag is what a person sees as a blurred patch
  where the ring has grain).

Usage::

    PYTHONPATH=src python benchmarks/surface_judge_check.py [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import offline  # noqa: E402
from mask_train_eval import build_cases, regions_for, telea  # noqa: E402

FIGS = ("texture_px", "flat_px", "flat_share", "grain_ratio")


def _holes(mask, regions):
    from scipy.ndimage import find_objects

    from seamline.ops.text.region_fill import Hole, assign_components

    labels, n = assign_components(mask.astype(np.float32), regions)
    return [(i, Hole(sl, labels[sl] == i + 1)) for i, sl in enumerate(find_objects(labels, n))
            if sl is not None and i < len(regions)]


def judge_all(cleaned, mask, holes) -> list:
    """The surface look per region on the loop's judge crop (``max(32, 3 x thickness)``)."""
    from seamline.ops.inpaint.surface import judge_surface

    out = []
    for i, hole in holes:
        box = hole.box(int(max(32, 3 * hole.thickness(mask.shape))), mask.shape)
        out.append((i, judge_surface(cleaned[box], hole.within(box), known=~mask[box])))
    return out


def run() -> dict:
    from seamline.ops.inpaint import inpaint

    cases = build_cases()
    rows: dict = {k: [] for k in ("clean", "untouched", "telea", "fsr")}
    k5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    for i, (cid, style, name, photo, image, drawn, *_) in enumerate(cases):
        regions = regions_for(cid, image)
        if not regions:
            continue
        m = cv2.dilate(drawn.astype(np.uint8), k5) > 0
        holes = _holes(m, regions)
        other = cases[(i + 7) % len(cases)][3]
        other = cv2.resize(other, photo.shape[1::-1], interpolation=cv2.INTER_AREA)
        conds = {"clean": photo, "untouched": other, "telea": telea(image, m),
                 "fsr": inpaint(image, m.astype(np.float32), backend="fsr")}
        for cond, c in conds.items():
            for j, v in judge_all(c, m, holes):
                rows[cond].append({"case": cid, "style": style, "photo": name, "region": j,
                                   "text": regions[j].text, "flagged": v["flagged"],
                                   "judged": v["judged"], **{f: v.get(f) for f in FIGS}})
        print(cid, style, name, {k: sum(r["flagged"] for r in v if r["case"] == cid)
                                 for k, v in rows.items()}, flush=True)
    return rows


def main() -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write every row here")
    a = ap.parse_args()
    rows = run()
    print("surface look on train cases (regions / judged / flagged)")
    for cond, rs in rows.items():
        judged = [r for r in rs if r.get("judged")]
        flagged = [r for r in judged if r.get("flagged")]
        print(f"{cond:10s} regions {len(rs):4d} judged {len(judged):4d} flagged {len(flagged):3d}")
        for r in flagged[:10]:
            print("    ", {k: r.get(k) for k in ("case", "style", "photo", "region", "text",
                                                  *FIGS)})
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
