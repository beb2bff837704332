"""Where remove-text spends its time on a fax page (issue 14 item 8): CPU s per stage and probe.

The page is ``bench_memory.py``'s: 3307x4677, 1-bit, CCITT group 4, 60 lines of text. One
``seamline.remove_text(path)`` in this process (the file is read as the command line reads
it), with the probes of ``profile_remove_text.py`` (every stage's ``run``, the OCR engine's
calls, the glyph mask, the segmenter, the fill, the ghost judge, ...) and, with
``--cprofile``, the top functions by cumulative and own time. A warm-up on a small page loads
the models first. CPU seconds (``time.process_time``, every thread) are what to compare on
the shared machine.

Usage: ``python benchmarks/profile_fax_page.py [--cprofile] [--out DIR] [--save NAME]``;
``--out`` keeps the run directory (manifest, intermediates) for a look at the result.
Writes ``benchmarks/results/NAME.txt`` with ``--save``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_memory import CACHE, make_fax  # noqa: E402
from profile_remove_text import Clock, install_probes  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--out", type=Path, help="run directory to keep")
    ap.add_argument("--save", help="results file stem under benchmarks/results/")
    a = ap.parse_args()
    import numpy as np

    import seamline as sl

    folder = CACHE / "memory-inputs"
    folder.mkdir(parents=True, exist_ok=True)
    fax = make_fax(folder)
    clock = Clock()
    install_probes(clock)
    warm = np.ones((600, 800, 3), np.float32)
    warm[100:140, 100:500] = 0  # a black bar: the detector, recogniser and segmenter load
    sl.remove_text(warm)
    clock.take()
    load0 = os.getloadavg()[0]
    pr = cProfile.Profile() if a.cprofile else None
    c0, w0 = time.process_time(), time.perf_counter()
    if pr:
        pr.enable()
    res = sl.remove_text(str(fax), out=a.out)
    if pr:
        pr.disable()
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rec = clock.take()
    qa = res.qa
    lines = [f"fax page {fax.name}: remove-text {cpu:.1f} CPU s, {wall:.1f} s wall "
             f"(load {load0:.2f} -> {os.getloadavg()[0]:.2f}); output {res.image.shape} "
             f"{res.image.dtype}; regions {len(res.regions)}, words before "
             f"{qa.get('words_before')}, residual {qa.get('residual_words')}, failed regions "
             f"{len(qa.get('failed_regions', []))}, passes {qa.get('fill_passes')}",
             f"{'probe':40s} {'CPU s':>8s} {'wall s':>8s} {'calls':>6s}"]
    for label, v in sorted(rec.items(), key=lambda kv: (not kv[0].startswith("stage"),
                                                        -kv[1]["cpu"])):
        lines.append(f"{label[:40]:40s} {v['cpu']:8.1f} {v['wall']:8.1f} {v['calls']:6d}")
    fills = {}
    for r in res.run.stage("inpaint").report.get("regions", []):
        for p in r["passes"]:
            f = fills.setdefault(p["backend"], [0, 0.0, 0])
            f[0] += 1
            f[1] += p["cpu_ms"] / 1000
            f[2] += p["hole_px"]
    lines.append("fills by backend (passes, CPU s in the fill, hole px): " + ", ".join(
        f"{k} {n} / {s:.1f} s / {px}" for k, (n, s, px) in sorted(fills.items())))
    if pr:
        for key in ("cumulative", "tottime"):
            s = io.StringIO()
            pstats.Stats(pr, stream=s).strip_dirs().sort_stats(key).print_stats(35)
            lines.append(f"---- cProfile sorted by {key} ----")
            lines += [ln for ln in s.getvalue().splitlines() if ln.strip()]
    text = "\n".join(lines)
    print(text)
    if a.save:
        (HERE / "results" / f"{a.save}.txt").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
