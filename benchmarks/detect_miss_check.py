"""Text the detector misses, on the TRAIN split: glow, datestamp and tiny text of the
background's own hue, and false detections on text-free crops (issue 10, detect-text v12).

Cases (deterministic; seeds ``[20261227, style index, j]``), ``--per-style`` per style, 4:3 at
768/1024/1280/1600 px wide in turn: even ``j`` a crop of a ``backgrounds("train")`` photo, odd
``j`` scikit-image grass mirror-tiled and tinted (golden for datestamps, green otherwise).
Overlays come from ``overlays.sample_overlays`` (train fonts) and are recoloured to the median
colour ``c`` of the photo under them: glow text ``c x 0.35-0.6`` with a ``c x 1.15-1.35``
glow; a datestamp on a photo ``c x 1.15-1.4`` (on golden grass the sampler's orange); tiny text
``c x 0.6-0.8`` or ``c x 1.25-1.5``. Per case: drawn lines, lines a detected region overlaps,
the stage's ``found_by_*`` counts and its CPU seconds (detect-text, ``tiled=off``);
``--pipeline`` adds the remove-text result's ghost words (the held-out benchmark's count),
PSNR in the text region, far px (changed > 2/255 farther than 8 px from the drawn text) and
QA-failed regions.

``--text-free`` runs the stage on 4:3 crops of every train photo at the four widths instead
(seeds ``[20261228, photo index, k]``) and prints the crops with a region.

Usage (one tree first on PYTHONPATH; run it with main's and compare)::

    PYTHONPATH=src python benchmarks/detect_miss_check.py --out /tmp/miss.json [--pipeline]
    PYTHONPATH=src python benchmarks/detect_miss_check.py --text-free --out /tmp/free.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import text_region  # noqa: E402  (benchmarks/ is on sys.path)

STYLES = ("glow", "datestamp", "tiny")
WIDTHS = (768, 1024, 1280, 1600)


def crop_4_3(photo, rng, width):
    """A random 4:3 crop of ``photo`` resized to ``width`` px wide (HxWx3 float32)."""
    ph, pw = photo.shape[:2]
    ch, cw = (ph, int(ph * 4 / 3)) if pw * 3 >= ph * 4 else (int(pw * 3 / 4), pw)
    y0, x0 = int(rng.integers(0, ph - ch + 1)), int(rng.integers(0, pw - cw + 1))
    out = cv2.resize(photo[y0:y0 + ch, x0:x0 + cw], (width, width * 3 // 4),
                     interpolation=cv2.INTER_AREA if width < cw else cv2.INTER_CUBIC)
    return np.clip(out, 0, 1).astype(np.float32)


def tinted_grass(shape_hw, rng, golden):
    """scikit-image grass (mirror-tiled, random scale) tinted golden (hue 38-50 deg) or green
    (85-125 deg); and its name."""
    from seamline.testing.backgrounds import mirrored_grass

    g = np.clip(mirrored_grass(shape_hw, float(rng.uniform(0.8, 2.0))), 0, 1)
    hue = float(rng.uniform(38, 50) if golden else rng.uniform(85, 125))
    hsv = np.dstack([np.full(g.shape, hue / 2, np.uint8),
                     np.full(g.shape, int(rng.uniform(0.55, 0.85) * 255), np.uint8),
                     np.clip(g * rng.uniform(0.9, 1.3) * 255, 0, 255).astype(np.uint8)])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255, f"grass:{hue:.0f}"


def _rgb255(c):
    return tuple(int(v) for v in np.clip(np.round(np.asarray(c) * 255), 0, 255))


def recolour(ov, photo, style, on_photo, rng):
    """``ov`` recoloured to the median colour of ``photo`` under its ink box."""
    from dataclasses import replace

    from seamline.testing import overlays

    w, h = overlays.measure(ov)
    x, y = ov.xy
    c = np.median(photo[max(0, int(y)):int(y + h) + 1, max(0, int(x)):int(x + w) + 1]
                  .reshape(-1, 3), 0)
    if style == "glow":
        return replace(ov, color=_rgb255(c * rng.uniform(0.35, 0.6)),
                       glow_color=_rgb255(c * rng.uniform(1.15, 1.35) + 0.03))
    if style == "datestamp":
        if not on_photo:
            return ov
        k = rng.uniform(1.15, 1.4)
        return replace(ov, color=_rgb255(c * k + 0.05), glow_color=_rgb255(c * k + 0.05))
    k = rng.uniform(0.6, 0.8) if rng.random() < 0.5 else rng.uniform(1.25, 1.5)
    return replace(ov, color=_rgb255(c * k))


def build_cases(per_style):
    """[(id, style, photo name, photo, with_text, drawn, region, lines)], deterministic."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    bgs = backgrounds("train", min_side=768)
    fonts = overlays.font_paths("train")
    out = []
    for si, style in enumerate(STYLES):
        for j in range(per_style):
            rng = np.random.default_rng([20261227, si, j])
            width = WIDTHS[j % len(WIDTHS)]
            if j % 2 == 0:
                name, photo = bgs[int(rng.integers(len(bgs)))]
                photo = crop_4_3(photo, rng, width)
            else:
                photo, name = tinted_grass((width * 3 // 4, width), rng, style == "datestamp")
            ovs = [recolour(ov, photo, style, j % 2 == 0, rng)
                   for ov in overlays.sample_overlays(rng, style, photo.shape[:2], fonts)]
            img = overlays.render(photo, ovs)[0].astype(np.float32)
            drawn = overlays.drawn_mask(photo, img)
            lines = [(p, t) for ov in ovs for p, t in
                     zip(overlays.line_polygons(ov), [t for t in ov.text.split("\n") if t.strip()])]
            out.append((f"{style}{j}", style, name, photo, img, drawn,
                        text_region(drawn, ovs), lines))
    return out


def text_free_crops():
    """(id, crop) for every train photo at the four widths, deterministic."""
    from seamline.testing.backgrounds import backgrounds

    for i, (name, photo) in enumerate(backgrounds("train", min_side=768)):
        for k, width in enumerate(WIDTHS):
            yield f"{name}@{width}", crop_4_3(photo, np.random.default_rng([20261228, i, k]), width)


def detect(image):
    """detect-text's regions (``tiled=off``), its report and CPU seconds."""
    from seamline.stages.detect_text import DetectText

    t = time.process_time()
    res = DetectText(DetectText.Params(tiled="off")).run(None, image)
    return res.outputs["regions"], res.report, time.process_time() - t


def lines_hit(lines, regions, shape):
    """How many drawn lines a region's polygon overlaps."""
    rm = np.zeros(shape[:2], np.uint8)
    for r in regions:
        cv2.fillPoly(rm, [np.round(r.polygon).astype(np.int32)], 1)
    n = 0
    for p, _ in lines:
        lm = np.zeros(shape[:2], np.uint8)
        cv2.fillPoly(lm, [np.round(p).astype(np.int32)], 1)
        n += bool((lm & rm).any())
    return n


def pipeline_row(img, photo, drawn, region, lines):
    from mask_train_eval import ghost_words, psnr, run_pipeline

    res, mask, failed = run_pipeline(img)
    seen, words, _ = ghost_words(img, res, lines, mask)
    far = (cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 3) > 8) & \
        (np.abs(res - img).max(-1) > 2 / 255)
    return dict(ghost=seen, words=words, psnr=round(psnr(res, photo, region), 2),
                far=int(far.sum()), qa_failed=len(failed))


def case_row(img, clean, drawn, region, lines, pipeline, **row):
    """One case's row (``clean``: the photo before the text was drawn): ``row`` (its id,
    photo name, ...), then what detect-text found (lines hit,
    texts, CPU s, its ``found_by_*`` counts) and, with ``pipeline``, :func:`pipeline_row`;
    printed as a JSON line."""
    regs, rep, cpu = detect(img)
    row.update(lines=len(lines), found=lines_hit(lines, regs, img.shape),
               texts=[r.text for r in regs], cpu=round(cpu, 2),
               **{k: v for k, v in rep.items() if k.startswith("found_by")})
    if pipeline:
        row.update(pipeline_row(img, clean, drawn, region, lines))
    print(json.dumps(row), flush=True)
    return row, regs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    ap.add_argument("--per-style", type=int, default=16)
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--pipeline", action="store_true", help="also run remove-text")
    ap.add_argument("--text-free", action="store_true", help="text-free train crops instead")
    a = ap.parse_args()
    rows = []
    if a.text_free:
        for cid, img in text_free_crops():
            regs, rep, cpu = detect(img)
            rows.append(dict(id=cid, texts=[r.text for r in regs], cpu=round(cpu, 2),
                             **{k: v for k, v in rep.items() if k.startswith("found_by")}))
            print(json.dumps(rows[-1]), flush=True)
        print(f"crops {len(rows)}, with a region {sum(bool(r['texts']) for r in rows)}, "
              f"CPU {sum(r['cpu'] for r in rows):.1f} s")
    else:
        keep = set(a.only.split(",")) if a.only else None
        for cid, style, name, photo, img, drawn, region, lines in build_cases(a.per_style):
            if keep and cid not in keep:
                continue
            rows.append(case_row(img, photo, drawn, region, lines, a.pipeline,
                                 id=cid, style=style, photo=name)[0])
        for st in STYLES:
            rs = [r for r in rows if r["style"] == st]
            if rs:
                print(f"{st}: cases {len(rs)}, lines found {sum(r['found'] for r in rs)}/"
                      f"{sum(r['lines'] for r in rs)}, none found {sum(not r['found'] for r in rs)}"
                      + (f", ghost {sum(r['ghost'] for r in rs)}/{sum(r['words'] for r in rs)}, "
                         f"far {sum(r['far'] for r in rs)}, QA-failed "
                         f"{sum(r['qa_failed'] for r in rs)}" if a.pipeline else ""))
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
