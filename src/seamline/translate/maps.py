"""Fitted embedding maps: the object, its file format, and the checks at a handoff.

- :class:`EmbeddingMap`: ``apply`` (plain numpy), ``save`` (safetensors with the provenance
  in the header: method, dims, encoder fingerprints and names, held-out numbers, hashes of
  the training prompts); :func:`load_map` / :func:`cached_map` read it back.
- :func:`check_map_fits`, :func:`find_map`: a map connects exactly these two encoders
  (dimensions and fingerprints), or a one-line error says which map is missing and how to fit
  it.
- :func:`translate_embedding`: check, then apply: the one implementation of carrying an
  embedding across, used by the ``translate`` adapter at a pipeline handoff.

Maps are fitted by :mod:`seamline.translate.fit`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from seamline.core.artifacts import json_default
from seamline.core.atomic import write_bytes_atomic
from seamline.errors import InputError, first_line

__all__ = ["METHODS", "MAP_FORMAT", "MAP_VERSION", "EmbeddingMap", "load_map", "cached_map",
           "find_map", "check_map_fits", "translate_embedding"]

METHODS = ("ridge", "procrustes", "mlp")
MAP_FORMAT = "seamline.embedding_map"
MAP_VERSION = "1"


class EmbeddingMap:
    """A fitted map from a source encoder's embedding space to a target encoder's.

    Ridge and Procrustes maps are affine: ``y = (x - x_mean) @ weight + y_mean``. The MLP map
    adds a residual two-layer network (GELU) on standardised inputs. :meth:`apply` is plain
    numpy (torch is needed only to fit an MLP).

    Attributes
    ----------
    method : str
        ``"ridge"``, ``"procrustes"`` or ``"mlp"``.
    source_dim, target_dim : int
        Input and output dimensions.
    source_id, target_id : str or None
        Fingerprints of the encoders the map was fitted for (:attr:`Encoder.id`).
    source_name, target_name : str or None
        Their names, for messages.
    params : dict
        Fit parameters and provenance (alpha, seed, n_train, held-out metrics, ...).
    tensors : dict of str to numpy.ndarray
        The map's arrays.
    train_hashes : list of str or None
        Short hashes of the prompts the map was fitted on (set by :func:`fit_and_evaluate`),
        so an evaluation can say when its prompts are not held out.
    """

    def __init__(self, method: str, tensors: dict, *, source_id=None, target_id=None,
                 source_name=None, target_name=None, params: dict | None = None):
        if method not in METHODS:
            raise InputError(f"unknown map method {method!r}; expected one of "
                             f"{', '.join(METHODS)}")
        self.method = method
        self.tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
        self.source_dim = int(self.tensors["x_mean"].shape[0])
        self.target_dim = int(self.tensors["y_mean"].shape[0])
        self.source_id, self.target_id = source_id, target_id
        self.source_name, self.target_name = source_name, target_name
        self.params = dict(params or {})
        self.train_hashes: list[str] | None = None

    def apply(self, X) -> np.ndarray:
        """Map source embeddings to the target space.

        Parameters
        ----------
        X : array_like
            ``(n, source_dim)`` or ``(source_dim,)``.

        Returns
        -------
        numpy.ndarray
            float32, ``(n, target_dim)`` or ``(target_dim,)`` to match the input.

        Raises
        ------
        InputError
            When the last dimension is not ``source_dim`` (both dims named).
        """
        X = np.asarray(X, dtype=np.float32)
        single = X.ndim == 1
        if X.ndim not in (1, 2) or X.shape[-1] != self.source_dim:
            raise InputError(f"embedding of shape {X.shape} (dim {X.shape[-1] if X.ndim else 0}"
                             f") does not fit this {self.method} map, which takes dim "
                             f"{self.source_dim} ({self.source_name or 'source'}) to dim "
                             f"{self.target_dim} ({self.target_name or 'target'})")
        if not np.all(np.isfinite(X)):
            raise InputError("embedding has non-finite values")
        X2 = X[None] if single else X
        t = self.tensors
        if self.method == "mlp":
            z = (X2 - t["x_mean"]) / t["x_scale"]
            from scipy.special import erf

            h = z @ t["fc1.weight"].T + t["fc1.bias"]
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            out = z @ t["lin.weight"].T + t["lin.bias"] + h @ t["fc2.weight"].T + t["fc2.bias"]
            Y = out * t["y_scale"] + t["y_mean"]
        else:
            Y = (X2 - t["x_mean"]) @ t["weight"] + t["y_mean"]
        Y = Y.astype(np.float32)
        return Y[0] if single else Y

    def metadata(self) -> dict:
        """The safetensors header metadata (all strings)."""
        meta = {"format": MAP_FORMAT, "version": MAP_VERSION, "method": self.method,
                "source_dim": str(self.source_dim), "target_dim": str(self.target_dim),
                "params": json.dumps(self.params, sort_keys=True, default=json_default)}
        for k in ("source_id", "target_id", "source_name", "target_name"):
            if getattr(self, k) is not None:
                meta[k] = str(getattr(self, k))
        if self.train_hashes:
            meta["train_prompts"] = " ".join(self.train_hashes)
        try:
            from seamline._version import __version__
            meta["seamline"] = __version__
        except ImportError:  # pragma: no cover
            pass
        return meta

    def save(self, path) -> Path:
        """Write the map as safetensors (atomically: temp file in the same folder, renamed).

        Parameters
        ----------
        path : path
            Destination (``.safetensors`` by convention). Its folder must exist.

        Returns
        -------
        pathlib.Path
        """
        from safetensors.numpy import save

        path = Path(path)
        if path.is_dir():
            raise InputError(f"map output {path}: is a directory")
        if not path.parent.is_dir():
            raise InputError(f"map output {path}: folder {path.parent} does not exist")
        write_bytes_atomic(path, save(self.tensors, metadata=self.metadata()))
        return path

    def __repr__(self) -> str:
        return (f"EmbeddingMap({self.method!r}, {self.source_name or '?'} {self.source_dim} -> "
                f"{self.target_name or '?'} {self.target_dim})")


def load_map(path) -> EmbeddingMap:
    """Read a map written by :meth:`EmbeddingMap.save`.

    Raises
    ------
    InputError
        Missing file, not a safetensors file, or not a seamline embedding map.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InputError(f"map {path}: no such file")
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # noqa: BLE001 -- any decode failure is a bad file
        raise InputError(f"map {path}: not a safetensors file ({first_line(e)})") from None
    if meta.get("format") != MAP_FORMAT:
        raise InputError(f"map {path}: not a seamline embedding map (format "
                         f"{meta.get('format')!r})")
    if meta.get("version") != MAP_VERSION:
        raise InputError(f"map {path}: map format version {meta.get('version')!r}; this "
                         f"seamline reads version {MAP_VERSION}")
    need = {"x_mean", "y_mean"} | ({"weight"} if meta.get("method") != "mlp" else
                                   {"x_scale", "y_scale", "lin.weight", "lin.bias",
                                    "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"})
    if not need <= set(tensors):
        raise InputError(f"map {path}: missing arrays {sorted(need - set(tensors))}")
    try:
        params = json.loads(meta.get("params", "{}"))
    except ValueError:
        params = {}
    m = EmbeddingMap(meta.get("method", "?"), tensors, source_id=meta.get("source_id"),
                     target_id=meta.get("target_id"), source_name=meta.get("source_name"),
                     target_name=meta.get("target_name"), params=params)
    if meta.get("train_prompts"):
        m.train_hashes = meta["train_prompts"].split()
    if str(m.source_dim) != meta.get("source_dim") or str(m.target_dim) != meta.get("target_dim"):
        raise InputError(f"map {path}: header says {meta.get('source_dim')} -> "
                         f"{meta.get('target_dim')} but the arrays are {m.source_dim} -> "
                         f"{m.target_dim}")
    return m


def _ident(x):
    if x is None or isinstance(x, str):
        return x, None, x
    return getattr(x, "id", None), getattr(x, "dim", None), getattr(x, "name", None)


def check_map_fits(m: EmbeddingMap, *, source=None, target=None,
                   check_ids: bool = True) -> None:
    """Check a map against the encoders it is about to connect.

    Parameters
    ----------
    m : EmbeddingMap
    source, target : Encoder, str or None
        The encoder that produced the embeddings and the one whose space the receiving stage
        expects (an :class:`Encoder`, or just its ``id`` string). ``None`` skips that side.
    check_ids : bool
        Also require the encoders' fingerprints to equal the ones recorded in the map (a map
        fitted for other weights of the same size is silently wrong otherwise).

    Raises
    ------
    InputError
        Dims that do not fit (both named) or, with ``check_ids``, a different encoder.
    """
    for side, enc, dim, rec_id, rec_name in (
            ("source", source, m.source_dim, m.source_id, m.source_name),
            ("target", target, m.target_dim, m.target_id, m.target_name)):
        eid, edim, ename = _ident(enc)
        if edim is not None and edim != dim:
            raise InputError(f"map {m.source_dim} -> {m.target_dim} does not fit the {side} "
                             f"encoder {ename!r}: it has dim {edim}, the map's {side} dim is "
                             f"{dim}")
        if check_ids and eid is not None and rec_id is not None and eid != rec_id:
            raise InputError(f"map was fitted for {side} encoder {rec_name or '?'} "
                             f"(id {rec_id}), not {ename or '?'} (id {eid})")


_MAP_CACHE: dict = {}  # (path, mtime, size) -> EmbeddingMap


def cached_map(path) -> EmbeddingMap:
    """:func:`load_map` with a cache keyed by path, size and modification time."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return load_map(p)  # raises the one-line "no such file"
    key = (str(p.resolve()), st.st_ino, st.st_mtime_ns, st.st_ctime_ns, st.st_size)
    if key not in _MAP_CACHE:
        if len(_MAP_CACHE) >= 8:
            _MAP_CACHE.pop(next(iter(_MAP_CACHE)))
        _MAP_CACHE[key] = load_map(p)
    return _MAP_CACHE[key]


def find_map(paths: Sequence, *, source_id: str | None, target_id: str,
             source_name: str | None = None, target_name: str | None = None
             ) -> tuple[EmbeddingMap, str]:
    """The first map among ``paths`` fitted from exactly this source encoder to this target.

    Parameters
    ----------
    paths : sequence of path
        Candidate map files (a pipeline's ``translation_maps``).
    source_id, target_id : str
        Fingerprints (:attr:`Encoder.id`) of the producing and receiving encoders.
    source_name, target_name : str, optional
        For the message.

    Returns
    -------
    (EmbeddingMap, str)
        The map and its path.

    Raises
    ------
    InputError
        No candidates, an unreadable candidate, or none that connects these two encoders:
        one line listing what each candidate connects and the command that fits the missing
        map.
    """
    want = (f"{source_name or '?'} (id {source_id or 'none'}) to {target_name or '?'} "
            f"(id {target_id})")
    fit = ("fit one with: seamline translate fit --source ENC_A --target MODEL "
           "--target-pooling sequence -o MAP.safetensors")
    if not paths:
        raise InputError(f"an embedding from {want} needs a translation map and none is given "
                         f"(pipeline key translation_maps); {fit}")
    seen = []
    for path in paths:
        m = cached_map(path)
        if m.source_id == source_id and m.target_id == target_id:
            return m, str(path)
        seen.append(f"{Path(path).name}: {m.source_name or '?'} (id {m.source_id}) -> "
                    f"{m.target_name or '?'} (id {m.target_id})")
    raise InputError(f"no translation map from {want} among {len(seen)} given "
                     f"[{'; '.join(seen)}]; {fit}")


def translate_embedding(embedding, map_path_or_map, *, source_id=None,
                        target_id=None) -> np.ndarray:
    """Carry an embedding from encoder A into B's space through a map fitted between them.

    The one implementation of the crossing: the ``translate`` adapter calls it at a pipeline
    handoff (``consistency: true``) with the map :func:`find_map` picked. It refuses, with one
    line, any map that does not connect exactly these two encoders, then applies it.

    Parameters
    ----------
    embedding : array_like
        Prompt embedding(s) from encoder A as the map was fitted: ``(dim_a,)`` or
        ``(n, dim_a)`` (a ``"sequence"`` encoder's states flattened).
    map_path_or_map : path or EmbeddingMap
        A map from :func:`fit_map` / ``seamline translate fit``.
    source_id, target_id : str or Encoder, optional
        The producing and receiving encoders, as :attr:`Encoder.id` strings or
        :class:`Encoder` objects (which also check dims). When given, they must equal the
        ids recorded in the map.

    Returns
    -------
    numpy.ndarray
        float32 embedding(s) in B's space, ``(dim_b,)`` or ``(n, dim_b)``.

    Raises
    ------
    InputError
        Embedding dim != map's source dim, receiving encoder dim != map's target dim (both
        dims named), an encoder id that differs from the map's, or an unreadable map.
    """
    m = map_path_or_map if isinstance(map_path_or_map, EmbeddingMap) else load_map(
        map_path_or_map)
    check_map_fits(m, source=source_id, target=target_id)
    return m.apply(embedding)
