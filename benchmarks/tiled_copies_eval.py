"""Where a tiled watermark's copies are lost, per train case (issue 10; train split only).

For each ``tiled_watermark`` case of ``mask_train_eval.build_sized_cases`` (the held-out
benchmark's sizes, train photos and fonts) the whole ``remove-text`` pipeline runs once and
every drawn copy with at least 30 visible pixels (changed > 8/255) is followed through it:

* ``line`` / ``tile`` / ``none``: a detected line (reading) covers at least half its visible
  pixels, else a tile detect-text added, else no region;
* ``unbl``: unblend-watermark changed at least half of them; ``mask``: the mask filled
  (preflight's) covers at least half; ``lost``: neither; ``partial``: handled, but more than
  a fifth still visible in the result; ``edge``: cut by the frame (of those lost: ``edge_lost``);
* ``left``: visible drawn pixels still visible in the result, of ``vis``;

plus what detect-text's tiled search and unblend-watermark reported.

Usage (the tree to measure first on PYTHONPATH)::

    PYTHONPATH=src python benchmarks/tiled_copies_eval.py --out /tmp/copies.json [--only tiled_watermark4]
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
from mask_train_eval import build_sized_cases, psnr  # noqa: E402


def follow(image, photo, drawn, region, lines):
    """One case through remove-text: the per-copy counts and the stages' reports (dict)."""
    import seamline as sl
    from seamline.ops.polygons import polygon_mask

    res = sl.remove_text(image)
    run = res.run
    det, ub = run.stage("detect"), run.stage("unblend")
    regions = det.outputs["regions"]
    edited = np.asarray(ub.outputs["edited"]) > 0
    filled = np.asarray(run.stage("preflight").outputs["mask"]) >= 0.5
    result = np.asarray(res.image, np.float32)
    vis = np.abs(image - photo).max(-1) > 8 / 255
    left = np.abs(result - photo).max(-1) > 8 / 255
    H, W = image.shape[:2]
    rmasks = [(r.text, polygon_mask(r.polygon, (H, W)) > 0) for r in regions]
    n = dict(copies=0, line=0, tile=0, none=0, unbl=0, mask=0, lost=0, partial=0, edge=0,
             edge_lost=0, left=0)
    for poly, _ in lines:
        pm = polygon_mask(cv2.convexHull(np.float32(poly)).reshape(-1, 2), (H, W)) > 0
        d = (cv2.dilate(pm.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & vis
        if d.sum() < 30:
            continue
        P = np.asarray(poly)
        edge = bool((P < 0).any() or (P[:, 0] >= W).any() or (P[:, 1] >= H).any())
        cover = [(t, (m & d).sum() / d.sum()) for t, m in rmasks]
        line = any(t != "" and c >= 0.5 for t, c in cover)
        tile = not line and any(t == "" and c >= 0.5 for t, c in cover)
        fu, fm = (edited & d).sum() / d.sum(), (filled & d).sum() / d.sum()
        lost = fu < 0.5 and fm < 0.5
        for k, v in (("copies", 1), ("line", line), ("tile", tile), ("none", not (line or tile)),
                     ("unbl", fu >= 0.5), ("mask", fm >= 0.5), ("lost", lost), ("edge", edge),
                     ("edge_lost", lost and edge),
                     ("partial", not lost and (left & d).sum() / d.sum() > 0.2),
                     ("left", int((left & d).sum()))):
            n[k] += int(v)
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
    tw = det.report.get("tiled_watermark", {})
    return dict(n, vis=int(vis.sum()), psnr_pipe=psnr(result, photo, region),
                far=int(np.count_nonzero(np.any(result != image, axis=2) & far)),
                tiled_found=bool(tw.get("found")), tiles=len(tw.get("region_indices", [])),
                tiled_reason=str(tw.get("reason", "")),
                unblend={k: ub.report.get(k) for k in (
                    "done", "copies", "copies_inverted", "copies_left_to_fill",
                    "copies_ghosted", "reason")},
                tile_strokes=run.stage("mask").report.get("tile_strokes"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    ap.add_argument("--only", help="comma-separated case ids (tiled_watermark0..15)")
    ap.add_argument("--per-style", type=int, default=16)
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for cid, _, name, photo, image, drawn, region, lines in build_sized_cases(
            ["tiled_watermark"], args.per_style):
        if only and cid not in only:
            continue
        r = dict(id=cid, photo=name, **follow(image, photo, drawn, region, lines))
        rows.append(r)
        print(f"{cid:18s} {name[8:24]:16s} copies {r['copies']:3d} line {r['line']:3d} "
              f"tile {r['tile']:3d} none {r['none']:3d} | unbl {r['unbl']:3d} mask {r['mask']:3d} "
              f"lost {r['lost']:3d} (edge {r['edge_lost']:2d}) partial {r['partial']:3d} | "
              f"left {r['left']:6d}/{r['vis']:6d} psnr {r['psnr_pipe']:6.2f} far {r['far']:5d} | "
              f"tiled {r['tiled_found']} {r['tiles']} | unblend {r['unblend']['done']} "
              f"{r['unblend']['copies_inverted']}", flush=True)
    tot = {k: sum(r[k] for r in rows) for k in ("copies", "line", "tile", "none", "unbl",
                                                "mask", "lost", "edge_lost", "partial",
                                                "left", "vis")}
    print("total", json.dumps(tot))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()
