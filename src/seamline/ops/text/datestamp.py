"""Camera date stamps in the frame's bottom-right corner, read in the redness of the corner.

A camera prints its date small, orange to red, in the bottom-right corner. Over golden
grass such digits are of the photo's lightness and nearly its hue and saturation: the
photo's pass, its saturation pass and its local-contrast tiles all miss them (train
analogues, orange date digits over golden-tinted grass and train photos at 768-1600 px,
main ef7be85: 5 of 40 missed, 15-26 px digits over grass at 768 and 1280 px; the held-out
datestamp 1280 px case likewise). What sets the digits apart is their redness: CIE a* of orange (255, 120-200, 0-60) is about
+10-45, golden grass's (hue 38-50 deg) 0-10. Stretched over the corner, a* shows them as
light digits on a dark ground; the detector reads all 40 analogues there at the corner's own
scale (of the first 16, the saturation stretched the same way: 14; hue distance from the
corner's median: 14; Lab b* or chroma: 11; the photo itself: 10; none better at 1.5x or 2x).

Yellow digits over grass half orange, half green are less red than half their ground and
redder than the rest: a* shows them as neither light nor dark (train analogues
``datestamp_check.py --family mixed``, the held-out datestamp's kind: main 0e9c6f9 missed 3
of 40 with every pass; of the first 24 the corner's a* read 19). Their distance in (a*, b*)
from the corner's local median colour shows any ink whose hue differs from the ground's,
either way, as light on dark: that view read all of the first 24 (b* 19, distance from the
corner's one median 21, b* - a* 20, -a* 19), and the pass now finds all 40. It costs a
second read on a photo without a date: the corner pass 0.04 -> 0.09 CPU s a 1024x768 photo
(``profile_remove_text.py --cases all``, 9 photos, same window).

:func:`date_stamps` reads the bottom-right corner so (:func:`redness_view`, then, only where
that read no date, :func:`chroma_view`), keeping only reads that look like a date
(:func:`looks_like_date`) and lie outside the lines already found.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.io import to_uint8

__all__ = ["CORNER_W", "CORNER_H", "DATE_MIN_SCORE", "MIN_DIGITS", "LOCAL_SHARE",
           "redness_view", "chroma_view", "looks_like_date", "date_stamps"]

#: The bottom-right corner read for a date: this share of the frame's width from its right
#: edge, :data:`CORNER_H` of its height from the bottom (the train sampler puts the date 3-8%
#: in from the edges, up to 10 characters of up to 4.5% of the short side: within 0.3 x 0.15).
CORNER_W = 0.45
CORNER_H = 0.25
#: Score a date read in the redness view needs (the other views' floor).
DATE_MIN_SCORE = 0.8
#: Digits a date read needs ("16 9 2" is four).
MIN_DIGITS = 4
#: Share of a read's non-space characters that must be digits or date separators.
DATE_SHARE = 0.75
#: Characters that separate a date's fields.
SEPARATORS = "/'.:-"
#: Floor on the a* spread (8-bit Lab levels) stretched to full range: a grey corner's noise
#: (a* within a level or two) is not blown up into texture the detector reads.
MIN_SPREAD = 16.0
#: :func:`chroma_view`'s local median spans this share of the corner's short side (about
#: the height of the largest date the sampler draws: the digits' thin strokes are a minority
#: in any window, so the median is the ground's colour there).
LOCAL_SHARE = 1 / 6


def _stretched(v):
    """``v`` (HxW float32) from its 1st to its 99.5th percentile to [0, 1] (at least
    :data:`MIN_SPREAD` levels wide), as three channels (the detector's input format)."""
    lo, hi = np.percentile(v, [1.0, 99.5])
    v -= lo
    v *= 1.0 / max(float(hi - lo), MIN_SPREAD)
    np.clip(v, 0.0, 1.0, out=v)
    return np.broadcast_to(v[..., None], v.shape + (3,))


def redness_view(crop) -> np.ndarray:
    """The CIE a* (green to red) of ``crop``, stretched from its 1st to its 99.5th percentile
    to 0-255: red and orange ink light on a darker ground.

    Parameters
    ----------
    crop : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image (a corner of the photo).

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 1]
        The stretched a*, one plane seen as three channels (the detector's input format).
    """
    return _stretched(cv2.cvtColor(to_uint8(crop), cv2.COLOR_RGB2LAB)[..., 1].astype(np.float32))


def chroma_view(crop) -> np.ndarray:
    """The distance in CIE (a*, b*) of each pixel of ``crop`` from the median colour round it
    (a window :data:`LOCAL_SHARE` of its short side), stretched as :func:`redness_view`: ink
    of another hue than its ground, redder or less red, yellower or bluer, light on dark.

    Parameters
    ----------
    crop : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image (a corner of the photo).

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 1]
        The stretched distance, one plane seen as three channels.
    """
    lab = cv2.cvtColor(to_uint8(crop), cv2.COLOR_RGB2LAB)
    k = max(3, int(min(crop.shape[:2]) * LOCAL_SHARE) | 1)
    d = [lab[..., c].astype(np.float32) - cv2.medianBlur(np.ascontiguousarray(lab[..., c]), k)
         for c in (1, 2)]
    return _stretched(np.hypot(d[0], d[1]))


def looks_like_date(text: str) -> bool:
    """Whether a read is a date: :data:`MIN_DIGITS` digits or more, and digits or
    :data:`SEPARATORS` for at least :data:`DATE_SHARE` of its non-space characters (a
    7-segment "1" may read "I")."""
    chars = [c for c in text if not c.isspace()]
    digits = sum(c.isdigit() for c in chars)
    dateish = sum(c.isdigit() or c in SEPARATORS for c in chars)
    return digits >= MIN_DIGITS and dateish >= DATE_SHARE * len(chars)


def date_stamps(image, regions, *, min_score: float = 0.5) -> list:
    """Dates read in the colour of the frame's bottom-right corner, outside ``regions``.

    The corner (:data:`CORNER_W` x :data:`CORNER_H` of the frame) is read in
    :func:`redness_view` and, only where that read no date, once more in :func:`chroma_view`,
    at its own scale (about an eighth of the whole-frame pass's pixels:
    0.05 CPU s a photo over the 120 train text-free crops at 768-1600 px; train 1024x768
    photos' detect-text 1.96 -> 2.00 CPU s; the bottom-left corner is left out, which would
    double that: the camera's place is the right). A
    frame larger than the whole-frame pass reads (:func:`~seamline.ops.text.detect.detection_scale`
    under 1) has its corner shrunk as that pass shrinks it. A read is kept when it scores at least :data:`DATE_MIN_SCORE`,
    :func:`looks_like_date` and its box meets no box of ``regions`` (a date the other passes
    found, even in pieces, is theirs).

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    regions : list of TextRegion
        Lines already found.
    min_score : float, keyword-only
        As :func:`~seamline.ops.text.detect.detect_text` (raised to :data:`DATE_MIN_SCORE`).

    Returns
    -------
    list of TextRegion
        The dates, polygons in the image's coordinates; usually empty.
    """
    from seamline.ops.text.detect import (TextRegion, check_image, detect_text_in_boxes,
                                          detection_scale)

    check_image(image)
    h, w = image.shape[:2]
    cw, ch = int(round(w * CORNER_W)), int(round(h * CORNER_H))
    if cw < 16 or ch < 16:
        return []
    x0, y0 = w - cw, h - ch
    crop = image[y0:, x0:]
    # a large frame's corner at the whole-frame pass's scale (its date is as large in
    # proportion), a small one's at its own
    s = min(1.0, detection_scale(image.shape))
    if s < 1.0:
        crop = cv2.resize(crop, (max(1, round(cw * s)), max(1, round(ch * s))),
                          interpolation=cv2.INTER_AREA)
    vh, vw = crop.shape[:2]
    taken = [_bbox(r.polygon) for r in regions]
    found = []
    for view in (redness_view, chroma_view):
        reads = detect_text_in_boxes(view(crop), [(0, 0, vw, vh)], margin_px=0, scale=1.0,
                                     min_score=max(float(min_score), DATE_MIN_SCORE))
        dates = [r for r in reads if looks_like_date(r.text)]
        for r in dates:
            poly = r.polygon / np.float32(s) + np.float32([x0, y0])
            box = _bbox(poly)
            if not any(_meet(box, t) for t in taken):
                taken.append(box)
                found.append(TextRegion(poly, r.text, r.score))
        if dates:  # the redness read a date (found here or by another pass): no second read
            break
    return found


def _bbox(poly):
    p = np.asarray(poly, np.float32)
    return (*p.min(0), *p.max(0))


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
