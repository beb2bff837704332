"""The VAE: pixels to the model's scaled latent space and back, and the size rule it sets.

Latents are always in the model's **scaled** space, the one the UNet denoises:
``z = scaling_factor * (vae_latent - shift_factor)`` (``shift_factor`` is None for the Stable
Diffusion family). That is what diffusers pipelines return with ``output_type="latent"`` and
accept as ``latents=`` or as an img2img ``image=``.
"""

from __future__ import annotations

import numpy as np

from seamline.core.artifacts import Latents
from seamline.diffusion.loading import LoadedModel, as_loaded, cpu_generator
from seamline.errors import InputError

__all__ = ["check_size", "latents_array", "encode_image", "decode_latents"]


def check_size(height: int, width: int, factor: int, *, what: str = "size") -> None:
    """Raise a one-line :class:`InputError` naming the nearest valid sizes when ``height`` or
    ``width`` is not a positive multiple of the VAE factor."""
    if height > 0 and width > 0 and height % factor == 0 and width % factor == 0:
        return

    def near(v):
        lo = max(factor, (v // factor) * factor)
        return sorted({lo, lo + factor} if v % factor else {v})

    hs, ws = near(max(height, 1)), near(max(width, 1))
    options = sorted({(w, h) for w in ws for h in hs}, key=lambda s: (abs(s[0] - width) +
                                                                       abs(s[1] - height), s))
    names = ", ".join(f"{w}x{h}" for w, h in options[:4])
    raise InputError(f"{what} {width}x{height} (WxH) is not a multiple of the VAE factor "
                     f"{factor}; nearest valid sizes: {names}")


def latents_array(latents, lm: LoadedModel) -> np.ndarray:
    """The ``(C, h, w)`` float32 array of :class:`Latents` or an array, checked against the
    model's latent channels and for non-finite values (one-line :class:`InputError`)."""
    data = latents.data if isinstance(latents, Latents) else np.asarray(latents, np.float32)
    if data.ndim != 3:
        raise InputError(f"latents: expected (channels, height, width), got shape {data.shape}")
    if data.shape[0] != lm.latent_channels:
        raise InputError(f"latents: {data.shape[0]} channels, but model {lm.source.spec} works "
                         f"in {lm.latent_channels} latent channels")
    if not np.isfinite(data).all():
        raise InputError("latents: contain NaN or inf values")
    return data


def encode_image(model, image: np.ndarray, *, sample: bool = False, seed: int = 0,
                 device: str = "auto", dtype: str = "auto", config=None) -> Latents:
    """Encode an image with the model's VAE into the scaled latent space.

    Parameters
    ----------
    image : (H, W, 3) float32 ndarray in [0, 1]
        H and W multiples of the VAE factor.
    sample : bool
        Draw from the posterior (seeded) instead of taking its mean (the default: what a
        calibration wants, deterministic).

    Returns
    -------
    Latents
        ``(C, H / f, W / f)`` float32, ``scaling_factor * (z - shift_factor)``.
    """
    import torch

    from seamline.io import as_image

    lm = as_loaded(model, device, dtype, config)
    image = as_image(image, name="image")
    check_size(image.shape[0], image.shape[1], lm.vae_factor, what="image size")
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None] * 2 - 1
    vae = lm.pipe.vae
    with torch.no_grad():
        dist = vae.encode(x.to(lm.device, vae.dtype)).latent_dist
        z = dist.sample(cpu_generator(seed)) if sample else dist.mode()
        if lm.shift_factor is not None:
            z = z - lm.shift_factor
        z = z * lm.scaling_factor
    data = z[0].to("cpu", torch.float32).numpy().copy()
    return Latents(data, {"model": lm.model_id, "weights_sha256": lm.weights_sha256,
                          "task": "encode", "latent_space": "scaled",
                          "encoding": "posterior sample" if sample else "posterior mean",
                          "scaling_factor": lm.scaling_factor, "shift_factor": lm.shift_factor,
                          "height": image.shape[0], "width": image.shape[1]})


def decode_latents(model, latents, *, device: str = "auto", dtype: str = "auto",
                   config=None) -> np.ndarray:
    """Decode scaled latents to an ``(H, W, 3)`` float32 image in [0, 1] (diffusers' own
    post-processing)."""
    import torch

    lm = as_loaded(model, device, dtype, config)
    data = latents_array(latents, lm)
    z = torch.from_numpy(np.ascontiguousarray(data))[None].to(lm.device, lm.pipe.vae.dtype)
    z = z / lm.scaling_factor
    if lm.shift_factor is not None:
        z = z + lm.shift_factor
    with torch.no_grad():
        img = lm.pipe.vae.decode(z, return_dict=False)[0]
    return np.ascontiguousarray(lm.pipe.image_processor.postprocess(img, output_type="np")[0],
                                dtype=np.float32)

