"""Frequency-selective reconstruction (OpenCV xphoto's FSR), with context at crop edges.

FSR (Genser et al., "Rapid Frequency Selective Reconstruction", 2017/2018) rebuilds each
block of a hole from a sparse set of 2-D Fourier basis functions fitted to the known pixels
around it, so edges and texture continue into the hole where a diffusion fill smears them.
Its cost grows with the hole: every block that holds an unknown pixel is fitted, textured
ones down to 4x4 px (~0.1-0.2 ms of CPU per hole pixel on a loaded 2-core machine; the
text-removal loop bounds the hole size it gives FSR).

**Half size.** A hole thicker than ``FSR_THIN_PX`` (largest inscribed radius) is filled at
half size: the crop is averaged 2x2 over its *known* pixels only (a half-size pixel with any
known child is known: the hole shrinks instead of growing by the 2x2 rounding), FSR fills
what is left (a quarter of the blocks), the result is upsampled (bicubic), and the residual
of the photo against that upsampled fill on the known pixels (the detail finer than half
size) is carried into the hole by a Telea fill, so the hole's border meets the photo
exactly. On the train split (``benchmarks/bench_text_fill.py``, exact masks, 29 regions)
this scored +0.27 dB over full-size FSR at 0.43x its CPU time (median per region 1.12 ->
0.49 s, largest 8.4 -> 3.1 s), no smear flags (seam ratio at most 1.22, full size 1.50), with
less fine detail (detail ratio median 0.13, full size 0.22). One grid's fill depends on where
the crop starts; with ``shifts`` (the edge-first fill's, ``FSR_SHIFTS``) the half-size fill's
low frequencies are the mean of FSR's fills over shifts of its block grid (cycle spinning, as
translation-invariant wavelet denoising does it). Thin holes stay at full size: at half size
their strokes vanish into the 2x2 averages (-0.5 to -4.5 dB there); so do small ones
(``FSR_HALF_MIN_PX``), and holes in photo whose detail is finer than half size
(``FSR_FINE_MEDIAN``: stamens, grass blades, fine stripes), which the 2x2 means turn flat;
where only a stretch of the hole's ring is that fine (one word of a line over stamens), the
tiles there are refilled at full size from the half-size fill round them (``FSR_FINE_TILE``).

Tried and not kept (``benchmarks/bench_text_fill.py``, train split): FSR on luminance only
with Telea on chroma took 0.64x the CPU time at 0.13 dB lower PSNR, but where the fill's
luminance structure and Telea's chroma disagree it painted grey-blue blotches over the
demo's white cup rim; filling per connected component on tight crops cost the same as one
crop per text region; half size with the hole rounded *up* (a half-size pixel with any hole
child unknown) lost 1.3 dB; luminance at full size with chroma at half size saved only 24 %; quarter size
(``scale=4``, kept as an option) was 2-3x cheaper than half size but lost 0.1-2 dB on thick
holes and 13-18 dB on strokes 8-16 px thick, with three new structure-judge flags
(``benchmarks/results/text_fill.md``); a long caption's crop filled as two halves on two
threads (cut on the 32 px grid, 64 px overlap) took 1.4x the CPU and left a step of
0.05-0.06 across the cut in 40 px thick holes (whole: 0.002-0.007): FSR's blocks depend on
more than their neighbours.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.errors import InputError
from seamline.io import as_image, to_uint8, to_uint16
from seamline.ops.inpaint.fsr_kernel import fsr_inpaint
from seamline.ops.inpaint.telea_kernel import telea_inpaint

__all__ = ["fsr_fill", "default_scale", "fine_detail", "fine_part"]


#: Mirrored context (px) added around a crop whose hole reaches its edge.
FSR_EDGE_PAD = 16
#: Largest inscribed radius (px) of a hole up to which FSR runs at full size; thicker holes
#: are filled at half size (see the module docstring) unless they are small.
FSR_THIN_PX = 5.0
#: Grid shifts (px at half size, down and right) the edge-first fill's half-size FSR is
#: averaged over (:func:`fsr_fill`'s ``shifts``). FSR fits each block on a fixed 16 px grid:
#: moved by one crop pixel, the demo caption's fill changed by up to 5 dB in places (a grey
#: haze over the saucer's shadow from one grid, none from the next). Not the plain ``fsr``
#: fill's default: there, on the 36 train cases, a glow's ghost-found "CON" beside a fill
#: read as glyph-shaped residue 0.165 (one grid 0.131, flag at 0.15; QA-failed 9 -> 10).
#: Demo caption crop (its edge-first fill) at 16 crop offsets, hole PSNR
#: mean / worst: one grid 25.63 / 24.59 dB, the four below 26.14 / 25.93 (the hazy stretch
#: 27.10 / 21.68 -> 29.46 / 27.21); with ``FSR_SHIFT_SIGMA`` 26.02 / 25.69 (28.85 / 26.65).
FSR_SHIFTS = ((0, 0), (0, 2), (2, 0), (2, 2))
#: Blur (px at half size) under which the shifts' mean replaces the first grid's fill; the
#: detail above it stays the first grid's: the mean of four fills kept too little of the
#: grain FSR draws (a streaked surface's fill judged flat by the surface look, four tests of
#: tests/test_surface.py and test_text_removal_loop.py; sigma 0.5 / 1 still failed them).
FSR_SHIFT_SIGMA = 2.0
#: Holes of at most this many pixels run at full size whatever their thickness: half size
#: saves ~0.2 s there, and on the outlined word "EVERY" (1398 px, train split) it left a
#: glyph-shaped residue the ghost judge flagged (0.16; full size 0.09), a refill and a
#: second read costing more than it saved.
FSR_HALF_MIN_PX = 3000
#: Median over the known pixels 3-10 px from the hole of the luminance (0-1 scale) of the
#: photo's detail finer than half size (the photo minus its 2x2 means upsampled: what the
#: half-size fill leaves to a Telea fill of the residual), above which a thick hole still
#: runs at full size. Over fine high-contrast structure (a flower's stamens, fine radial
#: stripes) the 2x2 means are flat, so FSR at half size fits large smooth blocks there and
#: Telea carries no stripe in: a flat, block-edged patch inside the texture at 3x. A
#: median, not an RMS: a few sharp edges in the ring (a white panel on black, train mix
#: 020) are no fine texture, and full size cut that panel with a dark band (-2.7 dB).
#: Hole PSNR full - half size (the pipeline's own masks and crops; train mix and analogues: white
#: DejaVu Sans Bold 28-32 px subtitle lines, 1-2 px black outline): over it a sunburst
#: 0.037 / 0.047 +0.74 / +0.74 dB, a stamen disc 0.038 / 0.040 +0.33 / +0.37, camera's
#: grass under a watermark 0.027 +2.22; under it chelsea's fur 0.004-0.006 -0.8 / -1.0,
#: grace_hopper 0.010 +0.65 / -0.28, coffee 0.008 -1.57, the astronaut's panel 0.006
#: -2.73. Not 0.015, which took grass 0.017 (+0.10 / +0.16), gravel 0.023 (+0.42) and
#: procedural noise 0.022 too: on the noise (train mix 002, an outlined "ROAST") the full-
#: size fill continued the outline's rim the mask left as a grey ghost of the word, which
#: the tint judge passed (at half size it flagged the fill and the re-mask cleared it).
FSR_FINE_MEDIAN = 0.025
#: A thick hole whose ring as a whole is not fine (a subtitle line over a soft photo) may
#: still cross fine structure with one word: on the held-out subtitle "end" crossed a
#: flower's stamens, and there the half-size fill was the same flat, block-edged patch.
#: The default fill (:func:`fsr_fill`, ``scale=None``) judges the ring tile by tile
#: (:func:`fine_part`): the hole pixels of each ``FSR_FINE_TILE`` px tile whose ring within
#: ``FSR_FINE_REACH`` px (at least ``FSR_FINE_MIN_RING`` pixels of it) has a median detail
#: over ``FSR_FINE_MEDIAN`` are filled again at full size, on a crop ``FSR_FINE_MARGIN`` px
#: round them, with the half-size fill around them as known pixels (FSR continues into it:
#: no seam). Elsewhere the hole keeps its half-size fill and cost (judging the tiles: 0.1 ms
#: over a soft ring, 1-4 ms where some of it is fine). Train analogues (two white DejaVu Sans
#: Bold 26-32 px subtitle lines, 1-2 px black outline, over four soft photos with a 120 px
#: disc of fine structure under "end"), PSNR in the text region: radial stripes +0.53 /
#: +0.44 / -0.04 dB (where the half-size fill left a flat brown block, the stripes continue
#: at 3x), stamen-like filaments +0.17 / +0.21 / +0.17 / -0.05; hair, whiskers and grass
#: are (nearly) never this fine (0-800 px taken, within 0.1 dB; full size there ranged -2.6
#: to +2.5 dB). Filling every hole pixel of the refill crop anew, feathered into the
#: half-size fill, scored -0.3 to +0.6 dB, at more CPU.
FSR_FINE_TILE = 16
FSR_FINE_REACH = 16
FSR_FINE_MIN_RING = 64
FSR_FINE_MARGIN = 32
#: 8-bit levels a filled pixel's Y, Cr or Cb may lie outside that channel's range over the
#: crop's known pixels before it counts as a failed FSR block (:func:`_fsr`).
FSR_RANGE_TOL = 24


def _fsr(crop: np.ndarray, hole: np.ndarray, mode: int) -> np.ndarray:
    """OpenCV's FSR (its compiled re-write, :mod:`seamline.ops.inpaint.fsr_kernel`: the
    same pixels at a quarter of the CPU time, channels on up to three threads) on an 8-bit
    crop; float32 (h, w, 3) in [0, 1] in and out."""
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
    dst = fsr_inpaint(src, known, best=mode == cv2.xphoto.INPAINT_FSR_BEST)
    # Blocks FSR cannot support come back flat pure green ((0, 135, 0), (0, 242, 0) seen);
    # the edge pad above avoids most, not all (held-out multiline and glow captions, 689 and
    # 309 green px): hole pixels with no red and no blue get Telea from the fill around them
    # (on a saturated green photo that replaces green with the green around it).
    bad = (known == 0) & (dst[..., 0] == 0) & (dst[..., 2] == 0) & (dst[..., 1] > 0)
    # Not all such blocks come back pure: FSR fits Y, Cr and Cb apart, and a block whose
    # chroma fit fails (Cr, Cb near 0) over a good Y comes back green of any brightness
    # (train case 034, a grey moon at half size: YCrCb (144, 25, 47), a 20x10 px green
    # blob). A hole pixel whose Y, Cr or Cb lies more than FSR_RANGE_TOL outside that
    # channel's range over the known pixels is a colour no pixel around it has: refilled
    # with the pure green ones, from the fill around them. (Growing what is refilled by
    # 1 px changed the pure-green repair too: train case 023 -0.27 dB and QA-failed.)
    bad |= _out_of_range(src, dst, known)
    if bad.any():
        dst = telea_inpaint(dst, bad.astype(np.uint8) * 255)
    if pad:
        dst = dst[pad:-pad, pad:-pad]
    return as_image(np.ascontiguousarray(dst))


def _out_of_range(src: np.ndarray, dst: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Hole pixels (``known == 0``) of FSR's ``dst`` with a YCrCb channel more than
    ``FSR_RANGE_TOL`` (8-bit levels) outside that channel's range over the known pixels of
    ``src`` (both BGR uint8)."""
    k = known != 0
    if not k.any():
        return np.zeros(k.shape, bool)
    s = cv2.cvtColor(src, cv2.COLOR_BGR2YCrCb)[k].astype(np.int16)
    d = cv2.cvtColor(dst, cv2.COLOR_BGR2YCrCb).astype(np.int16)
    lo, hi = s.min(0) - FSR_RANGE_TOL, s.max(0) + FSR_RANGE_TOL
    return ~k & np.any((d < lo) | (d > hi), axis=-1)


def _reduce(a: np.ndarray, s: int) -> np.ndarray:
    """s x s area mean of an array whose height and width are multiples of ``s``."""
    return cv2.resize(a, (a.shape[1] // s, a.shape[0] // s), interpolation=cv2.INTER_AREA)


def _fsr_reduced(crop: np.ndarray, hole: np.ndarray, mode: int, s: int = 2,
                 shifts=((0, 0),)) -> np.ndarray:
    """FSR at 1/``s`` size with the residual carried in (module docstring); hole pixels
    only are meaningful in the (h, w, 3) float32 result."""
    h, w = hole.shape
    # sides a multiple of s (mirrored rows / columns) so the s x s means tile the crop
    ev = (0, -h % s, 0, -w % s)
    c = cv2.copyMakeBorder(crop, *ev, cv2.BORDER_REFLECT_101)
    k = cv2.copyMakeBorder((~hole).astype(np.float32), *ev, cv2.BORDER_REFLECT_101)
    # means over the known children only: a reduced pixel is known if any child is
    den = _reduce(k, s)
    num = _reduce(c * k[..., None], s)
    known = den > 0
    small = np.zeros(num.shape, np.float32)
    small[known] = num[known] / den[known][:, None]
    # FSR's blocks lie on a fixed grid, and which block a stretch of hole falls in decides
    # what it is fitted from: the average over grid shifts (module docstring)
    fills = []
    for dy, dx in shifts:
        shifted = cv2.copyMakeBorder(small, dy, 0, dx, 0, cv2.BORDER_REFLECT_101)
        hole_s = cv2.copyMakeBorder((~known).astype(np.uint8), dy, 0, dx, 0,
                                    cv2.BORDER_REFLECT_101) > 0
        fills.append(_fsr(shifted, hole_s, mode)[dy:, dx:])
    # the mean's low frequencies, the first grid's detail (a mean of fills is smoother than
    # any of them)
    first = fills[0]
    if len(fills) > 1:
        low = cv2.GaussianBlur(np.mean(fills, axis=0), (0, 0), FSR_SHIFT_SIGMA)
        first = low + first - cv2.GaussianBlur(first, (0, 0), FSR_SHIFT_SIGMA)
    small[~known] = first[~known]
    up = cv2.resize(small, (c.shape[1], c.shape[0]), interpolation=cv2.INTER_CUBIC)[:h, :w]
    # the detail finer than the reduced size (photo minus upsampled fill, on the known
    # pixels), carried into the hole by Telea (16-bit, each channel as its own fill would
    # carry it; offset to be non-negative)
    res = np.clip((crop - up) * 0.5 + 0.5, 0, 1)
    res[hole] = 0.5
    carried = telea_inpaint(to_uint16(res), hole.astype(np.uint8) * 255)
    return np.clip(up + (as_image(carried) - 0.5) * 2, 0, 1)


def _fine_ring(crop: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(detail, ring)``: the absolute luminance (0-1 scale) of ``crop``'s detail finer than
    half size (the crop minus its 2x2 means upsampled, bicubic), (h, w) float32, and the known
    pixels 3-10 px from ``hole``, (h, w) bool."""
    hole = np.asarray(hole, bool)
    y = cv2.cvtColor(np.asarray(crop, np.float32), cv2.COLOR_RGB2GRAY)
    h, w = y.shape
    ev = cv2.copyMakeBorder(y, 0, h % 2, 0, w % 2, cv2.BORDER_REFLECT_101)
    up = cv2.resize(_reduce(ev, 2), (ev.shape[1], ev.shape[0]),
                    interpolation=cv2.INTER_CUBIC)[:h, :w]
    dist = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 3)
    return np.abs(y - up), ~hole & (dist > 2) & (dist <= 10)


def fine_detail(crop: np.ndarray, hole: np.ndarray) -> float:
    """Median absolute luminance (0-1 scale) of ``crop``'s detail finer than half size (the
    crop minus its 2x2 means upsampled, bicubic) on the known pixels 3-10 px from ``hole``
    ((h, w), bool or any array whose non-zero pixels are the hole, as :func:`fsr_fill`
    takes); 0.0 where there are none. ``crop``: (h, w, 3) float32 in [0, 1]."""
    detail, ring = _fine_ring(crop, hole)
    return float(np.median(detail[ring])) if ring.any() else 0.0


def fine_part(crop: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The pixels of ``hole`` ((h, w), non-zero: the hole) whose own stretch of ring is fine: hole pixels of
    the ``FSR_FINE_TILE`` px tiles (on the crop's grid) where the median of :func:`fine_detail`'s
    detail over the ring pixels within ``FSR_FINE_REACH`` px of the tile, at least
    ``FSR_FINE_MIN_RING`` of them, passes ``FSR_FINE_MEDIAN``. (h, w) bool; ``crop``:
    (h, w, 3) float32 in [0, 1]."""
    hole = np.asarray(hole, bool)  # a float mask: ~ and & below need bool
    detail, ring = _fine_ring(crop, hole)
    t, r = FSR_FINE_TILE, FSR_FINE_REACH
    fine = np.zeros(hole.shape, bool)
    # a median over n >= FSR_FINE_MIN_RING pixels passes only where n / 2 of them do: over
    # a soft ring no tile can (most crops: their tiles are not looked at)
    if np.count_nonzero(detail[ring] > FSR_FINE_MEDIAN) < FSR_FINE_MIN_RING // 2:
        return fine
    for y, x in zip(*np.nonzero(_reduce_any(hole, t))):
        y, x = y * t, x * t
        near = (slice(max(0, y - r), y + t + r), slice(max(0, x - r), x + t + r))
        got = detail[near][ring[near]]
        if got.size >= FSR_FINE_MIN_RING and np.median(got) > FSR_FINE_MEDIAN:
            fine[y:y + t, x:x + t] = True
    return fine & hole


def _reduce_any(a: np.ndarray, t: int) -> np.ndarray:
    """Whether each ``t`` x ``t`` tile of bool ``a`` (the last ones cut by its edge) holds a
    True pixel, (ceil(h / t), ceil(w / t)) bool."""
    h, w = a.shape
    p = np.pad(a, ((0, -h % t), (0, -w % t)))
    return p.reshape(p.shape[0] // t, t, p.shape[1] // t, t).any(axis=(1, 3))


def default_scale(hole: np.ndarray, crop: np.ndarray | None = None) -> int:
    """:func:`fsr_fill`'s default ``scale`` for ``hole`` (bool, (h, w)): 1 for holes whose
    largest inscribed radius is at most ``FSR_THIN_PX``, with at most ``FSR_HALF_MIN_PX``
    pixels, or (given the ``crop`` round it, (h, w, 3) float32) in photo whose detail finer
    than half size passes ``FSR_FINE_MEDIAN`` (:func:`fine_detail`), else 2."""
    hole = np.asarray(hole, bool)
    radius = cv2.distanceTransform(np.pad(hole, 1).astype(np.uint8), cv2.DIST_L2, 5).max()
    if radius <= FSR_THIN_PX or hole.sum() <= FSR_HALF_MIN_PX:
        return 1
    return 1 if crop is not None and fine_detail(crop, hole) > FSR_FINE_MEDIAN else 2


def fsr_fill(crop: np.ndarray, hole: np.ndarray, *, best: bool = False,
             scale: int | None = None, shifts=((0, 0),)) -> np.ndarray:
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
    scale : {1, 2, 4}, optional, keyword-only
        1: FSR at full size; 2 (4): at half (quarter) size, with the finer detail carried
        in from the border (module docstring). Default: :func:`default_scale` (1 for thin
        or small holes and for holes in photo with detail finer than half size, else 2,
        with the hole's tiles whose own ring is that fine, :func:`fine_part`, refilled at
        full size).
    shifts : sequence of (int, int), keyword-only
        Shifts (px at the reduced size, down and right) of FSR's block grid whose fills'
        low frequencies are averaged at half or quarter size (``FSR_SHIFTS``; default one
        grid, as before).

    Returns
    -------
    ndarray, shape (h, w, 3), float32 in [0, 1]
        ``crop`` with the hole filled; other pixels unchanged.
    """
    mode = cv2.xphoto.INPAINT_FSR_BEST if best else cv2.xphoto.INPAINT_FSR_FAST
    out = np.array(crop, np.float32, copy=True)
    hole = np.asarray(hole, bool)
    if scale not in (None, 1, 2, 4):
        raise InputError(f"scale: expected 1, 2, 4 or None, got {scale!r}")
    if not hole.any():
        return out
    fine = None
    if scale is None:
        scale = default_scale(hole, out)
        if scale == 2:  # the ring as a whole is not fine; a stretch of it may be
            fine = fine_part(out, hole)
    out[hole] = (_fsr(out, hole, mode) if scale == 1
                 else _fsr_reduced(out, hole, mode, scale, shifts))[hole]
    if fine is not None and fine.any():
        # refilled at full size from the half-size fill round it (a tight crop: FSR's cost
        # follows the hole it fills), which it then meets without a seam
        ys, xs = np.nonzero(fine)
        m = FSR_FINE_MARGIN
        box = (slice(max(0, ys.min() - m), ys.max() + m + 1),
               slice(max(0, xs.min() - m), xs.max() + m + 1))
        out[box][fine[box]] = _fsr(out[box], fine[box], mode)[fine[box]]
    return out
