"""``detect-text``: find text as polygons with rapidocr's bundled ONNX models (offline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class DetectText(Stage):
    id = "detect-text"
    version = "18"  # 2: tiled=auto adds the tiles of a watermark tiled across the photo; 3: its
    # segmenter check reads tiles away from the detected lines; 4: a line's end moves past a
    # whole letter of its ink the box left out (ops.text.line_ends); 5: reads of one or two
    # letters re-read on a crop round them, a longer read there replacing them
    # (ops.text.fragments); 6: a third periodicity pass (a template from up to 25 lattice
    # copies) where neither the first two nor the detector's readings find a tiled watermark;
    # 7: a line's end walks past every whole letter and word of its ink the box left out
    # 8: the readings' tiled watermark counts same-length misreads and taller boxes as copies,
    # leaves off-centre boxes out of its lattice and takes a lattice whose points hold the word
    # 9: ... and its index-2 sublattice where the points it drops hold the word much less (a
    # staggered layout's rows halved: the half-cell lattice's midway points hold none)
    # 10: two boxes on one line: the second's walk sees the first's new end (both took the
    # word between them); 11: where the photo gives no line, the lines found in its
    # saturation (text of another colour but the photo's lightness: date digits over grass)
    # 12: where neither gives one, the lines read in tiles of its local-contrast view, enlarged
    # (text of the photo's own hue and near its lightness: dark green glow on a green leaf)
    # 13: where no tiled watermark is found, the search again on the frame with its strong
    # texture evened out (ops.text.watermark.evened: a watermark over a half-textured photo)
    # 14: a tile's blob the detector's reads of its copies contradict (more than
    # watermark.TURN_DEG) is turned to the lattice's row along them and cut to the strokes
    # 15: the photo's reads shaped like structure (one or two characters boxed large, or an
    # unsure row of round characters) whose box the text segmenter hardly marks are dropped
    # before the other passes (ops.text.false_reads: a whole photo boxed as "8", sleeve
    # buttons as "C000")
    # 16: the turn's reads count one vote per tile, only off the tile's middle line by under a
    # third of its height (a caption's stacked lines over one tile outvoted the read copies)
    # 17: dates read in the redness (Lab a*) of the frame's bottom-right corner, outside the lines
    # found (ops.text.datestamp: orange camera digits over golden grass no other pass sees)
    # 18: where the redness reads no date, the corner once more in its (a*, b*) distance from
    # the local median colour (yellow digits over grass half orange, half green)
    spec = StageSpec(
        inputs={"image": PortSpec("image", doc="photo to search for text")},
        outputs={"regions": PortSpec("text-regions", doc="text lines as polygons with text")},
        requires=("rapidocr", "onnxruntime"),
        doc="Detect (and recognise) text lines with rapidocr's PP-OCR models shipped in its "
            "wheel (where the photo gives none, in its saturation too: text of another colour "
            "but the photo's lightness; where that gives none either, in enlarged tiles of its "
            "local contrast: text of the photo's hue and near its lightness; and a camera "
            "date in the redness, then the local chroma, of the bottom-right corner); with "
            "tiled=auto, also a watermark tiled across the photo (too faint for the detector: "
            "found by its repetition, confirmed by the text segmenter), one region per tile.",
    )

    @dataclass(frozen=True)
    class Params:
        min_score: float = 0.5   #: drop detections whose confidence is below this
        recognize: bool = True   #: also read the text (needed for word counts in QA)
        #: auto: look for a watermark tiled across the photo and add its tiles as regions
        tiled: Literal["auto", "off"] = "auto"
        #: all: where the photo's own pass finds no line, a pass on saturation, then one in
        #: enlarged tiles of the local contrast (text of the photo's own hue, tiny type); on
        #: every photo a camera date read in the bottom-right corner's redness;
        #: first: the photo's own pass only. Only a photo the first pass finds nothing in pays
        #: the others: 1024x768, idle, 0.8 -> 1.9 s for a held-out glow photo, train
        #: text-free photos 0.73 -> 1.88 CPU s for the stage (batches of mostly text-free
        #: photos may prefer ``first``)
        passes: Literal["all", "first"] = "all"

    @classmethod
    def cache_token(cls, params) -> str | None:
        """The packaged text segmenter's sha256 when ``tiled`` is auto (it confirms the
        tiles): a retrained one is not served from an older run's cache. rapidocr's models'
        version is in every manifest."""
        if params.tiled != "auto":
            return None
        from seamline.ops.text.segment import segmenter_path
        from seamline.stages.model_files import file_token

        return file_token(segmenter_path())

    @classmethod
    def warm_up(cls, params, *, threads: int | None = None) -> None:
        from seamline.ops.text import warm_up

        warm_up(threads=threads)

    def run(self, ctx, image):
        from seamline.ops.text import detect_text
        from seamline.ops.text.datestamp import date_stamps
        from seamline.ops.text.detect import detect_text_in_saturation, detect_text_in_tiles
        from seamline.ops.text.false_reads import false_reads
        from seamline.ops.text.fragments import reread_fragments
        from seamline.ops.text.line_ends import extend_ends

        regions = detect_text(image, min_score=self.params.min_score,
                              recognize=self.params.recognize)
        fragments, dropped = [], []
        if self.params.recognize:
            # a caption over a busy pattern boxed letter by letter (train outline1: "Happy"
            # read as "H", "0", "0" and its "ppy" left out): read again round the pieces
            # (the other passes keep reads of three characters or more: no pieces there)
            regions, fragments = reread_fragments(image, regions,
                                                  min_score=self.params.min_score)
            # then photo structure read as weak text (a photo boxed as "8", buttons "C000"):
            # a text-free photo comes back unchanged, and the other passes look instead
            drop = false_reads(image, regions)
            dropped = [r.text for r, d in zip(regions, drop) if d]
            regions = [r for r, d in zip(regions, drop) if not d]
        by_saturation = 0
        deep = self.params.passes == "all"
        if not regions and deep:
            # a second pass only where the first found nothing (a text-free photo pays it,
            # a captioned one never): text the photo's own lightness hides (orange digits
            # over golden grass, white over bright green) stands out in saturation
            regions = detect_text_in_saturation(image, min_score=self.params.min_score,
                                                recognize=self.params.recognize)
            by_saturation = len(regions)
        by_tiles = 0
        if not regions and deep and self.params.recognize:
            # a third, dearer pass only where neither found a line (train 1024x768 text-free
            # photos: 0.73 -> 1.88 CPU s for the stage): text of the photo's own hue a few
            # grey levels off its lightness, or 10-14 px type on a 1600 px photo
            regions = detect_text_in_tiles(image, min_score=self.params.min_score)
            by_tiles = len(regions)
        dates = []
        if deep and self.params.recognize:
            # every photo pays it (one corner at its own scale, about an eighth of the first
            # pass's pixels): a date hides as well beside a caption the first pass found
            dates = date_stamps(image, regions, min_score=self.params.min_score)
            regions = regions + dates
        # whole last letters and words the detector's box left out (train glow1: "studi"
        # boxed, the "o" past the box; a tiny line boxed two words short): the mask, the fill
        # and the judges all read the lines' boxes
        regions, ends = extend_ends(image, regions)
        report = {"regions": len(regions),
                  "words": sum(len(r.text.split()) for r in regions),
                  "texts": [r.text for r in regions], "ends_extended": ends,
                  "fragments_reread": fragments, "false_reads": dropped,
                  "found_by_saturation": by_saturation,
                  "found_by_tiles": by_tiles, "found_by_corner": len(dates)}
        notes = []
        if self.params.tiled == "auto":
            regions, report["tiled_watermark"] = _add_tiles(image, regions)
            if report["tiled_watermark"]["found"]:
                n = len(report["tiled_watermark"]["region_indices"])
                notes.append(f"tiled watermark: {n} tiles added as regions "
                             f"({report['tiled_watermark']['reason']})")
        if not regions:
            notes.append("no text found: the image passes through unchanged")
        return StageResult(outputs={"regions": regions}, report=report, notes=notes)


def _add_tiles(image, regions):
    """``regions`` plus one region (text ``''``) per tile of a tiled watermark, skipping tiles
    whose centre is inside a detected line; and the manifest's record of what was found."""
    from seamline.ops.text import TextRegion
    from seamline.ops.text.watermark import centre_in_lines
    from seamline.ops.text.watermark_lines import find_watermark

    lines = [r.polygon for r in regions]
    wm = find_watermark(image, exclude=lines, texts=[r.text for r in regions])
    rec = wm.to_dict()
    rec["region_indices"] = []
    if not wm.found:
        return regions, rec
    out = list(regions)
    for poly in wm.polygons:
        if centre_in_lines(poly, lines):
            continue
        rec["region_indices"].append(len(out))
        # the segmenter's share, or 1 where repeated readings found the tiles (no share)
        out.append(TextRegion(poly, "", float(min(1.0, wm.text_share)) if wm.text_share >= 0
                              else 1.0))
    rec["names"] = [f"tiled-watermark:{k}" for k in range(len(rec["region_indices"]))]
    return out, rec
