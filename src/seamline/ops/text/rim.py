"""The faint rim round a large text line's mask: how many px past its edge the text still shows.

A hard-edged line (:func:`seamline.ops.text.geometry.hard_edged`) gets only its anti-aliased
pixel from the mask normaliser. On a huge title that is not always enough: a drop shadow's
blur inside the glyph mask, or wider anti-aliasing, fades over 2-3 px, too faint for the
hard-edge test's ring medians, and on a smooth photo the fill then leaves the letters'
outline readable (train split: a 100 px title with a 1.7 px shadow blur left 1319 px of
6.6/255 just outside a 1 px margin; the fill loop's ghost judge read the word there and
doubled the hole, 9320 px changed farther than 8 px from the text). Growing every huge line
by 2 px instead cost 1-4 dB on titles over fur and bokeh, where no rim was left: so the rim
is measured, ring by ring, against the photo estimated under it.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["RIM_MIN_HEIGHT_PX", "faint_rim_px"]

#: Lines shorter than this (text height, px) are not measured (their edge is 1 px; a page of
#: small text has hundreds of lines, and each measurement costs two inpaints of its crop).
RIM_MIN_HEIGHT_PX = 60.0
#: A ring past the mask is rim when at least this share of its pixels differ from the photo
#: estimated under them by more than the photo's own texture does (the estimate's error on a
#: band farther out, 75th percentile, at least ``RIM_DELTA_E``). Train split: the ring 1-2 px
#: out, 0.52 where a shadow's blur was left (0.49 of its pixels drawn), 0.10-0.27 on titles
#: with none (0.01-0.07 drawn).
RIM_SHARE = 0.4
RIM_DELTA_E = 2.0
#: Most rings (px past the first) counted.
RIM_MAX_PX = 2


def _estimate_error(rgb: np.ndarray, lab: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Delta E between each pixel and a Telea estimate of the photo under ``unknown``."""
    u8 = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    est = cv2.inpaint(u8, unknown.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return np.linalg.norm(lab - cv2.cvtColor(est.astype(np.float32) / 255, cv2.COLOR_RGB2Lab),
                          axis=-1)


def faint_rim_px(mask: np.ndarray, image: np.ndarray, polygons, text_heights) -> list[int]:
    """Per text line: how many px of faint rim lie past the first ring round its mask.

    Parameters
    ----------
    mask : ndarray, shape (H, W), bool
        The text mask (every line's).
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    text_heights : sequence of float
        Per line, its text height in px.

    Returns
    -------
    list of int
        One per line, 0 to ``RIM_MAX_PX``: the rings 1-2, 2-3 px past the mask (the first
        ring, 0-1 px, is the anti-aliased pixel every line gets) that are rim
        (``RIM_SHARE``), counted until the first that is not. 0 for a line under
        ``RIM_MIN_HEIGHT_PX`` or with no mask.
    """
    H, W = mask.shape
    out = []
    for poly, height in zip(polygons, text_heights):
        if float(height) < RIM_MIN_HEIGHT_PX:
            out.append(0)
            continue
        p = np.asarray(poly, np.float32)
        pad = 16
        x0, y0 = max(int(p[:, 0].min()) - pad, 0), max(int(p[:, 1].min()) - pad, 0)
        x1, y1 = min(int(p[:, 0].max()) + pad + 1, W), min(int(p[:, 1].max()) + pad + 1, H)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            out.append(0)
            continue
        d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
        inner, band = d <= RIM_MAX_PX + 2, (d > RIM_MAX_PX + 2) & (d <= RIM_MAX_PX + 7)
        if band.sum() < 10 or inner.all():
            out.append(0)
            continue
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        de = _estimate_error(rgb, lab, inner)
        texture = _estimate_error(rgb, lab, inner | band)[band]
        floor = max(RIM_DELTA_E, float(np.quantile(texture, 0.75)))
        rim = 0
        for k in range(1, RIM_MAX_PX + 1):
            ring = (d > k) & (d <= k + 1)
            if ring.sum() < 10 or (de[ring] > floor).mean() < RIM_SHARE:
                break
            rim = k
        out.append(rim)
    return out
