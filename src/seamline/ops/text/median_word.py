"""The word's strokes in a tiled watermark's median copy (band-passed lightness).

Shared by :mod:`seamline.ops.text.tile_support` (the strokes put back at every copy) and
:mod:`seamline.ops.text.unblend` (the support the blend is fitted on where the median's
energy alone takes the photo's texture); a module of its own so that neither imports the
other.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["word_shape", "LEVEL", "LETTER", "NEAR", "SPECK"]

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
