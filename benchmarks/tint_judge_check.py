"""Train-split check of the tint look (:mod:`seamline.ops.text.tint`) (issue 10).

On the train cases of ``benchmarks/mask_train_eval.py`` (32: every overlay style twice on
train photos, bright photos under outlined and meme captions; detection cached there), every
detected text region is judged by the ghost judge with only the tint look speaking (no OCR
reads, no residue or leftover flags counted) under these conditions:

* ``clean``: the clean photo as the cleaned image, the drawn mask grown 1 px as the mask (a
  perfect removal): a flag is a false positive;
* ``telea``: the drawn mask grown 1 px filled by Telea (an exact-mask fill): a false
  positive;
* ``untouched``: another case's clean photo (resized to this one), with this case's grown
  drawn mask laid over it and filled by Telea (an untouched photo "cleaned" where there was
  no text): a false positive;
* ``core``: the drawn pixels where the text changed the photo by 0.15 or more (its
  anti-aliased rim left out, as a mask that hugs the strokes leaves it) filled by FSR, the
  pipeline's fill over texture: the rim's ink leaks into the fill. A flag is a hit only
  where a person sees the letters; reported, not a target.

And the demo (``seamline.testing.demo_image``; its photo, scikit-image's coffee, is a train
photo) as remove-text leaves it: its "SAMPLE" must be flagged.

Usage::

    PYTHONPATH=src python benchmarks/tint_judge_check.py [--json out.json]
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


def _no_reads(strip):
    return "", 0.0


def _tint(original, cleaned, regions, mask) -> list:
    from seamline.ops.text.ghost import judge_regions

    vs = judge_regions(original, cleaned, regions, mask=mask.astype(np.float32), ocr=_no_reads,
                       high_pass=False, leftover=False, tint=True)
    return [v.stats.get("tint") or {} for v in vs]


def run() -> dict:
    from seamline.ops.inpaint import inpaint

    cases = build_cases()
    rows: dict = {k: [] for k in ("clean", "telea", "untouched", "core")}
    for i, (cid, style, name, photo, image, drawn, *_) in enumerate(cases):
        regions = regions_for(cid, image)
        if not regions:
            continue
        m1 = cv2.dilate(drawn.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        other = cases[(i + 7) % len(cases)][3]
        other = cv2.resize(other, photo.shape[1::-1], interpolation=cv2.INTER_AREA)
        core = drawn & (np.abs(image - photo).max(-1) >= 0.15)
        conds = {"clean": (image, photo, m1), "telea": (image, telea(image, m1), m1),
                 "untouched": (other, telea(other, m1), m1)}
        if core.sum() >= 24:
            conds["core"] = (image, inpaint(image, core.astype(np.float32), backend="fsr"),
                             core)
        for cond, (o, c, m) in conds.items():
            for j, f in enumerate(_tint(o, c, regions, m)):
                rows[cond].append({"case": cid, "style": style, "photo": name, "region": j,
                                   "text": regions[j].text, **f})
        print(cid, style, name, {k: sum(r.get("flagged", False) for r in v if r["case"] == cid)
                                 for k, v in rows.items()}, flush=True)
    return rows


def demo() -> dict:
    import seamline as sl
    from seamline.testing.demo_image import demo_image

    image, _ = demo_image()
    res = sl.remove_text(image)
    regions = res.run.stage("detect").outputs["regions"]
    final = np.asarray(res.mask)
    fill = res.run.stage("inpaint").outputs["report"]
    return {"tint": dict(zip([r.text for r in regions],
                             _tint(image, np.asarray(res.image), regions, final))),
            "qa_failed": [[f["text"], f["judges"]] for f in res.qa.get("failed_regions", [])],
            "passes": [[(p["backend"], p.get("because")) for p in r["passes"]]
                       for r in fill["regions"]]}


def main() -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write every row here")
    ap.add_argument("--no-demo", action="store_true")
    a = ap.parse_args()
    rows = run()
    print("tint look on train cases (regions judged / flagged)")
    for cond, rs in rows.items():
        judged = [r for r in rs if r.get("judged")]
        flagged = [r for r in judged if r.get("flagged")]
        print(f"{cond:10s} regions {len(rs):4d} judged {len(judged):4d} flagged {len(flagged):3d}")
        for r in flagged[:8]:
            print("    ", {k: r.get(k) for k in ("case", "style", "photo", "region", "text",
                                                  "tinted_letters", "letters", "tinted_px",
                                                  "removed_px", "tint")})
    out = {"rows": rows}
    if not a.no_demo:
        out["demo"] = demo()
        print("demo (remove-text as it is):", json.dumps(out["demo"], default=str))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
