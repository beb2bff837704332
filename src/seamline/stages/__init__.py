"""The stage registry: one file per implementation, listed here explicitly.

>>> from seamline.stages import get_stage, stage_ids
>>> get_stage("inpaint").id
'inpaint'

Stage modules import their heavy dependencies inside ``run``, so importing the registry is
cheap and a missing optional extra is reported only for the stages that need it.

Importing this package also imports the domain modules that register what they contribute
to handoffs (adapters, statistics, artifact types, the ``consistency`` pipeline key) with the
core: whoever can look a stage up also has everything its handoffs need.
"""

from __future__ import annotations

# domains registering with the core (imported for that effect)
import seamline.diffusion.handoffs  # noqa: F401  (recenter adapter)
import seamline.ops.handoffs  # noqa: F401  (noise/mask adapters and stats, text regions)
import seamline.translate.consistency  # noqa: F401  (the consistency: pipeline keys)
import seamline.translate.target  # noqa: F401  (translate adapter)
from seamline.core.stage import STAGES, Stage, get_stage, register_stage, stage_ids
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
from seamline.stages.unblend_watermark import UnblendWatermark
from seamline.stages.upscale import Upscale
from seamline.stages.upscale_qa import UpscaleQA

for _cls in (DetectText, TextMask, NormalizeMask, Preflight, Inpaint, FillText, EditQA, Restore,
             Upscale, ColorMatch, UpscaleQA, EncodePrompt, Generate, Img2Img, LatentInpaint,
             UnblendWatermark):
    register_stage(_cls)

#: Stage classes by id: the core's registry (:data:`seamline.core.stage.STAGES`), filled above.
REGISTRY: dict[str, type[Stage]] = STAGES

__all__ = ["REGISTRY", "Stage", "get_stage", "register_stage", "stage_ids"]
