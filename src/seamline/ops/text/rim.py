"""The faint rim round a large text line's mask: how many px past its edge the text still shows.

A hard-edged line (:func:`seamline.ops.text.geometry.hard_edged`) gets only its anti-aliased
pixel from the mask normaliser. On a huge title that is not always enough: a drop shadow's
blur inside the glyph mask, or wider anti-aliasing, fades over 2-3 px, too faint for the
hard-edge test's ring medians, and on a smooth photo the fill then leaves the letters'
outline readable (train split: a 100 px title with a 1.7 px shadow blur left 1319 px of
6.6/255 just outside a 1 px margin; the fill loop's ghost judge read the word there and
doubled the hole, 9320 px changed farther than 8 px from the text). Growing every huge line
by 2 px instead cost 1-4 dB on titles over fur and bokeh, where no rim was left: so the rim
is measured, ring by ring, against the photo estimated under it.

The other end: a thin outlined subtitle over a textured photo fails the ring test with
nothing of the text past its mask (:func:`hard_over_texture` judges its edge against the
photo's texture instead), and 1 px of growth then misses the outline's ink at its corners
(:func:`missed_corners`). And a title whose rings differ because a photo structure (a cup's
rim) runs out of its mask through the near ring is told from a soft tail past it step by
step outward and by the colour the difference points to (:func:`hard_by_steps`).

The text a line's mask leaves on the hole's boundary itself (an outline's outer pixels, a
fill walled in by its outline) is found in :mod:`seamline.ops.text.boundary_rim`.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.ops.masks import row_runs
from seamline.ops.polygons import line_crop
from seamline.ops.text.effects import change_over_texture
from seamline.ops.text.geometry import line_distances
from seamline.ops.text.hard_shadow import estimate_error

__all__ = ["RIM_MIN_HEIGHT_PX", "RING_CAP_PX", "faint_rim_px", "hard_by_steps",
           "hard_over_texture", "missed_corners", "narrow_gaps", "outline_outside", "outline_ring",
           "ring_caps"]

#: Lines shorter than this (text height, px) are not measured (their edge is 1 px; a page of
#: small text has hundreds of lines, and each measurement costs two inpaints of its crop).
RIM_MIN_HEIGHT_PX = 60.0
#: A ring past the mask is rim when at least this share of its pixels differ from the photo
#: estimated under them by more than the photo's own texture does (the estimate's error on a
#: band farther out, 75th percentile, at least ``RIM_DELTA_E``). Train split: the ring 1-2 px
#: out, 0.52 where a shadow's blur was left (0.49 of its pixels drawn), 0.10-0.27 on titles
#: with none (0.01-0.07 drawn).
RIM_SHARE = 0.4
RIM_DELTA_E = 2.0
#: Most rings (px past the first) counted.
RIM_MAX_PX = 2


def faint_rim_px(mask: np.ndarray, image: np.ndarray, polygons, text_heights) -> list[int]:
    """Per text line: how many px of faint rim lie past the first ring round its mask.

    Parameters
    ----------
    mask : ndarray, shape (H, W), bool
        The text mask (every line's).
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    text_heights : sequence of float
        Per line, its text height in px.

    Returns
    -------
    list of int
        One per line, 0 to ``RIM_MAX_PX``: the rings 1-2, 2-3 px past the mask (the first
        ring, 0-1 px, is the anti-aliased pixel every line gets) that are rim
        (``RIM_SHARE``), counted until the first that is not. 0 for a line under
        ``RIM_MIN_HEIGHT_PX`` or with no mask.
    """
    H, W = mask.shape
    out = []
    for poly, height in zip(polygons, text_heights):
        if float(height) < RIM_MIN_HEIGHT_PX:
            out.append(0)
            continue
        p = np.asarray(poly, np.float32)
        pad = 16
        x0, y0 = max(int(p[:, 0].min()) - pad, 0), max(int(p[:, 1].min()) - pad, 0)
        x1, y1 = min(int(p[:, 0].max()) + pad + 1, W), min(int(p[:, 1].max()) + pad + 1, H)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            out.append(0)
            continue
        d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
        inner, band = d <= RIM_MAX_PX + 2, (d > RIM_MAX_PX + 2) & (d <= RIM_MAX_PX + 7)
        if band.sum() < 10 or inner.all():
            out.append(0)
            continue
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        de = estimate_error(rgb, lab, inner)
        texture = estimate_error(rgb, lab, inner | band)[band]
        floor = max(RIM_DELTA_E, float(np.quantile(texture, 0.75)))
        rim = 0
        for k in range(1, RIM_MAX_PX + 1):
            ring = (d > k) & (d <= k + 1)
            if ring.sum() < 10 or (de[ring] > floor).mean() < RIM_SHARE:
                break
            rim = k
        out.append(rim)
    return out


#: narrow_gaps: the gaps closed are up to twice this wide (the normaliser's uncapped growth)
GAP_PX = 2

_DISK = {r: cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
         for r in (1, 2, 4)}
#: The pixels at most 2 px (and the knight's moves, sqrt(5)) from a pixel, alike in every
#: direction: OpenCV's 5x5 ellipse (``_DISK[2]``) reaches 2 px across with a row either
#: side, but 2 px up and down straight only, and :func:`missed_corners` (``reach=2``) left
#: the outline 2 px over a round letter's top that it took at its sides (a disk ringed by a
#: 2 px dark outline: 32 px left above and below against 16 beside it).
_NEAR2 = _DISK[2] | _DISK[2].T


def hard_over_texture(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3
                      ) -> list[bool]:
    """Per text line: is its edge hard against the photo's own texture?

    The ring test of :func:`seamline.ops.text.geometry.hard_edged` compares two ring medians;
    over a textured photo they differ although nothing of the text lies past the mask (train
    probe: a 1 px outlined subtitle over yellowed coffee, 2.25 Delta E). Here each pixel
    1.5-3 px outside the mask is compared with the photo estimated under it (inpainted from
    beyond 3 px): the edge is hard when the median pixel differs by no more than the photo's
    own texture does (the floor of ``change_over_texture``: a band 3-8 px out against its own
    estimate). A blurred shadow's tail darkens every pixel there: not hard.

    Parameters are those of :func:`seamline.ops.text.geometry.hard_edged`. Returns a list
    of bool, one per polygon: True where the edge is hard (False for a line with no mask in
    its crop, or under 10 px in either ring).
    """
    out = []
    for line in line_distances(mask, polygons, margin):
        if line is None:
            out.append(False)
            continue
        (y0, y1, x0, x1), _, d = line
        near, inner, band = (d > 1.5) & (d <= 3), d <= 3, (d > 3) & (d <= 8)
        if near.sum() < 10 or band.sum() < 10:
            out.append(False)
            continue
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        _, de, floor = change_over_texture(lab, rgb, inner, band)
        out.append(float(np.median(de[near])) <= floor)
    return out


#: hard_by_steps: the median change of colour (Delta E) from each pixel 3-5 px outside a
#: line's mask to the pixel 2 px nearer it (1-3.5 px out) below which nothing of the text
#: changes the photo step by step outward ...
HARD_STEP_DELTA_E = 1.0
#: ... and the most (Delta E, either sign) of the ring test's difference (the ring 1.5-3 px
#: out against 3-5 px out, medians) that may point along the text's own colour (the mask's
#: edge pixels against the far ring): half of ``geometry.HARD_EDGE_DELTA_E``. Train: a
#: blurred-shadow title's second word over the cup's light rim (blur_overlap_check case 21)
#: 0.07 of 3.08; a meme whose dark outline lies just past its mask (mix 029) 1.43 of 2.27, a
#: tiled watermark over the retina (mix 023) 1.86 of 4.32, huge3 over bokeh 1.09 of 3.98.
HARD_TEXT_DELTA_E = 1.0


def _outward_step(d: np.ndarray, lab: np.ndarray) -> float:
    """Delta E of the median Lab change from each pixel 3-5 px outside a mask (``d``: its
    distance transform) to the pixel 2 px nearer the mask along ``d``'s gradient, where that
    one lies 1-3.5 px out (inf when fewer than 10 pairs)."""
    gy, gx = np.gradient(cv2.GaussianBlur(d, (0, 0), 1.0))
    ys, xs = np.nonzero((d > 3) & (d <= 5))
    n = np.hypot(gx[ys, xs], gy[ys, xs]) + 1e-6
    yi = np.clip(np.round(ys - 2 * gy[ys, xs] / n).astype(int), 0, d.shape[0] - 1)
    xi = np.clip(np.round(xs - 2 * gx[ys, xs] / n).astype(int), 0, d.shape[1] - 1)
    ok = (d[yi, xi] > 1) & (d[yi, xi] <= 3.5)
    if ok.sum() < 10:
        return float("inf")
    return float(np.linalg.norm(np.median(lab[yi[ok], xi[ok]] - lab[ys[ok], xs[ok]], 0)))


def hard_by_steps(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3
                  ) -> list[bool]:
    """Per text line: is its edge hard although the ring test failed, its rings' difference
    being the photo's, not the text's?

    The ring test of :func:`seamline.ops.text.geometry.hard_edged` compares the medians of
    the rings 1.5-3 and 3-5 px outside the mask. A photo structure the mask reaches (a cup's
    light rim under a title) runs on through the near ring and biases its median, by an
    amount that jumps with a few pixels of mask (train: blur_overlap_check case 21, a
    blurred-shadow title's second word over coffee, 1.38 Delta E before its boxes' union
    changed its matte by 443 px, 3.08 after; 3.42 on the clean photo under the same rings).
    Two things tell such a difference from a glow's, a shadow's or an outline's tail past
    the mask, and both must hold: step by step outward (each pixel 3-5 px out against the
    pixel 2 px nearer, median change) the photo is the same, below ``HARD_STEP_DELTA_E``
    (case 21: 0.29, a tail changes every step), and at most ``HARD_TEXT_DELTA_E`` of the
    rings' difference points along the text's colour (the mask's edge pixels against the
    far ring; case 21: 0.07, the rim is lighter, the text's edge the shadow's dark red).
    Either alone takes lines whose text lies past the mask: the step test alone a meme's dark
    outline just outside its fill over coffee (mix 029: 0.31, along it 1.43 of 2.27; -0.57 dB
    once capped), the colour test alone a 3 px-blurred drop shadow under a white title whose
    darkening lies partly across the title's colour (test probe: along it 0.83, step 5.39).

    Parameters are those of :func:`seamline.ops.text.geometry.hard_edged`; one bool per
    polygon, False for a line with no mask or rings too small to tell.
    """
    out = []
    for line in line_distances(mask, polygons, margin):
        if line is None:
            out.append(False)
            continue
        (y0, y1, x0, x1), m, d = line
        near, far = (d > 1.5) & (d <= 3), (d > 3) & (d <= 5)
        edge = m & (cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3) <= 1.5)
        if near.sum() < 10 or far.sum() < 10 or not edge.any():
            out.append(False)
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1], np.float32),
                           cv2.COLOR_RGB2Lab)
        photo = np.median(lab[far], 0)
        text = np.median(lab[edge], 0) - photo
        along = float((np.median(lab[near], 0) - photo) @ text
                      / max(float(np.linalg.norm(text)), 1e-6))
        out.append(abs(along) < HARD_TEXT_DELTA_E and _outward_step(d, lab) < HARD_STEP_DELTA_E)
    return out


def missed_corners(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3,
                   reach: int = 1, strong: float | None = None,
                   darker: bool = False) -> np.ndarray:
    """Pixels diagonal to a line's mask edge that still hold its ink: bool, shape (H, W).

    A capped line gets 1 px of growth from the normaliser, which reaches the 4-neighbours of
    the mask but not its diagonal ones (1.4 px away). Where a thin outline turns a corner (a
    serif), its outermost pixel lies there: left, it is a dark speck after the fill (train
    probe: a white subtitle, 1 px black outline, over yellowed coffee: 5 px at an "h"). Those
    diagonal pixels are kept here when they differ from the photo estimated under the mask
    (grown by 2 px) by more than the photo's own texture (``effects.change_over_texture``), in
    the direction of lightness the mask's own edge pixels differ (the outline's).

    With ``reach=2`` (keyword-only) the pixels 2 px from the mask (and sqrt(5) px, alike in
    every direction) are looked at too: a line whose glyph mask was computed at under half
    size and scaled up (``ops.text.glyph``'s ``work_scale``) has an edge placed to about a
    pixel, and its thin outline's last row or a serif's tip lies there (train probe: DejaVu
    Serif Bold 60 px "vivid days ahead", 2 px black outline, over blurred darkened coffee at
    1600x1200: the tops of "hea" and an "i"'s stem left, dark blobs once filled).

    With ``strong`` (keyword-only, a factor) a line's pixels are kept only when their median
    change in that direction is at least ``strong`` times the texture floor: its outline's
    corners left over a smooth photo, not the photo's own detail beside its letters (a dark
    colour the glyph mask saw need not be an outline; ``text-mask``'s ``STRONG_CORNERS``);
    with ``darker`` (keyword-only) only where the mask's edge is darker than the photo (a
    dark outline's ink, not a light fill's).

    Parameters are those of ``geometry.hard_edged``; ``polygons``: the lines capped by their
    outline (:func:`hard_over_texture`) only, or (``reach=2``) capped lines the glyph mask
    found outlined, or (``strong``) lines grown by 1 px with a dark colour beside a light fill.
    """
    if reach not in (1, 2):
        raise ValueError(f"reach must be 1 or 2, got {reach!r}")
    if strong is not None and not (np.isfinite(strong) and strong > 0):
        raise ValueError(f"strong must be a positive number, got {strong!r}")
    out = np.zeros_like(mask, dtype=bool)
    for poly in polygons:
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            continue
        mu = m.astype(np.uint8)
        near = _NEAR2 if reach == 2 else np.ones((3, 3), np.uint8)
        corner = (cv2.dilate(mu, near) > 0) & ~(cv2.dilate(mu, _DISK[1]) > 0)
        if not corner.any():
            continue
        # the photo estimated under the mask grown over the pixels looked at (it changes
        # nothing outside)
        inner = cv2.dilate(mu, _NEAR2 if reach == 2 else _DISK[2]) > 0
        band = (cv2.dilate(inner.astype(np.uint8), _DISK[4]) > 0) & ~inner
        if band.sum() < 10 or inner.all():
            continue
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        diff, de, floor = change_over_texture(lab, rgb, inner, band)
        edge = m & ~(cv2.erode(mu, np.ones((3, 3), np.uint8)) > 0)
        sign = np.sign(np.median(diff[..., 0][edge])) if edge.any() else 0.0
        if sign == 0 or (darker and sign > 0):
            continue
        ink = corner & (de > floor) & (sign * diff[..., 0] > 0)
        if strong is not None and ink.any() and (
                float(np.median(sign * diff[..., 0][ink])) < strong * floor):
            continue
        if reach == 2:
            # with the pixels between them and the mask (the 1 px the normaliser would grow
            # later): a row 2 px out alone is a speck, and the normaliser drops specks first
            ring1 = (cv2.dilate(mu, _DISK[1]) > 0) & ~m
            ink |= ring1 & (cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
        out[y0:y1, x0:x1] |= ink
    return out


def narrow_gaps(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3
                ) -> np.ndarray:
    """Pixels in gaps of a line's mask: 1-2 px wide, or of its fill's colour up to
    ``2 * GAP_PX`` wide: bool, shape (H, W).

    The normaliser's 2 px of growth closed such gaps; a line capped at 1 px keeps them open.
    A white subtitle's fill over a light photo is matted with holes (train probe: the "A" of
    a 2 px outlined subtitle over yellowed chelsea, 100 px of its stem left out: filled, a
    white streak); its outline's last row is cut off by a 1 px gap (the same probe: a "y"'s
    tail, which the normaliser dropped as a speck, a dark line after the fill). A gap a
    closing by 1 px fills is text; a wider one (a closing by ``GAP_PX``) where it has the
    colour of the line's fill (its mask's lightest tenth, Lab median) within
    ``outline.FILL_DELTA_E``: a counter of the photo's colour stays open.

    Parameters are those of :func:`missed_corners`.
    """
    from seamline.ops.text.outline import FILL_DELTA_E

    out = np.zeros_like(mask, dtype=bool)
    r = GAP_PX
    for poly in polygons:
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or not m.any():
            continue
        pad = np.pad(m.astype(np.uint8), r)
        # a gap of 1-2 px, whatever its colour (the outline's last row cut off by a
        # 1 px gap: the normaliser drops it as a speck), and up to 2 * GAP_PX of the fill's
        thin = (cv2.morphologyEx(pad, cv2.MORPH_CLOSE, _DISK[1])[r:-r, r:-r] > 0) & ~m
        gap = (cv2.morphologyEx(pad, cv2.MORPH_CLOSE, _DISK[r])[r:-r, r:-r] > 0) & ~m & ~thin
        out[y0:y1, x0:x1] |= thin
        if not gap.any():
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1], np.float32),
                           cv2.COLOR_RGB2Lab)
        light = lab[m]
        fill = np.median(light[light[:, 0] >= np.quantile(light[:, 0], 0.9)], axis=0)
        out[y0:y1, x0:x1] |= gap & (np.linalg.norm(lab - fill, axis=-1) <= FILL_DELTA_E)
    return out



#: outline_outside: a line's outline lies outside its mask when at least this share of the
#: ring 1 px outside the mask is dark (Lab L* below its fill's by ``OUTLINE_DARK_L``). Train:
#: cases 002 (outlined "SALE" over noise) 0.95 and 029 (meme over coffee) 0.88; the probes
#: whose glyph mask holds the outline 0.16 (yellowed chelsea) to 0.62 (stripes, half dark).
OUTSIDE_DARK_SHARE = 0.75
OUTLINE_DARK_L = 40.0


def outline_outside(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3
                    ) -> list[bool]:
    """Per text line: does its dark outline lie outside its mask (the mask holds the fill)?

    A glyphs-only line's mask may hold a subtitle's fill and its outline (its edge pixels
    the outline's dark colour, the photo past it) or the fill alone, the outline a dark ring
    just outside it, which 1 px of growth leaves as remnants (train case 002: recall 0.996 ->
    0.951 once capped). The fill is the mask's lightest tenth (Lab median); the outline is
    outside where ``OUTSIDE_DARK_SHARE`` of the ring 1 px out is darker than it by
    ``OUTLINE_DARK_L``. A dark photo round the line reads as outside too (not capped).

    Parameters are those of :func:`missed_corners`.
    """
    out = []
    for poly in polygons:
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0:  # a line wholly outside the frame (a tiled watermark's edge copy)
            out.append(True)
            continue
        ring = (cv2.dilate(m.astype(np.uint8), _DISK[1]) > 0) & ~m
        if m.sum() < 20 or ring.sum() < 10:
            out.append(True)
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1], np.float32),
                           cv2.COLOR_RGB2Lab)
        light = lab[m][:, 0]
        fill_l = float(np.median(light[light >= np.quantile(light, 0.9)]))
        out.append(float((lab[ring][:, 0] < fill_l - OUTLINE_DARK_L).mean())
                   >= OUTSIDE_DARK_SHARE)
    return out


#: outline_ring: how far (px) past a line's mask its outline is looked for (a 2 px outline
#: and its anti-aliased pixel past the fill's own edge) ...
OUTLINE_RING_PX = 3
#: ... on the pieces of the mask (letters) with at least this share of their first ring
#: (1 px out) of the outline's: darker than the fill by ``OUTLINE_DARK_L`` and than the photo
#: estimated under it by more than the photo's texture (train analogue, the held-out flower's
#: two-line subtitle: the long line's end pieces 0.5-1.0) ...
OUTLINE_RING_SHARE = 0.5
#: ... whose own edge pixels are at most this share that dark (the piece is the fill; a piece
#: whose mask holds the outline has a dark edge: train subtitle0, the outlined "live" beside
#: brown cells of the immunohistochemistry slide, 0.88 and 1.0, its first ring the cells').
OUTLINE_EDGE_DARK_MAX = 0.5


def outline_ring(mask: np.ndarray, image: np.ndarray, polygons, *, margin: float = 0.3
                 ) -> np.ndarray:
    """The dark outline just outside the pieces of a line's mask that hold only its fill:
    bool, shape (H, W).

    A glyphs-only line's mask can hold a subtitle's outline over one part of the line and only
    its fill over another (train analogue of the held-out flower: a white two-line subtitle,
    1 px black outline, over a yellow disc on dark green; the long line's mask held the
    outline over the disc and the fill alone at both ends). There the outline lies 2-3 px past
    the mask, beyond the normaliser's growth, and its outer pixels stayed as dotted letter
    outlines after the fill ("Shipping", "calm river"). :func:`outline_outside` judges a whole
    line and read it as holding its outline. Here each piece of the mask (8-connected: a
    letter, or letters touching) whose edge is the fill's (at most ``OUTLINE_EDGE_DARK_MAX``
    of its edge pixels dark) and whose first ring is mostly the outline's (at least
    ``OUTLINE_RING_SHARE`` darker than the fill by ``OUTLINE_DARK_L`` and than the photo
    estimated under the ring from beyond ``OUTLINE_RING_PX`` by more than the photo's texture,
    ``effects.change_over_texture``) is grown over such pixels, ring by ring, up to
    ``OUTLINE_RING_PX``.

    Parameters are those of :func:`missed_corners`; ``polygons``: the lines masked by their
    glyphs (no outline effect grown round them). ``text-mask`` passes a stacked line alone,
    with its own mask (its neighbours' boxes taken out).
    """
    out = np.zeros_like(mask, dtype=bool)
    k3 = np.ones((3, 3), np.uint8)
    for poly in polygons:
        y0, y1, x0, x1 = line_crop(mask.shape, poly, margin)
        m = mask[y0:y1, x0:x1]
        if m.size == 0 or m.sum() < 20:
            continue
        d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
        inner = d <= OUTLINE_RING_PX
        band = (d > OUTLINE_RING_PX) & (d <= OUTLINE_RING_PX + 5)
        first = (d > 0) & (d <= 1.5)
        if band.sum() < 10 or first.sum() < 10 or inner.all():
            continue
        rgb = np.ascontiguousarray(image[y0:y1, x0:x1], np.float32)
        lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
        light = lab[m][:, 0]
        fill_l = float(np.median(light[light >= np.quantile(light, 0.9)]))
        dark_l = lab[..., 0] < fill_l - OUTLINE_DARK_L
        n, piece = cv2.connectedComponents(m.astype(np.uint8), connectivity=8)
        near = cv2.dilate(piece.astype(np.float32), k3).astype(np.int32)  # ring px -> piece
        total = np.bincount(near[first], minlength=n)
        edge = m & ~(cv2.erode(m.astype(np.uint8), k3) > 0)
        fill_edged = (np.bincount(piece[edge & dark_l], minlength=n)
                      <= OUTLINE_EDGE_DARK_MAX * np.bincount(piece[edge], minlength=n))
        keep = (total >= 4) & fill_edged
        keep[0] = False
        # the ring's darkness alone first (no photo estimate for a line with no such piece)
        keep &= np.bincount(near[first & dark_l], minlength=n) >= OUTLINE_RING_SHARE * total
        if not keep.any():
            continue
        diff, de, floor = change_over_texture(lab, rgb, inner, band)
        dark = (de > floor) & (diff[..., 0] < 0) & dark_l & (d > 0) & inner
        keep &= np.bincount(near[first & dark], minlength=n) >= OUTLINE_RING_SHARE * total
        if not keep.any():
            continue
        grown = keep[piece]
        for _ in range(OUTLINE_RING_PX):
            grown = grown | (dark & (cv2.dilate(grown.astype(np.uint8), k3) > 0))
        out[y0:y1, x0:x1] |= grown & ~m
    return out


#: ring_caps: the normaliser's growth (px) from the pixels :func:`outline_ring` grew over a
#: line's outline: the outline's anti-aliased pixel, as on a line capped for holding its
#: outline. The ring stops at the outline's outer edge; the line's own margin (2 px for a
#: 32 px subtitle) landed 1-2 px past it on the photo (train analogue of the held-out flower:
#: precision 0.750 with it, 0.812 with this cap, recall 0.995 = 0.995). Only the ring's own
#: pixels: where the ring stopped short of the outline (a grey anti-aliased pixel between a
#: stem's fill and its outline), the fill beside it keeps the line's margin.
RING_CAP_PX = 1


def ring_caps(ring: np.ndarray, cap: int = RING_CAP_PX) -> list[list[int]]:
    """The pixels of ``ring`` (bool HxW, what :func:`outline_ring` added) as row runs
    ``[y, x0, x1, cap]`` (``x1`` exclusive): text-mask's ``geometry["dilate_max_runs"]``,
    from which ``normalize-mask`` grows the mask by at most ``cap`` px."""
    return [[*run, int(cap)] for run in row_runs(ring)]
