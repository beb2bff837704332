"""Every command against hostile files: one line on stderr, exit 2, nothing written, inputs
unchanged (issue 11).

The corpus is made by the test: a truncated PNG, a zero-byte file, a text file named .png, a
decompression-bomb header (50000x50000 declared in a few hundred bytes), a symlink loop, a
folder named like an image, a YAML alias bomb, a crafted run directory. Each command runs
in-process through ``seamline.cli.main``; the whole folder is hashed before and after.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from seamline.cli import main
from seamline.io import write_image


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _bomb_png(side: int = 50_000) -> bytes:
    """A valid PNG declaring side x side RGB pixels; its IDAT is a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (1 + 3 * side) * 4)  # a few rows; the rest never decoded
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


ALIAS_BOMB = """\
name: bomb
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
inputs: {image: image}
stages:
  - name: detect
    stage: detect-text
    params: {min_score: *g}
output: detect.regions
"""

HOSTILE_IMAGES = ("truncated.png", "empty.png", "text.png", "bomb.png", "loop.png", "dir.png")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    good = d / "good.png"
    write_image(good, rng.random((48, 64, 3)).astype(np.float32))
    mask = np.zeros((48, 64, 3), np.float32)
    mask[16:32, 20:40] = 1
    write_image(d / "mask.png", mask)
    data = good.read_bytes()
    (d / "truncated.png").write_bytes(data[: len(data) // 2])
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("this is not an image\n")
    (d / "bomb.png").write_bytes(_bomb_png())
    (d / "loop.png").symlink_to(d / "loop2.png")
    (d / "loop2.png").symlink_to(d / "loop.png")
    (d / "dir.png").mkdir()
    (d / "bomb.yaml").write_text(ALIAS_BOMB)
    run = d / "crafted-run"  # a manifest that is not one
    run.mkdir()
    (run / "manifest.json").write_text('{"stages": [1, 2', encoding="utf-8")
    return d


def _snapshot(root: Path) -> dict[str, str]:
    """Every entry under root: file sha256, 'dir' or 'link -> target' (links not followed)."""
    snap = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            snap[rel] = "link -> " + str(p.readlink())
        elif p.is_dir():
            snap[rel] = "dir"
        else:
            snap[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return snap


def _assert_refused(capsys, corpus: Path, argv: list[str], *needles: str) -> None:
    before = _snapshot(corpus)
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (argv, code, err)
    assert len(lines) == 1 and lines[0].startswith("seamline: error: "), (argv, err)
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert _snapshot(corpus) == before, argv  # nothing written, nothing changed


def _image_commands(d: Path, bad: Path) -> dict[str, list]:
    out = d / "out.png"
    return {
        "remove-text": ["remove-text", bad, "-o", out],
        "inpaint": ["inpaint", bad, "--mask", d / "mask.png", "-o", out],
        "inpaint-mask": ["inpaint", d / "good.png", "--mask", bad, "-o", out],
        "upscale": ["upscale", bad, "-o", out, "--backend", "lanczos"],
        "enhance": ["enhance", bad, "-o", out],
        "mask-normalize": ["mask", "normalize", bad, "-o", out],
        "mask-check": ["mask", "check", d / "good.png", bad],
        "color-match": ["color-match", bad, "--reference", d / "good.png", "-o", out],
        "color-match-ref": ["color-match", d / "good.png", "--reference", bad, "-o", out],
        "detect-text": ["detect-text", bad],
        "run": ["run", "remove-text", "-i", bad, "-o", d / "run-out"],
    }


@pytest.mark.parametrize("bad", HOSTILE_IMAGES)
@pytest.mark.parametrize("command", sorted(_image_commands(Path("."), Path("."))))
def test_image_commands_refuse_hostile_files(corpus, capsys, command, bad):
    argv = _image_commands(corpus, corpus / bad)[command]
    _assert_refused(capsys, corpus, argv, bad)


def test_pipeline_alias_bomb_is_refused_by_run_and_batch(corpus, capsys, tmp_path):
    _assert_refused(capsys, corpus, ["run", corpus / "bomb.yaml", "-i", corpus / "good.png",
                                     "-o", corpus / "run-out"], "bomb.yaml")
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "a.png").write_bytes((corpus / "good.png").read_bytes())
    _assert_refused(capsys, corpus, ["batch", corpus / "bomb.yaml", inp, "-o",
                                     corpus / "batch-out"], "bomb.yaml")


def test_batch_records_hostile_images_as_failures_and_writes_only_its_folder(corpus, capsys,
                                                                               tmp_path):
    # a batch goes on past a bad image (exit 1, one line per failed item), and writes only
    # OUT_DIR: the inputs and everything beside them stay as they were
    inp = tmp_path / "in"
    inp.mkdir()
    for name in HOSTILE_IMAGES:
        src = corpus / name
        if name == "loop.png":
            (inp / name).symlink_to(inp / "loop2.png")
            (inp / "loop2.png").symlink_to(inp / name)
        elif name == "dir.png":
            (inp / name).mkdir()
        else:
            (inp / name).write_bytes(src.read_bytes())
    before = _snapshot(tmp_path)
    out = tmp_path / "out"
    code = main(["batch", "remove-text", str(inp), "-o", str(out), "--workers", "0", "-q"])
    _, err = capsys.readouterr()
    assert code == 1, err
    doc = json.loads((out / "summary.json").read_text())
    status = {r["item"]: r for r in doc["items"]}
    # links that resolve nowhere and folders are not images: not listed
    assert set(status) == {"truncated.png", "empty.png", "text.png", "bomb.png"}
    assert all(r["status"] == "failed" and "\n" not in r["error"] for r in status.values())
    after = _snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("out")} == before
    assert sorted(p.name for p in out.iterdir()) == ["batch-state.jsonl", "summary.csv",
                                                     "summary.json"]


@pytest.mark.parametrize("case", ["not-json", "no-run", "file"])
def test_report_and_diff_refuse_what_is_not_a_run(corpus, capsys, case):
    run = {"not-json": corpus / "crafted-run", "no-run": corpus / "nowhere",
           "file": corpus / "good.png"}[case]
    _assert_refused(capsys, corpus, ["report", run], str(run.name))
    _assert_refused(capsys, corpus, ["diff", run, corpus / "crafted-run"])


@pytest.mark.parametrize("argv, needle", [
    (["upscale", "{good}", "-o", "{out}", "--backend", "lanczos", "--scale", "1000"], "--scale"),
    (["upscale", "{good}", "-o", "{out}", "--backend", "bicubic", "--scale", "12",
      "--max-pixels", "50000"], "over the limit"),
    (["enhance", "{good}", "-o", "{out}", "--scale", "4", "--max-pixels", "20000"],
     "over the limit"),
])
def test_upscale_output_size_is_checked_before_allocating(corpus, capsys, argv, needle):
    # issue 11.9: --scale 1000 attempted a 460 GB allocation and died in cv2
    argv = [a.format(good=corpus / "good.png", out=corpus / "out.png") for a in argv]
    _assert_refused(capsys, corpus, argv, needle)


@pytest.mark.parametrize("flag", ["--grow", "--shrink", "--snap"])
def test_mask_normalize_huge_radius_is_exact_and_cheap(corpus, capsys, tmp_path, flag):
    # issue 11.10: --grow 100000 built a 200001^2 kernel (298 GiB) and died with a traceback
    out = tmp_path / "m.png"
    assert main(["mask", "normalize", str(corpus / "mask.png"), "-o", str(out), flag,
                 "100000", "-q"]) == 0
    from seamline.io import load_mask

    got = load_mask(out)
    expect = 0.0 if flag == "--shrink" else 1.0  # every disk/cell covers the whole frame
    assert np.all(got == expect)


def test_bad_model_cache_setting_is_one_line(corpus, capsys, monkeypatch):
    # issue 11.10: SEAMLINE_MODEL_CACHE=abc was a ValueError traceback on import
    monkeypatch.setenv("SEAMLINE_MODEL_CACHE", "abc")
    _assert_refused(capsys, corpus, ["generate", "--model", corpus / "nowhere", "--prompt", "x",
                                     "-o", corpus / "gen.png", "-q"], "SEAMLINE_MODEL_CACHE")
