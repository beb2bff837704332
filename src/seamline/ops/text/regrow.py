"""A re-mask's gaps: what the fill loop's re-mask closes over and must fill with it.

The loop (:mod:`seamline.ops.text.removal`) grows a region the ghost judge flags over the
residue it found and by a pixel all round. Where the residue rings a channel of ink the mask
left between two letters, the growth closes the channel's mouth and leaves its last pixels
enclosed and unmasked: the refill reads them as photo and spreads their ink from inside the
hole (:func:`close_gaps` fills them).

numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["close_gaps", "REGROW_GAP_PX", "REGROW_GAP_STROKE_K"]

#: A gap of at most this many px that a re-mask closes all round joins it: the ghost judge's
#: residue round a channel of ink the mask left between two letters encloses the channel's
#: last pixels, and a fill spreads them from inside the hole (train outline2, an outlined
#: title over a gradient: a 5 px gap of white ink and dark outline became a 10 px white
#: blob, 28.5 dB against 43.4 for the drawn mask). normalize-mask's rule for a hole filled
#: whatever its colour: at most this (its HOLE_MAX_PX) ...
REGROW_GAP_PX = 96
#: ... and at most this many times the square of the line's stroke width (its
#: HOLE_STROKE_K): train shadow_hard5's 93 px of photo between the "R" and "E" of a thin
#: italic line (4 px drawn) filled cost 0.2 dB; the gaps that held ink were 1-58 px.
REGROW_GAP_STROKE_K = 2.0


def close_gaps(grown: np.ndarray, final: np.ndarray, stroke_px: float | None = None
               ) -> np.ndarray:
    """``grown`` with the small gaps it closes filled.

    A gap is a 4-connected region outside ``grown | final``, enclosed by it, of at most
    ``REGROW_GAP_PX`` px (and ``REGROW_GAP_STROKE_K * stroke_px ** 2``), that was open
    before (not inside a hole ``final`` already enclosed: a letter's counter the mask kept
    as photo stays photo).

    Parameters
    ----------
    grown : ndarray, shape (H, W), bool
        A region's re-mask (not empty).
    final : ndarray, shape (H, W), bool
        Every pixel filled so far.
    stroke_px : float, optional
        The line's stroke width (text-mask's, outline included), if measured.

    Returns
    -------
    ndarray, shape (H, W), bool
        ``grown`` itself when it closes no gap, else a copy with the gaps set. Worked on
        ``grown``'s box grown by 1 px.
    """
    rows, cols = np.flatnonzero(grown.any(1)), np.flatnonzero(grown.any(0))
    h, w = grown.shape
    box = (slice(max(0, rows[0] - 1), min(h, rows[-1] + 2)),
           slice(max(0, cols[0] - 1), min(w, cols[-1] + 2)))
    before = final[box]

    def holes(mask):
        """Labels of the 4-connected regions outside ``mask``, and which are enclosed."""
        n, lab, st, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8),
                                                         connectivity=4)
        x, y, bw, bh = st[:, 0], st[:, 1], st[:, 2], st[:, 3]
        inner = (x > 0) & (y > 0) & (x + bw < mask.shape[1]) & (y + bh < mask.shape[0])
        return lab, st[:, 4], inner

    lab_b, _, inner_b = holes(before)
    lab, area, inner = holes(grown[box] | before)
    inner_b[0] = False  # label 0: the mask itself
    was_closed = np.bincount(lab.ravel(), weights=inner_b[lab_b].ravel(),
                             minlength=len(area)) > 0
    most = REGROW_GAP_PX if not stroke_px else min(REGROW_GAP_PX,
                                                   REGROW_GAP_STROKE_K * stroke_px ** 2)
    gap = inner & (area <= most) & ~was_closed
    gap[0] = False
    if not gap.any():
        return grown
    out = grown.copy()
    out[box] |= gap[lab]
    return out
