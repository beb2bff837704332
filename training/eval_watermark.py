"""Tiled-watermark search on the train split: found rate and false positives.

Tuning data only (``seamline.testing.backgrounds("train")``, train fonts): never the held-out
wallpapers. For every train photo (long side 768-1280 px):

* ``tiled``: a "tiled_watermark" overlay drawn on it -> should be found;
* ``untouched``: the photo as it is -> must not be found;
* ``captions``: ordinary captions drawn on it (one of plain, outline, meme, subtitle,
  multiline, shadow_hard, cycling) -> must not be found: a line of repeated capitals has
  letter-to-letter periodicity, and a few stacked lines look like rows;
* ``text_photo_cases``: ``seamline.testing.synth.text_photo_cases`` (photos with 4 text items
  each), as they are and resized to 768x512 as bench_serve sends them -> must not be found.

Detection runs like detect-text's: the detector's lines are handed to the search as
``exclude``. Prints one line per case and a summary; ``--json`` writes the rows.

Usage: ``python training/eval_watermark.py [--n 30] [--json out.json]``
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from seamline.ops.text.detect import detect_text
from seamline.ops.text.watermark import find_tiled_watermark
from seamline.testing import overlays as ov
from seamline.testing.backgrounds import backgrounds
from seamline.testing.synth import text_photo_cases

CAPTIONS = ("plain", "outline", "meme", "subtitle", "multiline", "shadow_hard")


def _fit(img, lo=768, hi=1280):
    h, w = img.shape[:2]
    f = min(max(1.0, lo / max(h, w)), hi / max(h, w))
    if f != 1.0:
        img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA
                         if f < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(img, np.float32)


def _run(img, drawn=None, use_exclude=True):
    lines = [r.polygon for r in detect_text(img, recognize=False)] if use_exclude else []
    t = time.perf_counter()
    wm = find_tiled_watermark(img, exclude=lines)
    row = {"found": wm.found, "tiles": len(wm.polygons), "reason": wm.reason,
           "seconds": round(time.perf_counter() - t, 3)}
    if drawn is not None and wm.found:
        m = np.zeros(drawn.shape, np.uint8)
        for p in wm.polygons:
            cv2.fillPoly(m, [np.round(p).astype(np.int32)], 1)
        row["coverage"] = round(float((m.astype(bool) & drawn).sum() / max(drawn.sum(), 1)), 3)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="train photos")
    ap.add_argument("--cases", type=int, default=16, help="text_photo_cases")
    ap.add_argument("--json")
    ap.add_argument("--no-exclude", action="store_true",
                    help="do not hand the detector's lines to the search (the old behaviour)")
    a = ap.parse_args(argv)
    fonts = ov.font_paths("train")
    rows = []
    for i, (name, bg) in enumerate(backgrounds("train")[:a.n]):
        img = _fit(bg)
        rng = np.random.default_rng([7, i])
        for kind, style in (("tiled", "tiled_watermark"), ("untouched", None),
                            ("captions", CAPTIONS[i % len(CAPTIONS)])):
            if style is None:
                out, drawn = img, None
            else:
                out, _, _ = ov.render(img, ov.sample_overlays(rng, style, img.shape[:2], fonts))
                out = np.ascontiguousarray(out, np.float32)
                drawn = ov.drawn_mask(img, out) if kind == "tiled" else None
            r = {"photo": name, "kind": kind, "style": style, **_run(out, drawn, not a.no_exclude)}
            rows.append(r)
            print(json.dumps(r), flush=True)
    for c in text_photo_cases(a.cases, seed=0):
        img = np.ascontiguousarray(c["with_text"], np.float32)
        # as they are, and at 768x512 as bench_serve sends them
        for kind, im in (("text_photo_cases", img), ("text_photo_cases_768",
                         cv2.resize(img, (768, 512), interpolation=cv2.INTER_AREA))):
            r = {"photo": c["name"], "kind": kind, "style": None,
                 **_run(im, None, not a.no_exclude)}
            rows.append(r)
            print(json.dumps(r), flush=True)
    for kind in ("tiled", "untouched", "captions", "text_photo_cases", "text_photo_cases_768"):
        k = [r for r in rows if r["kind"] == kind]
        f = sum(r["found"] for r in k)
        cov = [r.get("coverage", 0) for r in k if r["found"]]
        extra = f", coverage >= 0.95: {sum(c >= 0.95 for c in cov)}" if kind == "tiled" else ""
        print(f"{kind}: found {f}/{len(k)}{extra}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
