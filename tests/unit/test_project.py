import zipfile

import numpy as np
import pytest

from llmvis_studio.core.document import Document, ImageMetadata
from llmvis_studio.core.errors import ImageLoadError
from llmvis_studio.files.project import Project, load_project, save_project
from tests.helpers import photo


def make_project() -> Project:
    image = photo(30, 40).astype(np.uint16) * 257
    mask = np.zeros((30, 40), np.uint8)
    mask[5:9, 3:30] = 200
    doc = Document(
        image=image, mask=mask, metadata=ImageMetadata(format="TIFF", exif=b"Exif\x00\x00II", dpi=(300, 300))
    )
    original = image.copy()
    original[0, 0] = 7
    return Project(
        doc,
        original,
        jobs=[{"op": "inpaint", "model": "opencv-telea", "params": {}}],
        prompts=["remove the scratch", "make it sharper"],
    )


def test_project_round_trip_is_exact(tmp_path):
    project = make_project()
    save_project(tmp_path / "p.llmvis", project)
    back = load_project(tmp_path / "p.llmvis")
    np.testing.assert_array_equal(back.document.image, project.document.image)
    assert back.document.image.dtype == np.uint16
    np.testing.assert_array_equal(back.document.mask, project.document.mask)
    np.testing.assert_array_equal(back.original, project.original)
    assert back.jobs == project.jobs and back.prompts == project.prompts
    assert back.document.metadata.exif == b"Exif\x00\x00II" and back.document.metadata.dpi == (300, 300)


@pytest.mark.parametrize("name", ["../evil.npy", "/etc/evil", "a/../../evil", "C:/evil"])
def test_unsafe_entries_are_refused(tmp_path, name):
    path = tmp_path / "bad.llmvis"
    save_project(path, make_project())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(name, b"x")
    with pytest.raises(ImageLoadError, match="unsafe path"):
        load_project(path)


def test_symlink_entries_are_refused(tmp_path):
    path = tmp_path / "link.llmvis"
    save_project(path, make_project())
    info = zipfile.ZipInfo("link")
    info.external_attr = 0o120777 << 16
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(ImageLoadError, match="symbolic link"):
        load_project(path)


def test_damaged_project_gives_a_plain_error(tmp_path):
    path = tmp_path / "p.llmvis"
    save_project(path, make_project())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError):
        load_project(path)
    (tmp_path / "x.llmvis").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ImageLoadError):
        load_project(tmp_path / "x.llmvis")
