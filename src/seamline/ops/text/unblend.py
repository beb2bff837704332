"""Taking a tiled watermark off by inverting its blend: the photo is still under it.

A stock-photo watermark tiled at 30-60 % opacity is, per pixel, ``I = (1 - a) P + a C``: the
photo ``P`` is dimmed towards the paint ``C``, not replaced. An inpainting fill throws away
what is left of the photo under the strokes and invents it again (a smear over texture, and
over a whole frame of tiles). With 10-50 copies of the same word over different parts of the
photo, ``a`` and ``C`` can be read off the copies and the blend inverted,
``P = (I - a C) / (1 - a)``, which keeps the photo's own texture. On the tiles
:func:`seamline.ops.text.watermark.find_tiled_watermark` found:

1. **Align.** Every tile is resampled into one frame (the text along x: the copies sit at
   different sub-pixel phases) and its centre refined against the median of all copies,
   until no centre moves: :func:`seamline.ops.text.tile_copies.lattice_copies`.
2. **Estimate.** The watermark's support is where the median copy has stroke energy. Under
   it, each copy's photo ``B`` is estimated from the copy's own pixels around the support
   (normalised Gaussian convolution); per pixel of the frame, ``I - B = a C - a B`` is fitted
   by least squares over copies and channels for ``a`` and ``a C``, with a weak prior that
   ``C`` is the watermark's dominant colour (where the copies disagree, such as a dark shadow
   under a white word, the data win). One Cauchy reweighting drops copies that lie over a
   strong photo edge (``B`` is wrong there). ``B`` leans towards the photo round the word,
   which pulls ``a`` down: it is scaled to leave the least of the word (:func:`_best_gain`).
   Over a dark photo it errs the other way (``a`` far too high, ``C`` too dark, the photo
   under the strokes amplified): where the word's pixels' spread across the copies against
   the photo's round it says so (:func:`_spread_match`), the fit is done again with that
   colour as a strong prior, and so where the fit's colour is far more saturated than theirs
   (:data:`PAINT_LEAK`: over brown bark the fit read the bark as the paint); where they say
   so less strongly, that fit is kept if, once both are corrected (below), its inverted
   copies keep less of the letters' shape (:func:`_glyph_residue`).
   Where that leaves more than :data:`MAX_LEFT` of the word, the fit is done again on the
   support kept near the median copy's strokes (:func:`_near_word`): over busy foliage the
   energy alone takes most of the frame; where that fit too leaves more, it is taken where
   what it leaves is not shared by the copies' two halves (:func:`_repeated_left`: the
   texture of a photo half sharp, half smooth stays in the median copy, the word in every
   copy). Over a dark busy photo the fit still reads ``a``
   high (``a C`` is right): it is scaled down where the inverted copies' edges along the
   matte say so (:func:`_even_gain`). Over a dark photo, where the fit cannot tell ``a``
   from ``C`` (the colour falls back to white, or comes out too dark at too high an
   opacity), both are read again from the word's pixels' low quantiles and mean over the
   copies, where the copies' edges along the matte agree (:func:`_dark_blend`).
3. **Invert.** ``a`` and ``a C`` are warped back onto every copy whose own pixels show the
   word (:func:`seamline.ops.text.median_word.shows_word`: not a lattice point whose box
   reaches into the frame where nothing was drawn) and the blend inverted.
   Pixels where ``a`` < :data:`A_MIN` are left bit-identical, except the letters'
   anti-aliased rim (:func:`_floor`); where ``a`` >= :data:`A_MAX`
   (an opaque stroke has no photo under it) they are returned as ``hole`` for a fill.
   Over a dark photo, a bias every inverted copy shares at a given distance from the
   letters' edge (a thin light or dark outline) is measured and taken off
   (:func:`_rim_debias`).

Needs at least :data:`MIN_COPIES` whole tiles in the frame;
which lattice the copies are on (the tiles' own, a refined one, the autocorrelation's) is
:mod:`seamline.ops.text.tile_copies`'s.

(This module is over 600 lines because the estimate and the inversion share the fit's state:
the estimate scores each of its corrections by inverting the copies with it
(:func:`_best_gain`, :func:`_corrected`), and the inversion is of the copies, support and
maps the estimate read; split, each half would re-derive it. The frame's geometry they both
use is :mod:`seamline.ops.text.tile_copies`.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import cv2
import numpy as np

from seamline.core.arrays import LUMA
from seamline.errors import InputError
from seamline.ops.masks import blur_over
from seamline.ops.text.median_word import shows_word, word_shape
from seamline.ops.text.tile_copies import (INTERP, MIN_COPIES, MIN_TILES, SCALE,
                                          copies_bandpass, copies_lightness,
                                          copies_median, copy_box, frame_bandpass,
                                          lattice_copies, sample_copies, word_window)

#: Opacity below which a pixel is left untouched (noise of the estimate on the photo).
A_MIN = 0.04
#: Opacity from which a pixel is the watermark's own (:func:`watermark_support`), and the
#: width (px) it is grown by: the strokes' antialiased edge and the resampling's reach.
A_CORE = 0.12
EDGE_PX = 2
#: Opacity down to which a pixel within :data:`EDGE_PX` of the strokes (:data:`A_CORE`) is
#: still inverted (:func:`_floor`): the letters' anti-aliased rim. A light grey word at 0.3
#: has 0.005-0.05 there (a pixel's coverage x the opacity), 2-16/255 off the photo: under
#: :data:`A_MIN` the rim was left as it was, a faint outline round every letter, every
#: one of its pixels 1 px outside what was taken off (train tiledfit h1-h5, e3: 5200-8700
#: drawn px per frame, recall of the drawn px 0.93-0.95).
A_RIM = 0.005
#: Opacity change per pixel (x the watermark's opacity) that marks a stroke's edge, where
#: :func:`take_off` fills again the outline the inversion leaves.
EDGE_STEP = 0.45
#: A copy whose photo round the word has less detail than this (x the repeated strokes'
#: contrast, :attr:`Unblended.texture`) is left to the fill, not inverted (:func:`choose`).
#: Train split, 14 inverted watermarks, mean text-region PSNR: inverting every copy 31.09
#: dB, a Telea fill of every copy's support 31.33, split at 0.07 31.90 (0.05: 31.45, 0.1:
#: 31.86); the pipeline's own fill does better than that Telea (retina 22.8 -> 25.4 dB).
TEXTURE_MIN = 0.07
#: Opacity from which the photo is too dim to recover: such pixels are a hole to fill.
A_MAX = 0.9
#: The letters' inside (:func:`_even_inside`): the fit's opacity from this share of the
#: strokes' own (its 90th percentile), less :data:`INSIDE_ERODE` px at its edge.
INSIDE_LEVEL = 0.35
INSIDE_ERODE = 1
#: Weight of the prior "C is the watermark's colour", x the number of copies.
PRIOR = 0.05
#: Scale of the Cauchy reweighting of a copy's residual (sRGB units).
CAUCHY = 0.05
#: Share of the repeated strokes' band-passed energy (median copy) that may remain once the
#: blend is inverted; more and the estimate is not trusted (nothing is changed) unless what
#: is left does not repeat (:data:`MAX_REPEATED`).
MAX_LEFT = 0.5
#: Share of the repeated strokes (amplitude, as :data:`MAX_LEFT`) the copies inverted by
#: the fit near the letters (:func:`_near_word`) may still have in common
#: (:func:`_repeated_left`) for it to be taken over :data:`MAX_LEFT`: over a photo half
#: texture, half smooth, the median copy keeps the texture under the strokes, and even the
#: drawn overlay taken off exactly leaves 35-49 % of the energy (train half-set h1, a grey
#: DejaVu "shutterpix" at 0.4 over grass beside a blurred cat: the fit 52 %, refused). What
#: the two halves of the copies share is the word (or a photo's own repeat), not the
#: texture. Near h1's letters: taken off exactly 0.06, the fit 0.28, not inverted 1, the
#: drawn tiles' fit 0.74 at half its opacity; a photo repeating at half the lattice's step
#: (the refined lattice, whose points between the tiles hold no word) 0.61.
MAX_REPEATED = 0.35
#: Spread (sRGB std across the copies) of the photo under a pixel from which the copies
#: tell the watermark's opacity from its colour.
MIN_SPREAD = 0.08
#: Over a dark photo the per-pixel fit reads the watermark as more opaque and darker than
#: it is (the photo under the strokes, read from round them, is off by as much as the
#: strokes' own variation): train tiled8 e2 (a 235-grey DejaVu Sans Bold "PROOF" at 0.45
#: over dark grass) fitted colour 0.52 at opacity 0.8, and the inversion amplified the grass
#: under the strokes ~4x (black holes with saturated edges). Where the word's own pixels vary
#: across the copies less than that opacity says (:func:`_spread_match`: their distribution
#: against the photo's round the word), by more than this factor, the fit is done again
#: with the colour the spreads give as a strong prior (:data:`MATCH_PRIOR` x the copies).
AMPLIFY = 1.3
MATCH_PRIOR = 1.0
#: Under :data:`AMPLIFY`, the spreads' blend is still taken where, both corrected
#: (:func:`_corrected`), its inverted copies keep less than this share of the letters'
#: shape the fit's keep (:func:`_glyph_residue`). Train, 17 light-grey words over dark
#: foliage, spreads / fit: tiledfit h1 (a 160-grey "PROOF" at 0.31, gain ratio 1.23; the
#: fit reads colour 0.43 at 0.36, a dark trace over the darkest leaves) 0.70 (about 0.7 with
#: detect's tiles); not taken: d3 with detect's tiles (0.23 / 0.94 for 0.35 / 0.59;
#: _dark_blend then mends the fit's) about 1.9, d9 (a darkened cat, 0.37 / 0.50 for 0.30 /
#: 0.63; not dark enough now) 3.1, and, where the spreads' blend would have been 0.1-1.8 dB
#: better unblend alone (the residue misses it), d1 1.03, h5 1.20, d4 1.22, d6 1.27.
#: Compared before the corrections, d3 took the spreads' (-0.5 dB, 474 px changed far from
#: the word through remove-text). Only over a dark photo (:data:`DARK_PHOTO`): over a lit
#: one the fit reads the colour (train tiled_watermark6, a white word at 0.37 over a
#: motorcycle: fit 0.96, spreads 1.00 at 0.50 here) and the spreads' blend changed more of
#: the photo through remove-text (far from the word 1763 -> 2208 px, -0.27 dB).
RESIDUE_SURE = 0.9
#: The fitted colour's chroma (its channels' range) over the spreads' (:func:`_spread_match`)
#: from which the fit is taken to have read the photo under the strokes as the paint, and the
#: blend is fitted again with the spreads' colour as a strong prior, as over :data:`AMPLIFY`.
#: Over a half-textured photo the copies over the sharp half outweigh the smooth: train
#: half2 k8 (a white "DRAFT" at 0.3 over brown bark beside bokeh) fitted (0.69, 0.66, 0.61)
#: and left dark remnants of the word over the bark; its spreads read white (excess 0.085).
#: Over the train half and half2 sets' other cases, wherever a blend was fitted, the excess
#: is at most 0.009 where the fit was kept (k0's 0.13: its spreads were taken already, as
#: over dark grass, where the fit reads the grass's green: dark set d0 0.054, d4 0.092).
#: On one of eight train tiled_watermark cases the whole support's spreads read black where
#: the fit read 0.55 (excess 0.116) and are taken; the fit near the letters then replaces
#: that blend and the case's metrics are all unchanged (a guard on the colours' sides
#: would not have caught it: the support there reads darker than the photo round it).
PAINT_LEAK = 0.05
#: The word's pixels :func:`_spread_match` reads: the support's pixels at or past this
#: percentile of the copies' median lightness (on the word's side: lighter for a light
#: word). The fit's own opacity picks pixels whose photo happened to be dim (e2: 0.53
#: against 0.45); the median over the copies is far less tied to any one copy's photo.
MATCH_CORE = 80
#: Opacity scales tried on the fitted blend; the one leaving least of the word is kept.
GAINS = (1.0, 1.05, 1.1, 1.15, 1.2, 1.3)
#: Opacity scales (``a C`` held) :func:`_even_gain` tries after the fit (down only: the fit
#: leans high; :func:`_best_gain` has tried the scales up), and how much more the copies'
#: edges along the matte must vary at scale 1 than at the best for it to be taken.
EVEN_GAINS = tuple(np.round(np.arange(0.6, 1.001, 0.05), 3))
EVEN_SURE = 1.2
#: Over a dark photo (the 20 % quantile of the lightness round the word at most
#: :data:`DARK_PHOTO`) the blend is read again from the copies' statistics
#: (:func:`_dark_blend`): ``a C`` from the low quantiles of the word's pixels against the
#: photo's round it (:data:`LOW_QUANTILES`, %), ``a`` from their mean against each copy's
#: photo under the word read from round it.
DARK_PHOTO = 0.1
LOW_QUANTILES = (2, 20)
#: Reach (frame px) of the support past the word's letters (their strokes' side of the
#: band-pass, filled: :func:`_near_word`), where the support by energy alone leaves the
#: word on: the strokes' anti-aliased edge and a drop shadow's offset and blur. Train tiled6
#: (white DejaVu words over sunlit grass, main's energy support not inverting), the letters'
#: edges without filling, grown 0.2 x the box's height: far from the word 1748, 3893, 364 px
#: changed (the fit's noise round the word), PSNR 28.55, 26.94, 24.15 dB; filled, 3 px:
#: 125, 1095, 0 px, 28.57, 27.20, 24.14 dB; 5 px: 118, 899, 0, 28.64, 26.76, 24.11 dB.
SHAPE_REACH = 3
#: Energy support (:func:`_support`) over its part near the letters (:func:`_near_word`)
#: from which the blend is fitted again near the letters even where the first fit took the
#: word off: the rest is the leaves' texture in the median copy, where the fit's noise
#: changes the photo round every copy. Train tiled6 g4 (copies aligned until they settle,
#: :func:`tile_copies._converge`): 15688 px against 5080, the first fit took the word off
#: and changed 3133 px farther than 8 px from it (9x7 px blobs at one place round every copy).
SCATTERED = 2.0
#: Largest share of the pixels the refit (on :func:`_near_word`'s support) gives any opacity
#: that it fits opaque, for the refit to be taken. Train: the tiled6 grass cases 0; tiled_watermark7 (a light serif "PROOF" over
#: the Hubble deep field's black sky) 0.20, colour fitted 0.27 for a light grey, every copy
#: a hole for the fill (19.59 dB, 11728 px changed far from the word; 25.28 without it).
REFIT_OPAQUE = 0.02
#: :func:`_rim_debias`: the pixel rows read (signed distance from the letters' edge, px), the
#: untouched pixels their local level is read from (px out) and its Gaussian's sigma (px), the
#: level under which a pixel is over a dark photo, and how many standard errors the copies'
#: shared bias must stand out of the photo's chance for it to be taken off.
RIM_BINS = (-3, -2, -1, 1, 2, 3, 4, 5, 6)
RIM_REF = (4, 9)
RIM_SIGMA = 5.0
RIM_DARK = 0.1
RIM_T = 3.0


@dataclass(frozen=True)
class Unblended:
    """What :func:`unblend_tiles` did.

    Attributes
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        The photo with the watermark's blend inverted; the input itself when ``done`` is
        False (never modified).
    alpha : ndarray, HxW float32 in [0, 1)
        Estimated opacity of the watermark per pixel (0 where nothing was changed).
    hole : ndarray, HxW bool
        Pixels too opaque to invert (``alpha`` >= :data:`A_MAX`), for a fill.
    color : tuple of float
        The watermark's dominant colour (sRGB, 0-1).
    copies : int
        Tiles the estimate was made from.
    done : bool
        Whether anything was inverted.
    reason : str
        One line: what was done or why not.
    centres : ndarray, (M, 2) float64
        The copies' centres (x, y image px, refined), every lattice point near the frame.
    box_hw : (float, float)
        Height and length (image px) of a copy's box.
    owner : ndarray, HxW int32, or None
        Index into ``centres`` of the copy each inverted pixel was taken from (-1 elsewhere).
    texture : ndarray, (M,) float64
        Per copy: the photo's own detail round the word (median absolute band-passed
        lightness of the frame's pixels off the watermark's support), over the repeated
        strokes' (mean absolute band-passed lightness of the median copy on the support).
    left : ndarray, (M,) float64
        Per copy: how much of the repeated word its inverted pixels still show (the
        band-passed copy's projection on the median copy over the support, after / before).
    lattice : str
        Where the copies' lattice came from: ``"tiles"`` (the tiles' own differences, or
        the caller's), ``"refined"`` (the tiles' with the points between them,
        :func:`tile_copies._finer`), ``"unrefined"`` (the tiles' own, fitted where the refined
        lattice's fit failed) or ``"autocorrelation"`` (the tiles' gave too few whole
        copies).
    repeated : float
        Where the inverted copies kept more than :data:`MAX_LEFT` of the strokes' energy (the
        photo's texture under them) and were taken off because they share little of it: that
        share (:func:`_repeated_left`); NaN where the energy test passed.
    shown : ndarray, (M,) bool
        Per copy: whether its own pixels in the frame show the word
        (:func:`seamline.ops.text.median_word.shows_word`). A lattice point whose box
        reaches into the frame where no copy was drawn (its centre past the edge) is not
        shown: its blend is not placed in ``alpha``, ``hole`` or ``owner``.
    """

    image: np.ndarray
    alpha: np.ndarray
    hole: np.ndarray
    color: tuple = ()
    copies: int = 0
    done: bool = False
    reason: str = ""
    centres: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    box_hw: tuple = (0.0, 0.0)
    owner: np.ndarray | None = None
    texture: np.ndarray = field(default_factory=lambda: np.zeros(0))
    left: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lattice: str = "tiles"
    repeated: float = math.nan
    shown: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def _support(T):
    """Frame pixels the watermark covers (stroke energy of the median copy, grown by a
    shadow's reach)."""
    e = cv2.GaussianBlur(np.abs(T), (0, 0), 1.0 * SCALE)
    hi = float(np.percentile(e, 99))
    if hi <= 0:
        return np.zeros(T.shape, bool)
    core = (e >= 0.2 * hi).astype(np.uint8)
    r = 3 * SCALE
    return cv2.dilate(core, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0


def _near_word(shape):
    """Frame pixels within :data:`SHAPE_REACH` px of the word's letters ``shape`` (h, w) bool
    (the median copy's, :func:`seamline.ops.text.median_word.word_shape`), holes filled;
    None when it shows none.

    :func:`_support`'s energy test over busy foliage: the median copy keeps the leaves'
    texture at a fifth of the strokes' energy, and the support took 0.8 of the frame (train
    tiled6: a white DejaVu Bold "PROOF" at 0.45 over sunlit grass, 38909 of 48000 px for a
    word of ~6500). Each copy's photo under the support was then read from too far away, the
    opacity fitted low and the inversion left 69 % of the strokes: the copies went to the
    fill. Kept near the letters, 34 % is left and the word comes off."""
    if not shape.any():
        return None
    # the band-pass's strokes' side is a bold letter's edges (its middle lower): the letters
    # filled (what the frame's edge cannot reach), then their anti-aliased edge and a shadow
    ff = np.pad(shape.astype(np.uint8), 1)
    cv2.floodFill(ff, np.zeros((ff.shape[0] + 2, ff.shape[1] + 2), np.uint8), (0, 0), 2)
    r = SHAPE_REACH * SCALE
    return cv2.dilate((ff[1:-1, 1:-1] != 2).astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0


def _background(S, M):
    """Each copy's photo under the support ``M`` from its pixels around it (normalised
    Gaussian convolution, wide enough to reach the middle of the support)."""
    dist = cv2.distanceTransform(M.astype(np.uint8), cv2.DIST_L2, 5)
    sigma = max(2.0, float(np.percentile(dist[M], 95)) if M.any() else 2.0)
    out = np.empty_like(S)
    for k in range(len(S)):
        ok = np.isfinite(S[k]).all(-1) & ~M
        out[k], den = blur_over(np.nan_to_num(S[k], nan=0.0), ok, sigma)
        out[k][den < 1e-3] = np.nan
    return out


def _fit(Y, X, w, C0, lam):
    """Per pixel, least squares over copies k and channels c of ``Y = q - a X`` (q = a C),
    plus ``lam (q - a C0)^2``. Y, X (N, P, 3), w (N, P); returns a (P,), q (P, 3)."""
    W3 = w[..., None]
    Sxx = np.sum(W3 * X * X, axis=(0, 2))
    Sx = np.sum(W3 * X, axis=0)            # (P, 3)
    Sn = np.sum(w, axis=0)                 # (P,)
    Sxy = np.sum(W3 * X * Y, axis=(0, 2))
    Sy = np.sum(W3 * Y, axis=0)
    P = X.shape[1]
    A = np.zeros((P, 4, 4))
    b = np.zeros((P, 4))
    A[:, 0, 0] = Sxx + lam * float(C0 @ C0)
    for c in range(3):
        A[:, 0, c + 1] = A[:, c + 1, 0] = -Sx[:, c] - lam * C0[c]
        A[:, c + 1, c + 1] = Sn + lam
        b[:, c + 1] = Sy[:, c]
    b[:, 0] = -Sxy
    A[:, range(4), range(4)] += 1e-9
    th = np.linalg.solve(A, b[..., None])[..., 0]
    return th[:, 0], th[:, 1:]


def _copy_stats(S, S2, T, M, inbox, stroke):
    """Per copy (N,): the photo's detail round the word over the repeated strokes' contrast
    ``stroke``, and the share of the repeated word its inverted pixels still show (NaN
    where a copy has too few pixels in the frame to tell)."""
    bp, bp2 = copies_bandpass(S), copies_bandpass(S2)
    ok = np.isfinite(S[..., 0])
    # the photo's own detail: off the support (grown by the band-pass reach), in the box
    grow = cv2.dilate(M.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    ring = inbox & ~grow
    texture = np.full(len(S), np.nan)
    left = np.full(len(S), np.nan)
    for k in range(len(S)):
        r, m = ring & ok[k], M & ok[k]
        if r.sum() >= 0.3 * ring.sum() and r.any():
            texture[k] = float(np.median(np.abs(bp[k][r]))) / max(stroke, 1e-9)
        if m.sum() >= 0.3 * M.sum() and m.any():
            t = T[m]
            den = float(np.dot(bp[k][m], t))
            if den > 1e-9:
                left[k] = float(np.dot(bp2[k][m], t)) / den
    return texture, left


def _colour(a, q, X, w, Y) -> np.ndarray:
    """The watermark's dominant colour (3,) from a first, nearly unregularised fit: a and C
    are told apart only where the photo under a pixel differs between the copies (on a flat
    photo only a (C - B) is known), so C is the median of q / a over stroke pixels whose
    photo varies by :data:`MIN_SPREAD` or more across the copies; without enough of those,
    white for a watermark that lightens the photo and black for one that darkens it."""
    sw = np.maximum(np.sum(w, axis=0), 1e-9)
    mean = np.sum(w[..., None] * X, axis=0) / sw[:, None]
    spread = np.sqrt(np.sum(w[..., None] * (X - mean) ** 2, axis=(0, 2)) / (3 * sw))
    strokes = a >= np.percentile(a, 75)
    good = strokes & (spread >= MIN_SPREAD) & (a > A_MIN)
    if good.sum() >= 100:
        return np.clip(np.median(q[good] / a[good, None], axis=0), 0, 1)
    lift = float(np.median(np.sum(w[:, strokes, None] * Y[:, strokes], axis=0)))
    return np.ones(3) if lift >= 0 else np.zeros(3)


def unblend_tiles(image, polygons, lattice_px=None, angle_deg=None, *,
                  refine: bool = True) -> Unblended:
    """Invert a tiled watermark's alpha blend on its tiles.

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        sRGB photo with the watermark (not modified).
    polygons : sequence of ndarray, each (4, 2)
        The tiles (x, y image pixels): :attr:`TiledWatermark.polygons`, translated copies of
        one rotated rectangle.
    lattice_px : ((float, float), (float, float)), optional
        The two lattice vectors (image px) the tiles repeat along (default: read from the
        tiles' centres, or from the photo's autocorrelation where those give a coarser
        lattice than it and too few whole copies). Every lattice point in the frame is a
        copy, given as a tile or not.
    angle_deg : float, optional
        Text direction, degrees counter-clockwise from +x (default: the tiles' long side).
    refine : bool, default True
        Without ``lattice_px``, try the tiles' lattice with the points between them
        (:func:`tile_copies._finer`); where the blend fitted over a refined lattice is no
        blend, the tiles' own lattice is fitted instead.

    Returns
    -------
    Unblended
        The photo with the blend inverted where the watermark is, its opacity map and the
        pixels too opaque to invert.

    Raises
    ------
    InputError
        ``image`` is not HxWx3 float32, or the lattice is not two vectors.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.float32:
        raise InputError(f"image must be HxWx3 float32 in [0, 1], got shape {img.shape} "
                         f"dtype {img.dtype}")
    H, W = img.shape[:2]
    none = np.zeros((H, W), np.float32)
    if len(polygons) < MIN_TILES:
        return Unblended(img, none, none > 0, reason=f"{len(polygons)} tiles: too few to "
                                                     f"estimate the watermark from")
    cp = lattice_copies(img, polygons, angle_deg, lattice_px, refine=refine)
    if cp is None:
        return Unblended(img, none, none > 0, reason="the tiles are not on a 2-D lattice")
    centres, whole, lattice, u, n, size_wh, box = cp
    if whole.sum() < MIN_COPIES:
        return Unblended(img, none, none > 0, copies=int(whole.sum()), lattice=lattice,
                         reason=f"{int(whole.sum())} whole tiles in the frame: too few")
    S = sample_copies(img, centres, u, n, size_wh)
    valid = np.isfinite(S).all(-1)
    T = copies_median(copies_bandpass(S), S, whole)  # the band-passed copies: for T only
    inbox = word_window(size_wh, box)
    M = _support(T) & inbox
    N = float(whole.sum())
    light = copies_lightness(S, whole)  # read by the spreads' fit and the near-word test alike
    C0, before, (gain, Af, Qf, S2, left, left1), alt, rnd = _estimate(S, valid, T, M, whole,
                                                                       light)
    shape = word_shape(T, inbox, 2 * box[1] * SCALE, scale=SCALE, lightness=light)
    near = _near_word(shape)
    repeated = math.inf  # what the copies share once inverted (_repeated_left): not read
    if near is not None and (left1 > MAX_LEFT or M.sum() > SCATTERED * (M & near).sum()):
        # over busy foliage the median copy keeps the leaves' texture at a fifth of the
        # strokes' energy and the support took most of the frame: again, near the strokes
        # (where it left too much of the word, or took leaves far from it)
        if 0 < (M & near).sum() < M.sum():  # none near the letters: nothing to fit
            again = _estimate(S, valid, T, M & near, whole, light)
            a2 = again[2][1]
            # ... where it reads a semi-transparent word: a fit that makes the word opaque
            # to explain it (a light word over a dark flat photo, where only a (C - B) is
            # known) has no photo to give back
            opaque = np.count_nonzero(a2 >= A_MAX - 1e-6) / max(np.count_nonzero(a2 > 0), 1)
            # ... or, where both leave too much energy, leaves nothing the copies share:
            # the energy left is the photo's texture under the strokes (copies over sharp
            # texture beside smooth ones). Near the letters only: on the whole support the
            # fit's noise changes the texture round every copy (train half-set h1: 5333 px
            # farther than 8 px from the word)
            if left1 > MAX_LEFT and again[2][5] > MAX_LEFT:
                repeated = _repeated_left(S, again[2][3], whole, M & near)
            if (again[2][5] <= MAX_LEFT or repeated <= MAX_REPEATED) and opaque <= REFIT_OPAQUE:
                M = M & near
                C0, before, (gain, Af, Qf, S2, left, left1), alt, rnd = again
            elif repeated <= MAX_REPEATED:  # (the first fit, on the whole support, is not)
                repeated = math.inf
    # the test reads the blend as fitted: a scale picked to suit a lattice of the photo's
    # own does not make it a watermark (and nothing below is read where it fails)
    if not (Af > 0).any() or (left1 > MAX_LEFT and repeated > MAX_REPEATED):
        shared = (f"; the copies near the letters share {repeated:.0%} of the strokes"
                  if math.isfinite(repeated) else "")
        failed = Unblended(img, none, none > 0, copies=int(N), lattice=lattice,
                           reason=f"inverting leaves {left1:.0%} of the repeated strokes' "
                                  f"energy (more than {MAX_LEFT:.0%}){shared}: not a blended "
                                  f"watermark")
        if lattice != "refined":
            return failed
        # the points a refinement added may hold the photo's own repeat, not the word (a
        # photo periodic at half the watermark's step correlates past FINER_NCC): the fit
        # over them fails, where the tiles' own lattice inverts the word (train: 27 copies,
        # 12 of them photo only, 68 % of the strokes' energy left; 15 copies inverted)
        again = unblend_tiles(img, polygons, lattice_px, angle_deg, refine=False)
        if not again.done:
            return failed
        # ... named so: the photo's repeat that fooled the refinement may fool the fit too
        return again if again.lattice != "tiles" else replace(again, lattice="unrefined")
    gain, Af, Qf, S2, left, C0, lift = _corrected(S, whole, M, inbox, near, before,
                                                  (gain, Af, Qf, S2, left), C0, rnd)
    if alt is not None and alt[1][5] <= MAX_LEFT:
        # over a dark photo, the spreads' blend where the gains' ratio did not take it (train
        # tiledfit h1: 1.23), corrected the same way, where its inverted copies keep clearly
        # less of the letters' shape (:data:`RESIDUE_SURE`); compared uncorrected, the fit's
        # is at a disadvantage that _dark_blend then makes up (train d3)
        other = _corrected(S, whole, M, inbox, near, before, alt[1][:5], alt[0], rnd)
        if _glyph_residue(other[3], T, M, whole) < RESIDUE_SURE * _glyph_residue(S2, T, M, whole):
            # ... keeping the fit's holes: the pixels it found opaque have no photo under
            # them whatever the colour, and the spreads' refit, held to its colour, reads them
            # under A_MAX: inverted, grey-black specks (train: h1's photo with a 0.97 dot at
            # each copy's centre, 20 of its 21 px off by > 0.2)
            hole = Af >= A_MAX - 1e-6
            gain, Af, Qf, S2, left, C0, lift = other
            if hole.any():
                Af = np.where(hole, np.float32(A_MAX), Af).astype(np.float32)
                Qf = np.where(hole[..., None], np.float32(A_MAX) * np.asarray(C0, np.float32),
                              Qf).astype(np.float32)
                S2 = _inverted(S, Af, Qf)
                left = _left(S2, whole, M, before)
    texture, left_k = _copy_stats(S, S2, T, M, inbox, before)
    # the lattice has a point wherever a copy's box reaches into the frame, also where none
    # was drawn (past the frame's edge): inverted there, the word's blend darkens the photo
    # in its shape (train tiledge: ~1000 px at each, none within 8 px of the text)
    # (taking the blend off must take the word away, not put its negative there)
    _, shown = shows_word(S @ LUMA, T, shape, scale=SCALE, taken_off=S2 @ LUMA)
    if rnd.dark:
        # over a dark photo (:data:`DARK_PHOTO`) only: over lit ones it cost more than it gave
        # (train tiled_watermark1, white over the rocket's lights: -1.5 dB; the 36-case mix's
        # two tiled cases -0.05 / -0.11 dB, far 475 -> 990 px; why not diagnosed)
        Af, Qf = _even_inside(Af, Qf, lift)
    alpha = np.zeros((H, W), np.float32)
    aq = np.zeros((H, W, 3), np.float32)
    owner = np.full((H, W), -1, np.int32)
    for k, c in enumerate(centres):
        at = copy_box(c, u, n, size_wh, (H, W))
        if at is None or not shown[k]:
            continue
        (x0, y0, x1, y1), Mk = at
        ak = cv2.warpAffine(Af, Mk, (x1 - x0, y1 - y0), flags=INTERP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        qk = cv2.warpAffine(Qf, Mk, (x1 - x0, y1 - y0), flags=INTERP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        sl = slice(y0, y1), slice(x0, x1)
        take = ak > alpha[sl]
        alpha[sl][take] = ak[take]
        aq[sl][take] = qk[take]
        owner[sl][take] = k
    alpha = _floor(alpha, EDGE_PX)
    owner[alpha == 0] = -1
    hole = alpha >= A_MAX - 1e-6
    out = img.copy()
    on = alpha > 0
    out[on] = np.clip((img[on] - aq[on]) / (1 - alpha[on, None]), 0, 1)
    out = _rim_debias(out, alpha, owner, centres)
    return Unblended(out, alpha, hole, color=tuple(float(v) for v in C0),
                     copies=int(N), done=bool(on.any()), centres=centres,
                     box_hw=(2 * box[1], 2 * box[0]), owner=owner, texture=texture,
                     left=left_k, lattice=lattice, shown=shown,
                     repeated=repeated if left1 > MAX_LEFT else math.nan,
                     reason=f"blend inverted on {int(on.sum())} px from {int(N)} copies "
                            f"(colour {', '.join(f'{v:.2f}' for v in C0)}, opacity x "
                            f"{gain:.2f}; {left:.0%} of the strokes' energy left)")


def _corrected(S, whole, M, inbox, near, before, blend, C0, rnd):
    """The blend ``blend`` = ``(opacity scale, Af, Qf, the copies inverted, share left)``
    (:func:`_best_gain`'s) of colour ``C0`` corrected by what the copies show
    (:func:`_even_gain`, then :func:`_dark_blend`): ``(opacity scale, Af, Qf, the copies
    inverted, share left, colour, the ``a C`` :func:`_dark_blend` read on the letters' inside
    (3,), or None where it was not taken)``. ``near``: :func:`_near_word`'s pixels or None;
    ``rnd``: the photo round the word on ``M`` (:class:`_Round`)."""
    gain, Af, Qf, S2, left = blend
    # the opacity again, a C held, by what the inverted copies show along the matte's edges
    even = _even_gain(S, whole, Af, Qf, M, inbox)
    if even is not None:
        # ... down only, and not on the pixels the fit found opaque (at A_MAX: a hole with no
        # photo under it to give back, left to the fill); scaled under A_MAX they would be
        # inverted at a gain of up to 1 / (1 - 0.9 x even) on what is only the paint
        Af = np.where(Af >= A_MAX - 1e-6, Af, even * Af).astype(np.float32)
        gain *= even
        S2 = _inverted(S, Af, Qf)
        left = _left(S2, whole, M, before)
    # over a dark photo, where the fit cannot tell the opacity from the colour (the colour
    # falls back to the white prior, which ties a to a C): both from the copies' statistics
    dark = _dark_blend(S, whole, Af, Qf, M, inbox, rnd)
    lift = None
    if dark is not None:
        g, gq, C0, lift = dark
        # the letters and their anti-aliased rim (within SHAPE_REACH of the median copy's
        # letters), not the fit's noise on the photo elsewhere: scaled up, it changes more of
        # the photo round the word (train tiled_watermark7, over the Hubble deep field: 398
        # or 346 px farther than 8 px from it with the noise or the strokes >= A_CORE scaled,
        # 310 unscaled and so); the rim left as fitted leaves the letters' outline (train, a
        # light word over a rocket at night: -0.31 dB against no rescale, +0.16 with the rim)
        strokes = (Af >= A_CORE if near is None else near & (Af > 0)) & (Af < A_MAX - 1e-6)
        Af = np.where(strokes, np.minimum(g * Af, A_MAX - 0.01), Af).astype(np.float32)
        Qf = (Qf * gq).astype(np.float32)
        gain *= g
        S2 = _inverted(S, Af, Qf)
        left = _left(S2, whole, M, before)
    return gain, Af, Qf, S2, left, C0, lift


def _estimate(S, valid, T, M, whole, light):
    """The blend fitted on the support ``M`` (frame px, bool) of the copies ``S`` and
    inverted at the opacity scale that leaves the least of the word: ``(colour, the median
    copy's band-passed energy on M, :func:`_best_gain`'s tuple, alternative, round)``, the
    alternative ``(colour, :func:`_best_gain`'s tuple)`` the spreads' blend
    (:func:`_spread_match`) where the gains' ratio (:data:`AMPLIFY`) did not take it, else
    None, and ``round`` the photo round the word on ``M`` (:class:`_Round`: read once per
    support, by the dark tests here, in :func:`_dark_blend` and before :func:`_even_inside`).
    ``light``: the copies' median lightness (:func:`copies_lightness`)."""
    Bk = _background(S, M)
    idx = np.nonzero(M.ravel())[0]
    Y = (np.nan_to_num(S, nan=0.0) - np.nan_to_num(Bk, nan=0.0)).reshape(len(S), -1, 3)[:, idx]
    X = np.nan_to_num(Bk, nan=0.0).reshape(len(S), -1, 3)[:, idx]
    w = (valid & np.isfinite(Bk).all(-1)).reshape(len(S), -1)[:, idx].astype(np.float64)
    del Bk  # copy-sized, read by the fits' inputs only
    N = float(whole.sum())
    a, q = _fit(Y, X, w, np.full(3, 0.5), 1e-3 * N)
    C0 = _colour(a, q, X, w, Y)
    r = np.sqrt(np.sum((Y + a[None, :, None] * X - q[None]) ** 2, axis=2))
    w = w / (1 + (r / CAUCHY) ** 2)
    a, q = _fit(Y, X, w, C0, PRIOR * N)
    fitted_a = np.zeros(M.size, np.float32)
    fitted_a[idx] = np.clip(a, 0.0, A_MAX)
    # the whole copies (a copy of them: 20-33 MB on a 1280x960 lattice) for the spreads and
    # the dark test only: not held beside the inversions below
    Sw, ring = _round_word(S, M, whole)
    rnd = _Round(ring, _dark_round(Sw, ring) is not None)
    match = _spread_match(Sw, ring, M, light, fitted_a.reshape(M.shape))
    del Sw
    # what is left of the repeated word once inverted, in the copies themselves: a lattice
    # of the photo's own (a wall's courses, a grid of coins) does not come off this way
    before = float(np.mean(np.abs(T[M]))) if M.any() else 0.0
    alt = spreads = None
    if match is not None:
        opacity, colour, core = match
        fitted = float(np.median(np.clip(a, 0.0, A_MAX)[core[M]]))
        # the inversion's gain on the photo under the word, as fitted over as the spreads say;
        # under AMPLIFY and over a dark photo, the spreads' blend is the alternative
        # unblend_tiles weighs against the fit's once both are corrected (:func:`_corrected`,
        # :func:`_glyph_residue`)
        take = (1 - opacity) / max(1 - fitted, 1e-3) > AMPLIFY
        # ... or where the fit's colour is the photo's, not the paint's (:data:`PAINT_LEAK`)
        take = take or float(np.ptp(C0) - np.ptp(colour)) > PAINT_LEAK
        if take or rnd.dark:
            spreads = _fit(Y, X, w, colour, MATCH_PRIOR * N)
    del Y, X, w, r  # the fits' inputs: not held beside the inversions below
    if spreads is not None:
        spread = _best_gain(S, *_blend_maps(*spreads, colour, M, idx), M, whole, before)
        if take:
            return colour, before, spread, None, rnd
        alt = (colour, spread)
    return (C0, before, _best_gain(S, *_blend_maps(a, q, C0, M, idx), M, whole, before), alt,
            rnd)


def _blend_maps(a, q, C0, M, idx):
    """The fitted opacity ``a`` (P,) and ``a C`` ``q`` (P, 3) on the support's pixels ``idx``
    (flat indices of ``M``, (h, w) bool) as frame maps ``(Af (h, w), Qf (h, w, 3))`` float32:
    ``a`` clipped to [0, :data:`A_MAX`], ``C`` to [0, 1], the letters' rim added
    (:func:`_floor`) in the colour ``C0`` (3,)."""
    a = np.clip(a, 0.0, A_MAX)
    q = a[:, None] * np.clip(q / np.maximum(a[:, None], 1e-6), 0, 1)
    Af = np.zeros(M.size, np.float32)
    Qf = np.zeros((M.size, 3), np.float32)
    Af[idx], Qf[idx] = a, q
    Af = _floor(Af.reshape(M.shape), EDGE_PX * SCALE)
    # the rim's colour is the watermark's: a pixel's own q / a at an opacity of 0.01 is noise
    rim = (Af > 0) & (Af < A_MIN)
    Qf = np.where(rim[..., None], Af[..., None] * np.float32(C0),
                  np.where(Af[..., None] > 0, Qf.reshape(*M.shape, 3), 0)).astype(np.float32)
    return Af, Qf


def _glyph_residue(S2, T, M, whole):
    """How much of the letters' shape the whole copies of ``S2`` (the copies inverted,
    :func:`_inverted`) keep: the root mean square over the copies of each one's band-passed
    lightness projected on the median copy's before, ``T`` (h, w float32), on the support
    ``M`` (1: the word as it was drawn, 0: none of it), float.

    Unlike :func:`_left` (the median copy's energy left), every copy counts with its sign:
    a blend read too opaque and too dark leaves a dark word over the darkest photo and a
    light one over the lit, which the median over the copies cancels, and a projection on
    the letters is blind to the photo's own texture except where it happens to follow them."""
    bp = copies_bandpass(S2)
    x = []
    for k in np.nonzero(whole)[0]:
        ok = M & np.isfinite(S2[k]).all(-1)
        x.append(float(np.sum(bp[k][ok] * T[ok]) / max(float(np.sum(T[ok] ** 2)), 1e-12)))
    return float(np.sqrt(np.mean(np.square(x)))) if x else 0.0


def _word_core(Af, on):
    """The word's core: the pixels of ``on`` (h, w bool) in the upper half of the opacity
    ``Af`` (h, w float32) smoothed (sigma 1.5 px), (h, w) bool; None with fewer than 50.
    Smoothed, the opacity picks the letters' inside rather than single pixels whose fit
    happened to read high (train tiledfit h5, the oracle photo: its median 0.155 under the
    core, 0.154 round the word)."""
    if on.sum() < 50:
        return None
    smooth = cv2.GaussianBlur(Af.astype(np.float32), (0, 0), 1.5)
    return on & (smooth >= np.median(smooth[on]))


def _spread_match(Sw, ring, M, light, Af):
    """The watermark's opacity and colour from how much less its word's pixels vary across the
    copies than the photo round it: ``(opacity, colour (3,), core)``, ``core`` (h, w) bool the
    word's pixels read; None where the copies do not tell.

    Under the blend a copy's pixel is ``(1 - a) P + a C``: over the copies (each over another
    part of the photo) the word's pixels' values are the photo's, scaled by ``1 - a`` and
    moved by ``a C``. Per channel, the quantiles (10-90 %) of the word's pixels ``core``
    (:data:`MATCH_CORE`) over every whole copy are fitted as a line of the photo's in the
    frame off the support ``M`` (grown by the band-pass's reach): slope ``1 - a``, intercept
    ``a C``. No copy's photo under the word is estimated, so the estimate does not share the
    per-pixel fit's bias (train tiled8 e1-e4, truth / fit / this: opacity 0.35 / 0.57 / 0.36,
    0.45 / 0.83 / 0.51, 0.5 / 0.58 / 0.40, 0.3 / 0.59 / 0.29). ``light``: the copies'
    median lightness (:func:`copies_lightness`); ``Af`` (h, w float32): the fitted opacity,
    whose smoothed core (:func:`_word_core`) is read where the lightness core's line gives
    no opacity in range. ``Sw``, ``ring``: the whole copies and the photo round the word
    (:func:`_round_word`)."""
    if M.sum() < 50 or ring.sum() < 50:
        return None
    side = 1.0 if np.median(light[M]) >= np.median(light[ring]) else -1.0
    core = M & (side * light >= np.percentile(side * light[M], MATCH_CORE))
    match = _spread_line(Sw, core, ring)
    if match is None:
        # where the lightness core does not tell (train d8, a 180-grey PROOF at 0.25 over
        # dark grass with a sky: its line reads an opacity out of range, and remove-text
        # leaves half the word), the letters' inside from the fit's smoothed opacity. Not
        # first: picked by the fit's opacity, the pixels are those whose values vary least
        # across the copies, which is what the line measures, and the opacity reads high
        # (train tiledfit h5 with detect's tiles: 0.49 for 0.40, against 0.39 from the
        # lightness core; h1 0.43 for 0.31, d2 0.43 for 0.28)
        core = _word_core(Af, M & (Af >= A_CORE))
        if core is None or core.sum() < 50:
            return None
        match = _spread_line(Sw, core, ring)
    return None if match is None else (*match, core)


def _round_word(S, M, whole):
    """``(Sw, ring)``: the whole copies ``S[whole]`` and the photo round the word in them,
    the pixels more than 3 px off the support ``M`` that a whole copy has in the frame,
    (h, w) bool (:func:`_spread_match`'s and :func:`_dark_blend`'s reference)."""
    Sw = S[whole]
    grow = cv2.dilate(M.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    return Sw, ~grow & np.isfinite(Sw[..., 0]).any(0)


def _round_pixels(Sw, ring):
    """The photo round the word, ``ring`` (h, w bool) over the whole copies ``Sw``, as
    (n, 3) float32 pixels, those a copy has in the frame."""
    photo = Sw[:, ring]
    return photo[np.isfinite(photo).all(-1)]


def _dark_round(Sw, ring):
    """The photo round the word, ``ring`` (h, w bool) over the whole copies ``Sw``, as
    (n, 3) pixels where it is dark (its 20 % quantile of lightness at most
    :data:`DARK_PHOTO`); None where it is not, or fewer than 50 pixels are defined."""
    photo = _round_pixels(Sw, ring)
    if len(photo) < 50 or np.percentile(photo @ LUMA, 20) > DARK_PHOTO:
        return None
    return photo


class _Round(NamedTuple):
    """The photo round the word on one support, read once per support (:func:`_estimate`)
    for every test that asks whether it is dark: ``ring`` (h, w) bool, the pixels round the
    word (:func:`_round_word`), and ``dark`` whether it is (:func:`_dark_round`). Its pixels
    are not kept: held, they sat beside :func:`_best_gain`'s inversions, the unblend's peak
    (train dark_grass:5, tracemalloc 122 -> 127 MB); :func:`_dark_blend` reads them again
    from its own copy of the whole copies where it is dark."""

    ring: np.ndarray
    dark: bool


def _spread_line(Sw, core, ring):
    """:func:`_spread_match`'s line through the quantiles of the word's pixels ``core`` over
    the whole copies ``Sw`` against the photo's ``ring``: ``(opacity, colour (3,))``, None
    where too few pixels are read, the photo does not vary or the opacity is out of range."""
    qs = np.arange(10, 91, 5)
    slope, lift = np.zeros(3), np.zeros(3)
    for c in range(3):
        word, photo = Sw[..., c][:, core], Sw[..., c][:, ring]
        word, photo = word[np.isfinite(word)], photo[np.isfinite(photo)]
        if word.size < 50 or photo.size < 50 or np.ptp(np.percentile(photo, qs)) < 1e-3:
            return None
        slope[c], lift[c] = np.polyfit(np.percentile(photo, qs), np.percentile(word, qs), 1)
    opacity = 1.0 - float(np.mean(slope))
    if not A_MIN < opacity < A_MAX:
        return None
    return opacity, np.clip(lift / opacity, 0.0, 1.0)


def _best_gain(S, Af, Qf, M, whole, before):
    """The opacity scale (one of :data:`GAINS`) whose inversion leaves the least of the
    repeated strokes in the copies ``S``: ``(scale, opacity, opacity x colour, the copies
    inverted, what is left, what the first scale left)`` (what is left: the share of the
    median copy's band-passed energy ``before`` on the support ``M``).

    The photo under the word, read from the photo round it, leans towards its mean and pulls
    the fitted opacity down (train astronaut, white at 0.39: 0.35; 0.39 from the true photo)."""
    best = first = None
    on = Af >= A_MIN  # the strokes, not their faint rim (:func:`_floor`)
    # the watermark's own opacity; what the fit put above it (a photo's white letters under
    # a copy) is not scaled past it, no pixel becomes a hole the fit did not make one, and
    # the fit's noise under A_CORE stays there (off the support: the photo is not changed)
    top = min(float(np.percentile(Af[on], 90)) if on.any() else 0.0, A_MAX - 0.01)
    for g in GAINS:
        a = np.minimum(g * Af, np.maximum(Af, min(g * top, A_MAX - 0.01)))
        a = np.where(Af >= A_CORE, a, Af).astype(np.float32)
        q = (Qf * (a / np.maximum(Af, 1e-9))[..., None]).astype(np.float32)
        S2 = _inverted(S, a, q)
        left = _left(S2, whole, M, before)
        if best is None or left < best[4]:
            best = (float(g), a, q, S2, left)
        first = left if first is None else first
        del S2  # a worse inversion goes before the next is made (the best keeps its own)
    return (*best, first)


def _even_gain(S, whole, Af, Qf, M, inbox):
    """The opacity scale (``a C`` held) whose inversion leaves every copy the same edge along
    the watermark's matte, or None where the copies do not tell it clearly.

    The per-pixel fit reads ``a C`` well but ``a`` itself leans high over a dark busy photo
    (each copy's photo under the word, read from round it, is noisy: the regression on it is
    diluted), and an inversion at too high an opacity brightens the photo under the strokes
    by ``P (a' - a) / (1 - a')``: a trace of the word whose strength follows each copy's
    own photo (light over bokeh and bright leaves, none over black). Per copy ``k`` and
    channel, ``x_k`` is the inverted copy projected on the matte's edges (its band-pass,
    :func:`copies_bandpass`'s filter, applied twice: the projection of the band-passed copy on the
    band-passed matte); the scale of :data:`EVEN_GAINS` whose ``x_k`` vary least across the
    copies is kept (the photo's own chance alignment with the matte does not depend on the
    scale but for the inversion's gain on it, taken out; an error of the scale does), refined
    by a parabola through its neighbours. Only where that variance at scale 1 is
    :data:`EVEN_SURE` x its least and the least is not at the grid's end (a wrong ``a C`` or
    matte shape leaves a cost without an inner minimum). Train, the oracle's best scale (the
    true photo, ``a C`` held) / this: tiledfit h1 (a 160-grey PROOF at 0.31 over dark grass)
    0.8 / 0.87, h5 0.8 / 0.87, h2 1.0 / none, h3 1.2 / none, tiled10 g3 0.8 / 0.77, tiled9
    e2 0.9 / none (with detect's tiles in remove-text 0.9), f1 0.95 / none (the least past
    1, which :func:`_best_gain` has tried)."""
    cost = _even_cost(S, whole, Af, Qf, M, inbox, EVEN_GAINS)
    if cost is None:
        return None
    i = int(np.argmin(cost))
    if i in (0, len(cost) - 1) or cost[-1] < EVEN_SURE * cost[i]:
        return None
    c0, c1, c2 = cost[i - 1:i + 2]
    step = EVEN_GAINS[1] - EVEN_GAINS[0]
    g = EVEN_GAINS[i] + step * 0.5 * (c0 - c2) / max(c0 - 2 * c1 + c2, 1e-12)
    return float(g)


def _even_cost(S, whole, Af, Qf, M, inbox, gains):
    """:func:`_even_gain`'s cost at each opacity scale of ``gains`` (``a C`` held): how much
    the whole copies' inverted edges along the matte vary across the copies, (len(gains),)
    float64; None with fewer than :data:`MIN_COPIES` copies whole round the support."""
    R = (cv2.dilate(M.astype(np.uint8), np.ones((11, 11), np.uint8)) > 0) & inbox
    ks = [k for k in range(len(S)) if whole[k] and np.isfinite(S[k][R]).all()]
    if len(ks) < MIN_COPIES:
        return None
    h = frame_bandpass(frame_bandpass(Af.astype(np.float32)))[R].astype(np.float64)
    X = S[ks][:, R].astype(np.float64) - Qf[R][None].astype(np.float64)  # (K, P, 3)
    A = Af[R].astype(np.float64)
    # the photo's own part of x_k grows as 1 / (1 - a) with the scale: taken out, or the
    # least leans low (train e2 with detect's tiles: 0.77 for the oracle's 0.9, -1.6 dB)
    top = float(np.percentile(A[A >= A_MIN], 90)) if (A >= A_MIN).any() else 0.0
    cost = []
    for g in gains:
        x = np.einsum("kpc,p->kc", X / (1 - np.minimum(g * A, A_MAX - 0.01))[None, :, None], h)
        cost.append(float(np.sum((x - x.mean(0)) ** 2)) * (1 - min(g * top, A_MAX)) ** 2)
    return np.array(cost)


def _dark_blend(S, whole, Af, Qf, M, inbox, rnd):
    """Over a dark photo, the blend read from the copies' statistics instead of per pixel:
    ``(opacity scale, a C scale (3,), colour (3,), a C (3,))`` for ``Af``, ``Qf``, the
    watermark's colour and the letters' inside (:func:`_even_inside`); None where the photo
    round the word is not dark (:data:`DARK_PHOTO`), the estimate is out of range or the
    copies' edges along the matte (:func:`_even_cost`) do not vary :data:`EVEN_SURE` x less
    at the new opacity than at the fit's.

    Over a dark photo few of the word's pixels lie over photo that varies across the copies,
    and the per-pixel fit cannot tell ``a`` from ``C``: :func:`_colour` falls back to white
    and the prior ties ``a`` to ``a C`` (train: a 160-grey DejaVu Sans Bold "PROOF" at 0.31
    over grass in deep shade fitted at 0.18, ``a C`` 44 for 50 /255; a darkened cat's fur
    0.17 for 0.27), or a colour too dark at an opacity too high (train tiledfit h4 with
    detect's tiles: a 190-grey word at 0.25 fitted as 0.30 grey). Inverted so, the letters
    come back light over the darkest photo and dark over the lit (+5-6 and -3-8 /255), or
    the other way round; :func:`_even_gain` scales down only. Two moments of the word's
    pixels ``I = (1 - a) P + a C`` over every whole copy tell both, without a copy's photo
    per pixel:

    - the low quantiles (:data:`LOW_QUANTILES`) of the word's pixels against those of the
      photo round it lie on a line whose intercept is ``a C``; over a dark photo they lie
      near black, so the intercept is read where it is measured (within 1 /255 in lightness
      on eight train analogues: light grey at 0.25-0.4 over dark grass, a cat, coffee);
    - the mean: ``mean(I) = a C + (1 - a) mean(P)``, with each copy's photo under the word
      read from round it (:func:`_background`), whose mean is the photo's even where a
      regression on it is not (the leaves' dark texture dilutes the per-pixel fit).

    Both are read on the word's core (the upper half of the smoothed opacity on the strokes;
    the quantiles on its inside, less the letters' rim: :func:`_low_lift`) and applied as
    scales of ``Af`` and ``Qf`` (their medians on the strokes taken to them), ``a C`` also as
    it is, to the letters' inside (:func:`_even_inside`). The mean knows the photo under the
    word only to within chance (train: 0.106 read round a 0.33 word for 0.112 under it, ``a``
    0.311), which moves a fit that was right off (train: -0.9 dB through remove-text on one
    of 15 analogues without the edges' test). ``rnd``: the photo round the word on ``M``
    (:class:`_Round`).
    """
    on = M & (Af >= A_CORE) & (Af < A_MAX - 1e-6)
    if on.sum() < 50 or rnd.ring.sum() < 50 or not rnd.dark:
        return None
    Sw = S[whole]  # over a dark photo only
    photo = _round_pixels(Sw, rnd.ring)
    core = _word_core(Af, on)
    word = Sw[:, core]
    B = _background(S, M)[whole][:, core]
    ok = np.isfinite(word).all(-1) & np.isfinite(B).all(-1)
    if ok.sum() < 50:
        return None
    word, B = word[ok], B[ok]
    lift = _low_lift(Sw, core, photo, word)
    a = 1 - float((word @ LUMA).mean() - lift @ LUMA) / max(float((B @ LUMA).mean()), 1e-6)
    if not A_MIN < a < A_MAX - 0.01:
        return None
    g = a / float(np.median(Af[on]))
    cost = _even_cost(S, whole, Af, Qf, M, inbox, (1.0, g))
    if cost is None or cost[0] < EVEN_SURE * cost[1]:
        return None
    gq = lift / np.maximum(np.median(Qf[on], axis=0), 1e-6)
    return g, gq.astype(np.float32), np.clip(lift / a, 0.0, 1.0), lift.astype(np.float32)


def _low_lift(Sw, core, photo, word):
    """:func:`_dark_blend`'s ``a C`` (3,): the intercept of the line through the low
    quantiles (:data:`LOW_QUANTILES`) of the word's pixels against those of the photo round
    it, ``photo`` (n, 3) (:func:`_dark_round`). The word's pixels are the whole copies ``Sw``
    (k, h, w, 3) on the core ``core`` (h, w bool) less its edge pixel row (eroded 1 px), or
    ``word`` (m, 3), the whole core's, where fewer than 50 are left.

    The smoothed opacity's core (:func:`_word_core`) reaches the letters' anti-aliased rim
    on thin strokes, where a copy's pixel holds less than the watermark's opacity and over
    black lies darker than ``a C``: the low quantiles, and the intercept, follow them down
    (train tiledfit h4, a 190-grey DejaVu Sans Bold "SAMPLE" at 0.25 over near-black leaves:
    1-5 % of each copy's core pixels under 0.15, the core's 2 % quantile 0.12, ``a C`` read
    0.171 for 0.186 and the colour 0.87 for 0.745, the letters' inside left lifted ~3.5 /255
    over the darkest leaves; the inside's 0.187)."""
    inner = cv2.erode(core.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    low = Sw[:, inner]
    low = low[np.isfinite(low).all(-1)]
    low = word if len(low) < 50 else low
    qs = np.linspace(*LOW_QUANTILES, 10)
    return np.array([np.polyfit(np.percentile(photo[:, c], qs), np.percentile(low[:, c], qs),
                                1)[1] for c in range(3)])


def _even_inside(Af, Qf, aq=None):
    """``Af`` (h, w float32) and ``Qf`` (h, w, 3 float32) with the letters' inside set to
    their medians there, or ``Qf`` to ``aq`` (3,) where given (and ``Af`` scaled with it):
    ``(Af, Qf)``, unchanged with fewer than 50 such pixels.

    A watermark's copies share one opacity and colour inside the strokes (only the
    anti-aliased rim has less), while the per-pixel fit reads them with the photo's texture
    under the word that each copy's photo read from round it (:func:`_background`) does not
    hold: its mean over the N copies is left in ``a C`` at every pixel, ~ the texture's
    spread / sqrt(N). Inverted, that error is the same on every copy, a blotchy print of the
    word's shape, light and dark, including along its edges (train, 17 dark-foliage analogues,
    the inverted copies' error against the true photo in the common frame: 5-6 /255 rms on
    the strokes, of which 1.5-2.5 differs between copies). The inside is the fit's opacity of
    at least :data:`INSIDE_LEVEL` x the strokes' (their 90th percentile), eroded by
    :data:`INSIDE_ERODE` px, not the pixels it found opaque (:data:`A_MAX`: left to the fill);
    the rim keeps its own per-pixel fit.

    ``aq``: the ``a C`` :func:`_dark_blend` read on the letters' inside (the low quantiles'
    intercept, :func:`_low_lift`). It applies it as a scale of ``Qf`` that takes the median
    on every stroke pixel to it, and the strokes' rim holds less than the inside: the
    inside's median came out higher than what was read, and over near black every inverted
    copy's inside came back darker than the photo round it (train: a 160-grey "PROOF" at
    0.45 over grass in deep shade, ``a C`` read 0.2818 for 0.2824, the inside's median 0.2868:
    -2.3 /255 under the letters). The inside's opacity is scaled with it (the colour kept):
    where the opacity reads too high, an exact ``a C`` alone leaves the letters lighter over
    the lit photo (train, a 160-grey "COPYRIGHT" at 0.45 read at 0.63: -0.8 dB). The scales
    themselves are left as they are: taken on the core they change which blend
    :func:`_glyph_residue` picks over a dark photo (train tiledfit h1: the fit's, colour 0.41
    for 0.63)."""
    on = Af >= A_MIN
    if not on.any():
        return Af, Qf
    top = float(np.percentile(Af[on], 90))
    inside = (Af >= INSIDE_LEVEL * top) & (Af < A_MAX - 1e-6)
    k = np.ones((2 * INSIDE_ERODE + 1,) * 2, np.uint8)
    inside = cv2.erode(inside.astype(np.uint8), k) > 0
    if inside.sum() < 50:
        return Af, Qf
    a_in, q_in = np.median(Af[inside]), np.median(Qf[inside], axis=0)
    if aq is not None:
        a_in = min(a_in * float(aq @ LUMA) / max(float(q_in @ LUMA), 1e-6), A_MAX - 0.01)
        q_in = aq
    a = np.where(inside, a_in, Af).astype(np.float32)
    q = np.where(inside[..., None], q_in, Qf).astype(np.float32)
    return a, q


def _rim_debias(out, alpha, owner, centres):
    """``out`` (HxWx3 float32, the copies inverted) less the bias its copies share at each
    distance from the letters' edge over a dark photo, where it stands out of the photo's own
    noise: HxWx3 float32, ``out`` itself where none does.

    The blend fitted in the common frame is softer at the strokes' edge than each copy's and
    :func:`_floor` keeps the fit's faint rim past it, so over a dark photo the inverted letters
    keep a thin outline, the same on every copy, which the ghost judge's contrast boost reads
    (train, where the photo is under 0.06: tiledfit h4, a 190-grey "SAMPLE" at 0.25 over
    near-black leaves, +1.8 to +3.0 /255 on the four pixel rows outside the letters, -0.7 to -2
    on the three inside their edge; a 190-grey "PROOF" at 0.25 over drawn dark grass, +3 on the
    letters' two edge rows). The photo's texture does not follow the letters, so per pixel row
    at a signed distance ``d`` from the edge (:data:`RIM_BINS`; the letters: the opacity's half
    level) the copies' mean of ``out`` less its local level (the untouched pixels
    :data:`RIM_REF` px out, Gaussian-weighted, :data:`RIM_SIGMA`) measures it, read where that
    level is dark (:data:`RIM_DARK`) and pooled as the median over the copies. Picking dark
    pixels by their level biases the statistic by itself (a pixel whose surround reads dark
    lies, by chance, lighter than it: train h3, d1, the true photo in place of ``out``, +2 to
    +6 /255), so the same statistic is read on the same geometry moved between the copies,
    where ``out`` is the photo (:func:`_between_copies`), and only the difference is taken off,
    where it is :data:`RIM_T` x its standard error (the copies' spread)."""
    on = alpha >= A_MIN
    if on.sum() < 200 or len(centres) < MIN_COPIES:
        return out
    shifted = _between_copies(alpha, owner, centres)
    if shifted is None:
        return out
    bias = _rim_bias(out, alpha, owner)
    null = _rim_bias(out, *shifted)
    res = out
    for d, (med, se, band) in bias.items():
        if d not in null:
            continue
        diff = med - null[d][0]
        if abs(float(diff @ LUMA)) < RIM_T * math.hypot(se, null[d][1]):
            continue
        res = out.copy() if res is out else res
        res[band] = np.clip(out[band] - diff.astype(np.float32), 0, 1)
    return res


def _rim_bias(out, alpha, owner, off=None):
    """:func:`_rim_debias`'s statistic on the opacity ``alpha`` (HxW) and the copies'
    ``owner`` (HxW int, -1 off them), the local level read off ``off`` (HxW bool, or None:
    everywhere): per pixel row ``d`` of :data:`RIM_BINS` read,
    ``(median over the copies of their mean (3,), its standard error, the row's dark pixels
    (HxW bool))``."""
    on = alpha >= A_MIN
    if not on.any():
        return {}
    edge = (alpha >= 0.5 * float(np.percentile(alpha[on], 90))).astype(np.uint8)
    inside = cv2.distanceTransform(edge, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    outside = cv2.distanceTransform(1 - edge, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    # -1: the letters' edge pixel row, +1: the first row outside them
    sd = np.where(edge > 0, -np.ceil(inside - 0.5), np.ceil(outside - 0.5)).astype(np.int32)
    ref = (sd >= RIM_REF[0]) & (sd <= RIM_REF[1]) & (alpha == 0)
    ref = (ref if off is None else ref & off).astype(np.float32)
    weight = cv2.GaussianBlur(ref, (0, 0), RIM_SIGMA)
    level = cv2.GaussianBlur(out * ref[..., None], (0, 0), RIM_SIGMA)
    level /= np.maximum(weight, 1e-6)[..., None]
    dark = (weight > 0.05) & (level @ LUMA < RIM_DARK) & (alpha > 0) & (owner >= 0)
    got = {}
    for d in RIM_BINS:
        band = dark & (sd == d)
        if band.sum() < 200:
            continue
        e = out[band] - level[band]
        _, k = np.unique(owner[band], return_inverse=True)
        n = np.bincount(k)
        per = np.stack([np.bincount(k, e[:, c]) / n for c in range(3)], 1)[n >= 20]
        if len(per) < MIN_COPIES:
            continue
        light = per @ LUMA
        # the median's standard error from the copies' spread (MAD), robust to a copy over
        # a lit edge
        se = 1.4826 * 1.25 * float(np.median(np.abs(light - np.median(light)))) / math.sqrt(
            len(per))
        got[d] = (np.median(per, 0), se, band)
    return got


def _between_copies(alpha, owner, centres):
    """``(alpha, owner)`` (HxW) moved half a lattice step (of the four half steps along and
    between the copies' two shortest differences, the one that lands least on the copies'
    own pixels), where they do not come within :data:`RIM_REF`'s reach of the copies' own
    opacity: the letters' geometry over the photo alone, and where it may read the photo's
    level (off that reach), ``(alpha, owner, off)``. None where the centres are on no 2-D
    lattice."""
    c = np.asarray(centres, np.float64)
    dv = (c[None] - c[:, None]).reshape(-1, 2)
    dv = dv[np.hypot(*dv.T) > 1]
    if len(dv) == 0:
        return None
    dv = dv[np.argsort(np.hypot(*dv.T))]
    a = dv[0]
    b = next((v for v in dv if abs(a[0] * v[1] - a[1] * v[0])
              > 0.3 * np.hypot(*a) * np.hypot(*v)), None)
    if b is None:
        return None
    H, W = alpha.shape
    grow = np.ones((2 * RIM_REF[1] + 3,) * 2, np.uint8)
    real = cv2.dilate((alpha > 0).astype(np.uint8), grow) > 0
    best = None
    for t in (a / 2, b / 2, (a + b) / 2, (a - b) / 2):
        move = np.float32([[1, 0, t[0]], [0, 1, t[1]]])
        a2 = cv2.warpAffine(alpha, move, (W, H), flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        clash = np.count_nonzero((a2 > 0) & real) / max(np.count_nonzero(a2 > 0), 1)
        if best is None or clash < best[0]:
            best = (clash, a2, move)
    _, a2, move = best
    o2 = cv2.warpAffine((owner + 1).astype(np.float32), move, (W, H), flags=cv2.INTER_NEAREST,
                        borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(np.int32) - 1
    keep = ~(cv2.dilate(((a2 > 0) & real).astype(np.uint8), grow) > 0)
    # the moved reference must be the photo too: not within reach of the copies' own pixels
    a2 = np.where(keep & ~real, a2, 0).astype(np.float32)
    return a2, np.where(a2 > 0, o2, -1), ~real


def _inverted(S, a, q):
    """The copies ``S`` (:func:`sample_copies`) with the blend of opacity ``a`` (h, w) and
    ``a C`` = ``q`` (h, w, 3) taken off where ``a`` > 0: (N, h, w, 3) float32.

    Computed in one copy-sized buffer (the difference, divided and then given back the
    copies where ``a`` is 0, in place): a remove-text run inverts the copies up to ~20 times,
    beside them and the best inversion so far, and ``np.where(...).astype`` held two more
    (train, three 1280x960 lattices: copies of 20-33 MB). The same values: an in-place
    division computes in the operands' common type and rounds once to the buffer's, as the
    division and the cast did."""
    out = S - q[None]
    out /= 1 - a[None, ..., None]
    np.copyto(out, S, where=~(a > 0)[None, ..., None])
    return out.astype(np.float32, copy=False)


def _left(S2, whole, M, before):
    """Share of the repeated strokes' energy the inverted copies ``S2`` still hold: their
    median's band-passed energy on the support ``M`` over the input's, ``before``."""
    return float(np.mean(np.abs(copies_median(copies_bandpass(S2), S2, whole)[M]))) / max(
        before, 1e-9)


def _repeated_left(S, S2, whole, M):
    """Share (amplitude) of the repeated strokes the inverted copies ``S2`` still have in
    common on the support ``M``: the whole copies split in two (alternate ones), the two
    halves' band-passed medians' product over the input's, its square root (negative where
    the halves disagree; inf where the input's halves share nothing).

    The photo under the copies differs from copy to copy, so its texture in one half's
    median does not correlate with the other's; the word, or whatever of it an inversion
    leaves, and a photo's own repeat are in both (:data:`MAX_REPEATED`)."""
    use = np.nonzero(whole)[0]
    halves = [np.isin(np.arange(len(S)), use[i::2]) for i in (0, 1)]
    bp, bp2 = copies_bandpass(S), copies_bandpass(S2)
    TA, TB = (copies_median(bp, S, h)[M].astype(np.float64) for h in halves)
    RA, RB = (copies_median(bp2, S2, h)[M].astype(np.float64) for h in halves)
    den = float(np.dot(TA, TB))
    if den <= 0:
        return math.inf
    r = float(np.dot(RA, RB)) / den
    return math.copysign(math.sqrt(abs(r)), r)


def _floor(alpha: np.ndarray, reach: int) -> np.ndarray:
    """``alpha`` (h, w) with the fit's noise on the photo (under :data:`A_MIN`) set to 0,
    except within ``reach`` px of the strokes (:data:`A_CORE`), where the letters'
    anti-aliased rim keeps its small opacity down to :data:`A_RIM`."""
    near = cv2.dilate((alpha >= A_CORE).astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2)) > 0
    keep = (alpha >= A_MIN) | (near & (alpha >= A_RIM))
    return np.where(keep, alpha, 0).astype(np.float32)


def watermark_support(alpha: np.ndarray) -> np.ndarray:
    """The watermark's own pixels: opacity of at least :data:`A_CORE`, grown by
    :data:`EDGE_PX` (the strokes' antialiased edge and the resampling's reach), HxW bool.

    Lower estimates farther out are the fit's noise on the photo (a brick wall's mortar
    inside the frame), not paint: they are left as they are."""
    core = (alpha >= A_CORE).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * EDGE_PX + 1,) * 2)
    return (cv2.dilate(core, k) > 0) & (alpha > 0)


def edge_band(alpha: np.ndarray, support: np.ndarray) -> np.ndarray:
    """The strokes' edges (HxW bool): where the opacity changes by at least
    :data:`EDGE_STEP` x the watermark's own opacity per pixel, grown by one pixel, within
    ``support``. The blend estimated in a common frame is a little softer than each copy's
    (the copies sit at different sub-pixel phases), so the inversion leaves a faint outline
    of the word there."""
    on = alpha[support & (alpha >= A_MIN)]  # the strokes, not their faint rim (:func:`_floor`)
    if on.size == 0:
        return np.zeros(alpha.shape, bool)
    opacity = float(np.percentile(on, 90))
    gx = cv2.Sobel(alpha, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(alpha, cv2.CV_32F, 0, 1, ksize=3) / 8
    edge = (np.hypot(gx, gy) >= EDGE_STEP * opacity).astype(np.uint8)
    return (cv2.dilate(edge, np.ones((3, 3), np.uint8)) > 0) & support


def choose(ub: Unblended) -> np.ndarray:
    """Per copy (M,) bool: take it off by inverting the blend (True) or by a fill (False).

    A copy over a smooth photo (its :attr:`Unblended.texture` below :data:`TEXTURE_MIN`) is
    filled: the fill is nearly exact there, while the inversion depends on telling opacity
    from colour, which a flat photo does not allow. A copy with too few pixels in the frame
    to measure follows the median of the others."""
    t = np.asarray(ub.texture, np.float64)
    if not np.isfinite(t).any():
        return np.zeros(len(t), bool)
    return np.where(np.isfinite(t), t, np.nanmedian(t)) >= TEXTURE_MIN


def ghosted(image: np.ndarray, out: np.ndarray, ub: Unblended, changed: np.ndarray,
            box) -> np.ndarray:
    """Per copy (M,) float: the ghost judge's glyph-shaped residue score
    (:func:`seamline.ops.text.ghost.judge_regions`, no reads) of the copy's box in ``out``
    against ``image``, over its ``changed`` pixels; NaN where a copy changed nothing.

    ``box`` is one tile's polygon (4, 2), moved onto each copy's centre. An inversion whose
    colour or opacity is off leaves the word a darker or paler copy of itself, and one a
    little off a copy's position (or over a photo clipped at black) its outline: edges that
    line up with the removed strokes', which is what the judge scores."""
    from seamline.ops.text.ghost import judge_regions
    from seamline.ops.text.detect import TextRegion

    res = np.full(len(ub.centres), np.nan)
    if ub.owner is None or not changed.any():
        return res
    P = np.asarray(box, np.float64).reshape(-1, 2)
    P = P - P.mean(0)
    ks = [int(k) for k in np.unique(ub.owner[changed]) if k >= 0]
    vs = judge_regions(image, out, [TextRegion(np.float32(P + ub.centres[k]), "", 1.0)
                                    for k in ks],
                       mask=changed.astype(np.float32), ocr=lambda strip: ("", 0.0),
                       high_pass=False, leftover=False, tint=False, shape=False)
    for k, v in zip(ks, vs):
        res[k] = float(v.residue_score)
    return res


def take_off(image: np.ndarray, ub: Unblended, use: np.ndarray):
    """The photo with the watermark's copies ``use`` taken off by their inverted blend within
    :func:`watermark_support`, the strokes' :func:`edge_band` filled again (Telea, 2 px)
    from the inverted pixels round it; the other copies are left as they are (for a fill).

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        The watermarked photo :func:`unblend_tiles` read (not modified).
    ub : Unblended
        Its result (``done``).
    use : ndarray, (M,) bool
        Per copy (``ub.centres``): invert its blend, e.g. :func:`choose`.

    Returns
    -------
    out : ndarray, HxWx3 float32 in [0, 1]
        Equal to ``image`` wherever ``changed`` is False.
    changed : ndarray, HxW bool
        The pixels changed: the chosen copies' part of the watermark's support.
    """
    from seamline.ops.inpaint import inpaint

    support = watermark_support(ub.alpha)
    if ub.owner is None or not support.any():
        return image, np.zeros(support.shape, bool)
    support &= ub.owner >= 0
    chosen = support & np.append(np.asarray(use, bool), False)[ub.owner]
    if not chosen.any():
        return image, chosen
    out = image.copy()
    out[chosen] = ub.image[chosen]
    band = edge_band(ub.alpha, support) & chosen
    if band.any():
        out = inpaint(out, band.astype(np.float32), backend="telea", radius=2)
    return out, chosen
