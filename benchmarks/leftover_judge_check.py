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
#: "reject" = a person sees text or an artefact there at 2x (side by side with the input),
#: "accept" = not. Judged on main's remove-text at 03:30 UTC on 2026-12-05 (the cases in
#: ``leftover_cases.py --out DIR --per-style 2``, seed 7).
LABELS: dict = {
    ("tiled_watermark-3-chelsea", 4): ("reject", "'YRIGHT' left whole; a pale blob at the eye"),
    ("tiled_watermark-3-chelsea", 1): ("reject", "'GHT' left whole; a dark blob on the fur"),
    ("tiled_watermark-5-chelsea", 2): ("reject", "fragments of 'PhotoCo' readable; a blur"),
    ("tiled_watermark-5-chelsea", 0): ("reject", "'Photo' still traced in pale strokes"),
    ("tiled_watermark-4-chelsea", 1): ("reject", "'shutterpix' fragments readable"),
    ("tiled_watermark-4-chelsea", 0): ("reject", "a dark green blob where 'rpix' was"),
    ("watermark-0-camera", 0): ("reject", "'GHT' of COPYRIGHT left; a smear on the hand"),
    ("plain-0-astronaut", 0): ("reject", "letters of both crossing captions left"),
    ("subtitle-0-astronaut", 1): ("reject", "the mission patch smeared white"),
    ("huge-0-chelsea", 0): ("reject", "black fragments of the last letters at the right"),
    ("watermark-1-noise0", 0): ("reject", "'ning' outlined by pale rims"),
    ("outline-0-stereo_motorcycle", 2): ("reject", "grey-green fragments of 'roast'"),
    ("datestamp-0-retina", 0): ("reject", "a dark notch on the retina's red edge"),
    ("shadow_blur-0-chelsea", 1): ("accept", "fur a little softer, no letters"),
    ("shadow_hard-0-grass", 0): ("accept", "grass continues; a faint tint at most"),
    ("plain-1-brick", 0): ("accept", "mortar lines continue"),
    ("glow-1-rocket", 0): ("accept", "smooth sky"),
    ("tiny-0-grass", 0): ("accept", "grass continues"),
    ("rotated-0-hubble_deep_field", 1): ("accept", "star field, no trace of the words"),
}


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
        print("labelled crops (by eye, 2x): each judge's verdict on the pipeline's output "
              "(ghost/smear/structure: remove-text's own QA; leftover: this look)")
        for r in sorted(lab, key=lambda r: (r["label"] != "reject", r["case"])):
            j = [k for k in ("ghost", "smear", "structure") if k in r["qa_failed"]]
            print(f"  {r['label']:6s} {r['case']}:{r['region']:<3d} QA {','.join(j) or 'pass':16s}"
                  f" leftover {'FLAG' if r['leftover'] else 'pass'} ({r['left_px']} px)  "
                  f"ink left {r['ink_left_px']} px; {LABELS[(r['case'], r['region'])][1]}")
        for want in ("reject", "accept"):
            g = [r for r in lab if r["label"] == want]
            print(f"labelled {want}: {len(g)}; QA flags {sum(bool(r['qa_failed']) for r in g)}; "
                  f"leftover flags {sum(r['leftover'] for r in g)}; either "
                  f"{sum(bool(r['qa_failed']) or r['leftover'] for r in g)}")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
