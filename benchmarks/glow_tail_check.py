"""A glow or soft shadow's faint tail left just outside the mask (issue 10), TRAIN data only.

The held-out glow case (1024 px) is dark-green letters with a dark-green outer glow over a
green leaf: on the line's right half the mask takes a band round the letters and the result is
clean, on the left half it hugs the letters and the fill pulls the glow's faint tail inward,
so the words stay as dark outlines. These cases draw one ``overlays.sample_overlays(rng,
"glow", ...)`` line (train fonts, made one line) over train photo crops (cases 0-3, 8-11) and
green-tinted scikit-image grass (4-7; ``detect_miss_check.crop_4_3`` / ``tinted_grass``) at
1024 or 1280 px, the photo's brightness changing along the line (a smooth step under its
middle: one side x 1.25-1.45, the other x 0.6-0.8), in the photo's own hue with an effect in
the letters' sign: even cases a ``glow`` (fill ``c x 0.2-0.35``, glow ``c x 0.6-0.8``,
0.08-0.14 x the size, opacity 0.5-0.8), odd cases a soft ``shadow`` (the same fill, shadow
``c x 0.3`` offset 0.04 x the size, blur 3-6 px, opacity 0.7-0.9), where ``c`` is the median
photo colour under the line. Seeds ``[20261236, j]``. (On main aaa0128 detect-text finds no
line in cases 4, 5 and 7: their rows measure detection, not the mask.)

Per case the whole ``remove-text`` pipeline runs; it prints ``effect`` (the glow's or
shadow's visible alpha > 0.05 where the fill's is < 0.5), ``tail_left`` (those pixels outside
the final mask and within 6 px of it: the band the fill pulls inward), ``effect_left`` (all
of them outside the mask), the mask's px over the drawn px (``mask_drawn``), ``psnr`` in the
text region (``_common.text_region``), ``ghost`` words (``mask_train_eval.ghost_words``),
``far`` px (changed > 2/255 farther than 8 px from the drawn text), QA-failed regions and CPU
seconds. ``--save DIR`` writes ``<id>.png`` (``glow_core_check.save``: image and result side
by side over the result 2x round the text).

Usage (run it with each tree first on PYTHONPATH and compare)::

    PYTHONPATH=src python benchmarks/glow_tail_check.py [--cases 12] [--only 0,3] [--save DIR]
        [--out rows.json]
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import text_region  # noqa: E402  (benchmarks/ is on sys.path)
from detect_miss_check import _rgb255, crop_4_3, tinted_grass  # noqa: E402
from glow_core_check import run_cases  # noqa: E402

WIDTHS = (1024, 1280)


def stepped(photo, rng, x_mid):
    """``photo`` x a smooth brightness step across column ``x_mid`` (one side brighter)."""
    w = photo.shape[1]
    hi, lo = rng.uniform(1.25, 1.45), rng.uniform(0.6, 0.8)
    if rng.random() < 0.5:
        hi, lo = lo, hi
    s = 1 / (1 + np.exp(-(np.arange(w) - x_mid) / (0.02 * w)))
    gain = (hi + (lo - hi) * s).astype(np.float32)
    return np.clip(photo * gain[None, :, None], 0, 1).astype(np.float32)


def build_case(j):
    """Case ``j``: (id, photo name, photo, image, layers, drawn, region, lines)."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    rng = np.random.default_rng([20261236, j])
    width = WIDTHS[(j // 2) % len(WIDTHS)]
    if (j // 4) % 2 == 0:
        bgs = backgrounds("train", min_side=768)
        name, photo = bgs[int(rng.integers(len(bgs)))]
        photo = crop_4_3(photo, rng, width)
    else:
        photo, name = tinted_grass((width * 3 // 4, width), rng, False)
    kind = ("glow", "shadow")[j % 2]
    ov = overlays.sample_overlays(rng, "glow", photo.shape[:2], overlays.font_paths("train"))[0]
    ov = replace(ov, text=ov.text.replace("\n", " "))
    w, h = overlays.measure(ov)
    x, y = ov.xy
    photo = stepped(photo, rng, x + w / 2)
    c = np.median(photo[max(0, int(y)):int(y + h) + 1, max(0, int(x)):int(x + w) + 1]
                  .reshape(-1, 3), 0)
    fill = _rgb255(c * rng.uniform(0.2, 0.35))
    if kind == "glow":
        ov = replace(ov, color=fill, glow_color=_rgb255(c * rng.uniform(0.6, 0.8)),
                     glow_px=float(np.clip(ov.size_px * rng.uniform(0.08, 0.14), 3, 10)),
                     glow_opacity=float(rng.uniform(0.5, 0.8)), outline_px=0)
    else:
        d = max(2, int(round(0.04 * ov.size_px)))
        ov = replace(ov, color=fill, glow_px=0.0, outline_px=0, shadow_offset=(d, d),
                     shadow_blur=float(rng.uniform(3, 6)), shadow_color=_rgb255(c * 0.3),
                     shadow_opacity=float(rng.uniform(0.7, 0.9)))
    img, _, layers = overlays.render(photo, [ov])
    img = img.astype(np.float32)
    drawn = overlays.drawn_mask(photo, img)
    lines = [(p, t) for p, t in zip(overlays.line_polygons(ov),
                                     [t for t in ov.text.split("\n") if t.strip()])]
    return (f"{j}_{kind}_{width}", name, photo, img, layers, drawn, text_region(drawn, [ov]),
            lines)


def main():
    def columns(layers, mask):
        effect = ((layers["glow"] + layers["shadow"]) > 0.05) & (layers["fill"] < 0.5)
        near = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3) <= 6
        return dict(effect=int(effect.sum()), tail_left=int((effect & ~mask & near).sum()),
                    effect_left=int((effect & ~mask).sum()))

    run_cases(__doc__.split("\n")[0], build_case, columns,
              lambda rows: f"tail_left {sum(r['tail_left'] for r in rows)}, effect_left "
                           f"{sum(r['effect_left'] for r in rows)}/"
                           f"{sum(r['effect'] for r in rows)}")


if __name__ == "__main__":
    main()
