"""Text a line's mask leaves on the hole's boundary, which every fill copies inward.

A thick outline matted 1-3 px short of its outer edge, or a fill matted short inside its
outline where the photo behind it comes near its colour: the fill then grows the letters from
their own rim (a held-out meme at 1600 px over paint brushes showed dark letter shapes reading
"ELLO E" after the fill). :func:`edge_colour_rim` takes the rest of a dark outline just past
the mask, :func:`fill_in_holes` the fill's colour the mask walls in. Train analogues:
``benchmarks/rim_left_check.py``.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.polygons import line_crop, polygon_mask
from seamline.ops.text.effects import change_over_texture

__all__ = ["BAND_DELTA_E", "BEYOND_SHARE", "CORE_DELTA_E", "CORE_PX", "EDGE_COLOUR_DELTA_E", "EDGE_COLOUR_SHARE", "EDGE_RIM_PX", "HOLE_RINGED_SHARE",
           "PHOTO_LIKE_FILL", "edge_colour_rim", "fill_in_holes"]

#: edge_colour_rim: how far (px) past a line's mask the rest of its outline is looked for
#: (a 4 px meme outline whose mask edge lies 1-3 px inside its outer edge) ...
EDGE_RIM_PX = 3
#: ... when its darkest glyph colour (not its fill, the first) is the nearest of them for at
#: least this share of the mask's edge pixels that differ from the photo estimated under them
EDGE_COLOUR_SHARE = 0.2
#: ... and a pixel past the mask is that outline's when it lies nearer its colour (measured:
#: those edge pixels' median; the matte's estimate of a black outline over navy was L* 12,
#: the navy's own, the pixels L* 0-1) than the photo estimated under it, within this (Delta
#: E): its anti-aliased last pixel, not a photo colour half way to it
EDGE_COLOUR_DELTA_E = 25.0
#: ... or, ending within that reach, within this (Delta E) of the outline's colour measured
#: on its core, the dark glyph colour's pixels up to ``CORE_PX`` inside the mask's edge
CORE_DELTA_E = 12.0
CORE_PX = 4
#: ... and this many times nearer that colour than the photo estimated under it (train mix
#: 029, 031, 033: dark photo pieces of coffee, space and a rocket's shadow, as dark as the
#: outline, beside the letters; mix 002, a mid-tone glyph colour over noise)
CORE_NEARER = 2.0
#: ... where at most this share of the pixels just beyond such a piece are of that colour
BEYOND_SHARE = 0.3
#: ... and the outline's band, to its width measured from the letters' fill, over pixels
#: within this (Delta E) of its core colour: over a dark photo (dark grass, L* 5-25) the
#: pixels beyond the outline are near its colour too, so neither test above tells its
#: outer 1-3 px from the photo (train: a 7 px outline over dark grass at 1600 px)
BAND_DELTA_E = 25.0


def edge_colour_rim(mask: np.ndarray, image: np.ndarray, polygons, colours, *,
                    margin: float = 0.3, cores=None) -> np.ndarray:
    """The outer pixels of a line's dark outline just outside its mask: bool, shape (H, W).

    A thick outline over a photo near its own lightness (a meme's black outline over dark
    navy) is matted only where it stands out: the mask's edge lies on the outline, 1-3 px
    inside its outer edge, on some letters, and every fill grows that rim inward into dark
    letter shapes (train analogue of the held-out meme over paint brushes: white DejaVu
    Sans Bold, 4 px black outline, over the astronaut's navy flag; 3 px of outline left
    along a "D" after the normaliser's margin). Here the mask is grown, ring by ring up to
    ``EDGE_RIM_PX``, over pixels of the outline's colour (``EDGE_COLOUR_SHARE``,
    ``EDGE_COLOUR_DELTA_E``) darker than the photo estimated under them (from the band past
    ``EDGE_RIM_PX``) by more than its texture (``effects.change_over_texture``); and over
    pixels within ``CORE_DELTA_E`` of the outline's colour measured on its core inside the
    mask (``CORE_PX``), ``CORE_NEARER`` times nearer it than the photo estimated under them,
    where the outline ends (``BEYOND_SHARE``): over saturated bristles the edge pixels'
    median is half photo and the texture hides the rim from the first test (train
    ``meme_bristles1``: 1055 px of outline past the mask taken by the first, 1692 with both).
    Over a dark photo near the outline's colour neither test tells the outline from the
    photo beyond it; its band is then taken to the outline's width measured from the
    letters' fill where the outline ends against a photo unlike it (``BAND_DELTA_E``;
    train: a 7 px outline over dark grass at 1600 px left 2003 drawn px past the mask, 188
    with it).

    Parameters
    ----------
    mask, image, polygons, margin
        As :func:`~seamline.ops.text.rim.missed_corners`; ``polygons``: the lines to look at.
    colours : sequence of sequence
        Per polygon, its glyph colours (``glyph_mask``'s ``colors``: RGB in [0, 1]).
    cores : sequence of bool, optional, keyword-only
        Per polygon, whether its darkest colour is an outline the core-colour test may
        follow (not a soft shadow's); None: every polygon's.
    """
    out = np.zeros_like(mask, dtype=bool)
    k3 = np.ones((3, 3), np.uint8)
    for k, (poly, cols) in enumerate(zip(polygons, colours)):
        cols = np.asarray(cols or [], np.float32).reshape(-1, 3)
        lab_cols = cv2.cvtColor(cols[None], cv2.COLOR_RGB2Lab)[0] if len(cols) > 1 else None
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if lab_cols is None or int(np.argmin(lab_cols[:, 0])) == 0 or m.sum() < 20:
            continue
        d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
        inner, band = d <= EDGE_RIM_PX, (d > EDGE_RIM_PX) & (d <= EDGE_RIM_PX + 5)
        if band.sum() < 10 or inner.all():
            continue
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        diff, de, floor = change_over_texture(lab, rgb, inner, band)
        edge = lab[m & ~(cv2.erode(m.astype(np.uint8), k3) > 0) & (de > floor)]
        dark_i = int(np.argmin(lab_cols[:, 0]))
        dark = _nearest(edge, lab_cols) == dark_i
        if len(edge) < 20 or dark.mean() < EDGE_COLOUR_SHARE:
            continue
        dist = np.linalg.norm(lab - np.median(edge[dark], 0), axis=-1)
        like = (inner & (d > 0) & (de > floor) & (diff[..., 0] < 0) & (dist < de)
                & (dist <= EDGE_COLOUR_DELTA_E))
        grown = _grow(m, like)
        # ... and the outline's own colour, measured on its core inside the mask (the edge
        # pixels' median above is half photo: L* 33 for a black outline over saturated
        # bristles, whose missed pixels, L* 0, lay 31-33 Delta E from it, and the bristles'
        # texture floor, 55 Delta E, hid them from the estimate), where the outline ends:
        # the pixels beyond a piece grown so are not the outline's colour (a dark photo
        # object beside the letters is)
        core = (m & (cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3) <= CORE_PX)
                & (_nearest(lab, lab_cols) == dark_i))
        if core.sum() >= 20 and (cores is None or cores[k]):
            dist = np.linalg.norm(lab - np.median(lab[core], 0), axis=-1)
            grown |= _ending(m, inner & (CORE_NEARER * dist < de), dist <= CORE_DELTA_E)
            grown |= _band(m, lab, lab_cols[0], core, dist)
        out[y0:y1, x0:x1] |= grown & ~m & _box(poly, m.shape, x0, y0)
    return out


def _band(m: np.ndarray, lab: np.ndarray, fill_lab: np.ndarray, core: np.ndarray,
          dist: np.ndarray) -> np.ndarray:
    """``m`` grown over the outline's band: the pixels within the outline's width of the
    letters' fill and within ``BAND_DELTA_E`` of its core colour. Bool, the shape of ``m``.

    The width is the commonest distance (rounded, px) from the fill (``m``'s pixels within
    ``outline.FILL_DELTA_E`` of ``fill_lab``) of ``m``'s edge pixels beside the outline's core
    (``core``) and beside a pixel out of the mask farther than ``BAND_DELTA_E`` from it: where
    the mask holds the outline whole over a photo unlike it, it ends at that width (a mask
    matted short or loose spreads its distances). ``lab``: the crop (Lab); ``dist``: each
    pixel's Delta E from the outline's core colour.
    """
    from seamline.ops.text.outline import FILL_DELTA_E

    fill = m & (np.linalg.norm(lab - fill_lab, axis=-1) <= FILL_DELTA_E)
    k3 = np.ones((3, 3), np.uint8)
    # where the outline visibly ends: edge px beside its core whose next px out is far
    # from its colour (a mask loose over a dark photo would measure the photo too)
    ends = (cv2.dilate(m.astype(np.uint8), k3) > 0) & ~m & (dist > BAND_DELTA_E)
    outer = (m & ~(cv2.erode(m.astype(np.uint8), k3) > 0)
             & (cv2.dilate(core.astype(np.uint8), k3) > 0) & (cv2.dilate(ends.astype(np.uint8), k3) > 0))
    if fill.sum() < 20 or not outer.any():
        return np.zeros_like(m)
    from_fill = cv2.distanceTransform((~fill).astype(np.uint8), cv2.DIST_L2, 5)
    width = float(np.argmax(np.bincount(np.round(from_fill[outer]).astype(np.int64))))
    like = (from_fill <= width + 0.5) & (dist <= BAND_DELTA_E)
    return _grow(m, like, steps=int(np.ceil(width)) + 1)


def _nearest(lab: np.ndarray, lab_cols: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``lab_cols`` (K, 3) for each Lab pixel of ``lab`` (..., 3)."""
    return np.argmin(np.linalg.norm(lab[..., None, :] - lab_cols, axis=-1), -1)


def _grow(m: np.ndarray, like: np.ndarray, steps: int = EDGE_RIM_PX) -> np.ndarray:
    """``m`` grown ring by ring, up to ``steps`` rings, over ``like`` pixels (bool each)."""
    grown = m.copy()
    k3 = np.ones((3, 3), np.uint8)
    for _ in range(steps):
        grown = grown | (like & (cv2.dilate(grown.astype(np.uint8), k3) > 0))
    return grown


def _ending(m: np.ndarray, reach: np.ndarray, like: np.ndarray) -> np.ndarray:
    """The pieces ``m`` grows over ``like`` pixels within ``reach`` (:func:`_grow`) whose
    pixels just beyond (2 px round the piece, outside ``m`` and every grown piece) are at
    most ``BEYOND_SHARE`` ``like`` themselves: an outline's last pixels, not a region of its
    colour running on. Bool, the shape of ``m`` (each argument too)."""
    add = _grow(m, reach & like) & ~m
    n, part = cv2.connectedComponents(add.astype(np.uint8), connectivity=8)
    if n < 2:
        return add
    ring = cv2.dilate(part.astype(np.float32), np.ones((5, 5), np.uint8)).astype(np.int32)
    beyond = (ring > 0) & ~m & ~add & (cv2.dilate(add.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    total = np.bincount(ring[beyond], minlength=n)
    alike = np.bincount(ring[beyond & like], minlength=n)
    ok = alike <= BEYOND_SHARE * total
    ok[0] = False
    return ok[part] & add


def _box(poly, shape, x0, y0) -> np.ndarray:
    """The line's polygon (the detector's box holds its outline) on its crop, bool."""
    return polygon_mask(np.asarray(poly, np.float32), shape, np.float32([x0, y0])) > 0


#: fill_in_holes: a part of the fill's colour outside a line's mask is fill when at least this
#: share of the pixels round it are the mask's (a letter's fill walled in by its outline; a
#: photo object of that colour beside the letters meets the photo)
HOLE_RINGED_SHARE = 0.6
#: fill_in_holes: no line whose photo round it (crop outside its polygon and mask) is more
#: than this share of its fill's colour: its first colour is then the photo's (a shadowed
#: title over camera's grey sky, "lift" path: 1641 px of sky walled in by glyphs and shadow)
PHOTO_LIKE_FILL = 0.5


def fill_in_holes(mask: np.ndarray, image: np.ndarray, polygons, fills, *,
                  margin: float = 0.3) -> np.ndarray:
    """The parts of a line's fill colour its mask walls in: bool, shape (H, W).

    A line's mask can ring a letter's fill without holding it all: its outline taken, the
    fill matted short where the photo behind it comes near its colour (train analogues: a
    white meme's fill over saturated bristles, 8189 drawn px left inside the black outlines;
    a red title's fill over red wood), and the fill then draws the letters from their own
    rim. Per line, each 8-connected part of the pixels outside its mask within
    ``outline.FILL_DELTA_E`` of the fill's colour that does not reach its crop's edge is
    taken when at least ``HOLE_RINGED_SHARE`` of the pixels round it are the mask's, within
    the line's polygon (as :func:`edge_colour_rim`'s pixels: train mix 031, a meme over the
    astronaut, took 48 px more than 8 px from the text without it). A line is skipped where
    more than ``PHOTO_LIKE_FILL`` of its crop outside its polygon and mask lies within that
    distance of its fill's colour: the colour is the photo's there (a sky's grey).

    Parameters
    ----------
    mask, image, polygons, margin
        As :func:`~seamline.ops.text.rim.missed_corners`; ``polygons``: the lines to look at.
    fills : sequence of sequence of float
        Per polygon, its fill colour (RGB in [0, 1]: ``glyph_mask``'s first colour).
    """
    from seamline.ops.text.outline import FILL_DELTA_E

    out = np.zeros_like(mask, dtype=bool)
    k3 = np.ones((3, 3), np.uint8)
    for poly, fill in zip(polygons, fills):
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or m.sum() < 20:
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1], np.float32),
                           cv2.COLOR_RGB2Lab)
        ref = cv2.cvtColor(np.float32(fill).reshape(1, 1, 3), cv2.COLOR_RGB2Lab)[0, 0]
        like = ~m & (np.linalg.norm(lab - ref, axis=-1) <= FILL_DELTA_E)
        box = _box(poly, m.shape, x0, y0)
        around = like[~box & ~m]
        if around.size and around.mean() > PHOTO_LIKE_FILL:
            continue  # the "fill" colour is the photo's round the line (a sky's grey)
        n, part = cv2.connectedComponents(like.astype(np.uint8), connectivity=8)
        if n < 2:
            continue
        ring = (cv2.dilate(like.astype(np.uint8), k3) > 0) & ~like
        near = cv2.dilate(part.astype(np.float32), k3).astype(np.int32)  # ring px -> part
        walled = (np.bincount(near[ring & m], minlength=n)
                  >= HOLE_RINGED_SHARE * np.bincount(near[ring], minlength=n).clip(1))
        walled[np.unique(np.concatenate([part[0], part[-1], part[:, 0], part[:, -1]]))] = False
        walled[0] = False
        out[y0:y1, x0:x1] |= walled[part] & box
    return out
