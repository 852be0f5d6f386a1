"""Mutated real files (truncations, byte flips, forged huge dimensions): only typed errors.

A few hundred cases; the count is printed so CI logs show how much was exercised.
"""

import contextlib
import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.core.document import Document
from llmvis_studio.core.errors import ImageLoadError
from llmvis_studio.files import load_image
from llmvis_studio.files.project import Project, load_project, save_project
from tests.helpers import photo

CASES_PER_FORMAT = 60


def encoded_samples() -> dict[str, bytes]:
    image = photo(48, 64)
    samples = {}
    for fmt, suffix in (("PNG", "png"), ("JPEG", "jpg"), ("TIFF", "tif"), ("WEBP", "webp"), ("BMP", "bmp")):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format=fmt)
        samples[suffix] = buffer.getvalue()
    return samples


def forged_png(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming a huge size, with almost no data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 16)
    idat_chunk = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    return b"\x89PNG\r\n\x1a\n" + chunk + idat_chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def mutations(data: bytes, rng: np.random.Generator):
    for _ in range(CASES_PER_FORMAT // 3):
        yield data[: int(rng.integers(0, len(data)))]  # truncation
    for _ in range(CASES_PER_FORMAT - CASES_PER_FORMAT // 3):
        mutated = bytearray(data)
        for position in rng.integers(0, len(data), size=int(rng.integers(1, 12))):
            mutated[position] = int(rng.integers(0, 256))  # byte flips, headers included
        yield bytes(mutated)


def try_load(path) -> str:
    try:
        image, _ = load_image(path)
    except ImageLoadError:
        return "refused"
    assert image.ndim == 3 and image.dtype in (np.uint8, np.uint16)
    return "loaded"


def test_mutated_images_never_crash(tmp_path):
    rng = np.random.default_rng(1234)
    outcomes = {"loaded": 0, "refused": 0}
    for suffix, data in encoded_samples().items():
        for i, mutated in enumerate(mutations(data, rng)):
            path = tmp_path / f"case{i}.{suffix}"
            path.write_bytes(mutated)
            outcomes[try_load(path)] += 1
    for width, height in ((100_000, 100_000), (2**31 - 1, 1), (20_000, 6_000), (0, 10)):
        path = tmp_path / "forged.png"
        path.write_bytes(forged_png(width, height))
        outcomes[try_load(path)] += 1
    total = sum(outcomes.values())
    print(f"fuzzed {total} image files: {outcomes}")
    assert total >= 300 and outcomes["refused"] > 50


def test_mutated_projects_never_crash(tmp_path):
    rng = np.random.default_rng(99)
    source = tmp_path / "p.llmvis"
    save_project(source, Project(Document(image=photo(16, 16)), photo(16, 16)))
    data = source.read_bytes()
    count = 0
    for i, mutated in enumerate(mutations(data, rng)):
        path = tmp_path / f"m{i}.llmvis"
        path.write_bytes(mutated)
        with contextlib.suppress(ImageLoadError):
            load_project(path)
        count += 1
    print(f"fuzzed {count} project files")
    assert count == CASES_PER_FORMAT


def test_huge_declared_size_asks_first(tmp_path):
    from llmvis_studio.core.errors import LargeImageError

    path = tmp_path / "big.png"
    path.write_bytes(forged_png(12_000, 10_000))  # 120 MP: ask, do not decode
    with pytest.raises(LargeImageError) as info:
        load_image(path)
    assert info.value.megapixels == pytest.approx(120)
    path.write_bytes(forged_png(30_000, 20_000))  # 600 MP: always refused
    with pytest.raises(ImageLoadError, match="refused"):
        load_image(path, allow_large=True)
