"""Peak RSS of remove-text on the TRAIN split, the way the held-out benchmark's worker sees it.

``bench_remove_text.py`` runs each method in its own process over all its cases and reports
that process's ``ru_maxrss``; this is its train stand-in (no held-out photo is opened):
every style of ``overlays.STYLES`` twice over 4:3 crops of train photos at the benchmark's
widths (``WIDTHS`` cycled: 1024, 1600, 768, 1280), train fonts, plus light-grey "PROOF"
lattices (DejaVu Sans Bold, opacity ~0.3, +-30 deg) over dark foliage (the unblend tests'
``_dark_grass``) at 1280x960, the shape of the held-out tiled case whose copies are hard.

``--build DIR`` draws the cases once (``DIR/NNN.npz`` + ``DIR/cases.json``), in its own
process so drawing does not count; ``--run DIR`` is the worker: the benchmark's warm-up,
then ``remove_text`` on each case, printing per case the peak RSS so far (``ru_maxrss``) and
the RSS now, both MB (``--only ID,ID``: those cases). ``benchmarks/rss_remove_text.py``
compares trees on one case per style and attributes peaks to stages (``--sample``); this
one is the held-out worker's shape: ~30 cases, three 1280x960 dark-foliage lattices.

Numba's compile cache counts: a tree whose kernels are not cached yet (a fresh checkout,
or a kernel file changed) compiles them in its first process. Run once to fill the cache,
then measure. Usage::

    PYTHONPATH=src python benchmarks/rss_train.py --build /tmp/rss_cases
    for i in 1 2 3; do PYTHONPATH=src python benchmarks/rss_train.py --run /tmp/rss_cases; done
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: (seed, gamma, sky, grey, opacity, angle, size px) of the dark-foliage lattices, 1280x960.
DARK_TILED = ((5, 2.6, False, 165, 0.30, 30, 60), (21, 2.8, True, 175, 0.28, -30, 64),
              (13, 2.4, False, 155, 0.33, 30, 56))


def _mb(kb: float) -> float:
    return kb / 1024


def peak_mb() -> float:
    return _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def build(out: Path, per_style: int = 2) -> None:
    import cv2

    from bench_remove_text import WIDTHS
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    sys.path.insert(0, str(HERE.parent / "tests"))
    from test_watermark_unblend import _dark_grass, _proof_lattice

    out.mkdir(parents=True, exist_ok=True)
    bgs = backgrounds("train", min_side=768)
    fonts = overlays.font_paths("train")
    cases = []

    def save(style, name, photo, img):
        cid = f"{len(cases):03d}"
        np.savez(out / f"{cid}.npz", photo=photo, with_text=img.astype(np.float32))
        cases.append({"id": cid, "style": style, "photo": name, "width": img.shape[1],
                      "height": img.shape[0]})

    k = 0
    for si, style in enumerate(overlays.STYLES):
        for j in range(per_style):
            rng = np.random.default_rng([26, si, j])
            name, photo = bgs[(si * per_style + j) * 7 % len(bgs)]  # 7: coprime with 30
            width = WIDTHS[k % len(WIDTHS)]
            k += 1
            H, W = photo.shape[:2]
            ch, cw = (H, int(H * 4 / 3)) if W * 3 >= H * 4 else (int(W * 3 / 4), W)
            y0, x0 = int(rng.integers(0, H - ch + 1)), int(rng.integers(0, W - cw + 1))
            photo = cv2.resize(photo[y0:y0 + ch, x0:x0 + cw], (width, width * 3 // 4),
                               interpolation=cv2.INTER_AREA if width < cw else cv2.INTER_CUBIC)
            photo = np.clip(photo, 0, 1).astype(np.float32)
            ovs = overlays.sample_overlays(rng, style, photo.shape[:2], fonts)
            img, _, _ = overlays.render(photo, ovs)
            save(style, name, photo, img)
    for seed, gamma, sky, grey, op, ang, size in DARK_TILED:
        photo = _dark_grass((960, 1280), seed, gamma=gamma, sky=sky, discs=25)
        ovs, _, _ = _proof_lattice(photo.shape[:2], grey, op, ang, size)
        img, _, _ = overlays.render(photo, ovs)
        save("dark_tiled", f"dark_grass:{seed}", photo, img)
    (out / "cases.json").write_text(json.dumps(cases, indent=1))
    print(f"{len(cases)} cases in {out}")


def run(case_dir: Path, only=None) -> list[dict]:
    from bench_remove_text import _run_method, _warm_up

    cases = json.loads((case_dir / "cases.json").read_text())
    if only:
        cases = [c for c in cases if c["id"] in only]
    _warm_up("seamline", None)
    print(f"warm-up  peak {peak_mb():7.1f} MB  now {rss_mb():7.1f} MB", flush=True)
    rows = []
    for c in cases:
        image = np.load(case_dir / f"{c['id']}.npz")["with_text"]
        t0 = time.perf_counter()
        _run_method("seamline", image, None)
        del image
        row = {"id": c["id"], "style": c["style"], "width": c["width"], "peak_mb": peak_mb(),
               "now_mb": rss_mb(), "seconds": time.perf_counter() - t0}
        rows.append(row)
        print(f"{c['id']} {c['style']:16s} {c['width']:5d}px  peak {row['peak_mb']:7.1f} MB  "
              f"now {row['now_mb']:7.1f} MB  {row['seconds']:.2f} s", flush=True)
    print(f"PEAK {peak_mb():.1f} MB", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", type=Path, help="draw the cases into this folder")
    ap.add_argument("--run", type=Path, help="run remove-text over this folder's cases")
    ap.add_argument("--only", help="comma-separated case ids")
    ap.add_argument("--json", type=Path, help="write the per-case rows here")
    a = ap.parse_args()
    if a.build:
        build(a.build)
    if a.run:
        rows = run(a.run, a.only.split(",") if a.only else None)
        if a.json:
            a.json.write_text(json.dumps({"peak_rss_mb": peak_mb(), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
