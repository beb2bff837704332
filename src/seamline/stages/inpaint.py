"""``inpaint``: fill the masked pixels; everything outside the mask is left bit-identical."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult
from seamline.stages.model_files import CheckpointFile

BackendName = Literal["auto", "telea", "ns", "biharmonic", "fsr", "fsr-best", "fsr-edge",
                      "oriented", "exemplar", "lama"]


class Inpaint(CheckpointFile, Stage):  # lama's checkpoint: checked first, in the key
    id = "inpaint"
    version = "2"  # 2: the fsr, fsr-best and fsr-edge backends' fills changed under a cached
    #               key of "1" (ops.inpaint.fsr: thick holes at half size, fine rings at full
    #               size, a fine stretch of a soft ring refilled at full size: fine_part)
    spec = StageSpec(
        inputs={"image": PortSpec("image", grey=True, doc="RGB, or grey: filled a crop at a "
                                                          "time as RGB, returned grey"),
                "mask": PortSpec("mask", same_size_as="image", min_component_px=1,
                                 doc="1 = fill; soft values are partial edits")},
        outputs={"image": PortSpec("image", grey=True, doc="grey for a grey input")},
        doc="Fill the mask with a registered backend on crops around it, reconcile the fill's "
            "colour to its context, feather the transition, and paste back so pixels outside "
            "the (feathered) mask are bit-identical to the input.",
    )

    @dataclass(frozen=True)
    class Params:
        backend: BackendName = "telea"  #: auto picks telea or exemplar per crop
        radius: int = 3                 #: neighbourhood radius of the diffusion fills, px
        context_px: int | None = None   #: context margin around each crop (default: backend's)
        feather_px: int = 0             #: feathered transition band outside the mask, px
        color_match: bool | None = None  #: Lab mean/std to the context ring (default: by family)
        model: str | None = None        #: checkpoint path for the lama backend
        device: str = "cpu"             #: torch device for the lama backend

    def run(self, ctx, image, mask):
        from seamline.ops.inpaint import inpaint

        if mask.max() <= 0:  # the input itself: stages never modify it (no 12 B/px copy)
            return StageResult(outputs={"image": image},
                               notes=["mask is empty: image returned unchanged"])
        p = self.params
        report: dict = {}
        out = inpaint(image, mask, backend=p.backend, radius=p.radius, context_px=p.context_px,
                      seed=ctx.seed, feather_px=p.feather_px, color_match=p.color_match,
                      model_path=p.model, device=p.device, report=report)
        report["edited_px"] = int(np.count_nonzero(mask > 0))
        return StageResult(outputs={"image": out}, report=report)
