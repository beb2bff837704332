"""The batch driver: plan, run on an engine, journal each record, write the summaries."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from seamline.batch.engines.local import local_engine
from seamline.batch.engines.ray import gpus_needed, ray_engine
from seamline.batch.journal import STATE_FILE, Journal
from seamline.batch.plan import plan_batch
from seamline.batch.summary import SUMMARY_CSV, SUMMARY_JSON, BatchResult, write_summary
from seamline.batch.worker import (default_workers, failed_record, largest_megapixels,
                                   worker_memory)
from seamline.errors import ConfigError
from seamline.engine.progress import progress_bar

__all__ = ["run_batch"]


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
        Worker processes / actors. Default: the number of cores, but no more than the
        available memory holds at what the largest image needs (at least 1 GiB per worker;
        local, see :func:`~seamline.batch.worker.worker_memory`; the local Ray instance: its
        cores);
        the cluster's CPUs / ``threads`` with ``address``. ``0`` with the local engine runs
        the items in this process, one after the other.
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
        raise ConfigError(f"engine: expected 'local' or 'ray', got {engine!r}")
    if workers is not None and (not isinstance(workers, int) or workers < 0
                                or (workers == 0 and engine == "ray")):
        raise ConfigError(f"workers: expected an integer >= 1 (0 = in process, local engine "
                          f"only), got {workers!r}")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads: expected an integer >= 1, got {threads!r}")
    if address is not None and engine != "ray":
        raise ConfigError("address: only with the ray engine")
    plan = plan_batch(pipeline, input_dir, out_dir, masks=masks, sets=sets, policy=policy,
                      seed=seed, run_dirs=run_dirs, recursive=recursive, keep_ext=keep_ext,
                      force=force)
    if engine == "ray" and num_gpus is None:
        num_gpus = gpus_needed(plan.spec_raw, plan.spec_source)
    info: dict[str, Any] = {"engine": engine, "threads": threads, "plan_s": None}
    if engine == "ray":
        info["num_gpus"] = num_gpus
    if engine == "local":
        if workers is None:
            scale = next((d.get("params", {}).get("scale", 2) for d in
                          plan.spec_raw.get("stages", []) if d.get("stage") == "upscale"), None)
            workers = default_workers(per_worker=worker_memory(
                largest_megapixels(i.image for i in plan.todo if i.error is None), scale))
        info["workers"] = workers
    init_args = (plan.spec_raw, plan.spec_source, plan.mask_input, threads, max_pixels,
                 command)
    out = plan.out_dir
    keep = dict(plan.previous)
    keep.update({r["item"]: r for r in plan.skipped})  # refreshed stats spare a re-hash
    journal = Journal(out / STATE_FILE, keep.values())
    # in the summary a skipped item shows its earlier result (seconds: the run that made it)
    records: dict[str, dict] = {r["item"]: dict(r, status="skipped") for r in plan.skipped}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    interrupted = False
    info["plan_s"] = round(time.perf_counter() - t0, 3)
    by_item = {it.item: it for it in plan.todo}
    bar = progress_bar(len(plan.todo), enabled=progress, unit="img")
    t_exec = time.perf_counter()

    def record(rec: dict) -> None:
        it = by_item[rec["item"]]
        rec.update(key=it.key, seed=it.seed, image=it.image, mask=it.mask, output=it.output,
                   run_dir=it.run_dir, input_sha256=it.input_sha256, mask_sha256=it.mask_sha256,
                   input_stat=list(it.input_stat) if it.input_stat else None,
                   mask_stat=list(it.mask_stat) if it.mask_stat else None,
                   finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        with stop.atomic():  # the journal and the summary must agree on what finished
            journal.append(rec)
            records[rec["item"]] = rec
        bar.update(1)
        if rec["status"] == "failed":
            bar.set_postfix_str(f"{sum(r['status'] == 'failed' for r in records.values())} "
                                "failed", refresh=False)
        if on_record is not None:
            on_record(rec)

    stop = _Interrupt()
    try:
        stop.install()
        for it in plan.todo:  # items that cannot run are failures, not engine work
            if it.error is not None:
                record(dict(failed_record(it.task(), it.error)))
        tasks = (it.task() for it in plan.todo if it.error is None)
        if any(it.error is None for it in plan.todo):
            if engine == "local":
                gen = local_engine(tasks, workers=workers, threads=threads,
                                    init_args=init_args, in_flight=2 * max(1, workers))
            else:
                gen = ray_engine(tasks, address=address, workers=workers, threads=threads,
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
        stop.stopping = True  # from here on a Ctrl-C is ignored: the summary gets written
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
        try:
            write_summary(result, plan, started)
        finally:
            stop.uninstall()
    return result


class _Interrupt:
    """Ctrl-C during a batch, delivered where it cannot tear the record of a finished item.

    The first SIGINT raises KeyboardInterrupt in the main thread, but never inside
    :meth:`atomic` (the journal line and the in-memory record of one item are written
    together, whichever thread the signal reached: a signal mask on the main thread alone
    did not stop that). Once the batch is stopping, further SIGINTs are ignored: stopping the
    workers is bounded in time, and a second Ctrl-C must not leave the summary unwritten.
    """

    def __init__(self):
        self.stopping = False
        self._depth = 0
        self._deferred = False
        self._old = None

    def install(self) -> None:
        if threading.current_thread() is threading.main_thread():  # else Python's default
            self._old = signal.signal(signal.SIGINT, self._handler)

    def uninstall(self) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None

    def _handler(self, signum, frame) -> None:
        if self.stopping:
            return
        if self._depth:
            self._deferred = True
            return
        self.stopping = True
        raise KeyboardInterrupt

    @contextlib.contextmanager
    def atomic(self):
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
        if self._deferred and not self._depth and not self.stopping:
            self._deferred = False
            self.stopping = True
            raise KeyboardInterrupt
