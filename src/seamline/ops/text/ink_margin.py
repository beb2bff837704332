"""Tiny text's 1 px margin, kept only where the text shows in it.

A line of 10-14 px text has strokes of 1-2 px; the glyph matte cuts them at a high alpha and
the normaliser grows every letter by 1 px to take the anti-aliased edge. That ring is about as
large as the letters themselves (train: 700 ring px a line, ~70 % of them without a trace of
ink), and over a textured photo every ring pixel filled is the fill's guess instead of the
photo: on the train tiny lines, Telea on the drawn mask scored 34.8 dB, on the mask with the
blind ring 29.7 dB, and with only the ring pixels whose drawn alpha is >= 0.05 31.4 dB.

A ring pixel is kept when the text changed it more than the fill would get it wrong:

1. the photo's estimate ``p0``: the pixels 2-3 px out from the mask, lightly smoothed, read at
   the nearest of them (:func:`seamline.ops.text.edge_unmix.photo_estimate`);
2. its texture: the RMS of those pixels against their smoothing, near each pixel (a Gaussian
   window of ``TEXTURE_SIGMA`` px), along the ink's direction ``c - p0`` and in all;
3. kept where it moved towards the ink by ``INK_K`` times that texture along ``c - p0`` (and by
   ``INK_MIN_DEV`` at least: over a flat sky a faint edge still shows), or by ``ANY_K`` times
   the texture in any direction (and ``ANY_MIN_DEV``, about what a person sees): a 1 px drop
   shadow the glyph matte left out (a dark rim beside a light letter) is no mix of the ink
   but is text.

What it leaves out, a faint rim, is what fill-text's rim unmixing (``edge_unmix``) gives back
to the photo before the fill. Thresholds set on the train split only: ``mask_train_eval``'s
tiny cases at the held-out sizes (16, plus the mix's 024 and 025) and 12 lines of 10-14 px
DejaVu Sans / Sans Bold / Sans Condensed, FreeSans, Open Sans, Nimbus Sans over gravel, grass,
brick, astronaut, coffee and chelsea; on those 27 the margin's Telea in the text region went
30.28 -> 30.69 dB and the mask's precision 0.736 -> 0.806. numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["ink_margin", "INK_K", "ANY_K"]

#: A ring pixel moved towards the ink by this many times the photo's texture along the ink
#: (train, 25 cases, Telea in the text region, this test alone: 1.0 +0.64 dB on the blind
#: ring, 1.5 +0.68, 2.0 +0.71 but more drawn pixels of alpha > 0.5 left out) ...
INK_K = 1.0
#: ... and by at least this ([0, 1] units, 5/255: a fainter edge over a flat photo is left to
#: the rim unmixing; 0.01 moved the train tiny pipeline +0.1 dB more but left a glyph-shaped
#: rim the ghost judge read as a word on one case) ...
INK_MIN_DEV = 0.02
#: ... or away from the photo, any way, by this many times its texture in all channels ...
ANY_K = 2.0
#: ... and by at least this (8/255 RGB distance: a tiny title's 1 px shadow over smooth bokeh
#: changes its pixels by 10-15/255; at 15/255 train case 024 left it, and its fill took
#: another path: -7.7 dB).
ANY_MIN_DEV = 0.03
#: Texture window (Gaussian sigma, px), as ``edge_unmix.TEXTURE_SIGMA``.
TEXTURE_SIGMA = 4.0
#: The photo's estimate is read from the pixels more than 1 and at most this many px out.
SOURCE_PX = 3.0


def ink_margin(image: np.ndarray, core: np.ndarray, ring: np.ndarray, ink) -> np.ndarray:
    """The pixels of ``ring`` (a 1 px margin round a tiny text line's mask) the text changed.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text (a crop: ``SOURCE_PX`` + 2 * ``TEXTURE_SIGMA`` px of context
        round ``ring`` is enough).
    core : ndarray, shape (H, W), bool
        Every masked pixel (never read as photo).
    ring : ndarray, shape (H, W), bool
        The candidate margin (outside ``core``).
    ink : array_like, shape (3,), float in [0, 1]
        The line's ink colour (``text-mask``'s ``ink_rgb``).

    Returns
    -------
    ndarray, shape (H, W), bool
        The pixels of ``ring`` to keep in the mask.
    """
    from seamline.ops.masks import blur_over
    from seamline.ops.text.edge_unmix import photo_estimate

    ring = ring & ~core
    d = cv2.distanceTransform((~core).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    src = (d > 1) & (d <= SOURCE_PX) & ~ring
    if not ring.any() or src.sum() < 8:
        return ring  # no photo to tell the text from: the blind margin
    p0 = photo_estimate(image, src)
    e = image - p0
    v = np.asarray(ink, np.float32).reshape(1, 1, 3) - p0
    vn = np.sqrt(np.maximum(np.einsum("ijk,ijk->ij", v, v), 1e-9))
    along = np.einsum("ijk,ijk->ij", e, v) / vn  # the move towards the ink
    dev = np.linalg.norm(e, axis=-1)
    # the photo's own spread round its estimate near each pixel (texture): a rim pixel must
    # stand out of it, or the fill's guess there is no worse than leaving it
    tex, _ = blur_over(np.stack([along * along, dev * dev], -1).astype(np.float32), src,
                       TEXTURE_SIGMA)
    tex_along, tex_all = np.sqrt(np.maximum(tex[..., 0], 0)), np.sqrt(np.maximum(tex[..., 1], 0))
    return ring & ((along >= np.maximum(INK_MIN_DEV, INK_K * tex_along))
                   | (dev >= np.maximum(ANY_MIN_DEV, ANY_K * tex_all)))
