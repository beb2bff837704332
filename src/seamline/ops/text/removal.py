"""Text removal as a closed loop: choose a fill per region, fill, judge, re-mask, refill.

:func:`fill_text` is what the ``fill-text`` stage of the ``remove-text`` pipeline runs after
the mask is built and preflighted:

1. **Per-region choice** (:mod:`seamline.ops.text.region_fill`): every mask component goes
   to the text region it lies in, and the stroke width and the context around the hole
   choose the fill (Telea on smooth context, FSR over texture or structure, the exemplar
   fill for a large hole over texture, unless strong edges cross it: :data:`EDGE_FILL`
   then). Strokes that are semi-transparent paint over the photo (one blend fitted across
   their borders explains them, :mod:`seamline.ops.inpaint.see_through`) get
   :data:`SEE_THROUGH` instead: the blend inverted, the photo under them kept. The numbers
   and the reason are recorded per region (``blend``: the fit). A huge title's hole takes
   its drop shadow's faint tail beside it before the first fill
   (:func:`seamline.ops.text.tail.shadow_tail`; ``tail_px``). The text's anti-aliased rim
   the mask left just outside each hole (a mix of the line's ink and the photo) is unmixed
   back to the photo first, so no fill reads the text's colour in the ring
   (:mod:`seamline.ops.text.edge_unmix`; ``edge_unmix``, given the lines' ``inks``).
2. **Fill** (:mod:`seamline.ops.text.region_fill`): regions fill in order on crops around
   them, regions not filled yet count as unknown, only the region's own hole is pasted
   back (every pixel outside the mask stays bit-identical); two regions that do not see
   each other's hole fill at once on two threads.
3. **Judge.** The smear judge (:mod:`seamline.ops.inpaint.smear`) compares each region's
   fill with the photo around it (detail kept, edges that stop at the border); the structure
   judge (:mod:`seamline.ops.inpaint.structure`) follows the strong edges that cross the hole
   (a cup rim under a title) and checks they continue the curve around it. Neither reads
   text, so they run first and a fill they flag is replaced (step 4) before the ghost judge
   (:mod:`seamline.ops.text.ghost`) reads every original region of the result as is and
   contrast-boosted (three OCR reads per region) and looks for glyph-shaped residue, the
   mask's outer rim given back first (:func:`~seamline.ops.text.regrow.rim_back`).
4. **Re-mask and refill.** A region the ghost judge flags grows over the residue it found
   (and by ``grow_px`` all round), and over a small gap that growth closes all round
   (:func:`~seamline.ops.text.regrow.close_gaps`: the fill would spread its ink); a
   region the smear judge flags gets the next fill of
   :data:`~seamline.ops.text.region_fill.SMEAR_LADDER` (Telea -> FSR -> exemplar;
   ``backend="auto"`` only; over a ring with neither texture nor structure the ladder ends
   at FSR, :func:`~seamline.ops.text.region_fill.next_smear_fill`); one the structure judge
   flags gets :data:`EDGE_FILL` (the crossing edges drawn first, then FSR; ``auto`` only).
   Either way it is filled again from the original pixels around it (never from the previous
   pass: drift would accumulate). At most ``max_passes`` fills and one narrow ghost regrowth
   (:mod:`~seamline.ops.text.regrow`); every pass is recorded with the judges' figures. A
   fill the surface look (:mod:`seamline.ops.inpaint.surface`) finds flat where the photo
   around it has grain (wood under a title) gets that grain continued into it (``auto``
   only), on the same pass, before the ghost judge reads it; where only a stretch of a line
   is flat (a word over a grainier surface), the letters there take the patch fill's grain
   (:func:`~seamline.ops.text.region_fill.stretch_fill`). A region whose last pass is
   flagged gets its best-judged pass back (:mod:`~seamline.ops.text.best_pass`); one still
   flagged is returned as failed, by name, with the judge that flagged it.
"""

from __future__ import annotations

import time

import cv2
import numpy as np

from seamline.core.threads import share
from seamline.errors import InputError
from seamline.ops.polygons import polygon_mask
from seamline.ops.text.best_pass import BestPasses
from seamline.ops.text.fill_judges import Seen, judge_fill_crop
from seamline.ops.text.region_fill import (FILL_THREADS, Hole, assign_components,
                                           choose_region_fill, fill_region, first_pass,
                                           grain_box, judge_box, next_smear_fill,
                                           smooth_context, stretch_fill)
from seamline.ops.text.regrow import PhotoBack, close_gaps, fills_used, rim_back, wide_residue
from seamline.ops.text.tail import shadow_tail, tail_halo

__all__ = ["fill_text", "choose_region_fill", "assign_components"]

#: The fill for a region whose strokes are semi-transparent paint (``backend="auto"``): the
#: blend inverted, the photo under the strokes kept (:mod:`seamline.ops.inpaint.see_through`).
SEE_THROUGH = "unblend"
#: The fill for a region the structure judge flags (``backend="auto"``): the edges that cross
#: the hole drawn first along the curve the photo around them draws, then FSR.
EDGE_FILL = "fsr-edge"
#: Fills a structure flag keeps (FSR broke the oriented fill's bands: structure_fill_eval.py)
EDGE_KEPT = (EDGE_FILL, "oriented")
#: A re-mask grows within this many px of the mask the loop was given ...
REGROW_MASK_PX = 8
#: ... and over letters the mask missed inside the line's polygon grown by this many px,
#: nowhere else (:func:`regrow_limit`).
REGROW_LINE_PX = 3


def regrow_limit(polygon, first_mask: np.ndarray, box: tuple[slice, slice], *,
                 letters: np.ndarray | None = None) -> np.ndarray:
    """Where a region's re-mask may grow, on the pixels of ``box``.

    The judges' residue reaches as far as they look (a third of the text height around the
    line, and a ring beyond): on a gradient or a coin beside the line it is photo, and the
    refill changed it (held-out, 06:50: 26291 px changed farther than 8 px from the drawn
    text). A re-mask stays within ``REGROW_MASK_PX`` of the mask the loop was given (a
    shadow, an outline or a rim the mask left out), and reaches further only over the
    letters the leftover look found (ink the mask missed), inside the line's polygon grown
    by ``REGROW_LINE_PX``. Measured on the train split (``benchmarks/loop_regrowth_check.py``):
    the whole line's polygon as a limit kept most of the far pixels of a huge title on a
    gradient (8688 of 9320), the mask's reach alone 149.

    Parameters
    ----------
    polygon : ndarray, shape (N, 2)
        The text line, pixel ``(x, y)`` in the frame.
    first_mask : ndarray, shape (H, W), bool
        The mask the loop was given (its support).
    box : (slice, slice)
        Rows and columns of the frame to answer for (clipped to it, steps of 1).
    letters : ndarray, shape of ``box``, bool, optional, keyword-only
        Letter-shaped ink the mask missed (:attr:`seamline.ops.text.ghost.GhostVerdict.ink_left`).

    Returns
    -------
    ndarray, shape of ``box``, bool
    """
    (ys, xs), (h, w) = box, first_mask.shape
    m = REGROW_MASK_PX
    # the mask on the box grown by the reach, so a mask pixel just outside the box counts
    y0, y1 = max(0, ys.start - m), min(h, ys.stop + m)
    x0, x1 = max(0, xs.start - m), min(w, xs.stop + m)
    ell = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * m + 1, 2 * m + 1))
    near_mask = cv2.dilate(first_mask[y0:y1, x0:x1].astype(np.uint8), ell) > 0
    out = near_mask[ys.start - y0:ys.stop - y0, xs.start - x0:xs.stop - x0].copy()
    if letters is None or not letters.any():
        return out
    line = polygon_mask(np.asarray(polygon, np.float64), out.shape, (xs.start, ys.start))
    k = REGROW_LINE_PX
    in_line = cv2.dilate(line, cv2.getStructuringElement(cv2.MORPH_ELLIPSE,
                                                         (2 * k + 1, 2 * k + 1))) > 0
    # the letters found, grown by the loop's own growth step, inside the line
    out |= in_line & (cv2.dilate(letters.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    return out


#: Fills that carry the hole's border values inward (and so the tail with them).
DIFFUSION_FILLS = ("telea", "ns", "biharmonic")


def _see_through(image, hole: Hole, support) -> dict:
    """Whether a region's strokes are semi-transparent paint over the photo (one blend
    explains them, :func:`seamline.ops.inpaint.see_through.fit_blend`), on a crop around
    the hole; other regions' holes are not photo."""
    from seamline.ops.inpaint.see_through import fit_blend

    box = hole.box(12, image.shape)
    return fit_blend(image[box], hole.within(box), known=~support[box])


def _paint_beyond(image, hole: Hole, support, blend: dict) -> np.ndarray:
    """Frame-sized: untouched pixels beside a see-through region's hole that its fitted
    blend calls paint (:func:`seamline.ops.inpaint.see_through.paint_beyond`); other
    regions' holes are not photo."""
    from seamline.ops.inpaint.see_through import BEYOND_REACH_PX, paint_beyond

    box = hole.box(BEYOND_REACH_PX, image.shape)
    out = np.zeros(support.shape, bool)
    out[box] = paint_beyond(image[box], hole.within(box), fit=blend, known=~support[box])
    return out


def _crossing_edges(image, hole: Hole, support) -> int:
    """How many strong edges of the photo cross ``hole``: the structure judge's paths, found
    before any fill (they are read from the untouched pixels around the hole only)."""
    from seamline.ops.inpaint.structure import find_edge_paths

    box = judge_box(hole, image.shape)
    return len(find_edge_paths(image[box], hole.within(box), known=~support[box]))


def _judge_fill(out, hole: Hole, final, seen: Seen | None = None) -> tuple[dict, dict]:
    """The smear and structure judges' verdicts on one region's fill, on a crop around it
    (:func:`~seamline.ops.text.fill_judges.judge_fill_crop`); the ring is untouched photo
    only (``final`` holds every filled pixel). ``seen``: the verdicts given before in this
    call (:class:`~seamline.ops.text.fill_judges.Seen`)."""
    box = judge_box(hole, out.shape)
    here, known = hole.within(box), ~final[box]
    if seen is not None:
        return seen.verdict("fill", box, out[box], here, known, lambda: judge_fill_crop(
            out[box], here, known, paths=seen.curves(box, out[box], here, known)))
    return judge_fill_crop(out[box], here, known)


def _judge_surface(out, hole: Hole, final, seen: Seen | None = None, keep=None) -> dict:
    """The surface look's verdict on one region's fill (the smear judges' crop); ``seen``:
    as :func:`_judge_fill`'s; ``keep``: :func:`~seamline.ops.inpaint.surface.judge_surface`'s
    (the look's maps, where it looked: not for a verdict ``seen`` gave before)."""
    from seamline.ops.inpaint.surface import judge_surface

    box = judge_box(hole, out.shape)
    here, known = hole.within(box), ~final[box]
    if seen is not None:
        return seen.verdict("surface", box, out[box], here, known,
                            lambda: judge_surface(out[box], here, known=known, keep=keep))
    return judge_surface(out[box], here, known=known, keep=keep)


def _texture_pass(out, hole: Hole, final, verdict: dict, seen: Seen | None = None,
                  look=None) -> tuple[dict, dict]:
    """Give a fill the surface look flags the grain it lost, in place; returns the new
    verdict and the record for the pass.

    The ring's grain is continued into the hole along its own direction
    (:func:`seamline.ops.inpaint.surface.grain_transfer`) where the ring near a pixel is
    textured and free of strong edges, away from the curves the fill drew across the hole
    (:func:`~seamline.ops.inpaint.surface.texture_weight`, ``off_curves``): the wood under a
    title takes the wood's grain, the cup rim it crosses keeps its edge. A flat middle (a
    thick hole's) then gets the grain it lacks up to a share of the ring's (``fill_middle``).
    Only untouched photo is read (``final`` holds every filled pixel), so no pass builds on
    another's fill. ``look``: the surface verdict's maps of this crop (its ``keep``)."""
    from seamline.ops.inpaint.surface import (add_grain, fill_middle, grain_transfer,
                                              off_curves, texture_weight)

    t0 = time.thread_time()
    box = grain_box(hole, out.shape)
    here, known = hole.within(box), ~final[box]
    same = box == judge_box(hole, out.shape)  # the verdict's crop? its maps, its curves
    off = off_curves(out[box], here, known=known,  # the curves drawn keep their line
                     paths=seen.curves(box, out[box], here, known) if same and seen else None)
    weight = texture_weight(out[box], here, known=known, off=off, look=look if same else None)
    rec = {"fix": "grain", "before": {k: verdict.get(k) for k in (
        "flat_px", "flat_share", "grain_ratio", "middle_flat_px", "middle_flat_share", "reasons")},
           "weight_mean": round(float(weight[here].mean()), 4)}
    if float(weight.max()) > 0.05:
        grained = add_grain(out[box], grain_transfer(out[box], here, known=known), weight)
        np.copyto(out[box], grained, where=here[..., None])
    if any(r.startswith("flat middle") for r in verdict.get("reasons", ())):
        filled, gain = fill_middle(out[box], here, known=known, off=off)
        np.copyto(out[box], filled, where=here[..., None])
        rec["middle_gain_mean"] = round(float(gain[here].mean()), 4)
    rec["cpu_ms"] = round(1000 * (time.thread_time() - t0), 1)
    return _judge_surface(out, hole, final, seen), rec


def _unmix_rims(image, out, holes, plan, inks, filled) -> np.ndarray:
    """Give each region's text rim just outside its hole back to the photo, in ``out`` (in
    place; :func:`seamline.ops.text.edge_unmix.unmix_edge` on a crop of the original
    ``image``, every region against the same mask ``filled``: one region's rim is never
    another's hole); records ``edge_unmix`` per region and returns the pixels unmixed
    (frame-sized, bool)."""
    from seamline.ops.text.edge_unmix import BAND_PX, unmix_edge

    unmixed = np.zeros(filled.shape, bool)
    for lab, hole in holes.items():
        idx = lab - 1
        if idx >= len(inks) or lab not in plan or not len(inks[idx] or ()):
            continue
        box = hole.box(3 * BAND_PX + 8, image.shape)  # the band, its estimate, its smoothing
        restored, changed, figures = unmix_edge(image[box], hole.within(box), inks[idx],
                                                mask=filled[box])
        if changed.any():
            np.copyto(out[box], restored, where=changed[..., None])
            unmixed[box] |= changed
        plan[lab]["edge_unmix"] = figures
    return unmixed


def fill_text(image, mask, regions, *, backend="auto", max_passes=3, radius=3, seed=0,
              judge=True, grow_px=1, stroke_px=None, ocr=None, model_path=None, device="cpu",
              threads=None, inks=None):
    """Remove text: fill the mask region by region, judge the result, refill what shows.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with text.
    mask : ndarray, shape (H, W), float32 in [0, 1]
        What to fill (1 = text), already normalised and preflighted. Soft values count as
        fill (the loop works on the support ``mask > 0``).
    regions : sequence of TextRegion
        The text regions detected on ``image`` (polygons and words), for the per-region
        choice and the ghost judge.
    backend : str, keyword-only
        ``"auto"`` (per region, see :func:`choose_region_fill`) or any inpainting backend
        name (:data:`seamline.ops.inpaint.BACKENDS`), used for every region and pass.
    max_passes : int, keyword-only
        Most fills per region (>= 1; a narrow ghost regrowth is one more: fills_used).
    radius : float, keyword-only
        Neighbourhood radius of the diffusion fills, px.
    seed : int, keyword-only
        For the exemplar fill.
    judge : bool, keyword-only
        Run the ghost and smear judges after each pass (False: one pass, no verdicts).
    grow_px : int, keyword-only
        Growth of a flagged region's hole (and of the residue found) per refill, px.
    stroke_px : sequence of float, optional, keyword-only
        Per region, the glyph stroke width the text mask measured (for the choice).
    ocr : callable, optional, keyword-only
        Line reader for the judge (default: the bundled recogniser).
    model_path, device : optional, keyword-only
        Checkpoint and torch device for the ``lama`` backend.
    threads : int, optional, keyword-only
        Threads for the first pass's fills (>= 1; default ``FILL_THREADS`` capped by
        :func:`seamline.core.threads.share`). The result is the same for every value.
    inks : sequence of array_like, optional, keyword-only
        Per region, its ink colours (``(K, 3)`` RGB in [0, 1]; ``text-mask``'s ``ink_rgb``).
        Given, the text's anti-aliased rim left just outside each region's hole is unmixed
        back to the photo before the first fill
        (:func:`seamline.ops.text.edge_unmix.unmix_edge`; ``edge_unmix`` per region, the
        pixels join ``final_mask``).

    Returns
    -------
    out : ndarray, shape (H, W, 3), float32 in [0, 1]
        Bit-identical to ``image`` outside ``final_mask``.
    final_mask : ndarray, shape (H, W), float32 in {0, 1}
        The mask after the loop grew it (a superset of ``mask > 0``).
    report : dict
        ``regions``: per region the fill chosen, the reason and numbers (``tail_px``: the
        effect's tail its hole took before the first fill; ``smooth_context`` under
        ``auto``: the smear ladder ends at FSR there), the passes
        (backend, why, hole pixels, crop box, CPU ms, ghost verdict, smear verdict);
        ``passes``: fills run; ``failed``: regions still flagged after the last pass
        (``index``, ``text``, ``reasons``, ``judges``: ``"ghost"``, ``"smear"``,
        ``"structure"`` and/or ``"surface"``); ``verdicts``: the ghost judge's last word
        per region; ``smear``, ``structure`` and ``surface``: the fill judges'
        (JSON-serialisable; a pass whose fill got the grain carries ``texture``: the
        verdict before, the weight, CPU ms);
        ``edge_unmixed_px``: rim pixels unmixed (``inks`` given); ``rim_photo_px``: pixels
        of the mask's outer rim given back to the photo (:func:`~seamline.ops.text.regrow.
        rim_back`, before each of the ghost judge's reads; unjudged, after the last fill).
    """
    from seamline.ops.inpaint import BACKENDS, get_backend

    if backend != "auto" and backend not in BACKENDS:
        raise InputError(f"backend: unknown inpainting backend {backend!r}; known: auto, "
                         f"{', '.join(BACKENDS)}")
    if isinstance(max_passes, bool) or not isinstance(max_passes, int) or max_passes < 1:
        raise InputError(f"max_passes: expected an integer >= 1, got {max_passes!r}")
    if threads is not None and (type(threads) is not int or threads < 1):
        raise InputError(f"threads: expected an integer >= 1 or None, got {threads!r}")
    support = np.asarray(mask) > 0
    out = image.copy()
    report: dict = {"backend": backend, "max_passes": max_passes, "regions": [], "passes": 0,
                    "failed": [], "verdicts": [], "smear": [], "structure": [], "surface": []}
    if not support.any():
        return out, support.astype(np.float32), report
    labels, n_labels = assign_components(support.astype(np.float32), regions)
    # one crop per region (its bounding box from one pass over the labels), in label order
    from scipy.ndimage import find_objects

    holes = {i + 1: Hole(sl, labels[sl] == i + 1)
             for i, sl in enumerate(find_objects(labels, n_labels)) if sl is not None}
    del labels
    plan = {}
    for lab, hole in holes.items():
        box = hole.box(12, image.shape)
        idx = lab - 1
        if backend == "auto":
            sw = stroke_px[idx] if stroke_px is not None and idx < len(stroke_px) else None
            name, why, numbers = choose_region_fill(image[box], hole.within(box), stroke_px=sw)
            blend = _see_through(image, hole, support)
            if blend["ok"]:
                # the photo is still under semi-transparent strokes: invert, do not invent
                name, why = SEE_THROUGH, blend["reason"]
                numbers = {**numbers, "blend": blend}
            elif name == "exemplar" and _crossing_edges(image, hole, support):
                # the structure judge's fix at once: the exemplar fill broke 4 of 7 such edges
                name, why = EDGE_FILL, (why.split(":")[0] + ", crossed by strong edges: "
                                        "the edges drawn first, then frequency-selective")
        else:
            name, why, numbers = backend, "backend chosen by the caller", {}
        plan[lab] = {"region": idx if idx < len(regions) else None,
                     "text": regions[idx].text if idx < len(regions) else "",
                     "backend": name, "reason": why, **numbers, "passes": []}
        if backend == "auto":
            plan[lab]["smooth_context"] = smooth_context(numbers)
    if backend == "auto":
        # a huge title's hole takes its drop shadow's faint tail before the first fill
        # (tail.shadow_tail), not only once the ghost judge reads the grey word it leaves
        for lab, hole in list(holes.items()):
            if plan[lab]["backend"] == SEE_THROUGH:
                # semi-transparent strokes the mask left beside the hole (the demo's "A"
                # leg over the spoon's neck) take their paint in too: the blend says where
                beyond = _paint_beyond(image, hole, support, plan[lab]["blend"])
                if beyond.any():
                    holes[lab] = Hole.of(beyond | hole.full(support.shape))
                    support |= beyond
                    plan[lab]["beyond_px"] = int(beyond.sum())
                continue
            tail = shadow_tail(image, hole, support)
            if tail.any():
                holes[lab] = Hole.of(tail | hole.full(support.shape))
                support |= tail
                plan[lab]["tail_px"] = int(tail.sum())
    rim_px, ghost_reads = 0, bool(judge and regions)
    if inks is not None:
        # the text's rim just outside each hole back to the photo first: the fills read the ring
        # (main's carried the rim's colour in); the judges see it as photo; it joins the mask
        unmixed = _unmix_rims(image, out, holes, plan, inks, support)
    # first pass: every region, in order; not-yet-filled regions are unknown context
    threads = share(FILL_THREADS) if threads is None else threads  # the worker's share
    if any(get_backend(plan[lab]["backend"]).family == "learned" for lab in holes):
        threads = 1  # one network at a time: two would hold two sets of activations
    first = first_pass(out, holes, support, {lab: plan[lab]["backend"] for lab in holes},
                        threads=threads, radius=radius, seed=seed, model_path=model_path,
                        device=device)
    for lab, hole in holes.items():
        crop, ms = first[lab]
        plan[lab]["passes"].append({"pass": 1, "backend": plan[lab]["backend"],
                                    "hole_px": int(hole.mask.sum()), "crop_yx": crop,
                                    "cpu_ms": ms})
    report["passes"] = 1
    final = support.copy()
    verdicts, smears, structs, surfaces = [], {}, {}, {}  # the fill judges' by label
    seen = Seen()  # the judges' verdicts by what they saw: a fill judged as it is, once

    def surface_step(lab, hole):
        """The surface look on a region's fill as it is; a flagged fill (``auto`` only) gets
        the grain blended in (:func:`_texture_pass`), one with only a flat stretch the patch
        fill's grain there (:func:`~seamline.ops.text.region_fill.stretch_fill`), recorded on
        its last pass, and the smear and structure judges see the blend again."""
        keep: dict = {}  # the look's maps, for the stretch fix on this same crop
        sv = _judge_surface(out, hole, final, seen, keep)
        last = plan[lab]["passes"][-1]
        if backend == "auto" and (sv["flagged"] or sv.get("stretch_flat")):
            if sv["flagged"]:
                sv, last["texture"] = _texture_pass(out, hole, final, sv, seen, keep.get("look"))
            else:
                # only a stretch of the line is flat (a word over grain, the rest over a
                # smoother surface the fill kept): the grain goes there, the rest stays (its
                # stretches read off the maps the verdict read: nothing changed since)
                jb = judge_box(hole, out.shape)  # the verdict's crop: its curves too
                last["stretch"] = stretch_fill(out, hole, final, jb, radius=radius, seed=seed,
                                               look=keep.get("look"), paths=seen.curves(
                                                   jb, out[jb], hole.within(jb), ~final[jb]))
                sv = _judge_surface(out, hole, final, seen)
            smears[lab], structs[lab] = _judge_fill(out, hole, final, seen)
            last["smear"], last["structure"] = smears[lab], structs[lab]
        last["surface"] = sv
        return sv

    if ghost_reads:
        from seamline.ops.text.ghost import BOOST_FLOOR, judge_regions

        # The smear and structure judges first, region by region: they read no text, so a
        # fill they flag gets its next fill (EDGE_FILL, else the next of SMEAR_LADDER; auto
        # only) before the ghost judge (OCR reads) sees it: it reads the fill kept only.
        # One region after another (two at once, and the surface look beside the judges,
        # gained no wall time at idle: speed16); a mask far from every region gets no judge.
        for lab, hole in holes.items():
            while lab <= len(regions):
                smears[lab], structs[lab] = _judge_fill(out, hole, final, seen)
                plan[lab]["passes"][-1]["smear"] = smears[lab]
                plan[lab]["passes"][-1]["structure"] = structs[lab]
                name, nxt = plan[lab]["backend"], None
                if backend == "auto" and structs[lab]["flagged"] and name not in EDGE_KEPT:
                    nxt = EDGE_FILL
                elif backend == "auto" and smears[lab]["flagged"]:
                    nxt = next_smear_fill(name, plan[lab])
                if nxt is None or len(plan[lab]["passes"]) >= max_passes:
                    surfaces[lab] = surface_step(lab, holes[lab])
                    break
                out[hole.sl][hole.mask] = image[hole.sl][hole.mask]  # from the original
                crop, ms = fill_region(out, hole, None, nxt, radius=radius, seed=seed,
                                        model_path=model_path, device=device)
                why = [w for w, on in (("smear", smears[lab]["flagged"]),
                                       ("structure", structs[lab]["flagged"])) if on]
                plan[lab]["backend"] = nxt
                plan[lab]["passes"].append({"pass": len(plan[lab]["passes"]) + 1,
                                            "backend": nxt, "because": why,
                                            "hole_px": int(hole.mask.sum()), "crop_yx": crop,
                                            "cpu_ms": ms, "grown_by_px": 0, "residue_px": 0})
        fresh, photo = set(smears), PhotoBack(image, support)  # smear verdicts on the fills now
        todo = set(range(1, len(regions) + 1))  # labels to judge: all, then the refilled
        ghost_by_lab, kept = {}, BestPasses()
        for p in range(2, max_passes + 3):
            order = sorted(todo)
            # the rim given back before the judge reads: QA reuses a read only while its box's
            # digest is the output's (a give-back after it made QA detect the region again)
            rim_px += rim_back(image, out, final | unmixed if inks is not None else final)
            # as is and CLAHE-boosted, not high-passed (0 of 156 train verdicts changed); not
            # boosted where the residue leaves no letter to show (BOOST_FLOOR: 52 reads, 0 words)
            for j, v in enumerate(judge_regions(image, out, [regions[lab - 1] for lab in order],
                                                mask=final, ocr=ocr,
                                                high_pass=False, boost_floor=BOOST_FLOOR)):
                v.index = order[j] - 1  # its position in ``regions``
                ghost_by_lab[order[j]] = v
                if order[j] in plan:
                    plan[order[j]]["passes"][-1]["verdict"] = v.to_dict()
            for lab in order:
                if lab in holes and lab not in fresh:
                    smears[lab], structs[lab] = _judge_fill(out, holes[lab], final, seen)
                    surfaces[lab] = _judge_surface(out, holes[lab], final, seen)
                    plan[lab]["passes"][-1]["smear"] = smears[lab]
                    plan[lab]["passes"][-1]["structure"] = structs[lab]
                    plan[lab]["passes"][-1]["surface"] = surfaces[lab]
                if lab in holes:  # this pass kept while it is the region's best judged
                    kept.offer(lab, out, final, holes[lab], ghost_by_lab[lab], (
                        smears.get(lab), structs.get(lab), surfaces.get(lab)), plan[lab])
            fresh = set()
            verdicts = [ghost_by_lab[k] for k in sorted(ghost_by_lab)]
            todo = set()
            ghosts = {v.index + 1: v for v in verdicts if v.flagged}
            smeared = {lab for lab, sv in smears.items() if sv["flagged"]}
            broken = {lab for lab, sv in structs.items() if sv["flagged"]}
            extra = any(q.get("narrow") for r in plan.values() for q in r["passes"])
            if not (ghosts or smeared or broken) or p > max_passes + extra:
                break
            refilled = 0
            for lab in sorted(set(ghosts) | smeared | broken):
                done = plan[lab]["passes"] if lab in plan else []
                if fills_used(done) >= max_passes:
                    continue  # this region's fills are used up: it stays flagged
                v = ghosts.get(lab)
                name = plan[lab]["backend"] if lab in plan else "telea"
                if lab in smeared or lab in broken:
                    # a smear or a broken edge is not fixed by the same fill again: the edge
                    # drawn first, or the next fill that keeps more texture (auto only: a
                    # backend the caller named is kept)
                    nxt = None
                    if backend == "auto" and lab in broken and name not in EDGE_KEPT:
                        nxt = EDGE_FILL
                    elif backend == "auto" and lab in smeared:
                        nxt = next_smear_fill(name, plan.get(lab, {}))
                    if nxt is None and v is None:
                        continue  # nothing better to try; it stays flagged
                    name = nxt or name
                hole = holes[lab].full(support.shape) if lab in holes else np.zeros_like(support)
                g = int(grow_px) if v is not None else 0
                narrow = v is not None and v.residue_all is not None and not wide_residue(done)
                residue = (v.residue_full(image.shape, wide=not narrow) & ~final if v is not None
                           else np.zeros_like(support))
                # grow over what the judge saw (narrow first), and the hole a little all round
                seed_px = hole | residue
                if v is not None and name in DIFFUSION_FILLS:
                    # a diffusion fill carries an effect's faint tail beside the hole inward
                    seed_px |= tail_halo(image, hole, reach=REGROW_MASK_PX)
                if not seed_px.any():
                    continue
                grown = seed_px
                if g:
                    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * g + 1, 2 * g + 1))
                    grown = cv2.dilate(seed_px.astype(np.uint8), k) > 0
                if v is not None:
                    # stay on the text: the judge's residue on a gradient or a coin beside
                    # the line is the photo's, and refilling it changes the photo there
                    x0, y0, x1, y1 = v.box
                    near = np.zeros_like(support)
                    near[y0:y1, x0:x1] = regrow_limit(regions[v.index].polygon, support,
                                                      (slice(y0, y1), slice(x0, x1)),
                                                      letters=v.ink_left)
                    grown &= near | hole
                    if not grown.any():
                        continue  # all it saw is photo beyond the limit: nothing to refill
                    sw = (stroke_px[v.index] if stroke_px is not None
                          and v.index < len(stroke_px) else None)
                    grown = close_gaps(image, grown, final, sw)  # no enclosed ink left to spread
                # restart from the original pixels: the grown hole holds the previous fill
                out[grown] = image[grown]
                if lab not in plan:
                    plan[lab] = {"region": v.index, "text": v.text, "backend": name, "passes": [],
                                 "reason": "no mask here; the judge found residue"}
                holes[lab] = Hole.of(grown)
                crop, ms = fill_region(out, holes[lab], None, name, radius=radius, seed=seed,
                                        model_path=model_path, device=device)
                grown = photo(out, grown, hole, holes, lab) if v is not None else grown
                final |= grown
                why = [w for w, on in (("ghost", v is not None), ("smear", lab in smeared),
                                       ("structure", lab in broken)) if on]
                plan[lab]["backend"] = name
                plan[lab]["passes"].append({"pass": len(plan[lab]["passes"]) + 1,
                                            "backend": name, "because": why,
                                            "hole_px": int(grown.sum()), "crop_yx": crop,
                                            "cpu_ms": ms, "grown_by_px": g, "narrow": narrow,
                                            "residue_px": int(residue.sum())})
                # the refill's grain (on this pass), before the ghost judge reads it again
                surfaces[lab] = surface_step(lab, holes[lab])
                refilled += 1
                todo.add(lab)
            if not refilled:  # every flagged region is past its last option: judged as is
                break
        if kept.restore(out, final, holes, plan, ghost_by_lab, (smears, structs, surfaces)):
            verdicts = [ghost_by_lab[k] for k in sorted(ghost_by_lab)]
        report["passes"] = max(len(v["passes"]) for v in plan.values())
    if inks is not None:
        # every pixel that may differ from the input (a refill's grown hole may hold some)
        final |= unmixed
        report["edge_unmixed_px"] = int(unmixed.sum())
    # the loop ends on a judge's read, the rim given back before it; unjudged, it is given here
    report["rim_photo_px"] = rim_px if ghost_reads else rim_back(image, out, final)
    report["regions"] = [plan[k] for k in sorted(plan)]
    report["verdicts"] = [v.to_dict() for v in verdicts]
    for key, judged in (("smear", smears), ("structure", structs), ("surface", surfaces)):
        report[key] = [{"index": lab - 1, "text": plan[lab]["text"],
                        "backend": plan[lab]["backend"], **sv}
                       for lab, sv in sorted(judged.items())]
    failed: dict = {}
    for v in verdicts:
        if v.flagged:
            failed[v.index] = {"index": v.index, "text": v.text, "reasons": list(v.reasons),
                               "judges": ["ghost"]}
    for judge_name, judged in (("smear", smears), ("structure", structs), ("surface", surfaces)):
        for lab, sv in sorted(judged.items()):
            if sv["flagged"]:
                f = failed.setdefault(lab - 1, {"index": lab - 1, "text": plan[lab]["text"],
                                                "reasons": [], "judges": []})
                f["reasons"] += [f"{r} ({plan[lab]['backend']} fill)" for r in sv["reasons"]]
                f["judges"].append(judge_name)
    report["failed"] = [failed[k] for k in sorted(failed)]
    return out, final.astype(np.float32), report
