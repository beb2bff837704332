"""``img2img``: image and/or latents to image (+ latents), noised to ``strength`` and denoised.

Its ``latents`` input is where a latent handoff is checked: channel count, the receiving
model's calibrated per-channel profile (re-centred under ``reconcile``), and the producer's
guidance scale, scheduler and model against this stage's own (a warning, or an error with
``strict_provenance``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import StageResult
from seamline.stages.generate import (PROMPT_EMBEDDING, REQUIRES, DiffusionStage, ReceiverParams,
                                      common_kwargs, padded_note, with_embedding_port)


class Img2Img(DiffusionStage):
    id = "img2img"
    spec = StageSpec(
        inputs={"image": PortSpec("image", optional=True, doc="start image (encoded with the "
                                                              "VAE unless latents are wired)"),
                "latents": PortSpec("latents", optional=True, doc="start latents in this "
                                                                  "model's scaled space"),
                "prompt_embedding": PROMPT_EMBEDDING},
        outputs={"image": PortSpec("image", doc="the result"),
                 "latents": PortSpec("latents", doc="final latents with provenance")},
        requires=REQUIRES,
        doc="Image/latents to image with a local Stable Diffusion-layout model; checks incoming "
            "latents against this model (channels, calibrated profile, producer settings).",
    )

    @dataclass(frozen=True)
    class Params(ReceiverParams):
        strength: float = 0.6        #: how far to noise the start (1 = from pure noise)

    @classmethod
    def spec_for(cls, params) -> StageSpec:
        from seamline.diffusion import latents_contract

        port = latents_contract(params.model, config=params.model_config,
                                guidance_scale=params.guidance_scale,
                                scheduler=params.scheduler, profile=params.profile,
                                profile_tolerance=params.profile_tolerance,
                                strict_provenance=params.strict_provenance,
                                doc=cls.spec.inputs["latents"].doc)
        spec = dataclasses.replace(cls.spec, inputs={**cls.spec.inputs, "latents": port})
        return with_embedding_port(spec, params)

    def run(self, ctx, image=None, latents=None, prompt_embedding=None):
        from seamline.diffusion import img2img

        p = self.params
        res = img2img(p.model, image, latents=latents, strength=p.strength,
                      prompt_embeds=prompt_embedding,
                      pad=ctx.policy == "reconcile", **common_kwargs(p, ctx))
        return StageResult(outputs={"image": res.image, "latents": res.latents},
                           report=res.report, notes=padded_note(res.report))
