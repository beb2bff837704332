"""synth: text drawn on real photos with an exact ground-truth coverage."""

from __future__ import annotations

import numpy as np
import pytest

from seamline.errors import InputError
from seamline.testing.synth import TextItem, draw_text, random_text_items, text_photo_cases

ITEMS = [
    TextItem("MORNING", (40, 30), 40, color=(255, 255, 255)),
    TextItem("outlined", (60, 120), 36, color=(255, 221, 0), stroke_px=3, shadow_px=3),
    TextItem("watermark", (150, 250), 44, opacity=0.4, angle_deg=20),
]


def test_draw_text_is_deterministic_and_exact_outside_the_ink(astronaut):
    a_img, a_alpha = draw_text(astronaut, ITEMS)
    b_img, b_alpha = draw_text(astronaut, ITEMS)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_alpha, b_alpha)
    assert a_img.dtype == np.float32 and a_img.shape == astronaut.shape
    assert a_alpha.dtype == np.float32 and a_alpha.shape == astronaut.shape[:2]
    assert 0.0 <= a_alpha.min() and a_alpha.max() <= 1.0
    untouched = a_alpha == 0
    assert untouched.mean() > 0.8  # most of the photo has no text
    assert np.array_equal(a_img[untouched], astronaut[untouched])  # bit-exact where nothing drawn
    assert np.abs(a_img - astronaut).max(axis=2)[a_alpha > 0.9].mean() > 0.2  # text is visible
    assert np.shares_memory(a_img, astronaut) is False


def test_layers_are_in_the_coverage(coffee):
    plain = TextItem("LAYER", (100, 100), 60, color=(255, 255, 255))
    _, a_plain = draw_text(coffee, [plain])
    _, a_stroke = draw_text(coffee, [TextItem("LAYER", (100, 100), 60, stroke_px=4)])
    _, a_shadow = draw_text(coffee, [TextItem("LAYER", (100, 100), 60, shadow_px=5)])
    _, a_faint = draw_text(coffee, [TextItem("LAYER", (100, 100), 60, opacity=0.4)])
    n = (a_plain > 0.05).sum()
    assert (a_stroke > 0.05).sum() > 1.3 * n  # the outline is part of the coverage
    assert (a_shadow > 0.05).sum() > 1.2 * n  # so is the shadow
    assert abs(a_faint.max() - 0.4) < 0.01  # opacity scales the coverage


def test_rotation_keeps_the_centre(coffee):
    _, a0 = draw_text(coffee, [TextItem("ROTATE", (150, 150), 50)])
    _, a1 = draw_text(coffee, [TextItem("ROTATE", (150, 150), 50, angle_deg=30)])
    c0 = np.argwhere(a0 > 0.5).mean(0)
    c1 = np.argwhere(a1 > 0.5).mean(0)
    assert np.abs(c0 - c1).max() < 4
    ys, xs = np.nonzero(a1 > 0.5)
    slope = np.polyfit(xs, ys, 1)[0]
    assert -0.75 < slope < -0.4  # 30 degrees counter-clockwise (y down): tan(-30) = -0.58


def test_text_off_the_edge_is_clipped(coffee):
    img, alpha = draw_text(coffee, [TextItem("EDGE", (-40, -20), 60), TextItem("FAR", (5000, 10), 30)])
    assert alpha[:30, :30].max() > 0.5 and img.shape == coffee.shape


def test_random_items_are_deterministic_readable_and_inside(astronaut):
    a = random_text_items(astronaut.shape, np.random.default_rng(3), n=5, image=astronaut)
    b = random_text_items(astronaut.shape, np.random.default_rng(3), n=5, image=astronaut)
    assert a == b and len(a) == 5
    kinds = {("watermark" if it.opacity < 1 else "outlined" if it.stroke_px else "rotated" if it.angle_deg else "plain")
             for it in a}
    assert {"watermark", "outlined", "rotated"} <= kinds
    _, alpha = draw_text(astronaut, a)
    assert alpha[0].max() == 0 and alpha[-1].max() == 0  # nothing drawn off the image
    assert all(it.text.replace(" ", "").isalpha() for it in a)


def test_text_photo_cases():
    cases = text_photo_cases(3, seed=1)
    again = text_photo_cases(3, seed=1)
    assert [c["name"] for c in cases] == ["astronaut", "coffee", "chelsea"]
    for c, d in zip(cases, again):
        assert set(c) == {"name", "clean", "with_text", "text_alpha", "items"}
        assert c["clean"].dtype == np.float32 and c["with_text"].shape == c["clean"].shape
        assert np.array_equal(c["with_text"], d["with_text"]) and c["items"] == d["items"]
        assert (c["text_alpha"] > 0.5).sum() > 500
    assert text_photo_cases(3, seed=2)[0]["items"] != cases[0]["items"]


def test_bad_input():
    with pytest.raises(InputError, match="HxWx3"):
        draw_text(np.zeros((10, 10), np.float32), [])
    with pytest.raises(InputError, match="float32"):
        draw_text(np.zeros((10, 10, 3), np.uint8), [])
    with pytest.raises(InputError, match="size_px"):
        draw_text(np.zeros((10, 10, 3), np.float32), [TextItem("a", (0, 0), 0)])
    with pytest.raises(InputError, match="kinds"):
        random_text_items((100, 100), np.random.default_rng(0), kinds=("poster",))
