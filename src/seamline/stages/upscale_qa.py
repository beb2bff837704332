"""``upscale-qa``: did the upscale keep its input's colours and the detail it created?"""

from __future__ import annotations

from dataclasses import dataclass

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class UpscaleQA(Stage):
    id = "upscale-qa"
    version = "2"  # 2: PSNR vs input; figures outside their normal range are warnings
    qa = True
    spec = StageSpec(
        # grey: measured on the one channel (the same figures as its RGB expansion)
        inputs={"original": PortSpec("image", grey=True, doc="the image before upscaling"),
                "raw": PortSpec("image", grey=True,
                                doc="the upscaler's output before reconciliation"),
                "image": PortSpec("image", grey=True, same_size_as="raw",
                                  doc="the final output")},
        outputs={"report": PortSpec("report")},
        doc="ΔE2000 and PSNR of the output downscaled to the input size vs the input, "
            "histogram distance, high-frequency energy vs the unreconciled upscale; figures "
            "outside their normal range (seamline.ops.metrics.QA_RANGES) are warnings.",
    )

    @dataclass(frozen=True)
    class Params:
        pass

    def run(self, ctx, original, raw, image):
        from seamline.ops.color import color_drift
        from seamline.ops.metrics import hf_energy, qa_warnings

        drift_raw = color_drift(raw, original)
        hf_raw = hf_energy(raw)
        # colour match passed the upscale through (grey, or method none): measured once
        same = image is raw
        drift = drift_raw if same else color_drift(image, original)
        hf = hf_raw if same else hf_energy(image)
        report = {"color_drift": drift, "color_drift_unreconciled": drift_raw,
                  "hf_ratio_vs_unreconciled": float((hf + 1e-6) / (hf_raw + 1e-6))}
        return StageResult(outputs={"report": report}, report=report,
                           warnings=qa_warnings(report))  # far outside the normal range
