import json

import pytest

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.errors import ModelError, ModelIntegrityError, ModelNotFound
from tests.helpers import manifest_entry, tiny_upscaler_onnx, write_tiny_catalog


def test_catalog_reads_entries_and_builtins(tmp_path):
    catalog = load_catalog(write_tiny_catalog(tmp_path, scales=(2, 4)))
    assert {"tiny-x2", "tiny-x4", "opencv-telea", "opencv-ns"} <= set(catalog.ids())
    assert catalog.default_for("upscale", scale=4).id == "tiny-x4"
    assert catalog.default_for("upscale").id == "tiny-x2"
    assert catalog.default_for("inpaint").id == "opencv-telea"
    spec = catalog.get("tiny-x2")
    assert spec.scale == 2 and spec.inputs[0].name == "image" and spec.summary()["sha256"] == spec.sha256


def test_verify_accepts_the_real_file_and_refuses_a_changed_one(tmp_path):
    catalog = load_catalog(write_tiny_catalog(tmp_path))
    spec = catalog.get("tiny-x2")
    assert catalog.verify(spec) == spec.file
    tiny_upscaler_onnx(spec.file, scale=2, seed=99)  # same name, other weights
    with pytest.raises(ModelIntegrityError, match="checksum"):
        load_catalog(tmp_path).verify(spec)


def test_missing_fields_are_named(tmp_path):
    entry = manifest_entry("x", tiny_upscaler_onnx(tmp_path / "x.onnx"), 2)
    del entry["licence"], entry["sha256"]
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [entry]}))
    with pytest.raises(ModelError, match="sha256, licence"):
        load_catalog(tmp_path)


def test_unknown_model_lists_the_known_ones(tmp_path):
    catalog = load_catalog(write_tiny_catalog(tmp_path))
    with pytest.raises(ModelNotFound, match="tiny-x2"):
        catalog.get("nope")


@pytest.mark.parametrize(
    "content,name,message",
    [
        (b"version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n", "m.onnx", "LFS pointer"),
        (b"\x80\x04\x95\x10\x00\x00\x00", "m.onnx", "pickle"),
        (b"PK\x03\x04 torch zip", "m.pt", "pickle"),
    ],
)
def test_pointers_and_pickles_are_refused(tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content)
    entry = manifest_entry("bad", path, 2)
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [entry]}))
    catalog = load_catalog(tmp_path)
    with pytest.raises(ModelIntegrityError, match=message):
        catalog.verify(catalog.get("bad"))


def test_broken_manifest_gives_a_plain_message(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="cannot be read"):
        load_catalog(tmp_path)


def test_style_preset_names_for_the_ui(tmp_path):
    from llmvis_studio.catalog import style_presets

    names = [name for name, _ in style_presets(load_catalog())]
    assert "watercolour" in names and len(names) == len(set(names))
    assert style_presets(load_catalog(write_tiny_catalog(tmp_path))) == [], "no stylize model, no presets"
