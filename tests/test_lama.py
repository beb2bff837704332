"""LaMa backend: architecture key names, checkpoint loading (and refusing), filling.

Everything runs on tiny generators with random weights built in code; no real checkpoint is
needed. The real big-lama key names and shapes are checked on the meta device (no memory).
"""

from __future__ import annotations

import dataclasses
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
safetensors_torch = pytest.importorskip("safetensors.torch")

from seamline.ops.inpaint import lama  # noqa: E402
from seamline.errors import InputError, StageError  # noqa: E402
from seamline.testing.tiny_lama import TINY_BLOCKS, TINY_NGF, tiny_lama_state  # noqa: E402

NGF, BLOCKS = TINY_NGF, TINY_BLOCKS  # same key pattern as big-lama (64, 18), ms forwards

# Real big-lama generator tensors (name, shape), as in the released checkpoints: names from
# advimman/lama saicinpainting/training/modules/ffc.py (FFCResNetGenerator built with the
# big-lama config that spandrel's LaMa architecture hard-codes: ngf 64, 18 blocks, resnet
# ratio 0.75, no LFU) and spandrel's detection keys; shapes follow from that config.
# Training checkpoints prefix them with "generator.", spandrel with "model.".
BIG_LAMA_KEYS = [
    ("model.1.ffc.convl2l.weight", (64, 4, 7, 7)),
    ("model.1.bn_l.running_mean", (64,)),
    ("model.2.ffc.convl2l.weight", (128, 64, 3, 3)),
    ("model.3.ffc.convl2l.weight", (256, 128, 3, 3)),
    ("model.3.bn_l.running_var", (256,)),
    ("model.4.ffc.convl2l.weight", (128, 256, 3, 3)),
    ("model.4.ffc.convl2g.weight", (384, 256, 3, 3)),
    ("model.4.bn_g.weight", (384,)),
    ("model.5.conv1.ffc.convl2l.weight", (128, 128, 3, 3)),
    ("model.5.conv1.ffc.convl2g.weight", (384, 128, 3, 3)),
    ("model.5.conv1.ffc.convg2l.weight", (128, 384, 3, 3)),
    ("model.5.conv1.ffc.convg2g.conv1.0.weight", (192, 384, 1, 1)),
    ("model.5.conv1.ffc.convg2g.conv1.1.bias", (192,)),
    ("model.5.conv1.ffc.convg2g.fu.conv_layer.weight", (384, 384, 1, 1)),
    ("model.5.conv1.ffc.convg2g.fu.bn.running_mean", (384,)),
    ("model.5.conv1.ffc.convg2g.conv2.weight", (384, 192, 1, 1)),
    ("model.5.conv1.bn_l.weight", (128,)),
    ("model.5.conv1.bn_g.bias", (384,)),
    ("model.22.conv2.ffc.convg2g.fu.conv_layer.weight", (384, 384, 1, 1)),
    ("model.22.conv2.bn_g.running_var", (384,)),
    ("model.24.weight", (512, 256, 3, 3)),  # ConvTranspose2d: (in, out, k, k)
    ("model.24.bias", (256,)),
    ("model.25.running_mean", (256,)),
    ("model.27.weight", (256, 128, 3, 3)),
    ("model.30.weight", (128, 64, 3, 3)),
    ("model.31.weight", (64,)),
    ("model.34.weight", (3, 64, 7, 7)),
    ("model.34.bias", (3,)),
]


@pytest.fixture(scope="module")
def state():
    return tiny_lama_state(0)


@pytest.fixture(scope="module")
def ckpts(state, tmp_path_factory):
    d = tmp_path_factory.mktemp("lama")
    st, pt = d / "lama.safetensors", d / "lama.pt"
    safetensors_torch.save_file(state, str(st))
    torch.save(state, pt)
    return st, pt


@pytest.fixture(autouse=True)
def _fresh_cache():
    lama.clear_lama_cache()
    yield
    lama.clear_lama_cache()


def _scene(h=48, w=56, seed=1):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    image = np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 3)], axis=-1).astype(np.float32)
    image = np.clip(image + rng.normal(0, 0.02, image.shape), 0, 1).astype(np.float32)
    mask = np.zeros((h, w), np.float32)
    mask[h // 3 : h // 3 + 9, w // 4 : w // 4 + 13] = 1
    return image, mask


def _one_line_input_error(call, *fragments):
    with pytest.raises(InputError) as exc:
        call()
    msg = str(exc.value)
    assert "\n" not in msg
    for f in fragments:
        assert f in msg, msg
    return msg


# ------------------------------------------------------------------------- architecture
def test_key_names_and_shapes_match_big_lama():
    with torch.device("meta"):
        sd = lama.lama_generator().state_dict()
    for name, shape in BIG_LAMA_KEYS:
        assert name in sd, name
        assert tuple(sd[name].shape) == shape, name
    # Two further public anchors for big-lama: 989 state-dict entries, 51,057,179 numbers.
    assert len(sd) == 989
    assert sum(v.numel() for v in sd.values()) == 51_057_179
    # Parameter-free layers (pads, concat, ReLU, sigmoid) own no keys, as in the checkpoints.
    assert not any(k.split(".")[1] in {"0", "23", "26", "29", "32", "33", "35"} for k in sd)
    assert not any(".lfu." in k or ".gate." in k for k in sd)


def test_fourier_unit_uses_the_reference_channel_layout():
    """Real/imaginary parts interleave per channel exactly as in advimman/lama's FourierUnit."""
    torch.manual_seed(0)
    fu = lama.lama_generator(ngf=NGF, n_blocks=1).model[5].conv1.ffc.convg2g.fu
    with torch.no_grad():
        fu.bn.running_mean.normal_()
    x = torch.randn(2, fu.conv_layer.in_channels // 2, 6, 10)
    with torch.no_grad():
        b = x.shape[0]
        f = torch.fft.rfftn(x, dim=(-2, -1), norm="ortho")
        f = torch.stack((f.real, f.imag), dim=-1).permute(0, 1, 4, 2, 3).contiguous()
        f = f.view((b, -1) + f.size()[3:])
        f = fu.relu(fu.bn(fu.conv_layer(f)))
        f = f.view((b, -1, 2) + f.size()[2:]).permute(0, 1, 3, 4, 2).contiguous()
        f = torch.complex(f[..., 0], f[..., 1])
        ref = torch.fft.irfftn(f, s=x.shape[-2:], dim=(-2, -1), norm="ortho")
        assert torch.allclose(fu(x), ref, atol=1e-6)


# ---------------------------------------------------------------------------- loading
def test_safetensors_and_torch_save_give_the_same_deterministic_fill(ckpts):
    st, pt = ckpts
    m1, m2 = lama.load_lama(st), lama.load_lama(pt)
    assert (m1.ngf, m1.n_blocks, m1.key_prefix, m1.device) == (NGF, BLOCKS, "", "cpu")
    image, mask = _scene()
    a, b = lama.lama_fill(m1, image, mask), lama.lama_fill(m2, image, mask)
    assert np.array_equal(a, b)
    assert np.array_equal(a, lama.lama_fill(m1, image, mask))  # deterministic
    assert not np.array_equal(a[mask > 0], image[mask > 0])  # something was filled


def test_unwraps_the_usual_containers_and_prefixes(state, tmp_path):
    image, mask = _scene()
    expected = lama.lama_fill(lama.load_lama(_save(tmp_path / "bare.pt", state)), image, mask)
    lightning = {  # LaMa's training checkpoints: Lightning dict, generator under "generator."
        "epoch": 3,
        "state_dict": {
            **{f"generator.{k}": v for k, v in state.items()},
            "discriminator.model0.0.weight": torch.zeros(64, 3, 4, 4),
        },
    }
    variants = {
        "lightning.ckpt": lightning,
        "spandrel.pt": {f"model.{k}": v for k, v in state.items()},  # spandrel's LaMa wrapper
        "jit_state.pt": {f"model.generator.{k}": v for k, v in state.items()},
        "nested.pth": {"params": dict(state)},
        # exports that drop BatchNorm's num_batches_tracked
        "no_nbt.safetensors": {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")},
    }
    prefixes = {}
    for name, obj in variants.items():
        m = lama.load_lama(_save(tmp_path / name, obj))
        prefixes[name] = m.key_prefix
        assert np.array_equal(lama.lama_fill(m, image, mask), expected), name
    assert prefixes == {"lightning.ckpt": "state_dict.generator.", "spandrel.pt": "model.",
                        "jit_state.pt": "model.generator.", "nested.pth": "params.", "no_nbt.safetensors": ""}


def test_half_precision_checkpoint_is_upcast(state, tmp_path):
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}
    m = lama.load_lama(_save(tmp_path / "half.safetensors", half))
    assert all(p.dtype == torch.float32 for p in m.net.parameters())
    image, mask = _scene()
    out = lama.lama_fill(m, image, mask)
    assert out.dtype == np.float32 and np.isfinite(out).all()


def test_models_are_cached_per_path_and_mtime(ckpts):
    st, _ = ckpts
    m = lama.load_lama(st)
    assert lama.load_lama(str(st)) is m
    assert lama.load_lama(st, cache=False) is not m
    stat = os.stat(st)
    os.utime(st, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert lama.load_lama(st) is not m


# ------------------------------------------------------------------------------ filling
@pytest.mark.parametrize("hw", [(48, 56), (37, 53), (5, 7), (1, 9)])
def test_fill_keeps_unmasked_pixels_bit_identical(ckpts, hw):
    image, _ = _scene(*hw)
    mask = np.zeros(hw, np.float32)
    mask[hw[0] // 2, : hw[1] // 2 + 1] = 1  # touches the left border
    mask[-1, -1] = 0.4  # soft value in the corner: blends
    out = lama.lama_fill(lama.load_lama(ckpts[0]), image, mask, context_px=6)
    assert out.shape == image.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1
    assert np.array_equal(out[mask == 0], image[mask == 0])
    assert np.array_equal(out.view(np.uint32)[mask == 0], image.view(np.uint32)[mask == 0])


def test_network_input_is_masked_rgb_plus_binary_mask_padded_to_8(ckpts):
    model = lama.load_lama(ckpts[0])
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x):
            seen.append(x.clone())
            return model.net(x)

    image, _ = _scene(30, 21)
    mask = np.zeros((30, 21), np.float32)
    mask[10:14, 5:9] = 0.5  # soft: still "unknown" for the network
    lama.lama_fill(dataclasses.replace(model, net=Spy()), image, mask, context_px=100)
    (x,) = seen
    assert x.shape == (1, 4, 32, 24) and x.dtype == torch.float32
    rgb, m = x[0, :3, :30, :21].numpy().transpose(1, 2, 0), x[0, 3, :30, :21].numpy()
    assert np.array_equal(m, (mask > 0).astype(np.float32))
    assert np.array_equal(rgb[mask > 0], np.zeros_like(rgb[mask > 0]))
    assert np.array_equal(rgb[mask == 0], image[mask == 0])


def test_fill_accepts_a_path_and_handles_trivial_masks(ckpts):
    image, mask = _scene()
    assert np.array_equal(lama.lama_fill(ckpts[0], image, mask),
                          lama.lama_fill(lama.load_lama(ckpts[0]), image, mask))
    empty = lama.lama_fill(ckpts[0], image, np.zeros_like(mask))
    assert np.array_equal(empty, image) and empty is not image
    with pytest.raises(StageError, match="whole image"):
        lama.lama_fill(ckpts[0], image, np.ones_like(mask))
    _one_line_input_error(lambda: lama.lama_fill(object(), image, mask), "model:")
    _one_line_input_error(lambda: lama.lama_fill(ckpts[0], image, mask, context_px=-1), "context_px")
    _one_line_input_error(lambda: lama.lama_fill(ckpts[0], image, mask[:-1]), "mask")


# ------------------------------------------------------------------------------- errors
def _save(path, obj):
    if path.suffix == ".safetensors":
        safetensors_torch.save_file(obj, str(path))
    else:
        torch.save(obj, path)
    return path


class _NotATensor:
    pass


def test_missing_path_and_directory(tmp_path):
    missing = tmp_path / "nope.safetensors"
    _one_line_input_error(lambda: lama.load_lama(missing), "nope.safetensors", "does not exist")
    _one_line_input_error(lambda: lama.load_lama(tmp_path), str(tmp_path), "is a directory")


@pytest.mark.parametrize("name", ["junk.pt", "junk.safetensors", "junk.ckpt"])
def test_random_bytes_are_not_a_checkpoint(tmp_path, name):
    p = tmp_path / name
    p.write_bytes(b"\x13" + np.random.default_rng(0).bytes(4000))
    _one_line_input_error(lambda: lama.load_lama(p), name, "not a checkpoint")


def test_esrgan_state_dict_is_another_architecture(tmp_path):
    esrgan = {
        "conv_first.weight": torch.zeros(64, 3, 3, 3),
        "conv_first.bias": torch.zeros(64),
        "body.0.rdb1.conv1.weight": torch.zeros(32, 64, 3, 3),
        "conv_last.weight": torch.zeros(3, 64, 3, 3),
    }
    for name in ("esrgan.safetensors", "esrgan.pth"):
        p = _save(tmp_path / name, {"params_ema": esrgan} if name.endswith("pth") else esrgan)
        msg = _one_line_input_error(lambda: lama.load_lama(p), name, "holds no LaMa generator",
                                    "missing key model.1.ffc.convl2l.weight")
        assert "conv_first.weight" in msg


def test_right_names_wrong_shapes(state, tmp_path):
    bad = dict(state)
    k = "model.5.conv1.ffc.convg2g.fu.conv_layer.weight"
    bad[k] = torch.zeros(bad[k].shape[0], bad[k].shape[1] // 2, 1, 1)
    _one_line_input_error(lambda: lama.load_lama(_save(tmp_path / "shape.safetensors", bad)), k, "has shape")
    bad = dict(state, **{lama.ANCHOR_KEY: torch.zeros(NGF, 3, 7, 7)})  # RGB-only input conv
    _one_line_input_error(lambda: lama.load_lama(_save(tmp_path / "rgb.pt", bad)), "(ngf, 4, 7, 7)")
    missing = {k: v for k, v in state.items() if "convg2l" not in k}
    _one_line_input_error(lambda: lama.load_lama(_save(tmp_path / "miss.pt", missing)), "is missing")
    extra = dict(state, **{"model.5.conv1.ffc.convg2g.lfu.conv_layer.weight": torch.zeros(1)})
    _one_line_input_error(lambda: lama.load_lama(_save(tmp_path / "lfu.pt", extra)), "does not have", ".lfu.")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, to build the archive
def test_pickled_objects_and_torchscript_are_refused(state, tmp_path):
    p = tmp_path / "pickled.ckpt"
    torch.save({"state_dict": state, "hyper_parameters": _NotATensor()}, p)
    _one_line_input_error(lambda: lama.load_lama(p), "pickled.ckpt", "weights_only", "never unpickles",
                          "_NotATensor")
    legacy = tmp_path / "legacy.pt"
    torch.save({"cfg": _NotATensor()}, legacy, _use_new_zipfile_serialization=False)
    _one_line_input_error(lambda: lama.load_lama(legacy), "never unpickles")
    ts = tmp_path / "big-lama.pt"
    torch.jit.script(torch.nn.Conv2d(4, 3, 1)).save(str(ts))
    _one_line_input_error(lambda: lama.load_lama(ts), "big-lama.pt", "TorchScript")
    empty = _save(tmp_path / "empty.pt", {"epoch": 1})
    _one_line_input_error(lambda: lama.load_lama(empty), "holds no tensors")


def test_bad_device(ckpts):
    _one_line_input_error(lambda: lama.load_lama(ckpts[0], device="gpu-please"), "device")
    if not torch.cuda.is_available():
        with pytest.raises(StageError, match="not available"):
            lama.load_lama(ckpts[0], device="cuda")


def test_without_torch_the_error_names_the_extra(ckpts, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(StageError, match=r"pip install 'seamline\[torch\]'"):
        lama.load_lama(ckpts[0])
