"""``generate``: text to image (+ latents) through a diffusers Stable Diffusion pipeline.

Also home of the parameters the three diffusion stages share (:class:`DiffusionParams`,
:class:`ReceiverParams`); the work is in :mod:`seamline.diffusion`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult
from seamline.translate.target import EncoderTarget

#: Scheduler option names (kept equal to ``seamline.diffusion.SCHEDULER_NAMES``; a test checks).
SchedulerName = Literal["default", "ddim", "pndm", "euler", "euler-a", "dpm++2m", "lms", "unipc"]
DTypeName = Literal["auto", "float32", "float16", "bfloat16"]
REQUIRES = ("torch", "diffusers", "transformers")


@dataclass(frozen=True)
class DiffusionParams:
    """Parameters every diffusion stage takes."""

    model: str = ""                  #: diffusers folder, .safetensors file or cached repo id
    model_config: str | None = None  #: single-file checkpoints: diffusers config folder/repo id
    prompt: str = ""
    negative_prompt: str = ""
    steps: int = 30
    guidance_scale: float = 7.5
    scheduler: SchedulerName = "default"
    seed: int | None = None          #: default: the stage seed derived from the pipeline seed
    device: str = "auto"             #: auto (CUDA when present), cpu, cuda, cuda:N, mps
    dtype: DTypeName = "auto"        #: auto: float16 on CUDA, float32 on CPU
    translation_maps: tuple[str, ...] = ()  #: maps into this model's text-encoder space


@dataclass(frozen=True)
class ReceiverParams(DiffusionParams):
    """Parameters of a stage that can receive latents from another stage."""

    profile: str | None = None       #: calibration profile of *this* model (seamline calibrate)
    profile_tolerance: float | None = None  #: absolute per-channel tolerance (default: profile's)
    strict_provenance: bool = False  #: guidance/scheduler/model mismatch is an error, not a warning


#: The port every diffusion stage conditions through when it is wired (``consistency: true``
#: wires it); its contract (``encoder``) is filled in by :func:`with_embedding_port`.
PROMPT_EMBEDDING = PortSpec(
    "embedding", optional=True,
    doc="prompt conditioning, tokens x hidden, in this model's text-encoder space (used "
        "instead of encoding 'prompt'; another encoder's is translated under reconcile)")


def with_embedding_port(spec: StageSpec, params: DiffusionParams) -> StageSpec:
    """``spec`` with the ``prompt_embedding`` port bound to this model's text encoder."""
    if not params.model:
        return spec
    port = dataclasses.replace(PROMPT_EMBEDDING,
                               encoder=EncoderTarget(params.model, params.translation_maps))
    return dataclasses.replace(spec, inputs={**spec.inputs, "prompt_embedding": port})


def model_token(params: DiffusionParams) -> str | None:
    """Cache token of a diffusion stage: its model's weights hash (cached on disk by mtime)."""
    if not params.model:
        return None
    from seamline.diffusion import weights_hash

    return weights_hash(params.model, config=params.model_config)


class DiffusionStage(Stage):
    """What the three diffusion stages share: the prompt-embedding port and the cache token."""

    @classmethod
    def spec_for(cls, params) -> StageSpec:
        return with_embedding_port(cls.spec, params)

    @classmethod
    def cache_token(cls, params) -> str | None:
        return model_token(params)


def common_kwargs(p: DiffusionParams, ctx) -> dict:
    """Keyword arguments for the :mod:`seamline.diffusion` functions."""
    return {"prompt": p.prompt, "negative_prompt": p.negative_prompt, "steps": p.steps,
            "guidance_scale": p.guidance_scale, "scheduler": p.scheduler,
            "seed": p.seed if p.seed is not None else ctx.seed, "device": p.device,
            "dtype": p.dtype, "config": p.model_config}


def padded_note(report: dict) -> list[str]:
    pad = report.get("provenance", {}).get("padded") or report.get("padded")
    if not pad:
        return []
    return [f"image padded by {pad['bottom']} px (bottom) and {pad['right']} px (right), "
            "reflect, to the VAE factor (policy reconcile); output cropped back to the input size"]


class Generate(DiffusionStage):
    id = "generate"
    spec = StageSpec(
        inputs={"prompt_embedding": PROMPT_EMBEDDING},
        outputs={"image": PortSpec("image", doc="the generated image"),
                 "latents": PortSpec("latents", doc="final latents (scaled space) with their "
                                                    "provenance")},
        requires=REQUIRES,
        doc="Text to image with a local Stable Diffusion-layout model (diffusers); latents "
            "carry model, weights hash, scheduler, guidance, steps, seed.",
    )

    @dataclass(frozen=True)
    class Params(DiffusionParams):
        height: int | None = None    #: multiple of the VAE factor; default the model's size
        width: int | None = None

    def run(self, ctx, prompt_embedding=None):
        from seamline.diffusion import generate

        p = self.params
        res = generate(p.model, height=p.height, width=p.width,
                       prompt_embeds=prompt_embedding, **common_kwargs(p, ctx))
        return StageResult(outputs={"image": res.image, "latents": res.latents},
                           report=res.report)
