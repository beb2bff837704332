"""A tiled watermark's mask kept to the glyph pixels its copies share.

A watermark tiled across a photo is the same word in the same paint at every lattice point;
the photo under each copy differs. The colour matting of :func:`seamline.ops.text.glyph_mask`
reads each tile on its own, and inside a copy's box it takes a bright photo object of the
paint's colour (a bokeh disc's rim beside a letter, a highlight) for text: the fill then
changes photo far from the word (train split: 44 % of the tiled cases' pixels changed
farther than 8 px from the drawn text). Aligned on the lattice, the copies' masks agree on
the word's strokes and disagree on such objects, which sit under one copy only.

:func:`shared_glyphs`, on the tiles of :func:`seamline.ops.text.tile_copies.tile_regions`:

1. **Lattice.** The tiles left may be a few copies at the frame's corners (detect-text
   leaves out the tiles a detected line holds, unblend-watermark those it took off), whose
   differences are multiples of the watermark's lattice vectors. The candidates are the
   tiles' own lattice and those of the mask's own repetition (the tiled search's whitened
   autocorrelation, read on the mask, each vector also 2-4 x as long) on which every tile
   centre lies.
2. **Vote.** Per candidate, the mask at every lattice point is resampled into one frame,
   the copies' centres refined (phase correlation against the median copy, refitted to the
   lattice), and per frame pixel the share of copies that mark it counted; the lattice the
   copies agree on most crisply wins (a wrong one smears the word over itself).
3. **Keep.** Frame pixels at least :data:`VOTE` of the copies mark, grown by :data:`AA_PX`
   (the strokes' anti-aliased edge: a copy over a dark photo shows more of it), are put back
   on every copy; a mask pixel in a copy's frame they do not cover is dropped. A detected
   line is a copy when centred on one and mostly on that support (:data:`LINE_SHARE`), or
   when it reads the word those copies read (:func:`reads_word`: in part, or across two
   copies as the detector's 0.3 box threshold reads them) and lies on a copy or mostly on
   the copies' frames, whatever its mask took; another line (a caption over the watermark)
   keeps its own mask.
   A copy the frame's edge cuts is first moved by the whole-pixel shift (up to
   :data:`CUT_REACH`) at which its visible part agrees best with the shared support
   (:func:`_place_cut`), when that part holds :data:`CUT_SHARE` of it: the alignment
   refines whole copies only, and a cut copy a pixel or two off its lattice point kept
   its strokes' edges out of the support put back on it.

Train split, remove-text before/after (``benchmarks/mask_train_eval.py --styles
tiled_watermark --per-style 16 --pipeline``, main 407162c re-measured): text-region PSNR
26.21 -> 27.07 dB, pixels changed farther than 8 px from the drawn text 53012 -> 32264 (hubble
6505 -> 0, its galaxies beside the copies kept), ghost words 61 -> 57 of 496, QA-failed
regions 24 -> 22; 10 of 16 cases changed, none worse in PSNR by more than 0.02 dB. The
36-case ``--pipeline`` mix: 26.07 -> 26.10 dB, far 366 -> 342 per case, ghost and QA-failed
the same (only its two tiled cases change). Cost: about 0.5 s CPU on a 1280 px frame with a
tiled watermark (a dozen candidate lattices voted), nothing without one.

Lines read at the detector's 0.3 box threshold (``ops.text.detect``) across two copies or
over a copy whose matting took photo ('PROGEPRO', 'POOF' over the rocket's lights) had
escaped the vote; taken as copies by their reading (and taken off with the copies
unblend-watermark inverted under them), same run, main aeae363 re-measured: 16 tiled train
cases psnr_pipe 26.63 -> 26.97 dB, far 2810 -> 1725 per case, ghost 55 -> 55 of 496,
QA-failed 20 -> 18; the 36-case mix identical.

Cut copies placed by their visible part (:func:`_place_cut`), same run, main 6b0dc69
re-measured: psnr_pipe 27.02 -> 27.12 dB, far 1727 -> 1714 per case, ghost 48 -> 43 of 496
(bokeh0 8 -> 2; tw13 2 -> 3, its top-edge copy's 'IGHT' strokes now masked), QA-failed
18 -> 14; 3 of 16 cases changed (cost: a 7x7 shift search per cut copy, winner only).
"""

from __future__ import annotations

import math
from collections import Counter
from difflib import SequenceMatcher

import cv2
import numpy as np

from seamline.ops.polygons import polygon_mask
from seamline.ops.text.tile_copies import (copy_box, frame_to_image, tile_angle, tile_frame,
                                           tile_lattice, tile_regions)

__all__ = ["shared_glyphs", "reads_word", "copies_word", "VOTE", "AA_PX", "MIN_COPIES",
           "LINE_SHARE", "READ_SHARE", "CUT_SHARE", "CUT_REACH"]

#: Share of the copies (those with glyphs in their mask) that must mark a frame pixel for
#: it to be the watermark's.
VOTE = 0.4
#: Growth (px) of the shared support before it is put back on the copies.
AA_PX = 2
#: Fewest tiles with glyphs the vote is taken over; fewer and the mask is left as it is.
MIN_COPIES = 4
#: A copy takes part in the vote when its mask holds at least this share of the median
#: copy's glyph pixels (a copy over a photo the matting found nothing on would only lower
#: every pixel's share).
MIN_GLYPHS = 0.25
#: Lattices whose copies agree within this of the best one are as good (:func:`_agreement`);
#: of those, the one with the most copies is taken.
AGREE_TOL = 0.03
#: A detected line near a lattice point is a copy of the watermark (read by the detector)
#: when at least this share of its mask pixels lie on the copies' shared support; a caption
#: over a copy has its own glyphs off it.
LINE_SHARE = 0.5
#: A detected line reads the watermark's word when at least this share of its letters and
#: digits are, in order, the word's repeated (:func:`reads_word`).
READ_SHARE = 0.6
#: Fewest letters and digits of the word the copies read for a line to be judged by it.
MIN_WORD = 3
#: A copy the frame's edge cuts is placed by its visible part (:func:`_place_cut`) when that
#: part holds at least this share of the shared support's pixels.
CUT_SHARE = 0.25
#: Farthest shift (frame px, along and across the text) :func:`_place_cut` tries.
CUT_REACH = 3


def _line_zone(shape, polygons, grow: float) -> np.ndarray:
    """Pixels within ``grow`` x each polygon's height of it (HxW bool)."""
    H, W = shape
    zone = np.zeros(shape, np.uint8)
    for p in polygons:
        p = np.asarray(p, np.float32).reshape(-1, 2)
        r = max(1, int(math.ceil(grow * min(cv2.minAreaRect(p)[1]))))
        x0, y0 = np.maximum(np.floor(p.min(0)).astype(int) - r - 1, 0)
        x1, y1 = np.minimum(np.ceil(p.max(0)).astype(int) + r + 2, [W, H])
        if x0 >= x1 or y0 >= y1:
            continue
        m = polygon_mask(p, (y1 - y0, x1 - x0), (x0, y0))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        zone[y0:y1, x0:x1] |= cv2.dilate(m, k)
    return zone > 0


def _copy_lines(regions, tiles, centres, u, n, half, mask, allowed, frames):
    """Indices of the detected lines (not tiles) that are copies of the watermark: centred
    within half a word along the text and half its height across of a lattice point (a
    line may read part of a copy), with :data:`LINE_SHARE` of their mask on ``allowed``;
    then also the lines that read the word those copies read (:func:`reads_word`) lying
    mostly on the copies' frames, whatever their mask (a copy whose matting took a photo
    object, a line read across two copies)."""
    out, near, polys = [], [], {}
    for i, r in enumerate(regions):
        if i in tiles:
            continue
        p = np.asarray(r.polygon, np.float64).reshape(-1, 2)
        x0, y0 = np.maximum(np.floor(p.min(0)).astype(int), 0)
        x1, y1 = np.ceil(p.max(0)).astype(int) + 1
        shape = (max(0, min(y1, mask.shape[0]) - y0), max(0, min(x1, mask.shape[1]) - x0))
        if not shape[0] * shape[1]:
            continue
        m = polygon_mask(p, shape, (x0, y0))
        sl = slice(y0, y0 + m.shape[0]), slice(x0, x0 + m.shape[1])
        polys[i] = sl, m > 0
        d = centres - p.mean(0)
        if not len(d) or not np.any((np.abs(d @ u) <= half[0]) & (np.abs(d @ n) <= half[1])):
            continue
        near.append(i)
        px = mask[sl] & (m > 0)
        if px.any() and (px & allowed[sl]).sum() >= LINE_SHARE * px.sum():
            out.append(i)
    word = copies_word([regions[i].text for i in out])
    for i, (sl, m) in polys.items():
        if i not in out and reads_word(regions[i].text, word) and (
                i in near or frames[sl][m].mean() >= LINE_SHARE):
            out.append(i)
    return out


def _key(text: str) -> str:
    """A reading's letters and digits, upper case."""
    return "".join(c for c in str(text).upper() if c.isalnum())


def copies_word(texts) -> str:
    """The word most of ``texts`` read (the longest of the most common), '' if none reads
    :data:`MIN_WORD` characters."""
    keys = Counter(k for k in map(_key, texts) if len(k) >= MIN_WORD)
    if not keys:
        return ""
    return max(keys, key=lambda k: (keys[k], len(k)))


def reads_word(text: str, word: str) -> bool:
    """Whether ``text`` reads the watermark's ``word``, in part or over several copies: at
    least :data:`READ_SHARE` of its letters and digits are, in order, the word's repeated
    ('PROGEPRO' or 'OPROO' over two copies of 'PROOF', 'POOF' for one); a caption over the
    watermark reads its own letters."""
    key, word = _key(text), _key(word)
    if len(key) < 2 or not word:
        return False
    rep = word * (len(key) // len(word) + 2)
    hit = sum(b.size for b in SequenceMatcher(None, key, rep, autojunk=False)
              .get_matching_blocks())
    return hit >= READ_SHARE * len(key)


def _align(S, ok, centres, u, n, ij):
    """Centres refined so the copies' masks line up: each copy's phase shift against the
    median mask of the copies with glyphs, refitted to a lattice ``c0 + i v1 + j v2``."""
    F = np.where(ok, S, 0.0).astype(np.float32)
    # whole copies only: one the frame's edge cuts pulls its shift towards the cut
    have = (F.sum(axis=(1, 2)) > 0) & (ok.mean(axis=(1, 2)) >= 0.95)
    if have.sum() < MIN_COPIES:
        return centres
    T = np.median(F[have], axis=0).astype(np.float32)
    if not T.any():
        T = F[have].mean(0).astype(np.float32)
    win = cv2.createHanningWindow(T.shape[::-1], cv2.CV_32F)
    moved = centres.copy()
    keep = np.zeros(len(centres), bool)
    for k in np.nonzero(have)[0]:
        (dx, dy), r = cv2.phaseCorrelate(T, F[k], win)
        if r > 0.05 and math.hypot(dx, dy) < 0.25 * T.shape[0]:
            moved[k] = centres[k] + dx * u + dy * n
            keep[k] = True
    X = np.column_stack([np.ones(len(ij)), ij])
    for _ in range(2):
        if keep.sum() < MIN_COPIES or np.linalg.matrix_rank(X[keep]) < 3:
            return centres
        beta, *_ = np.linalg.lstsq(X[keep], moved[keep], rcond=None)
        fit = X @ beta
        keep &= np.hypot(*(fit - moved).T) < 1.5
    return fit


def _place_cut(m32, centres, u, n, size_wh, shared):
    """Centres of the copies the frame's edge cuts moved by the whole-pixel shift (within
    :data:`CUT_REACH`) at which the copy's mask over its visible part agrees best with the
    ``shared`` support (intersection over union). :func:`_align` refines whole copies only,
    so a cut copy sits where the fitted lattice puts it, which may be a pixel or two off the
    copy drawn there: the strokes' edges would fall outside the support put back on it. A
    copy whose visible part holds less than :data:`CUT_SHARE` of the support keeps its
    place; so does one no shift fits better than where it is."""
    S = shared.astype(np.float32)
    total = float(S.sum())
    if not total:
        return centres
    r = CUT_REACH
    out = centres.copy()
    for k, c in enumerate(centres):
        F = _frames(m32, [c], u, n, size_wh)[0]
        vis = np.isfinite(F)
        if vis.mean() >= 0.95 or S[vis].sum() < CUT_SHARE * total:
            continue

        def iou(F):
            vis = np.isfinite(F)
            f = np.nan_to_num(F, nan=0.0) >= 0.5
            s = (S > 0) & vis
            return (f & s).sum() / max(int((f | s).sum()), 1)

        here = iou(F)
        best, at = here, (0, 0)
        for dy in range(-r, r + 1):
            for dx in range(-r, r + 1):
                if dx or dy:
                    v = iou(_frames(m32, [c + dx * u + dy * n], u, n, size_wh)[0])
                    if v > best:
                        best, at = v, (dx, dy)
        if best > here + 0.02:
            out[k] = c + at[0] * u + at[1] * n
    return out


def _lattice_choices(mask, centres):
    """Lattices (columns v1, v2, image px) the copies may repeat on: the tiles' own
    (:func:`seamline.ops.text.tile_copies.tile_lattice`) and those of the mask's own repetition
    (:mod:`seamline.ops.text.watermark`'s search, read on the mask) on which every tile
    centre lies.

    The tiles given may be a few copies at the frame's corners (detect-text leaves out the
    tiles a detected line holds, unblend-watermark those it took off): their differences
    are then multiples of the watermark's lattice vectors, and the copies between them
    would not be seen; a lattice finer than the watermark's (a word's letter-to-letter
    shift as one vector) fits the tiles too. :func:`shared_glyphs` keeps the one the
    copies agree best on."""
    from seamline.ops.text.watermark import (MIN_PERIOD, autocorrelation, candidate_lattices,
                                             lattice_peaks)

    own = tile_lattice(centres)
    out = [] if own is None else [own]
    H, W = mask.shape
    f = min(1.0, 512 / max(H, W))
    small = cv2.resize(mask.astype(np.float32), (max(8, round(W * f)), max(8, round(H * f))),
                       interpolation=cv2.INTER_AREA)
    if min(small.shape) < 3 * MIN_PERIOD or not small.any():
        return out
    R = autocorrelation(small)
    d = centres - centres[0]
    for v1, v2, _ in candidate_lattices(R, lattice_peaks(R)):
        # a vector may be a fraction of the watermark's (a letter-to-letter shift)
        for k1, k2 in ((1, 1), (1, 2), (2, 1), (1, 3), (3, 1), (1, 4), (4, 1)):
            B = np.stack([k1 * v1, k2 * v2], 1) / f
            if abs(np.linalg.det(B)) < 1e-6:
                continue
            ij = np.linalg.solve(B, d.T).T
            err = np.hypot(*(B @ (ij - np.round(ij)).T))
            if np.all(err < 0.15 * np.linalg.norm(B, axis=0).min()) and not any(
                    _same_lattice(B, C) for C in out):
                out.append(B)
    return out


def _same_lattice(B, C) -> bool:
    """Whether two bases (columns) span the same lattice: each one's vectors are integer
    combinations of the other's, within a tenth of a cell."""
    if abs(abs(np.linalg.det(B)) - abs(np.linalg.det(C))) > 0.1 * abs(np.linalg.det(C)):
        return False
    k = np.linalg.solve(C, B)
    return bool(np.all(np.abs(k - np.round(k)) < 0.1))


def _vote(m32, origin, B, u, n, size_wh, reach):
    """The copies at every lattice point of ``B`` through ``origin`` whose frame reaches into
    the image, aligned (:func:`_align`): (centres, share of the voting copies marking each
    frame pixel, copies voting per pixel, copies voting), or None."""
    H, W = m32.shape
    inv = np.linalg.inv(B)
    corners = np.float64([[0, 0], [W, 0], [0, H], [W, H]]) - origin
    lo = np.floor((corners @ inv.T).min(0)) - 1
    hi = np.ceil((corners @ inv.T).max(0)) + 1
    if np.prod(hi - lo + 1) > 4 * 400:
        return None  # a lattice that fine is not a watermark's
    ij = np.array([(i, j) for i in range(int(lo[0]), int(hi[0]) + 1)
                   for j in range(int(lo[1]), int(hi[1]) + 1)], np.float64)
    c = origin + ij @ B.T
    near = ((c[:, 0] > -reach) & (c[:, 0] < W + reach) & (c[:, 1] > -reach)
            & (c[:, 1] < H + reach))
    centres, ij = c[near], ij[near]
    S = _frames(m32, centres, u, n, size_wh)
    centres = _align(S, np.isfinite(S), centres, u, n, ij)
    S = _frames(m32, centres, u, n, size_wh)
    ok = np.isfinite(S)
    on = ok & (np.nan_to_num(S, nan=0.0) >= 0.5)
    glyphs = on.sum(axis=(1, 2))
    inside = ok.mean(axis=(1, 2)) >= 0.6
    has = inside & (glyphs > 0)
    ref = float(np.median(glyphs[has])) if has.any() else 0.0
    vote = has & (glyphs >= MIN_GLYPHS * ref)
    if vote.sum() < MIN_COPIES:
        return None
    count = ok[vote].sum(0)
    share = on[vote].sum(0) / np.maximum(count, 1)
    return centres, share, count, int(vote.sum())


def _agreement(share, count) -> float:
    """How crisply the copies agree: the mean share over the marked frame pixels, each
    weighted by its share (1 where every copy marks the same pixels; a wrong lattice
    smears the word over itself)."""
    s = share[count >= MIN_COPIES]
    return float(np.sum(s * s) / max(float(np.sum(s)), 1e-9))


def _frames(m32, centres, u, n, size_wh):
    """(N, h, w) ``m32`` resampled into the common frame at each centre, NaN outside."""
    return np.stack([cv2.warpAffine(m32, frame_to_image(c, u, n, size_wh), size_wh,
                                    flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_CONSTANT, borderValue=float("nan"))
                     for c in centres])


def shared_glyphs(mask: np.ndarray, image: np.ndarray, regions) -> tuple[np.ndarray, dict]:
    """``mask`` with the pixels near a tiled watermark's copies that the copies do not share
    dropped.

    Parameters
    ----------
    mask : ndarray, HxW bool
        The text mask (every region's pixels).
    image : ndarray, HxWx3 float32 in [0, 1]
        The photo the mask was read on (its size bounds the lattice).
    regions : sequence of TextRegion
        The regions the mask was read from; a tiled watermark's tiles among them are regions
        without text that are translated copies of one box (:func:`tile_regions`). Every
        lattice point is a copy, and so is a detected line centred on one that reads the
        watermark's word.

    Returns
    -------
    mask : ndarray, HxW bool
        A subset of ``mask``; ``mask`` itself when there is no vote to take.
    report : dict
        ``copies`` voting, ``shared_px`` (frame pixels kept), ``dropped_px``, or ``reason``
        why nothing was done.
    """
    mask = np.asarray(mask, bool)
    tiles = tile_regions(regions)
    if not tiles:
        return mask, {"copies": 0, "reason": "no tiles"}
    polys = [regions[i].polygon for i in tiles]
    centres, u, n, (ew, eh), box = tile_frame(polys, tile_angle(polys[0]))
    size_wh = (int(math.ceil(2 * ew)), int(math.ceil(2 * eh)))
    cands = _lattice_choices(mask, centres)
    if not cands:
        return mask, {"copies": 0, "reason": "the tiles are not on a 2-D lattice"}
    H, W = mask.shape
    m32 = mask.astype(np.float32)
    votes = [v for v in (_vote(m32, centres[0], B, u, n, size_wh, ew) for B in cands)
             if v is not None]
    if not votes:
        return mask, {"copies": 0, "reason": "too few copies with glyphs"}
    # the lattice the copies agree on best; of those about as good, the one with the most
    # copies (a lattice twice as coarse holds every other copy, as crisply)
    agree = [_agreement(*v[1:3]) for v in votes]
    top = max(agree)
    (centres, share, count, voting), agreement = max(
        ((v, a) for v, a in zip(votes, agree) if a >= top - AGREE_TOL), key=lambda va: va[0][3])
    shared = (share >= VOTE) & (count >= MIN_COPIES)
    centres = _place_cut(m32, centres, u, n, size_wh, shared)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * AA_PX + 1,) * 2)
    grown = cv2.dilate(shared.astype(np.uint8), k).astype(np.float32)
    allowed = np.zeros((H, W), bool)
    frames = np.zeros((H, W), bool)
    ones = np.ones(grown.shape, np.float32)
    for c in centres:
        at = copy_box(c, u, n, size_wh, (H, W), pad=1)
        if at is None:
            continue
        (x0, y0, x1, y1), Mk = at
        sl = slice(y0, y1), slice(x0, x1)
        allowed[sl] |= cv2.warpAffine(grown, Mk, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.25
        frames[sl] |= cv2.warpAffine(ones, Mk, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.5
    # a detected line that is not a copy keeps its own glyph mask
    copies = set(tiles) | set(_copy_lines(regions, set(tiles), centres, u, n, box, mask,
                                            allowed, frames))
    others = [r.polygon for i, r in enumerate(regions) if i not in copies]
    zone = frames & ~_line_zone(mask.shape, others, 0.35) if others else frames
    drop = mask & zone & ~allowed
    return mask & ~drop, {"copies": voting, "agreement": round(agreement, 3),
                          "lines_as_copies": len(copies) - len(tiles),
                          "shared_px": int(shared.sum()), "dropped_px": int(drop.sum())}
