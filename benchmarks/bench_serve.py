"""Benchmark: ``seamline serve`` under load on loopback, and its overhead over the CLI (issue 12).

Cases: ``seamline.testing.synth.text_photo_cases`` (scikit-image photos with drawn text)
resized to 768x512 and encoded once as PNG; requests cycle through them.

Everything below runs in one invocation, against one ``seamline serve`` subprocess on
127.0.0.1 (``--workers``, each worker's thread pools capped at cores / workers):

1. **Overhead, paired** (concurrency 1): ``--pairs`` times, the same photo once through the
   warm in-process API (``Pipeline.builtin("remove-text").run(path, out=run_dir,
   report=False)``, what a worker does, with the same thread caps) and once as a synchronous
   ``POST /v1/remove-text``; the order alternates so a load drift hits both sides alike.
   overhead = (server latency - in-process time) / in-process time, the median over pairs and
   of the medians. The server's requests here are the concurrency-1 level. Also measured per
   request inside the server: latency minus the run's own seconds (HTTP, upload checks,
   queue, decoding, the result).
2. **The command**: ``seamline remove-text IMG -o OUT --run-dir DIR`` as a subprocess,
   ``--cli`` times (its wall time includes starting Python and loading the detector).
3. ``?preflight=only``: ``--preflight`` requests.
4. **Load**: every ``--concurrency`` level (1 included, after the pairs, unless
   ``--pairs-are-level-one``), up to ``--requests`` each, one HTTP client thread per slot. A level stops issuing requests when its share of the time budget
   (``--budget-min``) is spent and lets the requests in flight finish; the results say how
   many ran. p50/p95/p99 latency, throughput, errors (anything but 200).
5. **Memory**: the server = its whole process tree (the uvicorn process, the forkserver, the
   resource tracker and the workers), from /proc/PID/smaps_rollup: RSS, PSS and anonymous MB,
   summed and per process, at the start (after ``--warm`` requests per worker), every
   ``--mem-every`` answered requests (the series in serve.json, to attribute growth), at the
   end, and the largest seen (every 2 s). Memory does not depend on the machine's load.

The machine's load average before and after is recorded: on a shared machine absolute times
are inflated; the paired ratios are what to read.

Writes ``benchmarks/results/serve.json`` and ``serve.md``.

Usage: ``python benchmarks/bench_serve.py [--requests 300] [--concurrency 1,2,4] [--workers 2]
[--pairs 10] [--cli 2] [--preflight 3] [--budget-min 25]``
"""

from __future__ import annotations

import os

# the in-process reference gets the same thread caps as a worker (numpy/BLAS read these on
# import); set before anything imports numpy
_WORKERS = 2
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, str(max(1, (os.cpu_count() or 1) // _WORKERS)))

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
from _common import atomic_write  # noqa: E402

W, H = 768, 512
CLI = [sys.executable, "-c", "import sys; from seamline.cli import main; sys.exit(main())"]


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


def r3(x: float) -> float | None:
    return None if x != x else round(float(x), 3)  # NaN -> null in the JSON


# ----------------------------------------------------------------------------- memory
def _tree(pid: int) -> list[tuple[int, int]]:
    """``pid`` and all its descendants as (pid, parent pid), from /proc/*/stat."""
    parents: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            parents.setdefault(ppid, []).append(int(d))
    out, todo = [], [(pid, 0)]
    while todo:
        p, pp = todo.pop()
        out.append((p, pp))
        todo += [(c, p) for c in parents.get(p, [])]
    return out


def _role(pid: int, ppid: int, root: int) -> str:
    """What a process of the server's tree is: ``server`` (uvicorn, the dispatcher),
    ``forkserver``, ``resource-tracker`` or ``worker-PID`` (a job worker; a replaced or
    recycled worker comes back under a new PID). A worker forked by the forkserver carries
    the forkserver's command line, so the forkserver is told by its parent (the server)."""
    if pid == root:
        return "server"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        cmd = ""
    if ppid == root and "forkserver" in cmd:
        return "forkserver"
    if "resource_tracker" in cmd:
        return "resource-tracker"
    return f"worker-{pid}"


def process_memory(root: int) -> dict[str, dict]:
    """Per process of the server's tree (keyed by :func:`_role`): RSS, PSS and the anonymous
    part of RSS (heap, arenas, numpy buffers: what a leak grows), MB, from smaps_rollup."""
    out = {}
    for pid, ppid in _tree(root):
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue  # exited between the listing and now
        kb = {}
        for line in text.splitlines():
            key, _, rest = line.partition(":")
            if key in ("Rss", "Pss", "Anonymous"):
                kb[key] = int(rest.split()[0])
        out[_role(pid, ppid, root)] = {"pid": pid, "rss_mb": round(kb.get("Rss", 0) / 1024, 1),
                                 "pss_mb": round(kb.get("Pss", 0) / 1024, 1),
                                 "anon_mb": round(kb.get("Anonymous", 0) / 1024, 1)}
    return out


def memory_mb(root: int) -> dict:
    """The server's memory: the sums over its process tree (uvicorn process, forkserver,
    resource tracker, workers) and each process. RSS counts the pages the workers share with
    the forkserver once per process; PSS divides shared pages among the processes sharing
    them, so the PSS sum is what the tree really occupies."""
    procs = process_memory(root)
    tot = {k: round(sum(p[k] for p in procs.values()), 1) for k in ("rss_mb", "pss_mb",
                                                                     "anon_mb")}
    return {**tot, "processes": len(procs), "per_process": procs}


class MemoryWatch:
    """The server's memory over a run: every ``every`` seconds (a thread) for the largest
    total and per-process values, and every ``every_requests`` finished requests
    (:meth:`tick`) for the series written to serve.json."""

    def __init__(self, pid: int, every: float = 2.0, every_requests: int = 10):
        self.pid, self.every, self.every_requests = pid, every, every_requests
        self.peak = {"rss_mb": 0.0, "pss_mb": 0.0, "anon_mb": 0.0}
        self.peak_per_process: dict[str, dict] = {}
        self.series: list[dict] = []
        self.requests = 0
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> dict:
        m = memory_mb(self.pid)
        with self._lock:
            for k in self.peak:
                self.peak[k] = max(self.peak[k], m[k])
            for role, p in m["per_process"].items():
                seen = self.peak_per_process.setdefault(role, dict(p))
                for k in ("rss_mb", "pss_mb", "anon_mb"):
                    seen[k] = max(seen[k], p[k])
        return m

    def point(self, label: str | None = None) -> dict:
        """Sample now and add it to the series."""
        m = self._sample()
        entry = {"requests": self.requests, "t_s": round(time.monotonic() - self._t0, 1),
                 "load_1min": round(os.getloadavg()[0], 2), **m}
        if label:
            entry["label"] = label
        with self._lock:
            self.series.append(entry)
        return entry

    def tick(self) -> None:
        """One more request answered; every ``every_requests``-th adds a series point."""
        with self._lock:
            self.requests += 1
            due = self.every_requests > 0 and self.requests % self.every_requests == 0
        if due:
            e = self.point()
            print(f"memory after {e['requests']} requests: RSS {e['rss_mb']} MB, PSS "
                  f"{e['pss_mb']} MB; " + ", ".join(
                      f"{r} {p['rss_mb']}/{p['anon_mb']}" for r, p in
                      e["per_process"].items()) + " (RSS/anon MB)", flush=True)

    def _run(self):
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# ----------------------------------------------------------------------------- server
def start_server(runs: Path, workers: int, queue: int,
                 extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, str]:
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ)
    env.pop("SEAMLINE_TOKEN", None)
    proc = subprocess.Popen(CLI + ["serve", str(runs), "--port", str(port), "--workers",
                                   str(workers), "--queue-size", str(queue), *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            health = httpx.get(base + "/v1/health", timeout=5).json()
            if health.get("workers") == workers:  # workers start in the background
                return proc, base
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("seamline serve did not start")
        time.sleep(0.5)


def wait_settled(base: str, workers: int, timeout: float = 300.0) -> bool:
    """Wait until no job is queued or running and every worker has said it is idle, i.e.
    has handed its last job's memory back (``idle_workers`` in /v1/health). A memory point
    taken earlier catches a worker still holding the job it has just answered."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = httpx.get(base + "/v1/health", timeout=30).json()
        if h["queued"] == 0 and h["running"] == 0 and h.get("idle_workers", workers) == workers:
            return True
        time.sleep(0.2)
    return False


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def post(client, base: str, photo: bytes, query: str = "", tick=None,
         ) -> tuple[float, dict | None, str]:
    """One synchronous remove-text request: (latency s, JSON body or None, error text).
    ``tick`` (no arguments) is called once the answer is in (the memory series counts)."""
    t0 = time.perf_counter()
    r = client.post(base + "/v1/remove-text" + query,
                    files={"image": ("p.png", photo, "image/png")})
    dt = time.perf_counter() - t0
    if tick is not None:
        tick()
    if r.status_code != 200:
        return dt, None, f"{r.status_code}: {r.text[:160]}"
    return dt, r.json(), ""


def server_numbers(samples: list[tuple[float, dict]]) -> dict:
    """Latency percentiles and where the time went inside the server, from (latency, body)."""
    lat = [dt for dt, _ in samples]
    inside = [dt - b["seconds"] for dt, b in samples]
    queued = [(b.get("timing") or {}).get("queued_s", float("nan")) for _, b in samples]
    outside = [(b.get("timing") or {}).get("worker_s", float("nan")) - b["seconds"]
               for _, b in samples]
    return {"ok": len(lat), "p50_s": r3(pct(lat, 50)), "p95_s": r3(pct(lat, 95)),
            "p99_s": r3(pct(lat, 99)), "max_s": r3(max(lat) if lat else float("nan")),
            "run_p50_s": r3(pct([b["seconds"] for _, b in samples], 50)),
            "in_server_p50_s": r3(pct(inside, 50)), "queued_p50_s": r3(pct(queued, 50)),
            "worker_outside_run_p50_s": r3(pct(outside, 50))}


# ----------------------------------------------------------------------------- phases
def paired(base: str, photos: list[bytes], pairs: int, tmp: Path, until: float,
           tick=None) -> dict:
    """In-process run and server request on the same photo, alternating which goes first."""
    import httpx

    from seamline.api import Pipeline

    pipe = Pipeline.builtin("remove-text")
    inproc, served, errors, ratios = [], [], [], []
    with httpx.Client(timeout=900) as client:
        for i in range(pairs):
            if time.monotonic() > until:
                break
            src = tmp / f"pair-{i}.png"
            src.write_bytes(photos[i % len(photos)])

            def local():
                t0 = time.perf_counter()
                pipe.run(src, out=tmp / f"pair-run-{i}", report=False)
                return time.perf_counter() - t0

            if i % 2 == 0:
                t_local = local()
                dt, body, err = post(client, base, photos[i % len(photos)], tick=tick)
            else:
                dt, body, err = post(client, base, photos[i % len(photos)], tick=tick)
                t_local = local()
            inproc.append(t_local)
            if body is None:
                errors.append(err)
                continue
            served.append((dt, body))
            ratios.append(dt / t_local - 1)
            print(f"pair {i}: in-process {t_local:.2f} s, server {dt:.2f} s "
                  f"(run {body['seconds']:.2f} s)", flush=True)
    med_local = pct(inproc, 50)
    level = {"concurrency": "1 (paired)", "requests": len(served) + len(errors), "errors": len(errors),
             "error_samples": errors[:3], **server_numbers(served)}
    return {"pairs": len(inproc), "inprocess_p50_s": r3(med_local),
            "inprocess_s": [round(x, 3) for x in inproc],
            "server_s": [round(dt, 3) for dt, _ in served],
            "overhead_paired_median": r3(pct(ratios, 50)),
            "overhead_of_medians": r3((level["p50_s"] - med_local) / med_local)
            if served else None,
            "in_server_fraction": r3(level["in_server_p50_s"] / level["p50_s"])
            if served else None,
            "level": level}


def command_times(photos: list[bytes], n: int, tmp: Path, until: float) -> list[float]:
    """``seamline remove-text`` as a user runs it, one process per image."""
    out = []
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS",
                                                             "OPENBLAS_NUM_THREADS",
                                                             "MKL_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = "1"
    for i in range(n):
        if time.monotonic() > until:
            break
        src = tmp / f"cli-{i}.png"
        src.write_bytes(photos[i % len(photos)])
        t0 = time.perf_counter()
        p = subprocess.run(CLI + ["remove-text", str(src), "-o", str(tmp / f"cli-{i}-out.png"),
                                  "--run-dir", str(tmp / f"cli-run-{i}"), "--quiet"],
                           env=env, capture_output=True, text=True)
        if p.returncode in (0, 3):  # 3: --fail-on-qa only; never passed here
            out.append(time.perf_counter() - t0)
        else:
            print(f"seamline remove-text failed: {p.stderr.strip()[:200]}", flush=True)
    return out


def load_level(base: str, photos: list[bytes], n: int, concurrency: int,
               until: float, tick=None) -> dict:
    """Up to ``n`` requests from ``concurrency`` client threads; none starts after ``until``."""
    import httpx

    samples, errors = [], []
    lock = threading.Lock()
    counter = iter(range(n))
    load0 = round(os.getloadavg()[0], 2)  # other jobs on the machine change latency a lot

    def client_loop():
        with httpx.Client(timeout=900) as client:
            while True:
                with lock:
                    i = next(counter, None) if time.monotonic() < until else None
                if i is None:
                    return
                dt, body, err = post(client, base, photos[i % len(photos)], tick=tick)
                with lock:
                    (samples.append((dt, body)) if body is not None else errors.append(err))

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for f in [pool.submit(client_loop) for _ in range(concurrency)]:
            f.result()
    wall = time.perf_counter() - t0
    done = len(samples) + len(errors)
    return {"concurrency": concurrency, "requests": done, "planned": n,
            "stopped_by_budget": done < n, "errors": len(errors), "error_samples": errors[:3],
            "wall_s": round(wall, 1), "throughput_rps": round(len(samples) / wall, 4),
            "load_avg": [load0, round(os.getloadavg()[0], 2)], **server_numbers(samples)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=300, help="requests per load level")
    ap.add_argument("--concurrency", default="1,2,4")
    ap.add_argument("--workers", type=int, default=_WORKERS)
    ap.add_argument("--pairs", type=int, default=10,
                    help="in-process/server pairs (the concurrency-1 level)")
    ap.add_argument("--cli", type=int, default=2, help="`seamline remove-text` commands")
    ap.add_argument("--photos", type=int, default=8, help="distinct photos to cycle through")
    ap.add_argument("--preflight", type=int, default=3, help="preflight=only requests")
    ap.add_argument("--budget-min", type=float, default=25.0,
                    help="wall-clock budget for the whole benchmark, minutes")
    ap.add_argument("--no-write", action="store_true", help="print only")
    ap.add_argument("--pairs-are-level-one", action="store_true",
                    help="the paired requests are the whole concurrency-1 level (no separate "
                         "load level at concurrency 1)")
    ap.add_argument("--mem-every", type=int, default=10,
                    help="a per-process memory point every N answered requests (0: none)")
    ap.add_argument("--warm", type=int, default=1,
                    help="warm-up requests per worker before the memory start point")
    ap.add_argument("--worker-max-jobs", type=int, default=0,
                    help="passed to seamline serve (0: its default)")
    ap.add_argument("--worker-max-rss-mb", type=int, default=0,
                    help="passed to seamline serve (0: its default)")
    ap.add_argument("--name", default="serve",
                    help="results file stem under benchmarks/results (default serve)")
    args = ap.parse_args()
    # a terminated benchmark (kill, a CI timeout) must still stop the server it started: the
    # default SIGTERM ends Python without running the `finally` that does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.monotonic()
    end = t_start + 60 * args.budget_min - 45  # the last level's stragglers, writing results
    levels = [int(c) for c in args.concurrency.split(",")]
    threads = max(1, (os.cpu_count() or 1) // args.workers)
    import cv2
    import httpx

    from seamline.ops.text import warm_up

    cv2.setNumThreads(threads)
    warm_up(threads=threads)  # the same ONNX Runtime caps as a worker's
    photos = make_photos(args.photos)
    result = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "load_before": [round(x, 2) for x in os.getloadavg()]},
              "size": f"{W}x{H}", "workers": args.workers, "threads_per_worker": threads,
              "budget_min": args.budget_min, "args": vars(args), "levels": []}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        extra = [f"--{k.replace('_', '-')}={getattr(args, k)}"
                 for k in ("worker_max_jobs", "worker_max_rss_mb") if getattr(args, k)]
        proc, base = start_server(tmp / "runs", args.workers, queue=max(levels) * 2,
                                  extra=tuple(extra))
        try:
            # warm: --warm requests per worker (the workers at once), one in-process run
            with ThreadPoolExecutor(args.workers) as pool:
                list(pool.map(lambda i: httpx.post(
                    base + "/v1/remove-text", timeout=900,
                    files={"image": ("w.png", photos[i % len(photos)])}),
                    range(args.workers * max(0, args.warm))))
            from seamline.api import Pipeline

            (tmp / "warm.png").write_bytes(photos[0])
            t0 = time.perf_counter()
            Pipeline.builtin("remove-text").run(tmp / "warm.png", out=tmp / "warm-run",
                                                report=False)
            est = time.perf_counter() - t0  # one request's time on this machine, now
            print(f"warm in-process run: {est:.1f} s", flush=True)
            with MemoryWatch(proc.pid, every_requests=args.mem_every) as watch:
                result["settled_at_start"] = wait_settled(base, args.workers)
                mem0 = watch.point("start")
                left = end - time.monotonic()
                if 1 in levels:
                    pr = paired(base, photos, args.pairs, tmp,
                                until=time.monotonic() + 0.35 * left, tick=watch.tick)
                    result["paired"] = {k: v for k, v in pr.items() if k != "level"}
                    result["levels"].append(pr["level"])
                    print(json.dumps(result["paired"]), flush=True)
                cli = command_times(photos, args.cli, tmp,
                                    until=time.monotonic() + 0.1 * (end - time.monotonic()))
                result["command"] = {"images": len(cli), "p50_s": r3(pct(cli, 50)),
                                     "times_s": [round(x, 2) for x in cli]}
                print(f"seamline remove-text: {cli}", flush=True)
                pre = []
                with httpx.Client(timeout=900) as client:
                    for i in range(args.preflight):
                        dt, body, _ = post(client, base, photos[i % len(photos)],
                                           "?preflight=only", tick=watch.tick)
                        if body is not None:
                            pre.append(dt)
                result["preflight_only"] = {"requests": args.preflight, "ok": len(pre),
                                            "p50_s": r3(pct(pre, 50))}
                # concurrency 1 runs as a load level too (the pairs above are its overhead
                # sample); --pairs-are-level-one keeps the old, shorter layout
                rest = [c for c in levels if c != 1 or not args.pairs_are_level_one]
                for k, c in enumerate(rest):
                    share = (end - time.monotonic()) / (len(rest) - k)
                    # stop issuing early enough that the requests in flight finish in budget
                    until = time.monotonic() + share - est * max(1.0, c / args.workers)
                    level = load_level(base, photos, args.requests, c, until, tick=watch.tick)
                    result["levels"].append(level)
                    print(json.dumps(level), flush=True)
                result["settled_at_end"] = wait_settled(base, args.workers)
                mem1 = watch.point("end")
                # worker crashes and recycles during the run
                result["health_end"] = httpx.get(base + "/v1/health", timeout=30).json()
            result["memory"] = memory_summary(mem0, mem1, watch)
        finally:
            stop_server(proc)
    one = next((lv for lv in result["levels"] if lv["concurrency"] in (1, "1 (paired)")
                and lv.get("p50_s")), None)
    if one and result.get("preflight_only", {}).get("ok"):
        result["preflight_only"]["fraction_of_full"] = r3(
            result["preflight_only"]["p50_s"] / one["p50_s"])
    result["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["wall_min"] = round((time.monotonic() - t_start) / 60, 1)
    print(json.dumps({k: result.get(k) for k in ("paired", "command", "memory", "wall_min")}))
    if not args.no_write:
        RESULTS.mkdir(exist_ok=True)
        atomic_write(RESULTS / f"{args.name}.json", json.dumps(result, indent=1))
        atomic_write(RESULTS / f"{args.name}.md", render(result))
    return 0


def memory_summary(start: dict, end: dict, watch: MemoryWatch) -> dict:
    """Start, end, peak and growth, in total and per process (a worker replaced during the
    run shows up as one that ended and one that started), plus the series."""
    def growth(a, b):
        return round(b / a - 1, 4) if a else None

    per = {}
    for role in dict.fromkeys([*start["per_process"], *end["per_process"]]):
        a, b = start["per_process"].get(role), end["per_process"].get(role)
        per[role] = {"start": a, "end": b, "peak": watch.peak_per_process.get(role),
                     "rss_growth": growth(a["rss_mb"], b["rss_mb"]) if a and b else None}
    strip = ("per_process",)
    return {"start": {k: v for k, v in start.items() if k not in strip},
            "end": {k: v for k, v in end.items() if k not in strip}, "peak": watch.peak,
            "rss_growth": growth(start["rss_mb"], end["rss_mb"]),
            "pss_growth": growth(start["pss_mb"], end["pss_mb"]),
            "anon_growth": growth(start["anon_mb"], end["anon_mb"]),
            "per_process": per, "every_requests": watch.every_requests,
            "series": watch.series}


def render(r: dict) -> str:
    a, m, pr = r["args"], r["machine"], r.get("paired", {})
    mem = r["memory"]
    ran = ", ".join(f"{lv['requests']} at concurrency {lv['concurrency']}" for lv in r["levels"])
    lines = [
        "# seamline serve under load (benchmarks/bench_serve.py)", "",
        f"remove-text on {r['size']} photos with drawn text, synchronous `POST /v1/remove-text` "
        f"on 127.0.0.1, {r['workers']} worker processes ({r['threads_per_worker']} thread each), "
        f"one run of `python benchmarks/bench_serve.py --requests {a['requests']} --concurrency "
        f"{a['concurrency']} --budget-min {a['budget_min']:g}` ({r['wall_min']} min). Requests "
        f"that ran: {ran} (the issue asks for 300 per level; each level stops issuing when its "
        f"share of the time budget is spent). Errors: "
        f"{sum(lv['errors'] for lv in r['levels'])}. Machine: {m['cpus']} CPUs shared with other "
        f"jobs, load average {m['load_before'][0]} before and {m['load_after'][0]} after: "
        "absolute times are inflated; the paired ratios are what to read. Seamline's overhead "
        "over the in-process API at concurrency 1 (median over "
        f"{pr.get('pairs', 0)} paired images): {_pc(pr.get('overhead_paired_median'))} "
        "(target <= +5%); server RSS "
        f"{mem['start']['rss_mb']:.0f} -> {mem['end']['rss_mb']:.0f} MB "
        f"({mem['rss_growth']:+.1%}, target within 10%).", "",
        "| concurrency | requests | errors | p50 s | p95 s | p99 s | throughput req/s | "
        "in the server p50 s | of which queued | worker outside the run | load average "
        "start / end |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for lv in r["levels"]:
        tp = lv.get("throughput_rps")
        lines.append(f"| {lv['concurrency']} | {lv['requests']} | {lv['errors']} | "
                     f"{lv['p50_s']} | {lv['p95_s']} | {lv['p99_s']} | "
                     f"{tp if tp is not None else '(paired, see below)'} | "
                     f"{lv['in_server_p50_s']} | {lv['queued_p50_s']} | "
                     f"{lv['worker_outside_run_p50_s']} | "
                     f"{' / '.join(map(str, lv.get('load_avg') or ['?']))} |")
    cmd, pf = r.get("command", {}), r.get("preflight_only", {})
    if not pr.get("pairs"):  # a memory run (--pairs 0 --cli 0 --preflight 0): no overhead
        lines += ["", "No paired requests in this run: the overhead is not measured here."]
    else:
        lines += [
            "", "## Overhead over the CLI (same run)", "",
            f"- In-process API, warm (`Pipeline.builtin('remove-text').run(path, out=run_dir)`, "
            f"what a worker does, same thread caps): p50 {pr.get('inprocess_p50_s')} s over "
            f"{pr.get('pairs')} images.",
            f"- The same images through the server at concurrency 1, interleaved with them: "
            f"p50 {r['levels'][0]['p50_s'] if r['levels'] else None} s. Overhead "
            f"(server - in-process) / in-process: median of the pairs "
            f"{_pc(pr.get('overhead_paired_median'))}, of the medians "
            f"{_pc(pr.get('overhead_of_medians'))} (target <= +5%).",
            f"- Measured inside the server per request (latency minus the run's own seconds: HTTP, "
            f"upload checks, queue, decoding in the worker, the result): "
            f"{_pc(pr.get('in_server_fraction')).lstrip('+')} of the latency at concurrency 1.",
            f"- `seamline remove-text IMG -o OUT --run-dir DIR`, one process per image (starting "
            f"Python, imports, the detector's models, then the same run): p50 {cmd.get('p50_s')} s "
            f"over {cmd.get('images')} images; the server saves that start-up on every request.",
            f"- `?preflight=only` (detection, mask, normalisation, preflight verdict): p50 "
            f"{pf.get('p50_s')} s over {pf.get('ok')} requests"
            + (f", {pf['fraction_of_full']:.0%} of a full request's p50." if pf.get(
                "fraction_of_full") else "."),
            ]
    lines += [
        "", "## Memory", "",
        "Server = the whole process tree: the uvicorn process (HTTP, upload checks, the "
        "dispatcher thread), the forkserver, the resource tracker and the workers. RSS sums "
        "each process's resident pages, so pages the workers share with the forkserver count "
        "once per process; PSS divides shared pages among their sharers (the PSS sum is what "
        "the tree occupies, but its file-backed part also moves when other processes on the "
        "machine map the same libraries, e.g. other jobs using the same virtual environment: "
        "read RSS and anon); anon is the anonymous part of RSS (heap, numpy buffers). Start = "
        f"after {a.get('warm', 1)} warm-up request(s) per worker; start and end are taken "
        "with the server settled (nothing queued or running, every worker idle, i.e. its last "
        "job's memory handed back); the series points are taken as requests finish, with the "
        "other worker mid-job. Memory does not depend on the machine's load; latencies do.",
        "",
        "| | RSS MB | PSS MB | anon MB |", "|---|---|---|---|",
        f"| start (before the first level) | {mem['start']['rss_mb']} | "
        f"{mem['start']['pss_mb']} | {mem['start'].get('anon_mb')} |",
        f"| largest in between (every 2 s) | {mem['peak']['rss_mb']} | "
        f"{mem['peak']['pss_mb']} | {mem['peak'].get('anon_mb')} |",
        f"| end (after the last level) | {mem['end']['rss_mb']} | {mem['end']['pss_mb']} | "
        f"{mem['end'].get('anon_mb')} |",
        f"| growth, start to end | {mem['rss_growth']:+.1%} | {mem['pss_growth']:+.1%} | "
        f"{_pc(mem.get('anon_growth'))} |"]
    if mem.get("per_process"):
        lines += ["", "Per process, RSS MB (anon MB) at start / peak / end:", "",
                  "| process | start | peak | end | RSS growth |", "|---|---|---|---|---|"]

        def cell(x):
            return "-" if not x else f"{x['rss_mb']} ({x['anon_mb']})"

        for role, p in mem["per_process"].items():
            lines.append(f"| {role} | {cell(p['start'])} | {cell(p['peak'])} | "
                         f"{cell(p['end'])} | {_pc(p['rss_growth'])} |")
    if mem.get("series"):
        roles = list(mem["per_process"])
        lines += ["", f"Series (every {mem['every_requests']} answered requests), RSS MB per "
                      "process and total:", "",
                  "| requests | " + " | ".join(roles) + " | total RSS | total PSS | load |",
                  "|---" * (len(roles) + 4) + "|"]
        for e in mem["series"]:
            pp = e["per_process"]
            lines.append(f"| {e['requests']} | " + " | ".join(
                str(pp[r]["rss_mb"]) if r in pp else "-" for r in roles)
                + f" | {e['rss_mb']} | {e['pss_mb']} | {e['load_1min']} |")
    return "\n".join(lines) + "\n"


def _pc(x) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


if __name__ == "__main__":
    sys.exit(main())
