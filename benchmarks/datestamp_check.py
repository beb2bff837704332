"""Orange camera dates over golden grass on the TRAIN split: found or not (issue 10,
detect-text v17's bottom-right corner pass, ``ops.text.datestamp``).

Cases (deterministic; seeds ``[20261207, 38, j]``), 4:3 at 768/1024/1280/1600 px wide in
turn: even ``j`` scikit-image grass mirror-tiled and tinted golden
(``detect_miss_check.tinted_grass``), odd ``j`` a crop of a ``backgrounds("train")`` photo
recoloured golden (:func:`golden`). The date is ``overlays.sample_overlays``' datestamp
(train fonts: DSEG7; orange ``(255, 120-200, 0-60)``, bottom right), left in its colour.
Per case: the drawn lines a region overlaps, the share of the drawn lines' area the regions
cover, the stage's ``found_by_*`` counts and CPU seconds (detect-text, ``tiled=off``);
``--pipeline`` adds ``detect_miss_check``'s remove-text columns (ghost words, PSNR in the
text region, far px, QA-failed).

Usage (one tree first on PYTHONPATH; run it with main's and compare)::

    PYTHONPATH=src python benchmarks/datestamp_check.py --cases 40 --out /tmp/date.json
    PYTHONPATH=src python benchmarks/datestamp_check.py --only ds0,ds38 --pipeline
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import text_region  # noqa: E402  (benchmarks/ is on sys.path)
from detect_miss_check import WIDTHS, case_row, crop_4_3, tinted_grass  # noqa: E402


def golden(photo, rng):
    """``photo`` (HxWx3 float32) recoloured golden: hue 35-50 deg (its own hues squeezed to
    3% of their spread round it), saturation 0.5-0.85 scaled by 0.6-1 with its own, value
    kept; and the hue's name."""
    hsv = cv2.cvtColor((np.clip(photo, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
    hue = rng.uniform(35, 50)
    h, s = hsv[..., 0].astype(np.float32), hsv[..., 1].astype(np.float32)
    hsv[..., 0] = np.clip(hue / 2 + (h - 90) * 0.03, 0, 179).astype(np.uint8)
    hsv[..., 1] = np.clip(rng.uniform(0.5, 0.85) * 255 * (0.6 + 0.4 * s / 255), 0, 255
                          ).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255, f"gold{hue:.0f}"


def build_cases(n):
    """[(id, photo name, photo, with_text, drawn, region, lines)], deterministic."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    bgs = backgrounds("train", min_side=768)
    fonts = overlays.font_paths("train")
    out = []
    for j in range(n):
        rng = np.random.default_rng([20261207, 38, j])
        width = WIDTHS[j % len(WIDTHS)]
        if j % 2 == 0:
            photo, name = tinted_grass((width * 3 // 4, width), rng, True)
        else:
            name, photo = bgs[int(rng.integers(len(bgs)))]
            photo, hue = golden(crop_4_3(photo, rng, width), rng)
            name = f"{name}:{hue}"
        ovs = overlays.sample_overlays(rng, "datestamp", photo.shape[:2], fonts)
        img = overlays.render(photo, ovs)[0].astype(np.float32)
        drawn = overlays.drawn_mask(photo, img)
        lines = [(p, t) for ov in ovs for p, t in
                 zip(overlays.line_polygons(ov), [t for t in ov.text.split("\n") if t.strip()])]
        out.append((f"ds{j}", name, photo, img, drawn, text_region(drawn, ovs), lines))
    return out


def covered(lines, regions, shape):
    """Share of the drawn lines' polygons' area inside a region's polygon."""
    rm, lm = np.zeros(shape[:2], np.uint8), np.zeros(shape[:2], np.uint8)
    for r in regions:
        cv2.fillPoly(rm, [np.round(r.polygon).astype(np.int32)], 1)
    for p, _ in lines:
        cv2.fillPoly(lm, [np.round(p).astype(np.int32)], 1)
    return round(float((lm & rm).sum() / max(1, lm.sum())), 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    ap.add_argument("--cases", type=int, default=40)
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--pipeline", action="store_true", help="also run remove-text")
    a = ap.parse_args()
    keep = set(a.only.split(",")) if a.only else None
    rows = []
    for cid, name, photo, img, drawn, region, lines in build_cases(a.cases):
        if keep and cid not in keep:
            continue
        row, regs = case_row(img, photo, drawn, region, lines, a.pipeline,
                             id=cid, photo=name, width=img.shape[1])
        row["covered"] = covered(lines, regs, img.shape)
        rows.append(row)
    print(f"cases {len(rows)}, lines found {sum(r['found'] for r in rows)}/"
          f"{sum(r['lines'] for r in rows)}, covered > 0.5: "
          f"{sum(r['covered'] > 0.5 for r in rows)}, CPU {sum(r['cpu'] for r in rows):.1f} s"
          + (f", ghost {sum(r['ghost'] for r in rows)}/{sum(r['words'] for r in rows)}, psnr "
             f"{sum(r['psnr'] for r in rows):.2f} (sum), far {sum(r['far'] for r in rows)}, "
             f"QA-failed {sum(r['qa_failed'] for r in rows)}" if a.pipeline else ""))
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
