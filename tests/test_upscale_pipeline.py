"""The upscale / enhance pipelines: backend-dependent contracts, the denoise/deblock adapters
at the handoff, colour reconciliation against the pre-upscale image, alpha and 16-bit."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data

import seamline as sl
from seamline.cli import main
from seamline.io import as_image

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def small():
    return as_image(data.astronaut())[100:228, 150:278]  # 128x128: fast


def _noisy(img, sigma=0.05, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.normal(0, sigma, img.shape), 0, 1).astype(np.float32)


def test_clean_input_needs_no_adapter_and_colours_stay(small):
    run = sl.Pipeline.builtin("upscale").run(small)
    assert run.output.shape == (256, 256, 3)
    assert all(not h["adapters"] for h in run.checks)
    drift = run.qa["color_drift"]["delta_e_mean"]
    assert drift < run.qa["color_drift_unreconciled"]["delta_e_mean"] + 0.05 and drift < 2.0
    assert 0.9 < run.qa["hf_ratio_vs_unreconciled"] < 1.1


def test_noisy_input_gets_the_denoise_adapter_under_reconcile(small):
    run = sl.Pipeline.builtin("upscale").run(_noisy(small))
    h = run.stage("upscale").handoffs[0]
    applied = {a["adapter"]: a for a in h["adapters"]}
    assert "denoise" in applied
    assert applied["denoise"]["before"] > 0.03 and applied["denoise"]["ok_after"]
    assert h["stats"]["noise_sigma"] > 0.03 and h["stats_after"]["noise_sigma"] < 0.012


def test_noisy_input_is_refused_under_strict(small):
    pipe = sl.Pipeline.builtin("upscale").with_policy("strict")
    with pytest.raises(sl.ContractError, match=r"stage 'upscale' input 'image'.*noise_sigma "
                                               r"expected <= 0.012, found"):
        pipe.run(_noisy(small))


def test_plain_resampler_declares_no_noise_limit(small):
    run = sl.Pipeline.builtin("upscale").with_params(
        {"upscale.backend": "lanczos", "upscale.scale": 3}).run(_noisy(small))
    assert run.output.shape == (384, 384, 3)
    assert not run.stage("upscale").handoffs[0]["adapters"]


def test_jpeg_blocky_input_gets_deblocked(small):
    ok, buf = cv2.imencode(".jpg", (small[..., ::-1] * 255).astype(np.uint8),
                           [cv2.IMWRITE_JPEG_QUALITY, 12])
    blocky = as_image(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    run = sl.Pipeline.builtin("upscale").run(blocky)
    adapters = [a["adapter"] for a in run.stage("upscale").handoffs[0]["adapters"]]
    assert adapters[0] == "deblock"


def test_upscale_command_keeps_alpha_and_16_bit(tmp_path, capsys, small):
    alpha = np.zeros(small.shape[:2], np.uint16)
    alpha[:, 64:] = 65535
    src = sl.write_image(tmp_path / "in.png", small, alpha=alpha, bit_depth=16)
    out = tmp_path / "out.png"
    assert main(["upscale", str(src), "-o", str(out), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert any("alpha resized" in n for n in rep["notes"])
    back = sl.read_image(out)
    assert back.bit_depth == 16 and back.image.shape == (256, 256, 3)
    assert back.alpha.dtype == np.uint16 and back.alpha.shape == (256, 256)
    assert back.alpha[:, :120].max() == 0 and back.alpha[:, 136:].min() == 65535


def test_upscale_bad_inputs(tmp_path, capsys, small):
    src = sl.write_image(tmp_path / "in.png", small)
    out = tmp_path / "o.png"
    code = main(["upscale", str(src), "-o", str(out), "--scale", "3"])
    err = capsys.readouterr().err
    assert code == 2 and "scale" in err and len(err.strip().splitlines()) == 1
    code = main(["upscale", str(src), "-o", str(out), "--backend", "spandrel"])
    err = capsys.readouterr().err
    assert code == 2 and "checkpoint path" in err
    not_sr = tmp_path / "lama-like.safetensors"
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file({"model.1.ffc.convl2l.weight": torch.zeros(64, 4, 7, 7)}, str(not_sr))
    code = main(["upscale", str(src), "-o", str(out), "--backend", "spandrel",
                 "--model", str(not_sr)])
    err = capsys.readouterr().err
    assert code == 2 and "lama-like.safetensors" in err
    assert not out.exists()


def test_color_match_command_and_aspect_ratio_error(tmp_path, capsys, small):
    ref = sl.write_image(tmp_path / "ref.png", small)
    big = cv2.resize(small, (256, 256), interpolation=cv2.INTER_CUBIC)
    drifted = np.clip(big * np.array([1.12, 1.0, 0.85], np.float32) + 0.03, 0, 1)
    src = sl.write_image(tmp_path / "up.png", drifted)
    out = tmp_path / "fixed.png"
    assert main(["color-match", str(src), "--reference", str(ref), "-o", str(out),
                 "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["drift_after"]["delta_e_mean"] < 0.3 * rep["drift_before"]["delta_e_mean"]
    wide = sl.write_image(tmp_path / "wide.png", np.zeros((64, 200, 3), np.float32))
    code = main(["color-match", str(src), "--reference", str(wide), "-o",
                 str(tmp_path / "x.png"), "--method", "regression"])
    assert code == 2 and "reference" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_enhance_restores_then_upscales(small):
    run = sl.Pipeline.builtin("enhance").run(_noisy(small, 0.04))
    rep = run.stage("restore").report
    assert "denoise" in rep["applied"]
    assert rep["after"]["noise_sigma"] < rep["before"]["noise_sigma"] / 2
    assert run.output.shape == (256, 256, 3)
