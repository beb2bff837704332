"""A whole letter the detector's box left out past a line's end.

The detector's box often stops short of the last letter: it cuts it (the glyph mask keeps
text colour crossing a line's ends, ``glyph._line_ends``) or leaves it wholly outside (train
glow1: "studi" boxed, the "o" 4 px past the box's end, left whole in the cleaned image, and
the ghost judge, which reads inside the boxes, did not see it); a letter the frame cuts is
not whole and is left to the box. :func:`extend_ends` looks one
box height past each end of every line, along its axis, for connected pixels in the line's
own ink colours (colours much more frequent inside the box than in the photo just above and
below it) that sit within the line's rows like a letter, and moves that end past them, so the
mask, the fill and the judges all see the letter.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.polygons import line_rect

__all__ = ["extend_ends"]

_BINS = 8  # colour quantisation per channel (8^3 bins)
_LIFT = 4.0  # an ink colour: this x more frequent inside the box than in the band round it
_INK_MIN = 0.01  # ... and at least this share of the box's pixels
_LOOK = 1.0  # look this many box heights past each end
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


def extend_ends(image: np.ndarray, regions: list) -> tuple[list, list[dict]]:
    """``regions`` with each line's end moved past a whole letter of its ink left outside the
    box, and a record per moved end (``index``, ``end`` +1/-1 along the line, ``px`` of ink,
    ``by_px``). Regions are the detector's :class:`TextRegion`; the text is unchanged."""
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
        reach = hw + _LOOK * 2 * hh
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
        for s in (1, -1):
            sa = s * a
            past = (sa > hw) & (sa <= reach) & ~inside
            # the ink's colours the photo has above and below the looked-at strip (a glow's
            # white over a white rocket) are not looked for there
            strip_band = ((sa > hw) & (sa <= reach) & (np.abs(b) > hh) & (np.abs(b) <= 2 * hh)
                          & (others == 0))
            n_strip = np.bincount(Q[strip_band], minlength=_BINS ** 3) / max(strip_band.sum(), 1)
            ink = (ink_bin & (n_strip <= _PHOTO_MAX * n_in))[Q] & (others == 0)
            ink_in = ink & inside
            if ink_in.sum() < 20 or not (ink & past).any():
                continue
            # the line's ink in those colours: its rows, its extent along the line, and its
            # pixels per text height of length (a letter's worth; a glow joins the letters)
            b_lo, b_hi = np.percentile(b[ink_in], [1, 99])
            th = max(b_hi - b_lo, 1.0)
            ends = sa[ink_in]
            letter = float(ink_in.sum()) * th / max(float(ends.max() - ends.min()), th)
            rows = (b >= b_lo - _ROWS_SLACK * th) & (b <= b_hi + _ROWS_SLACK * th)
            cand = ink & (sa > ends.max()) & (sa <= reach) & (np.abs(b) <= 2 * hh) & ~inside
            m, lab2, st2, _ = cv2.connectedComponentsWithStats(cand.astype(np.uint8), 8)
            keep = []
            for k in range(1, m):
                if st2[k, cv2.CC_STAT_AREA] < _MIN_AREA * letter:
                    continue
                sel = lab2 == k
                if not (sel & past).any() or (sel & ~rows).any():
                    continue  # not past the box, or reaching out of the line's rows
                if ((y0 == 0 and sel[0].any()) or (y1 == H and sel[-1].any())
                        or (x0 == 0 and sel[:, 0].any()) or (x1 == W and sel[:, -1].any())):
                    continue  # cut by the frame: not a whole letter (train mix 012, a
                    # rotated line running out of the photo: its half "N" added, -2.6 dB)
                sk = sa[sel]
                if sk.max() >= reach - 1 or sk.max() - sk.min() > 1.5 * th:
                    continue  # cut by the look's end or longer than a letter: a photo edge
                if sk.min() > hw + 0.5 * th:
                    continue  # a gap of a space or more: another word, not this line's
                keep.append(sel)
            if not keep:
                continue
            sel = np.logical_or.reduce(keep)
            # the box's margin past the ink at its other end (the detector's unclip)
            margin = max(hw + ends.min(), 2.0)
            by = float(sa[sel].max() + margin - hw)
            if by <= 0:
                continue
            pa = (poly - c) @ u
            new = np.where((s * pa > 0)[:, None], new + s * by * u, new).astype(np.float32)
            notes.append({"index": i, "end": s, "px": int(sel.sum()), "by_px": round(by, 1)})
        if not np.array_equal(new, poly):
            r = regions[i]
            out[i] = type(r)(new, r.text, r.score)
    return out, notes
