"""Calibration profiles: the latent statistics a receiving stage declares, measured from real
images. (Not ``calibrate.py``: a submodule named like the function it exports would be shadowed
by it on the package.)

- :func:`calibrate`: per-channel latent mean/std of a model's VAE encodings of real images
  (and their spread across images), written by ``seamline calibrate`` as a profile.
- :func:`load_profile` / :func:`check_profile`: read one back and check it belongs to the
  model (channels, weights hash).
- :func:`latents_contract` / :func:`profile_target`: the port a latents-receiving stage
  declares: the runner checks incoming latents against the profile's target and, under
  ``reconcile``, re-centres them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from seamline.diffusion.loading import LoadedModel, as_loaded
from seamline.diffusion.locate import ModelInfo, inspect_model
from seamline.diffusion.vae import check_size, encode_image
from seamline.errors import InputError
from seamline.io import image_extensions

__all__ = ["PROFILE_FORMAT", "calibrate", "load_profile", "check_profile", "latents_contract",
           "profile_target", "square_crop"]

PROFILE_FORMAT = "seamline.latent_profile"


def _image_files(images) -> list:
    if isinstance(images, (str, os.PathLike)):
        d = Path(images)
        if not d.exists():
            raise InputError(f"images {d}: folder does not exist")
        if d.is_file():
            return [d]
        readable = frozenset(image_extensions())  # what io reads: one list of formats
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in readable
                       and p.is_file())
        if not files:
            raise InputError(f"images {d}: no image files (no file named like a format "
                             "seamline reads: .png, .jpg, .tif, .webp, .tga, ...)")
        return files
    items = list(images)
    if not items:
        raise InputError("images: none given")
    return items


def square_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centred square of ``image`` resized to ``size`` x ``size`` (area interpolation when
    shrinking, cubic when growing); ``(size, size, 3)`` float32 in [0, 1]."""
    import cv2

    h, w = image.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    crop = image[y:y + s, x:x + s]
    interp = cv2.INTER_AREA if s > size else cv2.INTER_CUBIC
    return np.clip(cv2.resize(crop, (size, size), interpolation=interp), 0, 1).astype(np.float32)


def calibrate(model, images, *, size: int | None = None, max_images: int = 64,
              device: str = "auto", dtype: str = "auto", config=None,
              progress: bool | None = None) -> dict:
    """Per-channel latent statistics of a model's VAE encodings of real images.

    Parameters
    ----------
    model : str, path or LoadedModel
    images : folder, or list of paths / (H, W, 3) float32 arrays
        Each is centre-cropped to a square and resized to ``size``; at most ``max_images``,
        spread evenly over the sorted list (deterministic).
    size : int, optional
        Encoding size; a multiple of the VAE factor. Default: the model's native size.

    Returns
    -------
    dict
        The profile (JSON-serialisable; write it with :func:`seamline.core.artifacts.write_json`):
        ``format``, ``version``, ``model``, ``weights_sha256``, ``latent_channels``,
        ``scaling_factor``, ``shift_factor``, ``vae_factor``, ``latent_space`` ("scaled"),
        ``encoding`` ("posterior mean"), ``image_size``, ``images``, ``channel_mean``,
        ``channel_std`` (pooled over all latent cells of all images), ``spread_mean`` /
        ``spread_std`` (std across images of the per-image channel means / stds),
        ``tolerance_mean`` / ``tolerance_std`` (the default contract tolerances:
        ``max(2 * spread, 0.05 * channel_std)``), ``files``.
    """
    from seamline.io import as_image, load_image

    lm = as_loaded(model, device, dtype, config)
    size = size or lm.info.default_size
    check_size(size, size, lm.vae_factor, what="calibration size")
    if not isinstance(max_images, int) or max_images < 1:
        raise InputError(f"max_images: expected an integer >= 1, got {max_images!r}")
    items = _image_files(images)
    if len(items) > max_images:
        idx = np.linspace(0, len(items) - 1, max_images).round().astype(int)
        items = [items[i] for i in sorted(set(idx))]
    means, stds, names = [], [], []
    bar = None
    if progress or progress is None:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=len(items), unit="image", file=sys.stderr, leave=False,
                   disable=None if progress is None else False, desc="calibrate")
    for it in items:
        img = load_image(it) if isinstance(it, (str, os.PathLike)) else as_image(it)
        lat = encode_image(lm, square_crop(img, size)).data.reshape(lm.latent_channels, -1)
        lat = lat.astype(np.float64)
        means.append(lat.mean(axis=1))
        stds.append(lat.std(axis=1))
        names.append(Path(it).name if isinstance(it, (str, os.PathLike)) else "<array>")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    means, stds = np.array(means), np.array(stds)
    mean = means.mean(axis=0)
    # law of total variance: every image has the same number of latent cells
    std = np.sqrt((stds ** 2).mean(axis=0) + means.var(axis=0))
    spread_m, spread_s = means.std(axis=0), stds.std(axis=0)
    r = lambda v: [round(float(x), 6) for x in v]  # noqa: E731
    import diffusers

    from seamline._version import __version__

    return {
        "format": PROFILE_FORMAT, "version": 1, "model": lm.model_id,
        "weights_sha256": lm.weights_sha256, "latent_channels": lm.latent_channels,
        "scaling_factor": lm.scaling_factor, "shift_factor": lm.shift_factor,
        "vae_factor": lm.vae_factor, "latent_space": "scaled", "encoding": "posterior mean",
        "image_size": size, "images": len(items), "channel_mean": r(mean), "channel_std": r(std),
        "spread_mean": r(spread_m), "spread_std": r(spread_s),
        "tolerance_mean": r(np.maximum(2 * spread_m, 0.05 * std)),
        "tolerance_std": r(np.maximum(2 * spread_s, 0.05 * std)),
        "files": names, "seamline": __version__, "diffusers": diffusers.__version__,
    }


def load_profile(path: str | os.PathLike) -> dict:
    """Read and validate a calibration profile written by ``seamline calibrate``.

    Raises
    ------
    InputError
        Missing or unreadable file, not a seamline latent profile, inconsistent channels.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"profile {p}: file not found")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise InputError(f"profile {p}: not readable JSON ({type(e).__name__})") from None
    if not isinstance(doc, dict) or doc.get("format") != PROFILE_FORMAT:
        raise InputError(f"profile {p}: not a seamline latent profile (format "
                         f"{doc.get('format') if isinstance(doc, dict) else None!r})")
    try:
        c = int(doc["latent_channels"])
        for k in ("channel_mean", "channel_std", "tolerance_mean", "tolerance_std"):
            if len(doc[k]) != c or not all(math.isfinite(float(v)) for v in doc[k]):
                raise ValueError(k)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"profile {p}: missing or inconsistent entry {str(e).strip(chr(39))!r}"
                         ) from None
    return doc


def check_profile(profile: dict, info: ModelInfo | LoadedModel, *, path: str = "") -> None:
    """Raise a one-line :class:`InputError` when ``profile`` was calibrated for another model:
    a different latent channel count, a different weights hash, or (no hash) another model id.
    """
    info = info.info if isinstance(info, LoadedModel) else info
    where = f"profile {path}" if path else "profile"
    if int(profile["latent_channels"]) != info.latent_channels:
        raise InputError(f"{where}: calibrated for {profile.get('model')} with "
                         f"{profile['latent_channels']} latent channels; model "
                         f"{info.source.spec} has {info.latent_channels}")
    theirs, ours = profile.get("weights_sha256"), info.weights_sha256
    if theirs and theirs != ours:
        raise InputError(f"{where}: calibrated for another model ({profile.get('model')}, weights "
                         f"sha256 {theirs[:12]}); model {info.source.spec} has weights sha256 "
                         f"{ours[:12]}; run seamline calibrate for it")
    if not theirs and profile.get("model") != info.model_id:
        raise InputError(f"{where}: calibrated for model {profile.get('model')}, not "
                         f"{info.model_id}")


def latents_contract(model, *, config=None, guidance_scale: float = 7.5,
                     scheduler: str = "default", profile: str | os.PathLike | None = None,
                     profile_tolerance: float | None = None, strict_provenance: bool = False,
                     doc: str = ""):
    """The contract of a port that receives latents for ``model`` run with these settings.

    - ``channels``: the model's latent channel count (an error no adapter fixes);
    - ``profile`` (when a calibration profile is given, checked to belong to this model): the
      per-channel target the ``recenter`` adapter brings incoming latents to;
    - ``provenance``: this stage's guidance scale, scheduler class and model (id + weights
      hash), compared with what produced the latents; ``warn`` unless
      ``strict_provenance``.

    Reads configs and the (cached) weights hash; loads no weights.

    Returns
    -------
    seamline.core.contracts.PortSpec
    """
    from seamline.core.contracts import PortSpec

    info = inspect_model(model, config=config)
    target = None
    if profile:
        prof = load_profile(profile)
        check_profile(prof, info, path=str(profile))
        target = profile_target(prof, path=str(profile), tolerance=profile_tolerance)
    provenance = (("guidance_scale", float(guidance_scale)),
                  ("scheduler", info.scheduler_class(scheduler)),
                  ("model", {"id": info.model_id, "sha256": info.weights_sha256}))
    return PortSpec("latents", channels=info.latent_channels, profile=target,
                    provenance=provenance, optional=True, doc=doc,
                    provenance_severity="error" if strict_provenance else "warn")


def profile_target(profile: dict, *, path: str = "", tolerance: float | None = None):
    """The :class:`seamline.core.contracts.LatentTarget` a port declares from a profile.

    ``tolerance``: one absolute tolerance (latent units) for every channel's mean and std
    instead of the profile's ``tolerance_mean``/``tolerance_std``.
    """
    from seamline.core.contracts import LatentTarget

    c = int(profile["latent_channels"])
    if tolerance is not None:
        if not tolerance >= 0:
            raise InputError(f"profile_tolerance: expected a number >= 0, got {tolerance!r}")
        tm = ts = (float(tolerance),) * c
    else:
        tm = tuple(float(v) for v in profile["tolerance_mean"])
        ts = tuple(float(v) for v in profile["tolerance_std"])
    return LatentTarget(mean=tuple(float(v) for v in profile["channel_mean"]),
                        std=tuple(float(v) for v in profile["channel_std"]),
                        tol_mean=tm, tol_std=ts, source=str(path))

