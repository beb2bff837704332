"""The stage registry: one file per implementation, listed here explicitly.

>>> from seamline.stages import get_stage, stage_ids
>>> get_stage("inpaint").id
'inpaint'

Stage modules import their heavy dependencies inside ``run``, so importing the registry is
cheap and a missing optional extra is reported only for the stages that need it.
"""

from __future__ import annotations

from seamline.errors import ConfigError
from seamline.core.stage import Stage
from seamline.stages.color_match import ColorMatch
from seamline.stages.detect_text import DetectText
from seamline.stages.encode_prompt import EncodePrompt
from seamline.stages.fill_text import FillText
from seamline.stages.generate import Generate
from seamline.stages.img2img import Img2Img
from seamline.stages.inpaint import Inpaint
from seamline.stages.latent_inpaint import LatentInpaint
from seamline.stages.normalize_mask import NormalizeMask
from seamline.stages.preflight import Preflight
from seamline.stages.qa import EditQA
from seamline.stages.restore import Restore
from seamline.stages.text_mask import TextMask
from seamline.stages.upscale import Upscale
from seamline.stages.upscale_qa import UpscaleQA

REGISTRY: dict[str, type[Stage]] = {
    cls.id: cls for cls in (DetectText, TextMask, NormalizeMask, Preflight, Inpaint, FillText, EditQA,
                            Restore, Upscale, ColorMatch, UpscaleQA, EncodePrompt, Generate,
                            Img2Img, LatentInpaint)
}


def get_stage(stage_id: str) -> type[Stage]:
    """Look a stage class up by id; an unknown id lists the known ones."""
    try:
        return REGISTRY[stage_id]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown stage {stage_id!r}; known stages: "
                          f"{', '.join(sorted(REGISTRY))}") from None


def stage_ids() -> list[str]:
    return sorted(REGISTRY)
