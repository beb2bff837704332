"""Bulk runs: every image of a folder through one pipeline, resumable, on local cores or Ray.

>>> from seamline.batch import run_batch                                  # doctest: +SKIP
>>> res = run_batch("remove-text", "photos/", "clean/", workers=2)        # doctest: +SKIP
>>> res.counts, res.exit_code, res.summary_json                           # doctest: +SKIP

What a batch does, in order:

1. **Plan** (:func:`plan_batch`, in the calling process): list the images (sorted by relative
   path, not recursive unless asked), match masks by stem, derive each item's seed from the
   batch seed and its relative path, hash every input and mask, and compute each item's key
   from those hashes, the resolved pipeline config and the seamline version. Items whose key
   matches a finished record in the state file (and whose output still exists) are skipped.
2. **Execute** on an engine: ``local`` (a ``spawn`` process pool; each worker builds the
   pipeline and loads its models once) or ``ray`` (a pool of actors doing the same), with a
   bounded number of items in flight so memory stays flat on large folders. Every item runs
   the same function, :func:`process_item`, so engines give identical results.
3. **Record**: each finished item is appended (flushed, fsynced) to ``OUT_DIR/batch-state.jsonl``
   the moment it finishes, so an interrupted batch keeps what it finished. ``summary.json`` and
   ``summary.csv`` (one row per item: status, seconds, flattened QA, error) are written
   atomically at the end, also after Ctrl-C or an engine failure.

Files in ``OUT_DIR``: ``<relpath stem>.png`` outputs (written atomically by the worker),
``runs/<relpath stem>/`` run directories with ``--run-dirs``, ``batch-state.jsonl``,
``summary.json``, ``summary.csv``.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from seamline._version import __version__
from seamline.core.atomic import write_text_atomic
from seamline.errors import ConfigError, InputError, SeamlineError, StageError

__all__ = ["IMAGE_EXTENSIONS", "BatchItem", "BatchPlan", "BatchResult", "list_images",
           "item_seed", "config_key", "plan_batch", "run_batch", "process_item",
           "start_local_ray", "flatten_record"]

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")
"""Extensions a batch picks up (case-insensitive), for images and masks."""

STATE_FILE = "batch-state.jsonl"
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
RUNS_DIR = "runs"

#: Environment variables that cap the thread pools of numpy/BLAS/OpenMP/torch in a worker.
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
              "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")

# CSV columns that come first, in this order; QA columns follow, sorted.
_CSV_HEAD = ("item", "status", "seconds", "output", "error", "seed", "mask", "warnings")


# ------------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class BatchItem:
    """One image of a batch, fully resolved before any work starts.

    Attributes
    ----------
    item : str
        Relative path of the input inside the input folder (POSIX separators); the item's id.
    image : str
        Absolute path of the input image.
    mask : str or None
        Absolute path of the matched mask (pipelines with a mask input).
    output : str
        Absolute path of the output image.
    run_dir : str or None
        Run directory (``--run-dirs``), else None: the run happens in memory.
    seed : int
        The pipeline seed for this item, see :func:`item_seed`.
    key : str
        Hash of input, mask, config, seamline version and output path: equal keys, equal work.
    input_sha256, mask_sha256 : str or None
        File hashes (None where a file is missing or unreadable).
    error : str or None
        Set when the item cannot run at all (missing mask...): it is recorded as failed
        without being sent to an engine.
    """

    item: str
    image: str
    mask: str | None
    output: str
    run_dir: str | None
    seed: int
    key: str
    input_sha256: str | None
    mask_sha256: str | None
    input_stat: tuple[int, int] | None = None
    mask_stat: tuple[int, int] | None = None
    error: str | None = None

    def task(self) -> dict:
        """The picklable job description an engine sends to a worker."""
        return {"item": self.item, "image": self.image, "mask": self.mask,
                "output": self.output, "run_dir": self.run_dir, "seed": self.seed,
                "key": self.key}


@dataclass
class BatchPlan:
    """What a batch will do: items to run, items to skip, and the settings they share.

    Attributes
    ----------
    todo : list of BatchItem
        Items to run (including those that fail up front, ``error`` set).
    skipped : list of dict
        Earlier records of items that are finished and unchanged (file stats refreshed).
    warnings : list of str
        Extra masks and similar oddities that do not stop the batch.
    previous : dict
        The state file's latest record per item when the plan was made.
    """

    spec_raw: dict
    spec_source: str
    pipeline: str
    config_key: str
    seed: int
    input_dir: Path
    out_dir: Path
    mask_dir: Path | None
    mask_input: str | None
    run_dirs: bool
    todo: list[BatchItem]
    skipped: list[dict]
    warnings: list[str]
    n_items: int
    previous: dict = field(default_factory=dict)


def list_images(folder: str | Path, *, recursive: bool = False) -> list[Path]:
    """Image files in ``folder`` sorted by relative path (hidden files and folders left out).

    Parameters
    ----------
    folder : str or Path
    recursive : bool, keyword-only
        Also look in sub-folders.

    Returns
    -------
    list of Path
        Files whose extension (any case) is in :data:`IMAGE_EXTENSIONS`.
    """
    folder = Path(folder)
    found = []
    walker = os.walk(folder) if recursive else [(str(folder), [], os.listdir(folder))]
    for root, dirs, files in walker:
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # also prunes os.walk
        for name in files:
            p = Path(root) / name
            if (not name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
                    and p.is_file()):
                found.append(p)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def item_seed(seed: int, relpath: str) -> int:
    """Per-item pipeline seed: a function of the batch seed and the item's relative path only.

    So results do not depend on listing order, worker count or engine.

    Parameters
    ----------
    seed : int
        Batch seed.
    relpath : str
        The item's path relative to the input folder, POSIX separators.

    Returns
    -------
    int
        In ``[0, 2**32)``.
    """
    return int(hashlib.sha256(f"{seed}:{relpath}".encode()).hexdigest()[:8], 16)


def config_key(spec) -> str:
    """Hash of everything about a pipeline that decides its output, besides the inputs.

    The resolved parameters of every stage (defaults filled in), stage versions, wiring,
    policies, seed, output port and the seamline version.

    Parameters
    ----------
    spec : PipelineSpec

    Returns
    -------
    str
        24 hex digits.
    """
    from seamline.stages import get_stage

    doc = {"seamline": __version__, "name": spec.name, "policy": spec.policy,
           "seed": spec.seed, "inputs": spec.inputs, "output": spec.output,
           "stages": [{"name": d.name, "stage": d.stage_id,
                       "version": get_stage(d.stage_id).version, "params": d.params_dict(),
                       "inputs": d.inputs, "policy": d.policy} for d in spec.stages]}
    blob = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def resolve_pipeline(pipeline: Any, *, sets: list[str] | dict | None = None,
                     policy: str | None = None, seed: int | None = None):
    """A :class:`~seamline.api.Pipeline` from a YAML path, a built-in name or a Pipeline.

    A name ending in ``.yaml``/``.yml`` or naming an existing file is read as a file; anything
    else is looked up among the built-ins. ``sets``, ``policy`` and ``seed`` are applied.
    """
    from seamline.api import Pipeline
    from seamline.core.pipeline import PipelineSpec

    if isinstance(pipeline, Pipeline):
        pipe = pipeline
    elif isinstance(pipeline, PipelineSpec):
        pipe = Pipeline(pipeline)
    else:
        name = str(pipeline)
        if Path(name).suffix.lower() in (".yaml", ".yml") or Path(name).exists():
            pipe = Pipeline.from_yaml(name)
        else:
            pipe = Pipeline.builtin(name)
    if sets:
        pipe = pipe.with_params(sets)
    if policy is not None:
        pipe = pipe.with_policy(policy)
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ConfigError(f"seed: expected an integer, got {seed!r}")
        pipe = pipe.with_raw(seed=seed)
    return pipe


def plan_batch(pipeline: Any, input_dir: str | Path, out_dir: str | Path, *,
               masks: str | Path | None = None, sets: list[str] | dict | None = None,
               policy: str | None = None, seed: int | None = None, run_dirs: bool = False,
               recursive: bool = False, keep_ext: bool = False,
               force: bool = False) -> BatchPlan:
    """Check the arguments, list and match the files, and decide what to run.

    Nothing is written except ``out_dir`` itself (created if missing).

    Parameters
    ----------
    pipeline : str, Path, Pipeline or PipelineSpec
        A YAML file, a built-in name (``remove-text``, ``inpaint``...) or a pipeline object.
    input_dir, out_dir : str or Path
        Where the images are, where the outputs go. ``out_dir`` must not be inside
        ``input_dir`` (nor inside ``masks``).
    masks : str or Path, optional
        Folder of masks matched to images by relative path without extension; required when
        the pipeline has a mask input.
    sets : list of str or dict, optional
        ``stage.key=value`` overrides.
    policy : {"strict", "reconcile", "off"}, optional
        Override the pipeline's handoff policy.
    seed : int, optional
        Batch seed (default: the pipeline's ``seed``); each item's seed is derived from it.
    run_dirs : bool
        Keep a run directory (manifest and intermediates) per item under ``out_dir/runs``.
    recursive : bool
        Also take images from sub-folders; outputs mirror the sub-folders.
    keep_ext : bool
        Write each output with its input's extension (PNG where that format cannot be
        written); default: PNG.
    force : bool
        Run every item, finished or not.

    Returns
    -------
    BatchPlan

    Raises
    ------
    InputError, ConfigError
        Missing or empty input folder, output folder inside the input (or mask) folder,
        missing pipeline, bad overrides, masks given to a pipeline without a mask input (or
        missing for one with it), two images with the same stem.
    """
    from seamline.io import SUPPORTED_EXTENSIONS

    pipe = resolve_pipeline(pipeline, sets=sets, policy=policy, seed=seed)
    spec = pipe.spec
    in_dir = _existing_dir(input_dir, "input folder")
    out = Path(out_dir).expanduser()
    out_res = out.resolve()
    if out_res == in_dir or out_res.is_relative_to(in_dir):
        raise InputError(f"output folder {out}: is inside the input folder {input_dir}; "
                         "outputs would be read as inputs next time; choose a folder outside it")
    mask_input = _mask_input(spec, masks)
    mask_dir = None
    if masks is not None:
        mask_dir = _existing_dir(masks, "mask folder (--masks)")
        if mask_dir == in_dir:
            raise InputError(f"mask folder {masks}: is the input folder; keep masks in their "
                             "own folder")
        if out_res == mask_dir or out_res.is_relative_to(mask_dir):
            raise InputError(f"output folder {out}: is inside the mask folder {masks}; "
                             "outputs could overwrite masks")
        if recursive and mask_dir.is_relative_to(in_dir):
            raise InputError(f"mask folder {masks}: is inside the input folder and --recursive "
                             "would read the masks as images")
    if out.exists() and not out.is_dir():
        raise InputError(f"output folder {out}: exists and is not a folder")

    try:
        images = list_images(in_dir, recursive=recursive)
    except OSError as e:
        raise InputError(f"input folder {input_dir}: cannot list it "
                         f"({e.strerror or e})") from None
    if not images:
        hint = ""
        if not recursive and any(p.is_dir() for p in in_dir.iterdir()):
            hint = " (it has sub-folders: add --recursive to take images from them)"
        raise InputError(f"input folder {input_dir}: no images "
                         f"({' '.join(IMAGE_EXTENSIONS)}){hint}")
    by_stem: dict[str, Path] = {}
    for p in images:
        stem = p.relative_to(in_dir).with_suffix("").as_posix()
        if stem in by_stem:
            raise InputError(f"input folder {input_dir}: {by_stem[stem].name} and {p.name} share "
                             f"the stem {stem!r} (outputs and masks are matched by stem); "
                             "rename or move one of them")
        by_stem[stem] = p

    mask_files: dict[str, list[Path]] = {}
    if mask_dir is not None:
        for m in list_images(mask_dir, recursive=recursive):
            mask_files.setdefault(m.relative_to(mask_dir).with_suffix("").as_posix(),
                                  []).append(m)
    warnings = []
    extra = sorted(s for s in mask_files if s not in by_stem)
    if extra:
        shown = ", ".join(extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10
                                          else "")
        warnings.append(f"{len(extra)} mask(s) in {masks} match no image: {shown}")

    out.mkdir(parents=True, exist_ok=True)
    previous = _read_state(out / STATE_FILE)
    ckey = config_key(spec)
    inputs_res = {p.resolve() for p in images} | {m.resolve() for ms in mask_files.values()
                                                   for m in ms}
    todo, skipped = [], []
    for stem, path in by_stem.items():
        rel = path.relative_to(in_dir).as_posix()
        ext = path.suffix.lower() if keep_ext and path.suffix.lower() in SUPPORTED_EXTENSIONS \
            else ".png"
        output = out_res / (stem + ext)
        if output in inputs_res:  # e.g. --masks pointing at the output folder
            raise InputError(f"output {output}: would overwrite an input or mask file")
        prev = previous.get(rel)
        error = None
        in_sha, in_stat = _hash_with_cache(path, prev, "input")
        mask_path, m_sha, m_stat = None, None, None
        if mask_input is not None:
            found = mask_files.get(stem, [])
            if not found:
                error = (f"no mask for {rel} in {masks} (looked for {stem}.* with "
                         f"{'/'.join(e[1:] for e in IMAGE_EXTENSIONS)})")
            elif len(found) > 1:
                error = (f"several masks for {rel} in {masks}: "
                         f"{', '.join(m.name for m in found)}; keep one")
            else:
                mask_path = found[0].resolve()
                m_sha, m_stat = _hash_with_cache(mask_path, prev, "mask")
        key_doc = [ckey, rel, in_sha, m_sha, output.relative_to(out_res).as_posix()]
        key = hashlib.sha256(json.dumps(key_doc).encode()).hexdigest()[:24]
        run_dir = out_res / RUNS_DIR / stem if run_dirs else None
        item = BatchItem(item=rel, image=str(path.resolve()), mask=str(mask_path) if mask_path
                         else None, output=str(output),
                         run_dir=str(run_dir) if run_dir else None,
                         seed=item_seed(spec.seed, rel), key=key, input_sha256=in_sha,
                         mask_sha256=m_sha, input_stat=in_stat, mask_stat=m_stat, error=error)
        if (not force and error is None and prev is not None and prev.get("key") == key
                and prev.get("status") in ("ok", "skipped") and output.is_file()
                and (run_dir is None or (run_dir / "manifest.json").is_file())):
            skipped.append(dict(prev, input_stat=list(in_stat) if in_stat else None,
                                mask_stat=list(m_stat) if m_stat else None))
        else:
            todo.append(item)
    return BatchPlan(spec_raw=spec.raw, spec_source=spec.source, pipeline=spec.name,
                     config_key=ckey, seed=spec.seed, input_dir=in_dir, out_dir=out_res,
                     mask_dir=mask_dir, mask_input=mask_input, run_dirs=run_dirs, todo=todo,
                     skipped=skipped, warnings=warnings, n_items=len(by_stem),
                     previous=previous)


def _existing_dir(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{what} {path}: does not exist")
    if not p.is_dir():
        raise InputError(f"{what} {path}: is not a folder")
    return p.resolve()


def _mask_input(spec, masks) -> str | None:
    if "image" not in spec.inputs:
        raise ConfigError(f"pipeline {spec.name!r} takes no input image (inputs: "
                          f"{', '.join(spec.inputs) or 'none'}); a batch runs a pipeline per "
                          "image: use 'seamline run' for it")
    extra = {n: k for n, k in spec.inputs.items() if n != "image"}
    mask_names = [n for n, k in extra.items() if k == "mask"]
    others = [n for n, k in extra.items() if k != "mask"]
    if others or len(mask_names) > 1:
        raise ConfigError(f"pipeline {spec.name!r} takes inputs {', '.join(extra)}; a batch can "
                          "feed one image per item plus at most one mask (--masks)")
    if mask_names and masks is None:
        raise InputError(f"pipeline {spec.name!r} needs a mask per image: give --masks DIR "
                         "(masks matched to images by file stem)")
    if not mask_names and masks is not None:
        raise InputError(f"--masks {masks}: pipeline {spec.name!r} takes no mask input")
    return mask_names[0] if mask_names else None


def _hash_with_cache(path: Path, prev: dict | None, which: str):
    """SHA-256 of a file, reused from the previous record when size and mtime are unchanged.

    Returns ``(sha, (size, mtime_ns))``, or ``(None, None)`` when the file cannot be read (the
    worker then reports the reader's own error).
    """
    try:
        st = path.stat()
    except OSError:
        return None, None  # the worker's reader reports why
    stat_ = (st.st_size, st.st_mtime_ns)
    if prev and prev.get(f"{which}_stat") == list(stat_) and prev.get(f"{which}_sha256"):
        return prev[f"{which}_sha256"], stat_
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None, stat_
    return h.hexdigest(), stat_


# ------------------------------------------------------------------------------ state file


def _read_state(path: Path) -> dict[str, dict]:
    """Latest record per item from the state journal; a torn last line is ignored."""
    records: dict[str, dict] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a crash: that item simply runs again
                if isinstance(rec, dict) and "item" in rec:
                    records[rec["item"]] = rec
    except FileNotFoundError:
        pass
    except OSError as e:
        raise InputError(f"{path}: cannot read the batch state ({e.strerror or e})") from None
    return records


class _Journal:
    """Append-only JSON-lines state file, one fsynced line per finished item.

    An exclusive lock keeps two batches from writing to one output folder at once. At start
    the journal is compacted to the latest record per item, so it does not grow without bound
    over many resumes.
    """

    def __init__(self, path: Path, keep: Iterable[dict]):
        self.path = path
        self._f = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self._f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._f.close()
            raise InputError(f"output folder {path.parent}: another seamline batch is writing "
                             "to it") from None
        write_text_atomic(path, "".join(json.dumps(r, default=_json_default) + "\n"
                                        for r in keep))
        # the lock stays with the old inode: reopen the new file and lock it too
        new = open(path, "a", encoding="utf-8")
        fcntl.flock(new, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._f.close()
        self._f = new

    def append(self, rec: dict) -> None:
        self._f.write(json.dumps(rec, default=_json_default) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


def _json_default(o: Any) -> Any:
    """Like :func:`seamline.core.artifacts.json_default`, but a record never fails to serialise:
    anything else is written as its ``str``."""
    from seamline.core.artifacts import json_default

    try:
        return json_default(o)
    except TypeError:
        return str(o)


# ------------------------------------------------------------------------------ worker side

_WORKER: dict = {}


def _init_worker(spec_raw: dict, source: str, mask_input: str | None, threads: int,
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


# ----------------------------------------------------------------------------- local engine


@contextlib.contextmanager
def _env(values: dict[str, str]):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _sigint_blocked():
    """Block SIGINT while a worker may be spawned: the child inherits the mask and so never
    sees the terminal's Ctrl-C (the parent stops it), even before its initializer runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _terminate_pool(ex) -> None:
    ex.shutdown(wait=False, cancel_futures=True)
    stop = getattr(ex, "terminate_workers", None)  # Python >= 3.14
    if callable(stop):
        stop()
        return
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=5)


def _local_engine(tasks: Iterator[dict], *, workers: int, threads: int, init_args: tuple,
                  in_flight: int) -> Iterator[dict]:
    """Yield records as items finish on a ``spawn`` process pool (``workers=0``: in process)."""
    if workers == 0:
        _init_worker(*init_args, in_process=True)
        for t in tasks:
            yield process_item(t)
        return
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: a forked child would inherit the parent's threads (tqdm, ONNX Runtime
    # pools) and locks in whatever state they were in.
    ctx = mp.get_context("spawn")
    env = {v: str(threads) for v in THREAD_ENV}  # read by BLAS/OpenMP at the child's import

    def new_pool():
        return ProcessPoolExecutor(max_workers=workers, mp_context=ctx,
                                   initializer=_init_worker, initargs=init_args)

    with _env(env):
        with _sigint_blocked():
            ex = new_pool()
        pending: dict = {}
        done_since_start = 0
        try:
            def fill():
                while len(pending) < in_flight:
                    t = next(tasks, None)
                    if t is None:
                        return
                    with _sigint_blocked():
                        pending[ex.submit(process_item, t)] = t

            fill()
            while pending:
                done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    t = pending.pop(fut)
                    try:
                        rec = fut.result()
                        done_since_start += 1
                    except BrokenProcessPool:
                        broken = True
                        rec = _failed(t, "a worker process died while this item was in flight "
                                         "(out of memory, or a crash in native code)")
                    yield rec
                if broken:
                    if done_since_start == 0:
                        raise StageError("local worker processes failed to start (see the "
                                         "error above)")
                    for fut, t in list(pending.items()):  # the rest of the broken pool
                        yield _failed(t, "a worker process died while this item was in flight "
                                         "(out of memory, or a crash in native code)")
                    pending.clear()
                    _terminate_pool(ex)
                    with _sigint_blocked():
                        ex, done_since_start = new_pool(), 0
                fill()
        finally:
            _terminate_pool(ex)


def _failed(task: dict, error: str) -> dict:
    return {"item": task["item"], "status": "failed", "qa": {}, "warnings": [], "error": error,
            "seconds": 0.0}


# ------------------------------------------------------------------------------- ray engine


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def _ray_env(loopback: bool) -> None:
    """Environment for Ray, set before it is imported or started.

    ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` makes Ray use 127.0.0.1 as this node's address
    (otherwise it advertises, and rewrites 127.0.0.1 to, the machine's network address). Only
    for a local instance or a loopback address: a driver of a real cluster must be reachable.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if loopback:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        consts = sys.modules.get("ray._private.ray_constants")
        if consts is not None:  # Ray read the variable when it was imported: follow it
            consts.ENABLE_RAY_CLUSTER = False


def _loopback_address(address: str | None) -> bool:
    if not address:
        return True  # a private local instance
    if address == "auto":
        return False
    target = address[len("ray://"):] if address.startswith("ray://") else address
    return _is_loopback(target.rpartition(":")[0].strip("[]"))


def _import_ray(loopback: bool = True):
    _ray_env(loopback)
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'seamline[ray]' "
                         "(or pip install ray)") from None
    return ray


def start_local_ray(num_cpus: int | None = None, *, num_gpus: int | None = None) -> float:
    """Start a private Ray instance on this machine, bound to 127.0.0.1 only.

    No dashboard, no usage stats, logs of workers kept out of the terminal. Stop it with
    ``ray.shutdown()``.

    Parameters
    ----------
    num_cpus : int, optional
        CPUs Ray may schedule (default: all cores).
    num_gpus : int, optional
        GPUs Ray may schedule (default: what Ray detects).

    Returns
    -------
    float
        Start-up time in seconds.
    """
    import logging

    ray = _import_ray()
    # "token authentication is enabled" is news for a cluster, not for a private instance
    logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
        logging.ERROR)
    t0 = time.perf_counter()
    ray.init(address="local", num_cpus=num_cpus or _cores(), num_gpus=num_gpus,
             include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
             _node_ip_address="127.0.0.1")
    return time.perf_counter() - t0


_PROBE = ("import logging, sys, ray\n"
          "ray.init(address=sys.argv[1], log_to_driver=False, logging_level=logging.ERROR)\n"
          "print('seamline-ray-ok', flush=True)\n"
          "ray.shutdown()\n")


def _connect_ray(address: str, timeout: float) -> None:
    """Connect to an existing Ray cluster, or fail with one line within ``timeout`` seconds.

    ``ray.init`` retries an address that does not answer for minutes, printing warnings from
    its C++ core; so a TCP probe catches a closed port at once, and a throw-away Python
    process tries the real connection under a time limit (killed when it runs out) before
    this process connects.
    """
    import logging
    import subprocess

    target = address[len("ray://"):] if address.startswith("ray://") else address
    host, sep, port = target.rpartition(":")
    if address != "auto" and (not sep or not port.isdigit()):
        raise InputError(f"--address {address}: expected HOST:PORT, ray://HOST:PORT or auto")
    ray = _import_ray(loopback=_loopback_address(address))
    t0 = time.monotonic()
    if address != "auto":
        try:
            socket.create_connection((host.strip("[]"), int(port)),
                                     timeout=min(5.0, timeout)).close()
        except OSError as e:
            reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e))
            raise InputError(f"Ray at {address} does not answer ({reason}); start the cluster "
                             "with `ray start --head` or check the address") from None
    try:
        probe = subprocess.run([sys.executable, "-c", _PROBE, address], capture_output=True,
                               text=True, timeout=max(1.0, timeout - (time.monotonic() - t0)),
                               env=dict(os.environ), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InputError(f"Ray at {address} did not answer within {timeout:g} s (is it the "
                         "head node's GCS port, 6379 by default, or ray://HOST:10001?)") from None
    if "seamline-ray-ok" not in probe.stdout:
        lines = [ln.strip() for ln in probe.stderr.splitlines() if ln.strip()]
        raise InputError(f"Ray at {address}: cannot connect ("
                         f"{(lines[-1] if lines else f'exit code {probe.returncode}')[:300]})")
    ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)


class _RayWorker:
    """A Ray actor: builds the pipeline and loads its models once, then runs items."""

    def __init__(self, *init_args):
        _init_worker(*init_args)

    def ready(self, paths: list[str]) -> dict:
        """Where the actor runs and which of ``paths`` it can see (a shared file system?)."""
        return {"host": socket.gethostname(), "pid": os.getpid(),
                "missing": [p for p in paths if not os.path.isdir(p)]}

    def run(self, task: dict) -> dict:
        return process_item(task)


def _ray_engine(tasks: Iterator[dict], *, address: str | None, workers: int | None,
                threads: int, num_gpus: float, init_args: tuple, per_worker: int,
                connect_timeout: float, start_timeout: float, paths: list[str],
                info: dict) -> Iterator[dict]:
    """Yield records as items finish on a pool of Ray actors."""
    ray = _import_ray(loopback=_loopback_address(address))
    owns_ray = False  # a connection this call made is this call's to close
    if address and ray.is_initialized():
        raise ConfigError(f"address {address}: this process is already connected to Ray; leave "
                          "out the address to use that connection")
    if not ray.is_initialized():
        if address:
            t0 = time.perf_counter()
            _connect_ray(address, connect_timeout)
            info["ray_connect_s"] = round(time.perf_counter() - t0, 3)
        else:
            info["ray_startup_s"] = round(start_local_ray(
                num_cpus=(workers or _cores()) * threads), 3)
        owns_ray = True
    if workers is None:
        res = ray.cluster_resources()
        workers = max(1, int(res.get("CPU", 1) // threads))
        if num_gpus:
            workers = max(1, min(workers, int(res.get("GPU", 0) // num_gpus)))
    info["workers"] = workers
    actors: list = []
    try:
        t0 = time.perf_counter()
        cls = ray.remote(_RayWorker).options(num_cpus=threads, num_gpus=num_gpus or 0,
                                             max_restarts=0)
        # Ray sets OMP_NUM_THREADS for its workers from num_cpus; the rest is set by the actor
        actors = [cls.remote(*init_args) for _ in range(workers)]
        probes = [a.ready.remote(paths) for a in actors]
        ready, _ = ray.wait(probes, num_returns=len(probes), timeout=start_timeout)
        if len(ready) < len(probes):
            raise StageError(f"Ray could not start {workers} worker(s) with num_cpus={threads}, "
                             f"num_gpus={num_gpus or 0} within {start_timeout:g} s; cluster "
                             f"resources: {_fmt_resources(ray.cluster_resources())}")
        for r in ray.get(probes):
            if r["missing"]:
                raise InputError(f"Ray worker on {r['host']} cannot see {r['missing'][0]}; a "
                                 "batch on a cluster needs the folders on a shared file system "
                                 "mounted at the same path on every node")
        info["ray_workers_ready_s"] = round(time.perf_counter() - t0, 3)
        load = {i: 0 for i in range(len(actors))}
        pending: dict = {}

        def fill():
            for i in sorted(load, key=load.get):
                while load[i] < per_worker:
                    t = next(tasks, None)
                    if t is None:
                        return
                    pending[actors[i].run.remote(t)] = (t, i)
                    load[i] += 1

        fill()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                t, i = pending.pop(ref)
                load[i] -= 1
                try:
                    rec = ray.get(ref)
                except Exception as e:  # actor died (OOM killer, node lost...)
                    rec = _failed(t, "Ray worker failed: " + " ".join(
                        f"{type(e).__name__}: {e}".split())[:300])
                yield rec
            fill()
    finally:
        for a in actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        if owns_ray:
            ray.shutdown()  # stops a private instance; only disconnects from a cluster


def _fmt_resources(res: dict) -> str:
    keep = {k: v for k, v in res.items() if k in ("CPU", "GPU", "memory")}
    if "memory" in keep:
        keep["memory"] = f"{keep['memory'] / 2**30:.1f} GiB"
    return ", ".join(f"{k}={v}" for k, v in keep.items()) or "none"


# ------------------------------------------------------------------------------- the driver


@dataclass
class BatchResult:
    """The outcome of :func:`run_batch`.

    Attributes
    ----------
    records : list of dict
        One per item, in item order: this run's result, or the earlier one for skipped items.
    counts : dict
        ``{"ok": n, "failed": n, "skipped": n, "pending": n}`` (pending: not reached, after an
        interrupt).
    seconds : float
        Wall time of this run (planning included).
    interrupted : bool
        Ctrl-C stopped it; finished items are kept and a re-run resumes.
    """

    records: list[dict]
    counts: dict
    seconds: float
    out_dir: Path
    summary_json: Path
    summary_csv: Path
    warnings: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0: every item ok or skipped; 1: some failed; 130: interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.counts.get("failed") else 0


def run_batch(pipeline: Any, input_dir: str | Path, out_dir: str | Path, *,
              masks: str | Path | None = None, engine: str = "local",
              workers: int | None = None, threads: int = 1, address: str | None = None,
              num_gpus: float | None = None, seed: int | None = None,
              sets: list[str] | dict | None = None, policy: str | None = None,
              run_dirs: bool = False, recursive: bool = False, keep_ext: bool = False,
              force: bool = False, max_pixels: int | None = None, progress: bool = False,
              connect_timeout: float = 15.0, start_timeout: float = 300.0,
              command: list[str] | None = None,
              on_record: Callable[[dict], None] | None = None) -> BatchResult:
    """Run every image of a folder through a pipeline; resumable, one failure never stops it.

    Parameters
    ----------
    pipeline : str, Path, Pipeline or PipelineSpec
        YAML file or built-in name (``remove-text``, ``inpaint``...).
    input_dir, out_dir : str or Path
        See :func:`plan_batch`; ``out_dir`` is created.
    masks : str or Path, optional
        Mask folder, for pipelines with a mask input (matched by stem).
    engine : {"local", "ray"}
        ``local``: a process pool on this machine. ``ray``: Ray actors, on a private local
        instance (bound to 127.0.0.1) or, with ``address``, an existing cluster.
    workers : int, optional
        Worker processes / actors. Default: the number of cores (local, or the local Ray
        instance); the cluster's CPUs / ``threads`` with ``address``. ``0`` with the local
        engine runs the items in this process, one after the other.
    threads : int
        Threads per worker for ONNX Runtime, OpenCV and BLAS (default 1: workers, not
        threads, are the unit of parallelism, and results do not depend on thread counts).
    address : str, optional
        Ray cluster: ``HOST:PORT`` (GCS, 6379 by default), ``ray://HOST:10001`` (Ray Client)
        or ``auto``. The folders must be on a file system every node sees at the same path.
    num_gpus : float, optional
        GPUs per Ray actor. Default: 1 when a stage is configured for a CUDA device
        (``device: cuda...``), else 0.
    seed : int, optional
        Batch seed (default: the pipeline's); each item gets :func:`item_seed`.
    sets, policy, run_dirs, recursive, keep_ext, force
        See :func:`plan_batch`.
    max_pixels : int, optional
        Decompression-bomb guard passed to the reader.
    progress : bool
        Progress bar over items on stderr (only when stderr is a terminal).
    connect_timeout : float
        Seconds to wait for a Ray address to answer.
    start_timeout : float
        Seconds to wait for Ray actors to be placed and load their models.
    command : list of str, optional
        Recorded in each item's manifest.
    on_record : callable, optional
        Called in this process with each record as it is journaled.

    Returns
    -------
    BatchResult
        ``exit_code`` 0 (all ok or skipped), 1 (some failed) or 130 (interrupted). A
        KeyboardInterrupt is caught after the state and summary are written.

    Raises
    ------
    InputError, ConfigError, StageError
        User mistakes (see :func:`plan_batch`); a Ray address that does not answer within
        ``connect_timeout``; workers that cannot start.
    """
    t0 = time.perf_counter()
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine: expected 'local' or 'ray', got {engine!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 0
                                or (workers == 0 and engine == "ray")):
        raise ConfigError(f"--workers: expected an integer >= 1 (0 = in process, local engine "
                          f"only), got {workers!r}")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"--threads: expected an integer >= 1, got {threads!r}")
    if address is not None and engine != "ray":
        raise ConfigError("--address: only with --engine ray")
    plan = plan_batch(pipeline, input_dir, out_dir, masks=masks, sets=sets, policy=policy,
                      seed=seed, run_dirs=run_dirs, recursive=recursive, keep_ext=keep_ext,
                      force=force)
    if engine == "ray" and num_gpus is None:
        num_gpus = _gpus_needed(plan.spec_raw, plan.spec_source)
    info: dict[str, Any] = {"engine": engine, "threads": threads, "plan_s": None}
    if engine == "ray":
        info["num_gpus"] = num_gpus
    if engine == "local":
        workers = _cores() if workers is None else workers
        info["workers"] = workers
    init_args = (plan.spec_raw, plan.spec_source, plan.mask_input, threads, max_pixels,
                 command)
    out = plan.out_dir
    keep = dict(plan.previous)
    keep.update({r["item"]: r for r in plan.skipped})  # refreshed stats spare a re-hash
    journal = _Journal(out / STATE_FILE, keep.values())
    # in the summary a skipped item shows its earlier result (seconds: the run that made it)
    records: dict[str, dict] = {r["item"]: dict(r, status="skipped") for r in plan.skipped}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    interrupted = False
    info["plan_s"] = round(time.perf_counter() - t0, 3)
    by_item = {it.item: it for it in plan.todo}
    bar = _bar(len(plan.todo), progress)
    t_exec = time.perf_counter()

    def record(rec: dict) -> None:
        it = by_item[rec["item"]]
        rec.update(key=it.key, seed=it.seed, image=it.image, mask=it.mask, output=it.output,
                   run_dir=it.run_dir, input_sha256=it.input_sha256, mask_sha256=it.mask_sha256,
                   input_stat=list(it.input_stat) if it.input_stat else None,
                   mask_stat=list(it.mask_stat) if it.mask_stat else None,
                   finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        with _sigint_blocked():  # the journal and the summary must agree on what finished
            journal.append(rec)
            records[rec["item"]] = rec
        bar.update(1)
        if rec["status"] == "failed":
            bar.set_postfix_str(f"{sum(r['status'] == 'failed' for r in records.values())} "
                                "failed", refresh=False)
        if on_record is not None:
            on_record(rec)

    try:
        for it in plan.todo:  # items that cannot run are failures, not engine work
            if it.error is not None:
                record(dict(_failed(it.task(), it.error)))
        tasks = (it.task() for it in plan.todo if it.error is None)
        if any(it.error is None for it in plan.todo):
            if engine == "local":
                gen = _local_engine(tasks, workers=workers, threads=threads,
                                    init_args=init_args, in_flight=2 * max(1, workers))
            else:
                gen = _ray_engine(tasks, address=address, workers=workers, threads=threads,
                                  num_gpus=num_gpus or 0, init_args=init_args, per_worker=2,
                                  connect_timeout=connect_timeout, start_timeout=start_timeout,
                                  paths=[str(plan.input_dir), str(out)] +
                                  ([str(plan.mask_dir)] if plan.mask_dir else []), info=info)
            with contextlib.closing(gen):
                for rec in gen:
                    record(rec)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
        journal.close()
        info["exec_s"] = round(time.perf_counter() - t_exec, 3)
        ordered = [records[it] for it in sorted(records)]
        pending = plan.n_items - len(ordered)
        counts = {s: sum(r["status"] == s for r in ordered) for s in ("ok", "failed",
                                                                          "skipped")}
        counts["pending"] = pending
        ran = [r for r in ordered if r["status"] != "skipped" and r.get("pid")]
        info["images_per_s"] = round(len(ran) / info["exec_s"], 3) if info["exec_s"] else None
        peaks: dict[str, float] = {}
        for r in ran:
            key = str(r["pid"])
            peaks[key] = max(peaks.get(key, 0.0), r.get("peak_rss_mb") or 0.0)
        info["peak_rss_mb_per_worker"] = peaks
        result = BatchResult(records=ordered, counts=counts,
                             seconds=round(time.perf_counter() - t0, 3), out_dir=out,
                             summary_json=out / SUMMARY_JSON, summary_csv=out / SUMMARY_CSV,
                             warnings=plan.warnings, info=info, interrupted=interrupted)
        _write_summary(result, plan, started)
    return result


def _cores() -> int:
    """CPUs this process may run on (a container's or taskset's limit, not the host's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _gpus_needed(spec_raw: dict, source: str) -> float:
    """1 when any stage is configured for a CUDA device (``device: cuda``), else 0."""
    from seamline.core.pipeline import spec_from_dict

    spec = spec_from_dict(spec_raw, source=source)
    for d in spec.stages:
        dev = d.params_dict().get("device")
        if isinstance(dev, str) and dev.startswith("cuda"):
            return 1.0
    return 0.0


class _NoBar:
    def update(self, *_):
        pass

    def set_postfix_str(self, *_, **__):
        pass

    def close(self):
        pass


def _bar(total: int, enabled: bool):
    if not enabled or total == 0:
        return _NoBar()
    from tqdm import tqdm

    # disable=None: no bar when stderr is not a terminal (logs, CI, captured output)
    return tqdm(total=total, unit="img", file=sys.stderr, dynamic_ncols=True, disable=None)


# ------------------------------------------------------------------------------- summaries


def flatten_record(rec: dict) -> dict:
    """One CSV row: fixed columns, then ``qa.a.b`` for each nested QA value.

    Lists and other non-scalar values become JSON text; warnings are joined with ``"; "``.
    """
    row = {"item": rec.get("item"), "status": rec.get("status"),
           "seconds": rec.get("seconds"), "output": rec.get("output"),
           "error": rec.get("error") or "", "seed": rec.get("seed"), "mask": rec.get("mask") or "",
           "warnings": "; ".join(rec.get("warnings") or [])}

    def walk(prefix: str, v: Any) -> None:
        if isinstance(v, dict):
            for k, sub in v.items():
                walk(f"{prefix}.{k}", sub)
        elif isinstance(v, (list, tuple)):
            row[prefix] = json.dumps(v, default=_json_default)
        else:
            row[prefix] = _json_default(v) if not isinstance(v, (str, int, float, bool,
                                                                  type(None))) else v

    walk("qa", rec.get("qa") or {})
    return row


def _write_summary(result: BatchResult, plan: BatchPlan, started: str) -> None:
    from seamline.core.artifacts import write_json

    doc = {"seamline": __version__, "pipeline": plan.pipeline, "config_key": plan.config_key,
           "seed": plan.seed, "input_dir": str(plan.input_dir),
           "mask_dir": str(plan.mask_dir) if plan.mask_dir else None,
           "out_dir": str(plan.out_dir), "started": started, "seconds": result.seconds,
           "interrupted": result.interrupted, "counts": result.counts, "engine": result.info,
           "warnings": result.warnings, "exit_code": result.exit_code,
           "items": [{k: v for k, v in r.items() if k not in ("input_stat", "mask_stat")}
                     for r in result.records]}
    write_json(plan.out_dir / SUMMARY_JSON, doc)
    rows = [flatten_record(r) for r in result.records]
    qa_cols = sorted({k for r in rows for k in r if k not in _CSV_HEAD})
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=[*_CSV_HEAD, *qa_cols], extrasaction="ignore",
                       lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(plan.out_dir / SUMMARY_CSV, buf.getvalue())
