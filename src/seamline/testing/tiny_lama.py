"""Tiny LaMa generators with random weights, for tests and benchmarks (no checkpoint needed).

The architecture is the library's own (:func:`seamline.ops.inpaint.lama.lama_generator`), so
the key names follow big-lama's pattern; ``ngf=8, n_blocks=2`` instead of (64, 18) makes a
forward pass take milliseconds. BatchNorm statistics are randomised too, so a checkpoint that
loses them (or a loader that ignores them) changes the fill and a test sees it.
"""

from __future__ import annotations

__all__ = ["TINY_NGF", "TINY_BLOCKS", "tiny_lama_generator", "tiny_lama_state"]

TINY_NGF, TINY_BLOCKS = 8, 2


def tiny_lama_generator(seed: int = 0, *, ngf: int = TINY_NGF, n_blocks: int = TINY_BLOCKS):
    """A LaMa FFC generator (torch module) with random weights *and* random BatchNorm
    statistics, fixed by ``seed``."""
    import torch

    from seamline.ops.inpaint.lama import lama_generator

    torch.manual_seed(seed)
    net = lama_generator(ngf=ngf, n_blocks=n_blocks)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    return net


def tiny_lama_state(seed: int = 0, *, ngf: int = TINY_NGF, n_blocks: int = TINY_BLOCKS) -> dict:
    """The state dict of :func:`tiny_lama_generator` (tensors cloned: safe to save or edit)."""
    net = tiny_lama_generator(seed, ngf=ngf, n_blocks=n_blocks)
    return {k: v.clone() for k, v in net.state_dict().items()}
