"""Stand-in text encoders for tests, benchmarks and smoke runs (no download).

- :func:`make_tiny_text_encoder`: a small random-initialised transformers text encoder
  (CLIP, BERT or T5) with a word-level tokenizer, saved like any ``save_pretrained`` output,
  so :func:`seamline.translate.load_encoder`'s real loading path runs on it.
- :func:`distorted_encoder`: a synthetic "encoder B" (a fixed random nonlinear map of a real
  encoder plus per-prompt noise) where no second real encoder ships offline.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import numpy as np

from seamline.errors import InputError
from seamline.translate.encoders import Encoder, import_transformers

__all__ = ["make_tiny_text_encoder", "distorted_encoder"]


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
    tf = import_transformers()
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
