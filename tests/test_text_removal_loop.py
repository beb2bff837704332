"""The closed text-removal loop: per-region fill choice, ghost judge, re-mask and refill."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from conftest import BOLD_FONT

from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.text import TextRegion, detect_text
from seamline.ops.text.removal import assign_components, choose_region_fill, fill_text
from seamline.testing.synth import TextItem, draw_text


@pytest.fixture(scope="module")
def shadowed():
    """A caption with a dark drop shadow on a real photo; the mask given covers only the fill.

    Returns (image, fill-only mask, all drawn pixels, regions detected on the image).
    """
    photo = as_image(data.coffee())
    item = TextItem("fresh roast every day", (150, 330), 30, color=(255, 221, 0), shadow_px=3)
    image, alpha = draw_text(photo, [item])
    _, fill_alpha = draw_text(photo, [TextItem(item.text, item.xy, item.size_px,
                                                color=item.color)])
    regions = detect_text(image)
    assert any("roast" in r.text.lower() for r in regions)
    return image, (fill_alpha > 0.05).astype(np.float32), alpha > 0.05, regions


def test_a_missed_shadow_is_found_grown_over_and_refilled(shadowed):
    image, mask, drawn, regions = shadowed
    out, final, report = fill_text(image, mask, regions, max_passes=3)
    # the first pass left the shadow (the mask did not cover it); the judge saw it ...
    first = [r for r in report["regions"] if r["region"] is not None][0]["passes"][0]
    assert first["verdict"]["flagged"], first
    # ... the loop grew the mask over it and filled again, and the judge is now satisfied
    # (with every gap the re-mask closed joined to it, photo-coloured ones included, the
    # surface look named the fill's middle flat: regrow.close_gaps now joins only ink)
    assert report["passes"] >= 2
    assert report["failed"] == [], report["failed"]
    assert np.all(final[mask > 0] == 1)          # the final mask contains the given one
    assert np.mean(final[drawn] > 0) > np.mean(mask[drawn] > 0) + 0.1
    # every pixel outside the final mask is untouched
    assert np.array_equal(out[final == 0], image[final == 0])


def test_a_region_still_visible_after_the_last_pass_is_named(shadowed):
    image, mask, _, regions = shadowed
    out, final, report = fill_text(image, mask, regions, max_passes=1)
    assert report["passes"] == 1
    assert any("roast" in f["text"].lower() for f in report["failed"]), report["failed"]
    assert np.array_equal(final > 0, mask > 0)  # one pass: nothing was grown


def test_every_backend_and_auto_are_accepted_and_unknown_ones_are_named(shadowed):
    image, mask, _, regions = shadowed
    for backend in ("telea", "ns", "fsr", "exemplar"):
        out, _, report = fill_text(image, mask, regions, backend=backend, judge=False)
        assert {r["backend"] for r in report["regions"]} == {backend}
        assert np.array_equal(out[mask == 0], image[mask == 0])
    with pytest.raises(InputError, match="backend: unknown inpainting backend 'magic'"):
        fill_text(image, mask, regions, backend="magic")
    with pytest.raises(InputError, match="max_passes"):
        fill_text(image, mask, regions, max_passes=0)


def test_the_fill_is_chosen_per_region_from_strokes_and_context():
    flat = np.full((60, 200, 3), 0.5, np.float32)
    rng = np.random.default_rng(0)
    textured = np.clip(0.5 + 0.2 * rng.standard_normal((60, 200, 3)), 0, 1).astype(np.float32)
    hole = np.zeros((60, 200), bool)
    hole[25:35, 20:180] = True
    assert choose_region_fill(flat, hole, stroke_px=3)[0] == "telea"
    assert choose_region_fill(flat, hole, stroke_px=12)[0] == "telea"      # smooth context
    for stroke in (3, 12):  # texture: thin or thick, the fill that keeps it
        name, reason, numbers = choose_region_fill(textured, hole, stroke_px=stroke)
        assert name == "fsr" and "texture" in reason and numbers["ring_texture_energy"] > 4e-4
    # a region too large for the frequency-selective fill's cost still gets a fill that keeps
    # texture (no Telea over texture at any size): the exemplar fill
    big_img = np.clip(0.5 + 0.2 * rng.standard_normal((200, 400, 3)), 0, 1).astype(np.float32)
    big = np.zeros((200, 400), bool)
    big[40:160, 20:380] = True
    name, reason, numbers = choose_region_fill(big_img, big, stroke_px=12)
    assert name == "exemplar" and "43200 px" in reason and numbers["hole_px"] == int(big.sum())


def test_mask_components_go_to_the_region_they_lie_in():
    mask = np.zeros((100, 300), np.float32)
    mask[10:20, 10:60] = 1     # in region 0
    mask[70:80, 200:260] = 1   # in region 1
    mask[50:52, 120:122] = 1   # near no region
    regions = [TextRegion(np.float32([[5, 5], [70, 5], [70, 25], [5, 25]]), "a"),
               TextRegion(np.float32([[190, 65], [270, 65], [270, 85], [190, 85]]), "b")]
    labels, n = assign_components(mask, regions)
    assert set(np.unique(labels[10:20, 10:60])) == {1}
    assert set(np.unique(labels[70:80, 200:260])) == {2}
    assert labels[50, 120] == 3 and n == 3
    assert np.all(labels[mask == 0] == 0)


def test_cli_names_a_region_still_visible_and_fail_on_qa_exits_3(tmp_path, capsys):
    """The release's recipe (matting mask, one Telea pass) leaves the demo caption's shadow:
    the run says so by name, writes its output, and --fail-on-qa turns that into exit 3."""
    import json

    import seamline as sl
    from seamline.cli import main
    from seamline.testing.demo_image import demo_image

    image, _ = demo_image()
    src = sl.write_image(tmp_path / "in.png", image)
    before = src.read_bytes()
    args = ["remove-text", str(src), "-o", str(tmp_path / "out.png"), "--backend", "telea",
            "--set", "mask.method=matting", "--set", "inpaint.max_passes=1",
            "--run-dir", str(tmp_path / "run")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "qa_failed   region" in out and "fresh roast every day" in out, out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "qa_failed"
    assert any("roast" in f["text"] for f in manifest["qa"]["failed_regions"])
    assert (tmp_path / "out.png").is_file()
    assert main(args + ["--fail-on-qa", "-q"]) == 3
    assert src.read_bytes() == before


def test_a_missing_segmentation_model_is_one_line_naming_it(tmp_path, capsys):
    import seamline as sl
    from seamline.cli import main
    from seamline.testing.demo_image import demo_image

    image, _ = demo_image()
    src = sl.write_image(tmp_path / "in.png", image)
    missing = tmp_path / "nope.onnx"
    code = main(["remove-text", str(src), "-o", str(tmp_path / "out.png"),
                 "--set", f"mask.model={missing}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and str(missing) in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out.png").exists()


def _no_ocr(strip):
    return "", 0.0


def _untimed(x):
    """A fill report less its CPU times (they differ from run to run)."""
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if k != "cpu_ms"}
    return [_untimed(v) for v in x] if isinstance(x, list) else x


@pytest.fixture(scope="module")
def fur_title():
    """A bold title on the cat's fur, its exact (grown) mask and its region."""
    photo = as_image(data.chelsea())
    item = TextItem("SOFT FUR", (40, 110), 72, color=(255, 255, 255), stroke_px=3)
    image, alpha = draw_text(photo, [item])
    hole = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8))
    ys, xs = np.nonzero(hole)
    region = TextRegion(np.float32([[xs.min(), ys.min()], [xs.max(), ys.min()],
                                    [xs.max(), ys.max()], [xs.min(), ys.max()]]), item.text)
    return image, photo, hole.astype(np.float32), [region]


def test_a_smeared_fill_gets_the_next_fill_and_every_pass_is_recorded(fur_title, monkeypatch):
    """A region whose first fill the smear judge flags is filled again with the next
    texture-keeping backend; both passes carry the judge's figures."""
    import seamline.ops.text.removal as removal

    image, _, mask, regions = fur_title
    # the first choice as the old size limit made it: Telea over texture
    monkeypatch.setattr(removal, "choose_region_fill",
                        lambda *a, **k: ("telea", "forced by the test", {}))
    out, final, report = fill_text(image, mask, regions, max_passes=3, ocr=_no_ocr)
    passes = report["regions"][0]["passes"]
    assert [p["backend"] for p in passes[:2]] == ["telea", "fsr"], passes
    assert passes[0]["smear"]["flagged"] and passes[1]["because"] == ["smear"]
    assert all("detail_ratio" in p["smear"] and p["cpu_ms"] >= 0 for p in passes)
    assert report["failed"] == [] and not report["smear"][0]["flagged"]
    assert np.array_equal(out[final == 0], image[final == 0])
    # the refill has no diffusion seam left (Telea's fronts met along the letters' middles)
    assert passes[1]["smear"]["seam_ratio"] < 0.6 * passes[0]["smear"]["seam_ratio"]


def test_a_smear_with_a_backend_the_caller_named_is_reported_not_replaced(fur_title):
    image, _, mask, regions = fur_title
    _, _, report = fill_text(image, mask, regions, backend="telea", max_passes=3, ocr=_no_ocr)
    assert report["passes"] == 1  # nothing better is tried behind the caller's back
    (failed,) = report["failed"]
    assert failed["judges"] == ["smear"] and "telea fill" in failed["reasons"][0]
    assert failed["text"] == "SOFT FUR"


def test_qa_names_a_smeared_region(fur_title):
    from seamline.stages.qa import EditQA

    image, _, mask, regions = fur_title
    out, final, report = fill_text(image, mask, regions, backend="telea", ocr=_no_ocr)
    res = EditQA(EditQA.Params(ocr=False)).run(None, image, out, final, regions, report)
    qa = res.report
    assert qa["smear_regions"] == 1 and qa["smear_flagged"] == 1
    assert qa["smear"][0]["backend"] == "telea" and qa["smear"][0]["seam_ratio"] > 1.6
    assert qa["failed_regions"][0]["judges"] == ["smear"]
    assert any("'SOFT FUR' smeared after 1 fill pass(es)" in w for w in res.warnings), res.warnings


def test_cli_names_a_smeared_region_and_auto_fills_it_unsmeared(tmp_path, capsys, fur_title):
    """A bold white title on fur, end to end: with Telea for every region the smear judge
    names the region (exit 3 under --fail-on-qa); with auto it gets a texture-keeping fill
    and passes."""
    import json

    import seamline as sl
    from seamline.cli import main

    image = fur_title[0]
    src = sl.write_image(tmp_path / "in.png", image)
    args = ["remove-text", str(src), "-o", str(tmp_path / "out.png"), "--run-dir",
            str(tmp_path / "run")]
    assert main(args + ["--backend", "telea", "--fail-on-qa"]) == 3
    out = capsys.readouterr().out
    assert "qa_failed   region 0 'SOFT FUR' looks smeared" in out, out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["status"] == "qa_failed"
    assert manifest["qa"]["failed_regions"][0]["judges"] == ["smear"]
    assert main(args + ["--fail-on-qa"]) == 0
    out = capsys.readouterr().out
    assert "smear judge 1/1 fills clean" in out, out
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    # a texture-keeping fill (the pipeline's mask here is over FSR's 15000 px: exemplar)
    assert manifest["status"] == "ok"
    assert manifest["qa"]["smear"][0]["backend"] in ("fsr", "exemplar")


def _rim_title(rim: bool):
    """A title over a textured brown photo, with or without a white elliptic rim (a cup seen
    from above) crossing its letters. Returns (image, hole, region)."""
    rng = np.random.default_rng(0)
    h, w = 200, 360
    tex = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 0.8)
    tex /= tex.std()  # fine grain: textured for the fill choice
    photo = np.stack([0.45 + 0.05 * tex, 0.30 + 0.04 * tex, 0.18 + 0.03 * tex], -1)
    if rim:
        big = np.zeros((4 * h, 4 * w), np.uint8)  # anti-aliased: drawn at 4x, shrunk
        cv2.ellipse(big, (4 * 180, 4 * 170), (4 * 150, 4 * 90), 0, 0, 360, 255, 4 * 10)
        ring = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)[..., None] / 255.0
        photo = photo * (1 - ring) + 0.93 * ring
    photo = np.clip(photo, 0, 1).astype(np.float32)
    image, alpha = draw_text(photo, [TextItem("RIM", (130, 62), 44, stroke_px=2,
                                              stroke_color=(30, 20, 10))])
    hole = cv2.dilate((alpha > 0.02).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    ys, xs = np.nonzero(hole)
    box = np.float32([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()],
                      [xs.min(), ys.max()]])
    return image, hole, TextRegion(box, "RIM")


def test_a_large_hole_crossed_by_strong_edges_gets_the_edge_first_fill(monkeypatch):
    """Where the choice would be the exemplar fill (a hole over FSR_MAX_HOLE_PX over
    texture), strong edges crossing it (the structure judge's paths, found before the fill)
    get the edge-first fill at once: on the train split the exemplar fill broke 4 of 7 such
    edges and the loop refilled them edge first anyway. Without the rim: exemplar."""
    from seamline.ops.text import region_fill

    monkeypatch.setattr(region_fill, "FSR_MAX_HOLE_PX", 1000)  # the title counts as large
    for rim, first in ((True, "fsr-edge"), (False, "exemplar")):
        image, hole, region = _rim_title(rim)
        assert hole.sum() > 1000
        out, _, report = fill_text(image, hole.astype(np.float32), [region], max_passes=2)
        r = report["regions"][0]
        assert r["passes"][0]["backend"] == first, r["reason"]
        assert ("crossed by strong edges" in r["reason"]) == rim
        if rim:  # the edge kept: nothing for the structure judge to flag, no second fill
            assert not report["structure"][0]["flagged"] and len(r["passes"]) == 1
        assert np.array_equal(out[~hole], image[~hole])


def test_a_re_mask_stays_on_the_text():
    """The loop's regrowth is bounded: within REGROW_MASK_PX of the mask it was given, and
    over letters the mask missed (the leftover look's pieces) inside the line's polygon
    grown by REGROW_LINE_PX; nowhere else, not even inside the line."""
    from seamline.ops.text.removal import REGROW_LINE_PX, REGROW_MASK_PX, regrow_limit

    first = np.zeros((120, 200), bool)
    first[50:60, 20:40] = True  # a masked letter
    poly = np.float64([[20, 45], [180, 45], [180, 65], [20, 65]])  # its line
    box = (slice(10, 110), slice(5, 195))
    ok = regrow_limit(poly, first, box)
    at = lambda y, x: bool(ok[y - 10, x - 5])  # noqa: E731  (frame coordinates)
    assert ok.shape == (100, 190)
    assert at(60 + REGROW_MASK_PX - 1, 30) and at(55, 40 + REGROW_MASK_PX - 1)
    assert not at(60 + REGROW_MASK_PX + 2, 30) and not at(100, 100)
    assert not at(55, 100)  # in the line, far from the mask: a gradient, not a letter
    # a letter the mask missed, found by the leftover look: grown over where it is in the line
    letters = np.zeros(ok.shape, bool)
    letters[40:60, 90:110] = True  # frame rows 50-69: it pokes out below the line
    ok = regrow_limit(poly, first, box, letters=letters)
    assert at(55, 100) and at(65 + REGROW_LINE_PX, 100)
    assert not at(69, 100) and not at(55, 120)
    # a mask pixel just outside the box still reaches into it
    edge = np.zeros_like(first)
    edge[30, 3] = True
    assert regrow_limit(np.float64([[300, 300], [301, 300], [301, 301]]), edge, box)[20, 0]


def test_residue_far_from_the_text_is_not_refilled(shadowed, monkeypatch):
    """A judge's residue beside the line (a blob on the photo 20 px below the caption, as
    the ghost judge finds on a gradient or a coin) is not grown over: those pixels stay the
    photo's, while the missed shadow next to the letters is still grown over and fixed."""
    from seamline.ops.text import ghost

    image, mask, _, regions = shadowed
    line = next(r for r in regions if "roast" in r.text.lower())
    y_low = int(np.max(line.polygon[:, 1]))
    x_mid = int(np.mean(line.polygon[:, 0]))
    blob = np.zeros(image.shape[:2], bool)
    blob[y_low + 16:y_low + 24, x_mid - 10:x_mid + 10] = True
    real, added = ghost.judge_regions, []

    def judge(*a, **k):
        out = real(*a, **k)
        for v in out:
            x0, y0, x1, y1 = v.box
            if v.flagged and blob[y0:y1, x0:x1].sum() == blob.sum():  # inside its look
                v.residue = v.residue | blob[y0:y1, x0:x1]
                added.append(v.index)
        return out

    monkeypatch.setattr(ghost, "judge_regions", judge)
    out, final, report = fill_text(image, mask, regions, max_passes=3)
    # the shadow was still refilled
    assert added and report["passes"] >= 2 and report["failed"] == [], report["failed"]
    assert not (final[blob] > 0).any()
    assert np.array_equal(out[blob], image[blob])
    assert np.array_equal(out[final == 0], image[final == 0])


def _gradient(th, a, b, tint, noise):
    """A 1024x768 photo shading from grey ``a`` to ``b`` along angle ``th`` (rad), tinted,
    plus ``noise`` (HxWx3 float32): a smooth wallpaper-like train photo."""
    yy, xx = np.mgrid[:768, :1024].astype(np.float32)
    t = np.cos(th) * xx + np.sin(th) * yy
    t = (t - t.min()) / (t.max() - t.min())
    photo = (a + (b - a) * t)[..., None] + np.asarray(tint, np.float32)
    return np.clip(photo + noise, 0, 1).astype(np.float32)


def _error_near_text(ov, photo, sigma):
    """remove-text on ``photo`` with the overlay ``ov`` drawn: the result's luminance error
    (/255) after a ``sigma`` px Gaussian blur, on the drawn pixels grown 3 px (1-D), and the
    PSNR there."""
    import seamline as sl
    from seamline.testing import overlays

    image, _, _ = overlays.render(photo, [ov])
    out = np.asarray(sl.remove_text(image.astype(np.float32)).image, np.float32)
    luma = np.float32([0.2126, 0.7152, 0.0722])
    near = cv2.dilate((np.abs(image - photo).max(-1) > 2 / 255).astype(np.uint8),
                      np.ones((7, 7), np.uint8)) > 0
    err = cv2.GaussianBlur((out - photo) @ luma, (0, 0), sigma) * 255
    return err[near], 10 * np.log10(1 / np.mean((out[near] - photo[near]) ** 2))


def test_a_blurred_shadow_tail_is_not_carried_into_the_fill_as_a_dark_word():
    """A huge title with a blurred drop shadow on a smooth photo (the sky of scikit-image's
    camera): the mask stops where the shadow's tail is a few levels darker than the photo,
    and a diffusion fill carried those border pixels across the hole, a dark copy of the
    word readable at 2x (issue 10; DejaVu Sans Bold, the font CI installs: 6.56/255 blurred error
    before d1fe03f, 4.08 with the tail grown over)."""
    from seamline.testing import overlays

    grey = data.camera()[:120, :180].astype(np.float32) / 255
    photo = np.ascontiguousarray(np.repeat(cv2.resize(grey, (768, 384))[..., None], 3, -1))
    font = BOLD_FONT  # DejaVu Sans Bold: the font .ci/run installs
    ov = overlays.Overlay(text="Friends", xy=(60, 90), size_px=150, font=str(font),
                          color=(150, 40, 190), shadow_offset=(8, 8), shadow_blur=4.0,
                          shadow_opacity=0.8)
    err, _ = _error_near_text(ov, photo, 3)
    assert np.abs(err).max() < 5.0


def test_a_shadow_tail_is_taken_before_the_first_fill_when_the_judge_cannot_read_the_ghost():
    """A 160 px title with a drop shadow offset 6 px, blurred 2.7 px, over the sky of
    scikit-image's camera: the mask stops 1-4 px short of the shadow's tail (2-6/255
    darker), Telea carries it across the word, and the ghost judge's OCR reads the grey
    copy as nonsense, so the loop never re-masked it (issue 10: 6.79/255 blurred error, the
    word readable at 2x). The tail is taken into the hole before the first fill (3.77)."""
    import seamline as sl
    from seamline.testing import overlays

    grey = data.camera()[:120, :180].astype(np.float32) / 255
    photo = np.ascontiguousarray(np.repeat(cv2.resize(grey, (1024, 384))[..., None], 3, -1))
    ov = overlays.Overlay(text="Friends", xy=(40, 80), size_px=160, font=str(BOLD_FONT),
                          color=(150, 40, 190), shadow_offset=(6, 6), shadow_blur=2.7,
                          shadow_opacity=0.8)
    image, _, _ = overlays.render(photo, [ov])
    res = sl.remove_text(image.astype(np.float32))
    out = np.asarray(res.image, np.float32)
    luma = np.float32([0.2126, 0.7152, 0.0722])
    drawn = cv2.dilate((np.abs(image - photo).max(-1) > 2 / 255).astype(np.uint8),
                       np.ones((7, 7), np.uint8)) > 0
    err = cv2.GaussianBlur((out - photo) @ luma, (0, 0), 3) * 255
    assert np.abs(err[drawn]).max() < 5.0
    (region,) = [r for r in res.run.stage("inpaint").report["regions"] if r["text"]]
    assert region.get("tail_px", 0) > 0, region  # taken before the first fill


def test_a_soft_shadow_tail_only_a_few_levels_dark_is_not_carried_in_as_dark_blotches():
    """A 146 px bold title with a blurred drop shadow (offset 5, blur 3.4) over a smooth grey
    gradient with a little grain (huge_shadow_check's case 5, drawn here): the mask reaches
    1-2 px into the shadow, so its border is only 2-4/255 darker than the photo (2 % of it
    past 5/255, the old gate), and Telea carried that border in as rows of dark blotches
    inside the letters (issue 10: 10605 px darker by more than 2/255 after a 2 px blur,
    41.6 dB near the text). The tail is taken before the fill at 3/255 (tail.TAIL_STRONG):
    1537 px, 43.1 dB."""
    from seamline.testing import overlays

    # the photo as huge_shadow_check draws its gradients: the same seed, so the same grain
    rng = np.random.default_rng([20261209, 5])
    th = rng.uniform(0, 2 * np.pi)
    a, b = rng.uniform(0.35, 0.8, 2)
    tint = rng.uniform(-0.03, 0.03, 3)
    photo = _gradient(th, a, b, tint, rng.normal(0, 0.006, (768, 1024, 3)).astype(np.float32))
    ov = overlays.Overlay(text="Journey", xy=(303.87, 60.19), size_px=146, font=str(BOLD_FONT),
                          color=(200, 111, 43), shadow_offset=(5, 5), shadow_blur=3.368,
                          shadow_opacity=0.8)
    err, psnr = _error_near_text(ov, photo, 2)
    dark = int((err < -2).sum())  # a darker copy of the word, blotches
    assert dark < 4000  # dark blotches: 10605 before, 1537 after
    assert psnr > 42.5  # 41.6 before, 43.1 after


def test_a_grey_soft_shadow_over_a_grainy_gradient_is_taken_though_it_stands_2_5x_above_it():
    """A purple 155 px title with a grey blurred drop shadow (offset 3, blur 3.2) over a grey
    gradient with grain (0.8 % noise): the shadow's tail beside the hole stands 2.6x above
    what the photo estimate errs by on the photo beyond it, under the 3.0x gate then in
    force, so it was left and the fill copied it in as a darker word (issue 10: 11983 px
    darker by more than 2/255 after a 2 px blur, 36.1 dB near the text). Taken at 2.5x
    (tail.TAIL_OVER_PHOTO): 864 px, 38.6 dB."""
    from seamline.testing import overlays

    noise = np.random.default_rng(8).normal(0, 0.0082, (768, 1024, 3)).astype(np.float32)
    photo = _gradient(1.2027, 0.548, 0.8247, (0.0068, 0.0042, -0.007), noise)
    ov = overlays.Overlay(text="Friends", xy=(118.57, 259.14), size_px=155, font=str(BOLD_FONT),
                          color=(141, 40, 209), shadow_offset=(3, 3), shadow_blur=3.17,
                          shadow_color=(118, 118, 118), shadow_opacity=0.83)
    err, psnr = _error_near_text(ov, photo, 2)
    dark = int((err < -2).sum())  # a darker copy of the word, blotches
    assert dark < 4000  # a darker word: 11983 before, 864 after
    assert psnr > 37.5  # 36.1 before, 38.6 after


def test_the_smear_ladder_stops_before_the_exemplar_fill_on_a_smooth_context(fur_title,
                                                                              monkeypatch):
    """A region whose ring is smooth (neither texture nor structure: bokeh, a blurred
    backdrop) whose Telea and FSR fills are both flagged as smeared keeps FSR and is named:
    the exemplar fill has no texture to copy there, only the rims of a few big soft shapes,
    and pasted them into the hole as hard-edged fragments (train glow5, a caption over
    bokeh: 13.6 dB against FSR's 16.9). Over texture the ladder still ends at exemplar."""
    import seamline.ops.text.removal as removal
    from seamline.ops.text.region_fill import TEXTURE_ENERGY, smooth_context

    image, _, mask, regions = fur_title
    flagged = {"flagged": True, "judged": True, "interior_px": 100, "seam_ratio": 3.0,
               "reasons": ["smeared: forced by the test"]}
    monkeypatch.setattr(removal, "_judge_fill",
                        lambda *a, **k: (dict(flagged), {"flagged": False, "reasons": []}))
    for energy, ladder in ((1e-4, ["telea", "fsr"]), (1e-3, ["telea", "fsr", "exemplar"])):
        numbers = {"ring_texture_energy": energy, "ring_edge_fraction": 0.04}
        monkeypatch.setattr(removal, "choose_region_fill",
                            lambda *a, n=numbers, **k: ("telea", "forced by the test", dict(n)))
        out, final, report = fill_text(image, mask, regions, max_passes=3, ocr=_no_ocr)
        r = report["regions"][0]
        assert [p["backend"] for p in r["passes"]] == ladder, r["passes"]
        assert r["smooth_context"] == (energy <= TEXTURE_ENERGY)
        assert report["failed"][0]["judges"] == ["smear"]
        assert f"({ladder[-1]} fill)" in report["failed"][0]["reasons"][0]
        assert np.array_equal(out[final == 0], image[final == 0])
    # structure in the ring is not smooth either
    assert not smooth_context({"ring_texture_energy": 1e-4, "ring_edge_fraction": 0.2})
    assert not smooth_context({})  # no numbers: no claim


def test_a_fill_judged_again_as_it_is_keeps_its_verdict_without_a_second_look(shadowed,
                                                                              monkeypatch):
    """The loop judges a refilled region's surface on the refill and again after the ghost
    judge's next read, with nothing changed in between: the second look is the first one's
    verdict (the judges are deterministic), so the result is the one judging every time
    gives, and no crop is looked at twice."""
    import hashlib

    import seamline.ops.inpaint.surface as surface
    import seamline.ops.text.removal as removal
    from seamline.ops.text.fill_judges import Seen

    image, mask, _, regions = shadowed
    looks: list = []
    judge = surface.judge_surface

    def counted(img, hole, *, known=None, keep=None):
        looks.append(hashlib.sha256(img.tobytes() + np.packbits(hole).tobytes()
                                    + np.packbits(known).tobytes()).hexdigest())
        return judge(img, hole, known=known, keep=keep)

    monkeypatch.setattr(surface, "judge_surface", counted)
    # the rim's give-back before each ghost read changes this fixture's fills between the two
    # looks (fill-text v35): kept out, so the second look is of the same crop
    monkeypatch.setattr(removal, "rim_back", lambda *a, **k: 0)
    remembered = fill_text(image, mask, regions, max_passes=3)
    once = list(looks)
    looks.clear()
    monkeypatch.setattr(Seen, "verdict",
                        lambda self, judge, box, crop, here, known, look: look())
    every_time = fill_text(image, mask, regions, max_passes=3)
    assert len(looks) > len(set(looks))  # the loop does judge a fill again as it is ...
    assert len(once) == len(set(once)) == len(set(looks))  # ... looked at once here
    assert np.array_equal(remembered[0], every_time[0])
    assert np.array_equal(remembered[1], every_time[1])

    assert _untimed(remembered[2]) == _untimed(every_time[2])


def test_the_curves_across_a_fill_are_searched_once_per_crop_as_it_is(fur_title, monkeypatch):
    """The smear and structure judges search the curves across a fill's crop, and the grain
    fix on that very crop (nothing changed in between) reads the curves they found instead of
    searching again: the same image, mask and report as searching every time."""
    import hashlib

    import seamline.ops.inpaint.edge_first as edge_first
    from seamline.ops.text.fill_judges import Seen

    image, _, mask, regions = fur_title
    searched: list = []
    search = edge_first.curves

    def counted(img, hole, *, known=None):
        searched.append(hashlib.sha256(img.tobytes() + np.packbits(hole).tobytes()
                                       + np.packbits(known).tobytes()).hexdigest())
        return search(img, hole, known=known)

    monkeypatch.setattr(edge_first, "curves", counted)
    found_once = fill_text(image, mask, regions, max_passes=3, ocr=_no_ocr)
    assert "texture" in found_once[2]["regions"][0]["passes"][0]  # the grain fix ran
    once = list(searched)
    searched.clear()
    monkeypatch.setattr(Seen, "curves", lambda self, box, crop, here, known: edge_first.curves(
        crop, here, known=known))
    every_time = fill_text(image, mask, regions, max_passes=3, ocr=_no_ocr)
    assert len(searched) > len(set(searched))  # the grain fix asks for a crop searched ...
    assert len(once) == len(set(once)) == len(set(searched))  # ... searched once here
    assert np.array_equal(found_once[0], every_time[0])
    assert np.array_equal(found_once[1], every_time[1])

    assert _untimed(found_once[2]) == _untimed(every_time[2])



def test_a_ghost_regrowth_is_narrow_first_and_wide_once_the_line_stays_flagged(shadowed,
                                                                               monkeypatch):
    """issue 10 (grow23): where the judge narrowed a line's residue to the stretches that
    score on their own, the loop grows over those first; if the line is still flagged, over
    every aligned edge's residue (``residue_all``) on every later pass. The narrow fill is
    not counted in ``max_passes``: every wide regrowth main had still follows it (the
    36-case mix's 023: a tiled copy cut by the frame needed two). A band 5-7 px above the
    caption stands for the wide residue's extra edges."""
    from seamline.ops.text import ghost
    from seamline.ops.text.regrow import fills_used, wide_residue

    image, mask, _, regions = shadowed
    line = next(r for r in regions if "roast" in r.text.lower())
    m = (mask > 0).astype(np.uint8)
    band = (cv2.dilate(m, np.ones((15, 15), np.uint8)) > 0) & ~(
        cv2.dilate(m, np.ones((9, 9), np.uint8)) > 0)
    band[int(np.mean(line.polygon[:, 1])):] = False  # above the letters: no shadow there
    real, calls = ghost.judge_regions, []

    def judge(*a, **k):
        out = real(*a, **k)
        calls.append(1)
        for v in out:
            if v.text == line.text:
                x0, y0, x1, y1 = v.box
                v.residue_all = v.residue | band[y0:y1, x0:x1]
                v.flagged = len(calls) == 1 or not cleared  # the narrow regrowth cleared it?
                v.reasons = ["glyph-shaped residue (test)"] if v.flagged else []
        return out

    monkeypatch.setattr(ghost, "judge_regions", judge)
    for cleared, max_passes in ((True, 3), (False, 3), (False, 2)):
        calls.clear()
        _, final, report = fill_text(image, mask, regions, max_passes=max_passes)
        passes = next(r for r in report["regions"] if r["text"] == line.text)["passes"]
        if cleared:  # the narrow regrowth alone: the band stays photo
            assert passes[1]["narrow"] and "ghost" in passes[1]["because"]
            assert not any("ghost" in p["because"] for p in passes[2:])  # (a smear's refill
            assert np.mean(final[band] > 0) < 0.4  # or a broken edge's grows nothing)
            continue
        assert [p["narrow"] for p in passes[1:]] == [True] + [False] * (max_passes - 1)
        assert fills_used(passes) == max_passes and report["passes"] == max_passes + 1
        assert np.mean(final[band] > 0) > 0.9  # the wide regrowth took the band
        assert any(f["text"] == line.text for f in report["failed"])
    assert not wide_residue([{"because": []}, {"because": ["smear"]}])
    assert wide_residue([{"because": []}, {"because": ["ghost", "smear"]}])


def test_a_regrowth_gives_the_photo_back_far_from_the_ink(monkeypatch):
    """issue 10 (far24): a ghost regrowth's refill gives back the photo's own pixels where
    it hardly changed them (KEEP_PHOTO) more than REGROW_MASK_PX from the ink (the mask's
    pixels the fills changed), and they leave the mask. Train mix 023 (tiled copies over
    black, a 4-5 px margin the fill gave back unchanged): the residue grown over reached
    13 px past the drawn strokes, 442 px changed there by a level or two. Here a judge's
    residue ring 10-12 px from a white word on a smooth gradient, 5-7 px past its 5 px
    margin: main grew over it and changed it; now it is the photo's, bit for bit, and out of
    the mask, while the hole still grew by its 1 px all round (near the ink)."""
    from seamline.ops.text import ghost

    h, w = 140, 360
    ramp = np.linspace(0.35, 0.55, w, dtype=np.float32)
    photo = np.repeat(np.repeat(ramp[None, :, None], h, 0), 3, 2) * np.float32([1.0, 0.9, 0.8])
    image, alpha = draw_text(photo, [TextItem("LAKE", (70, 40), 48, color=(255, 255, 255))])
    drawn = alpha > 0.01
    dist = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5)
    mask = dist <= 5  # the strokes and a 5 px margin
    ring = (dist > 10) & (dist <= 12)
    ys, xs = np.nonzero(drawn)
    region = TextRegion(np.float32([[xs.min() - 4, ys.min() - 4], [xs.max() + 4, ys.min() - 4],
                                    [xs.max() + 4, ys.max() + 4], [xs.min() - 4, ys.max() + 4]]),
                        "LAKE")
    real, calls = ghost.judge_regions, []

    def judge(*a, **k):
        out = real(*a, **k)
        calls.append(1)
        if len(calls) == 1:  # the first look: flagged, its residue the ring
            for v in out:
                x0, y0, x1, y1 = v.box
                v.flagged, v.reasons = True, ["glyph-shaped residue (test)"]
                v.residue = v.residue | ring[y0:y1, x0:x1]
        return out

    monkeypatch.setattr(ghost, "judge_regions", judge)
    out, final, report = fill_text(image, mask.astype(np.float32), [region], max_passes=2)
    final = final > 0
    assert len(calls) >= 2 and report["passes"] >= 2  # it was regrown and judged again
    assert final.sum() > mask.sum()                   # the hole grew all round ...
    assert not final[ring].any()                      # ... the ring is the photo's again
    assert np.array_equal(out[ring], image[ring])
    assert np.array_equal(out[~final], image[~final])
