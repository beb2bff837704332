"""Shared fixtures: real photos from scikit-image with text drawn by the tests."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.io import as_image
from seamline.ops.text import TextRegion
from seamline.testing import overlays
from seamline.testing.backgrounds import mirrored_grass  # noqa: F401 (tests import it from here)

#: The bold sans the overlay tests draw with (Debian's fonts-dejavu-core).
BOLD_FONT = overlays.DEJAVU_SANS_BOLD


@pytest.fixture(scope="session", autouse=True)
def private_seamline_cache(tmp_path_factory):
    """A private seamline cache for the whole session: a run directory's cache key records
    each model file it hashes in ``<cache_dir>/weights-sha256.json`` (the tests' temporary
    copies included), which is the user's ``~/.cache/seamline`` otherwise."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_CACHE_DIR", str(tmp_path_factory.mktemp("seamline-cache")))
        yield


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return as_image(data.astronaut())


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    return as_image(data.coffee())


@pytest.fixture(scope="session")
def captioned(coffee):
    """coffee() with a caption, an outlined title and a watermark; returns (image, alpha, words)."""
    from seamline.testing.demo_image import DEMO_TEXT, demo_image

    image, alpha = demo_image(coffee)
    words = [w for it in DEMO_TEXT for w in it.text.split()]
    return image, alpha, words


def blob_mask(shape, centers, radius) -> np.ndarray:
    """A float32 mask with filled discs."""
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    m = np.zeros(shape, np.float32)
    for cy, cx in centers:
        m[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius ** 2] = 1.0
    return m


@pytest.fixture(scope="module")
def diffusion_env(tmp_path_factory):
    """For modules that run tiny diffusers models: torch single-threaded (on a shared 2-core
    machine OpenMP spin-waiting makes tiny models 20x slower with 2 threads), offline
    Hugging Face, a private seamline cache; model caches cleared afterwards."""
    torch = pytest.importorskip("torch")
    from seamline import diffusion as D

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEAMLINE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        yield
    torch.set_num_threads(threads)
    D.clear_model_cache()


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory, diffusion_env):
    """A tiny random Stable Diffusion-layout model saved as a diffusers folder (seed 0)."""
    from seamline.testing.tiny_sd import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny", seed=0)


def scaled_photo(name: str, width: int = 1024) -> np.ndarray:
    """scikit-image photo ``name`` as float32 RGB in [0, 1], (H, W, 3), resized to ``width``."""
    a = getattr(data, name)()
    a = np.repeat(a[..., None], 3, 2) if a.ndim == 2 else a[..., :3]
    h, w = a.shape[:2]
    a = cv2.resize(a, (width, round(h * width / w)), interpolation=cv2.INTER_AREA
                   if width < w else cv2.INTER_CUBIC)
    return np.ascontiguousarray(a, np.float32) / 255


def mask_inputs(image):
    """What text-mask's combine step reads of ``image``: the detected lines' polygons, the
    glyph mask and the packaged segmenter with its map; returns (polys, glyphs, seg, prob)."""
    from seamline.ops.text import detect, glyph_mask
    from seamline.ops.text.segment import load_segmenter, segment_text

    regions = detect.detect_text(image)
    polys = [r.polygon for r in regions]
    seg = load_segmenter(None)
    return polys, glyph_mask(image, regions), seg, segment_text(image, polys, model=seg)


def tiled_watermarked(name: str, seed: int):
    """:func:`scaled_photo` ``name`` with a tiled watermark drawn by the overlay sampler
    (seed ``seed``, :data:`BOLD_FONT`); returns (photo, watermarked, drawn mask, overlays)."""
    from seamline.testing import overlays as ov

    img = scaled_photo(name)
    ovs = ov.sample_overlays(np.random.default_rng(seed), "tiled_watermark", img.shape[:2],
                             [BOLD_FONT])
    out, _, _ = ov.render(img, ovs)
    return img, out.astype(np.float32), ov.drawn_mask(img, out), ovs


def load_benchmark(name: str):
    """The benchmark script ``benchmarks/<name>.py`` as a module (benchmarks/ is no package;
    on ``sys.path`` while it loads: the scripts import their siblings, ``_common`` and
    ``bench_remove_text``)."""
    import importlib.util
    import sys

    folder = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
    finally:
        sys.path.remove(str(folder))
    return mod


def text_like_hole(h: int, w: int, seed: int, value: int = 255) -> np.ndarray:
    """(h, w) uint8, ``value`` on four "Ag" strokes of random size, place and weight (seed
    ``seed``), 0 elsewhere: a text-like inpainting hole."""
    rng = np.random.default_rng(seed)
    hole = np.zeros((h, w), np.uint8)
    for _ in range(4):
        cv2.putText(hole, "Ag", (int(rng.integers(0, w - 30)), int(rng.integers(20, h))),
                    cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.7, 1.8)), value,
                    int(rng.integers(2, 8)))
    return hole


def sunlit_grass(shape_hw, seed):
    """scikit-image's grass, mirror-tiled to ``shape_hw``, under patchy sunlight (cells of
    ~160 px from deep shade to highlights washed to white), tinted green: busy foliage."""
    H, W = shape_hw
    g = mirrored_grass(shape_hw, 1.3)
    light = np.random.default_rng(seed).random((H // 160 + 2, W // 160 + 2)).astype(np.float32)
    light = np.clip(cv2.resize(light, (W, H), interpolation=cv2.INTER_CUBIC), 0, 1)
    v = np.clip(g * (0.25 + 2.2 * light ** 1.5), 0, 1)
    rgb = np.stack([0.75 * v, v, 0.45 * v], -1) + np.clip(v - 0.7, 0, None)[..., None]
    return np.clip(rgb, 0, 1).astype(np.float32)



def proof_over_grass():
    """A white DejaVu Sans Bold "PROOF" (44 px) at 0.45 tiled at 28 deg over
    :func:`sunlit_grass` (600 x 800, seed 5): (photo, watermarked, drawn mask, the polygons of
    the copies wholly inside the frame)."""
    H, W = 600, 800
    photo = sunlit_grass((H, W), 5)
    ovs, tiles, _ = overlays.proof_lattice((H, W), 255, 0.45, 28.0, 44)
    marked, _, _ = overlays.render(photo, ovs)
    marked = marked.astype(np.float32)
    tiles = [q for q in tiles if q.min() >= 0 and q[:, 0].max() < W and q[:, 1].max() < H]
    return photo, marked, overlays.drawn_mask(photo, marked), tiles


def shadowed_friends_over_sky():
    """A 160 px DejaVu Sans Bold purple "Friends" with a blurred dark drop shadow (offset 6,
    blur 2.7, opacity 0.8) over the sky of scikit-image's camera (384 x 1024): (photo,
    image), float32 each."""
    grey = data.camera()[:120, :180].astype(np.float32) / 255
    photo = np.ascontiguousarray(np.repeat(cv2.resize(grey, (1024, 384))[..., None], 3, -1))
    ov = overlays.Overlay(text="Friends", xy=(40, 80), size_px=160, font=BOLD_FONT,
                          color=(150, 40, 190), shadow_offset=(6, 6), shadow_blur=2.7,
                          shadow_opacity=0.8)
    return photo, overlays.render(photo, [ov])[0].astype(np.float32)


def train_font(name: str) -> str:
    """The path of train font ``name`` (a Debian font package's file); the test is skipped
    where it is not installed (CI has fonts-dejavu-core only)."""
    with warnings.catch_warnings():
        # the pinned list's missing packages: they change train cases, not this one file
        warnings.simplefilter("ignore", UserWarning)
        fonts = overlays.font_paths("train")
    hits = [f for f in fonts if Path(f).name == name]
    if not hits:
        pytest.skip(f"font {name} not installed")
    return hits[0]


def detector_box(poly: np.ndarray) -> np.ndarray:
    """The line's box grown as the detector's (rapidocr unclips: ~1.6x the text height)."""
    (cx, cy), (w, h), a = cv2.minAreaRect(poly.astype(np.float32))
    if w < h:
        w, h, a = h, w, a + 90
    return cv2.boxPoints(((cx, cy), (w + 0.6 * h, 1.6 * h), a)).astype(np.float32)


def mask_stages(image: np.ndarray, regions):
    """The remove-text pipeline's text-mask and normalize-mask stages on one image, with the
    pipeline's own parameters: their two StageResults."""
    from seamline.core.pipeline import builtin_spec
    from seamline.core.stage import StageContext
    from seamline.stages import get_stage

    spec = builtin_spec("remove-text")
    ctx = StageContext("mask", 0, "reconcile")
    mk, nz = spec.stage("mask"), spec.stage("normalize")
    tm = get_stage(mk.stage_id)(mk.params).run(ctx, image=image, regions=regions)
    nm = get_stage(nz.stage_id)(nz.params).run(ctx, mask=tm.outputs["mask"],
                                               geometry=tm.outputs["geometry"], image=image)
    return tm, nm


def bottom_centred_line(photo: np.ndarray, ov, y_frac: float):
    """``ov`` drawn centred on the 1024x768 ``photo`` with its bottom at ``y_frac`` of the
    height: the image (float32 RGB), the drawn mask and the line's detector regions."""
    w, h = overlays.measure(ov)
    ov = overlays._replace(ov, xy=(float((1024 - w) / 2), float(768 * y_frac - h)))
    image, _, _ = overlays.render(photo, [ov])
    image = image.astype(np.float32)
    drawn = overlays.drawn_mask(photo, image)
    regions = [TextRegion(detector_box(p), "", 1.0) for p in overlays.line_polygons(ov)]
    return image, drawn, regions
