"""Loading diffusers pipelines from local files, offline, with a small in-memory cache.

- :func:`resolve_device`: ``(torch.device, torch.dtype)`` from ``auto``/``cpu``/``cuda``...
- :func:`load_model`: a Stable Diffusion-layout pipeline (folder, single file or cached repo
  id, see :mod:`seamline.diffusion.locate`), cached per (model, weights mtime, device, dtype).
  Every hub call runs with ``local_files_only=True`` inside :func:`seamline.ops.hub.offline`,
  so a library that would fall back to the network fails instead.
- :class:`LoadedModel`: the pipeline plus what seamline knows about it; derives the
  ``generate``/``img2img``/``inpaint`` pipelines sharing its modules.

torch, diffusers and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from seamline.diffusion.locate import (SCHEDULERS, ModelInfo, ModelSource, check_scheduler_name,
                                       inspect_model, resolve_model, weights_hash,
                                       weights_signature)
from seamline.errors import InputError, first_line
from seamline.ops.hub import offline

__all__ = ["LoadedModel", "MODEL_CACHE_SIZE", "resolve_device", "load_model",
           "clear_model_cache", "as_loaded", "cpu_generator", "import_diffusers",
           "quiet_loading"]


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
def quiet_loading():
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


def import_diffusers():
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
        check_scheduler_name(scheduler)
        key = (task, scheduler)
        if key not in self._derived:
            _, SD, SDI2I, SDInp = import_diffusers()
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
#: How many loaded pipelines stay in memory (an SD 1.5 pipeline is 2-4 GB) unless
#: ``$SEAMLINE_MODEL_CACHE`` says otherwise.
MODEL_CACHE_SIZE = 2


def _model_cache_size() -> int:
    """``$SEAMLINE_MODEL_CACHE`` (default :data:`MODEL_CACHE_SIZE`), read when a model loads,
    so a bad value is a one-line error there, not a traceback on import."""
    env = os.environ.get("SEAMLINE_MODEL_CACHE")
    if env is None:
        return max(1, MODEL_CACHE_SIZE)
    try:
        return max(1, int(env))
    except ValueError:
        raise InputError(f"SEAMLINE_MODEL_CACHE: expected an integer >= 1, got {env[:40]!r}") \
            from None


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
    cache_size = _model_cache_size()
    src = resolve_model(model, config=config)
    info = inspect_model(src)
    dev, tdtype = resolve_device(device, dtype)
    key = (src.model_id, weights_signature(src), str(dev), str(tdtype), str(src.config_dir))
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
    _, SD, _, SDInp = import_diffusers()
    cls = SDInp if info.unet_in_channels != info.latent_channels else SD
    try:
        with offline(), quiet_loading():
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
        raise InputError(f"model {src.spec}: cannot load ({type(e).__name__}: "
                         f"{first_line(e)})") from None
    pipe = pipe.to(dev)
    loaded = LoadedModel(info=info, pipe=pipe, device=dev, dtype=tdtype)
    with _MODELS_LOCK:
        _MODELS[key] = loaded
        while len(_MODELS) > cache_size:
            _MODELS.popitem(last=False)
    return loaded


def as_loaded(model, device, dtype, config) -> LoadedModel:
    """``model`` itself when already loaded, else :func:`load_model` with these options."""
    return model if isinstance(model, LoadedModel) else load_model(model, device=device,
                                                                   dtype=dtype, config=config)



def cpu_generator(seed: int):
    """A seeded CPU ``torch.Generator``: the same seed gives the same noise on any device
    (diffusers draws on the CPU and moves it), so a CPU run reproduces a GPU run's start."""
    import torch

    return torch.Generator("cpu").manual_seed(int(seed))
