"""Issue 14 item 6: graphics (palette, 1-bit, dither) are not "denoised", and an adapter that
fails its own check says so."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

import seamline as sl
from seamline.core import adapters
from seamline.core.contracts import PortSpec
from seamline.engine.runner import handoff
from seamline.io import as_image
from seamline.ops import handoffs
from seamline.ops.noise import estimate_noise, is_graphic

pytest.importorskip("onnxruntime")


def _dithered() -> np.ndarray:
    """Floyd-Steinberg 1-bit and 16-colour palette versions of a real photo (Pillow's dither)."""
    photo = Image.fromarray(data.astronaut()[64:192, 128:256])
    return (as_image(np.asarray(photo.convert("1").convert("RGB"))),
            as_image(np.asarray(photo.quantize(16).convert("RGB"))), as_image(np.asarray(photo)))


def test_graphics_are_told_from_photos():
    one_bit, pal16, photo = _dithered()
    assert is_graphic(one_bit) and is_graphic(pal16) and not is_graphic(photo)
    assert estimate_noise(one_bit) > 0.05  # what the noise check used to see in dither
    assert handoffs.noise_sigma(one_bit) == 0.0 and handoffs.blockiness(pal16) == 0.0
    assert handoffs.noise_sigma(photo) == pytest.approx(estimate_noise(photo))


@pytest.mark.parametrize("which", [0, 1])
def test_upscale_does_not_denoise_a_dithered_graphic(which):
    img = _dithered()[which]
    run = sl.Pipeline.builtin("upscale").run(img)
    assert all(a["adapter"] != "denoise" for h in run.checks for a in h["adapters"])
    assert run.qa["color_drift"]["delta_e_mean"] < 2.5  # was 10.4 (1-bit) before


def test_adapter_that_fails_its_own_check_warns(monkeypatch):
    m = np.full((20, 20), 0.5, np.float32)
    monkeypatch.setitem(adapters.ADAPTERS, "binarize", lambda v, port: (v, {}))  # does nothing
    out, rec, warns = handoff(m, "mask", PortSpec("mask", binary=True), policy="reconcile",
                              stage="s", port="mask", source="a.mask")
    assert rec["adapters"][0]["ok_after"] is False
    assert len(warns) == 1 and "adapter 'binarize' did not reconcile it" in warns[0]
    assert "stage 's' input 'mask'" in warns[0]
