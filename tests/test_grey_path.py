"""Grey and 1-bit pages stay one channel where the stages take grey (issue 14 item 8).

A grey file is read as one ``(H, W)`` channel; a stage whose contract takes grey
(``PortSpec(grey=True)``: upscale's classic and ``auto`` backends, colour match, upscale QA,
restore) works on it directly, and the writer writes a grey file back. A stage that needs RGB
gets the ``to_rgb`` adapter at its handoff (lossless, recorded, applied under every policy);
a pipeline with no grey-taking stage gets the same RGB array the reader used to make. The
``graphic`` statistic is measured once per artifact and handed to the stages that read it.
"""

from __future__ import annotations

import dataclasses

import json
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data

import seamline as sl
from seamline.cli import main
from seamline.core.contracts import PortSpec
from seamline.engine.runner import handoff
from seamline.errors import ContractError
from seamline.io import as_image, load_image, read_image, write_image
from seamline.ops import noise
from seamline.ops.color import color_drift
from seamline.ops.metrics import delta_e2000, hf_energy, psnr
from seamline.ops.upscale.sr import classic_upscale, sr_upscale

pytest.importorskip("onnxruntime")


def _fax(path, size=(360, 480)):
    """A small fax page: 1-bit, CCITT group 4 TIFF, lines of text (Pillow's bundled font)."""
    im = Image.new("1", size, 1)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(18)
    for i, y in enumerate(range(30, size[1] - 40, 34)):
        draw.text((24, y), f"invoice {i:02d} total amount due page", font=font, fill=0)
    im.save(path, compression="group4")
    return path


def _grey_photo():
    """camera() at 256x256: a real grey photo, float32 (H, W)."""
    return as_image(cv2.resize(data.camera(), (256, 256), interpolation=cv2.INTER_AREA),
                    grey=True)


# ------------------------------------------------------------------------ reading and writing


def test_grey_files_are_read_as_one_channel_and_written_back_grey(tmp_path):
    page = _fax(tmp_path / "fax.tif")
    grey = read_image(page, grey=True)
    assert grey.image.shape == (480, 360) and grey.image.dtype == np.float32
    assert set(np.unique(grey.image)) == {0.0, 1.0}
    rgb = read_image(page)  # the default stays HxWx3: R = G = B = the grey values
    assert rgb.image.shape == (480, 360, 3)
    assert np.array_equal(rgb.image, np.repeat(grey.image[..., None], 3, axis=2))
    photo = _grey_photo()
    for name, depth, mode in (("g.png", 8, "L"), ("g16.png", 16, "I;16"), ("g.tif", 8, "L"),
                              ("g16.tif", 16, "I;16"), ("g.jpg", 8, "L")):
        write_image(tmp_path / name, photo, bit_depth=depth)
        with Image.open(tmp_path / name) as im:
            assert im.mode == mode or (mode == "I;16" and im.mode == "I"), (name, im.mode)
            assert _is_gray_profile(im.info.get("icc_profile")), name
        back = read_image(tmp_path / name, grey=True)
        assert back.image.shape == photo.shape, name
        assert back.info["icc"].startswith("sRGB"), (name, back.info["icc"])  # not converted
        assert not back.info["warnings"], name
        if name != "g.jpg":  # lossless: the same levels back
            step = 1 / (65535 if depth == 16 else 255)
            assert np.abs(back.image - photo).max() <= step / 2 + 1e-7, name
    write_image(tmp_path / "g.webp", photo)  # WebP: written as RGB
    assert read_image(tmp_path / "g.webp", grey=True).image.shape == (256, 256, 3)
    write_image(tmp_path / "ga.png", photo, alpha=np.full(photo.shape, 200, np.uint8))
    with Image.open(tmp_path / "ga.png") as im:
        assert im.mode == "RGBA"  # grey with alpha: RGB + alpha, as before


def _is_gray_profile(icc: bytes | None) -> bool:
    """An ICC profile for GRAY pixels that LittleCMS reads (the one a grey file must carry)."""
    from io import BytesIO

    from PIL import ImageCms

    if not icc or icc[16:20] != b"GRAY":
        return False
    return bool(ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(BytesIO(icc))).strip())


# --------------------------------------------------------------------------------- upscale


def test_a_fax_page_is_upscaled_grey_end_to_end(tmp_path, capsys):
    page = _fax(tmp_path / "fax.tif")
    src = read_image(page, grey=True).image
    out = tmp_path / "x2.png"
    assert main(["upscale", str(page), "-o", str(out), "--run-dir", str(tmp_path / "run"),
                 "--quiet"]) == 0
    with Image.open(out) as im:
        assert im.mode == "L" and im.size == (720, 960)
        got = np.asarray(im)
    assert np.array_equal(got, np.repeat(np.repeat(src, 2, 0), 2, 1).astype(np.uint8) * 255)
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "grayscale -> RGB" not in m["input"]["info"]["conversions"]
    for st in m["stages"]:
        for h in st["handoffs"]:
            assert h["stats"]["layout"] == "HxW" and not h["adapters"], (st["name"], h["to"])
    assert any("pixels repeated (nearest)" in n for n in m["notes"])
    assert any("no colour to reconcile" in n for n in m["notes"])
    assert m["qa"]["color_drift"]["delta_e_mean"] == 0 and m["qa"]["color_drift"]["psnr"] == 100
    assert not m["warnings"]


def test_a_grey_page_costs_a_third_of_its_rgb_expansion(tmp_path):
    """Traced peak of the whole upscale pipeline: grey in vs the same page given as RGB."""
    page = read_image(_fax(tmp_path / "fax.tif", size=(720, 960)), grey=True)
    pipe = sl.Pipeline.builtin("upscale")
    pipe.run(page)  # warm up: imports and numba compilation are not the page's cost

    def peak(image):
        tracemalloc.start()
        try:
            run = pipe.run(image)
            return run, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    grey, grey_peak = peak(page)
    rgb, rgb_peak = peak(np.repeat(page.image[..., None], 3, axis=2))
    grey_out = grey.output
    assert grey_out.ndim == 2 and rgb.output.ndim == 3
    assert np.array_equal(rgb.stage("upscale").output[..., 0], grey_out)  # the same pixels
    assert np.abs(rgb.output[..., 0] - grey_out).max() < 1e-6  # RGB: an identity colour fit
    assert grey_peak < 6 * grey_out.nbytes, (grey_peak, grey_out.nbytes)
    assert grey_peak < rgb_peak / 2, (grey_peak, rgb_peak)


def test_a_stage_that_needs_rgb_gets_the_to_rgb_adapter_recorded(tmp_path):
    # remove-text's fill takes grey, its detector RGB; a blank page skips the detector's
    # network, so the handoffs alone are what this costs
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((96, 128), 255, np.uint8))
    grey = read_image(tmp_path / "blank.png", grey=True)
    rgb = as_image(grey.image)
    for policy in ("reconcile", "strict", "off"):  # lossless: applied under every policy
        pipe = sl.Pipeline.builtin("remove-text").with_policy(policy)
        run = pipe.run(grey)
        (up,) = run.stage("detect").handoffs
        assert [a["adapter"] for a in up["adapters"]] == ["to_rgb"], policy
        a = up["adapters"][0]
        assert a["lossless"] and a["before"] == "HxW" and a["after"] == "HxWx3", policy
        assert up["stats"]["layout"] == "HxWx3" and not run.warnings
        same = pipe.run(rgb)  # as if it had come as RGB
        assert np.array_equal(np.repeat(run.output[..., None], 3, axis=2), same.output)


def test_seamline_sr_keeps_a_grey_photo_grey_with_the_values_of_its_rgb_expansion(tmp_path):
    """The network takes RGB: a grey photo was expanded for the whole frame and came out as
    three equal channels (3x the output's memory). It is expanded one tile at a time and
    the output is grey, with the RGB result's values; no adapter runs."""
    write_image(tmp_path / "g.png", _grey_photo()[:96, :128])
    g = read_image(tmp_path / "g.png", grey=True)
    grey = sr_upscale(g.image)
    rgb = sr_upscale(np.repeat(g.image[..., None], 3, axis=2))
    assert grey.shape == (192, 256) and grey.dtype == np.float32
    np.testing.assert_allclose(rgb, np.repeat(grey[..., None], 3, axis=2), atol=1e-6)
    run = sl.Pipeline.builtin("upscale").with_params(
        {"upscale.backend": "seamline-sr"}).run(g)
    assert run.stage("upscale").report["backend"] == "seamline-sr"
    assert run.output.shape == (192, 256) and np.array_equal(run.output, grey)
    assert not any(a for h in run.checks for a in h["adapters"])


def test_handoff_expands_grey_once_for_every_rgb_port():
    g = _grey_photo()
    for policy in ("strict", "off"):
        out, rec, warns = handoff(g, "image", PortSpec("image"), policy=policy, stage="s",
                                  port="image", source="input.image")
        assert out.shape == (256, 256, 3) and np.array_equal(out[..., 2], g)
        assert rec["adapters"][0]["adapter"] == "to_rgb" and not warns
        assert all(c["ok"] for c in rec["checks"])
    same, rec, _ = handoff(g, "image", PortSpec("image", grey=True), policy="strict",
                           stage="s", port="image")
    assert same is g and not rec["adapters"]
    with pytest.raises(ContractError):  # other layouts: nothing fixes them
        handoff(np.zeros((8, 8, 4), np.float32), "image", PortSpec("image"),
                policy="reconcile", stage="s", port="image")


def test_the_to_rgb_adapter_shows_grey_as_rgb_without_a_copy():
    g = _grey_photo()
    out, rec, _ = handoff(g, "image", PortSpec("image"), policy="reconcile", stage="s",
                          port="image", source="input.image")
    assert out.shape == (256, 256, 3) and np.shares_memory(out, g)  # a view: 0 bytes
    assert not out.flags.writeable  # stages never modify their inputs; now they cannot
    assert all(np.array_equal(out[..., c], g) for c in range(3))
    # the cache key of the view is the RGB copy's, bit for bit
    from seamline.core import artifacts
    assert artifacts.digest("image", out) == artifacts.digest("image", as_image(g))


def test_remove_text_keeps_a_grey_page_grey(tmp_path):
    """A 1-bit fax page: read as one channel, the RGB stages see it through a view, the fill
    returns grey, and the file written is grey; outside the final mask bit-identical."""
    page = _fax(tmp_path / "fax.tif", size=(360, 240))
    grey = read_image(page, grey=True).image
    res = sl.remove_text(str(page), out=tmp_path / "run")
    assert res.image.shape == grey.shape and res.image.dtype == np.float32  # HxW
    outside = res.mask == 0
    assert outside.mean() > 0.8 and res.mask.mean() > 0.02  # the text was masked
    assert np.array_equal(res.image[outside], grey[outside])  # bit for bit
    assert res.image[~outside].mean() > 0.9  # filled with paper, not ink
    adapters = {h["to"]: [a["adapter"] for a in h["adapters"]] for h in res.run.checks}
    assert adapters["inpaint.image"] == []  # the fill takes the page as it is
    assert adapters["detect.image"] == ["to_rgb"]
    assert adapters["qa.image"] == adapters["qa.original"] == []  # QA measures the one channel
    assert res.qa["residual_words"] == 0, res.qa.get("residual_texts")
    # a 1-bit page is a graphic: paper and letters, no texture to keep: Telea everywhere
    fill = res.run.stage("inpaint")
    assert {r["backend"] for r in fill.report["regions"]} == {"telea"}
    assert any("diffusion fill (telea) for every region" in n for n in fill.notes)
    # the command line writes it back as a grey file
    assert main(["remove-text", str(page), "-o", str(tmp_path / "clean.png"), "--quiet"]) == 0
    with Image.open(tmp_path / "clean.png") as im:
        assert im.mode == "L" and _is_gray_profile(im.info.get("icc_profile"))
    back = read_image(tmp_path / "clean.png", grey=True).image
    assert np.array_equal(back[outside], grey[outside])
    # an RGB photo takes the path it always took: RGB in, RGB out, no adapter
    photo = as_image(data.astronaut())[:128, :192]
    rgb = sl.remove_text(photo)
    assert rgb.image.shape == photo.shape
    assert not any(a for h in rgb.run.checks for a in h["adapters"])


_RGB_ONLY = """
pipeline: rgb-only
inputs: {image: image, mask: mask}
stages:
  - name: inpaint
    stage: inpaint
    inputs: {image: input.image, mask: input.mask}
  - name: detect
    stage: detect-text
    inputs: {image: inpaint.image}
output: inpaint.image
"""


def test_pipelines_without_a_grey_stage_see_the_rgb_they_always_saw(tmp_path, monkeypatch):
    from seamline.stages.inpaint import Inpaint

    page = _fax(tmp_path / "fax.tif", size=(160, 120))
    mask = np.zeros((120, 160), np.uint8)
    mask[40:60, 30:90] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    # the inpaint stage as it was before it took grey: an RGB-only pipeline
    rgb_port = dataclasses.replace(Inpaint.spec.inputs["image"], grey=False)
    monkeypatch.setattr(Inpaint, "spec", dataclasses.replace(
        Inpaint.spec, inputs={**Inpaint.spec.inputs, "image": rgb_port}))
    pipe = sl.Pipeline.from_text(_RGB_ONLY)
    by_path = pipe.run(str(page), inputs={"mask": str(tmp_path / "mask.png")})
    by_rgb = pipe.run(load_image(page), inputs={"mask": str(tmp_path / "mask.png")})
    assert by_path.output.shape == (120, 160, 3)
    assert np.array_equal(by_path.output, by_rgb.output)
    assert by_path.manifest["input"]["digest"] == by_rgb.manifest["input"]["digest"]
    assert by_path.manifest["input"]["info"]["conversions"][-1] == "grayscale -> RGB"
    assert not any(a for h in by_path.checks for a in h["adapters"])


def test_rgb_photos_take_the_path_they_always_took(tmp_path):
    """An RGB photo: no conversion anywhere, the stages compute what the ops compute."""
    from seamline.ops.color import match_colors

    photo = as_image(data.astronaut())[100:196, 150:278]
    write_image(tmp_path / "p.png", photo)
    img = read_image(tmp_path / "p.png", grey=True).image
    assert img.shape == (96, 128, 3)
    for backend, up in (("lanczos", classic_upscale(img, scale=2, method="lanczos")),
                        ("auto", sr_upscale(img, scale=2))):
        run = sl.Pipeline.builtin("upscale").with_params({"upscale.backend": backend}).run(
            str(tmp_path / "p.png"))
        assert np.array_equal(run.stage("upscale").output, up), backend
        assert np.array_equal(run.output, match_colors(up, img, method="auto")), backend
        assert not any(a for h in run.checks for a in h["adapters"])
        assert all(h["stats"]["layout"] == "HxWx3" for h in run.checks)


# ------------------------------------------------------------------- is_graphic once per artifact


@pytest.mark.parametrize("pipeline", ["upscale", "enhance"])
@pytest.mark.parametrize("kind", ["grey page", "rgb graphic", "photo"])
def test_is_graphic_runs_once_per_artifact_with_the_same_decisions(monkeypatch, tmp_path,
                                                                   pipeline, kind):
    page = read_image(_fax(tmp_path / "fax.tif", size=(96, 128)), grey=True)
    image = {"grey page": page, "rgb graphic": as_image(page.image),
             "photo": as_image(data.astronaut())[100:164, 150:214]}[kind]
    calls = []
    real = noise.is_graphic

    def counted(img, **kw):
        calls.append(np.shape(img))
        return real(img, **kw)

    monkeypatch.setattr(noise, "is_graphic", counted)
    run = sl.Pipeline.builtin(pipeline).run(image)
    # one per artifact: the input, and restore's output only if restore made a new one; it
    # was 3 in upscale (noise, blockiness, auto) and 4 in enhance (and restore)
    restored = pipeline == "enhance" and bool(run.stage("restore").report["applied"])
    assert len(calls) == 1 + restored, calls
    graphic = kind != "photo"
    assert run.stage("upscale").report["backend"] == ("nearest" if graphic else "seamline-sr")
    notes = " ".join(run.manifest["notes"])
    assert ("pixels repeated (nearest)" in notes) == graphic
    if pipeline == "enhance":
        assert ("not deblocked or denoised" in notes) == graphic
    (up,) = run.stage("upscale").handoffs
    assert up["stats"]["graphic"] is graphic
    assert up["stats"]["noise_sigma"] == 0.0 if graphic else up["stats"]["noise_sigma"] > 0


# ------------------------------------------------------------------- ops on one channel


def test_grey_ops_give_the_figures_of_the_rgb_expansion():
    g = _grey_photo()
    rgb = as_image(g)
    for mc in (2, 16, 256):  # the colour count agrees (a grey image has at most 256 levels)
        assert noise.is_graphic(g, max_colours=mc) == noise.is_graphic(rgb, max_colours=mc)
    drifted = np.clip(g * 0.9 + 0.05, 0, 1).astype(np.float32)
    assert np.abs(delta_e2000(g, drifted) - delta_e2000(rgb, as_image(drifted))).max() < 1e-3
    assert psnr(g, drifted) == pytest.approx(psnr(rgb, as_image(drifted)), abs=1e-9)
    assert hf_energy(g) == pytest.approx(hf_energy(rgb), rel=1e-5)
    up = classic_upscale(drifted, scale=2, method="lanczos")
    a, b = color_drift(up, g), color_drift(as_image(up), rgb)
    for key in ("delta_e_mean", "delta_e_p95", "psnr", "hist_w1_mean"):
        assert a[key] == pytest.approx(b[key], abs=1e-3), key
    for method in ("nearest", "lanczos", "bicubic"):
        one = classic_upscale(g, scale=3, method=method)
        three = classic_upscale(rgb, scale=3, method=method)
        assert one.shape == three.shape[:2]
        assert np.abs(one - three[..., 1]).max() <= 1e-6, method


def test_the_inpaint_pipeline_keeps_a_grey_page_grey_with_the_rgb_paths_values(tmp_path):
    """preflight, inpaint and QA take grey: a grey photo is read as one channel, filled a crop
    at a time as its RGB expansion and written grey, with the RGB path's pixels; preflight's
    and QA's figures are those of the RGB expansion (QA copied the page's RGB view to
    12 B/px in each of its metrics)."""
    g = _grey_photo()
    write_image(tmp_path / "g.png", g)
    mask = np.zeros(g.shape, np.uint8)
    cv2.circle(mask, (128, 100), 14, 255, -1)
    mask[200:204, 30:220] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    for backend in ("telea", "exemplar"):
        pipe = sl.Pipeline.builtin("inpaint").with_params({"inpaint.backend": backend})
        grey = pipe.run(str(tmp_path / "g.png"), inputs={"mask": str(tmp_path / "mask.png")})
        rgb = pipe.run(as_image(g), inputs={"mask": str(tmp_path / "mask.png")})
        assert grey.output.shape == g.shape and rgb.output.shape == (*g.shape, 3)
        assert np.array_equal(grey.output, rgb.output[..., 0]), backend
        assert not any(a for h in grey.checks for a in h["adapters"])  # no RGB anywhere
        for stage in ("preflight", "qa"):
            a, b = grey.stage(stage).report, rgb.stage(stage).report
            for key, value in _numbers(b):
                assert _numbers_at(a, key) == pytest.approx(value, rel=1e-5, abs=1e-6), \
                    (stage, key)


def _numbers(d, prefix=()):
    """(path, value) of every number in a nested report."""
    items = d.items() if isinstance(d, dict) else enumerate(d) if isinstance(d, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            yield from _numbers(v, (*prefix, k))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield (*prefix, k), v


def _numbers_at(d, path):
    for k in path:
        d = d[k]
    return d
