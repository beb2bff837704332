"""``preflight``: check a mask's geometry and its context before an inpainter sees it."""

from __future__ import annotations

from dataclasses import dataclass

from seamline.core.contracts import PortSpec, StageSpec
from seamline.errors import ContractError
from seamline.core.stage import Stage, StageResult


class Preflight(Stage):
    id = "preflight"
    spec = StageSpec(
        inputs={"image": PortSpec("image", grey=True, doc="RGB, or grey (its numbers are "
                                                          "those of the RGB expansion)"),
                "mask": PortSpec("mask", same_size_as="image")},
        outputs={"mask": PortSpec("mask", doc="the same mask, now checked"),
                 "report": PortSpec("report", doc="preflight numbers, warnings, failures")},
        doc="Coverage, components, slivers, border contact and context-ring statistics; "
            "failures stop the run under the strict policy and warn otherwise.",
    )

    @dataclass(frozen=True)
    class Params:
        ring_px: int = 8            #: width of the context ring measured around each component
        max_coverage: float = 0.35  #: larger masks leave too little context to fill from
        min_component_px: int = 4   #: smaller components are specks
        sliver_px: float = 1.5      #: components thinner than this (max inscribed radius)

    def run(self, ctx, image, mask):
        from seamline.ops.masks import preflight_mask

        p = self.params
        report = preflight_mask(image, mask, ring_px=p.ring_px, max_coverage=p.max_coverage,
                                min_component_px=p.min_component_px, sliver_px=p.sliver_px)
        failures = list(report.get("failures", []))
        if failures and ctx.policy == "strict":
            raise ContractError(f"stage '{ctx.name}' preflight failed: {'; '.join(failures)}")
        warnings = list(report.get("warnings", [])) + failures
        return StageResult(outputs={"mask": mask, "report": report}, report=report,
                           warnings=warnings, notes=list(report.get("notes", [])))
