"""Quality check for the QA's residual-text re-read at the detection's own scale (issue 10).

The ``qa`` stage re-reads the boxes the text was found in (:func:`seamline.stages.qa.
residual_text` -> :func:`seamline.ops.text.detect_text_in_boxes`). It used to enlarge them
to the scale of one crop spanning all boxes (short side 736 px: ~5x for one caption line of a
1024x768 photo, a detector input up to 4096 px wide); it now reads them at the scale the
whole-image detection used (1x at 1024x768). This script measures both rules in the same
run on the **train split** only (``backgrounds("train")`` photos, train fonts, every overlay
style, 1024x768 and 768x576): residual words counted on

- ``text``: the image with its text (nothing removed): every word should count;
- ``ghost30`` / ``ghost15``: the clean photo plus 30 % / 15 % of what the text drew (a
  faint remnant of a poor removal): what a sensitive re-read should still find;
- ``clean``: the clean photo (a perfect removal): nothing should count;

and the CPU seconds of each rule.

Usage::

    python benchmarks/qa_reread_check.py [--per-style 2]

Writes ``benchmarks/results/qa_reread_check.{txt,json}``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REMNANT_CONDITIONS as CONDITIONS  # noqa: E402
from _common import remnant_images, train_style_cases  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = ((1024, 768), (768, 576))


def old_scale(shape, regions, margin_px=32) -> float:
    """The rule before: the scale of one crop spanning all merged boxes (short side 736)."""
    from seamline.ops.text import merge_boxes

    boxes = [(*np.min(r.polygon, 0), *np.max(r.polygon, 0)) for r in regions]
    merged = merge_boxes(boxes, shape[:2], margin_px)
    if not merged:
        return 1.0
    span = (max(b[2] for b in merged) - min(b[0] for b in merged),
            max(b[3] for b in merged) - min(b[1] for b in merged))
    return max(1.0, 736 / min(span))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=2)
    a = ap.parse_args()
    import seamline.ops.text as T
    from seamline.stages.qa import residual_text
    from seamline.testing import overlays

    fonts = overlays.font_paths("train")
    real = T.detect_text_in_boxes
    totals = {rule: {c: [0, 0] for c in CONDITIONS} for rule in ("old", "new")}
    cpu = {"old": 0.0, "new": 0.0}
    rows = []
    load0 = os.getloadavg()[0]
    for style, name, p, rng in train_style_cases(a.per_style, SIZES, 31):
        H, W = p.shape[:2]
        text = overlays.render(p, overlays.sample_overlays(rng, style, p.shape[:2], fonts)
                               )[0].astype(np.float32)
        regions = T.detect_text(text)
        if not regions:
            rows.append({"style": style, "photo": name, "size": [W, H], "regions": 0})
            continue
        drawn = overlays.drawn_mask(p, text)
        mask = cv2.dilate(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
        images = remnant_images(p, text)
        row = {"style": style, "photo": name, "size": [W, H], "regions": len(regions),
               "old_scale": round(old_scale(text.shape, regions), 2)}
        for rule in ("old", "new"):
            sc = row["old_scale"] if rule == "old" else None
            T.detect_text_in_boxes = functools.partial(real, scale=sc)
            try:
                for c in CONDITIONS:
                    c0 = time.process_time()
                    r = residual_text(images[c], mask, regions)
                    cpu[rule] += time.process_time() - c0
                    row[f"{rule}_{c}"] = r["residual_words"]
                    totals[rule][c][0] += r["residual_words"]
                    totals[rule][c][1] += r["words_before"]
            finally:
                T.detect_text_in_boxes = real
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    lines = [f"qa_reread_check: train split, {len(rows)} cases ({a.per_style} per style, "
             f"{' and '.join(f'{w}x{h}' for w, h in SIZES)}); load average {load0:.1f} before / "
             f"{os.getloadavg()[0]:.1f} after",
             "residual words counted / words before (old: boxes enlarged to one spanning crop's "
             "736 px short side; new: the whole-image detection's scale)",
             f"{'condition':10s}{'old':>16s}{'new':>16s}"]
    for c in CONDITIONS:
        o, n = totals["old"][c], totals["new"][c]
        lines.append(f"{c:10s}{o[0]:>8d}/{o[1]:<7d}{n[0]:>8d}/{n[1]:<7d}")
    lines.append(f"CPU seconds in residual_text (4 conditions x {len(rows)} cases): old "
                 f"{cpu['old']:.1f}, new {cpu['new']:.1f}")
    diff = [r for r in rows if r.get("regions") and any(r[f"old_{c}"] != r[f"new_{c}"]
                                                         for c in CONDITIONS)]
    lines.append(f"cases where a count differs: {len(diff)}")
    lines += [f"  {r['style']:16s} {r['photo']:28s} " + " ".join(
        f"{c} {r[f'old_{c}']}->{r[f'new_{c}']}" for c in CONDITIONS) for r in diff]
    text = "\n".join(lines)
    print(text)
    (HERE / "results" / "qa_reread_check.txt").write_text(text + "\n")
    (HERE / "results" / "qa_reread_check.json").write_text(json.dumps(
        {"totals": totals, "cpu": cpu, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
