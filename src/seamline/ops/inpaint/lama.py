"""LaMa inpainting from a checkpoint the user already has.

seamline never downloads weights: :func:`load_lama` reads a file you point it at, and
:func:`lama_fill` fills a mask with it. The network is the "big-lama" generator
(``FFCResNetGenerator``: Fast Fourier Convolution ResNet, 4 input channels, ~51 M weights)
re-implemented in plain torch with the parameter names of the real checkpoints, so the files
that LaMa, IOPaint, ComfyUI and spandrel users have load as they are:

- the original training checkpoint's ``state_dict`` (keys ``generator.model.1.ffc...``),
- spandrel-style wrappers (``model.model.1.ffc...``), bare generator state dicts
  (``model.1.ffc...``), any other prefix or nesting (``state_dict`` / ``params`` / ...),
- as ``.safetensors`` or as a ``torch.save`` file (read with ``weights_only=True``).

Not loaded: TorchScript archives (IOPaint's ``big-lama.pt`` is one) and checkpoints that hold
pickled Python objects (for example a Lightning ``hyper_parameters`` OmegaConf config):
loading those means running code from the file, and seamline never unpickles. Extract the
generator's ``state_dict`` once, with a tool you trust, into a ``.safetensors`` file.

torch is an optional dependency (``pip install 'seamline[torch]'``); importing this module
works without it and the first call that needs it raises a :class:`StageError`.

Architecture provenance. The layer structure and parameter names follow the reference
implementations; the code here is written anew:

- advimman/lama, ``saicinpainting/training/modules/ffc.py`` (FFC, SpectralTransform,
  FourierUnit, FFCResNetGenerator) -- BSD 3-Clause License, Copyright (c) 2021, Multimodal
  Lab @ Samsung AI Center Moscow. FFC itself: Chi et al., "Fast Fourier Convolution",
  NeurIPS 2020 (github.com/pkumivision/FFC).
- chaiNNer-org/spandrel, ``libs/spandrel/spandrel/architectures/LaMa`` (the big-lama
  configuration it hard-codes and the checkpoint prefixes it accepts) -- MIT License,
  Copyright (c) 2024 Joey Ballentine.

big-lama configuration: ngf 64, 3 downsamplings, 18 resnet blocks, init/downsample convs
purely local (ratio_gin = ratio_gout = 0, last downsample ratio_gout 0.75), resnet convs
ratio_gin = ratio_gout = 0.75, no LFU, reflect padding, BatchNorm + ReLU, sigmoid output.
"""

from __future__ import annotations

import functools
import math
import numbers
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seamline.ops.checkpoints import ModelCache, locate_checkpoint, read_checkpoint
from seamline.errors import InputError, StageError, first_line
from seamline.io import as_image, as_mask
from seamline.ops.compose import composite, mask_crops

__all__ = ["LamaModel", "load_lama", "lama_fill", "lama_generator", "clear_lama_cache"]

# The first generator tensor: its presence (after any prefix) identifies a LaMa FFC generator.
ANCHOR_KEY = "model.1.ffc.convl2l.weight"
_N_DOWN = 3  # downsampling (and upsampling) layers; fixed in every published LaMa FFC model
_MAX_FEATURES = 1024
_MIN_SIDE = 16  # 3 stride-2 levels -> 2x2 at the bottleneck, the least reflect padding allows
_MULTIPLE = 8
_CACHE_SIZE = 2  # big-lama is ~200 MB in float32; keep the last two (path, device) models


def _torch():
    try:
        import torch
    except ImportError:
        raise StageError("lama backend needs the torch extra: pip install 'seamline[torch]'") from None
    return torch


# ----------------------------------------------------------------------------- architecture
@functools.cache
def _arch():
    """The nn.Module classes, defined on first use so that importing this module needs no torch.

    Attribute names are the checkpoint's key names: do not rename them.
    """
    torch = _torch()
    nn = torch.nn

    def conv(cin, cout, k, stride=1, padding=0):
        # LaMa's FFC convs are bias-free and pad by reflection (padding_type="reflect").
        return nn.Conv2d(cin, cout, k, stride, padding, bias=False, padding_mode="reflect")

    class FourierUnit(nn.Module):
        """1x1 conv + BN + ReLU on the real/imaginary parts of the 2-D real FFT ("ortho")."""

        def __init__(self, channels):
            super().__init__()
            self.conv_layer = nn.Conv2d(channels * 2, channels * 2, 1, bias=False)
            self.bn = nn.BatchNorm2d(channels * 2)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            n, c, h, w = x.shape
            f = torch.fft.rfftn(x.float(), dim=(-2, -1), norm="ortho")
            # (n, c, h, w/2+1) complex -> (n, c*2, h, w/2+1) real, channel pairs (re, im)
            f = torch.stack((f.real, f.imag), dim=2).reshape(n, c * 2, h, -1)
            f = self.relu(self.bn(self.conv_layer(f.to(x.dtype)))).float()
            f = f.reshape(n, c, 2, h, -1)
            f = torch.complex(f[:, :, 0], f[:, :, 1])
            return torch.fft.irfftn(f, s=(h, w), dim=(-2, -1), norm="ortho").to(x.dtype)

    class SpectralTransform(nn.Module):
        """Global branch: 1x1 conv to half width, Fourier unit (residual), 1x1 conv back."""

        def __init__(self, cin, cout):
            super().__init__()
            self.conv1 = nn.Sequential(
                nn.Conv2d(cin, cout // 2, 1, bias=False), nn.BatchNorm2d(cout // 2), nn.ReLU(inplace=True)
            )
            self.fu = FourierUnit(cout // 2)
            self.conv2 = nn.Conv2d(cout // 2, cout, 1, bias=False)

        def forward(self, x):
            x = self.conv1(x)
            return self.conv2(x + self.fu(x))

    class FFC(nn.Module):
        """Fast Fourier convolution on a (local, global) pair of feature maps.

        The first ``int(c * ratio)`` channels of a width ``c`` are global, the rest local; a
        branch with zero channels on either end has no module (and no checkpoint keys).
        """

        def __init__(self, cin, cout, k, ratio_gin, ratio_gout, stride=1, padding=0):
            super().__init__()
            in_g, out_g = int(cin * ratio_gin), int(cout * ratio_gout)
            in_l, out_l = cin - in_g, cout - out_g
            if in_l and out_l:
                self.convl2l = conv(in_l, out_l, k, stride, padding)
            if in_l and out_g:
                self.convl2g = conv(in_l, out_g, k, stride, padding)
            if in_g and out_l:
                self.convg2l = conv(in_g, out_l, k, stride, padding)
            if in_g and out_g:
                if stride != 1:
                    raise ValueError("strided spectral transform is not part of LaMa")
                self.convg2g = SpectralTransform(in_g, out_g)
            self.has_l, self.has_g = bool(out_l), bool(out_g)

        def _branch(self, name, x):
            mod = getattr(self, name, None)
            return None if mod is None or x is None else mod(x)

        def forward(self, x):
            x_l, x_g = x if isinstance(x, tuple) else (x, None)  # the first FFC gets a tensor
            out_l = _add(self._branch("convl2l", x_l), self._branch("convg2l", x_g)) if self.has_l else None
            out_g = _add(self._branch("convl2g", x_l), self._branch("convg2g", x_g)) if self.has_g else None
            return out_l, out_g

    def _add(a, b):
        return b if a is None else a if b is None else a + b

    class FFCBNAct(nn.Module):
        def __init__(self, cin, cout, k, ratio_gin, ratio_gout, stride=1, padding=0):
            super().__init__()
            self.ffc = FFC(cin, cout, k, ratio_gin, ratio_gout, stride, padding)
            out_g = int(cout * ratio_gout)
            if cout - out_g:
                self.bn_l = nn.BatchNorm2d(cout - out_g)
            if out_g:
                self.bn_g = nn.BatchNorm2d(out_g)
            self.act = nn.ReLU(inplace=True)

        def forward(self, x):
            x_l, x_g = self.ffc(x)
            x_l = None if x_l is None else self.act(self.bn_l(x_l))
            x_g = None if x_g is None else self.act(self.bn_g(x_g))
            return x_l, x_g

    class FFCResnetBlock(nn.Module):
        def __init__(self, dim, ratio):
            super().__init__()
            self.conv1 = FFCBNAct(dim, dim, 3, ratio, ratio, padding=1)
            self.conv2 = FFCBNAct(dim, dim, 3, ratio, ratio, padding=1)

        def forward(self, x):
            y = self.conv2(self.conv1(x))
            return _add(x[0], y[0]), _add(x[1], y[1])

    class ConcatPair(nn.Module):
        def forward(self, x):
            return torch.cat([t for t in x if t is not None], dim=1)

    class Generator(nn.Module):
        """big-lama's FFCResNetGenerator: ``model`` is an ``nn.Sequential`` whose indices are the
        checkpoint's (0 pad, 1 init conv, 2-4 downsampling, 5.. resnet blocks, concat,
        3 x (ConvTranspose2d, BatchNorm2d, ReLU), pad, 7x7 conv, sigmoid).

        ``forward(x)``: ``x`` is ``(N, 4, H, W)`` float32 = (RGB * (1 - mask), mask), H and W
        multiples of 8 and >= 16; returns ``(N, 3, H, W)`` RGB in [0, 1].
        """

        def __init__(self, ngf=64, n_blocks=18, in_nc=4, out_nc=3, ratio=0.75):
            super().__init__()
            feats = [min(_MAX_FEATURES, ngf * 2**i) for i in range(_N_DOWN + 1)]
            layers = [nn.ReflectionPad2d(3), FFCBNAct(in_nc, ngf, 7, 0, 0)]
            for i in range(_N_DOWN):
                gout = ratio if i == _N_DOWN - 1 else 0  # the last one opens the global branch
                layers.append(FFCBNAct(feats[i], feats[i + 1], 3, 0, gout, stride=2, padding=1))
            layers += [FFCResnetBlock(feats[-1], ratio) for _ in range(n_blocks)]
            layers.append(ConcatPair())
            for i in range(_N_DOWN, 0, -1):
                layers += [
                    nn.ConvTranspose2d(feats[i], feats[i - 1], 3, stride=2, padding=1, output_padding=1),
                    nn.BatchNorm2d(feats[i - 1]),
                    nn.ReLU(True),
                ]
            layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_nc, 7), nn.Sigmoid()]
            self.model = nn.Sequential(*layers)
            self.ngf, self.n_blocks = ngf, n_blocks

        def forward(self, x):
            return self.model(x)

    return Generator


def lama_generator(*, ngf: int = 64, n_blocks: int = 18):
    """A LaMa FFC generator with fresh (random) weights, in eval mode.

    Parameters
    ----------
    ngf : int
        Width of the first layer (64 in big-lama); the bottleneck is ``8 * ngf`` wide
        (capped at 1024).
    n_blocks : int
        FFC resnet blocks (18 in big-lama, 9 in lama-fourier).

    Returns
    -------
    torch.nn.Module
        Its ``state_dict()`` keys are those of the real checkpoints (``model.1.ffc.convl2l.weight``
        ...). Input ``(N, 4, H, W)`` float32, output ``(N, 3, H, W)`` in [0, 1]; see
        :func:`lama_fill` for what goes in.
    """
    for name, v, lo in (("ngf", ngf, 4), ("n_blocks", n_blocks, 0)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise InputError(f"{name}: expected an integer >= {lo}, got {v!r}")
    if ngf % 4:
        raise InputError(f"ngf: expected a multiple of 4 (the 0.75 global split), got {ngf}")
    return _arch()(int(ngf), int(n_blocks)).eval()


# ---------------------------------------------------------------------------------- loading
@dataclass(frozen=True, eq=False)
class LamaModel:
    """A loaded LaMa generator, ready for :func:`lama_fill`.

    Attributes
    ----------
    net : torch.nn.Module
        The generator in eval mode, gradients off, float32, on ``device``.
    path : pathlib.Path
        The checkpoint it came from (resolved).
    device : str
        Where it runs (``"cpu"``, ``"cuda:0"``, ...).
    ngf, n_blocks : int
        Architecture read from the checkpoint (big-lama: 64, 18).
    key_prefix : str
        Prefix stripped from the checkpoint's keys: ``"state_dict.generator."`` for LaMa's
        Lightning training checkpoints (nested dicts are joined with dots), ``"model."`` for
        spandrel's wrapper, ``""`` for a bare generator state dict.
    """

    net: object = field(repr=False)
    path: Path
    device: str
    ngf: int
    n_blocks: int
    key_prefix: str


_cache = ModelCache(_CACHE_SIZE)


def clear_lama_cache() -> None:
    """Forget the models :func:`load_lama` keeps (frees their memory once unreferenced)."""
    _cache.clear()


def load_lama(path, *, device: str = "cpu", cache: bool = True) -> LamaModel:
    """Load a LaMa (big-lama style FFC) generator from a checkpoint file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file or a ``torch.save`` file (``.pt/.pth/.ckpt/.bin``; the format
        is recognised from the content, not the name). The generator's tensors may sit under
        any prefix or nested dict (``state_dict``, ``generator.``, ``model.``, ...).
    device : str
        torch device to run on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
    cache : bool
        Reuse the model already loaded from this file (same resolved path, modification
        time and size) on this device: a pipeline loads the weights once.

    Returns
    -------
    LamaModel

    Raises
    ------
    InputError
        The path is missing or a directory; the file is not a checkpoint; it holds no LaMa
        generator (another architecture), or one with other shapes; it is a TorchScript
        archive or needs unpickling of Python objects (refused, never executed); bad device.
    StageError
        torch is not installed, or the device is not available.
    """
    torch = _torch()
    p, key, dev = locate_checkpoint(path, device, who="lama", torch=torch, kinds=".safetensors/.pt")
    if cache and (hit := _cache.get(key)) is not None:
        return hit

    state, prefix = _generator_state(read_checkpoint(p, who="lama"), p)
    ngf, n_blocks = _detect_config(state, p)
    with torch.device("meta"):  # shapes only: the checkpoint's tensors become the parameters
        net = lama_generator(ngf=ngf, n_blocks=n_blocks)
    _check_and_load(torch, net, state, p, ngf, n_blocks)
    net.requires_grad_(False)
    try:
        net.to(dev)
    except (RuntimeError, AssertionError) as e:  # no CUDA build / no such GPU
        msg = first_line(e)
        raise StageError(f"lama: device {device!r} is not available ({msg})") from None
    model = LamaModel(net=net, path=p, device=str(dev), ngf=ngf, n_blocks=n_blocks, key_prefix=prefix)
    if cache:
        _cache.put(key, model)
    return model


def _flatten(obj, prefix="", out=None, depth=0):
    """Nested dicts -> {"a.b.c": tensor}; everything that is not a tensor is dropped."""
    torch = _torch()
    out = {} if out is None else out
    if isinstance(obj, torch.Tensor):
        out[prefix[:-1]] = obj
    elif isinstance(obj, dict) and depth < 6:
        for k, v in obj.items():
            _flatten(v, f"{prefix}{k}.", out, depth + 1)
    return out


def _generator_state(obj, p: Path):
    """Checkpoint contents -> (generator state dict with bare keys, prefix that was stripped)."""
    flat = _flatten(obj)
    if not flat:
        raise InputError(f"lama: {p} holds no tensors (found {type(obj).__name__})")
    cut = len(ANCHOR_KEY)
    prefixes = sorted(
        (k[:-cut] for k in flat if k.endswith(ANCHOR_KEY) and k[:-cut][-1:] in ("", ".")),
        key=lambda s: (not s.endswith("generator."), len(s)),  # a training checkpoint's generator first
    )
    if not prefixes:
        some = ", ".join(list(flat)[:4]) + (", ..." if len(flat) > 4 else "")
        raise InputError(
            f"lama: {p} holds no LaMa generator (missing key {ANCHOR_KEY}; found keys like {some})"
        )
    prefix = prefixes[0]
    n = len(prefix)
    state = {k[n:]: v for k, v in flat.items() if k.startswith(prefix) and k[n:].startswith("model.")}
    return state, prefix


def _detect_config(state, p: Path):
    w = state[ANCHOR_KEY]
    if w.ndim != 4 or tuple(w.shape[1:]) != (4, 7, 7):
        raise InputError(
            f"lama: {p}: {ANCHOR_KEY} has shape {tuple(w.shape)}, expected (ngf, 4, 7, 7) "
            f"(7x7 conv on RGB + mask); not a big-lama style generator"
        )
    ngf = int(w.shape[0])
    if ngf < 4 or ngf % 4:
        raise InputError(
            f"lama: {p}: {ANCHOR_KEY} has {ngf} output channels, expected a multiple of 4 (big-lama: 64)"
        )
    n_blocks = 0
    while f"model.{5 + n_blocks}.conv1.ffc.convl2l.weight" in state:
        n_blocks += 1
    return ngf, n_blocks


def _check_and_load(torch, net, state, p: Path, ngf: int, n_blocks: int) -> None:
    want = net.state_dict()
    arch = f"LaMa generator (ngf {ngf}, {n_blocks} blocks)"
    # BatchNorm's num_batches_tracked is unused in eval mode; exports often drop it.
    missing = [k for k in want if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise InputError(
            f"lama: {p} is missing {len(missing)} tensors of a {arch}, e.g. {', '.join(missing[:3])}"
        )
    extra = [k for k in state if k not in want]
    if extra:
        raise InputError(
            f"lama: {p} has {len(extra)} tensors a {arch} does not have (another LaMa variant?), "
            f"e.g. {', '.join(extra[:3])}"
        )
    full = {}
    for k, ref in want.items():
        if k.endswith("num_batches_tracked"):
            full[k] = torch.zeros((), dtype=torch.long)
            continue
        v = state[k]
        if tuple(v.shape) != tuple(ref.shape):
            raise InputError(
                f"lama: {p}: tensor {k} has shape {tuple(v.shape)}, expected {tuple(ref.shape)} for a {arch}"
            )
        if not v.is_floating_point():
            raise InputError(f"lama: {p}: tensor {k} has dtype {v.dtype}, expected floating point")
        # float32 always: fp16/bf16 checkpoints are upcast (LaMa's FFT in half precision is unreliable).
        full[k] = v.to(torch.float32).contiguous()
    net.load_state_dict(full, strict=True, assign=True)


# ---------------------------------------------------------------------------------- filling
def lama_fill(model, image, mask, *, context_px: int = 128, device: str = "cpu") -> np.ndarray:
    """Fill the masked region with LaMa, touching nothing else.

    Input normalisation, as LaMa was trained: RGB in [0, 1] (the sRGB values, no mean/std
    shift) and a binary mask. Every pixel with ``mask > 0`` is treated as unknown (its RGB
    is zeroed and the mask channel is 1); the network sees ``(RGB * (1 - m), m)``. Soft mask
    values then blend the fill and the original in :func:`seamline.ops.compose.composite`.

    Only crops around the mask's components (with ``context_px`` of surroundings) go through
    the network; each crop is padded at its bottom/right by reflection to a multiple of 8
    (at least 16), and the padding is cut off again.

    Parameters
    ----------
    model : LamaModel or str or os.PathLike
        From :func:`load_lama`; a path is loaded (and cached) with ``device``.
    image : (H, W, 3) float32 array in [0, 1]
    mask : (H, W) float32 array in [0, 1], 1 = fill
    context_px : int
        Margin of surroundings around each mask component that the network sees. LaMa's
        global (Fourier) branch uses the whole crop; more context gives it more to copy
        from, at quadratic cost.
    device : str
        Only used when ``model`` is a path.

    Returns
    -------
    (H, W, 3) float32 array in [0, 1]
        Bit-identical to ``as_image(image)`` wherever ``mask == 0``. An empty mask returns
        a copy.

    Raises
    ------
    InputError
        Malformed image/mask/context_px, or a bad checkpoint path.
    StageError
        torch is missing, or a crop has no known pixels (the mask covers it all).
    """
    if not isinstance(model, LamaModel):
        if isinstance(model, (str, os.PathLike)):
            model = load_lama(model, device=device)
        else:
            raise InputError(
                f"model: expected a LamaModel from load_lama() or a checkpoint path, got {type(model).__name__}"
            )
    if isinstance(context_px, bool) or not isinstance(context_px, numbers.Integral) or context_px < 0:
        raise InputError(f"context_px: expected an integer >= 0, got {context_px!r}")
    image = as_image(image)
    mask = as_mask(mask, shape=image.shape)

    hole = mask > 0
    if not hole.any():
        return image.copy()
    if hole.all():
        raise StageError("lama: mask covers the whole image; nothing to fill from")
    out = image.copy()
    for box in mask_crops(mask, context_px=int(context_px)):
        if hole[box].all():
            raise StageError(
                f"lama: no known pixels within context_px {context_px} of the mask; increase context_px"
            )
        fill = _predict(model, image[box], hole[box])
        out[box] = composite(image[box], fill, mask[box])  # mask is 0 outside the boxes
    return out


def lama_fill_crop(model: LamaModel, crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """One network pass over a crop that already carries its context: the backend's filler.

    Parameters
    ----------
    model : LamaModel
    crop : (h, w, 3) float32 array in [0, 1]
    hole : (h, w) bool array
        True where pixels must be synthesised.

    Returns
    -------
    (h, w, 3) float32 array in [0, 1]
        The network's output for the whole crop (the caller composites it through its mask).
    """
    return _predict(model, crop, hole)


def _predict(model: LamaModel, crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(h, w, 3) float32 crop + (h, w) bool hole -> (h, w, 3) float32 network output in [0, 1]."""
    torch = _torch()
    h, w = hole.shape
    ph = max(_MIN_SIDE, math.ceil(h / _MULTIPLE) * _MULTIPLE) - h
    pw = max(_MIN_SIDE, math.ceil(w / _MULTIPLE) * _MULTIPLE) - w
    m = hole.astype(np.float32)
    x = np.concatenate([crop * (1 - m[..., None]), m[..., None]], axis=2)
    # numpy's reflect repeats the reflection when the pad exceeds the side (torch's refuses).
    x = np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect")
    t = torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(model.device)
    with torch.inference_mode():
        y = model.net(t)[0, :, :h, :w]
    y = y.float().cpu().numpy().transpose(1, 2, 0)
    return np.clip(y, 0, 1).astype(np.float32)
