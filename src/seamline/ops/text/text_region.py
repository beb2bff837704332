"""A detected text line (:class:`TextRegion`), the point order its polygon keeps
(:func:`order_clockwise`) and the image check the detector's entry points share
(:func:`check_image`).

The data the text ops pass around, apart from the detector's passes and engine that make it
(:mod:`seamline.ops.text.detect`, which re-exports these names).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seamline.errors import InputError

__all__ = ["TextRegion", "check_image", "order_clockwise"]


def check_image(image) -> np.ndarray:
    """``image`` if it is an HxWx3 float32 array of at least 2x2 pixels, else InputError."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        got = getattr(image, "shape", type(image).__name__)
        raise InputError(f"image must be an HxWx3 float32 array in [0, 1], got shape {got}")
    if image.dtype != np.float32:
        raise InputError(f"image must be float32 in [0, 1], got dtype {image.dtype}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        # "image: ...": the runner names the user's file (a 1x1 PNG read "image is too small")
        raise InputError(f"image: {image.shape[1]}x{image.shape[0]} pixels is too small for "
                         "text detection (at least 2x2)")
    return image


@dataclass(frozen=True, eq=False)
class TextRegion:
    """One detected text line.

    Attributes
    ----------
    polygon : ndarray, shape (N, 2), float32
        Pixel coordinates ``(x, y)``, clockwise (in image coordinates, y down) starting at
        the top-left corner. rapidocr gives quadrilaterals (N = 4), rotated with the text.
    text : str
        Recognised text; ``''`` when recognition was off.
    score : float
        Confidence in [0, 1]: the recogniser's score, or the detector's box score when
        recognition was off.
    """

    polygon: np.ndarray
    text: str = ""
    score: float = 1.0

    def __eq__(self, other) -> bool:
        if not isinstance(other, TextRegion):
            return NotImplemented
        return (self.text == other.text and self.score == other.score
                and np.array_equal(np.asarray(self.polygon), np.asarray(other.polygon)))

    __hash__ = None  # mutable array inside

    def to_dict(self) -> dict:
        """JSON-serialisable form: ``{"polygon": [[x, y], ...], "text": str, "score": float}``."""
        return {
            "polygon": [[float(x), float(y)] for x, y in np.asarray(self.polygon, np.float32)],
            "text": self.text,
            "score": float(self.score),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "TextRegion":
        """Inverse of :meth:`to_dict`; raises :class:`InputError` on a malformed dict."""
        try:
            poly = np.asarray(d["polygon"], dtype=np.float32)
            text, score = str(d.get("text", "")), float(d.get("score", 1.0))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"text region must be a dict with 'polygon' [[x, y], ...], 'text', 'score': {e}") from None
        if poly.ndim != 2 or poly.shape[1] != 2 or poly.shape[0] < 3 or not np.isfinite(poly).all():
            raise InputError(f"text region polygon must be finite (N>=3, 2) coordinates, got shape {poly.shape}")
        return cls(poly, text, score)


def order_clockwise(poly) -> np.ndarray:
    """Points sorted clockwise (image coordinates) starting from the top-left one."""
    p = np.asarray(poly, np.float32).reshape(-1, 2)
    c = p.mean(0)
    p = p[np.argsort(np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0]))]  # y down: angle up = clockwise
    return np.roll(p, -int(np.argmin(p[:, 0] + p[:, 1])), axis=0)
