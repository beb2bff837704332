"""The lines of one block share their style: an outline found on one line is looked for round
the lines stacked with it.

A two-line subtitle is drawn in one style, but the glyph mask (``ops.text.glyph``) decides
each line on its own. Where the first line starts over a near-black ground its outline has no
contrast there, too few letters show it ringed, and the line is not found outlined: its
outline's corners over the bright part are left 1-2 px past its mask. And where the two
lines' boxes overlap (set close, the upper line's descenders reaching into the lower line's
box), the glyph mask reads the overlap as background (``glyph._union``): the lower line's
top outline rows and the upper line's descenders are cut flat there. Every fill drags those
dark pixels into the hole as streaks (train analogues of the held-out subtitle: white DejaVu
Sans Mono Bold / Sans Bold / FreeMono Bold / Liberation Mono Bold 27-30 px, 2 px black
outline, line 1 over near-black then a defocused petal, grain + JPEG).

:func:`block_outlines` takes, round such lines, the pixels that moved from the photo toward
the outline colour the outlined line was found with (:func:`toward_colour`).

The copies of a tiled watermark are one word in one blend: :func:`slivers_off_word` drops the
pieces of a sliver tile's mask (a lattice copy past the frame's edge) that did not move toward
the blend unblend-watermark fitted over the whole copies (:func:`toward_word`).
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.polygons import line_crop, nearest_centre, polygon_box_mask, stacked
from seamline.ops.text.effects import change_over_texture

__all__ = ["FILL_SHARE", "SIBLING_FILL_DELTA_E", "SIBLING_GAP", "SIBLING_HEIGHT_RATIO",
           "SIBLING_OVERLAP_PAD", "SIBLING_OVERLAP_REACH", "TOWARD_ACROSS", "TOWARD_SHARE",
           "WORD_MAX_OPACITY_X", "WORD_PIECE_SHARE", "block_outlines", "check_blend",
           "slivers_off_word", "toward_colour", "toward_word"]

_DISK4 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))


def block_outlines(mask: np.ndarray, image: np.ndarray, polygons, regions, by_effect
                   ) -> np.ndarray:
    """Pixels past the lines' masks that moved toward the outline colour a line of their
    block was found with: bool, shape (H, W).

    2 px round a line not found outlined (whole box), up to ``SIBLING_OVERLAP_REACH`` px where
    two stacked lines' boxes overlap (both lines); see :func:`_block_lines`.

    Parameters
    ----------
    mask : ndarray, (H, W) bool
        Every line's text pixels so far.
    image : ndarray, (H, W, 3) float32 in [0, 1]
    polygons : list of ndarray, (N, 2) float
        The lines' detector boxes.
    regions : list of dict
        Per line, the glyph mask's report (``colors``, ``outlined``).
    by_effect : list of bool
        Per line, whether ``combine_masks`` grew an outline round it already.
    """
    if not (len(polygons) == len(regions) == len(by_effect)):
        raise ValueError(f"polygons, regions and by_effect must be as long, got "
                         f"{len(polygons)}, {len(regions)}, {len(by_effect)}")
    out = np.zeros(mask.shape, bool)
    for reach, (polys, cols, within) in zip(
            (2, SIBLING_OVERLAP_REACH), _block_lines(polygons, regions, by_effect, mask.shape)):
        if polys:
            out |= toward_colour(mask, image, polys, cols, reach=reach, within=within)
    return out


#: Two lines are of one block when stacked (``ops.polygons.stacked``), their boxes overlapping
#: along the line, the gap between the boxes under ``SIBLING_GAP`` x the smaller box height,
#: their box heights within ``SIBLING_HEIGHT_RATIO`` (not the glyph mask's text heights: a
#: line's descenders and the overlap's cut made them 38.5 and 18.7 px for one font size on
#: train) and the line not found outlined holding a colour within ``SIBLING_FILL_DELTA_E``
#: (Lab) of the outlined line's fill.
SIBLING_GAP = 1.0
SIBLING_HEIGHT_RATIO = 1.5
SIBLING_FILL_DELTA_E = 20.0
#: The overlap of two stacked boxes, grown by this (px), is where every line of an outlined
#: block is looked round for its outline's and its fill's colour (the glyph mask read it as
#: background; the fill only nearly itself, ``FILL_SHARE``).
SIBLING_OVERLAP_PAD = 2
#: ... and grown over, ring by ring, up to this far past the mask (px): the glyph mask cut
#: both lines' letters flat there, the lower line's tops by up to ~6 px (train: 2 px black
#: outline, 30 px DejaVu Sans Mono Bold, boxes overlapping 14 px)
SIBLING_OVERLAP_REACH = 6


def _lab(rgb):
    return cv2.cvtColor(np.float32(rgb).reshape(-1, 1, 3), cv2.COLOR_RGB2Lab).reshape(-1, 3)


def _block_lines(polys, regions, by_effect, shape):
    """The lines looked round for the outline a line stacked with them was found
    with: two triples (polygons, per polygon its (RGB colour, share) pairs, per polygon a list
    of boxes ``(y0, y1, x0, x1)`` frame px where to look), the first for 2 px round whole
    boxes, the second for the boxes' overlaps. Boxes, not (H, W) masks: memory follows the
    lines, not the frame (a mask per line of a block was 12 x 12 MB for twelve stacked lines
    in a 4000x3000 photo).

    A line the glyph mask found outlined (``regions[j]["outlined"]``: indices of its fill and
    outline in ``regions[j]["colors"]``) lends its outline colour to each line of its block
    (``SIBLING_*``) not found outlined by the glyph mask nor by ``combine_masks`` (``by_effect``:
    per line, whether its choice holds a centred effect, an outline grown already), looked
    round over its whole box; and to both lines where their boxes overlap. Boxes grown by
    ``SIBLING_OVERLAP_PAD``. A line stacked with two outlined lines is listed once per lender,
    each with its colours and boxes (a middle line under black and over blue outlines)."""
    n = len(polys)
    pairs = {}
    for j, r in enumerate(regions):
        o = (r or {}).get("outlined")
        cols = (r or {}).get("colors") or []
        if o and max(o["fill"], o["outline"]) < len(cols):
            pairs[j] = (np.float32(cols[o["fill"]]), np.float32(cols[o["outline"]]))
    if not pairs:
        return ([], [], []), ([], [], [])
    box = [np.concatenate([np.asarray(q, np.float32).min(0), np.asarray(q, np.float32).max(0)])
           for q in polys]
    # (line, the outlined line lending its colours) -> [colours, boxes (y0, y1, x0, x1): where
    # to look]: a line between two outlined lines looks for each one's colours in its own
    # boxes (keyed by line alone, the first pair's colours were looked for in every box)
    whole, lap = {}, {}
    pad = SIBLING_OVERLAP_PAD

    def look(to, k, colours, y0, y1, x0, x1):
        if k not in to:
            to[k] = [colours, []]
        y0, x0 = max(int(np.floor(y0)) - pad, 0), max(int(np.floor(x0)) - pad, 0)
        y1 = min(max(int(np.ceil(y1)) + pad + 1, 0), shape[0])
        x1 = min(max(int(np.ceil(x1)) + pad + 1, 0), shape[1])
        to[k][1].append((y0, y1, x0, x1))

    for j, (fill, outline) in pairs.items():
        for i in range(n):
            if i == j:
                continue
            bi, bj = box[i], box[j]
            if min(bi[2], bj[2]) <= max(bi[0], bj[0]) or not stacked(polys[j], polys[i]):
                continue  # not overlapping along the line, or not one above the other
            gap = max(bi[1], bj[1]) - min(bi[3], bj[3])
            if gap > SIBLING_GAP * min(bi[3] - bi[1], bj[3] - bj[1]):
                continue
            hi, hj = bi[3] - bi[1], bj[3] - bj[1]
            if min(hi, hj) <= 0 or max(hi, hj) > SIBLING_HEIGHT_RATIO * min(hi, hj):
                continue
            if i not in pairs and not by_effect[i]:
                mine = (regions[i] or {}).get("colors") or []
                if not mine or float(np.min(np.linalg.norm(
                        _lab(mine) - _lab(fill), axis=1))) > SIBLING_FILL_DELTA_E:
                    continue
                look(whole, (i, j), [(outline, TOWARD_SHARE)], bi[1], bi[3], bi[0], bi[2])
            if gap < 0:  # the boxes' overlap, on both lines
                for k in (i, j):
                    look(lap, (k, j), [(outline, TOWARD_SHARE), (fill, FILL_SHARE)],
                         max(bi[1], bj[1]), min(bi[3], bj[3]), max(bi[0], bj[0]),
                         min(bi[2], bj[2]))
    return tuple(([polys[k[0]] for k in sorted(to)], [to[k][0] for k in sorted(to)],
                  [to[k][1] for k in sorted(to)]) for to in (whole, lap))


#: toward_colour: a pixel holds an outline's ink when its change from the photo estimate,
#: along the line from the estimate to the ink colour (Lab), is at least this share of the way
#: there (an outline's anti-aliased outer pixel over a bright photo is about half the way) ...
TOWARD_SHARE = 0.35
#: ... and the fill's (looked for in the boxes' overlap only) at least this share: nearly the
#: fill itself, not a light photo rim beside the letters (train subtitle3, a saucer's light rim
#: over coffee: at 0.35 it was taken, pipeline 26.58 -> 22.66 dB; at 0.8 not, 26.50, while the
#: close-set analogues' cut letter tops are, hx_p0_f0_30 28.04 -> 31.13 dB)
FILL_SHARE = 0.8
#: ... and its change across that line at most this share of its change along it (plus the
#: photo's texture floor): a photo colour of another hue is no blend of the ink
TOWARD_ACROSS = 0.6


def _along_across(diff, est, ink_lab):
    """A change ``diff`` from the photo estimate ``est`` (Lab, (h, w, 3)) against the line from
    ``est`` to ``ink_lab`` (Lab (3,)): its share of that line ``a``, its length along it and
    its length across it (Delta E), each (h, w)."""
    v = ink_lab - est  # estimate -> ink colour, per pixel
    vv = np.maximum(np.einsum("...k,...k->...", v, v), 1e-6)
    a = np.einsum("...k,...k->...", diff, v) / vv
    along = a * np.sqrt(vv)
    across = np.linalg.norm(diff - a[..., None] * v, axis=-1)
    return a, along, across


#: A tiled watermark's sliver tile keeps a piece of its own mask (:func:`toward_word`) where at
#: least this share of its pixels moved from the photo toward the word's colour by no more
#: than the word's opacity allows
WORD_PIECE_SHARE = 0.5
#: ... a pixel moving more than this many times the fitted opacity of the way to the word's
#: colour is the photo's own (a sky speck among leaves moves all the way to its own blue)
WORD_MAX_OPACITY_X = 2.0


def toward_word(mask: np.ndarray, image: np.ndarray, polygons, colour, opacity: float, *,
                margin: float = 0.3) -> np.ndarray:
    """Pieces of ``mask`` in a tiled watermark's tiles that are the word's alpha blend over
    the photo: bool, shape (H, W), within ``mask``.

    A lattice tile past the frame's edge with nothing drawn in its sliver is matted as if it
    held unknown text, and its matte can take a bright speck of the photo (sky among dark
    leaves) for glyphs; a copy of the word cut by the edge is a blend of the photo and the
    word, ``I = P + a (C - P)``. The blend (``colour`` C, ``opacity`` a) is unblend-watermark's,
    fitted over the whole copies: the slivers alone cannot give it (their specks fit a > 1).
    Each pixel of ``mask`` is compared with the photo estimated under the mask in its tile's
    crop (``line_crop``, ``margin`` x its height; ``change_over_texture``, Lab). A pixel moved
    toward the word when it went along ``P -> C`` by more than the texture floor and at most
    :data:`WORD_MAX_OPACITY_X` x ``a`` of the way, and across it by at most ``TOWARD_ACROSS``
    of that plus the floor; a connected piece is kept where :data:`WORD_PIECE_SHARE` of its
    pixels did. A blue speck among leaves moves all the way toward blue; a cut copy over a
    patch of sky moves ``a`` of the way toward the word's grey.

    Parameters
    ----------
    mask : ndarray, (H, W) bool
        The tiles' own mask pixels to judge.
    image : ndarray, (H, W, 3) float32 in [0, 1]
    polygons : list of ndarray, (N, 2) float
        The tiles.
    colour : sequence of 3 float
        The word's colour, sRGB in [0, 1].
    opacity : float
        The word's opacity, in (0, 1).
    margin : float
        Crop margin (keyword-only).
    """
    ink = _lab(colour)[0]
    done = np.zeros_like(mask, dtype=bool)
    out = mask.copy()  # pixels no crop judged: kept
    for poly in polygons:
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1] & ~done[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            continue
        done[y0:y1, x0:x1] |= m
        inner = cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        band = (cv2.dilate(inner.astype(np.uint8), _DISK4) > 0) & ~inner
        if band.sum() < 10 or inner.all():
            continue  # nothing to estimate the photo from: kept
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        diff, de, floor = change_over_texture(lab, rgb, inner, band)
        a, along, across = _along_across(diff, lab - diff, ink)
        moved = ((a > 0) & (a <= WORD_MAX_OPACITY_X * opacity) & (along > floor)
                 & (across <= TOWARD_ACROSS * along + floor))
        n, lab_ = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        total = np.bincount(lab_.ravel(), minlength=n)
        hits = np.bincount(lab_.ravel(), weights=moved.ravel(), minlength=n)
        good = hits >= WORD_PIECE_SHARE * np.maximum(total, 1)
        good[0] = False
        out[y0:y1, x0:x1] &= ~m | good[lab_]
    return out


def slivers_off_word(mask: np.ndarray, image: np.ndarray, polygons, blend, *,
                     within=None) -> np.ndarray:
    """The pixels of ``mask`` in a tiled watermark's sliver tiles that moved from the photo
    toward no blend of the word (:func:`toward_word`): bool, shape (H, W), to drop.

    A sliver tile: its centre past the frame's edge, or the copy of ``blend`` nearest its
    centre (within half a box length) not shown. A copy past the edge can pass
    ``shown`` (a bright speck in its sliver has the contrast of a light word's strokes), so
    the centre decides first.

    Parameters
    ----------
    mask : ndarray, (H, W) bool
        The text mask so far.
    image : ndarray, (H, W, 3) float32 in [0, 1]
    polygons : list of ndarray, (N, 2) float
        The tiles (x, y image px).
    blend : dict
        unblend-watermark's fitted blend: ``color`` (sRGB in [0, 1]), ``opacity``, and
        optionally the copies' ``centres`` ((M, 2) x, y px), ``shown`` ((M,) bool) and
        ``box_hw`` (height, length px).
    within : ndarray, (H, W) bool, optional
        Only pixels here are judged (keyword-only; text-mask: off the detected lines).
    """
    shape = mask.shape
    polys = [p for p in polygons if _sliver(p, shape, blend)]
    own = np.zeros(shape, bool)
    for poly in polys:
        box, m = polygon_box_mask(poly, shape)
        own[box] |= m & mask[box]
    if within is not None:
        own &= within
    if not own.any():
        return own
    return own & ~toward_word(own, image, polys, blend["color"], float(blend["opacity"]))


def check_blend(blend) -> None:
    """Raise a one-line ``ValueError`` naming text-mask's ``watermark`` input where ``blend``
    (:func:`slivers_off_word`'s; empty: none given) is no blend it can judge by: ``color``
    not 3 sRGB values in [0, 1], ``opacity`` not in (0, 1], or the copies' ``centres``,
    ``shown`` and ``box_hw`` not given together, consistent and finite (``box_hw`` above 0;
    and ``inverted``, where given, one flag a copy too). An opacity of 0, NaN or
    below drops every piece of a sliver's mask, a cut copy's too (no pixel moves toward the
    word by at most 0 of the way): silently, where it is not refused here."""
    if not blend:
        return
    name = "text-mask: watermark"
    if not {"color", "opacity"} <= set(blend):
        raise ValueError(f"{name} must hold 'color' and 'opacity' (or be empty), got keys "
                         f"{sorted(blend)}")
    try:
        col = np.asarray(blend["color"], np.float64)
        a = float(blend["opacity"])
    except (TypeError, ValueError):
        raise ValueError(f"{name}: 'color' must be 3 numbers and 'opacity' a number, got "
                         f"{blend['color']!r} and {blend['opacity']!r}") from None
    if col.shape != (3,) or not np.isfinite(col).all() or col.min() < 0 or col.max() > 1:
        raise ValueError(f"{name}: 'color' must be 3 sRGB values in [0, 1], got "
                         f"{blend['color']!r}")
    if not 0 < a <= 1:  # (NaN fails too)
        raise ValueError(f"{name}: 'opacity' must be in (0, 1], got {blend['opacity']!r}")
    copies = [k for k in ("centres", "shown", "box_hw") if k in blend]
    if copies and len(copies) < 3:
        raise ValueError(f"{name}: 'centres', 'shown' and 'box_hw' go together, got only "
                         f"{copies}")
    if copies and (np.asarray(blend["centres"], np.float64).reshape(-1, 2).shape[0]
                   != len(blend["shown"]) or len(blend["box_hw"]) != 2):
        raise ValueError(f"{name}: 'shown' must have one flag per row of 'centres' and "
                         f"'box_hw' 2 values (height, length px)")
    # a NaN centre samples no copy: its strokes and its sliver test were dropped silently
    if copies and not (np.isfinite(np.asarray(blend["centres"], np.float64)).all()
                       and np.isfinite(np.asarray(blend["box_hw"], np.float64)).all()
                       and min(blend["box_hw"]) > 0):
        raise ValueError(f"{name}: 'centres' must be finite and 'box_hw' finite and above 0, "
                         f"got box_hw {blend['box_hw']!r}")
    if "inverted" in blend and (not copies or len(blend["inverted"]) != len(blend["shown"])):
        raise ValueError(f"{name}: 'inverted' must have one flag per row of 'centres'")


def _sliver(poly, shape, blend) -> bool:
    """Whether a tile (polygon, x y image px) is a sliver of a lattice copy (see
    :func:`slivers_off_word`) in a frame of ``shape`` (H, W)."""
    c = np.asarray(poly, np.float64).reshape(-1, 2).mean(0)
    if not (0 <= c[0] < shape[1] and 0 <= c[1] < shape[0]):
        return True
    # arrays or lists (``or`` on an array of several copies raises)
    centres = np.asarray(blend.get("centres", ()), np.float64).reshape(-1, 2)
    if not len(centres) or len(blend.get("shown", ())) != len(centres):
        return False
    k = nearest_centre(poly, centres, 0.5 * float(blend["box_hw"][1]))
    return k >= 0 and not blend["shown"][k]


def toward_colour(mask: np.ndarray, image: np.ndarray, polygons, colours, *,
                  margin: float = 0.3, reach: int = 2, within=None) -> np.ndarray:
    """Pixels up to ``reach`` px past a line's mask that moved from the photo toward one of
    given ink colours: bool, shape (H, W).

    For a line whose ink colours are known from elsewhere (``text-mask``: an outline found on
    the line stacked with it, ``glyph``'s ``outlined`` pair) where its own colour clusters or
    its matte did not take them. A pixel is kept when, against the photo estimated under the
    mask grown by ``reach`` (``effects.change_over_texture``, Lab), it differs by more than
    the photo's texture floor, moved along the line from the estimate to a colour by at least
    that colour's share of it and across it by at most ``TOWARD_ACROSS`` of that (plus the floor),
    and touches the mask or a pixel kept (grown ring by ring: a pixel 2 px out alone is a
    speck the normaliser drops).

    Parameters
    ----------
    mask : ndarray, (H, W) bool
        Text pixels so far (every line's: the estimate is made from beyond them all).
    image : ndarray, (H, W, 3) float32 in [0, 1]
    polygons : list of ndarray, (N, 2) float
        The lines to look round (each judged in ``rim``'s crop, ``margin`` x its height).
    colours : list of list of (array-like (3,) float in [0, 1], float)
        Per polygon, (ink colour sRGB, share) pairs: the colours its pixels may move toward and
        how much of the way (``TOWARD_SHARE`` for an outline, ``FILL_SHARE`` for a fill).
    margin : float
        Crop margin (keyword-only).
    reach : int
        How far past the mask (px, at least 1; keyword-only).
    within : list of (list of (int, int, int, int), or None), or None
        Per polygon, boxes ``(y0, y1, x0, x1)`` (frame px, end exclusive): only pixels in one
        of them are kept (keyword-only; None: anywhere in its crop).
    """
    if not (isinstance(reach, (int, np.integer)) and reach >= 1):
        raise ValueError(f"reach must be an int >= 1, got {reach!r}")
    if len(colours) != len(polygons):
        raise ValueError(f"colours must hold colours per polygon, got {len(colours)} for "
                         f"{len(polygons)}")
    out = np.zeros_like(mask, dtype=bool)
    k3 = np.ones((3, 3), np.uint8)
    # the photo's estimate depends on the crop alone (the mask, the image and reach are the
    # call's): a line listed once per lender (:func:`_block_lines`, in a row) is estimated once
    last = None
    for n, (poly, cols) in enumerate(zip(polygons, colours)):
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            continue
        d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
        inner = d <= reach + 0.5
        look = inner & ~m
        if within is not None and within[n] is not None:
            inside = np.zeros(m.shape, bool)
            for b0, b1, c0, c1 in within[n]:  # to the crop's frame, clipped to it
                inside[max(b0 - y0, 0):max(b1 - y0, 0), max(c0 - x0, 0):max(c1 - x0, 0)] = True
            look &= inside
        if not look.any():
            continue
        band = (cv2.dilate(inner.astype(np.uint8), _DISK4) > 0) & ~inner
        if band.sum() < 10 or inner.all():
            continue
        if last is None or last[0] != (y0, y1, x0, x1):
            rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
            lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
            last = ((y0, y1, x0, x1), lab, *change_over_texture(lab, rgb, inner, band))
        _, lab, diff, de, floor = last
        est = lab - diff
        hit = np.zeros(m.shape, bool)
        for col, share in cols:
            a, along, across = _along_across(diff, est, _lab(col)[0])
            hit |= ((a >= share) & (along > floor)
                    & (across <= TOWARD_ACROSS * along + floor))
        hit &= look & (de > floor)
        grown = m.copy()
        for _ in range(reach):
            grown = grown | (hit & (cv2.dilate(grown.astype(np.uint8), k3) > 0))
        out[y0:y1, x0:x1] |= grown & ~m
    return out
