"""Upscalers through spandrel: the torchvision shim, safe checkpoint loading, tiled inference.

Models are tiny, random-weight instances of spandrel's own architecture classes (Real-ESRGAN
Compact, ESRGAN/RRDBNet), built and saved by the tests; no real checkpoint is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from seamline.ops.upscale import _torchvision_shim as shim

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
try:  # spandrel imports torchvision: go through the shim first, as seamline.ops.upscale does
    shim.import_spandrel()
except ImportError:
    pass  # not installed: the importorskip below skips the module
spandrel = pytest.importorskip("spandrel")

from safetensors.torch import save_file  # noqa: E402

from seamline.ops import upscale as upscalers  # noqa: E402
from seamline.errors import InputError  # noqa: E402
from seamline.ops.upscale import UpscalerModel, load_upscaler, model_upscale  # noqa: E402
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402

HAVE_REAL_TORCHVISION = shim.shim_used() is False


@pytest.fixture
def photo(astronaut):
    return np.ascontiguousarray(astronaut[96:196, 160:280])  # 100 x 120, face and helmet edges


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # Tiny convolutions: on a busy shared CPU, torch's thread pool costs far more than it gains.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _fresh_cache():
    upscalers.clear_upscaler_cache()
    yield
    upscalers.clear_upscaler_cache()


def _compact(scale=2, channels=3, seed=0):
    torch.manual_seed(seed)
    return Compact(num_in_ch=channels, num_out_ch=channels, num_feat=8, num_conv=2, upscale=scale).eval()


def _esrgan(scale=4, seed=0):
    torch.manual_seed(seed)
    net = ESRGAN(num_filters=8, num_blocks=1, scale=scale).eval()
    with torch.no_grad():  # random weights give outputs around 0.07: lift them to mid-range
        net.state_dict()[list(net.state_dict())[-1]].add_(0.4)  # the final conv's bias
    return net


def _save_safetensors(net, path):
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


# ---------------------------------------------------------------------------- the shim
def test_spandrel_imports_without_exposing_a_fake_torchvision():
    import importlib.util

    assert "ESRGAN" in spandrel.MAIN_REGISTRY and "Compact" in spandrel.MAIN_REGISTRY
    if HAVE_REAL_TORCHVISION:
        pytest.skip("a real torchvision is installed: nothing is shimmed")
    assert shim.shim_used() is True
    # The stand-ins were visible only while spandrel's modules ran.
    assert not any(n == "torchvision" or n.startswith("torchvision.") for n in sys.modules)
    assert importlib.util.find_spec("torchvision") is None
    # ... and what spandrel bound is the shim's.
    assert sys.modules["spandrel.architectures.RestoreFormer"].tv_normalize is shim.normalize
    assert sys.modules["spandrel.architectures.LaMa.__arch.LaMa"].rotate is shim.rotate
    assert shim.import_spandrel() is spandrel  # idempotent


def test_shim_normalize_matches_torchvision_semantics():
    x = torch.rand(2, 3, 5, 4)
    out = shim.normalize(x, [0.5, 0.4, 0.3], [0.5, 0.25, 2.0])
    ref = (x - torch.tensor([0.5, 0.4, 0.3]).view(3, 1, 1)) / torch.tensor([0.5, 0.25, 2.0]).view(3, 1, 1)
    torch.testing.assert_close(out, ref)
    assert not torch.equal(out, x)  # not in place by default
    y = x.clone()
    assert shim.normalize(y, [0.5] * 3, [0.5] * 3, inplace=True) is y
    torch.testing.assert_close(y, x * 2 - 1)
    with pytest.raises(ValueError, match="division by zero"):
        shim.normalize(x, [0.0] * 3, [1.0, 0.0, 1.0])
    with pytest.raises(TypeError, match="float tensor"):
        shim.normalize(torch.zeros(3, 2, 2, dtype=torch.uint8), [0.0] * 3, [1.0] * 3)
    with pytest.raises(ValueError, match="tensor image"):
        shim.normalize(torch.zeros(2, 2), [0.0], [1.0])


def test_shim_rotate_refuses_clearly():
    assert shim.InterpolationMode.BILINEAR.value == "bilinear"
    with pytest.raises(NotImplementedError, match="torchvision is not installed"):
        shim.rotate(torch.zeros(1, 3, 4, 4), 30.0, shim.InterpolationMode.BILINEAR, fill=0)


def _fake_torchvision(root: Path, broken: bool) -> None:
    pkg = root / "torchvision"
    (pkg / "transforms").mkdir(parents=True)
    if broken:  # what a torchvision built for another torch does on import
        (pkg / "__init__.py").write_text('raise RuntimeError("operator torchvision::nms does not exist")\n')
        (pkg / "transforms" / "__init__.py").write_text("")
        (pkg / "transforms" / "functional.py").write_text("")
        return
    (pkg / "__init__.py").write_text("REAL = True\n")
    (pkg / "transforms" / "__init__.py").write_text("")
    (pkg / "transforms" / "functional.py").write_text(
        "import enum\n"
        "class InterpolationMode(enum.Enum):\n    BILINEAR = 'bilinear'\n"
        "def normalize(t, mean, std, inplace=False):\n    return 'real'\n"
        "def rotate(*a, **k):\n    return 'real'\n"
    )


@pytest.mark.parametrize("broken", [True, False], ids=["broken-torchvision", "working-torchvision"])
def test_shim_only_when_torchvision_does_not_import(tmp_path, broken):
    _fake_torchvision(tmp_path, broken)
    code = textwrap.dedent(
        """
        import sys
        from seamline.ops.upscale._torchvision_shim import import_spandrel, shim_used
        sp = import_spandrel()
        print("SHIM", shim_used())
        fn = sys.modules["spandrel.architectures.RestoreFormer"].tv_normalize
        print("NORMALIZE", fn.__module__)
        try:
            import torchvision
            print("AFTER", getattr(torchvision, "REAL", "shim"))
        except RuntimeError as e:
            print("AFTER", "error", e)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    if broken:
        assert "SHIM True" in r.stdout
        assert "NORMALIZE seamline.ops.upscale._torchvision_shim" in r.stdout
        assert "AFTER error operator torchvision::nms" in r.stdout  # the truth, not the shim
    else:
        assert "SHIM False" in r.stdout
        assert "NORMALIZE torchvision.transforms.functional" in r.stdout
        assert "AFTER True" in r.stdout


@pytest.mark.skipif(HAVE_REAL_TORCHVISION, reason="a real torchvision is installed: nothing is shimmed")
def test_a_spandrel_needing_more_torchvision_gets_a_clear_error():
    # Simulate a future spandrel that imports a function the shim lacks.
    code = textwrap.dedent(
        """
        import seamline.ops.upscale._torchvision_shim as s
        full = s._shim_modules
        def partial():
            mods = full()
            del mods["torchvision.transforms.functional"].normalize
            return mods
        s._shim_modules = partial
        try:
            s.import_spandrel()
        except ImportError as e:
            print("ERR", e)
        import sys
        print("LEFT", [n for n in sys.modules if n.startswith("torchvision")])
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "ERR spandrel imports torchvision.transforms.functional" in r.stdout
    assert "does not provide (it covers spandrel 0.4.2)" in r.stdout
    assert "LEFT []" in r.stdout


# ---------------------------------------------------------------------------- loading
@pytest.mark.parametrize("fmt", ["safetensors", "pth", "pth-params_ema", "pth-module-prefix"])
def test_compact_loads_from_each_format(tmp_path, photo, fmt):
    net = _compact(scale=2)
    sd = {k: v.contiguous() for k, v in net.state_dict().items()}
    if fmt == "safetensors":
        path = _save_safetensors(net, tmp_path / "x2.safetensors")
    elif fmt == "pth":
        path = tmp_path / "x2.pth"
        torch.save(sd, path)
    elif fmt == "pth-params_ema":  # Real-ESRGAN release layout, with training counters beside it
        path = tmp_path / "x2.pth"
        torch.save({"params_ema": sd, "params": {k: v * 0 for k, v in sd.items()}, "iter": 400000}, path)
    else:  # DataParallel checkpoints
        path = tmp_path / "x2.pt"
        torch.save({f"module.{k}": v for k, v in sd.items()}, path)

    m = load_upscaler(path)
    assert isinstance(m, UpscalerModel)
    assert (m.scale, m.arch_id, m.architecture, m.purpose) == (2, "Compact", "RealESRGAN Compact", "SR")
    assert (m.input_channels, m.output_channels, m.device, m.tiling) == (3, 3, "cpu", "supported")
    assert m.path == path.resolve() and not m.net.training
    assert not any(p.requires_grad for p in m.net.parameters())

    out = model_upscale(m, photo, tile=None)
    assert out.shape == (200, 240, 3) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    # The same network, called directly: the loaded weights are the saved ones (not params).
    x = torch.from_numpy(photo.transpose(2, 0, 1).copy())[None]
    with torch.no_grad():
        ref = net(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_esrgan_x4_upscales_a_photo_and_tiles_agree(tmp_path, photo):
    m = load_upscaler(_save_safetensors(_esrgan(scale=4), tmp_path / "esrgan.safetensors"))
    assert (m.scale, m.arch_id) == (4, "ESRGAN")
    full = model_upscale(m, photo, tile=None)
    assert full.shape == (400, 480, 3)
    assert full.std() > 1e-3  # input-dependent, not a constant
    tiled = model_upscale(m, photo, tile=48, overlap=16)
    # RRDB's receptive field is wider than the 4-px edge band: small, bounded differences.
    diff = np.abs(tiled - full)
    assert diff.mean() < 2e-3 and diff.max() < 0.05, (diff.mean(), diff.max())


def test_compact_tiled_matches_untiled(tmp_path, photo):
    m = load_upscaler(_save_safetensors(_compact(scale=2), tmp_path / "c.safetensors"))
    full = model_upscale(m, photo, tile=None)
    # This net sees 4 input px around each output pixel. With overlap >= 16 the 4-px edge band
    # that is never used covers that: exact. Narrower overlaps blend in a little edge effect.
    for tile, overlap, tol in ((32, 16, 1e-4), (64, 16, 1e-4), (512, 16, 1e-4), (48, 8, 0.01), (64, 0, 0.1)):
        tiled = model_upscale(m, photo, tile=tile, overlap=overlap, progress=tile == 48)
        assert np.abs(tiled - full).max() < tol, (tile, overlap)


def test_grayscale_model_runs_per_channel(tmp_path, photo):
    m = load_upscaler(_save_safetensors(_compact(scale=2, channels=1), tmp_path / "g.safetensors"))
    assert (m.input_channels, m.output_channels) == (1, 1)
    out = model_upscale(m, photo, tile=64, overlap=16)
    assert out.shape == (200, 240, 3)
    solo = model_upscale(m, np.repeat(photo[:, :, 1:2], 3, axis=2), tile=64, overlap=16)
    np.testing.assert_allclose(out[:, :, 1], solo[:, :, 0], atol=1e-5)


def test_models_are_cached_per_path_and_mtime(tmp_path):
    path = _save_safetensors(_compact(), tmp_path / "c.safetensors")
    a = load_upscaler(path)
    assert load_upscaler(str(path)) is a
    assert load_upscaler(path, cache=False) is not a
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert load_upscaler(path) is not a


# ---------------------------------------------------------------------------- refusing
def test_missing_directory_and_non_checkpoint_paths(tmp_path):
    with pytest.raises(InputError, match=r"upscaler: checkpoint .*nope\.pth does not exist"):
        load_upscaler(tmp_path / "nope.pth")
    with pytest.raises(InputError, match="is a directory"):
        load_upscaler(tmp_path)
    txt = tmp_path / "notes.pth"
    txt.write_text("hello")
    with pytest.raises(InputError, match=r"notes\.pth is not a checkpoint"):
        load_upscaler(txt)
    with pytest.raises(InputError, match="device"):
        load_upscaler(_save_safetensors(_compact(), tmp_path / "c.safetensors"), device="floppy")


def test_lama_checkpoint_is_not_an_upscaler(tmp_path):
    from seamline.testing.tiny_lama import tiny_lama_state

    path = tmp_path / "big-lama.safetensors"
    save_file({f"generator.{k}": v.contiguous() for k, v in tiny_lama_state().items()}, str(path))
    with pytest.raises(InputError, match=r"big-lama\.safetensors is a LaMa checkpoint: an inpainting model") as e:
        load_upscaler(path)
    assert "\n" not in str(e.value)


def test_random_tensors_are_not_a_model(tmp_path):
    path = tmp_path / "random.pth"
    torch.save({"encoder.weight": torch.randn(4, 4), "decoder.bias": torch.randn(4)}, path)
    with pytest.raises(InputError, match=r"random\.pth is not a model architecture spandrel .* recognises"):
        load_upscaler(path)
    empty = tmp_path / "empty.pth"
    torch.save({"epoch": 3, "lr": 0.1}, empty)
    with pytest.raises(InputError, match="holds no tensors"):
        load_upscaler(empty)
    lst = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], lst)
    with pytest.raises(InputError, match="holds a list, not a state dict"):
        load_upscaler(lst)


def test_detected_but_wrong_shapes_is_an_input_error(tmp_path):
    sd = _compact().state_dict()
    sd["body.2.weight"] = torch.zeros(5, 5, 1, 1)  # a Compact key layout, impossible shapes
    path = tmp_path / "bad.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    with pytest.raises(InputError, match=r"bad\.safetensors looks like .* but does not load as one"):
        load_upscaler(path)



def _payload(path):  # what a malicious checkpoint would run on unpickling
    Path(path).write_text("pwned")
    return {}


class _Evil:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (_payload, (self.path,))


def test_pickled_objects_are_refused_not_run(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"params_ema": _compact().state_dict(), "hook": _Evil(str(marker))}, path)
    with pytest.raises(InputError, match=r"evil\.pth holds a pickled Python object .*never unpickles"):
        load_upscaler(path)
    assert not marker.exists()
    whole = tmp_path / "module.pth"
    torch.save(_compact(), whole)  # a pickled nn.Module, not a state dict
    with pytest.raises(InputError, match="pickled Python object"):
        load_upscaler(whole)


def test_torchscript_is_refused(tmp_path):
    path = tmp_path / "scripted.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.script is deprecated
        torch.jit.script(torch.nn.Conv2d(3, 3, 1)).save(str(path))
    with pytest.raises(InputError, match="TorchScript"):
        load_upscaler(path)


def test_descriptor_checks_refuse_inpainting_and_face_models(tmp_path):
    conv = torch.nn.Conv2d(3, 3, 1)
    arch = spandrel.MAIN_REGISTRY.get("Compact").architecture
    masked = spandrel.MaskedImageModelDescriptor(
        conv, conv.state_dict(), architecture=arch, purpose="Inpainting", tags=[], supports_half=False,
        supports_bfloat16=False, input_channels=3, output_channels=3,
    )
    with pytest.raises(InputError, match="takes an image and a mask, not an image upscaler"):
        upscalers._check_descriptor(spandrel, masked, tmp_path / "m.pth")
    face = spandrel.ImageModelDescriptor(
        conv, conv.state_dict(), architecture=arch, purpose="FaceSR", tags=[], supports_half=False,
        supports_bfloat16=False, scale=1, input_channels=3, output_channels=3,
    )
    with pytest.raises(InputError, match="face restoration"):
        upscalers._check_descriptor(spandrel, face, tmp_path / "f.pth")
    conv4 = torch.nn.Conv2d(4, 4, 1)
    rgba = spandrel.ImageModelDescriptor(
        conv4, conv4.state_dict(), architecture=arch, purpose="SR", tags=[], supports_half=False,
        supports_bfloat16=False, scale=1, input_channels=4, output_channels=4,
    )
    with pytest.raises(InputError, match="4 input and 4 output channels"):
        upscalers._check_descriptor(spandrel, rgba, tmp_path / "r.pth")


# ---------------------------------------------------------------------------- tiling
class _Nearest:
    """A stand-in descriptor: nearest-neighbour x scale, so any seam would show exactly."""

    def __init__(self, scale):
        self.scale = scale
        self.calls = []

    def __call__(self, x):
        self.calls.append(tuple(x.shape[-2:]))
        return x.repeat_interleave(self.scale, -2).repeat_interleave(self.scale, -1)


def _fake_model(desc, **kw):
    base = dict(
        descriptor=desc, path=Path("fake.pth"), scale=desc.scale, architecture="fake", arch_id="fake",
        purpose="SR", input_channels=3, output_channels=3, size_minimum=0, size_multiple=1,
        size_square=False, tiling="supported", tags=(), device="cpu",
    )
    base.update(kw)
    return UpscalerModel(**base)


@pytest.mark.parametrize("tile,overlap", [(32, 0), (32, 16), (40, 7), (64, 30), (33, 5)])
def test_blending_is_exact_for_a_pointwise_model(photo, tile, overlap):
    m = _fake_model(_Nearest(3))
    out = model_upscale(m, photo, tile=tile, overlap=overlap)
    ref = np.repeat(np.repeat(photo, 3, axis=0), 3, axis=1)
    np.testing.assert_allclose(out, ref, atol=2e-6)
    assert all(s[0] <= tile and s[1] <= tile for s in m.descriptor.calls)


def test_tiles_follow_size_requirements_and_internal_tiling(photo):
    d = _Nearest(2)
    model_upscale(_fake_model(d, size_multiple=16, size_minimum=64), photo, tile=40, overlap=8)
    assert set(d.calls) == {(64, 64)}  # 40 -> max(40, 64) = 64, a multiple of 16; all tiles full size
    d = _Nearest(2)
    model_upscale(_fake_model(d, tiling="internal"), photo, tile=32, overlap=8)
    assert d.calls == [(100, 120)]  # the model tiles itself: one call


def test_tile_layout_covers_the_axis():
    assert upscalers._starts(100, 100, 16) == [0]
    assert upscalers._starts(50, 64, 16) == [0]
    s = upscalers._starts(100, 32, 8)
    assert s[0] == 0 and s[-1] == 68 and all(b - a <= 24 for a, b in zip(s, s[1:]))


def test_model_upscale_argument_errors(photo):
    m = _fake_model(_Nearest(2))
    with pytest.raises(InputError, match="tile: expected None, 0 or an integer >= 32"):
        model_upscale(m, photo, tile=16)
    with pytest.raises(InputError, match="overlap: must be at most tile // 2 = 16"):
        model_upscale(m, photo, tile=32, overlap=20)
    with pytest.raises(InputError, match="overlap: expected an integer >= 0"):
        model_upscale(m, photo, overlap=-1)
    with pytest.raises(InputError, match="model: expected an UpscalerModel"):
        model_upscale("x4.pth", photo)
    with pytest.raises(InputError, match="4 channels"):
        model_upscale(m, np.zeros((8, 8, 4), np.float32))
