"""Glow text of the background's own hue: are the letter cores held where the glow is? (issue 10)

TRAIN data only. The held-out glow case (1024 px) is dark-green glow text over a green leaf:
the line is found, but the cleaned picture still reads half of it because the mask misses the
letter cores. These cases draw ``overlays.sample_overlays(rng, "glow", ...)`` lines (train
fonts) over train photo crops and green-tinted scikit-image grass
(``detect_miss_check.crop_4_3`` / ``tinted_grass``) at 1024/1280/1600 px and recolour each to
the median colour ``c`` of the photo under it, in one of two ways (alternating by case):
``dark`` (fill ``c x 0.35-0.6``, glow ``c x 1.15-1.35``: ``detect_miss_check.recolour``) and
``light`` (fill ``c x 1.15-1.35``, glow ``c x 0.35-0.6``). Seeds ``[20261235, j]``.

Per case the whole ``remove-text`` pipeline runs; it prints the drawn pixels the final mask
leaves out, split into ``core_left`` (the fill's visible alpha >= 0.5, of ``core`` such
pixels) and ``halo_left`` (the glow's visible alpha >= 0.1 elsewhere), the mask's px over the
drawn px (``mask/drawn``), ``psnr`` in the text region (``_common.text_region``), ``ghost``
words (``mask_train_eval.ghost_words``, the held-out benchmark's count), ``far`` px (changed
> 2/255 farther than 8 px from the drawn text), QA-failed regions and CPU seconds.
``--save DIR`` writes ``<id>.png``: the image, the result and the result 2x around the text.

Usage (run it with each tree first on PYTHONPATH and compare)::

    PYTHONPATH=src python benchmarks/glow_core_check.py [--cases 12] [--only 0,3] [--save DIR]
        [--out rows.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import case_selection, text_region  # noqa: E402  (benchmarks/ is on sys.path)
from detect_miss_check import crop_4_3, recolour, tinted_grass  # noqa: E402

WIDTHS = (1024, 1280, 1600)


def build_case(j):
    """Case ``j``: (id, photo name, photo, image, layers, drawn, region, lines)."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    rng = np.random.default_rng([20261235, j])
    width = WIDTHS[j % len(WIDTHS)]
    if (j // 2) % 2 == 0:
        bgs = backgrounds("train", min_side=768)
        name, photo = bgs[int(rng.integers(len(bgs)))]
        photo = crop_4_3(photo, rng, width)
    else:
        photo, name = tinted_grass((width * 3 // 4, width), rng, False)
    kind = ("dark", "light")[j % 2]
    ovs = []
    for ov in overlays.sample_overlays(rng, "glow", photo.shape[:2],
                                       overlays.font_paths("train")):
        ov = recolour(ov, photo, "glow", True, rng)  # dark letters, light glow
        if kind == "light":
            ov = replace(ov, color=ov.glow_color, glow_color=ov.color)
        ovs.append(ov)
    img, _, layers = overlays.render(photo, ovs)
    img = img.astype(np.float32)
    drawn = overlays.drawn_mask(photo, img)
    lines = [(p, t) for ov in ovs for p, t in
             zip(overlays.line_polygons(ov), [t for t in ov.text.split("\n") if t.strip()])]
    return (f"{j}_{kind}_{width}", name, photo, img, layers, drawn, text_region(drawn, ovs),
            lines)


def save(path, img, res, drawn):
    """The image and the result side by side over the result 2x around the drawn text."""
    ys, xs = np.nonzero(drawn)
    y0, y1 = max(0, ys.min() - 10), min(img.shape[0], ys.max() + 11)
    x0, x1 = max(0, xs.min() - 10), min(img.shape[1], xs.max() + 11)
    top = np.concatenate([img, res], 1)
    zoom = cv2.resize(res[y0:y1, x0:x1], None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    zoom = zoom[:, :top.shape[1]]
    pad = np.zeros((zoom.shape[0], top.shape[1], 3), np.float32)
    pad[:, :zoom.shape[1]] = zoom
    out = np.concatenate([top, pad], 0)
    cv2.imwrite(str(path), cv2.cvtColor((np.clip(out, 0, 1) * 255).round().astype(np.uint8),
                                        cv2.COLOR_RGB2BGR))


def run_cases(description, build_case, columns, headline):
    """The glow checks' command line (this script's and ``glow_tail_check``'s).

    Parses ``--cases/--only/--save/--out``, runs the whole pipeline on each case
    ``build_case(j)`` makes and prints a JSON row per case: the script's own counts
    (``columns(layers, mask)``, a dict), then mask px / drawn px, psnr in the text region, ghost
    words, px changed > 8 px from the drawn text, QA-failed regions and CPU s; then the totals,
    the script's own first (``headline(rows)``, a string).
    """
    from mask_train_eval import ghost_words, psnr, run_pipeline

    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--cases", type=int, default=12)
    ap.add_argument("--only", help="comma-separated case numbers")
    ap.add_argument("--save", help="write <id>.png pictures here")
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    a = ap.parse_args()
    only, folder = case_selection(a)
    rows = []
    for j in range(a.cases):
        if only and str(j) not in only:
            continue
        cid, name, photo, img, layers, drawn, region, lines = build_case(j)
        t = time.process_time()
        res, mask, failed = run_pipeline(img)
        cpu = time.process_time() - t
        seen, words, _ = ghost_words(img, res, lines, mask)
        far = (cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 3) > 8) & \
            (np.abs(res - img).max(-1) > 2 / 255)
        rows.append(dict(id=cid, photo=name, **columns(layers, mask),
                         mask_drawn=round(float(mask.sum()) / max(1, int(drawn.sum())), 2),
                         psnr=round(psnr(res, photo, region), 2), ghost=seen, words=words,
                         far=int(far.sum()), qa_failed=len(failed), cpu=round(cpu, 2)))
        print(json.dumps(rows[-1]), flush=True)
        if folder:
            save(folder / f"{cid}.png", img, res, drawn)
    if rows:
        n = len(rows)
        print(f"cases {n}: {headline(rows)}, "
              f"psnr {sum(r['psnr'] for r in rows) / n:.2f}, ghost "
              f"{sum(r['ghost'] for r in rows)}/{sum(r['words'] for r in rows)}, far "
              f"{sum(r['far'] for r in rows)}, QA-failed {sum(r['qa_failed'] for r in rows)}, "
              f"CPU {sum(r['cpu'] for r in rows):.1f} s")
    if a.out:
        Path(a.out).write_text(json.dumps(rows, indent=1))


def main():
    def columns(layers, mask):
        core = layers["fill"] >= 0.5
        halo = (layers["glow"] >= 0.1) & ~core
        return dict(core=int(core.sum()), core_left=int((core & ~mask).sum()),
                    halo_left=int((halo & ~mask).sum()))

    run_cases(__doc__.split("\n")[0], build_case, columns,
              lambda rows: f"core_left {sum(r['core_left'] for r in rows)}/"
                           f"{sum(r['core'] for r in rows)}, "
                           f"halo_left {sum(r['halo_left'] for r in rows)}")


if __name__ == "__main__":
    main()
