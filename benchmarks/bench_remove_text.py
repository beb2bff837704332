"""Benchmark: seamline remove-text vs the naive peer and the oracle, side by side in one run.

Cases: real photos bundled with scikit-image with text drawn on them (captions, titles,
semi-transparent watermarks, outlined and rotated text), and their clean originals
(:func:`seamline.testing.synth.text_photo_cases`).

Methods
-------
seamline  the built-in ``remove-text`` pipeline end to end (detect, glyph mask, normalise,
          preflight, Telea inpaint, QA with an OCR re-run)
naive     the usual recipe: OCR boxes filled, dilated 3 px, ``cv2.inpaint`` Telea (radius 3)
oracle    ``cv2.inpaint`` Telea (radius 3) given the exact drawn-text pixel mask

Each method runs in its own process, so peak RSS is per method. Metrics per case: PSNR inside
the text region (union of the drawn strings' bounding boxes) against the clean photo, residual
text (drawn words an OCR pass still reads / drawn words), pixels changed farther than 8 px from
any drawn text, time. Writes ``benchmarks/results/remove_text.{json,md}`` and a grid of crops
``remove_text_grid.png``.

Usage: ``python benchmarks/bench_remove_text.py [--cases 20] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
METHODS = ("seamline", "naive", "oracle")


def text_boxes_mask(case: dict) -> np.ndarray:
    """Union of the axis-aligned boxes around each drawn string: the 'text region'."""
    from seamline.testing.synth import draw_text

    region = np.zeros(case["clean"].shape[:2], bool)
    for item in case["items"]:
        _, a = draw_text(case["clean"], [item])
        ys, xs = np.nonzero(a > 0)
        if len(ys):
            region[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    return region


def telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from seamline.ops.inpaint import inpaint

    return inpaint(image, mask.astype(np.float32), backend="telea", radius=3)


def run_method(method: str, image: np.ndarray, case: dict) -> tuple[np.ndarray, np.ndarray]:
    """Returns (result image, mask used)."""
    if method == "seamline":
        import seamline as sl

        res = sl.remove_text(image)
        return res.image, res.mask
    if method == "oracle":
        mask = case["text_alpha"] > 0
        return telea(image, mask), mask.astype(np.float32)
    from seamline.ops.text import detect_text

    mask = np.zeros(image.shape[:2], np.uint8)
    for r in detect_text(image):
        cv2.fillPoly(mask, [np.round(r.polygon).astype(np.int32)], 1)
    mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    return telea(image, mask > 0), mask.astype(np.float32)


def residual_words(image: np.ndarray, words: list[str]) -> int:
    from seamline.ops.text import detect_text

    found = " ".join(r.text for r in detect_text(image)).upper()
    return sum(1 for w in words if w.upper() in found)


def worker(method: str, n_cases: int, repeats: int, out_json: Path, out_npz: Path) -> None:
    from seamline.ops.metrics import psnr
    from seamline.testing.synth import text_photo_cases
    from seamline.ops.text import get_engine

    cases = text_photo_cases(n_cases, seed=0)
    get_engine()  # model load is start-up cost, not per-image time
    rows, crops = [], {}
    for i, case in enumerate(cases):
        image = case["with_text"]
        words = [w for it in case["items"] for w in it.text.split()]
        times = []
        for _ in range(repeats if case["clean"].shape[:2] == (768, 1024) else 1):
            t0 = time.perf_counter()
            result, mask = run_method(method, image, case)
            times.append(time.perf_counter() - t0)
        region = text_boxes_mask(case)
        far = cv2.distanceTransform((case["text_alpha"] == 0).astype(np.uint8), cv2.DIST_L2, 5) > 8
        changed_far = int(np.count_nonzero(np.any(result != image, axis=2) & far))
        rows.append({
            "case": case["name"], "height": image.shape[0], "width": image.shape[1],
            "psnr_text": psnr(result, case["clean"], region),
            "psnr_text_input": psnr(image, case["clean"], region),
            "words": len(words), "residual_words": residual_words(result, words),
            "changed_far_px": changed_far,
            "mask_px": int(np.count_nonzero(mask > 0)),
            "true_text_px": int(np.count_nonzero(case["text_alpha"] > 0)),
            "seconds": float(np.median(times)), "seconds_all": times,
        })
        if i < 4:
            crops[f"{i}"] = np.round(result * 255).astype(np.uint8)
            crops[f"{i}_input"] = np.round(image * 255).astype(np.uint8)
            crops[f"{i}_clean"] = np.round(case["clean"] * 255).astype(np.uint8)
        print(f"  {method:9s} {case['name']:28s} psnr {rows[-1]['psnr_text']:6.2f} dB  "
              f"residual {rows[-1]['residual_words']}/{len(words)}  "
              f"{rows[-1]['seconds']:.3f} s", file=sys.stderr, flush=True)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out_json.write_text(json.dumps({"method": method, "peak_rss_mb": peak_mb, "rows": rows}))
    np.savez_compressed(out_npz, **crops)


def summarise(results: dict) -> dict:
    summary = {}
    for method, res in results.items():
        rows = res["rows"]
        words = sum(r["words"] for r in rows)
        big = [r["seconds"] for r in rows if (r["height"], r["width"]) == (768, 1024)]
        big_all = [t for r in rows if (r["height"], r["width"]) == (768, 1024)
                   for t in r["seconds_all"]]
        summary[method] = {
            "cases": len(rows),
            "psnr_text_mean": float(np.mean([r["psnr_text"] for r in rows])),
            "psnr_text_median": float(np.median([r["psnr_text"] for r in rows])),
            "residual_text_ratio": sum(r["residual_words"] for r in rows) / max(words, 1),
            "changed_far_px_total": int(sum(r["changed_far_px"] for r in rows)),
            "mask_px_over_true_text_px": float(sum(r["mask_px"] for r in rows)
                                               / max(sum(r["true_text_px"] for r in rows), 1)),
            "seconds_median": float(np.median([r["seconds"] for r in rows])),
            "seconds_1024x768_median": float(np.median(big_all)) if big_all else None,
            "peak_rss_mb": res["peak_rss_mb"],
        }
    o = summary["oracle"]["psnr_text_mean"]
    for method in summary:
        summary[method]["psnr_vs_oracle_db"] = summary[method]["psnr_text_mean"] - o
    summary["input_psnr_text_mean"] = float(np.mean([r["psnr_text_input"]
                                                     for r in results["oracle"]["rows"]]))
    return summary


def markdown(summary: dict, n_cases: int) -> str:
    lines = [f"Remove-text benchmark, {n_cases} photos with drawn text "
             f"(input PSNR in the text region: {summary['input_psnr_text_mean']:.2f} dB).", "",
             "| method | PSNR in text region (dB) | vs oracle (dB) | residual text | "
             "changed px > 8 px from text | mask px / true text px | median s/image | "
             "1024×768 median s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for m in METHODS:
        s = summary[m]
        big = f"{s['seconds_1024x768_median']:.3f}" if s["seconds_1024x768_median"] else "-"
        lines.append(f"| {m} | {s['psnr_text_mean']:.2f} | {s['psnr_vs_oracle_db']:+.2f} | "
                     f"{100 * s['residual_text_ratio']:.1f}% | {s['changed_far_px_total']} | "
                     f"{s['mask_px_over_true_text_px']:.2f} | {s['seconds_median']:.3f} | {big} | "
                     f"{s['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


def grid(npz: dict[str, dict], path: Path) -> None:
    """Rows: cases; columns: input, naive, seamline, oracle, clean (crops of 256x256)."""
    rows = []
    for i in range(4):
        key = str(i)
        if key not in npz["seamline"]:
            break
        inp = npz["seamline"][f"{i}_input"]
        h, w = inp.shape[:2]
        y0, x0 = max(0, h // 2 - 128), max(0, w // 2 - 192)
        cols = [inp] + [npz[m][key] for m in ("naive", "seamline", "oracle")] + \
            [npz["seamline"][f"{i}_clean"]]
        tiles = [c[y0:y0 + 256, x0:x0 + 384] for c in cols]
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255)
                                    for t in tiles], axis=1))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    img = np.concatenate(rows, axis=0)
    header = np.full((28, img.shape[1], 3), 255, np.uint8)
    for j, label in enumerate(("input", "naive (boxes)", "seamline", "oracle", "clean")):
        cv2.putText(header, label, (10 + j * 388, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate([header, img]), cv2.COLOR_RGB2BGR))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5, help="timing repeats on 1024x768 cases")
    ap.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--out-json", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out-npz", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.cases, args.repeats, args.out_json, args.out_npz)
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    results, npz = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for m in METHODS:
            print(f"running {m} on {args.cases} cases ...", file=sys.stderr, flush=True)
            j, z = Path(tmp) / f"{m}.json", Path(tmp) / f"{m}.npz"
            subprocess.run([sys.executable, __file__, "--worker", m, "--cases", str(args.cases),
                            "--repeats", str(args.repeats), "--out-json", str(j),
                            "--out-npz", str(z)], check=True, env=dict(os.environ))
            results[m] = json.loads(j.read_text())
            npz[m] = dict(np.load(z))
    summary = summarise(results)
    (RESULTS / "remove_text.json").write_text(json.dumps(
        {"summary": summary, "results": results,
         "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}}, indent=1))
    md = markdown(summary, args.cases)
    (RESULTS / "remove_text.md").write_text(md)
    grid(npz, RESULTS / "remove_text_grid.png")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
