import json
import time

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage import data
from skimage.morphology import disk

from seamline.errors import InputError
from seamline.io import as_image
from seamline.ops.masks import (
    blur_on,
    blur_over,
    context_ring,
    dilation_for_text,
    feather,
    fill_holes,
    grow,
    grow_over_halos,
    mask_components,
    normalize_mask,
    preflight_mask,
    remove_specks,
    shrink,
)


def blank(h=128, w=128):
    return np.zeros((h, w), np.float32)


def test_remove_specks_drops_exactly_the_small_components():
    m = blank()
    m[40:60, 40:70] = 1  # 600 px
    m[5, 5] = 1  # 1 px
    m[10, 100:103] = 1  # 3 px
    m[100:102, 100:102] = 1
    m[100, 102] = 0.5  # 5 px, one of them soft
    out = remove_specks(m, min_area_px=4)
    assert out.dtype == np.float32
    assert out[5, 5] == 0 and out[10, 100:103].sum() == 0
    assert (out > 0).sum() == 600 + 5
    assert out[100, 102] == 0.5  # kept components keep their soft values


def test_fill_holes_fills_enclosed_holes_up_to_the_limit():
    m = blank()
    m[20:80, 20:80] = 1
    m[30:33, 30:33] = 0  # 9 px hole
    m[50:60, 50:60] = 0  # 100 px hole
    m[0:10, 100:128] = 1
    m[0:5, 110:115] = 0  # open to the image border: not a hole
    out = fill_holes(m, max_hole_px=50)
    assert out.sum() - m.sum() == 9
    assert out[30:33, 30:33].min() == 1 and out[50:60, 50:60].max() == 0
    assert out[0:5, 110:115].max() == 0
    assert fill_holes(m, max_hole_px=100).sum() - m.sum() == 109


def test_grow_and_shrink_use_a_euclidean_disk():
    m = blank()
    m[64, 64] = 1
    for px in (1, 3, 6):
        assert grow(m, px).sum() == disk(px).sum()
    rect = blank()
    rect[40:60, 30:90] = 1
    grown = grow(rect, 5)
    ys, xs = np.nonzero(grown)
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (35, 64, 25, 94)
    assert np.array_equal(shrink(grown, 5), rect)  # closing a convex shape returns it
    assert np.array_equal(grow(rect, 0), rect) and grow(rect, 0) is not rect
    with pytest.raises(InputError, match="px: expected a non-negative integer, got -1"):
        grow(rect, -1)


def test_feather_keeps_the_core_and_falls_off_outside():
    m = blank()
    m[40:80, 40:80] = 1
    out = feather(m, 6)
    assert np.array_equal(out[m == 1], np.ones(1600, np.float32))
    row = out[60, 80:92]  # leaving the core to the right: distances 1, 2, ...
    assert np.all(np.diff(row[:7]) < 0) and row[0] > 0.9
    assert np.all(row[6:] == 0) and row[5] > 0  # distance 6 still soft, 7 is out
    assert (out > 0).sum() > (m > 0).sum()
    assert np.array_equal(feather(m, 0), m)


def test_dilation_for_text_grows_with_stroke_and_height():
    assert dilation_for_text(2, 14) == 1  # thin caption
    assert dilation_for_text(12, 120) == 3  # bold title
    strokes = [dilation_for_text(s, 40) for s in (1, 2, 4, 8, 16, 32)]
    heights = [dilation_for_text(3, h) for h in (10, 40, 100, 200, 300)]
    assert strokes == sorted(strokes) and strokes[-1] > strokes[0]
    assert heights == sorted(heights) and heights[-1] > heights[0]
    assert dilation_for_text(200, 2000) == 12 and dilation_for_text(0.1, 1) == 1
    with pytest.raises(InputError, match="stroke_width_px: expected a positive number, got 0"):
        dilation_for_text(0, 10)


def test_normalize_mask_cleans_dilates_and_reports():
    m = blank(200, 300)
    m[50:100, 50:150] = 0.8  # soft detector output
    m[70:74, 80:84] = 0  # a letter counter: 16 px hole
    m[150, 250] = 1  # speck
    out, report = normalize_mask(m, min_area_px=10, max_hole_px=50, stroke_width_px=4, text_height_px=50)
    json.dumps(report)
    assert report["soft_input"] and report["dilate_source"] == "text"
    assert report["dilate_px"] == dilation_for_text(4, 50) == 2
    assert (report["specks_removed"], report["speck_px_removed"]) == (1, 1)
    assert (report["holes_filled"], report["hole_px_filled"]) == (1, 16)
    assert report["before"] == {"coverage": pytest.approx((5000 - 16 + 1) / 60000), "n_components": 2}
    assert report["after"]["n_components"] == 1
    rect = blank(200, 300)
    rect[50:100, 50:150] = 1
    assert np.array_equal(out, grow(rect, 2))  # speck gone, counter filled, then dilated


def test_normalize_mask_defaults_scale_with_image_and_are_fast():
    rng = np.random.default_rng(0)
    m = (rng.random((768, 1024)) > 0.999).astype(np.float32)  # scattered specks
    cv2.line(m, (100, 100), (900, 600), 1, 9)
    # CPU time of this process, not wall time: other jobs on a loaded CI machine stretch the
    # wall clock without saying anything about this code
    t = time.process_time()
    out, report = normalize_mask(m, feather_px=4)
    assert time.process_time() - t < 0.5
    assert (report["min_area_px"], report["max_hole_px"], report["dilate_px"]) == (16, 197, 2)
    assert report["dilate_source"] == "default" and not report["soft_input"]
    assert report["after"]["n_components"] == 1 and report["specks_removed"] > 500
    assert out.max() == 1 and ((out > 0) & (out < 1)).any()  # feathered


def test_normalize_mask_rejects_half_a_text_spec():
    with pytest.raises(InputError) as e:
        normalize_mask(blank(), stroke_width_px=3)
    assert "text_height_px=None" in str(e.value) and "\n" not in str(e.value)


def test_mask_components_geometry():
    m = blank(100, 200)
    cv2.circle(m, (50, 50), 10, 1, -1)
    m[80, 100:180] = 1  # hairline
    m[0:5, 190:200] = 1  # corner block
    comps = mask_components(m)
    assert [c["index"] for c in comps] == [0, 1, 2]
    by_x = {c["bbox"][0]: c for c in comps}
    block, disk_c, line = by_x[190], by_x[40], by_x[100]
    assert block["area_px"] == 50 and block["bbox"] == [190, 0, 10, 5] and block["touches_border"]
    assert line["max_inscribed_radius"] == 0.5 and not line["touches_border"]
    assert disk_c["bbox"] == [40, 40, 21, 21] and 9 <= disk_c["max_inscribed_radius"] <= 11
    assert disk_c["centroid"] == pytest.approx([50, 50])
    assert block["max_inscribed_radius"] == 2.5  # image border counts as outside
    json.dumps(comps)


def test_context_ring_is_the_outside_band_within_px():
    m = blank()
    cv2.circle(m, (64, 64), 15, 1, -1)
    ring = context_ring(m, 6)
    dist = ndimage.distance_transform_edt(m == 0)
    assert ring.dtype == bool and not (ring & (m > 0)).any()
    assert np.array_equal(ring, (m == 0) & (dist <= 6))


def test_context_ring_wider_than_the_frame_is_everything_outside_the_mask():
    # a ring_px past the frame's diagonal built a (2px+1)^2 disk first: qa.ring_px=1e30 was
    # a ValueError traceback, and 20000 px over 10 GB of temporaries (not tried here)
    m = blank()[:40, :50]
    cv2.circle(m, (20, 20), 6, 1, -1)
    outside = m == 0
    diagonal = int(np.ceil(np.hypot(39, 49)))
    assert np.array_equal(context_ring(m, diagonal), outside)  # the disk's own result
    for px in (diagonal + 1, 10**30):
        assert np.array_equal(context_ring(m, px), outside), px
    assert not context_ring(np.zeros_like(m), 10**30).any()


def test_nan_limits_are_refused_not_ignored():
    # a NaN limit compared false with every figure: max_coverage=NaN never failed,
    # sliver_px=NaN found no sliver, threshold_l=NaN no halo, and nothing said so
    image = as_image(data.astronaut())[:96, :128]
    m = np.zeros(image.shape[:2], np.float32)
    m[:, :100] = 1
    for kw in ({"max_coverage": np.nan}, {"sliver_px": np.nan},
               {"max_texture_energy": np.inf}):
        name = next(iter(kw))
        with pytest.raises(InputError, match=f"^{name}: expected a finite number >= 0, got "):
            preflight_mask(image, m, **kw)
    with pytest.raises(InputError, match="^threshold_l: expected a finite number >= 0, got nan"):
        grow_over_halos(image, m, threshold_l=float("nan"))
    assert preflight_mask(image, m, max_coverage=2)["ok"]  # past 1: never fails, as before


def test_preflight_flags_coverage_slivers_and_border_with_numbers():
    image = as_image(data.astronaut())
    m = np.zeros(image.shape[:2], np.float32)
    m[:, :210] = 1  # 41 % of the image, touching the border
    m[300, 300:400] = 1  # hairline
    report = preflight_mask(image, m)
    json.dumps(report)
    assert not report["ok"]
    assert report["failures"] == ["coverage 0.411 exceeds max_coverage 0.35"]
    assert report["n_slivers"] == 1 and report["n_border"] == 1
    sliver = next(w for w in report["warnings"] if "sliver" in w)
    assert "0.50" in sliver and "sliver_px 1.5" in sliver
    border = next(w for w in report["warnings"] if "border" in w)
    assert "[0, 0, 210, 512]" in border
    assert all("\n" not in msg for msg in report["warnings"] + report["failures"])
    assert report["component_area_px"] == {"min": 100, "median": 53810.0, "max": 107520}


def test_preflight_small_components_and_clean_mask():
    image = as_image(data.astronaut())
    m = np.zeros(image.shape[:2], np.float32)
    cv2.circle(m, (300, 350), 12, 1, -1)
    clean = preflight_mask(image, m)
    assert clean["ok"] and clean["n_components"] == 1
    m[10, 200] = 1
    report = preflight_mask(image, m, min_component_px=4)
    assert report["n_small"] == 1 and report["ok"]
    assert any("smaller than min_component_px 4 (area_px #0: 1)" in w for w in report["warnings"])


def test_preflight_ring_statistics_separate_sky_from_brick():
    sky, brick = as_image(data.camera()), as_image(data.brick())  # camera's top rows are a clear sky
    m = blank(512, 512)
    m[40:60, 100:130] = 1
    r_sky, r_brick = preflight_mask(sky, m), preflight_mask(brick, m)
    ring_sky, ring_brick = r_sky["components"][0]["ring"], r_brick["components"][0]["ring"]
    assert ring_sky["n_px"] == ring_brick["n_px"] > 0
    assert ring_brick["texture_energy"] > 30 * ring_sky["texture_energy"]
    assert ring_brick["variance"] > 30 * ring_sky["variance"]
    assert r_sky["warnings"] == [] and r_brick["ring_summary"]["n_textured"] == 1
    assert any("texture_energy above max_texture_energy" in w for w in r_brick["warnings"])


def test_preflight_empty_and_full_masks():
    image = as_image(data.coffee())
    empty = preflight_mask(image, np.zeros(image.shape[:2], np.float32))
    assert empty["coverage"] == 0 and empty["ok"] and empty["notes"] and not empty["failures"]
    full = preflight_mask(image, np.ones(image.shape[:2], np.float32))
    assert not full["ok"] and "no context" in full["failures"][0]


def test_mask_shape_mismatch_is_an_input_error():
    with pytest.raises(InputError, match="mask: size 10x10 does not match image size 600x400"):
        preflight_mask(as_image(data.coffee()), np.zeros((10, 10), np.float32))


def test_grow_over_halos_covers_a_drop_shadow_and_leaves_plain_context_alone():
    from seamline.ops.masks import grow_over_halos

    photo = as_image(data.coffee())
    yy, xx = np.mgrid[: photo.shape[0], : photo.shape[1]]
    disc = (yy - 200) ** 2 + (xx - 300) ** 2 <= 15 ** 2
    shadow = ((yy - 203) ** 2 + (xx - 303) ** 2 <= 18 ** 2) & ~disc
    img = photo.copy()
    img[shadow] *= 0.35  # a dark soft shadow ring around a "letter"
    img[disc] = 1.0
    grown, rep = grow_over_halos(img, disc.astype(np.float32), max_extra_px=6)
    assert rep["halo_steps"] >= 2 and rep["halo_px_added"] > 0
    assert grown[shadow].mean() > 0.8  # most of the shadow is now masked
    same, rep = grow_over_halos(photo, disc.astype(np.float32), max_extra_px=6)
    assert rep["halo_steps"] <= 1  # no shadow in the untouched photo: little or no growth
    assert same.sum() - disc.sum() < 0.5 * (grown.sum() - disc.sum())


def test_block_max_is_the_maximum_of_every_cell():
    """support_boxes' grid of cell maxima (rows reduced first, then columns) against the
    maximum of each cell taken one by one: partial cells at the right and bottom edges,
    masks smaller than a cell, bool / uint8 / float32, and a NaN kept where it lies."""
    from seamline.ops.masks import _block_max

    rng = np.random.default_rng(7)
    for shape in ((97, 130), (64, 64), (20, 30), (33, 200), (130, 17)):
        for dtype in (np.float32, np.uint8, bool):
            m = (rng.random(shape) * (rng.random(shape) > 0.97) * 3).astype(dtype)
            if dtype == np.float32:
                m[shape[0] // 2, shape[1] // 3] = np.nan
            for b in (16, 32, 40):
                got = _block_max(m, b)
                assert got.shape == (-(-shape[0] // b), -(-shape[1] // b))
                assert got.dtype == m.dtype
                want = np.array([[m[i:i + b, j:j + b].max() for j in range(0, shape[1], b)]
                                 for i in range(0, shape[0], b)], m.dtype)
                np.testing.assert_array_equal(got, want)


def test_blur_over_means_the_pixels_that_count_for_any_number_of_channels():
    # review: OpenCV blurs a one-channel (H, W, 1) array to (H, W), and the mean broadcast
    # that against the (H, W, 1) weight into an (H, H, W) array (or raised)
    rng = np.random.default_rng(3)
    a = rng.random((40, 50, 3)).astype(np.float32)
    where = rng.random((40, 50)) < 0.5
    a[~where] = 7.0  # outside: does not count
    mean3, w3 = blur_over(a, where, 2.0)
    assert mean3.shape == (40, 50, 3) and w3.shape == (40, 50)
    assert 0 < mean3.min() and mean3.max() < 1 and 0 < w3.min() and w3.max() <= 1
    for c in range(3):
        mean1, w1 = blur_over(a[..., c:c + 1], where, 2.0)
        assert mean1.shape == (40, 50, 1)
        assert np.allclose(mean1[..., 0], mean3[..., c], atol=1e-6) and np.array_equal(w1, w3)
    flat, _ = blur_over(np.full((40, 50, 1), 0.25, np.float32), where, 2.0)
    assert np.allclose(flat, 0.25, atol=1e-5)  # a constant's mean is the constant


def test_blur_on_a_box_is_the_whole_frames_blur_there_bit_for_bit():
    # blur_on / blur_over(box=) blur the box grown by the kernel's radius, its columns on
    # multiples of 64: OpenCV's row ends run scalar code that rounds unlike its SIMD middle,
    # so an unaligned crop reaching the frame's right edge differs in the last bits there
    rng = np.random.default_rng(5)
    for i in range(300):
        h, w = (int(v) for v in rng.integers(12, 300, 2))
        a = rng.random((h, w, 3 if i % 2 else 1), dtype=np.float32)
        a[rng.random((h, w)) < 0.3] = 0
        sigma = float(rng.choice([1.0, 1.5, 2.0, 4.0, 6.0, 12.0, 30.0])) * (1 + 0.01 * rng.random())
        y0, x0 = int(rng.integers(0, h // 2)), int(rng.integers(0, w // 2))
        y1 = int(rng.integers(y0 + 1, h + 1))
        x1 = w if i % 3 == 0 else int(rng.integers(x0 + 1, w + 1))
        box = (slice(y0, y1), slice(x0, x1))
        full = cv2.GaussianBlur(a, (0, 0), sigma).reshape(a.shape)
        assert np.array_equal(blur_on(a, sigma, box), full[box])
        grey = np.ascontiguousarray(a[..., 0])
        assert np.array_equal(blur_on(grey, sigma, box),
                              cv2.GaussianBlur(grey, (0, 0), sigma)[box])
        where = rng.random((h, w)) < 0.6
        mean, weight = blur_over(a, where, sigma)
        mean_b, weight_b = blur_over(a, where, sigma, box=box)
        assert np.array_equal(mean_b, mean[box]) and np.array_equal(weight_b, weight[box])


def test_blur_on_an_empty_box_gives_the_whole_frames_empty_read():
    # review24: a sigma under 1/16 px has a 1-tap kernel (radius 0): an empty box then made an
    # empty crop, which cv2.GaussianBlur refuses (-215 !_src.empty()), where the whole
    # frame's blur read on the box is an empty array
    rng = np.random.default_rng(7)
    a = rng.random((40, 130, 3), dtype=np.float32)
    where = rng.random((40, 130)) < 0.5
    for sigma in (0.01, 0.05, 1.0):
        for box in ((slice(5, 5), slice(64, 64)), (slice(0, 0), slice(0, 90)),
                    (slice(3, 30), slice(128, 128)), (slice(40, 40), slice(130, 130))):
            full = cv2.GaussianBlur(a, (0, 0), sigma)
            got = blur_on(a, sigma, box)
            assert got.shape == full[box].shape and np.array_equal(got, full[box])
            mean, weight = blur_over(a, where, sigma)
            mean_b, weight_b = blur_over(a, where, sigma, box=box)
            assert mean_b.shape == mean[box].shape and weight_b.shape == weight[box].shape
        # a non-empty box at that sigma: the frame's values (its 1-tap blur is a copy)
        box = (slice(5, 9), slice(60, 70))
        assert np.array_equal(blur_on(a, sigma, box), cv2.GaussianBlur(a, (0, 0), sigma)[box])
