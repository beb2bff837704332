"""Command-line commands for latent synthesis: ``seamline calibrate`` and ``seamline generate``.

Wired into :mod:`seamline.cli` by :func:`register`.

Every user mistake is a :class:`seamline.errors.SeamlineError` (one line, exit 2) raised before
anything is written; outputs are written atomically at the end.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from seamline.cli.common import stage_choices
from seamline.errors import InputError

__all__ = ["register"]


def _add_model_args(p) -> None:
    p.add_argument("--model", required=True,
                   help="diffusers folder, single .safetensors checkpoint, or a Hugging Face "
                        "repo id already in the local cache (never downloaded)")
    p.add_argument("--model-config", metavar="DIR",
                   help="single-file checkpoints: a diffusers folder (or cached repo id) of the "
                        "same architecture holding the configs")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, mps")
    p.add_argument("--dtype", default="auto", choices=stage_choices("generate", "dtype"),
                   help="auto: float16 on CUDA, float32 on CPU")
    p.add_argument("--quiet", "-q", action="store_true", help="print only errors")


def register(subparsers) -> None:
    """Add ``calibrate`` and ``generate`` to the ``seamline`` sub-command parser."""
    p = subparsers.add_parser(
        "calibrate", help="measure a model's per-channel latent statistics (a latent profile)",
        description="Encode a sample of images with the model's VAE and write the per-channel "
        "latent mean/std (and their spread across images) as a profile; stages receiving "
        "latents for this model declare it (params.profile) and the runner checks and "
        "re-centres incoming latents against it.")
    p.set_defaults(func=cmd_calibrate)
    _add_model_args(p)
    p.add_argument("--images", required=True, metavar="DIR",
                   help="folder of images (any format seamline reads)")
    p.add_argument("-o", "--output", required=True, help="profile JSON to write")
    p.add_argument("--size", type=int, default=None,
                   help="encode at SIZE x SIZE (centre crop); default the model's native size")
    p.add_argument("--max-images", type=int, default=64, metavar="N",
                   help="use at most N images, spread evenly over the sorted folder (default 64)")
    p.add_argument("--json", action="store_true", help="print the profile as JSON")

    p = subparsers.add_parser(
        "generate", help="text to image with a local Stable Diffusion model",
        description="Generate an image; with --latents-out, also write the final latents "
        "(.npy, scaled latent space) and their provenance (.json beside it).")
    p.set_defaults(func=cmd_generate)
    _add_model_args(p)
    p.add_argument("--prompt", required=True)
    p.add_argument("--negative-prompt", default="")
    p.add_argument("-o", "--output", required=True, help="output image (PNG, JPEG, WebP, TIFF)")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--guidance-scale", type=float, default=7.5)
    p.add_argument("--scheduler", default="default", choices=stage_choices("generate", "scheduler"))
    p.add_argument("--height", type=int, default=None)
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--latents-out", metavar="FILE.npy",
                   help="also write the latents here (+ FILE.json with their provenance)")
    p.add_argument("--json", action="store_true", help="print the provenance as JSON")
    p.add_argument("--translation-map", action="append", default=[], metavar="MAP",
                   help="consistency mode: embed the prompt with --prompt-encoder and "
                        "translate it into this model's conditioning with the map that fits "
                        "(repeatable; from 'translate fit --target-pooling sequence')")
    p.add_argument("--prompt-encoder", default=None, metavar="ENC",
                   help="encoder A for --translation-map (default minilm)")


def _check_json_output(path: str, *, suffix: str = ".json", inputs=()) -> Path:
    given = Path(path).expanduser()
    target = given.resolve()
    if target.is_dir():
        raise InputError(f"output {given}: is a directory; give a file name")
    if given.suffix.lower() != suffix:
        raise InputError(f"output {given}: expected a {suffix} file name")
    if not target.parent.is_dir():
        raise InputError(f"output {given}: directory {target.parent} does not exist")
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise InputError(f"output {given}: directory {target.parent} is not writable")
    for inp in inputs:
        if inp and Path(inp).expanduser().resolve() == target:
            raise InputError(f"output {given}: is an input; choose another path")
    return target


def cmd_calibrate(args, argv) -> int:
    from seamline.core.artifacts import write_json
    from seamline.diffusion import calibrate

    out = _check_json_output(args.output)
    images = Path(args.images)
    if not images.is_dir():
        raise InputError(f"--images {images}: not a folder")
    t0 = time.perf_counter()
    profile = calibrate(args.model, images, size=args.size, max_images=args.max_images,
                        device=args.device, dtype=args.dtype, config=args.model_config,
                        progress=None if not args.quiet else False)
    profile["command"] = ["seamline", *argv]
    write_json(out, profile)
    if args.json:
        print(json.dumps(profile, indent=1))
    elif not args.quiet:
        fmt = lambda v: "[" + ", ".join(f"{x:.4f}" for x in v) + "]"  # noqa: E731
        print(f"{out}: {profile['images']} images at {profile['image_size']} px, "
              f"{profile['latent_channels']} channels, {time.perf_counter() - t0:.1f} s\n"
              f"  mean   {fmt(profile['channel_mean'])} (spread {fmt(profile['spread_mean'])})\n"
              f"  std    {fmt(profile['channel_std'])} (spread {fmt(profile['spread_std'])})\n"
              f"  model  {profile['model']} (weights sha256 {profile['weights_sha256'][:12]})")
    return 0


def _translated_prompt(args):
    """Consistency mode for the one-shot command: the same handoff a pipeline runs."""
    from seamline.engine.runner import handoff
    from seamline.stages.generate import Generate, with_embedding_port
    from seamline.translate import load_encoder

    for m in args.translation_map:
        if not Path(m).is_file():
            raise InputError(f"--translation-map {m}: no such file")
    enc = load_encoder(args.prompt_encoder or "minilm")
    emb = enc.embed_prompt(args.prompt)
    params = Generate.Params(model=args.model, prompt=args.prompt,
                             translation_maps=tuple(args.translation_map))
    port = with_embedding_port(Generate.spec, params).inputs["prompt_embedding"]
    value, record, _ = handoff(emb, "embedding", port, policy="reconcile", stage="generate",
                               port="prompt_embedding", source=f"encoder {enc.name}")
    return value, record


def cmd_generate(args, argv) -> int:
    import numpy as np

    from seamline.core.artifacts import Latents
    from seamline.engine.store import save
    from seamline.diffusion import generate
    from seamline.io import check_output_path, write_image

    out = check_output_path(args.output)
    lat_out = None
    if args.latents_out:
        lat_out = _check_json_output(args.latents_out, suffix=".npy", inputs=[args.output])
    if args.prompt_encoder and not args.translation_map:
        raise InputError("--prompt-encoder: only used with --translation-map (consistency mode)")
    embeds, record = _translated_prompt(args) if args.translation_map else (None, None)
    res = generate(args.model, args.prompt, negative_prompt=args.negative_prompt,
                   steps=args.steps, guidance_scale=args.guidance_scale,
                   scheduler=args.scheduler, height=args.height, width=args.width,
                   seed=args.seed, device=args.device, dtype=args.dtype,
                   config=args.model_config, progress=None if not args.quiet else False,
                   prompt_embeds=embeds)
    prov = dict(res.latents.provenance, command=["seamline", *argv])
    if record is not None:
        prov["prompt_handoff"] = record
    if lat_out is not None:
        save("latents", Latents(np.asarray(res.latents.data), prov), lat_out.parent,
             lat_out.name[:-4])
    write_image(out, res.image)
    if args.json:
        print(json.dumps({"output": str(out), "latents": str(lat_out) if lat_out else None,
                          "seconds": res.report["seconds"], "provenance": prov}, indent=1))
    elif not args.quiet:
        print(f"{out}: {res.image.shape[1]}x{res.image.shape[0]}, {args.steps} steps, "
              f"{prov['scheduler']}, guidance {args.guidance_scale:g}, seed {args.seed}, "
              f"{res.report['seconds']:.1f} s" + (f"; latents {lat_out}" if lat_out else ""),
              file=sys.stdout)
        cond = res.report.get("conditioning")
        if cond:
            ad = record["adapters"][0]["params"] if record and record["adapters"] else {}
            print(f"  prompt embedded by {args.prompt_encoder or 'minilm'}, translated with "
                  f"{ad.get('map', '-')} ({ad.get('method', '-')}); cosine to the model's own "
                  f"encoding {cond.get('cosine_to_native', float('nan')):.3f}")
    return 0
