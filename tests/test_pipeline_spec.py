"""Pipeline YAML validation: every mistake is named with its line and key, up front."""

from __future__ import annotations

import pytest

from seamline.errors import ConfigError
from seamline.core.pipeline import apply_overrides, builtin_names, builtin_spec, spec_from_text
from seamline.stages import get_stage, stage_ids

GOOD = """\
pipeline: fill
policy: reconcile
inputs: {image: image, mask: mask}
stages:
  - name: normalize
    stage: normalize-mask
    inputs: {mask: input.mask}
    params: {dilate_px: 2}
  - name: inpaint
    stage: inpaint
    inputs: {image: input.image, mask: normalize.mask}
    params: {backend: ns, radius: 4}
output: inpaint.image
"""


def test_good_spec_resolves_params_with_defaults():
    spec = spec_from_text(GOOD, source="p.yaml")
    assert [s.name for s in spec.stages] == ["normalize", "inpaint"]
    inp = spec.stage("inpaint")
    assert inp.params.backend == "ns" and inp.params.radius == 4
    assert inp.params_dict()["context_px"] is None  # default filled in
    assert spec.stage("normalize").line == 5


def test_builtins_load():
    assert {"remove-text", "inpaint"} <= set(builtin_names())
    spec = builtin_spec("remove-text")
    assert [s.stage_id for s in spec.stages] == [
        "detect-text", "unblend-watermark", "text-mask", "normalize-mask", "preflight",
        "fill-text", "qa"]


def test_unknown_stage_id_lists_known_ones():
    with pytest.raises(ConfigError) as e:
        get_stage("inpaintt")
    assert "unknown stage 'inpaintt'" in str(e.value)
    for sid in stage_ids():
        assert sid in str(e.value)


@pytest.mark.parametrize("old,new,expect", [
    ("    stage: inpaint\n", "    stage: inpant\n", r"p.yaml:10: stage 'inpaint': unknown stage 'inpant'; known stages: "),
    ("radius: 4", "radius: four", r"p.yaml:12: stage 'inpaint' parameter 'radius': expected int, got str 'four'"),
    ("backend: ns", "backend: magic", r"p.yaml:12: stage 'inpaint' parameter 'backend': expected one of 'auto', 'telea', 'ns', 'biharmonic', 'fsr', 'fsr-best', 'fsr-edge', 'oriented', 'exemplar', 'lama', got str 'magic'"),
    ("radius: 4}", "radius: 4, sigma: 2}", r"p.yaml:12: stage 'inpaint': unknown parameter 'sigma'; known parameters: backend, radius, context_px, feather_px, color_match, model, device"),
    ("policy: reconcile", "policy: lenient", r"p.yaml:2: policy: expected one of strict, reconcile, off, got 'lenient'"),
    ("mask: normalize.mask}", "mask: normalise.mask}", r"p.yaml:11: stage 'inpaint'.inputs.mask: 'normalise.mask' refers to 'normalise', which is not an earlier stage"),
    ("mask: normalize.mask}", "mask: normalize.image}", r"p.yaml:11: stage 'inpaint'.inputs.mask: 'normalize' has no output 'image'; outputs: mask"),
    ("mask: normalize.mask}", "mask: input.image}", r"p.yaml:11: stage 'inpaint'.inputs.mask: 'input.image' carries image, port 'mask' expects mask"),
    ("{image: input.image, mask: normalize.mask}", "{image: input.image}", r"p.yaml:9: stage 'inpaint'.inputs: required port 'mask' is not wired"),
    ("output: inpaint.image", "output: normalize.mask", r"p.yaml:13: output: 'normalize.mask' carries mask"),
    ("  - name: inpaint\n", "  - name: normalize\n", r"p.yaml:9: stages\[1\].name: duplicate stage name 'normalize'"),
    ("policy: reconcile\n", "policy: reconcile\ncolour: red\n", r"p.yaml:3: unknown key 'colour'"),
    ("    params: {dilate_px: 2}\n", "    params: {dilate_px: 2}\n    retries: 3\n", r"p.yaml:9: stages\[0\]: unknown key 'retries'"),
    ("stages:", "stages: [\n", r"p.yaml:\d+: invalid YAML"),
])
def test_errors_name_line_and_key(old, new, expect):
    assert old in GOOD
    with pytest.raises(ConfigError, match=expect) as e:
        spec_from_text(GOOD.replace(old, new, 1), source="p.yaml")
    assert "\n" not in str(e.value)


def test_not_a_mapping():
    with pytest.raises(ConfigError, match="must be a mapping"):
        spec_from_text("- a\n- b\n", source="p.yaml")


def test_overrides_are_typed_and_validated():
    spec = spec_from_text(GOOD, source="p.yaml")
    new = apply_overrides(spec, ["inpaint.radius=7", "inpaint.backend=telea"])
    assert new.stage("inpaint").params.radius == 7
    assert new.stage("inpaint").params.backend == "telea"
    assert spec.stage("inpaint").params.radius == 4  # original untouched
    with pytest.raises(ConfigError, match=r"^sets: stage 'inpaint' parameter 'radius': expected int, got str 'big'$"):
        apply_overrides(spec, ["inpaint.radius=big"])
    with pytest.raises(ConfigError, match="no stage named 'inpant'"):
        apply_overrides(spec, ["inpant.radius=3"])
    with pytest.raises(ConfigError, match="expected STAGE.KEY=VALUE"):
        apply_overrides(spec, ["radius"])
    # an int is accepted where a float is declared, a float where an int is declared is not
    assert apply_overrides(spec, {"normalize.threshold": 1}).stage("normalize").params.threshold == 1.0
    with pytest.raises(ConfigError, match="expected int or null, got float 2.5"):
        apply_overrides(spec, {"normalize.dilate_px": 2.5})


def test_yaml_alias_bomb_is_refused_fast_and_small():
    # issue 11 item 7: ~600 bytes of nested aliases expanded to gigabytes (parameters,
    # description and error messages). Refused at the first anchor, before any expansion.
    import tracemalloc

    # the anchors sit inside the description, which the old loader str()-ed: 618 bytes ran to
    # a MemoryError after ~5 minutes under a 3 GB address-space limit
    levels = ['&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    bomb = ("pipeline: bomb\ndescription: [" + ", ".join(levels) + "]\nstages:\n"
            "  - {name: c, stage: color-match, inputs: {image: input.image, "
            "reference: input.image}}\noutput: c.image\n")
    assert len(bomb) < 700
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as e:
            spec_from_text(bomb, source="bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    msg = str(e.value)
    assert msg.startswith("bomb.yaml:2: ") and "anchors and aliases are not allowed" in msg
    assert "\n" not in msg and len(msg) < 300
    assert peak < 5_000_000  # bytes; the expansion would be ~9**8 * 3 strings


@pytest.mark.parametrize("text,line", [
    ("pipeline: p\nstages: []\nparams: *nothing\n", 3),   # alias without its anchor
    ("pipeline: p\nx: &v 3\n", 2),
])
def test_yaml_aliases_and_anchors_are_one_line_errors(text, line):
    with pytest.raises(ConfigError, match=rf"^p\.yaml:{line}: invalid YAML: YAML (alias|anchor) "):
        spec_from_text(text, source="p.yaml")


def test_unhashable_yaml_key_is_a_one_line_error():
    # issue 11 item 10: `? [a, b]: 1` raised TypeError (unhashable type: 'list')
    text = GOOD.replace("policy: reconcile\n", "policy: reconcile\n? [a, b]\n: 1\n")
    with pytest.raises(ConfigError, match=r"^p\.yaml:3: a key must be a plain value, got a list$"):
        spec_from_text(text, source="p.yaml")
    with pytest.raises(ConfigError, match=r"^p\.yaml:12: a key must be a plain value, got a mapping$"):
        spec_from_text(GOOD.replace("radius: 4}", "radius: 4, {x: 1}: 2}"), source="p.yaml")


def test_long_values_are_cut_in_error_messages():
    huge = "x" * 1_000_000
    with pytest.raises(ConfigError) as e:
        spec_from_text(GOOD.replace("backend: ns", f"backend: {huge}"), source="p.yaml")
    msg = str(e.value)
    assert len(msg) < 400 and "(1000002 characters)" in msg and msg.startswith("p.yaml:12: ")
    with pytest.raises(ConfigError) as e:
        spec_from_text(GOOD.replace("policy: reconcile", f"policy: {huge}"), source="p.yaml")
    assert len(str(e.value)) < 300 and str(e.value).startswith("p.yaml:2: policy: ")


def test_set_values_get_the_same_yaml_rules():
    spec = spec_from_text(GOOD, source="p.yaml")
    with pytest.raises(ConfigError, match=r"^sets: 'inpaint.radius=\{\[1\]: 2\}': line 1: a key "
                                          r"must be a plain value, got a list$"):
        apply_overrides(spec, ["inpaint.radius={[1]: 2}"])
    # an anchor is not expanded: the value stays the string it was, and the type check says so
    with pytest.raises(ConfigError, match=r"expected int, got str '&a 3'$"):
        apply_overrides(spec, ["inpaint.radius=&a 3"])

