"""Small glyph pieces at a line's box edge that the text segmenter does not confirm.

A light semi-transparent watermark across a polished spoon (the demo's "SAMPLE"): the lit
neck of the spoon runs into the detector's box from outside it, differs from the smooth
background estimate the colour matte reads against in the light paint's direction, and the
glyph mask takes its end inside the box as a letter piece (an orange blob on the neck at 2x
once the fill inverted it). Photo structure that crosses a line's edge is the glyph mask's
step 5 concern (:mod:`seamline.ops.text.glyph`), but it asks whether the piece continues
outside in the *paint's* colour, and a semi-transparent paint's pixels are blends, not it.
The segmenter, which saw letters, says what the piece is: a connected piece of the glyph
mask of ``MIN_PX`` or more that reaches within ``EDGE_PX`` of a line's box edge, smaller than
``PIECE_SHARE`` of a letter (stroke width x text height) and whose mean segmenter probability
is under ``CONFIRM`` is photo (the demo's neck: 60 px, 0.53; its letters 0.72-0.98).

Train split (``benchmarks/mask_train_eval.py``'s 36 cases, the glyph mask's 988 pieces): at a
box edge, under a quarter of a letter and unconfirmed are 72 photo pieces (784 px) and 9 of
drawn pixels (19 px, specks of 1-6 px); of 20 px or more 8 pieces in 6 cases (20-130 px), all
photo (the text mask changes on 3 of them). Without the box-edge test 69 drawn pieces (487 px: whole letters of a plain line, a
faint watermark's strokes) would go; without ``MIN_PX`` the photo specks dropped at a faint
watermark's box edge turned its fill over a tripod leg (case 011, -1.2 dB, its structure
judge then failed it).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["edge_pieces"]

#: A piece reaches a line's box edge when it comes this close (px) to it, inside or out.
EDGE_PX = 2
#: A piece is smaller than a letter under this share of the line's stroke width x text height.
PIECE_SHARE = 0.25
#: The segmenter confirms a piece at this mean probability or more.
CONFIRM = 0.6
#: Pieces of fewer px are specks, left alone (train case 011: dropping 9 px of photo specks
#: at a faint watermark's box edge turned its fill over a tripod leg, -1.2 dB).
MIN_PX = 20


def edge_pieces(glyphs: np.ndarray, prob: np.ndarray, polygons, stroke_widths,
                text_heights) -> np.ndarray:
    """The glyph pieces at a line's box edge the segmenter does not confirm (bool, HxW).

    Parameters
    ----------
    glyphs : ndarray, shape (H, W), bool
        The glyph mask (``glyph_mask(...).mask > 0``).
    prob : ndarray, shape (H, W), float32 in [0, 1]
        The segmenter's probability (:func:`~seamline.ops.text.segment.segment_text`).
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    stroke_widths, text_heights : sequence of float
        Per line, its glyphs' stroke width and text height (px; ``glyph_mask``'s).

    Returns
    -------
    ndarray, shape (H, W), bool
        Whole 8-connected pieces of ``glyphs``.
    """
    out = np.zeros(glyphs.shape, bool)
    if not glyphs.any():
        return out
    n, cc, st, _ = cv2.connectedComponentsWithStats(glyphs.astype(np.uint8), connectivity=8)
    area = st[:, cv2.CC_STAT_AREA]
    mean_prob = (np.bincount(cc.ravel(), weights=prob.ravel().astype(np.float64), minlength=n)
                 / np.maximum(area, 1))
    grow = np.ones((2 * EDGE_PX + 1, 2 * EDGE_PX + 1), np.uint8)
    for poly, sw, th in zip(polygons, stroke_widths, text_heights):
        if not (np.isfinite(sw) and np.isfinite(th) and sw > 0 and th > 0):
            continue
        filled = np.zeros(glyphs.shape, np.uint8)
        cv2.fillPoly(filled, [np.round(np.asarray(poly, np.float32)).astype(np.int32)], 1)
        edge = cv2.dilate(filled - cv2.erode(filled, np.ones((3, 3), np.uint8)), grow) > 0
        ids = np.unique(cc[edge & glyphs])
        ids = ids[ids > 0]
        bad = ids[(area[ids] >= MIN_PX) & (area[ids] < PIECE_SHARE * float(sw) * float(th))
                  & (mean_prob[ids] < CONFIRM)]
        if bad.size:
            out |= np.isin(cc, bad)
    return out
