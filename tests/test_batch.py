"""``seamline batch``: resume, failure isolation, order independence, masks, engines.

Photos with text drawn by the test (``seamline.testing.synth.text_photo_cases``), cropped small so
OCR is quick. Ray tests start one private Ray instance (127.0.0.1 only) for the module.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from seamline import batch
from seamline.batch import item_seed, plan_batch, run_batch
from seamline.cli.batch import main as batch_main
from seamline.io import load_image, write_image

N_PHOTOS = 4


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    """Four 160x240 crops of real photos with drawn text, as PNG and JPEG."""
    from seamline.testing.synth import text_photo_cases

    d = tmp_path_factory.mktemp("photos")
    for i, case in enumerate(text_photo_cases(N_PHOTOS, seed=3)):
        img = case["with_text"]
        h, w = img.shape[:2]
        y0, x0 = max(0, (h - 160) // 2), max(0, (w - 240) // 2)
        write_image(d / f"p{i}.{'jpg' if i == 3 else 'png'}", img[y0:y0 + 160, x0:x0 + 240])
    return d


@pytest.fixture(scope="module")
def reference(photos, tmp_path_factory):
    """The batch on 2 local workers: what every other engine/order must reproduce."""
    out = tmp_path_factory.mktemp("ref")
    res = run_batch("remove-text", photos, out, workers=2)
    assert res.exit_code == 0, res.records
    return res


def _by_item(res) -> dict:
    return {r["item"]: r for r in res.records}


def _assert_same_results(a, b) -> None:
    ra, rb = _by_item(a), _by_item(b)
    assert set(ra) == set(rb)
    for item in ra:
        assert rb[item]["status"] == ra[item]["status"] == "ok", (item, rb[item].get("error"))
        assert rb[item]["seed"] == ra[item]["seed"]
        assert rb[item]["output_digest"] == ra[item]["output_digest"], item
        assert rb[item]["qa"] == ra[item]["qa"], item
        # and the files decode to the same pixels
        assert np.array_equal(load_image(ra[item]["output"]), load_image(rb[item]["output"]))


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# ------------------------------------------------------------------------------ local engine


def test_reference_run_writes_outputs_summary_and_seeds(reference, photos):
    out = reference.out_dir
    assert reference.counts == {"ok": N_PHOTOS, "failed": 0, "skipped": 0, "pending": 0}
    assert sorted(p.name for p in out.glob("*.png")) == [f"p{i}.png" for i in range(N_PHOTOS)]
    doc = json.loads((out / "summary.json").read_text())
    assert doc["exit_code"] == 0 and doc["engine"]["workers"] == 2
    assert 1 <= len(doc["engine"]["peak_rss_mb_per_worker"]) <= 2  # worker pids, RSS each
    for rec in doc["items"]:
        assert rec["seed"] == item_seed(0, rec["item"])
        assert isinstance(rec["qa"]["residual_words"], int)
    header = (out / "summary.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["item", "status", "seconds", "output", "error"]
    assert {"qa.residual_words", "qa.seam_score", "qa.outside_change.changed_px"} <= set(header)
    assert not list(out.glob(".*tmp*"))  # atomic writes leave no temporaries


def test_results_do_not_depend_on_worker_count_or_order(reference, photos, tmp_path,
                                                        monkeypatch):
    # one worker taking the items in reverse order vs two workers in sorted order (one run
    # for both, to keep the suite short: each pool start loads the OCR models)
    listing = batch.list_images
    monkeypatch.setattr(batch.plan, "list_images", lambda *a, **k: listing(*a, **k)[::-1])
    seen = []
    rev = run_batch("remove-text", photos, tmp_path / "rev", workers=1,
                    on_record=lambda r: seen.append(r["item"]))
    assert seen == sorted(seen, reverse=True)
    _assert_same_results(reference, rev)


def test_resume_skips_unchanged_and_reruns_only_changed(photos, tmp_path):
    inp = _copy(photos, tmp_path / "in")
    out = tmp_path / "out"
    first = run_batch("remove-text", inp, out, workers=0, run_dirs=True)
    assert first.counts["ok"] == N_PHOTOS
    manifest = json.loads((out / "runs" / "p1" / "manifest.json").read_text())
    assert manifest["pipeline"]["seed"] == item_seed(0, "p1.png")

    again = run_batch("remove-text", inp, out, workers=0, run_dirs=True)
    assert again.counts == {"ok": 0, "failed": 0, "skipped": N_PHOTOS, "pending": 0}
    assert again.exit_code == 0
    assert _by_item(again)["p2.png"]["qa"] == _by_item(first)["p2.png"]["qa"]

    os.utime(inp / "p0.png")  # a new mtime, same bytes: still unchanged
    img = load_image(inp / "p2.png")
    write_image(inp / "p2.png", img[:, ::-1])  # new content
    third = run_batch("remove-text", inp, out, workers=0, run_dirs=True)
    status = {k: r["status"] for k, r in _by_item(third).items()}
    assert status == {"p0.png": "skipped", "p1.png": "skipped", "p2.png": "ok",
                      "p3.jpg": "skipped"}
    # a config change (or another seed) would re-run everything; planning shows it
    assert len(plan_batch("remove-text", inp, out, sets=["inpaint.radius=4"]).todo) == N_PHOTOS
    assert len(plan_batch("remove-text", inp, out, seed=7).todo) == N_PHOTOS
    assert not plan_batch("remove-text", inp, out).todo


def test_bad_files_are_recorded_and_the_batch_goes_on(photos, tmp_path):
    inp = tmp_path / "in"
    inp.mkdir()
    for name in ("p0.png", "p1.png"):
        shutil.copy(photos / name, inp / name)
    data = (photos / "p2.png").read_bytes()
    (inp / "cut.png").write_bytes(data[: len(data) // 2])  # truncated
    (inp / "notes.png").write_text("this is not an image\n")
    out = tmp_path / "out"
    res = run_batch("remove-text", inp, out, workers=0)
    status = {k: r["status"] for k, r in _by_item(res).items()}
    assert status == {"p0.png": "ok", "p1.png": "ok", "cut.png": "failed",
                      "notes.png": "failed"}
    assert res.exit_code == 1
    for item in ("cut.png", "notes.png"):
        err = _by_item(res)[item]["error"]
        assert "\n" not in err and item in err, err
    assert not (out / "cut.png").exists() and not (out / "notes.png").exists()
    csv_rows = (out / "summary.csv").read_text().splitlines()
    assert len(csv_rows) == 5 and any(",failed," in r for r in csv_rows)
    # a re-run retries only the failures
    again = run_batch("remove-text", inp, out, workers=0)
    status = {k: r["status"] for k, r in _by_item(again).items()}
    assert status == {"p0.png": "skipped", "p1.png": "skipped", "cut.png": "failed",
                      "notes.png": "failed"}


def test_masks_are_matched_by_stem_missing_fail_extra_warn(photos, tmp_path, capsys):
    inp, masks = tmp_path / "in", tmp_path / "masks"
    inp.mkdir()
    masks.mkdir()
    for i in range(3):
        shutil.copy(photos / f"p{i}.png", inp / f"p{i}.png")
    m = np.zeros((160, 240, 3), np.float32)
    m[60:90, 100:150] = 1.0
    write_image(masks / "p0.png", m)
    write_image(masks / "p1.jpg", m)  # any supported extension
    write_image(masks / "orphan.png", m)  # no image called orphan
    rc = batch_main(["inpaint", str(inp), "--masks", str(masks), "-o", str(tmp_path / "out"),
                     "--workers", "0"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "orphan" in err and "warning" in err
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    status = {r["item"]: r for r in doc["items"]}
    assert status["p0.png"]["status"] == status["p1.png"]["status"] == "ok"
    assert status["p2.png"]["status"] == "failed" and "no mask" in status["p2.png"]["error"]
    assert status["p1.png"]["mask"].endswith("p1.jpg")
    assert any("orphan" in w for w in doc["warnings"])
    # outside the mask nothing changed
    out = load_image(tmp_path / "out" / "p0.png")
    src = load_image(inp / "p0.png")
    assert np.array_equal(out[:50], src[:50])


def test_every_format_the_reader_reads_is_planned(tmp_path):
    # one list of extensions: what io reads is what a batch picks up (issue 14: TGA, PPM, QOI...
    # were readable one at a time but left out of folders)
    from PIL import Image

    from seamline.io import image_extensions, read_image

    inp, masks = tmp_path / "in", tmp_path / "masks"
    inp.mkdir()
    masks.mkdir()
    rgb = Image.fromarray(np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3))
    files = {"a.tga": "TGA", "b.ppm": "PPM", "c.QOI": "QOI", "d.pcx": "PCX", "e.sgi": "SGI",
             "f.dib": "DIB", "g.jp2": "JPEG2000"}
    for name, fmt in files.items():
        rgb.save(inp / name, format=fmt)
    (inp / "notes.txt").write_text("not an image")
    (inp / "h.ps").write_text("%!PS\n")  # EPS is refused with a reason, so not listed either
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(masks / "a.pgm")  # masks too
    for name in files:
        assert Path(name).suffix.lower() in image_extensions()
        assert read_image(inp / name).image.shape == (48, 64, 3)
    assert ".ps" not in image_extensions() and ".txt" not in image_extensions()
    plan = plan_batch("remove-text", inp, tmp_path / "out")
    assert [i.item for i in plan.todo] == sorted(files)
    plan = plan_batch("inpaint", inp, tmp_path / "out2", masks=masks)
    by_item = {i.item: i for i in plan.todo}
    assert by_item["a.tga"].mask.endswith("a.pgm") and by_item["b.ppm"].error.startswith("no mask")
    # calibrate's image folder is listed by the same list
    from seamline.diffusion.profiles import _image_files

    assert sorted(p.name for p in _image_files(inp)) == sorted(files)


@pytest.mark.parametrize("case", ["out-inside-input", "empty", "missing-pipeline", "bad-set",
                                  "no-masks"])
def test_user_mistakes_exit_2_with_one_line(photos, tmp_path, capsys, case):
    inp = _copy(photos, tmp_path / "in")
    argv = {"out-inside-input": ["remove-text", str(inp), "-o", str(inp / "out")],
            "empty": ["remove-text", str(tmp_path / "empty"), "-o", str(tmp_path / "o")],
            "missing-pipeline": [str(tmp_path / "nope.yaml"), str(inp), "-o",
                                 str(tmp_path / "o")],
            "bad-set": ["remove-text", str(inp), "-o", str(tmp_path / "o"), "--set",
                        "inpaint.radius=wide"],
            "no-masks": ["inpaint", str(inp), "-o", str(tmp_path / "o")]}[case]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    assert batch_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seamline: error:") and "\n" not in err, err
    assert not (inp / "out").exists()


# A batch whose items after the first wait for a gate file the test never creates: the script
# is __main__ of the batch process and, under "spawn", is imported again by each worker, where
# it wraps process_item. So the batch cannot finish before the test's Ctrl-C whatever the load.
GATED_BATCH = """
import os, sys, time

if __name__ == "__main__":  # the batch
    from seamline.cli.batch import main
    sys.exit(main(sys.argv[1:]))
else:  # a worker: tasks name seamline.batch.worker.process_item, resolved after this import
    import seamline.batch.worker as worker

    _run = worker.process_item

    def gated(task):
        if task["item"] != os.environ["GATED_FIRST"]:
            while True:  # only the parent stopping this worker ends it
                time.sleep(0.05)
        return _run(task)

    worker.process_item = gated
"""


def _gated_batch(tmp_path: Path, inp: Path, out: Path) -> subprocess.Popen:
    script = tmp_path / "gated_batch.py"
    script.write_text(GATED_BATCH)
    env = dict(os.environ, GATED_FIRST="p0.png")
    return subprocess.Popen([sys.executable, str(script), "remove-text", str(inp),
                             "-o", str(out), "--workers", "1"], stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=env)


def _wait_for_journal(proc, state: Path, item: str) -> None:
    """Until the journal records ``item`` as ok (synchronise on what the batch wrote)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and any(json.loads(ln).get("item") == item and
                                  json.loads(ln).get("status") == "ok"
                                  for ln in state.read_text().splitlines() if ln.strip()):
            return
        time.sleep(0.05)
    raise AssertionError(f"{item} never finished: {proc.poll()} {state.exists()}")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, awaiting its reaper


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_keeps_finished_items_and_resumes(photos, tmp_path, presses):
    inp = _copy(photos, tmp_path / "in")
    out = tmp_path / "out"
    proc = _gated_batch(tmp_path, inp, out)
    state = out / "batch-state.jsonl"
    _wait_for_journal(proc, state, "p0.png")  # p0 done; p1 (and p2) wait at the gate
    for _ in range(presses):  # what a terminal's Ctrl-C does: the whole group
        os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)  # a second Ctrl-C never hangs the batch
    assert proc.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "resume" in lines[0], err
    done = json.loads((out / "summary.json").read_text())
    finished = {r["item"] for r in done["items"] if r["status"] == "ok"}
    assert done["interrupted"] and finished == {"p0.png"}, (json.dumps(done["items"])[:2000],
                                                            err)
    assert done["counts"]["pending"] == N_PHOTOS - 1
    # the journal and the summary agree on what finished
    journal = [json.loads(ln) for ln in state.read_text().splitlines() if ln.strip()]
    assert {r["item"] for r in journal if r["status"] == "ok"} == finished
    # the worker was stopped, not left running (or orphaned) at the gate
    worker_pid = next(r["pid"] for r in done["items"] if r["item"] == "p0.png")
    assert not _alive(worker_pid)
    assert (out / "p0.png").is_file() and not (out / "p1.png").exists()
    assert not list(out.glob(".*tmp*"))  # no half-written output left behind
    # a re-run does exactly the rest
    plan = plan_batch("remove-text", inp, out)
    assert {r["item"] for r in plan.skipped} == finished
    assert {it.item for it in plan.todo} == {p.name for p in inp.iterdir()} - finished


def _sha(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_symlinked_output_is_refused_and_its_target_untouched(photos, tmp_path):
    # issue 11.1: ln -s ../in/p1.png out/p0.png made the batch overwrite in/p1.png
    inp = _copy(photos, tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(b"not yours")
    (out / "p0.png").symlink_to(inp / "p1.png")
    (out / "p2.png").symlink_to(outside)
    before = {p.name: _sha(p) for p in inp.iterdir()}
    res = run_batch("remove-text", inp, out, workers=0)
    recs = _by_item(res)
    assert res.exit_code == 1
    for item in ("p0.png", "p2.png"):
        assert recs[item]["status"] == "failed" and "symbolic link" in recs[item]["error"]
    assert recs["p1.png"]["status"] == recs["p3.jpg"]["status"] == "ok"
    assert {p.name: _sha(p) for p in inp.iterdir()} == before  # inputs untouched
    assert outside.read_bytes() == b"not yours"
    assert (out / "p0.png").is_symlink() and (out / "p2.png").is_symlink()


def test_resume_redoes_outputs_changed_or_deleted_since(photos, tmp_path):
    # issue 11.5: an output overwritten after it was recorded was reported ok and skipped
    inp = _copy(photos, tmp_path / "in")
    out = tmp_path / "out"
    first = run_batch("remove-text", inp, out, workers=0)
    assert first.counts["ok"] == N_PHOTOS
    good = _sha(out / "p0.png")
    write_image(out / "p0.png", np.zeros((8, 8, 3), np.float32))  # tampered
    (out / "p1.png").unlink()                                      # vanished
    again = run_batch("remove-text", inp, out, workers=0)
    assert again.counts == {"ok": 2, "failed": 0, "skipped": 2, "pending": 0}
    assert {r["item"] for r in again.records if r["status"] == "ok"} == {"p0.png", "p1.png"}
    assert _sha(out / "p0.png") == good and (out / "p1.png").is_file()


def test_default_worker_count_follows_memory_as_well_as_cores():
    # issue 11.8: one worker per core whatever the memory; a worker peaks near 1 GB
    from seamline.batch.worker import WORKER_MEMORY, available_memory, default_workers

    assert default_workers(8, 3 * WORKER_MEMORY + 1) == 3
    assert default_workers(2, 64 * WORKER_MEMORY) == 2
    assert default_workers(4, WORKER_MEMORY // 2) == 1  # never zero
    assert default_workers(4, None) == 4                 # memory unknown: cores decide
    mem = available_memory()
    assert mem is None or mem > 0


def test_summary_csv_cells_are_not_formulas(photos, tmp_path):
    # issue 11.12: a file named =HYPERLINK(...).png ran as a formula in a spreadsheet
    import csv

    from seamline.batch.summary import csv_cell

    inp = tmp_path / "in"
    inp.mkdir()
    names = ["=1+2.png", "+cmd.png", "-x.png", "@SUM(A1).png"]
    for i, name in enumerate(names):
        shutil.copy(photos / f"p{i}.png" if i < 3 else photos / "p0.png", inp / name)
    (inp / "=bad.png").write_text("not an image")
    res = run_batch("remove-text", inp, tmp_path / "out", workers=0)
    assert res.counts["ok"] == 4 and res.counts["failed"] == 1
    rows = list(csv.DictReader((tmp_path / "out" / "summary.csv").open(encoding="utf-8")))
    assert sorted(r["item"] for r in rows) == sorted("'" + n for n in [*names, "=bad.png"])
    assert all(not (r[c] or "").startswith(("=", "+", "-", "@")) for r in rows
               for c in ("item", "output", "error", "mask", "warnings"))
    assert csv_cell(-0.5) == -0.5 and csv_cell("ok") == "ok"  # numbers stay numbers
    # summary.json keeps the names as they are
    doc = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sorted(r["item"] for r in doc["items"]) == sorted([*names, "=bad.png"])


@pytest.mark.parametrize("layout", ["input-in-runs", "runs-subfolder", "nested-stems"])
def test_run_dirs_refuse_overlapping_trees(photos, tmp_path, capsys, layout):
    # issue 11.5: INPUT_DIR = OUT_DIR/runs overwrote an input; an item's run directory
    # overwrote another item's output
    out = tmp_path / "out"
    if layout == "input-in-runs":
        inp = _copy(photos, out / "runs")
        argv = ["remove-text", str(inp), "-o", str(out), "--run-dirs"]
    else:
        inp = tmp_path / "in"
        sub = inp / ("runs" if layout == "runs-subfolder" else "p0")
        sub.mkdir(parents=True)
        shutil.copy(photos / "p0.png", inp / "p0.png")
        shutil.copy(photos / "p1.png", sub / "output.png")
        argv = ["remove-text", str(inp), "-o", str(out), "--run-dirs", "--recursive"]
    before = {p: _sha(p) for p in inp.rglob("*") if p.is_file()}
    assert batch_main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seamline: error:") and "\n" not in err and "--run-dirs" in err, err
    assert {p: _sha(p) for p in inp.rglob("*") if p.is_file()} == before
    assert not (out / "batch-state.jsonl").exists()


# --------------------------------------------------------------------------------- Ray engine


def _listening() -> set[tuple[str, int, str]]:
    """(address, port, socket inode) of listening TCP sockets, from /proc/net."""
    found = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for ln in lines:
            f = ln.split()
            if f[3] != "0A":  # LISTEN
                continue
            hexaddr, hexport = f[1].split(":")
            raw = bytes.fromhex(hexaddr)
            if name == "tcp":
                addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
            else:  # four little-endian 32-bit words
                addr = socket.inet_ntop(socket.AF_INET6, b"".join(
                    raw[i:i + 4][::-1] for i in range(0, 16, 4)))
            found.add((addr, int(hexport, 16), f[9]))
    return found


def _loopback(addr: str) -> bool:
    ip = ipaddress.ip_address(addr)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


def _socket_inodes_of_descendants() -> set[str]:
    parents = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                parents[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    mine, grew = {os.getpid()}, True
    while grew:
        new = {pid for pid, ppid in parents.items() if ppid in mine} - mine
        mine |= new
        grew = bool(new)
    inodes = set()
    for pid in mine:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    return inodes


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    before = _listening()
    batch.start_local_ray(num_cpus=2)
    yield ray, before
    ray.shutdown()


def test_ray_engine_matches_local_engine_on_127_0_0_1(local_ray, reference, photos, tmp_path):
    ray, before = local_ray
    res = run_batch("remove-text", photos, tmp_path / "ray", engine="ray", workers=2)
    _assert_same_results(reference, res)
    assert res.info["engine"] == "ray" and res.info["workers"] == 2
    # every socket Ray's processes (our descendants) listen on is loopback-only
    ours = _socket_inodes_of_descendants()
    new = [(a, p) for a, p, inode in _listening() - before if inode in ours]
    assert new, "Ray should be listening on something"
    assert all(_loopback(a) for a, _ in new), new
    assert ray.get_runtime_context().get_node_id()


def test_unreachable_ray_address_fails_fast_with_one_line(photos, tmp_path):
    pytest.importorskip("ray")
    # a port that accepts connections but is not Ray: the slow case
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns = []
    threading.Thread(target=lambda: [conns.append(srv.accept()) for _ in range(8)],
                     daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens here: refused at once
    try:
        for port, bound in ((srv.getsockname()[1], 6 + 15), (closed_port, 15)):
            t0 = time.monotonic()
            r = subprocess.run([sys.executable, "-m", "seamline.cli.batch", "remove-text",
                                str(photos), "-o", str(tmp_path / f"o{port}"), "--engine",
                                "ray", "--address", f"127.0.0.1:{port}", "--connect-timeout",
                                "6"], capture_output=True, text=True, timeout=90)
            took = time.monotonic() - t0
            lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
            assert r.returncode == 2, r.stderr
            assert len(lines) == 1 and lines[0].startswith("seamline: error: Ray at"), r.stderr
            assert took < bound, took  # connect bound + interpreter start-up
    finally:
        srv.close()
