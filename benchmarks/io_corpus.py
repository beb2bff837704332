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
    ap.add_argument("--label", help="run the corpus and save io_corpus_<label>.json")
    ap.add_argument("--table", action="store_true",
                    help="write results/io_corpus.md from io_corpus_before/after.json")
    ap.add_argument("--no-imagecodecs", action="store_true")
    args = ap.parse_args(argv)
    if args.table:
        return write_table()
    if not args.label:
        ap.error("--label or --table")
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


def write_table() -> int:
    runs = {k: json.loads((HERE / "results" / f"io_corpus_{k}.json").read_text(encoding="utf-8"))
            for k in ("before", "after")}
    rows = [("files in Tests/images", "files"), ("Pillow opens and decodes", "pillow_opens"),
            ("OK (read; size, pixels, alpha agree with Pillow)", "ok"),
            ("clean reject (one-line reason)", "reject"),
            ("of which Pillow opens (lost users)", "pillow_opens_refused"),
            ("wrong output (silently)", "wrong"), ("traceback / crash", "crash")]
    lines = ["# Reading Pillow's test corpus (issue 14)", "",
             "Every file of `Tests/images` in the Pillow 12.0.0 sdist (`make pillow-corpus`) "
             "through `seamline.io.read_image`, classified by `seamline.testing.pillow_corpus` "
             "against Pillow's own decoding (first frame, orientation applied, ICC applied with "
             "ImageCms; wrong = size, alpha or mean 8-bit difference > 4/255). Before: main at "
             "28e12de with imagecodecs hidden (as it was not a dependency then); after: this "
             f"tree. Same machine, same run of Pillow {_pillow_version()}. Regenerate: "
             "`python benchmarks/io_corpus.py --label before|after` then `--table`.", "",
             "| outcome | before | after |", "|---|---:|---:|"]
    for label, key in rows:
        lines.append(f"| {label} | {runs['before']['counts'][key]} | "
                     f"{runs['after']['counts'][key]} |")
    lines.append(f"| seconds for the whole corpus (with the Pillow reference) | "
                 f"{runs['before']['seconds']:.0f} | {runs['after']['seconds']:.0f} |")
    for k in ("before", "after"):
        wrong = [r for r in runs[k]["rows"] if r["klass"] in ("wrong", "crash")]
        lost = [r for r in runs[k]["rows"] if r["klass"] == "reject" and r["pillow_opens"]]
        lines += ["", f"## {k}", "", "Wrong outputs:", ""]
        lines += [f"- `{r['name']}`: {r['detail']}" for r in wrong] or ["- none"]
        lines += ["", "Files Pillow opens that were refused, by reason:", ""]
        reasons = collections.Counter(r["detail"].split(" (")[0].split(";")[0][:90] for r in lost)
        lines += [f"- {n} x {why}" + (f" (`{lost[0]['name']}`)" if len(lost) == 1 else "")
                  for why, n in reasons.most_common()] or ["- none"]
    lines += ["", "Notes: the after run opens one more file in the Pillow column because seamline "
              "registers the optional HEIF plugin (pillow-heif, `seamline[heif]`) in that process. "
              "It takes longer because 189 more files are now decoded instead of refused. The issue "
              "counted 829 files Pillow opens with Pillow 12; Pillow 13 here opens more (AVIF built "
              "in). The rejects left are non-images (Pillow refuses them too), EPS/WMF, bombs "
              "over the pixel limit and one float TIFF of angles (-pi..pi)."]
    (HERE / "results" / "io_corpus.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


def _pillow_version() -> str:
    import PIL

    return PIL.__version__


if __name__ == "__main__":
    raise SystemExit(main())
