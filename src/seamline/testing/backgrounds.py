"""Background photos for text-overlay training and benchmarking, in two sets kept apart.

``backgrounds("train")``
    What the project may train and tune on: scikit-image's bundled sample photos (colour ones
    as they are, gray ones copied to RGB), matplotlib's sample photo (Grace Hopper) and
    procedural images drawn here from fixed seeds (gradients, 1/f noise textures, stripes and
    checkers, bokeh). Photos that contain real text or numerals (``page``, ``text``, ``clock``)
    and tiny ones (``microaneurysms``) are left out: their
    letters would be unlabelled "not text" in training.

``backgrounds("heldout")``
    The benchmark's evaluation photos: raster photos (jpg/png/webp) from Debian's desktop
    wallpaper packages, found under ``/usr/share/backgrounds``, ``/usr/share/wallpapers``,
    ``/usr/share/desktop-base`` and ``/usr/share/images/desktop-base`` (packages such as
    ``gnome-backgrounds``, ``desktop-base``, ``plasma-workspace-wallpapers``). Nothing may be
    trained or tuned on them. If none is installed the list is empty (no error).

The two sets come from disjoint sources by construction: :func:`_train` never reads a file
system path, and :func:`_heldout` reads nothing else. Training scripts call
``backgrounds("train")`` only and assert it.

:func:`mirrored_grass` and :func:`dark_grass` draw train photos of their own from
scikit-image's grass (dark foliage: where a light tiled watermark is hardest to invert);
:func:`guardrail` draws a motion-blurred rail (structure that runs one way).

Imports only numpy, cv2 and PIL (scikit-image and matplotlib are imported when asked for the
train set or the grass), no seamline module.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

SPLITS = ("train", "heldout")
HELDOUT_DIRS = ("/usr/share/backgrounds", "/usr/share/wallpapers", "/usr/share/desktop-base",
                "/usr/share/images/desktop-base")
HELDOUT_PACKAGES = ("gnome-backgrounds", "desktop-base", "plasma-workspace-wallpapers")
_RASTER = (".jpg", ".jpeg", ".png", ".webp")
# scikit-image photos bundled with the package (no download): name -> loader name
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
                  "immunohistochemistry", "retina", "brick", "grass", "gravel", "camera",
                  "coins", "moon", "cell")


def _rgb(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    a = a.astype(np.float32) / (255.0 if a.dtype == np.uint8 else max(1.0, float(a.max())))
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, 2)
    return np.ascontiguousarray(a[..., :3], dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Procedural images (fixed seeds)
# --------------------------------------------------------------------------------------------

def _unit(a):
    lo, hi = np.percentile(a, 0.5), np.percentile(a, 99.5)
    return np.clip((a - lo) / max(hi - lo, 1e-9), 0, 1).astype(np.float32)


def _gradient(rng, h, w):
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    th = rng.uniform(0, 2 * np.pi)
    t = _unit(np.cos(th) * xx + np.sin(th) * yy)
    cols = rng.uniform(0, 1, (3, 3)).astype(np.float32)
    out = np.where(t[..., None] < 0.5, cols[0] + (cols[1] - cols[0]) * 2 * t[..., None],
                   cols[1] + (cols[2] - cols[1]) * (2 * t[..., None] - 1))
    return out + rng.normal(0, 0.01, out.shape).astype(np.float32)  # sensor noise, no banding


def _noise(rng, h, w):
    beta = rng.uniform(1.5, 3.0)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    amp = np.hypot(fy, fx)
    amp[0, 0] = 1
    amp = amp ** (-beta / 2)
    chans = []
    base = np.fft.irfft2((rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape))
                         * amp, s=(h, w))
    for _ in range(3):
        other = np.fft.irfft2((rng.standard_normal(amp.shape)
                               + 1j * rng.standard_normal(amp.shape)) * amp, s=(h, w))
        chans.append(_unit(base + rng.uniform(0.2, 0.8) * other))
    return np.stack(chans, -1) * rng.uniform(0.5, 1, 3).astype(np.float32)


def _stripes(rng, h, w):
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    th, p = rng.uniform(0, np.pi), rng.uniform(6, 60)
    u = np.cos(th) * xx + np.sin(th) * yy
    g = 0.5 + 0.5 * np.sin(2 * np.pi * u / p)
    if rng.random() < 0.5:  # checker
        v = -np.sin(th) * xx + np.cos(th) * yy
        g = ((np.floor(u / p) + np.floor(v / p)) % 2).astype(np.float32)
        g = cv2.GaussianBlur(g, (0, 0), 0.7)
    a, b = rng.uniform(0, 1, (2, 3)).astype(np.float32)
    return a * (1 - g[..., None]) + b * g[..., None]


def _bokeh(rng, h, w):
    out = _gradient(rng, h, w) * 0.5
    layer = np.zeros_like(out)
    for _ in range(int(rng.integers(30, 90))):
        c = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        r = int(rng.integers(8, 70))
        col = tuple(float(v) for v in rng.uniform(0.3, 1, 3))
        disc = np.zeros_like(out)
        cv2.circle(disc, c, r, col, -1, cv2.LINE_AA)
        layer = np.maximum(layer, disc * rng.uniform(0.3, 0.9))
    return out + cv2.GaussianBlur(layer, (0, 0), 2.0)


PROCEDURAL = (("gradient", _gradient, 4), ("noise", _noise, 4), ("stripes", _stripes, 3),
              ("bokeh", _bokeh, 3))


# --------------------------------------------------------------------------------------------

def _train() -> list[tuple[str, np.ndarray]]:
    from skimage import data

    out = []
    for name in SKIMAGE_PHOTOS:
        try:
            a = getattr(data, name)()
        except Exception:  # noqa: BLE001 - not bundled in this scikit-image version; never fetched
            continue
        out.append((f"skimage:{name}", _rgb(a)))
    try:
        out.append(("skimage:stereo_motorcycle", _rgb(data.stereo_motorcycle()[0])))
    except Exception:  # noqa: BLE001
        pass
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            out.append(("matplotlib:grace_hopper", _rgb(np.asarray(Image.open(fh).convert("RGB")))))
    except Exception:  # noqa: BLE001 - matplotlib is optional
        pass
    for name, fn, n in PROCEDURAL:
        for i in range(n):
            rng = np.random.default_rng([20261204, hash_name(name), i])
            h, w = (768, 1024) if i % 2 == 0 else (1024, 768)
            out.append((f"procedural:{name}{i}", np.clip(fn(rng, h, w), 0, 1).astype(np.float32)))
    return out


def hash_name(name: str) -> int:
    """A stable (not per-process salted) small integer for a name."""
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little") % (2 ** 31)


def heldout_files() -> list[Path]:
    """The held-out photo files found (sorted); one per wallpaper (largest variant)."""
    files = []
    for d in HELDOUT_DIRS:
        p = Path(d)
        if p.is_dir():
            files += [f for f in p.rglob("*") if f.suffix.lower() in _RASTER and f.is_file()]
    # KDE-style wallpapers ship one picture at many sizes (<name>/contents/images/WxH.png):
    # keep the largest file per wallpaper.
    best: dict[str, Path] = {}
    for f in sorted(set(f.resolve() for f in files)):
        key = str(f.parent.parent.parent) if f.parent.name == "images" and \
            f.parent.parent.name == "contents" else str(f)
        if key not in best or f.stat().st_size > best[key].stat().st_size:
            best[key] = f
    return sorted(best.values())


def _heldout() -> list[tuple[str, np.ndarray]]:
    out = []
    for f in heldout_files():
        try:
            with Image.open(f) as im:
                im = ImageOps.exif_transpose(im).convert("RGB")
                a = np.asarray(im)
        except Exception:  # noqa: BLE001 - unreadable file: not a photo we can use
            continue
        if min(a.shape[:2]) < 256 or a.std() < 8:  # icons, logos, flat fills
            continue
        out.append((f"heldout:{f}", _rgb(a)))
    return out


def backgrounds(split: str, *, min_side: int | None = None,
                max_side: int | None = None) -> list[tuple[str, np.ndarray]]:
    """Background photos of one split.

    Parameters
    ----------
    split : {"train", "heldout"}
        See the module docstring. The sets never overlap.
    min_side : int, optional
        Upscale (Lanczos) any image whose shorter side is smaller, to exactly this.
    max_side : int, optional
        Downscale (area) any image whose longer side is larger, to exactly this.

    Returns
    -------
    list of (name, ndarray)
        ``name`` says where the image comes from (``skimage:``, ``matplotlib:``,
        ``procedural:`` or ``heldout:<path>``); images are HxWx3 float32 in [0, 1].
    """
    if split not in SPLITS:
        raise ValueError(f"background split must be 'train' or 'heldout', got {split!r}")
    items = _train() if split == "train" else _heldout()
    out = []
    for name, a in items:
        h, w = a.shape[:2]
        if min_side and min(h, w) < min_side:
            f = min_side / min(h, w)
            a = cv2.resize(a, (max(min_side, round(w * f)), max(min_side, round(h * f))),
                           interpolation=cv2.INTER_LANCZOS4)
        h, w = a.shape[:2]
        if max_side and max(h, w) > max_side:
            f = max_side / max(h, w)
            a = cv2.resize(a, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        out.append((name, np.clip(a, 0, 1).astype(np.float32)))
    return out


def mirrored_grass(shape_hw: tuple[int, int], scale: float) -> np.ndarray:
    """scikit-image's grass photo scaled by ``scale`` (bicubic) and mirror-tiled to fill a
    frame (train split).

    Parameters
    ----------
    shape_hw : (int, int)
        Height and width of the frame.
    scale : float
        Resize factor of the 512x512 grass before tiling.

    Returns
    -------
    ndarray, (H, W) float32
        Grey levels, about [0, 1] (bicubic overshoot at edges may leave them slightly).
    """
    from skimage import data

    H, W = shape_hw
    g = data.grass().astype(np.float32) / 255
    g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    g = np.concatenate([g, g[:, ::-1]], 1)
    g = np.concatenate([g, g[::-1]], 0)
    return np.tile(g, (-(-H // g.shape[0]), -(-W // g.shape[1])))[:H, :W]


def dark_grass(shape_hw: tuple[int, int], seed: int, *, scale: float = 1.6, blur: float = 1.5,
               gamma: float = 2.2, cell: int = 150, discs: int = 25, disc_px: int = 25,
               sky: bool = False) -> np.ndarray:
    """Grass in deep shade (train split, procedural over :func:`mirrored_grass`): the analogue
    of a photo's darkest foliage that a light tiled watermark is hard to invert over.

    Mostly near black (``gamma``), a few lit blades under light cells of ``cell`` px, tinted
    green, with ``discs`` blurred light discs (out-of-focus highlights, up to ``disc_px`` in
    radius) and, with ``sky``, blue sky through the leaves in places.

    Parameters
    ----------
    shape_hw : (int, int)
        Height and width of the photo.
    seed : int
        Seed of the light cells, the sky's cells and the discs.
    scale : float, default 1.6
        :func:`mirrored_grass`'s scale.
    blur : float, default 1.5
        Gaussian sigma (px) on the grass before the shade.
    gamma : float, default 2.2
        Exponent on the normalised grass: higher is darker.
    cell : int, default 150
        Size (px) of the light cells.
    discs : int, default 25
        Number of light discs.
    disc_px : int, default 25
        Largest disc radius (px; the smallest is 8).
    sky : bool, default False
        Blue sky through the leaves where the light cells are brightest.

    Returns
    -------
    ndarray, (H, W, 3) float32 in [0, 1]
        sRGB photo.
    """
    H, W = shape_hw
    g = cv2.GaussianBlur(mirrored_grass((H, W), scale), (0, 0), blur)
    g = (g - g.min()) / np.ptp(g)
    rng = np.random.default_rng(seed)

    def cells():
        return cv2.resize(rng.random((H // cell + 2, W // cell + 2)).astype(np.float32),
                          (W, H), interpolation=cv2.INTER_CUBIC)

    v = np.clip(g ** gamma * (0.3 + 0.9 * cells()), 0, 1)
    photo = np.stack([0.55 * v, 0.9 * v, 0.3 * v], -1)
    if sky:
        s = cv2.GaussianBlur(np.clip((cells() - 0.8) / 0.06, 0, 1) * (g < 0.45), (0, 0), 3)
        photo = photo * (1 - s[..., None]) + np.float32([0.5, 0.68, 0.9]) * s[..., None]
    disc = np.zeros((H, W), np.float32)
    for _ in range(discs):
        cv2.circle(disc, (int(rng.integers(0, W)), int(rng.integers(0, H))),
                   int(rng.integers(8, disc_px)), float(rng.uniform(0.3, 0.8)), -1)
    disc = cv2.GaussianBlur(disc, (0, 0), 2)[..., None] * np.float32([0.8, 0.9, 0.6])
    return np.clip(photo + disc, 0, 1).astype(np.float32)


def guardrail(shape_hw: tuple[int, int], seed: int, *, angle_deg: float = 0.0,
              blur_px: int | None = None) -> np.ndarray:
    """A guardrail shot from a moving car (train split, procedural): the analogue of a photo
    whose structure runs one way, for the text fill over it.

    A grey sky, a band of metal rail across 25-40 % of the frame (bright and dark stripes of
    4-30 px, levels 0.7-0.9 and 0.3-0.5), posts across it and a dark road side below, speckle;
    all blurred along the rail by a line kernel (:func:`cv2.filter2D`), which streaks the
    posts and keeps the stripes, turned by ``angle_deg``, then a little sensor noise.

    Parameters
    ----------
    shape_hw : (int, int)
        Height and width of the photo.
    seed : int
        Seed of the stripes, posts, blur length and noise.
    angle_deg : float, default 0
        The rail's direction against the horizontal (positive: rising to the right).
    blur_px : int, optional
        Length of the motion blur (px); default: 25-60, from the seed.

    Returns
    -------
    ndarray, (H, W, 3) float32 in [0, 1]
        sRGB photo.

    Raises
    ------
    ValueError
        ``blur_px`` below 1.
    """
    if blur_px is not None and int(blur_px) < 1:
        raise ValueError(f"blur_px: expected an integer >= 1, got {blur_px!r}")
    H, W = shape_hw
    rng = np.random.default_rng(seed)
    pad = int(0.3 * max(H, W))  # the turn brings no border in
    h, w = H + 2 * pad, W + 2 * pad
    y = np.arange(h, dtype=np.float32)[:, None]
    img = np.empty((h, w), np.float32)
    img[:] = 0.55 + 0.15 * (1 - y / h)  # sky
    top = pad + int(rng.uniform(0.2, 0.45) * H)
    pos, bright = top, True
    while pos < top + int(rng.uniform(0.25, 0.4) * H):
        width = int(rng.integers(4, 30))
        img[pos:pos + width] = rng.uniform(0.7, 0.9) if bright else rng.uniform(0.3, 0.5)
        pos, bright = pos + width, not bright
    img[pos:] = 0.18  # the road side
    period = int(rng.integers(40, 120))
    for x in range(int(rng.integers(0, period)), w, period):  # posts
        img[top:pos, x:x + int(rng.integers(6, 16))] = float(rng.uniform(0.3, 0.6))
    img += rng.normal(0, 0.04, img.shape).astype(np.float32)
    rgb = np.stack([img * 0.97, img, img * 1.04 + 0.01], -1)
    n = int(rng.integers(25, 60)) if blur_px is None else int(blur_px)
    rgb = cv2.filter2D(rgb, -1, np.full((1, n), 1.0 / n, np.float32),
                       borderType=cv2.BORDER_REFLECT)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle_deg, 1.0)
    rgb = cv2.warpAffine(rgb, turn, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REFLECT)[pad:pad + H, pad:pad + W]
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    return np.clip(rgb, 0, 1).astype(np.float32)
