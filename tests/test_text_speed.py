"""What was cut from remove-text's time (issue 10, time target), checked on real photos.

A cut that must change no result is checked against the code path it replaced: same
polygons, texts and scores, same pixels. The QA's residual-text re-read at the whole-image
detection scale does change what it reads; its counts before and after are measured on the
train split by ``benchmarks/qa_reread_check.py``; here, what it must still do. No timing
asserts (the machine is shared); the times are in
``benchmarks/results/profile_remove_text.txt``.
"""

from __future__ import annotations

import numpy as np
import pytest

from seamline.ops.text import detect as D


@pytest.fixture(autouse=True)
def _two_cores():
    """The thread tests here ask for two threads at once; remove-text's pools take the
    process's share of the cores (core.threads.share: cv2.getNumThreads()), 1 on a one-core
    machine. Given back afterwards."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(max(2, before))
    yield
    cv2.setNumThreads(before)


def _plain_engine():
    """A rapidocr engine as rapidocr builds it by itself (spinning ONNX Runtime threads)."""
    from rapidocr import RapidOCR

    return RapidOCR(params={"Global.log_level": "warning", "Det.box_thresh": D._BOX_THRESH,
                            "Det.unclip_ratio": D._UNCLIP_RATIO})


def test_engine_threads_sleep_instead_of_spinning():
    eng = D.get_engine()
    for part in (eng.text_det, eng.text_rec):
        opts = part.session.session.get_session_options()
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert eng.text_cls is None  # never used (use_cls=False): never loaded
    # the patch of rapidocr's options builder is scoped to our engine's creation
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    assert OrtInferSession._init_sess_opts.__name__ == "_init_sess_opts"


def test_warm_up_caps_the_threads_of_a_new_engine(monkeypatch):
    monkeypatch.setattr(D, "_ENGINE", None)  # a fresh engine, as in a new worker process
    D.warm_up(threads=1)
    for part in (D._ENGINE.text_det, D._ENGINE.text_rec):
        opts = part.session.session.get_session_options()
        assert opts.intra_op_num_threads == 1
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_sleeping_threads_read_what_spinning_ones_read(captioned, monkeypatch):
    image = captioned[0]
    ours = D.detect_text(image)
    assert ours, "the demo photo's text must be found"
    monkeypatch.setattr(D, "_ENGINE", _plain_engine())
    theirs = D.detect_text(image)
    assert ours == theirs  # polygons, texts and scores exactly


def test_detector_input_is_built_in_float32_with_the_same_bits(captioned):
    """rapidocr's detector normalises the frame through float64 by itself; our engine's does it
    in float32 (~10 ms less per 1024x768 call) and hands the network the same bits: on the
    demo photo, and on every uint8 value."""
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from seamline.io import to_uint8

    det = D.get_engine().text_det
    ours = det.get_preprocess()
    theirs = DetPreProcess(det.limit_side_len, det.limit_type, [0.5] * 3, [0.5] * 3)
    every = np.repeat(np.arange(256, dtype=np.uint8).reshape(16, 16, 1), 3, axis=2)
    assert ours.normalize(every).dtype == np.float32  # no float64 frame on the way
    assert theirs.normalize(every).dtype == np.float64
    assert ours.normalize(every).tobytes() == theirs.normalize(every).astype(np.float32).tobytes()
    bgr = to_uint8(captioned[0][..., ::-1])
    assert ours(bgr).tobytes() == theirs(bgr).tobytes()


def test_qa_rereads_boxes_at_the_whole_image_detection_scale(captioned):
    """The QA's re-read sees each box as the whole-image detection saw it (rapidocr's rule:
    long side <= 2000 px, then short side >= 736 px), not enlarged to a 736 px crop."""
    from seamline.errors import InputError

    assert D.detection_scale((768, 1024, 3)) == 1.0
    assert D.detection_scale((512, 768)) == pytest.approx(736 / 512)
    assert D.detection_scale((2000, 3000)) == pytest.approx(2000 / 3000)
    assert D.detection_scale((400, 4000)) == pytest.approx(736 / 400)  # enlarged after all
    image = captioned[0]  # 600x400: the detector saw it 1.84x
    regions = D.detect_text(image)
    boxes = [(*np.min(r.polygon, 0), *np.max(r.polygon, 0)) for r in regions]
    default = D.detect_text_in_boxes(image, boxes)
    assert default == D.detect_text_in_boxes(image, boxes, scale=D.detection_scale(image.shape))
    # the words the whole-image pass read, read again in their boxes (a word counts when it
    # is part of a token read there: splits differ, "MORNINGCOFFEE")
    words = {w.upper() for r in regions for w in r.text.split()}
    again = {w.upper() for r in default for w in r.text.split()}
    assert sum(any(w in t for t in again) for w in words) >= len(words) - 1
    with pytest.raises(InputError, match="scale"):
        D.detect_text_in_boxes(image, boxes, scale=0)


def test_run_directory_previews_are_fast_png_of_the_same_pixels(tmp_path, coffee):
    """Image previews in a run directory are written with zlib level 1 (a 1024x768 photo:
    ~0.1 s instead of 0.25-0.55 s at Pillow's default 6): same pixels, same profile."""
    from PIL import Image

    from seamline.core.arrays import to_uint8
    from seamline.engine import store
    from seamline.errors import InputError
    from seamline.io import write_image

    assert store.save("image", coffee, tmp_path, "image") == ["image.npy", "image.png"]
    write_image(tmp_path / "kept.png", coffee)  # the default for files people keep
    with Image.open(tmp_path / "image.png") as fast, Image.open(tmp_path / "kept.png") as kept:
        assert np.array_equal(np.asarray(fast), to_uint8(coffee))
        assert np.array_equal(np.asarray(fast), np.asarray(kept))
        assert fast.info["icc_profile"] == kept.info["icc_profile"]
    assert np.array_equal(np.load(tmp_path / "image.npy"), coffee)
    with pytest.raises(InputError, match="compress_level"):
        write_image(tmp_path / "x.png", coffee, compress_level=10)
    assert not (tmp_path / "x.png").exists()


@pytest.fixture(scope="module")
def captions_on_coffee():
    """Six captions on the coffee photo: four apart, two lines close enough that each one's
    crop holds the other's strokes (the first pass must fill those in order). Returns
    (image, mask, regions) with each region's box from its own drawn pixels."""
    import cv2
    from skimage import data

    from seamline.io import as_image
    from seamline.ops.text import TextRegion
    from seamline.testing.synth import TextItem, draw_text

    photo = as_image(data.coffee())
    items = [TextItem("MORNING", (20, 20), 40, color=(255, 255, 255), stroke_px=3),
             TextItem("fresh roast", (350, 30), 32, color=(255, 221, 0), shadow_px=3),
             TextItem("since 1998", (30, 330), 28, color=(250, 250, 250)),
             TextItem("cup of the day", (330, 300), 36, color=(20, 20, 20)),
             TextItem("line one", (200, 180), 30, color=(255, 255, 255)),
             TextItem("line two", (210, 208), 30, color=(255, 255, 255))]
    image, alpha = draw_text(photo, items)
    regions = []
    for it in items:
        a = draw_text(photo, [it])[1] > 0.05
        ys, xs = np.nonzero(a)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        regions.append(TextRegion(np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]),
                                  it.text, 1.0))
    mask = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8))
    return image, mask.astype(np.float32), regions


@pytest.mark.parametrize("backend", ["auto", "exemplar"])
def test_threaded_first_pass_fills_the_serial_pixels(captions_on_coffee, backend):
    """Regions whose crops do not hold each other's holes are filled on two threads at once;
    the close pair waits for its order. Pixels, mask and per-region record (but the CPU ms)
    are the serial run's, for the fast fills and the seeded exemplar fill alike."""
    from seamline.errors import InputError
    from seamline.ops.text import removal

    image, mask, regions = captions_on_coffee
    before = image.copy()
    runs = [removal.fill_text(image, mask, regions, backend=backend, judge=False, threads=t)
            for t in (1, 2)]
    (a, fa, ra), (b, fb, rb) = runs
    assert np.array_equal(a, b) and np.array_equal(fa, fb)
    assert np.array_equal(image, before)  # the input is never modified
    strip = [[{k: v for k, v in p.items() if k != "cpu_ms"} for p in r["passes"]]
             for r in ra["regions"]]
    assert strip == [[{k: v for k, v in p.items() if k != "cpu_ms"} for p in r["passes"]]
                     for r in rb["regions"]]
    assert len(ra["regions"]) == 6 and not np.array_equal(a, image)
    # the close pair really interacts: one's crop holds the other's hole
    labels, _ = removal.assign_components(mask, regions)
    from scipy.ndimage import find_objects

    from seamline.ops.text import region_fill as rf

    holes = [rf.Hole(sl, labels[sl] == i + 1) for i, sl in enumerate(find_objects(labels))]
    boxes = [rf.fill_box(image.shape, h, ra["regions"][i]["backend"], 3)
             for i, h in enumerate(holes)]
    assert rf.touches(holes[4], boxes[5]) or rf.touches(holes[5], boxes[4])
    assert not rf.touches(holes[0], boxes[3]) and not rf.touches(holes[3], boxes[0])
    with pytest.raises(InputError, match="threads"):
        removal.fill_text(image, mask, regions, threads=0)


def test_fsr_fills_on_the_first_pass_threads_run_their_channels_in_place(
        captions_on_coffee, monkeypatch):
    """A fill on one of the first pass's threads starts no pool of its own (core.threads:
    share() is 1 on a pool's worker): fsr's three channels run on that thread (on main each
    fsr fill of the two region threads ran its channels on two more: four busy threads on
    two cores), with the pixels of the one-thread run. Called on the caller's thread, fsr
    still runs its channels on threads of the worker's share; no thread is left after."""
    import threading

    from seamline.ops.inpaint import fsr_kernel
    from seamline.ops.text import removal

    image, mask, regions = captions_on_coffee
    serial = removal.fill_text(image, mask, regions, backend="fsr", judge=False, threads=1)[0]
    names, run = [], fsr_kernel._run
    monkeypatch.setattr(fsr_kernel, "_run", lambda *a: names.append(
        threading.current_thread().name) or run(*a))
    before = threading.active_count()
    out = removal.fill_text(image, mask, regions, backend="fsr", judge=False, threads=2)[0]
    assert np.array_equal(out, serial) and threading.active_count() == before
    assert len(names) == 3 * len(regions)
    assert all(n.startswith("seamline-regions") for n in names)  # main: fsr channel threads
    assert len(set(names)) == 2  # the two region threads, no other
    del names[:]
    hole = np.zeros(image.shape[:2], np.uint8)
    hole[100:140, 100:180] = 1
    src = np.ascontiguousarray((image[..., ::-1] * 255).round().astype(np.uint8))
    fsr_kernel.fsr_inpaint(src, 1 - hole, threads=None)
    assert len(set(names)) >= 2 and all(n.startswith("seamline-fsr") for n in names)


def test_an_error_on_a_first_pass_thread_reaches_the_caller_as_in_place(
        captions_on_coffee, monkeypatch):
    """A fill that raises on one of the first pass's threads gives the caller the error the
    one-thread run gives (the same one-line message), once the fills started are done, and
    leaves no thread behind."""
    import threading

    from seamline.errors import InputError
    from seamline.ops.text import region_fill, removal

    image, mask, regions = captions_on_coffee
    real, calls = region_fill.fill_region, []

    def failing(out, hole, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise InputError("backend: the second region's fill failed (a test)")
        return real(out, hole, *a, **k)

    monkeypatch.setattr(region_fill, "fill_region", failing)
    before = threading.active_count()
    errors = []
    for t in (1, 2):
        del calls[:]
        with pytest.raises(InputError) as e:
            removal.fill_text(image, mask, regions, judge=False, threads=t)
        errors.append(str(e.value))
    assert errors[0] == errors[1] == "backend: the second region's fill failed (a test)"
    assert threading.active_count() == before


def _no_cpu_ms(x):
    """A report without its CPU times (the only thing threads may change)."""
    if isinstance(x, dict):
        return {k: _no_cpu_ms(v) for k, v in x.items() if k != "cpu_ms"}
    if isinstance(x, list):
        return [_no_cpu_ms(v) for v in x]
    return x


def test_the_fill_loop_judges_one_region_after_another_on_the_callers_thread(
        captions_on_coffee, monkeypatch):
    """After the first pass the fill loop's smear, structure and surface judges, and the
    ghost judge's residue and tint looks, run one region after another on the caller's
    thread whatever ``threads`` (two regions at once, and a look beside another, gained no
    wall time at idle and ran up to 3 busy threads on 2 cores: speed16); only the first
    pass's fills use ``threads``. The pixels, mask and report (but CPU ms) are the same for
    threads 1 and 2, and no thread is left after the call."""
    import threading

    from seamline.ops.text import ghost, removal
    from seamline.ops.text import tint as tint_mod

    image, mask, regions = captions_on_coffee
    serial = removal.fill_text(image, mask, regions, threads=1)
    where = []

    def here(fn):
        def inner(*args, **kwargs):
            where.append((fn.__name__, threading.get_ident()))
            return fn(*args, **kwargs)
        return inner

    for mod, name in ((removal, "_judge_fill"), (removal, "_judge_surface"),
                      (ghost, "_residue"), (tint_mod, "tinted_fill")):
        monkeypatch.setattr(mod, name, here(getattr(mod, name)))
    before = threading.active_count()
    threaded = removal.fill_text(image, mask, regions, threads=2)
    assert threading.active_count() == before
    names = {n for n, _ in where}
    assert {"_judge_fill", "_judge_surface", "_residue", "tinted_fill"} <= names
    assert {t for _, t in where} == {threading.get_ident()}  # main: pool threads
    assert np.array_equal(serial[0], threaded[0]) and np.array_equal(serial[1], threaded[1])
    assert _no_cpu_ms(serial[2]) == _no_cpu_ms(threaded[2])
    assert not np.array_equal(serial[0], image)


def test_ghost_judge_reads_only_regions_with_a_word_it_could_match(captions_on_coffee):
    """A region with no word of 3+ characters (a tiled watermark's tile: text '') cannot be
    flagged by a read, so it gets none; its verdict (the residue's) is the one the reads
    would have given. Regions with words are read as before."""
    import cv2

    from seamline.ops.inpaint import inpaint
    from seamline.ops.text import TextRegion
    from seamline.ops.text.ghost import RESIDUE_THRESHOLD, judge_regions

    image, mask, regions = captions_on_coffee
    # a fill over the strokes' cores only: their edges stay, glyph-shaped residue
    core = cv2.erode(mask, np.ones((5, 5), np.uint8))
    cleaned = inpaint(image, core, backend="telea")
    calls = []

    def ocr(strip):
        calls.append(strip.shape)
        return "", 0.0

    blank = [TextRegion(r.polygon, "", 1.0) for r in regions[:3]] + \
            [TextRegion(regions[3].polygon, "of a", 1.0)]  # words under 3 characters only
    residue_only = judge_regions(image, cleaned, blank, mask=core, ocr=ocr)
    assert calls == []
    read = judge_regions(image, cleaned, regions[:4], mask=core, ocr=ocr)
    # plain per region; CLAHE-boosted and high-passed where the residue does not already
    # flag it (the reads could not change that verdict)
    unflagged = sum(v.residue_score <= RESIDUE_THRESHOLD for v in read)
    assert len(calls) == 4 + 2 * unflagged
    for a, b in zip(residue_only, read):
        assert (a.flagged, a.residue_score) == (b.flagged, b.residue_score)
        assert np.array_equal(a.residue, b.residue)
    assert any(v.flagged for v in read)  # the edges left behind are seen, reads or not


def test_the_fill_loops_ghost_judge_also_reads_the_boosted_strip(captions_on_coffee):
    """The fill loop's ghost judge reads a line's strip CLAHE-boosted too where the plain read
    matched no word and the residue does not flag it: with the plain read only (27), train
    tiled watermarks kept faint copies the boosted read had sent back to the fill
    (tiled_watermark5 30.51 -> 29.73 dB, a grey PROOF over black; 0 a faint 'noto')."""
    from seamline.ops.text import removal

    image, mask, regions = captions_on_coffee
    calls = []

    def ocr(strip):  # reads no text: every region goes on to its boosted read
        calls.append(strip.shape)
        return "", 0.0

    _, _, report = removal.fill_text(image, mask, regions, ocr=ocr)
    passes = [q["verdict"] for r in report["regions"] for q in r["passes"] if "verdict" in q]
    assert len(passes) >= len(regions) and len(calls) > len(passes)  # one read each in 27


def test_the_fill_loop_skips_the_boosted_read_where_no_letter_is_left():
    """The fill loop's judge skips a line's CLAHE-boosted read where its residue score is at
    or below BOOST_FLOOR (more of the removed strokes' edges have a perpendicular edge left
    than a parallel one: the photo's texture, no letter to boost); above it the read stays
    (the tiled copies it sent back to the fill scored 0.03-0.075 on train). A caption filled
    over gravel scores below the floor, one over brick above it. On main every line the
    plain read missed and the residue did not flag was read boosted (a call each)."""
    import cv2
    from skimage import data

    from seamline.errors import InputError
    from seamline.io import as_image
    from seamline.ops.text import TextRegion, removal
    from seamline.ops.text.ghost import BOOST_FLOOR, RESIDUE_THRESHOLD, judge_regions
    from seamline.testing.synth import TextItem, draw_text

    photo = np.ascontiguousarray(np.hstack([as_image(np.stack([data.gravel()] * 3, -1))[:300, :400],
                                            as_image(data.brick()[:300, :400, None].repeat(3, 2))]))
    items = [TextItem("since 1998", (30, 200), 30, color=(20, 20, 20)),
             TextItem("GRAVEL ROAD", (420, 40), 40, color=(255, 255, 255))]
    image, alpha = draw_text(photo, items)
    regions = []
    for it in items:
        ys, xs = np.nonzero(draw_text(photo, [it])[1] > 0.05)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        regions.append(TextRegion(np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]),
                                  it.text, 1.0))
    mask = cv2.dilate((alpha > 0.05).astype(np.uint8), np.ones((3, 3), np.uint8))
    mask = mask.astype(np.float32)
    calls = []

    def ocr(strip):  # reads no text: only the residue decides on the boosted read
        calls.append(strip.shape)
        return "", 0.0

    _, _, report = removal.fill_text(image, mask, regions, ocr=ocr)
    verdicts = {q["verdict"]["text"]: q["verdict"] for r in report["regions"]
                for q in r["passes"] if "verdict" in q}
    low, mid = verdicts["since 1998"], verdicts["GRAVEL ROAD"]
    assert low["residue_score"] <= BOOST_FLOOR < mid["residue_score"] <= RESIDUE_THRESHOLD
    assert low["stats"]["boosted_reads"].startswith("skipped: residue")
    assert low["read_boosted"] == [] and len(mid["read_boosted"]) == 1  # [''] on main
    assert len(calls) == 3  # plain, plain, boosted (4 on main)
    calls.clear()
    judged = judge_regions(image, image, regions, mask=mask, ocr=ocr)  # no floor: all read
    assert len(calls) == len(regions) + 2 * sum(v.residue_score <= RESIDUE_THRESHOLD
                                                for v in judged)
    with pytest.raises(InputError, match="boost_floor"):
        judge_regions(image, image, regions, mask=mask, ocr=ocr, boost_floor=2.0)


def _most_at_once(fn):
    """``fn`` wrapped to count the calls running at once; ``state["most"]``: the most."""
    import threading

    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def counted(*a, **k):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            return fn(*a, **k)
        finally:
            with lock:
                state["now"] -= 1

    return counted, state


def test_a_crop_over_the_alone_size_never_fills_beside_another(captions_on_coffee, monkeypatch):
    """Memory follows one crop: a region whose crop is over FILL_ALONE_PX fills with no other
    fill running (here every crop counts as large), and the pixels stay the serial ones."""
    from seamline.ops.text import region_fill, removal

    image, mask, regions = captions_on_coffee
    serial = removal.fill_text(image, mask, regions, judge=False, threads=1)[0]
    counted, state = _most_at_once(region_fill.fill_region)
    monkeypatch.setattr(region_fill, "fill_region", counted)  # the first pass's fills
    monkeypatch.setattr(region_fill, "FILL_ALONE_PX", 100)
    out = removal.fill_text(image, mask, regions, judge=False, threads=2)[0]
    assert state["most"] == 1 and np.array_equal(out, serial)


_WARM_CHECK = """
import json, sys
import numba
import numpy as np
import seamline as sl
from seamline.ops.inpaint import exemplar as E
from seamline.ops.text import detect as D

sl.Pipeline.builtin("remove-text").warm_up(threads=1)
kernels = {n: f for n, f in vars(E).items() if isinstance(f, numba.core.registry.CPUDispatcher)}
loaded = {n: len(f.signatures) for n, f in kernels.items()}
rng = np.random.default_rng(3)
img = rng.random((90, 140, 3), dtype=np.float32)
hole = np.zeros((90, 140), np.float32)
hole[30:60, 40:110] = 1
out = E.exemplar_fill(img, hole, seed=0)
print(json.dumps({"engine": D._ENGINE is not None, "kernels": len(kernels),
                  "new": sorted(n for n, f in kernels.items() if len(f.signatures) != loaded[n]),
                  "out": out.tolist()}))
"""


def test_pipeline_warm_up_loads_the_ocr_and_every_exemplar_kernel_a_fill_uses():
    """In a fresh process, remove-text's warm-up builds the OCR engine and loads the
    exemplar fill's compiled kernels: a fill after it loads nothing new (the first image
    that gets the exemplar fill used to pay ~1 CPU s for them) and gives the pixels a fill
    gives without a warm-up."""
    import json
    import os
    import subprocess
    import sys

    from seamline.ops.inpaint.exemplar import exemplar_fill

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    p = subprocess.run([sys.executable, "-c", _WARM_CHECK], capture_output=True, text=True,
                       env=env, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["engine"] and got["kernels"] >= 8 and got["new"] == []
    rng = np.random.default_rng(3)
    img = rng.random((90, 140, 3), dtype=np.float32)
    hole = np.zeros((90, 140), np.float32)
    hole[30:60, 40:110] = 1
    assert np.array_equal(np.float32(got["out"]), exemplar_fill(img, hole, seed=0))


def test_builtin_pipeline_is_parsed_once_and_never_shared():
    """remove_text() asks for the built-in spec on every call: the YAML is parsed once, and
    every call still gets its own document (changing one leaves the next untouched)."""
    from seamline.core import pipeline as P

    a = P.builtin_spec("remove-text")
    a.raw["stages"][0]["params"]["min_score"] = 0.9
    b = P.builtin_spec("remove-text")
    assert b.raw is not a.raw and b.raw["stages"][0]["params"]["min_score"] == 0.5
    assert b.stage("detect").params.min_score == 0.5
    assert P._parsed_builtin.cache_info().hits >= 1


def test_lattice_scores_read_one_dilation_of_the_autocorrelation():
    """The tiled-watermark search scores every candidate lattice on one 3x3 dilation of the
    autocorrelation, not one per lattice: the same scores and the same lattices found."""
    from conftest import tiled_watermarked

    from seamline.ops.text import watermark as W

    img = tiled_watermarked("chelsea", 6)[1]
    h, f = W.bandpass(img)
    R = W.autocorrelation(h)
    peaks = W.lattice_peaks(R)
    Rd = W.support_map(R)
    pairs = [(v1, v2) for i, (_, v1) in enumerate(peaks) for _, v2 in peaks[i + 1:]]
    assert len(pairs) > 10
    assert all(W.lattice_support(R, v1, v2) == W.lattice_support(R, v1, v2, dilated=Rd)
               for v1, v2 in pairs)
    assert W.find_tiled_watermark(img).found


def test_image_statistics_are_the_float64_ones_in_one_pass(astronaut, coffee):
    """The runner measures every image it hands over (the input, the filled output): the
    channel means and the spread come from one float64 pass per channel (cv2.meanStdDev, no
    copy) and equal the float64 definitions; a view (a grey page shown as RGB) and an image
    with non-finite values take the strip-by-strip path, same numbers."""
    from seamline.core import artifacts

    photo = np.ascontiguousarray(astronaut, np.float32)
    for img in (photo, np.ascontiguousarray(coffee, np.float32)):
        st = artifacts.measure("image", img)
        ref = img.astype(np.float64)
        assert st["channel_mean"] == [round(float(m), 6) for m in ref.reshape(-1, 3).mean(0)]
        assert st["std"] == pytest.approx(float(ref.std()), rel=1e-7)
    grey = photo[..., 1]
    view = np.broadcast_to(grey[..., None], grey.shape + (3,))
    st = artifacts.measure("image", view)
    assert st["std"] == pytest.approx(float(grey.astype(np.float64).std()), rel=1e-6)
    assert st["channel_mean"] == [round(float(grey.astype(np.float64).mean()), 6)] * 3
    bad = photo.copy()
    bad[0, 0, 0] = np.nan
    st = artifacts.measure("image", bad)
    assert st["nonfinite"] == 1 and np.isfinite(st["std"])


def _counting_inpaint(monkeypatch):
    """Count the text mask's photo estimates (Telea fills: hard_shadow's telea_inpaint, the
    Numba copy of cv2.inpaint, and cv2.inpaint itself where it is still called)."""
    import cv2

    from seamline.ops.text import hard_shadow

    calls = []

    def counting(real):
        def counted(*a, **k):
            calls.append(1)
            return real(*a, **k)
        return counted

    monkeypatch.setattr(cv2, "inpaint", counting(cv2.inpaint))
    monkeypatch.setattr(hard_shadow, "telea_inpaint", counting(hard_shadow.telea_inpaint))
    return calls


def _shadowed_line():
    """A crop of textured photo with a line of block letters 30 px tall casting a soft shadow
    down-right, with a light fringe 2 px wide all round them (the halo's estimates are made,
    too few rings for a halo: the soft-shadow search runs next and finds the shadow)."""
    import cv2

    rng = np.random.default_rng(0)
    H, W = 90, 260
    photo = np.clip(0.55 + 0.04 * cv2.GaussianBlur(rng.standard_normal((H, W, 3)).astype(
        np.float32), (0, 0), 1.5), 0, 1)
    photo[..., 0] += np.linspace(0, 0.15, W, dtype=np.float32)[None, :]
    m = np.zeros((H, W), bool)
    for x in range(30, 230, 40):
        m[30:60, x:x + 8] = True
        m[30:36, x:x + 24] = True
    shadow = cv2.GaussianBlur(np.roll(np.roll(m, 6, 0), 6, 1).astype(np.float32), (0, 0), 2)
    img = photo * (1 - 0.5 * shadow[..., None])
    img[m] = (0.97, 0.97, 0.95)
    d = cv2.distanceTransform((~m).astype(np.uint8), cv2.DIST_L2, 3)
    fringe = (d > 0) & (d <= 2)
    img[fringe] += 0.3
    img = np.clip(img, 0, 1).astype(np.float32)
    return img, cv2.cvtColor(img, cv2.COLOR_RGB2Lab), m


def test_halo_and_soft_shadow_share_their_photo_estimates(monkeypatch):
    """A line whose halo adds nothing: the soft-shadow search reads the halo's two Telea
    estimates (same masks) from the line's memo instead of making them again; same masks."""
    from seamline.ops.text import effects as G

    img, lab, m = _shadowed_line()
    calls = _counting_inpaint(monkeypatch)
    ref_halo, ref_soft = G._halo(m, img, lab, 30), G._soft_shadow(m, img, lab, 30)
    alone = len(calls)
    del calls[:]
    memo: dict = {}
    halo, soft = G._halo(m, img, lab, 30, memo), G._soft_shadow(m, img, lab, 30, memo)
    assert np.array_equal(halo, ref_halo) and np.array_equal(soft, ref_soft)
    assert not halo.any() and soft.any()  # the halo estimated, found none; the shadow found
    assert alone == 6 and len(calls) == 4  # halo 2, search 2 (now shared), the shadow's tail 2


def test_mask_estimates_skipped_where_no_result_can_come_of_them(monkeypatch):
    """Text under 10 px has fewer rings than a halo needs, and segmenter pixels in pieces too
    small to keep: no Telea estimate is made for either (the result is the empty one the
    estimates would have led to); a piece big enough and reaching far enough is estimated."""
    import cv2

    from seamline.ops.text import effects as G

    img, lab, glyphs = _shadowed_line()
    calls = _counting_inpaint(monkeypatch)
    assert not G._halo(glyphs, img, lab, 9).any() and not calls
    G._halo(glyphs, img, lab, 30)
    assert calls  # 30 px text: estimated
    near = cv2.dilate(glyphs.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    for rows, cols, estimated in ((slice(72, 74), slice(40, 43), False),   # 6 px
                                  (slice(72, 76), slice(40, 50), True)):   # 40 px, 12 px out
        del calls[:]
        left = np.zeros_like(glyphs)
        left[rows, cols] = True
        im = img.copy()
        im[left] = (0.97, 0.97, 0.95)  # the glyphs' colour
        kept = G._confirmed(left, glyphs | left, im, cv2.cvtColor(im, cv2.COLOR_RGB2Lab),
                            glyphs, near, 30)
        assert (len(calls) == 2) == estimated
        assert estimated or not kept.any()


def test_lines_fitted_together_get_each_lines_own_mask_and_choice(captioned, monkeypatch):
    """combine_masks fits an image's lines one after another on the caller's thread: the
    mask and the choices are those of each line fitted alone, OR-ed together."""
    import threading

    from conftest import mask_inputs

    from seamline.ops.text import effects

    image = captioned[0]
    polys, gm, seg, prob = mask_inputs(image)
    threads = []
    real = effects._line_effects
    monkeypatch.setattr(effects, "_line_effects", lambda *a, **k: threads.append(
        threading.current_thread().name) or real(*a, **k))

    def fitted(lines):
        return effects.combine_masks(prob >= max(seg.threshold, 0.5), gm.mask > 0,
                                     [polys[i] for i in lines],
                                     [gm.text_height_px[i] for i in lines], image=image,
                                     support=prob >= seg.threshold)

    together, choices = fitted(range(len(polys)))
    assert len(polys) >= 3 and threads == [threading.main_thread().name] * len(polys)
    del threads[:]
    alone = [fitted([i]) for i in range(len(polys))]
    assert threads == [threading.main_thread().name] * len(polys)
    assert choices == [c[0] for _, c in alone]
    assert any(c != "glyphs" for c in choices)  # effects were fitted, not only glyphs kept
    assert np.array_equal(together, np.logical_or.reduce([m for m, _ in alone]))


def test_tiled_watermark_search_reads_a_periodicity_made_before():
    """find_tiled_watermark takes the photo's band-passed autocorrelation made before
    (periodic=, as find_watermark hands it to each pass): the same tiles; too small a frame
    has none, and a frame that is not HxWx3 float32 is refused in one line by periodicity as
    by the search."""
    from conftest import tiled_watermarked

    from seamline.errors import InputError
    from seamline.ops.text import watermark as W
    from seamline.ops.text.watermark_lines import find_watermark

    img = tiled_watermarked("chelsea", 6)[1]
    pre = W.periodicity(img)
    a, b = W.find_tiled_watermark(img), W.find_tiled_watermark(img, periodic=pre)
    assert a.found and a.to_dict() == b.to_dict()
    assert all(np.array_equal(p, q) for p, q in zip(a.polygons, b.polygons))
    assert find_watermark(img).to_dict() == a.to_dict()  # no readings: the search's own
    small = np.zeros((40, 50, 3), np.float32)
    assert W.periodicity(small)[2] is None
    assert W.find_tiled_watermark(small).reason == "frame too small for a tiled pattern"
    for bad in (img[..., 0], img.astype(np.float64)):
        for fn in (W.periodicity, W.find_tiled_watermark, find_watermark):
            with pytest.raises(InputError, match="image must be HxWx3 float32"):
                fn(bad)


def test_the_ghost_judges_strip_reads_only_the_box_it_converts(coffee):
    """The ghost judge converts to 8 bits only the frame box each region's strip reads
    (ghost._strip_map): the strip is the one made from the whole frame converted, for lines
    level, rotated, small, at the frame's edges, partly and wholly past them; the rest of
    the buffer (noise here) is never read."""
    from seamline.ops.text import ghost

    image = coffee
    H, W = image.shape[:2]
    full = ghost._to_u8(image[..., ::-1])
    rng = np.random.default_rng(5)

    def line(cx, cy, length, height, deg):
        t = np.deg2rad(deg)
        u, n = np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])
        return np.float32([[cx, cy] + sx * length / 2 * u + sy * height / 2 * n
                           for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))])

    lines = [line(W / 2, H / 2, 300, 40, 0), line(200, 150, 220, 30, 27.5),
             line(W / 2, 60, 120, 9, -3), line(5, H - 4, 160, 36, 12),
             line(W - 20, 10, 200, 50, -41), line(-40, H / 2, 60, 20, 80),
             line(W + 90, H + 30, 50, 18, 5), line(W * 0.7, H * 0.6, 700, 120, 33.3)]
    for poly in lines:
        for margin in (2.0, 0.3 * 40 + 2, 17.5):
            buf = rng.integers(0, 256, full.shape, dtype=np.uint8)
            mapped = ghost._strip_map(poly, margin, (H, W))
            y0, y1, x0, x1 = mapped[2]
            assert 0 <= y0 < y1 <= H and 0 <= x0 < x1 <= W
            buf[y0:y1, x0:x1] = ghost._to_u8(image[y0:y1, x0:x1, ::-1])
            # ... warped by the map made for the box (the judge makes it once)
            assert np.array_equal(ghost._strip(buf, poly, margin, mapped=mapped),
                                  ghost._strip(full, poly, margin))


def test_the_ghost_judge_maps_each_regions_strip_once(coffee, monkeypatch):
    """A readable region's strip map (ghost._strip_map) is made once by the judge: for the box
    it converts to 8 bits and for the strip's warp (main made it twice)."""
    from seamline.ops.text import TextRegion, ghost

    calls = []
    strip_map = ghost._strip_map
    monkeypatch.setattr(ghost, "_strip_map", lambda *a, **k: calls.append(1) or strip_map(*a, **k))
    regions = [TextRegion(np.float32([[100, 100], [300, 100], [300, 140], [100, 140]]),
                          "fresh roast", 0.9),
               TextRegion(np.float32([[60, 250], [260, 290], [254, 320], [54, 280]]),
                          "every day", 0.9)]
    verdicts = ghost.judge_regions(coffee, coffee, regions, ocr=lambda strip: ("", 0.0))
    assert len(verdicts) == 2 and len(calls) == 2


def test_split_shadow_k_means_distances_are_the_sum_along_rows_bit_for_bit(coffee,
                                                                             monkeypatch):
    """hard_shadow._sq_dist adds a row's three squares column by column: bit for bit
    ((x - c) ** 2).sum(1) on a photo's Lab pixels and on wide random values, so the
    split-shadow fits' three-means give the centres they gave with the row sums."""
    import cv2

    from seamline.ops.text import hard_shadow as HS

    lab = cv2.cvtColor(coffee, cv2.COLOR_RGB2Lab).reshape(-1, 3).astype(np.float64)
    rng = np.random.default_rng(11)
    wide = rng.normal(0, 1, (5000, 3)) * np.array([1e-3, 1.0, 1e4])
    for x in (lab, lab[::7] * 1.0001 - 3.3, wide):
        for ck in (x[0], x.mean(0), rng.normal(0, 30, 3)):
            assert np.array_equal(HS._sq_dist(x, ck), ((x - ck) ** 2).sum(1))
    centres = HS._three_means(lab[::5])
    monkeypatch.setattr(HS, "_sq_dist", lambda x, ck: ((x - ck) ** 2).sum(1))
    assert np.array_equal(centres, HS._three_means(lab[::5]))


def test_dilate_ellipse_is_opencvs_elliptic_dilation_bit_for_bit(coffee):
    """The ghost judge's region and ring dilations go by the element's rows
    (masks.dilate_ellipse): the same uint8 array as cv2.dilate by MORPH_ELLIPSE, on a text
    line's polygon touching each border, on scattered dots and on a photo's grey levels, at
    radii below and over the rows' threshold (to 60 px, past the crop's height)."""
    import cv2

    from seamline.ops.masks import ROWS_FROM_PX, dilate_ellipse, ellipse_kernel

    grey = np.ascontiguousarray((coffee[40:160, 100:400, 1] * 255).astype(np.uint8))
    line = np.zeros((90, 320), np.uint8)
    cv2.fillPoly(line, [np.array([[0, 10], [300, 0], [319, 60], [20, 89]], np.int32)], 1)
    dots = np.zeros((70, 150), np.uint8)
    dots[[0, 5, 34, 69, 69], [0, 149, 75, 3, 120]] = 255
    for img in (grey, line, dots):
        for r in (0, 3, ROWS_FROM_PX - 1, ROWS_FROM_PX, 17, 31, 60):
            got = dilate_ellipse(img, r)
            assert got.dtype == np.uint8
            np.testing.assert_array_equal(got, cv2.dilate(img, ellipse_kernel(r)))


def test_crop_digest_hashes_a_boxs_rows_where_they_lie(coffee):
    """The ghost judge's crop digest reads a box's rows in the frame (no copy of the crop):
    the same digest as the contiguous copy's bytes, as the copy's own, and another one for
    a crop one float32 step away in one pixel."""
    import hashlib

    from seamline.ops.text.ghost import crop_digest

    box = coffee[30:170, 45:380]
    assert not box.flags.c_contiguous
    d = crop_digest(box)
    assert d == hashlib.sha1(np.ascontiguousarray(box).tobytes()).hexdigest()
    assert d == crop_digest(box.copy())
    moved = box.copy()
    moved[70, 200, 2] = np.nextafter(moved[70, 200, 2], np.float32(2))
    assert crop_digest(moved) != d


def test_channel_sum_and_norm_are_numpys_last_axis_reductions_bit_for_bit():
    # the judges' colour distances take them instead of x.sum(-1) / np.linalg.norm(x, axis=-1):
    # any bit of difference would move a median, a threshold test and the outputs
    from seamline.core.arrays import channel_norm, channel_sum

    rng = np.random.default_rng(11)
    for dtype in (np.float32, np.float64):
        for shape in ((5, 3), (40000, 3), (61, 47, 3), (900, 4, 3), (1000, 2), (333, 4)):
            a = (rng.standard_normal(shape) * rng.choice([1e-4, 1.0, 1e4], shape)).astype(dtype)
            for x in (a, a[::3], a[..., ::-1], np.asfortranarray(a)):
                assert np.array_equal(channel_sum(x), x.sum(-1))
                assert np.array_equal(channel_norm(x), np.linalg.norm(x, axis=-1))
                assert channel_norm(x).dtype == np.linalg.norm(x, axis=-1).dtype
    for bad in (np.ones((4, 3), np.int64), np.ones((4, 5), np.float32), np.ones((4, 1))):
        with pytest.raises(ValueError, match="a: "):
            channel_sum(bad)
