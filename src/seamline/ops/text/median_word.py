"""The word's strokes in a tiled watermark's median copy (band-passed lightness).

Shared by :mod:`seamline.ops.text.tile_support` (the strokes put back at every copy) and
:mod:`seamline.ops.text.unblend` (the support the blend is fitted on where the median's
energy alone takes the photo's texture), with :func:`shows_word` (whether a lattice copy's
own pixels show that word: both change a copy's pixels only where they do); a module of its
own so that neither imports the other.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from seamline.ops.masks import blur_over

__all__ = ["word_shape", "shows_word", "LEVEL", "LETTER", "NEAR", "SPECK", "SHOWN",
           "SHOWN_SHARE", "RING_PX"]

#: Band-passed lightness of the median copy on the strokes' side (blurred 0.7 px) from
#: which a frame pixel is the word's, x its 99th percentile. Train tiled4 (white
#: "COPYRIGHT" over immunohistochemistry, 15 whole copies): 0.4 put back 0.69 of the visible
#: drawn pixels at 0.92 precision, none farther than 3 px from the word; 0.25: 0.73, but
#: 2651 px farther than 8 px. (Its magnitude, as unblend's support reads it, takes the
#: band-pass's ringing round every stroke too: 0.78 precision, and the photo beside a copy.)
LEVEL = 0.4
#: A piece of the shape is the word's when it is a letter (at least this share of the
#: largest piece's pixels) or lies within :data:`NEAR` x the box's height of one (an i's
#: dot, a comma); the median's noise specks between the copies are neither (train tiled4:
#: 881 px of them farther than 8 px from the drawn word, put back on every copy).
LETTER = 0.25
NEAR = 0.15
#: ... and no piece smaller than this share of the largest is (a median over few copies
#: keeps specks of the photo's texture round the letters; an i's dot is ~0.1 of an O).
SPECK = 0.05
#: Without the blend's inversion to test, a lattice copy shows the word (:func:`shows_word`)
#: when its strokes stand out from the ring round them by at least this share of the median
#: copy's contrast there. Train tiledge (a 200-220 grey DejaVu Sans Bold "PROOF" at
#: 0.3-0.35, rotated 24 degrees, tiled over dark foliage with bokeh, 1280x960; the copies
#: whose centre lies outside the frame not drawn), h1 and its every-copy-drawn twin a1:
#: drawn copies 0.55-1.21 (the low ones over bright sky, where the same paint lifts the
#: photo less), lattice points with nothing drawn -0.13-0.01 (0.27 where 3 % of the word
#: reaches into the frame: see :data:`SHOWN_SHARE`).
SHOWN = 0.3
#: Share of the word's shape below which the bar rises as 1/sqrt(the visible pixels): the
#: mean over a sliver of the word at the frame's edge has the photo's texture's noise at
#: several times a whole copy's.
SHOWN_SHARE = 0.1
#: Width (frame px) of the ring round the strokes the contrast is read against.
RING_PX = 3


def _word_parts(shape: np.ndarray, box_h: float) -> np.ndarray:
    """``shape``'s pieces that are letters or lie near one (:data:`LETTER`, :data:`NEAR`)."""
    n, lab, st, _ = cv2.connectedComponentsWithStats(shape.astype(np.uint8), connectivity=8)
    if n <= 1:
        return shape
    area = st[1:, cv2.CC_STAT_AREA]
    big = np.isin(lab, 1 + np.nonzero(area >= LETTER * area.max())[0])
    r = max(2, int(round(NEAR * box_h)))
    near = cv2.dilate(big.astype(np.uint8),
                      cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0
    keep = np.unique(lab[near & shape])
    keep = keep[(keep > 0) & (st[np.maximum(keep, 0), cv2.CC_STAT_AREA] >= SPECK * area.max())]
    return np.isin(lab, keep)


def _sides(T: np.ndarray, inbox: np.ndarray, scale: float):
    """Both sides of the band-pass in the word's window: [(sign, T blurred x sign, its 99th
    percentile in the window, pixels at :data:`LEVEL` x that)] for +1 and -1."""
    out = []
    for sign in (1.0, -1.0):
        e = cv2.GaussianBlur(sign * T, (0, 0), 0.7 * scale)
        hi = float(np.percentile(e[inbox], 99))
        out.append((sign, e, hi, (e >= LEVEL * hi) & inbox if hi > 0 else np.zeros(T.shape, bool)))
    return out


def _strokes_side(sides, inbox: np.ndarray, lightness: np.ndarray) -> int:
    """Index in ``sides`` of the strokes' side: the one whose pixels differ more from the
    window's other pixels in the copies' median lightness ``lightness`` (the word's pixels
    are the paint's blend at every copy; the ringing just outside them is the photo's)."""
    rest = inbox & ~sides[0][3] & ~sides[1][3]
    if not rest.any():
        return 0
    ground = float(np.median(lightness[rest]))
    lift = [s * (float(np.median(lightness[m])) - ground) if m.any() else -np.inf
            for s, _, _, m in sides]
    return 0 if lift[0] >= lift[1] else 1


def word_shape(T: np.ndarray, inbox: np.ndarray, box_h: float, *,
               scale: float = 1.0, lightness: np.ndarray | None = None) -> np.ndarray:
    """The word's strokes in the median copy: (h, w) bool, empty when it shows none.

    ``T`` (h, w) float32 is the copies' median band-passed lightness in the common frame,
    ``inbox`` (h, w) bool the word's window in it, ``box_h`` the word box's height (frame px),
    ``scale`` the frame's px per image px, ``lightness`` (h, w) float32 (optional) the
    copies' median lightness itself (not band-passed) in the same frame.
    The strokes' own side of the band-pass (a light word's is positive), not its ringing just
    outside them (|T| would take a band round every stroke), from :data:`LEVEL` x its 99th
    percentile, in the pieces that are letters or near one (:func:`_word_parts`): over busy
    foliage the median keeps the leaves' texture between the letters at a fifth of the
    strokes' energy, which the pieces test leaves out.
    Which side is the strokes' is read from ``lightness`` where given
    (:func:`_strokes_side`), else from the band-pass's larger extreme. A bold letter's
    band-pass rings about as strongly outside its edge as inside it, and the extremes alone
    took a light word's dark ring for its strokes (train: a 200-grey DejaVu Sans Bold
    "PROOF" at 0.35 over dark foliage, max 0.105 vs min -0.120; the strokes put back at every
    copy were the dark photo round the letters, the letters themselves left).
    """
    if not inbox.any():
        return np.zeros(T.shape, bool)
    sides = _sides(T, inbox, scale)
    if lightness is not None:
        _, _, hi, shape = sides[_strokes_side(sides, inbox, lightness)]
    else:
        _, _, hi, shape = sides[0 if float(T[inbox].max()) >= -float(T[inbox].min()) else 1]
    if hi <= 0:
        return np.zeros(T.shape, bool)
    return _word_parts(shape, box_h)


def shows_word(lightness: np.ndarray, T: np.ndarray, shape: np.ndarray, *,
               scale: float = 1.0, taken_off: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Whether each lattice copy's own pixels show the median word where they are in the frame.

    Parameters
    ----------
    lightness : ndarray, (N, h, w) float32
        Each copy's lightness in the common frame, NaN where it leaves the image.
    T : ndarray, (h, w) float32
        The copies' median band-passed lightness (the band-pass of
        :func:`seamline.ops.text.tile_copies.copies_bandpass`, Gaussians 0.8 and 3.0 x ``scale``).
    shape : ndarray, (h, w) bool
        The word's strokes in ``T`` (:func:`word_shape`).
    scale : float
        The frame's px per image px.
    taken_off : ndarray, (N, h, w) float32, optional
        The same copies with the watermark's blend inverted (NaN alike).

    Returns
    -------
    contrast : ndarray, (N,) float64
        Per copy: its band-passed lightness on the strokes minus on a :data:`RING_PX` ring
        round them (both where the copy is in the frame), over the same in ``T``; NaN where
        fewer than 8 px of either are in the frame. ~1 for a drawn copy, ~0 where nothing
        is drawn.
    shown : ndarray, (N,) bool
        With ``taken_off``: the inverted copy's contrast is smaller in size than the
        copy's own (taking the blend off takes the word away, rather than putting its
        negative there). Without: ``contrast`` >= :data:`SHOWN`, the bar raised as
        1/sqrt(the visible strokes) below :data:`SHOWN_SHARE` of the shape. True where
        ``contrast`` is NaN (too little of the copy in the frame to judge: a drawn copy's
        few pixels there are the word's as often) and for every copy, ``contrast`` all NaN,
        when ``shape`` is empty, has no ring round it in the frame or ``T`` is not higher on
        it than on its ring (no word to judge by).

    The lattice puts a copy wherever its box reaches into the frame, also where the word
    was not drawn (a tiled watermark's copies whose centre lies past the frame's edge):
    inverted or stamped there, a copy that is not there darkens the photo or puts a fill
    over it in the word's shape (train tiledge: ~1000 px at each such point, all farther
    than 8 px from the text). A mid-grey word darkens a bright photo and lightens a dark
    one, so a copy's contrast alone can have either sign (train: a 0.52-grey "PROOF" over
    the rocket's sunlit wall, 0.24); the inversion's test holds for both. Each copy's
    band-pass is normalised by its pixels in the frame (the image's edge is not a step to
    black).
    """
    N = len(lightness)
    if not shape.any():
        return np.full(N, np.nan), np.ones(N, bool)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING_PX * int(round(scale)) + 1,) * 2)
    ring = (cv2.dilate(shape.astype(np.uint8), k) > 0) & ~shape
    contrast = np.full(N, np.nan)
    shown = np.ones(N, bool)
    if not ring.any():
        return contrast, shown
    ref = float(T[shape].mean() - T[ring].mean())
    if ref <= 0:
        return contrast, shown
    n_shape = int(shape.sum())
    for i in range(N):
        ok = np.isfinite(lightness[i])
        s, r = shape & ok, ring & ok
        if s.sum() < 8 or r.sum() < 8:
            continue
        contrast[i] = _contrast(lightness[i], ok, s, r, scale) / ref
        if taken_off is not None:
            shown[i] = abs(_contrast(taken_off[i], ok, s, r, scale) / ref) < abs(contrast[i])
        else:
            bar = SHOWN * max(1.0, math.sqrt(SHOWN_SHARE * n_shape / float(s.sum())))
            shown[i] = contrast[i] >= bar
    return contrast, shown


def _contrast(g: np.ndarray, ok: np.ndarray, on: np.ndarray, ring: np.ndarray,
              scale: float) -> float:
    """Mean band-passed ``g`` (h, w) on ``on`` minus on ``ring``; the band-pass normalised by
    the pixels ``ok`` (the copy's in the frame: :func:`seamline.ops.masks.blur_over`)."""
    g = np.where(ok, g, 0).astype(np.float32)[..., None]  # NaN off the frame: weighted by 0
    b = [blur_over(g, ok, sd * scale)[0][..., 0] for sd in (0.8, 3.0)]
    d = b[0] - b[1]
    return float(d[on].mean() - d[ring].mean())
