"""Outcome classes of ``read_image`` over Pillow's test images (issue 14), before/after.

    python benchmarks/io_corpus.py --label after            # this tree
    PYTHONPATH=/tmp/before/src python benchmarks/io_corpus.py --label before --no-imagecodecs

Writes ``benchmarks/results/io_corpus_<label>.json`` (one row per file). ``--no-imagecodecs``
hides the optional codec package, as on a machine without it (the state of main at 28e12de).
Corpus: ``make pillow-corpus`` (or ``$SEAMLINE_PILLOW_CORPUS``).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _corpus_module():
    # Loaded by path so the same classifier also runs against an older seamline on PYTHONPATH.
    spec = importlib.util.spec_from_file_location(
        "pillow_corpus", HERE.parent / "src" / "seamline" / "testing" / "pillow_corpus.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pillow_corpus"] = mod
    spec.loader.exec_module(mod)
    return mod


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--no-imagecodecs", action="store_true")
    args = ap.parse_args(argv)
    if args.no_imagecodecs:
        sys.modules["imagecodecs"] = None  # import fails as if it were not installed
    pc = _corpus_module()
    root = pc.corpus_dir()
    if root is None:
        print("no corpus: run `make pillow-corpus` first", file=sys.stderr)
        return 2
    import seamline.io

    t0 = time.perf_counter()
    rows = [pc.classify(p, root) for p in pc.corpus_files(root)]
    seconds = time.perf_counter() - t0
    counts = pc.table(rows)
    print(f"{args.label}: {counts} in {seconds:.0f} s (seamline.io at "
          f"{Path(seamline.io.__file__).parent})")
    by = collections.Counter((r.klass, r.detail.split(" (")[0][:60]) for r in rows
                             if r.klass != "ok")
    for (k, d), n in by.most_common(25):
        print(f"  {n:4d} {k:7s} {d}")
    out = HERE / "results" / f"io_corpus_{args.label}.json"
    out.write_text(json.dumps({"counts": counts, "seconds": round(seconds, 1),
                               "rows": [dataclasses.asdict(r) for r in rows]}, indent=0),
                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
