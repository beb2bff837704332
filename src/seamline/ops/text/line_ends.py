"""The whole letters and words the detector's box left out past a line's end.

The detector's box often stops short of the last letter: it cuts it (the glyph mask keeps
text colour crossing a line's ends, ``glyph._line_ends``) or leaves it wholly outside (train
glow1: "studi" boxed, the "o" 4 px past the box's end, left whole in the cleaned image, and
the ghost judge, which reads inside the boxes, did not see it). On a tiny line it can stop a
word or more short (train: a light DejaVu Sans 14 px line over the rocket, its box cut two
words short; one letter was added and the last words stayed whole and readable).

:func:`extend_ends` walks past each end of every line along its axis, letter by letter: the
next connected pixels in the line's own ink colours (colours much more frequent inside the
box than in the photo just above and below it) that start within a word space of the ink
found so far, lie within the line's rows and look like text (tall and dense as the line's
letters), until none does, the frame or another line is reached, or ten box heights were
walked; that end then moves past them, so the mask, the fill and the judges all see the
letters. A letter the frame cuts is not whole and is left to the box; photo detail of the
ink's colour that leaves the line's rows (a pole, a lattice) stops the walk.
"""

from __future__ import annotations

from types import SimpleNamespace

import cv2
import numpy as np

from seamline.ops.polygons import line_rect

__all__ = ["extend_ends"]

_BINS = 8  # colour quantisation per channel (8^3 bins)
_LIFT = 4.0  # an ink colour: this x more frequent inside the box than in the band round it
_INK_MIN = 0.01  # ... and at least this share of the box's pixels
_LOOK = 1.0  # each step looks this many box heights past the ink found so far
_REACH = 10.0  # ... and all steps together at most this many box heights past the box's end
_GAP = 1.0  # a letter or word space: ink starting this x the text height past the last
# found joins (DejaVu Sans 14 px caps: 8 px between words, text height 9)
_OUT_ROWS = 0.1  # ... with at most this share of its pixels out of the line's rows (those
# are dropped: a letter touching a speck of the photo in the ink's colour still counts)
_TALL = 0.4  # a letter or word spans at least this x the text height across the line
_DENSE = (0.3, 3.0)  # ... and has this x the line's ink per text height of its length
_SAME_INK = 0.3  # ... and its colours' histogram overlaps the line's ink's at least this much
_ROWS_SLACK = 0.2  # a letter lies within the ink's rows +- this x the text height
_MIN_AREA = 0.25  # ... and has at least this share of a letter's worth of the line's ink
_PHOTO_MAX = 0.02  # the band above and below the looked-at strip: at most this share is ink


def _frame(poly):
    """centre, along-axis unit vector, half length, half height of the polygon's rectangle."""
    (cx, cy), (w, h), ang = line_rect(poly)
    t = np.deg2rad(ang)
    u = np.array([np.cos(t), np.sin(t)])
    if u[0] < 0 or (u[0] == 0 and u[1] < 0):
        u = -u
    return np.array([cx, cy]), u, w / 2, h / 2


def _next_letters(ln, sa, near, front, letter):
    """The whole letters of the line's ink that start within a word space past ``front``
    (along ``sa``, the crop's distance along the line towards the end walked), as one boolean
    mask of the crop, or None when there are none.

    ``ln``: the line's crop (colour bins ``Q``, distance across the line ``b``, the band
    ``above`` and below it where the photo's own colours are read, the ink's bins ``ink_bin``
    and their shares ``n_in`` of the box, the ink's colour histogram ``p_ink``, its ``rows``,
    text height ``th``, the box's half length ``hw``, the strip length ``look``, the walk's
    end ``reach``, and whether the crop's top, bottom, left, right edges are the photo's,
    ``frame``); ``near``: the crop's pixels that may be the line's (its rows' band, outside
    the box and other lines, not yet taken); ``letter``: the line's ink pixels per text
    height of its length."""
    Q, b, th, hw, reach, frame = ln.Q, ln.b, ln.th, ln.hw, ln.reach, ln.frame
    # the ink's colours the photo has above and below the looked-at strip (a glow's white
    # over a white rocket) are not looked for there
    strip = ln.above & (sa > front) & (sa <= front + ln.look)
    n_strip = np.bincount(Q[strip], minlength=_BINS ** 3) / max(strip.sum(), 1)
    ink = (ln.ink_bin & (n_strip <= _PHOTO_MAX * ln.n_in))[Q]
    # a piece starts within a word space of the ink found so far (or just past the box)
    gap = max(front + _GAP * th, hw + 0.5 * th)
    cand = ink & near & (sa > front) & (sa <= reach)
    # a thin letter of a tiny line falls apart in the colour bins (its anti-aliased pixels
    # are other colours): pieces a pixel apart are one letter, touching letters one piece
    joined = cv2.dilate(cand.astype(np.uint8), np.ones((3, 3), np.uint8))
    m, lab = cv2.connectedComponents(joined, connectivity=8)
    _, own = cv2.connectedComponents(cand.astype(np.uint8), connectivity=8)
    # only pieces that start within a word space can be taken (below): one mask each for
    # those, not for every speck of the ink's colour in the crop (a starry sky: ~900 of them)
    ks = np.unique(lab[cand & (sa <= gap)])
    pieces, keep = [(lab == k) & cand for k in ks[ks > 0]], []
    while pieces:
        sel = pieces.pop()
        if sel.sum() < _MIN_AREA * letter:
            continue
        if (sel & ~ln.rows).sum() > _OUT_ROWS * sel.sum():
            # reaching out of the line's rows: photo detail, or a letter the joining tied to
            # photo detail of the ink's colour a pixel away (a checkerboard): its own pieces
            ks = np.unique(own[sel])
            if len(ks) > 1:
                pieces.extend(own == k for k in ks)
            continue
        sel &= ln.rows  # (a letter joined to a speck of the photo's own ink colour keeps)
        sk = sa[sel]
        if sk.max() <= hw:
            continue  # not past the box
        if ((frame[0] and sel[0].any()) or (frame[1] and sel[-1].any())
                or (frame[2] and sel[:, 0].any()) or (frame[3] and sel[:, -1].any())):
            continue  # cut by the frame: not a whole letter (train mix 012, a rotated line
            # running out of the photo: its half "N" added, -2.6 dB)
        if sk.max() >= reach - 1:
            continue  # cut by the walk's end: not a whole letter
        bk = b[sel]
        dens = sel.sum() * th / max(float(sk.max() - sk.min()) + 1, 1.0)
        # a piece of a letter just past the box's end (its margin) is taken as it is; farther
        # on, where photo detail is likelier than the line, a piece must look like text
        first = sk.min() <= hw + 0.5 * th and sk.max() - sk.min() <= 1.5 * th
        if not first and (bk.max() - bk.min() < _TALL * th
                          or not _DENSE[0] * letter <= dens <= _DENSE[1] * letter):
            continue  # not text-like: a flat photo edge, a thin line or a blob of the colour
        if sk.min() > gap:
            continue  # a gap wider than a word space: not this line's
        p_sel = np.bincount(Q[sel], minlength=_BINS ** 3) / sel.sum()
        if np.minimum(p_sel, ln.p_ink).sum() < _SAME_INK:
            continue  # another mix of the ink's colours: a light plate the box grazed
            # (train mix 008: "family" boxed with a corner of a badge, the badge added)
        keep.append(sel)
    return np.logical_or.reduce(keep) if keep else None


def extend_ends(image: np.ndarray, regions: list) -> tuple[list, list[dict]]:
    """``regions`` with each line's end moved past the whole letters of its ink left outside
    the box, and a record per moved end (``index``, ``end`` +1/-1 along the line, ``px`` of
    ink, ``by_px``, ``steps`` of the walk). Regions are the detector's :class:`TextRegion`;
    the text is unchanged."""
    H, W = image.shape[:2]
    polys = [np.asarray(r.polygon, np.float32).reshape(-1, 2) for r in regions]
    out, notes = list(regions), []
    for i, poly in enumerate(polys):
        if len(poly) < 3:
            continue
        c, u, hw, hh = _frame(poly)
        if hw < 1.5 * hh or hh < 4:
            continue  # a single glyph or a vertical line: no end to look past
        v = np.array([-u[1], u[0]])
        reach = hw + _REACH * 2 * hh
        corners = np.array([c + s * reach * u + r * 2 * hh * v for s in (-1, 1) for r in (-1, 1)])
        x0, y0 = np.floor(corners.min(0)).astype(int)
        x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        a = (xx - c[0]) * u[0] + (yy - c[1]) * u[1]
        b = (xx - c[0]) * v[0] + (yy - c[1]) * v[1]
        q = np.minimum((image[y0:y1, x0:x1] * _BINS).astype(np.int32), _BINS - 1)
        Q = (q[..., 0] * _BINS + q[..., 1]) * _BINS + q[..., 2]  # colour bin per pixel
        inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [np.round(poly - [x0, y0]).astype(np.int32)], 1)
        inside = inside > 0
        others = np.zeros_like(inside, dtype=np.uint8)
        for j, p in enumerate(polys):
            if j != i:
                cv2.fillPoly(others, [np.round(p - [x0, y0]).astype(np.int32)], 1)
        band = (np.abs(b) > hh) & (np.abs(b) <= 2 * hh) & (np.abs(a) <= hw) & (others == 0)
        if inside.sum() < 50 or band.sum() < 50:
            continue
        n_in = np.bincount(Q[inside], minlength=_BINS ** 3) / inside.sum()
        n_band = np.bincount(Q[band], minlength=_BINS ** 3) / band.sum()
        ink_bin = (n_in >= _INK_MIN) & (n_in >= _LIFT * (n_band + 1e-3))
        if not ink_bin.any():
            continue
        new = poly.copy()
        # the line's ink inside the box: its colours, its rows, its extent along the line, and
        # its pixels per text height of length (a letter's worth; a glow joins the letters)
        ink_in = ink_bin[Q] & inside & (others == 0)
        if ink_in.sum() < 20:
            continue
        p_ink = np.bincount(Q[ink_in], minlength=_BINS ** 3) / ink_in.sum()
        b_lo, b_hi = np.percentile(b[ink_in], [1, 99])
        th = max(b_hi - b_lo, 1.0)
        rows = (b >= b_lo - _ROWS_SLACK * th) & (b <= b_hi + _ROWS_SLACK * th)
        near = (np.abs(b) <= 2 * hh) & ~inside & (others == 0)
        above = (np.abs(b) > hh) & (np.abs(b) <= 2 * hh) & (others == 0)
        ln = SimpleNamespace(Q=Q, b=b, above=above, ink_bin=ink_bin, n_in=n_in, p_ink=p_ink,
                             rows=rows, th=th, hw=hw, look=2 * hh * _LOOK, reach=reach,
                             frame=(y0 == 0, y1 == H, x0 == 0, x1 == W))
        for s in (1, -1):
            sa = s * a
            ends = sa[ink_in]
            letter = float(ink_in.sum()) * th / max(float(ends.max() - ends.min()), th)
            front, taken, steps = float(ends.max()), np.zeros_like(inside), 0
            while True:
                sel = _next_letters(ln, sa, near & ~taken, front, letter)
                if sel is None:
                    break
                taken |= sel
                front = max(front, float(sa[sel].max()))
                steps += 1
            if not steps:
                continue
            # the box's margin past the ink at its other end (the detector's unclip)
            margin = max(hw + ends.min(), 2.0)
            by = float(front + margin - hw)
            if by <= 0:
                continue
            pa = (poly - c) @ u
            new = np.where((s * pa > 0)[:, None], new + s * by * u, new).astype(np.float32)
            notes.append({"index": i, "end": s, "px": int(taken.sum()), "by_px": round(by, 1),
                          "steps": steps})
        if not np.array_equal(new, poly):
            r = regions[i]
            out[i] = type(r)(new, r.text, r.score)
            polys[i] = new  # the next lines see this one's new end: one word, one line
    return out, notes
