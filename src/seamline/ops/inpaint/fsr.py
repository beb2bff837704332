"""Frequency-selective reconstruction (OpenCV xphoto's FSR) on luminance.

FSR (Genser et al., "Rapid Frequency Selective Reconstruction", 2017/2018) rebuilds each
block of a hole from a sparse set of 2-D Fourier basis functions fitted to the known pixels
around it, so edges and texture continue into the hole where a diffusion fill smears them.
Its cost grows with the hole: every block that holds an unknown pixel is fitted, textured
ones down to 4x4 px (~0.1-0.15 ms of CPU per hole pixel on luminance on a loaded 2-core
machine).

OpenCV runs FSR on all three YCrCb channels. Detail lives in luminance; the colour channels
of a photo are smooth, and Telea fills them. On 29 text regions of the train split at
1024x768 (``benchmarks/bench_text_fill.py``, exact masks) this took a median 0.58 s of CPU
per region where the three-channel fill took 0.90 s (largest: 4.3 s vs 7.5 s), at a mean
PSNR in the hole of 28.30 dB vs 28.43 dB (Telea: 26.38 dB).

Tried and not kept: filling per connected component on tight crops (the same CPU time as
one crop per text region) and filling large holes at a reduced scale, upsampled (a third
of the time, but blocks of grey and bright bars over the demo's cup rim).
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.io import as_mask, to_uint8, to_uint16

__all__ = ["fsr_fill"]


#: Mirrored context (px) added around a crop whose hole reaches its edge.
FSR_EDGE_PAD = 16


def _fsr_luma(crop: np.ndarray, hole: np.ndarray, mode: int) -> np.ndarray:
    """FSR on luminance, Telea (16-bit) on chroma; crop float32 (h, w, 3) in [0, 1]."""
    ycc = cv2.cvtColor(np.ascontiguousarray(crop, np.float32), cv2.COLOR_RGB2YCrCb)
    # FSR works on 8 bits whatever it is given; Telea takes 16-bit single channels
    y = to_uint8(ycc[..., 0])
    # xphoto's mask is inverted with respect to ours: non-zero marks a KNOWN pixel
    known = (~hole).astype(np.uint8)
    # A hole that reaches the crop's edge (a text line at the frame's edge) comes back flat
    # (0 on luminance; green in three channels) in the blocks FSR cannot support from inside:
    # mirror the crop and its hole outward so every block has context, then cut it off.
    pad = FSR_EDGE_PAD if (known[0].min() == 0 or known[-1].min() == 0
                           or known[:, 0].min() == 0 or known[:, -1].min() == 0) else 0
    if pad:
        y = cv2.copyMakeBorder(y, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        known = cv2.copyMakeBorder(known, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    dst = np.zeros_like(y)
    cv2.xphoto.inpaint(y, known, dst, mode)
    if pad:
        dst = np.ascontiguousarray(dst[pad:-pad, pad:-pad])
    out = ycc.copy()
    out[..., 0] = as_mask(dst, name="luminance")
    h8 = hole.astype(np.uint8) * 255
    for c in (1, 2):  # float YCrCb chroma is centred on 0.5: in [0, 1] for sRGB input
        q = cv2.inpaint(to_uint16(np.clip(ycc[..., c], 0, 1)), h8, 3, cv2.INPAINT_TELEA)
        out[..., c] = as_mask(q, name="chroma")
    return np.clip(cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB), 0.0, 1.0)


def fsr_fill(crop: np.ndarray, hole: np.ndarray, *, best: bool = False) -> np.ndarray:
    """Fill ``hole`` with FSR on luminance (Telea on chroma).

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
        The image (or a crop of it) with context around the hole.
    hole : ndarray, shape (h, w), bool
        Pixels to synthesise (not all of them).
    best : bool, keyword-only
        OpenCV's ``INPAINT_FSR_BEST`` profile (larger windows, more iterations) instead of
        ``INPAINT_FSR_FAST``.

    Returns
    -------
    ndarray, shape (h, w, 3), float32 in [0, 1]
        ``crop`` with the hole filled; other pixels unchanged.
    """
    mode = cv2.xphoto.INPAINT_FSR_BEST if best else cv2.xphoto.INPAINT_FSR_FAST
    out = np.array(crop, np.float32, copy=True)
    hole = np.asarray(hole, bool)
    if hole.any():
        out[hole] = _fsr_luma(out, hole, mode)[hole]
    return out
