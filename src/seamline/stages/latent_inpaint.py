"""``latent-inpaint``: inpaint in latent space; pixels outside the latent-grid mask are
bit-identical to the input.

The pixel mask is snapped to the latent grid (max-pool per VAE cell, grown ``grow_cells``),
the original's noised latents are blended outside it at every step, the decoded result is
composited back in pixel space and colour-reconciled to the untouched ring around it (see
:func:`seamline.diffusion.latent_inpaint`). The grid mask is an output, for QA stages.
"""

from __future__ import annotations

from dataclasses import dataclass

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import StageResult
from seamline.stages.generate import (PROMPT_EMBEDDING, REQUIRES, DiffusionParams,
                                      DiffusionStage, common_kwargs, padded_note)


class LatentInpaint(DiffusionStage):
    id = "latent-inpaint"
    spec = StageSpec(
        inputs={"image": PortSpec("image", doc="the image to edit"),
                "mask": PortSpec("mask", same_size_as="image", doc="1 = edit here"),
                "prompt_embedding": PROMPT_EMBEDDING},
        outputs={"image": PortSpec("image", doc="edited; bit-identical outside the grid mask"),
                 "latents": PortSpec("latents", doc="final latents with provenance"),
                 "mask": PortSpec("mask", doc="the latent-grid mask actually edited")},
        requires=REQUIRES,
        doc="Latent inpainting with a local Stable Diffusion-layout model (4- or 9-channel "
            "UNet): grid-snapped mask, per-step latent blending, exact paste-back, colour "
            "reconciled to the surroundings.",
    )

    @dataclass(frozen=True)
    class Params(DiffusionParams):
        strength: float = 1.0        #: 1 = the masked area starts from pure noise
        grow_cells: int = 1          #: latent cells added around the max-pooled mask
        feather_px: int = 0          #: soft band inside the grid mask around the mask
        color_match: bool = True     #: remove the decoder's colour drift (fit on the ring)
        ring_px: int = 8             #: width of the untouched ring the drift is measured on

    def run(self, ctx, image, mask, prompt_embedding=None):
        from seamline.diffusion import latent_inpaint

        p = self.params
        res = latent_inpaint(p.model, image, mask, strength=p.strength,
                             prompt_embeds=prompt_embedding,
                             grow_cells=p.grow_cells, feather_px=p.feather_px,
                             color_match=p.color_match, ring_px=p.ring_px,
                             pad=ctx.policy == "reconcile", **common_kwargs(p, ctx))
        return StageResult(outputs={"image": res.image, "latents": res.latents,
                                    "mask": res.mask},
                           report=res.report, notes=padded_note(res.report))
