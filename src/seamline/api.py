"""The Python API in a few names: :class:`Pipeline`, :func:`remove_text`.

>>> import seamline as sl                                             # doctest: +SKIP
>>> res = sl.remove_text(sl.load_image("photo.jpg"))                  # doctest: +SKIP
>>> res.image, res.mask, res.qa, res.checks                           # doctest: +SKIP
>>> run = sl.Pipeline.from_yaml("pipeline.yaml").run("photo.jpg", out="runs/x")  # doctest: +SKIP
>>> run.stage("inpaint").output, run.manifest                         # doctest: +SKIP
"""

from __future__ import annotations


from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from seamline.core.pipeline import (PipelineSpec, apply_overrides, builtin_spec, load_spec,
                               spec_from_text)
from seamline.engine.runner import Run, run_pipeline


class Pipeline:
    """A validated pipeline, ready to run on images.

    Build one with :meth:`from_yaml`, :meth:`from_text` or :meth:`builtin`; change parameters
    with :meth:`with_params`; run it with :meth:`run`.
    """

    def __init__(self, spec: PipelineSpec):
        self.spec = spec

    @classmethod
    def from_yaml(cls, path: str | Path) -> "Pipeline":
        return cls(load_spec(path))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<pipeline>") -> "Pipeline":
        return cls(spec_from_text(text, source=source))

    @classmethod
    def builtin(cls, name: str) -> "Pipeline":
        """A pipeline shipped with seamline: ``remove-text`` or ``inpaint``."""
        return cls(builtin_spec(name))

    def with_params(self, sets: list[str] | dict[str, Any]) -> "Pipeline":
        """A copy with ``{"inpaint.radius": 5}`` or ``["inpaint.radius=5"]`` applied."""
        return Pipeline(apply_overrides(self.spec, sets))

    def with_policy(self, policy: str) -> "Pipeline":
        return self.with_raw(policy=policy)

    def with_raw(self, **top_level: Any) -> "Pipeline":
        from seamline.core.pipeline import spec_from_dict

        raw = dict(self.spec.raw, **top_level)
        return Pipeline(spec_from_dict(raw, source=self.spec.source))

    def warm_up(self, *, threads: int | None = None) -> "Pipeline":
        """Load what every stage needs (models, compiled kernels) now, so the first image
        does not pay for it (:meth:`seamline.core.stage.Stage.warm_up`); returns ``self``.

        ``threads`` caps the engines' own thread pools when this builds them (None: their
        default). For ``remove-text`` that is the OCR models (~0.7 s) and the exemplar
        fill's kernels (~1 s, paid by the first image that uses that fill otherwise).
        """
        from seamline.core.heap import bound_heap
        from seamline.stages import get_stage

        bound_heap()  # as run_pipeline does, before the engines allocate
        for decl in self.spec.stages:
            get_stage(decl.stage_id).warm_up(decl.params, threads=threads)
        return self

    def run(self, image: Any = None, *, out: str | Path | None = None,
            from_stage: str | None = None,
            progress: bool = False, **kwargs: Any) -> Run:
        """Run on one image (path, :class:`~seamline.io.ImageFile` or HxWx3 array), or on
        none (``None``) when the pipeline has no image input (``inputs: {}``, e.g. generate).

        See :func:`seamline.engine.runner.run_pipeline` for every option.
        """
        return run_pipeline(self.spec, image, out=out, from_stage=from_stage, progress=progress,
                            **kwargs)

    def __repr__(self) -> str:
        names = " -> ".join(f"{s.name}({s.stage_id})" for s in self.spec.stages)
        return f"Pipeline({self.spec.name!r}: {names}; policy={self.spec.policy})"


@dataclass
class TextRemoval:
    """Result of :func:`remove_text`.

    Attributes
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
        The cleaned image; pixels outside ``mask`` are bit-identical to the input.
    mask : ndarray, HxW float32 in [0, 1]
        The mask that was inpainted (glyph mask after normalisation, grown where the ghost
        judge found residue and the region was filled again).
    regions : list of TextRegion
        Text found before the edit.
    qa : dict
        Residual words, the ghost judge's verdicts (``failed_regions``: regions still
        visible after the last fill pass), seam score, colour change outside the mask,
        ΔE2000 inside vs ring.
    checks : list of dict
        Every handoff record: checks and adapters with numbers before and after.
    run : Run
        The full run (manifest, every stage's outputs).
    """

    image: np.ndarray
    mask: np.ndarray
    regions: list
    qa: dict
    checks: list[dict]
    run: Run


def remove_text(image: Any, *, backend: str = "auto", radius: int = 3,
                policy: str | None = None, out: str | Path | None = None,
                **params: Any) -> TextRemoval:
    """Detect text, build a mask that hugs the glyphs, inpaint it and measure the result.

    Parameters
    ----------
    image : ndarray (HxWx3 float32 sRGB in [0, 1], or uint8/uint16), ImageFile, str or Path
    backend : str
        ``"auto"`` (per text region: a diffusion fill on smooth context, the
        frequency-selective fill over texture or structure, the next texture-keeping fill
        where the smear judge flags one) or any inpainting backend
        (``seamline.ops.inpaint.BACKENDS``) for every region.
    radius : int
        Inpainting neighbourhood radius in pixels.
    policy : {"strict", "reconcile", "off"}, optional
        Override the built-in pipeline's handoff policy (``reconcile``).
    out : str or Path, optional
        Run directory for the manifest and every intermediate.
    **params
        Further ``"stage.key": value`` overrides, e.g. ``**{"normalize.feather_px": 2}``.

    Returns
    -------
    TextRemoval
    """
    pipe = Pipeline.builtin("remove-text").with_params(
        {"inpaint.backend": backend, "inpaint.radius": radius, **params})
    if policy is not None:
        pipe = pipe.with_policy(policy)
    run = pipe.run(image, out=out)
    return TextRemoval(image=run.output, mask=run.stage("inpaint").outputs["mask"],
                       regions=run.stage("detect").output, qa=run.qa, checks=run.checks,
                       run=run)


