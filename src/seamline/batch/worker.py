"""The worker side of a batch: build the pipeline once per process, then run items.

Every engine runs the same :func:`process_item`, so engines give identical results.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from seamline.errors import InputError, SeamlineError

__all__ = ["THREAD_ENV", "WORKER_MEMORY", "init_worker", "process_item", "failed_record",
           "cores", "available_memory", "default_workers", "worker_memory",
           "largest_megapixels"]

#: Environment variables that cap the thread pools of numpy/BLAS/OpenMP/torch in a worker.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

_WORKER: dict = {}


def init_worker(spec_raw: dict, source: str, mask_input: str | None, threads: int,
                 max_pixels: int | None, command: list[str] | None,
                 in_process: bool = False) -> None:
    """Build the pipeline once per worker and load its models, with capped thread pools.

    Runs as the process-pool initializer and in each Ray actor's constructor.
    """
    from seamline.api import Pipeline
    from seamline.core.pipeline import spec_from_dict

    if not in_process:
        # Ctrl-C belongs to the parent, which stops the workers itself; a worker printing
        # its own KeyboardInterrupt traceback would only bury the one-line message.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for var in THREAD_ENV:
            os.environ[var] = str(threads)
        try:
            import cv2

            cv2.setNumThreads(threads)
        except ImportError:  # pragma: no cover - a core dependency
            pass
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
    spec = spec_from_dict(spec_raw, source=source)
    _WORKER.update(pipe=Pipeline(spec), mask_input=mask_input, max_pixels=max_pixels,
                   command=command)
    _warm_up(spec, None if in_process else threads)


def _warm_up(spec, threads: int | None) -> None:
    """Load each stage's models now (:meth:`seamline.core.stage.Stage.warm_up`), so the first
    item does not pay for it; engines cap their thread pools at ``threads``."""
    from seamline.stages import get_stage

    for decl in spec.stages:
        get_stage(decl.stage_id).warm_up(decl.params, threads=threads)


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def process_item(task: dict) -> dict:
    """Run the worker's pipeline on one item and return its record (never raises).

    Parameters
    ----------
    task : dict
        From :meth:`BatchItem.task`.

    Returns
    -------
    dict
        ``item``, ``status`` ("ok" or "failed"), ``seconds`` (wall), ``cpu_s`` (CPU time of
        the worker process), ``qa``, ``warnings``,
        ``output_digest`` (hash of the output pixels), ``output_sha256`` (of the file),
        ``error`` (one line), ``pid``, ``peak_rss_mb`` and, for an unexpected exception (a
        bug), ``traceback``.
    """
    from seamline.core.artifacts import digest
    from seamline.io import file_sha256

    t0, c0 = time.perf_counter(), time.process_time()
    rec: dict[str, Any] = {"item": task["item"], "status": "failed", "qa": {}, "warnings": [],
                           "error": None}
    try:
        if Path(task["output"]).is_symlink():  # planted after the plan checked it
            raise InputError(f"output {task['output']}: is a symbolic link; seamline never "
                             "writes through a link: remove it")
        pipe = _WORKER["pipe"].with_raw(seed=task["seed"])
        inputs = {_WORKER["mask_input"]: task["mask"]} if _WORKER["mask_input"] else {}
        if task["run_dir"] is not None:
            Path(task["run_dir"]).mkdir(parents=True, exist_ok=True)
        Path(task["output"]).parent.mkdir(parents=True, exist_ok=True)
        run = pipe.run(task["image"], out=task["run_dir"], inputs=inputs,
                       output_path=task["output"], max_pixels=_WORKER["max_pixels"],
                       command=_WORKER["command"])
        # the pixel digest is what engines must agree on; the file's bytes also hold the
        # ICC profile's creation time
        rec.update(status="ok", qa=run.qa, warnings=list(run.warnings),
                   output_digest=digest("image", run.output),
                   output_sha256=file_sha256(task["output"]))
    except SeamlineError as e:
        rec["error"] = str(e)
    except MemoryError:
        rec["error"] = "out of memory"
    except Exception as e:  # a bug: record it with its traceback, keep the batch going
        rec["error"] = " ".join(f"{type(e).__name__}: {e}".split())
        rec["traceback"] = traceback.format_exc()
    # cpu_s (all threads of the worker) next to wall seconds: on a busy machine the ratio
    # tells waiting for a core from doing work
    rec.update(seconds=round(time.perf_counter() - t0, 4),
               cpu_s=round(time.process_time() - c0, 4), pid=os.getpid(),
               peak_rss_mb=_peak_rss_mb())
    return rec


def failed_record(task: dict, error: str) -> dict:
    return {"item": task["item"], "status": "failed", "qa": {}, "warnings": [], "error": error,
            "seconds": 0.0}


def cores() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Memory a default-sized pool reserves per local worker at least: a remove-text worker peaks
#: at ~0.75 GB on photos up to 1 MP (benchmarks/results/batch.md); ``--workers`` overrides it.
WORKER_MEMORY = 1 << 30

#: Peak memory of one worker per megapixel of its largest input, measured by
#: benchmarks/bench_memory.py (benchmarks/results/memory.md; peak RSS at 12 MP minus 1 MP,
#: over 11 MP, rounded up): pipelines without an upscale (inpaint 0.17 GB/MP, the largest;
#: remove-text less), and an upscale x2 (0.26 GB/MP, 3.48 GB at 12 MP in the run before the
#: strip-wise changes; its output has 4x the pixels, other factors scale with the output's
#: pixel count).
MEMORY_PER_MP = 0.2 * 2 ** 30
UPSCALE_X2_MEMORY_PER_MP = 0.3 * 2 ** 30


def worker_memory(megapixels: float | None, upscale: float | None = None) -> int:
    """Bytes one local worker may need for inputs up to ``megapixels`` MP.

    Parameters
    ----------
    megapixels : float or None
        The batch's largest input (None: unknown, :data:`WORKER_MEMORY`).
    upscale : float, optional
        The pipeline's upscale factor, if it has one.
    """
    if not megapixels:
        return WORKER_MEMORY
    per_mp = (MEMORY_PER_MP if not upscale
              else UPSCALE_X2_MEMORY_PER_MP * max(1.0, float(upscale) / 2) ** 2)
    return int(max(WORKER_MEMORY, WORKER_MEMORY // 2 + per_mp * megapixels))


def largest_megapixels(paths) -> float | None:
    """Largest width*height / 1e6 among image files, from their headers (no pixels are
    decoded; unreadable files are left to the worker that will report them)."""
    from PIL import Image

    largest = None
    for path in paths:
        try:
            with Image.open(path) as im:
                mp = im.size[0] * im.size[1] / 1e6
        except Exception:  # noqa: BLE001 - any failure is the worker's to report
            continue
        largest = mp if largest is None else max(largest, mp)
    return largest


def available_memory() -> int | None:
    """Bytes this process can still use: the smaller of the machine's ``MemAvailable`` and
    the room left under a cgroup (container) limit; None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = Path("/sys/fs/cgroup/memory.current").read_text().strip()
        if limit != "max":
            found.append(max(0, int(limit) - int(used)))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def default_workers(n_cores: int | None = None, memory: int | None = -1,
                    per_worker: int = WORKER_MEMORY) -> int:
    """Local workers when ``--workers`` is not given: one per core, but no more than the
    available memory holds at ``per_worker`` bytes each (at least one).

    Parameters
    ----------
    n_cores : int, optional
        Default :func:`cores`.
    memory : int or None, optional
        Available bytes; default :func:`available_memory` (None: unknown, cores decide).
    per_worker : int, optional
        Bytes one worker needs: :func:`worker_memory` of the batch's largest image.
    """
    n = cores() if n_cores is None else n_cores
    mem = available_memory() if memory == -1 else memory
    if mem is not None:
        n = min(n, mem // max(1, int(per_worker)))
    return max(1, int(n))
