"""Letter cores inside a glow the glyph mask took for the text (issue 10).

Glow text of the photo's own hue (dark green letters with a light green glow over a green
leaf, or the other way round) can fool the colour matting: the glow differs from the photo
more than the letters do, so the glyph mask holds the glow, a slab round the line, and
leaves the letters themselves out. The fill then copies letter-shaped material back from the
slab's inside and the line stays readable. :func:`glow_cores` finds such a line (much of
what its mask walls in has one colour, rare in the mask and in the photo past it) and returns
the letters: the pixels of that colour the glow walls in, grown over the same colour where a
letter's tip leaves the slab.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.masks import ellipse_kernel, enclosed_holes
from seamline.ops.polygons import line_crop, polygon_mask
from seamline.ops.text.hard_shadow import crop_lab

__all__ = ["glow_cores"]

#: The slab's envelope: the line's mask closed by this share of the text height (at least
#: 2 px), its holes filled; what it walls in and the mask does not are the candidate cores.
CORE_CLOSE_SHARE = 0.1
#: A line is a glow slab only when the candidates are at least this share of its mask (a
#: glyph mask that holds the letters walls in only their counters and a few gaps).
CORE_MIN_SHARE = 0.1
#: A core pixel is within this Lab distance (Delta E) of the candidates' commonest colour
#: (:func:`_mode_colour`: the letters' one colour, not the photo's texture in counters and
#: gaps); at least ``CORE_MIN_SHARE`` of the mask must be such candidates ...
CORE_COLOUR_DELTA_E = 12.0
#: ... and at most this share of the ring just past the envelope (the photo: a smooth photo's
#: counters have its colour) ...
CORE_MAX_IN_RING = 0.25
#: ... and of the mask may be within it (the mask is mostly glow: where the matte took part of
#: the letters and part of the glow, 0.23 on a train-style case).
CORE_MAX_IN_MASK = 0.5
#: The cores are the pieces of their colour within this many close radii of the mask (the
#: glow round them) that hold a candidate ...
CORE_REACH = 1.0
#: ... and that the glow walls in: the share of the mask within that reach of a core that
#: has the glow's colour (the commonest there round the cores of at least a reach's square in
#: px: letters, not specks) is at least this share of the same share round those cores. Light
#: grass the matte walled in with the grass it took past a line's ends is walled by grass
#: (train glow_core_check case 3, "original": its pieces 0.13-0.72 against 0.75 round the
#: letters, whose pieces of 100 px or more hold 0.82-0.97; the unit test's 0.70-0.80 of 0.78).
CORE_WALL_SHARE = 0.75


def glow_cores(mask: np.ndarray, image: np.ndarray, polygons, text_heights, *,
               margin: float = 0.3, report: list | None = None) -> np.ndarray:
    """The letters a line's mask walls in where the mask is their glow: bool, shape (H, W).

    Per line, on its crop (:func:`seamline.ops.polygons.line_crop` with ``margin``): the
    mask's pixels within the polygon grown by ``margin`` x the text height are closed by
    ``CORE_CLOSE_SHARE`` of the text height and their holes filled (the envelope); the
    envelope's pixels outside the mask and deeper in it than half the close radius are the
    candidates. The line is a glow the matte took for the text when at least
    ``CORE_MIN_SHARE`` of its mask in candidates lie within ``CORE_COLOUR_DELTA_E`` of the
    candidates' commonest colour (the letters' one colour) and at most ``CORE_MAX_IN_MASK``
    of the mask (mostly the glow) and ``CORE_MAX_IN_RING`` of a ring just past the envelope
    (the photo) do. Then its cores are the pixels of that colour within ``CORE_REACH`` close
    radii of the mask, in the 8-connected pieces that hold a candidate and that the glow walls
    in (``CORE_WALL_SHARE``: not photo of the letters' colour the matte walled in past a
    line's ends).

    Parameters
    ----------
    mask : ndarray, shape (H, W), bool
        The lines' mask (text-mask's combined mask).
    image : ndarray, shape (H, W, 3), float32 sRGB in [0, 1]
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    text_heights : sequence of float
        Per line, its text height in px (> 0).
    margin : float, keyword-only
        A line's area: its polygon grown by this share of its text height.
    report : list, optional, keyword-only
        Appended per line: the core px it adds (0: not a glow slab).

    Returns
    -------
    ndarray, shape (H, W), bool
        Pixels to add to the mask (none of ``mask``'s).
    """
    H, W = mask.shape
    out = np.zeros((H, W), bool)
    for poly, h in zip(polygons, text_heights):
        added = _line_cores(mask, image, poly, float(h), margin, out)
        if report is not None:
            report.append(added)
    return out & ~mask


def _line_cores(mask, image, poly, h, margin, out) -> int:
    """:func:`glow_cores` on one line: ORs its cores into ``out``; returns their px."""
    y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
    if y1 - y0 < 3 or x1 - x0 < 3:
        return 0
    r = max(2, int(round(CORE_CLOSE_SHARE * h)))
    area = polygon_mask(poly, (y1 - y0, x1 - x0), (x0, y0))
    area = cv2.dilate(area, ellipse_kernel(max(1, int(round(margin * h))))) > 0
    m = mask[y0:y1, x0:x1] & area
    if m.sum() < 50:
        return 0
    closed = cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, ellipse_kernel(r))
    # the envelope: closed, its holes filled
    labels, _, enclosed = enclosed_holes(closed > 0)
    env = ((closed > 0) | enclosed[labels]) & area
    # candidates deep in the envelope: the closing also walls in photo at the slab's rim
    deep = cv2.distanceTransform(np.pad(env, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    cand = env & ~m & (deep > r / 2)
    if cand.sum() < CORE_MIN_SHARE * m.sum():
        return 0
    lab = crop_lab(image[y0:y1, x0:x1])
    c = _mode_colour(lab[cand])
    envk = env.astype(np.uint8)
    ring = (cv2.dilate(envk, ellipse_kernel(5)) > 0) & ~(cv2.dilate(envk, ellipse_kernel(2)) > 0)
    if ring.sum() < 10:
        return 0
    close = np.linalg.norm(lab - c, axis=2) <= CORE_COLOUR_DELTA_E
    if (np.count_nonzero(close & cand) < CORE_MIN_SHARE * m.sum()
            or close[m].mean() > CORE_MAX_IN_MASK or close[ring].mean() > CORE_MAX_IN_RING):
        return 0
    # the letters: pieces of that colour beside the glow that hold a candidate (a letter's
    # tip out of the slab joins it; photo of that colour apart from the letters does not)
    reach = ellipse_kernel(max(1, int(round(CORE_REACH * r))))
    near = cv2.dilate(m.astype(np.uint8), reach) > 0
    like = near & area & ~m & close
    n, lbl = cv2.connectedComponents(like.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(lbl[like & cand])] = True
    keep[0] = False
    cores = _walled_by_glow(keep[lbl], m, lab, reach)
    out[y0:y1, x0:x1] |= cores
    return int(cores.sum())


def _walled_by_glow(cores, m, lab, reach) -> np.ndarray:
    """The pieces of ``cores`` (bool crop) that the glow walls in (``CORE_WALL_SHARE``): the
    mask ``m`` within ``reach`` (a dilation kernel) of them is mostly the glow's colour."""
    n, lbl, stats, _ = cv2.connectedComponentsWithStats(cores.astype(np.uint8), connectivity=8)
    big = np.zeros(n, bool)
    big[1:] = stats[1:, cv2.CC_STAT_AREA] >= reach.shape[0] ** 2
    if not big.any():
        return cores
    wall = m & (cv2.dilate(big[lbl].astype(np.uint8), reach) > 0)
    glow = np.linalg.norm(lab - _mode_colour(lab[wall]), axis=2) <= CORE_COLOUR_DELTA_E
    floor = CORE_WALL_SHARE * glow[wall].mean()
    out = np.zeros_like(cores)
    pad = reach.shape[0] // 2
    H, W = cores.shape
    for i in range(1, n):
        x, y, w, h = stats[i, :4]
        win = np.s_[max(0, y - pad):min(H, y + h + pad), max(0, x - pad):min(W, x + w + pad)]
        piece = lbl[win] == i
        ring = (cv2.dilate(piece.astype(np.uint8), reach) > 0) & m[win]
        if ring.any() and glow[win][ring].mean() >= floor:
            out[win] |= piece
    return out


def _mode_colour(lab: np.ndarray) -> np.ndarray:
    """The commonest colour of ``lab`` ((n, 3) float32 Lab, n > 0): the fullest 4-unit Lab
    bin, refined twice to the median of the pixels within ``CORE_COLOUR_DELTA_E`` of it."""
    q = np.floor(lab / 4).astype(np.int64)
    keys, counts = np.unique(q, axis=0, return_counts=True)
    c = (keys[np.argmax(counts)] + 0.5) * 4
    for _ in range(2):
        near = np.linalg.norm(lab - c, axis=1) <= CORE_COLOUR_DELTA_E
        c = np.median(lab[near], 0)
    return c.astype(np.float32)
