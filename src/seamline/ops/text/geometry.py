"""Stroke width and text height of the masked glyphs of each text line.

The mask normaliser sizes its dilation per line from these two numbers
(:func:`seamline.ops.masks.dilation_for_text`), and the text-removal loop chooses the fill
from the stroke width (:func:`seamline.ops.text.removal.choose_region_fill`). Measured on
the mask itself, so they describe what will be filled, whichever method built the mask.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["line_geometry"]


def _rect(poly: np.ndarray):
    (cx, cy), (w, h), ang = cv2.minAreaRect(poly.astype(np.float32))
    if w < h:  # the long side runs along the text
        w, h, ang = h, w, ang + 90.0
    return (cx, cy), (w, h), ang


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
            cv2.fillPoly(sel, [np.round(cv2.boxPoints(((cx, cy), (w + 2 * margin * hb,
                                                                    h + 2 * margin * hb), ang))
                                        - (x0, y0)).astype(np.int32)], 1)
            sel &= support[y0:y1, x0:x1]
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


def combine_masks(segmented: np.ndarray, glyphs: np.ndarray, polygons, text_heights, *,
                  reach: float = 0.3, fallback: float = 0.25) -> tuple[np.ndarray, list[str]]:
    """The segmenter's mask, kept where it continues the colour-matting glyph mask.

    The segmentation model finds nearly every pixel an overlay changed (shadows, glows,
    outlines) but also marks photo edges inside a line's crop (a cup rim, a shelf); the
    matting glyph mask is precise but misses soft shadows and faint parts. Per line, the
    result is the glyph mask plus the segmented pixels within ``reach`` x the text height of
    it (where a shadow or glow can be); a line where the glyph mask found almost nothing
    (under ``fallback`` of the segmented pixels: a date stamp, a faint watermark) takes the
    segmenter's mask as it is.

    Parameters
    ----------
    segmented, glyphs : ndarray, shape (H, W), bool
        The two masks.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    text_heights : sequence of float
        Per line, the text height in px (> 0).
    reach : float, keyword-only
        How far (fraction of the text height) segmented pixels may extend past the glyphs.
    fallback : float, keyword-only
        Glyph-to-segmented pixel ratio below which a line uses the segmenter alone.

    Returns
    -------
    mask : ndarray, shape (H, W), bool
    choices : list of str
        Per line, ``"combined"`` or ``"segmenter"``.
    """
    H, W = glyphs.shape
    out = glyphs.copy()
    choices = []
    for poly, h in zip(polygons, text_heights):
        p = np.asarray(poly, np.float32)
        r = max(2, int(round(reach * float(h))))
        pad = int(np.ceil(0.5 * (p[:, 1].max() - p[:, 1].min()))) + 2 * r + 2
        x0 = max(int(np.floor(p[:, 0].min())) - pad, 0)
        y0 = max(int(np.floor(p[:, 1].min())) - pad, 0)
        x1 = min(int(np.ceil(p[:, 0].max())) + pad + 1, W)
        y1 = min(int(np.ceil(p[:, 1].max())) + pad + 1, H)
        if x1 <= x0 or y1 <= y0:
            choices.append("combined")
            continue
        seg, gl = segmented[y0:y1, x0:x1], glyphs[y0:y1, x0:x1]
        if gl.sum() < fallback * max(int(seg.sum()), 1):
            out[y0:y1, x0:x1] |= seg
            choices.append("segmenter")
            continue
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        near = cv2.dilate(gl.astype(np.uint8), k) > 0
        out[y0:y1, x0:x1] |= seg & near
        choices.append("combined")
    return out, choices
