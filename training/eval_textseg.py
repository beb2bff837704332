"""Compare seamline-textseg with the matting glyph mask (``seamline.ops.text.glyph_mask``), per style.

Run by hand from the repository root::

    .venv/bin/python training/eval_textseg.py                      # 8 photos per style
    .venv/bin/python training/eval_textseg.py --per-style 2 --model /tmp/ts/seamline-textseg.onnx
    # several models on the same cases (segmenter only), with the cup-rim false-positive check
    .venv/bin/python training/eval_textseg.py --no-glyph-mask --detections /tmp/det.json \
        --model v1.onnx --model v2.onnx --model v3.onnx

Test images: train-split backgrounds (``backgrounds("train")``, long side 1024 px) with overlays
drawn in the HELD-OUT font families (``font_paths("heldout")``), one style per image, a seed of
its own (not the training or validation seeds). The wallpaper set is not read: it belongs to the
remove-text benchmark.

Truth: pixels the overlay changed by more than 2/255 (``overlays.drawn_mask``). Regions: the
true ink boxes of each line ("true"), or rapidocr's detection on the image ("ocr",
``seamline.ops.text.detect_text``, recognition off, box threshold 0.3 as for watermarks). For each,
recall and precision of the drawn pixels, raw and after a 1 px and 2 px dilation (what the
normalize stage adds: ``masks.dilation_for_text`` gives 1-3 px). Writes
``training/eval_textseg.json`` and prints a Markdown table (copied into the model card).

Cup-rim check (every model): the share of the pixels of three text-free boxes over the coffee
photo's cup rim, saucer and table (the boxes of ``tests/test_textseg.py``) that the model
marks at its threshold.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seamline.ops.text.segment import load_segmenter, segment_text  # noqa: E402
from seamline.testing import overlays as ov  # noqa: E402
from seamline.testing.backgrounds import backgrounds  # noqa: E402

SEED = 777
DILATIONS = (0, 1, 2)


def _disk(r):
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def cases(per_style: int, seed: int):
    bgs = backgrounds("train")
    assert all(not n.startswith("heldout:") for n, _ in bgs)
    fonts = ov.font_paths("heldout")
    rng = np.random.default_rng(seed)
    for style in ov.STYLES:
        for _ in range(per_style):
            name, img = bgs[int(rng.integers(len(bgs)))]
            h, w = img.shape[:2]
            f = 1024 / max(h, w)
            img = cv2.resize(img, (round(w * f), round(h * f)),
                             interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
            img = np.clip(img, 0, 1).astype(np.float32)
            ovs = ov.sample_overlays(rng, style, img.shape[:2], fonts)
            out, _, _ = ov.render(img, ovs)
            H, W = img.shape[:2]
            quads = [q for o in ovs for q in ov.line_polygons(o)
                     if q[:, 0].max() > 0 and q[:, 0].min() < W and q[:, 1].max() > 0
                     and q[:, 1].min() < H]
            yield style, name, out, ov.drawn_mask(img, out), quads


#: tests/test_textseg.py's text-free boxes on scikit-image's coffee photo resized to 900 x 600.
CUP_RIM_BOXES = ([[200, 100], [520, 100], [520, 150], [200, 150]],
                 [[100, 400], [500, 430], [497, 470], [97, 440]],
                 [[600, 500], [880, 500], [880, 540], [600, 540]])


def cup_rim_fraction(seg, thr) -> float:
    """Share of the text-free cup-rim / saucer / table boxes' pixels marked as text."""
    from skimage import data

    img = data.coffee().astype(np.float32) / 255
    img = cv2.resize(img, (900, 600), interpolation=cv2.INTER_CUBIC).clip(0, 1)
    polys = [np.array(b, np.float32) for b in CUP_RIM_BOXES]
    prob = segment_text(img, polys, model=seg)
    region = np.zeros(img.shape[:2], np.uint8)
    for q in polys:
        cv2.fillPoly(region, [q.astype(np.int32)], 1)
    return float(np.mean(prob[region > 0] >= thr))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--per-style", type=int, default=8)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--model", type=Path, action="append", default=None,
                    help="a segmenter .onnx (repeat to compare several on the same cases; "
                         "default the packaged one)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "eval_textseg.json")
    ap.add_argument("--detections", type=Path, default=None,
                    help="cache of rapidocr's polygons (JSON, per seed/per-style): read if it "
                         "exists, else written; detection is model-independent and the slow part")
    ap.add_argument("--detect-only", action="store_true", help="fill the cache and stop")
    ap.add_argument("--threshold", type=float, default=None,
                    help="segmenter cut (default: the model's own, from its metadata)")
    ap.add_argument("--no-glyph-mask", action="store_true",
                    help="segmenter only (the glyph mask's numbers do not depend on the model)")
    args = ap.parse_args(argv)

    from seamline.ops.text import TextRegion, detect_text, glyph_mask

    cache_key = f"seed{args.seed}-per{args.per_style}"
    cache = {}
    if args.detections and args.detections.is_file():
        cache = json.loads(args.detections.read_text()).get(cache_key, {})
    if args.detect_only:
        for i, (style, _, img, _, _) in enumerate(cases(args.per_style, args.seed)):
            if str(i) not in cache:
                cache[str(i)] = [np.asarray(r.polygon, float).tolist() for r in
                                 detect_text(img, recognize=False, box_thresh=0.3)]
                print(f"  detected {i} {style}: {len(cache[str(i)])} boxes", flush=True)
        args.detections.write_text(json.dumps({cache_key: cache}))
        return

    if args.model and (len(args.model) > 1 or args.no_glyph_mask):
        return compare(args, cache)
    seg = load_segmenter(args.model[0] if args.model else None)
    thr = seg.threshold if args.threshold is None else float(args.threshold)
    acc: dict = {}
    times = {"segmenter": [], "glyph_mask": [], "detect": []}
    t0 = time.perf_counter()
    for i, (style, _, img, drawn, quads) in enumerate(cases(args.per_style, args.seed)):
        if str(i) in cache:
            det = [np.asarray(p, np.float32) for p in cache[str(i)]]
        else:
            t = time.perf_counter()
            det = [r.polygon for r in detect_text(img, recognize=False, box_thresh=0.3)]
            times["detect"].append(time.perf_counter() - t)
        regs = det
        for src, polys in (("true", quads), ("ocr", det)):
            t = time.perf_counter()
            m_seg = segment_text(img, polys, model=seg) >= thr
            times["segmenter"].append(time.perf_counter() - t)
            t = time.perf_counter()
            m_gm = glyph_mask(img, [TextRegion(np.asarray(p, np.float32)) for p in polys]).mask >= 0.5 \
                if polys and not args.no_glyph_mask else np.zeros(drawn.shape, bool)
            times["glyph_mask"].append(time.perf_counter() - t)
            for method, m in (("segmenter", m_seg), ("glyph_mask", m_gm)):
                for d in DILATIONS:
                    md = cv2.dilate(m.astype(np.uint8), _disk(d)) > 0 if d else m
                    a = acc.setdefault((method, src, d, style), np.zeros(3))
                    a += [np.sum(md & drawn), np.sum(md), np.sum(drawn)]
        print(f"  {style:16s} {len(quads)} lines, {len(regs)} detected, "
              f"{time.perf_counter() - t0:.0f} s", flush=True)

    res = {}
    for (method, src, d, style), (tp, npred, nd) in acc.items():
        res.setdefault(method, {}).setdefault(src, {}).setdefault(f"dilate{d}", {})[style] = dict(
            recall=round(tp / max(nd, 1), 4), precision=round(tp / max(npred, 1), 4))
    report = dict(seed=args.seed, per_style=args.per_style, model=str(seg.path),
                  threshold=thr, model_version=seg.version,
                  cup_rim_marked=round(cup_rim_fraction(seg, thr), 4),
                  note="train-split backgrounds, held-out font families; truth = pixels changed "
                       "> 2/255; 'true' = ink boxes of the lines, 'ocr' = rapidocr detection "
                       "(box_thresh 0.3)",
                  median_s={k: round(float(np.median(v)), 4) for k, v in times.items() if v},
                  results=res)
    args.out.write_text(json.dumps(report, indent=2))

    # Markdown: recall / precision per style, dilation 1 px (what normalize adds at least).
    for d in DILATIONS:
        print(f"\ndilation {d} px: recall / precision of drawn pixels\n")
        print("| style | segmenter, true boxes | glyph_mask, true boxes | segmenter, OCR boxes "
              "| glyph_mask, OCR boxes |")
        print("|---|---|---|---|---|")
        for style in ov.STYLES + ("all",):
            cells = []
            for method, src in (("segmenter", "true"), ("glyph_mask", "true"),
                                ("segmenter", "ocr"), ("glyph_mask", "ocr")):
                if style == "all":
                    tot = sum(acc[(method, src, d, s)] for s in ov.STYLES)
                    r, p = tot[0] / max(tot[2], 1), tot[0] / max(tot[1], 1)
                else:
                    v = res[method][src][f"dilate{d}"][style]
                    r, p = v["recall"], v["precision"]
                cells.append(f"{r:.3f} / {p:.3f}")
            print(f"| {style} | " + " | ".join(cells) + " |")
    print(f"\nmedian s per image: {report['median_s']}  ({time.perf_counter() - t0:.0f} s total)")
    print(f"cup-rim boxes marked: {report['cup_rim_marked']:.2%}")


def compare(args, cache) -> None:
    """Several segmenters (each at its own threshold) on the same cases and boxes: recall /
    precision of the drawn pixels per style, true and OCR boxes, no dilation. Without a
    detection cache (``--detections``) only the true boxes are scored (detection is the slow
    part: ~10-20 s an image on a loaded machine)."""
    segs = [load_segmenter(m) for m in args.model]
    names = [f"v{s.version} @{s.threshold:g}" for s in segs]
    acc: dict = {}
    t0 = time.perf_counter()
    for i, (style, _, img, drawn, quads) in enumerate(cases(args.per_style, args.seed)):
        sources = [("true", quads)]
        if cache:
            if str(i) not in cache:
                raise SystemExit(f"--detections {args.detections}: no boxes for case {i}; "
                                 "run with --detect-only first")
            sources.append(("ocr", [np.asarray(p, np.float32) for p in cache[str(i)]]))
        srcs = [src for src, _ in sources]
        for src, polys in sources:
            for name, seg in zip(names, segs):
                m = segment_text(img, polys, model=seg) >= seg.threshold
                a = acc.setdefault((name, src, style), np.zeros(3))
                a += [np.sum(m & drawn), np.sum(m), np.sum(drawn)]
        print(f"  {i} {style:16s} {time.perf_counter() - t0:.0f} s", flush=True)
    res = {}
    for style in ov.STYLES + ("all",):
        for name in names:
            for src in srcs:
                tp, npred, nd = (sum(acc[(name, src, s)] for s in ov.STYLES) if style == "all"
                                 else acc[(name, src, style)])
                res.setdefault(name, {}).setdefault(src, {})[style] = dict(
                    recall=round(tp / max(nd, 1), 4), precision=round(tp / max(npred, 1), 4))
    rims = {n: round(cup_rim_fraction(s, s.threshold), 4) for n, s in zip(names, segs)}
    args.out.write_text(json.dumps(dict(
        seed=args.seed, per_style=args.per_style, models=[str(s.path) for s in segs],
        note="train-split backgrounds, held-out font families; truth = pixels changed > 2/255; "
             "no dilation; 'all' pools the pixels of every style",
        cup_rim_marked=rims, results=res), indent=2))
    label = {"true": "true boxes", "ocr": "OCR boxes"}
    print("\n| style | " + " | ".join(f"{n}, {label[src]}" for src in srcs for n in names) + " |")
    print("|---|" + "---|" * (len(srcs) * len(names)))
    for style in ov.STYLES + ("all",):
        cells = [res[n][src][style] for src in srcs for n in names]
        print(f"| {style} | " + " | ".join(f"{c['recall']:.3f} / {c['precision']:.3f}"
                                           for c in cells) + " |")
    print("\ncup-rim boxes marked: " + ", ".join(f"{n} {v:.2%}" for n, v in rims.items()))


if __name__ == "__main__":
    main()
