"""``text-mask``: a mask of everything each detected text line drew on the photo.

(This module is over 600 lines because the class keeps the note of every version of its
output beside ``version``, as every stage does (2-65: some 125 lines of comments), and
:meth:`TextMask.run` orders the combined method's steps, some 330 lines; the work of each
step is in :mod:`seamline.ops.text`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult
from seamline.stages.model_files import SegmenterFile


class TextMask(SegmenterFile, Stage):  # the segmenter's file: checked first, in the key
    id = "text-mask"
    # 2: the segmentation model (seamline-textseg) refines the glyph mask; 3: combined keeps
    # only the segmented pixels a shadow/glow/outline of the glyphs explains; 4: outlined
    # text's fill only inside its outline; 5: blurred effects grown over their tails,
    # hard-edged glyph-only lines capped at 1 px of normaliser growth (dilate_max_px); 6: a
    # small effect (a thin letter's short hard shadow) counts when strongly coloured; 7: the
    # segmenter's pixels nothing explains, in the glyphs' colour and changed, are added; 8:
    # on outlined text too, in pieces that show fill and outline; 9: a glow the segmenter
    # missed round a line with no effect and no hard edge; 10: an effect must also change the
    # photo pixel by pixel where the photo is smooth enough to tell (not the segmenter's blur);
    # 11: an effect on both sides of the glyphs is fitted centred (an outline), not as a
    # one-sided shift, and a hard-edged line with only centred effects is capped at 1 px too;
    # 12: a huge line's cap grows over the faint rim measured past its edge (ops.text.rim);
    # 13: the glyph mask keeps text colour crossing a line's ends (a box cut the last letter)
    # 14: an effect's colour is judged on its pixels within 3 px of the glyphs (a huge
    # title's blurred shadow was mostly faint tail, judged unchanged, and left as a ghost)
    # 15: a line the glyph mask decided as an opaque fill with a thin outline (a subtitle
    # over a light photo) keeps all its glyph pixels (the fill grown over the outline)
    # 16: a tiled watermark's tiles keep only the glyph pixels most of its copies share
    # (ops.text.tile_vote: a bright photo object under one copy is not the word)
    # 17: a light fill's glyph pixels of another colour than the fill (a photo highlight beside the
    # letters) are dropped, with what the effects grew round them (ops.text.outline.photo_in_fill)
    # 18: a glyphs-only line whose mask holds its outline (not a dark ring just outside it:
    # ops.text.rim.outline_outside) is capped at 1 px when its edge is hard against the
    # photo's texture, as an outlined one is; a capped line's fill colour in its mask's narrow
    # gaps is added (ops.text.rim.narrow_gaps)
    # 19: geometry carries each line's ink colour (``ink_rgb``: the glyph mask's first text
    # colour), for fill-text's rim unmixing
    # 20: a shadow split from the fill or placed by its edges whose change fades over several
    # px past the moved outline (blurred) keeps that tail before the 1 px cap
    # 21: a fill + outline line's fill is grown past its outline's body only over pixels that
    # differ from the photo estimated under the line (ops.text.outline.grow_over_ring)
    # 22: an outline colour the glyph mask re-estimated at full size where it rings the fill
    # ("refit", ops.text.glyph) gives its line the anti-aliased edge, corners and gaps
    # 23: the lines' boxes are "not background" as a union (one fillPoly per box; one call
    # filled two overlapping boxes even-odd, their overlap taken as background)
    # 24: a small glyph piece at a line's box edge that the segmenter does not confirm is
    # photo, dropped as 17's (ops.text.unconfirmed); so are the glyph pixels that are only
    # the rim of 17's highlight (ops.text.outline.highlight_rim)
    # 25: 24's highlight rim only where the segmenter does not confirm text (< CONFIRM)
    # 26: a fill + outline line's fill pixels nearer an edge no outline rims than a rimmed one
    # are photo (ops.text.unrimmed.unrimmed_fill)
    # 27: two stacked lines' boxes overlap in their padding, which stays background (23's
    # union only for boxes side by side along their line)
    # 28: a stacked line's ring tests read its own mask, and a hard-edged glyphs-only stacked
    # line whose outline lies outside its mask keeps its margin
    # 29: a stacked glyphs-only line's dark outline just outside the pieces of its mask that
    # hold only its fill joins the mask (ops.text.rim.outline_ring)
    # 30: a photo piece darker than the photo past the glyphs is a dark glow's blend over
    # light photo, kept as text (ops.text.outline.PHOTO_DARKER)
    # 31: a tiled watermark's tiles add the word's strokes, from the copies' own median, at
    # every lattice copy that correlates with it and no detected line's mask already holds
    # (ops.text.tile_support)
    # 32: a line neither hard test took is capped when its rings differ by a photo structure
    # running out of its mask, not by its text (ops.text.rim.hard_by_steps)
    # 33: 29's ring pixels are the outline's: geometry's dilate_max_runs caps the normaliser's
    # growth from them at 1 px (their line's margin landed 1-2 px past the outline)
    # 34: an outlined line's hard drop shadow the glyph mask took in part is split from its
    # three colours (fill, outline, shadow) and placed as the letters moved
    # (ops.text.hard_shadow.split_shadow, SPLIT3_*)
    # 35: a hard drop shadow neither its lightness edges nor a split places is placed by its
    # edges on a* / b* (ops.text.hard_shadow.SHADOW_HUE_CHANNELS)
    # 36: where the tile vote's copies hardly agree and share no word (TRUSTED_AGREEMENT,
    # NO_WORD_DROPPED) it leaves the detected lines' own mask pixels and cuts the tiles' only
    # 37: a hue-placed shadow needs an offset of 3 px or more (SHADOW_HUE_MIN_OFFSET): an
    # outline's ring read on a* / b* placed one at (-2, -2)
    # 39: 38 (a halo kept only when its rings change the photo one way all round) withdrawn,
    # outputs as 37; 40: the tile vote's strokes at the copies aligned until they settle
    # (ops.text.tile_copies._converge, via tile_support.repeated_strokes)
    # 41: a capped line the glyph mask found outlined, its mask computed at under half size,
    # gets its outline's corners and last row 2 px out (rim.missed_corners, reach=2)
    # 42: ... alike up and down and across (reach=2 looked through OpenCV's 5x5 ellipse:
    # 2 px across with a row either side, 2 px up and down straight only)
    # 43: the tile strokes are the median copy's side of the band-pass that differs from the
    # window in the copies' median lightness (a bold light word's dark ring round its letters
    # had been put at every copy: ops.text.median_word.word_shape)
    # 44: geometry says which lines' masks are their glyph matte (``matte``), for
    # normalize-mask's tiny-text margin (its mask unchanged)
    # 45: a line grown by 1 px (capped or a thin caption) not found outlined whose colours
    # hold a dark one beside a light fill gets its outline's corners (rim.missed_corners)
    # where they differ from the photo far beyond its texture (STRONG_CORNERS): its first
    # letters over a dark ground hid the outline
    # 46: a blurred shadow's core the glyph matte took, split as the fill, swaps with the
    # letters where the supposed shadow's edge is much sharper (hard_shadow.split_shadow)
    # 47: a moved effect fit (>= 3 px) whose mirror side changes the photo more than 2x
    # its own is fitted again with that side ruled out (effects.combine_masks)
    # 48: 44's ``matte`` flag dropped with the tiny-text margin that read it (withdrawn)
    # 49: the lines of a block where one line was found outlined get the pixels past their
    # mask that moved toward its outline's colour: all round a sibling not found outlined,
    # and where stacked boxes overlap (ops.text.siblings)
    # 50: ... the fill's colour in the overlap too (siblings.FILL_SHARE)
    # 51: a tiled watermark's strokes are put only at lattice copies whose own pixels show
    # the word against the ring round it (ops.text.median_word.shows_word: not a copy's box
    # past the frame's edge with nothing drawn, which the correlation alone let through)
    # 52: a line stacked with two outlined lines looks for each one's outline colour, each in
    # its own boxes (ops.text.siblings: the first one's was looked for in every box)
    # 53: 41's 2 px corners on every line found outlined (the gate read the outline's colour
    # index as a flag: colour 0 never got them)
    # 54: a tiled watermark's tiles on every other point of its lattice give every copy
    # (ops.text.tile_copies._finer, through tile_support.repeated_strokes' lattice)
    # 55: given unblend-watermark's fitted blend (``watermark``), a sliver tile (its centre
    # past the frame's edge, or its copy not shown) keeps its own mask's pieces only where
    # they moved toward that blend (ops.text.siblings.toward_word): not a sky speck in the
    # sliver of a lattice tile past the frame's edge where nothing was drawn
    # 56: the light fill a dark glow with lift in several clusters encloses (the holes of the
    # glow's mask in one colour with lift: ops.outline.enclosed_fill's ``lifted``)
    # 57: the copies' median stamps strokes only where most whole copies confirm it
    # (tile_support.WHOLE_CONFIRM): not a word unblend took off, the foliage's speckle
    # 58: the strokes on unblend's copies where it gave its blend (tile_support), none it inverted
    # 59: geometry: no effect fit on the search window's edge; FALLBACK_ALONG_SHARE
    # 60: a line whose matte took the photo (ops.text.line_trust): an unsure one (low score,
    # little matte) fits no effect and takes no segmenter fallback; a stroke outlier in its
    # block keeps its glyph pixels the segmenter marks, and the block's stroke width
    # 61: an outlined line's edge colour just past its mask (boundary_rim.edge_colour_rim) and a
    # line's fill colour its mask walls in (boundary_rim.fill_in_holes) are added
    # 62: a line whose matte took its glow for the letters gets the letters the glow walls in
    # (ops.text.glow_core), except with a tiled watermark's tiles (the tile vote's)
    # 63: edge_colour_rim also takes the outline's own colour (measured on its core inside the
    # mask) up to its outer edge, where the pixels beyond are not that colour
    # 64: glow_core keeps only the cores its glow walls in, not photo of the letters' colour
    # walled in with photo the matte took past a line's ends (glow_core.CORE_WALL_SHARE)
    # 65: (63) ... and, over a dark photo near the outline's colour, its band to the outline's
    # width measured from the letters' fill (boundary_rim's BAND_DELTA_E)
    # 66: geometry's open_runs: the holes of a hard-shadowed line's mask (photo: counters, the
    # gap between letters and shadow; ops.text.hard_shadow.shadowed_holes), which
    # normalize-mask then leaves open (its mask unchanged)
    # 67: a line read as a date whose box splits on a* better than on L* and b* (orange digits
    # over golden grass) is masked by that split, capped at 1 px (ops.text.redness_ink)
    # 68: ... and a date whose a* core is empty (flat ink less red than the photo, no
    # anti-aliased edge) keeps its mask (review40; was emptied)
    # 69: ... or on b*, where b* splits best and the ink is yellower and less red than its
    # ground (yellow digits over orange grass)
    # 70: ... only for a line in the bottom-right corner (a poster's "2024" ringed in red
    # elsewhere lost its white fill), and another line's matting margin stays (review40)
    version = "70"
    spec = StageSpec(
        inputs={"image": PortSpec("image"), "regions": PortSpec("text-regions"),
                "watermark": PortSpec("report", optional=True,
                                      doc="unblend-watermark's fitted blend (``blend``: the "
                                          "word's colour and opacity, the copies' centres "
                                          "and which show the word): a sliver tile's own "
                                          "mask is kept only where it moved toward it")},
        outputs={"mask": PortSpec("mask", binary=True,
                                  doc="text pixels (fill, outline, shadow, glow)"),
                 "geometry": PortSpec("report", doc="per-region stroke width and text height")},
        doc="Mark the pixels each detected text line changed. combined (default): the "
            "colour-matting glyph mask plus the effects (drop shadow, glow, outline: the "
            "glyphs moved and grown, one shape per line, that change the photo's colour) the "
            "seamline-textseg segmentation model confirms, and the model's other pixels "
            "that have the glyphs' colour and changed the photo, or the model alone on a line "
            "where matting found almost nothing; segmenter: the model alone; matting: the "
            "glyph mask alone.",
    )

    @dataclass(frozen=True)
    class Params:
        method: Literal["combined", "segmenter", "matting"] = "combined"  #: how pixels are found
        threshold: float | None = None  #: segmenter probability cut (default: the model's)
        model: str | None = None        #: a segmenter .onnx file (default: the packaged one)
        margin: float = 0.3  #: matting: grow each region by this fraction of its text height
        #: combined: segmenter probability from which a pixel can confirm an effect (the
        #: model's own cut favours recall: its blur fills the gaps between letters)
        effect_threshold: float = 0.5

    def run(self, ctx, image, regions, watermark=None):
        p = self.params
        from seamline.ops.text.siblings import check_blend

        check_blend(watermark)  # a one-line ValueError naming it where it is no blend
        boxes = [[float(v) for v in (*r.polygon.min(axis=0), *r.polygon.max(axis=0))]
                 for r in regions]
        polys = [r.polygon for r in regions]
        report: dict = {"method": p.method}
        if p.method in ("matting", "combined"):
            from seamline.ops.text import glyph_mask
            from seamline.ops.text.outline import highlight_rim, photo_in_fill, without_photo

            gm = glyph_mask(image, regions, margin=p.margin)
            # the photo's highlight the fill's colour matte took (ops.text.outline), with the
            # glyph pixels that are only its rim (the light falling off round it)
            photo = photo_in_fill(gm.mask > 0, image, polys)
            rim = highlight_rim(gm.mask > 0, photo, image)
            photo = photo | rim
            report["photo_fill_px"] = int(photo.sum())
            mask, strokes, heights = gm.mask, gm.stroke_width_px, gm.text_height_px
            if p.method == "matting":
                mask = np.where(photo, 0.0, mask).astype(np.float32)
            report["regions"] = gm.per_region
        if p.method in ("segmenter", "combined"):
            import cv2

            from seamline.ops.masks import dilation_for_text, row_runs
            from seamline.ops.text.boundary_rim import edge_colour_rim, fill_in_holes
            from seamline.ops.text.geometry import hard_edged, line_geometry
            from seamline.ops.text.hard_shadow import shadowed_holes
            from seamline.ops.text.line_trust import (clamp_stroke_outliers, combine_by_trust,
                                                      unsure_lines)
            from seamline.ops.text.rim import (faint_rim_px, hard_by_steps, hard_over_texture,
                                              missed_corners, narrow_gaps, outline_outside,
                                              outline_ring, ring_caps)
            from seamline.ops.text.segment import load_segmenter, segment_text
            from seamline.ops.text.siblings import block_outlines
            from seamline.ops.validate import unit_number  # NaN or 2 had cut nothing, silently

            seg = load_segmenter(p.model)
            threshold = seg.threshold if p.threshold is None else unit_number(p.threshold,
                                                                              "threshold")
            prob = segment_text(image, polys, model=seg)
            segmented = prob >= threshold
            if p.method == "combined":
                # a line whose matte took the photo (ops.text.line_trust): an unsure one fits
                # no effect (combine_by_trust below); a stroke outlier in its block keeps its
                # glyph pixels the segmenter marks, and the block's stroke width
                unsure = unsure_lines([r.score for r in regions], report["regions"])
                report["unsure_lines"] = [i for i, u in enumerate(unsure) if u]
                mask, strokes, report["stroke_outliers"] = clamp_stroke_outliers(
                    mask, segmented, polys, strokes, p.margin)
                # ... and a small glyph piece at a line's box edge the segmenter does not
                # confirm: photo running into the box (a spoon's lit neck under a light
                # watermark; ops.text.unconfirmed), dropped with it
                from seamline.ops.text.unconfirmed import CONFIRM, edge_pieces

                edge_photo = edge_pieces(gm.mask > 0, prob, polys, strokes, heights)
                # a rim pixel the segmenter confirms as text (>= CONFIRM) is a letter's edge
                # beside what photo_in_fill took, not light falling off round a highlight (a
                # white subtitle's edge over yellow fur: 24 of 28 rim px drawn, p 0.46-0.97;
                # the demo spoon's rim outside the watermark 0.36-0.68)
                photo = photo & ~(rim & (prob >= CONFIRM))
                report["unconfirmed_px"] = int((edge_photo & ~photo).sum())
                photo = photo | edge_photo
            report.update(model=seg.path, model_version=seg.version, threshold=threshold)
            if p.method == "combined":  # the glyph mask's stroke widths describe the text
                cut = max(threshold, unit_number(p.effect_threshold, "effect_threshold"))
                # outlined text's fill counts only inside its outline (ops.text.outline)
                outlined = ["outlined" in r for r in report["regions"]]
                combined, report["per_line"] = combine_by_trust(
                    prob >= cut, mask > 0, polys, heights, unsure, image=image,
                    support=segmented, outlined=outlined)
                report["effect_threshold"] = cut
                if gm.fill_outline is not None:
                    # a fill + outline line's glyph mask already holds its whole outline
                    # (ops.text.glyph): none of it is dropped
                    report["fill_outline_px_kept"] = int((gm.fill_outline & ~combined).sum())
                    combined |= gm.fill_outline
                # glow text of the photo's own hue whose matte took the glow for the letters
                # (ops.text.glow_core): the letters the glow walls in join the mask. Not with
                # a tiled watermark's tiles: the tile vote rules those copies, and grass the
                # rule took round a faint white mark's tiles moved the vote off the detected
                # copies (test_watermark_lines' sunlit grass: one copy 1243 -> 722 drawn px)
                from seamline.ops.text.glow_core import glow_cores
                from seamline.ops.text.tile_copies import tile_regions

                report["glow_core_px"] = []
                if not tile_regions(regions):
                    combined |= glow_cores(combined, image, polys, heights, margin=p.margin,
                                           report=report["glow_core_px"])
                mask = combined.astype(np.float32)
                # a line masked by its glyphs alone (plus letters the segmenter confirmed,
                # or an outline: an effect grown all round, not moved) whose edge is hard
                # (no glow or soft shadow past it) gets only its anti-aliased pixel from the
                # normaliser (1 px) ...; other lines keep their margin
                hard = hard_edged(combined, image, polys)
                # ... but not a line stacked above or below another whose mask is its fill
                # alone, its outline a dark ring just outside, which 1 px of growth leaves
                # (ops.text.rim.outline_outside; train: a two-line subtitle's long first line
                # over a yellow photo going dark green, "calm"'s outline left at its end).
                # Only stacked lines: single ones not measured on the 36-case mix yet.
                own = {}  # line -> its own mask (_own), where a stacked line reaches it
                for i, c in enumerate(report["per_line"]):
                    if hard[i] and c.startswith("glyphs") and not _outlined(c):
                        own[i] = _own(combined, polys, i)
                        if own[i] is not None and outline_outside(own[i], image, [polys[i]])[0]:
                            hard[i] = False
                # ... or an outline the segmenter confirmed (a centred effect of at most
                # OUTLINE_EFFECT_MAX_PX, grown over its anti-aliased edge already) whose edge
                # is hard against the photo's own texture (a textured photo fails the ring
                # test with nothing of the text past the mask; ops.text.rim), or a line of
                # glyphs alone (the glyph mask holding a subtitle's outline itself) judged the
                # same way where its margin would be at most the 3 px the test looks out over
                # (a bold title's wide glow, estimated from itself there, looks hard) and its
                # colours are opaque (not a semi-transparent watermark's blend)
                outl = [not h and (_outlined(c) or (
                    c == "glyphs" and (r or {}).get("path") != "watermark"
                    and np.isfinite(s) and s > 0 and np.isfinite(t) and t > 0
                    and dilation_for_text(float(s), float(t)) <= GLYPHS_CAP_MAX_PX))
                        for c, h, s, t, r in zip(report["per_line"], hard, strokes, heights,
                                                 report["regions"])]
                # ... where that mask holds the outline: a mask of the fill alone, its outline
                # a dark ring just outside, keeps its margin (ops.text.rim.outline_outside)
                only = [o and not _outlined(c) for o, c in zip(outl, report["per_line"])]
                # (judged on the line's own mask: a stacked neighbour's is not its ring)
                for i, g in enumerate(only):
                    if g and i not in own:
                        own[i] = _own(combined, polys, i)
                outside = outline_outside(combined, image, [q for i, (q, g) in enumerate(
                    zip(polys, only)) if g and own[i] is None])
                outl = [o and not (g and (outside.pop(0) if own[i] is None
                                          else outline_outside(own[i], image, [q])[0]))
                        for i, (o, g, q) in enumerate(zip(outl, only, polys))]
                tex = hard_over_texture(combined, image, [q for q, o in zip(polys, outl) if o])
                by_outline = [o and tex.pop(0) for o in outl]
                # ... or a line neither test took whose rings differ by a photo structure
                # running out of its mask, not by its text's tail (ops.text.rim.hard_by_steps;
                # train: a blurred-shadow title's word over a cup's rim, blur_overlap_check 21),
                # judged on its own mask where a stacked line reaches it; a glyphs-only one
                # whose dark outline lies just outside its mask keeps its margin
                rest = [i for i, (c, h, o) in enumerate(zip(report["per_line"], hard, by_outline))
                        if c.startswith("glyphs") and not h and not o and _unmoved(c)]
                by_steps = [False] * len(polys)
                for i in rest:
                    mi = own[i] if i in own else _own(combined, polys, i)
                    mi = combined if mi is None else mi
                    by_steps[i] = hard_by_steps(mi, image, [polys[i]])[0] and not (
                        not _outlined(report["per_line"][i])
                        and outline_outside(mi, image, [polys[i]])[0])
                report["steps_capped"] = by_steps
                capped = [c.startswith("glyphs") and (h or o or b) and _unmoved(c)
                          for c, h, o, b in zip(report["per_line"], hard, by_outline, by_steps)]
                # the outline's ink diagonal to those lines' mask (a serif's corner), which
                # 1 px of growth does not reach (ops.text.rim.missed_corners) ...
                # (and an outline whose colour the glyph mask refitted at full size where it
                # rings the fill, ops.text.glyph._only_rings: train outline2 24.15 dB with
                # them, 20.79 without, both with the edge below from the outline colour only;
                # for every capped line instead, tiny case 024 lost 11.8 dB)
                refit = ["refit" in (r or {}) for r in report["regions"]]
                corners = missed_corners(
                    combined, image,
                    [q for q, c, o, f in zip(polys, capped, by_outline, refit) if c and (o or f)])
                # ... and, 2 px out, on a capped line the glyph mask found outlined (its
                # letters ringed by a darker colour, ops.text.glyph) but neither test above
                # took: its mask was computed at under half size, its edge placed to a pixel,
                # and the outline's corners and last row lay outside (train: DejaVu Serif Bold
                # 60 px over smooth brown at 1600x1200, dark blobs at its serifs once filled).
                # Found outlined: ``outlined`` set ("outline" is the outline's colour index, 0
                # as often as not; read as a flag, such lines never got the step: a white
                # DejaVu Sans Bold title, its black outline colour 0, left 18 outline px).
                # A glow line whose dark core the glyph mask read as an outline gets it too:
                # there it takes the glow's faint tail 1-2 px past the halo's mask, drawn ink
                # for 60-91% of its px (train, pipe PSNR with the step vs without: glow1
                # +0.23, glow6 +0.80, glow22 +0.13, mix 009 +0.27 dB; glow5 -1.39, its mask
                # better, rec8 0.988 -> 0.996, its fill over a bokeh disc smeared greener)
                ringed = [c and not (o or f) and bool((r or {}).get("outlined"))
                          and (r or {}).get("work_scale", 1.0) < RINGED_SCALE
                          for c, o, f, r in zip(capped, by_outline, refit, report["regions"])]
                if any(ringed):
                    corners |= missed_corners(combined, image,
                                              [q for q, g in zip(polys, ringed) if g], reach=2)
                # ... and, 1 px out (the diagonal), on a line the normaliser grows by 1 px
                # (capped, or a thin caption's margin) that the glyph mask did not find
                # outlined although its colours hold a dark one beside a light fill: a
                # subtitle whose outline has no contrast where the line starts over a dark
                # ground, so too few letters show it ringed (train: white DejaVu Sans Mono Bold
                # / FreeMono Bold 26-33 px, 1-2 px black outline, the first word over
                # near-black beside a defocused yellow petal; the outline's corners at the
                # letter tops over the petal were left and the fill dragged them in as dark
                # streaks). Only where those corners differ from the photo far beyond its
                # texture (STRONG_CORNERS): without that, on the train subtitles whose outline
                # the mask holds, the step took the photo's own dark detail beside the letters
                # (mask_train_eval subtitle x8: 24.56 -> 23.93 dB)
                unringed = [(c or _one_px(ch, sw, th)) and not (o or f or g)
                            and not (r or {}).get("outlined") and _dark_beside_light(r)
                            for c, o, f, g, r, ch, sw, th in zip(
                                capped, by_outline, refit, ringed, report["regions"],
                                report["per_line"], strokes, heights)]
                # (added after the outline ring below, which judges each letter by its mask's
                # edge: with these dark corners in it a letter read as holding its outline
                # and lost its ring; train bokeh astronaut_s9_sub's "th" left whole)
                dark_corners = np.zeros_like(combined)
                if any(unringed):
                    dark_corners = missed_corners(
                        combined, image, [q for q, g in zip(polys, unringed) if g],
                        strong=STRONG_CORNERS, darker=True)
                report["outline_capped"] = [bool(c and o) for c, o in zip(capped, by_outline)]
                report["corner_px"] = int((corners & ~combined).sum())
                combined |= corners
                # ... and the fill's colour in its mask's narrow gaps, which 2 px of growth
                # closed (ops.text.rim.narrow_gaps)
                gaps = narrow_gaps(combined, image, [q for q, c, o, f in zip(
                    polys, capped, by_outline, refit) if c and (o or f)])
                report["gap_px"] = int((gaps & ~combined).sum())
                combined |= gaps
                # ... and, on a stacked line masked by its glyphs (no outline grown round
                # them), the dark outline just outside the pieces of its mask that hold only
                # its fill (a two-line subtitle's long line, its ends over dark photo;
                # ops.text.rim.outline_ring), judged on its own mask (_own). Only stacked lines:
                # on every glyphs-only line the 36-case mix lost 0.01 dB (029, a meme over
                # coffee, -0.12; 022, a tiled watermark, -0.11; 027, a huge title, 3 px of
                # dark noise past its grey rim added, +0.05)
                ring = np.zeros_like(combined)
                for i, c in enumerate(report["per_line"]):
                    if c.startswith("glyphs") and not _outlined(c):
                        mi = _own(combined, polys, i)  # with the corners and gaps above
                        if mi is not None:
                            ring |= outline_ring(mi, image, [polys[i]])
                ring &= ~combined
                report["outline_ring_px"] = int(ring.sum())
                combined |= ring
                report["dark_corner_px"] = int((dark_corners & ~combined).sum())
                combined |= dark_corners
                # ... and, on the lines of a block (stacked lines of one style, ops.text.siblings)
                # where one line was found outlined, the pixels past the mask that moved toward that
                # outline's colour (ops.text.siblings.toward_colour): 1-2 px all round a sibling not
                # found outlined (a subtitle's first line starting over a dark ground, where its
                # outline has no contrast, so too few letters showed it ringed), and a few px,
                # toward its outline's or nearly to its fill's colour, on both lines where their
                # boxes overlap (the glyph mask reads that overlap as background,
                # ops.text.glyph._union: the lower line's top outline rows and the upper line's
                # descenders were cut flat there; every fill dragged them in as dark streaks). Train
                # analogues (two white mono/sans bold lines, 2 px black outline, line 1 over
                # near-black then a defocused petal, grain + JPEG, boxes overlapping 6-14 px; 15
                # cases): pipeline 24.61 -> 35.39 dB, Telea on the mask 22.54 -> 27.39 dB.
                sibling = block_outlines(combined, image, polys, report["regions"],
                                         [_outlined(c) for c in report["per_line"]])
                report["sibling_outline_px"] = int((sibling & ~combined).sum())
                combined |= sibling
                # without the highlight a light fill's matte took and what the effects grew
                # round it (ops.text.outline): the effects, caps and corners are fitted and
                # judged with it in the glyphs, where the segmenter marks it too
                kept = without_photo(combined, gm.mask > 0, photo)
                report["photo_fill_px"] = int((combined & ~kept).sum())
                # ... plus, on a line with a hard shadow its edges placed (1 px of growth),
                # the glyphs' anti-aliased edge the matte's cut left (ops.text.glyph): a
                # corner's diagonal pixel, a 2 px edge; green specks over coffee once filled.
                # Added after the effects (the shadow is the glyphs' core moved) and caps
                # (not to a blurred one, ", hard, blurred)": its tail holds that edge).
                # The same for a line whose outline colour the glyph mask re-estimated at
                # full size ("refit": a 2 px outline ringing its fill): its mask is complete,
                # so it is capped, and the outline's soft outer edge stayed as faint traces
                # (train outline2 24.40 dB without, 28.53 with; outline7 22.64 without, 22.34
                # with: the fill's guess at a cell edge under the letters differs)
                hard_lines = [i + 1 for i, (c, r) in enumerate(zip(report["per_line"],
                                                                   report["regions"]))
                              if ", hard)" in c or "refit" in (r or {})]
                edge = (np.isin(gm.edge, hard_lines) & ~kept & ~photo
                        & (cv2.dilate(kept.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0))
                report["edge_px"] = int(edge.sum())
                combined = kept | edge
                # the ring ends at the outline's outer edge: the normaliser grows it by the
                # anti-aliased pixel only, as a capped line (the line's margin, 2 px on the
                # train analogue, landed past the outline)
                # ... and the rest of an outlined line's dark outline just past its mask (a
                # thick outline matted 1-3 px short of its outer edge:
                # boundary_rim.edge_colour_rim), grown from by the anti-aliased pixel only, as
                # the ring
                # (not a shadowed line's: its darkest colour is the shadow, placed by its fit;
                # train mix 020, a hard-shadowed subtitle, -0.9 dB with it; a soft shadow,
                # which _moved does not count, stays in: mix 012 20.77 -> 20.47 dB without it)
                edged = [i for i, (r, c) in enumerate(zip(report["regions"], report["per_line"]))
                         if r and r.get("path") != "watermark" and not _moved(c)
                         and (r.get("outlined") or _dark_beside_light(r))]
                # (its core colour up to the outline's outer edge not on a soft shadow's
                # line, whose darkest colour is the shadow: mix 012, 5 px of it, -0.56 dB)
                rest = edge_colour_rim(combined, image, [polys[i] for i in edged],
                                       [report["regions"][i]["colors"] for i in edged],
                                       cores=["soft shadow" not in report["per_line"][i]
                                              for i in edged])
                report["edge_colour_px"] = int(rest.sum())
                combined |= rest
                # ... and, on a line whose colours lift or a ringing outline chose, its fill's
                # colour its mask walls in (a fill matted short inside its outline:
                # ops.text.boundary_rim.fill_in_holes)
                filled = [i for i, r in enumerate(report["regions"]) if r and r.get("colors")
                          and r.get("path") in ("lift", "fill+outline")]
                holes = fill_in_holes(combined, image, [polys[i] for i in filled],
                                      [report["regions"][i]["colors"][0] for i in filled])
                report["hole_fill_px"] = int(holes.sum())
                combined |= holes
                held = ring_caps((ring | rest) & combined)
                # the photo a hard-shadowed line's mask walls in (its letters' counters, the
                # photo between letters and shadow): normalize-mask fills no hole there
                # (ops.text.hard_shadow.shadowed_holes)
                opened = shadowed_holes(combined, polys, [_hard_shadowed(c)
                                                          for c in report["per_line"]])
                report["shadowed_hole_px"] = int(opened.sum())
                mask = combined.astype(np.float32)
                # ... plus the faint rim measured past a huge title's edge (ops.text.rim)
                rims = faint_rim_px(combined, image,
                                    [q for q, c in zip(polys, capped) if c],
                                    [h for h, c in zip(heights, capped) if c])
                caps = [1 + rims.pop(0) if c else None for c in capped]
                report["rim_px"] = [cap - 1 if cap else None for cap in caps]
                # a date whose ink differs from the photo in redness, not lightness (orange
                # digits over golden grass), is its a* split there, grown 1 px
                # (ops.text.redness_ink): the matte took half its strokes or the grass
                from seamline.ops.text.redness_ink import chroma_lines

                report["chroma_lines"] = chroma_lines(mask, image, regions,
                                                      [p.margin * h for h in heights])
                for i in report["chroma_lines"]:
                    caps[i] = 1
            else:
                mask = segmented.astype(np.float32)
                strokes, heights = line_geometry(mask, polys)
        if p.method == "combined":
            from seamline.ops.text.tile_copies import tile_regions
            from seamline.ops.text.tile_support import repeated_strokes
            from seamline.ops.text.tile_vote import shared_glyphs

            tiles = tile_regions(regions)
            lines = [r for r in regions if r.text]
            inside = None
            if tiles and lines:
                from seamline.ops.polygons import polygon_box_mask

                inside = np.zeros(mask.shape, bool)
                for r in lines:  # each line's polygon on its own box, not the frame
                    box, m = polygon_box_mask(r.polygon, mask.shape)
                    inside[box] |= m
            kept, report["tile_vote"] = shared_glyphs(mask >= 0.5, image, regions)
            # where the copies hardly agree (the matting found little of most copies over a
            # busy photo) the few shared pixels are no word to cut a detected line's mask to:
            # the lines keep their own masks and the vote cuts the tiles' only
            tv = report["tile_vote"]
            if (inside is not None and tv.get("agreement", 1.0) < TRUSTED_AGREEMENT
                    and tv.get("dropped_px", 0) > NO_WORD_DROPPED * tv.get("shared_px", 0)):
                kept = kept | inside
            mask = np.where(kept, mask, np.float32(0))
            # ... plus the word's strokes, from the copies' own median, at every lattice copy
            # that shows them (ops.text.tile_support): copies the detector did not box, cut
            # by the frame, or whose matting failed over texture; a copy a detected line's
            # mask holds is left to it
            if tiles:
                # a sliver tile's own mask (its line matted as unknown text) keeps only the
                # pieces that moved from the photo toward unblend-watermark's fitted blend: a
                # lattice tile past the frame's edge with nothing drawn in its sliver took a
                # bright sky speck among dark leaves for glyphs (train tiledge2: 1010 px, all
                # > 8 px from the text; the held-out tiled case's report shape); a copy cut
                # by the edge is a blend of the photo and the word. The blend is fitted over
                # the whole copies, which unblend then took off: the slivers left here fit
                # none of their own (a speck alone fits an opacity over 1). Detected lines,
                # and tiles centred in the frame on a copy that shows the word, keep theirs.
                if watermark:
                    from seamline.ops.text.siblings import slivers_off_word

                    off = slivers_off_word(mask >= 0.5, image, [regions[i].polygon for i in tiles],
                                           watermark, within=None if inside is None else ~inside)
                    mask[off] = 0
                    report["tile_off_colour_px"] = int(off.sum())
                line_mask = None if inside is None else (mask >= 0.5) & inside
                strokes_px, report["tile_strokes"] = repeated_strokes(
                    image, [regions[i].polygon for i in tiles], line_mask=line_mask,
                    blend=watermark)
                mask = np.where(strokes_px, np.float32(1), mask)
        geometry = {"boxes_xyxy": boxes,
                    "stroke_width_px": [float(s) for s in strokes],
                    "text_height_px": [float(h) for h in heights]}
        if p.method == "combined":
            geometry["dilate_max_px"] = caps
            geometry["dilate_max_runs"] = held
            geometry["open_runs"] = row_runs(opened)
        if p.method in ("matting", "combined"):
            # the first text colour (the lift-chosen paint; the others, an outline or a shadow
            # taken for hugging the glyphs, can be the photo's own colours beside them)
            geometry["ink_rgb"] = [list(r.get("colors", []))[:1] for r in report["regions"]]
        report["coverage"] = float(np.mean(mask >= 0.5))
        return StageResult(outputs={"mask": mask.astype(np.float32), "geometry": geometry},
                           report=report)


#: The tile vote (:func:`~seamline.ops.text.tile_vote.shared_glyphs`) cuts the detected lines'
#: masks too only where its copies agree at least this well. Train split: the periodicity's
#: watermarks (test_tile_vote's retina, chelsea, rocket) agree at 0.82-0.93; a faint white
#: "PROOF" over sunlit grass found by the detector's readings at 0.34, where the vote kept
#: 1863 px and dropped 24695, most of the 11 boxed copies' glyphs (their ink left 0.06-0.25
#: -> 0.13-0.41).
TRUSTED_AGREEMENT = 0.6
#: ... and where it keeps so little of the mask near the copies that it holds no word: it
#: drops more than this many times the pixels it keeps (the sunlit grass: 24695 / 1863)
NO_WORD_DROPPED = 5


#: A centred effect grown at most this far (px) past the glyphs is an outline (1-2 px and its
#: anti-aliased edge); a wider one may be a soft shadow or a glow, whose tail the margin is for.
OUTLINE_EFFECT_MAX_PX = 3


#: A capped line the glyph mask found outlined has its mask's missed corners looked for 2 px
#: out when that mask was computed at under this scale (scaled up by more than 2x, its edge
#: placed to about a pixel; train: DejaVu Serif Bold 60 px at 1600x1200, scale 0.43). On every
#: outlined line, whatever its scale, the 2 px took dark photo beside a 2 px outlined subtitle
#: over coffee (train subtitle3: pipe PSNR 26.58 -> 23.43 dB; unchanged with this gate).
RINGED_SCALE = 0.5

#: A line grown by 1 px, not found outlined but holding a dark colour beside its light fill,
#: has its missed corners taken only where their median change from the photo estimate,
#: darker, is at least this many times the photo's texture floor (its outline's corners left
#: over a smooth photo, not the photo's own detail beside its letters). Train (the detector's
#: own box): the sub18 analogues (a subtitle's first word over near-black, the rest over a
#: defocused petal, grain + JPEG) whose corners were left 2.1-7.2, and bokeh_check's
#: astronaut_s9 / flower2_s9 / rocket_s6 subtitles; mask_train_eval's subtitle, outline and
#: meme cases 0.6-1.6 (with no bound subtitle x8 lost 0.63 dB: the photo's dark detail). Two
#: analogues whose corners were mostly ink stay under it (1.66, 1.74).
STRONG_CORNERS = 2.0

#: A "glyphs"-only line is judged for the 1 px cap only where the normaliser's margin would be
#: at most this (px), the reach of ``rim.hard_over_texture``'s near ring: train case 008 (a
#: glow title, stroke 35 px, margin 5 px) was capped and left its glow (ghost 0 -> 4 words).
#: (A semi-transparent watermark's line, glyph path "watermark", is not judged: train case 011,
#: capped, -1.25 dB, its fill speckled over the tripod.)
GLYPHS_CAP_MAX_PX = 3


def _own(mask, polys, i):
    """``mask`` less the boxes of the lines stacked above or below line ``i``
    (:func:`seamline.ops.polygons.stacked`) where they reach its crop, outside its own box:
    what line ``i``'s ring tests read. None where no stacked line reaches it."""
    from seamline.ops.polygons import line_crop, polygon_mask, stacked

    y0, y1, x0, x1 = line_crop(mask.shape, polys[i], 0.3)
    if y1 <= y0 or x1 <= x0:  # a line wholly outside the frame (a tiled watermark's copy)
        return None
    off = np.float32([x0, y0])
    theirs = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for j, q in enumerate(polys):
        q = np.asarray(q, np.float32)
        if (j != i and q[:, 0].max() >= x0 and q[:, 0].min() < x1 and q[:, 1].max() >= y0
                and q[:, 1].min() < y1 and stacked(polys[i], q)):
            theirs |= polygon_mask(q, theirs.shape, off)
    theirs &= polygon_mask(np.asarray(polys[i], np.float32), theirs.shape, off) == 0
    if not theirs.any():
        return None
    out = mask.copy()
    out[y0:y1, x0:x1] &= theirs == 0
    return out


def _one_px(choice: str, stroke: float, height: float) -> bool:
    """Whether a line masked by its glyphs alone (no effect grown round them) gets 1 px of
    growth from the normaliser uncapped (``dilation_for_text``: a thin caption), as a capped
    line does."""
    from seamline.ops.masks import dilation_for_text

    return (choice.startswith("glyphs") and not _outlined(choice) and np.isfinite(stroke)
            and stroke > 0 and np.isfinite(height) and height > 0
            and dilation_for_text(float(stroke), float(height)) <= 1)


def _dark_beside_light(region) -> bool:
    """Whether a line's glyph-mask colours (``region["colors"]``, RGB in [0, 1]) hold a colour
    darker than the lightest by ``rim.OUTLINE_DARK_L`` (Lab L*): a light fill's dark outline
    (or a dark photo colour the matte took beside it)."""
    import cv2

    from seamline.ops.text.rim import OUTLINE_DARK_L

    cols = np.asarray((region or {}).get("colors") or [], np.float32).reshape(-1, 3)
    if len(cols) < 2:
        return False
    light = cv2.cvtColor(cols[None], cv2.COLOR_RGB2Lab)[0, :, 0]
    return float(light.max() - light.min()) > OUTLINE_DARK_L


def _outlined(choice: str) -> bool:
    """Whether a line's ``combine_masks`` choice holds an outline: a centred effect
    (``effect(dx=0, dy=0, r=R)``) with R at most ``OUTLINE_EFFECT_MAX_PX``."""
    for part in choice.split(" + "):
        if part.startswith("effect(dx=0, dy=0, r="):
            if int(part[len("effect(dx=0, dy=0, r="):].rstrip(")")) <= OUTLINE_EFFECT_MAX_PX:
                return True
    return False


def _moved(choice: str) -> bool:
    """Whether a line's ``combine_masks`` choice holds an effect moved off the glyphs (a
    shadow: ``effect(dx=4, dy=4, ...)``)."""
    return any(part.startswith("effect(") and not part.startswith("effect(dx=0, dy=0,")
               for part in choice.split(" + "))


def _hard_shadowed(choice: str) -> bool:
    """Whether a line's ``combine_masks`` choice holds a hard drop shadow placed by its edges
    or split from the fill and not blurred (``effect(dx=4, dy=4, r=0, hard)``,
    ``..., split)``): its mask is then the letters and that shape moved, nothing grown."""
    return any(part.startswith("effect(") and part.endswith((", hard)", ", split)"))
               for part in choice.split(" + "))


def _unmoved(choice: str) -> bool:
    """Whether every effect in a line's ``combine_masks`` choice is centred (an outline or a
    glow: ``effect(dx=0, dy=0, ...)``) or a hard shadow its own edges placed
    (``effect(dx=4, dy=4, r=0, hard)``: sharp all round, no blur) or split from the fill in
    the glyph mask (``..., split)``), or one of those whose blur past the moved outline
    ``combine_masks`` grew the mask over (``..., blurred)``); True for a line with none.
    Another moved one is a drop shadow, whose blur may reach past a mask edge that looks
    hard."""
    return all(part.startswith("effect(dx=0, dy=0,")
               or part.endswith((", hard)", ", split)", ", blurred)"))
               for part in choice.split(" + ") if part.startswith("effect("))

