"""The text's anti-aliased rim left just outside a hole, given back to the photo.

A glyph matte cuts its letters at an alpha (``glyph._ALPHA_CORE``, 0.65): anti-aliased
pixels under it stay outside the mask where the normaliser's growth does not reach them (a
capped line's diagonal corners, a 2 px edge), and once the letters are filled they are 1-2 px
specks of the text's colour along the hole's edge (green specks round a removed green word
over coffee); the fill reads them as the photo around the hole, too. No judge sees them (the
leftover look skips 2 px round the mask, the ghost judge reads words), and growing the hole
over them smeared the refill (train, session 11: psnr_pipe 26.57 -> 26.52). Such a pixel is
a mix ``o = a * c + (1 - a) * p`` of the line's ink ``c`` and the photo ``p`` under it, so
the photo is there to be had back:

1. the photo's estimate ``p0``: the untouched pixels ``BAND_PX`` + 1 to ``2 * BAND_PX`` px
   out from the mask, lightly smoothed (``SMOOTH_SIGMA``), read at the nearest of them;
2. a band pixel is a rim of ink ``c`` only when a hole pixel 8-adjacent to it shows that ink
   (share ``MIN_INK_ALPHA`` or more, little across it, in the original): the letter it is
   the edge of;
3. ``a``: the projection of ``o - p0`` onto ``c - p0``; a rim when ``a`` is in
   ``MIN_ALPHA`` - ``MAX_MIX``, the ink changes the pixel visibly (``MIN_DEV``) and by
   ``TEXTURE_K`` times the photo's own texture along ``c - p0`` there (RMS of the estimate's
   band against its smoothing: over gravel or fur the photo strays from any estimate as far
   as a rim does), little of its deviation is across ``c - p0`` (``MAX_ACROSS``), and the
   pixel next out from the hole shows at most ``OUT_SHARE`` of it (a rim fades within a
   pixel; a dark photo structure the mask cut through goes on dark past the band);
4. restored: ``p = (o - a * c) / (1 - a)`` (``a`` capped at ``MAX_ALPHA``: it amplifies the
   estimate's error by ``1 / (1 - a)``).

Only pixels within ``BAND_PX`` of a hole change (the held-out benchmark counts changes
farther than 8 px from the text). Thresholds set on the train split only
(``benchmarks/mask_train_eval.py`` cases, the pipeline's own masks, and the same masks over
the clean photo as perfect removals: 15 px changed over 36 cases). A line's colour list can
hold photo colours its matte took beside the letters (a highlight, a green field): the
fill-text stage passes only its first, lift-chosen colour. numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.core.arrays import channel_norm

__all__ = ["unmix_edge", "BAND_PX"]

#: The band given back: pixels 1 to this many px outside the hole.
BAND_PX = 2
#: An ink must differ from the photo by at least this ([0, 1] units, Euclidean RGB) for a
#: mix of the two to be told apart.
MIN_CONTRAST = 0.08
#: A pixel is a rim when the ink's share of it is at least this ...
MIN_ALPHA = 0.06
#: ... and the ink changes it by at least this much (a * |c - p0|; about 8/255 a channel) ...
MIN_DEV = 0.03
#: ... and by this many times the photo's own texture along ``c - p0`` there (RMS of the
#: estimate's band against its smoothing, over a Gaussian window of ``TEXTURE_SIGMA`` px) ...
TEXTURE_K = 5.0
TEXTURE_SIGMA = 4.0
#: ... with its deviation across ``c - p0`` at most this share of the deviation along it
#: (plus ``ACROSS_FLOOR``: the estimate's own error).
MAX_ACROSS = 0.3
ACROSS_FLOOR = 0.02
#: The share used to restore is capped here: (o - a c) / (1 - a) amplifies the estimate's
#: error by 1 / (1 - a).
MAX_ALPHA = 0.7
#: ... and at most this (a pixel that shows more of the ink is no rim: the estimate is off).
MAX_MIX = 0.9
#: A band pixel is an ink's rim only beside hole pixels (in the original) that show the ink
#: at least this much: the letter it is the anti-aliased edge of ...
MIN_INK_ALPHA = 0.7
#: ... within this many px (1: its 8 neighbours).
INK_REACH_PX = 1
#: The pixel next out from the hole shows at most this share of a rim pixel's ink.
OUT_SHARE = 0.35
#: Smoothing of the photo estimate's band (Gaussian sigma, px).
SMOOTH_SIGMA = 1.5


def _photo_estimate(crop: np.ndarray, band_src: np.ndarray) -> np.ndarray:
    """The smoothed pixels of ``band_src`` (normalised Gaussian), read everywhere at the
    nearest pixel of ``band_src``."""
    wf = band_src.astype(np.float32)
    den = cv2.GaussianBlur(wf, (0, 0), SMOOTH_SIGMA)
    num = cv2.GaussianBlur(crop * wf[..., None], (0, 0), SMOOTH_SIGMA)
    smooth = num / np.maximum(den, 1e-3)[..., None]
    _, lab = cv2.distanceTransformWithLabels((~band_src).astype(np.uint8), cv2.DIST_L2, 3,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    zy, zx = np.nonzero(band_src)  # labels number the zero pixels in row-major order
    return smooth[zy, zx][np.clip(lab - 1, 0, len(zy) - 1)]


def _shares(o: np.ndarray, p0: np.ndarray, inks: np.ndarray):
    """Per pixel, over the inks: the best ink's ``(a, across, |c - p0|, ink index)`` (the
    ink leaving the least deviation across ``c - p0`` among those with ``a > 0``)."""
    e = o - p0
    best = (np.zeros(len(o), np.float32), np.full(len(o), np.inf, np.float32),
            np.zeros(len(o), np.float32), np.full(len(o), -1))
    for k, c in enumerate(inks):
        v = c[None, :] - p0
        vn2 = np.einsum("ij,ij->i", v, v)
        a = np.einsum("ij,ij->i", e, v) / np.maximum(vn2, 1e-9)
        across = channel_norm(e - a[:, None] * v)
        take = (a > 0) & (vn2 >= MIN_CONTRAST ** 2) & (across < best[1])
        best[0][take], best[1][take] = a[take], across[take]
        best[2][take], best[3][take] = np.sqrt(vn2[take]), k
    return best


def unmix_edge(image: np.ndarray, hole: np.ndarray, inks, *, mask: np.ndarray | None = None,
               band_px: int = BAND_PX) -> tuple[np.ndarray, np.ndarray, dict]:
    """Give the text's anti-aliased edge just outside ``hole`` back to the photo.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text, as it was (inside ``hole`` too: the letters say which ink
        a band pixel is the rim of). A crop round the hole is enough: ``3 * band_px`` + 8 px
        of context.
    hole : ndarray, shape (H, W), bool
        One text line's filled hole: the band is taken round it.
    inks : array_like, shape (K, 3), float in [0, 1]
        The line's ink colours (``text-mask``'s ``ink_rgb``); none: nothing changes.
    mask : ndarray, shape (H, W), bool, optional, keyword-only
        Every filled pixel (all lines' holes; default ``hole``): never changed, never read
        as photo.
    band_px : int, keyword-only
        Width of the band given back (px, >= 1).

    Returns
    -------
    restored : ndarray, shape (H, W, 3), float32 in [0, 1]
        ``image`` with the band's mixed pixels unmixed (a copy; ``image`` where ``changed``
        is False).
    changed : ndarray, shape (H, W), bool
        The pixels unmixed (all within ``band_px`` of ``hole``, outside ``mask``).
    figures : dict
        ``band_px`` (pixels in the band), ``unmixed_px``, ``texture_rms`` (median over the
        band of the photo's texture along the ink, [0, 1] units) and ``mean_alpha`` (the
        unmixed pixels' mean ink share; None when none).
    """
    mask = hole if mask is None else (mask | hole)
    inks = np.asarray(inks, np.float32).reshape(-1, 3)
    changed = np.zeros(hole.shape, bool)
    figures = {"band_px": 0, "unmixed_px": 0, "texture_rms": None, "mean_alpha": None}
    if not len(inks) or not hole.any():
        return image, changed, figures
    outside = (~mask).astype(np.uint8)
    d_mask = cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    d_hole = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2,
                                   cv2.DIST_MASK_PRECISE)
    band = (d_mask > 0) & (d_hole <= band_px)
    src = (d_mask > band_px) & (d_mask <= 2 * band_px)
    figures["band_px"] = int(band.sum())
    if not band.any() or src.sum() < 8:
        return image, changed, figures
    p0 = _photo_estimate(image, src)
    ys, xs = np.nonzero(band)
    o, p = image[ys, xs], p0[ys, xs]
    # the ink of the letter beside a band pixel (a hole pixel 8-adjacent to it showing that
    # ink, in the original): a band pixel beside the line's shadow is no ink's rim
    hy, hx = np.nonzero(hole)
    r = INK_REACH_PX
    ker = np.ones((2 * r + 1, 2 * r + 1), np.uint8)  # 8-neighbours at 1 px
    e = o - p
    k = np.full(len(ys), -1)
    best = np.full(len(ys), np.inf, np.float32)
    for j, c in enumerate(inks):
        a_h, ac_h, vn_h, _ = _shares(image[hy, hx], p0[hy, hx], c[None])
        inked = np.zeros(hole.shape, np.uint8)
        inked[hy, hx] = (a_h >= MIN_INK_ALPHA) & (ac_h <= MAX_ACROSS * a_h * vn_h)
        beside = (cv2.dilate(inked, ker) > 0)[ys, xs]
        v = c[None] - p
        vn2 = np.einsum("ij,ij->i", v, v)
        aj = np.einsum("ij,ij->i", e, v) / np.maximum(vn2, 1e-9)
        acj = channel_norm(e - aj[:, None] * v)
        take = beside & (vn2 >= MIN_CONTRAST ** 2) & (aj > 0) & (acj < best)
        k[take], best[take] = j, acj[take]
    c = inks[np.maximum(k, 0)]
    v = c - p
    vn2 = np.einsum("ij,ij->i", v, v)
    a = np.einsum("ij,ij->i", e, v) / np.maximum(vn2, 1e-9)
    vn = np.sqrt(vn2)
    across = channel_norm(e - a[:, None] * v)
    # how far the photo strays from its estimate near each band pixel, the ink's way: its
    # texture along c - p0 (RMS over the estimate's band, a window round the pixel)
    wf = src.astype(np.float32)
    den = np.maximum(cv2.GaussianBlur(wf, (0, 0), TEXTURE_SIGMA), 1e-3)
    texture = np.zeros(len(ys), np.float32)
    for j, cj in enumerate(inks):
        if not (k == j).any():
            continue
        vj = cj[None, None] - p0
        along = np.einsum("ijk,ijk->ij", image - p0, vj) / np.maximum(
            np.sqrt(np.einsum("ijk,ijk->ij", vj, vj)), 1e-6)
        r2 = np.where(src, along * along, 0).astype(np.float32)
        t = np.sqrt(cv2.GaussianBlur(r2, (0, 0), TEXTURE_SIGMA) / den)
        texture[k == j] = t[ys[k == j], xs[k == j]]
    figures["texture_rms"] = round(float(np.median(texture)), 4)
    # a rim fades within a pixel or two: the pixel next out from the hole shows less of the
    # ink (a dark photo structure the mask cut through goes on dark past the band)
    gy = cv2.Sobel(d_mask, cv2.CV_32F, 0, 1, ksize=3)[ys, xs]
    gx = cv2.Sobel(d_mask, cv2.CV_32F, 1, 0, ksize=3)[ys, xs]
    gn = np.maximum(np.hypot(gy, gx), 1e-6)
    oy = np.clip(ys + np.rint(gy / gn).astype(int), 0, hole.shape[0] - 1)
    ox = np.clip(xs + np.rint(gx / gn).astype(int), 0, hole.shape[1] - 1)
    a_out = np.einsum("ij,ij->i", image[oy, ox] - p, v) / np.maximum(vn2, 1e-9)
    mix = ((k >= 0) & (a >= MIN_ALPHA) & (a <= MAX_MIX)
           & (a_out <= np.maximum(MIN_ALPHA, OUT_SHARE * a))
           & (a * vn >= np.maximum(MIN_DEV, TEXTURE_K * texture))
           & (across <= MAX_ACROSS * a * vn + ACROSS_FLOOR))
    if not mix.any():
        return image, changed, figures
    am = np.minimum(a[mix], MAX_ALPHA)[:, None]
    restored = image.copy()
    restored[ys[mix], xs[mix]] = np.clip((o[mix] - am * c[mix]) / (1 - am), 0, 1)
    changed[ys[mix], xs[mix]] = True
    figures.update(unmixed_px=int(mix.sum()), mean_alpha=round(float(a[mix].mean()), 4))
    return restored, changed, figures
