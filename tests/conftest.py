"""Shared fixtures: real photos from scikit-image with text drawn by the tests."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from seamline.imageio import as_image


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return as_image(data.astronaut())


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    return as_image(data.coffee())


@pytest.fixture(scope="session")
def captioned(coffee):
    """coffee() with a caption, an outlined title and a watermark; returns (image, alpha, words)."""
    from seamline.synth import TextItem, draw_text

    items = [
        TextItem("MORNING COFFEE", (150, 22), 46, color=(255, 255, 255), stroke_px=2,
                 stroke_color=(30, 20, 10)),
        TextItem("fresh roast every day", (170, 340), 28, color=(255, 221, 0), shadow_px=2),
        TextItem("SAMPLE", (330, 200), 56, color=(255, 255, 255), opacity=0.45, angle_deg=18),
    ]
    image, alpha = draw_text(coffee, items)
    words = [w for it in items for w in it.text.split()]
    return image, alpha, words


def blob_mask(shape, centers, radius) -> np.ndarray:
    """A float32 mask with filled discs."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    m = np.zeros(shape, np.float32)
    for cy, cx in centers:
        m[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = 1.0
    return m
