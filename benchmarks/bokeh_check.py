"""Text over defocused (bokeh) photos (issue 10), TRAIN data only.

Two held-out failures share one look: large smooth areas of saturated colour separated by
soft, blurred edges (a defocused flower), with a two-line outlined subtitle or a big serif
title with a blurred drop shadow across an edge. This script draws train analogues: the
scikit-image photos astronaut, coffee, chelsea, rocket and retina, and three procedural
"flowers" (saturated ellipses on a dark green or black ground), each at 1024x768 blurred
with a Gaussian of sigma 4, 6 and 9 px (no grain left: a lens out of focus); on each, a
two-line white monospace subtitle with a 1-2 px black outline (20-29 px) and a green italic
serif title (80-109 px) with a blurred drop shadow, each centred on one of the strongest soft
edges (train fonts). 48 cases, deterministic.

``--grain photo`` makes the photos a camera's: after the blur, sensor grain (Gaussian, sigma
0.008-0.025 on [0, 1], a third of it per channel as chroma noise) and a JPEG round trip
(quality 75-92), then the text; ``--grain shot`` draws the text on the grainy photo before
the JPEG round trip, as a screenshot is saved (the reference is the grainy photo through the
same round trip, the drawn mask the text's own pixels before it).

Per case the whole ``remove-text`` pipeline runs; it prints ``pipe`` (PSNR in the text
region: drawn pixels and the line box grown 3 px, against the clean photo), ``oracle`` (the
drawn mask filled by Telea, radius 3), the recall of the mask filled, ``ghost`` (words of the
drawn lines the ghost judge still reads, as ``mask_train_eval`` counts them), QA-failed
regions, and per region the first choice and every pass (backend, smear seam ratio, ring
detail, smear/ghost flags).

Usage::

    PYTHONPATH=src python benchmarks/bokeh_check.py [--only ids] [--out rows.json]
        [--save DIR] [--grain {photo,shot}]
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
from _common import case_selection, crop_resize_4x3, text_region  # noqa: E402  (benchmarks/ is on sys.path)

MONO = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
        "/usr/share/fonts/truetype/freefont/FreeMono.ttf",
        "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Regular.otf")
ITALIC = ("/usr/share/fonts/truetype/dejavu/DejaVuSerif-Italic.ttf",
          "/usr/share/fonts/opentype/ebgaramond/EBGaramond12-Italic.otf",
          "/usr/share/fonts/truetype/dejavu/DejaVuSerif-BoldItalic.ttf")
TEXTS = (("Chapter one the end\nwhen you realize", "Good vibes"),
         ("Keep calm carry on\nnobody cares again", "Holiday"),
         ("Stay wild dream big\nthis is fine today", "Summer"))
PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "retina")
SIGMAS = (4.0, 6.0, 9.0)


def flower(seed, h=768, w=1024):
    """Saturated yellow/orange/red ellipses on a dark ground, hard-edged (blurred later)."""
    rng = np.random.default_rng([777, seed])
    ground = ((0.05, 0.12, 0.04), (0.02, 0.02, 0.03), (0.1, 0.18, 0.06))
    img = np.ones((h, w, 3), np.float32) * np.float32(ground[int(rng.integers(3))])
    cols = ((0.98, 0.85, 0.05), (0.95, 0.45, 0.05), (0.9, 0.15, 0.08), (0.99, 0.7, 0.1))
    for _ in range(int(rng.integers(4, 9))):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        axes = (int(rng.integers(80, 300)), int(rng.integers(40, 160)))
        cv2.ellipse(img, c, axes, float(rng.uniform(0, 180)), 0, 360,
                    cols[int(rng.integers(len(cols)))], -1, cv2.LINE_AA)
    return img


def edge_point(photo, rng, w, h):
    """Top-left corner that centres a ``w`` x ``h`` block on one of the 3% strongest soft
    edges, the block inside the frame."""
    luma = cv2.GaussianBlur(photo @ np.float32([0.2126, 0.7152, 0.0722]), (0, 0), 2)
    grad = np.hypot(cv2.Sobel(luma, cv2.CV_32F, 1, 0), cv2.Sobel(luma, cv2.CV_32F, 0, 1))
    H, W = luma.shape
    h2, w2 = int(h) // 2 + 8, int(w) // 2 + 8
    keep = np.zeros_like(grad)
    keep[h2:H - h2, w2:W - w2] = 1
    grad *= keep
    ys, xs = np.nonzero(grad >= np.quantile(grad[keep > 0], 0.97))
    k = int(rng.integers(len(ys)))
    return float(xs[k] - w / 2), float(ys[k] - h / 2)


def jpeg(img, quality):
    """``img`` (HxWx3 float32 in [0, 1]) through a JPEG round trip at ``quality``."""
    u8 = np.clip(img[..., ::-1] * 255 + 0.5, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", u8, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return (cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1] / 255.0).astype(np.float32)


def grainy(img, rng):
    """Sensor grain (luma sigma 0.008-0.025, chroma a third of it) on ``img``, clipped, and
    the JPEG quality (75-92) its round trip takes."""
    sigma = float(rng.uniform(0.008, 0.025))
    noise = rng.normal(0, sigma, img.shape[:2])[..., None] + rng.normal(0, sigma / 3, img.shape)
    return np.clip(img + noise, 0, 1).astype(np.float32), int(rng.integers(75, 93))


def build_cases(grain=None):
    """[(id, photo, with_text, drawn, region, lines)], deterministic; ``grain``: None,
    ``"photo"`` or ``"shot"`` (module docstring)."""
    from mask_train_eval import _lines

    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    bgs = dict(backgrounds("train", min_side=768))
    photos = [(n, crop_resize_4x3(bgs[f"skimage:{n}"], (1024, 768))) for n in PHOTOS]
    photos += [(f"flower{i}", flower(i)) for i in range(3)]
    out = []
    for pi, (name, photo) in enumerate(photos):
        for j, sigma in enumerate(SIGMAS):
            p = np.clip(cv2.GaussianBlur(photo, (0, 0), sigma), 0, 1).astype(np.float32)
            quality = None
            if grain:
                p, quality = grainy(p, np.random.default_rng([99, pi, j]))
                if grain == "photo":
                    p = jpeg(p, quality)
            for style in ("sub", "title"):
                rng = np.random.default_rng([4242, pi, j, style == "sub"])
                sub, title = TEXTS[(pi + j) % 3]
                if style == "sub":
                    ov = overlays.Overlay(text=sub, xy=(0, 0), size_px=int(rng.integers(20, 30)),
                                          font=MONO[(pi + j) % 3], color=(255, 255, 255),
                                          align="center", line_spacing=1.25,
                                          outline_px=int(rng.integers(1, 3)),
                                          outline_color=(0, 0, 0))
                else:
                    ov = overlays.Overlay(text=title, xy=(0, 0),
                                          size_px=int(rng.integers(80, 110)),
                                          font=ITALIC[(pi + j) % 3], color=(40, 170, 60),
                                          shadow_offset=(5, 5),
                                          shadow_blur=float(rng.uniform(2, 4)),
                                          shadow_opacity=0.8)
                w, h = overlays.measure(ov)
                ov = overlays._replace(ov, xy=edge_point(p, rng, w, h))
                img, _, _ = overlays.render(p, [ov])
                img = img.astype(np.float32)
                drawn = overlays.drawn_mask(p, img)
                ref = p
                if grain == "shot":
                    img, ref = jpeg(img, quality), jpeg(p, quality)
                out.append((f"{name}_s{int(sigma)}_{style}", ref, img, drawn,
                            text_region(drawn, [ov]), _lines([ov])))
    return out


def fill_path(report):
    """Per region: the first choice and every pass (backend, smear figures, ghost flag)."""
    regions = []
    for r in report.get("regions", []):
        passes = []
        for q in r.get("passes", []):
            sm = q.get("smear") or {}
            passes.append({"backend": q["backend"], "because": q.get("because"),
                           "seam_ratio": sm.get("seam_ratio"), "ring_detail": sm.get("ring_detail"),
                           "smear": sm.get("flagged"),
                           "ghost": (q.get("verdict") or {}).get("flagged")})
        regions.append({"text": r.get("text"), "reason": r.get("reason"),
                        "ring_texture_energy": r.get("ring_texture_energy"),
                        "smooth_context": r.get("smooth_context"), "passes": passes})
    return regions


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--out", help="write the rows as JSON")
    ap.add_argument("--save", help="folder for a picture per case (mask_train_eval's: input | "
                    "mask | result | clean, 2x)")
    ap.add_argument("--grain", choices=("photo", "shot"), help="grain and JPEG (docstring)")
    args = ap.parse_args()
    import seamline as sl
    from mask_train_eval import ghost_words, psnr, save_picture, telea

    only, save = case_selection(args)
    rows = []
    for cid, photo, image, drawn, region, lines in build_cases(args.grain):
        if only and cid not in only:
            continue
        t0 = time.perf_counter()
        res = sl.remove_text(image)
        out = np.asarray(res.image, np.float32)
        filled = np.asarray(res.mask) > 0
        oracle = telea(image, drawn)
        seen, words, _ = ghost_words(image, out, lines, filled)
        row = {"id": cid, "pipe": psnr(out, photo, region), "oracle": psnr(oracle, photo, region),
               "recall": float((filled & drawn).sum() / max(drawn.sum(), 1)),
               "ghost": seen, "words": words,
               "qa_failed": len(res.qa.get("failed_regions", [])),
               "regions": fill_path(res.run.stage("inpaint").outputs["report"]),
               "seconds": round(time.perf_counter() - t0, 1)}
        rows.append(row)
        print(f"{cid:20s} pipe {row['pipe']:6.2f} oracle {row['oracle']:6.2f} "
              f"rec {row['recall']:.3f} ghost {seen}/{words} qa_failed {row['qa_failed']}",
              flush=True)
        for r in row["regions"]:
            print(f"    {r['text'][:20]!r}: " + " -> ".join(
                f"{p['backend']}(seam {p['seam_ratio']}, detail {p['ring_detail']}, "
                f"smear {p['smear']}, ghost {p['ghost']})"
                for p in r["passes"]), flush=True)
        if save:
            save_picture(save / f"{cid}.png", image, photo, filled, drawn, out)
    n = max(len(rows), 1)
    print(f"cases {len(rows)}: pipe {sum(r['pipe'] for r in rows) / n:.2f} dB, oracle "
          f"{sum(r['oracle'] for r in rows) / n:.2f} dB, ghost words "
          f"{sum(r['ghost'] for r in rows)}/{sum(r['words'] for r in rows)}, QA-failed "
          f"{sum(r['qa_failed'] for r in rows)}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
