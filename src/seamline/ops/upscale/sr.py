"""seamline-sr: small convolutional super-resolution (x2, x4) shipped with the package.

The networks are trained by ``training/train_sr.py`` and stored as ONNX files in
``seamline/models``; inference needs only numpy and onnxruntime. See
``seamline/models/MODEL_CARD.md`` for the data, the held-out scores and the limitations.

Images are processed in tiles so memory stays bounded on large inputs. Each tile reads
``overlap`` extra input pixels on every side (the image itself is mirror-padded first, so
border tiles get context too) and neighbouring outputs are cross-faded only where both are
exact, i.e. farther than the network's receptive radius from their tile's edge: with the
default overlap, the tiled result equals the whole-image result to float rounding. The output
is the only frame-sized array: each tile's input is cut from the image (mirrored at its
border), and the blend's weight sums are kept for the rows one tile row reaches, each row
normalised once no later tile reaches it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

from seamline.core.arrays import LUMA
from seamline.errors import InputError, StageError
from seamline.io import as_image
from seamline.ops.upscale import check_upscale_size

SR_SCALES = (2, 4)
#: nearest repeats pixels: for graphics (palette, 1-bit, dither) whose colours must stay exact
CLASSIC_METHODS = {"lanczos": cv2.INTER_LANCZOS4, "bicubic": cv2.INTER_CUBIC,
                   "nearest": cv2.INTER_NEAREST}
MIN_SIDE = 8  # smaller inputs would be mostly mirrored padding for 13-15 px receptive fields
_MODEL = "seamline-sr-x{}.onnx"


def model_path(scale: int):
    """The packaged ONNX file for ``scale`` (a :class:`importlib.resources` traversable)."""
    _check_scale(scale)
    return resources.files("seamline").joinpath("models", _MODEL.format(scale))


@lru_cache(maxsize=None)
def _session(scale: int):
    """One InferenceSession per scale, using every core (ONNX Runtime's conv is threaded)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = os.cpu_count() or 1
    try:
        data = model_path(scale).read_bytes()
    except OSError as exc:
        raise StageError(f"sr: packaged model {_MODEL.format(scale)} is missing ({exc}); "
                         f"reinstall seamline") from exc
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def _check_scale(scale) -> int:
    real = isinstance(scale, (int, float, np.integer, np.floating))
    if isinstance(scale, bool) or not real or scale not in SR_SCALES:
        raise InputError(f"scale: must be one of {SR_SCALES}, got {scale!r}")
    return int(scale)


def _radius(session) -> int:
    """Receptive radius (input px) recorded by the training script; 8 if the file lacks it."""
    meta = session.get_modelmeta().custom_metadata_map
    return int(meta.get("seamline_sr_radius", 8))


def _ramp(n_out: int, start: int, stop: int, lo_fade: int, hi_fade: int, s: int) -> np.ndarray:
    """1-D tile weights over output rows ``[start*s - lo_fade*s, stop*s + hi_fade*s)``.

    1 inside the tile's core ``[start, stop)`` (input px), falling linearly to 0 over
    ``fade`` input px on each side that has a neighbour; the neighbour's ramp is the
    mirror image, so the weights of adjacent tiles sum to 1.
    """
    pos = (np.arange(n_out, dtype=np.float32) + 0.5) / s + (start - lo_fade)  # input coords
    w = np.ones(n_out, np.float32)
    if lo_fade:
        w = np.minimum(w, np.clip((pos - start) / (2 * lo_fade) + 0.5, 0, 1))
    if hi_fade:
        w = np.minimum(w, np.clip((stop - pos) / (2 * hi_fade) + 0.5, 0, 1))
    return w


def _positive_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name}: must be an integer >= {minimum}, got {value!r}")
    return int(value)


def sr_upscale(image, *, scale=2, tile=256, overlap=16, session=None, progress=False,
               max_pixels=None):
    """Upscale an image by 2 or 4 with the packaged seamline-sr network.

    Parameters
    ----------
    image : (H, W, 3) float32 array in [0, 1], sRGB, or (H, W): grey, kept grey
        Any input :func:`seamline.io.as_image` accepts. Both sides must be at least 8 px.
        A grey image is expanded to R = G = B one tile at a time (the network takes RGB)
        and the tile's output reduced to its luminance, so the result is grey and no RGB
        copy of the frame or the output is made (a third of the memory).
    scale : {2, 4}
        Upscaling factor; one network per factor.
    tile : int, >= 16
        Tile side in input pixels. Peak memory grows with ``(tile + 2 * overlap)**2``; the
        output does not depend on it (to float rounding) while ``overlap`` covers the
        network's receptive radius.
    overlap : int, >= 0
        Extra input pixels each tile reads on every side. The default (16) exceeds the
        receptive radius of both networks (6 and 7 px), so tiles join exactly; smaller values
        still cross-fade the tiles, but their edges may show.
    session : onnxruntime.InferenceSession, optional
        Run this session instead of the packaged model (e.g. with another execution
        provider). It must take and return NCHW float32 like the packaged models.
    progress : bool
        Show a tqdm progress bar over the tiles.
    max_pixels : int, optional
        Largest output width*height (see :func:`seamline.ops.upscale.check_upscale_size`).

    Returns
    -------
    (H * scale, W * scale, 3) float32 array in [0, 1]
        (without the last axis for a grey input: the Rec. 709 luminance of the network's
        output on its R = G = B expansion, whose three channels the packaged networks
        return equal: the RGB result's values, to float rounding)

    Raises
    ------
    InputError
        ``scale`` not in ``SR_SCALES``, an image side below 8 px, bad ``tile``/``overlap``.
    StageError
        The packaged model file is missing.

    Notes
    -----
    Trained on area- and bicubic-downscaled images (see the model card): it restores detail
    lost to a clean downscale. It does not denoise or remove compression artefacts, and on
    such inputs it sharpens them.
    """
    s = _check_scale(scale)
    tile = _positive_int(tile, "tile", 16)
    overlap = _positive_int(overlap, "overlap", 0)
    x = as_image(image, grey=True)
    grey = x.ndim == 2
    chan = () if grey else ((0, 0),)  # np.pad's spec for the channel axis
    H, W = x.shape[:2]
    if min(H, W) < MIN_SIDE:
        raise InputError(f"image: sides must be at least {MIN_SIDE} px for sr_upscale, "
                         f"got {W}x{H}")
    check_upscale_size(x.shape, s, max_pixels=max_pixels)
    sess = session if session is not None else _session(s)
    name = sess.get_inputs()[0].name
    r = _radius(sess)
    # Cross-fade half-width: the part of the overlap farther than r from the tile edge is
    # exact in both tiles; with no room left, blend over half the overlap (best effort).
    fade = overlap - r if overlap > r else overlap // 2

    # Mirrored context at the image border, at least the receptive radius whatever the
    # overlap, so the border never sees the network's zero padding; "symmetric" keeps working
    # when the pad exceeds the image side. Each tile's input is cut from the image and
    # mirrored where it passes the border (`_tile_input`: the values a padded copy of the
    # whole frame would give, without that copy).
    P = max(overlap, r)
    # zeros: the blend adds into it (calloc'd pages cost memory only once a tile writes them)
    out = np.zeros((H * s, W * s) + (() if grey else (3,)), np.float32)
    # Tiles are blended a tile row at a time: the weight sums are kept for the output rows the
    # current tile row reaches (its core and the fades above and below), and rows no later
    # tile reaches are normalised as soon as the row is done. Each output pixel gets the same
    # float32 additions in the same order as with frame-sized sums, so the same values.
    band = _Band(out, grey)
    rows = range(0, H, tile)
    boxes = [(y0, x0) for y0 in rows for x0 in range(0, W, tile)]
    if progress:
        from tqdm import tqdm

        boxes = tqdm(boxes, desc=f"sr x{s}", unit="tile")
    for y0, x0 in boxes:
        y1, x1 = min(y0 + tile, H), min(x0 + tile, W)
        # Context read around the core, and the output kept around it: `fade` on the sides
        # that have a neighbour tile, nothing past the image border. Every kept value is
        # exact when overlap >= fade + r, so the normalised blend is exact too.
        cy0, cy1 = (overlap if y0 > 0 else P), (overlap if y1 < H else P)
        cx0, cx1 = (overlap if x0 > 0 else P), (overlap if x1 < W else P)
        ly, hy = min(fade, y0), min(fade, H - y1)
        lx, hx = min(fade, x0), min(fade, W - x1)
        if x0 == 0:  # a new tile row: rows above its reach are final
            band.start((y0 - ly) * s, (y1 + hy) * s)
        inp = _tile_input(x, y0 - cy0, y1 + cy1, x0 - cx0, x1 + cx1, P)
        if overlap < r:  # too little real context: mirror the rest rather than zero-pad
            e = r - overlap
            ey0, ey1, ex0, ex1 = (e * (c == overlap) for c in (cy0, cy1, cx0, cx1))
            inp = np.pad(inp, ((ey0, ey1), (ex0, ex1), *chan), mode="symmetric")
            cy0, cx0 = cy0 + ey0, cx0 + ex0
        nchw = (np.broadcast_to(inp, (3, *inp.shape)) if grey else inp.transpose(2, 0, 1))[None]
        res = sess.run(None, {name: np.ascontiguousarray(nchw)})[0][0].transpose(1, 2, 0)
        if grey:
            res = res @ LUMA  # a grey input's tile output is reduced to luminance
        oy, ox = (cy0 - ly) * s, (cx0 - lx) * s
        hh, ww = (y1 - y0 + ly + hy) * s, (x1 - x0 + lx + hx) * s
        w = (_ramp(hh, y0, y1, ly, hy, s)[:, None] * _ramp(ww, x0, x1, lx, hx, s)[None, :])
        band.add((y0 - ly) * s, (x0 - lx) * s, res[oy:oy + hh, ox:ox + ww], w)
    band.finish()
    return out


def _tile_input(x: np.ndarray, y0: int, y1: int, x0: int, x1: int, P: int) -> np.ndarray:
    """Rows ``[y0, y1)`` and columns ``[x0, x1)`` of ``x`` mirror-padded by ``P`` px.

    The box may pass the image's border by up to ``P``; the result holds what
    ``np.pad(x, P, mode="symmetric")[y0 + P:y1 + P, x0 + P:x1 + P]`` holds, made from the
    crop of ``x`` the box covers: a mirror of ``p`` rows reads the ``p`` rows next to the
    border, which the crop holds when it is at least ``p`` long or is the whole side.
    """
    H, W = x.shape[:2]
    a0, a1, b0, b1 = max(y0, 0), min(y1, H), max(x0, 0), min(x1, W)
    crop = x[a0:a1, b0:b1]
    pads = ((a0 - y0, y1 - a1), (b0 - x0, x1 - b1))
    if not any(pads[0] + pads[1]):
        return crop
    short = any(max(pad) > n and n < side
                for pad, n, side in zip(pads, crop.shape, (H, W)))
    if short:  # not with seamline-sr's tiles (>= 16 px); kept exact all the same
        chan = ((0, 0),) * (x.ndim - 2)
        return np.pad(x, ((P, P), (P, P), *chan), mode="symmetric")[
            y0 + P:y1 + P, x0 + P:x1 + P]
    return np.pad(crop, pads + ((0, 0),) * (x.ndim - 2), mode="symmetric")


class _Band:
    """Weighted tile outputs added into ``out`` (zeros) with the weight sums of one tile
    row's reach.

    ``start(r0, r1)`` begins a tile row that writes output rows ``[r0, r1)``: rows above
    ``r0`` get nothing more and are normalised (divided by their sums, clipped to [0, 1]);
    the sums of rows ``[r0, previous end)`` carry over. ``add`` adds ``res * w`` and ``w``;
    ``finish`` normalises what is left. Memory: the sums of ``tile + 2 * fade`` input rows of
    the output's width, not of the frame.
    """

    def __init__(self, out: np.ndarray, grey: bool):
        self.out, self.grey = out, grey
        self.r0 = self.r1 = 0
        self.wsum = np.zeros((0, out.shape[1]) + (() if grey else (1,)), np.float32)

    def start(self, r0: int, r1: int) -> None:
        self._normalise(self.r0, min(r0, self.r1))
        wsum = np.zeros((r1 - r0,) + self.wsum.shape[1:], np.float32)
        keep = max(0, self.r1 - r0)
        wsum[:keep] = self.wsum[r0 - self.r0:r0 - self.r0 + keep]
        self.r0, self.r1, self.wsum = r0, r1, wsum

    def add(self, y: int, x: int, res: np.ndarray, w: np.ndarray) -> None:
        hh, ww = w.shape
        sl = (slice(y, y + hh), slice(x, x + ww))
        ws = (slice(y - self.r0, y - self.r0 + hh), slice(x, x + ww))
        if self.grey:
            self.out[sl] += res * w
            self.wsum[ws] += w
        else:
            self.out[sl] += res * w[..., None]
            self.wsum[ws] += w[..., None]

    def finish(self) -> None:
        self._normalise(self.r0, self.r1)
        self.r0 = self.r1

    def _normalise(self, a: int, b: int) -> None:
        if b <= a:
            return
        rows = self.out[a:b]
        rows /= self.wsum[a - self.r0:b - self.r0]
        np.clip(rows, 0, 1, out=rows)


def classic_upscale(image, *, scale, method="lanczos", max_pixels=None):
    """Upscale with OpenCV's Lanczos-4, bicubic or nearest-neighbour interpolation.

    Parameters
    ----------
    image : (H, W, 3) float32 array in [0, 1], sRGB, or (H, W): grey, kept grey
    scale : int or float, ``0 < scale <= MAX_SCALE`` (16)
        Output size is ``round(H * scale) x round(W * scale)``.
    method : {"lanczos", "bicubic", "nearest"}
        ``cv2.INTER_LANCZOS4`` (8x8 taps), ``cv2.INTER_CUBIC`` (4x4, a = -0.75) or
        ``cv2.INTER_NEAREST`` (pixel repetition: no new colours, for graphics).
    max_pixels : int, optional
        Largest output width*height (see :func:`seamline.ops.upscale.check_upscale_size`),
        checked before the output is allocated.

    Returns
    -------
    (round(H * scale), round(W * scale), 3) float32 array in [0, 1]
        (without the last axis for a grey input). Clipped: both kernels have negative lobes
        and overshoot at edges.
    """
    if method not in CLASSIC_METHODS:
        raise InputError(f"method: must be one of {sorted(CLASSIC_METHODS)}, got {method!r}")
    x = as_image(image, grey=True)  # OpenCV resizes each channel alike: grey stays grey
    out_h, out_w = check_upscale_size(x.shape, scale, max_pixels=max_pixels)
    size = (out_w, out_h)
    out = cv2.resize(x, size, interpolation=CLASSIC_METHODS[method])
    return np.clip(out, 0, 1, out=out)
