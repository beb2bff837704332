"""Latent synthesis through diffusers with tiny random models built in code (no download).

The models are built with fixed seeds as diffusers' own tests do, saved to a temp folder and
loaded through seamline's real loading path. Torch runs single-threaded here: on a shared
2-core machine OpenMP spin-waiting makes tiny models 20x slower with 2 threads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import typing

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from seamline.core import artifacts  # noqa: E402
from seamline.engine import store  # noqa: E402
from seamline import diffusion as D  # noqa: E402
from seamline.diffusion.locate import cache_dir  # noqa: E402
from seamline.diffusion.profiles import square_crop  # noqa: E402
from seamline.core.adapters import ADAPTERS  # noqa: E402
from seamline.core.artifacts import Embedding, Latents  # noqa: E402
from seamline.core.contracts import LatentTarget, PortSpec, port_checks  # noqa: E402
from seamline.errors import ContractError, InputError  # noqa: E402
from seamline.core.pipeline import spec_from_dict  # noqa: E402
from seamline.engine.runner import handoff, run_pipeline  # noqa: E402
from seamline.testing.tiny_sd import save_tiny_model  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn.t accept a copy keyword:DeprecationWarning")

STEPS = 4
SIZE = 64


@pytest.fixture(scope="module", autouse=True)
def _env(diffusion_env):
    yield


@pytest.fixture(scope="module")
def tiny(tiny_sd):
    return tiny_sd


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """Another model (other weights, Euler scheduler)."""
    return save_tiny_model(tmp_path_factory.mktemp("models") / "other", seed=7,
                             scheduler="euler")


@pytest.fixture(scope="module")
def photo(astronaut):
    return square_crop(astronaut, SIZE)


@pytest.fixture(scope="module")
def photos(tmp_path_factory, astronaut, coffee):
    from skimage import data

    from seamline.io import as_image, write_image

    folder = tmp_path_factory.mktemp("photos")
    for name, img in [("a", astronaut), ("b", coffee), ("c", as_image(data.chelsea())),
                      ("d", as_image(data.rocket()))]:
        write_image(folder / f"{name}.png", square_crop(img, 96))
    return folder


@pytest.fixture(scope="module")
def profile(tiny, photos, tmp_path_factory):
    prof = D.calibrate(str(tiny), photos, size=SIZE, progress=False)
    path = tmp_path_factory.mktemp("profiles") / "tiny.json"
    artifacts.write_json(path, prof)
    return path


def _pipeline(stages, policy="reconcile"):
    return spec_from_dict({"pipeline": "t", "policy": policy, "seed": 3, "stages": stages,
                           "output": f"{stages[-1]['name']}.image"})


def _gen(model, **params):
    return {"name": "gen", "stage": "generate",
            "params": {"model": str(model), "prompt": "a red barn", "steps": STEPS,
                       "height": SIZE, "width": SIZE, **params}}


def _i2i(model, **params):
    return {"name": "refine", "stage": "img2img", "inputs": {"latents": "gen.latents"},
            "params": {"model": str(model), "prompt": "a red barn at dusk", "steps": STEPS,
                       "strength": 0.5, **params}}


# ------------------------------------------------------------------------- loading, determinism


def test_generate_is_deterministic_and_carries_provenance(tiny):
    a = D.generate(str(tiny), "a red barn", steps=STEPS, height=SIZE, width=SIZE, seed=5,
                   progress=False)
    b = D.generate(str(tiny), "a red barn", steps=STEPS, height=SIZE, width=SIZE, seed=5,
                   progress=False)
    c = D.generate(str(tiny), "a red barn", steps=STEPS, height=SIZE, width=SIZE, seed=6,
                   progress=False)
    assert a.image.shape == (SIZE, SIZE, 3) and a.image.dtype == np.float32
    assert 0 <= a.image.min() and a.image.max() <= 1
    assert a.latents.shape == (4, SIZE // 8, SIZE // 8) and a.latents.data.dtype == np.float32
    assert np.array_equal(a.image, b.image) and np.array_equal(a.latents.data, b.latents.data)
    assert not np.array_equal(a.latents.data, c.latents.data)
    p = a.latents.provenance
    assert p["model"] == str(tiny.resolve()) and p["weights_sha256"] == D.weights_hash(str(tiny))
    assert len(p["weights_sha256"]) == 64 and p["latent_space"] == "scaled"
    assert p["scaling_factor"] == pytest.approx(0.18215) and p["shift_factor"] is None
    assert p["scheduler"] == "DDIMScheduler" and p["scheduler_config"]["beta_schedule"] == \
        "scaled_linear"
    assert (p["steps"], p["guidance_scale"], p["seed"], p["height"], p["width"]) == \
        (STEPS, 7.5, 5, SIZE, SIZE)
    # the latents decode to the image diffusers produced (our decode is diffusers' own)
    assert np.abs(D.decode_latents(str(tiny), a.latents) - a.image).max() < 1e-5
    # one load per (model, mtime, device, dtype)
    assert D.load_model(str(tiny)) is D.load_model(str(tiny))


def test_scheduler_option_and_names(tiny):
    from seamline.stages.generate import SchedulerName

    assert typing.get_args(SchedulerName) == D.SCHEDULER_NAMES
    e = D.generate(str(tiny), "x", steps=STEPS, height=SIZE, width=SIZE, scheduler="euler",
                   progress=False)
    assert e.latents.provenance["scheduler"] == "EulerDiscreteScheduler"
    with pytest.raises(InputError, match="scheduler 'nope'"):
        D.generate(str(tiny), "x", steps=STEPS, scheduler="nope")


def test_img2img_from_image_and_from_latents(tiny, photo):
    start = D.encode_image(str(tiny), photo)
    assert start.shape == (4, 8, 8) and start.provenance["encoding"] == "posterior mean"
    r1 = D.img2img(str(tiny), photo, prompt="x", strength=0.5, steps=STEPS, seed=1,
                   progress=False)
    r2 = D.img2img(str(tiny), latents=start, prompt="x", strength=0.5, steps=STEPS, seed=1,
                   progress=False)
    assert r1.image.shape == r2.image.shape == photo.shape
    assert r2.latents.provenance["start"] == "latents"
    assert r2.latents.provenance["start_provenance"]["task"] == "encode"
    with pytest.raises(InputError, match="3 channels, but model .* 4 latent channels"):
        D.img2img(str(tiny), latents=start.data[:3], steps=STEPS)
    with pytest.raises(InputError, match="needs an image or latents"):
        D.img2img(str(tiny), steps=STEPS)
    with pytest.raises(InputError, match="strength"):
        D.img2img(str(tiny), photo, strength=0.1, steps=4)


# ------------------------------------------------------------------------- manifest


def test_manifest_carries_latent_provenance_and_cache_reloads_latents(tiny, photo, tmp_path):
    spec = _pipeline([_gen(tiny), _i2i(tiny)])
    run = run_pipeline(spec, photo, out=tmp_path / "run")
    m = json.loads((tmp_path / "run" / "manifest.json").read_text())
    gen, refine = m["stages"]
    prov = gen["outputs"]["latents"]["stats"]["provenance"]
    assert prov["model"] == str(tiny.resolve()) and prov["scheduler"] == "DDIMScheduler"
    assert (prov["guidance_scale"], prov["steps"], prov["seed"]) == (7.5, STEPS, gen["seed"])
    assert len(gen["outputs"]["latents"]["stats"]["channel_mean"]) == 4
    full = gen["report"]["provenance"]
    assert full["scheduler_config"]["num_train_timesteps"] == 1000
    assert full["scaling_factor"] == pytest.approx(0.18215)
    h = refine["handoffs"][0]
    assert h["kind"] == "latents" and h["from"] == "gen.latents"
    assert {c["stat"] for c in h["checks"]} >= {"channels", "guidance_scale", "scheduler",
                                                 "model"}
    assert all(c["ok"] for c in h["checks"])
    assert sorted(gen["outputs"]["latents"]["files"]) == ["stages/01-gen/latents.json",
                                                          "stages/01-gen/latents.npy"]
    # a second run reuses both stages; latents come back from disk with their provenance
    again = run_pipeline(spec, photo, out=tmp_path / "run")
    assert all(s.cached for s in again.stages.values())
    lat = again.stage("gen").outputs["latents"]
    assert isinstance(lat, Latents)
    assert np.array_equal(lat.data, run.stage("gen").outputs["latents"].data)
    assert lat.provenance == run.stage("gen").outputs["latents"].provenance
    assert np.array_equal(again.output, run.output)


# ------------------------------------------------------------------------- latent contracts


def test_calibrate_profile(tiny, profile):
    prof = D.load_profile(profile)
    assert prof["latent_channels"] == 4 and prof["images"] == 4 and prof["image_size"] == SIZE
    assert prof["weights_sha256"] == D.weights_hash(str(tiny))
    assert all(s > 0 for s in prof["channel_std"]) and len(prof["spread_mean"]) == 4
    assert all(t > 0 for t in prof["tolerance_mean"])


def test_recenter_through_a_real_handoff(tiny, profile, photo):
    # a tolerance of 1e-3 makes any generated latents fail the profile check
    stages = [_gen(tiny), _i2i(tiny, profile=str(profile), profile_tolerance=1e-3)]
    run = run_pipeline(_pipeline(stages, "reconcile"), photo)
    h = run.stage("refine").handoffs[0]
    (adapter,) = h["adapters"]
    assert adapter["adapter"] == "recenter" and adapter["ok_after"]
    assert adapter["before"] != adapter["after"] and "mean [" in adapter["before"]
    prof = D.load_profile(profile)
    after = h["stats_after"]
    assert np.abs(np.subtract(after["channel_mean"], prof["channel_mean"])).max() < 1e-3
    assert np.abs(np.subtract(after["channel_std"], prof["channel_std"])).max() < 1e-3
    assert adapter["params"]["mean_in"] == h["stats"]["channel_mean"]
    # strict stops, with the numbers
    with pytest.raises(ContractError, match=r"latent_profile expected per-channel mean \[.*"
                                            r"found mean \[.*recenter"):
        run_pipeline(_pipeline(stages, "strict"), photo)


def test_recenter_adapter_exact():
    rng = np.random.default_rng(0)
    x = Latents(rng.normal(0.3, 2.0, (4, 16, 16)).astype(np.float32) * [[[1]], [[2]], [[3]],
                                                                        [[0.5]]],
                {"model": "m"})
    target = LatentTarget(mean=(0.1, -0.2, 0.3, 0.0), std=(1.0, 0.9, 1.1, 0.8),
                          tol_mean=(0.01,) * 4, tol_std=(0.01,) * 4, source="p.json")
    port = PortSpec("latents", channels=4, profile=target)
    before = port_checks(port, artifacts.measure("latents", x))
    assert not next(c for c in before if c.stat == "latent_profile").ok
    y, params = ADAPTERS["recenter"](x, port)
    flat = y.data.reshape(4, -1).astype(np.float64)
    assert np.abs(flat.mean(1) - target.mean).max() < 1e-5
    assert np.abs(flat.std(1) - target.std).max() < 1e-5
    assert y.provenance["model"] == "m" and y.provenance["recentered"]["profile"] == "p.json"
    assert all(c.ok for c in port_checks(port, artifacts.measure("latents", y)))


def test_guidance_scheduler_and_model_mismatch_reported(tiny, other, photo):
    stages = [_gen(tiny), _i2i(tiny, guidance_scale=3.0, scheduler="euler")]
    run = run_pipeline(_pipeline(stages), photo)
    w = " | ".join(run.warnings)
    assert "guidance_scale expected 3 (this stage's), found 7.5 (the producer's)" in w
    assert ("scheduler expected EulerDiscreteScheduler (this stage's), found DDIMScheduler "
            "(the producer's)") in w
    run = run_pipeline(_pipeline([_gen(tiny), _i2i(other)]), photo)
    (w,) = [x for x in run.warnings if "model expected" in x]
    assert str(other.resolve()) in w and str(tiny.resolve()) in w and "sha256" in w
    # a pipeline can make it an error
    strict = [_gen(tiny), _i2i(tiny, guidance_scale=3.0, strict_provenance=True)]
    with pytest.raises(ContractError, match=r"guidance_scale expected 3 .* found 7\.5"):
        run_pipeline(_pipeline(strict), photo)


def test_wrong_channel_count_is_a_contract_error(tiny):
    from seamline.stages import get_stage

    cls = get_stage("img2img")
    port = cls.spec_for(cls.Params(model=str(tiny))).inputs["latents"]
    bad = Latents(np.zeros((3, 8, 8), np.float32), {"model": "x"})
    for policy in ("reconcile", "strict"):
        with pytest.raises(ContractError, match="channels expected 4 latent channels, found 3"):
            handoff(bad, "latents", port, policy=policy, stage="refine", port="latents")


def test_profile_for_another_model(tiny, other, photos, tmp_path):
    from seamline.stages import get_stage

    prof = D.calibrate(str(other), photos, size=SIZE, max_images=2, progress=False)
    path = tmp_path / "other.json"
    artifacts.write_json(path, prof)
    cls = get_stage("img2img")
    with pytest.raises(InputError, match="calibrated for another model"):
        cls.spec_for(cls.Params(model=str(tiny), profile=str(path)))
    three = dict(prof, latent_channels=3, **{k: prof[k][:3] for k in (
        "channel_mean", "channel_std", "tolerance_mean", "tolerance_std")})
    artifacts.write_json(path, three)
    with pytest.raises(InputError, match="3 latent channels; model .* has 4"):
        cls.spec_for(cls.Params(model=str(tiny), profile=str(path)))
    path.write_text("{}")
    with pytest.raises(InputError, match="not a seamline latent profile"):
        D.load_profile(path)


# ------------------------------------------------------------------------- latent inpainting


def _mask():
    m = np.zeros((SIZE, SIZE), np.float32)
    m[21:35, 18:30] = 1.0
    m[40, 50] = 0.4  # a soft speck: still edited (support is mask > 0)
    return m


@pytest.mark.parametrize("inpainting_unet", [False, True])
def test_latent_inpaint_outside_grid_mask_is_bit_identical(tiny, photo, inpainting_unet,
                                                           tmp_path):
    model = save_tiny_model(tmp_path / "inp", seed=3, inpainting=True) if inpainting_unet \
        else tiny
    mask = _mask()
    r = D.latent_inpaint(str(model), photo, mask, prompt="a window", steps=STEPS, seed=2,
                         progress=False)
    grid = r.mask
    assert set(np.unique(grid)) == {0.0, 1.0} and (grid[mask > 0] == 1).all()
    cells = grid[::8, ::8]  # whole 8x8 cells, grown one cell around the max-pooled mask
    assert np.array_equal(np.repeat(np.repeat(cells, 8, 0), 8, 1), grid)
    # rows 21..34, cols 18..29 -> cells 2..4 x 2..3, grown: 5 x 4; the speck's cell grown: 3 x 3
    assert cells.sum() == 5 * 4 + 3 * 3
    out = grid == 0
    assert np.array_equal(r.image[out], photo[out])  # bit-identical outside
    assert r.report["outside_identical"]
    assert not np.array_equal(r.image[~out], photo[~out])
    assert r.decoded.shape == photo.shape and not np.array_equal(r.decoded[out], photo[out])
    assert r.latents.provenance["task"] == "latent-inpaint"
    if not inpainting_unet:
        assert r.report["color"]["delta_e_ring_after"] <= r.report["color"]["delta_e_ring_before"]


def test_latent_inpaint_stage_sizes_and_padding(tiny, photo):
    img = photo[:60]  # 64x60: not a multiple of 8
    mask = _mask()[:60]
    stages = [{"name": "fill", "stage": "latent-inpaint",
               "inputs": {"image": "input.image", "mask": "input.mask"},
               "params": {"model": str(tiny), "prompt": "x", "steps": STEPS}}]
    doc = {"pipeline": "t", "policy": "strict", "inputs": {"image": "image", "mask": "mask"},
           "stages": stages, "output": "fill.image"}
    with pytest.raises(InputError, match=r"image size 64x60 \(WxH\) is not a multiple of the "
                                         r"VAE factor 8; nearest valid sizes: 64x56, 64x64"):
        run_pipeline(spec_from_dict(doc), img, inputs={"mask": mask})
    run = run_pipeline(spec_from_dict(dict(doc, policy="reconcile")), img,
                       inputs={"mask": mask})
    grid = run.stage("fill").outputs["mask"]
    assert run.output.shape == img.shape and grid.shape == mask.shape
    assert np.array_equal(run.output[grid == 0], img[grid == 0])
    assert any("padded by 4 px (bottom)" in n for n in run.manifest["notes"])
    assert run.stage("fill").report["padded"] == {"bottom": 4, "right": 0, "mode": "reflect"}


# ------------------------------------------------------------------------- bad input


def test_bad_models(tiny, tmp_path):
    with pytest.raises(InputError, match="model .*/nope: path does not exist"):
        D.resolve_model(str(tmp_path / "nope"))
    with pytest.raises(InputError, match="not in the local Hugging Face cache.*never downloads"):
        D.resolve_model("seamline-tests/not-a-cached-model")
    for comp, match in [("vae", "component 'vae' is missing"),
                        ("tokenizer", "component 'tokenizer' is missing")]:
        broken = tmp_path / f"no-{comp}"
        shutil.copytree(tiny, broken)
        shutil.rmtree(broken / comp)
        with pytest.raises(InputError, match=match):
            D.load_model(str(broken))
    broken = tmp_path / "no-unet-weights"
    shutil.copytree(tiny, broken)
    for f in (broken / "unet").glob("*.safetensors"):
        f.unlink()
    with pytest.raises(InputError, match="component 'unet' has no weights"):
        D.resolve_model(str(broken))
    flux = tmp_path / "flux"
    flux.mkdir()
    (flux / "model_index.json").write_text(json.dumps({
        "_class_name": "FluxPipeline", "transformer": ["diffusers", "FluxTransformer2DModel"],
        "vae": ["diffusers", "AutoencoderKL"]}))
    with pytest.raises(InputError, match="unsupported architecture 'FluxPipeline'"):
        D.resolve_model(str(flux))
    with pytest.raises(InputError, match="no model_index.json"):
        D.resolve_model(str(tmp_path))


def test_single_file_checkpoints_offline(tmp_path):
    from safetensors.torch import save_file

    other = tmp_path / "lora.safetensors"
    save_file({"lora_unet_down.weight": torch.zeros(2, 2)}, str(other))
    with pytest.raises(InputError, match="unsupported architecture: not a Stable Diffusion"):
        D.resolve_model(str(other))
    sd = tmp_path / "sd15.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3)},
              str(sd))
    with pytest.raises(InputError, match=r"needs its diffusers config \(stable-diffusion-v1-5/"
                                         r".*never downloads; pass model_config"):
        D.resolve_model(str(sd))
    ckpt = tmp_path / "model.ckpt"
    ckpt.write_bytes(b"not really")
    with pytest.raises(InputError, match="pickles"):
        D.resolve_model(str(ckpt))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 32)
    with pytest.raises(InputError, match="not a readable .safetensors"):
        D.resolve_model(str(junk))


def test_bad_sizes_and_settings(tiny):
    with pytest.raises(InputError, match=r"size 64x60 \(WxH\) is not a multiple of the VAE "
                                         r"factor 8; nearest valid sizes: 64x56, 64x64"):
        D.generate(str(tiny), "x", steps=STEPS, height=60, width=64)
    with pytest.raises(InputError, match="steps"):
        D.generate(str(tiny), "x", steps=0, height=SIZE, width=SIZE)
    with pytest.raises(InputError, match="float16: not supported on CPU"):
        D.resolve_device("cpu", "float16")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            D.resolve_device("cuda")
    with pytest.raises(InputError, match="model: required"):
        D.resolve_model("")


# ------------------------------------------------------------------------- artifacts, CLI


def test_latents_and_embedding_artifacts_roundtrip(tmp_path):
    lat = Latents(np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4), {"model": "m",
                                                                            "seed": 1})
    s = artifacts.measure("latents", lat)
    assert (s["layout"], s["channels"], s["height"], s["width"]) == ("CxHxW", 2, 3, 4)
    assert s["provenance"] == {"model": "m", "seed": 1} and len(s["channel_std"]) == 2
    files = store.save("latents", lat, tmp_path, "lat")
    assert files == ["lat.npy", "lat.json"]
    back = store.load("latents", tmp_path, "lat")
    assert np.array_equal(back.data, lat.data) and back.provenance == lat.provenance
    assert artifacts.digest("latents", back) == artifacts.digest("latents", lat)
    assert artifacts.digest("latents", lat.replace(seed=2)) != artifacts.digest("latents", lat)
    emb = Embedding(np.ones((5, 8)), {"encoder": "clip"})
    s = artifacts.measure("embedding", emb)
    assert (s["layout"], s["tokens"], s["dim"], s["encoder"]) == ("TxD", 5, 8, "clip")
    store.save("embedding", emb, tmp_path, "emb")
    back = store.load("embedding", tmp_path, "emb")
    assert back.data.dtype == np.float32 and back.metadata == {"encoder": "clip"}
    assert artifacts.measure("embedding", np.zeros(8, np.float32))["layout"] == "D"


def _cli(argv):
    from seamline.cli import diffusion as cli_diffusion

    parser = argparse.ArgumentParser(prog="seamline")
    cli_diffusion.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args, argv)


def test_cli_calibrate_and_generate(tiny, photos, tmp_path, capsys):
    out = tmp_path / "profile.json"
    assert _cli(["calibrate", "--model", str(tiny), "--images", str(photos), "-o", str(out),
                 "--size", str(SIZE), "--max-images", "2", "-q"]) == 0
    prof = D.load_profile(out)
    assert prof["images"] == 2 and prof["command"][0] == "seamline"
    with pytest.raises(InputError, match="not a folder"):
        _cli(["calibrate", "--model", str(tiny), "--images", str(tmp_path / "none"), "-o",
              str(tmp_path / "p2.json")])
    assert not (tmp_path / "p2.json").exists()
    img = tmp_path / "gen.png"
    assert _cli(["generate", "--model", str(tiny), "--prompt", "a barn", "-o", str(img),
                 "--steps", str(STEPS), "--height", "64", "--width", "64",
                 "--latents-out", str(tmp_path / "gen-latents.npy"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert img.is_file() and doc["provenance"]["steps"] == STEPS
    lat = store.load("latents", tmp_path, "gen-latents")
    assert lat.shape == (4, 8, 8) and lat.provenance["scheduler"] == "DDIMScheduler"
    with pytest.raises(InputError, match="nearest valid sizes"):
        _cli(["generate", "--model", str(tiny), "--prompt", "x", "-o",
              str(tmp_path / "bad.png"), "--height", "60", "--width", "64"])
    assert not (tmp_path / "bad.png").exists()
    assert os.environ["SEAMLINE_CACHE_DIR"] and \
        (cache_dir() / "weights-sha256.json").is_file()


def test_hf_cache_by_repo_id_offline(tiny, tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--seamline-tests--tiny"
    shutil.copytree(tiny, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    src = D.resolve_model("seamline-tests/tiny")
    assert src.kind == "hf-cache" and src.model_id == f"seamline-tests/tiny@{commit}"
    # the same weights have the same identity wherever they are stored
    assert D.weights_hash(src) == D.weights_hash(str(tiny))
    with pytest.raises(InputError, match="not in the local Hugging Face cache"):
        D.resolve_model("seamline-tests/other")
