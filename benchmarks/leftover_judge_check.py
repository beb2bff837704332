"""Train-split check of the leftover-ink look (:mod:`seamline.ops.text.leftover`) (issue 10).

On the cases ``benchmarks/leftover_cases.py`` saved (train photos only), every detected text
region is judged by the ghost judge's leftover look (no OCR: ``judge_regions`` with a reader
that reads nothing, so only the residue and leftover looks speak) under these conditions:

* ``pipeline``: the cleaned image and fill mask remove-text produced; the region's **ink
  left** is the drawn pixels outside the fill mask that differ from the clean photo by 0.05
  or more (what a person can see), and the by-eye labels (:data:`LABELS`) say which
  regions a person rejects;
* ``clean``: the clean photo as the cleaned image, the drawn mask grown 1 px as the mask (a
  perfect removal): a flag is a false positive;
* ``telea``: the drawn mask grown 1 px filled by Telea (an exact-mask fill): a flag is a
  false positive;
* ``half``: as ``telea`` but every second letter (component of the grown drawn mask) left
  in place and out of the mask: letters a person reads; a flag is a hit (regions holding a
  left letter only);
* ``untouched``: another case's clean photo, with this case's grown drawn mask laid over it
  and filled by Telea (an untouched photo "cleaned" where there was no text): a flag is a
  false positive.

Usage::

    python benchmarks/leftover_judge_check.py --cases /tmp/leftover_cases [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

#: By-eye labels of the pipeline's cleaned crops (case id, region index) -> (verdict, why):
#: "reject" = a person sees text or an artefact there at 2x, "accept" = not.
LABELS: dict = {}


class _Region:
    def __init__(self, polygon, text):
        self.polygon = np.asarray(polygon, np.float64)
        self.text = text


def _telea(img, m):
    u8 = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return cv2.inpaint(u8, m.astype(np.uint8) * 255, 3,
                       cv2.INPAINT_TELEA).astype(np.float32) / 255


def _no_reads(strip):
    return "", 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", required=True)
    ap.add_argument("--json")
    ap.add_argument("--only", default="")
    a = ap.parse_args(argv)
    from seamline.ops.text.ghost import judge_regions

    files = sorted(Path(a.cases).glob("*.json"))
    if a.only:
        files = [f for f in files if a.only in f.stem]
    photos = {}
    rows = []
    for f in files:
        meta = json.loads(f.read_text())
        z = np.load(f.with_suffix(".npz"))
        photos[meta["id"]] = z["photo"]
    ids = list(photos)
    for ci, f in enumerate(files):
        meta = json.loads(f.read_text())
        z = np.load(f.with_suffix(".npz"))
        photo, marked, cleaned, mask, drawn = (z["photo"], z["marked"], z["cleaned"], z["mask"],
                                               z["drawn"])
        regions = [_Region(r["polygon"], r["text"]) for r in meta["regions"]]
        if not regions:
            continue
        grown = cv2.dilate(drawn.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        n, lab = cv2.connectedComponents(grown.astype(np.uint8))
        keep = (lab % 2 == 0) & grown
        other = photos[ids[(ci + 1) % len(ids)]]
        if other.shape != photo.shape:
            other = cv2.resize(other, photo.shape[1::-1], interpolation=cv2.INTER_AREA)
        conds = {"pipeline": (marked, cleaned, mask),
                 "clean": (marked, photo, grown.astype(np.float32)),
                 "telea": (marked, _telea(marked, grown), grown.astype(np.float32)),
                 "half": (marked, _telea(marked, grown & ~keep),
                          (grown & ~keep).astype(np.float32)),
                 "untouched": (other, _telea(other, grown), grown.astype(np.float32))}
        inkdiff = np.abs(marked - photo).max(-1) >= 0.05
        for cond, (O, C, M) in conds.items():
            vs = judge_regions(O, C, regions, mask=M, ocr=_no_reads, high_pass=False)
            for i, v in enumerate(vs):
                x0, y0, x1, y1 = v.box
                lo = v.stats.get("leftover") or {}
                row = {"case": meta["id"], "style": meta["style"], "cond": cond, "region": i,
                       "text": regions[i].text, "leftover": bool(lo.get("flagged")),
                       "judged": bool(lo.get("judged")),
                       "left_px": lo.get("left_px", 0), "pieces": lo.get("pieces", 0),
                       "ring_rate": lo.get("ring_rate", 0.0),
                       "residue_flag": v.residue_score > 0.15}
                if cond == "pipeline":
                    row["ink_left_px"] = int((inkdiff & ~(M > 0))[y0:y1, x0:x1].sum())
                    qa_failed = {fr["index"]: fr["judges"] for fr in
                                 meta["qa"].get("failed_regions") or []}
                    row["qa_failed"] = qa_failed.get(i, [])
                    row["label"] = LABELS.get((meta["id"], i), ("?", ""))[0]
                if cond == "half":
                    row["kept_px"] = int((keep & drawn & inkdiff)[y0:y1, x0:x1].sum())
                rows.append(row)
        print(meta["id"], flush=True, file=sys.stderr)
    print(f"leftover look on {len(files)} train cases")
    for cond in ("pipeline", "clean", "telea", "half", "untouched"):
        k = [r for r in rows if r["cond"] == cond]
        if cond == "half":
            k = [r for r in k if r["kept_px"] >= 40]
        fl = sum(r["leftover"] for r in k)
        print(f"{cond:10s} regions {len(k):4d} judged {sum(r['judged'] for r in k):4d} "
              f"flagged {fl:4d}  left_px max {max([r['left_px'] for r in k] or [0])}")
        for r in sorted(k, key=lambda r: -r["left_px"])[:6]:
            print("    ", {x: r[x] for x in r if x not in ("cond",)})
    lab = [r for r in rows if r["cond"] == "pipeline" and r.get("label") in ("reject", "accept")]
    if lab:
        for want in ("reject", "accept"):
            g = [r for r in lab if r["label"] == want]
            print(f"labelled {want}: {len(g)}; leftover flags {sum(r['leftover'] for r in g)}; "
                  f"QA (before) failed {sum(bool(r['qa_failed']) for r in g)}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
