"""The inspector in a real browser: Debian's chromium + chromium-driver through selenium.

A real ``seamline serve`` process on 127.0.0.1 (a free port, one worker) serves an inpaint
run; the browser opens the run, paints a stroke on the preflight mask, re-runs from there
and waits for the child run and the A/B view. Screenshots are saved (``SEAMLINE_TEST_ARTIFACTS``
or the test's tmp folder) and checked for content. Nothing downloads: no browser, no driver.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi) is not installed")
pytest.importorskip("multipart", reason="the serve extra (python-multipart) is not installed")
pytest.importorskip("selenium", reason="the serve extra (selenium) is not installed")
httpx = pytest.importorskip("httpx", reason="the serve extra (httpx) is not installed")

from PIL import Image  # noqa: E402

from conftest import blob_mask  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="chromium and chromium-driver not installed (.ci/run installs Debian's packages)")


def _png(a, mode=None) -> bytes:
    a = np.asarray(a)
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a * 255), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a, mode).save(buf, "PNG")
    return buf.getvalue()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``seamline serve`` in a subprocess; always stopped, and checked not to listen after."""
    runs = tmp_path_factory.mktemp("browser-runs")
    port = _free_port()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("SEAMLINE_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from seamline.cli import main; sys.exit(main())",
         "serve", str(runs), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(base + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"seamline serve did not start: {proc.stdout.read()}")
            time.sleep(0.2)
        yield base, runs
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    assert not _listening(port), f"port {port} still listening after the server stopped"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must never download anything
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-dev-shm-usage", "--window-size=1400,1100"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver_or_el, path: Path) -> np.ndarray:
    save = getattr(driver_or_el, "save_screenshot", None) or driver_or_el.screenshot
    save(str(path))
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int16)


def test_paint_mask_rerun_and_ab(server, browser, coffee, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, runs = server
    shots = Path(os.environ.get("SEAMLINE_TEST_ARTIFACTS", tmp_path)) / "serve-browser"
    shots.mkdir(parents=True, exist_ok=True)
    photo = coffee[:256, :384]
    mask = blob_mask(photo.shape[:2], [(100, 150)], 14)
    r = httpx.post(base + "/v1/inpaint", timeout=120,
                   files={"image": ("a.png", _png(photo)), "mask": ("m.png", _png(mask))})
    assert r.status_code == 200, r.text
    parent = r.json()["run_id"]

    wait = WebDriverWait(browser, 120)
    browser.get(f"{base}/runs/{parent}")
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#strip .stage")) == 3
    page = _shot(browser, shots / "01-run-page.png")
    assert page.std() > 20  # not blank

    browser.find_element(By.ID, "stage-preflight").click()
    browser.find_element(By.ID, "edit-preflight").click()
    wait.until(lambda d: d.execute_script("return document.body.dataset.editor") == "preflight")
    canvas = browser.find_element(By.ID, "view")
    before = _shot(canvas, shots / "02-editor-before.png")
    # a horizontal stroke 80 CSS px below the canvas centre (the image is fitted, centred)
    ActionChains(browser).move_to_element_with_offset(canvas, -120, 80).click_and_hold() \
        .move_by_offset(60, 0).move_by_offset(60, 0).move_by_offset(60, 0) \
        .move_by_offset(60, 0).release().perform()
    after = _shot(canvas, shots / "03-editor-stroke.png")
    changed = np.abs(after - before).max(axis=-1) > 30
    h, w = changed.shape
    assert changed[h // 2 + 40:h // 2 + 120].mean() > 0.01, "the stroke did not show"
    assert not changed[: h // 2].any(), "pixels far from the stroke changed"

    browser.find_element(By.ID, "rerun").click()
    wait.until(lambda d: d.execute_script("return document.body.dataset.childStatus"))
    assert browser.execute_script("return document.body.dataset.childStatus") == "ok"
    child = browser.execute_script("return document.body.dataset.child")
    frame = browser.find_element(By.ID, "ab-frame")
    browser.switch_to.frame(frame)
    wait.until(lambda d: len(d.find_elements(By.TAG_NAME, "img")) >= 2)
    edits = browser.find_element(By.ID, "mask-edits").text  # the A/B says what was edited
    assert "preflight.mask edited in B" in edits and "px changed" in edits, edits
    browser.switch_to.default_content()
    browser.execute_script("arguments[0].scrollIntoView()", frame)
    ab = _shot(frame, shots / "04-ab-view.png")
    assert ab.std() > 20

    # what the browser sent is what the child used: the stroke is in the edited mask, the
    # child's output changed there and nowhere in the untouched top half
    edited = np.asarray(Image.open(runs / child / "edited_preflight_mask.png").convert("L"))
    stroke_rows = np.flatnonzero((edited > 127).sum(axis=1) > 40)
    assert stroke_rows.size and stroke_rows.min() > 140, stroke_rows
    out_p = np.asarray(Image.open(runs / parent / "output.png")).astype(int)
    out_c = np.asarray(Image.open(runs / child / "output.png")).astype(int)
    diff = np.abs(out_p - out_c).max(axis=-1) > 0
    assert diff[stroke_rows].any() and not diff[:120].any()
    browser.get(f"{base}/runs/{child}")
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    _shot(browser, shots / "05-child-run.png")
    print(f"\nscreenshots: {shots}")
