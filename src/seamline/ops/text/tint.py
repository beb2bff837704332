"""Removed letters that still show as a tint: a fill shaded like the ink the rim kept.

A semi-transparent watermark (the demo's white "SAMPLE" over a red saucer) leaves two things
the other looks miss. Its anti-aliased rim, a pixel or two outside a mask that hugs the
strokes, keeps a little of the white; a fill that continues the photo from the hole's border
(FSR, Telea) carries that white into the hole, and every letter comes back as a paler copy
of itself: too faint to read, too letter-shaped not to see on a smooth saucer. Where the
mask covered a letter only in part (the "A"'s leg over the spoon's handle), the stroke left
beside the hole tints the fill the same way.

This look asks, letter by letter (connected pieces of what was removed), whether the cleaned
image still leans towards the removed ink there. The photo under a letter is estimated from
the untouched photo around it (a normalised Gaussian average of the cleaned image over
pixels more than ``RIM_PX`` from the mask, at the scale of the stroke), so a gradient or an
edge through the letter is the estimate's, not a tint. Along the ink's colour direction
``d`` (the mean removed change of that ink, unit length), a letter is **tinted** when the
median of ``(cleaned - estimate) . d`` over that ink's pixels of the letter is at least
``MIN_TINT``, ``TINT_SHARE`` of the ink's own strength there, and ``TINT_Z`` times the spread
of the same figure, smoothed at half the stroke width, on the untouched photo around the
letter (a busy photo hides a tint and has a wide spread; speckle finer than a stroke
averages out over a letter, for the eye too).

Only letter-sized pieces are judged. A piece wider or taller than ``MAX_LETTER`` text
heights is letters the mask merged (the fill loop grew it over a tinted rim, an outline or a
glow): its letters are the removed ink in it, which stays apart where the mask did not, and
those are judged (before, the merged piece was not judged at all: after two regrowths the
demo's watermark letters merged and the look went silent while the "S" was still pale).
An outlined caption (a white fill in a black outline: two inks) fails the other way too. A
mask that misses the outline's outer pixel or two leaves a black rim round the hole; the fill
carries it inward and the white letters come back as dark letter shapes a person reads (a
held-out meme, "ELLO E"). Each ink measured over its own pixels sees nothing: the white
ink's pixels lean away from white, and the outline's pixels, filled black, no longer count
as removed black. So a letter is also tinted when its fill leans **crossed**: over one ink's
pixels towards the other ink (``CROSS_SHARE`` of its strength, at least ``CROSS_MIN_INK``
strong, above the photo's spread as above), with the mask's rim round the letter leaning
the same way (``CROSS_RIM``: the ink left there; a perfect removal leaves photo). Words whose
outlines touch stay one piece through both inks; each ink's pixels of such a piece are split
apart and judged for the crossed lean only (``benchmarks/rim_residue_check.py``).

A region is flagged when tinted letters hold ``MIN_TINTED_SHARE`` of the removed pixels (and
``MIN_TINTED_PX``). The residue returned, for the fill loop to grow over, is the rim
(``RIM_PX``) of the tinted letters: refilled from the photo beyond it, the fill no longer
inherits the ink. (Ink left far from the mask is the leftover look's:
:mod:`seamline.ops.text.leftover`.)

Thresholds were set on the training split only (``benchmarks/tint_judge_check.py``: train
photos with drawn text, the clean photo and exact-mask Telea fills as perfect removals,
untouched photos under a text mask; the demo's watermark). numpy and OpenCV only.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.masks import ellipse_kernel as _disk

__all__ = ["tinted_fill", "TINT_FIGURES", "TINT_REASON"]

#: Pixels outside the mask that count as its rim (anti-aliased ink stays there). With the
#: loop's own 1 px of growth the refill's hole grows 2 px: the demo's watermark leaves ink on
#: 16 % of the first ring out and 2 % of the second. At 2 (3 px of growth) the hole grew so
#: wide that FSR left a seam along it, and the smear ladder's exemplar fill then copied the
#: table's wood onto the saucer.
RIM_PX = 1
#: Smallest tint (along the ink direction, [0, 1] units) a letter's fill must show.
MIN_TINT = 0.012
#: ... and this share of the ink's own strength on that letter.
TINT_SHARE = 0.04
#: ... and this many times the spread of the same figure on the photo around the letter.
TINT_Z = 1.8
#: Removed ink weaker than this (along its direction) is too faint to judge.
MIN_INK = 0.03
#: Letters (connected removed pieces) smaller than this are not judged ...
MIN_LETTER_PX = 12
#: ... nor pieces wider or taller than this many text heights: letters the mask merged
#: into one piece (outlines, glows, shadows), where the photo under the whole line (a
#: brick wall's mortar line along it) is not what the photo around it predicts.
MAX_LETTER = 1.5
#: Flag when tinted letters hold this share of the removed pixels ... (train split: at most
#: 0.034 on perfect removals, 0.115 on exact-mask Telea but one datestamp over stripes, 0.082
#: on untouched photos; the demo's first fill 0.14-0.37 as its mask varies)
MIN_TINTED_SHARE = 0.13
#: ... and at least this many pixels.
MIN_TINTED_PX = 60
#: An outlined letter (two inks) is also tinted where its fill, over one ink's pixels, leans
#: towards the other ink by this share of that ink's strength (the line's mean removed ink):
#: the outline's outer rim a mask left, grown over the white fill's pixels by the fill, shows
#: as dark letter shapes (benchmarks/rim_residue_check.py).
CROSS_SHARE = 0.25
#: ... and the mask's rim round the letter leans towards it by this share of that bar
#: (0.25 and 0.5 flag the same 12 of the 38 rim lines there; without the rim's lean, and
#: with split pieces judged for their own ink too, 17, but tint_judge_check.py's perfect
#: removals and exact-mask fills of train captions flagged 4 and 2 more lines)
CROSS_RIM = 0.25
#: ... towards an ink at least this strong (the line's mean removed change over it, Euclidean
#: RGB in [0, 1] units): a caption's outline against the photo (train rim analogues:
#: 0.76-1.3). An untouched photo "cleaned" under a text mask, whose "inks" are its texture,
#: leaned as far on 7 of 38 lines at ink strengths of 0.05-0.42.
CROSS_MIN_INK = 0.5
#: The figures a verdict carries (for the manifest and the QA report).
TINT_FIGURES = ("tinted_px", "removed_px", "letters", "tinted_letters", "tint")
#: How the ghost judge's reason for a tint flag begins (QA names the look by it).
TINT_REASON = "letters still tinted"


def _robust_spread(x: np.ndarray) -> float:
    if x.size < 8:
        return float("inf")
    return 1.4826 * float(np.median(np.abs(x - np.median(x))))


def _letter_spread(x: np.ndarray, ring: np.ndarray, stroke: float) -> float:
    """The photo's own swing at a letter's scale: ``x`` (crop, float32) smoothed over half a
    stroke (speckle finer than a stroke averages out over a letter, as it does for the eye),
    its robust spread over ``ring`` (bool), plus one 8-bit level."""
    smooth = cv2.GaussianBlur(np.ascontiguousarray(x), (0, 0), max(1.0, 0.5 * stroke))
    return _robust_spread(smooth[ring]) + 1.0 / 255


def _crossed(D, dev, hole, around, dirs, strengths, stroke):
    """An outlined letter (two inks) whose fill leans towards one ink over the other ink's
    pixels, that ink left on the mask's rim beside it: ``(tinted, lean, pixels)`` for the
    strongest such lean (None when neither ink holds ``MIN_LETTER_PX`` of the letter).
    ``D``: original minus cleaned; ``dev``: cleaned minus the photo's estimate (crop, 3
    channels); ``around()``: the photo around the letter and the unedited pixels next to the
    mask round it (boolean, the crop's), made only for a letter that leans."""
    best = None
    for a, b in ((0, 1), (1, 0)):
        if strengths[b] < CROSS_MIN_INK:
            continue  # ink b is no caption's outline (the photo's texture under a mask)
        pix = hole & (D @ dirs[a] >= MIN_INK)  # ink a's pixels of the letter
        if pix.sum() < MIN_LETTER_PX:
            continue
        lean_b = np.ascontiguousarray(dev @ dirs[b])
        lean = float(np.median(lean_b[pix]))
        bar = max(MIN_TINT, CROSS_SHARE * strengths[b])
        tinted = False
        if lean >= bar:
            ring, rim = around()
            # the fill grew from ink b left on the rim: a perfect removal leaves photo there
            if rim.sum() >= MIN_LETTER_PX and float(np.median(lean_b[rim])) >= CROSS_RIM * bar:
                tinted = lean >= TINT_Z * _letter_spread(lean_b, ring, stroke)
        if best is None or (tinted, lean) > best[:2]:
            best = (tinted, lean, pix)
    return best


def tinted_fill(O: np.ndarray, C: np.ndarray, changed: np.ndarray, band: np.ndarray, *,
                text_height: float) -> tuple[dict, np.ndarray]:
    """Letters of one text line whose removal still shows as a tint.

    Parameters
    ----------
    O, C : ndarray, shape (h, w, 3), float32 in [0, 1]
        A crop of the original and of the cleaned image around one text line.
    changed : ndarray, shape (h, w), bool
        The pixels that were edited (the fill mask).
    band : ndarray, shape (h, w), bool
        The line and its margin: the letters judged are the removed pixels in it.
    text_height : float, keyword-only
        The line's height, px: a removed piece wider than ``MAX_LETTER`` of it is a line
        whose letters the mask merged (an outline, a glow): split into letters through
        the removed ink first (``split``), judged as those letters.

    Returns
    -------
    figures : dict
        ``judged`` (False when too little ink was removed), ``flagged``, ``split`` (where
        pieces the mask merged were split into their ink: how many), ``tinted_px``
        (removed pixels of tinted letters), ``removed_px``, ``letters`` (judged),
        ``tinted_letters``, ``tint`` (largest letter tint along its ink, [0, 1] units);
        where measured, ``split_inks`` (merged pieces of two inks split per ink: how many)
        and ``crossed`` (the largest crossed lean, [0, 1] units). JSON-serialisable.
    residue : ndarray, shape (h, w), bool
        The rim of the tinted letters: where the fill should reach.
    """
    out: dict = {"judged": False, "flagged": False, "tinted_px": 0, "removed_px": 0,
                 "letters": 0, "tinted_letters": 0, "tint": 0.0}
    residue = np.zeros(band.shape, bool)
    removed = changed & band
    out["removed_px"] = int(removed.sum())
    if out["removed_px"] < 24:
        return out, residue
    D = O - C
    Dr = D[removed]
    # the inks: the removed change's principal colour direction, each sign on its own (a
    # white fill and its black outline are two inks)
    _, _, vt = np.linalg.svd(Dr - Dr.mean(0), full_matrices=False)
    p = Dr @ vt[0]
    strong = np.abs(p) >= 0.5 * float(np.quantile(np.abs(p), 0.9))
    dirs, strengths = [], []
    for side in (p > 0, p < 0):
        sel = strong & side
        if sel.sum() >= max(12, 0.1 * strong.sum()):
            m = Dr[sel].mean(0)
            if float(np.linalg.norm(m)) >= MIN_INK:
                dirs.append((m / np.linalg.norm(m)).astype(np.float32))
                strengths.append(float(np.linalg.norm(m)))
    if not dirs:
        return out, residue
    # stroke width of what was removed (2 area / boundary): the scale of the estimate
    m8 = removed.astype(np.uint8)
    edge = int((m8 - cv2.erode(m8, np.ones((3, 3), np.uint8))).sum())
    stroke = float(np.clip(2.0 * m8.sum() / max(edge, 1), 1.0, 40.0))
    # the photo under the letters: untouched pixels beyond the rim, averaged at the
    # stroke's scale (normalised convolution: the mask's pixels carry no weight)
    near_mask = cv2.dilate(changed.astype(np.uint8), _disk(RIM_PX)) > 0
    known = (~near_mask).astype(np.float32)
    sigma = max(2.0, stroke)
    # the estimate and its weight are made when a letter first reads them: a line whose
    # pieces are all too small, too big or inkless reads neither (7 of the 36 calls on the
    # timing cases, the heaviest among them: a 3-channel blur at sigma up to 40 px)
    wsum = est = trusted = None

    def photo_estimate():
        nonlocal est
        if est is None:
            est = (cv2.GaussianBlur(C * known[..., None], (0, 0), sigma)
                   / np.maximum(wsum, 1e-4)[..., None])
        return est

    n, lab, st, _ = cv2.connectedComponentsWithStats(m8, connectivity=8)
    merged = [c for c in range(1, n) if max(st[c, 2], st[c, 3]) > MAX_LETTER * text_height]
    first_ink_piece = None  # pieces from here on: one ink's pixels of outlined letters
    if merged:
        # pieces the mask merged (the fill loop grew it over a rim, an outline's mask): their
        # letters are the removed ink in them, which stays apart where the mask did not
        inky = np.zeros(removed.shape, bool)
        for d in dirs:
            inky |= D @ d >= MIN_INK
        big = np.isin(lab, merged)
        m8 = ((removed & ~big) | (big & inky)).astype(np.uint8)
        n, lab, st, _ = cv2.connectedComponentsWithStats(m8, connectivity=8)
        out["split"] = len(merged)
        still = [c for c in range(1, n) if max(st[c, 2], st[c, 3]) > MAX_LETTER * text_height]
        if still and len(dirs) == 2:
            # outlined letters whose outlines touch stay merged through their two inks:
            # each ink's pixels of those pieces apart (a white fill's letters are apart)
            big = np.isin(lab, still)
            lab, first_ink_piece = np.where(big, 0, lab), n
            for d in dirs:
                n_d, lab_d, st_d, _ = cv2.connectedComponentsWithStats(
                    (big & (D @ d >= MIN_INK)).astype(np.uint8), connectivity=8)
                lab = np.where(lab_d > 0, lab_d + (n - 1), lab)
                st = np.vstack([st, st_d[1:]])
                n += n_d - 1
            out["split_inks"] = len(still)
    r_ring = RIM_PX + int(np.ceil(stroke)) + max(3, int(np.ceil(stroke)))  # photo around
    for c in range(1, n):
        if (st[c, cv2.CC_STAT_AREA] < MIN_LETTER_PX
                or max(st[c, 2], st[c, 3]) > MAX_LETTER * text_height):
            continue
        x, y, w, h = st[c, :4]
        y0, y1 = max(0, y - r_ring), min(band.shape[0], y + h + r_ring)
        x0, x1 = max(0, x - r_ring), min(band.shape[1], x + w + r_ring)
        sl = (slice(y0, y1), slice(x0, x1))
        if trusted is None:
            wsum = cv2.GaussianBlur(known, (0, 0), sigma)
            trusted = wsum > 0.05  # enough photo nearby to estimate from
        hole = (lab[sl] == c) & trusted[sl]
        if hole.sum() < MIN_LETTER_PX:
            continue
        h8 = hole.astype(np.uint8)
        ring = None
        best = None
        # one ink's pixels of an outlined letter: judged for a crossed lean only
        for d in dirs if first_ink_piece is None or c < first_ink_piece else ():
            # this ink's pixels of the letter (an outlined letter holds two inks)
            ink = hole & (D[sl] @ d >= MIN_INK)
            if ink.sum() < MIN_LETTER_PX:
                continue
            est = photo_estimate()
            s = float(np.median(D[sl][ink] @ d))
            dev = (C[sl] - est[sl]) @ d
            tint = float(np.median(dev[ink]))
            bar = max(MIN_TINT, TINT_SHARE * s)
            tinted = False
            if tint >= bar:  # below it no spread makes the letter tinted: not measured
                if ring is None:
                    ring = (cv2.dilate(h8, _disk(r_ring)) > 0) & ~near_mask[sl]
                tinted = tint >= max(bar, TINT_Z * _letter_spread(dev, ring, stroke))
            if best is None or (tinted, tint) > best[:2]:
                best = (tinted, tint, ink)
        if (len(dirs) == 2 and max(strengths) >= CROSS_MIN_INK
                and not (best is not None and best[0])):
            # an outlined letter's fill grown from the other ink (the outline's rim the
            # mask left, carried over the white fill's pixels: dark letter shapes)
            def around(h8=h8, sl=sl):
                near = cv2.dilate(h8, _disk(r_ring)) > 0
                return near & ~near_mask[sl], near & near_mask[sl] & ~changed[sl]

            crossed = _crossed(D[sl], C[sl] - photo_estimate()[sl], hole, around, dirs,
                               strengths, stroke)
            if crossed is not None:
                if best is None or crossed[:2] > best[:2]:
                    best = crossed
                out["crossed"] = max(out.get("crossed", 0.0), round(float(crossed[1]), 4))
        if best is None:
            continue
        tinted, tint, _ = best
        out["letters"] += 1
        out["tint"] = max(out["tint"], round(tint, 4))
        if tinted:
            out["tinted_letters"] += 1
            out["tinted_px"] += int(best[2].sum())
            rim = (cv2.dilate(h8, _disk(RIM_PX)) > 0) & ~changed[sl]
            residue[sl] |= rim
    if out["letters"] == 0:
        return out, np.zeros(band.shape, bool)
    out["judged"] = True
    tinted_ok = (out["tinted_px"] >= MIN_TINTED_PX
                 and out["tinted_px"] >= MIN_TINTED_SHARE * out["removed_px"])
    out["flagged"] = bool(tinted_ok)
    if not out["flagged"]:
        residue[:] = False
    return out, residue
