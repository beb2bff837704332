"""Where a diffusers model lives and what it is, without loading weights.

- :func:`resolve_model`: a diffusers pipeline folder, a single ``.safetensors`` checkpoint
  (with its diffusers config from a folder or the local Hugging Face cache), or a repo id
  already in the local Hugging Face cache, checked for the Stable Diffusion component layout
  (``unet``, ``vae``, ``text_encoder``, ``tokenizer``, ``scheduler``). Never a download.
- :func:`inspect_model`: the latent-space facts (channels, VAE factor, scaling factor, native
  size, scheduler) from the JSON configs.
- :func:`weights_hash`: the weights' identity for provenance and cache keys (sha256 over the
  component weight files diffusers loads; each file's digest memoised on disk).
- :data:`SCHEDULERS`: the scheduler options a stage accepts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import types
from dataclasses import dataclass
from pathlib import Path

from seamline.core.hashing import cache_dir, model_sha256
from seamline.errors import InputError
from seamline.ops.hub import REPO_ID_RE, cached_snapshot, looks_like_repo_id

__all__ = ["SCHEDULERS", "SCHEDULER_NAMES", "REQUIRED_COMPONENTS", "WEIGHTED_COMPONENTS",
           "SINGLE_FILE_TYPES", "ModelSource", "ModelInfo", "resolve_model", "inspect_model",
           "weights_hash", "weights_signature", "check_scheduler_name", "cache_dir"]

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
_WEIGHT_SUFFIXES = (".safetensors", ".bin")
_SHARD_RE = re.compile(r"-\d{5}-of-\d{5}$")


def check_scheduler_name(name: str) -> None:
    """Raise a one-line :class:`InputError` unless ``name`` is in :data:`SCHEDULER_NAMES`."""
    if name not in SCHEDULER_NAMES:
        raise InputError(f"scheduler {name!r}: expected one of {', '.join(SCHEDULER_NAMES)}")


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
    if not looks_like_repo_id(spec) or spec.lower().endswith((".safetensors", ".ckpt", ".json")):
        raise InputError(f"model {spec}: path does not exist")
    folder = cached_snapshot(spec, what=f"model {spec}")
    _check_folder(folder, spec)
    return ModelSource(spec, "hf-cache", folder, f"{spec}@{folder.name}")


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
        if not REPO_ID_RE.match(str(config)):
            raise InputError(f"model config {config}: path does not exist")
        folder = cached_snapshot(str(config), what=f"model config {config}",
                                  allow_patterns=["**/*.json", "*.json", "**/*.txt", "*.txt"])
        _check_config_folder(folder, f"model config {config}")
        return folder
    from diffusers.loaders.single_file_utils import DIFFUSERS_DEFAULT_PIPELINE_PATHS

    repo = DIFFUSERS_DEFAULT_PIPELINE_PATHS[file_type]["pretrained_model_name_or_path"]
    try:
        folder = cached_snapshot(repo, what="config", allow_patterns=[
            "**/*.json", "*.json", "**/*.txt", "*.txt", "**/*.model"])
    except InputError:
        raise InputError(f"{what}: a single-file {SINGLE_FILE_TYPES[file_type]} checkpoint needs "
                         f"its diffusers config ({repo}), which is not in the local Hugging Face "
                         "cache, and seamline never downloads; pass model_config=DIR, a "
                         "diffusers folder of the same architecture") from None
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
        check_scheduler_name(name)
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
# Weights hash (identity for provenance), memoised in memory and on disk


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
        return model_sha256(files[0][1])
    h = hashlib.sha256()
    for rel, f in files:
        h.update(f"{rel} {model_sha256(f)}\n".encode())
    return h.hexdigest()


def weights_signature(src: ModelSource) -> tuple:
    """(path, mtime_ns, size) of every weight file and of ``model_index.json``: changes when
    the files do (the loaded-model cache key; cheaper than the hash)."""
    files = [f for _, f in _weight_files(src)] + [src.config_root / "model_index.json"]
    return tuple(sorted((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))

