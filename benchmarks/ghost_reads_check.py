"""Check for the ghost judge's third read (issue 10, the loop's cost): does it change a verdict?

The ghost judge reads every original text line three times: as is, CLAHE-boosted and
high-passed (:func:`seamline.ops.text.ghost.judge_regions`, ``high_pass``); each read is an
OCR recogniser pass (~0.1 s of CPU on a 1024 px line). This script judges the same images
with and without the high-pass read in one run, on the **train split** only
(``backgrounds("train")`` photos, train fonts, every overlay style, 1024x768 and 768x576),
under four conditions:

- ``text``: the image with its text (nothing removed): every line should be flagged;
- ``ghost30`` / ``ghost15``: the clean photo plus 30 % / 15 % of what the text drew (a
  faint remnant of a poor removal): what a sensitive judge should still flag;
- ``clean``: the clean photo (a perfect removal): nothing should be flagged;

and reports the regions flagged each way, the verdicts that change and the CPU seconds.

Usage::

    python benchmarks/ghost_reads_check.py [--per-style 1]

Writes ``benchmarks/results/ghost_reads_check.{txt,json}``.
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
from _common import REMNANT_CONDITIONS as CONDITIONS  # noqa: E402
from _common import remnant_images, train_style_cases  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = ((1024, 768), (768, 576))
WAYS = {"three reads": True, "no high-pass": False}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=1)
    a = ap.parse_args()
    import seamline.ops.text as T
    from seamline.ops.text.ghost import judge_regions
    from seamline.testing import overlays

    fonts = overlays.font_paths("train")
    cpu = {w: 0.0 for w in WAYS}
    flagged = {w: {c: 0 for c in CONDITIONS} for w in WAYS}
    n_regions, changed, rows = 0, [], []
    load0 = os.getloadavg()[0]
    for style, name, p, rng in train_style_cases(a.per_style, SIZES, 41):
        text = overlays.render(p, overlays.sample_overlays(rng, style, p.shape[:2], fonts)
                               )[0].astype(np.float32)
        regions = T.detect_text(text)
        rows.append({"style": style, "photo": name, "regions": len(regions)})
        if not regions:
            continue
        n_regions += len(regions)
        drawn = overlays.drawn_mask(p, text).astype(np.float32)
        images = remnant_images(p, text)
        for c in CONDITIONS:
            got = {}
            for w, hp in WAYS.items():
                c0 = time.process_time()
                got[w] = judge_regions(text, images[c], regions, mask=drawn, high_pass=hp)
                cpu[w] += time.process_time() - c0
                flagged[w][c] += sum(v.flagged for v in got[w])
            for v3, v2 in zip(*got.values()):
                if v3.flagged != v2.flagged:
                    changed.append({"style": style, "photo": name, "condition": c,
                                    "region": v3.index, "text": v3.text,
                                    "three_reads": v3.reasons, "no_high_pass": v2.reasons})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    lines = [f"ghost_reads_check: train split, {len(rows)} cases ({a.per_style} per style, "
             f"{' and '.join(f'{w}x{h}' for w, h in SIZES)}), {n_regions} detected lines; "
             f"load average {load0:.1f} before / {os.getloadavg()[0]:.1f} after",
             "regions the ghost judge flags (three reads: as is, CLAHE, high-pass; or without "
             "the high-pass read)",
             f"{'condition':10s}" + "".join(f"{w:>16s}" for w in WAYS)]
    for c in CONDITIONS:
        lines.append(f"{c:10s}" + "".join(f"{flagged[w][c]:>16d}" for w in WAYS))
    lines.append(f"CPU seconds in judge_regions (4 conditions x {n_regions} lines): "
                 + ", ".join(f"{w} {cpu[w]:.1f}" for w in WAYS)
                 + " (time.process_time; the machine is shared)")
    lines.append(f"verdicts that change: {len(changed)}")
    lines += [f"  {d['style']:14s} {d['photo']:26s} {d['condition']:8s} region {d['region']} "
              f"{d['text']!r}: {d['three_reads']} -> {d['no_high_pass']}" for d in changed[:30]]
    out = "\n".join(lines)
    print(out)
    (HERE / "results" / "ghost_reads_check.txt").write_text(out + "\n")
    (HERE / "results" / "ghost_reads_check.json").write_text(json.dumps(
        {"cpu": cpu, "flagged": flagged, "changed": changed, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
