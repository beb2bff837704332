"""Check: `seamline upscale` before and after a change, same pixels and QA figures.

Runs ``seamline upscale IMG --scale 2 -o OUT --json`` with each tree's sources (``--before``:
a git revision, checked out under ``benchmarks/cache/`` as bench_memory.py does; after: this
tree), alternating, each in its own process, on bench_memory.py's photo mosaic at ``--mp``
megapixels (text drawn on it). Prints, per tree: peak RSS and CPU seconds of the process, and
then whether the two output files are byte-identical, the largest pixel difference of their
decoded pixels, and each QA figure before / after.

Usage: ``python benchmarks/upscale_stream_check.py --before REV [--mp 3] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "src"))

from bench_memory import CACHE, RUNNER, before_tree, make_inputs  # noqa: E402


def run(src: Path, img: Path, out: Path) -> dict:
    """One ``seamline upscale`` process: exit code, wall and CPU seconds, peak RSS, stdout."""
    import tempfile

    env = dict(os.environ, PYTHONPATH=str(src))
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        proc = subprocess.Popen([sys.executable, "-c", RUNNER, "upscale", str(img), "--scale",
                                 "2", "-o", str(out), "--json", "--quiet"], env=env,
                                stdout=out_f, stderr=err_f)
        _, status, usage = os.wait4(proc.pid, 0)
        out_f.seek(0)
        err_f.seek(0)
        stdout, stderr = out_f.read().decode(), err_f.read().decode()
    return {"exit": os.waitstatus_to_exitcode(status),
            "seconds": round(time.perf_counter() - t0, 1),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_gb": round(usage.ru_maxrss / 2**20, 3), "stdout": stdout,
            "stderr": stderr[-2000:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--mp", type=float, default=3.0)
    ap.add_argument("--out", default=None, help="also write the report here")
    args = ap.parse_args()
    import numpy as np
    from PIL import Image

    inputs = CACHE / "memory-inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    img, _, _ = make_inputs(args.mp, inputs)
    trees = {"before": before_tree(args.before) / "src", "after": ROOT / "src"}
    outs, docs, lines = {}, {}, []
    for side, src in trees.items():
        outs[side] = CACHE / f"upscale_check_{side}.png"
        r = run(src, img, outs[side])
        lines.append(f"{side} ({src}): exit {r['exit']}, {r['seconds']} s wall, "
                     f"{r['cpu_s']} CPU s, peak RSS {r['peak_gb']:.2f} GB, load "
                     f"{os.getloadavg()[0]:.1f} after")
        if r["exit"] != 0:
            lines.append(r["stderr"])
            print("\n".join(lines))
            return 1
        docs[side] = json.loads(r["stdout"])
    a, b = (np.asarray(Image.open(outs[s])) for s in ("before", "after"))
    same_bytes = outs["before"].read_bytes() == outs["after"].read_bytes()
    diff = int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())
    lines.append(f"input {img.name} {Image.open(img).size}: output {a.shape}, files "
                 f"byte-identical: {same_bytes}, pixels identical: {bool(diff == 0)} "
                 f"(max |diff| {diff})")
    qa_b, qa_a = docs["before"].get("qa", {}), docs["after"].get("qa", {})

    def flat(d, prefix=""):
        for k, v in sorted(d.items()):
            if isinstance(v, dict):
                yield from flat(v, f"{prefix}{k}.")
            else:
                yield f"{prefix}{k}", v

    fb, fa = dict(flat(qa_b)), dict(flat(qa_a))
    for k in sorted(set(fb) | set(fa)):
        vb, va = fb.get(k), fa.get(k)
        mark = "" if vb == va else "  (differs)"
        lines.append(f"  qa {k}: {vb} / {va}{mark}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
