"""``text-mask``: a mask that hugs the glyph strokes inside each detected text region."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class TextMask(Stage):
    id = "text-mask"
    spec = StageSpec(
        inputs={"image": PortSpec("image"),
                "regions": PortSpec("text-regions")},
        outputs={"mask": PortSpec("mask", binary=True, doc="glyph pixels (body, outline, shadow)"),
                 "geometry": PortSpec("report", doc="per-region stroke width and text height")},
        doc="Separate glyph pixels from the photo behind them within each text region.",
    )

    @dataclass(frozen=True)
    class Params:
        margin: float = 0.3  #: grow each region by this fraction of its text height first

    def run(self, ctx, image, regions):
        from seamline.ops.text import glyph_mask

        gm = glyph_mask(image, regions, margin=self.params.margin)
        boxes = [[float(v) for v in (*r.polygon.min(axis=0), *r.polygon.max(axis=0))]
                 for r in regions]
        geometry = {"boxes_xyxy": boxes,
                    "stroke_width_px": [float(s) for s in gm.stroke_width_px],
                    "text_height_px": [float(h) for h in gm.text_height_px]}
        report = {"coverage": float(np.mean(gm.mask >= 0.5)), "regions": gm.per_region}
        return StageResult(outputs={"mask": gm.mask.astype(np.float32), "geometry": geometry},
                           report=report)
