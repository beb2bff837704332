"""``seamline serve``: the HTTP API against the app (httpx via Starlette's TestClient).

One app (one worker process, a queue of one) serves most tests; every error path checks the
status, the JSON message and that RUNS_DIR holds exactly what it held before.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
pytest.importorskip("multipart", reason="the serve extra (python-multipart) is not installed")
from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402

from seamline.serve import ServeConfig, create_app  # noqa: E402

from conftest import blob_mask  # noqa: E402

MAX_BYTES = 1_500_000
MAX_PIXELS = 3_000_000


def png_bytes(array, mode=None) -> bytes:
    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a, mode).save(buf, "PNG")
    return buf.getvalue()


def _data_uri_image(html_text: str) -> np.ndarray:
    """The first ``data:image/png;base64`` picture in an HTML fragment, as uint8 RGB."""
    import base64

    b64 = html_text.split("data:image/png;base64,", 1)[1].split('"', 1)[0]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGB"))


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def wait_job(client, job_id, timeout=120.0, until=("ok", "failed", "cancelled")):
    t0 = time.monotonic()
    while True:
        body = client.get(f"/v1/jobs/{job_id}").json()
        if body["status"] in until:
            return body
        assert time.monotonic() - t0 < timeout, f"job {job_id} still {body['status']}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve-runs")


@pytest.fixture(scope="module")
def client(runs):
    app = create_app(ServeConfig(runs_dir=runs, workers=1, queue_size=1, max_bytes=MAX_BYTES,
                                 max_pixels=MAX_PIXELS))
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def photo(coffee):
    return coffee[:256, :384].copy()


@pytest.fixture(scope="module")
def photo_png(photo):
    return png_bytes(photo)


@pytest.fixture(scope="module")
def small_png(photo):
    return png_bytes(photo[:96, :128])  # upscale jobs: seconds, not tens of seconds, here


@pytest.fixture(scope="module")
def mask_png(photo):
    return png_bytes(blob_mask(photo.shape[:2], [(100, 150)], 14))


@pytest.fixture(scope="module")
def inpaint_run(client, photo_png, mask_png):
    r = client.post("/v1/inpaint", files={"image": ("a.png", photo_png, "image/png"),
                                           "mask": ("m.png", mask_png, "image/png")})
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------------------ results
def test_remove_text_preflight_only_then_full(client, runs, captioned):
    image, _, _ = captioned
    data = png_bytes(image)
    t0 = time.perf_counter()
    r = client.post("/v1/remove-text", files={"image": ("photo.png", data, "image/png")})
    t_full = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    res = r.json()
    assert res["status"] in ("ok", "qa_failed") and res["pipeline"] == "remove-text"
    assert res["qa"]["mask_coverage"] > 0.01
    assert any(c["to"] == "inpaint.mask" for c in res["checks"])
    out = client.get(res["output_url"])
    assert out.status_code == 200 and out.headers["content-type"] == "image/png"
    clean = np.asarray(Image.open(io.BytesIO(out.content)))
    assert clean.shape == image.shape
    before = tree(runs)
    t0 = time.perf_counter()
    r = client.post("/v1/remove-text?preflight=only",
                    files={"image": ("photo.png", data, "image/png")})
    t_pre = time.perf_counter() - t0
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["verdict"] in ("ok", "warn")
    assert 0.01 < v["coverage"] < 0.2
    assert len(v["components"]) >= 3 and all("ring" in c for c in v["components"])
    assert v["fill"]["stage"] == "inpaint" and v["fill"]["backend"] == "auto"
    assert len(v["fill"]["crops"]) >= 2 and all(c["reason"] for c in v["fill"]["crops"])
    assert set(v["fill"]["would_use"]) <= {"telea", "fsr"}
    assert set(v["stages"]) == {"detect", "unblend", "mask", "normalize", "preflight"}
    assert len(v["stages"]["detect"]["regions"]) >= 2
    assert tree(runs) == before, "preflight=only must not store anything"

    print(f"\npreflight=only {t_pre:.2f} s (server {v['seconds']:.2f} s) vs full run "
          f"{t_full:.2f} s (server {res['seconds']:.2f} s)")
    assert v["seconds"] < res["seconds"]


def test_inpaint_sync_json_and_image(client, runs, inpaint_run, photo, mask_png, photo_png):
    res = inpaint_run
    run_dir = runs / res["run_id"]
    assert (run_dir / "manifest.json").is_file() and (run_dir / "image.png").is_file()
    assert (run_dir / "mask.png").is_file()
    job = json.loads((run_dir / "serve-job.json").read_text())
    assert job["status"] == "ok" and job["pipeline"] == "inpaint"
    assert "mask_coverage" in res["qa"]
    r = client.post("/v1/inpaint?format=image",
                    files={"image": ("a.png", photo_png, "image/png"),
                           "mask": ("m.png", mask_png, "image/png")})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    out = np.asarray(Image.open(io.BytesIO(r.content))).astype(np.float32) / 255
    m = np.asarray(Image.open(io.BytesIO(mask_png))) > 0
    assert np.abs(out[~m] - np.rint(photo[~m] * 255) / 255).max() < 1e-6  # outside untouched
    assert np.abs(out[m] - photo[m]).mean() > 0.005


def test_async_job_progress_and_listing(client, small_png):
    r = client.post("/v1/upscale?mode=async", files={"image": ("u.png", small_png, "image/png")},
                    data={"params": json.dumps({"upscale.scale": 2})})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/jobs/{job['job_id']}"
    assert [s["name"] for s in job["stages"]] == ["upscale", "color", "qa"]
    body = wait_job(client, job["job_id"])
    assert body["status"] == "ok", body
    assert body["progress"] == "3/3" and all(s["done"] for s in body["stages"])
    assert body["result"]["qa"]
    listed = client.get("/v1/runs", params={"pipeline": "upscale"}).json()
    assert job["run_id"] in [x["id"] for x in listed]
    assert all(x["pipeline"] == "upscale" for x in listed)
    detail = client.get(f"/v1/runs/{job['run_id']}").json()
    assert [s["name"] for s in detail["stages"]] == ["upscale", "color", "qa"]
    assert any(p["name"] == "scale" for p in detail["stages"][0]["editable_params"])


def test_color_match_and_enhance_endpoints(client, photo, small_png):
    shifted = png_bytes(np.clip(photo[:96, :128] * np.float32([1.15, 0.9, 0.8]), 0, 1))
    r = client.post("/v1/color-match", files={"image": ("a.png", shifted),
                                              "reference": ("b.png", small_png)})
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(client.get(r.json()["output_url"]).content)))
    ref = np.asarray(Image.open(io.BytesIO(small_png))).astype(float)
    src = np.asarray(Image.open(io.BytesIO(shifted))).astype(float)
    assert np.abs(out.mean((0, 1)) - ref.mean((0, 1))).max() < \
        0.5 * np.abs(src.mean((0, 1)) - ref.mean((0, 1))).max()
    r = client.post("/v1/color-match", files={"image": ("a.png", shifted)})
    assert r.status_code == 400 and r.json()["field"] == "reference"
    r = client.post("/v1/pipelines/enhance/runs?format=image",
                    files={"image": ("a.png", small_png)})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(r.content)).size == (256, 192)  # x2


def _fax_tiff(size=(360, 240)) -> bytes:
    """A small fax page: 1-bit, CCITT group 4 TIFF, lines of text (Pillow's bundled font)."""
    from PIL import ImageDraw, ImageFont

    im = Image.new("1", size, 1)
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(18)
    for i, y in enumerate(range(30, size[1] - 40, 34)):
        draw.text((24, y), f"invoice {i:02d} total amount due page", font=font, fill=0)
    buf = io.BytesIO()
    im.save(buf, "TIFF", compression="group4")
    return buf.getvalue()


def test_grey_uploads_come_back_grey_as_from_the_command_line(client, tmp_path, coffee):
    """A 1-bit page through /v1/remove-text and a grey photo through /v1/inpaint: grey in,
    grey out (mode L), the command line's pixels; the preflight verdict names the fill the
    page gets (a grey graphic: Telea for every line)."""
    from seamline.cli import main

    page = _fax_tiff()
    (tmp_path / "fax.tif").write_bytes(page)
    grey = (np.asarray(Image.fromarray(np.rint(coffee[:160, :224] * 255).astype(np.uint8))
                       .convert("L")))
    g_png = png_bytes(grey, "L")
    (tmp_path / "g.png").write_bytes(g_png)
    m_png = png_bytes(blob_mask(grey.shape, [(80, 100)], 10))
    (tmp_path / "m.png").write_bytes(m_png)
    # the command line with the pipelines' own defaults (``seamline inpaint`` sets its own)
    cases = [("/v1/remove-text", {"image": ("p.tif", page, "image/tiff")},
              ["remove-text", str(tmp_path / "fax.tif"), "-o", str(tmp_path / "cli0.png")],
              tmp_path / "cli0.png"),
             ("/v1/inpaint", {"image": ("g.png", g_png, "image/png"),
                              "mask": ("m.png", m_png, "image/png")},
              ["run", "inpaint", "-i", str(tmp_path / "g.png"), "--mask",
               str(tmp_path / "m.png"), "-o", str(tmp_path / "run1")],
              tmp_path / "run1" / "output.png")]
    for url, files, argv, cli_out in cases:
        r = client.post(f"{url}?format=image", files=files)
        assert r.status_code == 200, r.text
        served = Image.open(io.BytesIO(r.content))
        assert served.mode == "L", (url, served.mode)
        assert main([*argv, "--quiet"]) == 0
        with Image.open(cli_out) as cli:
            assert cli.mode == "L"
            assert np.array_equal(np.asarray(served), np.asarray(cli)), url
    r = client.post("/v1/remove-text?preflight=only",
                    files={"image": ("p.tif", page, "image/tiff")})
    assert r.status_code == 200, r.text
    assert r.json()["fill"]["would_use"] == ["telea"]


# --------------------------------------------------------------------------- error paths
def _form(image=None, mask=None, name="x.png"):
    files = {}
    if image is not None:
        files["image"] = (name, image, "application/octet-stream")
    if mask is not None:
        files["mask"] = ("m.png", mask, "image/png")
    return files


def _big_noise_png() -> bytes:
    rng = np.random.default_rng(0)
    return png_bytes(rng.integers(0, 256, (800, 800, 3), dtype=np.uint8))  # ~1.9 MB


def _huge_flat_png() -> bytes:
    return png_bytes(np.zeros((2000, 2000), np.uint8), "L")  # 4 MP, a few kB


ERROR_CASES = [
    # (name, method, url, files, data, status, words in the message)
    ("oversized-bytes", "/v1/remove-text", lambda p, m: _form(_big_noise_png()), {}, 413,
     ["image", "1,500,000 bytes"]),
    ("oversized-pixels", "/v1/remove-text", lambda p, m: _form(_huge_flat_png()), {}, 413,
     ["image", "2000x2000", "pixels"]),
    ("corrupt", "/v1/upscale", lambda p, m: _form(p[: len(p) // 3]), {}, 400, ["image"]),
    ("wrong-type", "/v1/upscale", lambda p, m: _form(b"%PDF-1.4\n%%EOF\n" * 20), {}, 415,
     ["image", "not an image type"]),
    ("empty", "/v1/upscale", lambda p, m: _form(b""), {}, 400, ["image", "empty"]),
    ("missing-image", "/v1/upscale", lambda p, m: {}, {}, 422, ["image"]),
    ("missing-mask", "/v1/inpaint", lambda p, m: _form(p), {}, 400, ["mask", "needs"]),
    ("mask-size", "/v1/inpaint", lambda p, m: _form(p, png_bytes(np.ones((10, 10)))), {}, 400,
     ["mask"]),
    ("unknown-pipeline", "/v1/pipelines/nope/runs", lambda p, m: _form(p), {}, 404,
     ["nope", "known:", "remove-text"]),
    ("bad-param-type", "/v1/upscale", lambda p, m: _form(p),
     {"params": json.dumps({"upscale.scale": "big"})}, 400, ["upscale", "scale", "big"]),
    ("unknown-stage", "/v1/upscale", lambda p, m: _form(p),
     {"params": json.dumps({"nostage.x": 1})}, 400, ["nostage"]),
    ("params-not-json", "/v1/upscale", lambda p, m: _form(p), {"params": "{radius: 3"}, 400,
     ["params", "JSON"]),
    ("path-param", "/v1/inpaint", lambda p, m: _form(p, m),
     {"params": json.dumps({"inpaint.model": "/etc/passwd"})}, 400, ["file-system paths"]),
    ("bad-policy", "/v1/upscale", lambda p, m: _form(p), {"policy": "lenient"}, 400,
     ["policy", "lenient"]),
    ("bad-mode", "/v1/upscale?mode=later", lambda p, m: _form(p), {}, 422, ["mode"]),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_error_paths_are_json_and_leave_nothing(client, runs, photo_png, mask_png, case):
    _, url, files, data, status, words = case
    before = tree(runs)
    r = client.post(url, files=files(photo_png, mask_png), data=data)
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body["error"], str) and "\n" not in body["error"]
    for w in words:
        assert w.lower() in body["error"].lower(), body["error"]
    assert tree(runs) == before


def test_path_like_names_never_reach_the_file_system(client, runs, small_png):
    for url in ["/v1/runs/..~..~etc", "/v1/runs/.hidden", "/v1/jobs/..~x",
                "/v1/runs/x/files/../../etc/passwd", "/runs/..%2F..%2Fetc"]:
        r = client.get(url)
        assert r.status_code == 404, (url, r.text)
        assert "error" in r.json()
    # a client file name is never used: the upload lands under a generated name
    r = client.post("/v1/upscale?mode=async",
                    files={"image": ("../../../evil.png", small_png, "image/png")})
    assert r.status_code == 202, r.text
    wait_job(client, r.json()["job_id"])
    assert not list(runs.parent.glob("evil*")) and not list(runs.rglob("evil*"))


def test_token_required_when_set(runs, photo_png):
    app = create_app(ServeConfig(runs_dir=runs, token="s3cret"))
    c = TestClient(app)  # no lifespan: the guard answers before any worker is needed
    for headers in [{}, {"Authorization": "Bearer wrong"}]:
        r = c.get("/v1/runs", headers=headers)
        assert r.status_code == 401 and "token" in r.json()["error"]
        r = c.post("/v1/upscale", files={"image": ("a.png", photo_png)}, headers=headers)
        assert r.status_code == 401
    assert c.get("/v1/runs", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert c.get("/", params={"token": "s3cret"}).status_code == 200


# -------------------------------------------------------------------- queue and workers
def test_queue_full_429_and_cancel(client, runs, photo_png):
    big = png_bytes(np.tile(np.asarray(Image.open(io.BytesIO(photo_png))), (3, 2, 1)))
    accepted, refused = [], []
    before = set(os.listdir(runs))
    for _ in range(3):
        r = client.post("/v1/upscale?mode=async", files={"image": ("a.png", big)},
                        data={"params": json.dumps({"upscale.scale": 4})})
        (accepted if r.status_code == 202 else refused).append(r)
    assert len(accepted) == 2 and len(refused) == 1, [r.status_code for r in accepted + refused]
    assert refused[0].status_code == 429 and int(refused[0].headers["retry-after"]) >= 1
    assert "queue is full" in refused[0].json()["error"]
    assert len(set(os.listdir(runs)) - before) == 2  # the refused one left nothing
    first, second = (r.json()["job_id"] for r in accepted)
    for job_id in (second, first):  # queued, then running
        r = client.delete(f"/v1/jobs/{job_id}")
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 409
    rec = json.loads((runs / first / "serve-job.json").read_text())
    assert rec["status"] == "cancelled"
    health = client.get("/v1/health").json()
    assert health["queued"] == 0 and health["worker_crashes"] == 0


def test_worker_crash_fails_the_job_not_the_server(client, photo_png, small_png):
    big = png_bytes(np.tile(np.asarray(Image.open(io.BytesIO(photo_png))), (3, 2, 1)))
    r = client.post("/v1/upscale?mode=async", files={"image": ("a.png", big)},
                    data={"params": json.dumps({"upscale.scale": 4})})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    wait_job(client, job_id, until=("running", "ok", "failed"))
    jobs = client.app.state.jobs
    os.kill(jobs.worker_pids()[0], signal.SIGKILL)  # what the OOM killer would do
    body = wait_job(client, job_id)
    assert body["status"] == "failed" and "worker process died" in body["error"], body
    assert client.get("/v1/health").json()["worker_crashes"] == 1
    r = client.post("/v1/upscale", files={"image": ("a.png", small_png)})  # a new worker
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_the_server_keeps_no_finished_result_it_has_delivered(client, runs, small_png):
    jobs = client.app.state.jobs
    r = client.post("/v1/upscale", files={"image": ("a.png", small_png)})  # sync
    assert r.status_code == 200, r.text
    run_id = r.json()["run_id"]
    assert jobs.get(run_id) is None  # delivered: the server process holds nothing of it
    body = client.get(f"/v1/jobs/{run_id}").json()  # its run's record still answers
    assert body["status"] == "ok" and body["result"]["run_id"] == run_id
    held = set(jobs._jobs)
    r = client.post("/v1/upscale?preflight=only", files={"image": ("a.png", small_png)})
    assert r.status_code in (200, 422), r.text  # (upscale has no preflight stage)
    assert set(jobs._jobs) == held  # nor of a preflight verdict
    r = client.post("/v1/upscale?mode=async", files={"image": ("a.png", small_png)})
    job_id = r.json()["job_id"]
    assert wait_job(client, job_id)["status"] == "ok"
    assert jobs.get(job_id) is not None  # a polled job stays answerable from memory


def _gone(pid: int, timeout: float = 60.0) -> bool:
    """The process ``pid`` has exited (and been reaped) within ``timeout`` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("limit, expect", [
    ({"worker_max_jobs": 2}, [0, 0, 1, 1, 2]),  # two jobs per worker
    ({"worker_max_rss_mb": 1}, [0, 1, 2, 3, 4]),  # every worker keeps more than 1 MB
])
def test_a_recycled_worker_is_replaced_between_jobs_and_requests_are_answered(
        tmp_path, small_png, limit, expect):
    app = create_app(ServeConfig(runs_dir=tmp_path, workers=1, **limit))
    with TestClient(app) as c:
        pids = []
        for i in range(5):
            r = c.post("/v1/upscale", files={"image": ("a.png", small_png)})
            assert r.status_code == 200 and r.json()["status"] == "ok", (i, r.text)
            pids.append(r.json()["timing"]["worker_pid"])  # the worker that ran it
        assert [sorted(set(pids), key=pids.index).index(p) for p in pids] == expect, pids
        health = c.get("/v1/health").json()
        assert health["workers_recycled"] >= expect[-1] and health["worker_crashes"] == 0
        assert health["workers"] == 1
        # the first worker and every replacement timed from start to idle (fork + warm-up)
        assert len(health["worker_start_s"]) >= 1 + expect[-1]
        assert all(s > 0 for s in health["worker_start_s"])
        print(f"\nworker start to idle: {health['worker_start_s']} s")
        assert all(_gone(p) for p in set(pids[:-1]))  # the replaced workers left
        assert all(r["status"] == "ok" for r in c.get("/v1/runs").json())


def test_workers_that_cannot_start_fail_jobs_with_the_reason(tmp_path, monkeypatch, small_png):
    from seamline.serve.jobs import JobManager

    def broken(self, ctx):
        raise OSError("no processes left")

    monkeypatch.setattr(JobManager, "_start_workers", broken)
    app = create_app(ServeConfig(runs_dir=tmp_path, workers=1))
    with TestClient(app) as c:
        assert c.get("/v1/health").json()["status"] == "ok"  # the server itself answers
        r = c.post("/v1/upscale", files={"image": ("a.png", small_png)})
        assert r.status_code == 500 and "workers could not start" in r.json()["error"]
        assert "no processes left" in r.json()["error"]
        (run,) = c.get("/v1/runs").json()  # the job is recorded as failed, with the reason
        assert run["status"] == "failed" and "no processes left" in run["error"]


def test_restart_marks_cut_off_jobs_failed(tmp_path, inpaint_run, runs, photo):
    import shutil

    from seamline.api import Pipeline

    # a run made by the Python API / CLI, nested as batch --run-dirs nests them
    Pipeline.builtin("inpaint").run(photo, inputs={"mask": blob_mask(photo.shape[:2],
                                                                     [(60, 60)], 9)},
                                    out=tmp_path / "runs" / "batch1" / "runs" / "photo")
    done = tmp_path / "runs" / "finished"
    shutil.copytree(runs / inpaint_run["run_id"], done)
    manifest = (done / "manifest.json").read_bytes()
    cut = tmp_path / "runs" / "cutoff"
    cut.mkdir()
    (cut / "serve-job.json").write_text(json.dumps({"id": "cutoff", "status": "running"}))
    app = create_app(ServeConfig(runs_dir=tmp_path / "runs", workers=1))
    with TestClient(app) as c:
        body = c.get("/v1/jobs/cutoff").json()
        assert body["status"] == "failed" and "interrupted" in body["error"]
        assert c.get("/v1/jobs/finished").json()["status"] == "ok"
        statuses = {r["id"]: r["status"] for r in c.get("/v1/runs").json()}
        assert statuses == {"finished": "ok", "cutoff": "failed", "batch1~runs~photo": "ok"}
        detail = c.get("/v1/runs/batch1~runs~photo").json()
        assert [s["name"] for s in detail["stages"]] == ["preflight", "inpaint", "qa"]
        assert c.get("/runs/batch1~runs~photo").status_code == 200
    assert (done / "manifest.json").read_bytes() == manifest


# ------------------------------------------------------------------ edits and re-runs
def test_rerun_with_edited_mask_and_compare(client, runs, inpaint_run, photo):
    parent = inpaint_run["run_id"]
    detail = client.get(f"/v1/runs/{parent}").json()
    pf = next(s for s in detail["stages"] if s["name"] == "preflight")
    assert pf["mask_ports"] == ["mask"]
    mask0 = np.asarray(Image.open(runs / parent / pf["previews"]["mask"][0]))
    mask = mask0.copy()
    mask[30:60, 250:300] = 255  # paint a new stroke
    import base64

    url = "data:image/png;base64," + base64.b64encode(png_bytes(mask, "L")).decode()
    r = client.post(f"/v1/runs/{parent}/rerun", json={"mask_stage": "preflight",
                                                       "mask_png": url})
    assert r.status_code == 202, r.text
    child = r.json()["run_id"]
    body = wait_job(client, child)
    assert body["status"] == "ok", body
    cm = json.loads((runs / child / "manifest.json").read_text())
    assert cm["from_stage"] == "inpaint"
    assert [s["cached"] for s in cm["stages"]] == [True, False, False]
    out_p = np.asarray(Image.open(runs / parent / "output.png")).astype(int)
    out_c = np.asarray(Image.open(runs / child / "output.png")).astype(int)
    changed = np.abs(out_p - out_c).max(axis=-1) > 0
    assert changed[30:60, 250:300].mean() > 0.5 and not changed[120:, :200].any()
    cmp = client.get(f"/v1/runs/{parent}/compare/{child}").json()
    assert cmp["same_input"] is True
    # the A/B config differences show the edit: which stage's mask, how many pixels
    (edit,) = cmp["mask_edits"]
    assert edit["edited"] == "preflight.mask" and edit["side"] == "b"
    assert edit["b"] == "input.edited_preflight_mask"
    assert sorted(edit["read_by"]) == ["inpaint.mask", "qa.mask"]
    painted = int((mask[30:60, 250:300] > 127).sum()) - int((mask0[30:60, 250:300] > 127).sum())
    assert edit["added_px"] == painted > 0 and edit["removed_px"] == 0
    assert edit["changed_px"] == int((mask != mask0).sum())
    assert not mask0[30:60, 250:300].any() and edit["bbox_yx"] == [30, 250, 60, 300]
    rewired = {c["key"]: c for c in cmp["config"]}
    assert rewired["inpaint.inputs.mask"]["a"] == "preflight.mask"
    assert rewired["inpaint.inputs.mask"]["b"] == "input.edited_preflight_mask"
    assert "preflight.mask edited in B" in rewired["inpaint.inputs.mask"]["edit"]
    from seamline.reporting.diff import compare_runs, summary_text  # `seamline diff A B`

    text = summary_text(compare_runs(runs / parent, runs / child))
    assert "mask edits:\n  preflight.mask edited in B" in text and "1,500 px changed" in text
    cd = client.get(f"/v1/runs/{child}").json()
    assert cd["parent"] == parent
    assert cm["pipeline"]["spec"]["inputs"]["edited_preflight_mask"] == "mask"  # visible edit
    pf_child = next(s for s in cd["stages"] if s["name"] == "preflight")
    assert pf_child["previews"]["mask"][0] == "edited_preflight_mask.png"
    page = client.get(f"/runs/{parent}/diff/{child}")
    assert page.status_code == 200 and "<img" in page.text
    # the A/B page: a "Mask edits" section whose first picture is the XOR over the image,
    # green exactly where the stroke added pixels (the picture is downscaled: a tolerance)
    section = page.text.split('id="mask-edits"', 1)[1].split("</section>", 1)[0]
    assert "preflight.mask edited in B" in section and "1,500 px changed" in section
    xor = _data_uri_image(section)
    green = (xor[..., 1] > 200) & (xor[..., 0] < 80)
    sy, sx = xor.shape[0] / mask.shape[0], xor.shape[1] / mask.shape[1]
    ys, xs = np.nonzero(green)
    assert ys.size and abs(ys.min() - 30 * sy) <= 2 and abs(ys.max() - 60 * sy) <= 2
    assert abs(xs.min() - 250 * sx) <= 2 and abs(xs.max() - 300 * sx) <= 2
    assert not (xor[..., 0] > 200)[..., None].any(), "nothing was removed: no red"
    # an edit that does not fit the run is refused and leaves nothing
    before = tree(runs)
    r = client.post(f"/v1/runs/{parent}/rerun", json={"mask_stage": "preflight",
                                                       "mask_png": "bm90IGEgcG5n"})
    assert r.status_code == 400 and "mask_png" in r.json()["error"]
    r = client.post(f"/v1/runs/{parent}/rerun", json={"params": {"inpaint.radius": "x"}})
    assert r.status_code == 400 and r.json()["field"] == "inpaint.radius"
    assert tree(runs) == before


def test_rerun_with_parameter_edit(client, runs, inpaint_run):
    parent = inpaint_run["run_id"]
    r = client.post(f"/v1/runs/{parent}/rerun", json={"params": {"inpaint.backend": "ns"}})
    assert r.status_code == 202, r.text
    body = wait_job(client, r.json()["run_id"])
    assert body["status"] == "ok"
    cm = json.loads((runs / body["run_id"] / "manifest.json").read_text())
    assert cm["stages"][1]["params"]["backend"] == "ns" and cm["stages"][0]["cached"]


def test_mask_grow_and_shrink(client, mask_png):
    m0 = np.asarray(Image.open(io.BytesIO(mask_png))) > 127
    for op, sign in (("grow", 1), ("shrink", -1)):
        r = client.post(f"/v1/masks/{op}?px=3", files={"mask": ("m.png", mask_png)})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        m1 = np.asarray(Image.open(io.BytesIO(r.content))) > 127
        assert np.sign(int(m1.sum()) - int(m0.sum())) == sign


def test_inspector_pages(client, runs, inpaint_run):
    rid = inpaint_run["run_id"]
    for url in ["/", f"/runs/{rid}", f"/runs/{rid}/report"]:
        r = client.get(url)
        assert r.status_code == 200 and "<html" in r.text.lower(), url
    # paths relative to RUNS_DIR, never where it lies on the server's disk
    report = client.get(f"/runs/{rid}/report").text
    header = report.split("<header>", 1)[1].split("</header>", 1)[0]
    assert f"input\n{rid}/image.png" in header, header
    detail = client.get(f"/v1/runs/{rid}").json()
    assert detail["manifest"]["input"]["path"] == f"{rid}/image.png"
    assert detail["manifest"]["output"] == f"{rid}/output.png"
    diff = client.get(f"/runs/{rid}/diff/{rid}").text
    assert f"A {rid} · B {rid}" in diff
    cmp = client.get(f"/v1/runs/{rid}/compare/{rid}").json()
    assert (cmp["run_a"], cmp["mask_edits"]) == (rid, [])
    for text in (report, json.dumps(detail), diff, json.dumps(cmp)):
        assert str(runs) not in text and str(runs.resolve()) not in text
    for asset in ["app.css", "runs.js", "run.js"]:
        assert client.get(f"/static/{asset}").status_code == 200
    assert client.get("/runs/nope").status_code == 404
    assert "/v1/remove-text" in client.get("/openapi.json").json()["paths"]


# ------------------------------------------------------------------------------ the CLI
def _cli(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-c", "import sys; from seamline.cli import main; "
                           "sys.exit(main())", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_cli_refuses_public_host_without_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SEAMLINE_TOKEN"}
    p = _cli("serve", str(tmp_path / "r"), "--host", "0.0.0.0", env=env)
    assert p.returncode == 2 and p.stderr.count("\n") == 1
    assert "--host 0.0.0.0" in p.stderr and "token" in p.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_a_worker_hands_freed_memory_back_after_a_job():
    # What a job leaves behind: many small freed blocks that glibc keeps in the heap.
    from seamline.serve.worker import release_memory

    def rss_mb():
        with open("/proc/self/status") as fh:
            return next(int(x.split()[1]) for x in fh if x.startswith("VmRSS")) / 1024

    blocks = [np.ones(1000) for _ in range(60_000)]  # ~480 MB in 8 kB blocks (heap, not mmap)
    keep = blocks[::1000]  # a few survivors pin the heap's top, as a real job's results do
    del blocks
    before = rss_mb()
    assert release_memory() is True
    after = rss_mb()
    assert before - after > 200, (before, after)
    assert len(keep) == 60
