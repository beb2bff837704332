"""Latent synthesis through diffusers, offline, with the latents' provenance carried along.

The package, by concern (``from seamline.diffusion import X`` works for every public name):

- :mod:`~seamline.diffusion.locate`: where a model lives and what it is, without loading
  weights (:func:`resolve_model`, :func:`inspect_model`, :func:`weights_hash`, the scheduler
  options). A diffusers folder, a single ``.safetensors`` checkpoint with its config, or a
  repo id already in the local Hugging Face cache; never a download.
- :mod:`~seamline.diffusion.loading`: :func:`load_model` (cached per model, weights mtime,
  device and dtype), :func:`resolve_device`, :class:`LoadedModel`.
- :mod:`~seamline.diffusion.synthesis`: :func:`generate`, :func:`img2img`,
  :func:`latent_inpaint` (pixels outside the latent-grid mask bit-identical to the input) and
  :func:`latent_provenance` (model id, weights sha256, VAE factors, scheduler, steps,
  guidance, seed, size: it travels with the :class:`~seamline.core.artifacts.Latents` into the
  run manifest).
- :mod:`~seamline.diffusion.vae`: :func:`encode_image`, :func:`decode_latents` in the model's
  *scaled* latent space (``z = scaling_factor * (vae_latent - shift_factor)``), and the size
  rule :func:`check_size`.
- :mod:`~seamline.diffusion.profiles`: :func:`calibrate` (per-channel latent statistics of
  real images: the target a receiving stage declares) and the latents contract built from it.

Tiny random models for tests and benchmarks live in :mod:`seamline.testing.tiny_sd`.
Heavy imports (torch, diffusers, transformers) happen inside the functions that need them.
"""

from __future__ import annotations

from seamline.core.artifacts import Latents
from seamline.diffusion.loading import (MODEL_CACHE_SIZE, LoadedModel, clear_model_cache,
                                        load_model, resolve_device)
from seamline.diffusion.locate import (REQUIRED_COMPONENTS, SCHEDULER_NAMES, SCHEDULERS,
                                       SINGLE_FILE_TYPES, WEIGHTED_COMPONENTS, ModelInfo,
                                       ModelSource, inspect_model, resolve_model, weights_hash)
from seamline.diffusion.profiles import (PROFILE_FORMAT, calibrate, check_profile,
                                         latents_contract, load_profile, profile_target)
from seamline.diffusion.synthesis import (Synthesis, generate, img2img, latent_inpaint,
                                          latent_provenance)
from seamline.diffusion.vae import check_size, decode_latents, encode_image

__all__ = ["SCHEDULERS", "SCHEDULER_NAMES", "REQUIRED_COMPONENTS", "WEIGHTED_COMPONENTS",
           "SINGLE_FILE_TYPES", "PROFILE_FORMAT", "MODEL_CACHE_SIZE", "ModelSource", "ModelInfo",
           "LoadedModel", "Synthesis", "resolve_model", "inspect_model", "load_model",
           "resolve_device", "clear_model_cache", "weights_hash", "generate", "img2img",
           "latent_inpaint", "encode_image", "decode_latents", "latent_provenance", "calibrate",
           "load_profile", "check_profile", "profile_target", "latents_contract", "check_size",
           "Latents"]
