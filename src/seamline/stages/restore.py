"""``restore``: the photo quality improver's clean-up: JPEG deblocking, then denoising, each
only when the measured profile says the image needs it."""

from __future__ import annotations

from dataclasses import dataclass

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class Restore(Stage):
    id = "restore"
    version = "3"  # 2: graphics pass through untouched (issue 14 item 6); 3: a grey
    # photo is not a graphic (at most 32 grey levels are)
    spec = StageSpec(
        # grey: a graphic passes through as it came (grey stays grey); the filters that
        # need colour expand it themselves
        inputs={"image": PortSpec("image", grey=True, measure=("graphic",))},
        outputs={"image": PortSpec("image", grey=True)},
        doc="Measure noise and JPEG blockiness; deblock and denoise when above the thresholds. "
            "Graphics (at most 256 colours, or 32 grey levels) pass through untouched.",
    )

    @dataclass(frozen=True)
    class Params:
        max_blockiness: float = 1.3   #: deblock above this (1.0 = no block structure)
        max_noise_sigma: float = 0.01  #: denoise above this noise sigma ([0, 1] units)

    def run(self, ctx, image):
        from seamline.ops.noise import (GRAPHIC_NOTE, deblock, denoise, is_graphic,
                                        noise_profile)

        p = self.params
        graphic = ctx.stat("image", "graphic")  # measured at the handoff
        if graphic is None:
            graphic = is_graphic(image)
        if graphic:  # dither and hard edges read as noise; a graphic has none
            return StageResult(outputs={"image": image}, report={"graphic": True, "applied": []},
                               notes=[f"{GRAPHIC_NOTE}: not deblocked or denoised"])
        before = noise_profile(image)
        out, done = image, []
        if before["blockiness"] > p.max_blockiness:
            out = deblock(out)
            done.append("deblock")
        mid = noise_profile(out) if done else before
        if mid["noise_sigma"] > p.max_noise_sigma:
            out = denoise(out, sigma=mid["noise_sigma"])
            done.append("denoise")
        after = noise_profile(out) if done else before
        report = {"before": before, "after": after, "applied": done}
        notes = [] if done else ["clean input: nothing to restore"]
        return StageResult(outputs={"image": out}, report=report, notes=notes)
