"""Train-split split of remove-text's loss to the oracle (the drawn mask + Telea) (issue 10).

Where does a style's PSNR gap to the oracle come from: the mask or the fill? Per case of
``mask_train_eval``'s sized cases (train photos at the held-out benchmark's sizes, train
fonts; never the held-out wallpapers), the whole ``remove-text`` pipeline runs once and
the same Telea fill (``mask_train_eval.telea``) runs on three masks:

* ``oracle``: the drawn mask (pixels the text changed by more than 2/255);
* ``union``: the pipeline's final mask and the drawn one: what the mask's extra pixels
  cost a fill that misses nothing (``margin`` = oracle - union);
* ``ours``: the pipeline's final mask alone: ``missed`` = union - ours is what the ink it
  left costs once a fill spreads it;
* ``pipe``: the pipeline's result; ``fill`` = ours - pipe is what its fill choice, ladder
  and fix-ups (grain, stretch, edge unmix) cost against plain Telea on its own mask
  (negative: they gain).

All PSNR in the text region (the benchmark's). A small gap (<= 1 dB) to the oracle can hide
large terms of opposite sign: read the columns, not only the sum.

Usage (the tree to measure first on PYTHONPATH)::

    PYTHONPATH=src python benchmarks/fill_gap_check.py --styles outline,shadow_hard \\
        --per-style 12 [--only outline2] [--out rows.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mask_train_eval as M  # noqa: E402  (benchmarks/ is on sys.path)

TERMS = ("oracle", "margin", "missed", "fill", "pipe")


def split_case(photo, image, drawn, region) -> dict:
    """One case's PSNRs and the terms of its gap (see the module docstring)."""
    result, filled, failed = M.run_pipeline(image)
    oracle = M.psnr(M.telea(image, drawn), photo, region)
    union = M.psnr(M.telea(image, filled | drawn), photo, region)
    ours = M.psnr(M.telea(image, filled), photo, region)
    pipe = M.psnr(result, photo, region)
    return {"oracle": oracle, "union": union, "ours": ours, "pipe": pipe,
            "margin": oracle - union, "missed": union - ours, "fill": ours - pipe,
            "recall": float((filled & drawn).sum() / max(drawn.sum(), 1)),
            "precision": float((filled & drawn).sum() / max(filled.sum(), 1)),
            "qa_failed": len(failed)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--styles", required=True, help="comma-separated overlay styles")
    ap.add_argument("--per-style", type=int, default=12)
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for cid, style, name, photo, image, drawn, region, _ in M.build_sized_cases(
            args.styles.split(","), args.per_style):
        if only and cid not in only:
            continue
        row = {"id": cid, "style": style, "photo": name,
               **split_case(photo, image, drawn, region)}
        rows.append(row)
        print(f"{cid:14s} {name[:26]:26s} " + " ".join(f"{k} {row[k]:6.2f}" for k in TERMS)
              + f" | rec {row['recall']:.3f} prec {row['precision']:.3f} "
                f"qa {row['qa_failed']}", flush=True)
    for style in dict.fromkeys(r["style"] for r in rows):
        rs = [r for r in rows if r["style"] == style]
        print(f"{style:14s} n {len(rs):2d} "
              + " ".join(f"{k} {np.mean([r[k] for r in rs]):6.2f}" for k in TERMS))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
