"""The glyph mask of a subtitle (white letters, thin black outline) over a light photo
(issue 10; open).

The photo (scikit-image's immunohistochemistry slide) is white and brown where the subtitle
lies, so no colour is much more frequent inside the line's box than around it. With a 1 px
outline the semi-transparent search decides (``per_region[i]["path"] == "watermark"``): it
takes the anti-aliased outline for grey paint (opacity ~0.77) and the brown photo beside the
letters for outline: glyph precision 0.617 (Roboto), 0.668 (DejaVu Sans). A 2 px outline is
dark enough to be its own colour with lift, and passes (precision 0.94). The 1 px cases are
expected to fail until the fix lands (an opaque fill + thin dark outline hypothesis tested
before the semi-transparent search: branch ``sub-fill-outline-wip``, precision 0.86-0.90,
not landed because the whole pipeline did not measure better on the train split).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.ops.text import TextRegion, glyph_mask
from seamline.testing import overlays


def _font(name: str) -> str:
    hits = [f for f in overlays.font_paths("train") if Path(f).name == name]
    if not hits:
        pytest.skip(f"font {name} not installed")
    return hits[0]


def _detector_box(poly: np.ndarray) -> np.ndarray:
    """The line's box grown as the detector's (rapidocr unclips: ~1.6x the text height)."""
    (cx, cy), (w, h), a = cv2.minAreaRect(poly.astype(np.float32))
    if w < h:
        w, h, a = h, w, a + 90
    return cv2.boxPoints(((cx, cy), (w + 0.6 * h, 1.6 * h), a)).astype(np.float32)


def _subtitle(font: str, outline_px: int):
    photo = data.immunohistochemistry().astype(np.float32) / 255
    photo = np.clip(cv2.resize(photo, (1024, 1024), interpolation=cv2.INTER_CUBIC)[128:896], 0, 1)
    ov = overlays.Overlay(text="Follow chapter grand street image you live", xy=(0, 0),
                          size_px=36, font=_font(font), color=(255, 255, 255), align="center",
                          outline_px=outline_px, outline_color=(0, 0, 0))
    w, h = overlays.measure(ov)
    ov = overlays._replace(ov, xy=(float((1024 - w) / 2), float(768 * 0.92 - h)))
    image, _, _ = overlays.render(photo, [ov])
    image = image.astype(np.float32)
    drawn = overlays.drawn_mask(photo, image)
    regions = [TextRegion(_detector_box(p), "", 1.0) for p in overlays.line_polygons(ov)]
    return image, drawn, regions


_OPEN = pytest.mark.xfail(strict=True, reason="issue 10: a 1 px outline falls to the "
                          "semi-transparent search (precision 0.62-0.67)")


@pytest.mark.parametrize("font,outline_px", [pytest.param("Roboto-Regular.ttf", 1, marks=_OPEN),
                                             pytest.param("DejaVuSans.ttf", 1, marks=_OPEN),
                                             ("DejaVuSans.ttf", 2)])
def test_a_subtitle_with_a_thin_outline_over_a_light_photo_is_masked_without_the_photo(font, outline_px):
    image, drawn, regions = _subtitle(font, outline_px)
    gm = glyph_mask(image, regions)
    m = gm.mask > 0
    recall = (m & drawn).sum() / drawn.sum()
    precision = (m & drawn).sum() / m.sum()
    assert precision >= 0.75, (precision, gm.per_region[0])
    assert recall >= 0.6, (recall, gm.per_region[0])
    assert gm.per_region[0].get("path") != "watermark"
