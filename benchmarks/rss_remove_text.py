"""Peak RSS of ``remove_text`` over the held-out benchmark's case mix, on the train split.

``bench_remove_text.py`` runs every case of a method in one worker process and reports that
process's ``ru_maxrss``: a high-water mark across cases, to which imports, compiled Numba
kernels, ONNX Runtime sessions and arenas and thread pools all count. This script builds the
same kind of mix on **train** photos and fonts only (no held-out photo is opened) and runs it
in one worker process per source tree exactly as the benchmark's worker does (its warm-up,
its loop: ``seamline`` once per case, its 1024x768 repeats are timed in a separate pass),
recording after every case the process's peak RSS so far, its RSS now, and a digest of the
output image and mask (bit identity between trees). The cases:

- ``--per-style N`` (default 1) per overlay style, 4:3 train photos at the benchmark's
  widths 1024/1600/768/1280, cycled as it cycles them (``_common.train_style_cases``);
- ``--untouched N`` (default 2) text-free photos, as the benchmark's ``--untouched 2``;
- ``--dark-tiled N`` (default 0, at most 3) 1280x960 light-grey "PROOF" lattices over dark
  foliage (``_common.dark_tiled_cases``), the held-out tiled case whose copies are hard.

The default (16 cases) compares trees cheaply; ``--per-style 2 --untouched 0 --dark-tiled 3``
(31 cases) is the held-out worker's shape (~30 cases, three dark lattices, ids 028-030).
``--build DIR`` draws the cases into DIR (``NNN.npz`` + ``cases.json``) and stops; pass it
back as ``--case-dir DIR`` to run many times on the same cases (else they are drawn anew, in
their own process so drawing does not count).

``--sample`` also attributes the peaks: a thread reads ``/proc/self/statm`` every 2 ms and
notes which stages and probed functions were running at each new high (stage calls and a
few functions inside fill-text and QA are wrapped), and each stage's own peak is read from
``VmHWM`` after resetting it (``/proc/self/clear_refs``) when the stage starts. It perturbs
the run (a thread), so compare peaks without it.

Numba's compile cache: a tree whose kernels are not cached yet (a fresh checkout, or a kernel
file changed) compiles them at its warm-up. Since ed2548f that compile runs in a child
process (``seamline.ops.inpaint.jit_cache``), which writes the cache and exits, and the
worker then loads the kernels from the cache: the child's memory is not in the worker's
``ru_maxrss`` (nor in the benchmark's, which reads the worker's own), so peaks with a cold
cache read as with a warm one (``--cold-numba``, an empty ``NUMBA_CACHE_DIR`` per worker,
checks it: RSS after the warm-up ~330 MB either way). What a cold cache still changes is the
warm-up's seconds, and ``warm_cpu_s`` leaves the child's CPU out: compare warm-up times on
warm caches only (run once first). A warm-up RSS ~160-200 MB above that means the child
failed and the worker compiled in its own process (LLVM's state then stays for its life).

Usage::

    python benchmarks/rss_remove_text.py --src old=/work/wt-old/src --src new=src
    python benchmarks/rss_remove_text.py --src new=src --sample --only 005,013
    python benchmarks/rss_remove_text.py --src old=... --src new=... --save /tmp/rss  # arrays
    python benchmarks/rss_remove_text.py --per-style 2 --untouched 0 --dark-tiled 3 \\
        --build /tmp/rss_cases
    python benchmarks/rss_remove_text.py --case-dir /tmp/rss_cases --src new=src --rounds 3

Prints one table (peak MB after each case per tree, in case order) and writes JSON to
``--json`` if given.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _common import DARK_TILED  # noqa: E402  (--dark-tiled: how many of them)

#: The benchmark's widths, cycled over cases in the same order (4:3).
SIZES = ((1024, 768), (1600, 1200), (768, 576), (1280, 960))
SEED = 20261205
#: Functions whose calls are labelled in ``--sample`` runs: (label, module, attribute),
#: patched on the module the callers look them up in at call time.
PROBES = (("detect_text", "seamline.ops.text", "detect_text"),
          ("glyph_mask", "seamline.ops.text", "glyph_mask"),
          ("segment_text", "seamline.ops.text.segment", "segment_text"),
          ("find_tiled_watermark", "seamline.ops.text.watermark", "find_tiled_watermark"),
          ("first_pass", "seamline.ops.text.removal", "first_pass"),
          ("fill_region", "seamline.ops.text.removal", "fill_region"),
          ("_judge_fill", "seamline.ops.text.removal", "_judge_fill"),
          ("_judge_surface", "seamline.ops.text.removal", "_judge_surface"),
          ("_texture_pass", "seamline.ops.text.removal", "_texture_pass"),
          ("judge_regions", "seamline.ops.text.ghost", "judge_regions"),
          ("fsr_inpaint", "seamline.ops.inpaint.fsr", "fsr_inpaint"),
          ("exemplar_fill", "seamline.ops.inpaint.exemplar", "exemplar_fill"),
          ("edge_fill", "seamline.ops.inpaint.edge_first", "edge_fill"))
STAGE_IDS = ("detect-text", "text-mask", "normalize-mask", "preflight", "fill-text", "qa")


# ============================================================================ cases
def build_cases(out: Path, per_style: int = 1, untouched: int = 2,
                dark_tiled: int = 0) -> list[dict]:
    """The benchmark's case mix on train photos and fonts, in its layout (``cases.json`` and
    one ``<id>.npz`` per case with ``photo``, ``with_text``, ``drawn``, ``region``): the
    style cases, then the text-free photos, then the dark-foliage lattices (see the module's
    docstring)."""

    from _common import crop_resize_4x3, dark_tiled_cases, text_region, train_style_cases
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    out.mkdir(parents=True, exist_ok=True)
    fonts = overlays.font_paths("train")
    cases = []

    def save(style, name, photo, ovs):
        with_text = overlays.render(photo, ovs)[0].astype(np.float32) if ovs else photo
        drawn = overlays.drawn_mask(photo, with_text)
        cid = f"{len(cases):03d}"
        np.savez(out / f"{cid}.npz", photo=photo, with_text=with_text, drawn=drawn,
                 region=text_region(drawn, ovs))
        cases.append({"id": cid, "style": style, "photo": name, "width": photo.shape[1],
                      "height": photo.shape[0]})

    for style, name, photo, rng in train_style_cases(per_style, SIZES, SEED):
        save(style, name, photo, overlays.sample_overlays(rng, style, photo.shape[:2], fonts))
    photos = [(n, p) for n, p in backgrounds("train") if not n.startswith("procedural")]
    for j in range(untouched):  # text-free photos, as the benchmark's --untouched
        name, p = photos[(7 * j + 3) % len(photos)]
        save("untouched", name, crop_resize_4x3(p, SIZES[j % len(SIZES)]), [])
    for name, photo, ovs in dark_tiled_cases(dark_tiled):
        save("dark_tiled", name, photo, ovs)
    (out / "cases.json").write_text(json.dumps(cases))
    return cases


# ============================================================================ sampling
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2 ** 20


def _hwm_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


#: Highest VmHWM seen before a reset (a reset also lowers ru_maxrss: --sample runs report this).
_HWM_SEEN = [0.0]


def _reset_hwm() -> bool:
    _HWM_SEEN[0] = max(_HWM_SEEN[0], _hwm_mb())
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    """The process's peak RSS so far (ru_maxrss, or the highest VmHWM where --sample reset it)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, _HWM_SEEN[0], _hwm_mb())


class Sampler:
    """RSS every 2 ms in a thread; at each new high of the current case, the labels active."""

    def __init__(self):
        self.active: dict[str, int] = {}
        self.case_peak = 0.0
        self.case_at: list[str] = []
        self.label_peak: dict[str, float] = {}
        self.stage_hwm: dict[str, float] = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            r = _rss_mb()
            with self.lock:
                if r > self.case_peak:
                    self.case_peak, self.case_at = r, sorted(self.active)
                for k in self.active:
                    if r > self.label_peak.get(k, 0.0):
                        self.label_peak[k] = r
            time.sleep(0.002)

    @contextlib.contextmanager
    def label(self, name):
        with self.lock:
            self.active[name] = self.active.get(name, 0) + 1
        try:
            yield
        finally:
            with self.lock:
                self.active[name] -= 1
                if not self.active[name]:
                    del self.active[name]

    def take(self) -> dict:
        with self.lock:
            rec = {"peak_sampled_mb": round(self.case_peak, 1), "at": self.case_at,
                   "labels": {k: round(v, 1) for k, v in sorted(self.label_peak.items())},
                   "stage_hwm": dict(self.stage_hwm)}
            self.case_peak, self.case_at, self.label_peak, self.stage_hwm = 0.0, [], {}, {}
        return rec


def install(sampler: Sampler, hwm: bool) -> None:
    import seamline.stages  # noqa: F401  (fills the registry)
    from seamline.core.stage import get_stage

    def wrap(fn, label, stage=False):
        @functools.wraps(fn)
        def inner(*a, **k):
            if stage and hwm:
                _reset_hwm()
            with sampler.label(label):
                try:
                    return fn(*a, **k)
                finally:
                    if stage and hwm:
                        h = _hwm_mb()
                        sampler.stage_hwm[label] = round(max(h, sampler.stage_hwm.get(label, 0)), 1)
        return inner

    for sid in STAGE_IDS:
        cls = get_stage(sid)
        cls.run = wrap(cls.run, "stage:" + sid, stage=True)
    for label, mod, attr in PROBES:
        try:
            m = importlib.import_module(mod)
        except ImportError:
            continue
        if hasattr(m, attr):
            setattr(m, attr, wrap(getattr(m, attr), label))


# ============================================================================ worker
def worker(case_dir: Path, out: Path, repeats: int, sample: bool, save: Path | None,
           only: set | None) -> None:
    """The benchmark's worker loop (bench_remove_text.worker) for the ``seamline`` method,
    with the peak RSS recorded after the warm-up and after every case."""
    import cv2

    import bench_remove_text as B

    cases = json.loads((case_dir / "cases.json").read_text())
    rec = {"import_mb": None, "warm_mb": None, "cases": []}
    sampler = None
    if sample:
        sampler = Sampler()
        install(sampler, hwm=_reset_hwm())
    rec["import_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c0 = time.process_time()
    B._warm_up("seamline", None)
    rec["warm_mb"] = _peak_mb()
    rec["warm_cpu_s"] = round(time.process_time() - c0, 2)
    rec["warm_rss_now_mb"] = round(_rss_mb(), 1)
    if sampler is not None:
        rec["warm_sample"] = sampler.take()
    for c in cases:
        if only and c["id"] not in only:
            continue
        z = np.load(case_dir / f"{c['id']}.npz")
        image, drawn = z["with_text"], z["drawn"]
        n = repeats if (c["height"], c["width"]) == (768, 1024) else 1
        rss0 = _rss_mb()
        c0 = time.process_time()
        cpus = []
        for _ in range(n):
            c1 = time.process_time()
            result, mask = B._run_method("seamline", image, drawn, None)
            cpus.append(time.process_time() - c1)
        result = np.asarray(result, np.float32)
        # the benchmark's per-case figures (their memory counts too)
        far = cv2.distanceTransform((~drawn).astype(np.uint8), cv2.DIST_L2, 5) > B.FAR_PX
        changed_far = int(np.count_nonzero(np.any(result != image, axis=2) & far))
        row = {"id": c["id"], "style": c["style"], "width": c["width"],
               "rss_before_mb": round(rss0, 1), "rss_after_mb": round(_rss_mb(), 1),
               "peak_mb": round(_peak_mb(), 1),
               "cpu_s": [round(x, 3) for x in cpus], "changed_far_px": changed_far,
               "image_sha": hashlib.sha256(np.ascontiguousarray(result).tobytes()).hexdigest()[:16],
               "mask_sha": hashlib.sha256(np.ascontiguousarray(mask).tobytes()).hexdigest()[:16]}
        if sampler is not None:
            row["sample"] = sampler.take()
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            np.save(save / f"{c['id']}_image.npy", result)
            np.save(save / f"{c['id']}_mask.npy", mask)
        rec["cases"].append(row)
        print(f"  {c['id']} {c['style']:16s} {c['width']:5d}px peak {row['peak_mb']:7.1f} MB "
              f"(rss {row['rss_before_mb']:.0f} -> {row['rss_after_mb']:.0f})  "
              f"cpu {sum(cpus):.2f} s", file=sys.stderr, flush=True)
    rec["peak_mb"] = _peak_mb()
    out.write_text(json.dumps(rec))


# ============================================================================ main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                    help="source tree (repeatable); default: this tree's src")
    ap.add_argument("--rounds", type=int, default=1, help="worker runs per tree, alternating")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each 1024x768 case (the benchmark's worker: 1 for seamline)")
    ap.add_argument("--per-style", type=int, default=1, help="cases per overlay style")
    ap.add_argument("--untouched", type=int, default=2, help="text-free photos")
    ap.add_argument("--dark-tiled", type=int, default=0,
                    help=f"1280x960 PROOF lattices over dark foliage (0-{len(DARK_TILED)})")
    ap.add_argument("--build", type=Path, metavar="DIR",
                    help="draw the cases into DIR and stop (then --case-dir DIR)")
    ap.add_argument("--sample", action="store_true", help="attribute the peaks (perturbs)")
    ap.add_argument("--save", type=Path, help="save each tree's output arrays here")
    ap.add_argument("--only", help="comma-separated case ids (default: all)")
    ap.add_argument("--cold-numba", action="store_true",
                    help="each worker with an empty NUMBA_CACHE_DIR (kernels compiled in a child)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--case-dir", type=Path, help="cases built before (else built now; then the case options are unused)")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    for arg, lo, hi in (("repeats", 1, None), ("per-style", 0, None), ("untouched", 0, None),
                        ("dark-tiled", 0, len(DARK_TILED))):
        v = getattr(a, arg.replace("-", "_"))
        if v < lo or (hi is not None and v > hi):
            ap.error(f"--{arg} must be >= {lo}" + (f" and <= {hi}" if hi is not None else ""))
    only = set(a.only.split(",")) if a.only else None
    if a.build:
        cases = build_cases(a.build, a.per_style, a.untouched, a.dark_tiled)
        print(f"{len(cases)} cases in {a.build}", file=sys.stderr)
        return 0
    if a.worker:
        worker(a.case_dir, a.worker, a.repeats, a.sample, a.save, only)
        return 0
    srcs = [s.split("=", 1) for s in a.src] or [["this", str(HERE.parent / "src")]]
    results: dict[str, list] = {n: [] for n, _ in srcs}
    with tempfile.TemporaryDirectory(prefix="rss_rt_") as tmp:
        case_dir = a.case_dir
        if case_dir is None:
            case_dir = Path(tmp) / "cases"
            case_dir.mkdir()
            env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
            subprocess.run([sys.executable, __file__, "--build", str(case_dir), "--per-style",
                            str(a.per_style), "--untouched", str(a.untouched), "--dark-tiled",
                            str(a.dark_tiled)], env=env, check=True)
        for rnd in range(a.rounds):
            for name, path in srcs:
                js = Path(tmp) / f"{name}-{rnd}.json"
                env = dict(os.environ, PYTHONPATH=str(Path(path).resolve()))
                if a.cold_numba:
                    env["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="numba_", dir=tmp)
                cmd = [sys.executable, __file__, "--worker", str(js), "--case-dir", str(case_dir),
                       "--repeats", str(a.repeats)]
                if a.sample:
                    cmd.append("--sample")
                if a.only:
                    cmd += ["--only", a.only]
                if a.save is not None:
                    cmd += ["--save", str(a.save / name)]
                print(f"== {name} round {rnd} ({path})", file=sys.stderr, flush=True)
                t0 = time.time()
                subprocess.run(cmd, env=env, check=True, cwd=tmp)
                r = json.loads(js.read_text())
                r["wall_s"] = round(time.time() - t0, 1)
                results[name].append(r)
    names = list(results)
    print(f"peak RSS (MB, ru_maxrss) after the import, the warm-up and each case; "
          f"trees: {', '.join(f'{n}={p}' for n, p in srcs)}")
    head = f"{'':28s}" + "".join(f"{n + (f'#{i}' if a.rounds > 1 else ''):>14s}"
                                 for n in names for i in range(len(results[n])))
    print(head)
    runs = [(n, r) for n in names for r in results[n]]
    for key in ("import_mb", "warm_mb"):
        print(f"{key:28s}" + "".join(f"{r[key]:14.1f}" for _, r in runs))
    for i, row in enumerate(runs[0][1]["cases"]):
        cells = "".join(f"{r['cases'][i]['peak_mb']:14.1f}" for _, r in runs)
        same = {(r["cases"][i]["image_sha"], r["cases"][i]["mask_sha"]) for _, r in runs}
        print(f"{row['id']} {row['style'][:15]:15s} {row['width']:5d}  " + cells
              + ("" if len(same) == 1 else "   outputs DIFFER"))
    print(f"{'peak':28s}" + "".join(f"{r['peak_mb']:14.1f}" for _, r in runs))
    print(f"{'CPU s, all cases':28s}" + "".join(
        f"{sum(sum(c['cpu_s']) for c in r['cases']):14.1f}" for _, r in runs))
    if a.sample:
        for n, r in runs:
            print(f"-- {n}: where each case's sampled peak was (stage VmHWM MB)")
            for c in r["cases"]:
                s = c["sample"]
                print(f"  {c['id']} {c['style'][:12]:12s} {s['peak_sampled_mb']:7.1f} "
                      f"at {'+'.join(s['at']) or '-'}  | "
                      + " ".join(f"{k.split(':')[1]}={v:.0f}" for k, v in s["stage_hwm"].items()))
    if a.json:
        a.json.write_text(json.dumps({"trees": dict(srcs), "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
