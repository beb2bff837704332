"""Which colours of the photo round a pixel a partly painted pixel can be.

Semi-transparent paint over a photo, ``I = (1 - a c) P + a c C`` (opacity ``a``, the pixel's
coverage ``c``, paint colour ``C``), gives one equation per channel for the photo ``P`` and the
coverage together; where the photo estimate a pixel is read against still holds paint (a
stroke's pixels the paint map left as photo) its coverage comes out low and the unmixed
pixel pale. The photo round the pixel says which coverage is right: the unmixed pixel is a
colour of it (:func:`coverage_by_colour`, used by
:mod:`seamline.ops.inpaint.see_through` on the strokes' anti-aliased edge).

numpy only.
"""

from __future__ import annotations

import numpy as np

__all__ = ["COVER_PX", "COVER_PRIOR", "COVER_STEPS", "COVER_TOL", "coverage_by_colour",
           "photo_distance"]

#: An edge pixel's coverage is the one whose unmixing is a colour of the photo round it
#: (untouched, inverted and kept pixels within COVER_PX px; COVER_STEPS coverages from 0 to
#: 1, each charged COVER_PRIOR per unit of difference from the projection against the
#: photo resolved round it), where that colour lies within COVER_TOL of one; elsewhere the
#: projection's. Projected against a photo estimate that still holds paint (pixels of a
#: stroke the paint map left as photo) an edge comes out pale.
COVER_PX = 6
COVER_STEPS = 21
COVER_PRIOR = 0.05
COVER_TOL = 0.05


def photo_distance(values, ys, xs, crop, photo, r):
    """Per pixel (``ys``, ``xs``), the smallest largest-channel difference between each of
    its colours ``values`` (n, m, 3) and a ``photo`` pixel (bool, (h, w)) of ``crop`` within
    ``r`` px: (n, m) float32, ``inf`` where no photo pixel is that near."""
    h, w = photo.shape
    wp = w + 2 * r
    at = (ys + r) * wp + (xs + r)
    far = np.float32(1e6)  # no photo there
    planes = []
    for c in range(3):
        pad = np.full((h + 2 * r, wp), far, np.float32)
        pad[r:r + h, r:r + w] = np.where(photo, crop[..., c], far)
        planes.append(pad.ravel())
    values = np.asarray(values, np.float32)
    best = np.full(values.shape[:2], far, np.float32)
    d, t = np.empty_like(best), np.empty_like(best)
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            if dy * dy + dx * dx > r * r:
                continue
            idx = at + (dy * wp + dx)
            np.abs(np.subtract(planes[0][idx][:, None], values[..., 0], out=d), out=d)
            for c in (1, 2):
                np.abs(np.subtract(planes[c][idx][:, None], values[..., c], out=t), out=t)
                np.maximum(d, t, out=d)
            np.minimum(best, d, out=best)
    best[best >= far / 2] = np.inf
    return best


def coverage_by_colour(I, ys, xs, img, photo, a, C, cov0):
    """Edge pixels' coverage (n,) by the photo round them: of ``COVER_STEPS`` coverages in
    [0, 1] the one whose unmixing ``(I - a cov C) / (1 - a cov)`` lies nearest a colour of
    the ``photo`` pixels of ``img`` within ``COVER_PX`` px (largest-channel difference),
    charged ``COVER_PRIOR`` per unit away from the projection ``cov0``, where that colour
    is within ``COVER_TOL``; ``cov0`` elsewhere. Also returns where the colour decided."""
    covs = np.linspace(0.0, 1.0, COVER_STEPS, dtype=np.float32)
    ac = np.float32(a) * covs
    unmixed = (I[:, None, :] - ac[None, :, None] * C[None, None, :]) / (1 - ac)[None, :, None]
    d = photo_distance(unmixed, ys, xs, img, photo, COVER_PX)
    cost = d + COVER_PRIOR * np.abs(covs[None, :] - cov0[:, None])
    j = np.argmin(cost, 1)
    use = d[np.arange(j.size), j] <= COVER_TOL
    return np.where(use, covs[j], cov0).astype(np.float32), use
