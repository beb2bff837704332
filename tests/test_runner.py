"""The runner on real photos: run directories, manifests, cache and --from, policies, seeds."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pytest

import seamline as sl
from seamline.core.contracts import PortSpec, StageSpec
from seamline.errors import ConfigError, ContractError
from seamline.io import read_image, to_uint8
from seamline.stages import REGISTRY
from seamline.core.stage import Stage

from conftest import blob_mask


@pytest.fixture()
def photo_and_mask(tmp_path, astronaut):
    img_path = sl.write_image(tmp_path / "photo.png", astronaut)
    mask = blob_mask(astronaut.shape[:2], [(100, 400), (300, 120)], 14)
    mask_path = tmp_path / "mask.png"
    sl.write_image(mask_path, np.repeat(mask[..., None], 3, axis=2))
    return img_path, mask_path, mask


def test_run_directory_manifest_and_intermediates(tmp_path, photo_and_mask):
    img_path, mask_path, mask = photo_and_mask
    before = img_path.read_bytes()
    run = sl.Pipeline.builtin("inpaint").run(img_path, out=tmp_path / "run",
                                              inputs={"mask": mask_path})
    out = tmp_path / "run"
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "ok" and m["pipeline"]["name"] == "inpaint"
    assert m["input"]["sha256"] and len(m["input"]["sha256"]) == 64
    assert {"numpy", "rapidocr", "pillow"} <= set(m["versions"])
    assert [s["name"] for s in m["stages"]] == ["preflight", "inpaint", "qa"]
    for s in m["stages"]:
        assert {"params", "seed", "seconds", "handoffs", "outputs"} <= set(s)
    inp = m["stages"][1]
    assert inp["params"] == {"backend": "telea", "radius": 3, "context_px": None, "feather_px": 0,
                             "color_match": None, "model": None, "device": "cpu"}
    assert {h["to"] for h in inp["handoffs"]} == {"inpaint.image", "inpaint.mask"}
    assert all(c["ok"] for h in inp["handoffs"] for c in h["checks"])
    assert (out / "stages" / "02-inpaint" / "image.png").is_file()
    assert (out / "stages" / "01-preflight" / "mask.npy").is_file()
    assert "outside_change" in m["qa"] and "seam_score" in m["qa"]
    # the output file: bit-identical outside the (normalised, dilated) mask
    final = read_image(out / "output.png").image
    used = run.stage("preflight").output
    orig8, out8 = to_uint8(read_image(img_path).image), to_uint8(final)
    outside = used == 0
    assert np.array_equal(orig8[outside], out8[outside])
    assert not np.array_equal(orig8[used > 0], out8[used > 0])
    assert img_path.read_bytes() == before  # input never modified


def test_cache_and_rerun_from_a_stage(tmp_path, photo_and_mask):
    img_path, mask_path, _ = photo_and_mask
    pipe = sl.Pipeline.builtin("inpaint")
    out = tmp_path / "run"
    first = pipe.run(img_path, out=out, inputs={"mask": mask_path})
    assert not any(s.cached for s in first.stages.values())
    again = pipe.run(img_path, out=out, inputs={"mask": mask_path})
    assert all(s.cached for s in again.stages.values())
    assert np.array_equal(again.output, first.output)
    changed = pipe.with_params({"inpaint.radius": 9}).run(
        img_path, out=out, inputs={"mask": mask_path}, from_stage="inpaint")
    cached = {n: s.cached for n, s in changed.stages.items()}
    assert cached == {"preflight": True, "inpaint": False, "qa": False}
    assert not np.array_equal(changed.output, first.output)
    m = json.loads((out / "manifest.json").read_text())
    assert m["from_stage"] == "inpaint" and m["stages"][1]["params"]["radius"] == 9


def test_from_stage_needs_cached_predecessors(tmp_path, photo_and_mask, coffee):
    img_path, mask_path, _ = photo_and_mask
    with pytest.raises(ConfigError, match="stage 'preflight' has no cached result"):
        sl.Pipeline.builtin("inpaint").run(img_path, out=tmp_path / "empty",
                                           inputs={"mask": mask_path}, from_stage="inpaint")
    with pytest.raises(ConfigError, match="^from_stage: inpaint: needs out, the run directory"):
        sl.Pipeline.builtin("inpaint").run(img_path, inputs={"mask": mask_path},
                                           from_stage="inpaint")


@dataclass(frozen=True)
class _NoParams:
    pass


class _NeedsBinary(Stage):
    """A test stage whose mask port demands a binary mask with no specks."""

    id = "test-needs-binary"
    spec = StageSpec(inputs={"image": PortSpec("image"),
                             "mask": PortSpec("mask", binary=True, min_component_px=9,
                                              same_size_as="image")},
                     outputs={"image": PortSpec("image")})
    Params = _NoParams

    def run(self, ctx, image, mask):
        assert set(np.unique(mask)) <= {0.0, 1.0}
        return {"image": np.where(mask[..., None] > 0, 0.5, image).astype(np.float32)}


PIPE = """\
pipeline: t
policy: {policy}
inputs: {{image: image, mask: mask}}
stages:
  - name: paint
    stage: test-needs-binary
    inputs: {{image: input.image, mask: input.mask}}
output: paint.image
"""


@pytest.fixture()
def needs_binary(monkeypatch):
    monkeypatch.setitem(REGISTRY, _NeedsBinary.id, _NeedsBinary)


def _soft_mask(shape):
    m = blob_mask(shape, [(60, 60)], 10) * 0.8
    m[5, 5] = 1.0  # a speck
    return m


def test_policy_strict_stops_with_numbers(needs_binary, astronaut):
    pipe = sl.Pipeline.from_text(PIPE.format(policy="strict"))
    with pytest.raises(ContractError, match=r"stage 'paint' input 'mask' \(from input.mask\): "
                                            r"binary expected values exactly 0 or 1, found"):
        pipe.run(astronaut, inputs={"mask": _soft_mask(astronaut.shape[:2])})


def test_policy_reconcile_records_adapters_in_manifest(needs_binary, astronaut, tmp_path):
    pipe = sl.Pipeline.from_text(PIPE.format(policy="reconcile"))
    run = pipe.run(astronaut, out=tmp_path / "r", inputs={"mask": _soft_mask(astronaut.shape[:2])})
    m = json.loads((tmp_path / "r" / "manifest.json").read_text())
    adapters = m["stages"][0]["handoffs"][1]["adapters"]
    assert [a["adapter"] for a in adapters] == ["binarize", "remove_specks"]
    assert adapters[1]["before"] == 1 and adapters[1]["ok_after"]
    assert run.output[5, 5, 0] == astronaut[5, 5, 0]


def test_policy_off_passes_through(needs_binary, astronaut):
    pipe = sl.Pipeline.from_text(PIPE.format(policy="off"))
    with pytest.raises(AssertionError):  # the stage really receives the soft mask
        pipe.run(astronaut, inputs={"mask": _soft_mask(astronaut.shape[:2])})


def test_stage_seeds_do_not_depend_on_other_stages():
    from seamline.engine.runner import stage_seed

    assert stage_seed(0, "inpaint") == stage_seed(0, "inpaint")
    assert stage_seed(0, "inpaint") != stage_seed(1, "inpaint")
    assert stage_seed(0, "inpaint") != stage_seed(0, "detect")


def test_missing_pipeline_input_is_named(astronaut):
    with pytest.raises(sl.InputError, match="^mask: pipeline 'inpaint' needs input 'mask'$"):
        sl.Pipeline.builtin("inpaint").run(astronaut)


def test_mask_of_another_size_is_rejected(astronaut):
    with pytest.raises(sl.InputError, match="mask"):
        sl.Pipeline.builtin("inpaint").run(astronaut, inputs={"mask": np.zeros((10, 10))})


def test_artifact_memo_measures_each_artifact_once(astronaut, monkeypatch):
    """The input image goes to every stage of remove-text; it is measured and hashed once,
    and the records are the same as measuring it afresh each time."""
    import numpy as np

    from seamline.core import artifacts
    from seamline.core.pipeline import builtin_spec
    from seamline.engine.runner import run_pipeline

    calls = {"measure": 0, "digest": 0}
    real_measure, real_digest = artifacts.measure, artifacts.digest

    def counting(name, real):
        def wrapper(*a, **k):
            calls[name] += 1
            return real(*a, **k)
        return wrapper

    image = np.ascontiguousarray(astronaut[:128, :160])
    monkeypatch.setattr(artifacts, "measure", counting("measure", real_measure))
    monkeypatch.setattr(artifacts, "digest", counting("digest", real_digest))
    run = run_pipeline(builtin_spec("remove-text"), image)
    handoffs = [h for s in run.stages.values() for h in s.handoffs]
    from_input = [h for h in handoffs if h["from"] == "input.image"]
    assert len(from_input) >= 3  # detect, unblend, qa (the others read unblend.image)
    assert all(h["stats"] == real_measure("image", image) for h in from_input)
    # one measurement per distinct artifact (plus re-measures after adapters), not per handoff
    distinct = {h["from"] for h in handoffs} | {f"{s.name}.{p}" for s in run.stages.values()
                                                 for p in s.outputs}
    assert calls["measure"] <= len(distinct) + sum(len(h["adapters"]) for h in handoffs)
    assert calls["measure"] < len(handoffs) + sum(len(s.outputs) for s in run.stages.values())
    # hashed once per distinct array too: the manifest's digests are all an in-memory run
    # hashes (it makes no cache key: speed12)
    arrays = {id(image)} | {id(v) for s in run.stages.values() for v in s.outputs.values()
                            if isinstance(v, np.ndarray)}
    others = sum(not isinstance(v, np.ndarray) for s in run.stages.values()
                 for v in s.outputs.values())
    assert calls["digest"] <= len(arrays) + others


@pytest.mark.parametrize("tamper", ["zero", "delete-json-digest"])
def test_tampered_cache_is_recomputed_not_served(tmp_path, photo_and_mask, tamper):
    # issue 11 item 6: a zeroed stages/NN-inpaint/image.npy was served as the cached result
    img_path, mask_path, _ = photo_and_mask
    pipe = sl.Pipeline.builtin("inpaint")
    out = tmp_path / "run"
    first = pipe.run(img_path, out=out, inputs={"mask": mask_path})
    npy = out / "stages" / "02-inpaint" / "image.npy"
    if tamper == "zero":
        arr = np.load(npy)
        np.save(npy, np.zeros_like(arr))
    else:  # a record without digests cannot vouch for its files
        rec_path = out / "stages" / "02-inpaint" / "cache.json"
        rec = json.loads(rec_path.read_text())
        del rec["outputs"]["image"]["digest"]
        rec_path.write_text(json.dumps(rec))
    again = pipe.run(img_path, out=out, inputs={"mask": mask_path})
    cached = {n: s.cached for n, s in again.stages.items()}
    assert cached == {"preflight": True, "inpaint": False, "qa": True}
    assert np.array_equal(again.output, first.output)
    assert np.array_equal(np.load(npy), first.stage("inpaint").output)  # repaired on disk
    m = json.loads((out / "manifest.json").read_text())
    assert m["qa"] == json.loads(json.dumps(first.manifest["qa"]))


def test_freed_memory_is_trimmed_once_after_a_run_whose_stages_ran(tmp_path, photo_and_mask,
                                                                   monkeypatch):
    """issue 10: the heap is trimmed once after a run's last stage when a stage ran (helper
    threads' malloc arenas keep freed memory otherwise), not after every stage (the pages one
    stage gave back were faulted in again by the next), after a run that failed in a stage,
    and not after a run served wholly from the cache."""
    import seamline.engine.runner as runner
    from seamline.core.heap import trim_heap

    assert isinstance(trim_heap(), bool)  # True on glibc, False where there is no such call
    calls = []
    monkeypatch.setattr(runner, "trim_heap", lambda: calls.append(1) or True)
    img_path, mask_path, _ = photo_and_mask
    pipe = sl.Pipeline.builtin("inpaint")
    first = pipe.run(img_path, out=tmp_path / "run", inputs={"mask": mask_path})
    assert len(first.stages) == 3 and len(calls) == 1
    again = pipe.run(img_path, out=tmp_path / "run", inputs={"mask": mask_path})
    assert all(s.cached for s in again.stages.values()) and len(calls) == 1
    pipe.run(img_path, out=tmp_path / "run", inputs={"mask": mask_path}, from_stage="inpaint")
    assert len(calls) == 2  # inpaint and qa ran again: one trim after them
    # a run that fails in a stage trims too (a batch worker goes on to the next image)
    real = runner._run_stage

    def fail_in_qa(i, decl, *args, **kw):
        if decl.name == "qa":
            raise MemoryError("qa")
        return real(i, decl, *args, **kw)

    monkeypatch.setattr(runner, "_run_stage", fail_in_qa)
    with pytest.raises(MemoryError):
        pipe.run(img_path, inputs={"mask": mask_path})
    assert len(calls) == 3


def test_an_in_memory_runs_digests_describe_what_it_saw_not_later_edits():
    """The manifest's digests of an in-memory run are the input's and the outputs' as the
    run made them: a caller that reuses its buffer or edits ``run.output`` afterwards does
    not change them (a review of issue 10's lazy digests: both came out wrong)."""
    from skimage import data

    img = (data.astronaut()[::4, ::4] / 255.0).astype(np.float32)
    mask = np.zeros(img.shape[:2], np.float32)
    mask[50:65, 30:60] = 1
    pipe = sl.Pipeline.builtin("inpaint")
    ref = pipe.run(img.copy(), inputs={"mask": mask.copy()}).manifest
    run = pipe.run(img, inputs={"mask": mask})
    img[:] = 0.5
    run.output[:] = 0
    m = run.manifest
    assert m["input"]["digest"] == ref["input"]["digest"]
    assert [s["outputs"] for s in m["stages"]] == [s["outputs"] for s in ref["stages"]]


def test_an_in_memory_run_hashes_its_arrays_off_the_main_thread(tmp_path, astronaut,
                                                               monkeypatch):
    """An in-memory run's digests are read by its manifest only: its images and masks are
    hashed on a helper thread while the next stage runs (~15 ms of the main thread a
    1024x768 remove-text run, issue 10), and the manifest holds the same digests as a run
    directory's, every one filled in."""
    import threading

    import numpy as np

    from seamline.core import artifacts
    from seamline.core.pipeline import builtin_spec
    from seamline.engine.runner import run_pipeline

    image = np.ascontiguousarray(astronaut[:128, :160])
    on_main = []
    real = artifacts.digest

    def watched(kind, value):
        if kind in ("image", "mask"):
            on_main.append(threading.current_thread() is threading.main_thread())
        return real(kind, value)

    monkeypatch.setattr(artifacts, "digest", watched)
    m = run_pipeline(builtin_spec("remove-text"), image).manifest
    assert on_main and not any(on_main)  # every image and mask hashed off the main thread
    monkeypatch.setattr(artifacts, "digest", real)
    ref = run_pipeline(builtin_spec("remove-text"), image, out=tmp_path / "run",
                       report=False).manifest
    assert m["input"]["digest"] == ref["input"]["digest"] is not None
    digests = lambda man: [{p: o["digest"] for p, o in s["outputs"].items()}  # noqa: E731
                           for s in man["stages"]]
    assert digests(m) == digests(ref)
    assert all(d for s in digests(m) for d in s.values())


SEGMENT = """\
pipeline: segment
inputs: {{image: image}}
stages:
  - name: detect
    stage: detect-text
    inputs: {{image: input.image}}
  - name: mask
    stage: text-mask
    inputs: {{image: input.image, regions: detect.regions}}
    params: {{method: segmenter, model: {model}}}
output: input.image
"""


def test_a_model_replaced_in_place_is_not_served_from_the_cache(tmp_path, captioned):
    # text-mask's cache key named its segmenter's path, not its content: a model file
    # replaced in place was served from the run directory's stale result (and the process
    # kept the old model's session, cached by path)
    from seamline.ops.text.segment import default_model_path

    packaged = default_model_path().read_bytes()
    entry = b"\x0a\x11textseg_threshold\x12\x04" + b"0.25"  # the metadata's probability cut
    assert packaged.count(b"\x72\x19" + entry) == 1
    # the same network cutting at 0.9: a tiny edit to the model's metadata_props
    strict = packaged.replace(b"\x72\x19" + entry,
                              b"\x72\x18\x0a\x11textseg_threshold\x12\x030.9")
    model = tmp_path / "seg.onnx"
    model.write_bytes(packaged)
    pipe = sl.Pipeline.from_text(SEGMENT.format(model=model))
    out = tmp_path / "run"
    first = pipe.run(captioned[0], out=out)
    model.write_bytes(strict)  # replaced in place: the same path and parameters
    again = pipe.run(captioned[0], out=out)
    assert {n: s.cached for n, s in again.stages.items()} == {"detect": True, "mask": False}
    assert again.stage("mask").report["threshold"] == 0.9
    before, after = first.stage("mask").outputs["mask"], again.stage("mask").outputs["mask"]
    assert 0 < after.sum() < before.sum()
    model.write_bytes(packaged)  # and back: the key follows the content both ways
    third = pipe.run(captioned[0], out=out)
    assert not third.stage("mask").cached
    assert np.array_equal(third.stage("mask").outputs["mask"], before)
    fourth = pipe.run(captioned[0], out=out)  # unchanged file: served from the cache
    assert fourth.stage("mask").cached


def test_detect_text_keys_on_the_packaged_segmenter_it_reads(tmp_path, captioned,
                                                             monkeypatch):
    # detect-text's tiled watermark search confirms tiles with the packaged segmenter, but
    # its cache key named no model (text-mask and upscale key on their packaged files): a
    # retrained seamline-textseg.onnx was served from a run directory's stale detection
    from seamline.ops.text import segment

    packaged = segment.default_model_path().read_bytes()
    model = tmp_path / "seamline-textseg.onnx"
    model.write_bytes(packaged)
    monkeypatch.setattr(segment, "default_model_path", lambda: model)
    pipe = sl.Pipeline.from_text(DETECT)
    out = tmp_path / "run"
    pipe.run(captioned[0], out=out)
    assert pipe.run(captioned[0], out=out).stage("detect").cached
    entry = b"\x0a\x11textseg_threshold\x12\x04" + b"0.25"  # as in the test above
    model.write_bytes(packaged.replace(b"\x72\x19" + entry,  # replaced in place: cut at 0.9
                                       b"\x72\x18\x0a\x11textseg_threshold\x12\x030.9"))
    assert not pipe.run(captioned[0], out=out).stage("detect").cached
    off = sl.Pipeline.from_text(DETECT.replace("{}", "{tiled: off}"))
    off.run(captioned[0], out=tmp_path / "off")
    model.write_bytes(packaged)  # tiled off reads no segmenter: its key ignores it
    assert off.run(captioned[0], out=tmp_path / "off").stage("detect").cached


DETECT = """\
pipeline: detect
inputs: {image: image}
stages:
  - name: detect
    stage: detect-text
    inputs: {image: input.image}
    params: {}
output: input.image
"""


def test_checkpoint_stages_check_their_file_first_and_key_on_its_content(tmp_path, astronaut):
    # lama (inpaint, fill-text) and spandrel (upscale) checkpoints: a missing one failed only
    # when its stage ran; a replaced one was served from the run directory's cache
    from seamline.errors import InputError
    from seamline.stages import get_stage

    ckpt = tmp_path / "w.safetensors"
    ckpt.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")  # a header-only safetensors
    for stage_id, backend in (("inpaint", "lama"), ("fill-text", "lama"),
                              ("upscale", "spandrel")):
        cls = get_stage(stage_id)
        params = cls.Params(backend=backend, model=str(ckpt))
        cls.check_files(params)  # a format it reads: passes (no tensor read)
        token = cls.cache_token(params)
        ckpt.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{} ")
        assert cls.cache_token(params) not in (None, token)
        ckpt.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
        assert cls.cache_token(params) == token
        with pytest.raises(InputError, match="nope.pt does not exist"):
            cls.check_files(cls.Params(backend=backend, model=str(tmp_path / "nope.pt")))
    pipe = sl.Pipeline.builtin("upscale").with_params(
        {"upscale.backend": "spandrel", "upscale.model": str(tmp_path / "nope.pth")})
    with pytest.raises(InputError, match="upscaler: checkpoint .*nope.pth does not exist"):
        pipe.run(astronaut[:64, :64], out=tmp_path / "run")
    assert not list((tmp_path / "run").rglob("stages/*"))


def test_a_checkpoint_backend_without_a_model_is_named_in_the_check():
    # the preflight's message for a missing model= named the loader ("the upscaler backend"),
    # not the backend the user picked (spandrel; the stage's own check said so before)
    from seamline.errors import InputError
    from seamline.stages import get_stage

    for stage_id, backend in (("inpaint", "lama"), ("fill-text", "lama"),
                              ("upscale", "spandrel")):
        cls = get_stage(stage_id)
        with pytest.raises(InputError, match=f"^model: the {backend} backend needs a checkpoint"):
            cls.check_files(cls.Params(backend=backend))
