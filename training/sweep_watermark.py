"""Tiled-watermark search over the whole parameter range the "tiled_watermark" style draws.

Tuning data only (``seamline.testing.backgrounds("train")``, train fonts), never the held-out
wallpapers. ``training/eval_watermark.py`` draws one case per train photo with the style's
sampler; this sweep draws every parameter itself, uniformly over the ranges
``seamline.testing.overlays`` uses (word, font, size 4-8 % of the width clipped to 16-90 px,
angle +-20-45 deg, spacing 1.4-2.0 x the word along a row and 3-5 x its height between rows,
opacity 0.3-0.6, white or grey 160, a soft shadow or none), on train photos cover-cropped to
1024x768 and 1600x1200, and reports found/N per parameter bin, so a miss can be traced to the
parameter that causes it. Background bins: ``dark`` (mean lightness < 0.3), ``light`` (> 0.55),
``busy`` (band-passed detail in the top third of the photos), else ``mid``.

False positives, in the same run: every train photo untouched at both sizes, and with one
ordinary style drawn (every style but the tiled watermark, in turn).

Detection runs as detect-text's does: the detector's lines go to the search as ``exclude``,
their readings as ``texts``. ``--pipeline``: on the found cases also the whole remove-text
(text-region PSNR, pixels changed farther than 8 px from the text).

Usage: ``python training/sweep_watermark.py [--n 80] [--fp] [--pipeline] [--json out.json]
[--save DIR]``
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from seamline.ops.text.detect import detect_text
from seamline.ops.text.watermark_lines import find_watermark
from seamline.testing import overlays as ov
from seamline.testing.backgrounds import backgrounds

from eval_watermark import region_and_far  # same folder: the scripts run as files

FRAMES = ((768, 1024), (1200, 1600))
ORDINARY = tuple(s for s in ov.STYLES if s != "tiled_watermark")


def cover(img, hw):
    """``img`` scaled to cover ``hw`` = (H, W) and centre-cropped to it."""
    H, W = hw
    h, w = img.shape[:2]
    f = max(H / h, W / w)
    r = cv2.resize(img, (max(W, round(w * f)), max(H, round(h * f))),
                   interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
    y0, x0 = (r.shape[0] - H) // 2, (r.shape[1] - W) // 2
    return np.ascontiguousarray(np.clip(r[y0:y0 + H, x0:x0 + W], 0, 1), np.float32)


def busyness(img) -> float:
    """Mean absolute band-passed lightness at 512 px (what the periodicity search sees)."""
    from seamline.ops.text.watermark import bandpass

    return float(np.mean(np.abs(bandpass(img)[0])))


def draw_case(k, bgs, fonts):
    """One tiled case: (image, photo, drawn bool mask, overlays, params dict)."""
    rng = np.random.default_rng([31, k])
    name, bg = bgs[(7 * k) % len(bgs)]
    hw = FRAMES[k % 2]
    photo = cover(bg, hw)
    H, W = hw
    text = str(rng.choice(ov.WATERMARK_WORDS))
    grey = rng.random() >= 0.7
    color = (160, 160, 160) if grey else (255, 255, 255)
    angle = float(rng.uniform(20, 45) * rng.choice([-1, 1]))
    size = int(np.clip(W * rng.uniform(0.04, 0.08), 16, 90))
    font = fonts[int(rng.integers(len(fonts)))]
    opacity = float(rng.uniform(0.3, 0.6))
    shadow = bool(rng.random() < 0.4)
    spacing = (float(rng.uniform(1.4, 2.0)), float(rng.uniform(3.0, 5.0)))
    o = ov.Overlay(text=text, xy=(0, 0), size_px=size, font=font, color=color, opacity=opacity,
                   angle_deg=angle)
    if shadow:
        o = ov.Overlay(**{**o.__dict__, "shadow_offset": (1, 1), "shadow_opacity": 0.5,
                          "shadow_blur": 1.0})
    ovs = ov.tile_overlay(o, hw, spacing)
    out = np.ascontiguousarray(ov.render(photo, ovs)[0], np.float32)
    drawn = ov.drawn_mask(photo, out)
    mean = float(photo.mean())
    params = {"k": k, "photo": name, "frame": f"{W}x{H}", "text": text,
              "font": Path(font).stem, "size": size, "angle": round(angle, 1),
              "opacity": round(opacity, 2), "color": "grey" if grey else "white",
              "shadow": shadow, "sx": round(spacing[0], 2), "sy": round(spacing[1], 2),
              "bg_mean": round(mean, 3), "bg_busy": round(busyness(photo), 4),
              # the paint against the photo it dims: how far the strokes move the lightness
              "contrast": round(opacity * abs(color[0] / 255 - mean), 3)}
    return out, photo, drawn, ovs, params


def bins(p, busy_cut) -> dict:
    """The parameter bins one case falls in."""
    def cut(v, edges, names):
        return next((n for e, n in zip(edges, names) if v < e), names[-1])

    heavy = re.search(r"(Bold|Black|Heavy|ExtraBold|Demi)", p["font"], re.I)
    kind = ("busy" if p["bg_busy"] >= busy_cut else "dark" if p["bg_mean"] < 0.3
            else "light" if p["bg_mean"] > 0.55 else "mid")
    return {"frame": p["frame"],
            "word_len": cut(len(p["text"]), (6, 9), ("<=5", "6-8", ">=9")),
            "font": ("mono" if re.search(r"Mono|Inconsolata|Courier", p["font"]) else
                     "bold" if heavy else "regular"),
            "size_px": cut(p["size"], (45, 65), ("<45", "45-64", ">=65")),
            "angle": cut(abs(p["angle"]), (28, 36), ("20-28", "28-36", "36-45")),
            "angle_sign": "+" if p["angle"] > 0 else "-",
            "spacing_x": cut(p["sx"], (1.6, 1.8), ("1.4-1.6", "1.6-1.8", "1.8-2.0")),
            "spacing_y": cut(p["sy"], (3.67, 4.33), ("3.0-3.7", "3.7-4.3", "4.3-5.0")),
            "opacity": cut(p["opacity"], (0.4, 0.5), ("0.3-0.4", "0.4-0.5", "0.5-0.6")),
            "colour": p["color"], "shadow": str(p["shadow"]),
            "contrast": cut(p["contrast"], (0.1, 0.2), ("<0.1", "0.1-0.2", ">=0.2")),
            "background": kind}


def _detect(img, cache):
    """detect-text's lines (polygons, readings), read from ``cache`` (a directory of JSON
    files keyed by the image's hash) when they were stored there before."""
    import hashlib

    from seamline.ops.text import TextRegion

    path = None
    if cache is not None:
        path = Path(cache) / (hashlib.sha1(img.tobytes()).hexdigest()[:16] + ".json")
        if path.exists():
            d = json.loads(path.read_text())
            return [TextRegion(np.float32(q), t, c) for q, t, c in d]
    regions = detect_text(img)
    if path is not None:
        path.write_text(json.dumps([[np.asarray(r.polygon).tolist(), r.text, float(r.score)]
                                    for r in regions]))
    return regions


def search(img, drawn=None, cache=None) -> tuple[dict, object, list]:
    regions = _detect(img, cache)
    t = time.perf_counter()
    wm = find_watermark(img, exclude=[r.polygon for r in regions],
                        texts=[r.text for r in regions])
    row = {"found": wm.found, "tiles": len(wm.polygons), "reason": wm.reason,
           "lines": len(regions), "seconds": round(time.perf_counter() - t, 2)}
    if drawn is not None and wm.found:
        m = np.zeros(drawn.shape, np.uint8)
        for p in wm.polygons:
            cv2.fillPoly(m, [np.round(p).astype(np.int32)], 1)
        row["coverage"] = round(float((m.astype(bool) & drawn).sum() / max(drawn.sum(), 1)), 3)
    return row, wm, regions


def pipeline(photo, marked, drawn, ovs) -> dict:
    """remove-text as built in: text-region PSNR (drawn pixels and line boxes grown 3 px),
    pixels changed farther than 8 px from the drawn text, QA-failed regions."""
    from seamline.api import remove_text

    region, far = region_and_far(drawn, ovs)

    def psnr(a):
        mse = float(np.mean((a[region].astype(np.float64) - photo[region]) ** 2))
        return 99.0 if mse == 0 else round(10 * np.log10(1 / mse), 2)

    t = time.perf_counter()
    r = remove_text(marked)
    rep = r.run.stage("unblend").report
    return {"psnr_input": psnr(marked), "psnr_oracle_telea": psnr(_oracle(marked, drawn)),
            "psnr_pipe": psnr(r.image),
            "far_px": int(np.count_nonzero(np.any(r.image != marked, axis=2) & far)),
            "qa_failed": len(r.qa.get("failed_regions") or []),
            "copies_inverted": rep.get("copies_inverted", 0),
            "pipe_seconds": round(time.perf_counter() - t, 1), "_image": r.image}


def _oracle(marked, drawn):
    from seamline.ops.inpaint import inpaint

    return inpaint(marked, drawn.astype(np.float32), backend="telea", radius=3)


def _table(rows, key_bins):
    per = defaultdict(lambda: [0, 0])
    for r in rows:
        for b, v in r["bins"].items():
            per[(b, v)][0] += r["found"]
            per[(b, v)][1] += 1
    lines = []
    for b in key_bins:
        cells = [f"{v} {per[(b, v)][0]}/{per[(b, v)][1]}" for (bb, v) in sorted(per) if bb == b]
        lines.append(f"  {b:11s} " + "   ".join(cells))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=80, help="tiled cases")
    ap.add_argument("--fp", action="store_true",
                    help="also the false-positive cases (train photos untouched and captioned)")
    ap.add_argument("--pipeline", action="store_true", help="remove-text on the found cases")
    ap.add_argument("--only", help="tiled case indices (comma-separated)")
    ap.add_argument("--json")
    ap.add_argument("--cache", help="directory keeping the detector's lines per image (JSON), "
                                    "so a rerun of the search alone skips the detector")
    ap.add_argument("--save", help="directory for the tiled inputs (and outputs with --pipeline)")
    a = ap.parse_args(argv)
    bgs = backgrounds("train")
    fonts = [f for f in ov.font_paths("train") if not Path(f).name.startswith("DSEG")]
    busy_cut = float(np.percentile([busyness(cover(b, FRAMES[0])) for _, b in bgs], 67))
    only = None if a.only is None else {int(v) for v in a.only.split(",")}
    rows = []
    save = Path(a.save) if a.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    if a.cache:
        Path(a.cache).mkdir(parents=True, exist_ok=True)
    for k in range(a.n):
        if only is not None and k not in only:
            continue
        img, photo, drawn, ovs, p = draw_case(k, bgs, fonts)
        row, wm, _ = search(img, drawn, a.cache)
        r = {"kind": "tiled", **p, **row, "bins": bins(p, busy_cut)}
        if a.pipeline and wm.found:
            q = pipeline(photo, img, drawn, ovs)
            out = q.pop("_image")
            r.update(q)
            if save:
                cv2.imwrite(str(save / f"{k:03d}_out.png"),
                            cv2.cvtColor((out * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR))
        if save:
            cv2.imwrite(str(save / f"{k:03d}_in.png"),
                        cv2.cvtColor((img * 255 + 0.5).astype(np.uint8), cv2.COLOR_RGB2BGR))
        rows.append(r)
        print(json.dumps({x: v for x, v in r.items() if x != "bins"}), flush=True)
    if a.fp:
        for i, (name, bg) in enumerate(bgs):
            for j, hw in enumerate(FRAMES):
                photo = cover(bg, hw)
                style = ORDINARY[(2 * i + j) % len(ORDINARY)]
                rng = np.random.default_rng([37, i, j])
                drawn_ovs = ov.sample_overlays(rng, style, hw, fonts)
                capt = np.ascontiguousarray(ov.render(photo, drawn_ovs)[0], np.float32)
                for kind, im in (("untouched", photo), (f"caption:{style}", capt)):
                    row, _, _ = search(im, cache=a.cache)
                    r = {"kind": kind.split(":")[0], "style": style if im is capt else None,
                         "photo": name, "frame": f"{hw[1]}x{hw[0]}", **row}
                    rows.append(r)
                    print(json.dumps(r), flush=True)
    tiled = [r for r in rows if r["kind"] == "tiled"]
    if tiled:
        print(f"tiled: found {sum(r['found'] for r in tiled)}/{len(tiled)}, coverage >= 0.95: "
              f"{sum(r.get('coverage', 0) >= 0.95 for r in tiled)}")
        print(_table(tiled, list(tiled[0]["bins"])))
    for kind in ("untouched", "caption"):
        k = [r for r in rows if r["kind"] == kind]
        if k:
            fp = [f"{r['photo']}@{r['frame']}" + (f" ({r['style']})" if r.get("style") else "")
                  for r in k if r["found"]]
            print(f"{kind}: found {len(fp)}/{len(k)} {fp}")
    q = [r for r in tiled if "psnr_pipe" in r]
    if q:
        def m(key):
            return float(np.mean([r[key] for r in q]))
        print(f"remove-text on the found cases ({len(q)}): PSNR text input {m('psnr_input'):.2f}, "
              f"oracle-telea {m('psnr_oracle_telea'):.2f}, seamline {m('psnr_pipe'):.2f} dB; "
              f"changed > 8 px from the text {m('far_px'):.0f} px; QA-failed {m('qa_failed'):.2f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
