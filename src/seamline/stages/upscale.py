"""``upscale``: resolution enhancement with a declared input contract.

The ``seamline-sr`` network was trained on clean images: it declares the noise level and JPEG
blockiness it expects, so under the ``reconcile`` policy the runner inserts the denoise /
deblock adapters before it (recorded with numbers), and under ``strict`` it refuses a noisy
input. Plain resamplers (lanczos, bicubic, nearest) accept anything.

``auto`` (the default) picks per image: graphics (at most 256 colours, or 32 grey levels:
palette, 1-bit, dither; a grey photo is a photo) are repeated pixel by pixel (``nearest``), because the network, trained on photos, turns
dither and one-pixel edges into worm-like texture and a smooth resampler invents colours the
graphic never had; photos get ``seamline-sr``.

Grey images (``HxW``) stay grey through the classic backends, ``seamline-sr`` (it expands
one tile at a time and returns grey) and ``auto`` (a fax page or a grey photo costs a third
of the memory); spandrel declares RGB, so the runner expands grey for it (adapter
``to_rgb``). ``auto`` reads the ``graphic`` statistic measured at the handoff.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from seamline.core.contracts import Expect, PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult
from seamline.stages.model_files import CheckpointFile, file_token


class Upscale(CheckpointFile, Stage):  # spandrel's checkpoint: checked first, in the key
    id = "upscale"
    # 2: auto sends a grey photo to seamline-sr (it was read as a graphic)
    # 3: seamline-sr keeps a grey image grey (the same values as its RGB expansion's)
    version = "3"
    spec = StageSpec(
        inputs={"image": PortSpec("image", doc="the image to enlarge")},
        outputs={"image": PortSpec("image", doc="scale x larger")},
        doc="Upscale x2 or x4: auto (seamline-sr for photos, nearest for graphics), "
            "seamline-sr (ONNX, bundled), lanczos, bicubic, nearest, or a spandrel checkpoint "
            "you have (tiled, bounded memory).",
    )

    @dataclass(frozen=True)
    class Params:
        backend: Literal["auto", "seamline-sr", "lanczos", "bicubic", "nearest",
                         "spandrel"] = "auto"
        scale: int = 2
        model: str | None = None        #: checkpoint path for the spandrel backend
        tile: int = 256                 #: tile size for network backends (bounded memory)
        overlap: int = 16               #: tile overlap, blended
        max_noise_sigma: float | None = None  #: declared input noise limit (default by backend)
        max_blockiness: float | None = None   #: declared JPEG blockiness limit (default by backend)

    #: What each backend expects of its input (noise sigma in [0, 1] units; blockiness 1 = none)
    #: ``auto`` declares seamline-sr's: a graphic measures 0 noise and blockiness (see
    #: ``seamline.ops.handoffs``), so no adapter runs before the ``nearest`` it gets.
    EXPECTS = {"seamline-sr": (0.012, 1.3), "spandrel": (0.02, 1.5)}
    EXPECTS["auto"] = EXPECTS["seamline-sr"]

    checkpoint_backend, checkpoint_who, checkpoint_kinds = ("spandrel", "upscaler",
                                                            ".safetensors/.pth")

    @classmethod
    def cache_token(cls, params) -> str | None:
        """spandrel's checkpoint; for auto and seamline-sr, the packaged model of the scale
        (a retrained one in a checkout is not served from an older run's cache)."""
        if params.backend not in ("auto", "seamline-sr"):
            return super().cache_token(params)
        from pathlib import Path

        from seamline.ops.upscale.sr import SR_SCALES, model_path

        packaged = Path(str(model_path(params.scale))) if params.scale in SR_SCALES else None
        # (not a plain file: a package in a zip, whose version the key holds already)
        return file_token(packaged) if packaged is not None and packaged.is_file() else None

    @classmethod
    def spec_for(cls, params) -> StageSpec:
        from seamline.ops.upscale.sr import CLASSIC_METHODS

        noise, block = cls.EXPECTS.get(params.backend, (None, None))
        noise = params.max_noise_sigma if params.max_noise_sigma is not None else noise
        block = params.max_blockiness if params.max_blockiness is not None else block
        expects = []
        if block is not None:  # deblock first: blocking inflates the noise estimate
            expects.append(Expect("blockiness", max=block, adapter="deblock"))
        if noise is not None:
            expects.append(Expect("noise_sigma", max=noise, adapter="denoise"))
        auto = params.backend == "auto"
        port = dataclasses.replace(cls.spec.inputs["image"], expects=tuple(expects),
                                   grey=auto or params.backend in CLASSIC_METHODS
                                   or params.backend == "seamline-sr",
                                   measure=("graphic",) if auto else ())
        return dataclasses.replace(cls.spec, inputs={"image": port})

    def run(self, ctx, image):
        from seamline.errors import InputError
        from seamline.ops.upscale.sr import (CLASSIC_METHODS, SR_SCALES, classic_upscale,
                                             sr_upscale)

        p = self.params
        notes = []
        if p.backend == "auto":
            from seamline.ops.noise import GRAPHIC_NOTE, is_graphic

            graphic = ctx.stat("image", "graphic")  # measured at the handoff
            if graphic is None:
                graphic = is_graphic(image)
            if graphic:
                backend = "nearest"
                notes.append(f"{GRAPHIC_NOTE}: pixels repeated (nearest), not seamline-sr")
            else:
                backend = "seamline-sr"
            p = dataclasses.replace(p, backend=backend)
        if p.scale not in SR_SCALES and p.backend == "seamline-sr":
            raise InputError(f"scale: seamline-sr supports 2 and 4, got {p.scale} "
                             "(the lanczos, bicubic and nearest backends take any integer)")
        if p.backend == "seamline-sr":
            out = sr_upscale(image, scale=p.scale, tile=p.tile, overlap=p.overlap)
            return StageResult(outputs={"image": out}, report={"backend": p.backend,
                                                               "scale": p.scale})
        if p.backend in CLASSIC_METHODS:
            if p.scale < 1:
                raise InputError(f"scale: expected an integer >= 1, got {p.scale}")
            out = classic_upscale(image, scale=p.scale, method=p.backend)
            return StageResult(outputs={"image": out}, notes=notes,
                               report={"backend": p.backend, "scale": p.scale})
        from seamline.ops.upscale import load_upscaler, model_upscale

        if not p.model:
            raise InputError("model: the spandrel backend needs a checkpoint path (model=PATH); "
                             "seamline never downloads weights")
        model = load_upscaler(p.model)
        if model.scale != p.scale:
            raise InputError(f"scale: {p.scale}: {p.model} is a x{model.scale} model")
        out = model_upscale(model, image, tile=p.tile, overlap=p.overlap)
        return StageResult(outputs={"image": out},
                           report={"backend": p.backend, "scale": model.scale,
                                   "architecture": model.architecture})
