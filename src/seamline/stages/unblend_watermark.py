"""``unblend-watermark``: take a tiled watermark off by inverting its blend, not by a fill.

Not in the built-in ``remove-text`` pipeline yet: insert it after ``detect`` and feed its
``image`` and ``regions`` to the mask, normalise, preflight and fill stages (QA keeps the
original image and detect's regions, so the ghost judge reads every tile of the result)::

  - name: unblend
    stage: unblend-watermark
    inputs: {image: input.image, regions: detect.regions}

Train split (``training/eval_watermark.py --quality``, 20 tiled watermarks found of 30):
text-region PSNR of the text mask on the tiles + Telea 26.95 dB, with this stage first (the
blend inverted where it passes its check, 14 of 20; the mask + Telea on the others) 29.37 dB,
oracle mask + Telea 34.81 dB, input 19.66 dB. On the 14 it inverted: 27.61 -> 31.07 dB, better
on 10 (textured photos: coffee, hubble, brick, coins, grace_hopper, bokeh: +3.7 to +10 dB),
worse on 4 smooth ones (cell, two gradients, retina: -0.9 to -7 dB, where Telea is nearly
exact); pixels changed farther than 8 px from the drawn text 0-1573 (brick's mortar inside
the tile box). Seen at 2x on the brick: a faint outline of the word (its shadow's edge) is
left. 0.3-8 s per photo on the loaded machine (load ~14). The whole remove-text pipeline with
this stage vs the built-in, train cases (text-region PSNR, px changed > 8 px from the text,
seconds at load ~14): coffee 25.64 -> 34.08 dB, 317 -> 107 px, 50 -> 8.5 s; brick 22.93 ->
29.91 dB, 7268 -> 1559 px, 61 -> 14 s (QA's failed regions 2 -> 0 and 1 -> 0); gradient0
the same (fewer than 6 tiles left once detected lines took theirs: passed through).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class UnblendWatermark(Stage):
    id = "unblend-watermark"
    spec = StageSpec(
        inputs={"image": PortSpec("image"),
                "regions": PortSpec("text-regions",
                                    doc="detect-text's regions, a tiled watermark's tiles "
                                        "among them")},
        outputs={"image": PortSpec("image", doc="the photo with the tiles' blend inverted"),
                 "regions": PortSpec("text-regions",
                                     doc="the regions left for the mask and the fill: the "
                                         "detected lines not centred on a copy, and the "
                                         "tiles when nothing was inverted or where a stroke "
                                         "is too opaque to"),
                 "alpha": PortSpec("mask", doc="the watermark's opacity where it was inverted "
                                               "(the pixels this stage changed)")},
        doc="A watermark tiled across the photo (detect-text's tiles: regions without text, "
            "translated copies of one box) is semi-transparent: the photo is still under it. "
            "Its opacity and colour are estimated from the copies (aligned; per pixel, least "
            "squares over the copies) and the blend inverted, P = (I - a C) / (1 - a), which "
            "keeps the photo's texture a fill would invent again. Those tiles, and detected "
            "lines centred on a copy (the watermark read there), then leave the regions the "
            "mask and fill stages see. Without tiles, or when the estimate does "
            "not remove the repeated strokes, everything passes through unchanged.",
    )

    @dataclass(frozen=True)
    class Params:
        enabled: bool = True  #: False: pass everything through (the tiles are filled instead)

    def run(self, ctx, image, regions):
        from seamline.ops.text.unblend import tile_regions, unblend_tiles

        H, W = image.shape[:2]
        none = np.zeros((H, W), np.float32)
        tiles = tile_regions(regions) if self.params.enabled and image.ndim == 3 else []
        if not tiles:
            return StageResult(outputs={"image": image, "regions": regions, "alpha": none},
                               report={"done": False, "tiles": 0})
        ub = unblend_tiles(image, [regions[i].polygon for i in tiles])
        report = {"done": ub.done, "tiles": len(tiles), "copies": ub.copies,
                  "color": [round(c, 3) for c in ub.color], "reason": ub.reason}
        if not ub.done:
            return StageResult(outputs={"image": image, "regions": regions, "alpha": none},
                               report=report,
                               notes=[f"tiled watermark not inverted: {ub.reason}"])
        # a tile with pixels too opaque to invert stays a region: the fill takes it
        keep = {i for i in tiles if _touches(regions[i].polygon, ub.hole)}
        drop = set(tiles) - keep
        # a detected line centred on a copy is the watermark read there (its clearest
        # copies): inverted too, so not masked and filled again over the photo recovered
        copies = {i for i, r in enumerate(regions) if i not in tiles
                  and _on_copy(r.polygon, ub.centres, 0.5 * ub.box_hw[0])}
        # ... and one that reads part of it (a tile cut by the frame or read in part) within
        # half a word of a copy; a caption that merely lies over a copy reads something else
        words = {_key(regions[i].text) for i in copies} - {""}
        copies |= {i for i, r in enumerate(regions) if i not in tiles and i not in copies
                   and _on_copy(r.polygon, ub.centres, 0.5 * ub.box_hw[1])
                   and len(_key(r.text)) >= 2 and any(_key(r.text) in w for w in words)}
        drop |= {i for i in copies if not _touches(regions[i].polygon, ub.hole)}
        report["tiles_left_to_fill"] = len(keep)
        report["lines_on_copies"] = len(copies)
        return StageResult(
            outputs={"image": ub.image, "alpha": ub.alpha,
                     "regions": [r for i, r in enumerate(regions) if i not in drop]},
            report=report,
            notes=[f"tiled watermark: blend inverted over {len(drop)} tiles ({ub.reason})"])


def _key(text: str) -> str:
    """A reading without case, spaces and punctuation."""
    import re

    return re.sub(r"[\W_]+", "", str(text)).lower()


def _on_copy(poly, centres: np.ndarray, tol: float) -> bool:
    """Whether the polygon's centre is within ``tol`` px of one of ``centres`` (M, 2)."""
    c = np.asarray(poly, np.float64).reshape(-1, 2).mean(0)
    return bool(len(centres)) and float(np.hypot(*(centres - c).T).min()) <= tol


def _touches(poly, hole: np.ndarray) -> bool:
    """Whether the polygon (x, y image px) covers a pixel of ``hole`` (HxW bool)."""
    import cv2

    if not hole.any():
        return False
    m = np.zeros(hole.shape, np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(poly)).astype(np.int32)], 1)
    return bool(hole[m > 0].any())
