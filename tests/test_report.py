"""The run report and the run diff: parsed HTML, and a real headless-Chromium render."""

from __future__ import annotations

import html as html_lib
import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import seamline as sl
from seamline.cli import main
from seamline.reporting.diff import compare_runs, heat

from conftest import blob_mask


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.classes, self.srcs, self.external = [], set(), [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.ids.add(a["id"])
        self.classes += (a.get("class") or "").split()
        for key in ("src", "href"):
            v = a.get(key)
            if v and not v.startswith(("data:", "#")):
                self.external.append(v)
        if tag == "img":
            self.srcs.append(a.get("src", ""))


def parse(text):
    p = _Collect()
    p.feed(text)
    return p


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, astronaut):
    d = tmp_path_factory.mktemp("runs")
    photo = sl.write_image(d / "photo.png", astronaut)
    m = blob_mask(astronaut.shape[:2], [(120, 380), (330, 150)], 16)
    m[20, 20] = 0.5  # a soft speck, to make the inpaint handoff adapt something
    mask = sl.write_image(d / "mask.png", np.repeat(m[..., None], 3, axis=2))
    pipe = sl.Pipeline.builtin("inpaint")
    pipe.run(photo, out=d / "a", inputs={"mask": mask})
    pipe.with_params({"inpaint.backend": "ns", "inpaint.radius": 6}).run(
        photo, out=d / "b", inputs={"mask": mask})
    return d / "a", d / "b"


def test_report_is_self_contained_and_complete(two_runs):
    html = (two_runs[0] / "report.html").read_text()
    p = parse(html)
    assert p.external == []  # no CDN, no server: works from file://
    assert {"strip", "edits", "checks", "qa", "histograms", "timings", "config"} <= p.ids
    assert all(s.startswith("data:image/png;base64,") for s in p.srcs)
    assert p.classes.count("card") == 4  # input + 3 stages
    assert "slider" in p.classes and p.tags.count("svg") >= 3
    assert "inpaint.mask" in html and "min_component_px" in html
    assert html_lib.unescape('&quot;backend&quot;: &quot;telea&quot;') in html_lib.unescape(html)
    manifest = json.loads((two_runs[0] / "manifest.json").read_text())
    assert f"{manifest['qa']['seam_score']:.6g}" in html


def test_report_highlights_warnings(tmp_path, astronaut):
    photo = sl.write_image(tmp_path / "p.png", astronaut)
    m = np.ones(astronaut.shape[:2], np.float32)
    m[:40] = 0  # 92% coverage: preflight warns about polarity and coverage
    pipe = sl.Pipeline.builtin("inpaint")
    pipe.run(photo, out=tmp_path / "r", inputs={"mask": m})
    p = parse((tmp_path / "r" / "report.html").read_text())
    assert "warned" in p.classes
    assert "polarity" in (tmp_path / "r" / "report.html").read_text()


def test_report_command_and_bad_run_dir(tmp_path, two_runs, capsys):
    assert main(["report", str(two_runs[0]), "-o", str(tmp_path / "r.html")]) == 0
    assert (tmp_path / "r.html").stat().st_size > 10_000
    assert main(["report", str(tmp_path)]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_diff_names_config_pixels_and_metrics(two_runs, tmp_path, capsys):
    d = compare_runs(*two_runs)
    assert d["same_input"]
    keys = {c["key"]: (c["a"], c["b"]) for c in d["config"]}
    assert keys == {"inpaint.backend": ("telea", "ns"), "inpaint.radius": (3, 6)}
    assert d["stages"]["preflight"]["ports"]["mask"]["max_abs_diff"] == 0
    inp = d["stages"]["inpaint"]["ports"]["image"]
    assert 0 < inp["changed_fraction"] < 0.05 and inp["max_abs_diff"] > 0.01
    assert "seam_score" in d["metrics"]
    assert main(["diff", str(two_runs[0]), str(two_runs[1]), "-o", str(tmp_path / "d.html")]) == 0
    out = capsys.readouterr().out
    assert "inpaint.backend: 'telea' -> 'ns'" in out and "preflight.mask: identical" in out
    p = parse((tmp_path / "d.html").read_text())
    assert p.external == [] and len(p.srcs) >= 6


@pytest.mark.parametrize("target", ["input", "manifest", "not-html", "photo-html"])
def test_report_and_diff_output_must_be_new_html(two_runs, tmp_path, capsys, target):
    # issue 11.11: report -o / diff -o overwrote a run's input image with HTML
    run = two_runs[0]
    recorded = json.loads((run / "manifest.json").read_text())["input"]["path"]
    page = tmp_path / "input.html"
    page.write_text("<p>an input the user keeps</p>")
    out = {"input": recorded, "manifest": str(run / "manifest.json"),
           "not-html": str(tmp_path / "r.txt"), "photo-html": str(page)}[target]
    if target == "photo-html":  # an .html the run read as its input: patch the manifest copy
        run = tmp_path / "run"
        shutil.copytree(two_runs[0], run)
        m = json.loads((run / "manifest.json").read_text())
        m["input"]["path"] = str(page)
        (run / "manifest.json").write_text(json.dumps(m))
    before = {p: p.read_bytes() for p in [Path(recorded), run / "manifest.json", page]}
    for argv in (["report", str(run), "-o", out],
                 ["diff", str(run), str(two_runs[1]), "-o", out]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("seamline: error: --output") and "\n" not in err, err
    assert {p: p.read_bytes() for p in before} == before
    assert not (tmp_path / "r.txt").exists()


def test_report_reads_nothing_outside_the_run_directory(two_runs, tmp_path, astronaut):
    # issue 11.11: a crafted manifest made the report embed any local image or .npy
    secret = tmp_path / "secret"
    secret.mkdir()
    np.save(secret / "key.npy", np.full((64, 64, 3), 0.25, np.float32))
    sl.write_image(secret / "photo.png", astronaut[::-1])
    run = tmp_path / "run"
    shutil.copytree(two_runs[0], run)
    m = json.loads((run / "manifest.json").read_text())
    m["input"]["path"] = str(secret / "photo.png")  # not the file whose sha256 it records
    stage = next(s for s in m["stages"] if any(o.get("kind") == "image"
                                               for o in s.get("outputs", {}).values()))
    port = next(k for k, o in stage["outputs"].items() if o.get("kind") == "image")
    stage["outputs"][port]["files"] = [str(secret / "key.npy")]
    (run / "manifest.json").write_text(json.dumps(m))
    (run / "link.npy").symlink_to(secret / "key.npy")
    from seamline.reporting.report import input_array, stage_arrays

    assert input_array(run, m) is None
    assert port not in stage_arrays(run, stage)
    for name in ("../secret/key.npy", "link.npy"):
        stage["outputs"][port]["files"] = [name]
        assert port not in stage_arrays(run, stage), name
    # the honest manifest still gets its input and arrays
    honest = json.loads((two_runs[0] / "manifest.json").read_text())
    assert input_array(two_runs[0], honest) is not None
    assert any(stage_arrays(two_runs[0], s) for s in honest["stages"])


def test_heat_map_scales_to_the_99th_percentile():
    d = np.zeros((10, 10), np.float32)
    d[0, 0] = 1.0
    d[5:, :] = 0.1
    h = heat(d)
    assert h.shape == (10, 10, 3) and h[0, 0, 0] == 1 and np.all(h[:5, 1:] == 0)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
def test_report_renders_in_headless_chromium(two_runs, tmp_path):
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
             "--window-size=1200,1600"]
    url = (two_runs[0] / "report.html").as_uri()
    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--screenshot={shot}", url], check=True, timeout=90,
                   capture_output=True)
    img = sl.load_image(shot)
    header = np.array([27, 94, 138], np.float32) / 255  # the report's header colour
    band = np.all(np.abs(img[:40] - header) < 0.02, axis=-1).mean()
    assert band > 0.5  # the header rendered
    strip = img[150:450, :900]
    assert strip.std() > 0.1  # photos rendered in the stage strip (not a blank page)
    dom = subprocess.run(flags + ["--dump-dom", url], check=True, timeout=90,
                         capture_output=True, text=True).stdout
    assert 'class="after" style="width: 50%' in dom  # the slider script ran
