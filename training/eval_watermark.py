"""Tiled-watermark search on the train split: found rate and false positives.

Tuning data only (``seamline.testing.backgrounds("train")``, train fonts): never the held-out
wallpapers. For every train photo (long side 768-1280 px):

* ``tiled``: a "tiled_watermark" overlay drawn on it -> should be found;
* ``untouched``: the photo as it is -> must not be found;
* ``captions``: ordinary captions drawn on it (one of plain, outline, meme, subtitle,
  multiline, shadow_hard, cycling) -> must not be found: a line of repeated capitals has
  letter-to-letter periodicity, and a few stacked lines look like rows;
* ``text_photo_cases``: ``seamline.testing.synth.text_photo_cases`` (photos with 4 text items
  each), as they are and resized to 768x512 as bench_serve sends them -> must not be found.

Detection runs like detect-text's: the detector's lines are handed to the search as
``exclude``. Prints one line per case and a summary; ``--json`` writes the rows.

``--pipeline``: on the tiled cases found, the whole ``remove-text`` pipeline with the
``unblend-watermark`` stage off (``unblend.enabled=False``: the tiles masked and filled) and on,
in the same run.

Usage: ``python training/eval_watermark.py [--n 30] [--json out.json] [--quality]
[--pipeline --tiled-only --skip-cases]``
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np

from seamline.ops.text.detect import detect_text
from seamline.ops.text.watermark_lines import find_watermark
from seamline.testing import overlays as ov
from seamline.testing.backgrounds import backgrounds
from seamline.testing.synth import text_photo_cases

CAPTIONS = ("plain", "outline", "meme", "subtitle", "multiline", "shadow_hard")


def _fit(img, lo=768, hi=1280):
    h, w = img.shape[:2]
    f = min(max(1.0, lo / max(h, w)), hi / max(h, w))
    if f != 1.0:
        img = cv2.resize(img, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA
                         if f < 1 else cv2.INTER_CUBIC)
    return np.ascontiguousarray(img, np.float32)


def _run(img, drawn=None, use_exclude=True, use_texts=True):
    regions = detect_text(img) if use_exclude else []  # read, as detect-text does
    t = time.perf_counter()
    wm = find_watermark(img, exclude=[r.polygon for r in regions],
                        texts=[r.text for r in regions] if use_texts else ())
    row = {"found": wm.found, "tiles": len(wm.polygons), "reason": wm.reason,
           "seconds": round(time.perf_counter() - t, 3)}
    if drawn is not None and wm.found:
        m = np.zeros(drawn.shape, np.uint8)
        for p in wm.polygons:
            cv2.fillPoly(m, [np.round(p).astype(np.int32)], 1)
        row["coverage"] = round(float((m.astype(bool) & drawn).sum() / max(drawn.sum(), 1)), 3)
    return row, wm, regions


def _psnr(a, b, where) -> float:
    mse = float(np.mean((a[where].astype(np.float64) - b[where]) ** 2))
    return 99.0 if mse == 0 else round(10 * np.log10(1 / mse), 2)


def _recall_precision(mask, drawn):
    tp = float((mask & drawn).sum())
    return round(tp / max(float(drawn.sum()), 1), 3), round(tp / max(float(mask.sum()), 1), 3)



def region_and_far(drawn, ovs):
    """(the text region PSNR is measured in: the drawn pixels and the lines' polygons grown
    3 px, pixels farther than 8 px from the drawn text), both (H, W) bool."""
    region = drawn.astype(np.uint8)
    for o in ovs:
        for q in ov.line_polygons(o):
            cv2.fillPoly(region, [np.round(q).astype(np.int32)], 1)
    region = cv2.dilate(region, np.ones((7, 7), np.uint8)) > 0
    far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
    return region, far

def _quality(photo, marked, drawn, ovs, wm, regions) -> dict:
    """Text-region PSNR (the benchmark's region: drawn pixels and line boxes, grown 3 px) of
    the input, the oracle (drawn mask + Telea), the mask the pipeline builds on the lines and
    tiles (text-mask, combined) + Telea, and the blend inverted (ops.text.unblend); mask
    recall/precision against the drawn pixels."""
    from seamline.ops.inpaint import inpaint
    from seamline.ops.text import TextRegion
    from seamline.ops.text.unblend import unblend_tiles
    from seamline.stages.text_mask import TextMask

    region, far = region_and_far(drawn, ovs)
    row = {"psnr_input": _psnr(marked, photo, region),
           "psnr_oracle_telea": _psnr(inpaint(marked, drawn.astype(np.float32),
                                              backend="telea", radius=3), photo, region)}
    if not wm.found:
        return row
    regs = list(regions) + [TextRegion(p, "", 0.9) for p in wm.polygons]
    mk = TextMask().run(None, marked, regs).outputs["mask"] >= 0.5
    row["mask_recall"], row["mask_precision"] = _recall_precision(mk, drawn)
    row["psnr_mask_telea"] = _psnr(inpaint(marked, mk.astype(np.float32), backend="telea",
                                           radius=3), photo, region)
    t = time.perf_counter()
    ub = unblend_tiles(marked, wm.polygons, wm.lattice_px, wm.angle_deg)
    row["unblend_seconds"] = round(time.perf_counter() - t, 2)
    row["unblend_recall"], row["unblend_precision"] = _recall_precision(ub.alpha > 0, drawn)
    row["psnr_unblend"] = _psnr(ub.image, photo, region)
    row["unblend_far_px"] = int(np.count_nonzero(np.any(ub.image != marked, axis=2) & far))
    return row


def _pipeline(photo, marked, drawn, ovs) -> dict:
    """The built-in remove-text pipeline with the unblend-watermark stage off (the tiles
    masked and filled) and on, in one run: text-region PSNR, pixels changed farther than
    8 px from the drawn text, pixels changed outside the output mask (must be 0), seconds."""
    from seamline.api import remove_text

    region, far = region_and_far(drawn, ovs)
    row = {}
    for tag, on in (("unblend", True), ("fill", False)):
        t = time.perf_counter()
        r = remove_text(marked, **{"unblend.enabled": on})
        changed = np.any(r.image != marked, axis=2)
        rep = r.run.stage("unblend").report
        row.update({f"pipe_{tag}_psnr": _psnr(r.image, photo, region),
                    f"pipe_{tag}_far_px": int(np.count_nonzero(changed & far)),
                    f"pipe_{tag}_outside_mask_px": int(np.count_nonzero(changed & (r.mask <= 0))),
                    f"pipe_{tag}_qa_failed": len(r.qa.get("failed_regions") or []),
                    f"pipe_{tag}_seconds": round(time.perf_counter() - t, 1)})
        if on:
            row["pipe_unblend_copies"] = [rep.get("copies_inverted", 0), rep.get("copies_filled", 0)]
            if not rep.get("done"):  # passed through: switched off it is the same pipeline
                row.update({k.replace("_unblend_", "_fill_"): v for k, v in row.items()
                            if k.startswith("pipe_unblend_") and k != "pipe_unblend_copies"})
                break
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30, help="train photos")
    ap.add_argument("--cases", type=int, default=16, help="text_photo_cases")
    ap.add_argument("--json")
    ap.add_argument("--quality", action="store_true",
                    help="on found tiled cases also: mask recall/precision, text-region PSNR of "
                         "mask + Telea and of the blend inverted (slower)")
    ap.add_argument("--pipeline", action="store_true",
                    help="on found tiled cases also: the whole remove-text pipeline with the "
                         "unblend-watermark stage off and on, in one run (slow)")
    ap.add_argument("--tiled-only", action="store_true",
                    help="tiled cases only (no untouched or captioned photos)")
    ap.add_argument("--only", help="train photo indices to run (comma-separated)")
    ap.add_argument("--skip-cases", action="store_true", help="no text_photo_cases")
    ap.add_argument("--no-texts", action="store_true",
                    help="do not hand the detector's readings to the search (periodicity only)")
    ap.add_argument("--no-exclude", action="store_true",
                    help="do not hand the detector's lines to the search (the old behaviour)")
    a = ap.parse_args(argv)
    fonts = ov.font_paths("train")
    rows = []
    only = None if a.only is None else {int(v) for v in a.only.split(",")}
    for i, (name, bg) in enumerate(backgrounds("train")[:a.n]):
        if only is not None and i not in only:
            continue
        img = _fit(bg)
        rng = np.random.default_rng([7, i])
        kinds = (("tiled", "tiled_watermark"), ("untouched", None),
                 ("captions", CAPTIONS[i % len(CAPTIONS)]))
        for kind, style in kinds[:1] if a.tiled_only else kinds:
            if style is None:
                out, drawn = img, None
            else:
                ovs = ov.sample_overlays(rng, style, img.shape[:2], fonts)
                out, _, _ = ov.render(img, ovs)
                out = np.ascontiguousarray(out, np.float32)
                drawn = ov.drawn_mask(img, out) if kind == "tiled" else None
            row, wm, regions = _run(out, drawn, not a.no_exclude, not a.no_texts)
            r = {"photo": name, "kind": kind, "style": style, **row}
            if kind == "tiled" and a.quality:
                r.update(_quality(img, out, drawn, ovs, wm, regions))
            if kind == "tiled" and a.pipeline and wm.found:
                r.update(_pipeline(img, out, drawn, ovs))
            rows.append(r)
            print(json.dumps(r), flush=True)
    for c in ([] if a.skip_cases else text_photo_cases(a.cases, seed=0)):
        img = np.ascontiguousarray(c["with_text"], np.float32)
        # as they are, and at 768x512 as bench_serve sends them
        for kind, im in (("text_photo_cases", img), ("text_photo_cases_768",
                         cv2.resize(img, (768, 512), interpolation=cv2.INTER_AREA))):
            r = {"photo": c["name"], "kind": kind, "style": None,
                 **_run(im, None, not a.no_exclude, not a.no_texts)[0]}
            rows.append(r)
            print(json.dumps(r), flush=True)
    for kind in ("tiled", "untouched", "captions", "text_photo_cases", "text_photo_cases_768"):
        k = [r for r in rows if r["kind"] == kind]
        f = sum(r["found"] for r in k)
        cov = [r.get("coverage", 0) for r in k if r["found"]]
        extra = f", coverage >= 0.95: {sum(c >= 0.95 for c in cov)}" if kind == "tiled" else ""
        print(f"{kind}: found {f}/{len(k)}{extra}")
    q = [r for r in rows if r["kind"] == "tiled" and "psnr_unblend" in r]
    if q:
        def mean(key):
            return float(np.mean([r[key] for r in q]))
        print(f"found tiled cases ({len(q)}): PSNR text input {mean('psnr_input'):.2f}, "
              f"oracle-telea {mean('psnr_oracle_telea'):.2f}, mask+telea "
              f"{mean('psnr_mask_telea'):.2f}, unblend {mean('psnr_unblend'):.2f} dB; mask "
              f"recall {mean('mask_recall'):.3f} precision {mean('mask_precision'):.3f}; "
              f"unblend support recall {mean('unblend_recall'):.3f} precision "
              f"{mean('unblend_precision'):.3f}, changed > 8 px {mean('unblend_far_px'):.0f} px")
    p = [r for r in rows if "pipe_unblend_psnr" in r]
    if p:
        def pm(key):
            return float(np.mean([r[key] for r in p]))
        print(f"remove-text on the found tiled cases ({len(p)}), unblend off -> on: PSNR text "
              f"{pm('pipe_fill_psnr'):.2f} -> {pm('pipe_unblend_psnr'):.2f} dB, px changed > 8 "
              f"px from the text {pm('pipe_fill_far_px'):.0f} -> {pm('pipe_unblend_far_px'):.0f}, "
              f"outside the output mask {pm('pipe_fill_outside_mask_px'):.0f} -> "
              f"{pm('pipe_unblend_outside_mask_px'):.0f}, QA-failed regions "
              f"{pm('pipe_fill_qa_failed'):.2f} -> {pm('pipe_unblend_qa_failed'):.2f}, seconds "
              f"{pm('pipe_fill_seconds'):.1f} -> {pm('pipe_unblend_seconds'):.1f}")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(rows, fh, indent=1)


if __name__ == "__main__":
    main()
