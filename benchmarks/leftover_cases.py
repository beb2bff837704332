"""Train-split remove-text runs kept for judging: what the cleaned image still shows (issue 10).

Draws every overlay style on **train-split** photos (``_common.train_style_cases``: scikit-image
/ matplotlib / procedural photos, train fonts; never the held-out wallpapers), plus tiled
watermarks over the scikit-image cat (where a semi-transparent "p" was seen left over), runs
``seamline.remove_text`` on each and saves, per case, the clean photo, the image with text,
the cleaned image, the final fill mask, the drawn mask, the regions and QA's verdicts, so a
judge can be tried on them without running the pipeline again
(``benchmarks/leftover_judge_check.py``).

Usage::

    python benchmarks/leftover_cases.py --out /tmp/leftover_cases [--per-style 2]

Each case is ``<out>/<id>.npz`` plus ``<out>/<id>.json``; cases already there are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import crop_resize_4x3, offline, train_style_cases  # noqa: E402

SIZE = (1024, 768)


def cases(per_style: int):
    """``(id, style, photo name, clean photo, overlays)`` on the train split."""
    from seamline.testing import overlays as ov
    from seamline.testing.backgrounds import backgrounds

    fonts = ov.font_paths("train")
    for style, name, photo, rng in train_style_cases(per_style, (SIZE,), seed=7):
        yield style, name, photo, ov.sample_overlays(rng, style, photo.shape[:2], fonts)
    cat = dict(backgrounds("train"))["skimage:chelsea"]
    cat = crop_resize_4x3(cat, SIZE)
    for seed in (1, 2, 3, 6):
        rng = np.random.default_rng([7, 99, seed])
        yield "tiled_watermark", "skimage:chelsea", cat, ov.sample_overlays(
            rng, "tiled_watermark", cat.shape[:2], fonts)


def main() -> int:
    offline()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-style", type=int, default=2)
    a = ap.parse_args()
    import seamline as sl
    from seamline.testing import overlays as ov

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    seen: dict = {}
    for style, name, photo, ovs in cases(a.per_style):
        j = seen[style] = seen.get(style, -1) + 1
        cid = f"{style}-{j}-{name.split(':')[-1]}"
        if (out / f"{cid}.json").exists():
            continue
        marked, alpha, _ = ov.render(photo, ovs)
        marked = np.ascontiguousarray(marked, np.float32)
        t0 = time.time()
        res = sl.remove_text(marked)
        wall = time.time() - t0
        fill = res.run.stage("inpaint").outputs["report"]
        qa = res.qa
        np.savez(out / f"{cid}.npz", photo=photo, marked=marked, cleaned=res.image,
                 mask=res.mask, alpha=alpha, drawn=ov.drawn_mask(photo, marked))
        meta = {"id": cid, "style": style, "photo": name, "wall_s": round(wall, 1),
                "texts": [o.text for o in ovs],
                "regions": [{"polygon": np.asarray(r.polygon).tolist(), "text": r.text}
                            for r in res.regions],
                "qa": {k: qa.get(k) for k in ("ghost_flagged", "ghost_regions", "smear_flagged",
                                              "structure_flagged", "residual_words",
                                              "residual_texts", "failed_regions",
                                              "fill_passes")},
                "verdicts": fill.get("verdicts", [])}
        (out / f"{cid}.json").write_text(json.dumps(meta, indent=1, default=str))
        print(cid, f"{wall:.1f}s", "failed", len(qa.get("failed_regions") or []), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
