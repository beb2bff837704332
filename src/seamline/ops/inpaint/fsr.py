"""Frequency-selective reconstruction (OpenCV xphoto's FSR), with context at crop edges.

FSR (Genser et al., "Rapid Frequency Selective Reconstruction", 2017/2018) rebuilds each
block of a hole from a sparse set of 2-D Fourier basis functions fitted to the known pixels
around it, so edges and texture continue into the hole where a diffusion fill smears them.
Its cost grows with the hole: every block that holds an unknown pixel is fitted, textured
ones down to 4x4 px (~0.1-0.2 ms of CPU per hole pixel on a loaded 2-core machine; the
text-removal loop bounds the hole size it gives FSR).

Tried and not kept (``benchmarks/bench_text_fill.py``, train split): FSR on luminance only
with Telea on chroma took 0.64x the CPU time at 0.13 dB lower PSNR, but where the fill's
luminance structure and Telea's chroma disagree it painted grey-blue blotches over the
demo's white cup rim; filling per connected component on tight crops cost the same as one
crop per text region; filling large holes at a reduced scale left grey blocks at a crop's
edge.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.io import as_image, to_uint8

__all__ = ["fsr_fill"]


#: Mirrored context (px) added around a crop whose hole reaches its edge.
FSR_EDGE_PAD = 16


def _fsr(crop: np.ndarray, hole: np.ndarray, mode: int) -> np.ndarray:
    """OpenCV's FSR on an 8-bit crop; float32 (h, w, 3) in [0, 1] in and out."""
    src = to_uint8(crop)
    # xphoto's mask is inverted with respect to ours: non-zero marks a KNOWN pixel
    known = (~hole).astype(np.uint8)
    # A hole that reaches the crop's edge (a text line at the frame's edge) comes back as
    # flat (0, 135, 0) green in the blocks FSR cannot support from inside: mirror the crop
    # and its hole outward so every block has context, then cut the padding off.
    pad = FSR_EDGE_PAD if (known[0].min() == 0 or known[-1].min() == 0
                           or known[:, 0].min() == 0 or known[:, -1].min() == 0) else 0
    if pad:
        src = cv2.copyMakeBorder(src, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
        known = cv2.copyMakeBorder(known, pad, pad, pad, pad, cv2.BORDER_REFLECT_101)
    dst = np.zeros_like(src)
    cv2.xphoto.inpaint(src, known, dst, mode)
    if pad:
        dst = dst[pad:-pad, pad:-pad]
    return as_image(np.ascontiguousarray(dst))


def fsr_fill(crop: np.ndarray, hole: np.ndarray, *, best: bool = False) -> np.ndarray:
    """Fill ``hole`` with OpenCV's FSR.

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
        out[hole] = _fsr(out, hole, mode)[hole]
    return out
