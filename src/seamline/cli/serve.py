"""``seamline serve [RUNS_DIR]``: the HTTP API and the inspector (:mod:`seamline.serve`).

Wired into :mod:`seamline.cli` through :func:`register`. Parsing imports nothing heavy;
FastAPI and uvicorn are imported only when the command runs. Mistakes (a non-loopback
``--host`` without a token, a RUNS_DIR that is a file, the extra not installed) are one-line
errors, exit 2, before anything listens.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
from pathlib import Path

from seamline.errors import ConfigError, InputError


def register(sub) -> None:
    """Add ``serve`` to the CLI's subparsers."""
    p = sub.add_parser(
        "serve", help="HTTP API + run inspector (needs the serve extra)",
        description="Serve the one-click API (/v1/remove-text, /v1/inpaint, ...; OpenAPI at "
                    "/openapi.json) and the inspector (/) over the runs in RUNS_DIR. Loopback "
                    "only unless a token is set.")
    p.set_defaults(func=cmd_serve)
    p.add_argument("runs_dir", nargs="?", default="runs", metavar="RUNS_DIR",
                   help="where runs are stored and read (default ./runs; created if missing)")
    p.add_argument("--host", default="127.0.0.1",
                   help="bind address (default 127.0.0.1; anything else needs --token)")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--workers", type=int, default=2, help="job worker processes (default 2)")
    p.add_argument("--token", default=None,
                   help="require 'Authorization: Bearer TOKEN' (default $SEAMLINE_TOKEN)")
    p.add_argument("--queue-size", type=int, default=16,
                   help="jobs that may wait; more get 429 + Retry-After (default 16)")
    p.add_argument("--max-bytes", type=int, default=32 * 1024 * 1024,
                   help="largest upload in bytes (default 32 MiB)")
    p.add_argument("--max-pixels", type=int, default=40_000_000,
                   help="largest upload in pixels, checked before decoding (default 40 MP)")
    p.add_argument("--sync-max-pixels", type=int, default=4_000_000,
                   help="mode=auto answers synchronously up to this size (default 4 MP)")
    p.add_argument("--worker-max-jobs", type=int, default=0, metavar="N",
                   help="replace a worker, between jobs, after N jobs (default 0: never)")
    p.add_argument("--worker-max-rss-mb", type=int, default=0, metavar="MB",
                   help="replace a worker, between jobs, once its anonymous resident memory "
                        "exceeds MB (default 0: never)")


def config_from_args(args):
    """Validate the options and build a :class:`~seamline.serve.ServeConfig`."""
    token = args.token or os.environ.get("SEAMLINE_TOKEN") or None
    host = args.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback and not token:
        raise ConfigError(f"--host {host}: serving beyond loopback needs a token "
                          "(--token or SEAMLINE_TOKEN); every request must then carry it")
    for name in ("worker_max_jobs", "worker_max_rss_mb"):
        if getattr(args, name) < 0:
            raise ConfigError(f"--{name.replace('_', '-')}: expected 0 (never) or a positive "
                              f"number, got {getattr(args, name)}")
    for name in ("port", "workers", "queue_size", "max_bytes", "max_pixels",
                 "sync_max_pixels"):
        value = getattr(args, name)
        if value <= 0 or (name == "port" and value > 65535):
            raise ConfigError(f"--{name.replace('_', '-')}: expected a positive number"
                              f"{' up to 65535' if name == 'port' else ''}, got {value}")
    runs = Path(args.runs_dir)
    if runs.exists() and not runs.is_dir():
        raise InputError(f"{runs}: RUNS_DIR exists and is not a directory")
    missing = [m for m in ("fastapi", "uvicorn", "multipart")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(f"serve: needs {', '.join(missing)}; install the extra: "
                          "pip install 'seamline[serve]'")
    from seamline.serve import ServeConfig

    return ServeConfig(runs_dir=runs, workers=args.workers, queue_size=args.queue_size,
                       max_bytes=args.max_bytes, max_pixels=args.max_pixels,
                       sync_max_pixels=args.sync_max_pixels, token=token,
                       worker_max_jobs=args.worker_max_jobs or None,
                       worker_max_rss_mb=args.worker_max_rss_mb or None)


def cmd_serve(args, argv) -> int:
    config = config_from_args(args)
    try:
        config.runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{config.runs_dir}: cannot create RUNS_DIR ({e.strerror or e})") \
            from None
    import uvicorn

    from seamline.serve import create_app

    app = create_app(config)
    print(f"seamline serve: http://{args.host}:{args.port}/ (runs in {config.runs_dir}, "
          f"{config.workers} workers{', token required' if config.token else ''})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0

