"""What a request is checked against before any work starts: server settings, uploads, parameters.

An upload is streamed into RUNS_DIR's scratch folder under a generated name (413 past
``max_bytes``), its header is read (413 past ``max_pixels``, 415 for a type the reader does not
accept) before anything is decoded, then :func:`seamline.io.read_image` (or ``load_mask``)
decodes it with the same limits as the CLI. Parameters are ``{"stage.key": value}`` JSON,
validated against each stage's spec; a value that looks like a file-system path is refused.
Errors are :class:`ApiError` (status, one-line message, the field it is about).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fastapi import UploadFile
from pydantic import BaseModel, Field

from seamline.errors import SeamlineError
from seamline.serve.store import RunStore

#: The five one-click endpoints: ``/v1/<name>`` runs this pipeline.
ENDPOINTS = {"remove-text": "remove-text", "inpaint": "inpaint", "upscale": "upscale",
             "enhance": "enhance", "color-match": "color-match"}
#: ``color-match`` has no built-in YAML (the CLI calls the function): the same as a pipeline.
COLOR_MATCH_YAML = """\
pipeline: color-match
description: bring an image's colours back to a reference
policy: reconcile
seed: 0
inputs: {image: image, reference: image}
stages:
  - name: color
    stage: color-match
    inputs: {image: input.image, reference: input.reference}
output: color.image
"""
#: Formats the reader accepts that a client may upload, and the extension each is stored with.
UPLOAD_FORMATS = {"PNG": ".png", "JPEG": ".jpg", "MPO": ".jpg", "WEBP": ".webp", "TIFF": ".tif",
                  "GIF": ".gif", "BMP": ".bmp"}
CHUNK = 1 << 20


@dataclass(frozen=True)
class ServeConfig:
    """Server settings (``seamline serve`` options).

    Attributes
    ----------
    runs_dir : Path
        Every upload and result lives here, under generated names.
    workers : int
        Worker processes running jobs.
    queue_size : int
        Jobs that may wait for a worker; one more gets 429.
    max_bytes : int
        Largest upload, bytes (413 past it).
    max_pixels : int
        Largest image, pixels, checked from the header before decoding (413 past it).
    sync_max_pixels : int
        ``mode=auto`` answers synchronously up to this many pixels, with a job (202) above.
    token : str or None
        When set, every request must carry it (``Authorization: Bearer T``).
    worker_max_jobs : int or None
        Replace a worker (between jobs) after this many jobs; None: never.
    worker_max_rss_mb : float or None
        Replace a worker (between jobs) whose anonymous resident memory exceeds this, MB;
        None: never.
    """

    runs_dir: Path
    workers: int = 2
    queue_size: int = 16
    max_bytes: int = 32 * 1024 * 1024
    max_pixels: int = 40_000_000
    sync_max_pixels: int = 4_000_000
    token: str | None = None
    worker_max_jobs: int | None = None
    worker_max_rss_mb: float | None = None


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, field: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


class ErrorBody(BaseModel):
    error: str = Field(description="one line naming the argument or file and the value")
    field: str | None = None


ERRORS = {s: {"model": ErrorBody} for s in (400, 401, 404, 409, 413, 415, 429, 500)}
#: The run endpoints also answer 202 (a job) and, with ``format=image``, the image itself.
RUN_RESPONSES = {**ERRORS, 422: {"model": ErrorBody, "description": "invalid request, or "
                                   "the run failed on this input (the message says why)"},
                  202: {"description": "accepted as a job: poll status_url"},
                  200: {"description": "the result (JSON), or the image with format=image",
                        "content": {"application/json": {}, "image/png": {}, "image/tiff": {}}}}


# ------------------------------------------------------------------------------- uploads
class Upload:
    """An upload checked and decoded in the scratch folder, waiting to move into a run."""

    def __init__(self, path: Path, ext: str, shape: tuple[int, int]):
        self.path, self.ext, self.shape = path, ext, shape

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def check_upload(store: RunStore, cfg: ServeConfig, upload: UploadFile, field: str,
                  *, mask: bool = False, shape: tuple | None = None) -> Upload:
    """Copy one upload to scratch with the byte limit, check type and pixels from the header,
    then decode it with the project's reader (blocking: run in a thread)."""
    from PIL import Image, UnidentifiedImageError

    from seamline.io import load_mask, read_image

    tmp = store.temp_file(".upload")
    ok = False
    try:
        size = 0
        with open(tmp, "wb") as fh:
            while chunk := upload.file.read(CHUNK):
                size += len(chunk)
                if size > cfg.max_bytes:
                    raise ApiError(413, f"{field}: upload larger than the limit of "
                                        f"{cfg.max_bytes:,} bytes", field=field)
                fh.write(chunk)
        if size == 0:
            raise ApiError(400, f"{field}: empty upload (0 bytes)", field=field)
        try:
            with Image.open(tmp) as im:  # reads the header only
                fmt, (w, h) = im.format, im.size
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            fmt, w, h = None, 0, 0
        if fmt not in UPLOAD_FORMATS:
            raise ApiError(415, f"{field}: not an image type the reader accepts (PNG, JPEG, "
                                f"WebP, TIFF, GIF, BMP); got {fmt or 'unrecognised data'}",
                           field=field)
        if w * h > cfg.max_pixels:
            raise ApiError(413, f"{field}: {w}x{h} = {w * h:,} pixels exceeds the limit of "
                                f"{cfg.max_pixels:,} pixels", field=field)
        final = tmp.with_suffix(UPLOAD_FORMATS[fmt])
        tmp.rename(final)
        tmp = final
        try:
            if mask:
                arr = load_mask(tmp, shape=shape, max_pixels=cfg.max_pixels)
            else:
                # grey stays one channel (a third of the memory: only the size is kept)
                arr = read_image(tmp, max_pixels=cfg.max_pixels, grey=True).image
        except SeamlineError as e:  # the reader names the scratch path: name the field
            msg = str(e).replace(str(tmp), field)
            raise ApiError(400, msg if msg.startswith(field) else f"{field}: {msg}",
                           field=field) from None
        ok = True
        return Upload(tmp, UPLOAD_FORMATS[fmt], arr.shape[:2])
    finally:
        if not ok:
            tmp.unlink(missing_ok=True)


def parse_params(params: str | None) -> dict:
    if params is None or params.strip() == "":
        return {}
    try:
        value = json.loads(params)
    except ValueError:
        raise ApiError(400, f"params: expected a JSON object like {{\"inpaint.radius\": 5}}, "
                            f"got {params[:60]!r}", field="params") from None
    if not isinstance(value, dict):
        raise ApiError(400, f"params: expected a JSON object, got {type(value).__name__}",
                       field="params")
    for key, v in value.items():
        # no client-supplied file-system paths: a parameter that names a file (a model
        # checkpoint, a translation map) is the server operator's business, not a client's
        if isinstance(v, str) and any(c in v for c in "/\\") or \
                isinstance(v, str) and v.startswith(("~", ".")):
            raise ApiError(400, f"params: {key}: file-system paths are not accepted by the "
                                f"server, got {v[:60]!r}", field=key)
    return value


def pipeline_source(name: str) -> dict:
    if name == "color-match":
        return {"text": COLOR_MATCH_YAML, "name": "color-match"}
    return {"builtin": name}


def builtin_names() -> list[str]:
    folder = resources.files("seamline.pipelines")
    return sorted([p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml")]
                  + ["color-match"])


def resolve_pipeline(name: str, params: dict, policy: str | None):
    """Build and validate the pipeline in the server process (fast): 404/400 before any run."""
    from seamline.serve.worker import build_pipeline

    if name not in builtin_names():
        raise ApiError(404, f"pipeline {name!r}: no such pipeline; known: "
                            f"{', '.join(builtin_names())}", field="name")
    if policy is not None and policy not in ("strict", "reconcile", "off"):
        raise ApiError(400, f"policy: expected one of strict, reconcile, off, got {policy!r}",
                       field="policy")
    try:
        return build_pipeline({"pipeline": pipeline_source(name), "params": params,
                               "policy": policy})
    except SeamlineError as e:
        raise param_error(e) from None


def param_error(e: SeamlineError) -> ApiError:
    """A parameter error from :func:`seamline.core.pipeline.apply_overrides`, with the
    ``stage.key`` it is about as ``field`` (the inspector shows it next to that field)."""
    import re

    msg = str(e)
    m = (re.match(r"sets: ([\w-]+\.[\w-]+):", msg)
         or re.search(r"stage '([\w-]+)' parameter '(\w+)'", msg)
         or re.search(r"stage '([\w-]+)': unknown parameter '(\w+)'", msg))
    field = None if m is None else (m.group(1) if m.lastindex == 1 else
                                    f"{m.group(1)}.{m.group(2)}")
    msg = re.sub(r"^sets: ", "params: ", msg)
    return ApiError(400, msg, field=field)
