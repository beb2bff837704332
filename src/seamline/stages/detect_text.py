"""``detect-text``: find text as polygons with rapidocr's bundled ONNX models (offline)."""

from __future__ import annotations

from dataclasses import dataclass

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class DetectText(Stage):
    id = "detect-text"
    spec = StageSpec(
        inputs={"image": PortSpec("image", doc="photo to search for text")},
        outputs={"regions": PortSpec("text-regions", doc="text lines as polygons with text")},
        requires=("rapidocr", "onnxruntime"),
        doc="Detect (and recognise) text lines with rapidocr's PP-OCR models shipped in its wheel.",
    )

    @dataclass(frozen=True)
    class Params:
        min_score: float = 0.5   #: drop detections whose confidence is below this
        recognize: bool = True   #: also read the text (needed for word counts in QA)

    @classmethod
    def warm_up(cls, params, *, threads: int | None = None) -> None:
        from seamline.ops.text import warm_up

        warm_up(threads=threads)

    def run(self, ctx, image):
        from seamline.ops.text import detect_text

        regions = detect_text(image, min_score=self.params.min_score,
                              recognize=self.params.recognize)
        report = {"regions": len(regions),
                  "words": sum(len(r.text.split()) for r in regions),
                  "texts": [r.text for r in regions]}
        notes = [] if regions else ["no text found: the image passes through unchanged"]
        return StageResult(outputs={"regions": regions}, report=report, notes=notes)
