"""The oriented fill: a hole over structure that runs one way, filled along that way.

A photo of a guardrail from a moving car, a striped awning, a motion-blurred fence: bright and
dark bands that all run in one direction. Every fill that reads the hole's border all round
breaks them: Telea and the other diffusion fills march in from every side and meet in a crease
across the bands, FSR's patches of the ring's spectrum cannot carry a band 30 px wide across a
title 80 px tall and leave blotches, and a patch fill copies band ends. Along the bands the
photo barely changes, so each hole pixel is the photo where a line through it in the bands'
direction leaves the hole, on either side, weighted by nearness (:func:`oriented_fill`).

The direction is the ring's (:func:`ring_orientation`): the dominant orientation of the
luminance gradients in the known pixels 3-24 px around the hole (their structure tensor), and
its coherence says how much of the ring runs that one way (1: parallel bands only; 0: no
direction); the directions of its two halves either side of the middle say whether the
structure bends (a curve, a cup's rim) or runs straight.
:func:`seamline.ops.text.region_fill.choose_region_fill` gives the fill to a region over
texture or structure whose ring scores ``ORIENTED_COHERENCE`` or more and bends
``ORIENTED_BEND_DEG`` or less.

numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.core.arrays import LUMA

__all__ = ["ring_orientation", "oriented_fill", "ORIENTED_BEND_DEG", "ORIENTED_COHERENCE",
           "RING_PX"]

#: Ring (px beyond the hole) the direction is measured on: wide enough for a few bands.
RING_PX = 24
#: Least coherence of the ring's gradients for the oriented fill (``choose_region_fill``).
#: Train split (``benchmarks/structure_fill_eval.py``): the pipeline's holes over the
#: motion-blurred rails 0.91-0.99 but rail2 (turned 12 degrees, 0.81: the edge-first fill)
#: (on the drawn masks this fill scored 23-29 dB in the text region against FSR's 15-19);
#: procedural stripes0 0.98 (it takes this fill too); brick 0.69, stereo_motorcycle
#: 0.24-0.48, camera 0.21-0.31, stripes1 0.09.
ORIENTED_COHERENCE = 0.9
#: ... and most bend (degrees) between the directions of the ring's two halves: a curve is
#: no band (a cup's rim across a title, one strong edge, scores 0.94 coherent and bends
#: 17.8 degrees, where the oriented fill scored 13.1 dB against the edge-first fill's 18.5;
#: the train rails bend under 1).
ORIENTED_BEND_DEG = 5.0
#: A line reads the photo this many px or more beyond the hole: the text's anti-aliased rim
#: the mask leaves there (one row of it, carried along the bands, drew a line of the title's
#: colour across a guardrail: train rail0) is not read.
RIM_SKIP_PX = 2.5
#: The value read where a line leaves the hole: the mean of its first readable pixel and the
#: readable ones this many px past it (nearest pixels: averages the photo's grain).
READ_PX = (1, 2, 3)


def _tensor_angle(gx: np.ndarray, gy: np.ndarray) -> tuple[float, float]:
    """The direction along the bands (radians, in (-pi/2, pi/2]) and the coherence of the
    summed structure tensor of gradients ``gx``, ``gy`` (float64, 1-D)."""
    jxx, jyy, jxy = float(gx @ gx), float(gy @ gy), float(gx @ gy)
    trace = jxx + jyy
    if trace <= 1e-12:
        return 0.0, 0.0
    along = 0.5 * np.arctan2(2 * jxy, jxx - jyy) + 0.5 * np.pi  # gradient turned 90 degrees
    if along > 0.5 * np.pi:
        along -= np.pi
    return float(along), float(np.hypot(jxx - jyy, 2 * jxy) / trace)


def ring_orientation(crop: np.ndarray, hole: np.ndarray) -> tuple[float, float, float]:
    """The direction the photo's structure runs in around a hole, how one-way it is, and
    how much it bends along the hole.

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
    hole : ndarray, shape (h, w), bool

    Returns
    -------
    angle : float
        Radians, the direction along the bands (perpendicular to the dominant gradient),
        in image coordinates (x right, y down), in (-pi/2, pi/2].
    coherence : float
        In [0, 1]: ``(l1 - l2) / (l1 + l2)`` of the ring's summed structure tensor (0 where
        the ring has no gradient).
    bend : float
        Degrees between the directions of the ring's two halves either side of its middle
        along ``angle`` (a curve, such as a cup's rim, turns; a straight band does not).
    """
    return _orientation(crop, _distance_out(hole))


def _distance_out(hole: np.ndarray) -> np.ndarray:
    """Each known pixel's distance (px, float32) to the hole: the ring and the readable
    pixels of :func:`oriented_fill` are both cut from it."""
    return cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)


def _orientation(crop: np.ndarray, dist: np.ndarray) -> tuple[float, float, float]:
    """:func:`ring_orientation` given the hole's :func:`_distance_out`."""
    luma = np.ascontiguousarray(crop @ LUMA, np.float32)
    # known pixels whose 3x3 Sobel stencil holds no hole pixel: the text leaves no gradient
    ring = (dist > 2) & (dist <= RING_PX)
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=3)[ring].astype(np.float64)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=3)[ring].astype(np.float64)
    angle, coherence = _tensor_angle(gx, gy)
    if coherence == 0.0:
        return angle, coherence, 0.0
    ys, xs = np.nonzero(ring)
    along = xs * np.cos(angle) + ys * np.sin(angle)
    first = along <= np.median(along)
    a, _ = _tensor_angle(gx[first], gy[first])
    b, _ = _tensor_angle(gx[~first], gy[~first])
    bend = abs(np.degrees(a - b)) % 180.0
    return angle, coherence, float(min(bend, 180.0 - bend))


def oriented_fill(crop: np.ndarray, hole: np.ndarray, angle: float | None = None) -> np.ndarray:
    """Fill ``hole`` along the ring's direction (:func:`ring_orientation`).

    Each hole pixel walks both ways along the direction to the first known pixel more than
    ``RIM_SKIP_PX`` from the hole; the value there (with such pixels ``READ_PX`` further,
    averaged) is blended by inverse
    distance with the other side's. A pixel whose line leaves the crop on one side takes the
    other side's value; on neither side (a hole that spans the crop along the direction, as
    a bar across the whole frame does), Telea's, on 8 bits.

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
    hole : ndarray, shape (h, w), bool
    angle : float, optional
        Radians along the bands; default: the ring's (:func:`ring_orientation`).

    Returns
    -------
    ndarray, shape (h, w, 3), float32 in [0, 1]
        ``crop`` with the hole filled (a copy).
    """
    dist = _distance_out(hole)
    if angle is None:
        angle, _, _ = _orientation(crop, dist)
    h, w = hole.shape
    dy, dx = float(np.sin(angle)), float(np.cos(angle))
    ys, xs = np.nonzero(hole)
    ys, xs = ys.astype(np.float32), xs.astype(np.float32)
    src = np.ascontiguousarray(crop, np.float32)
    # the pixels a line may read: known, and past the rim
    readable = dist > RIM_SKIP_PX
    sums = np.zeros((ys.size, 3), np.float64)
    weights = np.zeros(ys.size, np.float64)
    for sign in (1.0, -1.0):
        alive = np.arange(ys.size)
        for t in range(1, int(np.hypot(h, w)) + 1):
            iy = np.rint(ys[alive] + sign * t * dy).astype(np.intp)
            ix = np.rint(xs[alive] + sign * t * dx).astype(np.intp)
            inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            alive, iy, ix = alive[inside], iy[inside], ix[inside]
            if not alive.size:
                break
            hit = readable[iy, ix]
            got = alive[hit]
            if got.size:
                # the first readable pixel and those READ_PX past it that are readable too
                val, n = src[iy[hit], ix[hit]].astype(np.float64), np.ones(got.size)
                for r in READ_PX:
                    qy = np.clip(np.rint(ys[got] + sign * (t + r) * dy).astype(np.intp), 0, h - 1)
                    qx = np.clip(np.rint(xs[got] + sign * (t + r) * dx).astype(np.intp), 0, w - 1)
                    ok = readable[qy, qx]
                    val[ok] += src[qy[ok], qx[ok]]
                    n += ok
                val /= n[:, None]
                sums[got] += val / t
                weights[got] += 1.0 / t
                alive = alive[~hit]
                if not alive.size:
                    break
    out = src.copy()
    reached = weights > 0
    fill = sums[reached] / weights[reached, None]
    out[ys[reached].astype(np.intp), xs[reached].astype(np.intp)] = fill.astype(np.float32)
    if not reached.all():  # no known pixel either way (a hole across the whole crop)
        rest = hole.copy()
        rest[ys[reached].astype(np.intp), xs[reached].astype(np.intp)] = False
        u8 = np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)
        tel = cv2.inpaint(u8, rest.astype(np.uint8), 3, cv2.INPAINT_TELEA)
        out[rest] = tel[rest].astype(np.float32) / 255
    return np.clip(out, 0.0, 1.0)
