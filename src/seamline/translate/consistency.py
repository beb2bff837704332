"""``consistency: true``: one prompt encoder for every diffusion stage, translated at each handoff.

A pipeline file may say::

    consistency: true              # embed every diffusion stage's prompt with one encoder...
    prompt_encoder: minilm         # ...this one (default minilm), and translate it into each
    translation_maps: [a2sd.safetensors]   # stage's own text-encoder space with these maps
    prompt_pooling: auto           # optional: the encoder's pooling (as the map was fitted)
    prompt_device: cpu             # optional: torch device for encoder A

With ``consistency: true`` an ``encode-prompt`` stage named ``<stage>-prompt`` is inserted
before every stage that has a ``prompt_embedding`` port (generate, img2img, latent-inpaint)
not already wired by hand, and wired to it; the handoff then finds the embedding's encoder
differs from the stage's and, under ``reconcile``, the ``translate`` adapter
(:mod:`seamline.translate.target`) applies the map fitted between exactly these two encoders
(``seamline translate fit ... --target-pooling sequence``), recorded with its numbers like any
other adapter.

This module registers :class:`Consistency` with the core pipeline loader
(:func:`seamline.core.pipeline.register_spec_transform`) when imported; ``seamline.stages``
imports it. It lives in the translate package, not diffusion, because it reads translation
maps and checks encoder references, and translate already depends on diffusion.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from seamline.core.pipeline import SpecTransform, StageDecl, key_line, register_spec_transform
from seamline.core.stage import get_stage, parse_params
from seamline.core.stage import short_repr as _short
from seamline.errors import ConfigError, InputError
from seamline.translate import cached_map, looks_like_repo_id

#: The port a stage conditions through; the stage id inserted to feed it.
PORT = "prompt_embedding"
ENCODER_STAGE = "encode-prompt"
SUFFIX = "-prompt"
_OPTION_KEYS = ("prompt_encoder", "translation_maps", "prompt_pooling", "prompt_device")


class Consistency(SpecTransform):
    """The ``consistency`` pipeline keys (see the module docstring)."""

    keys = ("consistency",) + _OPTION_KEYS

    def __init__(self, doc: dict, err):
        super().__init__(doc, err)
        self.enabled, self.prompt_params, self.maps = _options(doc, err)
        self.inserted: set[str] = set()

    def claims(self, name: str) -> str | None:
        if name in self.inserted:
            return (f"is the name consistency: true gives the prompt encoder it inserts for "
                    f"stage {_short(name.removesuffix(SUFFIX))}")
        return None

    def stage(self, name, cls, params, wiring, available, line):
        if not self.enabled or PORT not in cls.spec.inputs:
            return params, wiring, []
        if self.maps and not params.translation_maps:
            params = dataclasses.replace(params, translation_maps=self.maps)
        if PORT in wiring:
            return params, wiring, []
        enc = self._encoder_stage(name, params, available, line)
        self.inserted.add(enc.name)
        return params, {**wiring, PORT: f"{enc.name}.embedding"}, [enc]

    def finish(self, decls):
        if self.enabled and not any(d.stage_id == ENCODER_STAGE or PORT in d.inputs
                                    for d in decls):
            raise self.err(key_line(self.doc, "consistency"),
                           "consistency: true, but no stage takes a prompt embedding "
                           "(generate, img2img, latent-inpaint)")
        return {"consistency": self.enabled,
                "prompt_encoder": self.prompt_params["encoder"] if self.enabled else None,
                "translation_maps": self.maps}

    @classmethod
    def override_hint(cls, name, names, raw):
        if name.endswith(SUFFIX) and name.removesuffix(SUFFIX) in names and \
                raw.get("consistency"):
            return ("is inserted by consistency: true; set its encoder, pooling and device "
                    "with the pipeline keys prompt_encoder, prompt_pooling, prompt_device")
        return None

    def _encoder_stage(self, sname: str, params: Any, available: dict, line: int
                       ) -> StageDecl:
        """The ``encode-prompt`` stage inserted before stage ``sname``."""
        name = f"{sname}{SUFFIX}"
        if name in available:
            raise self.err(line, f"stage '{sname}': consistency: true inserts a stage named "
                                 f"{_short(name)}, which already exists; rename that stage")
        cls = get_stage(ENCODER_STAGE)
        try:
            p = parse_params(cls.Params, {**self.prompt_params, "prompt": params.prompt},
                             where=f"stage '{name}' (inserted by consistency: true)")
        except ConfigError as e:
            raise self.err(line, str(e)) from None
        return StageDecl(name, cls.id, p, {}, None, line)


def _cut(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else _short(text, limit)


def _options(doc: dict, err) -> tuple[bool, dict, tuple[str, ...]]:
    """``consistency``, the inserted encoder's parameters and ``translation_maps``, checked.

    Maps are read now (header and arrays: a corrupt or foreign file fails here, before
    anything runs); whether one connects the right two encoders is checked by the runner's
    preflight, which needs the encoders' fingerprints.
    """
    consistency = doc.get("consistency", False)
    if not isinstance(consistency, bool):
        raise err(key_line(doc, "consistency"), f"consistency: expected true or false, got "
                                                f"{_short(consistency)}")
    for key in _OPTION_KEYS:
        if key in doc and not consistency:
            raise err(key_line(doc, key), f"{key}: only used with consistency: true")
    encoder = doc.get("prompt_encoder", "minilm")
    if not isinstance(encoder, str) or not encoder:
        raise err(key_line(doc, "prompt_encoder"), f"prompt_encoder: expected 'minilm' or an "
                                                   f"encoder folder, got {_short(encoder)}")
    if encoder != "minilm" and not Path(encoder).expanduser().is_dir() and \
            not looks_like_repo_id(encoder):
        raise err(key_line(doc, "prompt_encoder"), f"prompt_encoder: {_cut(encoder)}: "
                                                   "no such folder (expected 'minilm', a "
                                                   "text-encoder or diffusers folder, or a "
                                                   "cached repo id)")
    params = {"encoder": encoder}
    for key, field in (("prompt_pooling", "pooling"), ("prompt_device", "device")):
        if key in doc:
            params[field] = doc[key]
    maps = doc.get("translation_maps", [])
    if isinstance(maps, str):
        maps = [maps]
    if not isinstance(maps, list) or not all(isinstance(m, str) and m for m in maps):
        raise err(key_line(doc, "translation_maps"), f"translation_maps: expected a list of "
                                                     f"map files, got {_short(maps)}")
    if consistency:
        for m in maps:
            try:
                cached_map(Path(m).expanduser())
            except InputError as e:
                raise err(key_line(doc, "translation_maps"), f"translation_maps: {e}") from None
    return consistency, params, tuple(str(Path(m).expanduser()) for m in maps)


register_spec_transform("consistency", Consistency)
