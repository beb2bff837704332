"""Polygons to pixels: a text line's polygon (or a box around it) as a mask of a crop.

The detector gives text lines as float polygons in image px; the mask, glyph, ghost, tile
vote and watermark code read them on crops of the image. One rasteriser serves them all, so
the rounding and the fill rule are the same everywhere.

numpy and OpenCV only (:mod:`seamline.core.arrays` is numpy only: the core has no
rasteriser).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["polygon_mask", "polygon_box_mask", "line_crop", "line_rect", "stacked",
           "nearest_centre"]


def _vertices(polygon) -> np.ndarray:
    """``polygon`` (``(N, 2)``, or OpenCV's ``(N, 1, 2)``) as an (N, 2) array, N >= 1, every
    coordinate finite; else a one-line ValueError (a NaN vertex cast to int32 px is
    undefined: OpenCV drew a stray wedge)."""
    pts = np.asarray(polygon)
    # (N, 1, 2) is OpenCV's contour layout; any other 3-d stack (M polygons of N vertices)
    # would be flattened into one polygon zig-zagging between them, so it is refused
    if (pts.size < 2 or pts.shape[-1] != 2 or pts.ndim not in (2, 3)
            or (pts.ndim == 3 and pts.shape[1] != 1)):
        raise ValueError(f"polygon: expected (N, 2) vertices, N >= 1; got shape {pts.shape}")
    pts = pts.reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise ValueError(f"polygon: every vertex must be finite; got {pts.tolist()}")
    return pts


def polygon_mask(polygon, shape: tuple[int, int], offset=None) -> np.ndarray:
    """The pixels of one polygon on a crop: ``cv2.fillPoly``'s fill of it.

    Parameters
    ----------
    polygon : array_like, shape (N, 2)
        Vertices ``(x, y)`` in image px (float or int).
    shape : tuple of int
        ``(h, w)`` of the crop; both above 0.
    offset : array_like, shape (2,), optional
        The crop's top-left corner ``(x0, y0)`` in image px (default: the polygon is in the
        crop's px already). It is taken off before rounding, in the dtype numpy gives
        ``polygon - offset`` (a float32 polygon less a float32 offset stays float32).

    Returns
    -------
    ndarray, shape (h, w), uint8
        1 inside the polygon and on its outline, 0 elsewhere. The vertices are rounded half
        to even (``np.round``) to int32 px; the outline is drawn 8-connected, as
        ``cv2.fillPoly`` draws it, and what lies outside the crop is clipped.

    Raises
    ------
    ValueError
        ``polygon`` has no vertex, is not (N, 2), or has a coordinate that is not finite.
    """
    pts = _vertices(polygon) if offset is None else _vertices(polygon) - offset
    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m


def polygon_box_mask(polygon, shape: tuple[int, int]) -> tuple[tuple[slice, slice], np.ndarray]:
    """One polygon's pixels in a frame, on its bounding box only: what
    ``polygon_mask(polygon, shape) > 0`` holds, without the frame-sized array.

    Parameters
    ----------
    polygon : array_like, shape (N, 2)
        Vertices ``(x, y)`` in frame px (float or int).
    shape : tuple of int
        ``(H, W)`` of the frame.

    Returns
    -------
    box : tuple of slice
        ``(rows, cols)`` of the frame: the rounded vertices' bounding box, clipped to it
        (empty where the polygon lies outside the frame).
    mask : ndarray, shape of ``frame[box]``, bool
        ``polygon_mask(polygon, shape)[box] > 0``: the vertices are rounded as there, in the
        frame's px, before the box's corner is taken off (``np.round`` rounds halves to even,
        so rounding after the offset could move a vertex by 1 px).

    Raises
    ------
    ValueError
        As :func:`polygon_mask` does.
    """
    H, W = shape
    pts = np.round(_vertices(polygon))
    x0, y0 = max(int(pts[:, 0].min()), 0), max(int(pts[:, 1].min()), 0)
    x1, y1 = min(int(pts[:, 0].max()) + 1, W), min(int(pts[:, 1].max()) + 1, H)
    if x1 <= x0 or y1 <= y0:
        return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool)
    return (slice(y0, y1), slice(x0, x1)), polygon_mask(pts, (y1 - y0, x1 - x0), (x0, y0)) > 0


def line_crop(shape: tuple[int, int], polygon, margin: float) -> tuple[int, int, int, int]:
    """The crop round a text line that its mask edge is judged on: the polygon's bounding
    box grown by ``margin`` x its height (the short side of its rotated box, at least 2 px)
    + 8 px, truncated to int px and clipped to ``shape`` ``(H, W)``; ``(y0, y1, x0, x1)``."""
    H, W = shape
    p = np.asarray(polygon, np.float32)
    h = min(cv2.minAreaRect(p)[1])  # the line's height: the short side
    pad = margin * max(2.0, float(h)) + 8
    x0, y0 = max(int(p[:, 0].min() - pad), 0), max(int(p[:, 1].min() - pad), 0)
    x1, y1 = min(int(p[:, 0].max() + pad) + 1, W), min(int(p[:, 1].max() + pad) + 1, H)
    return y0, y1, x0, x1


def line_rect(p):
    """A text box's rotated rectangle with the long side along the line: ``((cx, cy), (w, h),
    angle in degrees)``, ``w >= h`` (``cv2.minAreaRect`` of the (N, 2) points as float32)."""
    (cx, cy), (w, h), ang = cv2.minAreaRect(np.asarray(p, np.float32))
    if w < h:
        w, h, ang = h, w, ang + 90.0
    return (cx, cy), (w, h), ang


def stacked(p, q) -> bool:
    """Whether box ``q``'s centre lies more across box ``p``'s line than along it: two lines
    one above the other (not one line the detector split in two boxes side by side)."""
    (cx, cy), _, ang = line_rect(p)
    u = np.array([np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))])
    d = np.asarray(q, np.float64).mean(axis=0) - (cx, cy)
    return bool(abs(d[0] * u[1] - d[1] * u[0]) > abs(d @ u))


def nearest_centre(polygon, centres, tol: float) -> int:
    """Index of the point in ``centres`` ((M, 2) x, y px) nearest the polygon's centre (the
    mean of its vertices), if within ``tol`` px; else -1 (also for no centres): which copy
    of a tiled watermark a tile stands on."""
    centres = np.asarray(centres, np.float64).reshape(-1, 2)
    if not len(centres):
        return -1
    d = np.hypot(*(centres - np.asarray(polygon, np.float64).reshape(-1, 2).mean(0)).T)
    k = int(np.argmin(d))
    return k if d[k] <= tol else -1
