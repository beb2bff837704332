"""Text lines whose glyph matte is photo, not letters: which ones, and how far to trust them.

Two signs that the colour matte (:mod:`seamline.ops.text.glyph`) of a detected line took the
photo rather than the text, each read from what the earlier steps already measured:

- *An unsure line* (:func:`unsure_lines`): the detector scored it under ``UNSURE_SCORE`` and
  its matte covers under ``UNSURE_COVER`` of its polygon. Over coins on a dark cloth the
  detector boxed rows of coins at 0.51-0.60 (train watermark15; a faint watermark it missed
  lay under one box); the matte found a few coin highlights, the segmenter then marked whole
  coins, which a glow fit and the segmenter's own mask, taken whole for a matte that found
  little, brought in (text-mask precision 0.020). Such a line fits no effect and never takes
  the segmenter's mask whole (``UNSURE_COMBINE``): its glyphs and the segmenter's pixels
  :func:`seamline.ops.text.effects.combine_masks` confirms as text (colour, change) stay,
  so a faint watermark one of those boxes held keeps what the segmenter saw of it (remove-text
  on watermark15: mask precision 0.037 -> 0.039, recall 0.207 -> 0.205, text-region PSNR
  16.35 -> 16.49 dB, filled px 106802 -> 101012. Its glyphs alone, as first proposed: 0.014,
  recall 0.045 (the watermark's letters the segmenter saw went too), 18.71 dB, one more
  region QA-failed.)
- *A stroke outlier* (:func:`stroke_outliers`): a line whose stroke width is over
  ``STROKE_OUTLIER_K`` times the median of the lines stacked with it (its block, one style).
  A bokeh disc under a line of a white multi-line block was taken as a text colour
  (train multiline2: 32.5 px against 3.8 px), its pixels round the letters left as a 1-3 px
  halo once the segmenter's support cut the disc. Such a line's glyph pixels are kept only
  where the segmenter marks text, and its stroke width is the block's (the normaliser's
  hole and speck sizes read it). remove-text on multiline2: precision 0.522 -> 0.614, PSNR
  22.88 -> 25.37 dB, px > 8 px from the text 26 -> 0, recall 0.984 -> 0.981 (faint
  anti-aliased px; with 1 px of slack round the segmenter's mask: 0.538, 23.07 dB, 0.983).
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.polygons import line_rect, polygon_mask, stacked
from seamline.ops.text.effects import combine_masks

__all__ = ["UNSURE_COMBINE", "clamp_stroke_outliers", "combine_by_trust", "own_area",
           "stroke_outliers", "unsure_lines"]

#: A line the detector scores under this ... (its scores on train: the 56 sized cases of
#: ``benchmarks/mask_precision_check.py`` 0.66-1.0 but for watermark15's coin rows at
#: 0.51-0.60; the 36-case mix of ``benchmarks/mask_train_eval.py`` 0.69-1.0)
UNSURE_SCORE = 0.65
#: ... whose glyph matte covers under this share of its polygon is unsure (the coin rows 0.0
#: and 0.09; lines of text 0.11-0.59, but a faint watermark scored 0.98 covers 0.013: the
#: score and the coverage together, neither alone)
UNSURE_COVER = 0.1
#: :func:`seamline.ops.text.effects.combine_masks`'s options for unsure lines: no effect
#: fitted (a coin's rim fits a glow or a shadow as well as a letter's) and no fallback to the
#: segmenter's mask as it is. (A halo or soft shadow round what it keeps is still judged as
#: on any line with no effect; none was found on the train coin rows.)
UNSURE_COMBINE = (("fallback", 0.0), ("max_effects", 0))
#: A line's stroke width over this many times its block's median is an outlier.
STROKE_OUTLIER_K = 3.0
#: Lines are one block when stacked (:func:`seamline.ops.polygons.stacked`) with their
#: centres at most this many line heights apart (the taller of the two) ...
BLOCK_REACH = 4.0
#: ... and their heights (the boxes' short sides) within this ratio: one style, not a huge
#: title over its caption, whose strokes may well be 3x the caption's (train multiline2's
#: block: 28-39 px)
BLOCK_HEIGHT_RATIO = 1.5
#: A median needs at least this many other lines in the block: one other line's stroke is no
#: block's (a two-line subtitle's lines, one found outlined, measured 2.1 and 7.6 px: its
#: fill + outline against the ring alone; tests/test_text_mask_subtitle.py)
BLOCK_MIN_OTHERS = 2


def unsure_lines(scores, regions) -> list[bool]:
    """Per line, whether it is unsure: detector score under ``UNSURE_SCORE`` and glyph matte
    coverage under ``UNSURE_COVER``.

    Parameters
    ----------
    scores : sequence of float
        The detector's scores in [0, 1], one per line.
    regions : sequence of dict or None
        The glyph mask's per-line reports (``GlyphMask.per_region``); their
        ``coverage_of_polygon`` (in [0, 1]) is read, 0 where absent (nothing found).

    Returns
    -------
    list of bool
    """
    return [float(s) < UNSURE_SCORE
            and float((r or {}).get("coverage_of_polygon", 0.0)) < UNSURE_COVER
            for s, r in zip(scores, regions)]


def stroke_outliers(strokes, polygons) -> list[float | None]:
    """Per line, its block's median stroke width where its own is over ``STROKE_OUTLIER_K``
    times that; None for every other line (and one with no finite stroke or no block). A
    line's block: the other lines stacked with it within ``BLOCK_REACH`` line heights whose
    height is within ``BLOCK_HEIGHT_RATIO`` of its own, at least ``BLOCK_MIN_OTHERS`` of
    them.

    Parameters
    ----------
    strokes : sequence of float
        Stroke width per line (px; NaN or <= 0: not measured).
    polygons : sequence of ndarray, each (N, 2) float (x, y) px
        The lines, same order.

    Returns
    -------
    list of float or None
        The block's median (of the other lines' finite, positive widths) or None.
    """
    rects = [line_rect(p) for p in polygons]
    out: list[float | None] = []
    for i, (p, s) in enumerate(zip(polygons, strokes)):
        (cx, cy), (_, h), _ = rects[i]
        block = [float(strokes[j]) for j, ((qx, qy), (_, hq), _) in enumerate(rects)
                 if j != i and np.isfinite(strokes[j]) and strokes[j] > 0
                 and np.hypot(qx - cx, qy - cy) <= BLOCK_REACH * max(h, hq)
                 and max(h, hq) <= BLOCK_HEIGHT_RATIO * min(h, hq)
                 and stacked(p, polygons[j])]
        med = float(np.median(block)) if len(block) >= BLOCK_MIN_OTHERS else None
        out.append(med if med and np.isfinite(s) and s > STROKE_OUTLIER_K * med else None)
    return out


def own_area(shape, polygons, i: int, margin: float) -> np.ndarray:
    """Line ``i``'s polygon grown by ``margin`` x its height (the glyph mask's reach round
    it), less the other lines' polygons: HxW bool for ``shape`` ``(H, W)``."""
    _, (_, h), _ = line_rect(polygons[i])
    area = polygon_mask(np.asarray(polygons[i], np.float32), shape) > 0
    r = int(round(margin * h))
    if r > 0:
        area = cv2.dilate(area.astype(np.uint8),
                          cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2)) > 0
    for j, q in enumerate(polygons):
        if j != i:
            area &= polygon_mask(np.asarray(q, np.float32), shape) == 0
    return area


def clamp_stroke_outliers(glyphs, segmented, polygons, strokes, margin: float):
    """The glyph mask less a stroke outlier's pixels the segmenter does not mark, and the
    stroke widths with each outlier's set to its block's median (:func:`stroke_outliers`).

    Parameters
    ----------
    glyphs : ndarray, shape (H, W), float32 in {0, 1}
        The glyph mask of every line.
    segmented : ndarray, shape (H, W), bool
        The segmenter's mask (its own cut).
    polygons : sequence of ndarray, each (N, 2) float (x, y) px
        The lines.
    strokes : sequence of float
        Stroke width per line (px).
    margin : float
        The glyph mask's reach round a line, x its height (:func:`own_area`).

    Returns
    -------
    glyphs : ndarray, shape (H, W), float32 in {0, 1}
    strokes : list of float
    outliers : list of int
        The lines clamped.
    """
    strokes, outliers = [float(s) for s in strokes], []
    for i, med in enumerate(stroke_outliers(strokes, polygons)):
        if med is not None:
            glyphs = np.where(own_area(glyphs.shape, polygons, i, margin) & ~segmented,
                              np.float32(0), glyphs)
            strokes[i] = med
            outliers.append(i)
    return glyphs, strokes, outliers


def combine_by_trust(segmented, glyphs, polygons, text_heights, unsure, **kwargs):
    """:func:`seamline.ops.text.effects.combine_masks` on the lines not ``unsure``, then on
    the unsure ones with ``UNSURE_COMBINE``; the same ``(mask, choices)`` (choices in the
    lines' order). ``kwargs``: combine_masks' keyword options (``outlined``: per line, as
    ``polygons``); with no unsure line, exactly its one call."""
    choices = [""] * len(polygons)
    mask = None
    for sure in (True, False):
        lines = [i for i, u in enumerate(unsure) if bool(u) != sure]
        if not sure and not lines:
            break
        opts = {k: v for k, v in kwargs.items() if k != "outlined"}
        if kwargs.get("outlined") is not None:
            opts["outlined"] = [kwargs["outlined"][i] for i in lines]
        if not sure:
            opts.update(UNSURE_COMBINE)
        part, chosen = combine_masks(segmented, glyphs, [polygons[i] for i in lines],
                                     [text_heights[i] for i in lines], **opts)
        mask = part if mask is None else mask | part
        for i, c in zip(lines, chosen):
            choices[i] = c
    return mask, choices
