"""Stroke width and text height of the masked glyphs of each text line, and its edge.

The mask normaliser sizes its dilation per line from these two numbers
(:func:`seamline.ops.masks.dilation_for_text`), and the text-removal loop chooses the fill
from the stroke width (:func:`seamline.ops.text.removal.choose_region_fill`). Measured on
the mask itself, so they describe what will be filled, whichever method built the mask.
:func:`hard_edged` tells a line whose text ends where its mask ends; combining the glyph
mask with the segmenter's is :mod:`seamline.ops.text.effects`.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.polygons import line_crop, polygon_mask
from seamline.ops.polygons import line_rect as _rect
from seamline.ops.text.hard_shadow import crop_lab

__all__ = ["hard_edged", "line_geometry"]


def line_geometry(mask: np.ndarray, polygons, *, margin: float = 0.3
                  ) -> tuple[list[float], list[float]]:
    """Per text line: the glyphs' typical stroke width and the line's text height, in px.

    Parameters
    ----------
    mask : ndarray, shape (H, W), float32 in [0, 1]
        Text mask; its support ``mask >= 0.5`` is measured.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        Text-line polygons (the detector's).
    margin : float, keyword-only
        The part of the mask within this fraction of the box height around a polygon counts
        for that line (outlines and shadows reach past the detector's box).

    Returns
    -------
    stroke_width_px, text_height_px : list of float
        One each per polygon, > 0. Stroke width: twice the median distance from the ridge of
        the strokes to their edge. Text height: the extent of the masked pixels across the
        line (0.5% and 99.5% quantiles). A line with no masked pixel gets estimates from its
        box height (stroke 0.1x, height 1/1.5x, as the detector's box is ~1.5x the text).
    """
    H, W = mask.shape[:2]
    support = (np.asarray(mask) >= 0.5).astype(np.uint8)
    strokes, heights = [], []
    for poly in polygons:
        p = np.asarray(poly, np.float32)
        (cx, cy), (w, h), ang = _rect(p)
        hb = max(2.0, float(h))
        pad = margin * hb + 2
        x0 = max(int(np.floor(p[:, 0].min() - pad)), 0)
        y0 = max(int(np.floor(p[:, 1].min() - pad)), 0)
        x1 = min(int(np.ceil(p[:, 0].max() + pad)) + 1, W)
        y1 = min(int(np.ceil(p[:, 1].max() + pad)) + 1, H)
        sel = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.uint8)
        if sel.size:
            box = cv2.boxPoints(((cx, cy), (w + 2 * margin * hb, h + 2 * margin * hb), ang))
            sel = polygon_mask(box, sel.shape, (x0, y0)) & support[y0:y1, x0:x1]
        if not sel.any():
            strokes.append(max(1.0, 0.1 * hb))
            heights.append(max(1.0, hb / 1.5))
            continue
        dt = cv2.distanceTransform(sel, cv2.DIST_L2, 5)
        ridge = (dt > 0) & (dt >= cv2.dilate(dt, np.ones((3, 3), np.uint8)))
        strokes.append(round(max(1.0, 2.0 * float(np.median(dt[ridge]))), 3))
        ys, xs = np.nonzero(sel)
        t = np.deg2rad(ang)
        across = (xs + x0 - cx) * -np.sin(t) + (ys + y0 - cy) * np.cos(t)
        heights.append(round(max(1.0, float(np.quantile(across, 0.995)
                                            - np.quantile(across, 0.005)) + 1), 3))
    return strokes, heights


#: A line's mask edge is hard (the text ends at an anti-aliased pixel, no glow or soft
#: shadow past it) when the photo 1.5-3 px outside it differs from the photo 3-5 px out by
#: less than this median Lab Delta E.
HARD_EDGE_DELTA_E = 2.0


def line_distances(mask: np.ndarray, polygons, margin: float):
    """Per text line, the crop its mask edge is judged on and each crop pixel's distance to
    the mask: the rings the edge tests read (:func:`hard_edged`,
    :func:`seamline.ops.text.rim.hard_over_texture`, :func:`seamline.ops.text.rim.hard_by_steps`).

    Parameters
    ----------
    mask : ndarray, shape (H, W), bool
        The text mask.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    margin : float
        The line's crop: :func:`seamline.ops.polygons.line_crop`'s margin.

    Yields
    ------
    tuple or None
        One per polygon, in order: ``((y0, y1, x0, x1), m, d)`` with ``m`` the mask's crop
        (bool, (h, w)) and ``d`` the L2 distance of each crop pixel to it (float32, (h, w),
        0 on the mask); None for a line with no mask in its crop.
    """
    for poly in polygons:
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            yield None
            continue
        yield (y0, y1, x0, x1), m, cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)


def hard_edged(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3
               ) -> list[bool]:
    """Per text line: does the text end where its mask ends (plus its anti-aliased pixel)?

    Parameters
    ----------
    mask : ndarray, shape (H, W), bool
        The text mask.
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    margin : float, keyword-only
        The line's mask is taken within this fraction of its box height around it.

    Returns
    -------
    list of bool
        One per polygon: True when the median Lab colour of the ring 1.5-3 px outside the
        line's mask differs from the ring 3-5 px out by less than ``HARD_EDGE_DELTA_E``
        (False for a line with no mask or rings too small to tell).
    """
    out = []
    for line in line_distances(mask, polygons, margin):
        if line is None:
            out.append(False)
            continue
        (y0, y1, x0, x1), _, d = line
        near, far = (d > 1.5) & (d <= 3), (d > 3) & (d <= 5)
        if near.sum() < 10 or far.sum() < 10:
            out.append(False)
            continue
        lab = crop_lab(image[y0:y1, x0:x1])
        de = float(np.linalg.norm(np.median(lab[near], 0) - np.median(lab[far], 0)))
        out.append(de < HARD_EDGE_DELTA_E)
    return out
