"""Shared fixtures: real photos from scikit-image with text drawn by the tests."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from seamline.io import as_image


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
