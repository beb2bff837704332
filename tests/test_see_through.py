"""Semi-transparent text taken off by inverting its blend (seamline.ops.inpaint.see_through):
the fit finds the demo's watermark (white, 45 % opaque) from the strokes' borders, the
inversion keeps the spoon and the saucer under it where a fill invents them, and opaque text,
an outline or no paint at all are left to the fills."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.io import as_image
from seamline.ops.inpaint import inpaint
from seamline.ops.inpaint.see_through import fit_blend, see_through_fill
from seamline.testing.synth import TextItem, draw_text


def _hugging(alpha):
    """A mask that hugs the strokes: the drawn coverage, grown 1 px."""
    return cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _psnr(a, b, where):
    return float(10 * np.log10(1 / np.mean((a[where].astype(np.float64) - b[where]) ** 2)))


@pytest.fixture(scope="module")
def photo():
    return as_image(data.coffee())


def test_the_demos_watermark_is_fitted_and_inverted(photo):
    item = TextItem("SAMPLE", (330, 200), 56, color=(255, 255, 255), opacity=0.45,
                    angle_deg=18)
    marked, alpha = draw_text(photo, [item])
    hole = _hugging(alpha)
    fit = fit_blend(marked, hole)
    assert fit["ok"], fit
    assert abs(fit["opacity"] - 0.45) < 0.05, fit
    assert min(fit["color"]) > 0.9, fit
    out, used = see_through_fill(marked, hole)
    # the strokes are inverted (their anti-aliased edge unmixed), the photo the mask took
    # round them kept; little is left to a fill
    assert used["ok"] and used["filled_px"] < 0.1 * hole.sum(), used
    assert np.array_equal(out[~hole], marked[~hole])
    # the photo under the strokes comes back: far closer than a frequency-selective fill
    fsr = inpaint(marked, hole.astype(np.float32), backend="fsr")
    assert _psnr(out, photo, hole) > _psnr(fsr, photo, hole) + 3, (
        _psnr(out, photo, hole), _psnr(fsr, photo, hole))


@pytest.mark.parametrize("item", [
    TextItem("MORNING", (150, 22), 46, color=(255, 255, 255)),  # opaque
    TextItem("MORNING", (150, 22), 46, color=(255, 255, 255), stroke_px=2,
             stroke_color=(30, 20, 10)),  # outlined
    TextItem("fresh roast", (170, 340), 28, color=(255, 221, 0), shadow_px=2),  # shadowed
])
def test_opaque_text_is_left_to_the_fill(photo, item):
    marked, alpha = draw_text(photo, [item])
    fit = fit_blend(marked, _hugging(alpha))
    assert not fit["ok"], fit


def test_no_paint_is_left_to_the_fill(photo):
    # the strokes' shape over untouched photo: the photo beside explains it as well
    _, alpha = draw_text(photo, [TextItem("SAMPLE", (330, 200), 56, angle_deg=18)])
    fit = fit_blend(photo, _hugging(alpha))
    assert not fit["ok"], fit
    out = inpaint(photo, _hugging(alpha).astype(np.float32), backend="unblend")
    assert np.array_equal(out[~_hugging(alpha)], photo[~_hugging(alpha)])


def test_the_strokes_are_followed_where_the_photo_beside_is_not_the_photo_under(
        photo, monkeypatch):
    # the fill loop grows a hole over a tinted rim: the photo beside a stroke is then a few
    # px farther, over the spoon's neck and the cup's rim not the photo under it, and the
    # per-pixel answer says "photo" on stretches of the "S" whose inversion is exact (they
    # stayed pale); followed along the strokes they are inverted
    from seamline.ops.inpaint import see_through

    item = TextItem("SAMPLE", (330, 200), 56, color=(255, 255, 255), opacity=0.45,
                    angle_deg=18)
    marked, alpha = draw_text(photo, [item])
    hole = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    out, used = see_through_fill(marked, hole)
    assert used["ok"], used
    monkeypatch.setattr(see_through, "_follow_strokes", lambda crop, painted, *a: painted)
    per_pixel, _ = see_through_fill(marked, hole)
    # 26.1 -> 30.6 dB on the hole
    assert _psnr(out, photo, hole) > _psnr(per_pixel, photo, hole) + 3, (
        _psnr(out, photo, hole), _psnr(per_pixel, photo, hole))
