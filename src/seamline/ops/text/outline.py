"""Outlined text: the fill colour counts only where the outline encloses it.

A white title with a black outline over a white cup: colour matting accepts every white
pixel that differs from its background estimate, so the cup between and below the letters
becomes "text" and the fill smears the cup's rim. What tells them apart is the outline: a
letter's fill is surrounded by outline colour all round, the cup is not. So, per pair of
text colours (fill ``k``, outline ``j``) found in a line:

* a component of the fill colour is a *letter* when nearly all of its 1-px ring has the
  outline's colour (or lies between fill and outline colour, an anti-aliased edge, or is a
  pixel the matte gave to the outline);
* the pair is an outlined text when several components are letters;
* then a fill component whose ring is mostly photo, one that is not fully enclosed and
  reaches outside the band the letters span across the line, one walled in by
  another letter's fill and outline (the photo seen through an O's counter), and one not
  fully enclosed that is wedged between letters, is photo; so are the pixels
  of other colours next to it that are farther from every letter than the outline is
  wide (the shading around the cup). Nothing is dropped where no fill part is photo: a
  letter whose fill the matte missed keeps its outline.

Used by :func:`seamline.ops.text.glyph.glyph_mask` (step 6), which also asks
:func:`rimmed_fill` (step 3) whether a line no colour stands out in is an opaque light fill
rimmed by a thin dark outline (a subtitle over a light photo), and :func:`enclosed_fill`
(step 3) for the fill of a line where only the outline stands out (a white subtitle's fill
over light bokeh). The text mask asks :func:`photo_in_fill` for the photo highlight a light
fill's matte took beside the letters, and :func:`highlight_rim` for the light falling off
round it, and drops them with what its effects grew round them (:func:`without_photo`).
Numbers: the train split, ``benchmarks/mask_train_eval.py``.
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.core.arrays import LUMA, channel_norm, channel_sum

__all__ = ["drop_unenclosed_fill", "enclosed_fill", "grow_over_ring", "highlight_rim",
           "photo_in_fill", "rimmed_fill", "ring_outline", "without_photo"]

#: A fill component whose 1-px ring is at least this share outline-coloured is a letter.
ENCLOSED_SHARE = 0.9
#: A small fill component whose ring is less outline-coloured than this touches the photo.
PHOTO_SHARE = 0.6
#: "Small": under this fraction of the median letter's pixels.
SMALL_PART = 0.35
#: Letters needed (and at least this share of the fill's components) to call a pair outlined.
MIN_LETTERS = 2
MIN_LETTER_SHARE = 0.4
#: A ring pixel is outline-coloured when it lies at least this far (0 = fill colour,
#: 1 = outline colour) along the line between the two colours, within the noise floor of it.
OUTLINE_POSITION = 0.5
#: Share of the outline's pixels within its width of the letters' fill.
HUG_SHARE = 0.8
#: Fill and outline colours differ by at least this RGB distance (and 4x the noise floor).
MIN_CONTRAST = 0.25
#: A fill component not fully enclosed, just past whose outline at least this share is
#: the fill of other letters, is photo wedged between letters.
BETWEEN_SHARE = 0.3
#: Slack (px) around the letters' band across the line.
SLACK_PX = 1.5
#: Pixels farther than the outline's width plus this (px) from every kept letter that
#: hang on a dropped photo blob go with it.
ZONE_PX = 1.0

#: rimmed_fill: the outline is this much darker (mean RGB) than the fill, ...
RING_CONTRAST = 0.35
#: ... a fill component is a letter when this share of its edge pixels has ring within 2 px
RING_HUG = 0.8
#: ... and the letters' pixels are the fill colour within this x the noise floor (opaque).
FILL_DEV = 1.2
#: grow_over_ring: the fill grown by the outline's measured width plus this (anti-aliasing)
RING_AA_PX = 1.0
#: enclosed_fill: a hole of an outline is its fill when this share of it differs clearly
ENCLOSED_CLEAR = 0.5

#: photo_in_fill: a line's light pixels are those within this luminance of its fill's (the
#: 90th percentile of its glyph mask); a light fill of at least FILL_MIN_LUMA is judged.
LIGHT_BELOW_FILL = 0.3
FILL_MIN_LUMA = 0.6
#: ... a light part farther than this (Lab Delta E) from the fill's colour is not fill: on
#: the train probes (white subtitles over yellowed photos) the letters' parts lie within 17
#: (1-2 px anti-aliased pieces; the fills within 7), the photo's light parts 29 or more.
FILL_DELTA_E = 20.0
#: ... judged when the parts enclosed by dark (not running out past the line's box) hold at
#: least this share of the line's light glyph pixels, and this share of them have the fill's
#: colour (an opaque fill of one colour)
FILL_ENCLOSED = 0.5
FILL_AGREE = 0.8
#: ... the box: the line's polygon grown by this x its height + 4 px
FILL_BOX_PAD = 0.3
#: ... and mid-tone glyph pixels down to this under the fill's luminance, off the line between
#: the fill's and the outline's colour by as much
MID_BELOW_FILL = 0.45
#: ... with the glyph pixels within PHOTO_RIM_PX of it farther than FILL_REACH_PX from the
#: fill's colour (an outline is 1-2 px wide)
PHOTO_RIM_PX = 2.0
FILL_REACH_PX = 2.5
#: ... kept as photo in 8-connected pieces of at least this many px (train subtitle3: a cup
#: rim's slivers of 10-60 px between the letters, dropped, left bright specks in the hole
#: that the fill spread into blobs, -2 dB)
PHOTO_MIN_PX = 80
#: ... unless the piece is darker than the photo past the glyphs (median luminance against
#: the nearest pixel outside the glyph mask) by this much: a dark glow's blend over a light
#: bokeh disc, which the matte took with the glyphs (train glow5, 94-100% drawn: 0.05-0.09
#: darker; glow1 0.12); a highlight is lighter than the photo round it (train subtitle4's:
#: 0.04-0.14 lighter; meme4's two pieces, 43% drawn, 0.00 and 0.03 darker)
PHOTO_DARKER = 0.04
#: without_photo: what lies within this many px of the photo and farther from the letters
#: went with it (an outline's effect grows the glyphs by up to 3 px)
PHOTO_GROWN_PX = 3.0
#: highlight_rim: glyph pixels within this many px of the photo a highlight test found ...
HALO_PX = 4.0
#: ... farther than this from every other glyph pixel ...
HALO_CLEAR_PX = 3.0
#: ... and within this (RGB distance) of a blend of that photo and the photo beyond the glyphs
#: (the nearest pixel of each) are its fall-off, not a letter
HALO_BLEND_TOL = 0.06

_K3 = np.ones((3, 3), np.uint8)


def _dist_outside(mask: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)


def _outline_coloured(crop, Tk, Tj, tau) -> np.ndarray:
    """HxW bool: the pixel's colour lies on the fill -> outline line, nearer the outline."""
    v = (Tj - Tk).astype(np.float32)
    vv = float(v @ v)
    if vv < 1e-4:
        return np.zeros(crop.shape[:2], bool)
    d = crop - Tk
    a = (d @ v) / vv
    res = np.sqrt(np.maximum(channel_sum(d * d) - a * a * vv, 0))
    return (a >= OUTLINE_POSITION) & (a <= 1.3) & (res <= max(2 * tau, 0.1))


def _in_counters(cc: np.ndarray, letters: np.ndarray, which: np.ndarray, col: np.ndarray,
                 width: float) -> np.ndarray:
    """Per component: True for one of ``which`` that sits in a letter's counter (the photo
    of the fill's colour seen through an O): walled in by the other ``letters``' fill and
    their outlines (``col`` pixels within ``width`` + 1.5 px) nearer to them than to it, no
    path to the crop's edge."""
    out = np.zeros(letters.size, bool)
    fill = letters[cc]
    if not fill.any():
        return out
    # every pixel -> the letter whose fill is nearest
    dist, lab = cv2.distanceTransformWithLabels((~fill).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    to_comp = np.zeros(int(lab.max()) + 1, np.int32)
    to_comp[lab[fill]] = cc[fill]
    nearest = to_comp[lab]
    walls = fill | (col & (dist <= width + 1.5))  # the letters and their outlines only
    for c in np.nonzero(which)[0]:
        me = cc == c
        free = ~(walls & (nearest != c)) | me
        _, fl = cv2.connectedComponents(free.astype(np.uint8), connectivity=4)
        edge = np.unique(np.concatenate([fl[0], fl[-1], fl[:, 0], fl[:, -1]]))
        out[c] = not np.isin(fl[me], edge[edge > 0]).any()
    return out


def _between_letters(cc: np.ndarray, letters: np.ndarray, which: np.ndarray, width: float
                     ) -> np.ndarray:
    """Per component: True for one of ``which`` just past whose outline (a ring from
    ``width`` + 1.5 to + 3.5 px) at least ``BETWEEN_SHARE`` is other ``letters``' fill: the
    photo wedged between letters."""
    out = np.zeros(letters.size, bool)
    r1 = int(np.ceil(width + 1.5))
    k1, k2 = (cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2) for r in (r1, r1 + 2))
    fill = letters[cc]
    pad = r1 + 3
    h, w = cc.shape
    for c in np.nonzero(which)[0]:
        ys, xs = np.nonzero(cc == c)
        y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, h)
        x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, w)
        me = (cc[y0:y1, x0:x1] == c).astype(np.uint8)
        ring = (cv2.dilate(me, k2) > 0) & ~(cv2.dilate(me, k1) > 0)
        out[c] = ring.any() and fill[y0:y1, x0:x1][ring].mean() >= BETWEEN_SHARE
    return out


def drop_unenclosed_fill(core, layer, colours, crop, tau, ang, info=None) -> int:
    """Remove, in place, the photo an outlined text's fill colour took; returns px removed.

    Parameters
    ----------
    core : ndarray, shape (h, w), bool
        The glyph pixels of one line's crop (modified in place).
    layer : ndarray, shape (h, w), int
        Per pixel, the text colour index that explains it (-1: none).
    colours : list of (int, ndarray (3,), float)
        The text colours: index, paint colour RGB in [0, 1], typical alpha.
    crop : ndarray, shape (h, w, 3), float32 in [0, 1]
        The photo with the text.
    tau : float
        The crop's noise floor (RGB distance): colour tolerance.
    ang : float
        The line's angle in degrees (the band across the line).
    info : dict, optional
        Receives ``outlined`` (fill and outline colour indices, letters found) when a pair
        is outlined text.

    Returns
    -------
    int
        Pixels removed from ``core``.
    """
    if len(colours) < 2 or not core.any():
        return 0
    t = np.deg2rad(ang)
    yy, xx = np.mgrid[: core.shape[0], : core.shape[1]]
    across = xx * -np.sin(t) + yy * np.cos(t)
    removed = 0
    for k, Tk, _ in colours:
        lk = core & (layer == k)
        n, cc = cv2.connectedComponents(lk.astype(np.uint8), connectivity=8)
        if n < 1 + MIN_LETTERS:
            continue
        ring = (cv2.dilate(lk.astype(np.uint8), _K3) > 0) & ~lk
        # ring pixel -> the component it touches (the largest label among its neighbours:
        # two letters touching one ring pixel is rare and harmless)
        owner = cv2.dilate(cc.astype(np.float32), _K3).astype(np.int32)
        tot = np.bincount(owner[ring], minlength=n).astype(np.float64)
        size = np.bincount(cc.ravel(), minlength=n)
        real = (size >= 4)
        real[0] = False
        best = None
        for j, Tj, _ in colours:
            if j == k or np.linalg.norm(Tj - Tk) < max(MIN_CONTRAST, 4 * tau):
                continue  # shades of one colour (anti-aliasing over a gradient), no outline
            lj = core & (layer == j)
            col = _outline_coloured(crop, Tk, Tj, tau) | lj
            # anti-aliased fill/outline mixtures next to an outline pixel
            enc = ring & (col | (cv2.dilate(col.astype(np.uint8), _K3) > 0) & core)
            share = np.bincount(owner[enc], minlength=n) / np.maximum(tot, 1)
            letters = real & (share >= ENCLOSED_SHARE)
            if best is None or letters.sum() > best[1].sum():
                best = (j, letters, share, lj, col)
        if best is None:
            continue
        j, letters, share, lj, col = best
        if (letters.sum() < max(MIN_LETTERS, MIN_LETTER_SHARE * real.sum())
                or size[letters].sum() < MIN_LETTER_SHARE * size[real].sum()):
            continue
        # the outline hugs the letters: most of its pixels within its width of their fill
        # (else the "fill" is an outline ring around a fill the matte could not see)
        dt = cv2.distanceTransform(lj.astype(np.uint8), cv2.DIST_L2, 3)
        d_let = _dist_outside(letters[cc])
        ridge = lj & (dt >= cv2.dilate(dt, _K3)) & (d_let <= 3 + dt)
        width = 2.0 * float(np.median(dt[ridge])) if ridge.any() else 1.0
        if (d_let[lj] <= width + 1.5).mean() < HUG_SHARE:
            continue
        fill = letters[cc]
        band = across[fill]
        lo, hi = float(band.min()) - SLACK_PX, float(band.max()) + SLACK_PX
        a_lo = np.full(n, np.inf)
        a_hi = np.full(n, -np.inf)
        np.minimum.at(a_lo, cc[lk], across[lk])
        np.maximum.at(a_hi, cc[lk], across[lk])
        # a letter whose outline is partly lost is still a letter: a part not enclosed is
        # photo when it leaves the letters' band, or when it is small and mostly photo-ringed
        # or wedged between letters
        small = real & ~letters & (size < SMALL_PART * np.median(size[letters]))
        photo = real & ~letters & ((a_lo < lo) | (a_hi > hi))
        photo |= small & (share < PHOTO_SHARE)
        photo[0] = False
        photo |= _in_counters(cc, letters & ~photo, real & ~photo, col, width)
        photo |= _between_letters(cc, letters & ~photo, small & ~photo, width)
        drop = photo[cc]
        kept_fill = lk & ~drop & real[cc]
        d_fill = _dist_outside(kept_fill)
        # what hangs on a dropped photo blob, away from the letters, goes with it
        away = core & ~kept_fill & (d_fill > width + ZONE_PX)
        m, oc = cv2.connectedComponents(away.astype(np.uint8), connectivity=8)
        hit = np.zeros(m, bool)
        hit[oc[(cv2.dilate(drop.astype(np.uint8), _K3) > 0) & away]] = True
        hit[0] = False
        drop |= hit[oc]
        drop &= core
        removed += int(drop.sum())
        core &= ~drop
        if info is not None:
            info["outlined"] = {"fill": int(k), "outline": int(j), "letters": int(letters.sum()),
                                "fill_parts_dropped": int(photo.sum()),
                                "outline_width_px": round(width, 2)}
        break  # one outlined pair per line
    return removed


def rimmed_fill(crop, B, fill, cand, T, tau, ring_px):
    """Opaque light fill with a thin dark outline all round: (ring, hug) or None.

    For a line where no colour is more frequent inside the box than around it (a white
    subtitle with a 1 px black outline over a light photo), before anything searches for
    semi-transparent paint. ``fill`` (HxW bool) holds the pixels matted as the fill colour
    ``T``; ``B`` is the background estimate, ``cand`` the pixels that differ from it. The ring
    is the ``cand`` pixels within ``ring_px`` of the fill that are darker than the background
    and than the fill by RING_CONTRAST. A fill component is a letter when at least RING_HUG
    of its edge pixels have ring within 2 px (a light patch of photo is not rimmed all
    round). Accepted when letters hold at least half the fill and their pixels are ``T``
    within FILL_DEV x the noise floor ``tau`` (a semi-transparent watermark's vary with the
    photo behind them). Returns the ring around the letters only (HxW bool) and the share
    of the letters' edge pixels it hugs.
    """
    fc = fill.astype(np.uint8)
    if fc.sum() < 20:
        return None
    lp, lb = crop.mean(-1), B.mean(-1)
    dark = cand & (lp < lb - 0.5 * tau) & (lp < float(np.mean(T)) - RING_CONTRAST)
    ring = dark & (_dist_outside(fill) <= ring_px) & ~fill
    edge = fill & (cv2.erode(fc, _K3) == 0)
    hugged = edge & (cv2.dilate(ring.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    n, cc = cv2.connectedComponents(fc, connectivity=8)
    share = np.bincount(cc[hugged], minlength=n) / np.maximum(np.bincount(cc[edge], minlength=n), 1)
    letters = share >= RING_HUG
    letters[0] = False
    kept = letters[cc]
    if kept.sum() < max(20, 0.5 * fc.sum()):
        return None
    if float(np.median(channel_norm(crop[kept] - T))) > FILL_DEV * tau:
        return None
    hug = float(hugged[kept].sum() / max(edge[kept].sum(), 1))
    return ring & (_dist_outside(kept) <= ring_px), hug


def ring_outline(ring, fill, differs, G, ring_px):
    """The outline of a fill + outline line (:func:`rimmed_fill`): (pixels, width) or
    (empty, None). The ``ring`` pixels within ``ring_px`` of the ``fill`` kept as letters,
    plus the anti-aliased pixels between the two (``differs`` from the background, in the
    glyph box ``G``, within 1.5 px of both: a blend of fill and outline); the width is the
    ring pixels' median distance from the fill."""
    d_fill = _dist_outside(fill)
    add = ring & (d_fill <= ring_px) & ~fill
    if not (fill.any() and add.any()):
        return np.zeros(fill.shape, bool), None
    width = round(float(np.median(d_fill[add])), 2)
    add |= differs & G & ~fill & (d_fill <= 1.5) & (_dist_outside(add) <= 1.5)
    return add, width


def grow_over_ring(core, fill, G, width_px, differs=None) -> int:
    """Add to ``core`` (in place) every pixel of the glyph box ``G`` within ``width_px`` +
    RING_AA_PX of the ``fill``: all of a fill + outline line's outline is text, also where
    it is too faint or too thin to matte (its anti-aliased outer edge), and the mask
    normaliser grows such a line by 1 px only. ``fill`` may be at a reduced scale (resized
    to ``core``'s, nearest). Returns the number of pixels added.

    ``differs`` (HxW bool, optional): the pixels that differ from the photo estimated under
    the line. The width is measured at the reduced scale and the fill resized from it is
    blocky, so the band reaches 1-2 px past the outline in places: beyond ``width_px - 1``
    of the fill (the outline's outer pixel and its anti-aliased edge) only those pixels are
    taken, the photo there is left as it was. Train ``--styles subtitle --per-style 16``
    (its two fill + outline lines change, the rest is identical): subtitle1, a 2 px outline
    at work scale 0.70, glyph mask 16374 -> 14847 px (photo 3162 -> 1970), precision
    0.718 -> 0.753, psnr_pipe 23.59 -> 24.04 dB; subtitle11 0.579 -> 0.638,
    18.44 -> 18.79 dB; ghost words 0 either way."""
    if fill.shape != core.shape:
        fill = cv2.resize(fill.astype(np.uint8), core.shape[::-1],
                          interpolation=cv2.INTER_NEAREST) > 0
    d = _dist_outside(fill)
    grown = G & ~core & (d <= width_px + RING_AA_PX)
    if differs is not None:
        grown &= differs | (d <= width_px - 1)
    core |= grown
    return int(grown.sum())


def enclosed_fill(core, crop, D, thr, tau, T_out, left, paint, lifted=None):
    """The fill an outline encloses, when only the outline has lift: (HxW bool, colour) or None.

    A white subtitle's fill over a photo with light areas round the line is not more frequent
    inside the box than around it; its black outline is. The fill is then the holes of the
    accepted ``core`` (4-connected, not reaching the crop's edge) where at least
    ``ENCLOSED_CLEAR`` of the pixels differ clearly (``D > thr``) from the background
    estimate; the colour ``T`` is their median. Accepted when at least two such holes, holding
    most of their pixels, have that colour (within 2x the noise floor ``tau``), it differs
    from the outline's ``T_out`` as outlined text's fill does (``MIN_CONTRAST``, 4x ``tau``)
    and it is one of the ``left`` colours (clusters left out, more frequent inside than
    around); then also every hole where ``ENCLOSED_CLEAR`` of the pixels are ``T`` painted
    over the background (``paint(T)``, HxW bool) and differ from it (``D > tau``): a letter
    over a photo as light as its fill. A counter (the photo seen through an "o") is near the
    background estimate and stays out.

    With no ``left``, ``lifted(T, pixels)`` says instead whether T has lift: a glow's light
    fill no cluster holds (``thr`` is then the noise floor: the glow set the Otsu cut).
    """
    if not (left or lifted) or not core.any():
        return None
    n, cc = cv2.connectedComponents((~core).astype(np.uint8), connectivity=4)
    hole = np.ones(n, bool)
    hole[np.unique(np.concatenate([cc[0], cc[-1], cc[:, 0], cc[:, -1]]))] = False
    hole[0] = False  # the core itself
    lab = cc.ravel()
    size = np.maximum(np.bincount(lab, minlength=n), 1).astype(np.float64)
    clear = (D > thr).ravel()
    n_clear = np.bincount(lab, weights=clear, minlength=n)
    cand = hole & (size >= 4) & (n_clear >= ENCLOSED_CLEAR * size)
    if cand.sum() < 2:
        return None
    T = np.median(crop[cand[cc] & (D > thr)], axis=0).astype(np.float32)
    mean_c = np.stack([np.bincount(lab, weights=crop[..., k].ravel() * clear, minlength=n)
                       for k in range(3)], 1) / np.maximum(n_clear, 1)[:, None]
    tol = max(2 * tau, 0.12)
    ok = cand & (channel_norm(mean_c - T) < tol)
    if (ok.sum() < 2 or size[ok].sum() < 0.5 * size[cand].sum()
            or np.linalg.norm(T - T_out) < max(MIN_CONTRAST, 4 * tau)
            or not (min(float(np.linalg.norm(c - T)) for c in left) < tol if left
                    else lifted(T, crop[cand[cc] & (D > thr)]))):
        return None
    n_paint = np.bincount(lab, weights=(paint(T) & (D > tau)).ravel(), minlength=n)
    ok |= hole & (size >= 4) & (n_paint >= ENCLOSED_CLEAR * size)
    return ok[cc], T


def _off_segment(L: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each colour of ``L`` (..., 3) from the segment a-b (same space)."""
    v = (b - a).astype(np.float32)
    t = np.clip(((L - a) @ v) / max(float(v @ v), 1e-6), 0, 1)
    return channel_norm(L - a - t[..., None] * v)


def photo_in_fill(glyphs: np.ndarray, image: np.ndarray, polygons) -> np.ndarray:
    """The photo a light text fill's colour matte took, within ``glyphs``.

    A white subtitle with a thin dark outline over a bright warm photo: the glyph mask takes
    the photo's bright highlight beside the letters (the rim of a cup, light fur) as fill,
    and the text mask's effects then grow it. A letter's fill is opaque, of one colour and
    walled in by its outline (or by darker photo); the highlight is another colour, and where
    it is not walled in it runs out past the line's box. So, per line, the light pixels
    (``LIGHT_BELOW_FILL`` under the fill's luminance) are split into 4-connected parts over
    every line's box (``FILL_BOX_PAD``); the parts that do not reach a box's edge give the
    fill's colour (their median, Lab). A line is judged when they hold ``FILL_ENCLOSED`` of
    its light glyph pixels and ``FILL_AGREE`` of those lie in parts of that colour
    (``FILL_DELTA_E``). Then a light glyph pixel farther than that from the fill's colour is
    photo when its part's median is too or its part runs out past the box (a letter whose
    fill meets a light photo keeps its own pixels); so is a mid-tone one (``MID_BELOW_FILL``)
    as far off every blend of the fill with the outline (the colour of the line's darkest
    glyph pixels): the highlight's edge; and then the glyph pixels within ``PHOTO_RIM_PX``
    of the photo farther than ``FILL_REACH_PX`` from the fill's colour (its blurred rim).
    Only pieces of ``PHOTO_MIN_PX`` or more are kept, and none darker than the photo past
    the glyphs (``PHOTO_DARKER``: a dark glow's blend over light photo).

    Parameters
    ----------
    glyphs : ndarray, shape (H, W), bool
        The glyph mask (``glyph_mask(...).mask > 0``).
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.

    Returns
    -------
    ndarray, shape (H, W), bool
    """
    H, W = glyphs.shape
    out = np.zeros((H, W), bool)
    boxed = np.zeros((H, W), np.uint8)
    boxes = []
    for poly in polygons:
        p = np.asarray(poly, np.float32)
        pad = int(FILL_BOX_PAD * min(cv2.minAreaRect(p)[1])) + 4
        x0, y0 = max(int(p[:, 0].min()) - pad, 0), max(int(p[:, 1].min()) - pad, 0)
        x1, y1 = min(int(p[:, 0].max()) + pad + 1, W), min(int(p[:, 1].max()) + pad + 1, H)
        if x1 > x0 and y1 > y0:
            boxed[y0:y1, x0:x1] = 1
            boxes.append((y0, y1, x0, x1))
    if not boxes or not glyphs.any():
        return out
    # a box's edge inside the frame (a part reaching the frame's edge is not known to go on)
    edge = (boxed > 0) & (cv2.erode(boxed, _K3, borderType=cv2.BORDER_REPLICATE) == 0)
    lum = image @ LUMA
    lab = None
    for y0, y1, x0, x1 in boxes:
        m = glyphs[y0:y1, x0:x1]
        if m.sum() < 20:
            continue
        fill_luma = float(np.quantile(lum[y0:y1, x0:x1][m], 0.9))
        if fill_luma < FILL_MIN_LUMA:
            continue
        if lab is None:
            lab = cv2.cvtColor(np.ascontiguousarray(image, np.float32), cv2.COLOR_RGB2Lab)
        light = ((lum >= fill_luma - LIGHT_BELOW_FILL) & (boxed > 0)).astype(np.uint8)
        n, cc = cv2.connectedComponents(light, connectivity=4)
        runs_out = np.zeros(n, bool)
        runs_out[cc[edge & (light > 0)]] = True
        c, L = cc[y0:y1, x0:x1], lab[y0:y1, x0:x1]
        ids = np.unique(c[m & (c > 0)])
        inner = ids[~runs_out[ids]]
        lit = m & (c > 0)
        in_inner = lit & np.isin(c, inner)
        if inner.size == 0 or in_inner.sum() < FILL_ENCLOSED * lit.sum():
            continue
        # each enclosed part's median colour over all its pixels in the box
        sel = np.isin(c, inner)
        lbl, px = c[sel], L[sel]
        order = np.argsort(lbl, kind="stable")
        lbl, px = lbl[order], px[order]
        starts = np.flatnonzero(np.r_[True, lbl[1:] != lbl[:-1]])
        med = np.stack([np.median(g, axis=0) for g in np.split(px, starts[1:])])
        fill = np.median(px, axis=0)
        far = np.zeros(n, bool)
        far[lbl[starts]] = channel_norm(med - fill) > FILL_DELTA_E
        glyph_px = np.bincount(c[in_inner], minlength=n)
        if glyph_px[~far].sum() < FILL_AGREE * glyph_px.sum():
            continue
        pixel_far = channel_norm(L - fill) > FILL_DELTA_E
        photo = lit & pixel_far & (far | runs_out)[c]
        # a mid-tone glyph pixel (in no light part) off the blends of the fill with the
        # outline (the darkest glyph pixels' colour): the highlight's edge over the photo
        mid = m & (c == 0) & (lum[y0:y1, x0:x1] >= fill_luma - MID_BELOW_FILL)
        dark = m & (lum[y0:y1, x0:x1] < fill_luma - MID_BELOW_FILL)
        if mid.any() and dark.any():
            photo |= mid & (_off_segment(L, fill, np.median(L[dark], axis=0)) > FILL_DELTA_E)
        if photo.any():
            # the highlight's blurred rim beside it, away from every letter's fill
            d_fill = _dist_outside((c > 0) & ~pixel_far)
            photo |= m & (_dist_outside(photo) <= PHOTO_RIM_PX) & (d_fill > FILL_REACH_PX)
        # only a highlight's large pieces: dropping the slivers wedged between letters
        # leaves known bright specks inside the hole, which the fill spreads into blobs
        _, pc, st, _ = cv2.connectedComponentsWithStats(photo.astype(np.uint8), connectivity=8)
        big = st[:, cv2.CC_STAT_AREA] >= PHOTO_MIN_PX
        big[0] = False
        if big.any() and not m.all():  # ... not a dark effect's blend (PHOTO_DARKER)
            dl = lum[y0:y1, x0:x1] - _nearest(~m, image[y0:y1, x0:x1]) @ LUMA
            big[1:] &= [np.median(dl[pc == i]) > -PHOTO_DARKER if b else False
                        for i, b in enumerate(big[1:], 1)]
        out[y0:y1, x0:x1] |= big[pc]
    return out


def _nearest(where: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Per pixel, the colour of the nearest pixel of ``where`` (bool, HxW; not empty)."""
    _, lab = cv2.distanceTransformWithLabels((~where).astype(np.uint8), cv2.DIST_L2, 5,
                                             labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(where)
    lut = np.zeros((int(lab.max()) + 1, 3), np.float32)
    lut[lab[ys, xs]] = image[ys, xs]
    return lut[lab]


def highlight_rim(glyphs: np.ndarray, photo: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The glyph pixels round the ``photo`` they held that are only its rim (bool, HxW).

    A spoon's highlight under a light watermark: :func:`photo_in_fill` finds its clipped
    core, but the glyph mask also took the light falling off round it, a band a few px wide;
    left in the hole, the fill inverted it as paint (a hard dark rim round the highlight at
    2x). So the glyph pixels within ``HALO_PX`` of ``photo`` that are farther than
    ``HALO_CLEAR_PX`` from every glyph pixel beyond that band (a letter crossing the
    highlight's slope goes on past it) and whose colour is a blend, within
    ``HALO_BLEND_TOL``, of the nearest ``photo`` pixel and the nearest pixel beyond the glyphs
    (a letter's edge beside a stroke the highlight test took is the paint's colour) are photo
    too.
    """
    out = np.zeros(glyphs.shape, bool)
    if not photo.any():
        return out
    # (on a crop round the photo: the band, the glyphs past it and the photo beyond them)
    ys, xs = np.nonzero(photo)
    pad = int(np.ceil(HALO_PX + HALO_CLEAR_PX)) + 16
    H, W = photo.shape
    sl = (slice(max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, H)),
          slice(max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, W)))
    g, p = glyphs[sl], photo[sl]
    clear = ~g & ~p
    if not clear.any():
        return out
    band = g & ~p & (_dist_outside(p) <= HALO_PX)
    beyond = g & ~p & ~band
    cand = band & (_dist_outside(beyond) > HALO_CLEAR_PX)
    if not cand.any():
        return out
    img = np.ascontiguousarray(image[sl], np.float32)
    ys, xs = np.nonzero(cand)
    c, a, b = img[ys, xs], _nearest(p, img)[ys, xs], _nearest(clear, img)[ys, xs]
    v = a - b
    t = np.clip(np.einsum("ij,ij->i", c - b, v) / np.maximum(np.einsum("ij,ij->i", v, v), 1e-6),
                0, 1)
    off = channel_norm(c - (b + t[:, None] * v))
    out[sl][ys, xs] = off <= HALO_BLEND_TOL
    return out


def without_photo(mask: np.ndarray, glyphs: np.ndarray, photo: np.ndarray) -> np.ndarray:
    """``mask`` (bool, HxW) without the ``photo`` its ``glyphs`` held (:func:`photo_in_fill`)
    and without what an effect grew round it: its pixels within ``PHOTO_GROWN_PX`` of the
    photo and farther than that from the other glyphs. A photo pixel next to them (1.5 px:
    the outline's anti-aliased edge over the highlight) is kept."""
    if not photo.any():
        return mask
    d_keep = cv2.distanceTransform((~(glyphs & ~photo)).astype(np.uint8), cv2.DIST_L2, 3)
    near = cv2.distanceTransform((~photo).astype(np.uint8), cv2.DIST_L2, 3) <= PHOTO_GROWN_PX
    drop = near & np.where(photo, d_keep > 1.5, d_keep > PHOTO_GROWN_PX)
    return mask & ~drop
