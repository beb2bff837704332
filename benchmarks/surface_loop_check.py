"""Train split, whole remove-text pipeline with the fill loop's surface look off and on (issue 10).

On the train cases of ``benchmarks/mask_train_eval.py`` (32: every overlay style twice on
train photos, bright photos under outlined and meme captions), ``remove-text`` runs twice in
one process: ``before`` with the surface look silenced (it never flags, so no grain is
added: the loop as it was) and ``after`` as it is. Per case and condition: PSNR in the text
region against the clean photo, regions the ghost judge flags, pixels changed farther than
8 px from the drawn text, QA-failed regions (and which judges), regions the surface look
flagged on their fill and regions that got the grain.

Usage::

    PYTHONPATH=src python benchmarks/surface_loop_check.py [--only 000,029] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import offline  # noqa: E402
from mask_train_eval import build_cases, psnr  # noqa: E402


def _silenced(*a, **k):
    return {"flagged": False, "reasons": [], "judged": False, "texture_px": 0}


def one(image, photo, drawn, region) -> dict:
    import seamline as sl

    t0 = time.process_time()
    res = sl.remove_text(image)
    out = np.asarray(res.image, np.float32)
    fill = res.run.stage("inpaint").outputs["report"]
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
    grained = [r["text"] for r in fill["regions"] if any("texture" in p for p in r["passes"])]
    flagged_first = [r["text"] for r in fill["regions"]
                     if any((p.get("texture") or {}).get("before") for p in r["passes"])]
    return {"psnr": psnr(out, photo, region),
            "far": int(np.count_nonzero(np.any(out != image, axis=2) & far)),
            "ghost_flagged": int(res.qa.get("ghost_flagged", 0)),
            "ghost_regions": int(res.qa.get("ghost_regions", 0)),
            "surface_flagged": int(res.qa.get("surface_flagged", 0)),
            "surface_regions": int(res.qa.get("surface_regions", 0)),
            "qa_failed": [[f["text"], f["judges"]] for f in res.qa.get("failed_regions", [])],
            "grained": grained, "flagged_first": flagged_first,
            "passes": int(fill.get("passes", 0)), "cpu_s": time.process_time() - t0}


def main() -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--json", help="write every row here")
    a = ap.parse_args()
    import seamline.ops.text.removal as removal

    only = set(a.only.split(",")) if a.only else None
    judge = removal._judge_surface
    rows = []
    for cid, style, name, photo, image, drawn, region, *_ in build_cases():
        if only and cid not in only:
            continue
        row = {"id": cid, "style": style, "photo": name}
        for cond in ("before", "after"):
            removal._judge_surface = _silenced if cond == "before" else judge
            row[cond] = one(image, photo, drawn, region)
        removal._judge_surface = judge
        b, f = row["before"], row["after"]
        print(f"{cid} {style:15s} {name:26s} psnr {b['psnr']:6.2f} -> {f['psnr']:6.2f}  far "
              f"{b['far']:6d} -> {f['far']:6d}  ghost {b['ghost_flagged']} -> "
              f"{f['ghost_flagged']}  qa_failed {len(b['qa_failed'])} -> {len(f['qa_failed'])}"
              f"  grained {len(f['grained'])}  cpu {b['cpu_s']:.1f} -> {f['cpu_s']:.1f} s",
              flush=True)
        rows.append(row)
    print("\nper style (mean PSNR before -> after, far px, ghost flags, QA-failed, grained)")
    for style in dict.fromkeys(r["style"] for r in rows):
        rs = [r for r in rows if r["style"] == style]
        m = {c: {k: float(np.mean([r[c][k] if not isinstance(r[c][k], list) else len(r[c][k])
                                   for r in rs]))
                 for k in ("psnr", "far", "ghost_flagged", "qa_failed", "cpu_s")}
             for c in ("before", "after")}
        print(f"{style:15s} n={len(rs)} psnr {m['before']['psnr']:6.2f} -> {m['after']['psnr']:6.2f}"
              f"  far {m['before']['far']:7.0f} -> {m['after']['far']:7.0f}  ghost "
              f"{m['before']['ghost_flagged']:.2f} -> {m['after']['ghost_flagged']:.2f}  qa_failed "
              f"{m['before']['qa_failed']:.2f} -> {m['after']['qa_failed']:.2f}  grained "
              f"{sum(len(r['after']['grained']) for r in rs)}")
    tot = {c: {"psnr": float(np.mean([r[c]["psnr"] for r in rows])),
               "far": int(sum(r[c]["far"] for r in rows)),
               "ghost_flagged": int(sum(r[c]["ghost_flagged"] for r in rows)),
               "qa_failed": int(sum(len(r[c]["qa_failed"]) for r in rows)),
               "surface_failed": int(sum(any("surface" in j for _, j in r[c]["qa_failed"])
                                         for r in rows)),
               "grained": int(sum(len(r[c]["grained"]) for r in rows)),
               "cpu_s": float(sum(r[c]["cpu_s"] for r in rows))} for c in ("before", "after")}
    print("all:", json.dumps(tot))
    if a.json:
        Path(a.json).write_text(json.dumps({"rows": rows, "total": tot}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
