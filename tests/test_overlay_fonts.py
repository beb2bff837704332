"""The font splits of ``seamline.testing.overlays``: a pinned train list, a globbed held-out one.

Fonts are laid out in a temporary font folder (empty files: only their presence is read), so
the tests run with any set of installed fonts.
"""

from pathlib import Path

import pytest

from seamline.testing import overlays


def _install(root: Path, rel: str) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return str(path)


def test_train_fonts_are_the_pinned_ones_in_path_order_missing_ones_named(tmp_path):
    # Installed out of path order, with a font of no split's package and a held-out one.
    rels = ["truetype/freefont/FreeSans.ttf", "opentype/lobster/lobster.otf",
            "truetype/dejavu/DejaVuSans.ttf", "truetype/dejavu/DejaVuSans-BoldOblique.ttf",
            "opentype/cantarell/Cantarell-Bold.otf"]
    pinned = [_install(tmp_path, rel) for rel in rels]
    _install(tmp_path, "truetype/quicksand/Quicksand-Bold.ttf")
    held = _install(tmp_path, "truetype/lato/Lato-Bold.ttf")

    with pytest.warns(UserWarning, match="pinned train fonts not installed") as caught:
        first = overlays.font_paths("train", root=tmp_path)
        again = overlays.font_paths("train", root=tmp_path)
    assert first == again == sorted(pinned, key=Path)
    message = str(caught[0].message)
    assert "fonts-urw-base35 (all 33 files)" in message
    assert "fonts-freefont-ttf: FreeMono.ttf, FreeMonoBold.ttf," in message
    assert "FreeSans.ttf" not in message and "Quicksand" not in message
    assert overlays.font_paths("heldout", root=tmp_path) == [held]


def test_the_pinned_train_list_is_one_entry_per_file_and_no_held_out_family():
    files = [Path(folder) / name for _, folder, names in overlays.TRAIN_FONTS for name in names]
    assert len(files) == len(set(files)) == 162
    assert not [f for f in files if f.name.startswith(overlays.HELDOUT_FAMILIES)]
    assert Path(overlays.DEJAVU_SANS_BOLD).relative_to(overlays.FONT_ROOT) in files
    assert {pkg for pkg, _, _ in overlays.TRAIN_FONTS} <= {*overlays.FONT_PACKAGES,
                                                           "fonts-lobster", "fonts-roboto-unhinted"}


def test_no_pinned_train_font_installed_is_an_error_naming_the_packages(tmp_path):
    _install(tmp_path, "truetype/quicksand/Quicksand-Bold.ttf")
    with pytest.raises(ValueError, match="no train fonts under .*fonts-dejavu-core"):
        overlays.font_paths("train", root=tmp_path)


def test_a_train_font_looked_up_by_name_on_a_dejavu_core_only_machine_warns_nothing(
        tmp_path, monkeypatch):
    # CI installs fonts-dejavu-core only: the tests' lookup of one train font by name
    # (conftest.train_font) needs that file, not the whole pinned list, so the missing
    # packages' warning is not theirs to print (it was, in every such test's summary)
    import functools
    import warnings

    from conftest import train_font

    core = next(names for pkg, _, names in overlays.TRAIN_FONTS if pkg == "fonts-dejavu-core")
    for name in core:
        _install(tmp_path, f"truetype/dejavu/{name}")
    monkeypatch.setattr(overlays, "font_paths",
                        functools.partial(overlays.font_paths, root=tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert train_font("DejaVuSans.ttf") == str(tmp_path / "truetype/dejavu/DejaVuSans.ttf")
        with pytest.raises(pytest.skip.Exception, match="FreeSans.ttf not installed"):
            train_font("FreeSans.ttf")
