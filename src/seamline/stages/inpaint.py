"""``inpaint``: fill the masked pixels; everything outside the mask is left bit-identical."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from seamline.contracts import PortSpec, StageSpec
from seamline.stages.base import Stage, StageResult


class Inpaint(Stage):
    id = "inpaint"
    spec = StageSpec(
        inputs={"image": PortSpec("image"),
                "mask": PortSpec("mask", same_size_as="image", min_component_px=1)},
        outputs={"image": PortSpec("image")},
        doc="Fill the mask with an OpenCV backend on crops around the mask, then paste back "
            "so pixels outside the mask are bit-identical to the input.",
    )

    @dataclass(frozen=True)
    class Params:
        backend: Literal["telea", "ns"] = "telea"
        radius: int = 3                 #: neighbourhood radius of the OpenCV fill, pixels
        context_px: int | None = None   #: context margin around each crop (default: automatic)

    def run(self, ctx, image, mask):
        from seamline.inpaint import inpaint

        if not np.any(mask > 0):
            return StageResult(outputs={"image": image.copy()},
                               notes=["mask is empty: image returned unchanged"])
        p = self.params
        out = inpaint(image, mask, backend=p.backend, radius=p.radius, context_px=p.context_px)
        return StageResult(outputs={"image": out},
                           report={"edited_px": int(np.count_nonzero(mask > 0))})
