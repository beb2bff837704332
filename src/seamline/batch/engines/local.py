"""The local engine: a ``spawn`` process pool with a bounded number of items in flight."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from typing import Iterator

from seamline.batch.worker import THREAD_ENV, failed_record, init_worker, process_item
from seamline.errors import StageError

__all__ = ["local_engine"]

_DIED = ("a worker process died while this item was in flight (out of memory, or a crash in "
         "native code)")


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


def _terminate_pool(ex, grace: float = 2.0) -> None:
    """Stop a pool's workers now: SIGTERM, then SIGKILL for any still alive after ``grace`` s.

    The process list is read before ``shutdown()``, which clears it (reading it after left
    every worker running: in-flight items kept writing after Ctrl-C). Bounded in time, so a
    Ctrl-C never waits on a stuck worker.
    """
    procs = list((getattr(ex, "_processes", None) or {}).values())  # the executor's own list
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=max(0.0, deadline - time.monotonic()))
    for p in procs:
        with contextlib.suppress(Exception):
            if p.is_alive():
                p.kill()
                p.join(timeout=grace)
    ex.shutdown(wait=False, cancel_futures=True)


def local_engine(tasks: Iterator[dict], *, workers: int, threads: int, init_args: tuple,
                  in_flight: int) -> Iterator[dict]:
    """Yield records as items finish on a ``spawn`` process pool (``workers=0``: in process)."""
    if workers == 0:
        init_worker(*init_args, in_process=True)
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
                                   initializer=init_worker, initargs=init_args)

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
                        rec = failed_record(t, _DIED)
                    yield rec
                if broken:
                    if done_since_start == 0:
                        raise StageError("local worker processes failed to start (see the "
                                         "error above)")
                    for fut, t in list(pending.items()):  # the rest of the broken pool
                        yield failed_record(t, _DIED)
                    pending.clear()
                    _terminate_pool(ex)
                    with _sigint_blocked():
                        ex, done_since_start = new_pool(), 0
                fill()
        finally:
            _terminate_pool(ex)
