"""Super-resolution from checkpoints the user already has, loaded through spandrel, run in tiles.

:func:`load_upscaler` reads a Real-ESRGAN / ESRGAN / SwinIR / HAT / DAT / SPAN / ... file
(anything spandrel's registry recognises as an image-to-image model) and
:func:`model_upscale` runs it over an image of any size in overlapping tiles, so memory stays
bounded by the tile, not the image.

Loading never runs code from the file. spandrel's own ``ModelLoader.load_from_file`` is not
used: for ``.pt`` it tries ``torch.jit.load`` (TorchScript) first, and for ``.pth`` it calls
``torch.load`` with a custom restricted unpickler instead of ``weights_only=True``. seamline
reads the file itself (``safetensors``, or ``torch.load(weights_only=True)``; the format is
recognised from the content, not the extension; TorchScript archives are refused), unwraps it
with spandrel's ``canonicalize_state_dict`` (``params_ema`` / ``params`` / ``state_dict`` /
``module.`` ...) and hands the tensors to spandrel's architecture registry.

What is accepted: an :class:`spandrel.ImageModelDescriptor` whose purpose is ``SR``
(scale >= 1) or ``Restoration`` (scale 1: denoisers, JPEG/deblur models) with 3 input and
output channels (or 1, applied to each RGB channel). Refused, with one line naming the file
and what it holds: inpainting models (LaMa: image + mask, see :mod:`seamline.ops.inpaint.lama`), face
restoration models (GFPGAN, RestoreFormer: they expect aligned face crops, not whole images),
unrecognised tensors, pickled objects, TorchScript.

spandrel needs torchvision at import time for two architectures; seamline imports it through
:mod:`seamline.ops.upscale._torchvision_shim` (see there for what is emulated and why).

Install (optional extra; never pulls torchvision)::

    pip install torch==2.13.0 safetensors
    pip install --no-deps spandrel==0.4.2 einops
"""

from __future__ import annotations

import math
import numbers
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seamline.ops.checkpoints import ModelCache, locate_checkpoint, read_checkpoint
from seamline.errors import InputError, StageError, first_line
from seamline.io import DEFAULT_MAX_PIXELS, as_image

__all__ = ["MAX_SCALE", "UpscalerModel", "check_upscale_size", "load_upscaler", "model_upscale",
           "clear_upscaler_cache"]

MAX_SCALE = 16
"""Largest upscaling factor any backend accepts (x16 of a 1 MP photo is already 256 MP)."""


def check_upscale_size(shape, scale, *, max_pixels: int | None = None) -> tuple[int, int]:
    """The output size of an upscale, checked before a single output pixel is allocated.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W, ...)`` of the input.
    scale : int or float
        Factor, ``0 < scale <= MAX_SCALE``.
    max_pixels : int, optional
        Largest output width*height. Default: ``$SEAMLINE_MAX_PIXELS``, else
        :data:`seamline.io.DEFAULT_MAX_PIXELS` (the reader's decompression-bomb limit: an
        output no reader would accept is not made either).

    Returns
    -------
    (int, int)
        Output ``(H, W)``: ``round(H * scale), round(W * scale)``, at least 1 each.

    Raises
    ------
    InputError
        ``scale`` not a number in ``(0, MAX_SCALE]``, or the output over ``max_pixels``.
    """
    real = isinstance(scale, (numbers.Real, np.integer, np.floating))
    if isinstance(scale, bool) or not real or not math.isfinite(scale) or not \
            0 < scale <= MAX_SCALE:
        raise InputError(f"scale: expected a number in (0, {MAX_SCALE}], got {scale!r}")
    h, w = (max(1, round(int(n) * scale)) for n in shape[:2])
    limit = max_pixels
    if limit is None:
        env = os.environ.get("SEAMLINE_MAX_PIXELS", "")
        limit = int(env) if env.isdigit() and int(env) > 0 else DEFAULT_MAX_PIXELS
    if h * w > limit:
        raise InputError(f"scale: x{scale:g} of {shape[1]}x{shape[0]} makes {w}x{h} = "
                         f"{w * h:,} pixels, over the limit of {limit:,} (max_pixels, "
                         "SEAMLINE_MAX_PIXELS); use a smaller scale or crop first")
    return h, w

_CACHE_SIZE = 2  # a large SR transformer is a few hundred MB; keep the last two models
_INSTALL = "pip install torch==2.13.0 safetensors && pip install --no-deps spandrel==0.4.2 einops"
# spandrel architectures that load as image models but are not whole-image upscalers. Refused by
# id right after detection, before spandrel builds the network (big-lama alone is 51 M weights).
_NOT_UPSCALERS = {
    "LaMa": "an inpainting model (it takes an image and a mask; seamline runs LaMa through seamline.ops.inpaint.lama)",
    "MAT": "an inpainting model (it takes an image and a mask)",
    "GFPGAN": "a face restoration model for aligned 512x512 face crops, not a whole-image upscaler",
    "RestoreFormer": "a face restoration model for aligned face crops, not a whole-image upscaler",
    "CodeFormer": "a face restoration model for aligned face crops, not a whole-image upscaler",
}


def _torch():
    try:
        import torch
    except ImportError:
        raise StageError(f"upscaler: needs torch and spandrel: {_INSTALL}") from None
    return torch


def _spandrel():
    from seamline.ops.upscale._torchvision_shim import import_spandrel

    try:
        return import_spandrel()
    except ImportError as e:
        raise StageError(f"upscaler: needs spandrel ({e}): {_INSTALL}") from None


# ---------------------------------------------------------------------------------- model
@dataclass(frozen=True, eq=False)
class UpscalerModel:
    """A loaded image-to-image model, ready for :func:`model_upscale`.

    Attributes
    ----------
    descriptor : spandrel.ImageModelDescriptor
        spandrel's wrapper (call it with a ``(1, C, H, W)`` float32 tensor in [0, 1]).
    path : pathlib.Path
        The checkpoint it came from (resolved).
    scale : int
        Output size / input size (1 for restoration models).
    architecture : str
        spandrel's architecture name (``"ESRGAN"``, ``"RealESRGAN Compact"``, ``"SwinIR"``).
    arch_id : str
        spandrel's architecture id (``"ESRGAN"``, ``"Compact"``, ...).
    purpose : str
        ``"SR"`` or ``"Restoration"``.
    input_channels, output_channels : int
        3 (RGB) or 1 (applied to each RGB channel in turn).
    size_minimum, size_multiple : int
        Input side length needs: at least ``size_minimum`` and a multiple of ``size_multiple``
        (spandrel pads to satisfy them; tiles are sized to satisfy them without padding).
    size_square : bool
        The network needs square input (tiles are square).
    tiling : str
        spandrel's advice: ``"supported"``, ``"discouraged"`` (global context matters: use big
        tiles) or ``"internal"`` (the model tiles itself: :func:`model_upscale` does not).
    tags : tuple of str
        spandrel's size tags (``"64nf"``, ``"23nb"``, ...).
    device : str
        Where it runs.
    """

    descriptor: object = field(repr=False)
    path: Path
    scale: int
    architecture: str
    arch_id: str
    purpose: str
    input_channels: int
    output_channels: int
    size_minimum: int
    size_multiple: int
    size_square: bool
    tiling: str
    tags: tuple
    device: str

    @property
    def net(self):
        """The underlying ``torch.nn.Module`` (eval mode, gradients off)."""
        return self.descriptor.model


_cache = ModelCache(_CACHE_SIZE)


def clear_upscaler_cache() -> None:
    """Forget the models :func:`load_upscaler` keeps (frees their memory once unreferenced)."""
    _cache.clear()


def load_upscaler(path, *, device: str = "cpu", cache: bool = True) -> UpscalerModel:
    """Load a super-resolution (or 1x restoration) model from a checkpoint file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file or a ``torch.save`` file of a state dict (``.pth/.pt/.ckpt/
        .bin``; recognised from the content). Wrappers such as ``{"params_ema": ...}`` and
        ``module.`` prefixes are unwrapped as spandrel does.
    device : str
        torch device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
    cache : bool
        Reuse the model already loaded from this file (same resolved path, modification time
        and size) on this device.

    Returns
    -------
    UpscalerModel

    Raises
    ------
    InputError
        Missing path or a directory; not a checkpoint; a TorchScript archive or pickled Python
        objects (refused, never executed); no supported architecture recognised; a model that
        is not an image-to-image upscaler (inpainting, face restoration, odd channel counts);
        bad device string.
    StageError
        torch/spandrel not installed, or the device is not available.
    """
    torch = _torch()
    p, key, dev = locate_checkpoint(path, device, who="upscaler", torch=torch, kinds=".safetensors/.pth")
    if cache and (hit := _cache.get(key)) is not None:
        return hit

    spandrel = _spandrel()
    state = _tensor_state(spandrel, read_checkpoint(p, who="upscaler"), p)
    desc = _load_descriptor(spandrel, state, p)
    _check_descriptor(spandrel, desc, p)
    net = desc.model
    net.eval()
    net.requires_grad_(False)
    try:
        net.to(device=dev, dtype=torch.float32)
    except (RuntimeError, AssertionError) as e:  # no CUDA build / no such GPU
        msg = first_line(e)
        raise StageError(f"upscaler: device {device!r} is not available ({msg})") from None
    req = desc.size_requirements
    model = UpscalerModel(
        descriptor=desc,
        path=p,
        scale=int(desc.scale),
        architecture=str(desc.architecture.name),
        arch_id=str(desc.architecture.id),
        purpose=str(desc.purpose),
        input_channels=int(desc.input_channels),
        output_channels=int(desc.output_channels),
        size_minimum=int(req.minimum),
        size_multiple=int(req.multiple_of),
        size_square=bool(req.square),
        tiling=desc.tiling.name.lower(),
        tags=tuple(desc.tags),
        device=str(dev),
    )
    if cache:
        _cache.put(key, model)
    return model


def _tensor_state(spandrel, obj, p: Path) -> dict:
    """Checkpoint contents -> flat {name: tensor} as spandrel's detectors expect."""
    import torch

    if not isinstance(obj, dict):
        raise InputError(f"upscaler: {p} holds a {type(obj).__name__}, not a state dict")
    state = spandrel.canonicalize_state_dict(obj)
    # Training checkpoints carry counters and configs beside the weights; detectors want tensors.
    tensors = {k: v for k, v in state.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not tensors:
        keys = ", ".join(map(str, list(state)[:4])) + (", ..." if len(state) > 4 else "")
        raise InputError(f"upscaler: {p} holds no tensors at the top level after unwrapping (keys: {keys})")
    return tensors


def _load_descriptor(spandrel, state: dict, p: Path):
    """Try each architecture whose detector accepts the keys, in spandrel's detection order."""
    first_error = None
    for support in spandrel.MAIN_REGISTRY.architectures("detection"):
        arch = support.architecture
        try:
            hit = support.detect(state)
        except Exception:  # noqa: BLE001 - a detector tripping on odd shapes means "not this one"
            hit = False
        if not hit:
            continue
        if arch.id in _NOT_UPSCALERS:
            raise InputError(f"upscaler: {p} is a {arch.name} checkpoint: {_NOT_UPSCALERS[arch.id]}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return arch.load(state)
        except Exception as e:  # noqa: BLE001 - shape mismatch, missing key: a false detection
            if first_error is None:
                msg = first_line(e)
                first_error = f"looks like {arch.name} but does not load as one ({msg[:160]})"
    if first_error:
        raise InputError(f"upscaler: {p} {first_error}")
    some = ", ".join(list(state)[:4]) + (", ..." if len(state) > 4 else "")
    raise InputError(
        f"upscaler: {p} is not a model architecture spandrel {spandrel.__version__} recognises "
        f"({len(state)} tensors, keys like {some})"
    )


def _check_descriptor(spandrel, desc, p: Path) -> None:
    name = getattr(getattr(desc, "architecture", None), "name", type(desc).__name__)
    if not isinstance(desc, spandrel.ImageModelDescriptor):
        purpose = getattr(desc, "purpose", "unknown")
        raise InputError(
            f"upscaler: {p} is a {name} {purpose} model that takes an image and a mask, not an image upscaler"
        )
    if desc.purpose == "FaceSR":
        raise InputError(f"upscaler: {p} is a {name} face restoration model for aligned face crops, not an upscaler")
    if not (isinstance(desc.scale, numbers.Integral) and desc.scale >= 1):
        raise InputError(f"upscaler: {p} is a {name} model with scale {desc.scale!r}; expected an integer >= 1")
    cin, cout = desc.input_channels, desc.output_channels
    if cin not in (1, 3) or cout != cin:
        raise InputError(
            f"upscaler: {p} is a {name} model with {cin} input and {cout} output channels; "
            f"seamline runs RGB (3 -> 3) or grayscale (1 -> 1) models"
        )


# -------------------------------------------------------------------------------- inference
def model_upscale(model, image, *, tile: int | None = 256, overlap: int = 16, progress: bool = False,
                  max_pixels: int | None = None) -> np.ndarray:
    """Run an upscaler over an image in overlapping, blended tiles.

    Each tile is run on its own (peak memory follows the tile size, not the image). Tiles
    overlap by ``overlap`` input pixels; in each overlap the quarter nearest either tile's
    edge is taken from the other tile only (the network saw no context beyond its edge there)
    and the middle half cross-fades linearly, so no seam is visible. Image borders are not
    faded. Alpha is not handled here: upscale it separately (for example with
    :func:`cv2.resize`) and keep it beside the image.

    Parameters
    ----------
    model : UpscalerModel
        From :func:`load_upscaler`.
    image : array_like
        ``(H, W, 3)`` float32 sRGB in [0, 1] (anything :func:`seamline.io.as_image` accepts).
    tile : int or None
        Tile side in input pixels (>= 32), rounded up to the model's size multiple and
        minimum. ``None`` or ``0`` runs the whole image at once. Ignored (whole image) for
        models whose ``tiling`` is ``"internal"``.
    overlap : int
        Overlap between neighbouring tiles in input pixels, ``0 <= overlap <= tile // 2``.
        Wider is smoother for deep networks with a large receptive field (SwinIR, HAT).
    progress : bool
        Show a tqdm bar over the tiles.
    max_pixels : int, optional
        Largest output width*height, see :func:`check_upscale_size`.

    Returns
    -------
    numpy.ndarray
        ``(H * scale, W * scale, 3)`` float32 in [0, 1].

    Raises
    ------
    InputError
        ``model`` is not an :class:`UpscalerModel`; bad image; bad ``tile`` / ``overlap``.
    StageError
        The network failed (out of memory, a shape it cannot take) or returned an output of
        the wrong size.
    """
    if not isinstance(model, UpscalerModel):
        raise InputError(f"model: expected an UpscalerModel from load_upscaler(), got {type(model).__name__}")
    img = as_image(image)
    h, w = img.shape[:2]
    check_upscale_size(img.shape, model.scale, max_pixels=max_pixels)
    bad_tile = isinstance(tile, bool) or not isinstance(tile, numbers.Integral) or (tile != 0 and tile < 32)
    if tile is not None and bad_tile:
        raise InputError(f"tile: expected None, 0 or an integer >= 32, got {tile!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, numbers.Integral) or overlap < 0:
        raise InputError(f"overlap: expected an integer >= 0, got {overlap!r}")
    if tile and overlap > tile // 2:
        raise InputError(f"overlap: must be at most tile // 2 = {tile // 2}, got {overlap}")

    s = model.scale
    if not tile or model.tiling == "internal":
        th, tw = h, w
    else:
        t = _tile_side(int(tile), model)
        th, tw = min(t, h), min(t, w)
    ys, xs = _starts(h, th, overlap), _starts(w, tw, overlap)
    out = np.zeros((h * s, w * s, 3), np.float32)
    wsum = np.zeros((h * s, w * s), np.float32)

    from tqdm.auto import tqdm

    with tqdm(total=len(ys) * len(xs), desc="upscale", unit="tile", disable=not progress) as bar:
        for y0 in ys:
            wy = _ramp(th, s, overlap, y0 > 0, y0 + th < h)
            for x0 in xs:
                wx = _ramp(tw, s, overlap, x0 > 0, x0 + tw < w)
                pred = _run(model, img[y0 : y0 + th, x0 : x0 + tw])
                wt = wy[:, None] * wx[None, :]
                out[y0 * s : (y0 + th) * s, x0 * s : (x0 + tw) * s] += pred * wt[:, :, None]
                wsum[y0 * s : (y0 + th) * s, x0 * s : (x0 + tw) * s] += wt
                bar.update(1)
    out /= wsum[:, :, None]
    return np.clip(out, 0.0, 1.0, out=out)


def _tile_side(tile: int, model: UpscalerModel) -> int:
    t = max(tile, model.size_minimum)
    return int(math.ceil(t / model.size_multiple) * model.size_multiple)


def _starts(n: int, t: int, overlap: int) -> list:
    """Tile origins along one axis: stride t - overlap, the last tile flush with the far edge."""
    if t >= n:
        return [0]
    stride = max(1, t - overlap)
    starts = list(range(0, n - t, stride))
    return starts + [n - t]


def _ramp(length: int, s: int, overlap: int, fade_start: bool, fade_end: bool) -> np.ndarray:
    """1-D blend weight over a tile's output span (length * s), faded on interior sides only."""
    n = length * s
    wgt = np.ones(n, np.float32)
    if overlap <= 0:
        return wgt
    o = overlap * s
    m = (overlap // 4) * s  # edge band: the other tile's prediction is used there
    d = np.arange(n, dtype=np.float32)
    # 1e-4, not 0: a pixel covered only by edge bands still gets a (normalised) value.
    up = np.clip((d - m + 0.5) / max(o - 2 * m, 1), 1e-4, 1.0)
    if fade_start:
        wgt = np.minimum(wgt, up)
    if fade_end:
        wgt = np.minimum(wgt, up[::-1])
    return wgt


def _run(model: UpscalerModel, crop: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 -> (h*s, w*s, 3) float32 through the network."""
    import torch

    h, w = crop.shape[:2]
    s = model.scale
    x = torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None]
    x = x.to(model.device)
    # Grayscale models see each RGB channel as its own image.
    inputs = [x] if model.input_channels == 3 else [x[:, c : c + 1] for c in range(3)]
    try:
        with torch.inference_mode():
            outs = [model.descriptor(t) for t in inputs]
    except (RuntimeError, ValueError, AssertionError) as e:
        msg = first_line(e)
        raise StageError(
            f"upscaler: {model.architecture} from {model.path.name} failed on a {w}x{h} tile ({msg[:200]})"
        ) from None
    y = torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]
    if tuple(y.shape) != (1, 3, h * s, w * s):
        raise StageError(
            f"upscaler: {model.architecture} from {model.path.name} returned shape {tuple(y.shape)} "
            f"for a {w}x{h} tile; expected (1, 3, {h * s}, {w * s})"
        )
    return y[0].permute(1, 2, 0).float().cpu().numpy()
