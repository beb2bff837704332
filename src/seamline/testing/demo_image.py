"""The demo input: scikit-image's ``coffee`` photo with a caption, an outlined title and a
semi-transparent rotated watermark drawn on it (``make demo``, the tests' ``captioned``
fixture, benchmarks). One definition, so the demo and the tests exercise the same case.
"""

from __future__ import annotations

import numpy as np

from seamline.testing.synth import TextItem, draw_text

__all__ = ["DEMO_TEXT", "demo_image"]

#: What the demo draws: an outlined white title, a yellow caption with a drop shadow, and a
#: 45%-opaque watermark rotated 18 degrees.
DEMO_TEXT = (
    TextItem("MORNING COFFEE", (150, 22), 46, color=(255, 255, 255), stroke_px=2,
             stroke_color=(30, 20, 10)),
    TextItem("fresh roast every day", (170, 340), 28, color=(255, 221, 0), shadow_px=2),
    TextItem("SAMPLE", (330, 200), 56, color=(255, 255, 255), opacity=0.45, angle_deg=18),
)


def demo_image(photo: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The demo input.

    Parameters
    ----------
    photo : (H, W, 3) float32 ndarray in [0, 1], optional
        The photo to draw on; default scikit-image's ``coffee`` (400 x 600).

    Returns
    -------
    image : (H, W, 3) float32 ndarray in [0, 1]
    text_alpha : (H, W) float32 ndarray in [0, 1]
        Coverage of the drawn text (ground truth, for checking the result).
    """
    if photo is None:
        from skimage import data

        from seamline.io import as_image

        photo = as_image(data.coffee())
    return draw_text(photo, list(DEMO_TEXT))


def text_region(text_alpha: np.ndarray, grow_px: int = 3) -> np.ndarray:
    """The pixels the demo's text changed, grown by ``grow_px``: where the result is scored.

    Parameters
    ----------
    text_alpha : (H, W) float32 ndarray in [0, 1]
        Coverage of the drawn text (from :func:`demo_image`).
    grow_px : int
        Growth in pixels (a square structuring element).

    Returns
    -------
    (H, W) bool ndarray
    """
    import cv2

    drawn = (text_alpha > 0.02).astype(np.uint8)
    k = np.ones((2 * grow_px + 1, 2 * grow_px + 1), np.uint8)
    return cv2.dilate(drawn, k) > 0


def psnr_in_text_region(result: np.ndarray, clean: np.ndarray, text_alpha: np.ndarray) -> float:
    """PSNR (dB, peak 1.0) of ``result`` against the clean photo inside :func:`text_region`."""
    where = text_region(text_alpha)
    mse = float(np.mean((result[where].astype(np.float64) - clean[where]) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(1.0 / mse))
