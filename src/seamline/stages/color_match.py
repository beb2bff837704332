"""``color-match``: bring an image's colours back to a reference without losing its detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class ColorMatch(Stage):
    id = "color-match"
    spec = StageSpec(
        inputs={"image": PortSpec("image", grey=True, doc="the image whose colours drifted"),
                "reference": PortSpec("image", grey=True,
                                      doc="the colours to keep (e.g. pre-upscale)"),
                "mask": PortSpec("mask", optional=True, same_size_as="reference",
                                 doc="fit only on these reference pixels")},
        outputs={"image": PortSpec("image")},
        doc="Colour reconciliation against a reference: histogram (Lab LUT), meanstd "
            "(Reinhard), wavelet (reference lows + output highs), regression (aligned "
            "pixel pairs), auto. Alpha is never colour-matched. A grey image against a grey "
            "reference has no colour to reconcile: auto passes it through, grey.",
    )

    @dataclass(frozen=True)
    class Params:
        method: Literal["auto", "histogram", "meanstd", "wavelet", "regression", "none"] = "auto"

    def run(self, ctx, image, reference, mask=None):
        from seamline.ops.color import match_colors

        if self.params.method == "none":
            return StageResult(outputs={"image": image}, notes=["colour match skipped"])
        if self.params.method == "auto" and image.ndim == 2 and reference.ndim == 2:
            # one channel, no colour: what is left is a tone curve, which a resampler does
            # not shift (QA measures it); expanding a 60 MP page to fit one costs 0.7 GB
            return StageResult(outputs={"image": image},
                               notes=["grey image and reference: no colour to reconcile, "
                                      "passed through grey"])
        report: dict = {}
        out = match_colors(image, reference, method=self.params.method, mask=mask,
                           report=report)
        return StageResult(outputs={"image": out}, report=report)
