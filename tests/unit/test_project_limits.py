"""Hostile project files: zip bombs, lying sizes and crafted headers are refused with one sentence,
fast and without inflating anything."""

import functools
import io
import json
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

from llmvis_studio.core.errors import ImageLoadError, LargeImageError
from llmvis_studio.files import project as project_module
from llmvis_studio.files.project import MAX_RATIO, load_project, save_project
from tests.unit.test_project import make_project

BOMB_SHAPE = (12_500, 20_000, 4)  # 250 megapixels of 16-bit RGBA: exactly at the pixel limit, 2.0 GB
CHUNK = 16 << 20


def npy_header(shape, dtype) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


@functools.cache
def crc_of_zeros(prefix: bytes, total: int) -> int:
    crc = zlib.crc32(prefix)
    zeros = bytes(CHUNK)
    whole, rest = divmod(total - len(prefix), CHUNK)
    for _ in range(whole):
        crc = zlib.crc32(zeros, crc)
    return zlib.crc32(bytes(rest), crc)


def deflated_zeros(prefix: bytes, total: int, level: int = 9) -> tuple[bytes, int]:
    """A raw deflate stream of `prefix` + zeros up to `total` bytes (level 9: about 1030:1, level 1: 230:1),
    built from one repeated full-flush block so making it does not take 2 GB; and its CRC-32."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    parts = [compressor.compress(prefix + bytes(CHUNK - len(prefix))), compressor.flush(zlib.Z_FULL_FLUSH)]
    block = compressor.compress(bytes(CHUNK)) + compressor.flush(zlib.Z_FULL_FLUSH)
    whole, rest = divmod(total - CHUNK, CHUNK)
    parts += [block] * whole
    parts += [compressor.compress(bytes(rest)), compressor.flush()]
    return b"".join(parts), crc_of_zeros(prefix, total)


def write_raw_zip(path, entries) -> None:
    """entries: (name, compressed bytes, crc, declared size, method[, declared compressed size])."""
    body, directory = io.BytesIO(), io.BytesIO()
    for name, data, crc, size, method, *claimed in entries:
        encoded = name.encode()
        offset = body.tell()
        compressed_size = claimed[0] if claimed else len(data)
        fields = (20, 0, method, 0, 0x21, crc, compressed_size, size, len(encoded))
        body.write(b"PK\x03\x04" + struct.pack("<HHHHHIIIHH", *fields, 0) + encoded + data)
        directory.write(b"PK\x01\x02" + struct.pack("<HHHHHHIIIHHHHHII", 20, *fields, 0, 0, 0, 0, 0, offset) + encoded)
    end = struct.pack("<HHHHIIH", 0, 0, len(entries), len(entries), directory.tell(), body.tell(), 0)
    path.write_bytes(body.getvalue() + directory.getvalue() + b"PK\x05\x06" + end)


def deflate(data: bytes, level: int = 1) -> tuple[bytes, int, int]:
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)


def small_entries(image_shape=(30, 40, 3)):
    header = json.dumps({"format": "llmvis-project", "version": 1}).encode()
    image = np.zeros(image_shape, np.uint8)
    out = []
    for name, raw in (
        ("project.json", header),
        ("original.npy", project_module._npy_bytes(image)),
        ("mask.npy", project_module._npy_bytes(np.zeros(image_shape[:2], np.uint8))),
    ):
        out.append((name, *deflate(raw), zipfile.ZIP_DEFLATED))
    return out


def write_bomb(path, level: int):
    """image.npy and original.npy each 2.0 GB of zeros and a matching 250 MB mask: every check but the
    size and the ratio passes."""
    prefix = npy_header(BOMB_SHAPE, np.uint16)
    total = len(prefix) + int(np.prod(BOMB_SHAPE)) * 2
    data, crc = deflated_zeros(prefix, total, level)
    mask_prefix = npy_header(BOMB_SHAPE[:2], np.uint8)
    mask_total = len(mask_prefix) + BOMB_SHAPE[0] * BOMB_SHAPE[1]
    mask, mask_crc = deflated_zeros(mask_prefix, mask_total, level)
    entries = [entry for entry in small_entries() if entry[0] == "project.json"]
    entries += [
        ("image.npy", data, crc, total, zipfile.ZIP_DEFLATED),
        ("original.npy", data, crc, total, zipfile.ZIP_DEFLATED),
        ("mask.npy", mask, mask_crc, mask_total, zipfile.ZIP_DEFLATED),
    ]
    write_raw_zip(path, entries)
    assert total > 1.99e9
    return path


@pytest.fixture(scope="module")
def bomb(tmp_path_factory):
    """A valid 2 MB project whose image.npy inflates to 2.0 GB of zeros (valid CRC and all)."""
    path = write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.llmvis", level=9)
    assert path.stat().st_size < 5 << 20
    return path


def peak_memory_of(call) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_2_gb_bomb_is_refused_within_a_second_and_200_mb(bomb):
    started = time.perf_counter()
    with pytest.raises(ImageLoadError, match="more than a project can compress") as caught:
        load_project(bomb)
    assert time.perf_counter() - started < 1.0
    assert "bomb.llmvis declares '" in caught.value.user_message and "npy' as 2000 MB" in caught.value.user_message
    peak = peak_memory_of(lambda: pytest.raises(ImageLoadError, load_project, bomb))
    assert peak < 200e6, f"{peak / 1e6:.0f} MB"


def test_a_2_gb_project_compressed_like_ours_asks_first_within_a_second_and_200_mb(tmp_path):
    """At level 1 the ratio looks like a real flat project: the size question comes before any inflating."""
    path = write_bomb(tmp_path / "flat.llmvis", level=1)
    started = time.perf_counter()
    with pytest.raises(LargeImageError, match="250 megapixel image and needs about 4.2 GB of memory. Open it anyway"):
        load_project(path)
    assert time.perf_counter() - started < 1.0
    peak = peak_memory_of(lambda: pytest.raises(LargeImageError, load_project, path))
    assert peak < 200e6, f"{peak / 1e6:.0f} MB"


def test_large_projects_load_when_confirmed(tmp_path, monkeypatch):
    save_project(tmp_path / "p.llmvis", make_project())
    monkeypatch.setattr(project_module, "ASK_PIXELS", 1000)
    with pytest.raises(LargeImageError, match="Open it anyway"):
        load_project(tmp_path / "p.llmvis")
    assert load_project(tmp_path / "p.llmvis", allow_large=True).document.image.shape == (30, 40, 3)


CHILD = """
import resource, sys
from llmvis_studio.core.errors import ImageLoadError, LargeImageError
from llmvis_studio.files.project import load_project
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load_project(sys.argv[1])
except ImageLoadError as error:
    print(error.user_message)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_the_bomb_costs_a_fresh_process_under_200_mb_of_resident_memory(bomb):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(bomb)], capture_output=True, text=True, timeout=60)
    message, grown_kb = proc.stdout.strip().splitlines()
    assert "refused" in message and "Traceback" not in proc.stderr
    assert int(grown_kb) < 200_000


def test_a_flat_project_from_our_own_writer_stays_under_the_ratio_limit(tmp_path):
    """Deflate level 1 peaks near 230:1 on a blank image; the limit must leave it loadable."""
    project = make_project()
    blank = np.full((1500, 1500, 4), 65535, np.uint16)
    project.document.image = blank
    project.document.mask = np.zeros((1500, 1500), np.uint8)
    project.original = blank
    save_project(tmp_path / "blank.llmvis", project)
    with zipfile.ZipFile(tmp_path / "blank.llmvis") as archive:
        info = archive.getinfo("image.npy")
        assert 150 < info.file_size / info.compress_size < MAX_RATIO
    np.testing.assert_array_equal(load_project(tmp_path / "blank.llmvis").document.image, blank)


def test_lying_npy_header_is_refused(tmp_path):
    path = tmp_path / "liar.llmvis"
    raw = npy_header(BOMB_SHAPE, np.uint16) + bytes(100)  # the header claims 2 GB, the entry holds 100 bytes
    write_raw_zip(path, small_entries() + [("image.npy", *deflate(raw), zipfile.ZIP_DEFLATED)])
    with pytest.raises(ImageLoadError, match="not the size it declares"):
        load_project(path)


def test_compressed_size_beyond_the_file_is_refused(tmp_path):
    path = tmp_path / "overlap.llmvis"
    raw = project_module._npy_bytes(np.zeros((30, 40, 3), np.uint8))
    data, crc, size = deflate(raw)
    write_raw_zip(path, small_entries() + [("image.npy", data, crc, size, zipfile.ZIP_DEFLATED, 50 << 20)])
    with pytest.raises(ImageLoadError, match="overlap or run past the end"):
        load_project(path)


def test_other_compressions_and_oversized_entries_are_refused(tmp_path):
    path = tmp_path / "bz.llmvis"
    save_project(path, make_project())
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("extra.bin", b"x" * 100)
    with pytest.raises(ImageLoadError, match="compression LLMVis never writes"):
        load_project(path)
    path = tmp_path / "big.llmvis"
    save_project(path, make_project())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("icc.bin", bytes(20 << 20))
    with pytest.raises(ImageLoadError, match="above the 17 MB limit"):
        load_project(path)


def test_a_directory_of_many_entries_is_refused_before_it_is_parsed(tmp_path):
    path = tmp_path / "many.llmvis"
    with zipfile.ZipFile(path, "w") as archive:
        for index in range(5000):
            archive.writestr(f"e{index}", b"")
    started = time.perf_counter()
    with pytest.raises(ImageLoadError, match="5000 entries"):
        load_project(path)
    assert time.perf_counter() - started < 0.5


def test_pixel_limit_and_mask_shape_are_checked_from_the_npy_header(tmp_path, monkeypatch):
    save_project(tmp_path / "p.llmvis", make_project())
    monkeypatch.setattr(project_module, "MAX_PIXELS", 100)
    with pytest.raises(ImageLoadError, match="40×30 image, outside the 1 to 0 megapixel limit"):
        load_project(tmp_path / "p.llmvis")
    monkeypatch.undo()
    path = tmp_path / "mask.llmvis"
    entries = [e for e in small_entries() if e[0] != "mask.npy"]
    entries.append(
        ("mask.npy", *deflate(project_module._npy_bytes(np.zeros((31, 40), np.uint8))), zipfile.ZIP_DEFLATED)
    )
    entries.append(
        ("image.npy", *deflate(project_module._npy_bytes(np.zeros((30, 40, 3), np.uint8))), zipfile.ZIP_DEFLATED)
    )
    write_raw_zip(path, entries)
    with pytest.raises(ImageLoadError, match="mask does not match"):
        load_project(path)


@pytest.mark.parametrize(
    "array",
    [
        np.array([{"a": 1}, None], dtype=object),
        np.zeros((30, 40, 3), np.float32),
        np.asfortranarray(np.zeros((30, 40, 3), np.uint8)),
    ],
)
def test_arrays_of_the_wrong_kind_are_refused(tmp_path, array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    path = tmp_path / "kind.llmvis"
    write_raw_zip(path, small_entries() + [("image.npy", *deflate(buffer.getvalue()), zipfile.ZIP_DEFLATED)])
    with pytest.raises(ImageLoadError, match="not a plain array|not an RGB"):
        load_project(path)


# --- crafted headers -----------------------------------------------------------------------------
GOOD = {"format": "llmvis-project", "version": 1}
HEADERS = {
    "list": ([1, 2], "holds a list, not an object"),
    "string": ("text", "holds text"),
    "jobs number": ({**GOOD, "jobs": 5}, "'jobs' must be a list"),
    "job not object": ({**GOOD, "jobs": [5]}, "each entry of 'jobs' must be an object"),
    "job op number": ({**GOOD, "jobs": [{"op": 5}]}, "'jobs\\[\\].op' must be text"),
    "source number": ({**GOOD, "source_path": 5}, "'source_path' must be text"),
    "source nul": ({**GOOD, "source_path": "a\x00b"}, "'source_path' is not a usable path"),
    "prompts": ({**GOOD, "prompts": [1]}, "each prompt must be text"),
    "metadata": ({**GOOD, "metadata": "x"}, "'metadata' must be an object"),
    "format": ({**GOOD, "metadata": {"format": 7}}, "'metadata.format'"),
    "dpi": ({**GOOD, "metadata": {"dpi": [0, "a"]}}, "'metadata.dpi'"),
    "dpi nan": ({**GOOD, "metadata": {"dpi": [float("nan"), 72]}}, "'metadata.dpi'"),
    "version text": ({**GOOD, "version": "1"}, "'version' must be a positive whole number"),
    "version bool": ({**GOOD, "version": True}, "'version'"),
    "newer": ({**GOOD, "version": 99}, "newer version"),
    "not ours": ({"format": "zip"}, "does not say it is an LLMVis project"),
}


def project_with_header(path, text: bytes) -> None:
    save_project(path, make_project())
    with zipfile.ZipFile(path) as source:
        kept = [(info, source.read(info)) for info in source.infolist() if info.filename != "project.json"]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", text)
        for info, data in kept:
            archive.writestr(info, data)


@pytest.mark.parametrize("case", sorted(HEADERS))
def test_crafted_headers_give_one_sentence(tmp_path, case):
    header, expected = HEADERS[case]
    path = tmp_path / "crafted.llmvis"
    project_with_header(path, json.dumps(header).encode())
    with pytest.raises(ImageLoadError, match=expected) as caught:
        load_project(path)
    assert caught.value.user_message.startswith("crafted.llmvis ")


@pytest.mark.parametrize(
    "text",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe not utf-8",
        b"1" * 10_000,
        b'{"format": "llmvis-project", "version": 1, "jobs": [' + b"{}," * 20_000 + b"{}]}",
    ],
)
def test_nasty_json_gives_one_sentence(tmp_path, text):
    path = tmp_path / "nasty.llmvis"
    project_with_header(path, text)
    with pytest.raises(ImageLoadError, match="^nasty.llmvis "):
        load_project(path)


def test_unknown_keys_are_ignored_and_known_ones_kept(tmp_path):
    path = tmp_path / "extra.llmvis"
    project_with_header(
        path,
        json.dumps(
            {**GOOD, "future": {"x": 1}, "prompts": ["hi"], "metadata": {"format": "TIFF", "dpi": [300, 300]}}
        ).encode(),
    )
    loaded = load_project(path)
    assert loaded.prompts == ["hi"] and loaded.document.metadata.dpi == (300.0, 300.0)
