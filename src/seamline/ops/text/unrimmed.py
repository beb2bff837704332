"""The light photo a fill + outline line's fill took beside its letters.

:func:`seamline.ops.text.outline.rimmed_fill` accepts a white subtitle with a thin dark outline
over a light photo when most of each fill component's edge is rimmed by the outline; where the
photo is as light as the fill, the matte joins light patches of it to the letters through gaps
in the thin outline and they pass with them. A letter's fill meets the photo only across its
outline, the patch meets it with no outline between: :func:`unrimmed_fill` finds those pixels
(:func:`seamline.ops.text.glyph.glyph_mask`, step 6).
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["unrimmed_fill"]

#: unrimmed_fill: a fill edge pixel is rimmed when a ring pixel lies within this (px, chessboard,
#: as outline.RING_HUG's test); fill pixels nearer a bare edge than a rimmed one are photo, kept as
#: such in 8-connected pieces of at least UNRIMMED_MIN_PX
UNRIMMED_REACH = 2
UNRIMMED_MIN_PX = 6

_K3 = np.ones((3, 3), np.uint8)


def unrimmed_fill(fill, ring, dark=None) -> np.ndarray:
    """HxW bool: the pixels of a fill + outline line's ``fill`` (HxW bool) that are photo.

    :func:`~seamline.ops.text.outline.rimmed_fill` accepts a fill component whose edge the
    dark ``ring`` hugs for the most part, so a light patch of photo the matte joined to a letter (through a gap in the thin
    outline) passes with it. A letter's fill meets the photo only across its outline; the
    patch meets it with no outline between. Each fill pixel goes with its nearest fill edge
    pixel: those nearer an edge with no ring pixel within UNRIMMED_REACH than a rimmed one,
    in pieces of at least UNRIMMED_MIN_PX, are the photo. ``dark`` (HxW bool, optional):
    other pixels that rim the fill as the ring does (dark photo, over which the outline does
    not stand out and is no ring pixel).

    Train probe (DejaVuSans 48 px, white with a 1 px black outline, over
    immunohistochemistry; work scale 0.54): glyph precision 0.704 -> 0.744, px farther than
    1.5 px from the drawn text 4617 -> 3341, recall 0.895 -> 0.891. Without ``dark`` a 64 px
    line over the astronaut's dark suit lost recall 0.912 -> 0.638."""
    fc = fill.astype(np.uint8)
    edge = fill & (cv2.erode(fc, _K3, borderType=cv2.BORDER_CONSTANT, borderValue=0) == 0)
    k = 2 * UNRIMMED_REACH + 1
    walls = ring if dark is None else ring | dark
    rimmed = edge & (cv2.dilate(walls.astype(np.uint8), np.ones((k, k), np.uint8)) > 0)
    bare = edge & ~rimmed
    if not (bare.any() and rimmed.any()):
        return np.zeros(fill.shape, bool)
    d_r = cv2.distanceTransform((~rimmed).astype(np.uint8), cv2.DIST_L2, 3)
    d_b = cv2.distanceTransform((~bare).astype(np.uint8), cv2.DIST_L2, 3)
    photo = (fill & (d_b < d_r)).astype(np.uint8)
    n, cc, st, _ = cv2.connectedComponentsWithStats(photo, connectivity=8)
    big = st[:, cv2.CC_STAT_AREA] >= UNRIMMED_MIN_PX
    big[0] = False
    return big[cc]
