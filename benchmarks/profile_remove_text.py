"""Profile ``remove-text`` at 1024x768: CPU and wall seconds per stage, the naive recipe beside it.

Cases (train split only: ``seamline.testing.backgrounds("train")`` photos, train fonts; nothing
from the held-out benchmark photos): four photos cropped to 4:3 and resized to 1024x768 with
one overlay style each (plain, outline, subtitle, shadow_blur) and one text-free photo.

Each case runs ``seamline.remove_text(image)`` in memory (as ``bench_remove_text.py`` times it)
and the naive recipe of that benchmark (rapidocr boxes, dilated, Telea) on the same image,
interleaved, ``--repeats`` times after a warm-up that loads the models. Per stage the script
records CPU seconds (``time.process_time``: every thread of the process, onnxruntime's
included) and wall seconds; inside the stages, a few probes (OCR engine calls, the tiled
watermark search, the segmenter, the glyph mask, the fill, the ghost judge, the QA re-read).
**Compare CPU seconds** between runs on this shared machine: wall time grows with the load
(the load average before and after is printed), CPU time much less. fill-text's first pass
fills independent regions on two threads: the probes inside it (``_fill_region``, the fill
backends) then count the process's CPU of both threads for calls that overlap; read its
``fill: first pass`` line and the stage's. ``--cprofile`` adds one
profiled pass over the cases and prints the top functions (cumulative and own time).

``--src NAME=PATH`` (repeatable) compares source trees in one run: each round runs one worker
process per tree (PYTHONPATH=PATH), alternating, so before and after see the same load;
``--outputs DIR`` saves each case's output image, mask and regions so that two trees'
results can be checked bit for bit (``--compare DIR1 DIR2``).

Usage::

    python benchmarks/profile_remove_text.py                       # this tree, 3 repeats
    python benchmarks/profile_remove_text.py --cprofile --repeats 1
    python benchmarks/profile_remove_text.py --src before=/tmp/base/src --src after=src --rounds 2
    python benchmarks/profile_remove_text.py --outputs /tmp/out_after
    python benchmarks/profile_remove_text.py --compare /tmp/out_before /tmp/out_after

Writes ``benchmarks/results/profile_remove_text.{txt,json}`` unless ``--no-save``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import crop_resize_4x3  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SIZE = (1024, 768)  # (W, H): the size issue 10's time target names
#: (case id, train photo, overlay style or None for a text-free photo)
CASES = (("astronaut-plain", "skimage:astronaut", "plain"),
         ("coffee-outline", "skimage:coffee", "outline"),
         ("rocket-subtitle", "skimage:rocket", "subtitle"),
         ("hopper-shadow_blur", "matplotlib:grace_hopper", "shadow_blur"),
         ("chelsea-textfree", "skimage:chelsea", None))
#: More train-split cases (``--cases extra`` or ``all``): the styles the held-out benchmark
#: times at 1024x768 besides plain (glow, meme, tiny) and a tiled watermark.
EXTRA_CASES = (("motorcycle-meme", "skimage:stereo_motorcycle", "meme"),
               ("brick-glow", "skimage:brick", "glow"),
               ("coffee-tiny", "skimage:coffee", "tiny"),
               ("astronaut-tiled", "skimage:astronaut", "tiled_watermark"))
#: The held-out benchmark times one case each of plain, glow, meme and tiny at 1024x768
#: (``--cases bench``): these four train cases are their analogues.
BENCH_CASES = (CASES[0], EXTRA_CASES[1], EXTRA_CASES[0], EXTRA_CASES[2])
#: ``--cases timing``: those four styles each over four more train photos (16 cases), so a
#: ratio to the naive recipe does not hang on one drawing per style (the train meme case above
#: fills a 250x1024 band; one photo per style decides little).
TIMING_CASES = tuple((f"{n.split(':')[1][:10]}-{st}", n, st)
                     for st in ("plain", "glow", "meme", "tiny")
                     for n in ("skimage:chelsea", "skimage:rocket", "matplotlib:grace_hopper",
                               "skimage:camera"))
#: ``--cases shadow``: the two styles the benchmark's full timing configuration finds slowest
#: (shadow_hard, subtitle) over the same four train photos and two busier ones (12 cases;
#: seeds follow :data:`TIMING_CASES`, so theirs are unchanged). A hard shadow joins the
#: text's hole: over rocket and noise2 the exemplar fill takes a 27k / 61k px hole on a
#: 350x1024 / 510x1024 crop (0.46 / 0.79 CPU s; the cases 2.1 / 2.6 s, naive 0.6 s).
SHADOW_CASES = tuple((f"{n.split(':')[1][:10]}-{st}", n, st)
                     for st in ("shadow_hard", "subtitle")
                     for n in ("skimage:chelsea", "skimage:rocket", "matplotlib:grace_hopper",
                               "skimage:camera", "skimage:coins", "procedural:noise2"))
#: ``--cases search``: ordinary captions (plain, subtitle, meme) over the two train photos that
#: repeat (procedural stripes), so detect-text's tiled watermark search tries its candidate
#: lattices and finds none, as over the full timing configuration's plain photo (three
#: caption blocks, 0.47 CPU s in the search). The timing set's photos repeat too weakly for
#: the search to try any (0.02 s); over these, 5 of the 6 try 14-19 (0.1-0.2 s after
#: speed24, 0.3-0.6 s before). Seeds follow :data:`SHADOW_CASES` (theirs unchanged).
SEARCH_CASES = tuple((f"{n.split(':')[1][:10]}-{st}", n, st)
                     for st in ("plain", "subtitle", "meme")
                     for n in ("procedural:stripes1", "procedural:stripes2"))
CASE_SETS = {"default": CASES, "extra": EXTRA_CASES, "all": CASES + EXTRA_CASES,
             "bench": BENCH_CASES, "timing": TIMING_CASES, "shadow": SHADOW_CASES,
             "search": SEARCH_CASES}
STAGES = ("detect", "unblend", "mask", "normalize", "preflight", "inpaint", "qa")
#: Functions timed inside the stages: (label, module, attribute). Patched on the module the
#: callers look them up in at call time.
PROBES = (("ocr: detect_text", "seamline.ops.text", "detect_text"),
          ("ocr: detect_text_in_boxes", "seamline.ops.text", "detect_text_in_boxes"),
          ("tiled watermark search", "seamline.ops.text.watermark", "find_tiled_watermark"),
          ("glyph mask (matting)", "seamline.ops.text", "glyph_mask"),
          ("segmenter (segment_text)", "seamline.ops.text.segment", "segment_text"),
          ("combine_masks", "seamline.ops.text.effects", "combine_masks"),
          ("fill (_fill_region)", "seamline.ops.text.removal", "_fill_region"),
          ("fill: first pass (all regions)", "seamline.ops.text.removal", "_first_pass"),
          ("fill backend: fsr_fill", "seamline.ops.inpaint.fsr", "fsr_fill"),
          ("fill backend: exemplar_fill", "seamline.ops.inpaint.exemplar", "exemplar_fill"),
          ("fill backend: edge_fill (fsr-edge)", "seamline.ops.inpaint.edge_first", "edge_fill"),
          ("smear+structure judges (_judge_fill)", "seamline.ops.text.removal", "_judge_fill"),
          ("fill choice (choose_region_fill)", "seamline.ops.text.removal", "choose_region_fill"),
          ("ghost judge (judge_regions)", "seamline.ops.text.ghost", "judge_regions"),
          ("runner: artifact statistics", "seamline.core.artifacts", "measure"),
          ("runner: artifact digests", "seamline.core.artifacts", "digest"))


# ============================================================================ cases
def make_cases(which: str = "default") -> list[tuple[str, np.ndarray]]:
    """The 1024x768 float32 images of :data:`CASE_SETS` ``[which]`` (deterministic: a case's
    seed is its position in :data:`CASES` + :data:`EXTRA_CASES` + :data:`TIMING_CASES` +
    :data:`SHADOW_CASES` + :data:`SEARCH_CASES`, whichever set it is in)."""
    from seamline.testing import overlays
    from seamline.testing.backgrounds import backgrounds

    photos = dict(backgrounds("train"))
    fonts = overlays.font_paths("train")
    out = []
    everything = CASES + EXTRA_CASES + TIMING_CASES + SHADOW_CASES + SEARCH_CASES
    for cid, name, style in CASE_SETS[which]:
        k = everything.index((cid, name, style))
        a = crop_resize_4x3(photos[name], SIZE)
        if style is not None:
            rng = np.random.default_rng([20261204, k])
            ovs = overlays.sample_overlays(rng, style, a.shape[:2], fonts)
            a = overlays.render(a, ovs)[0].astype(np.float32)
        out.append((cid, np.ascontiguousarray(a)))
    return out


# ============================================================================ probes
class Clock:
    """CPU and wall seconds accumulated per label (nested labels each count in full)."""

    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.wall: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    @contextlib.contextmanager
    def __call__(self, label: str):
        c0, w0 = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            self.cpu[label] = self.cpu.get(label, 0.0) + time.process_time() - c0
            self.wall[label] = self.wall.get(label, 0.0) + time.perf_counter() - w0
            self.calls[label] = self.calls.get(label, 0) + 1

    def take(self) -> dict:
        rec = {k: {"cpu": self.cpu[k], "wall": self.wall[k], "calls": self.calls[k]}
               for k in self.cpu}
        self.cpu, self.wall, self.calls = {}, {}, {}
        return rec


def install_probes(clock: Clock) -> None:
    """Wrap every stage's ``run``, the OCR engine's ``__call__`` and :data:`PROBES`."""
    import functools
    import importlib

    import seamline.stages  # noqa: F401  (fills the registry)
    from seamline.core.stage import get_stage
    from seamline.ops.text import get_engine

    def wrap(fn, label):
        @functools.wraps(fn)
        def inner(*a, **k):
            with clock(label):
                return fn(*a, **k)
        inner.__wrapped_by_profile__ = True
        return inner

    names = {"detect-text": "detect", "text-mask": "mask", "normalize-mask": "normalize",
             "preflight": "preflight", "fill-text": "inpaint", "qa": "qa"}
    for sid, label in names.items():
        cls = get_stage(sid)
        cls.run = wrap(cls.run, "stage: " + label)
    eng_cls = type(get_engine())
    eng_cls.__call__ = wrap(eng_cls.__call__, "rapidocr engine calls")
    for label, mod, attr in PROBES:
        m = importlib.import_module(mod)
        if hasattr(m, attr):
            setattr(m, attr, wrap(getattr(m, attr), label))


# ============================================================================ worker
def naive(image: np.ndarray) -> np.ndarray:
    """The naive recipe of bench_remove_text.py (rapidocr boxes, dilated 3 px, Telea r=3)."""
    sys.path.insert(0, str(HERE))
    from bench_remove_text import _run_method

    return _run_method("naive", image, None)[0]


def worker(repeats: int, outputs: Path | None, profile: bool, which: str = "default") -> dict:
    import seamline as sl

    cases = make_cases(which)
    clock = Clock()
    install_probes(clock)
    # start-up, not per image: the OCR engine, the segmenter, first calls into OpenCV/ORT,
    # the exemplar fill's compiled kernels (~1 CPU s: the first case that used that fill
    # paid it, e.g. the meme case, which no case before it fills that way)
    sl.detect_text(np.zeros((64, 64, 3), np.float32))
    if hasattr(sl.Pipeline, "warm_up"):
        sl.Pipeline.builtin("remove-text").warm_up()
    else:  # a tree from before Pipeline.warm_up: load the kernels by a small fill
        from seamline.ops.inpaint.exemplar import exemplar_fill

        hole = np.zeros((48, 48), np.float32)
        hole[18:30, 16:32] = 1
        exemplar_fill(np.random.default_rng(0).random((48, 48, 3), dtype=np.float32), hole,
                      pyramid_levels=1, iterations=(1, 1))
    sl.remove_text(cases[0][1])
    naive(cases[0][1])
    clock.take()
    rows = {cid: {"seamline": [], "naive": []} for cid, _ in cases}
    for _ in range(repeats):
        for cid, img in cases:
            c0, w0 = time.process_time(), time.perf_counter()
            res = sl.remove_text(img)
            rec = clock.take()
            rec["total"] = {"cpu": time.process_time() - c0, "wall": time.perf_counter() - w0,
                            "calls": 1}
            rows[cid]["seamline"].append(rec)
            if "fills" not in rows[cid]:  # where the fill's time goes, per region and pass
                fr = res.run.stage("inpaint").outputs["report"]
                rows[cid]["fills"] = [
                    {"text": r.get("text", "")[:24], "first": r.get("backend"),
                     "passes": [{k: p.get(k) for k in ("pass", "backend", "hole_px", "crop_yx",
                                                       "cpu_ms", "because")}
                                for p in r.get("passes", [])]}
                    for r in fr.get("regions", [])]
            c0, w0 = time.process_time(), time.perf_counter()
            naive(img)
            rows[cid]["naive"].append({"total": {"cpu": time.process_time() - c0,
                                                 "wall": time.perf_counter() - w0, "calls": 1}})
            clock.take()
            if outputs is not None:
                outputs.mkdir(parents=True, exist_ok=True)
                np.savez(outputs / f"{cid}.npz", image=res.image, mask=res.mask)
                (outputs / f"{cid}.json").write_text(json.dumps(
                    {"regions": [r.to_dict() for r in res.regions],
                     "qa": res.qa}, indent=1, sort_keys=True, default=str))
    prof_text = ""
    if profile:
        pr = cProfile.Profile()
        pr.enable()
        for _, img in cases:
            sl.remove_text(img)
        pr.disable()
        clock.take()
        for key in ("cumulative", "tottime"):
            s = io.StringIO()
            pstats.Stats(pr, stream=s).strip_dirs().sort_stats(key).print_stats(30)
            prof_text += f"\n---- cProfile, all cases once, sorted by {key} (top 30) ----\n"
            prof_text += "\n".join(ln for ln in s.getvalue().splitlines()
                                   if ln.strip())[:12000] + "\n"
    return {"rows": rows, "profile": prof_text}


# ============================================================================ summary
def _med(xs):
    return float(np.median(xs)) if xs else float("nan")


def summarise(results: dict[str, list[dict]]) -> tuple[str, dict]:
    """Median per case over repeats (and rounds), then summed / median over cases."""
    lines, summary = [], {}
    for name, runs in results.items():
        per_case: dict[str, dict[str, list]] = {}
        for run in runs:
            for cid, r in run["rows"].items():
                d = per_case.setdefault(cid, {})
                for rec in r["seamline"]:
                    for label, v in rec.items():
                        d.setdefault(label, {"cpu": [], "wall": [], "calls": []})
                        for f in ("cpu", "wall", "calls"):
                            d[label][f].append(v[f])
                for rec in r["naive"]:
                    d.setdefault("naive", {"cpu": [], "wall": [], "calls": []})
                    for f in ("cpu", "wall", "calls"):
                        d["naive"][f].append(rec["total"][f])
        labels = sorted({lb for d in per_case.values() for lb in d},
                        key=lambda s: (not s.startswith("stage"), s != "total", s))
        order = ([f"stage: {s}" for s in STAGES if any(f"stage: {s}" in d for d in per_case.values())]
                 + ["total", "naive"] + [lb for lb in labels if not lb.startswith("stage")
                                         and lb not in ("total", "naive")])
        summary[name] = {cid: {lb: {f: _med(v[f]) for f in ("cpu", "wall", "calls")}
                               for lb, v in d.items()} for cid, d in per_case.items()}
        cids = list(per_case)
        lines.append(f"\n== {name}: median per case (CPU s / wall s; calls per run) ==")
        head = f"{'':34s}" + "".join(f"{c[:18]:>20s}" for c in cids) + f"{'median':>16s}"
        lines.append(head)
        for lb in order:
            cells, cpus, walls = [], [], []
            for c in cids:
                v = summary[name][c].get(lb)
                if v is None:
                    cells.append(f"{'-':>20s}")
                    continue
                cpus.append(v["cpu"])
                walls.append(v["wall"])
                calls = f" x{v['calls']:.0f}" if lb not in ("total", "naive") and not lb.startswith("stage") else ""
                cells.append(f"{v['cpu']:7.2f}/{v['wall']:5.2f}{calls:>6s}")
            lines.append(f"{lb[:34]:34s}" + "".join(cells)
                         + f"{_med(cpus):8.2f}/{_med(walls):5.2f}")
        tot = [summary[name][c]["total"] for c in cids if "total" in summary[name][c]]
        nv = [summary[name][c]["naive"] for c in cids if "naive" in summary[name][c]]
        stages = [sum(summary[name][c].get(f"stage: {s}", {"wall": 0})["wall"] for s in STAGES)
                  for c in cids]
        lines.append(f"outside the stages (wall, median): "
                     f"{_med([t['wall'] - s for t, s in zip(tot, stages)]):.2f} s")
        for run in runs[:1]:
            lines.append(f"-- {name}: fills per region (first repeat): pass backend hole_px "
                         f"crop h x w CPU ms [why] --")
            for cid, r in run["rows"].items():
                for f in r.get("fills", []):
                    ps = "; ".join(
                        f"{p['pass']} {p['backend']} {p['hole_px']} "
                        f"{p['crop_yx'][2] - p['crop_yx'][0]}x{p['crop_yx'][3] - p['crop_yx'][1]} "
                        f"{p['cpu_ms']:.0f}" + (f" [{'+'.join(p['because'])}]" if p.get("because")
                                                 else "") for p in f["passes"])
                    lines.append(f"  {cid[:18]:18s} {f['text']!r:26s} {ps}")
        lines.append(f"seamline / naive (median over cases): CPU "
                     f"{_med([t['cpu'] for t in tot]) / _med([n['cpu'] for n in nv]):.2f}x, wall "
                     f"{_med([t['wall'] for t in tot]) / _med([n['wall'] for n in nv]):.2f}x")
    return "\n".join(lines), summary


def compare(a: Path, b: Path) -> int:
    bad = 0
    for f in sorted(a.glob("*.npz")):
        za, zb = np.load(f), np.load(b / f.name)
        same = all(np.array_equal(za[k], zb[k]) for k in za.files)
        ja, jb = (json.loads((d / f"{f.stem}.json").read_text()) for d in (a, b))
        same_r = ja["regions"] == jb["regions"]
        qa_diff = sorted(k for k in set(ja["qa"]) | set(jb["qa"]) if ja["qa"].get(k) != jb["qa"].get(k))
        print(f"{f.stem:24s} image+mask {'identical' if same else 'DIFFER'}; regions "
              f"{'identical' if same_r else 'DIFFER'}; qa keys that differ: {qa_diff or 'none'}")
        if not same:
            d = np.abs(za["image"].astype(np.float64) - zb["image"]).max(axis=-1)
            print(f"{'':24s} {int((d > 0).sum())} px differ, max {d.max():.4f}")
        bad += (not same) + (not same_r)
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1, help="with --src: worker runs per tree")
    ap.add_argument("--src", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--cprofile", action="store_true")
    ap.add_argument("--outputs", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path)
    ap.add_argument("--cases", choices=tuple(CASE_SETS), default="default",
                    help="default: the five cases; extra: meme, glow, tiny, tiled; all: both; "
                    "bench: plain, glow, meme, tiny (the held-out timing's styles); timing: those "
                    "styles over 4 other photos each")
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.compare:
        return compare(*a.compare)
    if a.worker:
        a.worker.write_text(json.dumps(worker(a.repeats, a.outputs, a.cprofile, a.cases)))
        return 0
    load0 = os.getloadavg()
    srcs = [s.split("=", 1) for s in a.src] or [["this tree", ""]]
    results: dict[str, list] = {n: [] for n, _ in srcs}
    profiles = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.rounds):
            for name, path in srcs:
                js = Path(tmp) / f"{rnd}-{len(results[name])}-{abs(hash(name))}.json"
                env = dict(os.environ)
                if path:
                    env["PYTHONPATH"] = str(Path(path).resolve())
                cmd = [sys.executable, __file__, "--worker", str(js), "--repeats", str(a.repeats),
                       "--cases", a.cases]
                if a.cprofile and rnd == 0:
                    cmd.append("--cprofile")
                if a.outputs:
                    cmd += ["--outputs", str(a.outputs / name.replace(" ", "_")) if len(srcs) > 1
                            else str(a.outputs)]
                subprocess.run(cmd, env=env, check=True)
                r = json.loads(js.read_text())
                results[name].append(r)
                if r["profile"]:
                    profiles[name] = r["profile"]
    load1 = os.getloadavg()
    text, summary = summarise(results)
    head = (f"profile_remove_text: {len(CASE_SETS[a.cases])} cases at {SIZE[0]}x{SIZE[1]} (train split), "
            f"{a.repeats} repeat(s) x {a.rounds} round(s); trees: "
            + ", ".join(f"{n}={p or 'sys.path'}" for n, p in srcs)
            + f"\nmachine: {os.cpu_count()} CPUs, load average {load0[0]:.2f} before / "
            f"{load1[0]:.2f} after; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
            "\nCPU s = time.process_time (all threads of the process): compare these on a "
            "shared machine; wall s grows with the load.")
    full = head + "\n" + text + "".join(f"\n\n== {n} ==\n{p}" for n, p in profiles.items())
    print(full)
    if not a.no_save:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "profile_remove_text.txt").write_text(full + "\n")
        (RESULTS / "profile_remove_text.json").write_text(json.dumps(
            {"trees": dict(srcs), "repeats": a.repeats, "rounds": a.rounds,
             "load": [load0[0], load1[0]], "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
