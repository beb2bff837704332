"""Latent synthesis through diffusers: text to image, image (or latents) to image, inpainting.

Thin calls into the diffusers pipelines (so the numbers are diffusers' own: the benchmark
checks the outputs are bit-identical to calling diffusers directly), with the final latents
captured through ``callback_on_step_end``, a CPU ``torch.Generator`` per call (the same seed
gives the same result on any device that computes the same), and diffusers' progress bar over
the steps. Every result carries its :func:`latent_provenance`.

Latent inpainting done right (:func:`latent_inpaint`): the pixel mask is brought to the
latent grid conservatively (:func:`seamline.ops.masks.snap_to_grid`), the denoising loop blends
the original image's noised latents outside it at every step, the decoded result is
composited back in pixel space with :func:`seamline.ops.compose.composite` (pixels outside the
grid mask are bit-identical to the input) and its colours are reconciled to the untouched
surroundings.

Conditioning: a prompt, or ``prompt_embeds`` in the model's text-encoder space (e.g. another
encoder's embedding translated at the handoff, see :mod:`seamline.translate`).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from seamline.core.artifacts import Latents
from seamline.diffusion.loading import LoadedModel, as_loaded, cpu_generator
from seamline.diffusion.vae import check_size, latents_array
from seamline.errors import InputError

__all__ = ["Synthesis", "generate", "img2img", "latent_inpaint", "latent_provenance"]


# ---------------------------------------------------------------------------------------------
# Checks


def _check_common(steps: int, guidance_scale: float, seed: int) -> None:
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise InputError(f"steps: expected an integer >= 1, got {steps!r}")
    if not isinstance(guidance_scale, (int, float)) or not math.isfinite(guidance_scale) or \
            guidance_scale < 0:
        raise InputError(f"guidance_scale: expected a number >= 0, got {guidance_scale!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2 ** 63:
        raise InputError(f"seed: expected an integer in [0, 2**63), got {seed!r}")


def _check_strength(strength: float, steps: int) -> None:
    if not isinstance(strength, (int, float)) or not 0 < strength <= 1:
        raise InputError(f"strength: expected a number in (0, 1], got {strength!r}")
    if int(steps * strength) < 1:
        raise InputError(f"strength {strength:g} x steps {steps} leaves no denoising step; "
                         "raise steps or strength")


def _pad_amounts(h: int, w: int, factor: int) -> tuple[int, int]:
    return (-h) % factor, (-w) % factor


def _pad(a: np.ndarray, ph: int, pw: int) -> np.ndarray:
    if not (ph or pw):
        return a
    pad = ((0, ph), (0, pw)) + ((0, 0),) * (a.ndim - 2)
    return np.pad(a, pad, mode="reflect" if min(a.shape[:2]) > 1 else "edge")


# ---------------------------------------------------------------------------------------------
# Provenance


def _jsonable(o: Any) -> Any:
    return json.loads(json.dumps(o, default=lambda v: v.item() if hasattr(v, "item") else
                                 list(v) if isinstance(v, (tuple, set)) else str(v)))


def latent_provenance(lm: LoadedModel, pipe, *, task: str, scheduler: str, steps: int,
                      guidance_scale: float, seed: int, height: int, width: int,
                      strength: float | None = None, prompt: str = "",
                      negative_prompt: str = "", **extra: Any) -> dict:
    """Everything that shaped a set of latents, JSON-serialisable.

    Keys: ``model`` (id), ``weights_sha256``, ``model_source``, ``pipeline``,
    ``latent_space`` (always ``"scaled"``), ``scaling_factor``, ``shift_factor``,
    ``vae_factor``, ``latent_channels``, ``scheduler`` (class), ``scheduler_option``,
    ``scheduler_config``, ``steps``, ``guidance_scale``, ``seed``, ``height``, ``width``
    (pixels), ``task``, ``strength``, ``prompt``, ``negative_prompt``, ``device``, ``dtype``,
    ``diffusers`` (version), plus ``extra``.
    """
    import diffusers

    sched = pipe.scheduler
    prov = {
        "model": lm.model_id, "weights_sha256": lm.weights_sha256, "model_source": lm.source.kind,
        "pipeline": type(pipe).__name__, "latent_space": "scaled",
        "scaling_factor": lm.scaling_factor, "shift_factor": lm.shift_factor,
        "vae_factor": lm.vae_factor, "latent_channels": lm.latent_channels,
        "scheduler": type(sched).__name__, "scheduler_option": scheduler,
        "scheduler_config": _jsonable(dict(sched.config)),
        "steps": int(steps), "guidance_scale": float(guidance_scale), "seed": int(seed),
        "height": int(height), "width": int(width), "task": task,
        "strength": None if strength is None else float(strength),
        "prompt": prompt, "negative_prompt": negative_prompt,
        "device": str(lm.device), "dtype": str(lm.dtype).replace("torch.", ""),
        "diffusers": diffusers.__version__,
    }
    prov.update(_jsonable(extra))
    return prov


# ---------------------------------------------------------------------------------------------
# Synthesis


@dataclass(frozen=True)
class Synthesis:
    """What a synthesis call returns.

    Attributes
    ----------
    image : (H, W, 3) float32 ndarray in [0, 1]
        sRGB result (for ``latent_inpaint``: composited and colour-reconciled).
    latents : Latents
        Final latents, ``(C, H / f, W / f)`` in the scaled space, with provenance.
    report : dict
        JSON-serialisable: ``provenance``, ``seconds`` and task specifics.
    decoded : (H, W, 3) float32 ndarray or None
        ``latent_inpaint`` only: the VAE's decoding of the final latents, before compositing
        (what diffusers' own inpaint pipeline returns).
    mask : (H, W) float32 ndarray in {0, 1} or None
        ``latent_inpaint`` only: the latent-grid mask that was edited; outside it the output
        is bit-identical to the input.
    """

    image: np.ndarray
    latents: Latents
    report: dict
    decoded: np.ndarray | None = None
    mask: np.ndarray | None = None


class _LastLatents:
    """``callback_on_step_end`` that keeps a reference to the latents after each step (no
    copy, no change: the pipeline's arithmetic is untouched)."""

    def __init__(self):
        self.latents = None

    def __call__(self, pipe, step, timestep, kwargs):
        self.latents = kwargs["latents"]
        return {}


def _run(pipe, *, progress: bool | None, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    import torch

    # disable=None: tqdm shows the bar on a terminal only (not in logs, CI, tests)
    pipe.set_progress_bar_config(disable=None if progress is None else not progress,
                                 leave=False)
    cap = _LastLatents()
    with torch.no_grad():
        out = pipe(output_type="np", callback_on_step_end=cap,
                   callback_on_step_end_tensor_inputs=["latents"], **kwargs)
    image = np.ascontiguousarray(out.images[0], dtype=np.float32)
    latents = cap.latents[0].detach().to("cpu", dtype=torch.float32).numpy().copy()
    return image, latents


def _conditioning(lm: LoadedModel, pipe, prompt: str, negative_prompt: str,
                  prompt_embeds) -> tuple[dict, dict | None]:
    """The pipeline's prompt keyword arguments, and what conditioned it (for the report).

    Without ``prompt_embeds`` the pipeline encodes ``prompt`` with its own text encoder. With
    them (an :class:`~seamline.core.artifacts.Embedding` or array ``(tokens, hidden)``, e.g. a
    prompt embedded by another encoder and translated at the handoff) they replace that
    encoding; the negative prompt and the unconditional embedding stay in the model's own
    encoding, since classifier-free guidance steers away from the model's own unconditional
    prediction. The report compares the embeddings used with the model's own encoding of
    ``prompt`` (cosine over all tokens, relative L2 error).
    """
    import torch

    if prompt_embeds is None:
        return {"prompt": prompt, "negative_prompt": negative_prompt or None}, None
    meta = getattr(prompt_embeds, "metadata", {}) or {}
    data = np.asarray(getattr(prompt_embeds, "data", prompt_embeds), dtype=np.float32)
    width = int(pipe.unet.config.cross_attention_dim)
    tokens = int(getattr(pipe.tokenizer, "model_max_length", 77))
    if data.ndim != 2 or data.shape != (tokens, width):
        raise InputError(f"prompt_embedding: shape {tuple(data.shape)} from encoder "
                         f"{meta.get('encoder_name', '?')} does not fit model "
                         f"{lm.source.spec}, which conditions on ({tokens}, {width}); route it "
                         "through a translation map (consistency: true)")
    if not np.isfinite(data).all():
        raise InputError(f"prompt_embedding from encoder {meta.get('encoder_name', '?')}: "
                         f"{int(data.size - np.isfinite(data).sum())} non-finite values")
    with torch.no_grad():
        native, _ = pipe.encode_prompt(prompt, lm.device, 1, False)
    native = native[0].to("cpu", torch.float32).numpy()
    report = {"source": "prompt_embedding", "encoder": meta.get("encoder_name"),
              "shape": list(data.shape), "translated_from": meta.get("translated_from")}
    if native.shape == data.shape:
        a, b = data.reshape(-1).astype(np.float64), native.reshape(-1).astype(np.float64)
        report["cosine_to_native"] = float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b),
                                                       1e-12))
        report["rel_l2_to_native"] = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))
    tensor = torch.from_numpy(np.ascontiguousarray(data))[None].to(lm.device, lm.dtype)
    return {"prompt_embeds": tensor, "negative_prompt": negative_prompt or None}, report


def generate(model, prompt: str, *, negative_prompt: str = "", steps: int = 30,
             guidance_scale: float = 7.5, scheduler: str = "default", height: int | None = None,
             width: int | None = None, seed: int = 0, device: str = "auto",
             dtype: str = "auto", config=None, progress: bool | None = None,
             prompt_embeds=None) -> Synthesis:
    """Text to image.

    Parameters
    ----------
    model : str, path or LoadedModel
        See :func:`load_model`.
    prompt, negative_prompt : str
    steps : int
        Denoising steps.
    guidance_scale : float
        Classifier-free guidance (<= 1 disables it).
    scheduler : str
        One of :data:`SCHEDULER_NAMES`.
    height, width : int, optional
        Multiples of the VAE factor; default the model's native size.
    seed : int
    device, dtype, config
        See :func:`load_model`.
    progress : bool or None
        Progress bar over steps: None shows it on a terminal only.
    prompt_embeds : Embedding or (tokens, hidden) float32 ndarray, optional
        Conditioning in this model's text-encoder space, used instead of encoding ``prompt``
        (which then only names the prompt in the provenance and the report). See
        :func:`_conditioning`.

    Returns
    -------
    Synthesis
    """
    t0 = time.perf_counter()
    lm = as_loaded(model, device, dtype, config)
    _check_common(steps, guidance_scale, seed)
    if lm.info.unet_in_channels != lm.latent_channels:
        raise InputError(f"model {lm.source.spec}: an inpainting model (UNet with "
                         f"{lm.info.unet_in_channels} input channels); use latent-inpaint")
    h = height or lm.info.default_size
    w = width or lm.info.default_size
    check_size(h, w, lm.vae_factor)
    pipe = lm.pipeline("generate", scheduler)
    cond, cond_report = _conditioning(lm, pipe, prompt, negative_prompt, prompt_embeds)
    image, lat = _run(pipe, progress=progress, num_inference_steps=steps,
                      guidance_scale=guidance_scale, height=h, width=w,
                      generator=cpu_generator(seed), **cond)
    prov = latent_provenance(lm, pipe, task="generate", scheduler=scheduler, steps=steps,
                             guidance_scale=guidance_scale, seed=seed, height=h, width=w,
                             prompt=prompt, negative_prompt=negative_prompt,
                             **_conditioning_provenance(cond_report))
    report = {"provenance": prov, "seconds": round(time.perf_counter() - t0, 4)}
    if cond_report:
        report["conditioning"] = cond_report
    return Synthesis(image=image, latents=Latents(lat, prov), report=report)


def _conditioning_provenance(cond_report: dict | None) -> dict:
    if not cond_report:
        return {}
    src = cond_report.get("translated_from") or {}
    return {"conditioning": {"encoder": cond_report.get("encoder"),
                             "translated_from": src.get("encoder_name"),
                             "map": src.get("map")}}


def img2img(model, image: np.ndarray | None = None, *, latents=None, prompt: str = "",
            negative_prompt: str = "", strength: float = 0.6, steps: int = 30,
            guidance_scale: float = 7.5, scheduler: str = "default", seed: int = 0,
            pad: bool = False, device: str = "auto", dtype: str = "auto", config=None,
            progress: bool | None = None, prompt_embeds=None) -> Synthesis:
    """Image (or latents) to image: noise to ``strength`` and denoise under ``prompt``.

    Parameters
    ----------
    model : str, path or LoadedModel
    image : (H, W, 3) float32 ndarray in [0, 1], optional
        Encoded with the model's VAE unless ``latents`` is given.
    latents : Latents or (C, h, w) float32 ndarray, optional
        Starting latents in this model's scaled space (e.g. another stage's output, after the
        runner's checks); used instead of encoding ``image``.
    strength : float in (0, 1]
        How far to noise the start (1 = from pure noise).
    pad : bool
        An image whose size is not a multiple of the VAE factor is reflect-padded at the
        bottom/right and the result cropped back (what the ``reconcile`` policy asks for);
        otherwise it is an error naming the nearest valid sizes.
    Other parameters as :func:`generate`.

    Returns
    -------
    Synthesis
        ``image`` has the input image's size (or the latents' size times the VAE factor).
    """
    import torch

    t0 = time.perf_counter()
    lm = as_loaded(model, device, dtype, config)
    _check_common(steps, guidance_scale, seed)
    _check_strength(strength, steps)
    if lm.info.unet_in_channels != lm.latent_channels:
        raise InputError(f"model {lm.source.spec}: an inpainting model (UNet with "
                         f"{lm.info.unet_in_channels} input channels); use latent-inpaint")
    f = lm.vae_factor
    extra: dict = {}
    if latents is not None:
        data = latents_array(latents, lm)
        h, w = data.shape[1] * f, data.shape[2] * f
        if image is not None and tuple(np.shape(image)[:2]) != (h, w):
            raise InputError(f"latents: {data.shape[2]}x{data.shape[1]} cells = {w}x{h} px, but "
                             f"the image is {np.shape(image)[1]}x{np.shape(image)[0]}")
        start = torch.from_numpy(np.ascontiguousarray(data))[None].to(lm.device, lm.dtype)
        crop = None
        extra["start"] = "latents"
        if isinstance(latents, Latents) and latents.provenance:
            extra["start_provenance"] = {k: latents.provenance.get(k) for k in (
                "model", "weights_sha256", "task", "scheduler", "guidance_scale", "seed")}
    elif image is not None:
        from seamline.io import as_image

        image = as_image(image, name="image")
        h0, w0 = image.shape[:2]
        ph, pw = _pad_amounts(h0, w0, f)
        if (ph or pw) and not pad:
            check_size(h0, w0, f, what="image size")
        start = _pad(image, ph, pw)
        h, w = start.shape[:2]
        crop = (h0, w0) if (ph or pw) else None
        extra["start"] = "image"
        if crop:
            extra["padded"] = {"bottom": ph, "right": pw, "mode": "reflect"}
    else:
        raise InputError("img2img: needs an image or latents to start from")
    pipe = lm.pipeline("img2img", scheduler)
    cond, cond_report = _conditioning(lm, pipe, prompt, negative_prompt, prompt_embeds)
    extra.update(_conditioning_provenance(cond_report))
    out, lat = _run(pipe, progress=progress, image=start, strength=strength,
                    num_inference_steps=steps, guidance_scale=guidance_scale,
                    generator=cpu_generator(seed), **cond)
    if crop:
        out = np.ascontiguousarray(out[:crop[0], :crop[1]])
    prov = latent_provenance(lm, pipe, task="img2img", scheduler=scheduler, steps=steps,
                             guidance_scale=guidance_scale, seed=seed, height=h, width=w,
                             strength=strength, prompt=prompt, negative_prompt=negative_prompt,
                             **extra)
    report = {"provenance": prov, "seconds": round(time.perf_counter() - t0, 4)}
    if cond_report:
        report["conditioning"] = cond_report
    return Synthesis(image=out, latents=Latents(lat, prov), report=report)


def latent_inpaint(model, image: np.ndarray, mask: np.ndarray, *, prompt: str = "",
                   negative_prompt: str = "", strength: float = 1.0, steps: int = 30,
                   guidance_scale: float = 7.5, scheduler: str = "default", seed: int = 0,
                   grow_cells: int = 1, feather_px: int = 0, color_match: bool = True,
                   ring_px: int = 8, pad: bool = False, device: str = "auto",
                   dtype: str = "auto", config=None, progress: bool | None = None,
                   prompt_embeds=None) -> Synthesis:
    """Inpaint in latent space; pixels outside the latent-grid mask stay bit-identical.

    1. The pixel mask is brought to the latent grid conservatively:
       :func:`seamline.ops.masks.snap_to_grid` (a cell with any edited pixel is edited whole, then
       ``grow_cells`` more cells around it cover the VAE's receptive field).
    2. diffusers' inpaint pipeline denoises; with a 4-channel UNet it blends, after every
       step, the original image's latents noised to the next timestep outside the grid mask
       (legacy / RePaint-style blending), so the context is re-imposed at every noise level;
       a 9-channel inpainting UNet gets the mask and masked image as its conditioning.
    3. The decoded result is composited back with :func:`seamline.ops.compose.composite` through
       the grid mask (optionally feathered *inside* it by ``feather_px``).
    4. ``color_match``: the decoded image's colour drift (VAE round trip, sampler) is measured
       on the untouched ring just outside the grid mask, where decoded and original should
       agree, as a per-channel Lab mean/std map, and removed from the synthesised pixels.

    Parameters
    ----------
    model : str, path or LoadedModel
    image : (H, W, 3) float32 ndarray in [0, 1]
    mask : (H, W) float32 ndarray in [0, 1]
        1 = edit. Support is ``mask > 0``.
    strength : float in (0, 1]
        1 starts the masked area from pure noise.
    grow_cells : int
        Latent cells added around the max-pooled mask.
    feather_px : int
        Soft transition band, in pixels, inside the grid mask around the original mask.
    color_match : bool
    ring_px : int
        Width of the untouched ring used to measure the colour drift.
    pad : bool
        As :func:`img2img`.
    Other parameters as :func:`generate`.

    Returns
    -------
    Synthesis
        With ``decoded`` (raw VAE output) and ``mask`` (the grid mask; outside it the image is
        the input, bit for bit).
    """
    from seamline.io import as_image, as_mask
    from seamline.ops.compose import composite
    from seamline.ops.masks import snap_to_grid

    t0 = time.perf_counter()
    lm = as_loaded(model, device, dtype, config)
    _check_common(steps, guidance_scale, seed)
    _check_strength(strength, steps)
    image = as_image(image, name="image")
    mask = as_mask(mask, name="mask", shape=image.shape[:2])
    if not isinstance(grow_cells, int) or grow_cells < 0:
        raise InputError(f"grow_cells: expected an integer >= 0, got {grow_cells!r}")
    if not isinstance(feather_px, int) or feather_px < 0:
        raise InputError(f"feather_px: expected an integer >= 0, got {feather_px!r}")
    f = lm.vae_factor
    h0, w0 = image.shape[:2]
    ph, pw = _pad_amounts(h0, w0, f)
    if (ph or pw) and not pad:
        check_size(h0, w0, f, what="image size")
    img = _pad(image, ph, pw)
    msk = np.pad(mask, ((0, ph), (0, pw))) if (ph or pw) else mask
    grid = snap_to_grid(msk, cell=f, grow_cells=grow_cells)
    pipe = lm.pipeline("inpaint", scheduler)
    # The grid mask is whole cells, so diffusers' nearest-neighbour downsampling to the latent
    # grid reproduces it exactly: pixel grid mask and latent mask agree cell for cell.
    cond, cond_report = _conditioning(lm, pipe, prompt, negative_prompt, prompt_embeds)
    decoded, lat = _run(pipe, progress=progress, image=img, mask_image=grid, strength=strength,
                        height=img.shape[0], width=img.shape[1], num_inference_steps=steps,
                        guidance_scale=guidance_scale, generator=cpu_generator(seed), **cond)
    region = grid > 0
    report: dict = {"mask": {"coverage_in": float(np.mean(msk > 0)),
                             "coverage_grid": float(np.mean(region)),
                             "latent_cells": int(region[::f, ::f].sum()),
                             "cell_px": f, "grow_cells": grow_cells}}
    fill = decoded
    if color_match and region.any():
        fill, report["color"] = _reconcile_colors(decoded, img, region, ring_px=ring_px)
    alpha = grid
    if feather_px:
        from seamline.ops.compose import edit_alpha

        # never outside the grid: the bit-identity promise is about the grid mask
        alpha = np.minimum(edit_alpha((msk > 0).astype(np.float32), feather_px), grid)
    out = composite(img, fill, alpha)
    if ph or pw:
        out, decoded, grid = (np.ascontiguousarray(a[:h0, :w0]) for a in (out, decoded, grid))
        report["padded"] = {"bottom": ph, "right": pw, "mode": "reflect"}
    outside = grid == 0
    report["outside_identical"] = bool(np.array_equal(out[outside], image[outside]))
    prov = latent_provenance(lm, pipe, task="latent-inpaint", scheduler=scheduler, steps=steps,
                             guidance_scale=guidance_scale, seed=seed, height=img.shape[0],
                             width=img.shape[1], strength=strength, prompt=prompt,
                             negative_prompt=negative_prompt, grow_cells=grow_cells,
                             unet_in_channels=lm.info.unet_in_channels,
                             **_conditioning_provenance(cond_report))
    report["provenance"] = prov
    if cond_report:
        report["conditioning"] = cond_report
    report["seconds"] = round(time.perf_counter() - t0, 4)
    return Synthesis(image=out, latents=Latents(lat, prov), report=report, decoded=decoded,
                     mask=grid.astype(np.float32))


def _reconcile_colors(decoded: np.ndarray, original: np.ndarray, region: np.ndarray, *,
                      ring_px: int = 8, max_gain: float = 2.0) -> tuple[np.ndarray, dict]:
    """Remove the decoder's colour drift from the synthesised region.

    The map is fitted where decoded and original *should* agree: the untouched ring just
    outside ``region`` (its latents are the original's). Per Lab channel,
    ``(x - mean_dec) * gain + mean_orig`` with ``gain = std_orig / std_dec`` clipped to
    ``[1 / max_gain, max_gain]``; applied inside ``region`` only, so the synthesised content
    keeps its own colours and loses only the cast. Returns the corrected image and
    ``{"ring_px", "delta_e_ring_before", "delta_e_ring_after"}`` (ΔE2000 between mean ring
    colours of decoded and original).
    """
    from skimage.color import deltaE_ciede2000

    from seamline.ops.compose import lab_meanstd_transfer
    from seamline.ops.masks import context_ring

    ring = context_ring(region.astype(np.float32), ring_px) & ~region
    if ring.sum() < 16:
        return decoded, {"ring_px": ring_px, "skipped": "ring too small"}
    out, st = lab_meanstd_transfer(decoded, region, decoded[ring], original[ring],
                                   max_gain=max_gain)
    mu_o = st["mean_reference"]
    return out, {
        "ring_px": ring_px,
        "delta_e_ring_before": round(float(deltaE_ciede2000(st["mean_source"], mu_o)), 4),
        "delta_e_ring_after": round(float(deltaE_ciede2000(st["mean_mapped_in_gamut"], mu_o)), 4),
        "gain": [round(float(g), 4) for g in st["gain"]]}

