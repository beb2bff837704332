"""Text overlays with exact per-pixel ground truth, for training and benchmarking text removal.

Every overlay style that ``remove-text`` must catch (issue 10) is drawn here in float, with
exact alpha compositing, so the pixels each overlay changed are known exactly:

* fill, outline (1-4 px, any colour), hard and blurred drop shadows (offset up to 8 px, blur up
  to 4 px), outer glow, opacity 0.3-1, rotation up to +-30 deg, multi-line blocks;
* presets (:data:`STYLES`) drawn by :func:`sample_overlays`: meme captions, camera date stamps,
  subtitles, a stock-photo watermark tiled diagonally over the whole photo, tiny (10-14 px)
  and huge (100-160 px) text.

Fonts come from Debian's font packages under ``/usr/share/fonts``; :func:`font_paths` gives
two disjoint sets of *families* ("train" and "heldout"), so a model trained on one can be
scored on type designs it has never seen. The train set is a pinned list of files
(:data:`TRAIN_FONTS`), so train cases do not depend on what else a machine has installed.

Imports only numpy, scipy, cv2 and PIL (no seamline module), so it can be used by the
training scripts, the benchmark and the tests alike.

Conventions: images are HxWx3 float32 sRGB in [0, 1]; colours are RGB tuples in 0-255;
``angle_deg`` is counter-clockwise as seen on screen (OpenCV's convention), about the centre
of the unrotated ink box.

This module is over 600 lines because every style's drawing and its sampling ranges are read
in one place: the ground truth a benchmark scores against and the ranges a sweep covers
(:func:`tile_overlay`) must not drift apart; the font files the presets pick from are listed
beside them.
"""

from __future__ import annotations

import functools
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

STYLES = ("plain", "outline", "shadow_hard", "shadow_blur", "glow", "watermark", "rotated",
          "multiline", "meme", "datestamp", "subtitle", "tiled_watermark", "tiny", "huge")

FONT_ROOT = Path("/usr/share/fonts")
#: DejaVu Sans Bold (Debian's fonts-dejavu-core, the one font package CI installs).
DEJAVU_SANS_BOLD = str(FONT_ROOT / "truetype" / "dejavu" / "DejaVuSans-Bold.ttf")

# Families (file-name prefixes) kept out of training. Look-alikes sit on the same side:
# Liberation 2 *is* Arimo/Tinos/Cousine (croscore), and Carlito is derived from Lato.
HELDOUT_FAMILIES = ("Liberation", "Arimo", "Tinos", "Cousine", "Lato", "Carlito", "Caladea",
                    "BebasNeue", "ComicNeue", "FiraCode", "DSEG14")
# Symbol / math / pictogram fonts: no Latin text to draw.
EXCLUDED_FAMILIES = ("DejaVuMathTeXGyre", "D050000L", "StandardSymbolsPS", "DSEGWeather")
# The Debian packages the two splits are drawn from: what to install (training/README.md).
FONT_PACKAGES = ("fonts-dejavu-core", "fonts-dejavu-extra", "fonts-liberation2",
                 "fonts-freefont-ttf", "fonts-roboto", "fonts-open-sans", "fonts-lato",
                 "fonts-crosextra-carlito", "fonts-crosextra-caladea", "fonts-cantarell",
                 "fonts-firacode", "fonts-league-spartan", "fonts-bebas-neue", "fonts-urw-base35",
                 "fonts-ebgaramond", "fonts-linuxlibertine", "fonts-inconsolata", "fonts-dseg",
                 "fonts-croscore", "fonts-comic-neue", "fonts-lobstertwo")

#: The train split, pinned: (Debian package, folder under :data:`FONT_ROOT`, file names).
#: These are the 162 files (44 families) the shipped text segmenter was trained on
#: (``training/train_textseg.log.json``): every Latin text font of :data:`FONT_PACKAGES` outside
#: :data:`HELDOUT_FAMILIES`, with fonts-lobster and fonts-roboto-unhinted, which
#: fonts-lobstertwo and fonts-roboto pull in. A glob would also take whatever else is
#: installed (desktop-base brings fonts-quicksand) and so draw other train cases.
TRAIN_FONTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("fonts-cantarell", "opentype/cantarell", (
        "Cantarell-Bold.otf", "Cantarell-ExtraBold.otf", "Cantarell-Light.otf",
        "Cantarell-Regular.otf", "Cantarell-Thin.otf")),
    ("fonts-ebgaramond", "opentype/ebgaramond", (
        "EBGaramond08-Italic.otf", "EBGaramond08-Regular.otf", "EBGaramond12-Bold.otf",
        "EBGaramond12-Italic.otf", "EBGaramond12-Regular.otf")),
    ("fonts-league-spartan", "opentype/league-spartan", (
        "LeagueSpartan-Black.otf", "LeagueSpartan-Bold.otf", "LeagueSpartan-ExtraBold.otf",
        "LeagueSpartan-ExtraLight.otf", "LeagueSpartan-Light.otf", "LeagueSpartan-Medium.otf",
        "LeagueSpartan-Regular.otf", "LeagueSpartan-SemiBold.otf")),
    ("fonts-linuxlibertine", "opentype/linux-libertine", (
        "LinBiolinum_K.otf", "LinBiolinum_R.otf", "LinBiolinum_RB.otf", "LinBiolinum_RI.otf",
        "LinLibertine_DR.otf", "LinLibertine_I.otf", "LinLibertine_M.otf", "LinLibertine_R.otf",
        "LinLibertine_RB.otf", "LinLibertine_RBI.otf", "LinLibertine_RI.otf",
        "LinLibertine_RZ.otf", "LinLibertine_RZI.otf")),
    ("fonts-lobster", "opentype/lobster", (
        "lobster.otf",)),
    ("fonts-lobstertwo", "opentype/lobstertwo", (
        "LobsterTwo-Bold.otf", "LobsterTwo-BoldItalic.otf", "LobsterTwo-Italic.otf",
        "LobsterTwo-Regular.otf")),
    ("fonts-urw-base35", "opentype/urw-base35", (
        "C059-BdIta.otf", "C059-Bold.otf", "C059-Italic.otf", "C059-Roman.otf",
        "NimbusMonoPS-Bold.otf", "NimbusMonoPS-BoldItalic.otf", "NimbusMonoPS-Italic.otf",
        "NimbusMonoPS-Regular.otf", "NimbusRoman-Bold.otf", "NimbusRoman-BoldItalic.otf",
        "NimbusRoman-Italic.otf", "NimbusRoman-Regular.otf", "NimbusSans-Bold.otf",
        "NimbusSans-BoldItalic.otf", "NimbusSans-Italic.otf", "NimbusSans-Regular.otf",
        "NimbusSansNarrow-Bold.otf", "NimbusSansNarrow-BoldOblique.otf",
        "NimbusSansNarrow-Oblique.otf", "NimbusSansNarrow-Regular.otf", "P052-Bold.otf",
        "P052-BoldItalic.otf", "P052-Italic.otf", "P052-Roman.otf", "URWBookman-Demi.otf",
        "URWBookman-DemiItalic.otf", "URWBookman-Light.otf", "URWBookman-LightItalic.otf",
        "URWGothic-Book.otf", "URWGothic-BookOblique.otf", "URWGothic-Demi.otf",
        "URWGothic-DemiOblique.otf", "Z003-MediumItalic.otf")),
    ("fonts-dejavu-core", "truetype/dejavu", (
        "DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSansMono-Bold.ttf",
        "DejaVuSansMono.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif.ttf")),
    ("fonts-dejavu-extra", "truetype/dejavu", (
        "DejaVuSans-BoldOblique.ttf", "DejaVuSans-ExtraLight.ttf", "DejaVuSans-Oblique.ttf",
        "DejaVuSansCondensed-Bold.ttf", "DejaVuSansCondensed-BoldOblique.ttf",
        "DejaVuSansCondensed-Oblique.ttf", "DejaVuSansCondensed.ttf",
        "DejaVuSansMono-BoldOblique.ttf", "DejaVuSansMono-Oblique.ttf",
        "DejaVuSerif-BoldItalic.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSerifCondensed-Bold.ttf",
        "DejaVuSerifCondensed-BoldItalic.ttf", "DejaVuSerifCondensed-Italic.ttf",
        "DejaVuSerifCondensed.ttf")),
    ("fonts-dseg", "truetype/dseg", (
        "DSEG7Classic-Bold.ttf", "DSEG7Classic-BoldItalic.ttf", "DSEG7Classic-Italic.ttf",
        "DSEG7Classic-Light.ttf", "DSEG7Classic-LightItalic.ttf", "DSEG7Classic-Regular.ttf",
        "DSEG7ClassicMini-Bold.ttf", "DSEG7ClassicMini-BoldItalic.ttf",
        "DSEG7ClassicMini-Italic.ttf", "DSEG7ClassicMini-Light.ttf",
        "DSEG7ClassicMini-LightItalic.ttf", "DSEG7ClassicMini-Regular.ttf",
        "DSEG7Modern-Bold.ttf", "DSEG7Modern-BoldItalic.ttf", "DSEG7Modern-Italic.ttf",
        "DSEG7Modern-Light.ttf", "DSEG7Modern-LightItalic.ttf", "DSEG7Modern-Regular.ttf",
        "DSEG7ModernMini-Bold.ttf", "DSEG7ModernMini-BoldItalic.ttf",
        "DSEG7ModernMini-Italic.ttf", "DSEG7ModernMini-Light.ttf",
        "DSEG7ModernMini-LightItalic.ttf", "DSEG7ModernMini-Regular.ttf",
        "DSEG7SEGGCHAN-Regular.ttf", "DSEG7SEGGCHANMINI-Regular.ttf")),
    ("fonts-freefont-ttf", "truetype/freefont", (
        "FreeMono.ttf", "FreeMonoBold.ttf", "FreeMonoBoldOblique.ttf", "FreeMonoOblique.ttf",
        "FreeSans.ttf", "FreeSansBold.ttf", "FreeSansBoldOblique.ttf", "FreeSansOblique.ttf",
        "FreeSerif.ttf", "FreeSerifBold.ttf", "FreeSerifBoldItalic.ttf",
        "FreeSerifItalic.ttf")),
    ("fonts-inconsolata", "truetype/inconsolata", (
        "Inconsolata.otf",)),
    ("fonts-open-sans", "truetype/open-sans", (
        "OpenSans-Bold.ttf", "OpenSans-BoldItalic.ttf", "OpenSans-CondBold.ttf",
        "OpenSans-CondLight.ttf", "OpenSans-CondLightItalic.ttf", "OpenSans-ExtraBold.ttf",
        "OpenSans-ExtraBoldItalic.ttf", "OpenSans-Italic.ttf", "OpenSans-Light.ttf",
        "OpenSans-LightItalic.ttf", "OpenSans-Regular.ttf", "OpenSans-Semibold.ttf",
        "OpenSans-SemiboldItalic.ttf")),
    ("fonts-roboto-unhinted", "truetype/roboto/unhinted", (
        "RobotoCondensed-Bold.ttf", "RobotoCondensed-BoldItalic.ttf",
        "RobotoCondensed-Italic.ttf", "RobotoCondensed-Light.ttf",
        "RobotoCondensed-LightItalic.ttf", "RobotoCondensed-Medium.ttf",
        "RobotoCondensed-MediumItalic.ttf", "RobotoCondensed-Regular.ttf")),
    ("fonts-roboto-unhinted", "truetype/roboto/unhinted/RobotoTTF", (
        "Roboto-Black.ttf", "Roboto-BlackItalic.ttf", "Roboto-Bold.ttf",
        "Roboto-BoldItalic.ttf", "Roboto-Italic.ttf", "Roboto-Light.ttf",
        "Roboto-LightItalic.ttf", "Roboto-Medium.ttf", "Roboto-MediumItalic.ttf",
        "Roboto-Regular.ttf", "Roboto-Thin.ttf", "Roboto-ThinItalic.ttf")),
)

_HEAVY = re.compile(r"(Bold|Black|Heavy|ExtraBold|Narrow|Cond|BebasNeue|Spartan|Demi|_RB)", re.I)
_SEGMENT = re.compile(r"^DSEG(7|14)", re.I)
_MONO = re.compile(r"(Mono|Cousine|Inconsolata|FiraCode|Courier)", re.I)

WORDS = ("the sale new summer coffee fresh roast every day open sunday photo morning light "
         "love happy birthday best friends forever holiday beach city night market street "
         "food music live festival welcome home family garden travel adventure mountain lake "
         "sample preview copyright stock image studio design limited offer free shipping "
         "only today when you realize monday again nobody cares this is fine why not both "
         "breaking news weather report chapter one the end subscribe follow like share "
         "grand opening special edition vintage classic original premium quality since 1987 "
         "hello world good vibes stay wild dream big keep calm carry on").split()
WATERMARK_WORDS = ("SAMPLE", "PREVIEW", "© stockphoto", "PROOF", "shutterpix", "© PhotoCo",
                   "DRAFT", "imagebank", "COPYRIGHT", "© 2024 Studio")


@dataclass(frozen=True)
class Overlay:
    """One block of text drawn over a photo.

    ``xy`` is the top-left corner of the unrotated ink box of the whole block, in pixels;
    ``angle_deg`` rotates the block counter-clockwise about that box's centre. Effects are
    stacked bottom to top as glow, shadow, outline, fill; ``opacity`` scales all of them
    (a semi-transparent watermark). A shadow is cast by the outlined shape when there is an
    outline, by the fill otherwise; a glow surrounds the same shape.

    Effects are off by default: a shadow is drawn when ``shadow_offset != (0, 0)`` or
    ``shadow_blur > 0``, a glow when ``glow_px > 0``; ``shadow_opacity`` / ``glow_opacity``
    (default 1) scale them. ``glow_px`` is the dilation radius before a Gaussian blur of
    ``glow_px / 2``.
    """

    text: str
    xy: tuple[float, float]
    size_px: int
    font: str
    color: tuple[int, int, int] = (255, 255, 255)
    opacity: float = 1.0
    angle_deg: float = 0.0
    outline_px: int = 0
    outline_color: tuple[int, int, int] = (0, 0, 0)
    shadow_offset: tuple[int, int] = (0, 0)
    shadow_blur: float = 0.0
    shadow_color: tuple[int, int, int] = (0, 0, 0)
    shadow_opacity: float = 1.0
    glow_px: float = 0.0
    glow_color: tuple[int, int, int] = (0, 0, 0)
    glow_opacity: float = 1.0
    line_spacing: float = 1.2
    align: str = "left"  # "left" | "center" | "right", for multi-line text


# --------------------------------------------------------------------------------------------
# Fonts
# --------------------------------------------------------------------------------------------

def _family(path: Path) -> str:
    return re.split(r"[-_]", path.stem)[0]


@functools.lru_cache(maxsize=4)
def _all_fonts(root: str) -> tuple[str, ...]:
    files = sorted(p for p in Path(root).rglob("*") if p.suffix.lower() in (".ttf", ".otf"))
    return tuple(str(p) for p in files if not _family(p).startswith(EXCLUDED_FAMILIES))


def font_paths(split: str, *, root: str | Path = FONT_ROOT) -> list[str]:
    """Font files of one split: ``"train"`` or ``"heldout"`` (disjoint families).

    Parameters
    ----------
    split : {"train", "heldout"}
        ``"train"`` is the pinned list :data:`TRAIN_FONTS`: files of it that are not
        installed are skipped with one warning naming them, and other installed fonts are
        ignored. ``"heldout"`` is every installed font of the families in
        :data:`HELDOUT_FAMILIES`.
    root : path, optional
        Where to look (default ``/usr/share/fonts``).

    Returns
    -------
    list of str
        Paths of .ttf/.otf files, sorted by path (so cases drawn with a seed index the same
        files on every machine that has them).

    Raises
    ------
    ValueError
        Unknown split, or no font of that split is installed (the message names the Debian
        packages to install).

    Warns
    -----
    UserWarning
        ``"train"`` with some pinned files missing (their packages and names).
    """
    if split not in ("train", "heldout"):
        raise ValueError(f"font split must be 'train' or 'heldout', got {split!r}")
    if split == "train":
        out, missing = _pinned_train_fonts(str(root))
        if missing and out:
            warnings.warn(f"pinned train fonts not installed under {root}, skipped (the train "
                          f"cases differ from a full install's): {'; '.join(missing)}",
                          stacklevel=2)
    else:
        out = [f for f in _all_fonts(str(root)) if _family(Path(f)).startswith(HELDOUT_FAMILIES)]
    if not out:
        raise ValueError(f"no {split} fonts under {root}: install the Debian font packages "
                         f"({' '.join(FONT_PACKAGES)})")
    return list(out)


@functools.lru_cache(maxsize=4)
def _pinned_train_fonts(root: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(installed files of :data:`TRAIN_FONTS` sorted by path, what is missing per package).

    A package missing whole is named as ``"<package> (all N files)"``, one missing in part
    as ``"<package>: <file>, <file>"``.
    """
    found, missing, listed = [], {}, {}
    for package, folder, names in TRAIN_FONTS:
        for name in names:
            listed[package] = listed.get(package, 0) + 1
            path = Path(root) / folder / name
            if path.is_file():
                found.append(path)
            else:
                missing.setdefault(package, []).append(name)
    named = tuple(f"{pkg} (all {len(names)} files)" if len(names) == listed[pkg]
                  else f"{pkg}: {', '.join(names)}" for pkg, names in missing.items())
    return tuple(str(p) for p in sorted(found)), named


@functools.lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, int(size))


# --------------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------------

def _layout(ov: Overlay):
    """Per-line draw origins and ink boxes in block coordinates (block ink box at 0, 0)."""
    font = _font(ov.font, ov.size_px)
    lines = ov.text.split("\n")
    step = ov.size_px * ov.line_spacing
    boxes = []
    for i, line in enumerate(lines):
        l, t, r, b = font.getbbox(line or " ")
        boxes.append((l, t + i * step, r, b + i * step))
    widths = [b[2] - b[0] for b in boxes]
    wmax = max(widths)
    shifts = [{"left": 0.0, "center": (wmax - w) / 2, "right": wmax - w}.get(ov.align, 0.0)
              - b[0] for b, w in zip(boxes, widths)]
    top = min(b[1] for b in boxes)
    bottom = max(b[3] for b in boxes)
    origins = [(s, i * step - top) for i, s in enumerate(shifts)]
    ink = [(b[0] + s, b[1] - top, b[2] + s, b[3] - top) for b, s in zip(boxes, shifts)]
    return lines, origins, ink, (float(wmax), float(bottom - top))


def measure(ov: Overlay) -> tuple[float, float]:
    """(width, height) in px of the unrotated ink box of ``ov``'s whole block."""
    return _layout(ov)[3]


def _rotate_pts(pts: np.ndarray, ov: Overlay) -> np.ndarray:
    w, h = measure(ov)
    c = np.array([ov.xy[0] + w / 2, ov.xy[1] + h / 2])
    a = math.radians(ov.angle_deg)
    # Counter-clockwise on screen (y down): x' = c + R(-a) applied in image coordinates.
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    return (pts + np.asarray(ov.xy) - c) @ rot.T + c


def line_polygons(ov: Overlay) -> list[np.ndarray]:
    """One quadrilateral per text line: (4, 2) float32 (x, y), clockwise from top-left.

    The ink box of each line (font metrics), rotated with the block: what a perfect line
    detector would return, without the margin a real one adds.
    """
    out = []
    for (l, t, r, b), line in zip(_layout(ov)[2], ov.text.split("\n")):
        if not line.strip():
            continue
        q = np.array([[l, t], [r, t], [r, b], [l, b]], np.float64)
        out.append(_rotate_pts(q, ov).astype(np.float32))
    return out


def _margin(ov: Overlay) -> int:
    return int(math.ceil(ov.outline_px + max(map(abs, ov.shadow_offset), default=0)
                         + 3 * ov.shadow_blur + 3 * ov.glow_px + 4))


def _coverages(ov: Overlay):
    """Fill and outlined-shape coverage on a local canvas, rotated; plus its image offset."""
    lines, origins, _, (w, h) = _layout(ov)
    font = _font(ov.font, ov.size_px)
    m = _margin(ov)
    cw, ch = int(math.ceil(w)) + 2 * m, int(math.ceil(h)) + 2 * m

    def draw(stroke: int) -> np.ndarray:
        im = Image.new("L", (cw, ch), 0)
        d = ImageDraw.Draw(im)
        for line, (ox, oy) in zip(lines, origins):
            d.text((m + ox, m + oy), line, font=font, fill=255, stroke_width=stroke,
                   stroke_fill=255)
        return np.asarray(im, np.float32) / 255

    fill = draw(0)
    shape = draw(int(ov.outline_px)) if ov.outline_px > 0 else fill
    # Local canvas -> image: rotate about the ink-box centre, then translate (sub-pixel part
    # of xy included, so positions are exact).
    cx, cy = m + w / 2, m + h / 2
    a = ov.angle_deg
    if a:
        rad = math.radians(a)
        cs, sn = abs(math.cos(rad)), abs(math.sin(rad))
        ow, oh = int(math.ceil(cw * cs + ch * sn)) + 2, int(math.ceil(cw * sn + ch * cs)) + 2
    else:
        ow, oh = cw + 1, ch + 1
    # The ink centre must land at P = xy + (w/2, h/2) in the image (sub-pixel exact): paste
    # the warped canvas at an integer offset and put the fractional rest into the warp.
    px, py = ov.xy[0] + w / 2, ov.xy[1] + h / 2
    ox, oy = int(math.floor(px - ow / 2)), int(math.floor(py - oh / 2))
    M = cv2.getRotationMatrix2D((cx, cy), a, 1.0)
    M[0, 2] += (px - ox) - cx
    M[1, 2] += (py - oy) - cy

    def warp(c):
        return cv2.warpAffine(c, M, (ow, oh), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    fill_r = warp(fill)
    shape_r = fill_r if shape is fill else warp(shape)
    return fill_r, shape_r, (ox, oy)


def _layers(ov: Overlay):
    """[(name, alpha HxW local, colour RGB float)] bottom to top, and the paste offset."""
    fill, shape, off = _coverages(ov)
    op = float(ov.opacity)
    layers = []
    if ov.glow_px > 0 and ov.glow_opacity > 0:
        r = max(1, int(round(ov.glow_px)))
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        g = cv2.GaussianBlur(cv2.dilate(shape, k), (0, 0), max(0.5, ov.glow_px / 2))
        layers.append(("glow", np.clip(g * ov.glow_opacity * op, 0, 1), ov.glow_color))
    if ov.shadow_opacity > 0 and (ov.shadow_offset != (0, 0) or ov.shadow_blur > 0):
        dx, dy = ov.shadow_offset
        s = cv2.warpAffine(shape, np.float32([[1, 0, dx], [0, 1, dy]]), shape.shape[::-1],
                           flags=cv2.INTER_NEAREST, borderValue=0)
        if ov.shadow_blur > 0:
            s = cv2.GaussianBlur(s, (0, 0), float(ov.shadow_blur))
        layers.append(("shadow", np.clip(s * ov.shadow_opacity * op, 0, 1), ov.shadow_color))
    if ov.outline_px > 0:
        layers.append(("outline", np.clip(shape * op, 0, 1), ov.outline_color))
    layers.append(("fill", np.clip(fill * op, 0, 1), ov.color))
    return layers, off


LAYER_NAMES = ("fill", "outline", "shadow", "glow")


def render(image: np.ndarray, overlays) -> tuple[np.ndarray, np.ndarray, dict]:
    """Draw ``overlays`` over ``image`` with exact alpha compositing.

    Parameters
    ----------
    image : ndarray, HxWx3 float32 in [0, 1]
    overlays : iterable of Overlay
        Drawn in order (later ones on top).

    Returns
    -------
    out : ndarray, HxWx3 float32 in [0, 1]
        The composited image.
    alpha : ndarray, HxW float32 in [0, 1]
        Total coverage of everything drawn (fill, outline, shadow, glow of every overlay):
        ``out = image * (1 - alpha) + (paint) * alpha`` per pixel.
    layers : dict of str -> ndarray HxW float32
        The visible contribution of each layer kind (``"fill"``, ``"outline"``, ``"shadow"``,
        ``"glow"``): its alpha times the transparency of everything above it. They sum to
        ``alpha``. A ground-truth "drawn" mask is ``drawn_mask(image, out)``.
    """
    img = np.asarray(image, np.float32)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be HxWx3, got shape {img.shape}")
    H, W = img.shape[:2]
    out = img.copy()
    total = np.zeros((H, W), np.float32)
    per = {k: np.zeros((H, W), np.float32) for k in LAYER_NAMES}
    for ov in overlays:
        layers, (ox, oy) = _layers(ov)
        h, w = layers[0][1].shape
        x0, y0, x1, y1 = max(ox, 0), max(oy, 0), min(ox + w, W), min(oy + h, H)
        if x0 >= x1 or y0 >= y1:
            continue
        sl = (slice(y0, y1), slice(x0, x1))
        ls = (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
        o, t = out[sl], total[sl]
        vis = {}
        # Composite bottom to top; track the visible share of each layer: when a layer with
        # alpha a is drawn, every share already there is scaled by (1 - a).
        for name, a, col in layers:
            a = a[ls]
            c = np.asarray(col, np.float32) / 255
            o[:] = o * (1 - a[..., None]) + c * a[..., None]
            for k in vis:
                vis[k] *= 1 - a
            vis[name] = vis.get(name, 0) + a
            t[:] = t + a * (1 - t)
        for k in per:
            p = per[k][sl]
            scale = np.ones_like(t)
            # everything below this overlay is scaled by its transparency
            for _, a, _ in layers:
                scale *= 1 - a[ls]
            per[k][sl] = p * scale + (vis[k] if k in vis else 0)
    return np.clip(out, 0, 1), total, per


def drawn_mask(image: np.ndarray, composited: np.ndarray, tol: float = 2 / 255) -> np.ndarray:
    """Ground truth: HxW bool, the pixels an overlay changed by more than ``tol`` (any channel)."""
    return np.abs(np.asarray(composited, np.float32) - image).max(-1) > tol


# --------------------------------------------------------------------------------------------
# Sampling realistic overlays
# --------------------------------------------------------------------------------------------

_PALETTE = ((255, 255, 255), (0, 0, 0), (255, 230, 0), (230, 30, 30), (20, 20, 20),
            (250, 250, 240), (30, 120, 255), (255, 140, 0), (40, 200, 80), (200, 0, 200))


def _colour(rng) -> tuple[int, int, int]:
    if rng.random() < 0.6:
        return _PALETTE[int(rng.integers(len(_PALETTE)))]
    return tuple(int(v) for v in rng.integers(0, 256, 3))


def _contrast(rng, c) -> tuple[int, int, int]:
    """A colour that stands out against ``c`` (mostly its black/white opposite)."""
    lum = 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]
    if rng.random() < 0.75:
        v = int(rng.integers(0, 40)) if lum > 110 else int(rng.integers(215, 256))
        return (v, v, v)
    return _colour(rng)


def _phrase(rng, words, n_lo=1, n_hi=4) -> str:
    n = int(rng.integers(n_lo, n_hi + 1))
    s = " ".join(words[int(i)] for i in rng.integers(0, len(words), n))
    r = rng.random()
    return s.upper() if r < 0.3 else (s.title() if r < 0.6 else s)


def _pick(rng, fonts, pattern=None, *, avoid_segment=True):
    cand = [f for f in fonts if not (avoid_segment and _SEGMENT.match(Path(f).name))]
    if pattern is not None:
        sel = [f for f in cand if pattern.search(Path(f).name)]
        cand = sel or cand
    return cand[int(rng.integers(len(cand)))]


def _place(rng, ov: Overlay, shape_hw, *, where="any") -> Overlay:
    H, W = shape_hw
    w, h = measure(ov)
    m = _margin(ov)
    if where == "any":
        x = rng.uniform(m, max(m + 1, W - w - m))
        y = rng.uniform(m, max(m + 1, H - h - m))
    else:
        raise ValueError(where)
    return _replace(ov, xy=(float(x), float(y)))


def _replace(ov, **kw):
    from dataclasses import replace

    return replace(ov, **kw)


def _fit_size(ov: Overlay, max_w: float, lo: int, hi: int) -> Overlay:
    """Largest size in [lo, hi] at most ``hi`` whose block fits ``max_w`` wide."""
    w, _ = measure(ov)
    s = int(np.clip(ov.size_px * max_w / max(w, 1), lo, hi))
    return _replace(ov, size_px=min(s, ov.size_px))


def sample_overlays(rng: np.random.Generator, style: str, shape_hw: tuple[int, int], fonts,
                    words=None) -> list[Overlay]:
    """Random, realistic overlays of one style for an image of ``shape_hw`` = (H, W).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness (deterministic for a seed).
    style : str
        One of :data:`STYLES`.
    shape_hw : (int, int)
        Height and width of the target image.
    fonts : sequence of str
        Font files to draw from (e.g. ``font_paths("heldout")``); style presets prefer the
        matching kind among them (heavy sans for memes, 7-segment or mono for date stamps).
    words : sequence of str, optional
        Vocabulary for the text (default: a built-in list of caption words).

    Returns
    -------
    list of Overlay
        Positioned so that their ink lies inside the image (except the tiled watermark, which
        runs off the edges like the real thing).
    """
    if style not in STYLES:
        raise ValueError(f"unknown overlay style {style!r}; expected one of {', '.join(STYLES)}")
    fonts = list(fonts)
    if not fonts:
        raise ValueError("no fonts given")
    words = list(words or WORDS)
    H, W = map(int, shape_hw)
    short = min(H, W)

    def base(size, n_lo=1, n_hi=4, **kw):
        font = kw.pop("font", None) or _pick(rng, fonts)
        ov = Overlay(text=kw.pop("text", None) or _phrase(rng, words, n_lo, n_hi), xy=(0, 0),
                     size_px=int(size), font=font, color=kw.pop("color", None) or _colour(rng),
                     **kw)
        return _fit_size(ov, 0.92 * W, 10, int(size))

    def size(lo, hi):
        hi = min(hi, max(lo, short // 4))
        return int(round(math.exp(rng.uniform(math.log(lo), math.log(hi)))))

    out: list[Overlay] = []
    if style == "plain":
        for _ in range(int(rng.integers(1, 4))):
            out.append(_place(rng, base(size(16, 96)), (H, W)))
    elif style == "outline":
        for _ in range(int(rng.integers(1, 3))):
            ov = base(size(18, 110))
            ov = _replace(ov, outline_px=int(rng.integers(1, 5)),
                          outline_color=_contrast(rng, ov.color))
            out.append(_place(rng, ov, (H, W)))
    elif style in ("shadow_hard", "shadow_blur"):
        for _ in range(int(rng.integers(1, 3))):
            ov = base(size(18, 110))
            d = int(rng.integers(1, 9))
            dx, dy = d * int(rng.choice([1, 1, 1, -1])), int(rng.integers(max(1, d // 2), d + 1))
            blur = 0.0 if style == "shadow_hard" else float(rng.uniform(1, 4))
            ov = _replace(ov, shadow_offset=(dx, dy), shadow_blur=blur,
                          shadow_color=_contrast(rng, ov.color) if rng.random() < 0.3 else (0, 0, 0),
                          shadow_opacity=float(rng.uniform(0.5, 1.0)))
            out.append(_place(rng, ov, (H, W)))
    elif style == "glow":
        for _ in range(int(rng.integers(1, 3))):
            ov = base(size(20, 110))
            g = float(np.clip(ov.size_px * rng.uniform(0.05, 0.15), 2, 8))
            ov = _replace(ov, glow_px=g, glow_color=_contrast(rng, ov.color) if rng.random() < 0.6
                          else _colour(rng), glow_opacity=float(rng.uniform(0.6, 1.0)))
            out.append(_place(rng, ov, (H, W)))
    elif style == "watermark":
        c = (255, 255, 255) if rng.random() < 0.6 else ((0, 0, 0) if rng.random() < 0.5
                                                          else (128, 128, 128))
        ov = base(size(30, 130), text=str(rng.choice(WATERMARK_WORDS)) if rng.random() < 0.6
                  else None, color=c, opacity=float(rng.uniform(0.3, 0.8)))
        if rng.random() < 0.3:
            ov = _replace(ov, outline_px=1, outline_color=_contrast(rng, c))
        out.append(_place(rng, ov, (H, W)))
    elif style == "rotated":
        for _ in range(int(rng.integers(1, 3))):
            ov = base(size(18, 100), angle_deg=float(rng.uniform(5, 30) * rng.choice([-1, 1])))
            if rng.random() < 0.5:
                ov = _replace(ov, outline_px=int(rng.integers(1, 5)),
                              outline_color=_contrast(rng, ov.color))
            out.append(_place(rng, ov, (H, W)))
    elif style == "multiline":
        n = int(rng.integers(2, 5))
        text = "\n".join(_phrase(rng, words, 1, 3) for _ in range(n))
        ov = base(size(16, 64), text=text, line_spacing=float(rng.uniform(1.0, 1.5)),
                  align=str(rng.choice(["left", "center", "right"])))
        r = rng.random()
        if r < 0.3:
            ov = _replace(ov, outline_px=int(rng.integers(1, 3)), outline_color=_contrast(rng, ov.color))
        elif r < 0.5:
            ov = _replace(ov, shadow_offset=(2, 2), shadow_blur=float(rng.uniform(0, 2)),
                          shadow_opacity=0.8)
        out.append(_place(rng, ov, (H, W)))
    elif style == "meme":
        font = _pick(rng, fonts, _HEAVY)
        spots = ["top", "bottom"] if rng.random() < 0.6 else [str(rng.choice(["top", "bottom"]))]
        for spot in spots:
            s = int(np.clip(H * rng.uniform(0.07, 0.13), 24, 160))
            ov = Overlay(text=_phrase(rng, words, 2, 6).upper(), xy=(0, 0), size_px=s, font=font,
                         color=(255, 255, 255), align="center")
            ov = _fit_size(ov, 0.94 * W, 14, s)
            ov = _replace(ov, outline_px=int(np.clip(round(ov.size_px / 14), 2, 4)),
                          outline_color=(0, 0, 0))
            w, h = measure(ov)
            y = 0.03 * H + ov.outline_px if spot == "top" else H - 0.03 * H - h - ov.outline_px
            out.append(_replace(ov, xy=(float((W - w) / 2), float(y))))
    elif style == "datestamp":
        seg = [f for f in fonts if re.match(r"^DSEG(7|14)(Classic|Modern)-(Regular|Bold)",
                                            Path(f).name)]
        font = seg[int(rng.integers(len(seg)))] if seg else _pick(rng, fonts, _MONO)
        y, mo, d = int(rng.integers(80, 125)) % 100, int(rng.integers(1, 13)), int(rng.integers(1, 29))
        fmt = int(rng.integers(3))
        text = (f"'{y:02d} {mo} {d}" if fmt == 0 else
                f"{mo:02d} {d:02d} '{y:02d}" if fmt == 1 else f"20{y % 25:02d} {mo:02d} {d:02d}")
        if _SEGMENT.match(Path(font).name):
            text = text.replace("'", "")  # 7-segment fonts have no apostrophe glyph
        c = (255, int(rng.integers(120, 200)), int(rng.integers(0, 60)))
        s = int(np.clip(short * rng.uniform(0.025, 0.045), 12, 40))
        ov = Overlay(text=text, xy=(0, 0), size_px=s, font=font, color=c,
                     opacity=float(rng.uniform(0.85, 1.0)),
                     glow_px=float(rng.uniform(1, 2.5)) if rng.random() < 0.7 else 0.0,
                     glow_color=c, glow_opacity=float(rng.uniform(0.3, 0.6)))
        w, h = measure(ov)
        mx, my = W * rng.uniform(0.03, 0.08), H * rng.uniform(0.03, 0.08)
        out.append(_replace(ov, xy=(float(W - mx - w), float(H - my - h))))
    elif style == "subtitle":
        n = int(rng.integers(1, 3))
        text = "\n".join(_phrase(rng, words, 3, 7).lower().capitalize() for _ in range(n))
        s = int(np.clip(H * rng.uniform(0.035, 0.055), 14, 64))
        c = (255, 255, 255) if rng.random() < 0.8 else (255, 235, 60)
        ov = Overlay(text=text, xy=(0, 0), size_px=s, font=_pick(rng, fonts), color=c,
                     align="center", line_spacing=1.25)
        ov = _fit_size(ov, 0.9 * W, 12, s)
        if rng.random() < 0.6:
            ov = _replace(ov, outline_px=int(rng.integers(1, 3)), outline_color=(0, 0, 0))
        else:
            k = int(rng.integers(1, 4))
            ov = _replace(ov, shadow_offset=(k, k), shadow_blur=float(rng.uniform(0, 2)),
                          shadow_opacity=float(rng.uniform(0.7, 1)))
        w, h = measure(ov)
        out.append(_replace(ov, xy=(float((W - w) / 2), float(H * rng.uniform(0.88, 0.94) - h))))
    elif style == "tiled_watermark":
        text = str(rng.choice(WATERMARK_WORDS))
        c = (255, 255, 255) if rng.random() < 0.7 else (160, 160, 160)
        ang = float(rng.uniform(20, 45) * rng.choice([-1, 1]))
        ov = Overlay(text=text, xy=(0, 0), size_px=int(np.clip(W * rng.uniform(0.04, 0.08), 16, 90)),
                     font=_pick(rng, fonts), color=c, opacity=float(rng.uniform(0.3, 0.6)),
                     angle_deg=ang)
        if rng.random() < 0.4:
            ov = _replace(ov, shadow_offset=(1, 1), shadow_opacity=0.5, shadow_blur=1.0)
        out.extend(tile_overlay(ov, (H, W), (float(rng.uniform(1.4, 2.0)),
                                             float(rng.uniform(3.0, 5.0)))))
    elif style == "tiny":
        for _ in range(int(rng.integers(1, 4))):
            ov = base(int(rng.integers(10, 15)), 1, 5)
            if rng.random() < 0.3:
                ov = _replace(ov, shadow_offset=(1, 1), shadow_opacity=0.8)
            out.append(_place(rng, ov, (H, W)))
    elif style == "huge":
        s = int(rng.integers(100, 161))
        ov = base(s, 1, 2)
        if ov.size_px < 60:  # too long a phrase for the width: one short word instead
            ov = base(s, 1, 1)
        r = rng.random()
        if r < 0.3:
            ov = _replace(ov, outline_px=int(rng.integers(1, 5)), outline_color=_contrast(rng, ov.color))
        elif r < 0.5:
            ov = _replace(ov, shadow_offset=(int(rng.integers(2, 9)),) * 2,
                          shadow_blur=float(rng.uniform(0, 4)), shadow_opacity=0.8)
        out.append(_place(rng, ov, (H, W)))
    return out


def tile_overlay(ov: Overlay, shape_hw: tuple[int, int],
                 spacing: tuple[float, float]) -> list[Overlay]:
    """Copies of ``ov`` tiled over a whole frame, as the "tiled_watermark" style lays them.

    Rows run along the text (``ov.angle_deg``); every other row is shifted by half a step.

    Parameters
    ----------
    ov : Overlay
        The watermark word (its ``xy`` is ignored).
    shape_hw : (int, int)
        Height and width of the frame.
    spacing : (float, float)
        Step along a row, x the word's ink width (the style draws 1.4-2.0), and between rows,
        x its ink height (3.0-5.0).

    Returns
    -------
    list of Overlay
        Every copy whose centre is within one word width of the frame (they run off the
        edges like the real thing).
    """
    H, W = map(int, shape_hw)
    w, h = measure(ov)
    sx, sy = w * spacing[0], h * spacing[1]
    a = math.radians(ov.angle_deg)
    ux, uy = np.array([math.cos(a), -math.sin(a)]), np.array([math.sin(a), math.cos(a)])
    cx, cy = W / 2, H / 2
    n = int(math.hypot(W, H) / min(sx, sy)) + 2
    out = []
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            p = np.array([cx, cy]) + ux * (j * sx + (i % 2) * sx / 2) + uy * i * sy
            if -w < p[0] < W + w and -w < p[1] < H + w:
                out.append(_replace(ov, xy=(float(p[0] - w / 2), float(p[1] - h / 2))))
    return out


def proof_lattice(shape_hw: tuple[int, int], grey: int, opacity: float, angle_deg: float,
                  size_px: int) -> tuple[list[Overlay], list[np.ndarray], tuple[float, float]]:
    """A grey DejaVu Sans Bold "PROOF" tiled over a whole frame (:func:`tile_overlay`, steps
    1.6 x its ink width along a row and 3.6 x its ink height between rows): the light-grey
    tiled watermark of the unblend tests and ``benchmarks/_common.dark_tiled_cases``.

    Parameters
    ----------
    shape_hw : (int, int)
        Height and width of the frame.
    grey : int
        The word's grey level, 0-255 (all three channels).
    opacity : float
        Its opacity, in (0, 1].
    angle_deg : float
        Its direction, degrees counter-clockwise from +x.
    size_px : int
        Font size in pixels.

    Returns
    -------
    overlays : list of Overlay
        One per lattice copy whose box reaches into the frame (draw them with :func:`render`).
    polygons : list of ndarray, each (4, 2) float32
        Each copy's line polygon (x, y image pixels), in the same order.
    size : (float, float)
        The word's unrotated ink (width, height) in pixels (:func:`measure`).
    """
    word = Overlay(text="PROOF", xy=(0, 0), size_px=size_px, font=DEJAVU_SANS_BOLD,
                   color=(grey,) * 3, opacity=opacity, angle_deg=angle_deg)
    ovs = tile_overlay(word, shape_hw, (1.6, 3.6))
    return ovs, [np.float32(line_polygons(o)[0]) for o in ovs], measure(word)
