"""Tiled watermarks from the detector's readings: a second cue besides the periodicity.

:func:`seamline.ops.text.watermark.find_tiled_watermark` finds a tiled watermark by its
repetition; a faint word over a busy photo (grey on fur, grass, noise) repeats too weakly to
pass its threshold, and one whose template blob is not word-shaped or that the segmenter
does not read is missed too. The detector, though, boxes and reads some of its tiles: lines
that read the same word at the same size and angle, :data:`MIN_REPEATS` or more, are copies
of one watermark. Their lattice is one the centres fit (:func:`_lines_lattice`: pairs of
autocorrelation peaks by support, else pairs of the centres' own differences), refitted
through the centres by least squares;
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
                                         lattice_support, lattice_tiles, text_angle)

#: Fewest detected lines reading the same word (at the same size and angle) that are taken
#: for copies of a tiled watermark: the detector boxes some tiles of a watermark its
#: periodicity alone does not show (a faint word over fur or grass).
MIN_REPEATS = 4
#: Two readings are the same word from this similarity on (difflib ratio: "PROOF"/"PR0OF").
SAME_WORD = 0.75


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
        whole = np.array([difflib.SequenceMatcher(None, word, k).ratio() >= 0.9 for k in keys])
        if whole.sum() < MIN_REPEATS:
            continue
        mL, mS, ma = np.median(L[whole]), np.median(S[whole]), np.median(ang[whole])
        ok = (whole & (np.abs(L / mL - 1) < 0.15) & (np.abs(S / mS - 1) < 0.25)
              & (np.abs((ang - ma + 90) % 180 - 90) < 8))
        if ok.sum() >= MIN_REPEATS and (best is None or ok.sum() > len(best[0])):
            r = [g[i][1] for i in np.nonzero(ok)[0]]
            mid = r[int(np.argsort([max(x[1]) for x in r])[len(r) // 2])]
            best = (np.array([x[0] for x in r], np.float64), mid)
    return best


def _fits(centres, v1, v2, tol) -> bool:
    """Whether every centre (M, 2) lies within ``tol`` of a lattice ``c0 + i v1 + j v2``:
    the centres' lattice coordinates rounded, the lattice refitted through them by least
    squares when they span two directions (peaks are read to the work pixel; the error
    grows with the distance)."""
    B = np.stack([v1, v2], 1)
    if abs(np.linalg.det(B)) < 1e-6:
        return False
    ij = np.round(np.linalg.solve(B, (centres - centres[0]).T).T)
    X = np.column_stack([np.ones(len(centres)), ij])
    if np.linalg.matrix_rank(X) == 3:
        fit = X @ np.linalg.lstsq(X, centres, rcond=None)[0]
    else:
        fit = centres[0] + ij @ B.T
    return bool(np.all(np.hypot(*(fit - centres).T) <= tol))


def _repeats(h, C, rect, f, v1, v2) -> float:
    """How well the band-passed work image ``h`` repeats each detected line's box one step
    along ``v1`` and along ``v2`` (both signs): the lower of the two mean normalised
    correlations (-1-1)."""
    (_, _), (w, hh), ang = rect
    size = (max(8, int(round(w * f))), max(8, int(round(hh * f))))

    def patch(c):
        M = cv2.getRotationMatrix2D((float(c[0]), float(c[1])), ang, 1.0)
        M[:, 2] += np.array(size) / 2 - c
        x = cv2.warpAffine(h, M, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=np.nan)
        return x if np.isfinite(x).all() else None

    out = []
    for v in (v1, v2):
        cs = []
        for c in C:
            p = patch(c)
            for q in (patch(c + v), patch(c - v)):
                if p is not None and q is not None:
                    a, b = p - p.mean(), q - q.mean()
                    cs.append(float((a * b).sum() / max(np.sqrt((a * a).sum() * (b * b).sum()),
                                                        1e-12)))
        out.append(float(np.mean(cs)) if cs else 0.0)
    return min(out)


def _lines_lattice(h, R, centres, rect, f):
    """The lattice (work px) the repeated lines' centres lie on, or None. Candidates fit the
    centres (:func:`_fits`) with a cell of 1.2 x the box (tiles never overlap). First pairs
    of autocorrelation peaks: a handful of centres fits many, and the tiles' own is the best
    supported (:func:`~seamline.ops.text.watermark.lattice_support`; a finer one adds points
    that are not peaks; a coarser one, as well supported, skips tiles: the finest within
    10 % of the best). If no peak pair fits (on a busy photo the tiles' vectors may not be
    peaks), pairs of the centres' own differences, the one that repeats the word one step
    along each vector (:func:`_repeats`). Refitted through the centres by least squares."""
    C = centres * f
    (_, _), (w, hh), _ = rect
    area = w * hh * f * f
    tol = max(3.0, 0.12 * min(w, hh) * f)
    # lines in one row or column (a table's column of "Total", a list) fit any lattice that
    # has their direction: a watermark's copies spread over the frame in two directions
    spread = np.linalg.svd(C - C.mean(0), compute_uv=False)
    if spread[-1] / np.sqrt(len(C)) < min(w, hh) * f:
        return None

    def fitting(vecs, score):
        ok = []
        for i in range(len(vecs)):
            for j in range(i + 1, len(vecs)):
                v1, v2 = vecs[i], vecs[j]
                cell = abs(v1[0] * v2[1] - v1[1] * v2[0])
                if (cell >= 1.2 * area and cell > 0.3 * np.linalg.norm(v1) * np.linalg.norm(v2)
                        and _fits(C, v1, v2, tol)):
                    ok.append((score(v1, v2), cell, v1, v2))
        ok = [t for t in ok if t[0] > 0]
        if not ok:
            return None
        top = max(t[0] for t in ok)
        return min((t for t in ok if t[0] >= 0.9 * top), key=lambda t: t[1])[2:]

    best = fitting([v for _, v in lattice_peaks(R, 16)],
                   lambda v1, v2: lattice_support(R, v1, v2))
    if best is None:
        d = (C[:, None] - C[None]).reshape(-1, 2)
        d = d[(np.hypot(*d.T) > 0.5 * max(w, hh) * f) & ((d[:, 1] > 0) | ((d[:, 1] == 0)
                                                                          & (d[:, 0] > 0)))]
        best = fitting(list(d[np.argsort(np.hypot(*d.T))][:24]),
                       lambda v1, v2: _repeats(h, C, rect, f, v1, v2))
    if best is None:
        return None
    v1, v2 = best
    # integer lattice coordinates of the centres, then c = c0 + i v1 + j v2 by least squares
    # (a peak is read to the work pixel: 5 tiles out that is several image pixels)
    ij = np.round(np.linalg.solve(np.stack([v1, v2], 1), (C - C[0]).T).T)
    X = np.column_stack([np.ones(len(C)), ij])
    if np.linalg.matrix_rank(X) == 3:
        beta = np.linalg.lstsq(X, C, rcond=None)[0]
        v1, v2 = beta[1], beta[2]
    return np.asarray(v1, np.float64), np.asarray(v2, np.float64), lattice_support(R, v1, v2)


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
        (``MIN_CORR``), the third pass's tiles when it finds them.

    Raises
    ------
    InputError
        ``image`` is not HxWx3 float32.
    StageError
        The segmentation model is missing or corrupt.
    """
    rep = _repeated_lines(exclude, texts) if len(texts) else None
    # no readings to ask: all three passes at once
    res = find_tiled_watermark(image, model=model, exclude=exclude, wide=rep is None)
    if res.found or rep is None:
        return res
    h, f = bandpass(np.asarray(image))
    lat = _lines_lattice(h, autocorrelation(h), *rep, f)
    if lat is None:
        # the periodicity search's third pass last (where some lattice repeated enough): where
        # the readings give a lattice, their tiles are the detector's own boxes, not a blob
        # the wide template read at a low level
        if res.periodicity < MIN_CORR:
            return res
        wide = find_tiled_watermark(image, model=model, exclude=exclude, wide="only")
        return wide if wide.found else res
    (cx, cy), (w, hh), ang = rep[1]
    v1, v2, corr = lat
    polys = lattice_tiles(((cx * f, cy * f), (w * f, hh * f), ang), v1, v2, h.shape, f)
    if len(polys) > MAX_TILES:
        return res
    return TiledWatermark(True, polygons=[order_clockwise(p) for p in polys],
                          lattice_px=(tuple(v1 / f), tuple(v2 / f)),
                          angle_deg=text_angle(rep[1]), periodicity=corr,
                          reason=f"{len(polys)} tiles on the lattice of {len(rep[0])} detected "
                                 f"lines reading the same word ({res.reason})")
