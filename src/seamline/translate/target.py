"""The receiving side of a prompt-embedding handoff, and the adapter that reaches it.

:class:`EncoderTarget` is what a diffusion stage puts in its ``prompt_embedding`` port's
contract (``PortSpec(encoder=...)``; the core sees it only through
:class:`seamline.core.contracts.EmbeddingTarget`). :func:`translate` is the ``translate``
adapter the contract's ``encoder`` rule names, registered with the core on import
(``seamline.stages`` imports this module).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from seamline.core.adapters import register_adapter
from seamline.core.artifacts import Embedding
from seamline.core.contracts import PortSpec
from seamline.diffusion import resolve_model
from seamline.errors import InputError
from seamline.translate import find_map, load_encoder, translate_embedding


class EncoderTarget:
    """The text-encoder space an embedding port expects: a diffusion model's own conditioning.

    Built from the receiving model (a diffusers folder) and resolved lazily: the encoder's
    identity (fingerprint, token count, width) is read from its config and tokenizer the first
    time a check needs it, so a stage whose ``prompt_embedding`` port is not wired pays nothing.

    Parameters
    ----------
    model : str
        The receiving diffusion model (diffusers pipeline folder).
    maps : tuple of str
        Translation maps (``seamline translate fit``) the ``translate`` adapter may use to bring
        an embedding from another encoder into this space.
    """

    def __init__(self, model: str, maps: tuple[str, ...] = ()):
        self.model = str(model)
        self.maps = tuple(str(Path(m).expanduser()) for m in maps)
        self._encoder = None

    @property
    def encoder(self):
        """The receiving :class:`seamline.translate.Encoder` (``pooling="sequence"``, lazy)."""
        if self._encoder is None:
            if Path(self.model).expanduser().is_file():
                src = None
            else:
                src = resolve_model(self.model)
            if src is None or src.kind == "single-file":
                raise InputError(f"model {self.model}: a single-file checkpoint; a prompt "
                                 "embedding handoff needs a diffusers folder (its text_encoder/ "
                                 "and tokenizer/ define the receiving space)")
            self._encoder = load_encoder(src.path, pooling="sequence", lazy=True)
        return self._encoder

    @property
    def id(self) -> str:
        return self.encoder.id

    @property
    def name(self) -> str:
        return self.encoder.name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.encoder.shape

    def describe(self) -> str:
        return f"encoder {self.name} (id {self.id}), {_shape_str(self.shape)}"

    def ok(self, stats: dict) -> bool:
        return stats.get("encoder") == self.id and tuple(stats.get("shape", ())) == self.shape

    def __eq__(self, other) -> bool:
        return isinstance(other, EncoderTarget) and (self.model, self.maps) == (other.model,
                                                                                  other.maps)

    def __hash__(self) -> int:
        return hash((self.model, self.maps))

    def __repr__(self) -> str:
        return f"EncoderTarget({self.model!r}, maps={self.maps!r})"


def _shape_str(shape) -> str:
    return "x".join(str(int(v)) for v in shape)


def translate(value: Any, port: PortSpec) -> tuple[Any, dict]:
    """Carry a prompt embedding from its encoder's space into the receiving encoder's.

    The map is the one in ``port.encoder.maps`` fitted from exactly the embedding's encoder
    to the receiver's (fingerprints compared, see :func:`seamline.translate.find_map`). The
    result has the receiver's per-token shape and metadata naming the receiving encoder, with
    ``translated_from`` recording the source encoder and the map.
    """
    target = port.encoder
    emb = value if isinstance(value, Embedding) else Embedding(np.asarray(value))
    meta = emb.metadata
    m, path = find_map(target.maps, source_id=meta.get("encoder"), target_id=target.id,
                       source_name=meta.get("encoder_name"), target_name=target.name)
    out = translate_embedding(emb.data.reshape(-1), m, source_id=meta.get("encoder"),
                              target_id=target.encoder).reshape(target.shape)
    heldout = m.params.get("heldout") or {}
    params = {"map": path, "method": m.method, "source": m.source_name, "target": m.target_name,
              "source_dim": m.source_dim, "target_dim": m.target_dim,
              "heldout_cosine": heldout.get("cosine"), "heldout_top1": heldout.get("top1"),
              "heldout_baseline_top1": heldout.get("baseline_top1")}
    new_meta = {**meta, **target.encoder.identity(),
                "translated_from": {"encoder": meta.get("encoder"),
                                    "encoder_name": meta.get("encoder_name"),
                                    "pooling": meta.get("pooling"), "map": path,
                                    "method": m.method}}
    return Embedding(out, new_meta), params


register_adapter("translate", translate)
