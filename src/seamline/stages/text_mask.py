"""``text-mask``: a mask of everything each detected text line drew on the photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class TextMask(Stage):
    id = "text-mask"
    version = "2"  # 2: the segmentation model (seamline-textseg) is the default method
    spec = StageSpec(
        inputs={"image": PortSpec("image"),
                "regions": PortSpec("text-regions")},
        outputs={"mask": PortSpec("mask", binary=True,
                                  doc="text pixels (fill, outline, shadow, glow)"),
                 "geometry": PortSpec("report", doc="per-region stroke width and text height")},
        doc="Mark the pixels each detected text line changed: the seamline-textseg "
            "segmentation model on a crop around each line (fill, outline, drop shadow and "
            "glow alike), or the colour-matting glyph mask (method matting).",
    )

    @dataclass(frozen=True)
    class Params:
        method: Literal["segmenter", "matting"] = "segmenter"  #: how text pixels are found
        threshold: float | None = None  #: segmenter probability cut (default: the model's)
        model: str | None = None        #: a segmenter .onnx file (default: the packaged one)
        margin: float = 0.3  #: matting: grow each region by this fraction of its text height

    def run(self, ctx, image, regions):
        p = self.params
        boxes = [[float(v) for v in (*r.polygon.min(axis=0), *r.polygon.max(axis=0))]
                 for r in regions]
        if p.method == "matting":
            from seamline.ops.text import glyph_mask

            gm = glyph_mask(image, regions, margin=p.margin)
            mask, strokes, heights = gm.mask, gm.stroke_width_px, gm.text_height_px
            report = {"method": "matting", "regions": gm.per_region}
        else:
            from seamline.ops.text.geometry import line_geometry
            from seamline.ops.text.segment import load_segmenter, segment_text

            seg = load_segmenter(p.model)
            threshold = seg.threshold if p.threshold is None else float(p.threshold)
            polys = [r.polygon for r in regions]
            mask = segment_text(image, polys, model=seg, threshold=threshold)
            strokes, heights = line_geometry(mask, polys)
            report = {"method": "segmenter", "model": seg.path, "model_version": seg.version,
                      "threshold": threshold}
        geometry = {"boxes_xyxy": boxes,
                    "stroke_width_px": [float(s) for s in strokes],
                    "text_height_px": [float(h) for h in heights]}
        report["coverage"] = float(np.mean(mask >= 0.5))
        return StageResult(outputs={"mask": mask.astype(np.float32), "geometry": geometry},
                           report=report)
