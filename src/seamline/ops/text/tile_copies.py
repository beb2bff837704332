"""A tiled watermark's copies in one common frame: the tiles, their lattice, the alignment.

A stock-photo watermark tiled over a photo repeats one word on a 2-D lattice. Given the tiles
:func:`seamline.ops.text.watermark.find_tiled_watermark` found (detect-text adds them as
regions without text, :func:`tile_regions`), every lattice point near the frame is a copy:

* **The lattice.** The tiles' own (their shortest differences, :func:`tile_lattice`) unless
  the caller gives it, refined to twice its points where the points between them hold the
  word (:func:`_finer`); when that one leaves fewer than :data:`MIN_COPIES` whole copies and
  the autocorrelation's peaks fit the tiles with a finer lattice, that one is used
  (detect-text hands on only the tiles no detected line covers, often a few at the frame's
  corners or every other copy, whose differences skip the copies between them).
* **The frame.** Every copy is resampled into one frame (the text along x, :data:`SCALE` x
  the image's resolution: :func:`tile_frame`, :func:`frame_to_image`, :func:`copy_box`,
  :func:`sample_copies`).
* **Alignment.** Each copy's offset against the median of all copies (band-passed
  lightness, phase correlation) refines its centre, and the lattice is refitted through the
  refined centres (the search's lattice is read at 512 px: half a pixel there is several
  pixels at the frame's edge), again until no centre moves (the median is blurred by the
  misalignment it is measuring): :func:`_converge`.

:func:`lattice_copies` does all three. Shared by :func:`seamline.ops.text.unblend.unblend_tiles`
(which fits and inverts the blend on the copies), :mod:`seamline.ops.text.tile_support` and
:mod:`seamline.ops.text.tile_vote`.

Conventions: image points are (x, y) px; a copy's frame is ``size_wh`` = (w, h) px at the work
scale; ``u`` and ``n`` are the unit vectors along and across the text (y down).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from seamline.core.arrays import LUMA

__all__ = ["tile_regions", "tile_lattice", "tile_angle", "tile_frame", "frame_to_image",
           "copy_box", "sample_copies", "copies_median", "copies_lightness", "copies_bandpass",
           "frame_bandpass", "LatticeCopies", "lattice_copies", "word_window", "SCALE", "MARGIN",
           "REACH", "MIN_COPIES", "MIN_TILES", "FINER_NCC", "FINER_ROUNDS", "REFINE_ROUNDS",
           "SETTLED", "INTERP"]

#: Resolution of the common tile frame, x the image's. 2 (the copies sit at different
#: sub-pixel phases) scored 2.3 dB better on a smooth photo (cell), the same on textured ones
#: (coffee, hubble) at 4-8 x the time.
SCALE = 1
#: Margin round the tile's box in the common frame, x the box's height: the box is read from
#: a smoothed blob and may stop short of the word's ends; a shadow lies outside it. A frame
#: that reaches into the next tile is harmless: that is the same watermark again.
MARGIN = 0.5
#: Reach of the frame and the support past the box's ends, along the text, x the box's
#: height: the search's box is the smoothed blob of the repeated strokes and may leave out
#: a symbol at the word's end (the "(c)" of "(c) PhotoCo" over the hubble field was left
#: half-inverted). Train split, the blend inverted (smooth copies untouched), text-region
#: PSNR at 0 / 0.5 / 1: hubble 27.71 / 32.87 / 32.92, coins 25.67 / 27.13 / 29.70,
#: grace_hopper 27.84 / 29.79 / 32.22, brick 27.38 / 25.83 / 28.20, coffee 25.93 / 25.92 /
#: 25.92 dB.
REACH = 1.0
#: Fewest whole copies the estimate is made from.
MIN_COPIES = 6
#: Least correlation of the median copy at an index-2 refinement's added lattice points with
#: the given points' median copy (band-passed, over the word's window) for the refinement to
#: be taken (:func:`_finer`), and how many times it is tried (index 2, then 4). Train tiledfit
#: h2, h3 with the pipeline's own tiles (every other copy along one direction): 0.37, 0.40;
#: the other refinements there and all three on h1, h4, h5 -0.02-0.07.
FINER_NCC = 0.2
FINER_ROUNDS = 2
#: Fewest tiles given that can show the lattice (every lattice point in the frame is a copy:
#: detect-text leaves out the tiles a detected line holds, which on a clear watermark is
#: most of them; train split hubble: 11 lines read "(c) PhotoCo", 4 tiles left).
MIN_TILES = 3
#: Most rounds of the copies' alignment (:func:`_converge`), and the largest move (px) of a
#: centre at which it stops. Train tiled6 g4 (offset 5.2 px rms to begin with): 2 rounds
#: 2.3 px, 3: 0.64, 5: 0.18, 8: 0.11.
REFINE_ROUNDS = 8
SETTLED = 0.1
#: Resampling into and out of the common frame: bicubic (bilinear blurs the strokes' edges
#: twice, and an under-estimated opacity at an edge leaves the word's outline).
INTERP = cv2.INTER_CUBIC


def tile_frame(polygons, angle_deg):
    """Tile centres (N, 2), the text's unit vectors u (along) and n (across, y down), the
    frame's half-extents (along, across) in image px, margin included, and the box's."""
    P = np.asarray([np.asarray(p, np.float64).reshape(-1, 2) for p in polygons])
    c = P.mean(1)
    a = math.radians(angle_deg)
    u, n = np.array([math.cos(a), -math.sin(a)]), np.array([math.sin(a), math.cos(a)])
    d = P[0] - c[0]
    hw, hh = float(np.abs(d @ u).max()), float(np.abs(d @ n).max())
    m = MARGIN * 2 * hh + 2
    return c, u, n, (hw + m + REACH * 2 * hh, hh + m), (hw, hh)


def frame_to_image(c, u, n, size_wh):
    """2x3 affine: frame pixel (x', y') -> image point (frame centre at ``c``)."""
    s = SCALE
    ox, oy = (size_wh[0] - 1) / 2, (size_wh[1] - 1) / 2
    return np.float64([[u[0] / s, n[0] / s, c[0] - (u[0] * ox + n[0] * oy) / s],
                       [u[1] / s, n[1] / s, c[1] - (u[1] * ox + n[1] * oy) / s]])


def copy_box(c, u, n, size_wh, shape, *, pad: int = 0):
    """Where the copy at ``c`` lies in an image of ``shape`` ``(H, W)``: its frame's bounding
    box grown by ``pad`` px and clipped, ``(x0, y0, x1, y1)``, and the 2x3 affine frame pixel
    -> box pixel (:func:`frame_to_image` less the box's corner); None when the box misses
    the image."""
    Mk = frame_to_image(c, u, n, size_wh)
    corners = np.float64([[0, 0, 1], [size_wh[0], 0, 1], [0, size_wh[1], 1],
                          [size_wh[0], size_wh[1], 1]]) @ Mk.T
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 1 + pad, [shape[1], shape[0]])
    if x0 >= x1 or y0 >= y1:
        return None
    Mk[:, 2] -= (x0, y0)
    return (x0, y0, x1, y1), Mk


def sample_copies(img, centres, u, n, size_wh):
    """The copies of ``img`` (H, W, 3) float32 in [0, 1] at ``centres`` (N, 2), resampled
    into the common frame (axes ``u``, ``n``; ``size_wh`` = (w, h) px): (N, h, w, 3)
    float32, NaN where a copy leaves the image (cubic: values may overshoot [0, 1] a
    little)."""
    out = np.empty((len(centres), size_wh[1], size_wh[0], 3), np.float32)
    for k, c in enumerate(centres):
        out[k] = cv2.warpAffine(img, frame_to_image(c, u, n, size_wh), size_wh,
                                flags=INTERP | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_CONSTANT,
                                borderValue=(float("nan"),) * 3)
    return out


def _lattice_points(c0, B, shape_hw, ew):
    """Every lattice point ``c0 + i v1 + j v2`` (``B``'s columns) whose frame (half-length
    ``ew``) reaches into an image of ``shape_hw``, and its (i, j): not only the tiles given
    (the caller may have left out the tiles a detected line covers: the clearest copies)."""
    H, W = shape_hw
    corners = np.float64([[0, 0], [W, 0], [0, H], [W, H]]) - c0
    lo = np.floor((corners @ np.linalg.inv(B).T).min(0)) - 1
    hi = np.ceil((corners @ np.linalg.inv(B).T).max(0)) + 1
    ij = np.array([(i, j) for i in range(int(lo[0]), int(hi[0]) + 1)
                   for j in range(int(lo[1]), int(hi[1]) + 1)], np.float64)
    c = c0 + ij @ B.T
    near = ((c[:, 0] > -ew) & (c[:, 0] < W + ew) & (c[:, 1] > -ew) & (c[:, 1] < H + ew))
    return c[near], ij[near]


def _mostly_inside(S):
    """Copies (N,) with at least 60 % of the frame inside the image."""
    return np.isfinite(S[..., 0]).mean(axis=(1, 2)) >= 0.6


def copies_median(bp, S, use):
    """Median over the copies ``use`` ((N,) bool) of the frames ``bp`` (N, h, w), each pixel
    over the copies ``S`` (:func:`sample_copies`) that cover it: (h, w) float32, 0 where none
    does."""
    x = np.where(np.isfinite(S[use, ..., 0]), bp[use], np.nan)
    return np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0).astype(np.float32)


def copies_lightness(S, use):
    """The copies' median lightness itself (not band-passed) in the frame, over the copies
    ``use`` of ``S`` (:func:`sample_copies`): (h, w) float32. Which side of the median's
    band-pass is the strokes' (:func:`seamline.ops.text.median_word.word_shape`)."""
    return copies_median(np.nan_to_num(S @ LUMA, nan=0.0), S, use)


def copies_bandpass(S):
    """Band-passed lightness of each copy of ``S`` (:func:`sample_copies`): (N, h, w)
    float32, 0 where the copy is undefined."""
    return np.stack([frame_bandpass(x) for x in np.nan_to_num(S @ LUMA, nan=0.0)])


def _refine(img, centres, u, n, size_wh, ij):
    """Centres refined by phase correlation against the median copy and refitted to a
    lattice ``c0 + i v1 + j v2`` (copies that do not fit it are dropped); with the copies
    wholly inside at ``centres`` and how sharp their median is there (its mean squared
    band-passed lightness: copies out of line blur it)."""
    S = sample_copies(img, centres, u, n, size_wh)
    whole = _mostly_inside(S)
    if whole.sum() < 3:
        return centres, whole, 0.0
    bp = copies_bandpass(S)
    T = copies_median(bp, S, whole)
    sharp = float(np.mean(T.astype(np.float64) ** 2))
    win = cv2.createHanningWindow(size_wh, cv2.CV_32F)
    shifts, resp = np.zeros((len(centres), 2)), np.zeros(len(centres))
    for k in range(len(centres)):
        if whole[k]:
            (dx, dy), r = cv2.phaseCorrelate(T.astype(np.float32), bp[k].astype(np.float32), win)
            shifts[k], resp[k] = (dx, dy), r
    # a copy displaced by (dx, dy) frame px from the median sits that far from its centre
    moved = centres + (shifts[:, :1] * u + shifts[:, 1:] * n) / SCALE
    keep = whole & (resp > 0.02)
    X = np.column_stack([np.ones(len(ij)), ij])
    for _ in range(2):
        if keep.sum() < max(4, MIN_COPIES // 2) or np.linalg.matrix_rank(X[keep]) < 3:
            return centres, whole, sharp
        beta, *_ = np.linalg.lstsq(X[keep], moved[keep], rcond=None)
        fit = X @ beta
        keep &= np.hypot(*(fit - moved).T) < 1.5
    return fit, whole, sharp


def _converge(img, centres, u, n, size_wh, ij):
    """:func:`_refine` again until no centre moves by :data:`SETTLED` px (at most
    :data:`REFINE_ROUNDS` times), keeping the centres whose median copy is sharpest: the
    median a round aligns to is blurred by the copies' own misalignment, so each round takes
    out only part of it; and where the phase correlation's noise is as large as what is
    left (few copies over a photo with its own structure) the rounds wander.

    Train tiled6 g4 (a white DejaVu Bold "PROOF" at 0.3 over grass, detect's tiles 1 % off
    the lattice): the copies' centres off the drawn ones by 5.2 px rms, 2.3 after the two
    rounds there used to be (the fitted opacity 2-4 px off the letters: a dark outline
    outside them, the strokes left light inside), 0.2 after six. Train tiled_watermark4 (15
    copies over immunohistochemistry): moves of 4.4, 1.8, 2.1, 3.5, 2.5 ... px without
    settling, the eighth round's centres 27.3 dB near the word against 31.0 after two."""
    best = None
    for _ in range(REFINE_ROUNDS):
        moved, whole, sharp = _refine(img, centres, u, n, size_wh, ij)
        if best is None or sharp > best[0]:
            best = (sharp, centres, whole)
        if float(np.abs(moved - centres).max()) < SETTLED:
            break
        centres = moved
    return best[1], best[2]


def tile_regions(regions) -> list[int]:
    """Indices of a tiled watermark's tiles among text regions: regions without text whose
    polygons are translated copies of one box (what detect-text adds for the tiles), at least
    :data:`MIN_TILES` of them; ``[]`` when there are none."""
    idx = [i for i, r in enumerate(regions) if r.text == "" and np.asarray(r.polygon).shape == (4, 2)]
    groups: list[list[int]] = []
    for i in idx:
        p = np.asarray(regions[i].polygon, np.float64)
        for g in groups:
            q = np.asarray(regions[g[0]].polygon, np.float64)
            if np.abs((p - p.mean(0)) - (q - q.mean(0))).max() < 0.05:
                g.append(i)
                break
        else:
            groups.append([i])
    best = max(groups, key=len, default=[])
    return best if len(best) >= MIN_TILES else []


def tile_lattice(centres) -> np.ndarray | None:
    """Two lattice vectors (columns of a 2x2) every centre fits: the shortest difference and
    the shortest one not along it; None if the centres are not a 2-D lattice."""
    d = (centres[:, None] - centres[None]).reshape(-1, 2)
    n = np.hypot(*d.T)
    d, n = d[n > 1], n[n > 1]
    d = d[np.argsort(n)]
    for v2 in d[1:]:
        v1 = d[0]
        if abs(v1[0] * v2[1] - v1[1] * v2[0]) > 0.3 * np.linalg.norm(v1) * np.linalg.norm(v2):
            B = np.stack([v1, v2], 1)
            ij = np.linalg.solve(B, (centres - centres[0]).T)
            if np.all(np.hypot(*(B @ (ij - np.round(ij)))) < 0.5):
                return B
    return None


def tile_angle(poly) -> float:
    """Direction of the polygon's longest side, degrees counter-clockwise from +x."""
    p = np.asarray(poly, np.float64).reshape(-1, 2)
    e = np.roll(p, -1, axis=0) - p
    v = e[int(np.argmax(np.hypot(*e.T)))]
    return -math.degrees(math.atan2(v[1], v[0]))


class LatticeCopies(NamedTuple):
    """A tiled watermark's copies on its lattice (:func:`lattice_copies`)."""

    centres: np.ndarray  #: (k, 2) float, the refined copy centres (x, y image px)
    whole: np.ndarray  #: (k,) bool, copies wholly inside the frame
    lattice: str  #: "tiles", "refined", "autocorrelation" or "given": where it came from
    u: np.ndarray  #: (2,) unit vector along the text
    n: np.ndarray  #: (2,) unit vector across it
    size_wh: tuple  #: (w, h) of a copy's sample window, work-scale px
    box: tuple  #: the word box's half-extents (along, across), image px


def lattice_copies(img, polygons, angle_deg=None, lattice_px=None, *, refine=True,
                   centres=None) -> LatticeCopies | None:
    """Every lattice point near the frame as a copy of the tiled word, its position refined.

    ``img`` (HxWx3 float32 in [0, 1]), ``polygons`` (the tiles, each (4, 2) image px),
    ``angle_deg`` and ``lattice_px`` as in :func:`seamline.ops.text.unblend.unblend_tiles`.
    The lattice is the tiles' own (or ``lattice_px``), without a lattice given and with
    ``refine`` refined where the points between the tiles' hold the word (:func:`_finer`: up
    to :data:`FINER_ROUNDS` times); where it leaves fewer than ``MIN_COPIES`` whole copies
    and no lattice was given, the autocorrelation's when that is finer and finds more.
    ``centres`` ((M, 2) image px, optional): the copies as already fitted
    (unblend-watermark's, on the image before it took them off), taken as they are (lattice
    ``"given"``): neither read, refined nor moved. None when the tiles are not on a 2-D
    lattice. Shared by :func:`seamline.ops.text.unblend.unblend_tiles` and
    :func:`seamline.ops.text.tile_support.repeated_strokes`.
    """
    H, W = img.shape[:2]
    angle_deg = tile_angle(polygons[0]) if angle_deg is None else float(angle_deg)
    c0, u, n, (ew, eh), box = tile_frame(polygons, angle_deg)
    size_wh = (int(math.ceil(2 * ew * SCALE)), int(math.ceil(2 * eh * SCALE)))
    if centres is not None:
        centres = np.asarray(centres, np.float64).reshape(-1, 2)
        whole = _mostly_inside(sample_copies(img, centres, u, n, size_wh))
        return LatticeCopies(centres, whole, "given", u, n, size_wh, box)
    # columns v1, v2
    B = tile_lattice(c0) if lattice_px is None else np.asarray(lattice_px, np.float64).T
    if B is None or B.shape != (2, 2) or abs(np.linalg.det(B)) < 1e-6:
        return None
    lattice = "tiles"
    centres, ij = _lattice_points(c0[0], B, (H, W), ew)
    centres, whole = _converge(img, centres, u, n, size_wh, ij)
    for _ in range(FINER_ROUNDS if lattice_px is None and refine else 0):
        # the tiles given may all sit on every other point of the watermark's lattice
        finer = _finer(img, centres, whole, ij, u, n, size_wh, box, ew)
        if finer is None:
            break
        c2, ij2 = finer
        c2, whole2 = _converge(img, c2, u, n, size_wh, ij2)
        if whole2.sum() <= whole.sum():
            break
        centres, whole, ij = c2, whole2, ij2
        lattice = "refined"
    if whole.sum() < MIN_COPIES and lattice_px is None:
        # the tiles' own differences may span a coarser lattice than the watermark's (a few
        # tiles left at the frame's corners): the one the autocorrelation's peaks give
        from seamline.ops.text.watermark_lines import centres_lattice

        rect = cv2.minAreaRect(np.asarray(polygons[0], np.float32).reshape(-1, 2))
        lat = centres_lattice(img, c0, rect)
        B2 = None if lat is None else np.stack(lat, 1)
        if B2 is not None and abs(np.linalg.det(B2)) < 0.9 * abs(np.linalg.det(B)):
            c2, ij2 = _lattice_points(c0[0], B2, (H, W), ew)
            c2, whole2 = _converge(img, c2, u, n, size_wh, ij2)
            if whole2.sum() > whole.sum():
                centres, whole, lattice = c2, whole2, "autocorrelation"
    return LatticeCopies(centres, whole, lattice, u, n, size_wh, box)


def _finer(img, centres, whole, ij, u, n, size_wh, box, ew):
    """The index-2 refinement of the lattice through ``centres`` (N, 2 image px; ``ij`` (N, 2)
    their lattice indices, ``whole`` (N,) bool those inside the image) whose added points
    hold the word: ``(centres, ij)`` of its points near the image, or None where none does.

    detect-text hands on only the tiles no detected line covers, and on a clear watermark
    those may all lie on every other point of its lattice along one direction (the copies
    between them were read as lines): their shortest differences span an index-2
    sublattice, and the blend is fitted from half its copies. The added points' median copy
    (band-passed, :func:`copies_bandpass`) is correlated with the given points' own over
    the word's window: the same word where they hold it, the photo's chance alignment where
    they do not (:data:`FINER_NCC`). One median per candidate, not a test per copy: over
    dark foliage one copy's correlation is mostly the photo's."""
    if whole.sum() < MIN_TILES:
        return None
    X = np.column_stack([np.ones(len(ij)), ij])
    c0, b1, b2 = np.linalg.lstsq(X, centres, rcond=None)[0]
    H, W = img.shape[:2]
    # every other pixel of the word's window each way: the medians are the costly part
    sub = word_window(size_wh, box)
    sub[1::2], sub[:, 1::2] = False, False

    def median_copy(c):
        S = sample_copies(img, c, u, n, size_wh)
        S = S[_mostly_inside(S)]
        x = np.where(np.isfinite(S[:, sub, 0]), copies_bandpass(S)[:, sub], np.nan)
        m = np.nan_to_num(np.nanmedian(x, axis=0), nan=0.0) if len(S) >= MIN_TILES else None
        return None if m is None else m - m.mean()

    T = median_copy(centres[whole])
    best, best_r = None, FINER_NCC
    # the three index-2 refinements: the half step along b1, along b2, along b1 + b2
    for half, keep in ((b1 / 2, b2), (b2 / 2, b1), ((b1 + b2) / 2, b2)):
        pts, _ = _lattice_points(c0 + half, np.stack([b1, b2], 1), (H, W), ew)
        # a frame 60 % inside (:func:`_mostly_inside`) has its centre inside
        Te = median_copy(pts[(pts[:, 0] >= 0) & (pts[:, 0] < W) & (pts[:, 1] >= 0)
                             & (pts[:, 1] < H)])
        if Te is None:
            continue
        r = float(T @ Te) / max(float(np.sqrt((T @ T) * (Te @ Te))), 1e-12)
        if r >= best_r:
            best, best_r = np.stack([half, keep], 1), r
    return None if best is None else _lattice_points(c0, best, (H, W), ew)


def word_window(size_wh, box) -> np.ndarray:
    """(h, w) bool over a copy's sample window (``size_wh``, work scale): the word's box
    (``box``, half-extents in image px) grown by a shadow's reach and the blob's slack. A
    photo's own repetition elsewhere in the window (a brick wall's courses) is not the
    watermark."""
    yy, xx = np.mgrid[:size_wh[1], :size_wh[0]]
    g = (0.35 * 2 * box[1] + 3) * SCALE
    reach = REACH * 2 * box[1] * SCALE
    return ((np.abs(xx - (size_wh[0] - 1) / 2) <= box[0] * SCALE + g + reach)
            & (np.abs(yy - (size_wh[1] - 1) / 2) <= box[1] * SCALE + g))


def frame_bandpass(x):
    """:func:`copies_bandpass`'s filter on one (h, w) float32 image (difference of
    Gaussians 0.8 and 3.0 x :data:`SCALE`)."""
    return cv2.GaussianBlur(x, (0, 0), 0.8 * SCALE) - cv2.GaussianBlur(x, (0, 0), 3.0 * SCALE)
