"""A camera date's mask from its redness (CIE a*) or yellowness (b*), where that sets its ink
apart best.

Orange camera-date digits over golden grass are of the grass's lightness and nearly its hue:
the glyph mask's colour matte (:mod:`seamline.ops.text.glyph`) judges them against a noise
floor the grass's texture sets high, and takes half their strokes or the grass between them
(train ``benchmarks/datestamp_check.py`` analogues ds0, ds4, ds12, ds20, ds38 found by the
redness corner pass, :mod:`seamline.ops.text.datestamp`, main cf2b537: inside the date's box
text-mask's mask held 39-72% of the drawn ink at a precision of 0.41-0.94; ds4 kept "20",
ds38's box was filled whole). Their a* alone splits them from the grass: Otsu on the box's
a* takes only ink (precision 1.00, recall 0.43-0.69), and the ink's anti-aliased edge is
the pixels a* lifts a third of the way from the photo's level to the ink's, joined to that
core (recall 0.57-0.74 at precision 0.99-1.00; with the normaliser's 1 px, 0.79-1.00 at
0.77-1.00). Over all 40 analogues (remove-text, main cf2b537 vs text-mask v67 in one window):
PSNR in the text region 1056.05 -> 1128.52 dB summed (25 better, 3 worse by 1.0-1.4 dB:
ds1, ds13, ds25, dates over smooth golden photos), far px 17447 -> 11595, ghost words and
QA failures 0 on both.

:func:`chroma_ink` builds that mask for a line read as a date (``datestamp.looks_like_date``)
centred in the bottom-right corner a camera prints its date in (a poster's "2024" elsewhere,
white ringed in red, split on a* to its ring alone: review40) whose box splits more cleanly on a* than on L* and b* (the Otsu classes' distance over their
spread). Split on b* where b* split best, 4 of the 8 dates so taken lost (ds9 7.1 dB and a
QA failure, ds35 5.4 dB, ds7 a ghost word): yellow-orange digits over a smooth or dark photo,
which the matte had taken whole. So b* is the split only for ink yellower and *less* red
than its ground, which a* cannot lift: yellow digits over orange-and-green grass
(``datestamp_check.py --family mixed``, text-mask v69 with detect-text v18 vs main 0e9c6f9 in
one window, the 11 of 40 cases whose mask or detection changed: PSNR in the text region
323.83 -> 345.82 dB summed (dy11 +9.3, dy39 +8.0, dy14 +6.0; dy16 -1.0, five others -0.05 to
-0.54), far px 505 -> 906 (dy4 a yellow band where the grass turns from green to orange,
dy11 a 353 px block of the yellower ground beside the last digit, filled smooth), ghost
words and QA failures 0 on both; the golden analogues' and the 36-case mix's masks
unchanged). :func:`chroma_lines` puts the mask in text-mask's in place
of what the matte and the segmenter found in the line's polygon and the margin round it
(train ds38: a 290 px grass blade beside the last digit, > 8 px from the ink); other lines
keep theirs.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.io import to_uint8
from seamline.ops.polygons import polygon_box_mask, polygon_mask

__all__ = ["EDGE_SHARE", "MAX_B_OVER_A", "MIN_STEP", "chroma_ink", "chroma_lines"]

#: The ink's edge: pixels joined to the Otsu core whose chroma lies at least this share of
#: the way from the photo's median to the ink's (train ds0-ds38: 0.5 recall 0.43-0.65, 0.35
#: 0.57-0.74, 0.25 0.65-0.81 but ds38's precision 0.99 -> 0.84: the grass's own redder blades).
EDGE_SHARE = 0.35
#: Levels (8-bit Lab) the ink's median chroma must stand from the photo's in the box (train
#: dates: 11-42); a grey date over grey photo splits on noise.
MIN_STEP = 8.0
#: The a* core's step from the photo on b* may be at most this many times its step on a*
#: (train mix 018, yellow digits over the grey skimage cell: b* 76, a* 15 levels, its split
#: took 66% of the ink, pipe PSNR 38.97 -> 38.20 dB; the golden-grass dates 0.4-3.6 times,
#: ds13 3.6 with a 1.4 dB loss, ds16 3.6 with a 6.7 dB gain).
MAX_B_OVER_A = 4.0


def _split(values):
    """Otsu split of 8-bit ``values`` (1-D): (threshold, minority side is above it,
    distance of the classes' means over their pooled spread)."""
    v = values.astype(np.uint8).reshape(-1, 1)
    t, _ = cv2.threshold(v, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    hi = values > t
    above = hi.sum() <= hi.size / 2
    a, b = values[hi], values[~hi]
    if a.size < 2 or b.size < 2:
        return t, above, 0.0
    return t, above, float(abs(a.mean() - b.mean()) / (np.sqrt((a.var() + b.var()) / 2) + 1e-6))


def _in_corner(polygon, shape) -> bool:
    """Whether ``polygon``'s centre lies in the bottom-right corner a camera prints its date
    in (:data:`~seamline.ops.text.datestamp.CORNER_W` x ``CORNER_H`` of the frame ``shape``).
    A year elsewhere (a poster's white "2024" ringed in red, review40) is no camera date: its
    a* split holds its red ring only, and the mask lost its fill."""
    from seamline.ops.text.datestamp import CORNER_H, CORNER_W

    x, y = np.asarray(polygon, np.float32).mean(0)
    return bool(x >= shape[1] * (1 - CORNER_W) and y >= shape[0] * (1 - CORNER_H))


def chroma_ink(image, region):
    """The ink of a date line ``region`` from the chroma channel that splits its box best, or
    None.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    region : TextRegion
        The line; only one whose text ``datestamp.looks_like_date`` is looked at.

    Returns
    -------
    ndarray, shape (H, W), bool, or None
        The ink inside the line's polygon (the Otsu core on a*, or on b* for yellow ink less
        red than its ground, plus its edge, :data:`EDGE_SHARE`); None when the line is no
        date, splits as well on L*, its core is empty (flat ink less red than the photo,
        all at the split's level) or its ink stands less than :data:`MIN_STEP` from the
        photo.
    """
    from seamline.ops.text.datestamp import looks_like_date

    if not looks_like_date(region.text) or not _in_corner(region.polygon, image.shape[:2]):
        return None
    box, inside = polygon_box_mask(region.polygon, image.shape[:2])
    if inside.sum() < 16:
        return None
    lab = cv2.cvtColor(to_uint8(image[box]), cv2.COLOR_RGB2LAB).astype(np.float32)
    splits = [_split(lab[..., c][inside]) for c in range(3)]
    c = 1 if splits[1][2] >= splits[2][2] else 2
    t, above, sep = splits[c]
    if sep <= splits[0][2] or (c == 2 and not above):
        return None
    ch = lab[..., c] if above else -lab[..., c]
    t = t if above else -t
    core = inside & (ch > t)
    if not core.any():  # the ink is the lower class, all at Otsu's level: flat, no soft edge
        return None
    ink, photo = float(np.median(ch[core])), float(np.median(ch[inside & ~core]))
    steps = np.median(lab[core], 0) - np.median(lab[inside & ~core], 0)
    if ink - photo < MIN_STEP:
        return None
    # yellow ink over a grey photo is no red ink: its a* split is its reddest part only
    if c == 1 and abs(steps[2]) > MAX_B_OVER_A * abs(steps[1]):
        return None
    # a yellower split only for ink less red than its ground (which a* cannot lift): orange
    # digits over smooth or dark golden photos split best on b* too, but the matte takes them
    if c == 2 and steps[1] >= 0:
        return None
    edge = (inside & (ch > photo + EDGE_SHARE * (ink - photo))).astype(np.uint8)
    n, label = cv2.connectedComponents(edge, connectivity=8)
    keep = np.zeros(n, bool)
    keep[np.unique(label[core])] = True
    keep[0] = False
    out = np.zeros(image.shape[:2], bool)
    out[box] = keep[label]
    return out


def chroma_lines(mask, image, regions, reach) -> list:
    """Put :func:`chroma_ink` in ``mask`` (in place) for each line that has one.

    Parameters
    ----------
    mask : ndarray, shape (H, W), float32 in {0, 1}
        Text-mask's mask of all the lines.
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB image.
    regions : list of TextRegion
        The lines.
    reach : list of float
        Per line, how far (px) past its polygon the glyph mask looked (its matting margin):
        within it, outside every other line's polygon and margin, the mask is emptied for a
        chroma line.

    Returns
    -------
    list of int
        The indices of the lines so masked.
    """
    done = []
    for i, r in enumerate(regions):
        ink = chroma_ink(image, r)
        if ink is None:
            continue
        rad = int(np.ceil(reach[i])) + 1
        own = polygon_mask(r.polygon, mask.shape)
        zone = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * rad + 1,) * 2)) > 0
        # what another line's matting may have reached outside this line's polygon (its
        # outline or shadow spilling past its box) stays: only this line's margin is emptied
        zx0, zy0 = np.asarray(r.polygon).min(0) - rad
        zx1, zy1 = np.asarray(r.polygon).max(0) + rad
        for j, o in enumerate(regions):
            r_o = int(np.ceil(reach[j])) + 1
            ox0, oy0 = np.asarray(o.polygon).min(0) - r_o
            ox1, oy1 = np.asarray(o.polygon).max(0) + r_o
            if j != i and ox0 <= zx1 and zx0 <= ox1 and oy0 <= zy1 and zy0 <= oy1:
                other = polygon_mask(o.polygon, mask.shape)
                other = cv2.dilate(other, cv2.getStructuringElement(
                    cv2.MORPH_ELLIPSE, (2 * r_o + 1,) * 2)) > 0
                zone &= ~other | (own > 0)
        mask[zone] = 0
        mask[ink] = 1
        done.append(i)
    return done
