"""Helpers the benchmark scripts share (run as scripts, so imported from this folder)."""

from __future__ import annotations

import os
from pathlib import Path


def offline() -> None:
    """Hugging Face offline before transformers is imported: benchmarks never download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename: no half-written tables."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def case_selection(args) -> tuple[set | None, Path | None]:
    """A checking script's ``--only`` (comma-separated case ids; None: every case) and its
    ``--save`` folder, made (None: no pictures), from its parsed ``args``."""
    only = set(args.only.split(",")) if args.only else None
    save = Path(args.save) if args.save else None
    if save:
        save.mkdir(parents=True, exist_ok=True)
    return only, save


def crop_resize_4x3(photo, size):
    """The centre 4:3 crop of ``photo`` resized to ``size`` = (W, H): the train-split cases of
    the profiling and checking scripts.

    Parameters
    ----------
    photo : ndarray, (h, w, 3) float32 in [0, 1]
    size : (int, int)
        Output width and height (4:3).

    Returns
    -------
    ndarray, (H, W, 3) float32 in [0, 1]
        Area-averaged when shrinking, bicubic when enlarging.
    """
    import cv2
    import numpy as np

    h, w = photo.shape[:2]
    ch, cw = (h, int(h * 4 / 3)) if w * 3 >= h * 4 else (int(w * 3 / 4), w)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = photo[y0:y0 + ch, x0:x0 + cw]
    interp = cv2.INTER_AREA if cw >= size[0] else cv2.INTER_CUBIC
    return np.clip(cv2.resize(crop, tuple(size), interpolation=interp), 0, 1).astype(np.float32)


def train_style_cases(per_style: int, sizes, seed: int):
    """``per_style`` train-split cases for every overlay style, as the checking scripts draw
    them: scikit-image/matplotlib photos and every fourth procedural one, cycled; sizes cycled.

    Yields
    ------
    style : str
    name : str
        The background's name.
    photo : ndarray, (H, W, 3) float32 in [0, 1]
        The clean photo, 4:3, at the case's size (see :func:`crop_resize_4x3`).
    rng : numpy.random.Generator
        Seeded by ``(seed, style index, case index)``: draw the case's overlays with it.
    """
    import numpy as np

    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    train = backgrounds("train")
    photos = [(n, p) for n, p in train if not n.startswith("procedural")]
    photos += [(n, p) for n, p in train if n.startswith("procedural")][::4]
    k = 0
    for si, style in enumerate(overlays.STYLES):
        for j in range(per_style):
            name, photo = photos[(si * per_style + j) * 7 % len(photos)]
            size = sizes[k % len(sizes)]
            k += 1
            yield style, name, crop_resize_4x3(photo, size), np.random.default_rng([seed, si, j])


#: (seed, gamma, sky, grey, opacity, angle, size px) of :func:`dark_tiled_cases`' lattices.
DARK_TILED = ((5, 2.6, False, 165, 0.30, 30, 60), (21, 2.8, True, 175, 0.28, -30, 64),
              (13, 2.4, False, 155, 0.33, 30, 56))


def dark_tiled_cases(n: int):
    """The first ``n`` of :data:`DARK_TILED`: light-grey "PROOF" lattices (DejaVu Sans Bold,
    opacity ~0.3, +-30 deg: ``seamline.testing.overlays.proof_lattice``) over procedural grass
    in deep shade (``seamline.testing.backgrounds.dark_grass``) at 1280x960, the shape of the
    held-out tiled watermark whose copies are hard (light grey over the darkest foliage).
    Train only: nothing is read from disk but the font and scikit-image's grass.

    Yields
    ------
    name : str
        ``dark_grass:<seed>``.
    photo : ndarray, (960, 1280, 3) float32 in [0, 1]
        The clean photo.
    ovs : list of seamline.testing.overlays overlays
        The lattice's copies: draw them with ``overlays.render``.
    """
    from seamline.testing.backgrounds import dark_grass
    from seamline.testing.overlays import proof_lattice

    for seed, gamma, sky, grey, op, ang, size in DARK_TILED[:n]:
        photo = dark_grass((960, 1280), seed, gamma=gamma, sky=sky, discs=25)
        yield f"dark_grass:{seed}", photo, proof_lattice(photo.shape[:2], grey, op, ang, size)[0]


def text_region(drawn, ovs):
    """The text region the checking scripts measure PSNR in: the drawn pixels and the lines'
    polygons, grown 3 px (as the remove-text benchmark's).

    Parameters
    ----------
    drawn : ndarray, (H, W) bool
        Pixels the overlays changed.
    ovs : list of seamline.testing.overlays overlays
        The overlays drawn.

    Returns
    -------
    ndarray, (H, W) bool
    """
    import cv2
    import numpy as np

    from seamline.testing import overlays

    region = drawn.astype(np.uint8)
    for ov in ovs:
        for poly in overlays.line_polygons(ov):
            cv2.fillPoly(region, [np.round(poly).astype(np.int32)], 1)
    return cv2.dilate(region, np.ones((7, 7), np.uint8)) > 0


#: The checking scripts' cleaned-image conditions (see :func:`remnant_images`).
REMNANT_CONDITIONS = ("text", "ghost30", "ghost15", "clean")


def remnant_images(photo, text):
    """What a judge or a re-read is checked on, per :data:`REMNANT_CONDITIONS`: the image with
    its text (nothing removed), the clean photo plus 30 % / 15 % of what the text drew (a
    faint remnant of a poor removal) and the clean photo (a perfect removal).

    Parameters
    ----------
    photo, text : ndarray, (H, W, 3) float32 in [0, 1]
        The clean photo and the same photo with the text drawn.

    Returns
    -------
    dict of str -> ndarray, (H, W, 3) float32
    """
    import numpy as np

    return {"text": text, "ghost30": (photo + 0.3 * (text - photo)).astype(np.float32),
            "ghost15": (photo + 0.15 * (text - photo)).astype(np.float32), "clean": photo}
