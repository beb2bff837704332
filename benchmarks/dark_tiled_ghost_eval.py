"""How many copies of a light tiled watermark over a near-black photo the ghost judge still reads
after ``remove-text`` (issue 10; train split only).

The held-out miss this follows: a light lattice watermark (~0.45 opacity) over a dark photo,
2 of its 23 copies still read by the ghost judge. Its train analogues (:data:`CASES`): white
and light-grey words tiled (``seamline.testing.overlays.tile_overlay``, DejaVu and URW /
Cantarell / League Spartan train fonts, opacity 0.3-0.6, +-20-45 deg, some with the style's
soft shadow) over grass in deep shade (``seamline.testing.backgrounds.dark_grass``) and
scikit-image photos darkened to near black (a gamma and a scale). Per case the whole pipeline
runs once and every drawn copy is judged as the remove-text benchmark judges a line
(``bench_remove_text.ghost_residual``: the drawn line's polygon, the result rounded to 8 bits,
the pipeline's mask): ``read`` counts the copies with a token seen (a read or glyph-shaped
residue), ``read_real`` those of them it does not read on a perfect removal too (the photo
itself, the drawn mask: a copy cut by the frame to a letter or two is read there), beside the
text-region PSNR, the pixels changed farther than 8 px from the text (``far``) and
unblend-watermark's report.

``--set half`` runs :data:`HALF_CASES` instead: a tiled watermark over a photo half sharp
texture, half smooth (the held-out miss of issue 10's tiled watermark over bark beside bokeh);
each row also gives the mask's recall and precision against the drawn pixels, whether
detect-text found the lattice (``tiled``) and the CPU seconds of the run. ``--set half2``
runs :data:`HALF2_CASES`: twelve more of them at the held-out frame's 768 px, white and light
grey, over procedural bark and woven fabric too.

Usage (the tree to measure first on PYTHONPATH)::

    PYTHONPATH=src python benchmarks/dark_tiled_ghost_eval.py --out rows.json \
        [--set half|half2] [--only d0,d3] [--save DIR]

``--save DIR`` writes each case's input, result and photo (PNG) and the read copies' crops
(input | result | photo, x3) for looking at.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import text_region  # noqa: E402
from bench_remove_text import _Line, ghost_residual  # noqa: E402
from mask_train_eval import psnr  # noqa: E402

#: (id, photo, width, word, font file, grey, opacity, angle, size px, spacing, shadow).
#: ``photo``: ``grass:<seed>:<gamma>`` (dark_grass) or ``<skimage name>:<gamma>:<scale>`` (the
#: photo to the power gamma, times scale: near black).
CASES = (
    ("d0", "grass:5:2.6", 1024, "PROOF", "DejaVuSans-Bold.ttf", 160, 0.45, 28, 52, (1.6, 3.6), 0),
    ("d1", "grass:9:3.0", 1024, "SAMPLE", "DejaVuSans-Bold.ttf", 160, 0.4, -32, 48, (1.5, 4.0), 0),
    ("d2", "grass:13:2.4", 1280, "PREVIEW", "NimbusSans-Bold.otf", 255, 0.55,
     24, 60, (1.7, 3.4), 1),
    ("d3", "grass:17:2.8", 1024, "DRAFT", "Cantarell-Bold.otf", 175, 0.5, -40, 56, (1.8, 4.5), 0),
    ("d4", "grass:21:2.2", 768, "imagebank", "DejaVuSans.ttf", 255, 0.35, 35, 40, (1.5, 3.2), 0),
    ("d5", "grass:25:3.2", 1024, "COPYRIGHT", "LeagueSpartan-Bold.otf", 160, 0.45,
     22, 44, (1.4, 3.8), 1),
    ("d6", "grass:29:2.6", 1280, "shutterpix", "DejaVuSans-Bold.ttf", 190, 0.45,
     -26, 64, (1.6, 4.2), 0),
    ("d7", "grass:33:2.9", 1024, "PROOF", "NimbusSans-Bold.otf", 255, 0.3, 44, 50, (1.9, 3.0), 0),
    ("d8", "grass:3:2.6", 1024, "PROOF", "DejaVuSans-Bold.ttf", 160, 0.45, 30, 48, (1.6, 3.6), 0),
    ("d9", "grass:23:2.6", 1024, "SAMPLE", "DejaVuSans-Bold.ttf", 160, 0.5, 25, 52, (1.6, 3.6), 1),
    ("d10", "grass:41:3.4", 1280, "PROOF", "DejaVuSans-Bold.ttf", 160, 0.45,
     -30, 56, (1.6, 3.6), 0),
    ("c0", "coffee:2.4:0.5", 1024, "SAMPLE", "DejaVuSans-Bold.ttf", 160, 0.45,
     30, 50, (1.6, 3.6), 0),
    ("c1", "chelsea:2.6:0.4", 1024, "© PhotoCo", "DejaVuSans-Bold.ttf", 240, 0.5,
     -35, 46, (1.5, 4.0), 1),
    ("c2", "astronaut:2.8:0.5", 768, "PROOF", "Cantarell-Bold.otf", 255, 0.4,
     25, 40, (1.7, 3.5), 0),
    ("c3", "rocket:2.2:0.6", 1280, "DRAFT", "NimbusSans-Bold.otf", 160, 0.5,
     -22, 66, (1.6, 4.4), 0),
    ("c4", "grace_hopper:2.5:0.5", 1024, "PREVIEW", "DejaVuSans-Bold.ttf", 160, 0.55,
     38, 48, (1.8, 3.2), 0),
    ("c5", "hubble_deep_field:1.0:1.0", 1024, "© stockphoto", "DejaVuSans-Bold.ttf", 160, 0.45,
     27, 42, (1.5, 3.4), 0),
    ("c6", "coins:3.0:0.5", 1024, "SAMPLE", "NimbusSans-Bold.otf", 255, 0.45,
     20, 46, (1.6, 4.0), 0),
)

#: Half-textured analogues (``--set half``) of a held-out miss: a grey "shutterpix" tiled over a
#: photo half sharp bark, half smooth bokeh, whose lattice the search did not find. Same fields;
#: ``photo`` is ``half:<texture>:<smooth>:<blur>``: the left half a train texture (its centre
#: crop), the right half a train photo (or procedural bokeh) blurred by a Gaussian of ``blur``
#: px, joined over a twentieth of the width.
HALF_CASES = (
    ("h0", "half:gravel:bokeh0:0", 768, "shutterpix", "DejaVuSans-Bold.ttf", 160, 0.45,
     30, 40, (1.6, 3.6), 0),
    ("h1", "half:grass:chelsea:6", 768, "shutterpix", "DejaVuSans.ttf", 160, 0.4,
     -25, 36, (1.5, 4.0), 0),
    ("h2", "half:brick:bokeh1:0", 1024, "SAMPLE", "DejaVuSans-Bold.ttf", 255, 0.5,
     35, 52, (1.7, 3.4), 0),
    ("h3", "half:gravel:coffee:8", 1024, "PREVIEW", "Cantarell-Bold.otf", 160, 0.35,
     -30, 48, (1.6, 4.2), 0),
    ("h4", "half:grass:bokeh2:0", 768, "imagebank", "NimbusSans-Bold.otf", 255, 0.4,
     22, 44, (1.5, 3.2), 1),
    ("h5", "half:immunohistochemistry:bokeh0:0", 1024, "COPYRIGHT", "LeagueSpartan-Bold.otf",
     160, 0.55, -40, 56, (1.4, 3.8), 0),
    ("h6", "half:gravel:astronaut:8", 768, "shutterpix", "DejaVuSans-Bold.ttf", 255, 0.3,
     28, 38, (1.8, 3.0), 1),
    ("h7", "half:grass:rocket:6", 1024, "shutterpix", "DejaVuSans-Bold.ttf", 190, 0.45,
     -35, 60, (1.6, 4.4), 0),
)
#: More of them (``--set half2``), nearer the held-out frame: 768 px, white and light-grey
#: words of ``overlays.WATERMARK_WORDS`` at 0.3-0.6, half with the style's 1 px soft shadow,
#: the sharp half also procedural bark (``bark<seed>``: vertical fibres and cracks) and woven
#: fabric (``fabric<seed>``), the smooth half bokeh, a blurred train photo or a sky
#: (``gradient<k>``).
HALF2_CASES = (
    ("k0", "half:bark1:bokeh0:0", 768, "shutterpix", "DejaVuSans-Bold.ttf", 255, 0.45,
     30, 40, (1.6, 3.6), 0),
    ("k1", "half:bark2:bokeh1:0", 768, "shutterpix", "DejaVuSans.ttf", 255, 0.35,
     -28, 38, (1.5, 4.0), 1),
    ("k2", "half:grass:bokeh2:0", 768, "shutterpix", "DejaVuSans-Bold.ttf", 255, 0.5,
     25, 38, (1.7, 3.4), 1),
    ("k3", "half:gravel:gradient0:0", 768, "© stockphoto", "DejaVuSans-Bold.ttf", 255, 0.3,
     -30, 36, (1.5, 3.8), 0),
    ("k4", "half:fabric3:bokeh0:0", 768, "imagebank", "NimbusSans-Bold.otf", 200, 0.55,
     35, 42, (1.6, 3.4), 0),
    ("k5", "half:brick:chelsea:8", 768, "PROOF", "DejaVuSans-Bold.ttf", 255, 0.4,
     -35, 44, (1.8, 3.6), 1),
    ("k6", "half:bark4:coffee:10", 768, "SAMPLE", "Cantarell-Bold.otf", 180, 0.6,
     28, 40, (1.6, 4.0), 1),
    ("k7", "half:immunohistochemistry:gradient1:0", 768, "shutterpix", "DejaVuSans-Bold.ttf",
     255, 0.45, -25, 36, (1.6, 3.6), 1),
    ("k8", "half:bark5:bokeh2:0", 768, "DRAFT", "NimbusSans-Bold.otf", 255, 0.3,
     40, 46, (1.9, 3.2), 0),
    ("k9", "half:noise1:astronaut:10", 768, "© PhotoCo", "DejaVuSans-Bold.ttf", 255, 0.5,
     -32, 38, (1.5, 3.8), 1),
    ("k10", "half:fabric6:bokeh1:0", 768, "COPYRIGHT", "LeagueSpartan-Bold.otf", 220, 0.4,
     22, 36, (1.4, 3.8), 0),
    ("k11", "half:bark7:rocket:8", 768, "shutterpix", "DejaVuSans.ttf", 230, 0.55,
     -38, 40, (1.6, 4.2), 1),
)
SETS = {"dark": CASES, "half": HALF_CASES, "half2": HALF2_CASES}


def build(case):
    """One case: ``(photo, image, drawn, region, lines, ovs)``, float32 images in [0, 1]."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import dark_grass

    _, spec, width, word, font, grey, op, ang, size, spacing, shadow = case
    H, W = width * 3 // 4, width
    kind, *p = spec.split(":")
    if kind == "grass":
        photo = dark_grass((H, W), int(p[0]), gamma=float(p[1]))
    elif kind == "half":
        left, right = _train_photo(p[0], (H, W)), _train_photo(p[1], (H, W))
        if float(p[2]) > 0:
            right = cv2.GaussianBlur(right, (0, 0), float(p[2]))
        ramp = np.clip((np.arange(W) - 0.475 * W) / (0.05 * W), 0, 1).astype(np.float32)
        photo = left + (right - left) * ramp[None, :, None]
    else:
        photo = float(p[1]) * np.clip(_train_photo(kind, (H, W)), 0, 1) ** float(p[0])
    photo = np.clip(photo, 0, 1).astype(np.float32)
    fonts = [f for f in overlays.font_paths("train") if Path(f).name == font]
    ov = overlays.Overlay(text=word, xy=(0, 0), size_px=size, font=fonts[0], color=(grey,) * 3,
                          opacity=op, angle_deg=float(ang))
    if shadow:
        ov = replace(ov, shadow_offset=(1, 1), shadow_opacity=0.5, shadow_blur=1.0)
    ovs = overlays.tile_overlay(ov, (H, W), spacing)
    image = overlays.render(photo, ovs)[0].astype(np.float32)
    drawn = overlays.drawn_mask(photo, image)
    lines = [(np.float32(q), t) for o in ovs for q, t in zip(overlays.line_polygons(o), [o.text])]
    return photo, image, drawn, text_region(drawn, ovs), lines, ovs


def _train_photo(name, shape_hw):
    """The train photo ``name`` (the part after ``skimage:`` / ``procedural:``), its centre 4:3
    crop resized to ``shape_hw`` (H, W), or a procedural ``bark<seed>`` / ``fabric<seed>``
    (:func:`_woven`); float32."""
    from seamline.testing.backgrounds import backgrounds

    H, W = shape_hw
    if name.startswith(("bark", "fabric")):
        kind, seed = re.fullmatch(r"([a-z]+)(\d+)", name).groups()
        return _woven(kind, int(seed), shape_hw)
    src = next(p for n, p in backgrounds("train") if n.split(":")[1] == name)
    h, w = src.shape[:2]
    ch, cw = (h, int(h * 4 / 3)) if w * 3 >= h * 4 else (int(w * 3 / 4), w)
    src = src[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
    return cv2.resize(src, (W, H), interpolation=cv2.INTER_AREA if W < cw else cv2.INTER_CUBIC
                      ).astype(np.float32)


def _woven(kind, seed, shape_hw):
    """Procedural sharp texture (H, W, 3) float32 in [0, 1]: ``"bark"``, brown vertical
    fibres (noise stretched 12x along y) with dark cracks; ``"fabric"``, a tinted weave
    (two crossing 5-7 px thread periods whose phase wanders) with noise."""
    rng = np.random.default_rng(seed)
    H, W = shape_hw

    def field(sx, sy):
        f = cv2.GaussianBlur(rng.standard_normal((H, W)).astype(np.float32), (0, 0), sx,
                             sigmaY=sy)
        return f / max(float(f.std()), 1e-6)

    if kind == "bark":
        fib, crack = field(1.2, 14.0), field(4.0, 40.0)
        v = 0.45 + 0.12 * fib - 0.35 * np.clip(crack - 1.0, 0, None)
        tint = np.float32([0.85, 0.65, 0.5]) * rng.uniform(0.8, 1.2)
    else:
        y, x = np.mgrid[:H, :W].astype(np.float32)
        p = rng.uniform(5, 7)
        wx = np.sin(2 * np.pi * (x + 3 * field(20, 20)) / p)
        wy = np.sin(2 * np.pi * (y + 3 * field(20, 20)) / p)
        v = 0.5 + 0.15 * wx * wy + 0.06 * field(0.8, 0.8)
        tint = rng.uniform(0.4, 1.0, 3).astype(np.float32)
    return np.clip(v[..., None] * tint / tint.max() * 1.2, 0, 1).astype(np.float32)


def judge(image, result, drawn, lines, mask):
    """Per drawn copy with at least 30 drawn pixels in its polygon: whether the ghost judge sees
    a token of it in ``result`` (8-bit, as the benchmark's; as there, a copy whose box overlaps
    a neighbour the judge flags for residue counts too), and the copies' polygons."""
    H, W = drawn.shape
    keep = []
    for poly, text in lines:
        m = np.zeros((H, W), np.uint8)
        cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
        if np.count_nonzero(m.astype(bool) & drawn) >= 30:
            keep.append((poly, text))
    res8 = np.rint(np.clip(result, 0, 1) * 255).astype(np.float32) / np.float32(255)
    regions = [_Line(p, t) for p, t in keep]
    seen, _ = ghost_residual(image, res8, regions,
                             [{"polygon": p, "tokens": t.split()} for p, t in keep],
                             mask.astype(np.float32))
    return [int(s > 0) for s in seen], [p for p, _ in keep]


def crops(path, image, result, photo, polys, read):
    """The read copies' boxes, input | result | photo side by side, x3 (PNG per copy)."""
    for k, (p, r) in enumerate(zip(polys, read)):
        if not r:
            continue
        x0, y0 = np.floor(p.min(0)).astype(int) - 6
        x1, y1 = np.ceil(p.max(0)).astype(int) + 6
        x0, y0 = max(x0, 0), max(y0, 0)
        tiles = [np.clip(a[y0:y1, x0:x1], 0, 1) for a in (image, result, photo)]
        row = np.concatenate(tiles, 1)
        row = cv2.resize(row, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(str(path / f"copy{k}.png"), np.rint(row[..., ::-1] * 255).astype(np.uint8))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    ap.add_argument("--only", help="comma-separated case ids (d0..d10, c0..c6, h0..h7, k0..k11)")
    ap.add_argument("--set", choices=sorted(SETS), default="dark",
                    help="the dark photos (default) or the half-textured ones (half, half2)")
    ap.add_argument("--save", help="folder for the images and the read copies' crops")
    args = ap.parse_args()
    import seamline as sl

    only = set(args.only.split(",")) if args.only else None
    rows = []
    for case in SETS[args.set]:
        if only and case[0] not in only:
            continue
        photo, image, drawn, region, lines, _ = build(case)
        t0 = time.process_time()
        res = sl.remove_text(image)
        cpu = time.process_time() - t0
        result, mask = np.asarray(res.image, np.float32), np.asarray(res.mask) > 0
        read, polys = judge(image, result, drawn, lines, mask)
        # the copies the judge reads on a perfect removal too (the photo itself, the drawn
        # mask): a copy cut by the frame to a letter or two, not what the removal left
        truth, _ = judge(image, photo, drawn, lines, drawn)
        real = [int(r and not t) for r, t in zip(read, truth)]
        far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
        ub = res.run.stage("unblend").report
        r = dict(id=case[0], photo=case[1], copies=len(read), read=int(sum(read)),
                 read_real=int(sum(real)), read_idx=[k for k, v in enumerate(read) if v],
                 psnr=psnr(result, photo, region),
                 far=int(np.count_nonzero(np.any(result != image, axis=2) & far)),
                 recall=float((mask & drawn).sum() / max(drawn.sum(), 1)),
                 precision=float((mask & drawn).sum() / max(mask.sum(), 1)),
                 tiled=res.run.stage("detect").report.get("tiled_watermark", {}).get("found"),
                 cpu_s=round(cpu, 2), inverted=ub.get("copies_inverted"),
                 ghosted=ub.get("copies_ghosted"), reason=str(ub.get("reason", "")))
        rows.append(r)
        print(f"{r['id']:3s} {r['photo']:26s} read {r['read']:2d}/{r['copies']:2d} "
              f"(not on the photo {r['read_real']:2d}) "
              f"rec {r['recall']:.3f} prec {r['precision']:.3f} tiled {r['tiled']} "
              f"psnr {r['psnr']:6.2f} far {r['far']:5d} inverted {r['inverted']} "
              f"cpu {r['cpu_s']:.1f} | {r['reason'][:90]}", flush=True)
        if args.save:
            d = Path(args.save) / case[0]
            d.mkdir(parents=True, exist_ok=True)
            for n, a in (("input", image), ("result", result), ("photo", photo)):
                cv2.imwrite(str(d / f"{n}.png"),
                            np.rint(np.clip(a, 0, 1)[..., ::-1] * 255).astype(np.uint8))
            crops(d, image, result, photo, polys, read)
    tot = dict(read=sum(r["read"] for r in rows), read_real=sum(r["read_real"] for r in rows),
               copies=sum(r["copies"] for r in rows),
               psnr_mean=float(np.mean([r["psnr"] for r in rows])),
               recall_mean=float(np.mean([r["recall"] for r in rows])),
               precision_mean=float(np.mean([r["precision"] for r in rows])),
               cpu_s=round(sum(r["cpu_s"] for r in rows), 1),
               far=sum(r["far"] for r in rows))
    print("total", json.dumps(tot), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
