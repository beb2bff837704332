"""Keep a patch fill's colours within the colours of the photo next to the hole.

A patch fill (:mod:`seamline.ops.inpaint.exemplar`) copies whatever source patch matches
best, and over a smooth, grainy area (a defocused petal photographed with camera grain and
JPEG) the grain, not the colour, decides the match: patches of the dark ground beside the
petal are as good a match for the grain as the petal's own, and the fill comes back with dark
streaks and blobs inside the yellow (train analogue: ``benchmarks/bokeh_check.py --grain
photo``, flower2_s9_title). The ring round the hole holds no such colour near those pixels.

:func:`ring_guide` keeps the fill's detail (what is left after a blur at about the stroke's
scale) and moves its blurred colour back into the range of the blurred photo in the ring
near each pixel (``GUIDE_SKIP_PX`` to ``GUIDE_SKIP_PX + GUIDE_INNER_PX`` px out, within a
square window of the hole's depth plus that), read on R, G, B and their differences, with
``GUIDE_TOL`` of slack. Where the fill's colour is one of the ring's near it nothing changes,
so a textured ring (grass, gravel, brick: a wide range) keeps its fill (0.5-2.5% of its
pixels move by more than 1/255), and a colour only moves to the nearest edge of the range,
never towards the hole's border. A glow's halo left just outside the mask fills that inner
ring, and its colour alone would be the range (the fill's sky pulled towards it, as a smooth
fill of the hole carried it in, ``a477a61``): where the inner ring's colour differs from
the ring beyond it all round (``GUIDE_HALO_GAP``), the range is read on the whole ring,
``GUIDE_BAND_PX`` wide, which holds the photo past the halo.

It is not a smooth fill's colour swapped in: on the bokeh analogues a Telea surface held near
the patch fill (within how well it predicted the ring itself) gained on a petal's blotches
but drew a dark ground's soft edge across a title as a jagged bulge (flower1_s4_title -4 dB).

numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.masks import blur_on, blur_over

__all__ = ["GUIDE_BAND_PX", "GUIDE_HALO_GAP", "GUIDE_INNER_PX", "GUIDE_REACH_PX",
           "GUIDE_SKIP_PX", "GUIDE_TOL", "ring_guide"]

#: The ring starts this many px out: the text's anti-aliased rim, a dark outline's
#: remains or a glow's tail sit within it and would widen the range towards the text's
#: colours.
GUIDE_SKIP_PX = 2
#: The colour range is read on the ring 2 to 2 + GUIDE_INNER_PX px out (a hole pixel reads
#: it within its depth plus the rim and GUIDE_INNER_PX, a square window) ...
GUIDE_INNER_PX = 6
#: ... unless that inner ring is a halo: the median over its pixels of its blurred colour's
#: difference from the ring beyond it (to GUIDE_BAND_PX out, blurred over 12 px) over
#: GUIDE_HALO_GAP. A glow's halo left outside the hole fills the inner ring, and its colour
#: alone then reads as the range: the fill's sky was pulled towards it (a white title with a
#: 10 px dark glow, test: -0.47 dB and a dark line through the letters; gap 0.31). The bokeh
#: analogues' rings: gap 0.001-0.005. A halo's hole reads the whole ring to
#: GUIDE_BAND_PX out (within its depth plus the rim and GUIDE_REACH_PX), so the photo past
#: the halo is in the range (that test: 0.0 dB).
GUIDE_HALO_GAP = 0.05
#: Width of the whole ring, px (2 to 24 px out).
GUIDE_BAND_PX = 22
#: Reach (px past the hole's depth and the rim) of a hole pixel into the whole ring.
GUIDE_REACH_PX = 22
#: Slack on each side of the ring's range ([0, 1] RGB): the grain that survives the blur.
GUIDE_TOL = 0.03
#: Blur (px) of the colour shift with zero outside the hole: no step at its border.
GUIDE_TAPER_PX = 1.5


def ring_guide(crop: np.ndarray, filled: np.ndarray, hole: np.ndarray, known: np.ndarray,
               *, sigma: float | None = None) -> tuple[np.ndarray, int]:
    """``filled`` with its blurred colour in the hole moved into the ring's colours near it.

    Parameters
    ----------
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
        The photo round the hole (values in the hole are not read).
    filled : ndarray, shape (h, w, 3), float32 in [0, 1]
        A fill of ``crop``'s hole (a patch fill's).
    hole : ndarray, shape (h, w), bool
        The pixels filled: only these change.
    known : ndarray, shape (h, w), bool
        Photo pixels the ring may read (not the hole, nor other text waiting to be filled).
    sigma : float, optional, keyword-only
        Blur (px) that separates colour from detail. Default: the hole's depth (its largest
        inscribed radius), within 1.5-4 px: about a stroke's half width.

    Returns
    -------
    out : ndarray, shape (h, w, 3), float32 in [0, 1]
        ``filled`` outside ``hole``. Inside it, ``filled`` plus a shift that brings its
        blurred colour (over the hole's pixels only) within the range of the ring's blurred
        colour within reach (the inner ring, ``GUIDE_SKIP_PX`` to ``GUIDE_SKIP_PX +
        GUIDE_INNER_PX`` px out, within the hole's depth plus as much; the whole ring, to
        ``GUIDE_SKIP_PX + GUIDE_BAND_PX`` px out within the depth plus ``GUIDE_SKIP_PX +
        GUIDE_REACH_PX``, where the inner ring is a halo or out of reach) on R, G, B and the
        differences R - G, G - B and B - R, with ``GUIDE_TOL`` of slack; the shift blurred
        by ``GUIDE_TAPER_PX`` with zero outside the hole. A hole pixel with no ring pixel
        within reach is unchanged.
    moved : int
        Hole pixels whose colour moved by more than 1/255 on some channel.
    """
    hole = np.asarray(hole, bool)
    out = np.array(filled, np.float32, copy=True)
    if not hole.any() or not (np.asarray(known, bool) & ~hole).any():
        return out, 0  # no ring to read a range from (a hole over the whole crop)
    # the work on the hole's box grown by all the guide reads (the patch fill's crop is
    # wider: twice the hole's extent)
    ys, xs = np.nonzero(hole)
    depth = float(cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 5).max())
    g = int(np.ceil(depth)) + 2 * (GUIDE_SKIP_PX + GUIDE_BAND_PX) + GUIDE_REACH_PX + 12
    h, w = hole.shape
    sl = (slice(max(0, ys.min() - g), min(h, ys.max() + 1 + g)),
          slice(max(0, xs.min() - g), min(w, xs.max() + 1 + g)))
    moved = _guide(crop[sl].astype(np.float32), out[sl], hole[sl],
                   np.asarray(known, bool)[sl] & ~hole[sl], depth, sigma)
    return out, moved


#: The directions the range is read and kept on: R, G, B and their differences. A box on
#: R, G and B alone holds colours the ring lacks: orange (R of a yellow petal, G of the
#: dark ground beside it) in a range read across the petal's soft edge.
_DIRS = np.float32([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, -1, 0], [0, 1, -1], [-1, 0, 1]])
#: Rounds of projection onto the six ranges in turn (their intersection, near enough).
_ROUNDS = 4


def _guide(crop, out, hole, known, depth, sigma):
    """:func:`ring_guide` on the box round the hole: ``out`` changed in place; the number
    of pixels moved."""
    if sigma is None:
        sigma = float(np.clip(depth, 1.5, 4.0))
    d_out = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, 5)
    outer = known & (d_out > GUIDE_SKIP_PX)  # photo past the text's rim
    ring = outer & (d_out <= GUIDE_SKIP_PX + GUIDE_BAND_PX)
    if ring.sum() < 8:
        return 0
    reach = int(np.ceil(depth + GUIDE_SKIP_PX + GUIDE_REACH_PX))
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))
    big = np.float32(4.0)
    # The ranges are read at hole pixels only, and a hole pixel's windows reach ``reach``
    # px at most: the spans are taken on the hole's box grown by that, the same minima and
    # maxima (a window that passes the sub-box's edge passes the crop's there too: the
    # border adds nothing to an erosion or dilation, on either). The crop is wider: it
    # also holds the halo test's 12 px blur.
    ys, xs = np.nonzero(hole)
    h, w = hole.shape
    sub = (slice(max(0, ys.min() - reach), min(h, ys.max() + 1 + reach)),
           slice(max(0, xs.min() - reach), min(w, xs.max() + 1 + reach)))
    # The blurs below are read on ``sub`` or the hole's box only: each is taken there and on
    # its kernel's radius round it (blur_over's ``box``: the same values bit for bit), not on
    # the whole crop (~1/3 of _guide's CPU was its four blurs of the crop)
    hbox = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    # the photo's blurred colour from the photo past the rim only (no hole, no rim), on sub:
    # the ring lies within its 24 px of the hole (chamfer distance >= the larger axis
    # offset; reach >= 24), so the ring's pixels outside sub are none
    base, weight = blur_over(crop, outer, sigma, box=sub)
    kept = np.zeros_like(ring)
    kept[sub] = ring[sub] & (weight > 0.2)  # isolated ring pixels say little about the colour
    ring = kept
    # the fill's blurred colour, from the hole's pixels only: a blob's colour undiluted by
    # the ring round it (read at hole pixels: on the hole's box)
    fill_lp, _ = blur_over(out, hole, sigma, box=hbox)
    feats = np.ascontiguousarray(base @ _DIRS.T)  # (h, w, 6): cv2 morphology takes <= 4

    def span(band, kernel):
        band = band[sub]
        lo = np.dstack([cv2.erode(np.where(band, feats[..., j], big), kernel) for j in range(6)])
        hi = np.dstack([cv2.dilate(np.where(band, feats[..., j], -big), kernel) for j in range(6)])
        return lo, hi

    lo, hi = span(ring, k)
    seen = np.zeros_like(hole)
    seen[sub] = (lo < big / 2).all(-1) & hole[sub]
    inner = ring & (d_out <= GUIDE_SKIP_PX + GUIDE_INNER_PX)
    far_band = ring & ~inner
    if inner.sum() >= 8 and far_band.sum() >= 8:
        # the inner ring alone, unless it is a halo: its colour unlike the ring beyond it
        # all round (the median over its pixels)
        iy, ix = np.nonzero(inner)  # within GUIDE_INNER_PX + 2 of the hole: inside sub
        ibox = (slice(iy.min(), iy.max() + 1), slice(ix.min(), ix.max() + 1))
        beyond, _ = blur_over(crop, far_band, 2.0 * GUIDE_INNER_PX, box=ibox)
        gap = np.abs(base[iy - sub[0].start, ix - sub[1].start]
                     - beyond[iy - ibox[0].start, ix - ibox[1].start]).max(-1)
        if float(np.median(gap)) <= GUIDE_HALO_GAP:
            r_in = int(np.ceil(depth + GUIDE_SKIP_PX + GUIDE_INNER_PX))
            lo_i, hi_i = span(inner, cv2.getStructuringElement(cv2.MORPH_RECT,
                                                              (2 * r_in + 1,) * 2))
            # a pixel with no inner ring within reach (a thick letter's middle) keeps the
            # whole ring's range
            near = (lo_i < big / 2).all(-1)[..., None]
            lo, hi = np.where(near, lo_i, lo), np.where(near, hi_i, hi)
    # projected at the pixels that take a shift only (a fifth of the box on a title's):
    # each pixel's projection reads its own colour and ranges alone
    at = np.nonzero(seen[sub])
    lo, hi = lo[at], hi[at]
    at_h = (at[0] + (sub[0].start - hbox[0].start), at[1] + (sub[1].start - hbox[1].start))
    target = fill_lp[at_h]
    for _ in range(_ROUNDS):
        for j, a in enumerate(_DIRS):
            f = target @ a
            c = np.clip(f, lo[:, j] - GUIDE_TOL, hi[:, j] + GUIDE_TOL) - f
            target += c[:, None] * (a / (a @ a))
    shift = np.zeros(out.shape, np.float32)
    shift[hbox][at_h] = target - fill_lp[at_h]
    # blurred with the ring's zero shift: the patch fill's seamless border stays seamless
    # (half the shift on the hole's edge, all of it GUIDE_TAPER_PX in); read at the hole
    shift = blur_on(shift, GUIDE_TAPER_PX, hbox)[hole[hbox]]
    out[hole] = np.clip(out[hole] + shift, 0.0, 1.0)
    return int((np.abs(shift).max(-1) > 1 / 255).sum())
