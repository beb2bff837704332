"""Artifacts on disk: how the runner writes a stage's outputs into the run directory and reads
them back for the cache (``stages/NN-name/PORT.npy`` and its preview or JSON beside it, and
``cache.json``: the cache key and every output's digest, verified on load).

It lives above the core because the image previews are written through :mod:`seamline.io`
(colour-managed PNG); the in-memory side (measure, digest, the artifact types) is
:mod:`seamline.core.artifacts`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from seamline._version import __version__
from seamline.core import artifacts
from seamline.core.arrays import to_uint8
from seamline.core.artifacts import (Embedding, Latents, array_and_meta, from_jsonable,
                                     json_default, to_jsonable)
from seamline.core.atomic import atomic_open, write_bytes_atomic, write_text_atomic
from seamline.core.stage import StageResult
from seamline.io import write_image


def save(kind: str, value: Any, folder: Path, name: str) -> list[str]:
    """Write an artifact under ``folder`` and return the file names written.

    Images and masks are written twice: ``name.npy`` (exact float32, what the cache reloads) and
    ``name.png`` (8-bit preview for people and the report). Other kinds are JSON.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if kind in ("image", "mask"):
        _atomic_npy(folder / f"{name}.npy", np.asarray(value, dtype=np.float32))
        if kind == "image":  # a preview: fast zlib (same pixels, ~15 % larger file)
            write_image(folder / f"{name}.png", value, compress_level=1)
        else:
            _write_gray_png(folder / f"{name}.png", to_uint8(value))
        return [f"{name}.npy", f"{name}.png"]
    if kind in ("latents", "embedding"):
        # exact float32 array + its provenance/metadata beside it
        data, meta = array_and_meta(kind, value)
        _atomic_npy(folder / f"{name}.npy", np.asarray(data, dtype=np.float32))
        write_text_atomic(folder / f"{name}.json", json.dumps(
            {"kind": kind, "shape": list(np.shape(data)), "meta": meta}, indent=1,
            default=json_default))
        return [f"{name}.npy", f"{name}.json"]
    path = folder / f"{name}.json"
    write_text_atomic(path, json.dumps(to_jsonable(kind, value), indent=1, default=json_default))
    return [path.name]


def load(kind: str, folder: Path, name: str) -> Any:
    """Inverse of :func:`save`."""
    if kind in ("image", "mask"):
        return np.load(folder / f"{name}.npy", allow_pickle=False)
    if kind in ("latents", "embedding"):
        array = np.load(folder / f"{name}.npy", allow_pickle=False)
        meta = json.loads((folder / f"{name}.json").read_text()).get("meta", {})
        return Latents(array, meta) if kind == "latents" else Embedding(array, meta)
    return from_jsonable(kind, json.loads((folder / f"{name}.json").read_text()))




def _atomic_npy(path: Path, array: np.ndarray) -> None:
    with atomic_open(path, "wb") as f:
        np.save(f, array, allow_pickle=False)


def _write_gray_png(path: Path, gray_u8: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", gray_u8)
    if not ok:
        raise OSError(f"{path}: could not encode mask preview")
    write_bytes_atomic(path, encoded.tobytes())


# ---------------------------------------------------------------------------------------------
# The stage cache


def cache_key(cls, params: dict, seed: int, input_digests: dict,
              token: str | None = None) -> str:
    """Content-hash cache key of a stage run: id, version, params, seed, input digests and
    the stage's cache token (24 hex characters)."""
    record = {"stage": cls.id, "version": cls.version, "seamline": __version__,
              "params": params, "seed": seed, "inputs": input_digests}
    if token is not None:  # absent for most stages: their keys stay what they were
        record["token"] = token
    blob = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def load_cached(cls, folder: Path, key: str, memo: Any = None
                ) -> tuple[StageResult, float] | None:
    """The stored result for ``key``, or None when there is none or it fails verification.

    Every output file is re-hashed and compared with the digest recorded when it was stored.
    """
    record_path = folder / "cache.json"
    if not record_path.is_file():
        return None
    try:
        rec = json.loads(record_path.read_text())
        if rec.get("key") != key:
            return None
        outputs = {}
        for port in cls.spec.outputs:
            kind = cls.spec.outputs[port].kind
            value = load(kind, folder, port)
            # the files must still hold what was stored: a file changed or zeroed since
            # (by hand, a crash, another program) is recomputed, never served
            found = artifacts.digest(kind, value)
            if found != rec["outputs"][port]["digest"]:
                return None
            if memo is not None:
                memo.remember_digest(kind, value, found)
            outputs[port] = value
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache entry is recomputed, never trusted
    return StageResult(outputs=outputs, report=rec.get("report", {}),
                       warnings=rec.get("warnings", []), notes=rec.get("notes", [])), \
        rec.get("seconds", 0.0)


def store_cached(cls, folder: Path, key: str, result: StageResult, seconds: float,
                 memo: Any = None) -> None:
    """Save a stage's outputs under ``folder`` and, last, its ``cache.json`` record."""
    digest = memo.digest if memo is not None else artifacts.digest
    files = {}
    for port, value in result.outputs.items():
        kind = cls.spec.outputs[port].kind
        files[port] = {"kind": kind, "files": save(kind, value, folder, port),
                       "digest": digest(kind, value)}
    # written last: an interrupted save leaves no record, so it is recomputed next time
    artifacts.write_json(folder / "cache.json", {
        "key": key, "stage": cls.id, "outputs": files, "report": result.report,
        "warnings": result.warnings, "notes": result.notes, "seconds": seconds})
