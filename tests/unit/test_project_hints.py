"""Colour hints in the project file: saved sparse, restored exactly, version 1 kept when there are none, and a
hostile hints entry refused with one sentence."""

import io
import json
import zipfile

import numpy as np
import pytest

from llmvis_studio.core.document import Document
from llmvis_studio.core.errors import ImageLoadError
from llmvis_studio.core.hint_layer import from_points, to_points
from llmvis_studio.files.project import Project, load_project, save_project
from tests.helpers import photo


def hinted_project(with_hints: bool = True) -> Project:
    image = photo(30, 40)
    hints = None
    if with_hints:
        hints = np.zeros((30, 40, 4), np.uint8)
        hints[4:7, 5:8] = (200, 30, 40, 255)
        hints[20:23, 30:33] = (10, 180, 60, 255)
    return Project(Document(image=image), image.copy(), hints=hints)


def header_of(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("project.json"))


def test_hints_round_trip_and_raise_the_version(tmp_path):
    project = hinted_project()
    save_project(tmp_path / "h.llmvis", project)
    assert header_of(tmp_path / "h.llmvis")["version"] == 2
    back = load_project(tmp_path / "h.llmvis")
    np.testing.assert_array_equal(back.hints, project.hints)


def test_a_project_without_hints_stays_version_1_and_opens_without_hints(tmp_path):
    save_project(tmp_path / "plain.llmvis", hinted_project(with_hints=False))
    assert header_of(tmp_path / "plain.llmvis")["version"] == 1  # still readable by version-1 builds
    assert load_project(tmp_path / "plain.llmvis").hints is None


def test_empty_hint_layer_is_not_saved(tmp_path):
    project = hinted_project()
    project.hints[:] = 0
    save_project(tmp_path / "e.llmvis", project)
    with zipfile.ZipFile(tmp_path / "e.llmvis") as archive:
        assert "hints.npy" not in archive.namelist()


def _rewrite_hints(path, points: np.ndarray) -> None:
    """Replace hints.npy in a saved project (zip entries cannot be replaced in place: copy the others)."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist() if name != "hints.npy"}
    buffer = io.BytesIO()
    np.save(buffer, points, allow_pickle=False)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        archive.writestr("hints.npy", buffer.getvalue())


@pytest.mark.parametrize(
    "points, words",
    [
        (np.array([[100, 5, 1, 2, 3, 255]], np.uint32), "outside the image"),
        (np.array([[1, 5, 1, 2, 300, 255]], np.uint32), "outside 0..255"),
        (np.zeros((3, 5), np.uint32), "not a list of hint points"),
        (np.zeros((3, 6), np.float64), "not a list of hint points"),
    ],
)
def test_hostile_hints_are_refused_in_one_sentence(tmp_path, points, words):
    path = tmp_path / "bad.llmvis"
    save_project(path, hinted_project())
    _rewrite_hints(path, points)
    with pytest.raises(ImageLoadError) as caught:
        load_project(path)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_points_round_trip():
    layer = hinted_project().hints
    np.testing.assert_array_equal(from_points(to_points(layer), 30, 40), layer)
    assert to_points(layer).shape == (18, 6)
