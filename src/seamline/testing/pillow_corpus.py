"""Pillow's own test images as a reading corpus: every file through ``read_image``, classified.

The corpus is ``Tests/images`` of the Pillow 12.0.0 source distribution (``make pillow-corpus``
fetches it once into ``.cache/pillow-corpus``; nothing here downloads). Each file gets one
outcome class:

``ok``
    read; an ``(H, W, 3)`` float32 image in [0, 1], the size Pillow gives after orientation,
    pixels within :data:`WRONG_MEAN` of Pillow's own RGB conversion where Pillow's conversion is
    a fair reference, and alpha kept where Pillow has transparency.
``reject``
    a one-line :class:`~seamline.errors.InputError` (with its reason).
``wrong``
    read, but the size, pixels or alpha disagree with Pillow: the class that must stay empty.
``crash``
    any other exception: must stay empty too.

The reference is Pillow's first frame, ``ImageOps.exif_transpose``-ed, converted to RGB (ICC
profiles applied with ImageCms where Pillow can). Pillow reduces 16-bit colour to 8 bits, so
comparisons are at 8 bits.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CORPUS_ENV", "Outcome", "corpus_dir", "corpus_files", "classify", "table"]

CORPUS_ENV = "SEAMLINE_PILLOW_CORPUS"
DEFAULT_DIR = Path(__file__).resolve().parents[3] / ".cache" / "pillow-corpus" / "Tests" / "images"
WRONG_MEAN = 4 / 255  # mean |ours - Pillow| above this (8-bit RGB) is a wrong output
# Pillow converts these modes to RGB faithfully; I/F (unscaled integers/floats) and LAB
# (no RGB conversion without a profile) have no fair 8-bit reference.
_REFERENCE_MODES = {"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK",
                    "YCbCr", "HSV", "I;16", "I;16B", "I;16L", "I;16N"}


@dataclass
class Outcome:
    """How one corpus file fared."""

    name: str  # path relative to the corpus folder
    klass: str  # "ok", "reject", "wrong" or "crash"
    detail: str  # the rejection message, what was wrong, or the exception
    pillow_opens: bool  # Pillow itself opens and decodes the file


def corpus_dir() -> Path | None:
    """The corpus folder (``$SEAMLINE_PILLOW_CORPUS`` or ``.cache/pillow-corpus``), or None."""
    d = Path(os.environ.get(CORPUS_ENV) or DEFAULT_DIR)
    return d if d.is_dir() and any(d.iterdir()) else None


def corpus_files(folder: Path) -> list[Path]:
    """Every regular file under ``folder``, sorted (links and directories skipped)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _pillow_reference(path: Path):
    """(size, RGB uint8 array or None, has_alpha) from Pillow, or None if Pillow cannot."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's advice about palettes etc. is not ours
        return _pillow_reference_quiet(path)


def _pillow_reference_quiet(path: Path):
    from PIL import Image, ImageCms, ImageOps

    try:
        im = Image.open(path)
        im.load()
        im = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - any failure means "Pillow does not read it"
        return None
    has_alpha = im.mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in im.info
    rgb = None
    if im.mode in _REFERENCE_MODES:
        try:
            src = im
            if src.mode.startswith("I;16"):
                a = np.asarray(src).astype(np.float32) / 257
                src = Image.fromarray(np.rint(a).astype(np.uint8), "L")
            icc = im.info.get("icc_profile")
            if icc:
                base = src.convert("CMYK" if src.mode == "CMYK" else
                                   "L" if src.mode in ("1", "L", "LA", "La") else "RGB")
                rgb = ImageCms.profileToProfile(
                    base, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                    ImageCms.createProfile("sRGB"), outputMode="RGB")
            else:
                rgb = src.convert("RGB")
            rgb = np.asarray(rgb)
        except Exception:  # noqa: BLE001 - no fair reference: compare the size only
            rgb = None
    return im.size, rgb, has_alpha


def classify(path: Path, root: Path | None = None) -> Outcome:
    """Read ``path`` with :func:`seamline.io.read_image` and compare with Pillow."""
    from seamline.errors import InputError
    from seamline.io import read_image, to_uint8

    name = str(path.relative_to(root)) if root else path.name
    ref = _pillow_reference(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning reaching the caller is a defect too
            f = read_image(path)
    except InputError as e:
        return Outcome(name, "reject", str(e).replace(str(path), "<file>"), ref is not None)
    except Exception as e:  # noqa: BLE001 - classifying
        return Outcome(name, "crash", f"{type(e).__name__}: {e}", ref is not None)
    img = f.image
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.float32 \
            or not np.isfinite(img).all() or img.min() < 0 or img.max() > 1:
        return Outcome(name, "wrong", f"not an HxWx3 float32 image in [0, 1]: {img.shape} "
                                      f"{img.dtype}", ref is not None)
    if ref is None:
        return Outcome(name, "ok", "Pillow cannot decode it; no reference", False)
    size, rgb, has_alpha = ref
    h, w = img.shape[:2]
    if (w, h) != size:
        return Outcome(name, "wrong", f"size {w}x{h}, Pillow {size[0]}x{size[1]}", True)
    if has_alpha and f.alpha is None:
        return Outcome(name, "wrong", "transparency dropped", True)
    if rgb is not None:
        diff = np.abs(to_uint8(img).astype(np.float32) - rgb.astype(np.float32)).mean() / 255
        if diff > WRONG_MEAN:
            return Outcome(name, "wrong", f"pixels differ from Pillow by {diff * 255:.1f}/255 "
                                          f"on average", True)
    return Outcome(name, "ok", "; ".join(f.info.get("conversions", [])), True)


def table(outcomes: list[Outcome]) -> dict[str, int]:
    """Counts per class, plus how many files Pillow opens that were refused."""
    counts = {k: sum(o.klass == k for o in outcomes) for k in ("ok", "reject", "wrong", "crash")}
    counts["files"] = len(outcomes)
    counts["pillow_opens"] = sum(o.pillow_opens for o in outcomes)
    counts["pillow_opens_refused"] = sum(o.pillow_opens and o.klass == "reject"
                                         for o in outcomes)
    return counts
