"""The job queue and the worker processes behind it.

One dispatcher thread in the server process owns the workers: it hands the oldest queued job
to an idle worker, waits on every worker's pipe and process sentinel at once, and

- on an answer, finishes the job (``ok`` or ``failed`` with the message);
- on a worker that exited (crash, OOM kill, cancel), fails its job, unless it was cancelled,
  and starts a replacement, so one job can never take the server down;
- on a worker saying it is idle (its last job's memory handed back), gives it the next job,
  or, past ``max_jobs`` jobs or ``max_rss_mb`` of memory kept between jobs, replaces it (the
  old one leaves in the background; the queue waits only for the new one's warm-up).

The queue is bounded: :meth:`JobManager.submit` raises :class:`QueueFull` with a Retry-After
estimate when ``queue_size`` jobs are already waiting. Jobs that belong to a run directory
have their state mirrored into its ``serve-job.json`` at every transition.

Workers are forked from a ``forkserver`` (where the platform has one), never from the server
itself: the forkserver is a clean single-threaded process that imported seamline, the stages'
libraries and the text detector's package once (:data:`PRELOAD`), so a worker, or the
replacement of a crashed one, starts in a fraction of a second instead of importing all of it
again (~8 s on a loaded 2-core machine). A plain ``fork`` of the server would copy its threads'
locks in whatever state they were in.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import multiprocessing
import os
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from seamline.serve.store import RunStore, now_iso
from seamline.serve.worker import THREAD_ENV


#: Modules the forkserver imports once for every worker it forks (a missing one is skipped).
PRELOAD = ("seamline.serve.worker", "seamline.api", "seamline.stages", "seamline.ops.color",
           "seamline.ops.metrics", "seamline.ops.text", "rapidocr.main")


def worker_context(threads: int):
    """The multiprocessing context workers start from: ``forkserver`` with :data:`PRELOAD`
    (started here, with ``threads`` in the thread-pool variables unless they are set), or
    ``spawn`` where there is no forkserver. The forkserver is one per server process; when it
    runs already (a second app in the same process) it is reused as it is."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(list(PRELOAD))
    from multiprocessing import forkserver

    env = {v: str(threads) for v in THREAD_ENV if v not in os.environ}
    with contextlib.ExitStack() as stack:
        if env:  # the forkserver copies the environment when it starts
            os.environ.update(env)
            stack.callback(lambda: [os.environ.pop(v, None) for v in env])
        forkserver.ensure_running()
    return ctx


class QueueFull(Exception):
    """The queue holds ``queue_size`` waiting jobs; retry after ``retry_after`` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"job queue is full; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    id: str
    task: dict
    run_dir: Path | None
    record: dict = field(default_factory=dict)
    status: str = "queued"
    result: Any = None
    error: str | None = None
    user_error: bool = False
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)
    #: stay answerable from memory once finished (async jobs, polled by id); a job whose
    #: caller waits on its future (sync, preflight) is dropped when it finishes
    keep: bool = True


class _Worker:
    def __init__(self, ctx, threads: int):
        self.born = time.monotonic()
        self.conn, child = ctx.Pipe()
        from seamline.serve.worker import main

        self.proc = ctx.Process(target=main, args=(child, threads), daemon=True,
                                name="seamline-serve-worker")
        self.proc.start()
        child.close()
        self.job: Job | None = None
        #: the worker said it is idle (warmed up, or its last job's memory handed back); a
        #: task goes only to an idle worker
        self.idle = False
        #: its anonymous RSS when it last said so, MB (what it keeps between jobs)
        self.idle_rss_mb: float | None = None
        self.jobs_done = 0

    def ask_to_stop(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass

    def stop(self, deadline: float) -> None:
        """Wait until ``deadline`` (monotonic) for the worker to leave, then kill it."""
        self.proc.join(max(0.0, deadline - time.monotonic()))
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        self.conn.close()


class JobManager:
    """Bounded queue + ``workers`` processes. Start with :meth:`start`, end with :meth:`stop`."""

    KEEP_FINISHED = 1000
    #: Seconds an idle worker gets to leave at :meth:`stop` before it is killed.
    STOP_GRACE = 2.0

    def __init__(self, store: RunStore, *, workers: int = 2, queue_size: int = 16,
                 max_jobs: int | None = None, max_rss_mb: float | None = None):
        self.store = store
        #: a worker is replaced between jobs once it has run ``max_jobs`` jobs or the
        #: anonymous RSS it keeps between jobs exceeds ``max_rss_mb`` (None: never), like
        #: gunicorn's max_requests
        self.max_jobs = max_jobs if max_jobs and max_jobs > 0 else None
        self.max_rss_mb = max_rss_mb if max_rss_mb and max_rss_mb > 0 else None
        self.recycled = 0
        #: seconds from starting a worker to its first "idle" (fork + warm-up): the cost of
        #: a replacement, crashed or recycled; the latest few
        self.start_seconds: deque[float] = deque(maxlen=20)
        self.n_workers = max(1, int(workers))
        self.queue_size = max(1, int(queue_size))
        #: thread pools per worker: the cores shared out, so N workers do not fight over them
        self.threads = max(1, (os.cpu_count() or 1) // self.n_workers)
        self._ctx = None
        self._lock = threading.RLock()
        self._pending: deque[Job] = deque()
        self._jobs: dict[str, Job] = {}
        self._workers: list[_Worker] = []
        self._durations: deque[float] = deque(maxlen=20)
        self._wake_r, self._wake_w = multiprocessing.Pipe(duplex=False)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.crashes = 0
        #: why the workers could not start (every job fails with it), or None
        self.start_error: str | None = None

    # --------------------------------------------------------------------------- lifecycle
    def start(self) -> None:
        """Start the dispatcher; it starts the workers, so the server answers at once (jobs
        submitted meanwhile wait in the queue)."""
        self._thread = threading.Thread(target=self._run, name="seamline-serve-dispatch",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import traceback

        workers = None
        for ctx in (lambda: worker_context(self.threads),
                    lambda: multiprocessing.get_context("spawn")):
            try:  # a forkserver that failed to start (a preload crashed it): spawn instead
                workers = self._start_workers(ctx())
                break
            except Exception as e:  # noqa: BLE001  (said in the log and in every job's error)
                traceback.print_exc()
                error = f"the job workers could not start ({type(e).__name__}: {e})"
        if workers is None:
            with self._lock:
                self.start_error = error
                for job in list(self._pending):
                    self._finish(job, "failed", error=self.start_error)
                self._pending.clear()
            return
        with self._lock:
            stopping = self._stopping
            if not stopping:
                self._workers = workers
        if stopping:  # stop() came while they started
            for w in workers:
                w.ask_to_stop()
            deadline = time.monotonic() + self.STOP_GRACE
            for w in workers:
                w.stop(deadline)
            return
        self._loop()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            for job in list(self._pending):
                self._finish(job, "failed", error="server stopped before the job started")
            self._pending.clear()
        self._wake()
        if self._thread is not None:
            self._thread.join(60)  # a start in progress finishes first (forkserver imports)
        # all at once: idle workers leave within the grace; a running job's worker is
        # stopped now (its job has failed already), as is one still warming up at the end
        deadline = time.monotonic() + self.STOP_GRACE
        for w in self._workers:
            if w.job is not None:
                self._finish(w.job, "failed", error="server stopped while the job ran")
                w.proc.kill()
            else:
                w.ask_to_stop()
        for w in self._workers:
            w.stop(deadline)
        self._workers = []

    def _new_worker(self) -> _Worker:
        return _Worker(self._ctx, self.threads)

    def _start_workers(self, ctx) -> list[_Worker]:
        self._ctx, started = ctx, []
        try:
            for _ in range(self.n_workers):
                started.append(self._new_worker())
        except BaseException:
            for w in started:
                w.proc.kill()
            raise
        return started

    def worker_pids(self) -> list[int]:
        with self._lock:  # a worker replaced as its job finishes is replaced by now
            return [w.proc.pid for w in self._workers]

    # ------------------------------------------------------------------------------- jobs
    def submit(self, job_id: str, task: dict, *, run_dir: Path | None = None,
               record: dict | None = None, keep: bool = True) -> Job:
        """Queue a task; raises :class:`QueueFull` when ``queue_size`` jobs wait already.

        ``keep=False``: the caller holds the returned job and waits on its future; once
        finished it is forgotten here (its run's ``serve-job.json`` still answers by id)."""
        with self._lock:
            if self._stopping:
                raise QueueFull(5)
            if len(self._pending) >= self.queue_size:
                raise QueueFull(self.retry_after())
            job = Job(id=job_id, task=task, run_dir=run_dir, record=dict(record or {}),
                      keep=keep)
            self._jobs[job_id] = job
            if self.start_error is not None:
                self._finish(job, "failed", error=self.start_error)
                return job
            self._pending.append(job)
            self._persist(job)
        self._wake()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job: Job) -> None:
        """Cancel a queued job, or stop the worker running it (a new one replaces it)."""
        with self._lock:
            if job.status == "queued":
                self._pending.remove(job)
                self._finish(job, "cancelled", error="cancelled before it started")
            elif job.status == "running":
                worker = next((w for w in self._workers if w.job is job), None)
                self._finish(job, "cancelled", error="cancelled while running")
                if worker is not None:
                    worker.proc.kill()  # the dispatcher sees the exit and replaces it
        self._wake()

    def retry_after(self) -> int:
        """Seconds until a queue slot is likely free: the mean recent job time times the
        queue length over the workers (at least 1)."""
        mean = (sum(self._durations) / len(self._durations)) if self._durations else 2.0
        return max(1, math.ceil(mean * (len(self._pending) + 1) / self.n_workers))

    def counts(self) -> dict:
        with self._lock:
            return {"queued": len(self._pending),
                    "running": sum(w.job is not None for w in self._workers),
                    "idle_workers": sum(w.idle for w in self._workers),
                    "workers": len(self._workers), "queue_size": self.queue_size,
                    "worker_crashes": self.crashes, "workers_recycled": self.recycled,
                    "worker_start_s": [round(x, 3) for x in self.start_seconds]}

    # ------------------------------------------------------------------------ internals
    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"x")
        except OSError:
            pass

    def _persist(self, job: Job) -> None:
        if job.run_dir is None:
            return
        rec = dict(job.record, id=job.id, status=job.status, error=job.error,
                   created=job.record.get("created") or now_iso())
        if job.started and "started" not in job.record:
            rec["started"] = job.record["started"] = now_iso()
        if job.finished:
            rec["finished"] = now_iso()
            rec["seconds"] = round(job.finished - (job.started or job.created), 4)
        job.record = rec
        try:
            self.store.write_job(job.run_dir, rec)
        except OSError:
            pass  # the in-memory state still answers GET /v1/jobs

    def _finish(self, job: Job, status: str, *, result=None, error=None, user=False) -> None:
        if job.status in ("ok", "failed", "cancelled"):
            return
        job.status, job.result, job.error, job.user_error = status, result, error, user
        job.finished = time.time()
        if status == "ok" and job.started:
            self._durations.append(job.finished - job.started)
        self._persist(job)
        if not job.keep:  # its waiter has it; nothing else looks it up in memory (forgotten
            # before the waiter wakes: its answer may reach the client before this thread
            # runs again)
            self._jobs.pop(job.id, None)
        if not job.future.done():
            job.future.set_result(job)
        # finished jobs stay answerable from memory for a while, then from their run's
        # serve-job.json: a long-running server does not grow with every request
        if len(self._jobs) > self.KEEP_FINISHED:
            for old_id in [k for k, j in self._jobs.items() if j.finished is not None][
                    :len(self._jobs) - self.KEEP_FINISHED]:
                del self._jobs[old_id]

    def _worn_out(self, w: _Worker) -> bool:
        """Replace this idle worker? (:attr:`max_jobs` / :attr:`max_rss_mb`). Never one that
        has run no job: its replacement would start the same, and so on."""
        if w.jobs_done == 0:
            return False
        if self.max_jobs is not None and w.jobs_done >= self.max_jobs:
            return True
        return self.max_rss_mb is not None and w.idle_rss_mb is not None and \
            w.idle_rss_mb > self.max_rss_mb

    def _recycle(self, w: _Worker) -> _Worker:
        """Start the replacement of an idle worker at once and let the old one leave in the
        background: no job is lost (it has none) and the queue is not held up while it
        exits; the next job waits at most for the new worker's warm-up."""
        new = self._new_worker()
        self.recycled += 1
        w.ask_to_stop()
        threading.Thread(target=w.stop, args=(time.monotonic() + 10 * self.STOP_GRACE,),
                         name="seamline-serve-retire", daemon=True).start()
        return new

    def _assign(self) -> None:
        for w in self._workers:
            if not self._pending:
                return
            if w.job is None and w.idle and w.proc.is_alive():
                job = self._pending.popleft()
                try:
                    w.conn.send(job.task)
                except (OSError, ValueError):
                    self._pending.appendleft(job)
                    continue
                w.job, w.idle = job, False
                job.status, job.started = "running", time.time()
                self._persist(job)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                self._assign()
                waitables = [self._wake_r]
                for w in self._workers:
                    waitables += [w.conn, w.proc.sentinel]
            ready = wait(waitables, timeout=1.0)
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            with self._lock:
                if self._stopping:
                    return
                for i, w in enumerate(self._workers):
                    if w.conn in ready:
                        try:
                            answer = w.conn.recv()
                        except (EOFError, OSError):
                            answer = None
                        if answer is not None and "idle" in answer:
                            if w.jobs_done == 0 and not w.idle and w.job is None:
                                self.start_seconds.append(time.monotonic() - w.born)
                            w.idle, w.idle_rss_mb = True, answer.get("rss_anon_mb")
                            if w.job is None and self._worn_out(w):
                                self._workers[i] = self._recycle(w)
                                continue
                        elif answer is not None and w.job is not None:
                            job, w.job = w.job, None
                            w.jobs_done += 1
                            if answer["ok"]:
                                self._finish(job, "ok", result=answer["result"])
                            else:
                                self._finish(job, "failed", error=answer["error"],
                                             user=answer.get("user", False))
                    if not w.proc.is_alive():
                        w.proc.join(1)
                        if w.job is not None:
                            self.crashes += w.job.status != "cancelled"
                            code = w.proc.exitcode
                            how = f"signal {-code}" if code is not None and code < 0 \
                                else f"exit code {code}"
                            self._finish(w.job, "failed",
                                         error=f"the worker process died ({how}); the "
                                               "server is fine, the job did not finish")
                        w.conn.close()
                        self._workers[i] = self._new_worker()
