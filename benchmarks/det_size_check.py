"""Quality check for a smaller text-detector input (issue 10 time target), train split only.

rapidocr's detector sees a 1024x768 photo at 1024x768 (its rule: short side at least 736 px;
a 768x512 photo is *enlarged* to 1104x736). This script measures, in one run, what other
input rules cost in detection on ``backgrounds("train")`` photos with every overlay style
drawn in train fonts (1024x768 and 768x576), plus the same photos untouched:

- drawn lines found (a detected box overlaps the line's polygon by >= 30 % of the line);
- drawn words read (a detected text contains the word, case-insensitive, >= 3 characters);
- boxes on the untouched photos (false detections);
- CPU seconds of ``detect_text``.

Usage::

    python benchmarks/det_size_check.py [--per-style 2] [--rules min:736,max:960,max:800]

Writes ``benchmarks/results/det_size_check.txt``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import train_style_cases  # noqa: E402

HERE = Path(__file__).resolve().parent
SIZES = ((1024, 768), (768, 576))


@contextlib.contextmanager
def rule(limit_type: str, side: int):
    from seamline.ops.text import get_engine

    det = get_engine().text_det
    saved = det.limit_type, det.limit_side_len
    det.limit_type, det.limit_side_len = limit_type, side
    try:
        yield
    finally:
        det.limit_type, det.limit_side_len = saved


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-style", type=int, default=2)
    ap.add_argument("--rules", default="min:736,max:960,max:800")
    a = ap.parse_args()
    rules = [(r.split(":")[0], int(r.split(":")[1])) for r in a.rules.split(",")]
    from seamline.ops.text import detect_text
    from seamline.testing import overlays

    fonts = overlays.font_paths("train")
    stats = {r: {"lines": 0, "words": 0, "false": 0, "cpu": 0.0} for r in rules}
    per_style = {}
    n_lines = n_words = 0
    load0 = os.getloadavg()[0]
    k = 0
    detect_text(np.zeros((64, 64, 3), np.float32))
    for style, name, p, rng in train_style_cases(a.per_style, SIZES, 41):
        H, W = p.shape[:2]
        k += 1
        ovs = overlays.sample_overlays(rng, style, p.shape[:2], fonts)
        text = overlays.render(p, ovs)[0].astype(np.float32)
        lines = []
        for ov in ovs:
            texts = [t for t in ov.text.split("\n") if t.strip()]
            for poly, t in zip(overlays.line_polygons(ov), texts):
                m = np.zeros((H, W), np.uint8)
                cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
                if m.sum() >= 20:
                    lines.append((m, [w_ for w_ in t.split() if len(w_) >= 3]))
        n_lines += len(lines)
        n_words += sum(len(ws) for _, ws in lines)
        for r in rules:
            with rule(*r):
                c0 = time.process_time()
                found = detect_text(text)
                stats[r]["cpu"] += time.process_time() - c0
                c0 = time.process_time()
                stats[r]["false"] += len(detect_text(p))
                stats[r]["cpu"] += time.process_time() - c0
            boxes = np.zeros((H, W), np.uint8)
            for f in found:
                cv2.fillPoly(boxes, [np.round(f.polygon).astype(np.int32)], 1)
            read = " ".join(f.text.upper() for f in found)
            nl = sum(int((m & boxes).sum() >= 0.3 * m.sum()) for m, _ in lines)
            nw = sum(w_.upper() in read for _, ws in lines for w_ in ws)
            stats[r]["lines"] += nl
            stats[r]["words"] += nw
            ps = per_style.setdefault(style, {})
            ps[r] = (ps.get(r, (0, 0))[0] + nl, ps.get(r, (0, 0))[1] + nw)
        print(style, name, {f"{t}:{s}": per_style[style][(t, s)] for t, s in rules},
              file=sys.stderr, flush=True)
    out = [f"det_size_check: train split, {k} cases ({a.per_style} per style; "
           f"{' and '.join(f'{w}x{h}' for w, h in SIZES)}) + the same photos untouched; "
           f"load average {load0:.1f} before / {os.getloadavg()[0]:.1f} after",
           f"{'detector input rule':24s}{'lines found':>14s}{'words read':>14s}"
           f"{'false boxes':>14s}{'CPU s':>10s}"]
    for r in rules:
        s = stats[r]
        out.append(f"{r[0] + ' side ' + str(r[1]):24s}{s['lines']:>8d}/{n_lines:<5d}"
                   f"{s['words']:>8d}/{n_words:<5d}{s['false']:>14d}{s['cpu']:>10.1f}")
    out.append("per style (lines found, words read): " + "; ".join(
        f"{st} " + " ".join(f"{v[0]}/{v[1]}" for v in d.values()) for st, d in per_style.items()))
    txt = "\n".join(out)
    print(txt)
    (HERE / "results" / "det_size_check.txt").write_text(txt + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
