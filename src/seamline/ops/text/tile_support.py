"""A tiled watermark's strokes at every copy, from the copies' own median: no glyph mask.

The glyph mask reads each tile and detected line on its own; a faint word over a textured
photo (white "COPYRIGHT" at 30-60 % over a stained tissue) gives it too little contrast, and
:func:`seamline.ops.text.tile_vote.shared_glyphs` then keeps only what the weak masks agree
on (train tiled4: 4806 px shared of a word drawn at 25 copies; 82 % of its visible pixels
left after the fill). The photo under the copies differs, the word does not: aligned on the
lattice (:mod:`seamline.ops.text.tile_copies`: the frame and refinement), the median of the
copies' band-passed lightness is the word alone, and where it is high on the strokes'
side (bright for a light word) is the word's shape. :func:`repeated_strokes` puts that
shape back at every lattice point whose copy correlates with the median (a copy the detector
did not box, one the frame's edge cuts, one whose matting failed) and whose strokes stand out
from the ring round them (:func:`~seamline.ops.text.median_word.shows_word`: a lattice point
past the frame's edge where nothing was drawn does not, though a few pixels of photo may
correlate), and nowhere else: a copy unblend-watermark already took off has no strokes left
to correlate. Where unblend-watermark found a blend, its copies are the ones read (its
``blend`` output's centres, not the tiles' lattice read and refined again over what it left),
and those it inverted are neither read nor given strokes: over a photo that repeats on the
lattice, the copies' median once the word is off is the photo's own pattern, which every copy
confirms.

Thresholds set on the train split only (``benchmarks/mask_train_eval.py --styles
tiled_watermark``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from seamline.core.arrays import LUMA
from seamline.ops.text.median_word import shows_word, word_shape

#: Fewest whole copies the median is taken over: over fewer it keeps specks of the photo's
#: texture round the letters (a DejaVu "COPYRIGHT" over immunohistochemistry, 7 copies:
#: 0.53 of the shape on the word).
MIN_WHOLE = 10
#: Growth (px) of that shape before it is put on a copy: the strokes' anti-aliased edge.
#: Train, remove-text (1 -> 2): tiled1 (rocket) 31.33 -> 31.52 dB, far 1691 -> 200; tiled4
#: 26.44 -> 26.06 dB, ghost words 3 -> 0; 36-case 023 33.14 -> 33.40 dB, ghost 2 -> 0 (at
#: 1 px the faint edge of the word was left round each filled copy).
GROW_PX = 2
#: Normalised correlation (band-passed lightness on the shape) from which a lattice point's
#: copy is the word: a copy taken off, or a lattice point off the word, reads ~0.
CONFIRM = 0.3
#: Share of the shape a copy cut by the frame's edge must show to be judged.
MIN_VISIBLE = 0.1
#: Share of a copy's strokes (as put, grown :data:`GROW_PX`) that a detected line's mask
#: (a region with text, not a tile) may already hold for the strokes to be put there: a
#: copy the detector read as a line is that line's to mask, and its glyph mask's wide blob
#: joined to the strokes round it gave the fill one smear over a whole cell (train tiled4).
#: Shares on train (confirmed copies): tiled4 0-0.45, tiled7 0-0.73 (17 of 19 > 0.2), tiled11
#: 0.27-0.73. Train tiled --per-style 16 --pipeline against main 9633e7b (no strokes):
#: psnr_pipe 27.24 -> 27.43, far 1310 -> 1299, ghost words 46 -> 43 / 496 (without this gate:
#: far up, tiled4 379 -> 1573, tiled7 and tiled11 lost 0.6-1.1 dB).
COVERED = 0.2
#: Share of the whole copies that must confirm for the median to be the word. A median over
#: n copies of texture alone (a word unblend-watermark already took off, leaving only the
#: photo's foliage) still correlates with each copy it was taken over, at about
#: sqrt(2 / (pi n)) (0.21 at 14): a few pass :data:`CONFIRM` by chance and the median's
#: speckle shape was stamped over them (train: PROOF over dark foliage, 14 whole copies
#: inverted, correlations 0.16-0.38, 2 confirmed, 33041 px of foliage). Where the copies
#: hold the word most whole copies confirm.
WHOLE_CONFIRM = 0.5


def repeated_strokes(image: np.ndarray, polygons, *, line_mask: np.ndarray | None = None,
                     blend: dict | None = None) -> tuple[np.ndarray, dict]:
    """The watermark's strokes (HxW bool) at every lattice copy that shows them.

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        sRGB photo with the tiled watermark (what the mask is built on).
    polygons : sequence of ndarray, each (4, 2)
        The watermark's tiles (x, y image px; translated copies of one box, as detect-text
        adds them). Their lattice (refined, or the autocorrelation's, where theirs is
        coarser, as :func:`~seamline.ops.text.unblend.unblend_tiles` reads it) gives every
        copy, unless ``blend`` gives the copies.
    line_mask : ndarray, HxW bool, optional
        What detected lines (regions with text) already mask: a copy it holds more than
        :data:`COVERED` of is left to it.
    blend : dict, optional
        unblend-watermark's ``blend`` output (text-mask's ``watermark`` input; empty where
        it inverted nothing). Where it holds the copies' ``centres`` (x, y image px) and
        which it ``inverted`` (one flag a copy) the copies are taken there, not from the
        tiles' lattice read and refined again: that refinement onto a photo's own repeat (a
        photo periodic at half the watermark's step) put the photo's pattern at the points
        it added, where unblend, its refined fit failing, kept the tiles' own. The copies it
        ``inverted`` hold no word: they are neither in the median nor given strokes. Over a
        photo that repeats on the lattice the median over copies taken off is the photo's
        own pattern, which every copy confirms (train: 24423 px of it > 8 px from the word).
        Centres without ``inverted`` (an older blend) are not used: the tiles' lattice is.

    Returns
    -------
    strokes : ndarray, HxW bool
        The median copy's stroke shape at every confirmed copy (empty when fewer than
        :data:`MIN_WHOLE` whole copies are in the frame, or fewer than
        :data:`WHOLE_CONFIRM` of them confirm the median).
    report : dict
        ``copies`` (lattice points near the frame), ``confirmed``, ``px``, ``covered``
        (confirmed copies left to a detected line's mask).
    """
    from seamline.ops.text import tile_copies as tc

    img = np.asarray(image)
    H, W = img.shape[:2]
    none = np.zeros((H, W), bool)
    if len(polygons) < tc.MIN_TILES:
        return none, {"copies": 0, "confirmed": 0, "covered": 0, "px": 0}
    # unblend's copies only with the flags of those it inverted: an older blend without them
    # (unblend-watermark before v16) read its inverted copies, whose median is the photo's
    # own repeat where the photo repeats on the lattice (train: 24423 px stamped > 8 px from
    # the word, none on the tiles' own lattice): it takes the tiles' lattice, as before
    given = blend.get("centres") if blend and "inverted" in blend else None
    cp = tc.lattice_copies(img, polygons, centres=given)
    if cp is None:
        return none, {"copies": 0, "confirmed": 0, "covered": 0, "px": 0}
    centres, whole, _, u, n, size_wh, box = cp
    taken_off = np.zeros(len(centres), bool)
    if given is not None:
        taken_off = np.asarray(blend["inverted"], bool).reshape(len(centres))
    whole = whole & ~taken_off
    if whole.sum() < MIN_WHOLE:
        return none, {"copies": int(len(centres)), "confirmed": 0, "covered": 0, "px": 0}
    S = tc.sample_copies(img, centres, u, n, size_wh)
    bp = tc.copies_bandpass(S)
    T = tc.copies_median(bp, S, whole)
    inbox = tc.word_window(size_wh, box)
    shape = word_shape(T, inbox, 2 * box[1] * tc.SCALE, scale=tc.SCALE,
                       lightness=tc.copies_lightness(S, whole))
    if not shape.any():
        return none, {"copies": int(len(centres)), "confirmed": 0, "covered": 0, "px": 0}
    ok = np.isfinite(S[..., 0])
    conf = np.zeros(len(centres), bool)
    # ... and whose strokes stand out from the ring round them as the median's do: over a
    # few pixels at the frame's edge the correlation alone is the photo's texture's
    _, shown = shows_word(S @ LUMA, T, shape, scale=tc.SCALE)
    for k in range(len(centres)):
        m = shape & ok[k]
        if m.sum() < MIN_VISIBLE * shape.sum() or m.sum() < 8 or not shown[k] or taken_off[k]:
            continue
        a, t = bp[k][m].astype(np.float64), T[m].astype(np.float64)
        a, t = a - a.mean(), t - t.mean()
        den = math.sqrt(float(a @ a) * float(t @ t))
        conf[k] = den > 0 and float(a @ t) / den >= CONFIRM
    # ... and only where the median is the word: most whole copies confirm it
    if conf[whole].sum() < WHOLE_CONFIRM * whole.sum():
        return none, {"copies": int(len(centres)), "confirmed": 0, "covered": 0, "px": 0}
    k_el = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * GROW_PX + 1,) * 2)
    put = cv2.dilate(shape.astype(np.uint8), k_el).astype(np.float32)
    out = np.zeros((H, W), bool)
    covered = 0
    for k in np.nonzero(conf)[0]:
        at = tc.copy_box(centres[k], u, n, size_wh, (H, W))
        if at is None:
            continue
        (x0, y0, x1, y1), Mk = at
        mk = cv2.warpAffine(put, Mk, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0) >= 0.5
        if line_mask is not None and mk.any():
            if (line_mask[y0:y1, x0:x1] & mk).sum() > COVERED * mk.sum():
                covered += 1
                continue
        out[y0:y1, x0:x1] |= mk
    return out, {"copies": int(len(centres)), "confirmed": int(conf.sum()),
                 "px": int(out.sum()), "covered": covered}
