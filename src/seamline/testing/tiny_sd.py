"""Tiny random Stable Diffusion-layout models for tests, benchmarks and smoke runs.

Built in code with fixed seeds, as diffusers' own tests do: no download, a few hundred kB,
about a second to build. A real CLIP architecture and loading path, random weights (the
images they make are noise; what is tested is the plumbing and the numbers' provenance).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from seamline.diffusion import SCHEDULERS
from seamline.diffusion.loading import import_diffusers, quiet_loading

__all__ = ["save_tiny_model", "write_tiny_vocab"]


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2/CLIP's byte -> printable-character table (byte-level BPE alphabet)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def write_tiny_vocab(folder: str | os.PathLike) -> Path:
    """Write a byte-level CLIP BPE vocabulary with no merges (every byte a token, with and
    without the end-of-word mark) and return the folder: ``CLIPTokenizer.from_pretrained``
    reads it without any download. 514 tokens."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    chars = list(_bytes_to_unicode().values())
    for suffix in ("", "</w>"):
        for c in chars:
            vocab[c + suffix] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return folder


def save_tiny_model(folder: str | os.PathLike, *, seed: int = 0, inpainting: bool = False,
                    vae_blocks: int = 4, channels: int = 8, latent_channels: int = 4,
                    scaling_factor: float = 0.18215, cross_attention_dim: int = 32,
                    scheduler: str = "ddim") -> Path:
    """Build a tiny Stable Diffusion-layout pipeline with random weights (fixed seed) and save
    it as a diffusers folder, as diffusers' own tests do.

    UNet: 2 blocks (``channels``, ``2 * channels``), one cross-attention block; VAE:
    ``vae_blocks`` blocks of ``channels`` (VAE factor ``2 ** (vae_blocks - 1)``, 8 by default
    like SD); CLIP text encoder: 2 layers of width ``cross_attention_dim``; CLIP tokenizer from
    :func:`write_tiny_vocab`. A few hundred kB; builds in about a second.

    Returns
    -------
    Path
        The folder, loadable by :func:`seamline.diffusion.load_model`.
    """
    import torch

    diffusers, SD, _, SDInp = import_diffusers()
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(channels, 2 * channels), layers_per_block=1, sample_size=8,
        in_channels=2 * latent_channels + 1 if inpainting else latent_channels,
        out_channels=latent_channels, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=cross_attention_dim, norm_num_groups=4, attention_head_dim=2)
    torch.manual_seed(seed + 1)
    vae = diffusers.AutoencoderKL(
        block_out_channels=[channels] * vae_blocks, in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * vae_blocks,
        up_block_types=["UpDecoderBlock2D"] * vae_blocks, latent_channels=latent_channels,
        norm_num_groups=4, sample_size=8 * 2 ** (vae_blocks - 1), scaling_factor=scaling_factor)
    torch.manual_seed(seed + 2)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=cross_attention_dim,
        intermediate_size=2 * cross_attention_dim, num_attention_heads=4, num_hidden_layers=2,
        layer_norm_eps=1e-5, vocab_size=514, max_position_embeddings=77))
    tokenizer = CLIPTokenizer.from_pretrained(str(write_tiny_vocab(folder / "_vocab")),
                                              model_max_length=77, local_files_only=True)
    sched_cls = getattr(diffusers, SCHEDULERS[scheduler])
    sched = sched_cls(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                      steps_offset=1, **({"clip_sample": False, "set_alpha_to_one": False}
                                         if scheduler == "ddim" else {}))
    cls = SDInp if inpainting else SD
    pipe = cls(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
               scheduler=sched, safety_checker=None, feature_extractor=None,
               requires_safety_checker=False)
    with quiet_loading():
        pipe.save_pretrained(str(folder))
    import shutil

    shutil.rmtree(folder / "_vocab", ignore_errors=True)
    return folder
