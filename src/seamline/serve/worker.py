"""What a worker process does: run one task at a time, sent by :mod:`seamline.serve.jobs`.

A worker is a long-lived process (``spawn``), so the text detector's ONNX session and the
imported libraries stay warm between jobs, and a crash in a job (a segfault in a native
library, the OOM killer) takes down this process only: the server marks the job failed and
starts a new worker.

A task is a plain dict (it crosses a pipe):

``{"task": "run", "pipeline": {"builtin": NAME} | {"text": YAML} | {"raw": DICT}, "params": {...},
"policy": str | None, "image": PATH, "inputs": {NAME: PATH}, "out": DIR,
"from_stage": str | None, "max_pixels": int}``
    Run a pipeline into the run directory ``out``.
``{"task": "preflight", ...same keys, no out...}``
    Run the stages up to and including ``preflight`` in memory and return their verdict.

The answer is ``{"ok": True, "result": {...}}`` or ``{"ok": False, "error": message,
"user": bool}`` (``user``: a :class:`~seamline.errors.SeamlineError`, the caller's mistake).
After the answer the worker hands its freed memory back (:func:`release_memory`) and then says
``{"idle": True, "rss_anon_mb": float | None}``; it says so once after its warm-up too. The
server gives a worker its next task only after that message, so what it measures of an idle
worker is what the worker keeps between jobs, not the job it has just finished.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

#: Thread-pool sizes numpy/BLAS/OpenMP read when they are first imported.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def build_pipeline(task: dict):
    """The :class:`~seamline.api.Pipeline` a task names, overrides and policy applied."""
    from seamline.api import Pipeline

    src = task["pipeline"]
    if "builtin" in src:
        pipe = Pipeline.builtin(src["builtin"])
    elif "raw" in src:  # a run's own spec, from its manifest (re-runs)
        from seamline.core.pipeline import spec_from_dict

        pipe = Pipeline(spec_from_dict(src["raw"], source=src.get("source", "<run>")))
    else:
        pipe = Pipeline.from_text(src["text"], source=f"<serve:{src.get('name', 'inline')}>")
    if task.get("params"):
        pipe = pipe.with_params(task["params"])
    if task.get("policy"):
        pipe = pipe.with_policy(task["policy"])
    return pipe


def preflight_pipeline(pipe):
    """The stages of ``pipe`` up to and including its first ``preflight`` stage."""
    from seamline.api import Pipeline
    from seamline.core.pipeline import spec_from_dict
    from seamline.errors import ConfigError

    raw = dict(pipe.spec.raw)
    names = [s.stage_id for s in pipe.spec.stages]
    if "preflight" not in names:
        raise ConfigError(f"preflight=only: pipeline {pipe.spec.name!r} has no preflight "
                          "stage")
    raw["stages"] = list(raw["stages"])[:names.index("preflight") + 1]
    raw["output"] = "input.image"
    return Pipeline(spec_from_dict(raw, source=pipe.spec.source))


def preflight_verdict(run, pipe) -> dict:
    """Detection, mask, normalisation and preflight numbers of a truncated run, plus the
    fill the inpaint stage would choose."""
    import numpy as np

    stages = {}
    for name, sr in run.stages.items():
        entry: dict[str, Any] = {"stage": sr.stage_id, "report": sr.report,
                                 "warnings": sr.warnings, "seconds": round(sr.seconds, 4)}
        if sr.stage_id == "detect-text":
            entry["regions"] = [r.to_dict() for r in sr.output]
        stages[name] = entry
    pf_name = next(n for n, sr in run.stages.items() if sr.stage_id == "preflight")
    pf = run.stages[pf_name]
    report = pf.report
    mask = pf.output
    fill_decl = next((d for d in pipe.spec.stages if d.stage_id in ("inpaint", "fill-text")),
                     None)
    fill: dict[str, Any] = {"stage": fill_decl.name if fill_decl else None,
                            "backend": fill_decl.params.backend if fill_decl else None}
    if fill_decl is not None and np.any(mask > 0) and not np.all(mask > 0):
        def value(ref: str):
            src, port = ref.split(".")
            return run.output if src == "input" else run.stages[src].outputs[port]

        image = value(fill_decl.inputs["image"])
        if image.ndim == 2:  # a grey page: the fills choose on its RGB view, as they do
            from seamline.core.arrays import rgb_view

            grey, image = image, rgb_view(image)
        else:
            grey = None
        if fill_decl.stage_id == "fill-text":
            from seamline.stages.fill_text import region_backend

            # fill-text's own rule (a grey graphic, a 1-bit page, gets Telea everywhere)
            backend = region_backend(image if grey is None else grey, fill_decl.params.backend)
            fill.update(_fill_text_plan(image, mask, value(fill_decl.inputs["regions"]),
                                        value(fill_decl.inputs["geometry"])
                                        if "geometry" in fill_decl.inputs else None,
                                        backend))
        else:
            fill.update(_inpaint_plan(image, mask, fill_decl.params))
    failures = list(report.get("failures", []))
    return {
        "verdict": "fail" if failures else ("warn" if run.warnings else "ok"),
        "coverage": report.get("coverage"),
        "components": report.get("components"),
        "context": {k: v for k, v in report.items() if "ring" in k or "context" in k},
        "fill": fill,
        "failures": failures,
        "warnings": run.warnings,
        "preflight": report,
        "stages": stages,
    }


def _inpaint_plan(image, mask, p) -> dict:
    """What the ``inpaint`` stage would do: its crops and, per crop, the ``auto`` choice."""
    import cv2
    import numpy as np

    from seamline.ops.inpaint import choose_backend, edit_alpha, get_backend, mask_crops

    region = edit_alpha(mask, p.feather_px) > 0
    _, _, st, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), 8)
    extent = int(st[1:, 2:4].min(axis=1).max())
    ctx = p.context_px if p.context_px is not None else \
        get_backend("exemplar" if p.backend == "auto" else p.backend).context(extent, p.radius)
    crops = []
    for box in mask_crops(region.astype(np.float32), context_px=ctx):
        name, why = choose_backend(image[box], region[box])
        crops.append({"box_yx": [box[0].start, box[1].start, box[0].stop, box[1].stop],
                      "auto_choice": name, **why})
    return {"context_px": int(ctx), "crops": crops,
            "would_use": sorted({c["auto_choice"] for c in crops})
            if p.backend == "auto" else [p.backend]}


def _fill_text_plan(image, mask, regions, geometry, backend) -> dict:
    """What the ``fill-text`` stage would do first: per text region, the fill it chooses."""
    import numpy as np

    from seamline.ops.text.removal import assign_components, choose_region_fill

    labels, n = assign_components(mask, regions)
    strokes = (geometry or {}).get("stroke_width_px")
    plan = []
    for lab in range(1, n + 1):
        hole = labels == lab
        if not hole.any():
            continue
        ys, xs = np.nonzero(hole)
        box = (slice(max(0, ys.min() - 12), ys.max() + 13),
               slice(max(0, xs.min() - 12), xs.max() + 13))
        idx = lab - 1
        sw = strokes[idx] if strokes is not None and idx < len(strokes) else None
        if backend == "auto":
            name, why, numbers = choose_region_fill(image[box], hole[box], stroke_px=sw)
        else:
            name, why, numbers = backend, "backend chosen by the caller", {}
        plan.append({"region": idx if idx < len(regions) else None,
                     "text": regions[idx].text if idx < len(regions) else "",
                     "box_yx": [box[0].start, box[1].start, box[0].stop, box[1].stop],
                     "auto_choice": name, "reason": why, **numbers})
    return {"crops": plan, "would_use": sorted({c["auto_choice"] for c in plan})}


def run_task(task: dict) -> dict:
    """Do one task in this process; see the module docstring."""
    import json

    from seamline.core import artifacts
    from seamline.io import read_image

    from seamline.engine.runner import takes_grey

    t0 = time.perf_counter()
    pipe = build_pipeline(task)
    short = preflight_pipeline(pipe) if task["task"] == "preflight" else None
    # as the CLI reads it: a grey file stays one channel when a stage of the pipeline that
    # runs takes grey (remove-text's fill, inpaint, upscale), so grey in is grey out
    image = read_image(task["image"], max_pixels=task.get("max_pixels"),
                       grey=takes_grey((short or pipe).spec))
    inputs = dict(task.get("inputs") or {})
    if short is not None:
        run = short.run(image, inputs=inputs, max_pixels=task.get("max_pixels"))
        verdict = preflight_verdict(run, pipe)
        verdict["seconds"] = round(time.perf_counter() - t0, 4)
        # plain JSON types (numpy scalars in stage reports) before it crosses the pipe
        return json.loads(json.dumps(verdict, default=artifacts.json_default))
    out = Path(task["out"])
    # no report.html: the inspector renders it on demand (/runs/ID/report), so a request
    # does not pay for an HTML page with every intermediate inlined that nobody may open
    run = pipe.run(image, out=out, inputs=inputs, from_stage=task.get("from_stage"),
                   max_pixels=task.get("max_pixels"), command=["seamline", "serve"],
                   report=False)
    return {"status": "ok", "seconds": round(time.perf_counter() - t0, 4),
            "worker_pid": os.getpid(),
            "run_seconds": run.manifest.get("seconds"),
            "output": run.output_path.name if run.output_path else None}


def release_memory() -> bool:
    """Hand the heap's free pages back to the system after a job.

    A job frees its frames, masks and crops, but glibc keeps the freed small blocks in the
    process's heap, so a worker's RSS rises to its largest job and stays there (the server's
    RSS grew 25 % over 376 requests). ``malloc_trim(0)`` returns the free pages; a probe of 24
    remove-text runs at 768x512 in one process sat at 223-231 MB with it, 401-440 MB without.

    Returns
    -------
    bool
        True where the C library has ``malloc_trim`` (glibc) and it ran.
    """
    import gc

    from seamline.core.heap import trim_heap

    gc.collect()  # cycles first, so their memory is free when the heap is trimmed
    return trim_heap()


def rss_anon_mb(pid: int | str = "self") -> float | None:
    """Anonymous resident memory of a process (heap, arenas, buffers; not the mapped
    libraries and files), MB, from ``/proc/PID/status``; None where there is no /proc."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def _say_idle(conn) -> bool:
    """Tell the server this worker is idle, with what it keeps; False if the pipe is gone."""
    try:
        conn.send({"idle": True, "rss_anon_mb": rss_anon_mb()})
    except (BrokenPipeError, OSError):
        return False
    return True


def main(conn, threads: int = 1) -> None:
    """Worker loop: receive a task, answer, repeat until the pipe closes or ``None`` comes.

    ``threads`` caps the thread pools (OpenCV, ONNX Runtime) so the server's workers share
    the cores instead of each taking all of them.
    """
    for var in THREAD_ENV:
        os.environ.setdefault(var, str(threads))  # a spawned worker reads them at import
    import cv2

    from seamline.errors import SeamlineError
    from seamline.api import Pipeline  # warm: the first job should not pay the imports

    cv2.setNumThreads(threads)
    try:
        # remove-text's start-up once per worker, not per job: the text detector's ONNX
        # sessions and the exemplar fill's compiled kernels (~1 s on the first job using it)
        Pipeline.builtin("remove-text").warm_up(threads=threads)
    except Exception:  # noqa: BLE001  (a job that needs it reports the problem properly)
        pass
    release_memory()
    if not _say_idle(conn):
        return

    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        if task is None:
            return
        try:
            answer = {"ok": True, "result": run_task(task)}
        except SeamlineError as e:
            answer = {"ok": False, "user": True, "error": str(e), "type": type(e).__name__}
        except Exception as e:  # a bug: keep the traceback in the server log
            traceback.print_exc(file=sys.stderr)
            answer = {"ok": False, "user": False, "type": type(e).__name__,
                      "error": f"internal error in the job ({type(e).__name__}: {e})"}
        try:
            conn.send(answer)
        except (BrokenPipeError, OSError):
            return
        release_memory()  # after the answer: the client does not wait for it
        if not _say_idle(conn):
            return
