"""Contracts, handoff policies and adapters, on real images and masks."""

from __future__ import annotations

import numpy as np
import pytest

from seamline.core import artifacts
from seamline.core.adapters import ADAPTERS
from seamline.core.contracts import Expect, PortSpec, port_checks
from seamline.errors import ContractError
from seamline.engine.runner import handoff

from conftest import blob_mask


def failed(checks):
    return {c.stat for c in checks if not c.ok}


def test_expect_bounds_and_target():
    assert Expect("mean", min=0.2, max=0.8).ok(0.5)
    assert not Expect("mean", min=0.2, max=0.8).ok(0.9)
    assert Expect("mean", target=0.5, tol=0.01).ok(0.505)
    assert not Expect("mean", target=0.5, tol=0.01).ok(0.52)
    assert not Expect("mean", min=0).ok(float("nan"))
    assert Expect("mean", target=0.5, tol=0.1).describe() == "0.5 ± 0.1"
    assert Expect("coverage", max=0.3).describe() == "<= 0.3"


def test_image_checks_pass_on_a_conforming_photo(astronaut):
    stats = artifacts.measure("image", astronaut)
    assert stats["layout"] == "HxWx3" and stats["dtype"] == "float32"
    assert 0 <= stats["min"] <= stats["max"] <= 1
    assert failed(port_checks(PortSpec("image"), stats)) == set()


def test_image_checks_catch_dtype_range_and_size_multiple(astronaut):
    bad = (astronaut[:510, :509].astype(np.float64) * 1.2)
    checks = port_checks(PortSpec("image", size_multiple=8), artifacts.measure("image", bad))
    assert failed(checks) == {"dtype", "range", "size_multiple"}
    by = {c.stat: c for c in checks}
    assert by["size_multiple"].found == "509x510"
    assert by["range"].adapter == "clip"


def test_layout_failure_short_circuits(astronaut):
    checks = port_checks(PortSpec("image"), artifacts.measure("image", astronaut[..., 0]))
    assert checks[-1].stat == "layout" and not checks[-1].ok


def test_mask_checks(astronaut):
    m = blob_mask((64, 64), [(20, 20)], 6)
    m[50, 50] = 1.0          # a 1-pixel speck
    m[10:12, 40:44] = 0.5    # soft values
    spec = PortSpec("mask", binary=True, min_component_px=4, max_coverage=0.01)
    checks = port_checks(spec, artifacts.measure("mask", m))
    assert failed(checks) == {"binary", "min_component_px", "coverage"}


def test_same_size_check():
    spec = PortSpec("mask", same_size_as="image")
    checks = port_checks(spec, artifacts.measure("mask", np.zeros((10, 12), np.float32)),
                         sizes={"image": (10, 13)})
    assert failed(checks) == {"size"}
    assert {c.found for c in checks if c.stat == "size"} == {"12x10"}


def test_strict_policy_names_stage_port_stat_expected_and_found():
    m = blob_mask((40, 40), [(20, 20)], 8) * 0.7
    with pytest.raises(ContractError) as e:
        handoff(m, "mask", PortSpec("mask", binary=True), policy="strict", stage="inpaint",
                port="mask", source="normalize.mask")
    msg = str(e.value)
    for part in ("stage 'inpaint'", "input 'mask'", "binary", "values exactly 0 or 1",
                 "of pixels soft", "binarize"):
        assert part in msg
    assert "\n" not in msg


def test_reconcile_inserts_adapter_and_records_numbers():
    m = blob_mask((40, 40), [(20, 20)], 8) * 0.7
    m[2, 2] = 1.0
    spec = PortSpec("mask", binary=True, min_component_px=3)
    out, rec, warns = handoff(m, "mask", spec, policy="reconcile", stage="s", port="mask",
                              source="a.mask")
    names = [a["adapter"] for a in rec["adapters"]]
    assert names == ["binarize", "remove_specks"]
    assert rec["adapters"][0]["ok_after"] and rec["adapters"][1]["ok_after"]
    assert rec["adapters"][1]["params"]["pixels_removed"] == 1
    assert set(np.unique(out)) == {0.0, 1.0}
    assert out[2, 2] == 0 and out[20, 20] == 1
    assert rec["stats_after"]["soft_fraction"] == 0
    assert warns == []


def test_reconcile_without_adapter_is_an_error():
    m = np.ones((20, 20), np.float32)
    with pytest.raises(ContractError, match="coverage expected <= 0.5, found 1.0.*no adapter"):
        handoff(m, "mask", PortSpec("mask", max_coverage=0.5), policy="reconcile", stage="s",
                port="mask")


def test_off_policy_passes_through_with_a_warning(astronaut):
    bad = astronaut * 1.5
    out, rec, warns = handoff(bad, "image", PortSpec("image"), policy="off", stage="s",
                              port="image")
    assert out is bad and rec["adapters"] == []
    assert len(warns) == 1 and "range" in warns[0]
    assert any(not c["ok"] for c in rec["checks"])


def test_warn_severity_never_stops():
    m = blob_mask((40, 40), [(20, 20)], 8)
    spec = PortSpec("mask", expects=(Expect("coverage", max=0.01, severity="warn"),))
    _, _, warns = handoff(m, "mask", spec, policy="strict", stage="s", port="mask")
    assert len(warns) == 1


def test_adapters_directly(astronaut):
    padded, p = ADAPTERS["pad_to_multiple"](astronaut[:509, :510], PortSpec("image",
                                                                            size_multiple=8))
    assert padded.shape[:2] == (512, 512) and p == {"pad_bottom": 3, "pad_right": 2}
    assert np.array_equal(padded[:509, :510], astronaut[:509, :510])
    clipped, p = ADAPTERS["clip"](astronaut * 2 - 0.5, PortSpec("image"))
    assert clipped.min() == 0 and clipped.max() == 1 and p["clipped_values"] > 0
    as32, p = ADAPTERS["to_float32"]((astronaut * 255).round().astype(np.uint8),
                                     PortSpec("image"))
    assert as32.dtype == np.float32 and p["from_dtype"] == "uint8"
    assert np.array_equal(as32, astronaut)


def test_digest_is_content_based(astronaut):
    a = artifacts.digest("image", astronaut)
    assert a == artifacts.digest("image", astronaut.copy())
    b = astronaut.copy()
    b[0, 0, 0] = 0.5
    assert a != artifacts.digest("image", b)
