"""The run's memo of artifact measurements, digests and lossless conversions.

One artifact is handed to several stages (the input image goes to every stage of
``remove-text``); each handoff measures it, hashes it for the cache key, and may expand a grey
image to RGB. The memo does each once per artifact (:class:`ArtifactMemo`).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from seamline.core import artifacts
from seamline.core.adapters import get_adapter
from seamline.core.contracts import PortSpec


class ArtifactMemo:
    """Measurements and digests of a run's artifacts, each computed once.

    The same artifact is handed to several stages (the input image goes to every stage of
    ``remove-text``) and each handoff measures it and hashes it for the cache key: at
    1024x768 that is ~25 ms a time. Stages never modify their inputs (they return new
    arrays), so an artifact is keyed by identity; the memo holds a reference to each value so
    an identity is never reused within the run.
    """

    def __init__(self):
        self._keep: list = []
        self._stats: dict = {}
        self._digests: dict = {}
        self._adapted: dict = {}
        self._hasher: ThreadPoolExecutor | None = None

    def measure(self, kind: str, value: Any, extra=()) -> dict:
        """The artifact's statistics and the ``extra`` ones (with those they use); each
        measured once per artifact, whichever handoff asked first."""
        key = (kind, id(value))
        known = self._stats.get(key)
        if known is None:
            self._keep.append(value)
        if known is None or not set(extra) <= known.keys():
            self._stats[key] = artifacts.measure(kind, value, extra=extra, known=known)
        wanted = _with_uses(kind, extra)
        return {k: v for k, v in self._stats[key].items()
                if k in wanted or k not in artifacts.EXTRA_STATS.get(kind, {})}

    def adapt(self, adapter_id: str, value: Any, port: PortSpec) -> tuple[Any, dict]:
        """A lossless adapter's result (``to_rgb``), made once per artifact: a grey input
        handed to several RGB stages is expanded once, not once per stage."""
        key = (adapter_id, id(value))
        if key not in self._adapted:
            self._keep.append(value)
            self._adapted[key] = get_adapter(adapter_id)(value, port)
        out, params = self._adapted[key]
        return out, dict(params)

    def remember_digest(self, kind: str, value: Any, digest: str) -> None:
        """Record a digest computed elsewhere (a verified cache load), so it is not redone."""
        self._keep.append(value)
        self._digests[(kind, id(value))] = digest

    def digest(self, kind: str, value: Any) -> str:
        key = (kind, id(value))
        if key not in self._digests:
            self._keep.append(value)
            self._digests[key] = artifacts.digest(kind, value)
        found = self._digests[key]
        if isinstance(found, Future):  # hashed by :meth:`digest_soon`: its result
            found = self._digests[key] = found.result()
        return found

    def digest_soon(self, kind: str, value: Any) -> None:
        """Start hashing an image or mask artifact on a helper thread; :meth:`digest` gives
        the result (waiting for it if need be).

        For a run in memory, whose digests only the manifest reads: at 1024x768 they are
        ~15 ms a ``remove-text`` run of the main thread (sha256 over ~40 MB), which the
        helper spends while the next stage runs (hashlib releases the GIL). The caller reads
        every digest before it hands the run back (:meth:`close`), so the bytes hashed are
        the artifact's as the stage made it (stages never modify their inputs). Other kinds
        (reports, JSON) are hashed at once: they are small."""
        key = (kind, id(value))
        if key in self._digests:
            return
        if kind not in ("image", "mask"):
            self.digest(kind, value)
            return
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seamline-digest")
        self._keep.append(value)
        self._digests[key] = self._hasher.submit(artifacts.digest, kind, value)

    def close(self) -> None:
        """Stop the helper thread of :meth:`digest_soon` (after the digests were read; one
        still hashing finishes on its own)."""
        if self._hasher is not None:
            self._hasher.shutdown(wait=False)
            self._hasher = None


def _with_uses(kind: str, extra) -> set:
    """``extra`` and, recursively, the statistics they are computed from."""
    out, todo = set(), list(extra)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo += artifacts.STAT_USES.get((kind, name), ())
    return out
