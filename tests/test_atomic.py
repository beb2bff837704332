"""seamline.core.atomic: the one writer every file goes through (issue 11 items 2 and 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from seamline.core import artifacts
from seamline.core.atomic import atomic_open, write_bytes_atomic, write_text_atomic
from seamline.engine import store

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_replaces_content_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "a.bin"
    write_bytes_atomic(path, b"old")
    write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert _names(tmp_path) == ["a.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not 0o600


@pytest.mark.parametrize("writer", ["json", "text", "npy", "mask-preview"])
def test_planted_link_at_the_old_temp_name_is_not_followed(tmp_path, writer):
    # The old writers used ".{name}.tmp-{pid}" (and ".{name}.tmp-{pid}.png"): an attacker who
    # can write into the run folder planted a symlink there and redirected the write.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    run = tmp_path / "run"
    run.mkdir()
    name = {"json": "manifest.json", "text": "report.html", "npy": "image.npy",
            "mask-preview": "mask.png"}[writer]
    for old in (f".{name}.tmp-{os.getpid()}", f".{name}.tmp-{os.getpid()}.png"):
        os.symlink(victim, run / old)
    if writer == "json":
        artifacts.write_json(run / name, {"a": 1})
        assert json.loads((run / name).read_text()) == {"a": 1}
    elif writer == "text":
        write_text_atomic(run / name, "<html></html>")
    else:
        kind = "image" if writer == "npy" else "mask"
        value = np.zeros((8, 8, 3) if kind == "image" else (8, 8), np.float32)
        store.save(kind, value, run, Path(name).stem)
    assert victim.read_text() == "precious"
    assert all((run / old).is_symlink() for old in (f".{name}.tmp-{os.getpid()}",))


def test_symlink_at_destination_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.symlink(victim, tmp_path / "out.txt")
    write_text_atomic(tmp_path / "out.txt", "result")
    assert victim.read_text() == "precious"
    assert not (tmp_path / "out.txt").is_symlink()
    assert (tmp_path / "out.txt").read_text() == "result"


def test_exception_mid_write_keeps_old_file_and_removes_temp(tmp_path):
    path = tmp_path / "manifest.json"
    write_text_atomic(path, "old")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_open(path, "w") as f:
            f.write("half of the new cont")
            raise RuntimeError("crash")
    assert path.read_text() == "old"
    assert _names(tmp_path) == ["manifest.json"]


def test_killed_process_mid_write_leaves_old_file_intact(tmp_path):
    path = tmp_path / "summary.json"
    write_text_atomic(path, '{"ok": 1}')
    code = textwrap.dedent(f"""
        import os
        from seamline.core.atomic import atomic_open
        with atomic_open({str(path)!r}, "w") as f:
            f.write("{{\\"ok\\": 2, trunc")
            f.flush()
            os._exit(9)  # the process dies before the rename: no cleanup runs
    """)
    r = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": SRC})
    assert r.returncode == 9
    assert path.read_text() == '{"ok": 1}'  # readers never see the half-written file
    leftovers = [n for n in _names(tmp_path) if n != "summary.json"]
    assert all(n.startswith(".summary.json.") and n.endswith(".tmp") for n in leftovers)


def test_failed_rename_and_fsync_leave_nothing(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    write_text_atomic(path, "old")

    def full_disk(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(path, "new")
    assert path.read_text() == "old" and _names(tmp_path) == ["a.txt"]


def test_text_is_utf8_whatever_the_locale(tmp_path):
    # C locale with coercion and UTF-8 mode off: the locale encoding is ASCII, so the old
    # Path.write_text raised UnicodeEncodeError here (or wrote latin-1 under other locales)
    # while the report declares <meta charset="utf-8">.
    out = tmp_path / "r.html"
    TEXT = "café – 東京\n"  # noqa: N806
    code = textwrap.dedent(f"""
        import locale, sys
        from seamline.core.artifacts import write_json
        from seamline.core.atomic import write_text_atomic
        assert locale.getpreferredencoding(False).lower() in ("ascii", "ansi_x3.4-1968"), \\
            locale.getpreferredencoding(False)
        write_text_atomic({str(out)!r}, {ascii(TEXT)})
        write_json({str(out) + '.json'!r}, {{"name": {ascii("café")}}})
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update(LC_ALL="C", PYTHONCOERCECLOCALE="0", PYTHONUTF8="0", PYTHONPATH=SRC)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == TEXT.encode("utf-8")
    assert json.loads(Path(str(out) + ".json").read_bytes().decode("utf-8")) == {"name": "café"}


def test_bad_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_open(tmp_path / "x", "a"):
            pass
    assert _names(tmp_path) == []
