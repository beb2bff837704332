"""The glyph mask plus the text effects (shadow, glow, outline) the segmenter confirms.

:func:`combine_masks` keeps, per text line, the glyph mask and the segmenter's pixels that an
effect of the glyphs explains (the glyphs moved and grown, fitted on the line's crop) and
that change the photo; :func:`change_over_texture` is its test of a change beyond the
photo's own texture, shared with :mod:`seamline.ops.text.rim` and
:mod:`seamline.ops.text.siblings`. The per-line stroke width, text height and hard-edge
test are :mod:`seamline.ops.text.geometry`.

(This module is over 600 lines because :func:`combine_masks` and the tests it runs on one
line's crop in order (the effect fit, its colour tests, its tail, the halo, the soft shadow,
the segmenter's confirmed pixels) share that crop's state and the ``EFFECT_*`` constants;
the hard shadow's edge test, which needs none of them, is
:mod:`seamline.ops.text.hard_shadow`.)
"""

from __future__ import annotations

import cv2
import numpy as np

from seamline.core.arrays import LUMA, channel_norm, channel_sum, srgb_decode
from seamline.ops.masks import ellipse_kernel as _disk
from seamline.ops.polygons import line_rect as _rect
from seamline.ops.text.geometry import HARD_EDGE_DELTA_E
from seamline.ops.text.hard_shadow import (SHADOW_HUE_CHANNELS, SHADOW_HUE_MIN_OFFSET,
                                           crop_lab, edge_shadow, estimate_error,
                                           split_shadow, telea_estimate)
from seamline.ops.text.hard_shadow import shift as _shift

__all__ = ["change_over_texture", "combine_masks"]


#: Most offset (px, each axis) of a drop shadow the combined rule looks for.
EFFECT_MAX_SHIFT_PX = 10
#: Growth radii (px) tried for an effect around the (shifted) glyphs: hard shadow 0,
#: blurred shadow / glow / outline the matting missed 1-6.
EFFECT_RADII_PX = (0, 1, 2, 3, 4, 6)
#: Share of an effect candidate's pixels the segmenter must mark for it to count.
EFFECT_MIN_PRECISION = 0.6
#: Smallest effect, as a fraction of the glyph pixels (smaller: the segmenter's blur).
EFFECT_MIN_SHARE = 0.15
#: ... unless its colour change is strong (median Delta E at least ``EFFECT_STRONG_DELTA_E``):
#: then this share is enough (a 1-3 px hard shadow under thin subtitle letters lies mostly
#: under the letters; train split: 0.08 with no colour condition added photo to tiny text).
EFFECT_SMALL_SHARE = 0.08
#: Median Lab colour difference (Delta E) between an effect's pixels and the photo just
#: outside it below which the "effect" changed nothing: the segmenter's blur around plain
#: glyphs. Tuned on the train split (3, 5, 10, 15 tried: 3-5 best, 4 taken).
EFFECT_MIN_DELTA_E = 4.0
#: The colour tests judge an effect on its pixels this close (px) to the glyphs, where it is
#: strongest: a huge title's 2.3 px-blurred shadow on the coins (train split) measured 1.5
#: Delta E on its whole fitted shape (mostly faint tail), 5.1 here, and was left as a ghost.
EFFECT_INNER_PX = 3.0
#: See ``EFFECT_SMALL_SHARE`` (train split: the true small shadows change 37-38 Delta E, the
#: segmenter's blur taken for one 5-6).
EFFECT_STRONG_DELTA_E = 12.0
#: A shifted fit is an effect on both sides, not a shadow, when the segmenter marks the part
#: of its mirror image (the glyphs moved the other way) clear of the fit at this share of
#: the fit's part clear of the mirror: a subtitle's dark outline the matting missed was
#: fitted as a 4 px shift to the left, which masked photo there and left the outline on the
#: right. Train split (sized cases): outlines 0.87-1.06, drawn drop shadows 0.39-0.68.
EFFECT_MIRROR_SHARE = 0.85
#: Glyph-mask pixels farther than this from any pixel the segmenter marks (at its own,
#: recall-first cut) are dropped: matting's photo edges of the text's colour.
SUPPORT_SLACK_PX = 2
#: Cost of an effect pixel the segmenter does not mark, against 1 for one it marks (train
#: split: 1, 2, 3 tried, 2 best: a blurred segmenter otherwise buys a wide grown shape).
EFFECT_SIZE_COST = 2.0
#: A blurred effect's tail (the segmenter stops marking before the blur fades out): the
#: effect grows ring by ring past its fitted radius over the pixels that still differ from
#: the photo estimated under them by at least this Delta E (and more than the photo's own
#: texture does)...
EFFECT_TAIL_DELTA_E = 2.0
#: ... by at most this many px per px of fitted growth, plus one (a hard shadow: its
#: anti-aliased edge only).
EFFECT_TAIL_K = 1.0
#: The segmenter's pixels no effect explains are text the matting missed (letters over a
#: photo of nearly their colour, the part of a line outside the detector's box) when they
#: differ from the photo estimated under them by more than this Delta E and more than that
#: estimate errs on the photo around them (this quantile of its error there), ...
CONFIRM_DELTA_E = 6.0
CONFIRM_QUANTILE = 0.9
#: ... lie within this Delta E of a colour that holds at least ``CONFIRM_COLOUR_SHARE`` of
#: the line's glyph pixels (the photo the segmenter takes for text, an eye under a title,
#: has the photo's colours), ...
CONFIRM_MATCH_DE = 10.0
CONFIRM_COLOUR_SHARE = 0.2
#: ... and form pieces of at least ``CONFIRM_MIN_PX`` px that reach farther than
#: ``CONFIRM_REACH_PX`` (or this share of the text height) from the glyphs: the segmenter's
#: blur hugs the letters, a missed stroke leaves them. Train split (mask_train_eval):
#: quantile 0.9 / match 10 and 0.75 / 15 measured alike (24.39 vs 24.41 dB); the stricter
#: taken. Without the colour match, photo next to huge text came in (-8 dB on one case).
CONFIRM_MIN_PX = 8
#: On outlined text a confirmed piece shows fill and outline, each on this share of it.
CONFIRM_OUTLINED_SHARE = 0.1
CONFIRM_REACH_PX = 3.0
CONFIRM_REACH_REL = 0.08
#: A line whose glyph mask holds under ``fallback`` of its segmented pixels keeps its glyph
#: mask (and its effects) all the same when the glyph pixels run along at least this share
#: of the line's length the segmenter marks (:func:`_along_share`): the matting found every
#: letter and the segmenter's surplus is photo round them. Train split: a light 73 px
#: watermark over diagonal stripes (sized watermark6), the segmenter's blob 46k px over 13k
#: drawn (precision 0.28, pipe 14.2 dB; the glyphs' recall 0.79 at precision 1.00, along
#: 0.82); the 16 lines the fallback serves (faint tiles, date stamps, a glyph mask of
#: fragments) 0.00-0.62 (36-case mix; sized watermark, datestamp, tiled_watermark, huge,
#: multiline, tiny, rotated, glow x8).
FALLBACK_ALONG_SHARE = 0.75


def _fit_effect(glyph: np.ndarray, rest: np.ndarray, max_shift: int, away=None):
    """The glyphs grown by r and moved by (dx, dy) that best explain ``rest``.

    Score ``agree - EFFECT_SIZE_COST * (size - agree)`` over every shift (two cross-correlations per radius);
    ``size`` counts only pixels outside the glyphs (grown by 1 px). A shifted best is no
    shadow when the segmenter marks its mirror image (moved by (-dx, -dy)) about as much
    (``EFFECT_MIRROR_SHARE``, on the pixels each covers and the other does not): the effect
    lies on both sides (an outline the matting missed), and the best centred growth is taken
    instead. A best shift on the search window's edge is none (precision 0). ``away``: an
    offset (ax, ay) whose side is ruled out (only shifts (dx, dy) with
    ``dx * ax + dy * ay <= 0`` are tried). Returns ``(precision, agree, r, dx, dy)`` of the
    best candidate.
    """
    m = max_shift
    ruled_out = None
    if away is not None:
        sy, sx = np.mgrid[-m:m + 1, -m:m + 1]
        ruled_out = sx * away[0] + sy * away[1] > 0
    g1u = cv2.dilate(glyph, _disk(1))
    g1 = g1u.astype(np.float32)
    rest_p = cv2.copyMakeBorder(rest.astype(np.float32), m, m, m, m, cv2.BORDER_CONSTANT, 0)
    g1_p = cv2.copyMakeBorder(g1, m, m, m, m, cv2.BORDER_CONSTANT, 0)
    best = centred = None
    for r in EFFECT_RADII_PX:
        grown = (cv2.dilate(glyph, _disk(r)) if r else glyph).astype(np.float32)
        agree = cv2.matchTemplate(rest_p, grown, cv2.TM_CCORR)  # [dy + m, dx + m]
        size = float(grown.sum()) - cv2.matchTemplate(g1_p, grown, cv2.TM_CCORR)
        score = (1 + EFFECT_SIZE_COST) * agree - EFFECT_SIZE_COST * size
        if ruled_out is not None:
            score[ruled_out] = -np.inf
        i = np.unravel_index(int(np.argmax(score)), score.shape)
        if best is None or score[i] > best[0]:
            best = (float(score[i]), float(agree[i] / max(size[i], 1.0)), float(agree[i]),
                    r, int(i[1]) - m, int(i[0]) - m)
        if r and (centred is None or score[m, m] > centred[0]):
            centred = (float(score[m, m]), float(agree[m, m] / max(size[m, m], 1.0)),
                       float(agree[m, m]), r, 0, 0)
    _, _, agreed, r, dx, dy = best
    # a best offset on the window's edge (an axis at ``max_shift``) is no drop shadow, whose
    # offset is a best inside it: the best lies farther out, the segmenter's band lying
    # wider on one side of the letters (train: a 141 px script title over a face, (-10, 2)
    # grown 2 px took 11k px of skin, pipe 15.6 dB against matting's 25.1) or photo stripes
    # it marks beside a light watermark ((10, 3) grown 6 px). No effect is taken: the best
    # centred growth there passed as a 6 px glow over the stripes (precision 0.40). Train
    # split (36-case mix, sized huge / watermark / multiline / shadow_* / tiled_watermark
    # x8): four edge fits, none of a drawn shadow (drawn offsets 1-8 px)
    if max(abs(dx), abs(dy)) >= m:
        return 0.0, 0.0, 0, 0, 0
    if (dx, dy) != (0, 0) and agreed > 0:
        grown = cv2.dilate(glyph, _disk(r)) if r else glyph
        ahead = (_shift(grown, dx, dy) > 0) & (g1u == 0)
        behind = (_shift(grown, -dx, -dy) > 0) & (g1u == 0)
        marked = rest > 0
        if (np.count_nonzero(behind & ~ahead & marked)
                >= EFFECT_MIRROR_SHARE * np.count_nonzero(ahead & ~behind & marked)):
            best = centred
    return best[1:]


#: A moved effect fitted to what the segmenter marks is a drop shadow only where it changes
#: the photo: the segmenter's band round italic or script letters lies wider on one side
#: (train: the left of a 141 px LobsterTwo Italic title), and the fit took that side, moved
#: (-8, -1) and grown 2 px, while the line's blurred shadow fell (6, 4) the other way and its
#: rim was left (952 px changed by > 0.05 outside the mask). A fit whose part clear of the
#: glyphs and of its mirror image (the glyphs moved by (-dx, -dy)) changes the photo less
#: than ``EFFECT_MIRROR_CHANGE`` x as much as the mirror's part does (median Delta E against
#: the photo estimated from past both), the mirror's change above the texture floor of
#: :func:`change_over_texture`, is fitted again with that side ruled out. Train split (the
#: italic serif / script titles and small sans lines with blurred shadows, the sized
#: shadow_blur / huge cases; 27 moved fits): the two against the drawn shadow 2.17 and 2.25,
#: the rest 0.11-1.33.
EFFECT_MIRROR_CHANGE = 2.0
#: ... for a fit moved this far (px, along x or y) or more: a 1-2 px move lies within the
#: segmenter's blur, and a subtitle's (3, 3) shadow over a dark red saucer fitted (-1, -1)
#: and grown 1 px, fitted again centred and grown 2 px, masked the photo all round where
#: the soft-shadow search (rejecting that fit) found it one-sided (precision 0.850 -> 0.756).
EFFECT_MIRROR_MIN_PX = 3


def _against_change(gl, r, dx, dy, rgb, lab) -> bool:
    """Does the mirror image of the effect (glyphs ``gl`` grown by ``r``, moved by (dx, dy))
    change the photo where the effect does not (``EFFECT_MIRROR_CHANGE``)?"""
    grown = cv2.dilate(gl, _disk(r)) if r else gl
    g1 = cv2.dilate(gl, _disk(1)) > 0
    ahead, behind = _shift(grown, dx, dy) > 0, _shift(grown, -dx, -dy) > 0
    inner = cv2.dilate((ahead | behind | g1).astype(np.uint8), _disk(2)) > 0
    band = (cv2.dilate(inner.astype(np.uint8), _disk(4)) > 0) & ~inner
    ahead, behind = ahead & ~g1 & ~behind, behind & ~g1 & ~ahead
    if band.sum() < 10 or inner.all() or ahead.sum() < 10 or behind.sum() < 10:
        return False
    _, de, floor = change_over_texture(lab, rgb, inner, band)
    there = float(np.median(de[behind]))
    return there > floor and there > EFFECT_MIRROR_CHANGE * float(np.median(de[ahead]))


def change_over_texture(lab, rgb, inner, band, *, estimate=None, memo=None):
    """How far each pixel is from the photo estimated under ``inner`` (Lab ``diff`` and its
    norm ``de``, Delta E) and the level a change must pass to be more than the photo's own
    texture: ``EFFECT_TAIL_DELTA_E`` or the 75th percentile of ``band``'s own deviation from
    the photo estimated under ``inner | band``, whichever is higher. ``estimate``
    (keyword-only): :func:`~seamline.ops.text.hard_shadow.telea_estimate` ``(rgb, inner)``
    where the caller has it; ``memo`` (keyword-only): its memo, for this ``rgb``."""
    est = telea_estimate(rgb, inner, memo) if estimate is None else estimate
    diff = lab - cv2.cvtColor(est, cv2.COLOR_RGB2Lab)
    de = channel_norm(diff)
    texture = estimate_error(rgb, lab, inner | band, memo)[band]
    return diff, de, max(EFFECT_TAIL_DELTA_E, float(np.quantile(texture, 0.75)))

def _changes_photo(lab, rgb, covered, shape, ring_de) -> bool:
    """Does an effect's ``shape`` change the photo under it, pixel by pixel?

    The ring test in :func:`combine_masks` compares the effect's median colour with the
    median of a ring around it (``ring_de``, Delta E); over a photo of many colours (bokeh,
    a cat) the two medians differ by more than ``EFFECT_MIN_DELTA_E`` although no pixel
    changed, and the segmenter's blur round huge letters (its crop is resampled to the
    model's 48 rows: a 100-160 px title is seen at a quarter of its size) then passes as a
    6 px glow. Here each pixel of ``shape`` is compared with the photo estimated under
    ``covered`` (inpainted from around it); the effect counts when the median pixel differs
    by more than the floor of :func:`change_over_texture` (``EFFECT_TAIL_DELTA_E`` or the
    photo's own texture). Where that floor is above ``ring_de`` the photo's texture hides
    any effect from this estimate (a date stamp's glow over stripes): the ring test stands.
    """
    inner = cv2.dilate(covered.astype(np.uint8), _disk(2)) > 0
    band = (cv2.dilate(inner.astype(np.uint8), _disk(5)) > 0) & ~inner
    if band.sum() < 10 or inner.all():
        return True  # nothing to estimate the photo from: the ring test decides
    _, de, floor = change_over_texture(lab, rgb, inner, band)
    return floor >= ring_de or float(np.median(de[shape])) > floor


#: A shadow taken as the glyphs moved by its edges or split from the fill (r = 0) is sharp
#: when its change past the moved outline is its anti-aliased pixel only; a blurred one (a
#: huge title's soft shadow) still darkens the photo several px farther out, which a 1 px
#: cap leaves (the fill then spreads it). :func:`_shadow_blurred` reads the median change (in
#: the shadow's sign, against the photo estimated from past ``SHADOW_BLUR_RINGS_PX``) on
#: each 1 px ring past the moved outline, less the level of rings 5 and out: the shadow is
#: blurred when ring 2 keeps at least ``SHADOW_BLUR_RATIO`` of ring 1's and ring 1's is at
#: least ``SHADOW_BLUR_MIN_DELTA_E``. Train split (sized shadow_hard 8, huge 8, shadow_blur
#: 8 and the 36-case mix, the lines split or edge-placed): the ten hard shadows at most 0.25
#: (ring 1 1.2-10.6 Delta E), the five blurred ones (sigma 1.1-1.7) 0.38-0.59 (ring 1
#: 1.4-10.9); three tiled-watermark lines edge-placed with ring 1 at 0.4-0.5. A blurred one's
#: tail then runs up to ``SHADOW_BLUR_MAX_PX`` (the tail rule of :func:`_tail`).
SHADOW_BLUR_RINGS_PX = 10
SHADOW_BLUR_RATIO = 0.33
SHADOW_BLUR_MIN_DELTA_E = 1.0
SHADOW_BLUR_MAX_PX = 8


def _shadow_blurred(gl, dx, dy, rgb, lab, keep_out) -> bool:
    """Is the shadow of glyphs ``gl`` moved by (dx, dy) blurred past its moved outline?

    See ``SHADOW_BLUR_*``. ``keep_out``: the glyphs (grown 1 px) and the moved shape.
    """
    n = SHADOW_BLUR_RINGS_PX

    def grown(e):
        return _shift(cv2.dilate(gl, _disk(e)) if e else gl, dx, dy) > 0

    inner = grown(n + 2) | (cv2.dilate(keep_out.astype(np.uint8), _disk(2)) > 0)
    band = grown(n + 5) & ~inner
    if band.sum() < 10 or inner.all():
        return False
    diff = lab - cv2.cvtColor(telea_estimate(rgb, inner), cv2.COLOR_RGB2Lab)
    effect = grown(0) & ~(cv2.dilate(gl, _disk(1)) > 0)
    sign = np.sign(np.mean(diff[..., 0][effect])) if effect.any() else 0.0
    if sign == 0:
        return False
    levels, prev = [], grown(0)
    for e in range(1, n + 1):
        cur = grown(e)
        ring = cur & ~prev & ~keep_out
        if ring.sum() < 10:
            return False
        levels.append(float(np.median(sign * diff[..., 0][ring])))
        prev = cur
    base = float(np.median(levels[4:]))
    first, second = levels[0] - base, levels[1] - base
    return first >= SHADOW_BLUR_MIN_DELTA_E and second >= SHADOW_BLUR_RATIO * first


def _tail(gl, r, dx, dy, rgb, lab, keep_out, bound=None):
    """Pixels past an effect (glyphs grown by ``r``, moved by (dx, dy)) that its blur still
    darkens or lightens: bool mask, grown one ring at a time.

    Each ring pixel is compared with an estimate of the photo under it (inpainted from
    beyond the largest tail allowed); it is tail when it differs by more than
    ``EFFECT_TAIL_DELTA_E`` and more than the photo's own texture does (the same estimate's
    error on a band of photo farther out, 75th percentile), in the direction the effect
    changed lightness (texture errs both ways). Growth stops at the first ring
    where under a quarter of the pixels are tail (an offset shadow fitted as a centred
    growth has its tail on one side).
    """
    if bound is None:
        bound = r + int(np.ceil(EFFECT_TAIL_K * r)) + 1

    def grown(e):
        return _shift(cv2.dilate(gl, _disk(e)) if e else gl, dx, dy) > 0

    tail = np.zeros_like(keep_out)
    inner = grown(bound + 2) | (cv2.dilate(keep_out.astype(np.uint8), _disk(2)) > 0)
    band = grown(bound + 5) & ~inner
    if band.sum() < 10 or inner.all():
        return tail
    diff, de, floor = change_over_texture(lab, rgb, inner, band)
    prev = grown(r)
    # a shadow's tail darkens (a glow's lightens) like the effect itself; texture goes both ways
    effect = prev & ~(cv2.dilate(gl, _disk(1)) > 0)
    sign = np.sign(np.mean(diff[..., 0][effect])) if effect.any() else 0.0
    if sign == 0:
        return tail
    for e in range(r + 1, bound + 1):
        cur = grown(e)
        ring = cur & ~prev & ~keep_out
        hit = ring & (de > floor) & (sign * diff[..., 0] > 0)
        if ring.sum() < 10 or hit.sum() < 0.25 * ring.sum():
            break
        tail |= hit
        prev = cur
    return tail


#: A glow or soft shadow all round a line the segmenter did not mark (no effect fitted)
#: and whose edge is not hard (``HARD_EDGE_DELTA_E``): rings out to ``HALO_REL`` x the text
#: height (2-``HALO_MAX_PX`` px) whose pixels differ from the photo estimated under them like
#: an effect's tail (> the ``_tail`` floor, in one direction of lightness), each ring on at
#: least ``HALO_SHARE`` of its pixels, taken when at least ``HALO_MIN_RINGS`` rings do (a
#: date stamp's 1-2 px glow is left to the normaliser: 2 rings cost it 0.7 dB on the train
#: split, and a hard-edged huge title over fur once grew 4 px all round without the
#: hard-edge test).
HALO_REL = 0.25
HALO_MAX_PX = 10
HALO_SHARE = 0.5
HALO_MIN_RINGS = 3


def _halo(m, rgb, lab, height, memo=None):
    """A glow or soft shadow all round the line's mask ``m`` that the segmenter missed: bool
    mask of its pixels (see ``HALO_*``; empty when the line's edge is hard). ``memo``: the
    photo estimates of ``rgb`` made so far (:func:`~.hard_shadow.telea_estimate`)."""
    bound = int(np.clip(round(HALO_REL * float(height)), 2, HALO_MAX_PX))
    mu = m.astype(np.uint8)

    def grown(e):
        return cv2.dilate(mu, _disk(e)) > 0 if e else m

    out = np.zeros_like(m)
    if bound < HALO_MIN_RINGS:  # text of 10 px or less: fewer rings than a halo needs, whatever
        return out  # the photo (the two estimates below cost a tiny line most of its time)
    # the hard-edge test (hard_edged): no halo when the photo 1.5-3 px out matches 3-5 px out
    d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
    near, farr = (d > 1.5) & (d <= 3), (d > 3) & (d <= 5)
    if near.sum() < 10 or farr.sum() < 10:
        return out
    if float(np.linalg.norm(np.median(lab[near], 0) - np.median(lab[farr], 0))) < HARD_EDGE_DELTA_E:
        return out
    inner = grown(bound + 2)
    band = grown(bound + 5) & ~inner
    if band.sum() < 10 or inner.all():
        return out
    diff, de, floor = change_over_texture(lab, rgb, inner, band, memo=memo)
    sel = grown(3) & ~grown(1)
    sign = np.sign(np.median(diff[..., 0][sel])) if sel.any() else 0.0
    if sign == 0:
        return out
    prev, rings = m, 0
    for e in range(1, bound + 1):
        cur = grown(e)
        ring = cur & ~prev
        hit = ring & (de > floor) & (sign * diff[..., 0] > 0)
        if ring.sum() < 10 or hit.sum() < HALO_SHARE * ring.sum():
            break
        out |= hit
        prev, rings = cur, e
    return out if rings >= HALO_MIN_RINGS else np.zeros_like(m)


#: A soft drop shadow nothing else found (no effect fitted, no halo): the segmenter does not
#: mark a dark blurred shadow over dark photo (a subtitle's over a dark red saucer, train
#: ``subtitle6``), and one-sided, it fails the halo's rings all round. The glyphs moved by
#: (dx, dy) (up to the halo's bound) and grown by r (``SOFT_RADII_PX``) are scored by the
#: share of their pixels past the glyphs that differ from the photo estimated under them
#: (the ``_tail`` floor, one sign of lightness) less the larger share on their mirror image
#: (moved by (-dx, -dy)) and on a ring 2-4 px round them; the best is taken when it leads by
#: ``SOFT_MIN_LEAD`` and the light under it is at most ``SOFT_MAX_RATIO`` of the light under
#: its mirror (medians of linear luminance over the photo estimate; measured towards white
#: for a light shadow): a shadow scales the light under it whatever the photo's level, where
#: its Lab change over dark red stays under the texture's floor. Its blur's faint edge is
#: added as an effect's tail (``_tail``). Train split (ratios read with the shadow cast by
#: the line's whole mask): subtitle6 0.46; the best candidates beside the other lines of
#: the 36-case mix and the 8 sized subtitles 0.60-1.1 (the 0.60: the missed part of a
#: dark-glowing line on grace_hopper); cast by the glyphs alone, subtitle6's is the only
#: one taken there.
SOFT_RADII_PX = (0, 1, 2)
SOFT_MIN_LEAD = 0.1
SOFT_MAX_RATIO = 0.55
#: ... and its pixels are those of the moved glyphs (and tail) keeping under this share of
#: the light estimated under them: the shadow of a glyph-mask piece that is photo (a rim
#: highlight the fill's matte took) falls on photo no shadow scaled (subtitle6: 42 px more
#: changed 8-15 px from the text without it; 0.9 and 0.97 measured alike, 26.30 / 26.32 dB).
SOFT_KEEP_RATIO = 0.9
#: The search above costs two Telea estimates of the photo under the line (~0.1-0.2 s CPU a
#: line); it runs only where some side of the glyphs is already darker (or lighter) than its
#: mirror side in the raw light (the median linear luminance beside the glyphs moved 2-10 px
#: along 8 directions, ahead under ``SOFT_GATE_RATIO`` of behind): a shadow scales one side's
#: light whatever the photo. Train: subtitle6's shadow 0.48, the test's shadow over the dark
#: red saucer 0.77; the 64 lines of the 36-case mix that reach the search 0.01-1.0 (42 above
#: 0.85 skip it; the search takes none of the 64 either way).
SOFT_GATE_RATIO = 0.85


def _linear_luma(rgb):
    return srgb_decode(np.asarray(rgb, np.float32)) @ LUMA


def _one_sided(mu, g1, y, b) -> float:
    """The lowest ratio of raw light ``y`` (linear luminance, :func:`_linear_luma`) beside
    the glyphs ``mu`` moved by one of 8 directions (``max(2, b // 2)`` and ``b`` px) to the
    light beside them moved the opposite way, dark and light (towards white) sides both: 1.0
    when no side differs."""
    lowest = 1.0
    for d in sorted({max(2, b // 2), b}):
        for ux, uy in ((1, 0), (1, 1), (0, 1), (-1, 1)):
            n = float(np.hypot(ux, uy))
            dx, dy = int(round(ux * d / n)), int(round(uy * d / n))
            ahead = (_shift(mu, dx, dy) > 0) & ~g1
            behind = (_shift(mu, -dx, -dy) > 0) & ~g1
            if ahead.sum() < 10 or behind.sum() < 10:
                continue
            for yy in (y, 1.0 - y):
                a = float(np.median(yy[ahead])) + 1e-3
                c = float(np.median(yy[behind])) + 1e-3
                lowest = min(lowest, a / c, c / a)
    return lowest


def _soft_shadow(m, rgb, lab, height, memo=None):
    """A soft drop shadow of the line's mask ``m`` that no effect or halo found: bool mask
    of its pixels, the glyphs moved and grown plus its tail (see ``SOFT_*``; empty when
    none). ``memo``: the photo estimates of ``rgb`` made so far
    (:func:`~.hard_shadow.telea_estimate`)."""
    b = int(np.clip(round(HALO_REL * float(height)), 2, HALO_MAX_PX))
    mu = m.astype(np.uint8)
    out = np.zeros_like(m)
    g1 = cv2.dilate(mu, _disk(1)) > 0
    y = _linear_luma(rgb)
    if _one_sided(mu, g1, y, b) > SOFT_GATE_RATIO:
        return out
    inner = cv2.dilate(mu, _disk(b + 2)) > 0
    band = (cv2.dilate(mu, _disk(b + 5)) > 0) & ~inner
    if band.sum() < 10 or inner.all():
        return out
    est = telea_estimate(rgb, inner, memo)  # the ratio test below reads it too
    diff, de, floor = change_over_texture(lab, rgb, inner, band, estimate=est, memo=memo)

    def pad(a):
        return cv2.copyMakeBorder(a.astype(np.float32), b, b, b, b, cv2.BORDER_CONSTANT, 0)

    def size(shape):  # per offset: the moved shape's pixels past g1 (either sign's)
        return float(shape.sum()) - cv2.matchTemplate(g1_p, shape, cv2.TM_CCORR)

    def share(hit_p, shape, size):  # per offset: share of those pixels hit
        return cv2.matchTemplate(hit_p, shape, cv2.TM_CCORR) / np.maximum(size, 1.0)

    g1_p = pad(g1)
    shapes = []
    for r in SOFT_RADII_PX:
        grown = (cv2.dilate(mu, _disk(r)) if r else mu).astype(np.float32)
        ring = ((cv2.dilate(mu, _disk(r + 4)) > 0)
                & ~(cv2.dilate(mu, _disk(r + 2)) > 0)).astype(np.float32)
        shapes.append((r, grown, size(grown), ring, size(ring)))
    best = None
    for sign in (-1.0, 1.0):
        hit_p = pad((de > floor) & (sign * diff[..., 0] > 0) & ~g1)
        for r, grown, size_g, ring, size_r in shapes:
            prec = share(hit_p, grown, size_g)
            lead = prec - np.maximum(prec[::-1, ::-1], share(hit_p, ring, size_r))
            lead[size_g < 0.3 * float(grown.sum())] = -1.0  # mostly on the glyphs
            lead[b, b] = -1.0  # no offset: the halo's
            i = np.unravel_index(int(np.argmax(lead)), lead.shape)
            if best is None or lead[i] > best[0]:
                best = (float(lead[i]), sign, r, int(i[1]) - b, int(i[0]) - b)
    lead, sign, r, dx, dy = best
    if lead < SOFT_MIN_LEAD:
        return out
    grown = cv2.dilate(mu, _disk(r)) if r else mu
    ahead = (_shift(grown, dx, dy) > 0) & ~g1
    behind = (_shift(grown, -dx, -dy) > 0) & ~g1
    y_est = _linear_luma(est)
    if sign > 0:  # a light shadow: the light it takes away from white
        y, y_est = 1.0 - y, 1.0 - y_est
    ratio = (y + 1e-3) / (y_est + 1e-3)
    if float(np.median(ratio[ahead])) > SOFT_MAX_RATIO * float(np.median(ratio[behind])):
        return out
    # only where the light is scaled down (the shadow of a glyph-mask piece that is photo,
    # a rim highlight the fill's matte took, falls on photo the shadow never touched)
    scaled = ratio < SOFT_KEEP_RATIO
    return ((_shift(grown, dx, dy) > 0) | _tail(mu, r, dx, dy, rgb, lab, m)) & scaled & ~m


def _confirmed(left, text, rgb, lab, glyphs, near, height, outlined=False):
    """The pixels of ``left`` (segmenter pixels nothing else explains) that are text: bool.

    Kept where they differ from the photo estimated under them (inpainted from beyond
    ``text`` grown by 2 px) by more than ``CONFIRM_DELTA_E`` and more than that estimate
    errs on a band of photo around it (``CONFIRM_QUANTILE``), have one of the main colours
    of ``glyphs`` (``CONFIRM_MATCH_DE``), in 8-connected pieces of ``CONFIRM_MIN_PX`` px or
    more that reach ``CONFIRM_REACH_PX`` / ``CONFIRM_REACH_REL`` x ``height`` past ``near``.
    ``outlined``: a piece must hold two of those colours (fill and outline), each on at
    least ``CONFIRM_OUTLINED_SHARE`` of it (photo of the fill's colour has no outline).
    """
    inner = cv2.dilate(text.astype(np.uint8), _disk(2)) > 0
    band = (cv2.dilate(inner.astype(np.uint8), _disk(4)) > 0) & ~inner
    if band.sum() < 10 or inner.all():
        return np.zeros_like(left)
    # the glyphs' main colours, from their interior (anti-aliased edges are mixtures; an
    # outline 1-2 px wide has no interior)
    core = glyphs
    if not outlined:
        core = cv2.erode(glyphs.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    if core.sum() < 10:
        core = glyphs
    ref = lab[core]
    if len(ref) > 2000:
        ref = ref[np.linspace(0, len(ref) - 1, 2000).astype(int)]
    if len(ref) >= 12:
        k = 3
        crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        cv2.setRNGSeed(0)
        _, lbl, centres = cv2.kmeans(np.ascontiguousarray(ref, np.float32), k, None, crit, 1,
                                     cv2.KMEANS_PP_CENTERS)
        share = np.bincount(lbl.ravel(), minlength=k) / len(ref)
        ref = centres[share >= CONFIRM_COLOUR_SHARE]
    cand = left  # the pixels the estimates below may keep
    if len(ref):
        # no pixel of ``left`` has one of those colours: none can be kept, whatever the photo
        # estimates below say (two Telea fills per line: 70 % of the text mask's time on a
        # fax page, whose segmenter pixels past the letters are paper)
        ly, lx = np.nonzero(left)
        d2 = channel_sum((lab[ly, lx][:, None, :] - ref[None, :, :]) ** 2)
        match = d2.min(1, initial=np.inf) <= CONFIRM_MATCH_DE ** 2
        if not match.any():
            return np.zeros_like(left)
        cand = np.zeros_like(left)
        cand[ly[match], lx[match]] = True
    # ... nor where no 8-connected piece of those is big enough and reaches far enough: the
    # pieces kept below are parts of these (no more pixels, reaching no farther)
    far = cv2.distanceTransform((~near).astype(np.uint8), cv2.DIST_L2, 3)
    min_reach = max(CONFIRM_REACH_PX, CONFIRM_REACH_REL * float(height))
    n, cc, stats, _ = cv2.connectedComponentsWithStats(cand.astype(np.uint8), connectivity=8)
    reach = np.zeros(n, np.float32)
    np.maximum.at(reach, cc[cand], far[cand])
    if not ((stats[1:, cv2.CC_STAT_AREA] >= CONFIRM_MIN_PX) & (reach[1:] >= min_reach)).any():
        return np.zeros_like(left)
    de = estimate_error(rgb, lab, inner)
    texture = estimate_error(rgb, lab, inner | band)[band]
    floor = max(CONFIRM_DELTA_E, float(np.quantile(texture, CONFIRM_QUANTILE)))
    hit = left & (de > floor)
    iy, ix = np.nonzero(hit)
    which = np.full(hit.shape, -1, np.int32)
    if iy.size and len(ref):
        d2 = channel_sum((lab[iy, ix][:, None, :] - ref[None, :, :]) ** 2)
        hit[iy, ix] = d2.min(1) <= CONFIRM_MATCH_DE ** 2
        which[iy, ix] = d2.argmin(1)
    hit = hit.astype(np.uint8)
    n, cc, stats, _ = cv2.connectedComponentsWithStats(hit, connectivity=8)
    big = stats[:, cv2.CC_STAT_AREA] >= CONFIRM_MIN_PX
    if outlined:
        on = hit > 0
        per = np.zeros((n, max(len(ref), 1)), np.int64)
        np.add.at(per, (cc[on], which[on]), 1)
        big &= (per >= CONFIRM_OUTLINED_SHARE * stats[:, cv2.CC_STAT_AREA][:, None]).sum(1) >= 2
    reach = np.zeros(n, np.float32)
    np.maximum.at(reach, cc.ravel(), far.ravel())
    big &= reach >= min_reach
    big[0] = False
    return big[cc]


def combine_masks(segmented: np.ndarray, glyphs: np.ndarray, polygons, text_heights, *,
                  image: np.ndarray, support: np.ndarray | None = None,
                  fallback: float = 0.25, max_effects: int = 2, outlined=None
                  ) -> tuple[np.ndarray, list[str]]:
    """The glyph mask plus the text's effects (shadow, glow, outline) the segmenter confirms.

    The colour-matting glyph mask is precise but misses drop shadows, glows and faint parts;
    the segmentation model finds those but also blurs over the gaps between letters and
    marks photo edges inside a line's crop. So the segmenter's pixels are not taken as they
    are: per line, the pixels it marks beyond the glyphs are explained by an *effect*, the
    glyph mask grown by ``r`` and moved by ``(dx, dy)`` (a hard shadow: r = 0 and an
    offset; a glow or an outline: no offset, r > 0; a blurred shadow: both), one shape for
    the whole line (a shadow falls the same way under every letter). The best fit is kept
    when the segmenter marks most of it (``EFFECT_MIN_PRECISION``), it is not a sliver
    (``EFFECT_MIN_SHARE``, or ``EFFECT_SMALL_SHARE`` when its colour change is strong: a
    thin letter's short hard shadow) and it changed the photo's colour (median Delta E
    against a ring just outside, ``EFFECT_MIN_DELTA_E``: the segmenter's blur around plain
    letters has the photo's own colour); then the next effect is fitted to what is left
    (``max_effects``). A hard drop shadow whose own edges show where it is
    (:func:`seamline.ops.text.hard_shadow.edge_shadow`) is tried first, as the glyphs moved
    by that offset, judged by the colour tests only and taken whole, whether the segmenter
    marks it or not (``"effect(dx=4, dy=4, r=0, hard)"``); no other moved effect is fitted
    to that line (the segmenter's blur round the shadow). A glyph mask that took the shadow
    with the fill (:func:`seamline.ops.text.hard_shadow.split_shadow`) is cut to its fill and
    its shadow tried the same way (``"effect(dx=5, dy=2, r=0, split)"``); failing both, the
    shadow's edges on the a* / b* channels (a red shadow whose lightness is the photo's:
    ``SHADOW_HUE_CHANNELS``), labelled as a lightness-placed one. Either is sharp
    (its tail is its anti-aliased pixel) unless its change past the moved outline fades over
    several px (``SHADOW_BLUR_*``: a huge title's soft shadow the split took): that one's
    tail may run ``SHADOW_BLUR_MAX_PX`` (``"effect(dx=6, dy=6, r=0, split, blurred)"``).
    An effect adds its pixels the segmenter marked (with 1 px of slack for its blur), then
    its tail: rings past the fitted radius, one px at a time, while the ring's median colour
    still differs from the photo beyond by ``EFFECT_TAIL_DELTA_E`` (a blurred shadow fades
    out past where the segmenter stops marking it), at most ``EFFECT_TAIL_K`` px per px of
    the fitted radius, plus one. So nothing lands outside the line's glyphs grown by about
    twice the effect's extent. What the segmenter still marks beyond all that is text the
    matting missed where it has the glyphs' colour, differs from the photo estimated under
    it and reaches away from the glyphs (``CONFIRM_*``: a letter over a photo of nearly its
    colour, the part of a line outside the detector's box). A line with no effect whose edge
    is not hard gets the glow the segmenter did not mark (``HALO_*``); a line with neither
    gets the soft drop shadow the segmenter did not mark, placed where the photo darkened
    (or lightened) under the glyphs moved and not under their mirror (``SOFT_*``). A line where
    the glyph mask found almost nothing (under ``fallback`` of the segmented pixels: a date
    stamp, a faint watermark) takes the segmenter's mask as it is, unless its glyph pixels
    run along most of the line the segmenter marks (``FALLBACK_ALONG_SHARE``: every letter
    found, the segmenter's surplus a blob of photo round them).

    Parameters
    ----------
    segmented, glyphs : ndarray, shape (H, W), bool
        The segmenter's mask and the colour-matting glyph mask.
    polygons : sequence of ndarray, each (N, 2) float (x, y)
        The text lines.
    text_heights : sequence of float
        Per line, the text height in px (> 0).
    image : ndarray, shape (H, W, 3), float32 in [0, 1], keyword-only
        The photo with the text (the colour test).
    support : ndarray, shape (H, W), bool, optional, keyword-only
        The segmenter's mask at its own (recall-first) cut: glyph-mask pixels farther than
        ``SUPPORT_SLACK_PX`` from it are dropped (matting's photo edges in the text's
        colour). Default: every glyph pixel is kept.
    fallback : float, keyword-only
        Glyph-to-segmented pixel ratio below which a line uses the segmenter alone (where
        its glyph pixels run along under ``FALLBACK_ALONG_SHARE`` of it).
    max_effects : int, keyword-only
        Most effects fitted per line (a subtitle: outline and shadow).
    outlined : sequence of bool, optional, keyword-only
        Per line, whether it is outlined text (default: none is): the segmenter's pixels
        are then confirmed only in pieces that show both fill and outline colour (its fill
        counts only inside its outline; a white cup rim under a white title has the fill's
        colour and no outline).

    Returns
    -------
    mask : ndarray, shape (H, W), bool
    choices : list of str
        Per line, ``"glyphs"``, ``"segmenter"`` or the glyphs plus the effects found and
        the segmenter's confirmed pixels or a halo or a soft shadow (``, hard``: a shadow its
        edges placed; ``, split``: one split from the fill in the glyph mask; then
        ``, blurred``: its tail kept), e.g.
        ``"glyphs + effect(dx=4, dy=4, r=0) + segmenter(120 px)"``, ``"glyphs + halo(900 px)"``.
    """
    if support is not None:  # matting's false positives: photo edges of the text's colour
        glyphs = glyphs & (cv2.dilate(support.astype(np.uint8), _disk(SUPPORT_SLACK_PX)) > 0)
    out = glyphs.copy()
    choices = []
    outlined = [False] * len(polygons) if outlined is None else [bool(c) for c in outlined]
    # each line's fit reads its own crop of segmented, glyphs and image and writes nothing
    # another line reads: OR-ed in after it, one line after another
    for poly, h, two_colours in zip(polygons, text_heights, outlined):
        (y0, y1, x0, x1), add, choice = _line_effects(
            segmented, glyphs, image, poly, h, two_colours, fallback=fallback,
            max_effects=max_effects)
        if add is not None:
            out[y0:y1, x0:x1] |= add
        choices.append(choice)
    return out, choices


def _along_share(seg: np.ndarray, glyphs: np.ndarray, poly: np.ndarray, x0: int, y0: int
                 ) -> float:
    """Share of the 1 px steps along the line (``poly``'s long side) where ``seg`` marks a
    pixel that also holds a ``glyphs`` pixel: ``seg``, ``glyphs`` bool (h, w) crops whose
    top-left pixel is ``(x0, y0)`` of the frame ``poly`` ((N, 2) x, y px) lies in. Returns
    a float in [0, 1]; 0.0 where ``seg`` marks nothing."""
    _, _, ang = _rect(poly)
    u = np.array([np.cos(np.deg2rad(ang)), np.sin(np.deg2rad(ang))])
    steps = [np.floor((x + x0) * u[0] + (y + y0) * u[1]).astype(np.int64)
             for y, x in (np.nonzero(seg), np.nonzero(glyphs))]
    if not len(steps[0]):
        return 0.0
    lo, hi = int(steps[0].min()), int(steps[0].max())
    marked = np.bincount(steps[0] - lo, minlength=hi - lo + 1) > 0
    g = steps[1][(steps[1] >= lo) & (steps[1] <= hi)] - lo
    hit = np.bincount(g, minlength=hi - lo + 1) > 0
    return float(np.count_nonzero(marked & hit) / np.count_nonzero(marked))


def _line_effects(segmented, glyphs, image, poly, h, two_colours, *, fallback, max_effects
                  ) -> tuple[tuple[int, int, int, int], np.ndarray | None, str]:
    """:func:`combine_masks` on one line: its crop's box ``(y0, y1, x0, x1)``, the pixels
    the line adds to the mask there (bool, the box's shape; None: nothing) and its choice.
    Reads ``segmented``, ``glyphs`` (after the support cut) and ``image``; writes none."""
    H, W = glyphs.shape
    m = EFFECT_MAX_SHIFT_PX
    p = np.asarray(poly, np.float32)
    pad = m + max(EFFECT_RADII_PX) + 4 + int(0.3 * float(h))
    x0 = max(int(np.floor(p[:, 0].min())) - pad, 0)
    y0 = max(int(np.floor(p[:, 1].min())) - pad, 0)
    x1 = min(int(np.ceil(p[:, 0].max())) + pad + 1, W)
    y1 = min(int(np.ceil(p[:, 1].max())) + pad + 1, H)
    if x1 <= x0 or y1 <= y0:
        return (y0, y1, x0, x1), None, "glyphs"
    seg, gl = segmented[y0:y1, x0:x1], glyphs[y0:y1, x0:x1].astype(np.uint8)
    if gl.sum() < fallback * max(int(seg.sum()), 1) and _along_share(
            seg, gl > 0, p, x0, y0) < FALLBACK_ALONG_SHARE:
        return (y0, y1, x0, x1), seg, "segmenter"
    g1 = cv2.dilate(gl, _disk(1)) > 0
    rest = seg & ~g1
    effects, found, shapes = [], np.zeros_like(g1), []
    lab = beside = None
    # every pixel past the glyphs has one colour (a 1-bit page's paper): an effect's
    # pixels and the ring around them (both past the glyphs) then have the same median
    # colour, so the colour test below rejects any fit: none is tried (the fits were
    # most of a fax page's remaining text-mask time)
    past = image[y0:y1, x0:x1][~g1]
    tries = max_effects if len(past) and (past != past[0]).any() else 0
    # a hard shadow the image's own edges place (ops.text.hard_shadow) is tried first, as
    # the glyphs moved, whatever the segmenter marks of it (a dark shadow over dark photo)
    if tries:  # the shadow searches below read the crop's Lab too
        lab = crop_lab(image[y0:y1, x0:x1])
    edged = edge_shadow(gl, image[y0:y1, x0:x1], m, lab=lab) if tries else None
    how = "hard"
    if tries and edged is None:
        # ... or the glyph mask took the shadow with the fill (two colours, the second
        # the first moved by one offset: ops.text.hard_shadow.split_shadow): the fill
        # alone is the glyphs and the shadow is it moved there, judged and taken as an
        # edge-placed one (also where the matte missed it over dark photo), labelled
        # ", split" (the text-mask stage adds the anti-aliased edge to ", hard" lines
        # only: on these it grew the mask, train shadow_hard Telea 30.42 dB without it,
        # 30.15 with)
        split = split_shadow(gl, image[y0:y1, x0:x1], m, lab=lab)
        if split is not None:
            gl, edged = split
            how = "split"
            g1 = cv2.dilate(gl, _disk(1)) > 0
            rest = seg & ~g1
        else:
            # ... or a shadow of another hue, its lightness the photo's (a red one over
            # a night sky): its edges on a* / b* (ops.text.hard_shadow.SHADOW_HUE_CHANNELS)
            edged = edge_shadow(gl, image[y0:y1, x0:x1], m, SHADOW_HUE_CHANNELS, lab=lab)
            if edged is not None and max(map(abs, edged)) < SHADOW_HUE_MIN_OFFSET:
                edged = None  # an outline's ring on a* / b*, not a shadow (below)
    sure = np.zeros_like(g1)  # effect pixels kept whether the segmenter marks them or not
    budget = tries  # effects still to fit (a rejected edge shadow costs none)
    while budget > 0:
        if edged is not None:
            (dx, dy), r, edged = edged, 0, None
            by_edges = True
        else:
            budget -= 1
            if rest.sum() < EFFECT_SMALL_SHARE * max(int(gl.sum()), 1):
                break
            prec, agree, r, dx, dy = _fit_effect(gl, rest, m)
            if max(abs(dx), abs(dy)) >= EFFECT_MIRROR_MIN_PX:  # ... the photo says: the other way
                if lab is None:
                    lab = crop_lab(image[y0:y1, x0:x1])
                if _against_change(gl, r, dx, dy, image[y0:y1, x0:x1], lab):
                    prec, agree, r, dx, dy = _fit_effect(gl, rest, m, away=(dx, dy))
            if prec < EFFECT_MIN_PRECISION or agree < EFFECT_SMALL_SHARE * gl.sum():
                break
            if (dx, dy) != (0, 0) and sure.any():
                break  # one drop shadow per line, placed by its edges: this is its blur
            by_edges = False
        whole = _shift(cv2.dilate(gl, _disk(r)) if r else gl, dx, dy) > 0
        shape = whole & ~g1 & ~found  # judged on its pixels clear of the glyphs
        if by_edges:  # its size is what shows past the glyphs (a small one: EFFECT_SMALL_SHARE)
            agree = float(shape.sum())
        near = (shape | g1 | found).astype(np.uint8)
        ring = (cv2.dilate(near, _disk(5)) > 0) & ~(cv2.dilate(near, _disk(2)) > 0)
        if shape.sum() < 10 or ring.sum() < 10:
            if by_edges:
                continue
            break
        if lab is None:
            lab = crop_lab(image[y0:y1, x0:x1])
        if beside is None:
            beside = cv2.distanceTransform((~g1).astype(np.uint8), cv2.DIST_L2, 3) \
                <= EFFECT_INNER_PX
        test = shape & beside  # EFFECT_INNER_PX
        if test.sum() < 10:
            test = shape
        de = float(np.linalg.norm(np.median(lab[test], 0) - np.median(lab[ring], 0)))
        if de < (EFFECT_MIN_DELTA_E if agree >= EFFECT_MIN_SHARE * gl.sum()
                 else EFFECT_STRONG_DELTA_E) or not _changes_photo(
                lab, image[y0:y1, x0:x1], whole | g1 | found, test, de):
            if by_edges:
                continue
            break
        # a blurred one keeps its tail past the moved outline (``SHADOW_BLUR_*``)
        bound, label = None, how
        if by_edges and _shadow_blurred(gl, dx, dy, image[y0:y1, x0:x1], lab, g1 | whole):
            bound, label = SHADOW_BLUR_MAX_PX, how + ", blurred"
        found |= whole
        rest &= ~whole
        if by_edges:
            sure |= whole
            budget -= 1
        shapes.append((r, dx, dy, bound))
        effects.append(f"effect(dx={dx}, dy={dy}, r={r}{', ' + label if by_edges else ''})")
    kept = np.zeros_like(g1)
    if found.any():
        kept = (found & (cv2.dilate(seg.astype(np.uint8), _disk(1)) > 0)) | sure
        for r, dx, dy, bound in shapes:  # the blur's faint tail, which the segmenter misses
            kept |= _tail(gl, r, dx, dy, image[y0:y1, x0:x1], lab, g1 | found, bound)
    left = seg & ~g1 & ~kept  # what the segmenter marks that nothing explains yet
    if left.sum() >= CONFIRM_MIN_PX:
        if lab is None:
            lab = crop_lab(image[y0:y1, x0:x1])
        extra = _confirmed(left, seg | g1 | kept, image[y0:y1, x0:x1], lab, gl > 0,
                           g1 | kept, h, outlined=two_colours)
        if extra.any():
            kept |= extra
            effects.append(f"segmenter({int(extra.sum())} px)")
    if not shapes:  # a glow the segmenter did not mark
        if lab is None:
            lab = crop_lab(image[y0:y1, x0:x1])
        # where the halo adds nothing to the glyphs, the soft shadow's search estimates
        # the photo under the same masks as the halo's: each is made once
        memo: dict = {}
        halo = _halo((gl > 0) | kept, image[y0:y1, x0:x1], lab, h, memo)
        if halo.any():
            kept |= halo
            effects.append(f"halo({int(halo.sum())} px)")
        else:
            # cast by the glyphs only (the segmenter's confirmed pieces moved with them
            # grew photo 8-15 px from the text on train subtitle6)
            soft = _soft_shadow(gl > 0, image[y0:y1, x0:x1], lab, h, memo) & ~kept
            if soft.any():
                kept |= soft
                effects.append(f"soft shadow({int(soft.sum())} px)")
    return (y0, y1, x0, x1), kept, " + ".join(["glyphs", *effects])
