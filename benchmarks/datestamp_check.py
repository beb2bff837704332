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

``--family mixed`` (issue 10, detect-text v18): yellow dates ``(255, 170-200, 0-60)``, glow on
and off, over grass and train photos coloured half orange, half green, lightness matched to
the digits' (ids ``dy{j}``; :func:`build_cases`), the held-out datestamp's kind (digits less
red than their ground). Main 0e9c6f9 read 37 of 40 (the photo's pass most, dy4, dy18, dy24
missed by all passes).

``--family seg14`` (issue 10, date41): the held-out datestamp's 14-segment digits, drawn
procedurally (:func:`seg14_date`; DSEG14 is a held-out font family), yellow to orange, over
the "mixed" and "golden" grounds (ids ``d14_{j}``). Main 1b1a523: 39 of 40 found (the
photo's pass 38, the corner 1); both corner views read 39 (the redness 35 as a date at 0.8 or
more); d14_32 (768 px) missed: its chroma read "15.12.7" at 0.70. The corner's gate at 0.6 (no
date-like read of either view scores over 0.23 on the 120 text-free train crops) finds it,
and nothing else changes in the three families, but remove-text then fills its loose box (54
px tall over 24 px digits): PSNR 22.42 -> 18.38 dB, far 0 -> 2235 px; left at 0.8.

Usage (one tree first on PYTHONPATH; run it with main's and compare)::

    PYTHONPATH=src python benchmarks/datestamp_check.py --cases 40 --out /tmp/date.json
    PYTHONPATH=src python benchmarks/datestamp_check.py --only ds0,ds38 --pipeline
    PYTHONPATH=src python benchmarks/datestamp_check.py --family mixed --cases 40
    PYTHONPATH=src python benchmarks/datestamp_check.py --family seg14 --cases 40
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


def orange_green(value, rng):
    """Grey levels ``value`` (HxW float32 in [0, 1]) coloured as grass half orange, half
    green: a smooth random field (cells of 1/4-1/2 the frame) picks orange (hue 18-30 deg) or
    green (75-110 deg) with a few px of blend; saturation 0.55-0.85, value lifted to
    ``v0 + (1 - v0) * value`` (``v0`` 0.4-0.65: a sunlit meadow, about as light as the digits,
    which the photo's pass then misses); and the hues' name."""
    h, w = value.shape
    cell = rng.uniform(0.25, 0.5) * min(h, w)
    noise = rng.standard_normal((max(2, round(h / cell)) + 1, max(2, round(w / cell)) + 1))
    field = cv2.resize(noise.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    share = np.clip(0.5 + field * 2.0, 0, 1)  # 1 orange, 0 green, a short blend between
    orange, green = rng.uniform(18, 30), rng.uniform(75, 110)
    v0 = rng.uniform(0.4, 0.65)
    hue = (share * orange + (1 - share) * green) / 2
    hsv = np.dstack([hue.astype(np.uint8),
                     np.full(value.shape, int(rng.uniform(0.7, 0.95) * 255), np.uint8),
                     np.clip((v0 + (1 - v0) * value) * 255, 0, 255).astype(np.uint8)])
    return (cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32) / 255,
            f"og{orange:.0f}/{green:.0f}")


def yellow(ov, glow, rng):
    """``ov`` (a datestamp overlay) in yellow to yellow-orange ``(255, 170-200, 0-60)``, its
    glow (of its own colour) on or off."""
    from dataclasses import replace

    c = (255, int(rng.integers(170, 201)), int(rng.integers(0, 61)))
    return replace(ov, color=c, glow_color=c,
                   glow_px=float(rng.uniform(1, 2.5)) if glow else 0.0)


def match_lightness(photo, color, corner, rng):
    """``photo`` with its CIE L* moved so that the median over ``corner`` (a (y, x) slice
    pair) lies within 5 of ``color``'s (RGB 0-255) and its spread round it stretched 1.5-2.5
    times: digits of the ground's lightness over contrasty blades (at the stretch 1, the
    photo's own pass read 11 of the first 12 cases; at 2, 4)."""
    lab = cv2.cvtColor(np.clip(photo, 0, 1), cv2.COLOR_RGB2LAB)
    ink = cv2.cvtColor(np.float32([[color]]) / 255, cv2.COLOR_RGB2LAB)[0, 0, 0]
    med = float(np.median(lab[corner][..., 0]))
    lab[..., 0] = ink + rng.uniform(-5, 5) + rng.uniform(1.5, 2.5) * (lab[..., 0] - med)
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1)


#: 14-segment segments as (x0, y0, x1, y1) in a digit's unit cell (x right, y down): the
#: six outer bars, the two middle halves, the centre verticals and the four diagonals.
SEG14 = dict(a=(0, 0, 1, 0), b=(1, 0, 1, .5), c=(1, .5, 1, 1), d=(0, 1, 1, 1),
             e=(0, .5, 0, 1), f=(0, 0, 0, .5), g1=(0, .5, .5, .5), g2=(.5, .5, 1, .5),
             h=(0, 0, .5, .5), i=(.5, 0, .5, .5), j=(1, 0, .5, .5), k=(0, 1, .5, .5),
             l=(.5, .5, .5, 1), m=(1, 1, .5, .5))
#: Lit segments per digit as 14-segment displays draw them: the zero slashed (j, k), the
#: one the two right verticals.
SEG14_DIGITS = {"0": "a b c d e f j k", "1": "b c", "2": "a b g1 g2 e d",
                "3": "a b c d g1 g2", "4": "f g1 g2 b c", "5": "a f g1 g2 c d",
                "6": "a f e d c g1 g2", "7": "a b c", "8": "a b c d e f g1 g2",
                "9": "a b c d f g1 g2"}


def seg14_alpha(text, height, rng, scale=4):
    """Coverage (HxW float32 in [0, 1]) of ``text`` (digits and spaces) drawn as 14-segment
    digits ``height`` px tall, 0.6-0.7 of that wide: each segment a bar with pointed ends,
    stroke 0.09-0.12 of the height, shortened by a gap of 0.2-0.35 stroke at each end, sheared 0.08-0.18 (italic), filled anti-aliased at
    ``scale`` x and shrunk by area; and the line's corners ((4, 2) float32, in the coverage's
    px)."""
    wd = height * rng.uniform(0.6, 0.7)
    adv, stroke = wd * rng.uniform(1.3, 1.45), height * rng.uniform(0.09, 0.12)
    gap, shear = stroke * rng.uniform(0.2, 0.35), rng.uniform(0.08, 0.18)
    pad = stroke + 2
    n = len(text)
    W = int(np.ceil(2 * pad + n * adv + shear * height))
    H = int(np.ceil(2 * pad + height))
    big = np.zeros((H * scale, W * scale), np.uint8)
    for k, ch in enumerate(text):
        for name in SEG14_DIGITS.get(ch, "").split():
            x0, y0, x1, y1 = SEG14[name]
            p = np.float32([pad + k * adv + x0 * wd, pad + y0 * height])
            q = np.float32([pad + k * adv + x1 * wd, pad + y1 * height])
            u = (q - p) / np.linalg.norm(q - p)
            v = np.float32([-u[1], u[0]]) * stroke / 2
            p, q = p + u * gap, q - u * gap
            poly = np.float32([p, p + u * stroke / 2 + v, q - u * stroke / 2 + v, q,
                               q - u * stroke / 2 - v, p + u * stroke / 2 - v])
            poly[:, 0] += shear * (pad + height - poly[:, 1])  # italic: the top leans right
            cv2.fillPoly(big, [np.round(poly * scale * 16).astype(np.int32)], 255,
                         cv2.LINE_AA, shift=4)
    alpha = cv2.resize(big, (W, H), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    x1 = pad + (n - 1) * adv + wd
    corners = np.float32([[pad + shear * height, pad], [x1 + shear * height, pad],
                          [x1, pad + height], [pad, pad + height]])
    return alpha, corners


def seg14_date(photo, color, glow, rng):
    """``photo`` (HxWx3 float32) with a 14-segment camera date in ``color`` (RGB 0-255) drawn
    in its bottom-right corner (3-8% in from the edges): "10 1 1", "03 12 98" or "2019 04 07"
    style, at opacity 0.85-1, 2.5-4.5% of the short side tall (12-40 px, the sampler's
    datestamp size), a glow of its colour (1-2.5 px, opacity 0.3-0.6) when ``glow``.
    Returns (image, [(line polygon (4, 2) float32, text)])."""
    h, w = photo.shape[:2]
    y, mo, d = int(rng.integers(80, 125)) % 100, int(rng.integers(1, 13)), int(rng.integers(1, 29))
    fmt = int(rng.integers(3))
    text = (f"{y:02d} {mo} {d}" if fmt == 0 else f"{mo:02d} {d:02d} {y:02d}" if fmt == 1
            else f"20{y % 25:02d} {mo:02d} {d:02d}")
    size = int(np.clip(min(h, w) * rng.uniform(0.025, 0.045), 12, 40))
    alpha, corners = seg14_alpha(text, size, rng)
    ah, aw = alpha.shape
    x0 = int(w - w * rng.uniform(0.03, 0.08) - aw)
    y0 = int(h - h * rng.uniform(0.03, 0.08) - ah)
    cover = np.zeros((h, w), np.float32)
    cover[y0:y0 + ah, x0:x0 + aw] = alpha * rng.uniform(0.85, 1.0)
    ink = np.float32(color) / 255
    img = photo.copy()
    if glow:
        halo = cv2.GaussianBlur(cover, (0, 0), rng.uniform(1, 2.5)) * rng.uniform(0.3, 0.6)
        img += (ink - img) * np.clip(halo, 0, 1)[..., None]
    img += (ink - img) * cover[..., None]
    return img, [(corners + np.float32([x0, y0]), text)]


def seg14_region(drawn, lines):
    """:func:`_common.text_region` for a date drawn without an overlay: the drawn pixels and
    the line's polygon, grown 3 px."""
    region = drawn.astype(np.uint8)
    for p, _ in lines:
        cv2.fillPoly(region, [np.round(p).astype(np.int32)], 1)
    return cv2.dilate(region, np.ones((7, 7), np.uint8)) > 0


def build_cases(n, family="golden"):
    """[(id, photo name, photo, with_text, drawn, region, lines)], deterministic.

    ``family`` "golden": orange dates over golden grass and photos (``ds{j}``); "mixed":
    yellow dates over grass and photos coloured half orange, half green
    (:func:`orange_green`, :func:`yellow`, the corner's lightness matched to the digits'
    with :func:`match_lightness`; ``dy{j}``, seeds ``[20261207, 40, j]``, the glow on for
    even ``j // 2``, train fonts: DSEG7 only, DSEG14 is a held-out family): digits less red
    than half their ground, the held-out datestamp's kind. "seg14" (``d14_{j}``, seeds
    ``[20261208, 41, j]``, :func:`seg14_case`): 14-segment digits drawn procedurally
    (:func:`seg14_date`; the held-out datestamp's digit kind, DSEG14 itself being held out),
    yellow to orange ``(255, 120-200, 0-60)``, glow on for even ``j // 4``, over in turn
    (``j % 4``) grass and a train photo coloured orange and green (lightness matched as
    "mixed"), golden grass and a golden train photo (as "golden"), widths cycled so that
    each ground meets each width."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds, mirrored_grass

    bgs = backgrounds("train", min_side=768)
    fonts = overlays.font_paths("train")
    mixed = family == "mixed"
    out = []
    if family == "seg14":
        return [seg14_case(j, bgs) for j in range(n)]
    for j in range(n):
        rng = np.random.default_rng([20261207, 40 if mixed else 38, j])
        width = WIDTHS[j % len(WIDTHS)]
        if mixed and j % 2 == 0:
            g = np.clip(mirrored_grass((width * 3 // 4, width), float(rng.uniform(0.5, 1.0))),
                        0, 1)
            photo, name = orange_green(g, rng)
            name = f"grass:{name}"
        elif mixed:
            name, photo = bgs[int(rng.integers(len(bgs)))]
            grey = crop_4_3(photo, rng, width).mean(-1)
            photo, hues = orange_green(grey, rng)
            name = f"{name}:{hues}"
        elif j % 2 == 0:
            photo, name = tinted_grass((width * 3 // 4, width), rng, True)
        else:
            name, photo = bgs[int(rng.integers(len(bgs)))]
            photo, hue = golden(crop_4_3(photo, rng, width), rng)
            name = f"{name}:{hue}"
        ovs = overlays.sample_overlays(rng, "datestamp", photo.shape[:2], fonts)
        if mixed:
            ovs = [yellow(ov, (j // 2) % 2 == 0, rng) for ov in ovs]
            h, w = photo.shape[:2]
            photo = match_lightness(photo, ovs[0].color,
                                    (slice(h * 17 // 20, h), slice(w * 7 // 10, w)), rng)
        img = overlays.render(photo, ovs)[0].astype(np.float32)
        drawn = overlays.drawn_mask(photo, img)
        lines = [(p, t) for ov in ovs for p, t in
                 zip(overlays.line_polygons(ov), [t for t in ov.text.split("\n") if t.strip()])]
        out.append((f"{'dy' if mixed else 'ds'}{j}", name, photo, img, drawn, text_region(drawn, ovs), lines))
    return out


def seg14_case(j, bgs):
    """Case ``j`` of the "seg14" family (see :func:`build_cases`)."""
    from seamline.testing.backgrounds import mirrored_grass

    rng = np.random.default_rng([20261208, 41, j])
    width = WIDTHS[(j + j // 4) % len(WIDTHS)]
    kind = j % 4
    if kind == 0:
        g = np.clip(mirrored_grass((width * 3 // 4, width), float(rng.uniform(0.5, 1.0))), 0, 1)
        photo, name = orange_green(g, rng)
        name = f"grass:{name}"
    elif kind == 2:
        photo, name = tinted_grass((width * 3 // 4, width), rng, True)
    else:
        name, photo = bgs[int(rng.integers(len(bgs)))]
        photo = crop_4_3(photo, rng, width)
        photo, hues = (orange_green(photo.mean(-1), rng) if kind == 1 else golden(photo, rng))
        name = f"{name}:{hues}"
    color = (255, int(rng.integers(120, 201)), int(rng.integers(0, 61)))
    if kind < 2:
        h, w = photo.shape[:2]
        photo = match_lightness(photo, color, (slice(h * 17 // 20, h), slice(w * 7 // 10, w)),
                                rng)
    img, lines = seg14_date(photo.astype(np.float32), color, (j // 4) % 2 == 0, rng)
    drawn = np.abs(img - photo).max(-1) > 2 / 255  # overlays.drawn_mask's test
    return f"d14_{j}", name, photo, img, drawn, seg14_region(drawn, lines), lines


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
    ap.add_argument("--family", choices=("golden", "mixed", "seg14"), default="golden",
                    help="golden: orange dates over golden grass (ds); mixed: yellow dates "
                         "over orange-and-green grass (dy); seg14: 14-segment yellow/orange "
                         "dates over both grounds (d14_)")
    ap.add_argument("--pipeline", action="store_true", help="also run remove-text")
    a = ap.parse_args()
    keep = set(a.only.split(",")) if a.only else None
    rows = []
    for cid, name, photo, img, drawn, region, lines in build_cases(a.cases, a.family):
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
