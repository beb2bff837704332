"""Train-split check of where the fill loop's re-mask grows (issue 10): pixels changed far
from the text, split into the first mask's and the loop's growth, PSNR and QA-failed regions.

The whole ``remove-text`` pipeline runs on the train cases of
``benchmarks/mask_train_eval.py`` (32 cases: every style twice on train photos, bright
photos under outlined and meme captions) plus ``--sized`` cases at the held-out benchmark's
sizes (train photos; default: huge, tiled_watermark and subtitle, 2 each: where the held-out
run changed pixels far from the text). Never the held-out wallpapers. The pipeline runs
once per case up to its fill; the fill loop then runs on the same mask and regions as it was
(``judge``: regrowth anywhere the judge looked, no tint look), with the regrowth limit
(``rule``) and as it is (``rule+tint``), in one process. Per case and variant:

* ``far``: pixels the result changed farther than 8 px from the drawn text (the
  benchmark's count); ``far_first``: those inside the mask the loop was given (the
  mask stages' share); ``far_grown``: those the loop's re-mask added (its own share; the
  loop fills what the pipeline fills, the photo with a tiled watermark taken off, and
  pixels that unblend changed outside the mask count here too);
* ``grown_px``: pixels the loop added to the mask, anywhere;
* ``psnr``: in the text region (drawn pixels and the line boxes, grown 3 px) against the
  clean photo;
* ``qa_failed``: regions QA names as failed, and by which judge.

Usage (each tree first on PYTHONPATH; a before/after pair on the same machine state)::

    PYTHONPATH=src python benchmarks/loop_regrowth_check.py --out /tmp/after.json
    python benchmarks/loop_regrowth_check.py --compare /tmp/before.json /tmp/after.json
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
from mask_train_eval import build_cases, build_sized_cases, psnr  # noqa: E402


#: The loop as it was and as it is: ``judge`` a re-mask grows anywhere in the judge's box
#: and the ghost judge has no tint look (main before issue 10's fill-loop round); ``rule``
#: grows as :func:`seamline.ops.text.removal.regrow_limit` says, still without the tint
#: look; ``rule+tint`` the loop as it is.
VARIANTS = ("judge", "rule", "rule+tint")


def _limit(variant):
    from seamline.ops.text import removal

    rule = removal.regrow_limit

    def limit(polygon, first, box, letters=None):
        if variant != "judge":
            return rule(polygon, first, box, letters=letters)
        return np.ones((box[0].stop - box[0].start, box[1].stop - box[1].start), bool)
    return limit


def _judge(variant):
    from seamline.ops.text import ghost

    real = ghost.judge_regions

    def judge(*a, **k):
        return real(*a, **k, tint=variant == "rule+tint")
    return judge


def measure(image, photo, drawn, region, variants=VARIANTS) -> dict:
    """The pipeline on ``image`` up to its fill, then its fill loop on the same mask and
    regions under each of ``variants``: ``{variant: row}`` (see the module docstring). The
    loop runs here with seed 0 (the pipeline derives its own), so ``line|mask`` matches the
    pipeline's passes, not always its exemplar pixels."""
    import seamline as sl
    from seamline.ops.text import removal

    res = sl.remove_text(image)
    first = np.asarray(res.run.stage("preflight").outputs["mask"])
    regions = res.run.stage("detect").outputs["regions"]
    filled = image  # what the fill sees: the photo, or the photo with a tiled watermark
    if "unblend" in res.run.stages:  # taken off first (remove-text since f8a7d1b)
        regions = res.run.stage("unblend").outputs["regions"]
        filled = np.asarray(res.run.stage("unblend").outputs["image"], np.float32)
    geometry = res.run.stage("mask").outputs["geometry"] or {}
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
    rows: dict = {}
    regrew = False
    # the loop as it is first: where neither it nor the old loop grew, "rule" is "judge"
    for variant in sorted(variants, key=lambda v: v != "rule+tint"):
        if variant == "rule" and not regrew:  # no re-mask grew: the limit changes nothing
            rows[variant] = dict(rows["judge"])
            continue
        from seamline.ops.text import ghost

        real, real_judge = removal.regrow_limit, ghost.judge_regions
        removal.regrow_limit, ghost.judge_regions = _limit(variant), _judge(variant)
        try:
            out, final, rep = removal.fill_text(filled, first, regions, backend="auto",
                                                max_passes=3, radius=3, seed=0,
                                                stroke_px=geometry.get("stroke_width_px"))
        finally:
            removal.regrow_limit, ghost.judge_regions = real, real_judge
        changed = np.any(out != image, axis=2)
        f0, f1 = first > 0, final > 0
        rows[variant] = {
            "far": int((changed & far).sum()), "far_first": int((changed & far & f0).sum()),
            "far_grown": int((changed & far & ~f0).sum()), "grown_px": int((f1 & ~f0).sum()),
            "psnr": psnr(out, photo, region),
            "qa_failed": [[f.get("text", ""), f.get("judges", [])] for f in rep["failed"]],
            "passes": int(rep.get("passes", 0))}
        regrew = regrew or any("ghost" in p.get("because", ()) for r in rep["regions"]
                               for p in r["passes"])
    return rows


def run(args) -> dict:
    offline()  # nothing may download
    cases = build_cases()
    if args.sized:
        cases += build_sized_cases(args.sized.split(","), args.per_style)
    only = set(args.only.split(",")) if args.only else None
    rows: dict = {v: [] for v in VARIANTS}
    for cid, style, name, photo, image, drawn, region, *_ in cases:
        if only and cid not in only:
            continue
        t0 = time.perf_counter()
        for variant, row in measure(image, photo, drawn, region).items():
            rows[variant].append({"id": cid, "style": style, "photo": name, **row})
        line = " | ".join(f"{v} far {rows[v][-1]['far']} (grown {rows[v][-1]['far_grown']}) "
                          f"{rows[v][-1]['psnr']:.2f} dB qa {len(rows[v][-1]['qa_failed'])}"
                          for v in VARIANTS)
        print(f"{cid:18s} {style:15s} {name:24s} {time.perf_counter() - t0:5.1f}s {line}",
              flush=True)
    for v in VARIANTS:
        print(f"{v:10s} {summary(rows[v])}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))
    return rows


def summary(rows, before=None) -> str:
    """Totals (far pixels, grown pixels, QA-failed regions) and mean PSNR; ``a -> b`` with
    ``before``."""
    def figs(rs):
        return (sum(r["far"] for r in rs), sum(r["far_first"] for r in rs),
                sum(r["far_grown"] for r in rs), sum(r["grown_px"] for r in rs),
                float(np.mean([r["psnr"] for r in rs])) if rs else float("nan"),
                sum(len(r["qa_failed"]) for r in rs))
    names = ("far px", "far in first mask", "far grown", "grown px", "PSNR dB", "QA-failed")
    now = figs(rows)
    if before is None:
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in now]
    else:
        ids = {r["id"] for r in rows}
        prev = figs([r for r in before if r["id"] in ids])
        cells = [f"{a:.2f} -> {b:.2f}" if isinstance(b, float) else f"{a} -> {b}"
                 for a, b in zip(prev, now)]
    return (f"{len(rows)} cases: " + ", ".join(f"{n} {c}" for n, c in zip(names, cells)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--sized", default="huge,tiled_watermark,subtitle",
                    help="styles drawn at the held-out sizes too ('' for none)")
    ap.add_argument("--per-style", type=int, default=2)
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    a = ap.parse_args()
    if a.compare:
        before, after = (json.loads(Path(p).read_text()) for p in a.compare)
        before, after = before.get("rule", before), after.get("rule", after)
        by = {r["id"]: r for r in before}
        for r in after:
            p = by.get(r["id"])
            if p and (p["far"], p["grown_px"], len(p["qa_failed"])) != (
                    r["far"], r["grown_px"], len(r["qa_failed"])) or (
                    p and abs(p["psnr"] - r["psnr"]) > 0.05):
                print(f"{r['id']:18s} {r['style']:15s} far {p['far']}->{r['far']} grown "
                      f"{p['grown_px']}->{r['grown_px']} psnr {p['psnr']:.2f}->{r['psnr']:.2f}"
                      f" qa {len(p['qa_failed'])}->{len(r['qa_failed'])}")
        print(summary(after, before))
        return 0
    run(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
