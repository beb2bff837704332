"""Synthetic text on real photos, with the exact ground-truth coverage of what was drawn.

Used by the tests, the demo and the benchmark of text removal: every case knows which pixels
are text (glyph body, outline, shadow, semi-transparent body) because we drew them.

Text is rendered with Pillow's bundled scalable FreeType font (``ImageFont.load_default(size)``,
offline), each item on its own transparent layer (fill, outline, shadow as separate coverage
maps), rotated about the text centre and alpha-composited onto the photo in float.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from seamline.errors import InputError
from seamline.io import as_image

__all__ = ["TextItem", "bristles", "draw_text", "random_text_items", "text_photo_cases",
           "WORDS"]


# Common, OCR-friendly English words (no ambiguous I/l/1 only words).
WORDS: tuple[str, ...] = tuple(
    """
    summer river garden market coffee morning travel mountain ocean city light night
    festival music street window forest golden silver harbor island winter spring autumn
    sunset bridge castle village museum gallery station desert valley planet rocket
    galaxy orbit space camera studio design modern vintage classic fresh organic natural
    happy weekend holiday special limited edition premium quality sample preview draft
    copyright private public north south east west central grand royal little big open
    closed welcome hello world photo picture image story news daily weekly journal
    report science nature animal kitten tiger eagle flower green purple orange yellow
    bright shadow simple future people family friends dinner lunch breakfast kitchen
    bakery pizza burger salad market sale discount free offer today tomorrow yesterday
    adventure explore discover journey voyage road trail park beach lake snow rain storm
    thunder cloud wind fire stone paper glass metal wood cotton velvet marble crystal
    """.split()
)


@dataclass(frozen=True)
class TextItem:
    """One string drawn onto a photo.

    Attributes
    ----------
    text : str
        The string (one line).
    xy : tuple of float
        ``(x, y)`` pixel position of the top-left corner of the unrotated text's ink box
        (outline included).
    size_px : int
        Font size in pixels (> 0).
    color : tuple of int
        Fill colour, RGB 0-255.
    opacity : float
        Global opacity in (0, 1] applied to fill, outline and shadow (watermarks: 0.3-0.6).
    angle_deg : float
        Counter-clockwise rotation about the text centre, in degrees.
    stroke_px : int
        Outline width in pixels (0: no outline).
    stroke_color : tuple of int
        Outline colour, RGB 0-255.
    shadow_px : int
        Offset (down-right) of a soft dark drop shadow, in pixels (0: no shadow).
    """

    text: str
    xy: tuple[float, float]
    size_px: int
    color: tuple[int, int, int] = (255, 255, 255)
    opacity: float = 1.0
    angle_deg: float = 0.0
    stroke_px: int = 0
    stroke_color: tuple[int, int, int] = (0, 0, 0)
    shadow_px: int = 0

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return {
            "text": self.text,
            "xy": [float(self.xy[0]), float(self.xy[1])],
            "size_px": int(self.size_px),
            "color": [int(c) for c in self.color],
            "opacity": float(self.opacity),
            "angle_deg": float(self.angle_deg),
            "stroke_px": int(self.stroke_px),
            "stroke_color": [int(c) for c in self.stroke_color],
            "shadow_px": int(self.shadow_px),
        }


# ----------------------------------------------------------------------------- conversion
def _check_image(image: np.ndarray, name: str = "image") -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3:
        got = getattr(image, "shape", type(image).__name__)
        raise InputError(f"{name} must be an HxWx3 float32 array in [0, 1], got {got}")
    if image.dtype != np.float32:
        raise InputError(f"{name} must be float32 in [0, 1], got dtype {image.dtype}")
    return image


def _rgb01(color) -> np.ndarray:
    c = np.asarray(color, dtype=np.float32).reshape(-1)
    if c.size != 3:
        raise InputError(f"colour must be an RGB triple 0-255, got {color!r}")
    return as_image(np.rint(np.clip(c, 0, 255)).astype(np.uint8).reshape(1, 1, 3))[0, 0]


# ----------------------------------------------------------------------------- rendering
@lru_cache(maxsize=64)
def _font(size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=int(size_px))


def _render_item(item: TextItem) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """Coverage maps (fill, outline, shadow) of one item on a local canvas, rotated.

    Returns float32 maps in [0, 1] (already multiplied by opacity) and the integer image
    position of the canvas's top-left corner.
    """
    font = _font(item.size_px)
    s = max(0, int(item.stroke_px))
    x0, y0, x1, y1 = font.getbbox(item.text, stroke_width=s)
    tw, th = x1 - x0, y1 - y0
    sh = max(0, int(item.shadow_px))
    blur = max(1.0, 0.6 * sh) if sh else 0.0
    # Room for the shadow and its blur, then for any rotation (canvas = the diagonal).
    extra = sh + int(np.ceil(3 * blur)) + 2
    diag = int(np.ceil(np.hypot(tw + 2 * extra, th + 2 * extra))) + 2
    cw = ch = diag
    cx, cy = cw / 2.0, ch / 2.0
    # Text ink box is centred on the canvas; pen origin offsets by the bbox origin.
    ox = int(round(cx - tw / 2.0)) - x0
    oy = int(round(cy - th / 2.0)) - y0

    def render(stroke: int) -> np.ndarray:
        layer = Image.new("L", (cw, ch), 0)
        ImageDraw.Draw(layer).text(
            (ox, oy), item.text, font=font, fill=255, stroke_width=stroke, stroke_fill=255
        )
        return as_image(np.asarray(layer))[..., 0]  # coverage 0-255 -> [0, 1]

    fill = render(0)
    union = render(s) if s > 0 else fill
    outline = union if s > 0 else np.zeros_like(fill)
    if sh:
        m = np.float32([[1, 0, sh], [0, 1, sh]])
        shadow = cv2.warpAffine(union, m, (cw, ch), flags=cv2.INTER_LINEAR)
        shadow = cv2.GaussianBlur(shadow, (0, 0), blur) * np.float32(0.8)
    else:
        shadow = np.zeros_like(fill)

    if item.angle_deg:
        rot = cv2.getRotationMatrix2D((cx - 0.5, cy - 0.5), float(item.angle_deg), 1.0)
        fill, outline, shadow = (
            cv2.warpAffine(a, rot, (cw, ch), flags=cv2.INTER_LINEAR) for a in (fill, outline, shadow)
        )
    op = np.float32(np.clip(item.opacity, 0.0, 1.0))
    # Resampling leaves ~1e-7 crumbs far from the ink: below 8-bit resolution, make them 0 so
    # the photo is bit-exact wherever the coverage says nothing was drawn.
    fill, outline, shadow = (np.where(a < 1e-3, np.float32(0), a) for a in (fill, outline, shadow))
    # The text centre in image coordinates sits at xy + (tw, th) / 2.
    px = int(round(item.xy[0] + tw / 2.0 - cx))
    py = int(round(item.xy[1] + th / 2.0 - cy))
    return (
        np.clip(fill, 0, 1) * op,
        np.clip(outline, 0, 1) * op,
        np.clip(shadow, 0, 1) * op,
        (px, py),
    )


def draw_text(image: np.ndarray, items, *, shadow_color=(0, 0, 0)) -> tuple[np.ndarray, np.ndarray]:
    """Draw text items onto a photo and return the exact coverage of what was drawn.

    Parameters
    ----------
    image : ndarray, shape (H, W, 3), float32 in [0, 1]
        sRGB photo. Not modified.
    items : sequence of TextItem
        Drawn in order (later items over earlier ones).
    shadow_color : tuple of int, keyword-only
        RGB 0-255 colour of drop shadows.

    Returns
    -------
    with_text : ndarray, shape (H, W, 3), float32 in [0, 1]
        The photo with the text composited over it.
    text_alpha : ndarray, shape (H, W), float32 in [0, 1]
        Coverage of everything drawn (glyph, outline, shadow, times opacity), combined as
        ``1 - prod(1 - a_i)``; exactly 0 where nothing was drawn.
    """
    _check_image(image)
    out = image.copy()
    keep = np.ones(image.shape[:2], np.float32)  # running prod(1 - a_i)
    H, W = image.shape[:2]
    sc = _rgb01(shadow_color)
    for item in items:
        if not isinstance(item, TextItem):
            raise InputError(f"items must be TextItem, got {type(item).__name__}")
        if item.size_px <= 0:
            raise InputError(f"TextItem.size_px must be > 0, got {item.size_px}")
        if not item.text.strip():
            continue
        fill, outline, shadow, (px, py) = _render_item(item)
        ch, cw = fill.shape
        # Intersection of the canvas with the image.
        ix0, iy0, ix1, iy1 = max(px, 0), max(py, 0), min(px + cw, W), min(py + ch, H)
        if ix0 >= ix1 or iy0 >= iy1:
            continue
        cs = (slice(iy0 - py, iy1 - py), slice(ix0 - px, ix1 - px))
        isl = (slice(iy0, iy1), slice(ix0, ix1))
        region = out[isl]
        k = keep[isl]
        for a, color in ((shadow, sc), (outline, _rgb01(item.stroke_color)), (fill, _rgb01(item.color))):
            a = a[cs]
            if not a.any():
                continue
            region = region * (1.0 - a[..., None]) + color * a[..., None]
            k = k * (1.0 - a)
        out[isl] = region
        keep[isl] = k
    alpha = 1.0 - keep
    return np.clip(out, 0, 1).astype(np.float32), np.clip(alpha, 0, 1).astype(np.float32)


# ----------------------------------------------------------------------------- random text
_KINDS = ("caption", "title", "watermark", "outlined", "rotated")
_VIVID = [
    (255, 255, 255), (20, 20, 20), (255, 221, 0), (230, 30, 40), (0, 200, 255),
    (255, 140, 0), (40, 220, 80), (250, 90, 200), (30, 40, 160),
]


def bristles(seed: int, n: int, colours, shape=(160, 420)) -> np.ndarray:
    """Saturated paint-brush bristles (a stand-in for a busy, colourful photo under a meme).

    Parameters
    ----------
    seed : int
        Seed of the strokes' colours and places.
    n : int
        Number of 3 px strokes (each 12 px across, 40 px down).
    colours : sequence of (float, float, float)
        RGB in [0, 1] the strokes are drawn in.
    shape : (int, int)
        ``(H, W)`` of the picture.

    Returns
    -------
    ndarray, shape (H, W, 3), float32 in [0, 1]
        Black where no stroke lies.
    """
    rng = np.random.default_rng(seed)
    photo = np.zeros((*shape, 3), np.float32)
    for _ in range(n):
        c = tuple(float(v) for v in rng.choice(colours))
        x, y = int(rng.integers(0, shape[1])), int(rng.integers(0, shape[0]))
        cv2.line(photo, (x, y), (x + 12, y + 40), c, 3)
    return photo


def _luma(rgb01) -> float:
    r, g, b = np.asarray(rgb01, np.float32)[..., :3].reshape(-1, 3).mean(0)
    return float(0.299 * r + 0.587 * g + 0.114 * b)


def _pick_color(rng, bg_luma: float | None, palette) -> tuple[int, int, int]:
    """A palette colour that contrasts with the background luminance (readable, OCR-able)."""
    if bg_luma is None:
        return tuple(int(c) for c in palette[rng.integers(len(palette))])
    ok = [c for c in palette if abs(_luma(_rgb01(c)) - bg_luma) >= 0.4]
    if not ok:
        ok = [(255, 255, 255)] if bg_luma < 0.5 else [(15, 15, 15)]
    return tuple(int(c) for c in ok[rng.integers(len(ok))])


def _phrase(rng, n_words: int) -> str:
    words = [WORDS[i] for i in rng.integers(0, len(WORDS), size=n_words)]
    style = rng.integers(3)
    if style == 0:
        return " ".join(w.upper() for w in words)
    if style == 1:
        return " ".join(w.capitalize() for w in words)
    return " ".join(words)


def _rotated_box(item: TextItem) -> tuple[float, float, float, float]:
    """Axis-aligned bounds (x0, y0, x1, y1) of the rotated, shadowed item."""
    x0, y0, x1, y1 = _font(item.size_px).getbbox(item.text, stroke_width=item.stroke_px)
    tw, th = x1 - x0, y1 - y0
    cx, cy = item.xy[0] + tw / 2, item.xy[1] + th / 2
    t = np.deg2rad(item.angle_deg)
    hw = 0.5 * (abs(tw * np.cos(t)) + abs(th * np.sin(t))) + item.shadow_px
    hh = 0.5 * (abs(tw * np.sin(t)) + abs(th * np.cos(t))) + item.shadow_px
    return cx - hw, cy - hh, cx + hw, cy + hh


def random_text_items(
    shape,
    rng: np.random.Generator,
    *,
    n: int = 4,
    kinds=_KINDS,
    image: np.ndarray | None = None,
    max_tries: int = 60,
) -> list[TextItem]:
    """Random, non-overlapping, readable text items for an image of a given shape.

    Parameters
    ----------
    shape : tuple
        ``(H, W)`` or ``(H, W, 3)`` of the target image.
    rng : numpy.random.Generator
        Source of randomness; the result is a pure function of its state.
    n : int, keyword-only
        Number of items wanted (fewer when the image is too small to place them apart).
    kinds : sequence of str, keyword-only
        Drawn from ``"caption"`` (small, near top/bottom, maybe shadowed), ``"title"``
        (large), ``"watermark"`` (opacity 0.3-0.6, maybe tilted), ``"outlined"`` (light fill,
        dark outline) and ``"rotated"`` (10-35 degrees).
    image : ndarray, shape (H, W, 3), float32 in [0, 1], optional
        When given, colours are picked to contrast with the photo under each item.
    max_tries : int, keyword-only
        Placement attempts per item.

    Returns
    -------
    list of TextItem
    """
    H, W = int(shape[0]), int(shape[1])
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in _KINDS]
    if not kinds or bad:
        raise InputError(f"kinds must be drawn from {_KINDS}, got {kinds!r}")
    if image is not None:
        _check_image(image)
    S = min(H, W)
    boxes: list[tuple[float, float, float, float]] = []
    items: list[TextItem] = []
    for i in range(int(n)):
        kind = kinds[i % len(kinds)]  # cycle: every kind appears once n >= len(kinds)
        for _ in range(max_tries):
            angle, stroke, shadow, opacity = 0.0, 0, 0, 1.0
            if kind == "caption":
                size = rng.uniform(0.045, 0.07) * S
                words = int(rng.integers(2, 4))
                shadow = int(rng.integers(0, 2)) * max(1, round(size * 0.08))
            elif kind == "title":
                size = rng.uniform(0.09, 0.15) * S
                words = int(rng.integers(1, 3))
            elif kind == "watermark":
                size = rng.uniform(0.07, 0.12) * S
                words = int(rng.integers(1, 3))
                opacity = float(rng.uniform(0.3, 0.6))
                angle = float(rng.choice([0.0, rng.uniform(15, 30) * rng.choice([-1, 1])]))
            elif kind == "outlined":
                size = rng.uniform(0.07, 0.12) * S
                words = int(rng.integers(1, 3))
                stroke = max(1, int(round(size * rng.uniform(0.04, 0.08))))
                shadow = int(rng.integers(0, 2)) * max(1, round(size * 0.06))
            else:  # rotated
                size = rng.uniform(0.06, 0.1) * S
                words = int(rng.integers(1, 3))
                angle = float(rng.uniform(10, 35) * rng.choice([-1, 1]))
            size = int(max(14, round(size)))
            text = _phrase(rng, words)
            x0, y0, x1, y1 = _font(size).getbbox(text, stroke_width=stroke)
            tw, th = x1 - x0, y1 - y0
            if tw > 0.92 * W:
                continue
            x = rng.uniform(0.03 * W, max(0.03 * W + 1, 0.97 * W - tw))
            if kind == "caption":
                y = rng.choice([rng.uniform(0.03, 0.15), rng.uniform(0.78, 0.92)]) * H
                y = min(y, 0.97 * H - th)
            else:
                y = rng.uniform(0.03 * H, max(0.03 * H + 1, 0.97 * H - th))
            cand = TextItem(text, (float(x), float(y)), size, (255, 255, 255), opacity, angle, stroke, (0, 0, 0), shadow)
            bx = _rotated_box(cand)
            if bx[0] < 0 or bx[1] < 0 or bx[2] > W or bx[3] > H:
                continue
            pad = 0.25 * size
            if any(
                bx[0] - pad < b[2] and b[0] < bx[2] + pad and bx[1] - pad < b[3] and b[1] < bx[3] + pad
                for b in boxes
            ):
                continue
            bg = None
            if image is not None:
                ys = slice(int(bx[1]), int(np.ceil(bx[3])))
                xs = slice(int(bx[0]), int(np.ceil(bx[2])))
                bg = _luma(image[ys, xs])
            if kind == "outlined":
                color = (255, 255, 255) if rng.random() < 0.6 else (255, 221, 0)
                cand = TextItem(text, cand.xy, size, color, 1.0, angle, stroke, (0, 0, 0), shadow)
            elif kind == "watermark":
                color = (255, 255, 255) if (bg is None or bg < 0.55) else (0, 0, 0)
                cand = TextItem(text, cand.xy, size, color, opacity, angle, 0, (0, 0, 0), 0)
            else:
                if shadow and bg is not None:
                    palette = [c for c in _VIVID if _luma(_rgb01(c)) > 0.55]
                else:
                    palette = _VIVID
                cand = TextItem(text, cand.xy, size, _pick_color(rng, bg, palette), 1.0, angle, 0, (0, 0, 0), shadow)
            boxes.append(bx)
            items.append(cand)
            break
    return items


# ----------------------------------------------------------------------------- photo cases
def _base_photos() -> list[tuple[str, np.ndarray]]:
    """scikit-image's bundled colour photos (no download), some cropped to a useful size."""
    from skimage import data

    photos = [
        ("astronaut", data.astronaut()),
        ("coffee", data.coffee()),
        ("chelsea", data.chelsea()),
        ("rocket", data.rocket()),
        ("immunohistochemistry", data.immunohistochemistry()),
        ("hubble", data.hubble_deep_field()[:600, 100:900]),
        ("retina", data.retina()[330:1098, 200:1224]),  # 768x1024: the speed-target size
        ("motorcycle", data.stereo_motorcycle()[0]),
    ]
    return [(name, as_image(np.ascontiguousarray(a))) for name, a in photos]


def text_photo_cases(n: int = 20, *, seed: int = 0, n_items: int = 4, kinds=_KINDS) -> list[dict]:
    """Benchmark/test cases: real photos with random text drawn on them.

    The first cases are the bundled photos themselves; further cases are flips and random
    crops (60-90 % of each side) of them, cycling through the photos.

    Parameters
    ----------
    n : int
        Number of cases.
    seed : int, keyword-only
        Everything (variants, words, placement, colours) is a function of ``seed``.
    n_items : int, keyword-only
        Text items per case.
    kinds : sequence of str, keyword-only
        Item kinds, see :func:`random_text_items`.

    Returns
    -------
    list of dict
        Each with ``name`` (str), ``clean`` (HxWx3 float32 in [0, 1]), ``with_text``
        (HxWx3 float32), ``text_alpha`` (HxW float32 in [0, 1], the exact coverage) and
        ``items`` (list of TextItem).
    """
    if n < 0:
        raise InputError(f"n must be >= 0, got {n}")
    bases = _base_photos()
    cases = []
    for i in range(int(n)):
        rng = np.random.default_rng([int(seed), i])
        name, img = bases[i % len(bases)]
        if i >= len(bases):
            if rng.random() < 0.5:
                img = img[:, ::-1]
                name += "-flip"
            H, W = img.shape[:2]
            fh, fw = rng.uniform(0.6, 0.9, size=2)
            h, w = int(H * fh), int(W * fw)
            y0, x0 = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
            img = img[y0 : y0 + h, x0 : x0 + w]
            name += f"-crop{i}"
        img = np.ascontiguousarray(img, dtype=np.float32)
        # Each kind at least once across consecutive cases: rotate the kind order per case.
        k = tuple(kinds)
        k = k[i % len(k):] + k[: i % len(k)]
        items = random_text_items(img.shape, rng, n=n_items, kinds=k, image=img)
        with_text, alpha = draw_text(img, items)
        cases.append({"name": name, "clean": img, "with_text": with_text, "text_alpha": alpha, "items": items})
    return cases
