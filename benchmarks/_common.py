"""Helpers the benchmark scripts share (run as scripts, so imported from this folder)."""

from __future__ import annotations

import os
from pathlib import Path


def offline() -> None:
    """Hugging Face offline before transformers is imported: benchmarks never download."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temp file and a rename: no half-written tables."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
