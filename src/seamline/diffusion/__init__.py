"""Latent synthesis through diffusers, offline, with the latents' provenance carried along.

What this module does
---------------------
- **Loading** (:func:`load_model`): a diffusers pipeline folder, a single ``.safetensors``
  checkpoint (with its diffusers config from a folder or the local Hugging Face cache), or a
  repo id that is already in the local Hugging Face cache. Never a download: every hub call is
  made with ``local_files_only=True`` *and* inside a window where ``huggingface_hub`` is in
  offline mode, so a library that would fall back to the network (diffusers' single-file loader
  does, when a config is not cached) fails instead. Supported: the Stable Diffusion component
  layout (``unet``, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler``), i.e. SD 1.x/2.x
  and fine-tunes of them, text-to-image and inpainting (9-channel) UNets. Loaded pipelines are
  cached per (model, weights mtime, device, dtype).
- **Synthesis** (:func:`generate`, :func:`img2img`, :func:`latent_inpaint`): thin calls into
  the diffusers pipelines (so the numbers are diffusers' own: the benchmark checks the outputs
  are bit-identical to calling diffusers directly), with the final latents captured through
  ``callback_on_step_end``, a CPU ``torch.Generator`` per call (the same seed gives the same
  result on any device that computes the same), and diffusers' progress bar over the steps.
- **Latent inpainting done right**: the pixel mask is brought to the latent grid conservatively
  (:func:`seamline.ops.masks.snap_to_grid`: max-pool per VAE cell, grow one cell), the denoising
  loop blends the original image's noised latents outside it at every step (diffusers' legacy
  4-channel inpainting, RePaint-style), the decoded result is composited back in pixel space
  with :func:`seamline.ops.inpaint.composite`, so pixels outside the grid mask are bit-identical to
  the input, and its colours are reconciled to the untouched surroundings.
- **Provenance** (:func:`latent_provenance`): model id, weights sha256 (over the component
  weight files, cached on disk), VAE scaling/shift factor, scheduler class and config, steps,
  guidance scale, seed, size. It travels with the :class:`~seamline.core.artifacts.Latents` and into
  the run manifest.
- **Calibration** (:func:`calibrate`): per-channel latent mean/std of a model's VAE encodings
  of real images (and their spread across images): the target a receiving stage declares, so
  the runner can check incoming latents against it and re-centre them.

Latent space convention
-----------------------
Latents are always in the model's **scaled** space, the one the UNet denoises:
``z = scaling_factor * (vae_latent - shift_factor)`` (``shift_factor`` is None for the Stable
Diffusion family). That is what diffusers pipelines return with ``output_type="latent"`` and
accept as ``latents=`` or as an img2img ``image=``.

Heavy imports (torch, diffusers, transformers) happen inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import threading
import time
import types
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seamline.core.artifacts import Latents
from seamline.core.atomic import write_text_atomic
from seamline.errors import InputError

__all__ = ["SCHEDULERS", "ModelSource", "ModelInfo", "LoadedModel", "Synthesis", "resolve_model",
           "inspect_model", "load_model", "clear_model_cache", "weights_hash", "generate",
           "img2img", "latent_inpaint", "encode_image", "decode_latents", "latent_provenance",
           "calibrate", "load_profile", "check_profile", "profile_target", "latents_contract",
           "check_size", "save_tiny_model", "write_tiny_vocab",
           "Latents"]

#: Scheduler names a stage accepts -> diffusers class. ``default`` keeps the model's own.
SCHEDULERS = {
    "ddim": "DDIMScheduler",
    "pndm": "PNDMScheduler",
    "euler": "EulerDiscreteScheduler",
    "euler-a": "EulerAncestralDiscreteScheduler",
    "dpm++2m": "DPMSolverMultistepScheduler",
    "lms": "LMSDiscreteScheduler",
    "unipc": "UniPCMultistepScheduler",
}
SCHEDULER_NAMES = ("default", *SCHEDULERS)

#: Components of the Stable Diffusion layout, and those that carry weights.
REQUIRED_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")
WEIGHTED_COMPONENTS = ("unet", "vae", "text_encoder")
#: Single-file checkpoint types (diffusers' ``infer_diffusers_model_type``) seamline runs.
SINGLE_FILE_TYPES = {"v1": "Stable Diffusion 1.x", "v2": "Stable Diffusion 2.x",
                     "inpainting": "Stable Diffusion 1.x inpainting",
                     "inpainting_v2": "Stable Diffusion 2.x inpainting"}
PROFILE_FORMAT = "seamline.latent_profile"
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_REPO_ID_RE = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_SHARD_RE = re.compile(r"-\d{5}-of-\d{5}$")


# ---------------------------------------------------------------------------------------------
# Where a model lives


@dataclass(frozen=True)
class ModelSource:
    """A model reference resolved to local files (nothing loaded yet).

    Attributes
    ----------
    spec : str
        The reference as given (path or repo id).
    kind : {"folder", "single-file", "hf-cache"}
    path : Path
        The diffusers folder (``folder``, ``hf-cache``: the cached snapshot) or the
        ``.safetensors`` file.
    model_id : str
        Stable identity for provenance: the resolved path, or ``repo_id@snapshot``.
    config_dir : Path or None
        ``single-file`` only: the diffusers folder whose configs describe the checkpoint.
    file_type : str or None
        ``single-file`` only: diffusers' checkpoint type (``v1``, ``v2``, ``inpainting``...).
    """

    spec: str
    kind: str
    path: Path
    model_id: str
    config_dir: Path | None = None
    file_type: str | None = None

    @property
    def config_root(self) -> Path:
        """The folder holding ``model_index.json`` and the component configs."""
        return self.config_dir if self.kind == "single-file" else self.path


def resolve_model(model: str | os.PathLike, *, config: str | os.PathLike | None = None
                  ) -> ModelSource:
    """Resolve a model reference to local files, checking the layout; no weights are read.

    Parameters
    ----------
    model : str or path
        A diffusers pipeline folder, a single ``.safetensors`` checkpoint, or a Hugging Face
        repo id (``org/name``) already in the local cache.
    config : str or path, optional
        Single-file checkpoints only: a diffusers folder (or a cached repo id) of the same
        architecture whose ``model_index.json`` and component configs describe the checkpoint.
        Default: the config diffusers would use, if it is in the local Hugging Face cache.

    Raises
    ------
    InputError
        The path does not exist; the folder lacks a component (named); the architecture is not
        the Stable Diffusion layout; a repo id is not in the local cache; a single-file
        checkpoint's config is not available offline.
    """
    spec = str(model) if model is not None else ""
    if not spec.strip():
        raise InputError("model: required (a diffusers folder, a .safetensors checkpoint, or a "
                         "Hugging Face repo id in the local cache)")
    p = Path(spec).expanduser()
    if p.is_dir():
        _check_folder(p, spec)
        return ModelSource(spec, "folder", p.resolve(), str(p.resolve()))
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix in (".ckpt", ".pt", ".pth", ".bin"):
            raise InputError(f"model {spec}: {suffix} checkpoints are pickles and are not loaded "
                             "(arbitrary code); convert it to .safetensors")
        if suffix != ".safetensors":
            raise InputError(f"model {spec}: expected a diffusers folder or a .safetensors "
                             f"checkpoint, got a {suffix or 'suffix-less'} file")
        file_type = _single_file_type(p, spec)
        config_dir = _single_file_config(file_type, config, spec)
        return ModelSource(spec, "single-file", p.resolve(), str(p.resolve()),
                           config_dir=config_dir, file_type=file_type)
    looks_like_path = (spec.startswith((".", "/", "~")) or spec.count("/") != 1
                       or spec.lower().endswith((".safetensors", ".ckpt", ".json")))
    if looks_like_path or not _REPO_ID_RE.match(spec):
        raise InputError(f"model {spec}: path does not exist")
    folder = _cached_snapshot(spec, what=f"model {spec}")
    _check_folder(folder, spec)
    return ModelSource(spec, "hf-cache", folder, f"{spec}@{folder.name}")


def _cached_snapshot(repo_id: str, *, what: str, allow_patterns: list[str] | None = None) -> Path:
    """The local snapshot folder of a cached repo; never downloads."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:  # pragma: no cover - diffusers depends on it
        raise InputError(f"{what}: huggingface_hub is not installed; give a local path") from None
    try:
        with _offline():
            return Path(snapshot_download(repo_id, local_files_only=True,
                                          allow_patterns=allow_patterns))
    except Exception as e:  # LocalEntryNotFoundError, OfflineModeIsEnabled, bad repo id...
        raise InputError(f"{what}: not a local path and not in the local Hugging Face cache "
                         f"({type(e).__name__}); seamline never downloads: fetch it yourself "
                         f"(hf download {repo_id}) or give a folder") from None


def _read_json(path: Path, what: str) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{what}: {path.name} not found in {path.parent}") from None
    except (OSError, ValueError) as e:
        raise InputError(f"{what}: cannot read {path} ({type(e).__name__})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{what}: {path} is not a JSON object")
    return doc


def _check_folder(folder: Path, spec: str) -> dict:
    """Check a diffusers folder has the Stable Diffusion layout with every component present."""
    what = f"model {spec}"
    index_path = folder / "model_index.json"
    if not index_path.is_file():
        raise InputError(f"{what}: not a diffusers pipeline folder (no model_index.json)")
    index = _read_json(index_path, what)
    cls = index.get("_class_name", "?")
    listed = {k for k, v in index.items() if not k.startswith("_") and isinstance(v, list)
              and v and v[0] is not None}
    if "transformer" in listed or "prior" in listed or "text_encoder_2" in listed or \
            "unet" not in index:
        raise InputError(f"{what}: unsupported architecture {cls!r}; seamline runs the Stable "
                         "Diffusion layout (unet, vae, text_encoder, tokenizer, scheduler)")
    for comp in REQUIRED_COMPONENTS:
        if comp not in listed:
            raise InputError(f"{what}: component {comp!r} is missing (not listed in "
                             "model_index.json)")
        sub = folder / comp
        if not sub.is_dir():
            raise InputError(f"{what}: component {comp!r} is missing (no {comp}/ folder)")
        if comp in WEIGHTED_COMPONENTS:
            if not (sub / "config.json").is_file():
                raise InputError(f"{what}: component {comp!r} has no config.json")
            if not _component_weights(sub):
                raise InputError(f"{what}: component {comp!r} has no weights (no .safetensors "
                                 f"or .bin file in {comp}/)")
        elif comp == "scheduler" and not (sub / "scheduler_config.json").is_file():
            raise InputError(f"{what}: component 'scheduler' has no scheduler_config.json")
        elif comp == "tokenizer" and not any((sub / n).is_file() for n in (
                "tokenizer.json", "vocab.json", "tokenizer_config.json")):
            raise InputError(f"{what}: component 'tokenizer' has no tokenizer files")
    return index


def _component_weights(sub: Path) -> list[Path]:
    """The weight files diffusers loads for a component: non-variant ``.safetensors`` (shards
    included), else ``.bin``. Variant files (``*.fp16.safetensors``) are not loaded, so they
    are not part of the identity either."""
    for suffix in _WEIGHT_SUFFIXES:
        files = [f for f in sorted(sub.iterdir()) if f.is_file() and f.suffix == suffix
                 and "." not in _SHARD_RE.sub("", f.name[: -len(suffix)])]
        if files:
            return files
    return []


class _ShapeView:
    """Key -> object with ``.shape`` over a safetensors header, for diffusers' type sniffing
    without reading the tensors."""

    def __init__(self, handle):
        self._h = handle
        self._keys = set(handle.keys())

    def __contains__(self, key):
        return key in self._keys

    def __iter__(self):
        return iter(self._keys)

    def keys(self):
        return self._keys

    def __getitem__(self, key):
        if key not in self._keys:
            raise KeyError(key)
        return types.SimpleNamespace(shape=tuple(self._h.get_slice(key).get_shape()))


def _single_file_type(path: Path, spec: str) -> str:
    what = f"model {spec}"
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            view = _ShapeView(handle)
            if not any(k.startswith("model.diffusion_model.") for k in view.keys()):
                raise InputError(f"{what}: unsupported architecture: not a Stable Diffusion "
                                 "checkpoint (no model.diffusion_model.* UNet weights)")
            from diffusers.loaders.single_file_utils import infer_diffusers_model_type

            file_type = infer_diffusers_model_type(view)
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{what}: not a readable .safetensors checkpoint "
                         f"({type(e).__name__})") from None
    if file_type not in SINGLE_FILE_TYPES:
        raise InputError(f"{what}: unsupported architecture {file_type!r}; seamline runs "
                         f"{', '.join(SINGLE_FILE_TYPES.values())} checkpoints")
    return file_type


def _single_file_config(file_type: str, config, spec: str) -> Path:
    what = f"model {spec}"
    if config is not None:
        c = Path(str(config)).expanduser()
        if c.is_dir():
            _check_config_folder(c, f"model config {config}")
            return c.resolve()
        if not _REPO_ID_RE.match(str(config)):
            raise InputError(f"model config {config}: path does not exist")
        folder = _cached_snapshot(str(config), what=f"model config {config}",
                                  allow_patterns=["**/*.json", "*.json", "**/*.txt", "*.txt"])
        _check_config_folder(folder, f"model config {config}")
        return folder
    from diffusers.loaders.single_file_utils import DIFFUSERS_DEFAULT_PIPELINE_PATHS

    repo = DIFFUSERS_DEFAULT_PIPELINE_PATHS[file_type]["pretrained_model_name_or_path"]
    try:
        folder = _cached_snapshot(repo, what="config", allow_patterns=[
            "**/*.json", "*.json", "**/*.txt", "*.txt", "**/*.model"])
    except InputError:
        raise InputError(f"{what}: a single-file {SINGLE_FILE_TYPES[file_type]} checkpoint needs "
                         f"its diffusers config ({repo}), which is not in the local Hugging Face "
                         "cache, and seamline never downloads; pass model_config (--model-config"
                         " DIR): a diffusers folder of the same architecture") from None
    _check_config_folder(folder, f"config {repo}")
    return folder


def _check_config_folder(folder: Path, what: str) -> None:
    if not (folder / "model_index.json").is_file():
        raise InputError(f"{what}: not a diffusers pipeline folder (no model_index.json)")
    for comp in ("unet", "vae", "text_encoder", "scheduler", "tokenizer"):
        if not (folder / comp).is_dir():
            raise InputError(f"{what}: component {comp!r} config is missing (no {comp}/ folder)")


# ---------------------------------------------------------------------------------------------
# What a model is, from its configs (cheap: no weights read)


@dataclass(frozen=True)
class ModelInfo:
    """A model's latent-space facts, read from its JSON configs.

    Attributes
    ----------
    source : ModelSource
    pipeline_class : str
        ``_class_name`` from ``model_index.json``.
    latent_channels : int
        VAE latent channels (4 for Stable Diffusion).
    unet_in_channels : int
        4 for text-to-image UNets, 9 for inpainting UNets.
    vae_factor : int
        Pixels per latent cell: ``2 ** (len(vae.block_out_channels) - 1)`` (8 for SD).
    scaling_factor : float
    shift_factor : float or None
    scheduler : str
        The model's own scheduler class name.
    default_size : int
        ``unet.sample_size * vae_factor`` (512 for SD 1.5, 768 for SD 2.1).
    """

    source: ModelSource
    pipeline_class: str
    latent_channels: int
    unet_in_channels: int
    vae_factor: int
    scaling_factor: float
    shift_factor: float | None
    scheduler: str
    default_size: int

    @property
    def model_id(self) -> str:
        return self.source.model_id

    @property
    def weights_sha256(self) -> str:
        return weights_hash(self.source)

    def scheduler_class(self, name: str) -> str:
        """Class name the scheduler option ``name`` resolves to for this model."""
        _check_scheduler_name(name)
        return self.scheduler if name == "default" else SCHEDULERS[name]


def inspect_model(model: str | os.PathLike | ModelSource, *, config=None) -> ModelInfo:
    """Read a model's latent-space facts from its configs (see :class:`ModelInfo`).

    Raises
    ------
    InputError
        As :func:`resolve_model`, or a config that cannot be read.
    """
    src = model if isinstance(model, ModelSource) else resolve_model(model, config=config)
    root = src.config_root
    what = f"model {src.spec}"
    index = _read_json(root / "model_index.json", what)
    vae = _read_json(root / "vae" / "config.json", what)
    unet = _read_json(root / "unet" / "config.json", what)
    sched = _read_json(root / "scheduler" / "scheduler_config.json", what)
    blocks = vae.get("block_out_channels") or [0, 0, 0, 0]
    factor = 2 ** (len(blocks) - 1)
    sample = unet.get("sample_size") or 64
    sample = sample[0] if isinstance(sample, (list, tuple)) else sample
    latent_channels = int(vae.get("latent_channels", 4))
    unet_in = int(unet.get("in_channels", 4))
    if unet_in not in (latent_channels, 2 * latent_channels + 1):
        raise InputError(f"{what}: unsupported architecture: UNet takes {unet_in} channels, VAE "
                         f"has {latent_channels} latent channels")
    cls = index.get("_class_name", "StableDiffusionPipeline")
    if src.kind == "single-file":
        cls = ("StableDiffusionInpaintPipeline" if src.file_type.startswith("inpainting")
               else "StableDiffusionPipeline")
        unet_in = 2 * latent_channels + 1 if src.file_type.startswith("inpainting") else unet_in
    shift = vae.get("shift_factor")
    return ModelInfo(source=src, pipeline_class=cls, latent_channels=latent_channels,
                     unet_in_channels=unet_in, vae_factor=factor,
                     scaling_factor=float(vae.get("scaling_factor", 0.18215)),
                     shift_factor=None if shift is None else float(shift),
                     scheduler=str(sched.get("_class_name", "?")),
                     default_size=int(sample) * factor)


# ---------------------------------------------------------------------------------------------
# Weights hash (identity for provenance), cached in memory and on disk

_HASH_LOCK = threading.Lock()
_HASH_MEMO: dict[tuple, str] = {}
_DISK_CACHE: dict | None = None


def _cache_dir() -> Path:
    base = os.environ.get("SEAMLINE_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "seamline"


def _file_sha256(path: Path) -> str:
    """sha256 of one file, memoised by (resolved path, size, mtime) in memory and in
    ``$SEAMLINE_CACHE_DIR/weights-sha256.json`` (a few GB of weights take seconds to hash)."""
    global _DISK_CACHE
    real = path.resolve()
    st = real.stat()
    key = (str(real), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        if key in _HASH_MEMO:
            return _HASH_MEMO[key]
        cache_file = _cache_dir() / "weights-sha256.json"
        if _DISK_CACHE is None:
            try:
                _DISK_CACHE = json.loads(cache_file.read_text())
            except (OSError, ValueError):
                _DISK_CACHE = {}
        entry = _DISK_CACHE.get(str(real))
        if isinstance(entry, dict) and entry.get("size") == st.st_size and \
                entry.get("mtime_ns") == st.st_mtime_ns and isinstance(entry.get("sha256"), str):
            _HASH_MEMO[key] = entry["sha256"]
            return entry["sha256"]
    h = hashlib.sha256()
    with open(real, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _HASH_LOCK:
        _HASH_MEMO[key] = digest
        _DISK_CACHE[str(real)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                  "sha256": digest}
        try:  # an optimisation only: an unwritable cache directory is not an error
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache_file, json.dumps(_DISK_CACHE, indent=0))
        except OSError:
            pass
    return digest


def _weight_files(src: ModelSource) -> list[tuple[str, Path]]:
    if src.kind == "single-file":
        return [(src.path.name, src.path)]
    out = []
    for comp in WEIGHTED_COMPONENTS:
        for f in _component_weights(src.path / comp):
            out.append((f"{comp}/{f.name}", f))
    return out


def weights_hash(model: str | os.PathLike | ModelSource, *, config=None) -> str:
    """sha256 identifying a model's weights (hex, 64 chars).

    Over the component weight files diffusers loads (``unet``, ``vae``, ``text_encoder``), as
    ``sha256("relpath file_sha256\\n" ...)``; for a single-file checkpoint, the file's sha256.
    The same weights give the same hash wherever they are stored.
    """
    src = model if isinstance(model, ModelSource) else resolve_model(model, config=config)
    files = _weight_files(src)
    if src.kind == "single-file":
        return _file_sha256(files[0][1])
    h = hashlib.sha256()
    for rel, f in files:
        h.update(f"{rel} {_file_sha256(f)}\n".encode())
    return h.hexdigest()


def _mtime_signature(src: ModelSource) -> tuple:
    files = [f for _, f in _weight_files(src)] + [src.config_root / "model_index.json"]
    return tuple(sorted((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))


# ---------------------------------------------------------------------------------------------
# Loading


def resolve_device(device: str = "auto", dtype: str = "auto"):
    """``(torch.device, torch.dtype)``: CUDA when present with float16 (``bfloat16`` on
    request), float32 on CPU.

    Raises
    ------
    InputError
        An unknown device or dtype, CUDA/MPS asked for but absent, float16 on CPU.
    """
    import torch

    dev = str(device or "auto").lower()
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    if dev.startswith("cuda"):
        if not torch.cuda.is_available():
            raise InputError(f"device {device!r}: CUDA is not available here (torch "
                             f"{torch.__version__}); use device cpu or auto")
    elif dev == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise InputError("device 'mps': not available here; use device cpu or auto")
    elif dev != "cpu":
        raise InputError(f"device {device!r}: expected auto, cpu, cuda, cuda:N or mps")
    names = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
             "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
    dt = str(dtype or "auto").lower()
    if dt == "auto":
        tdtype = torch.float16 if dev.startswith("cuda") else torch.float32
    elif dt in names:
        tdtype = names[dt]
    else:
        raise InputError(f"dtype {dtype!r}: expected auto, float32, float16 or bfloat16")
    if dev == "cpu" and tdtype == torch.float16:
        raise InputError("dtype float16: not supported on CPU; use float32 (default) or "
                         "bfloat16")
    return torch.device(dev), tdtype


@contextlib.contextmanager
def _offline():
    """huggingface_hub in offline mode for the duration: any HTTP request raises."""
    try:
        import huggingface_hub.constants as hub_constants
    except ImportError:  # pragma: no cover
        yield
        return
    old_env, old_flag = os.environ.get("HF_HUB_OFFLINE"), hub_constants.HF_HUB_OFFLINE
    os.environ["HF_HUB_OFFLINE"] = "1"
    hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = old_flag
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env


@contextlib.contextmanager
def _quiet_loading():
    """No per-component loading bars (local loads take a second; the step bar is what counts)."""
    from diffusers.utils import logging as dlog
    from transformers.utils import logging as tlog

    d_on, t_on = dlog.is_progress_bar_enabled(), tlog.is_progress_bar_enabled()
    dlog.disable_progress_bar()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        if d_on:
            dlog.enable_progress_bar()
        if t_on:
            tlog.enable_progress_bar()


def _import_diffusers():
    """Import diffusers with transformers' import-time chatter muted (it warns that
    torchvision is absent, which seamline deliberately never installs)."""
    from transformers.utils import logging as tlog

    level = tlog.get_verbosity()
    tlog.set_verbosity_error()
    try:
        import diffusers
        from diffusers import (StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline,
                               StableDiffusionPipeline)
    finally:
        tlog.set_verbosity(level)
    return diffusers, StableDiffusionPipeline, StableDiffusionImg2ImgPipeline, \
        StableDiffusionInpaintPipeline


@dataclass
class LoadedModel:
    """A loaded pipeline and what seamline knows about it. Get one from :func:`load_model`.

    ``pipeline(task, scheduler)`` gives the diffusers pipeline for ``generate``, ``img2img`` or
    ``inpaint`` sharing this model's modules (no copy of the weights).
    """

    info: ModelInfo
    pipe: Any
    device: Any
    dtype: Any
    _derived: dict = field(default_factory=dict, repr=False)

    @property
    def source(self) -> ModelSource:
        return self.info.source

    @property
    def model_id(self) -> str:
        return self.info.model_id

    @property
    def weights_sha256(self) -> str:
        return weights_hash(self.info.source)

    @property
    def vae_factor(self) -> int:
        return int(self.pipe.vae_scale_factor)

    @property
    def latent_channels(self) -> int:
        return int(self.pipe.vae.config.latent_channels)

    @property
    def scaling_factor(self) -> float:
        return float(self.pipe.vae.config.scaling_factor)

    @property
    def shift_factor(self) -> float | None:
        s = getattr(self.pipe.vae.config, "shift_factor", None)
        return None if s is None else float(s)

    def pipeline(self, task: str, scheduler: str = "default"):
        """The diffusers pipeline for ``task`` with scheduler option ``scheduler``."""
        _check_scheduler_name(scheduler)
        key = (task, scheduler)
        if key not in self._derived:
            _, SD, SDI2I, SDInp = _import_diffusers()
            cls = {"generate": SD, "img2img": SDI2I, "inpaint": SDInp}[task]
            comps = dict(self.pipe.components)
            if scheduler != "default":
                import diffusers

                sched_cls = getattr(diffusers, SCHEDULERS[scheduler])
                comps["scheduler"] = sched_cls.from_config(self.pipe.scheduler.config)
            if type(self.pipe) is cls and scheduler == "default":
                pipe = self.pipe
            else:
                pipe = cls(**comps, requires_safety_checker=False)
            self._derived[key] = pipe
        return self._derived[key]


_MODELS: OrderedDict = OrderedDict()
_MODELS_LOCK = threading.Lock()
#: How many loaded pipelines stay in memory (an SD 1.5 pipeline is 2-4 GB).
MODEL_CACHE_SIZE = int(os.environ.get("SEAMLINE_MODEL_CACHE", "2"))


def clear_model_cache() -> None:
    """Drop every cached pipeline (frees their memory once nothing else holds them)."""
    with _MODELS_LOCK:
        _MODELS.clear()


def load_model(model: str | os.PathLike, *, device: str = "auto", dtype: str = "auto",
               config=None) -> LoadedModel:
    """Load a Stable Diffusion-layout pipeline from local files, cached per
    (model, weights mtime, device, dtype).

    Parameters
    ----------
    model : str or path
        See :func:`resolve_model`.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}
    dtype : {"auto", "float32", "float16", "bfloat16"}
        ``auto``: float16 on CUDA, float32 elsewhere.
    config : str or path, optional
        Single-file checkpoints: the diffusers config folder (see :func:`resolve_model`).

    Returns
    -------
    LoadedModel

    Notes
    -----
    The safety checker is not loaded: it blacks out whole images, which would break the
    latent/pixel contracts this module promises; models are the user's own local files.
    """
    src = resolve_model(model, config=config)
    info = inspect_model(src)
    dev, tdtype = resolve_device(device, dtype)
    key = (src.model_id, _mtime_signature(src), str(dev), str(tdtype), str(src.config_dir))
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
    _, SD, _, SDInp = _import_diffusers()
    cls = SDInp if info.unet_in_channels != info.latent_channels else SD
    try:
        with _offline(), _quiet_loading():
            if src.kind == "single-file":
                pipe = cls.from_single_file(str(src.path), config=str(src.config_dir),
                                            local_files_only=True, dtype=tdtype,
                                            safety_checker=None, feature_extractor=None,
                                            requires_safety_checker=False)
            else:
                pipe = cls.from_pretrained(str(src.path), local_files_only=True,
                                           dtype=tdtype, safety_checker=None,
                                           feature_extractor=None,
                                           requires_safety_checker=False)
    except InputError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, EnvironmentError) as e:
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise InputError(f"model {src.spec}: cannot load ({type(e).__name__}: {first})") from None
    pipe = pipe.to(dev)
    loaded = LoadedModel(info=info, pipe=pipe, device=dev, dtype=tdtype)
    with _MODELS_LOCK:
        _MODELS[key] = loaded
        while len(_MODELS) > max(1, MODEL_CACHE_SIZE):
            _MODELS.popitem(last=False)
    return loaded


def _as_loaded(model, device, dtype, config) -> LoadedModel:
    return model if isinstance(model, LoadedModel) else load_model(model, device=device,
                                                                   dtype=dtype, config=config)


# ---------------------------------------------------------------------------------------------
# Checks


def _check_scheduler_name(name: str) -> None:
    if name not in SCHEDULER_NAMES:
        raise InputError(f"scheduler {name!r}: expected one of {', '.join(SCHEDULER_NAMES)}")


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


def _generator(seed: int):
    import torch

    # A CPU generator: the same seed gives the same noise on any device (diffusers draws on
    # the CPU and moves it), so a CPU run reproduces a GPU run's starting point.
    return torch.Generator("cpu").manual_seed(int(seed))


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
    lm = _as_loaded(model, device, dtype, config)
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
                      generator=_generator(seed), **cond)
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


def _latents_array(latents, lm: LoadedModel) -> np.ndarray:
    data = latents.data if isinstance(latents, Latents) else np.asarray(latents, np.float32)
    if data.ndim != 3:
        raise InputError(f"latents: expected (channels, height, width), got shape {data.shape}")
    if data.shape[0] != lm.latent_channels:
        raise InputError(f"latents: {data.shape[0]} channels, but model {lm.source.spec} works "
                         f"in {lm.latent_channels} latent channels")
    if not np.isfinite(data).all():
        raise InputError("latents: contain NaN or inf values")
    return data


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
    lm = _as_loaded(model, device, dtype, config)
    _check_common(steps, guidance_scale, seed)
    _check_strength(strength, steps)
    if lm.info.unet_in_channels != lm.latent_channels:
        raise InputError(f"model {lm.source.spec}: an inpainting model (UNet with "
                         f"{lm.info.unet_in_channels} input channels); use latent-inpaint")
    f = lm.vae_factor
    extra: dict = {}
    if latents is not None:
        data = _latents_array(latents, lm)
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
                    generator=_generator(seed), **cond)
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
    3. The decoded result is composited back with :func:`seamline.ops.inpaint.composite` through
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
    from seamline.ops.inpaint import composite
    from seamline.ops.masks import snap_to_grid

    t0 = time.perf_counter()
    lm = _as_loaded(model, device, dtype, config)
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
                        guidance_scale=guidance_scale, generator=_generator(seed), **cond)
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
        from seamline.ops.inpaint import edit_alpha

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
    from skimage.color import deltaE_ciede2000, lab2rgb, rgb2lab

    from seamline.ops.masks import context_ring

    ring = context_ring(region.astype(np.float32), ring_px) & ~region
    if ring.sum() < 16:
        return decoded, {"ring_px": ring_px, "skipped": "ring too small"}
    lab_dec = rgb2lab(decoded[ring][None])[0]
    lab_org = rgb2lab(original[ring][None])[0]
    mu_d, sd_d = lab_dec.mean(0), lab_dec.std(0) + 1e-6
    mu_o, sd_o = lab_org.mean(0), lab_org.std(0) + 1e-6
    gain = np.clip(sd_o / sd_d, 1 / max_gain, max_gain)
    out = decoded.copy()
    lab_in = rgb2lab(decoded[region][None])[0]
    with warnings.catch_warnings():  # out-of-gamut Lab values are clipped, as intended
        warnings.simplefilter("ignore", UserWarning)
        out[region] = np.clip(lab2rgb(((lab_in - mu_d) * gain + mu_o)[None])[0], 0, 1)
        after = rgb2lab(np.clip(lab2rgb(((lab_dec - mu_d) * gain + mu_o)[None])[0], 0, 1)[None]
                        )[0]
    return out.astype(np.float32), {
        "ring_px": ring_px,
        "delta_e_ring_before": round(float(deltaE_ciede2000(mu_d, mu_o)), 4),
        "delta_e_ring_after": round(float(deltaE_ciede2000(after.mean(0), mu_o)), 4),
        "gain": [round(float(g), 4) for g in gain]}


# ---------------------------------------------------------------------------------------------
# VAE encode / decode


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

    lm = _as_loaded(model, device, dtype, config)
    image = as_image(image, name="image")
    check_size(image.shape[0], image.shape[1], lm.vae_factor, what="image size")
    x = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))[None] * 2 - 1
    vae = lm.pipe.vae
    with torch.no_grad():
        dist = vae.encode(x.to(lm.device, vae.dtype)).latent_dist
        z = dist.sample(_generator(seed)) if sample else dist.mode()
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

    lm = _as_loaded(model, device, dtype, config)
    data = _latents_array(latents, lm)
    z = torch.from_numpy(np.ascontiguousarray(data))[None].to(lm.device, lm.pipe.vae.dtype)
    z = z / lm.scaling_factor
    if lm.shift_factor is not None:
        z = z + lm.shift_factor
    with torch.no_grad():
        img = lm.pipe.vae.decode(z, return_dict=False)[0]
    return np.ascontiguousarray(lm.pipe.image_processor.postprocess(img, output_type="np")[0],
                                dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# Calibration profiles

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


def _image_files(images) -> list:
    if isinstance(images, (str, os.PathLike)):
        d = Path(images)
        if not d.exists():
            raise InputError(f"images {d}: folder does not exist")
        if d.is_file():
            return [d]
        files = sorted(p for p in d.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES
                       and p.is_file())
        if not files:
            raise InputError(f"images {d}: no image files ({', '.join(_IMAGE_SUFFIXES)})")
        return files
    items = list(images)
    if not items:
        raise InputError("images: none given")
    return items


def _square(image: np.ndarray, size: int) -> np.ndarray:
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

    lm = _as_loaded(model, device, dtype, config)
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
        lat = encode_image(lm, _square(img, size)).data.reshape(lm.latent_channels, -1)
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


# ---------------------------------------------------------------------------------------------
# Tiny random models (tests, benchmarks, demos: no download, seconds to build)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's byte -> printable-character table (byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def write_tiny_vocab(folder: str | os.PathLike) -> Path:
    """Write a byte-level CLIP BPE vocabulary with no merges (every byte a token, with and
    without the end-of-word mark) and return the folder: ``CLIPTokenizer.from_pretrained``
    reads it without any download. 514 tokens."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    chars = list(_bytes_to_unicode().values())
    for suffix in ("", "</w>"):
        for c in chars:
            vocab[c + suffix] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def save_tiny_model(folder: str | os.PathLike, *, seed: int = 0, inpainting: bool = False,
                    vae_blocks: int = 4, channels: int = 8, latent_channels: int = 4,
                    scaling_factor: float = 0.18215, cross_attention_dim: int = 32,
                    scheduler: str = "ddim") -> Path:
    """Build a tiny Stable Diffusion-layout pipeline with random weights (fixed seed) and save
    it as a diffusers folder, as diffusers' own tests do.

    UNet: 2 blocks (``channels``, ``2 * channels``), one cross-attention block; VAE:
    ``vae_blocks`` blocks of ``channels`` (VAE factor ``2 ** (vae_blocks - 1)``, 8 by default
    like SD); CLIP text encoder: 2 layers of width ``cross_attention_dim``; CLIP tokenizer from
    :func:`write_tiny_vocab`. A few hundred kB; builds in about a second.

    Returns
    -------
    Path
        The folder, loadable by :func:`load_model`.
    """
    import torch

    diffusers, SD, _, SDInp = _import_diffusers()
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(channels, 2 * channels), layers_per_block=1, sample_size=8,
        in_channels=2 * latent_channels + 1 if inpainting else latent_channels,
        out_channels=latent_channels, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cross_attention_dim, norm_num_groups=4, attention_head_dim=2)
    torch.manual_seed(seed + 1)
    vae = diffusers.AutoencoderKL(
        block_out_channels=[channels] * vae_blocks, in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * vae_blocks,
        up_block_types=["UpDecoderBlock2D"] * vae_blocks, latent_channels=latent_channels,
        norm_num_groups=4, sample_size=8 * 2 ** (vae_blocks - 1), scaling_factor=scaling_factor)
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=cross_attention_dim,
        intermediate_size=2 * cross_attention_dim, num_attention_heads=4, num_hidden_layers=2,
        layer_norm_eps=1e-5, vocab_size=514, max_position_embeddings=77))
    tokenizer = CLIPTokenizer.from_pretrained(str(write_tiny_vocab(folder / "_vocab")),
                                              model_max_length=77, local_files_only=True)
    sched_cls = getattr(diffusers, SCHEDULERS[scheduler])
    sched = sched_cls(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                      steps_offset=1, **({"clip_sample": False, "set_alpha_to_one": False}
                                         if scheduler == "ddim" else {}))
    cls = SDInp if inpainting else SD
    pipe = cls(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
               scheduler=sched, safety_checker=None, feature_extractor=None,
               requires_safety_checker=False)
    with _quiet_loading():
        pipe.save_pretrained(str(folder))
    import shutil

    shutil.rmtree(folder / "_vocab", ignore_errors=True)
    return folder
