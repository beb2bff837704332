"""Glyph-mask quality: detect_text + glyph_mask against the exact mask of synthetic text.

For each case of ``text_photo_cases(n)`` (real photos, text drawn with known coverage):

* recall    -- true text pixels (text_alpha > 0.05) covered by our mask after the
               stroke-scaled 1-3 px dilation used for inpainting;
* precision -- share of our (undilated) mask that is text (text_alpha > 0); the same for
               the filled detector boxes ("box precision");
* PSNR      -- inside the drawn text's bounding boxes, against the clean photo, after
               ``cv2.inpaint(TELEA, radius 3)`` with (a) our dilated mask, (b) the oracle mask
               text_alpha > 0, (c) naive: detector boxes filled and dilated 3 px;
* residual  -- drawn words OCR still reads after inpainting with each mask.

Results (seed 0, 20 cases, 80 items, 3 of them missed by the detector; 2026-11, rapidocr 3.10):

    recall (1 px / 2 px dilation)   0.913 / 0.948   (visible text 0.933, detected items 0.934)
    precision                       0.934           (filled detector boxes: 0.348)
    PSNR in the text boxes          ours 24.85 dB, oracle 27.64, oracle dilated like ours 25.74,
                                    naive boxes 19.25, untouched input 11.67
    drawn words OCR still reads     ours 1.5 %, oracle 0 %, naive 0.8 % (input: 94 %)
    per kind recall                 plain 0.99, rotated 0.97, outlined 0.91, shadow 0.80,
                                    watermark 0.70 (3 undetected)
    held-out seed 1                 recall 0.87, precision 0.92, PSNR ours 24.4 / oracle 26.9

Usage::

    python benchmarks/glyph_mask_eval.py [--n 20] [--seed 0] [--json out.json] [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import importlib.util
import os
import sys

import cv2
import numpy as np

if importlib.util.find_spec("seamline") is None:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from seamline.testing.synth import draw_text, text_photo_cases
from seamline.ops.text import detect_text, glyph_mask

try:
    from seamline.io import as_image, to_uint8
except ImportError:  # until the conversion module lands
    def to_uint8(image):
        return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)

    def as_image(array):
        return array.astype(np.float32) / 255.0


def dilate(mask: np.ndarray, r: int) -> np.ndarray:
    if r <= 0:
        return mask.astype(bool)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def stroke_dilation(stroke_width_px: list[float]) -> int:
    """The 1-3 px dilation the mask normaliser applies, scaled with stroke width."""
    sw = [s for s in stroke_width_px if s > 0]
    if not sw:
        return 1
    return int(np.clip(round(0.25 * float(np.median(sw))), 1, 3))


def inpaint(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = cv2.inpaint(to_uint8(image), mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return as_image(out)


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    d = (a[where] - b[where]) ** 2
    mse = float(d.mean()) if d.size else 0.0
    return 10 * np.log10(1.0 / max(mse, 1e-10))


def words_of(items) -> list[str]:
    out = []
    for it in items:
        out += [w.lower() for w in re.findall(r"[A-Za-z]{3,}", it.text)]
    return out


def words_found(image: np.ndarray, words: list[str]) -> int:
    txt = "".join(r.text for r in detect_text(image, min_score=0.5)).lower()
    txt = re.sub(r"[^a-z]", "", txt)
    return sum(w in txt for w in words)


def kind_of(it) -> str:
    if it.opacity < 1:
        return "watermark"
    if it.stroke_px:
        return "outlined"
    if it.angle_deg:
        return "rotated"
    if it.shadow_px:
        return "shadow"
    return "plain"


def evaluate(n: int = 20, seed: int = 0, save: Path | None = None, residual: bool = True) -> dict:
    cases = text_photo_cases(n, seed=seed)
    rows = []
    per_kind: dict[str, list[float]] = {}
    for c in cases:
        img, clean, alpha = c["with_text"], c["clean"], c["text_alpha"]
        t0 = time.perf_counter()
        regions = detect_text(img)
        t_det = time.perf_counter() - t0
        t0 = time.perf_counter()
        gm = glyph_mask(img, regions)
        t_gm = time.perf_counter() - t0
        ours = gm.mask > 0.5
        r = stroke_dilation(gm.stroke_width_px)
        ours_d = dilate(ours, r)
        true = alpha > 0.05
        true0 = alpha > 0
        boxes = np.zeros(alpha.shape, np.uint8)
        for reg in regions:
            cv2.fillPoly(boxes, [np.round(reg.polygon).astype(np.int32)], 1)
        boxes = boxes > 0
        # Drawn text's bounding boxes (per item) = where PSNR is measured.
        where = np.zeros(alpha.shape, bool)
        det_true = np.zeros(alpha.shape, bool)
        for it in c["items"]:
            _, a = draw_text(clean, [it])
            ys, xs = np.nonzero(a > 0)
            if ys.size == 0:
                continue
            where[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1] = True
            t_it = a > 0.05
            rec_it = (ours_d & t_it).sum() / max(t_it.sum(), 1)
            per_kind.setdefault(kind_of(it), []).append(float(rec_it))
            if (boxes & t_it).sum() > 0.3 * t_it.sum():  # detected item
                det_true |= t_it
        oracle = alpha > 0
        naive = dilate(boxes, 3)
        res = {k: inpaint(img, m) for k, m in (("ours", ours_d), ("oracle", oracle), ("naive", naive))}
        # context: the oracle with the same dilation as ours (dilation alone costs PSNR)
        psnr_oracle_dilated = psnr(inpaint(img, dilate(oracle, r)), clean, where)
        visible = true & (np.abs(img - clean).max(axis=2) > 0.04)  # text that changed the pixel
        row = {
            "name": c["name"],
            "regions": len(regions),
            "recall": float((ours_d & true).sum() / max(true.sum(), 1)),
            "recall_2px": float((dilate(ours, 2) & true).sum() / max(true.sum(), 1)),
            "recall_visible": float((ours_d & visible).sum() / max(visible.sum(), 1)),
            "recall_detected": float((ours_d & det_true).sum() / max(det_true.sum(), 1)),
            "precision": float((ours & true0).sum() / max(ours.sum(), 1)),
            "box_precision": float((boxes & true0).sum() / max(boxes.sum(), 1)),
            "psnr_input": psnr(img, clean, where),
            **{f"psnr_{k}": psnr(v, clean, where) for k, v in res.items()},
            "psnr_oracle_dilated": psnr_oracle_dilated,
            "t_detect_s": t_det,
            "t_glyph_s": t_gm,
            "dilation_px": r,
        }
        if residual:
            words = words_of(c["items"])
            row["words"] = len(words)
            row["words_read_input"] = words_found(img, words)
            for k, v in res.items():
                row[f"words_read_{k}"] = words_found(v, words)
        rows.append(row)
        print(
            f"{c['name']:<34} reg={row['regions']:2d} rec={row['recall']:.3f} recD={row['recall_detected']:.3f} "
            f"prec={row['precision']:.2f} boxP={row['box_precision']:.2f} "
            f"PSNR ours={row['psnr_ours']:.2f} oracle={row['psnr_oracle']:.2f} naive={row['psnr_naive']:.2f} "
            f"gm={1000 * t_gm:.0f}ms"
            + (f" words {row['words_read_input']}/{row['words']}->{row['words_read_ours']}" if residual else ""),
            flush=True,
        )
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            vis = np.concatenate(
                [img, np.dstack([ours_d, true, boxes]).astype(np.float32), res["ours"], res["oracle"]], axis=1
            )
            cv2.imwrite(str(save / f"{c['name']}.png"), to_uint8(vis)[..., ::-1])
    summary = {
        k: float(np.mean([r[k] for r in rows]))
        for k in rows[0]
        if k not in ("name",) and isinstance(rows[0][k], (int, float))
    }
    summary["recall_min"] = float(np.min([r["recall"] for r in rows]))
    summary["per_kind_recall"] = {k: float(np.mean(v)) for k, v in per_kind.items()}
    if residual:
        tot = sum(r["words"] for r in rows)
        for k in ("input", "ours", "oracle", "naive"):
            summary[f"words_read_{k}_frac"] = sum(r[f"words_read_{k}"] for r in rows) / max(tot, 1)
    return {"summary": summary, "cases": rows}


def timing_1024(n_items: int = 10, repeats: int = 5) -> dict:
    """glyph_mask time on a 768x1024 photo with ~10 text regions (the speed target)."""
    from seamline.testing.synth import random_text_items

    clean = text_photo_cases(7, n_items=0)[6]["clean"]  # retina crop, 768x1024
    rng = np.random.default_rng(1)
    items = random_text_items(clean.shape, rng, n=n_items, image=clean)
    img, _ = draw_text(clean, items)
    regions = detect_text(img)
    glyph_mask(img, regions)  # warm-up
    ts, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        glyph_mask(img, regions)
        ts.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return {
        "shape": list(img.shape),
        "regions": len(regions),
        "box_heights_px": [round(float(min(cv2.minAreaRect(r.polygon)[1])), 1) for r in regions],
        "glyph_mask_ms": 1000 * float(np.median(ts)),
        "glyph_mask_cpu_ms": 1000 * float(np.median(cpu)),
        "load_average": list(os.getloadavg()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--save", type=Path, default=None, help="write per-case visualisations here")
    ap.add_argument("--no-residual", action="store_true", help="skip the OCR-after-inpaint check")
    args = ap.parse_args()
    result = evaluate(args.n, args.seed, args.save, residual=not args.no_residual)
    result["timing"] = timing_1024()
    print(json.dumps({"summary": result["summary"], "timing": result["timing"]}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
