"""Issue 14's corpus: Pillow's own test images through ``read_image`` and two commands.

Needs ``make pillow-corpus`` (``make test`` calls it; it fetches the pinned Pillow sdist once
into ``.cache/pillow-corpus``); without it every test here is skipped and says why.

Time is kept modest by sampling, deterministically: every file of at most 256 KB except
Pillow's fuzzer ``timeout-*`` files (about 980 of 1058; the full set, 2 minutes, is
``benchmarks/io_corpus.py``), plus every file issue 14 names (about 35 s). ``upscale`` runs on 7 files, ``remove-text`` on 4.
"""

from __future__ import annotations

import hashlib
import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from seamline.testing import pillow_corpus as pc

ROOT = pc.corpus_dir()
pytestmark = pytest.mark.skipif(
    ROOT is None, reason="Pillow corpus absent: run `make pillow-corpus` (fetches "
                         "pillow==12.0.0's sdist once into .cache/pillow-corpus)")

# Named in issue 14: each was a wrong output or a lost user before.
ISSUE_FILES = [
    "tiff_16bit_RGBa.tiff", "tiff_strip_planar_16bit_RGB.tiff", "tiff_tiled_planar_16bit_RGB.tiff",
    "tiff_tiled_planar_16bit_RGBa.tiff", *(f"g4_orientation_{i}.tif" for i in range(1, 9)),
    "1_trns.png", "i_trns.png", "apng/mode_16bit.png", "bmp/g/pal1.bmp",
    "imagedraw/triangle_right.png", "g4-multi.tiff", "pport_g4.tif",
]
# Why a file Pillow opens may still be refused: not a photo, or over the pixel limit.
ACCEPTED_REFUSALS = ("measurement data, not a photo", "decompression bomb guard",
                     "unsupported TIFF")


def _sample() -> list:
    files = [p for p in pc.corpus_files(ROOT)
             if p.stat().st_size <= 256 * 1024 and not p.name.startswith("timeout-")]
    extra = [ROOT / n for n in ISSUE_FILES if (ROOT / n).is_file()]
    return sorted(set(files) | set(extra))


@pytest.fixture(scope="module")
def outcomes():
    return [pc.classify(p, ROOT) for p in _sample()]


def test_no_wrong_output_and_no_traceback(outcomes):
    bad = [f"{o.name}: {o.klass}: {o.detail}" for o in outcomes if o.klass in ("wrong", "crash")]
    assert not bad, "\n".join(bad)
    assert len(outcomes) > 900  # the sample is most of the corpus


def test_refusals_are_one_line_and_only_what_cannot_be_a_photo(outcomes):
    rejects = [o for o in outcomes if o.klass == "reject"]
    assert all(o.detail.startswith("<file>: ") and "\n" not in o.detail for o in rejects)
    lost = [f"{o.name}: {o.detail}" for o in rejects if o.pillow_opens
            and not any(r in o.detail for r in ACCEPTED_REFUSALS)]
    assert not lost, "\n".join(lost)  # Pillow reads it, so do we


def test_issue_files_are_read_right(outcomes):
    by_name = {o.name: o for o in outcomes}
    for name in ISSUE_FILES:
        if name in by_name:
            assert by_name[name].klass == "ok", (name, by_name[name].detail)


def _cli(argv) -> tuple[int, str]:
    from seamline.cli import main

    err = io.StringIO()
    with redirect_stdout(io.StringIO()), redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


UPSCALE = ["hopper.png", "1_trns.png", "tiff_16bit_RGBa.tiff", "g4_orientation_6.tif",
           "apng/mode_16bit.png", "imagedraw/triangle_right.png", "10ct_32bit_128.tiff"]
# remove-text costs seconds per file (OCR; a fax-like page of glyphs over 30 s): a smaller sample
REMOVE_TEXT = ["hopper.png", "1_trns.png", "tiff_16bit_RGBa.tiff", "10ct_32bit_128.tiff"]


@pytest.mark.parametrize("command,name", [*(("upscale", n) for n in UPSCALE),
                                          *(("remove-text", n) for n in REMOVE_TEXT)])
def test_commands_on_a_sample_exit_0_or_2_and_leave_the_input(tmp_path, name, command):
    src = ROOT / name
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    out = tmp_path / "out.png"
    code, err = _cli([command, str(src), "-o", str(out)])
    assert code in (0, 2), err
    assert "Traceback" not in err
    assert out.exists() == (code == 0)
    if code == 2:
        assert err.count("\n") == 1 and str(src) in err, err
        assert list(tmp_path.iterdir()) == []
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
