"""``qa``: measure what an edit did — residual text, seams, colour, untouched pixels."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from seamline.core.arrays import rgb_view
from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class EditQA(Stage):
    id = "qa"
    version = "15"  # 3: ghost verdicts and failed regions from the fill's closed loop; 4: figures
    #                outside their normal range (ops.metrics.QA_RANGES) are warnings; 5: the
    #                residual-text re-read at the whole-image detection's scale; 6: the
    #                smear judge's verdicts, failed regions from either judge; 7: the
    #                structure judge's; 8: the ghost judge's leftover look (ink the mask
    #                missed) per region, named as its own judge; 9: its tint look
    #                (letters filled towards the removed ink) likewise; 10: the surface
    #                look's (a fill without the grain around it); 11: the residual-text
    #                re-read reuses the ghost judge's plain read where it read these pixels
    #                12: ... only its own region's (the verdict's box centred on it; a
    #                repeat of the same text inside another line's box is read again);
    #                14: the tint look's crossed lean (an outline's rim grown into letters)
    #                15: the outline-remnant look (ops.text.remnant) in the fill's verdicts
    qa = True  # the runner copies this stage's report into the manifest's "qa" section
    spec = StageSpec(
        # grey: every figure on the one channel (those of its RGB expansion; a fax page's
        # RGB view was copied to 12 B/px by each metric, seven times)
        inputs={"original": PortSpec("image", grey=True),
                "image": PortSpec("image", grey=True, same_size_as="original"),
                "mask": PortSpec("mask", same_size_as="original"),
                "regions": PortSpec("text-regions", optional=True,
                                    doc="text found before the edit, for residual-text QA"),
                "fill": PortSpec("report", optional=True,
                                 doc="the fill-text report: ghost and smear verdicts per "
                                     "region")},
        outputs={"report": PortSpec("report")},
        doc="Residual text (OCR re-run around the edited area), the ghost judge's last "
            "verdict and the smear judge's figures per region (from the fill-text loop), seam "
            "score at the mask boundary, colour change outside the mask, ΔE2000 and "
            "high-frequency energy inside vs the context ring. Regions either judge still "
            "flags are listed as failed_regions; figures outside their normal range "
            "(seamline.ops.metrics.QA_RANGES) are warnings.",
    )

    @dataclass(frozen=True)
    class Params:
        ocr: bool = True   #: re-run OCR on the edited area to count remaining words
        ring_px: int = 8   #: context ring width for the colour comparison
        band_px: int = 2   #: boundary band width for the seam score
        margin_px: int = 32  #: context around each re-read text box (or the mask)

    def run(self, ctx, original, image, mask, regions=None, fill=None):
        from seamline.ops.masks import context_ring, support_boxes
        from seamline.ops.metrics import (hf_energy, inside_vs_ring_delta_e, outside_change,
                                          qa_warnings, seam_score)

        p = self.params
        # Counted on crops around the mask, and full-frame tests as reductions: no full-frame
        # temporaries (issue 11: memory follows the text, not the frame). A mask is >= 0.
        core = sum(int(np.count_nonzero(mask[y0:y1, x0:x1] >= 0.5))
                   for y0, y1, x0, x1 in support_boxes(mask, 0, threshold=0.5))
        report: dict = {"mask_coverage": core / mask.size}
        notes: list[str] = []
        with ThreadPoolExecutor(max_workers=1) as pool:
            # the residual-text re-read (OCR) runs on a helper thread beside the figures below
            # (the recogniser and numpy release the GIL: on an idle 2-core machine one hides
            # the other); the same numbers
            # a grey page: the OCR reads RGB crops of a view (no frame-sized copy)
            # the regions the fill's ghost judge last read on these very pixels (an RGB
            # image: a grey one is the fill's luminance, not what the judge read) are not
            # detected again: its plain read stands for the re-read there
            judged = (fill.get("verdicts") if fill is not None and image.ndim == 3 else None)
            reread = (pool.submit(residual_text, rgb_view(image) if image.ndim == 2 else image,
                                  mask, regions, margin_px=p.margin_px, judged=judged)
                      if p.ocr and regions is not None else None)
            report["outside_change"] = outside_change(original, image, mask)
            if mask.any() and not mask.all():
                seam = float(seam_score(image, mask, band_px=p.band_px))
                if np.isfinite(seam):  # NaN: the band reached every pixel outside the mask
                    report["seam_score"] = seam
                else:
                    notes.append("seam score not measured: nothing to compare the mask's "
                                 f"edge with (its {p.band_px} px band, band_px, reaches every "
                                 "pixel outside it in the frame, or no mask pixel is >= 0.5)")
                report["delta_e_inside_vs_ring"] = float(
                    inside_vs_ring_delta_e(image, mask, ring_px=p.ring_px))
                # texture kept: fine detail inside the fill vs in the photo around it (a
                # smeared fill scores ~0.1-0.3 in textured context, a texture-preserving one ~1)
                in_ring = context_ring(mask, p.ring_px)
                ring = np.zeros(mask.shape, np.float32)  # float weights, on the ring only
                np.copyto(ring, in_ring, where=in_ring)
                report["hf_ratio_hole_vs_ring"] = float(
                    (hf_energy(image, mask) + 1e-6) / (hf_energy(image, ring) + 1e-6))
        if reread is not None:
            report.update(reread.result())
        if fill is not None and "verdicts" in fill:
            verdicts = fill["verdicts"]
            report["ghost_flagged"] = sum(bool(v.get("flagged")) for v in verdicts)
            report["ghost_regions"] = len(verdicts)
            report["fill_passes"] = int(fill.get("passes", 0))
            # the smear judge's and the structure judge's (where strong edges cross a fill)
            # last verdict per region, with its figures
            from seamline.ops.inpaint.smear import SMEAR_FIGURES
            from seamline.ops.inpaint.structure import STRUCTURE_FIGURES
            from seamline.ops.inpaint.surface import SURFACE_FIGURES

            for key, figures in (("smear", SMEAR_FIGURES), ("structure", STRUCTURE_FIGURES),
                                 ("surface", SURFACE_FIGURES)):
                if key in fill:
                    report.update(_judge_summary(key, fill[key], figures))
            # the ghost judge's leftover look (unedited pixels shaded like the removed ink)
            from seamline.ops.text.leftover import LEFTOVER_FIGURES

            left = [{"index": v["index"], "text": v["text"],
                     **((v.get("stats") or {}).get("leftover") or {})} for v in verdicts]
            report.update(_judge_summary("leftover", left, LEFTOVER_FIGURES))
            # ... and its tint look (letters whose fill still leans towards the ink)
            from seamline.ops.text.tint import TINT_FIGURES

            tint = [{"index": v["index"], "text": v["text"],
                     **((v.get("stats") or {}).get("tint") or {})} for v in verdicts]
            report.update(_judge_summary("tint", tint, TINT_FIGURES))
            # ... and its outline-remnant look (pixels as dark as the removed outline)
            from seamline.ops.text.remnant import REMNANT_FIGURES

            kept = [{"index": v["index"], "text": v["text"],
                     **((v.get("stats") or {}).get("remnant") or {})} for v in verdicts]
            report.update(_judge_summary("remnant", kept, REMNANT_FIGURES))
            # ghost, leftover, tint, smear, structure: the fill loop's own list (a region
            # once, with every reason)
            by_index = {v["index"]: v for v in verdicts}
            report["failed_regions"] = [
                {"index": f["index"], "text": f["text"], "reasons": f["reasons"],
                 "judges": _leftover_judges(f, by_index)} for f in fill.get("failed", [])]
        warnings = []
        for f in report.get("failed_regions", []):
            what = ("still visible" if "ghost" in f["judges"] else
                    "has letters the mask missed" if "leftover" in f["judges"] else
                    "still shows its letters as a tint" if "tint" in f["judges"] else
                    "smeared" if "smear" in f["judges"] else
                    "looks flat (the grain around it is lost)" if "surface" in f["judges"]
                    else "has a broken edge")
            warnings.append(f"region {f['index']} {f['text']!r} {what} after "
                            f"{report.get('fill_passes', 0)} fill pass(es): "
                            f"{'; '.join(f['reasons'])}")
        warnings += qa_warnings(report)  # figures far outside their normal range
        if report.get("residual_words"):
            warnings.append(f"{report['residual_words']} of {report['words_before']} words still "
                            f"detected: {report['residual_texts']}")
        return StageResult(outputs={"report": report}, report=report, warnings=warnings,
                           notes=notes)


def residual_text(image: np.ndarray, mask: np.ndarray, regions: list, *, margin_px: int = 32,
                  judged: list | None = None, min_score: float = 0.5) -> dict:
    """Re-run OCR around the edited area and count the original words still readable there.

    A word counts as residual when OCR reads a token on the output that matches one of the
    words found before the edit (case-insensitive, similarity >= 0.7, so a half-erased
    "SAMPLE" read as "AMPLE" still counts). Other text OCR reports there (a "0" in a photo's
    texture, say) is listed separately, not counted.

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        The edited image.
    mask : ndarray, HxW float32 in [0, 1]
        The edit mask. OCR re-reads the boxes of ``regions`` that the mask touches (plus
        ``margin_px``, at the whole-image detection scale: see
        :func:`seamline.ops.text.detect_text_in_boxes`); without regions, the mask's bounding box.
    regions : list of TextRegion
        What was detected before the edit.
    judged : list of dict, optional, keyword-only
        The fill's ghost verdicts (:meth:`seamline.ops.text.ghost.GhostVerdict.to_dict`). A
        region a verdict was judged for (same text and the verdict's ``polygon``: not
        another line with the same text inside its box; a verdict without one, from an
        older fill report, stands for none) that the judge did not flag, read on exactly
        these pixels (the box's :func:`~seamline.ops.text.ghost.crop_digest` equals the
        verdict's), is not detected again: the tokens of the judge's plain read of its strip
        (score >= ``min_score``) are counted instead. The judge reads the line rectified at
        the recogniser's own height, so what the detector's pass would read there it reads
        too; its verdict already says no word of the line is found in that read or a
        contrast-boosted one.
    min_score : float, keyword-only
        Recogniser score in [0, 1] a reused read needs (the detection's ``min_score``).

    Returns
    -------
    dict
        ``words_before``, ``residual_words``, ``residual_ratio``, ``residual_texts`` (the
        matching words), ``other_texts`` (anything else OCR read there), ``reread_regions``
        (regions detected again) and ``judged_regions`` (regions whose judge's read was
        reused).
    """
    from difflib import SequenceMatcher

    from seamline.ops.text import detect_text, detect_text_in_boxes

    before = [w.upper() for r in regions for w in r.text.split()]
    words_before = max(len(before), len(regions))
    ys, xs = np.nonzero(mask)  # mask > 0, without a full-frame temporary
    found = []
    reused: dict = {}
    if len(ys) and regions:
        boxes = [(*np.min(r.polygon, 0), *np.max(r.polygon, 0)) for r in regions]
        reused = _judged_reads(image, regions, judged or [], min_score)
        found = [t for i in sorted(reused) for t in reused[i]]
        boxes = [b for i, b in enumerate(boxes) if i not in reused]
        if boxes:
            found += [t for r in detect_text_in_boxes(image, boxes, margin_px=margin_px,
                                                      min_score=min_score)
                      for t in r.text.split()]
    elif len(ys):
        h, w = mask.shape
        y0, y1 = max(0, ys.min() - margin_px), min(h, ys.max() + 1 + margin_px)
        x0, x1 = max(0, xs.min() - margin_px), min(w, xs.max() + 1 + margin_px)
        found = [t for r in detect_text(image[y0:y1, x0:x1], recognize=True)
                 for t in r.text.split()]
    residual, other = [], []
    for token in found:
        match = any(SequenceMatcher(None, token.upper(), b).ratio() >= 0.7 for b in before)
        (residual if match else other).append(token)
    return {"words_before": int(words_before), "residual_words": len(residual),
            "residual_ratio": float(len(residual) / words_before) if words_before else 0.0,
            "residual_texts": residual, "other_texts": other,
            "reread_regions": len(regions) - len(reused) if len(ys) else 0,
            "judged_regions": len(reused)}


def _judged_reads(image, regions, verdicts, min_score) -> dict:
    """``{region index: tokens}`` for the regions whose ghost verdict stands for a re-read
    (see :func:`residual_text`'s ``judged``): the tokens of its plain read, none when the
    recogniser scored it under ``min_score`` or it reads as photo structure (the detection's
    rules)."""
    from seamline.ops.text.detect import looks_like_structure
    from seamline.ops.text.ghost import crop_digest

    out = {}
    for i, r in enumerate(regions):
        poly = np.asarray(r.polygon, np.float64)
        for v in verdicts:
            # the verdict on this very region: the polygon it was judged for (the fill's
            # regions are detect's, less a tiled watermark's copies taken off, so its own
            # index is no position here), not another line with the same text in its box
            judged_for = v.get("polygon")
            if (v.get("flagged") or not v.get("digest") or v.get("text") != r.text
                    or judged_for is None
                    or not np.array_equal(np.asarray(judged_for, np.float64), poly)):
                continue
            x0, y0, x1, y1 = v["box"]
            if crop_digest(image[y0:y1, x0:x1]) == v["digest"]:
                # the detection's own rules for a read: its score, and not one or two
                # unsure characters of photo structure
                text = str(v.get("read_plain", ""))
                score = float((v.get("stats") or {}).get("plain_score", 0.0))
                keep = score >= min_score and not looks_like_structure(text, score)
                out[i] = text.split() if keep else []
            break
    return out


def _judge_summary(key: str, verdicts, figures) -> dict:
    """``{key}_regions``, ``{key}_flagged`` and ``{key}`` (per judged region: index, text,
    backend, flagged and the judge's ``figures``) from a fill judge's last verdicts."""
    judged = [v for v in verdicts if v.get("judged")]
    return {f"{key}_regions": len(judged),
            f"{key}_flagged": sum(bool(v.get("flagged")) for v in judged),
            key: [{"index": v["index"], "text": v["text"], "backend": v.get("backend"),
                   "flagged": v["flagged"], **{k: v.get(k) for k in figures}} for v in judged]}


def _leftover_judges(failed: dict, verdicts: dict) -> list:
    """A failed region's judges, with the ghost judge's leftover, tint and remnant looks named
    on their own (the fill loop lists every ghost verdict as ``ghost``): ``leftover`` /
    ``tint`` / ``remnant`` when that look flagged the region, ``ghost`` kept only when a read or the residue did too."""
    judges = list(failed.get("judges", ["ghost"]))
    v = verdicts.get(failed["index"])
    stats = (v.get("stats") or {}) if v is not None else {}
    looks = [k for k in ("leftover", "tint", "remnant") if (stats.get(k) or {}).get("flagged")]
    if v is None or "ghost" not in judges or not looks:
        return judges
    from seamline.ops.text.leftover import LEFTOVER_REASON
    from seamline.ops.text.remnant import REMNANT_REASON
    from seamline.ops.text.tint import TINT_REASON

    reads = [r for r in v.get("reasons", [])
             if not r.startswith((LEFTOVER_REASON, TINT_REASON, REMNANT_REASON))]
    return [j for j in judges if j != "ghost" or reads] + looks
