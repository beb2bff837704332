"""``normalize-mask``: clean a raw mask and grow it by a margin that fits the text size."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from seamline.core.arrays import channel_norm
from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class NormalizeMask(Stage):
    id = "normalize-mask"
    # 2: with a text geometry and the image, a hole over 2 x the thickest stroke squared is
    # filled only when it has the text's colour (a letter's counter stays photo)
    # 3: a mark under the speck size inside a text line (i/j dot, colon, comma) stays
    # 4: a hole over HOLE_MAX_PX up to the stroke rule's size is filled whatever its colour
    # only when it does not show the photo round the mask (a heavy serif's photo counters)
    # 5: the mask grows at most the geometry's dilate_max_runs px from those runs' pixels
    # (the outline text-mask grew a line's fill-only pieces over)
    # 6: a tiny line's 1 px margin kept only where its text changed the photo (withdrawn:
    # small glow titles lost their glow ring); 7: outputs as 5
    # 8: no hole filled where the geometry's open_runs say a hard-shadowed line's mask walls
    # in photo (text-mask 66); 9: ... unless the hole has the text's colour (a gap in a stroke)
    version = "9"
    spec = StageSpec(
        inputs={"mask": PortSpec("mask"),
                "geometry": PortSpec("report", optional=True,
                                     doc="stroke width / text height per region (text-mask)"),
                "image": PortSpec("image", optional=True, same_size_as="mask",
                                  doc="the photo, to grow over shadows and glows (halo_px)")},
        outputs={"mask": PortSpec("mask")},
        doc="Speckle removal, hole filling, dilation scaled to stroke width and text height "
            "per text region, at most the geometry's dilate_max_px for a line (text-mask caps "
            "hard-edged lines at their anti-aliased pixel), or a fixed dilate_px; growth over "
            "shadows/glows when the image is wired, optional feathering.",
    )

    @dataclass(frozen=True)
    class Params:
        min_area_px: int | None = None  #: drop components smaller than this (default: by size)
        max_hole_px: int | None = None  #: fill enclosed holes up to this area (default: by size)
        dilate_px: int | None = None    #: fixed dilation; default scales with each text region
        halo_px: int = 4                #: most extra growth over a shadow/glow (needs image)
        halo_threshold: float = 12.0    #: L* step between the near and far ring that is a halo
        feather_px: int = 0             #: soft edge outside the binary core
        threshold: float = 0.5          #: soft input values >= this count as masked

    def run(self, ctx, mask, geometry=None, image=None):
        from seamline.ops.masks import dilation_for_text, feather, grow_over_halos, normalize_mask

        p = self.params
        per_region = geometry is not None and p.dilate_px is None and geometry.get("boxes_xyxy")
        stroke_holes = _hole_px(p.max_hole_px, mask.shape, geometry)
        small_holes = stroke_holes
        if stroke_holes is not None and image is not None and p.max_hole_px is None:
            small_holes = min(stroke_holes, HOLE_MAX_PX)  # over it: unless it shows the photo
        cleaned, report = normalize_mask(
            mask, min_area_px=_speck_px(p.min_area_px, mask.shape, geometry),
            max_hole_px=small_holes,
            dilate_px=0 if per_region else p.dilate_px, feather_px=0, threshold=p.threshold)
        if geometry and geometry.get("boxes_xyxy") and p.min_area_px is None:
            cleaned, report["text_marks_kept"] = _keep_text_marks(
                mask, cleaned, geometry["boxes_xyxy"], image, p.threshold)
        if small_holes is not None and image is not None and p.max_hole_px is None:
            # larger holes: filled when they have the text's colour (a gap the mask left in
            # a heavy letter's fill), left alone when they are photo (a counter)
            frame = max(16, round(2.5e-4 * mask.shape[0] * mask.shape[1]))
            cleaned, n, px, kept = _fill_text_coloured_holes(cleaned, image, frame,
                                                             unless_photo_px=stroke_holes)
            report.update(text_coloured_holes_filled=n, text_coloured_hole_px=px,
                          photo_holes_kept=kept)
        if geometry and geometry.get("open_runs"):
            # no hole filled with the photo text-mask says a hard-shadowed line's mask walls
            # in (ops.text.hard_shadow.shadowed_holes: counters, the gap between letters and
            # shadow), which the rules above take for gaps in a stroke
            from seamline.ops.masks import runs_mask

            keep = runs_mask(geometry["open_runs"], mask.shape) & (mask < p.threshold) & (
                cleaned >= 0.5)
            if image is not None and keep.any():
                # ... but a hole of the text's colour is a gap in a stroke all the same
                keep &= ~_text_coloured_holes(keep, mask >= p.threshold, image)
            cleaned = np.where(keep, np.float32(0), cleaned).astype(np.float32, copy=False)
            if not per_region and report["dilate_px"]:
                # a fixed dilation ran before this: the margin grows into the holes again
                from seamline.ops.masks import grow

                cleaned = np.where(keep, grow(cleaned, report["dilate_px"]), cleaned)
            report["open_px"] = int((keep & (cleaned < 0.5)).sum())
        if per_region:
            radii = [dilation_for_text(sw, h) for sw, h in
                     zip(geometry["stroke_width_px"], geometry["text_height_px"])]
            # text-mask caps the lines its glyph mask hugs (their anti-aliased edge only)
            caps = geometry.get("dilate_max_px") or [None] * len(radii)
            radii = [r if c is None else min(r, int(c)) for r, c in zip(radii, caps)]
            cleaned = _dilate_by_region(cleaned, geometry["boxes_xyxy"], radii,
                                        caps=geometry.get("dilate_max_runs") or ())
            report["dilate_px_per_region"] = radii
        if image is not None and p.halo_px:
            cleaned, halo = grow_over_halos(image, cleaned, max_extra_px=p.halo_px,
                                            threshold_l=p.halo_threshold)
            report.update(halo, halo_px=p.halo_px)
        if p.feather_px:
            cleaned = feather(cleaned, p.feather_px)
            report["feather_px"] = p.feather_px
        report["coverage_out"] = float(np.mean(cleaned >= 0.5))
        return StageResult(outputs={"mask": cleaned.astype(np.float32, copy=False)},
                           report=report)


def _stroke_widths(geometry) -> list[float]:
    """The finite, positive stroke widths (px) the text mask measured; [] without a geometry
    or a measurement."""
    if not geometry or not geometry.get("stroke_width_px"):
        return []
    return [float(s) for s in geometry["stroke_width_px"] if np.isfinite(s) and s > 0]


def _speck_px(min_area_px, shape, geometry) -> int | None:
    """The speck size for text: the frame's default (2e-5 of its area), at most half the
    square of the thinnest stroke the text mask measured, and never under 16 px (the default
    at 1024x768, where nothing changes). On a large page of small text the frame's rule
    called whole letters specks: 309 px on a 15 MP fax page, where a letter of 40 px text
    covers 200-500 px, removed 2296 of its 2476 letters from the mask."""
    if min_area_px is not None:
        return min_area_px
    strokes = _stroke_widths(geometry)
    if not strokes:
        return None
    frame = max(4, round(2e-5 * shape[0] * shape[1]))  # ops.masks.normalize_mask's default
    return min(frame, max(16, round(0.5 * min(strokes) ** 2)))


#: A hole in a text mask is filled as it is when it is at most this many times the square of
#: the thickest stroke measured (a gap inside a stroke); a larger one (up to the frame's
#: default) only when it has the text's colour (``HOLE_MATCH_DE``): a gap in a heavy letter's
#: fill is text, a counter (the photo inside an "o", a 7-segment "8") stays photo.
HOLE_STROKE_K = 2.0
#: Median Lab colour difference (Delta E) between a hole and the mask pixels round it under
#: which the hole has the text's colour.
HOLE_MATCH_DE = 10.0
#: A hole over this many pixels (and up to the stroke rule's size) is filled whatever its
#: colour only when it does not show the photo round the line: train outline7 (a bold serif,
#: 22 px strokes, 2 x 22^2 px: the frame's 307 px) had the cell under its "u", "a", "q"
#: counters in 87-256 px holes (0-20 % drawn) filled; a DejaVuSerif 52 px subtitle's white
#: stems in its outline-only mask (122-125 px, all drawn) must still be.
HOLE_MAX_PX = 96
#: ... it shows the photo when its median Lab colour is within this of the 10th percentile
#: nearest of the pixels more than 3 px outside the mask within ``HOLE_PHOTO_REACH`` px of
#: it (outline7's counters 0.2-10.0; the serif stems 39.6-46.6, the photo yellow, they white).
HOLE_PHOTO_DE = 20.0
HOLE_PHOTO_REACH = 40


def _hole_px(max_hole_px, shape, geometry) -> int | None:
    """The largest hole to fill whatever its colour: the frame's default (2.5e-4 of its
    area), at most ``HOLE_STROKE_K`` x the square of the thickest stroke the text mask
    measured (never under 4 px). The frame's rule alone (197 px at 1024x768) filled the
    counters of letters: photo the fill then had to invent."""
    if max_hole_px is not None:
        return max_hole_px
    strokes = _stroke_widths(geometry)
    if not strokes:
        return None
    frame = max(16, round(2.5e-4 * shape[0] * shape[1]))  # ops.masks.normalize_mask's default
    return min(frame, max(4, round(HOLE_STROKE_K * max(strokes) ** 2)))


def _keep_text_marks(raw, cleaned, boxes, image, threshold):
    """Put back the marks the speck rule dropped inside a text line's box: the dots of i and
    j, colons, commas, full stops (4-9 px at 18 px text, under the 16 px speck floor). With
    the image, only a mark whose median colour is nearer the line's strokes (the kept mask
    pixels in the box) than the 2 px round the mark: a dot of the text's colour, not a speck
    of the photo. Returns (mask, marks kept)."""
    out, kept = cleaned, 0
    h, w = raw.shape
    k = np.ones((5, 5), np.uint8)
    for bx0, by0, bx1, by1 in boxes:
        sl = (slice(max(0, int(by0) - 2), min(h, int(np.ceil(by1)) + 3)),
              slice(max(0, int(bx0) - 2), min(w, int(np.ceil(bx1)) + 3)))
        strokes = out[sl] >= 0.5
        dropped = (raw[sl] >= threshold) & ~strokes
        if not dropped.any() or not strokes.any():
            continue
        n, labels = cv2.connectedComponents(dropped.astype(np.uint8), connectivity=8)
        lab = None if image is None else cv2.cvtColor(
            np.ascontiguousarray(image[sl], np.float32), cv2.COLOR_RGB2Lab)
        ink = None if lab is None else np.median(lab[strokes], 0)
        for c in range(1, n):
            mark = labels == c
            if lab is not None:
                ring = (cv2.dilate(mark.astype(np.uint8), k) > 0) & ~mark & ~dropped & ~strokes
                colour = np.median(lab[mark], 0)
                if ring.any() and np.linalg.norm(colour - ink) >= \
                        np.linalg.norm(colour - np.median(lab[ring], 0)):
                    continue
            if out is cleaned:
                out = cleaned.copy()
            out[sl][mark] = 1.0
            kept += 1
    return out, kept


def _hole_box(x, y, w, h):
    """The slices of a hole's box (``x, y, w, h``: its connected-component stats) and the
    2 px round it that :func:`_hole_colour`'s ring reaches: the hole judged on this crop
    gets the colours it gets on any larger one (a hole's pixels over its whole support box
    were ~0.1 CPU s on a subtitle's ~300 small holes)."""
    return slice(max(y - 2, 0), y + h + 2), slice(max(x - 2, 0), x + w + 2)


def _hole_colour(lab, hole, m):
    """The median Lab colour of ``hole`` (bool, a crop) and its Delta E from the median of
    the mask ``m``'s pixels within 2 px round it (the 5x5 square); ``(None, None)`` where
    no mask pixel is that near. ``lab`` (h, w, 3) float32 Lab of the crop."""
    ring = (cv2.dilate(hole.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & m
    if not ring.any():
        return None, None
    med = np.median(lab[hole], 0)
    return med, float(np.linalg.norm(med - np.median(lab[ring], 0)))


def _text_coloured_holes(holes, mask, image):
    """The pixels of ``holes`` (bool HxW) in the 4-connected components whose median colour
    is within ``HOLE_MATCH_DE`` of the mask (bool HxW) round them and does not show in the
    photo round it (:func:`_shows_photo`): a gap the matte left inside a stroke, which a
    hole text-mask calls photo (``open_runs``) can be too (train multiline0, a
    hard-shadowed "LIVE": a 9 px gap in a teal stroke, its centre left out of the final
    mask and teal in the output). ``image`` (H, W, 3) float in [0, 1]. Returns bool
    (H, W)."""
    from seamline.ops.masks import support_boxes
    from seamline.ops.text.hard_shadow import crop_lab

    out = np.zeros(holes.shape, bool)
    far, frame_lab = _far_photo(mask), crop_lab(image)
    for y0, y1, x0, x1 in support_boxes(holes.astype(np.float32), 2, threshold=0.5):
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            holes[y0:y1, x0:x1].astype(np.uint8), connectivity=4)
        lab = frame_lab[y0:y1, x0:x1]
        for c in range(1, n):
            x, y, bw, bh = stats[c, :4]
            sl = _hole_box(x, y, bw, bh)
            hole = labels[sl] == c
            med, de = _hole_colour(lab[sl], hole, mask[y0:y1, x0:x1][sl])
            if (de is not None and de < HOLE_MATCH_DE
                    and not _shows_photo(frame_lab, far, (y0 + y, x0 + x, bh, bw), med)):
                out[y0:y1, x0:x1][sl] |= hole
    return out


def _far_photo(mask):
    """The photo round a mask (bool HxW): the pixels more than 3 px outside it with its
    enclosed holes filled (the hole judged, other letters' counters and stems are no part
    of it, or a wide text-coloured hole would find its own colour there). Bool (H, W)."""
    from seamline.ops.masks import fill_holes

    solid = fill_holes(mask.astype(np.float32), max_hole_px=mask.size).astype(np.uint8)
    return cv2.dilate(solid, np.ones((7, 7), np.uint8)) == 0


def _shows_photo(frame_lab, far, box, med) -> bool:
    """Whether Lab colour ``med`` shows in the photo ``far`` (:func:`_far_photo`) within
    ``HOLE_PHOTO_REACH`` px of ``box`` (y, x, h, w): a tenth of those pixels within
    ``HOLE_PHOTO_DE`` of it. ``frame_lab``: the frame's Lab (float32 (H, W, 3),
    :func:`~seamline.ops.text.hard_shadow.crop_lab`), converted once for every hole: OpenCV
    converts each pixel alone, so its window holds the bits a conversion of the window
    gives (~0.3 ms a hole, ~90 holes on a subtitle's crop); the distances by
    :func:`~seamline.core.arrays.channel_norm` (numpy's norm bit for bit)."""
    y, x, h, w = (int(v) for v in box)
    r = HOLE_PHOTO_REACH
    wy, wx = slice(max(y - r, 0), y + h + r), slice(max(x - r, 0), x + w + r)
    photo = far[wy, wx]
    if not photo.any():
        return False
    plab = frame_lab[wy, wx][photo]
    return bool(np.percentile(channel_norm(plab - med), 10) < HOLE_PHOTO_DE)


def _fill_text_coloured_holes(mask, image, max_px, *, unless_photo_px=None):
    """Fill the holes of ``mask`` (4-connected background enclosed by it, at most ``max_px``
    pixels) whose median Lab colour is within ``HOLE_MATCH_DE`` of the mask pixels within
    2 px round them, and (holes of at most ``unless_photo_px``) those that do not show the
    photo round the mask (:data:`HOLE_PHOTO_DE`). On crops around the mask
    (:func:`~seamline.ops.masks.support_boxes`).
    Returns (mask, holes filled, pixels filled, photo holes left open)."""
    from seamline.ops.masks import enclosed_holes, support_boxes
    from seamline.ops.text.hard_shadow import crop_lab

    out = mask.copy()
    n_filled = px = n_photo = 0
    far = frame_lab = None  # the photo round the mask (:func:`_far_photo`), the frame's Lab
    for y0, y1, x0, x1 in support_boxes(mask, 2, threshold=0.5):
        m = mask[y0:y1, x0:x1] >= 0.5
        labels, stats, enclosed = enclosed_holes(m)
        x, y, bw, bh, area = (stats[:, i] for i in range(5))
        inner = enclosed & (area <= max_px)
        if not inner.any():
            continue
        lab = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1], np.float32),
                           cv2.COLOR_RGB2Lab)
        for c in np.flatnonzero(inner):
            sl = _hole_box(x[c], y[c], bw[c], bh[c])
            hole = labels[sl] == c
            med, de = _hole_colour(lab[sl], hole, m[sl])
            if med is None:
                continue
            if de >= HOLE_MATCH_DE and unless_photo_px and area[c] <= unless_photo_px:
                if far is None:
                    far, frame_lab = _far_photo(mask >= 0.5), crop_lab(image)
                if _shows_photo(frame_lab, far, (y0 + y[c], x0 + x[c], bh[c], bw[c]), med):
                    n_photo += 1
                else:
                    de = 0.0
            if de < HOLE_MATCH_DE:
                out[y0:y1, x0:x1][sl][hole] = 1.0
                n_filled += 1
                px += int(hole.sum())
    return out, n_filled, px, n_photo


def _dilate_by_region(mask: np.ndarray, boxes: list, radii: list[int], *,
                      caps=()) -> np.ndarray:
    """Dilate each connected component by the radius of the text region it lies in; from
    the pixels of a run ``[y, x0, x1, cap]`` of ``caps`` (text-mask's ``dilate_max_runs``:
    the outline it grew a line's pieces over, ops.text.rim.ring_caps) by at most ``cap``.

    Thin captions and big titles in one photo need different margins, so one global dilation
    is either too small for the titles (halo of anti-aliased edge left) or too large for the
    captions (photo wiped around them). A component outside every box gets the median radius.
    Works on crops around the mask (:func:`~seamline.ops.masks.support_boxes`), so memory and
    time follow the text, not the frame.
    """
    from seamline.ops.masks import grow, support_boxes

    default = int(np.median(radii)) if radii else 1
    reach = max([default, *radii])
    crops = support_boxes(mask, reach + 1, threshold=0.5)
    if not crops:
        return mask
    out = np.zeros_like(mask, dtype=np.float32)
    for y0, y1, x0, x1 in crops:
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(
            (mask[y0:y1, x0:x1] >= 0.5).astype(np.uint8), 8)
        area = stats[:, cv2.CC_STAT_AREA]
        comp_radius = np.full(n, default, dtype=int)
        comp_radius[0] = 0
        for c in range(1, n):
            # OpenCV's centroid is (integer coordinate sum) / area: shift the sum, not the
            # quotient, so the value is the one the full frame gives, bit for bit.
            cx = (round(centroids[c, 0] * area[c]) + int(area[c]) * x0) / int(area[c])
            cy = (round(centroids[c, 1] * area[c]) + int(area[c]) * y0) / int(area[c])
            inside = [r for (bx0, by0, bx1, by1), r in zip(boxes, radii)
                      if bx0 <= cx <= bx1 and by0 <= cy <= by1]
            if inside:
                comp_radius[c] = max(inside)
        cap = _cap_map(caps, y0, y1, x0, x1)
        crop = out[y0:y1, x0:x1]
        for r in np.unique(comp_radius[1:]):
            part = comp_radius[labels] == r
            held = part & (cap < r) if cap is not None else None
            if held is not None and held.any():
                for c in np.unique(cap[held]):
                    np.maximum(crop, grow((held & (cap == c)).astype(np.float32), int(c)),
                               out=crop)
                part &= ~held
            np.maximum(crop, grow(part.astype(np.float32), int(r)), out=crop)
    return out


def _cap_map(runs, y0, y1, x0, x1):
    """The crop's most growth per pixel from row runs ``[y, x0, x1, cap]`` (int32, a huge
    value off the runs), or None when no run reaches the crop."""
    cap = None
    for y, a, b, c in runs:
        if y0 <= y < y1 and a < x1 and b > x0:
            if cap is None:
                cap = np.full((y1 - y0, x1 - x0), np.iinfo(np.int32).max, np.int32)
            row = cap[y - y0, max(a - x0, 0):min(b, x1) - x0]
            np.minimum(row, int(c), out=row)
    return cap
