"""Inpainting tools around the backends: auto choice, feathered seam-free compositing, colour
reconciliation, latent-grid snapping, soft masks, and the `seamline inpaint` / `seamline mask`
commands with their bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import data

import seamline as sl
from seamline.cli import main
from seamline.io import as_image
from seamline.ops.inpaint import (AUTO_TEXTURE_ENERGY, choose_backend, edit_alpha, inpaint,
                              match_fill_to_ring)
from seamline.ops.masks import grow, snap_to_grid
from seamline.ops.metrics import delta_e2000

from conftest import blob_mask


@pytest.fixture(scope="module")
def brick():
    return as_image(np.stack([data.brick()] * 3, axis=-1))


@pytest.fixture(scope="module")
def sky():
    return as_image(data.camera())[:128, :256]  # the smooth sky above the cameraman


def test_auto_picks_telea_for_thin_strokes_and_smooth_context(brick, sky):
    thin = np.zeros(brick.shape[:2], bool)
    thin[200:203, 100:300] = True
    assert choose_backend(brick, thin)[0] == "telea"
    blob = blob_mask(brick.shape[:2], [(256, 256)], 20) > 0
    name, why = choose_backend(brick, blob)
    assert name == "exemplar" and why["thickness_px"] > 15 and why["ring_texture_energy"] > AUTO_TEXTURE_ENERGY
    sky_blob = blob_mask(sky.shape[:2], [(60, 60)], 20) > 0
    assert choose_backend(sky, sky_blob)[0] == "telea"


def test_auto_inpaint_records_its_choice_per_crop(brick):
    m = blob_mask(brick.shape[:2], [(120, 120)], 18)
    m[400:402, 50:450] = 1
    report = {}
    out = inpaint(brick, m, backend="auto", report=report)
    assert sorted(c["backend"] for c in report["crops"]) == ["exemplar", "telea"]
    assert np.array_equal(out[m == 0], brick[m == 0])


@pytest.mark.parametrize("backend", ["telea", "exemplar"])
def test_feather_band_blends_and_nothing_beyond_it_changes(brick, backend):
    m = blob_mask(brick.shape[:2], [(256, 256)], 20)
    out = inpaint(brick, m, backend=backend, feather_px=4)
    beyond = grow(m, 4) == 0
    assert np.array_equal(out[beyond], brick[beyond])
    band = (grow(m, 4) > 0) & (m == 0)
    alpha = edit_alpha(m, 4)
    assert np.all(alpha[m > 0] == 1) and np.all((alpha[band] > 0) & (alpha[band] < 1))
    assert np.any(out[band] != brick[band])


def test_soft_mask_is_a_partial_edit_not_thresholded(brick):
    hard = blob_mask(brick.shape[:2], [(256, 256)], 20)
    soft = hard * 0.4
    full = inpaint(brick, hard, backend="telea")
    part = inpaint(brick, soft, backend="telea")
    inside = hard > 0
    expected = brick[inside] + (full[inside] - brick[inside]) * 0.4
    assert np.allclose(part[inside], expected, atol=1e-5)


def test_colour_match_removes_a_cast_from_the_fill(brick):
    region = blob_mask(brick.shape[:2], [(256, 256)], 30) > 0
    cast = brick.copy()
    cast[..., 0] = np.clip(cast[..., 0] * 1.25 + 0.05, 0, 1)  # reddish fill
    fixed, rep = match_fill_to_ring(cast, brick, region)
    assert rep["delta_e_before"] > 5 and rep["delta_e_after"] < 1
    before = delta_e2000(cast, brick)[region].mean()
    after = delta_e2000(fixed, brick)[region].mean()
    assert after < before / 3
    assert np.array_equal(fixed[~region], cast[~region])


def test_snap_to_grid_is_conservative_and_cell_aligned():
    m = np.zeros((37, 50), np.float32)
    m[9, 9] = 1
    m[30, 45] = 0.3
    s = snap_to_grid(m, cell=8)
    assert np.all(s[m > 0] == 1)  # nothing edited is dropped
    # whole cells only: every 8x8 cell (clipped at the edges) is all 0 or all 1
    for y in range(0, 37, 8):
        for x in range(0, 50, 8):
            assert len(np.unique(s[y:y + 8, x:x + 8])) == 1
    assert s[0:24, 0:24].all() and not s[24:32, 0:8].any()  # pooled cell (1,1) grown by one


def test_all_ones_mask_is_an_error_for_patch_backends(brick):
    with pytest.raises(sl.StageError, match="nothing to copy from"):
        inpaint(brick, np.ones(brick.shape[:2], np.float32), backend="exemplar")


# --------------------------------------------------------------------------- the commands


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def files(tmp_path, brick):
    photo = sl.write_image(tmp_path / "brick.png", brick)
    m = blob_mask(brick.shape[:2], [(256, 256)], 20)
    rgb = sl.write_image(tmp_path / "mask-rgb.png", np.repeat(m[..., None], 3, 2))
    # a painted stroke on a transparent layer: white everywhere, the alpha carries the mask
    rgba = tmp_path / "mask-alpha.png"
    sl.write_image(rgba, np.ones_like(brick), alpha=(m * 255).astype(np.uint8))
    inverted = sl.write_image(tmp_path / "mask-inverted.png",
                              np.repeat(1 - m[..., None], 3, 2))
    return {"photo": photo, "rgb": rgb, "rgba": rgba, "inverted": inverted, "mask": m}


@pytest.mark.parametrize("which", ["rgb", "rgba"])
def test_inpaint_command_with_rgb_and_alpha_masks(tmp_path, capsys, files, which):
    out = tmp_path / "out.png"
    code, stdout, _ = run_cli(capsys, "inpaint", files["photo"], "--mask", files[which],
                              "-o", out, "--json")
    assert code == 0
    rep = json.loads(stdout)
    assert rep["backends"] == ["exemplar"] and rep["qa"]["outside_change"]["changed_px"] == 0
    # texture kept: the fill's detail relative to its ring is close to the truth's own
    from seamline.ops.masks import context_ring
    from seamline.ops.metrics import hf_energy

    m, src = files["mask"], sl.load_image(files["photo"])
    ring = context_ring(m, 8).astype(np.float32)
    truth_ratio = hf_energy(src, m) / hf_energy(src, ring)
    assert 0.6 < rep["qa"]["hf_ratio_hole_vs_ring"] / truth_ratio < 1.6
    result = sl.load_image(out)
    src = sl.load_image(files["photo"])
    assert np.array_equal(result[files["mask"] == 0], src[files["mask"] == 0])


def test_inverted_polarity_warns_and_is_never_flipped(tmp_path, capsys, files):
    code, _, err = run_cli(capsys, "inpaint", files["photo"], "--mask", files["inverted"],
                           "-o", tmp_path / "o.png", "--backend", "telea")
    # 98% coverage fails preflight's max_coverage under strict; under reconcile it warns
    code, stdout, _ = run_cli(capsys, "inpaint", files["photo"], "--mask", files["inverted"],
                              "-o", tmp_path / "o2.png", "--backend", "telea", "--json")
    assert code == 0
    warnings = " ".join(json.loads(stdout)["warnings"])
    assert "polarity inverted?" in warnings
    out = sl.load_image(tmp_path / "o2.png")
    keep = files["mask"] > 0  # the inverted mask keeps the blob: still untouched
    assert np.array_equal(out[keep], sl.load_image(files["photo"])[keep])


def test_inpaint_command_bad_inputs(tmp_path, capsys, files, brick):
    out = tmp_path / "o.png"
    small = sl.write_image(tmp_path / "small.png", np.zeros((100, 100, 3), np.float32))
    cases = [
        (["--mask", small], "small.png"),
        (["--mask", tmp_path / "nope.png"], "nope.png"),
        (["--mask", files["rgb"], "--backend", "lama", "--model", tmp_path / "none.safetensors"],
         "none.safetensors"),
        (["--mask", files["rgb"], "--backend", "lama"], "needs a checkpoint path"),
    ]
    esrgan = tmp_path / "esrgan.safetensors"
    pytest.importorskip("safetensors")
    import torch
    from safetensors.torch import save_file

    save_file({"conv_first.weight": torch.zeros(64, 3, 3, 3),
               "conv_first.bias": torch.zeros(64)}, str(esrgan))
    cases.append((["--mask", files["rgb"], "--backend", "lama", "--model", esrgan],
                  "holds no LaMa generator"))
    for extra, needle in cases:
        code, _, err = run_cli(capsys, "inpaint", files["photo"], *extra, "-o", out)
        assert code == 2, (extra, err)
        assert len(err.strip().splitlines()) == 1 and needle in err, err
        assert not out.exists()
    full = sl.write_image(tmp_path / "full.png", np.ones_like(brick))
    code, _, err = run_cli(capsys, "inpaint", files["photo"], "--mask", full, "-o", out,
                           "--backend", "exemplar")
    assert code == 2 and "nothing to copy from" in err and not out.exists()
    empty = sl.write_image(tmp_path / "empty.png", np.zeros_like(brick))
    code, stdout, _ = run_cli(capsys, "inpaint", files["photo"], "--mask", empty, "-o", out)
    assert code == 0 and "mask is empty" in stdout
    assert np.array_equal(sl.load_image(out), sl.load_image(files["photo"]))


def test_mask_commands(tmp_path, capsys, files):
    out = tmp_path / "norm.png"
    code, stdout, _ = run_cli(capsys, "mask", "normalize", files["rgb"], "-o", out, "--grow", 3,
                              "--snap", 8, "--json")
    assert code == 0
    m = sl.load_mask(out)
    assert np.all(m[files["mask"] > 0] == 1) and json.loads(stdout)["snap_cell_px"] == 8
    code, stdout, _ = run_cli(capsys, "mask", "check", files["photo"], files["rgb"], "--json")
    rep = json.loads(stdout)
    assert code == 0 and rep["n_components"] == 1 and rep["failures"] == []
    code, stdout, _ = run_cli(capsys, "mask", "check", files["photo"], files["inverted"])
    assert code == 1 and "exceeds max_coverage" in stdout and "polarity" in stdout
