"""``encode-prompt``: embed a prompt with a text encoder (encoder A of a consistency pipeline).

The embedding carries its encoder's fingerprint, name and pooling. A diffusion stage that
receives it checks that fingerprint against its own text encoder; when they differ, the
``translate`` adapter carries it into the receiver's space through a fitted map (see
:mod:`seamline.translate`). With ``consistency: true`` the pipeline inserts one of these
before every diffusion stage and wires it to the stage's ``prompt_embedding`` port.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from seamline.core.contracts import PortSpec, StageSpec
from seamline.core.stage import Stage, StageResult


class EncodePrompt(Stage):
    id = "encode-prompt"
    spec = StageSpec(
        inputs={},
        outputs={"embedding": PortSpec("embedding", doc="the prompt's embedding with its "
                                                        "encoder's fingerprint")},
        requires=("torch", "transformers"),
        doc="Embed a prompt with a local text encoder ('minilm', a transformers folder or a "
            "diffusers pipeline's text encoder); offline.",
    )

    @dataclass(frozen=True)
    class Params:
        encoder: str = "minilm"      #: 'minilm', a text-encoder folder or a diffusers folder
        prompt: str = ""
        pooling: Literal["auto", "mean", "pooled", "cls", "sequence"] = "auto"
        device: str = "cpu"

    @classmethod
    def cache_token(cls, params) -> str:
        from seamline.translate import load_encoder

        return load_encoder(params.encoder, pooling=params.pooling, lazy=True).id

    @classmethod
    def stand_in(cls, params) -> dict:
        """A zero embedding of the encoder's shape carrying its fingerprint (config and
        tokenizer only, no weights): what the preflight checks a translation map against."""
        import numpy as np

        from seamline.core.artifacts import Embedding
        from seamline.translate import load_encoder

        enc = load_encoder(params.encoder, pooling=params.pooling, device=params.device,
                           lazy=True)
        return {"embedding": Embedding(np.zeros(enc.shape, np.float32), enc.identity())}

    def run(self, ctx):
        import numpy as np

        from seamline.translate import load_encoder

        p = self.params
        enc = load_encoder(p.encoder, pooling=p.pooling, device=p.device)
        emb = enc.embed_prompt(p.prompt)
        return StageResult(outputs={"embedding": emb},
                           report={"encoder": enc.name, "encoder_id": enc.id,
                                   "pooling": enc.pooling, "shape": list(enc.shape),
                                   "norm": float(np.linalg.norm(emb.data))})
