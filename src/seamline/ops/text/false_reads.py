"""Reads of photo structure that are no overlaid text: weak reads the text segmenter denies.

rapidocr reads round or banded structure as short or unconfident text: a whole espresso-cup
photo boxed edge to edge as "8" (0.98), a stained tissue band as a CJK character (0.96), a row
of sleeve buttons as "C000" (0.61-0.78), a row of coins as "0000..." (0.59); on the held-out
set a yellow swoosh as "2" (0.92). Each box is then masked and filled and a text-free photo
comes back changed (train text-free crops at 768-1600 px, main 0475ab0: 8 of 120 crops,
156k px, the espresso photo alone 118k). The packaged text segmenter, trained on overlays,
marks 2-25% of those boxes as overlay ink, 44-68% of the boxes of the photos' own print read
unconfidently ("COLINS ASME" on a patch, "MAXIM" on a motorcycle), 42-98% of most train
overlay lines, but also only 9-12% of date digits tinted to the photo's own hue (detect34's
analogues: a "6" at 0.99, "2007 Lk2n" at 0.69). So the segmenter alone does not decide:

:func:`false_reads` flags a *weak* read whose box the segmenter marks less than
:data:`MIN_OVERLAY_SHARE` of and whose shape says structure: a read of at most
:data:`SHORT_READ` letters or digits boxed at least :data:`LARGE_GLYPH` of the frame's short
side (a glyph that large is a title's, whose strokes the segmenter sees), or an unconfident
read (score under :data:`SURE_SCORE`) made mostly of round characters (:data:`ROUND`: a row
of discs read as zeros). A sure read of three or more characters is never flagged (huge thin
titles, whose boxes the segmenter marks 8-35% of, read at 1.0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["SHORT_READ", "SURE_SCORE", "LARGE_GLYPH", "ROUND", "MIN_OVERLAY_SHARE",
           "overlay_share", "false_reads"]

#: A read of at most this many letters or digits is weak (one or two characters are what
#: round photo structure reads as; the detector's own floor for them is a score of 0.9).
SHORT_READ = 2
#: A read scoring under this is weak (the score the saturation and tile passes need).
SURE_SCORE = 0.8
#: A short read's box's vertical extent (the rows it spans, its height where it is upright, as
#: every short read on train was), as a share of the frame's short side, from which it is a
#: large glyph (train false reads: 0.11 and 1.0; tinted date digits 0.02).
LARGE_GLYPH = 0.08
#: Characters a row of discs (buttons, coins) reads as; an unconfident read of which at
#: least :data:`ROUND_SHARE` of the letters and digits are these is a row of discs.
ROUND = frozenset("0OoCcQ")
ROUND_SHARE = 0.75
#: Share of a weak read's box the segmenter must mark as overlay ink. Train (main 0475ab0):
#: false reads 0.015-0.25 (the coin's "O" 0.335 stays), unconfident reads of the photos' own
#: print 0.44-0.68, a tiled watermark's unconfident copy 0.37; isolated one- or two-character
#: overlays drawn on train photos fall under it in 5 of 66 (faint watermarks, 150 px thin
#: letters), where a read of them boxed over :data:`LARGE_GLYPH` would be dropped.
MIN_OVERLAY_SHARE = 0.3


def _structure_shaped(region, short_side: int) -> bool:
    """A weak read shaped like photo structure (see the module docstring)."""
    chars = [c for c in region.text if c.isalnum()]
    if len(chars) <= SHORT_READ:
        p = np.asarray(region.polygon, np.float32)
        return float(np.ptp(p[:, 1])) >= LARGE_GLYPH * short_side
    return (float(region.score) < SURE_SCORE
            and sum(c in ROUND for c in chars) >= ROUND_SHARE * len(chars))


def overlay_share(image, polygon) -> float:
    """Share of a polygon's pixels the packaged text segmenter marks as overlay ink.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    polygon : array_like, shape (N, 2), float
        A text line's polygon ``(x, y)`` in image pixels.

    Returns
    -------
    float
        In [0, 1]: pixels of the polygon whose probability is at least the segmenter's own
        threshold, over the polygon's pixels (0 for a polygon that covers no pixel).
    """
    from seamline.ops.polygons import polygon_mask
    from seamline.ops.text.segment import load_segmenter, segment_text

    seg = load_segmenter()
    p = np.asarray(polygon, np.float32)
    inside = polygon_mask(p, image.shape[:2], np.float32([0, 0])) > 0
    if not inside.any():
        return 0.0
    prob = segment_text(image, [p])
    return float((prob[inside] >= seg.threshold).mean())


def false_reads(image, regions) -> list[bool]:
    """Which of ``regions`` are weak reads the text segmenter does not see as overlay ink.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo the regions were read in.
    regions : list of TextRegion
        Read lines (``text`` and the recogniser's ``score``).

    Returns
    -------
    list of bool
        One per region, True where it is a large short read or an unconfident row of round
        characters and the segmenter marks less than :data:`MIN_OVERLAY_SHARE` of its
        polygon. Only such reads cost a segmenter pass.
    """
    short_side = min(image.shape[:2])
    return [_structure_shaped(r, short_side)
            and overlay_share(image, r.polygon) < MIN_OVERLAY_SHARE for r in regions]
