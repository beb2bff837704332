"""Benchmark: peak memory (RSS) and wall time per image size, before and after (issue 11 item 8).

Commands, each in its own process (``python -c 'seamline.cli.main()' ...``), peak RSS from
``os.wait4`` (``ru_maxrss`` of that process alone):

remove-text  ``seamline remove-text IMG -o OUT`` (the built-in pipeline: detect, text mask,
             normalise, preflight, fill, QA)
inpaint      ``seamline inpaint IMG --mask MASK -o OUT``, a mask of round blobs covering ~2 %
upscale      ``seamline upscale IMG --scale 2 -o OUT`` (default backend, seamline-sr)

Images: 1, 12, 24 and 50 MP (4:3), each a 2x2 mosaic of scikit-image photos resized to the
size, with six text items drawn by ``seamline.testing.synth`` (captions, titles, watermarks:
text covers a small part of the frame, as in real photos). Plus a flat grey 100 MP frame
with no text at all (the issue's 9999x9999 PNG), remove-text only, and a fax page (issue 14
item 8): 3307x4677 1-bit, CCITT group 4 TIFF, 60 lines of text rendered with Pillow's bundled
font, remove-text and upscale. Inputs are written once under ``benchmarks/cache/memory-inputs/``.

"before" is the tree at ``--before`` (default: main before the detection, conversion,
statistics and fill-copy changes, checked out with ``git worktree add`` under
``benchmarks/cache/``); "after" is this tree. Both run in the same invocation, alternating per
case, so load affects them alike. A command still running at ``--timeout`` is stopped; its
peak so far is kept and shown as a lower bound. The upscale x2
output of a 50 MP input has 200 MP: those runs pass ``--max-pixels 250000000`` (the default
limit, 100 MP, refuses it). ``--skip`` drops cases (e.g. ``upscale@50``) when a run would take
too long; skipped cases are listed in the results.

Writes ``benchmarks/results/memory.json`` and ``memory.md``.

``--profile`` instead runs each fax-page command once per tree with the process's RSS sampled
every 5 ms and the runner's stage calls timed (handoff checks and adapters included), and
writes the peak, seconds and CPU seconds of each phase (read, each stage, write) to
``benchmarks/results/memory_stages.json``; ``memory.md`` shows them. With
``--profile-photos`` it profiles the photos of ``--sizes`` instead
(``memory_stages_photo.json``).

A watchdog stops a command whose RSS passes ``--max-rss-gb`` (default 12: the machine is
shared), reported as "over memory" with its peak so far. ``--after-only`` measures this tree
alone (rows the table lacks); each row records the 1-minute load average at its start.

Usage: ``python benchmarks/bench_memory.py [--sizes 1 12 24 50] [--skip upscale@50]
[--before REV] [--timeout 900] [--max-rss-gb 12] [--after-only] [--profile]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
CACHE = HERE / "cache"
#: main before strip-wise conversions, the blank-frame detection skip, strip-wise statistics and
#: the fill stages' copy of an untouched image (issue 11 item 8, issue 14 item 8)
BEFORE = "157f2d5"
RUNNER = "import sys; from seamline.cli import main; sys.exit(main(sys.argv[1:]))"
COMMANDS = ("remove-text", "inpaint", "upscale")
#: One CLI command with its RSS sampled every 5 ms and the runner's stage calls timed; prints
#: one JSON line: per phase (read, each stage, write) its seconds and peak RSS (MB).
PROFILER = r"""
import json, os, sys, threading, time
import seamline.engine.runner as runner
from seamline.cli import main
page, samples, marks = os.sysconf("SC_PAGE_SIZE"), [], []
def sample():
    with open("/proc/self/statm") as f:
        while True:
            f.seek(0)
            samples.append((time.perf_counter(), int(f.read().split()[1]) * page))
            time.sleep(0.005)
threading.Thread(target=sample, daemon=True).start()
real = runner._run_stage
def timed(i, decl, *args, **kwargs):
    t, c = time.perf_counter(), time.process_time()
    try:
        return real(i, decl, *args, **kwargs)
    finally:
        marks.append((decl.name, t, time.perf_counter(), time.process_time() - c))
runner._run_stage = timed
t0, c0 = time.perf_counter(), time.process_time()
code = main(sys.argv[1:])
t1, cpu = time.perf_counter(), time.process_time() - c0
time.sleep(0.02)
first = marks[0][1] if marks else t1
phases = [("read + preflight", t0, first, None), *marks,
          ("write", marks[-1][2] if marks else t0, t1, None)]
def peak(a, b):
    return max((r for t, r in samples if a - 0.005 <= t <= b + 0.005), default=0)
print(json.dumps({"exit": code, "seconds": round(t1 - t0, 1), "cpu_s": round(cpu, 1),
                  "peak_rss_mb": round(max(r for _, r in samples) / 2**20),
                  "phases": [{"phase": n, "seconds": round(b - a, 2),
                              **({"cpu_s": round(c, 2)} if c is not None else {}),
                              "peak_rss_mb": round(peak(a, b) / 2**20)}
                             for n, a, b, c in phases]}))
"""


def shape_for(megapixels: float) -> tuple[int, int]:
    """(H, W), 4:3, about ``megapixels`` MP, both even."""
    w = int(round((megapixels * 1e6 * 4 / 3) ** 0.5 / 2)) * 2
    return int(round(megapixels * 1e6 / w / 2)) * 2, w


def make_inputs(megapixels: float, folder: Path) -> tuple[Path, Path, float]:
    """Photo with text and a ~2 % blob mask at this size; returns paths and the mask coverage."""
    import cv2
    import numpy as np
    from skimage import data

    from seamline.io import write_image
    from seamline.testing.synth import draw_text, random_text_items

    img_path = folder / f"photo_{megapixels:g}mp.png"
    mask_path = folder / f"mask_{megapixels:g}mp.png"
    H, W = shape_for(megapixels)
    rng = np.random.default_rng(int(megapixels * 10))
    if not (img_path.exists() and mask_path.exists()):
        tiles = [cv2.resize(a, (512, 512), interpolation=cv2.INTER_AREA) for a in
                 (data.astronaut(), data.coffee(), data.chelsea(), data.rocket())]
        mosaic = np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:])])
        photo = cv2.resize(mosaic, (W, H), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255
        items = random_text_items(photo.shape, rng, n=6, image=photo)
        with_text, _ = draw_text(photo, items)
        tmp = img_path.with_name(f".tmp-{img_path.name}")  # a cut-off run leaves no half file
        write_image(tmp, with_text)
        os.replace(tmp, img_path)
        del photo, with_text
        mask = np.zeros((H, W), np.uint8)
        n_blobs = 40
        r = int(round((0.02 * H * W / (n_blobs * np.pi)) ** 0.5))
        for y, x in zip(rng.integers(r, H - r, n_blobs), rng.integers(r, W - r, n_blobs)):
            cv2.circle(mask, (int(x), int(y)), r, 255, -1)
        tmp = mask_path.with_name(f".tmp-{mask_path.name}")
        cv2.imwrite(str(tmp), mask)
        os.replace(tmp, mask_path)
    coverage = float(np.count_nonzero(cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)) / (H * W))
    return img_path, mask_path, coverage


def make_grey(folder: Path) -> Path:
    """The issue's case: a flat grey 9999x9999 PNG (no text anywhere)."""
    import cv2
    import numpy as np

    path = folder / "grey_9999.png"
    if not path.exists():
        tmp = path.with_name(f".tmp-{path.name}")
        cv2.imwrite(str(tmp), np.full((9999, 9999, 3), 128, np.uint8))
        os.replace(tmp, path)
    return path


def make_fax(folder: Path) -> Path:
    """A fax page: 3307x4677 1-bit, CCITT group 4, lines of text (Pillow's bundled font)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    path = folder / "fax_3307x4677_g4.tif"
    if not path.exists():
        im = Image.new("1", (3307, 4677), 1)
        draw = ImageDraw.Draw(im)
        font = ImageFont.load_default(44)
        rng = np.random.default_rng(0)
        words = ("the quick brown fox jumps over lazy dog invoice total amount date page "
                 "fax").split()
        for y in range(240, 4677 - 300, 70):
            draw.text((250, y), " ".join(rng.choice(words, 9)), font=font, fill=0)
        tmp = path.with_name(f".tmp-{path.name}")
        im.save(tmp, compression="group4")
        os.replace(tmp, path)
    return path


def before_tree(rev: str) -> Path:
    """A checkout of ``rev`` under benchmarks/cache/ (git worktree, detached)."""
    tree = CACHE / f"before-{rev}"
    if not (tree / "src" / "seamline").is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev],
                       check=True, capture_output=True)
    return tree


def _rss_mb(pid: int) -> float:
    """Resident set size of a running process, MB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def run_one(src: Path, args: list[str], timeout: float, max_rss_mb: float | None = None,
            code: str = RUNNER) -> dict:
    """Run one CLI command in a fresh process; its own peak RSS and wall time.

    A watchdog reads the process's RSS every 50 ms and stops it past ``max_rss_mb`` (status
    ``over memory``, its peak so far kept): a case larger than the shared machine can give
    is reported as such instead of pushing the machine into swap or the OOM killer.
    ``code`` is the Python the process runs (:data:`RUNNER`, or :data:`PROFILER`, whose
    JSON line is merged into the result).
    """
    env = dict(os.environ, PYTHONPATH=str(src), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                                stdout=out_f, stderr=err_f)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            over = max_rss_mb is not None and _rss_mb(proc.pid) > max_rss_mb
            if over or time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                return {"status": "over memory" if over else "timeout",
                        "seconds": round(time.perf_counter() - t0, 1),
                        "peak_rss_mb": round(usage.ru_maxrss / 1024),
                        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
                        **({"limit_mb": round(max_rss_mb)} if over else {})}
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        out_f.seek(0)
        err_f.seek(0)
        lines = out_f.read().decode(errors="replace").strip().splitlines()
        err = err_f.read().decode(errors="replace").strip().splitlines()
    code_ = os.waitstatus_to_exitcode(status)
    out = {"status": "ok" if code_ == 0 else f"exit {code_}", "seconds": round(seconds, 1),
           "peak_rss_mb": round(usage.ru_maxrss / 1024),
           "cpu_s": round(usage.ru_utime + usage.ru_stime, 1)}
    if code_ != 0:
        out["error"] = err[-1] if err else ""
    if code is PROFILER and lines and lines[-1].startswith("{"):
        prof = json.loads(lines[-1])
        # ru_maxrss (the kernel's) is the peak; the sampled one can miss a short spike
        out.update(sampled_peak_rss_mb=prof.pop("peak_rss_mb"), phases=prof.pop("phases"))
    return out


def profile_one(src: Path, args: list[str], timeout: float,
                max_rss_mb: float | None = None) -> dict:
    """:data:`PROFILER` on one command in a fresh process (``src`` first on the path), under
    :func:`run_one`'s time limit and RSS watchdog."""
    return run_one(src, args, timeout, max_rss_mb, code=PROFILER)


def profile(trees: dict, inputs: Path, outputs: Path, timeout: float,
            commands=("upscale", "remove-text"), sizes=(), max_rss_mb: float | None = None
            ) -> None:
    """Per-phase profiles of the fax page (upscale, remove-text) for each tree, or of the
    photos of ``sizes`` (MP) when given (``memory_stages_photo.json``)."""
    rows = []
    cases = ([(f"{mp:g} MP", *make_inputs(mp, inputs)[:1], mp) for mp in sizes] if sizes
             else [("fax", make_fax(inputs), 15.5)])
    for label, img, mp in cases:
        for cmd in commands:
            for side, src in trees.items():
                load = round(os.getloadavg()[0], 2)  # at the start
                r = profile_one(src, command_args(cmd, img, None, outputs, mp), timeout,
                                max_rss_mb)
                print(f"profile {label} {cmd} {side}: {r}", flush=True)
                rows.append({"case": label, "command": cmd, "side": side, "load_avg": load, **r})
    name = "memory_stages_photo" if sizes else "memory_stages"
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


def stage_lines() -> list[str]:
    """memory.md's per-phase sections, from memory_stages.json and memory_stages_photo.json
    (``--profile``, ``--profile --profile-photos``)."""
    lines = []
    for name, title in (("memory_stages", "fax page (3307x4677, 1-bit G4)"),
                        ("memory_stages_photo", "photos")):
        path = RESULTS / f"{name}.json"
        if not path.is_file():
            continue
        rows = json.loads(path.read_text(encoding="utf-8"))
        lines += ["", f"## Per phase: {title}", "",
                  "Peak RSS (sampled every 5 ms) and seconds (CPU seconds where recorded) of "
                  "each phase of one run, `--profile`: read + preflight, each stage as the "
                  "runner calls it (handoff checks and adapters included), then writing the "
                  "output and the manifest.", ""]
        for r in rows:
            what = f"{r['case']} {r['command']}" if "case" in r else r["command"]
            if r.get("status") != "ok" or "phases" not in r:
                lines.append(f"- {what} ({r['side']}): {r.get('status')} "
                             f"{fmt_gb(r) if r.get('peak_rss_mb') else ''} "
                             f"{r.get('error', '')}".rstrip())
                continue
            parts = ", ".join(
                f"{p['phase']} {p['peak_rss_mb'] / 1024:.2f} GB / {p['seconds']:.1f} s"
                + (f" ({p['cpu_s']:.1f} CPU s)" if "cpu_s" in p else "") for p in r["phases"])
            cpu = f", {r['cpu_s']:.0f} CPU s" if "cpu_s" in r else ""
            load = f", load {r['load_avg']} at the start" if "load_avg" in r else ""
            lines.append(f"- {what} ({r['side']}): peak {r['peak_rss_mb'] / 1024:.2f} GB in "
                         f"{r['seconds']:.0f} s{cpu}{load}: {parts}")
    return lines


def command_args(cmd: str, img: Path, mask: Path, out_dir: Path, megapixels: float) -> list[str]:
    out = str(out_dir / f"{cmd}_{megapixels:g}mp.png")
    if cmd == "remove-text":
        return ["remove-text", str(img), "-o", out, "--quiet"]
    if cmd == "inpaint":
        return ["inpaint", str(img), "--mask", str(mask), "-o", out, "--quiet"]
    extra = ["--max-pixels", "250000000"] if megapixels * 4 > 100 else []
    return ["upscale", str(img), "--scale", "2", "-o", out, "--quiet", *extra]


def fmt_gb(r: dict | None) -> str:
    if not r:
        return "–"
    if r["status"] == "over memory":
        return f"> {r['limit_mb'] / 1024:.1f} GB (stopped)"
    if r["status"] == "timeout" and r.get("peak_rss_mb"):
        return f"≥ {r['peak_rss_mb'] / 1024:.2f} GB"  # stopped: its peak so far
    if r["status"] != "ok":
        return r["status"]
    return f"{r['peak_rss_mb'] / 1024:.2f} GB"


def fmt_s(r: dict | None) -> str:
    if not r:
        return "–"
    if r["status"] in ("timeout", "over memory"):
        return f"> {r['seconds']:.0f} s (stopped)" if r["status"] == "timeout" else \
            f"stopped at {r['seconds']:.0f} s"
    if r["status"] != "ok":
        return r["status"]
    # CPU seconds beside the wall time: on the shared machine only they compare across loads
    return f"{r['seconds']:.0f} s" + (f" ({r['cpu_s']:.0f} CPU s)" if "cpu_s" in r else "")


def write_results(rows: list[dict], meta: dict, name: str = "memory") -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2)
                                          + "\n", encoding="utf-8")
    sizes = [r for r in rows if r["case"] == "photo"]
    by = {(r["megapixels"], r["command"]): r for r in sizes}
    mps = sorted({r["megapixels"] for r in sizes})
    grey = next((r for r in rows if r["case"] == "grey"), None)
    fax = {r["command"]: r for r in rows if r["case"] == "fax"}

    def after(mp, cmd):
        r = by.get((mp, cmd))
        return r["after"] if r else None

    lines = ["# Memory and time per image size", ""]
    ok = [r for r in sizes if r["command"] == "remove-text" and r["after"].get("status") == "ok"]
    biggest = max(ok, key=lambda r: r["megapixels"]) if ok else None
    prose = ("Peak memory (RSS of the one process) and wall time of one command per image "
             "(issue 11 item 8, issue 14 item 8). ")
    if biggest:
        was = f" (was {fmt_gb(biggest['before'])})" if biggest.get("before") else ""
        prose += (f"remove-text on a {biggest['megapixels']:g} MP photo peaks at "
                  f"{fmt_gb(biggest['after'])}{was}. ")
    if grey and grey["after"].get("status") == "ok":
        prose += (f"A 100 MP flat grey PNG with no text costs {fmt_gb(grey['after'])} in "
                  f"remove-text (was {fmt_gb(grey['before'])}, "
                  f"{fmt_s(grey['before'])} -> {fmt_s(grey['after'])}). ")
    if fax:
        prose += ("A 3307x4677 1-bit fax page: " + ", ".join(
            f"{c} {fmt_gb(r['after'])} in {fmt_s(r['after'])}"
            + (f" (was {fmt_gb(r['before'])}, {fmt_s(r['before'])})" if r.get("before") else "")
            for c, r in fax.items()) + ". ")
    prose += (f"{meta['cpus']} CPUs shared with other engineers' jobs, "
              f"{meta['load_before']} load average at the start "
              "(times are indicative, memory is not load-dependent). "
              "Size batch workers by memory: a worker needs about the peak of its largest "
              "image, so workers = min(cores, available memory / that peak).")
    lines += [prose, ""]
    lines += ["| image | remove-text | inpaint (2 % mask) | upscale x2 |",
              "|---|---|---|---|"]
    for mp in mps:
        h, w = shape_for(mp)
        cells = [f"{fmt_gb(after(mp, c))}, {fmt_s(after(mp, c))}" if after(mp, c)
                 else "not measured" for c in COMMANDS]
        lines.append(f"| {mp:g} MP ({w}x{h}) | " + " | ".join(cells) + " |")
    if fax:
        cells = [f"{fmt_gb(fax[c]['after'])}, {fmt_s(fax[c]['after'])}" if c in fax
                 else "not measured" for c in COMMANDS]
        lines.append("| fax page, 1-bit (3307x4677) | " + " | ".join(cells) + " |")
    lines += ["", "## Before and after", "",
              f"Before: `{meta['before']}` (main before the change); after: `{meta['after']}`. "
              "Same run, alternating per case."
              + (f" {meta['runs_side_by_side']} benchmark processes ran side by side (different "
                 "commands) to fit the time budget: times include that load, memory does not."
                 if meta.get("runs_side_by_side", 1) > 1 else ""), "",
              "| case | command | peak RSS before | peak RSS after | time before | time after "
              "| before at | after at | load |",
              "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        label = {"grey": "grey 9999x9999, no text", "fax": "fax page 3307x4677, 1-bit"}.get(
            r["case"], f"{r['megapixels']:g} MP")
        lines.append(f"| {label} | {r['command']} | {fmt_gb(r['before'])} | {fmt_gb(r['after'])} "
                     f"| {fmt_s(r['before'])} | {fmt_s(r['after'])} "
                     f"| `{r.get('before_rev', meta['before'])}` "
                     f"| `{r.get('after_rev', meta['after'])}` | {r.get('load_avg', '–')} |")
    for r in rows:
        for side in ("before", "after"):
            if (r[side] or {}).get("error"):
                lines.append(f"\n{r['case']} {r['command']} {side}: {r[side]['error']}")
    if meta.get("not_measured"):
        lines += ["", "Not measured (the run was cut off at its time budget): "
                  + ", ".join(meta["not_measured"]) + "."]
    if meta["skipped"]:
        lines += ["", "Skipped (too slow for the benchmark's time budget on this machine): "
                  + ", ".join(meta["skipped"]) + "."]
    # the per-phase profiles and the hand-written notes belong to memory.md; a separate
    # results file (``--results memory_fax``) holds its own rows only
    if name == "memory":
        lines += stage_lines()
    notes = RESULTS / f"{name}_notes.md"  # what the numbers alone do not say (hand-written)
    if notes.is_file():
        lines += ["", notes.read_text(encoding="utf-8").strip()]
    if sizes and any(r["command"] == "inpaint" for r in sizes):
        cov = ", ".join(f"{r['megapixels']:g} MP {100 * r['mask_coverage']:.1f} %"
                        for r in sizes if r["command"] == "inpaint")
        lines += ["", f"Inpaint mask coverage: {cov}."]
    lines += ["", f"Created {meta['created']} by `benchmarks/bench_memory.py` "
              f"({meta['seconds']:.0f} s in all). Python {meta['python']}, {meta['platform']}."]
    (RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def merge(names: list[str]) -> None:
    """Combine results of runs that measured different cases (e.g. two processes side by
    side) into memory.json / memory.md; the first run's meta is kept, times noted."""
    parts = [json.loads((RESULTS / f"{n}.json").read_text(encoding="utf-8")) for n in names]
    seen, rows = set(), []
    for part in parts:
        for r in part["rows"]:
            key = (r["case"], r["megapixels"], r["command"])
            if key not in seen:
                seen.add(key)
                rows.append({**r, "after_rev": r.get("after_rev", part["meta"]["after"]),
                             "before_rev": r.get("before_rev", part["meta"]["before"])})
    order = {c: i for i, c in enumerate(COMMANDS)}
    cases = {"grey": 0, "fax": 1, "photo": 2}
    rows.sort(key=lambda r: (cases[r["case"]], order[r["command"]], r["megapixels"]))
    meta = dict(parts[0]["meta"])
    meta["seconds"] = max(p["meta"]["seconds"] for p in parts)
    meta["not_measured"] = sorted({m for p in parts for m in p["meta"].get("not_measured", [])}
                                  - {f"{r['command']} at {r['megapixels']:g} MP" for r in rows})
    # rows of older runs keep their commits (columns); the prose is about the first run
    meta["runs_side_by_side"] = parts[0]["meta"].get("runs_side_by_side", 1)
    meta["after"] = ", ".join(sorted({r["after_rev"] for r in rows}))
    meta["before"] = ", ".join(sorted({r["before_rev"] for r in rows}))
    measured = {f"{r['command']} at {r['megapixels']:g} MP" for r in rows}
    meta["skipped"] = sorted({m for p in parts for m in p["meta"].get("skipped", [])} - measured)
    write_results(rows, meta)
    for n in names:
        if n != "memory":
            (RESULTS / f"{n}.json").unlink()
            (RESULTS / f"{n}.md").unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="*", default=[1, 12, 24, 50])
    ap.add_argument("--skip", nargs="*", default=[], help="cases to leave out, e.g. upscale@50")
    ap.add_argument("--no-grey", action="store_true", help="leave out the 100 MP grey frame")
    ap.add_argument("--no-fax", action="store_true", help="leave out the 1-bit fax page")
    ap.add_argument("--before", default=BEFORE, help="git revision measured as 'before'")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per command")
    ap.add_argument("--max-rss-gb", type=float, default=12.0,
                    help="stop a command whose RSS passes this (GB; the machine is shared)")
    ap.add_argument("--after-only", action="store_true",
                    help="measure this tree only (no 'before' checkout): rows to fill in")
    ap.add_argument("--commands", nargs="+", default=list(COMMANDS), choices=COMMANDS)
    ap.add_argument("--results", default="memory", help="results file name (without suffix)")
    ap.add_argument("--merge", nargs="+", metavar="NAME",
                    help="only combine these results files into memory.json/.md")
    ap.add_argument("--profile", action="store_true",
                    help="per-phase profiles of the fax page instead (memory_stages.json)")
    ap.add_argument("--profile-photos", action="store_true",
                    help="with --profile: the photos of --sizes instead of the fax page "
                         "(memory_stages_photo.json)")
    args = ap.parse_args()
    if args.merge:
        merge(args.merge)
        return 0
    t_start = time.perf_counter()
    sys.path.insert(0, str(ROOT / "src"))
    inputs = CACHE / "memory-inputs"
    outputs = CACHE / "memory-outputs"
    inputs.mkdir(parents=True, exist_ok=True)
    outputs.mkdir(parents=True, exist_ok=True)
    after_rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                               capture_output=True, text=True).stdout.strip()
    # "after" runs a snapshot of this tree's sources, so edits during a long run do not leak in
    after = CACHE / f"after-src-{args.results}"
    shutil.rmtree(after, ignore_errors=True)
    shutil.copytree(ROOT / "src", after, ignore=shutil.ignore_patterns("__pycache__"))
    trees = {"after": after} if args.after_only else {
        "before": before_tree(args.before) / "src", "after": after}
    meta = {"before": args.before, "after": after_rev, "cpus": os.cpu_count(),
            "load_before": round(os.getloadavg()[0], 2), "python": platform.python_version(),
            "platform": platform.platform(), "skipped": [],
            "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if args.profile:
        profile(trees, inputs, outputs, args.timeout,
                [c for c in ("upscale", "remove-text") if c in args.commands],
                sizes=args.sizes if args.profile_photos else (),
                max_rss_mb=args.max_rss_gb * 1024)
        return 0
    rows = []
    cases = []
    if not args.no_grey:
        cases.append(("grey", 9999 * 9999 / 1e6, "remove-text"))
    if not args.no_fax:
        cases += [("fax", 3307 * 4677 / 1e6, c) for c in ("remove-text", "upscale")
                  if c in args.commands]
    for cmd in args.commands:  # remove-text first: the command the issue is about
        for mp in args.sizes:
            if f"{cmd}@{mp:g}" in args.skip:
                meta["skipped"].append(f"{cmd} at {mp:g} MP")
                continue
            cases.append(("photo", mp, cmd))
    meta["not_measured"] = [f"{cmd} at {mp:g} MP" for case, mp, cmd in cases]
    for case, mp, cmd in cases:
        if case == "grey":
            img, mask, coverage = make_grey(inputs), None, 0.0
        elif case == "fax":
            img, mask, coverage = make_fax(inputs), None, 0.0
        else:
            img, mask, coverage = make_inputs(mp, inputs)
        argv = command_args(cmd, img, mask, outputs, mp)
        row = {"case": case, "megapixels": round(mp, 1), "command": cmd,
               "mask_coverage": round(coverage, 4)}
        row["load_avg"] = round(os.getloadavg()[0], 2)  # at the start of the case
        for side in ("before", "after"):
            row[side] = (run_one(trees[side], argv, args.timeout, args.max_rss_gb * 1024)
                         if side in trees else None)
            print(f"{case} {mp:g} MP {cmd} {side}: {row[side]}", flush=True)
        if args.after_only:
            row["before_rev"] = "–"
        rows.append(row)
        meta["not_measured"] = meta["not_measured"][1:]
        meta["seconds"] = time.perf_counter() - t_start
        write_results(rows, meta, args.results)  # after every case: a cut-off run keeps what it measured
    return 0


if __name__ == "__main__":
    sys.exit(main())
