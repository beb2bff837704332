"""Text removal over strong oriented structure (TRAIN split): the fill loop on stripes.

The analogue of the held-out full configuration's hard-shadow title over a motion-blurred
guardrail, where the fill broke the rail's bright stripes into blotches and the loop refilled
four times without getting better. Nothing here reads a held-out photo: the backgrounds are
procedural (:func:`seamline.testing.backgrounds.guardrail`: bright and dark bands of a
railing, motion-blurred along their direction with a line kernel) and train photos with
lines (``procedural:stripes*``, scikit-image's ``camera``, ``brick`` and
``stereo_motorcycle``); fonts are
``overlays.font_paths("train")``.

Cases (ids ``rail<k>``, ``photo<k>``): a bold ``shadow_hard`` title, and ``shadow_blur`` and
``outline`` titles, drawn by :func:`seamline.testing.overlays.sample_overlays` at 1024x768
and placed over the structure. Per case the whole ``remove-text`` pipeline runs; columns:

* psnr    -- its result in the text region (drawn pixels and line boxes grown 3 px, as the
             held-out benchmark measures), against the clean background; ``oracle`` = Telea
             (radius 3) on the exact drawn mask;
* far     -- pixels changed farther than 8 px from the drawn text;
* ghost   -- words of the drawn lines the ghost judge still sees (the benchmark's count);
* qa      -- regions the pipeline's QA names as failed;
* passes  -- the fill loop's fills per region (its report), with their backends;
* cpu     -- process CPU seconds of the pipeline call (``time.process_time``).

Usage (each tree first on PYTHONPATH; compare two runs)::

    PYTHONPATH=src python benchmarks/structure_fill_eval.py --out /tmp/after.json [--save DIR]
    python benchmarks/structure_fill_eval.py --compare /tmp/before.json /tmp/after.json
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
from _common import crop_resize_4x3, text_region  # noqa: E402  (benchmarks/ is on sys.path)
from mask_train_eval import (_lines, ghost_words, place_at_most, psnr,  # noqa: E402
                             save_picture, telea)

SIZE = (1024, 768)
#: Train photos with lines: (name, style)
PHOTOS = (("procedural:stripes0", "shadow_hard"), ("procedural:stripes1", "shadow_hard"),
          ("procedural:stripes2", "shadow_blur"), ("skimage:camera", "shadow_hard"),
          ("skimage:brick", "shadow_hard"), ("skimage:stereo_motorcycle", "outline"))
#: Guardrail cases: (angle of the rail in degrees, style)
RAILS = ((0.0, "shadow_hard"), (-8.0, "shadow_hard"), (12.0, "shadow_hard"),
         (-20.0, "shadow_hard"), (4.0, "shadow_blur"), (-5.0, "outline"))


def _over_structure(ov, photo):
    """``ov`` moved so its ink box sits where ``photo`` has the most gradient energy."""
    luma = photo.mean(-1)
    energy = cv2.Sobel(luma, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(luma, cv2.CV_32F, 0, 1) ** 2
    return place_at_most(ov, energy)


def build_cases(only=None):
    """[(id, style, background name, photo, with_text, drawn, region, lines)], deterministic."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds, guardrail

    fonts = overlays.font_paths("train")
    bold = [f for f in fonts if overlays._HEAVY.search(Path(f).name)] or fonts
    specs = [(f"rail{k}", style, f"guardrail({angle:+.0f})", angle)
             for k, (angle, style) in enumerate(RAILS)]
    specs += [(f"photo{k}", style, name, None) for k, (name, style) in enumerate(PHOTOS)]
    bgs = dict(backgrounds("train")) if any(s[3] is None for s in specs) else {}
    out = []
    for i, (cid, style, name, angle) in enumerate(specs):
        if only and cid not in only:
            continue
        rng = np.random.default_rng([20261208, i])
        photo = (crop_resize_4x3(bgs[name], SIZE) if angle is None
                 else guardrail(SIZE[::-1], int(rng.integers(1 << 30)), angle_deg=angle))
        ov = overlays.sample_overlays(rng, style, photo.shape[:2], bold)[0]
        # a title: big, bold, over the structure (the held-out case's look)
        ov = overlays._fit_size(overlays._replace(ov, size_px=int(rng.integers(56, 110))),
                                0.8 * SIZE[0], 10, int(rng.integers(56, 110)))
        ov = _over_structure(ov, photo)
        img, _, _ = overlays.render(photo, [ov])
        img = img.astype(np.float32)
        drawn = overlays.drawn_mask(photo, img)
        out.append((cid, style, name, photo, img, drawn, text_region(drawn, [ov]),
                    _lines([ov])))
    return out


def run_case(image):
    """The remove-text pipeline on ``image``: (result, filled mask, QA-failed texts, the fill
    report's regions, CPU seconds)."""
    import seamline as sl

    c0 = time.process_time()
    res = sl.remove_text(image)
    cpu = time.process_time() - c0
    failed = [f.get("text", "") for f in res.qa.get("failed_regions", [])]
    fill = res.run.stage("inpaint").report or {}
    return (np.asarray(res.image, np.float32), np.asarray(res.mask) > 0, failed,
            fill.get("regions", []), cpu)


def run(args):
    import seamline as sl

    sl.remove_text(np.full((64, 64, 3), 0.5, np.float32))  # load models and kernels first
    only = set(args.only.split(",")) if args.only else None
    save = Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    rows = []
    for cid, style, name, photo, image, drawn, region, lines in build_cases(only):
        result, filled, failed, regions, cpu = run_case(image)
        far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > 8
        seen, words, _ = ghost_words(image, result, lines, filled)
        passes = [[q["backend"] for q in r.get("passes", [])] for r in regions]
        row = {"id": cid, "style": style, "photo": name,
               "psnr": psnr(result, photo, region), "oracle": psnr(telea(image, drawn), photo,
                                                                   region),
               "far": int(np.count_nonzero(np.any(result != image, axis=2) & far)),
               "ghost": seen, "words": words, "qa_failed": failed, "passes": passes,
               "reasons": [r.get("reason", "") for r in regions], "cpu": cpu}
        rows.append(row)
        print(f"{cid:7s} {style:12s} {name:26s} psnr {row['psnr']:6.2f} (oracle "
              f"{row['oracle']:6.2f}) far {row['far']:5d} ghost {seen}/{words} "
              f"qa {len(failed)} cpu {cpu:5.2f} passes {passes}", flush=True)
        if save:
            save_picture(save / f"{cid}_{style}.png", image, photo, filled, drawn, result)
    print(summary(rows))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=1))


def summary(rows) -> str:
    n = max(len(rows), 1)
    return (f"{len(rows)} cases: psnr {sum(r['psnr'] for r in rows) / n:.2f} "
            f"(oracle {sum(r['oracle'] for r in rows) / n:.2f}) far "
            f"{sum(r['far'] for r in rows)} ghost {sum(r['ghost'] for r in rows)}/"
            f"{sum(r['words'] for r in rows)} qa_failed {sum(len(r['qa_failed']) for r in rows)} "
            f"fills {sum(len(p) for r in rows for p in r['passes'])} "
            f"cpu {sum(r['cpu'] for r in rows):.1f}")


def compare(before, after):
    a = {r["id"]: r for r in json.loads(Path(before).read_text())}
    b = {r["id"]: r for r in json.loads(Path(after).read_text())}
    for cid in a:
        if cid in b:
            x, y = a[cid], b[cid]
            print(f"{cid:7s} psnr {x['psnr']:6.2f} -> {y['psnr']:6.2f} far {x['far']} -> "
                  f"{y['far']} ghost {x['ghost']} -> {y['ghost']} qa {len(x['qa_failed'])} -> "
                  f"{len(y['qa_failed'])} cpu {x['cpu']:.2f} -> {y['cpu']:.2f}")
    print("before:", summary(list(a.values())))
    print("after: ", summary(list(b.values())))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the per-case rows (JSON) here")
    ap.add_argument("--save", help="write a picture per case into this folder")
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        compare(*args.compare)
    else:
        run(args)


if __name__ == "__main__":
    main()
