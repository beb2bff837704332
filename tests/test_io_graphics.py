"""Issue 14 item 6: graphics (palette, 1-bit, dither) are not "denoised", an adapter that
fails its own check says so (an error under ``strict``), and QA figures far outside their
normal range surface in the summary line and the manifest's warnings."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

import seamline as sl
from seamline.core import adapters
from seamline.cli import main
from seamline.core.contracts import PortSpec
from seamline.engine.runner import handoff
from seamline.errors import ContractError
from seamline.io import as_image
from seamline.ops import handoffs
from seamline.ops.metrics import QA_RANGES, qa_figures, qa_warnings
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
    with pytest.raises(ContractError, match="policy 'reconcile' would apply adapter 'binarize'"):
        handoff(m, "mask", PortSpec("mask", binary=True), policy="strict", stage="s",
                port="mask", source="a.mask")  # strict: the failed check stops the run


def test_enhance_leaves_a_graphic_unrestored():
    one_bit = _dithered()[0]
    run = sl.Pipeline.builtin("enhance").run(one_bit)
    assert run.stage("restore").report["applied"] == []
    assert np.array_equal(run.stage("restore").output, one_bit)
    assert any("graphic" in n for n in run.manifest["notes"])


def _upscale_cli(tmp_path, capsys, name, image, *extra):
    code = main(["upscale", str(image), "-o", str(tmp_path / f"{name}-x2.png"),
                 "--run-dir", str(tmp_path / name), *extra])
    out, err = capsys.readouterr()
    manifest = json.loads((tmp_path / name / "manifest.json").read_text())
    return code, out, manifest


def test_qa_far_outside_its_normal_range_is_in_the_summary_line_and_the_manifest(tmp_path,
                                                                                   capsys):
    # a 1-bit palette BMP of a real photo (like Pillow's bmp/g/pal1.bmp) through upscale:
    # seamline-sr (asked for by name: auto no longer picks it for graphics) turns the dither
    # into worms, which the run used to report with exit 0 and no word (issue 14 item 6)
    photo = Image.fromarray(data.chelsea()).resize((200, 133), Image.LANCZOS)
    photo.convert("1").save(tmp_path / "pal1.bmp")
    photo.save(tmp_path / "photo.png")
    code, out, manifest = _upscale_cli(tmp_path, capsys, "pal1", tmp_path / "pal1.bmp",
                                       "--backend", "seamline-sr")
    assert code == 0 and out.startswith("seamline: upscale 200x133 -> 400x266 in ")
    qa_line = next(ln for ln in out.splitlines() if ln.strip().startswith("QA"))
    assert "vs input (normal >= 30 dB)" in qa_line and "PSNR " in qa_line
    assert manifest["qa"]["color_drift"]["psnr"] < 25  # 19.7 measured; photos 38-77
    assert "qa: " + next(t for _, _, t, o in qa_figures(manifest["qa"]) if o) \
        in manifest["warnings"]
    assert "warning     qa: PSNR" in out
    # a photo: the same figures in range, printed without a bound, no warning
    code, out, manifest = _upscale_cli(tmp_path, capsys, "photo", tmp_path / "photo.png")
    qa_line = next(ln for ln in out.splitlines() if ln.strip().startswith("QA"))
    assert code == 0 and "ΔE2000 " in qa_line and "PSNR " in qa_line and "(normal" not in out
    assert manifest["warnings"] == [] and not qa_warnings(manifest["qa"])


def test_edit_qa_of_a_good_fill_is_in_range_and_every_range_has_a_reason():
    img = as_image(data.astronaut()[:160, :160])
    mask = np.zeros(img.shape[:2], np.float32)
    mask[70:80, 40:120] = 1  # a thin stroke over the photo
    run = sl.Pipeline.builtin("inpaint").with_params({"inpaint.backend": "telea"}).run(
        img, inputs={"mask": mask})
    shown = {r.key for r, _, _, _ in qa_figures(run.qa)}
    assert {"seam_score", "delta_e_inside_vs_ring", "hf_ratio_hole_vs_ring",
            "outside_change.changed_px"} <= shown
    assert not qa_warnings(run.qa) and run.warnings == []
    assert all(r.reason and (r.low is not None or r.high is not None) for r in QA_RANGES)
    bad = {"outside_change": {"changed_px": 12}, "seam_score": 2.5, "color_drift": {"psnr": None}}
    assert qa_warnings(bad) == ["seam 2.50 (normal <= 2)", "changed outside mask 12 px (normal 0 px)"]


def test_upscale_auto_repeats_the_pixels_of_a_graphic_and_uses_the_model_on_a_photo(tmp_path,
                                                                                   capsys):
    photo = Image.fromarray(data.chelsea()).resize((200, 133), Image.LANCZOS)
    photo.convert("1").save(tmp_path / "pal1.bmp")
    photo.quantize(16).save(tmp_path / "pal16.png")
    photo.save(tmp_path / "photo.png")
    for src in (tmp_path / "pal1.bmp", tmp_path / "pal16.png"):
        name = src.stem
        code, out, manifest = _upscale_cli(tmp_path, capsys, name, src)
        assert code == 0 and manifest["warnings"] == [], out
        assert any("pixels repeated (nearest)" in n for n in manifest["notes"])
        img = np.asarray(Image.open(src).convert("RGB"))
        out_img = np.asarray(Image.open(tmp_path / f"{name}-x2.png").convert("RGB"))
        # every output pixel is an input pixel, repeated 2x2: no invented colour, no worms
        assert np.array_equal(out_img, img.repeat(2, axis=0).repeat(2, axis=1))
        assert "(normal" not in out
    code, out, manifest = _upscale_cli(tmp_path, capsys, "photo", tmp_path / "photo.png")
    assert code == 0 and not any("nearest" in n for n in manifest["notes"])
    code2, _, _ = _upscale_cli(tmp_path, capsys, "photo-sr", tmp_path / "photo.png",
                               "--backend", "seamline-sr")
    assert code2 == 0  # auto on a photo is the model, byte for byte
    assert np.array_equal(np.asarray(Image.open(tmp_path / "photo-x2.png")),
                          np.asarray(Image.open(tmp_path / "photo-sr-x2.png")))


def test_a_grey_photo_is_not_a_graphic_but_few_grey_levels_are():
    # Every 8-bit grey image has at most 256 levels, so the colour count alone called every
    # grey photo a graphic (and upscale's auto sent it to nearest: blocky pixels).
    camera = as_image(data.camera())  # 247 grey levels
    assert not is_graphic(camera) and not is_graphic(camera[..., 0])
    posterised = np.round(camera * 15) / 15  # 4-bit grey: 16 levels
    assert is_graphic(posterised) and is_graphic(posterised[..., 0])
    one_bit = (camera > 0.5).astype(np.float32)
    assert is_graphic(one_bit) and is_graphic(one_bit[..., 0])
    tinted = camera * np.array([1.0, 0.95, 0.9], np.float32)  # sepia-ish: colour, <= 256 colours
    assert is_graphic(np.round(tinted * 255) / 255)  # the colour rule still applies


def test_upscale_auto_sends_a_grey_photo_to_the_network():
    grey = as_image(data.camera()[200:264, 200:264])[..., 0]
    run = sl.Pipeline.builtin("upscale").run(grey)
    assert run.stage("upscale").report["backend"] == "seamline-sr"
    assert "pixels repeated (nearest)" not in " ".join(run.manifest["notes"])
