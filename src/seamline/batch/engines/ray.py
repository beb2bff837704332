"""The Ray engine: a pool of actors, on a private local instance or an existing cluster."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import time
from typing import Iterator

from seamline.batch.worker import cores, failed_record, init_worker, process_item
from seamline.errors import ConfigError, InputError, StageError

__all__ = ["start_local_ray", "ray_engine", "gpus_needed"]


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
        raise InputError("engine: ray: needs Ray (pip install 'seamline[ray]', or pip "
                         "install ray)") from None
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
    ray.init(address="local", num_cpus=num_cpus or cores(), num_gpus=num_gpus,
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
        raise InputError(f"address: {address}: expected HOST:PORT, ray://HOST:PORT or auto")
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
        init_worker(*init_args)

    def ready(self, paths: list[str]) -> dict:
        """Where the actor runs and which of ``paths`` it can see (a shared file system?)."""
        return {"host": socket.gethostname(), "pid": os.getpid(),
                "missing": [p for p in paths if not os.path.isdir(p)]}

    def run(self, task: dict) -> dict:
        return process_item(task)


def ray_engine(tasks: Iterator[dict], *, address: str | None, workers: int | None,
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
                num_cpus=(workers or cores()) * threads), 3)
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
                    rec = failed_record(t, "Ray worker failed: " + " ".join(
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


def gpus_needed(spec_raw: dict, source: str) -> float:
    """1 when any stage is configured for a CUDA device (``device: cuda``), else 0."""
    from seamline.core.pipeline import spec_from_dict

    spec = spec_from_dict(spec_raw, source=source)
    for d in spec.stages:
        dev = d.params_dict().get("device")
        if isinstance(dev, str) and dev.startswith("cuda"):
            return 1.0
    return 0.0
