"""The command line: happy paths and every bad input from the issue (exit 2, one line, nothing
written, input untouched)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import seamline as sl
from seamline.cli import main

from conftest import blob_mask


def sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture()
def text_photo(tmp_path, captioned):
    return sl.write_image(tmp_path / "photo.png", captioned[0])


def run_cli(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("seamline: error: ")
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_remove_text_cli(tmp_path, capsys, text_photo):
    before = sha(text_photo)
    code, out, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "clean.png",
                             "--run-dir", tmp_path / "run", "-q")
    assert code == 0 and out == ""
    assert (tmp_path / "clean.png").is_file() and (tmp_path / "run" / "manifest.json").is_file()
    assert sha(text_photo) == before
    code, out, _ = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "c2.png", "--json")
    qa = json.loads(out)["qa"]
    assert qa["residual_words"] <= 1 and qa["outside_change"]["changed_px"] == 0


def test_detect_text_cli_json(capsys, text_photo):
    code, out, _ = run_cli(capsys, "detect-text", text_photo, "--json")
    regions = json.loads(out)
    assert code == 0 and len(regions) >= 2
    assert {"polygon", "text", "score"} <= set(regions[0])
    assert "COFFEE" in " ".join(r["text"] for r in regions).upper()


def test_run_then_rerun_from_stage(tmp_path, capsys, text_photo):
    out = tmp_path / "runx"
    code, stdout, _ = run_cli(capsys, "run", "remove-text", "-i", text_photo, "-o", out, "-q")
    assert code == 0
    code, stdout, _ = run_cli(capsys, "run", "remove-text", "-o", out, "--from", "inpaint",
                              "--set", "inpaint.radius=5", "--json")
    assert code == 0
    stages = {s["name"]: s["cached"] for s in json.loads(stdout)["stages"]}
    assert stages == {"detect": True, "unblend": True, "mask": True, "normalize": True,
                      "preflight": True, "inpaint": False, "qa": False}


def test_stages_and_pipelines_listing(capsys):
    code, out, _ = run_cli(capsys, "stages")
    assert code == 0 and "inpaint:" in out and "param   radius = 3" in out
    code, out, _ = run_cli(capsys, "pipelines", "remove-text")
    assert code == 0 and "stage: detect-text" in out


BAD_FILES = {
    "missing": None,
    "directory": "dir",
    "empty": b"",
    "truncated": "truncated",
    "not_an_image": b"hello, this is text and not a PNG at all\n" * 10,
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_input_files(tmp_path, capsys, case, astronaut):
    p = tmp_path / "in.png"
    content = BAD_FILES[case]
    if content == "dir":
        p.mkdir()
    elif content == "truncated":
        sl.write_image(p, astronaut)
        p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 3])
    elif content is not None:
        p.write_bytes(content)
    out = tmp_path / "out.png"
    code, _, err = run_cli(capsys, "remove-text", p, "-o", out)
    assert_one_line_error(code, err, "in.png")
    assert not out.exists()
    assert sorted(f.name for f in tmp_path.iterdir()) == (["in.png"] if case != "missing" else [])


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 40, 3), (40, 1)])
def test_an_image_too_small_for_text_detection_is_named(tmp_path, capsys, astronaut, shape):
    # the refusal read "image is too small: 1x1 pixels", the file not named
    p = sl.write_image(tmp_path / "tiny.png", astronaut[:shape[0], :shape[1]]
                       if len(shape) == 3 else astronaut[:shape[0], :shape[1], 0])
    before = sha(p)
    code, _, err = run_cli(capsys, "remove-text", p, "-o", tmp_path / "out.png")
    assert_one_line_error(code, err, f"{p} ({shape[1]}x{shape[0]}): stage 'detect': ",
                          "too small for text detection (at least 2x2)")
    assert not (tmp_path / "out.png").exists() and sha(p) == before


def test_jpeg_output_of_an_image_with_alpha_is_refused_before_the_run(tmp_path, capsys,
                                                                        captioned):
    # it was refused when the output was written, after every stage had run (and written
    # its results to the run directory)
    image = captioned[0]
    rgba = sl.write_image(tmp_path / "rgba.png", image,
                          alpha=np.full(image.shape[:2], 0.8, np.float32))
    before = sha(rgba)
    code, _, err = run_cli(capsys, "remove-text", rgba, "-o", tmp_path / "out.jpg",
                           "--run-dir", tmp_path / "run")
    assert_one_line_error(code, err, "out.jpg: JPEG cannot store alpha; write .png")
    assert not (tmp_path / "out.jpg").exists() and sha(rgba) == before
    assert not list((tmp_path / "run").rglob("stages/*"))


def test_missing_or_corrupt_model_files_are_refused_before_the_first_stage(tmp_path, capsys,
                                                                          text_photo):
    # a bad segmenter (mask.model) or lama checkpoint (--model) was refused only when its
    # stage ran, after detection and the stages before it had done their work (and written
    # it to the run directory)
    from seamline.ops.text.segment import default_model_path

    packaged = default_model_path().read_bytes()
    files = {"nope.onnx": None, "junk.onnx": b"\x08\x07not an onnx graph" * 40,
             "cut.onnx": packaged[:len(packaged) // 2], "nope.pt": None,
             "junk.pt": b"not a checkpoint at all"}
    for name, data in files.items():
        if data is not None:
            (tmp_path / name).write_bytes(data)
    cases = [(["--set", f"mask.model={tmp_path / 'nope.onnx'}"],
              "text segmentation model not found: "),
             (["--set", f"mask.model={tmp_path / 'junk.onnx'}"],
              "text segmentation model is unreadable or corrupt: "),
             (["--set", f"mask.model={tmp_path / 'cut.onnx'}"],
              "text segmentation model is unreadable or corrupt: "),
             (["--backend", "lama", "--model", tmp_path / "nope.pt"], "lama: checkpoint "),
             (["--backend", "lama", "--model", tmp_path / "junk.pt"], "is not a checkpoint")]
    for i, (argv, needle) in enumerate(cases):
        name = str(argv[-1]).rsplit("/", 1)[-1]
        code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "o.png",
                               "--run-dir", tmp_path / f"run{i}", *argv)
        assert_one_line_error(code, err, needle, name)
        assert not (tmp_path / "o.png").exists()
        assert not list((tmp_path / f"run{i}").rglob("stages/*")), (argv, "a stage ran")


def test_remove_text_stage_settings_past_any_frame(tmp_path, capsys, text_photo):
    # --set mask.margin=.inf and qa.ring_px=1e30 gave tracebacks (OverflowError, ValueError);
    # a NaN or 2 segmenter cut ran and segmented nothing, silently
    for setting, needle in (("mask.margin=.inf", "margin must be a finite number >= 0, got inf"),
                            ("mask.threshold=2", "threshold: expected a number in [0, 1], got 2"),
                            ("mask.effect_threshold=.nan",
                             "effect_threshold: expected a number in [0, 1], got nan")):
        code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "m.png",
                               "--set", setting)
        assert_one_line_error(code, err, needle)
        assert not (tmp_path / "m.png").exists()
    code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "q.png", "-q",
                           "--set", f"qa.ring_px={10**30}")
    assert code == 0 and err == "" and (tmp_path / "q.png").is_file()


def test_decompression_bomb_guard(tmp_path, capsys, text_photo):
    code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "o.png",
                           "--max-pixels", 1000)
    assert_one_line_error(code, err, "photo.png", "1,000", "--max-pixels")
    assert not (tmp_path / "o.png").exists()


def test_output_cannot_overwrite_input(tmp_path, capsys, text_photo):
    before = sha(text_photo)
    code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", text_photo)
    assert_one_line_error(code, err, "photo.png")
    assert sha(text_photo) == before


def test_library_names_its_arguments_and_the_cli_the_flags(tmp_path, capsys, text_photo):
    # the library speaks of its parameters (sets, from_stage, masks); the CLI shows the flag
    # the user typed, with the value the message is about
    from seamline.batch import plan_batch

    (tmp_path / "in").mkdir()
    library = {
        "sets: nostage.radius: no stage named 'nostage'":
            lambda: sl.Pipeline.builtin("remove-text").with_params(["nostage.radius=3"]),
        "from_stage: inpaint: stage 'detect' has no cached result":
            lambda: sl.Pipeline.builtin("remove-text").run(text_photo, out=tmp_path / "fresh",
                                                           from_stage="inpaint"),
        f"masks: {tmp_path / 'nomasks'}: does not exist":
            lambda: plan_batch("inpaint", tmp_path / "in", tmp_path / "o",
                               masks=tmp_path / "nomasks"),
    }
    for expected, call in library.items():
        with pytest.raises(sl.SeamlineError) as e:
            call()
        assert str(e.value).startswith(expected) and "--" not in str(e.value), str(e.value)
    cli = {
        "--set nostage.radius: no stage named 'nostage'":
            ["run", "remove-text", "-i", text_photo, "-o", tmp_path / "r1", "--set",
             "nostage.radius=3"],
        "--from inpaint: stage 'detect' has no cached result":
            ["run", "remove-text", "-i", text_photo, "-o", tmp_path / "r2", "--from", "inpaint"],
        f"--masks {tmp_path / 'nomasks'}: does not exist":
            ["batch", "inpaint", tmp_path / "in", "-o", tmp_path / "o", "--masks",
             tmp_path / "nomasks"],
        "it has sub-folders: pass --recursive to take images from them":
            ["batch", "remove-text", tmp_path / "nested", "-o", tmp_path / "o"],
    }
    (tmp_path / "nested" / "sub").mkdir(parents=True)
    (tmp_path / "nested" / "sub" / "a.png").write_bytes(text_photo.read_bytes())
    for expected, argv in cli.items():
        code, _, err = run_cli(capsys, *argv)
        assert_one_line_error(code, err, expected)
    # hints in keyword syntax become flags; a dotted stage key is left alone
    from seamline.cli import build_parser
    from seamline.cli.common import _flag_wording

    parser = build_parser()
    args = parser.parse_args(["remove-text", "x.png", "-o", "y.png"])
    assert _flag_wording("a.png: too large; raise it with max_pixels=N (or inpaint.radius=5, "
                         "radius=True)", parser, args) == \
        "a.png: too large; raise it with --max-pixels N (or inpaint.radius=5, radius=True)"


def test_unwritable_output(tmp_path, capsys, text_photo):
    code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "nope" / "o.png")
    assert_one_line_error(code, err, "o.png")
    code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "o.bmpx")
    assert_one_line_error(code, err, "o.bmpx")


def test_wrong_parameter_type_and_unknown_stage(tmp_path, capsys, text_photo):
    code, _, err = run_cli(capsys, "remove-text", text_photo, "-o", tmp_path / "o.png",
                           "--set", "inpaint.radius=wide")
    assert_one_line_error(code, err, "inpaint", "radius", "expected int", "wide")
    bad = tmp_path / "p.yaml"
    bad.write_text("pipeline: x\nstages:\n  - name: a\n    stage: blur\n    inputs: "
                   "{image: input.image}\noutput: a.image\n")
    code, _, err = run_cli(capsys, "run", bad, "-i", text_photo, "-o", tmp_path / "r")
    assert_one_line_error(code, err, "p.yaml:4", "unknown stage 'blur'", "known stages")
    assert not (tmp_path / "r").exists()
    assert not (tmp_path / "o.png").exists()


def test_inpaint_with_a_huge_radius_or_feather(tmp_path, capsys, mask_files):
    # --radius 3000000000 gave a traceback (the crops' int32 corners overflowed): now the
    # widest fill, OpenCV's 100 px; a --feather over the whole image is named as the flag
    # (it read "no known pixels within context_px 800"), and so is a negative one
    photo, mask = mask_files["photo"], mask_files["good"]
    before = {p: sha(p) for p in (photo, mask)}
    for radius in (100, 3_000_000_000):
        code, _, err = run_cli(capsys, "inpaint", photo, "--mask", mask, "--backend", "telea",
                               "--radius", radius, "-o", tmp_path / f"r{radius}.png", "-q")
        assert code == 0, err
    assert sha(tmp_path / "r100.png") == sha(tmp_path / "r3000000000.png")
    for feather, needle in ((3_000_000_000, "the mask grown by 3000000000 px covers the whole "
                                            "image"),
                            (-1, "expected a non-negative integer, got -1")):
        code, _, err = run_cli(capsys, "inpaint", photo, "--mask", mask, "--feather", feather,
                               "-o", tmp_path / "f.png")
        assert_one_line_error(code, err, f"--feather: {needle}")
    assert not (tmp_path / "f.png").exists()
    assert {p: sha(p) for p in (photo, mask)} == before


@pytest.fixture()
def mask_files(tmp_path, astronaut):
    h, w = astronaut.shape[:2]
    files = {}
    for name, m in {"good": blob_mask((h, w), [(200, 200)], 12),
                    "empty": np.zeros((h, w), np.float32),
                    "full": np.ones((h, w), np.float32),
                    "small": np.zeros((h // 2, w), np.float32)}.items():
        files[name] = sl.write_image(tmp_path / f"{name}-mask.png",
                                     np.repeat(m[..., None], 3, axis=2))
    files["photo"] = sl.write_image(tmp_path / "photo.png", astronaut)
    return files


def test_masks_through_the_inpaint_pipeline(tmp_path, capsys, mask_files, astronaut):
    photo = mask_files["photo"]
    code, _, _ = run_cli(capsys, "run", "inpaint", "-i", photo, "--mask", mask_files["good"],
                         "-o", tmp_path / "ok", "-q")
    assert code == 0
    # empty mask: not an error; the image comes back unchanged, with a note
    code, out, _ = run_cli(capsys, "run", "inpaint", "-i", photo, "--mask", mask_files["empty"],
                           "-o", tmp_path / "empty")
    assert code == 0 and "mask is empty" in out
    back = sl.read_image(tmp_path / "empty" / "output.png").image
    assert np.array_equal(back, sl.read_image(photo).image)
    # all-ones mask: nothing to fill from
    code, _, err = run_cli(capsys, "run", "inpaint", "-i", photo, "--mask", mask_files["full"],
                           "-o", tmp_path / "full")
    assert_one_line_error(code, err, "whole image")
    assert not (tmp_path / "full" / "output.png").exists()
    # mask of another size
    code, _, err = run_cli(capsys, "run", "inpaint", "-i", photo, "--mask", mask_files["small"],
                           "-o", tmp_path / "small")
    assert_one_line_error(code, err, "small-mask.png", "512x256", "512x512")
