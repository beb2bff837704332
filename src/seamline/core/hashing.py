"""File sha256, memoised by (size, mtime): large files are hashed once, not on every use.

One helper for every place that identifies a file by its content and cannot afford to re-read
it each time: a model's weights (gigabytes: provenance and cache keys, see
:func:`seamline.diffusion.weights_hash`) and a batch's inputs (resume checks).

- :func:`file_stamp` / :func:`file_sha256`: the ``(size, mtime_ns)`` stamp and the plain
  streamed digest.
- :func:`memo_sha256`: reuse a digest recorded with a stamp (e.g. in a journal) while the
  file's stamp is unchanged, else hash it.
- :class:`Sha256Memo`: the same rule with the records kept in memory and, optionally, in a
  JSON file that survives the process.
- :data:`model_sha256`: the one such memo for model files (diffusion weights, LaMa and
  spandrel checkpoints, ONNX models), kept in ``<cache_dir()>/weights-sha256.json``: what
  the stages' cache tokens (:meth:`seamline.core.stage.Stage.cache_token`) key on.

A changed size or mtime always means a re-hash; an unchanged stamp is trusted (the usual
``make``/rsync assumption), which is what makes the memo worth having.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Callable

from seamline.core.atomic import write_text_atomic

__all__ = ["file_stamp", "file_sha256", "memo_sha256", "Sha256Memo", "cache_dir", "model_sha256"]

_CHUNK = 1 << 22


def file_stamp(path: str | os.PathLike) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a file (following links). Raises ``OSError``."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 (64 hex digits) of a file's bytes, read in 4 MiB chunks. Raises ``OSError``."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def memo_sha256(path: str | os.PathLike, known_stamp=None, known_sha256: str | None = None
                ) -> tuple[str, tuple[int, int]]:
    """sha256 of a file, reusing ``known_sha256`` when ``known_stamp`` is still its stamp.

    Parameters
    ----------
    path : path
    known_stamp : (size, mtime_ns) sequence, optional
        The stamp recorded with ``known_sha256`` (a list after a JSON round trip is fine).
    known_sha256 : str, optional

    Returns
    -------
    (str, (int, int))
        The digest and the file's current stamp (the stamp is taken before reading, so a
        file rewritten meanwhile is re-hashed next time).

    Raises
    ------
    OSError
        The file cannot be stat'ed or read.
    """
    stamp = file_stamp(path)
    if known_sha256 and known_stamp is not None and tuple(known_stamp) == stamp:
        return known_sha256, stamp
    return file_sha256(path), stamp


class Sha256Memo:
    """sha256 of files memoised by (resolved path, size, mtime_ns), in memory and on disk.

    Parameters
    ----------
    cache_file : callable returning a path, optional
        Where the records persist (JSON ``{path: {"size", "mtime_ns", "sha256"}}``). Called
        on each lookup, so a location read from the environment follows it; each location's
        records are read once. Writing it is an optimisation only: an unwritable location is
        not an error. ``None``: memory only.

    Thread-safe: concurrent lookups may hash the same file twice, never record a wrong digest.
    Processes sharing the file: each write is atomic and merges the records on disk first, so
    another process's records survive (two writes within the same instant may still drop
    one record: a re-hash, never a wrong digest).
    """

    def __init__(self, cache_file: Callable[[], Path] | None = None):
        self._cache_file = cache_file
        self._lock = threading.Lock()
        self._memo: dict[tuple, str] = {}
        self._disk: dict[Path, dict] = {}

    def __call__(self, path: str | os.PathLike) -> str:
        """The file's sha256 (64 hex digits). Raises ``OSError``."""
        real = Path(path).resolve()
        stamp = file_stamp(real)
        key = (str(real), *stamp)
        cache_file = self._cache_file() if self._cache_file else None
        with self._lock:
            if key in self._memo:
                return self._memo[key]
            records = self._records(cache_file)
            entry = records.get(str(real))
            if isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and \
                    (entry.get("size"), entry.get("mtime_ns")) == stamp:
                self._memo[key] = entry["sha256"]
                return entry["sha256"]
        digest = file_sha256(real)
        with self._lock:
            self._memo[key] = digest
            if cache_file is not None:
                # read again: another process may have added records since this one read it
                records = {**self._records(cache_file), **self._read(cache_file)}
                records[str(real)] = {"size": stamp[0], "mtime_ns": stamp[1], "sha256": digest}
                self._disk[cache_file] = records
                self._save(cache_file, records)
        return digest

    def _records(self, cache_file: Path | None) -> dict:
        if cache_file is None:
            return {}
        if cache_file not in self._disk:
            self._disk[cache_file] = self._read(cache_file)
        return self._disk[cache_file]

    @staticmethod
    def _read(cache_file: Path) -> dict:
        try:
            doc = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = {}
        return doc if isinstance(doc, dict) else {}

    @staticmethod
    def _save(cache_file: Path, records: dict) -> None:
        try:  # an optimisation only: an unwritable cache directory is not an error
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache_file, json.dumps(records, indent=0))
        except OSError:
            pass


def cache_dir() -> Path:
    """seamline's cache folder: ``$SEAMLINE_CACHE_DIR``, else ``$XDG_CACHE_HOME/seamline``,
    else ``~/.cache/seamline`` (read on each call, so a changed environment is followed)."""
    base = os.environ.get("SEAMLINE_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "seamline"


#: sha256 of a model file (64 hex digits), memoised per (path, size, mtime) in memory and in
#: ``<cache_dir()>/weights-sha256.json``: a few GB of weights take seconds to hash, and a
#: run directory's cache keys ask for it on every run. Raises ``OSError``.
model_sha256 = Sha256Memo(lambda: cache_dir() / "weights-sha256.json")
