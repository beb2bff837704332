"""``fill-text``: remove text region by region in a closed loop (fill, judge, re-mask, refill)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult

BackendName = Literal["auto", "telea", "ns", "fsr", "fsr-best", "exemplar", "lama"]


class FillText(Stage):
    id = "fill-text"
    version = "2"  # 2: the smear judge and its refills; FSR on luminance, any hole size
    spec = StageSpec(
        inputs={"image": PortSpec("image"),
                "mask": PortSpec("mask", same_size_as="image",
                                 doc="what to fill (normalised, preflighted text mask)"),
                "regions": PortSpec("text-regions",
                                    doc="the detected text lines: per-region fill and judge"),
                "geometry": PortSpec("report", optional=True,
                                     doc="stroke width per region (text-mask), for the choice")},
        outputs={"image": PortSpec("image"),
                 "mask": PortSpec("mask", doc="the mask after the loop grew it over residue"),
                 "report": PortSpec("report",
                                    doc="per-region fill, passes, ghost and smear verdicts")},
        doc="Per text region: choose the fill from the hole and its context (diffusion on "
            "smooth context, frequency-selective over texture or structure), fill on crops, "
            "run the ghost and smear judges, grow a region the ghost judge flags over its "
            "residue, give one the smear judge flags the next texture-keeping fill (auto), "
            "and refill from the original, at most max_passes fills. Pixels outside the "
            "final mask are bit-identical to the input.",
    )

    @dataclass(frozen=True)
    class Params:
        backend: BackendName = "auto"  #: auto chooses per region; else one backend for all
        max_passes: int = 3            #: most fills per region (1 = no refill)
        radius: int = 3                #: neighbourhood radius of the diffusion fills, px
        judge: bool = True             #: run the ghost and smear judges after each pass
        model: str | None = None       #: checkpoint path for the lama backend
        device: str = "cpu"            #: torch device for the lama backend

    def run(self, ctx, image, mask, regions, geometry=None):
        from seamline.ops.text.removal import fill_text

        p = self.params
        if mask.max() <= 0:  # the input itself: stages never modify it (no 12 B/px copy)
            return StageResult(outputs={"image": image, "mask": mask,
                                        "report": {"passes": 0, "failed": [], "regions": []}},
                               notes=["mask is empty: image returned unchanged"])
        out, final, report = fill_text(image, mask, regions, backend=p.backend,
                                       max_passes=p.max_passes, radius=p.radius, seed=ctx.seed,
                                       judge=p.judge, model_path=p.model, device=p.device,
                                       stroke_px=(geometry or {}).get("stroke_width_px"))
        return StageResult(outputs={"image": out, "mask": final, "report": report},
                           report=report)
