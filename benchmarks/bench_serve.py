"""Benchmark: ``seamline serve`` under load on loopback (issue 12).

Cases: ``seamline.testing.synth.text_photo_cases`` (real photos with drawn text) resized to
768x512 and encoded once as PNG; requests cycle through them.

1. **Direct** (the CLI's per-image work, in this process, warm): the built-in ``remove-text``
   pipeline run into a run directory (intermediates and manifest, as ``seamline remove-text
   --run-dir`` keeps them; no report.html, which the server renders on demand),
   ``--direct`` images after one warm-up. Its median is the reference.
2. **Server**: ``seamline serve`` started as a subprocess on 127.0.0.1 (``--workers``), warmed
   with one request per worker, then ``--requests`` synchronous ``POST /v1/remove-text`` at
   each concurrency in ``--concurrency`` (one HTTP client thread per slot). Per level: p50, p95,
   p99 latency, throughput, errors (any non-200) and the server's RSS (the uvicorn process plus
   its worker processes) at the start and end of the level.
3. **Overhead**: at concurrency 1, the median request latency over the direct median (the
   server's own HTTP, upload validation, queue and result work), and the same measured inside
   the server: latency minus the run's own ``seconds`` from its manifest.

Direct and server numbers come from the same invocation, on the same machine, one after the
other; the load average before and after is recorded so a noisy machine is visible.

Writes ``benchmarks/results/serve.json`` and ``serve.md``.

Usage: ``python benchmarks/bench_serve.py [--requests 300] [--concurrency 1,2,4]
[--workers 2] [--direct 10] [--preflight 10]``
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from _common import atomic_write  # noqa: E402

W, H = 768, 512


def make_photos(n: int) -> list[bytes]:
    import cv2
    from PIL import Image

    from seamline.io import to_uint8
    from seamline.testing.synth import text_photo_cases

    out = []
    for case in text_photo_cases(n, seed=0):
        img = cv2.resize(case["with_text"], (W, H), interpolation=cv2.INTER_AREA)
        buf = io.BytesIO()
        Image.fromarray(to_uint8(np.clip(img, 0, 1))).save(buf, "PNG")
        out.append(buf.getvalue())
    return out


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def rss_mb(pid: int) -> float:
    """RSS of a process and its children, MB (from /proc)."""
    import psutil

    try:
        p = psutil.Process(pid)
        procs = [p] + p.children(recursive=True)
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for q in procs:
        try:
            total += q.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def direct_times(photos: list[bytes], n: int, tmp: Path) -> list[float]:
    from seamline.api import Pipeline

    pipe = Pipeline.builtin("remove-text")
    times = []
    for i in range(n + 1):  # the first one warms up (detector sessions, numba)
        src = tmp / f"direct-{i}.png"
        src.write_bytes(photos[i % len(photos)])
        t0 = time.perf_counter()
        pipe.run(src, out=tmp / f"direct-run-{i}", report=False)  # what a worker does
        if i:
            times.append(time.perf_counter() - t0)
    return times


def start_server(runs: Path, workers: int, queue: int) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    env.pop("SEAMLINE_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; from seamline.cli import main; sys.exit(main())",
         "serve", str(runs), "--port", str(port), "--workers", str(workers),
         "--queue-size", str(queue)], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(base + "/v1/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("seamline serve did not start")
        time.sleep(0.2)


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def load_level(base: str, photos: list[bytes], n: int, concurrency: int) -> dict:
    import httpx

    lat, inside, queued, worker_extra, errors = [], [], [], [], []
    lock = threading.Lock()
    counter = iter(range(n))

    def worker():
        with httpx.Client(timeout=600) as client:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t0 = time.perf_counter()
                r = client.post(base + "/v1/remove-text",
                                files={"image": ("p.png", photos[i % len(photos)],
                                                 "image/png")})
                dt = time.perf_counter() - t0
                with lock:
                    if r.status_code == 200:
                        lat.append(dt)
                        body = r.json()
                        t = body.get("timing") or {}
                        inside.append(dt - body["seconds"])
                        queued.append(t.get("queued_s", float("nan")))
                        # in the worker but outside the pipeline: decode, report, result
                        worker_extra.append(t.get("worker_s", float("nan")) - body["seconds"])
                    else:
                        errors.append(f"{r.status_code}: {r.text[:120]}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(worker) for _ in range(concurrency)]:
            f.result()
    wall = time.perf_counter() - t0
    return {"concurrency": concurrency, "requests": n, "ok": len(lat), "errors": len(errors),
            "error_samples": errors[:3], "wall_s": round(wall, 2),
            "throughput_rps": round(len(lat) / wall, 3),
            "p50_s": round(pct(lat, 50), 3), "p95_s": round(pct(lat, 95), 3),
            "p99_s": round(pct(lat, 99), 3),
            "server_overhead_p50_s": round(pct(inside, 50), 4),
            "server_overhead_p95_s": round(pct(inside, 95), 4),
            "queued_p50_s": round(pct(queued, 50), 4),
            "worker_outside_run_p50_s": round(pct(worker_extra, 50), 4)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--concurrency", default="1,2,4")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--direct", type=int, default=10, help="direct (CLI-path) images")
    ap.add_argument("--photos", type=int, default=8, help="distinct photos to cycle through")
    ap.add_argument("--preflight", type=int, default=10, help="preflight=only requests")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]
    photos = make_photos(args.photos)
    load0 = os.getloadavg()
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": [round(x, 2) for x in load0]},
              "size": f"{W}x{H}", "workers": args.workers, "levels": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        dt = direct_times(photos, args.direct, tmp)
        result["direct"] = {"images": len(dt), "p50_s": round(pct(dt, 50), 3),
                            "mean_s": round(statistics.mean(dt), 3)}
        print(f"direct (CLI path, warm): p50 {result['direct']['p50_s']} s over {len(dt)}")
        proc, base = start_server(tmp / "runs", args.workers, queue=max(levels) * 2)
        try:
            import httpx

            with ThreadPoolExecutor(args.workers) as pool:  # one warm-up per worker
                list(pool.map(lambda i: httpx.post(
                    base + "/v1/remove-text", timeout=600,
                    files={"image": ("w.png", photos[i % len(photos)])}),
                    range(args.workers)))
            pre = []
            for i in range(args.preflight):  # the verdict alone, same photos, same server
                t0 = time.perf_counter()
                r = httpx.post(base + "/v1/remove-text?preflight=only", timeout=600,
                               files={"image": ("p.png", photos[i % len(photos)])})
                if r.status_code == 200:
                    pre.append(time.perf_counter() - t0)
            result["preflight_only"] = {"requests": args.preflight, "ok": len(pre),
                                        "p50_s": round(pct(pre, 50), 3)}
            for c in levels:
                rss0 = rss_mb(proc.pid)
                level = load_level(base, photos, args.requests, c)
                level["rss_start_mb"], level["rss_end_mb"] = round(rss0, 1), round(
                    rss_mb(proc.pid), 1)
                result["levels"].append(level)
                print(json.dumps(level))
        finally:
            stop_server(proc)
    one = next((lv for lv in result["levels"] if lv["concurrency"] == 1), None)
    if one:
        result["overhead_vs_direct"] = round(one["p50_s"] / result["direct"]["p50_s"] - 1, 4)
        result["server_overhead_fraction"] = round(one["server_overhead_p50_s"]
                                                   / one["p50_s"], 4)
        result["preflight_only"]["fraction_of_full"] = round(
            result["preflight_only"]["p50_s"] / one["p50_s"], 4)
    first, last = result["levels"][0], result["levels"][-1]
    result["rss_growth"] = round(last["rss_end_mb"] / first["rss_start_mb"] - 1, 4)
    result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps({k: result.get(k) for k in ("direct", "overhead_vs_direct",
                                                  "server_overhead_fraction", "rss_growth")}))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        atomic_write(RESULTS / "serve.json", json.dumps(result, indent=1))
        atomic_write(RESULTS / "serve.md", render(result, args))
    return 0


def render(r: dict, args) -> str:
    lines = [
        "# seamline serve under load (benchmarks/bench_serve.py)", "",
        f"`python benchmarks/bench_serve.py --requests {args.requests} --concurrency "
        f"{args.concurrency} --workers {args.workers} --direct {args.direct}`: remove-text on "
        f"{r['size']} photos with drawn text, synchronous `POST /v1/remove-text` on 127.0.0.1, "
        f"{r['workers']} worker processes. Machine: {r['machine']['cpus']} CPUs, load average "
        f"{r['machine']['load_before'][0]} before, {r['machine']['load_after'][0]} after "
        "(shared with other jobs: absolute times are inflated, the ratios are what to read).",
        "", f"Direct (the CLI's per-image work, warm, same invocation): p50 "
        f"{r['direct']['p50_s']} s over {r['direct']['images']} images.", "",
        "| concurrency | requests | errors | p50 s | p95 s | p99 s | throughput req/s | "
        "server overhead p50 s | of which queued | of which worker outside the run | "
        "RSS start MB | RSS end MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for lv in r["levels"]:
        lines.append(f"| {lv['concurrency']} | {lv['requests']} | {lv['errors']} | "
                     f"{lv['p50_s']} | {lv['p95_s']} | {lv['p99_s']} | {lv['throughput_rps']} "
                     f"| {lv['server_overhead_p50_s']} | {lv.get('queued_p50_s')} | "
                     f"{lv.get('worker_outside_run_p50_s')} | {lv['rss_start_mb']} | "
                     f"{lv['rss_end_mb']} |")
    pf = r.get("preflight_only", {})
    lines += ["", f"- `?preflight=only` (detection, mask, normalisation, preflight verdict): p50 "
                  f"{pf.get('p50_s')} s over {pf.get('ok')} requests, "
                  f"{pf.get('fraction_of_full', float('nan')):.0%} of a full request's p50.",
              f"- Latency at concurrency 1 over the direct time: "
                  f"{r.get('overhead_vs_direct', float('nan')):+.1%} (target <= +5%).",
              f"- Inside the server (latency minus the run's own seconds), at concurrency 1: "
              f"{r.get('server_overhead_fraction', float('nan')):.1%} of the latency.",
              f"- Server RSS (uvicorn + workers) from the first level's start to the last "
              f"level's end: {r['rss_growth']:+.1%} (target within 10%)."]
    if args.requests < 300:
        lines += ["", f"Scaled down: {args.requests} requests per level instead of the issue's "
                      "300 (a remove-text at 768x512 takes ~30 s on this shared machine; 300 x 3 "
                      "levels would take hours). The direct-vs-server ratio is dominated by the "
                      "machine's noise at this sample size; the in-server overhead (queue + "
                      "upload checks + result, measured per request) is the number to read. "
                      "Rerun with the defaults on a quiet machine for the full table."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
