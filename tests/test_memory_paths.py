"""Memory follows the text and the content, not the frame (issue 11 item 8, issue 14 item 8).

Each rewrite that bounds memory is checked twice: its result is bit-identical to the
whole-frame expression it replaces (real photos, text drawn by seamline.testing.synth), and
its peak allocation, measured with tracemalloc (numpy reports its buffers there), stays near
the size of its output instead of a few full-frame float copies.
"""

from __future__ import annotations

import tracemalloc

import cv2
import numpy as np
import pytest
from skimage import data

from seamline.core import arrays, artifacts
from seamline.io import as_image, to_uint8, to_uint16
from seamline.ops.text import detect
from seamline.testing.synth import TextItem, draw_text


def _peak(fn, *args, **kwargs):
    """(result, peak bytes traced while ``fn`` ran)."""
    tracemalloc.start()
    try:
        out = fn(*args, **kwargs)
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _old_to_int(a, top, dtype):
    """The whole-frame conversion the strip-wise one replaces."""
    x = a if np.issubdtype(a.dtype, np.floating) else arrays._unit_float(a, "image")
    return np.rint(np.clip(x, 0, 1) * top).astype(dtype)


@pytest.fixture(scope="module")
def photo_with_text():
    """astronaut() at 1024x1024 with three captions (one rotated, one outlined)."""
    clean = as_image(cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))
    items = [TextItem("GALAXY TOURS", (380, 60), 64, color=(20, 20, 20)),
             TextItem("Orbit Station", (90, 560), 56, color=(255, 255, 255), angle_deg=-12),
             TextItem("SPACE 2031", (60, 860), 72, color=(255, 230, 0), stroke_px=3)]
    image, _ = draw_text(clean, items)
    return image


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16])
def test_to_uint_strips_are_bit_identical(monkeypatch, dtype):
    rng = np.random.default_rng(3)
    photo = as_image(data.coffee()).astype(np.float64)
    photo += rng.normal(0, 0.02, photo.shape)  # values beyond [0, 1] too: clipped alike
    a = (photo.astype(dtype) if dtype != np.uint16
         else np.rint(np.clip(photo, 0, 1) * 65535).astype(np.uint16))
    monkeypatch.setattr(arrays, "_STRIP_ELEMENTS", 7000)  # many strips, a ragged last one
    for fn, top, out_dtype in ((to_uint8, 255, np.uint8), (to_uint16, 65535, np.uint16)):
        if a.dtype == out_dtype:
            continue
        got = fn(a)
        assert got.dtype == out_dtype and got.shape == a.shape
        np.testing.assert_array_equal(got, _old_to_int(a, top, out_dtype))
        np.testing.assert_array_equal(fn(a[..., ::-1]), _old_to_int(a, top, out_dtype)[..., ::-1])


def test_to_uint8_peak_is_about_its_output():
    """A 12 MP float image: the old expression traced two full float copies (+288 MB)."""
    img = np.full((3000, 4000, 3), 0.5, np.float32)
    out, peak = _peak(to_uint8, img)
    assert out.nbytes == 36_000_000
    assert peak < out.nbytes + 16_000_000, peak


def test_detect_sees_the_same_pixels_and_finds_the_same_boxes(photo_with_text, monkeypatch):
    """The detector gets the bytes the whole-frame conversion gave it, so every box is equal."""
    seen = []
    eng = detect.get_engine()

    class Spy:
        def __call__(self, bgr, **kw):
            seen.append(bgr)
            return eng(bgr, **kw)

    monkeypatch.setattr(detect, "get_engine", lambda: Spy())
    found = detect.detect_text(photo_with_text)
    monkeypatch.undo()
    old_bgr = np.ascontiguousarray(_old_to_int(photo_with_text, 255, np.uint8)[..., ::-1])
    assert len(seen) == 1 and seen[0].flags.c_contiguous
    np.testing.assert_array_equal(seen[0], old_bgr)
    res = eng(old_bgr, use_det=True, use_cls=False, use_rec=True, text_score=0.5,
              box_thresh=detect._BOX_THRESH, unclip_ratio=detect._UNCLIP_RATIO)
    assert len(found) >= 3
    words = " ".join(r.text for r in found).upper()
    assert "GALAXY" in words and "SPACE" in words
    kept = [np.asarray(b, np.float32) for b, t, s in zip(res.boxes, res.txts, res.scores)
            if s >= 0.5 and not detect.looks_like_structure(str(t), float(s))]
    assert len(kept) == len(found)
    for r in found:
        assert any(np.array_equal(r.polygon, detect.order_clockwise(b)) for b in kept)


@pytest.mark.parametrize("colour", [(0, 0, 0), (128, 128, 128), (255, 255, 255),
                                    (31, 180, 92)])
def test_detector_finds_nothing_on_a_blank_frame(colour):
    """What lets detect_text skip the detector on a one-colour frame: it finds nothing there,
    even at a low box threshold."""
    bgr = np.empty((600, 800, 3), np.uint8)
    bgr[:] = colour[::-1]
    res = detect.get_engine()(bgr, use_det=True, use_cls=False, use_rec=True, text_score=0.0,
                              box_thresh=0.1, unclip_ratio=detect._UNCLIP_RATIO)
    assert getattr(res, "boxes", None) is None or len(res.boxes) == 0


def test_blank_frame_skips_the_detector(monkeypatch):
    """A 12 MP grey frame: no detector call, and no more memory than its uint8 copy."""
    monkeypatch.setattr(detect, "get_engine",
                        lambda: pytest.fail("the detector ran on a blank frame"))
    img = np.full((3000, 4000, 3), 128 / 255, np.float32)
    found, peak = _peak(detect.detect_text, img)
    assert found == []
    assert peak < 3 * 12_000_000 + 12_000_000, peak  # was 36 MB + two 144 MB float copies
    img[1500, 2000, 1] = 0.6  # one pixel of content: the detector runs
    calls = []
    monkeypatch.setattr(detect, "get_engine", lambda: lambda bgr, **kw: calls.append(1))
    detect.detect_text(img)
    assert calls == [1]


def test_mask_statistics_on_the_support_crop_equal_the_whole_frame():
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = np.zeros((int(rng.integers(8, 900)), int(rng.integers(8, 700))), np.float32)
        for _ in range(int(rng.integers(0, 6))):
            y, x = rng.integers(0, m.shape[0]), rng.integers(0, m.shape[1])
            m[y:y + rng.integers(1, 60), x:x + rng.integers(1, 60)] = rng.choice([0.3, 1.0])
        got = artifacts.measure("mask", m)
        n, _, st, _ = cv2.connectedComponentsWithStats((m > 0).astype(np.uint8), 8)
        areas = st[1:, cv2.CC_STAT_AREA]
        assert got["n_components"] == n - 1
        assert got["min_component_px"] == (int(areas.min()) if len(areas) else 0)
        assert got["coverage"] == float(np.count_nonzero(m >= 0.5) / m.size)
        assert got["soft_fraction"] == float(np.count_nonzero((m > 0) & (m < 1)) / m.size)


def test_image_statistics_without_a_full_size_copy():
    img = as_image(data.astronaut())
    st = artifacts.measure("image", img)
    assert st["std"] == pytest.approx(float(img.astype(np.float64).std()), rel=1e-6)
    assert st["mean"] == float(img.mean()) and st["nonfinite"] == 0
    big = np.full((3000, 4000, 3), 0.25, np.float32)
    big[::7, ::5] = 0.75
    _, peak = _peak(artifacts.measure, "image", big)
    assert peak < 32_000_000, peak  # was a 144 MB copy for the std plus a 36 MB bool array
    mask = np.zeros((3000, 4000), np.float32)
    mask[100:140, 200:600] = 1
    _, peak = _peak(artifacts.measure, "mask", mask)
    assert peak < 4_000_000, peak  # was a 48 MB label image and 24 MB of bool arrays
    assert artifacts.digest("image", big) == artifacts.digest("image", big.copy())


def test_hf_energy_strips_equal_the_whole_image():
    from seamline.ops import metrics

    img = as_image(data.astronaut())
    whole = float(metrics._high_pass2(img).mean())
    for rows in (5, 64, 700):
        assert metrics._high_pass2_mean(img, rows) == pytest.approx(whole, rel=1e-12)
    assert metrics.hf_energy(img) == pytest.approx(whole, rel=1e-12)
    big = np.zeros((3000, 4000, 3), np.float32)
    big[::9] = 1
    _, peak = _peak(metrics.hf_energy, big)
    assert peak < 40_000_000, peak  # was 1.2 GB of float32/float64 copies


def test_sr_upscale_holds_its_output_and_a_tile_row():
    """seamline-sr writes into its output with the weight sums of one tile row: no padded copy
    of the input, no frame-sized sums (4 + 4/3 bytes an output pixel more before)."""
    from seamline.ops.upscale.sr import sr_upscale

    tall = np.ascontiguousarray(as_image(cv2.resize(data.coffee(), (128, 2048))))
    sr_upscale(tall[:64, :64])  # the session and its first run outside the trace
    out, peak = _peak(sr_upscale, tall)
    assert out.shape == (4096, 256, 3)
    assert peak < out.nbytes + 4_000_000, peak  # was out + 4.2 MB sums + 4.1 MB padded copy


def test_psnr_strips_equal_the_whole_frame_and_hold_no_float64_copy(monkeypatch):
    from seamline.ops import metrics

    a = as_image(data.astronaut())
    b = np.clip(a + np.random.default_rng(2).normal(0, 0.03, a.shape).astype(np.float32), 0, 1)
    whole = metrics.psnr(a, b)
    monkeypatch.setattr(metrics, "_PSNR_WHOLE_ELEMENTS", 1000)
    assert metrics.psnr(a, b) == pytest.approx(whole, rel=1e-12)
    assert metrics.psnr(a[..., 0], b[..., 0]) == pytest.approx(
        10 * np.log10(1 / np.mean((a[..., 0].astype(np.float64) - b[..., 0]) ** 2)), rel=1e-12)
    monkeypatch.undo()
    big = np.zeros((2000, 3000, 3), np.float32)
    big2 = big.copy()
    big2[::3] = 0.5
    _, peak = _peak(metrics.psnr, big, big2)
    assert peak < 20_000_000, peak  # two 8 MB float64 strips; was 2 x 144 MB float64 + 48 MB


def test_upscale_colour_drift_holds_one_downscaled_copy():
    """color_drift of an x2 upscale: the output downscaled once (for ΔE, PSNR and the
    histograms), ΔE's percentile in place; its figures as before."""
    from seamline.ops import color

    ref = as_image(cv2.resize(data.astronaut(), (1500, 1000), interpolation=cv2.INTER_AREA))
    up = as_image(cv2.resize(ref, (3000, 2000), interpolation=cv2.INTER_CUBIC).clip(0, 1))
    color.color_drift(up[:64, :96], ref[:32, :48])  # the compiled kernels' first call
    got, peak = _peak(color.color_drift, up, ref)
    assert peak < 2.2 * ref.nbytes, peak  # 1.9x; was 4.0x: float64 PSNR, two downscales
    small = cv2.resize(up, (1500, 1000), interpolation=cv2.INTER_AREA)
    from seamline.ops.metrics import delta_e2000

    de = delta_e2000(small, ref)
    assert got["delta_e_mean"] == float(de.mean())
    assert got["delta_e_p95"] == float(np.percentile(de, 95))


@pytest.mark.parametrize("ext,alpha,grey", [(".png", False, False), (".png", True, False),
                                             (".png", False, True), (".jpg", False, False),
                                             (".jpg", False, True), (".webp", True, False)])
def test_written_file_is_what_the_whole_frame_encode_wrote(tmp_path, monkeypatch, ext, alpha,
                                                           grey):
    """8-bit Pillow formats are filled a strip at a time and encoded into the file: the
    same bytes as Image.fromarray of the whole uint8 frame encoded in memory."""
    from seamline.io import write as W

    img = as_image(data.coffee())
    if grey:
        img = np.ascontiguousarray(img @ np.float32([0.2126, 0.7152, 0.0722]))
    h, w = img.shape[:2]
    a = (np.arange(h * w) % 251).astype(np.uint8).reshape(h, w) if alpha else None
    monkeypatch.setattr(W, "_STRIP_PIXELS", 7000)  # many strips, a ragged last one
    path = W.write_image(tmp_path / f"out{ext}", img, alpha=a)
    pixels = to_uint8(img)
    if alpha:
        pixels = np.dstack([pixels, a])
    assert path.read_bytes() == W._encode(ext, pixels, 95, 6)


def test_write_image_holds_no_uint8_frame(tmp_path):
    from seamline.io import write_image

    big = np.zeros((3000, 4000, 3), np.float32)
    big[::5] = 0.5
    _, peak = _peak(write_image, tmp_path / "big.png", big)
    assert peak < 16_000_000, peak  # was the 36 MB uint8 frame and the PNG's bytes twice


def test_batch_workers_are_sized_by_the_largest_image(tmp_path):
    from seamline.batch.worker import (MEMORY_PER_MP, UPSCALE_X2_MEMORY_PER_MP, WORKER_MEMORY,
                                       default_workers, largest_megapixels, worker_memory)

    for name, (w, h) in {"a.png": (640, 480), "b.jpg": (4000, 3000)}.items():
        cv2.imwrite(str(tmp_path / name), np.zeros((h, w, 3), np.uint8))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert largest_megapixels(sorted(tmp_path.iterdir())) == 12.0
    assert largest_megapixels([]) is None
    assert worker_memory(None) == WORKER_MEMORY == worker_memory(1.0)  # small photos: the floor
    assert worker_memory(50) == int(WORKER_MEMORY // 2 + 50 * MEMORY_PER_MP)
    assert worker_memory(50, upscale=4) == int(WORKER_MEMORY // 2
                                               + 4 * 50 * UPSCALE_X2_MEMORY_PER_MP)
    memory = 32 * 2 ** 30
    assert default_workers(16, memory) == 16
    assert default_workers(16, memory, per_worker=worker_memory(50)) == \
        memory // worker_memory(50) == 3
    assert default_workers(16, memory, per_worker=worker_memory(100, upscale=2)) == 1
    assert default_workers(16, 2 ** 30, per_worker=worker_memory(100, upscale=4)) == 1


def _page_with_lines(shape, n_lines):
    """A grey page with ``n_lines`` lines of text drawn by synth; (image, mask, regions)."""
    from seamline.ops.text import TextRegion

    page = np.full(shape + (3,), 0.93, np.float32)
    items = [TextItem(f"line {i} of the page", (40, 20 + 42 * i), 28, color=(20, 20, 20))
             for i in range(n_lines)]
    image, alpha = draw_text(page, items)
    mask = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8))
    regions = []
    for i in range(n_lines):
        _, a = draw_text(page, [items[i]])
        ys, xs = np.nonzero(a > 0.05)
        x0, y0, x1, y1 = xs.min() - 2, ys.min() - 2, xs.max() + 2, ys.max() + 2
        regions.append(TextRegion(np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]),
                                  items[i].text, 0.99))
    return image, mask.astype(np.float32), regions


def test_fill_text_holds_one_crop_per_region_not_a_frame():
    """30 lines on a 3 MP page: the loop kept one frame-sized mask per region (peak 170 MB
    before, 78 MB now; the output is bit-identical, checked against the old loop)."""
    from seamline.ops.text.removal import fill_text

    image, mask, regions = _page_with_lines((1500, 2000), 30)
    before = image.copy()
    (out, final, report), peak = _peak(fill_text, image, mask, regions, backend="telea",
                                       judge=False)
    np.testing.assert_array_equal(image, before)  # input untouched
    assert len(report["regions"]) == 30
    outside = final == 0
    np.testing.assert_array_equal(out[outside], image[outside])
    assert np.abs(out - image)[final > 0].max() > 0.3  # the dark strokes were filled
    # the output and the loop's few frame-sized masks (support, pending, final, labels)
    assert peak < out.nbytes + 60_000_000, peak


def test_reading_makes_one_float_frame(tmp_path):
    """An 8-bit 12 MP PNG: decoded bytes plus one float32 frame (was two float32 frames)."""
    from seamline.io import read_image

    path = tmp_path / "grey.png"
    cv2.imwrite(str(path), np.full((3000, 4000, 3), 128, np.uint8))
    f, peak = _peak(read_image, path)
    assert f.image.dtype == np.float32 and np.all(f.image == np.float32(128) / 255)
    assert peak < f.image.nbytes + 3 * 36_000_000, peak  # + 144 MB before


def _old_inpaint(image, mask, *, backend="telea", radius=3, context_px=None, seed=0,
                 feather_px=0, color_match=None, report=None):
    """ops.inpaint.inpaint before its masks became crops (frame-sized hole, alpha, region,
    labels and 8-bit copies), verbatim but for the argument checks: the oracle."""
    from seamline.ops.compose import composite, edit_alpha, mask_crops, match_fill_to_ring
    from seamline.ops.inpaint import FillOptions, choose_backend, get_backend

    b = get_backend("exemplar" if backend == "auto" else backend)
    report = {} if report is None else report
    hole = mask > 0
    if not hole.any():
        return image.copy()
    alpha = edit_alpha(mask, feather_px)
    region = alpha > 0
    if context_px is None:
        _, _, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), 8)
        extent = int(stats[1:, 2:4].min(axis=1).max())
        context_px = b.context(extent, radius)
    opts = FillOptions(radius=float(radius), seed=int(seed))
    out = image.copy()
    region_u8 = region.astype(np.uint8) * 255
    report.update(backend=backend, context_px=context_px, feather_px=feather_px,
                  color_match=color_match, crops=[])
    for box in mask_crops(alpha, context_px=context_px):
        crop_report = {"box_yx": [box[0].start, box[1].start, box[0].stop, box[1].stop]}
        cb = b
        if backend == "auto":
            name, crop_report["auto"] = choose_backend(image[box], region[box])
            cb = get_backend(name)
        crop_report["backend"] = cb.name
        fill = np.clip(cb.fill(image[box], region_u8[box], opts), 0, 1)
        if color_match if color_match is not None else cb.family == "learned":
            fill, crop_report["color_match"] = match_fill_to_ring(fill, image[box], region[box])
        report["crops"].append(crop_report)
        out[box] = composite(image[box], fill, alpha[box])
    return out


def _holes(shape, seed):
    """Blobs (two touching, one at the frame's corner), a thin stroke and soft edges."""
    rng = np.random.default_rng(seed)
    m = np.zeros(shape, np.float32)
    h, w = shape
    for _ in range(6):
        cv2.circle(m, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                   int(rng.integers(4, 30)), 1.0, -1)
    cv2.circle(m, (200, 150), 20, 1.0, -1)
    cv2.circle(m, (236, 150), 18, 1.0, -1)  # touches the one before
    cv2.circle(m, (0, 0), 12, 1.0, -1)
    cv2.line(m, (40, h - 60), (w - 80, h - 30), 1.0, 2)
    return np.clip(cv2.GaussianBlur(m, (0, 0), 1.2) * 1.4, 0, 1).astype(np.float32)


@pytest.mark.parametrize("backend,feather_px,context_px", [
    ("telea", 0, None), ("ns", 3, None), ("telea", 2, 40), ("auto", 0, None),
    ("fsr", 0, None)])
def test_inpaint_on_crops_gives_what_the_frame_sized_masks_gave(backend, feather_px, context_px):
    from seamline.ops.compose import mask_crops, merge_crops
    from seamline.ops.inpaint import inpaint

    image = as_image(data.astronaut())[:, :400]
    for seed in (0, 1):
        mask = _holes(image.shape[:2], seed)
        rep_old, rep_new = {}, {}
        old = _old_inpaint(image, mask, backend=backend, feather_px=feather_px,
                           context_px=context_px, report=rep_old)
        new = inpaint(image, mask, backend=backend, feather_px=feather_px,
                      context_px=context_px, report=rep_new)
        np.testing.assert_array_equal(new, old)
        assert rep_new == rep_old
        # the crops themselves, from component boxes, equal mask_crops' canvas
        n, _, stats, _ = cv2.connectedComponentsWithStats((mask > 0).astype(np.uint8), 8)
        boxes = [(y, y + h, x, x + w) for x, y, w, h in stats[1:, :4]]
        for c in (0, 5, 60):
            assert merge_crops(boxes, context_px=c, shape=mask.shape) == \
                mask_crops(mask, context_px=c)


def test_inpaint_holds_crops_not_frame_sized_masks():
    """40 small holes on a 12 MP frame: the output copy and crops, not ~20 bytes a pixel of
    frame-sized masks (hole, alpha, region, labels, 8-bit copies)."""
    from seamline.ops.inpaint import inpaint

    image = np.zeros((3000, 4000, 3), np.float32)
    image[::7] = 0.5  # some structure
    mask = np.zeros((3000, 4000), np.float32)
    rng = np.random.default_rng(0)
    for y, x in zip(rng.integers(50, 2950, 40), rng.integers(50, 3950, 40)):
        cv2.circle(mask, (int(x), int(y)), 20, 1.0, -1)
    out, peak = _peak(inpaint, image, mask, backend="telea")
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert peak < out.nbytes + 20_000_000, peak  # the frame-sized masks were ~+250 MB


def test_patch_fills_split_a_large_merged_crop_into_one_crop_per_hole(monkeypatch):
    """Holes spread over a photo merge their context boxes into one crop over all of it;
    past MAX_MERGED_CROP_PX a patch fill gets one crop per hole instead (memory follows the
    holes): the pixels outside the mask stay bit-identical, every hole is filled from its
    own context, about as well as from the merged crop."""
    import seamline.ops.inpaint as ops_inpaint

    def psnr(a, b):
        return 10 * np.log10(1 / np.mean((a.astype(np.float64) - b) ** 2))

    photo = as_image(data.astronaut())[::2, ::2]  # 256x256, the truth under the holes
    mask = np.zeros(photo.shape[:2], np.float32)
    for c in (35, 100, 165, 225):  # on a diagonal: each context box overlaps the next
        cv2.circle(mask, (c, c), 9, 1.0, -1)
    image = photo.copy()
    image[mask > 0] = (1.0, 0.0, 1.0)  # what the fill must not copy
    merged_rep, split_rep = {}, {}
    merged = ops_inpaint.inpaint(image, mask, backend="exemplar", report=merged_rep)
    monkeypatch.setattr(ops_inpaint, "MAX_MERGED_CROP_PX", 100 * 100)
    split = ops_inpaint.inpaint(image, mask, backend="exemplar", report=split_rep)
    assert len(merged_rep["crops"]) == 1 and len(split_rep["crops"]) == 4
    c = split_rep["context_px"]
    for crop in split_rep["crops"]:
        y0, x0, y1, x1 = crop["box_yx"]
        assert (y1 - y0) * (x1 - x0) <= (19 + 2 * c) ** 2  # a hole and its context
    assert np.array_equal(split[mask == 0], image[mask == 0])
    hole = mask > 0
    assert np.abs(split[hole] - (1.0, 0.0, 1.0)).max(axis=1).min() > 0.2  # no magenta left
    assert psnr(photo[hole], split[hole]) > psnr(photo[hole], merged[hole]) - 1.5


def test_small_text_on_a_large_page_is_not_taken_for_specks():
    """normalize-mask's default speck size grows with the frame (2e-5 of its area: 154 px at
    7.7 MP), so on a large page of small text whole letters were 'specks'; with the text
    mask's geometry it is at most half the thinnest stroke squared (never under 16 px)."""
    from PIL import Image, ImageDraw, ImageFont

    from seamline.stages.normalize_mask import NormalizeMask

    page = Image.new("L", (2400, 3200), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(22)
    for y in range(100, 3000, 60):
        draw.text((100, y), "the quick brown fox jumps over the lazy dog, invoice 0042",
                  font=font, fill=0)
    ink = (np.asarray(page) < 128).astype(np.float32)
    n_letters = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)[0] - 1
    geometry = {"boxes_xyxy": [[90.0, 90.0, 2300.0, 3010.0]], "stroke_width_px": [3.0],
                "text_height_px": [16.0]}
    stage = NormalizeMask(NormalizeMask.Params(dilate_px=0, halo_px=0))
    kept = stage.run(None, ink, geometry).outputs["mask"]
    assert (kept[ink > 0] > 0).mean() > 0.98, n_letters  # letters stay (a comma may not)
    frame_rule = stage.run(None, ink, None).outputs["mask"]  # no geometry: the frame's rule
    assert (frame_rule[ink > 0] > 0).mean() < 0.5  # most letters were dropped as specks


def test_a_title_in_proportion_to_the_frame_fills_on_a_crop_within_the_budget(monkeypatch):
    """Memory follows the strokes, not the line's height: a title 64 px tall over brick
    would get the exemplar on its box grown by twice its height (the frame's height, here);
    with the crop budget (MAX_FILL_CROP_PX, made small so the test stays small) the margin
    shrinks to what fits, the strokes' own at least, the exemplar is handed that crop, the
    title is still removed and nothing outside the mask changes. Under the budget the crop
    is the usual one."""
    import seamline.ops.inpaint as ops_inpaint
    from seamline.ops.text import TextRegion, region_fill
    from seamline.ops.text.removal import fill_text

    brick = as_image(data.brick())
    photo = np.ascontiguousarray(brick[:192, :448])
    image, alpha = draw_text(photo, [TextItem("TEXT", (40, 64), 64, color=(250, 250, 250))])
    mask = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((5, 5), np.uint8))
    ys, xs = np.nonzero(mask)
    box = np.float32([[xs.min(), ys.min()], [xs.max(), ys.min()], [xs.max(), ys.max()],
                      [xs.min(), ys.max()]])
    regions = [TextRegion(box, "TEXT", 0.99)]
    hole = region_fill.Hole.of(mask > 0)
    usual = region_fill.fill_box(image.shape, hole, "exemplar", 3)
    area = region_fill._area
    assert (usual[0].start, usual[0].stop) == (0, 192)  # twice the line's height each way
    budget = area(usual) // 2
    monkeypatch.setattr(region_fill, "MAX_FILL_CROP_PX", budget)
    capped = region_fill.fill_box(image.shape, hole, "exemplar", 3)
    assert area(capped) <= budget
    margin = hole.sl[0].start - capped[0].start
    stroke = int(2 * hole.thickness(image.shape)) + 1
    assert margin >= max(32, 2 * stroke)  # the exemplar's margin for the strokes alone
    monkeypatch.setattr(region_fill, "MAX_FILL_CROP_PX", area(usual))
    assert region_fill.fill_box(image.shape, hole, "exemplar", 3) == usual
    monkeypatch.setattr(region_fill, "MAX_FILL_CROP_PX", budget)

    crops, real = [], ops_inpaint.inpaint
    monkeypatch.setattr(ops_inpaint, "inpaint",
                        lambda crop, *a, **k: crops.append(crop.shape[:2]) or real(crop, *a, **k))
    out = fill_text(image, mask.astype(np.float32), regions, backend="exemplar", judge=False,
                    threads=1)[0]
    assert crops and all(h * w <= budget for h, w in crops), crops
    inside, outside = mask > 0, mask == 0
    np.testing.assert_array_equal(out[outside], image[outside])
    # the white letters are gone: the fill is brick, as the photo is there
    assert np.abs(out - photo)[inside].mean() < 0.4 * np.abs(image - photo)[inside].mean()


def test_dots_and_punctuation_of_small_text_on_a_large_page_stay_in_the_mask():
    """At 18 px the dots of i and j, colons and commas are 4-9 px marks, under the speck
    floor (16 px): they were dropped and stayed on the page after remove-text. Inside a text
    line's box a mark of the strokes' colour stays; a grey speck in the line (nearer the
    paper's colour than the ink's) and a black speck outside every line still go."""
    from PIL import Image, ImageDraw, ImageFont

    from seamline.stages.normalize_mask import NormalizeMask

    page = Image.new("L", (2400, 1600), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(18)
    text = "jiving minimal jig: i j, ijij; quiet          living."
    draw.text((100, 100), text, font=font, fill=0)
    x0, y0, x1, y1 = draw.textbbox((100, 100), text, font=font)
    grey = np.asarray(page, np.float32) / 255
    gap = x0 + int(np.flatnonzero(np.convolve((grey[y0:y1, x0:x1] < 1).sum(0), np.ones(40),
                                              "valid") == 0)[0]) + 20
    speck = (slice(y0 + 6, y0 + 8), slice(gap, gap + 2))
    grey[speck] = 0.75  # a light speck in the line's box, between two words
    grey[800:802, 800:802] = 0.0  # a black speck far from any text
    ink = (grey < 0.9).astype(np.float32)
    image = np.repeat(grey[..., None], 3, axis=2)
    geometry = {"boxes_xyxy": [[x0 - 2.0, y0 - 2.0, x1 + 2.0, y1 + 2.0]],
                "stroke_width_px": [2.0], "text_height_px": [18.0]}
    stage = NormalizeMask(NormalizeMask.Params(dilate_px=0, halo_px=0))
    n, labels, stats, _ = cv2.connectedComponentsWithStats((grey < 0.5).astype(np.uint8), 8)
    marks = [c for c in range(1, n) if stats[c, 4] < 16 and stats[c, 1] < 400]
    assert len(marks) >= 10  # the dots, the colon's, the commas, the full stop
    before = stage.run(None, ink, None).outputs["mask"]  # the frame's rule: no geometry
    res = stage.run(None, ink, geometry, image)
    mask = res.outputs["mask"]
    assert all(before[labels == c].max() == 0 for c in marks)
    assert all(mask[labels == c].min() > 0 for c in marks)
    assert res.report["text_marks_kept"] >= len(marks) - 2  # a colon's two dots may touch
    assert mask[speck].max() == 0  # the paper-coloured speck
    assert mask[800:802, 800:802].max() == 0  # outside every line


def _title_over_texture(side=384):
    """chelsea() at side x side with a thick title hole (several letters, 4-connected
    components apart)."""
    image = as_image(cv2.resize(data.chelsea(), (side, side), interpolation=cv2.INTER_CUBIC))
    mask = np.zeros((side, side), np.uint8)
    cv2.putText(mask, "wood", (side // 16, side * 5 // 8), cv2.FONT_HERSHEY_SIMPLEX,
                side / 114, 255, max(2, side // 26))
    return image, (mask > 0).astype(np.float32)


def test_exemplar_paste_solved_per_component_group_equals_one_solve(monkeypatch):
    """The gradient-domain paste's system links a hole pixel to its 4-neighbours only, so it
    is block-diagonal over the hole's 4-connected components: solved a group of letters at a
    time (memory follows the largest group, not the whole title) it gives the same pixels."""
    from seamline.ops.inpaint import exemplar, poisson

    image, mask = _title_over_texture()
    n_comp = cv2.connectedComponents((mask > 0).astype(np.uint8), connectivity=4)[0] - 1
    assert n_comp >= 4
    one = exemplar.exemplar_fill(image, mask, seed=3)
    solves, real = [], poisson.spsolve
    monkeypatch.setattr(poisson, "spsolve", lambda A, *a, **k: solves.append(A.shape[0])
                        or real(A, *a, **k))
    monkeypatch.setattr(poisson, "SOLVE_GROUP_PX", int(mask.sum()) // 5)
    grouped = exemplar.exemplar_fill(image, mask, seed=3)
    assert len(solves) >= 3 and max(solves) < mask.sum() // 2, solves
    np.testing.assert_allclose(grouped, one, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(grouped[mask == 0], image[mask == 0])


def test_exemplar_holds_few_crop_sized_buffers():
    """The exemplar fill's Python-side buffers (numpy reports them to tracemalloc): the
    votes write in place, the features take the smooth fill in place, the source lists are
    int32, so a title's fill traces 79 bytes a crop pixel at its peak here (it traced 129:
    a second image buffer in every vote, int64 index pairs, the feature pyramid kept while
    the paste ran)."""
    from seamline.ops.inpaint import exemplar

    image, mask = _title_over_texture(512)
    exemplar.warm_up()
    _, peak = _peak(exemplar._fill_crop, image, mask > 0, patch_size=7, levels=None,
                    iterations=(1, 2, 3, 4), search_px=None, seed=0)
    assert peak / mask.size < 100, peak / mask.size


def test_the_run_report_holds_one_full_size_array_at_a_time(tmp_path):
    """``report.html`` draws every picture from a preview-sized copy made as soon as an
    array is read, and tells edits by content digest: no full-size mask overlay, no stage's
    outputs held beside the input (traced 3.9x the image's bytes, now 2.5x: the input as
    read, one stage output and its histogram). The page still shows every stage and the
    before/after slider of the edit."""
    import seamline as sl
    from seamline.reporting.report import write_report

    image = as_image(cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC))
    mask = np.zeros((1024, 1024), np.float32)
    cv2.circle(mask, (512, 400), 30, 1.0, -1)
    photo = sl.write_image(tmp_path / "photo.png", image)
    sl.Pipeline.builtin("inpaint").run(photo, out=tmp_path / "run",
                                       inputs={"mask": sl.write_image(tmp_path / "m.png", mask)})
    path, peak = _peak(write_report, tmp_path / "run")
    assert peak < 3.2 * image.nbytes, peak / image.nbytes
    page = path.read_text(encoding="utf-8")
    assert page.count('class="slider"') == 1 and page.count("<img") >= 4


def test_a_block_of_stacked_outlined_lines_looks_round_them_in_boxes_not_frames():
    """``siblings.block_outlines`` says where to look round each line of a block (its whole
    box, the boxes' overlaps) as boxes, not one (H, W) mask per line: twelve close-set
    outlined 600x40 lines in a 4000x3000 frame traced 14.7x the frame's bool bytes on main
    (176 MB: a 12 MB mask a line), now 2.7x (the output and toward_colour's own). The same
    pixels are taken (test_text_mask_subtitle's sibling tests; the boxes clip to each line's
    crop as the masks did)."""
    from seamline.ops.text.siblings import block_outlines

    H, W, n = 3000, 4000, 12
    image = np.broadcast_to(np.float32([0.5, 0.5, 0.5]), (H, W, 3))  # never copied whole
    mask = np.zeros((H, W), bool)
    polys = []
    for i in range(n):
        y = 100 + 34 * i  # 40 px boxes overlapping 6 px, as a subtitle set close
        polys.append(np.float32([[100, y], [700, y], [700, y + 40], [100, y + 40]]))
        mask[y + 12:y + 28, 120:680:9] = True
    regions = [{"colors": [[1, 1, 1], [0, 0, 0]], "outlined": {"fill": 0, "outline": 1}}] * n
    out, peak = _peak(block_outlines, mask, image, polys, regions, [False] * n)
    assert out.shape == (H, W) and out.dtype == bool and not out.any()  # a flat grey: no ink
    assert peak < 4 * mask.nbytes, peak / mask.nbytes  # main: 14.7x
