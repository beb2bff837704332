"""GPU check: an SD-1.5-sized model through seamline and through diffusers directly.

For a session that has a GPU (not run on CPU machines). Builds a Stable Diffusion 1.5-sized
UNet (320/640/1280/1280, cross-attention 768), VAE (128/256/512/512) and CLIP text encoder
(12 x 768) from their standard configs with **random weights** (seeded; nothing downloaded),
saves them as a float16 diffusers folder, then, at 512x512, 20 steps, float16, same seed:

- ``generate``: :func:`seamline.diffusion.generate` vs ``StableDiffusionPipeline.__call__``;
- ``latent-inpaint``: :func:`seamline.diffusion.latent_inpaint` vs
  ``StableDiffusionInpaintPipeline.__call__`` given the same latent-grid mask;

each a warm-up then ``--repeats`` interleaved runs; records median seconds, steps/s, seamline's
overhead, max |difference| of the outputs, peak GPU memory and the card's name.

Writes ``gpu_diffusion.json`` and ``gpu_diffusion.md`` to ``$OUT`` when set (the device
tool's output folder), else to ``benchmarks/results/``. About 2-3 minutes on an H100
(most of it building and saving the random model).

Usage (repository root, torch with CUDA + diffusers + transformers installed)::

    PYTHONPATH=src python benchmarks/gpu_diffusion_check.py [--repeats 5] [--steps 20]

``--smoke`` runs the same code on the CPU in float32 at 64x64, 2 steps, 1 repeat (a few
minutes, mostly building the model): a check that the script works before spending a GPU
session's minutes on it. Its numbers are not a benchmark and go to a temp folder unless
``$OUT`` is set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def build_sd15_sized(folder: Path, seed: int = 0) -> Path:
    """Random-weight SD-1.5-shaped pipeline saved as float16 safetensors."""
    import torch
    from diffusers import (AutoencoderKL, PNDMScheduler, StableDiffusionPipeline,
                           UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from seamline.testing.tiny_sd import write_tiny_vocab

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
        block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, sample_size=512,
        block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.18215)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu",
        bos_token_id=0, eos_token_id=1, pad_token_id=1))
    # the byte-level vocabulary (no merges) tokenises any prompt without a download
    tokenizer = CLIPTokenizer.from_pretrained(str(write_tiny_vocab(folder.parent / "vocab")),
                                              model_max_length=77, local_files_only=True)
    scheduler = PNDMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              skip_prk_steps=True, steps_offset=1, set_alpha_to_one=False)
    pipe = StableDiffusionPipeline(unet=unet, vae=vae, text_encoder=text_encoder,
                                   tokenizer=tokenizer, scheduler=scheduler, safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.to(torch.float16).save_pretrained(str(folder))
    return folder


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _timed(fn) -> float:
    _sync()
    t0 = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - t0


def _pair(fa, fb, repeats: int) -> tuple[float, float]:
    fa(), fb()  # warm-up: cuDNN/cuBLAS autotuning, allocator
    ta, tb = [], []
    for _ in range(repeats):
        ta.append(_timed(fa))
        tb.append(_timed(fb))
    return statistics.median(ta), statistics.median(tb)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--dtype", default="float16", choices=("float16", "bfloat16"))
    ap.add_argument("--smoke", action="store_true",
                    help="CPU, float32, 64x64, 2 steps, 1 repeat: check the script itself")
    args = ap.parse_args(argv)

    import torch

    device = "cuda"
    if args.smoke:
        device, args.dtype, args.size, args.steps, args.repeats = "cpu", "float32", 64, 2, 1
    elif not torch.cuda.is_available():
        print("gpu_diffusion_check: no CUDA device here; this script is for a GPU machine "
              "(--smoke checks it on the CPU)", file=sys.stderr)
        return 2
    import diffusers

    from seamline import diffusion as D
    from seamline.diffusion.loading import import_diffusers
    from seamline.ops.masks import snap_to_grid

    default_out = (Path(tempfile.mkdtemp(prefix="seamline-gpu-smoke-")) if args.smoke
                   else Path(__file__).resolve().parent / "results")
    out_dir = Path(os.environ.get("OUT") or default_out)
    out_dir.mkdir(parents=True, exist_ok=True)
    tdtype = getattr(torch, args.dtype)
    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="seamline-gpu-"))
    model = build_sd15_sized(tmp / "sd15-random")
    t_build = time.perf_counter() - t0

    t0 = time.perf_counter()
    lm = D.load_model(str(model), device=device, dtype=args.dtype)
    _ = lm.weights_sha256  # hashed once (cached); not part of the timed runs
    t_load_sl = time.perf_counter() - t0
    _, SD, _, SDInp = import_diffusers()
    t0 = time.perf_counter()
    direct = SD.from_pretrained(str(model), local_files_only=True, dtype=tdtype,
                                safety_checker=None, feature_extractor=None,
                                requires_safety_checker=False).to(device)
    t_load_dd = time.perf_counter() - t0
    direct.set_progress_bar_config(disable=True)
    direct_inp = SDInp(**direct.components, requires_safety_checker=False)
    direct_inp.set_progress_bar_config(disable=True)

    size, steps, seed, g = args.size, args.steps, 1234, 7.5
    prompt = "a lighthouse on a cliff at sunset"
    gen = lambda: torch.Generator("cpu").manual_seed(seed)  # noqa: E731
    res: dict = {"device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (smoke)",
                 "dtype": args.dtype,
                 "torch": torch.__version__, "cuda": torch.version.cuda,
                 "diffusers": diffusers.__version__, "size": size, "steps": steps,
                 "repeats": args.repeats, "guidance_scale": g,
                 "model": "SD-1.5-sized, random weights (UNet 320/640/1280/1280 x2, "
                          "VAE 128/256/512/512, CLIP 12x768)",
                 "seconds_build_and_save": round(t_build, 2),
                 "seconds_load_seamline": round(t_load_sl, 2),
                 "seconds_load_diffusers": round(t_load_dd, 2)}

    sl = lambda: D.generate(lm, prompt, steps=steps, guidance_scale=g, height=size,  # noqa
                            width=size, seed=seed, progress=False)
    dd = lambda: direct(prompt, num_inference_steps=steps, guidance_scale=g,  # noqa: E731
                        height=size, width=size, generator=gen(), output_type="np")
    diff = float(np.abs(sl().image - dd().images[0]).max())
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t_sl, t_dd = _pair(sl, dd, args.repeats)
    res["generate"] = {"max_abs_diff_image": diff, "seconds_seamline": round(t_sl, 4),
                       "seconds_diffusers": round(t_dd, 4),
                       "steps_per_s_seamline": round(steps / t_sl, 2),
                       "steps_per_s_diffusers": round(steps / t_dd, 2),
                       "overhead": round(t_sl / t_dd - 1, 4),
                       "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2 ** 30, 2)
                       if device == "cuda" else None}

    rng = np.random.default_rng(0)
    image = rng.random((size, size, 3), dtype=np.float32)
    mask = np.zeros((size, size), np.float32)
    mask[size // 4: size // 2, size // 3: 2 * size // 3] = 1
    grid = snap_to_grid(mask, cell=lm.vae_factor, grow_cells=1)
    sl = lambda: D.latent_inpaint(lm, image, mask, prompt=prompt, steps=steps,  # noqa: E731
                                  guidance_scale=g, seed=seed, progress=False)
    dd = lambda: direct_inp(prompt, image=image, mask_image=grid, strength=1.0,  # noqa: E731
                            num_inference_steps=steps, guidance_scale=g, height=size,
                            width=size, generator=gen(), output_type="np")
    r = sl()
    diff = float(np.abs(r.decoded - dd().images[0]).max())
    outside = r.mask == 0
    t_sl, t_dd = _pair(sl, dd, args.repeats)
    res["latent_inpaint"] = {"max_abs_diff_decoded": diff,
                             "outside_grid_mask_bit_identical": bool(
                                 np.array_equal(r.image[outside], image[outside])),
                             "seconds_seamline": round(t_sl, 4),
                             "seconds_diffusers": round(t_dd, 4),
                             "steps_per_s_seamline": round(steps / t_sl, 2),
                             "steps_per_s_diffusers": round(steps / t_dd, 2),
                             "overhead": round(t_sl / t_dd - 1, 4)}

    (out_dir / "gpu_diffusion.json").write_text(json.dumps(res, indent=1))
    ge, li = res["generate"], res["latent_inpaint"]
    md = [f"{res['device']}, {args.dtype}, {size}x{size}, {steps} steps, SD-1.5-sized random "
          f"weights, median of {args.repeats}; diffusers {diffusers.__version__}, torch "
          f"{torch.__version__}.", "",
          "| path | steps/s seamline | steps/s diffusers | overhead | max abs diff |",
          "|---|---|---|---|---|",
          f"| generate | {ge['steps_per_s_seamline']} | {ge['steps_per_s_diffusers']} | "
          f"{100 * ge['overhead']:+.1f}% | {ge['max_abs_diff_image']:.1e} |",
          f"| latent-inpaint | {li['steps_per_s_seamline']} | {li['steps_per_s_diffusers']} | "
          f"{100 * li['overhead']:+.1f}% | {li['max_abs_diff_decoded']:.1e} (decoded) |"]
    (out_dir / "gpu_diffusion.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"wrote {out_dir / 'gpu_diffusion.json'} and {out_dir / 'gpu_diffusion.md'}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)  # the random model: ~2 GB
    return 0


if __name__ == "__main__":
    sys.exit(main())
