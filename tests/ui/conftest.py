"""Fixtures for the UI tests: a scriptable fake engine, a real EngineClient, a window.

Every test must leave no worker QThread running; the client fixture shuts its client down.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog, ModelSpec
from llmvis_studio.core.errors import InputError
from llmvis_studio.core.geometry import nonzero_bounds
from llmvis_studio.core.requests import EditRequest, EditResult
from llmvis_studio.worker import EngineClient, live_threads

TILES = 20
TILE_SECONDS = 0.02


class FakeEngine:
    """Stands in for the onnxruntime engine: same run(request, progress) contract, tiny work.

    behaviour: "invert" (inverts the image inside the mask, or everywhere without one),
    "upscale" (×2 with np.repeat) or "fail" (raises InputError after a few tiles).
    """

    def __init__(self, behaviour: str = "invert") -> None:
        self.behaviour = behaviour

    def run(self, request: EditRequest, progress) -> EditResult:
        for tile in range(TILES):
            if self.behaviour == "fail" and tile == 3:
                raise InputError("The fake engine cannot handle this image.")
            time.sleep(TILE_SECONDS)
            progress.set((tile + 1) / TILES, f"Tile {tile + 1} of {TILES}")
        if request.op == "upscale" or self.behaviour == "upscale":
            image = np.repeat(np.repeat(request.image, 2, axis=0), 2, axis=1)
            return EditResult(request.op, image, "fake-x2", "FakeCPU", 1.25)
        return self._invert(request)

    @staticmethod
    def _invert(request: EditRequest) -> EditResult:
        image = request.image.copy()
        top = np.iinfo(image.dtype).max
        inside = request.mask > 0 if request.mask is not None else np.ones(image.shape[:2], bool)
        image[inside] = top - image[inside]
        changed = nonzero_bounds(request.mask) if request.mask is not None else None
        return EditResult(request.op, image, request.model_id or "fake", "FakeCPU", 1.25, changed=changed)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMVIS_SETTINGS", str(tmp_path / "settings.ini"))
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "data"))  # autosave/recovery never touch a real user's


@pytest.fixture(autouse=True)
def _no_dangling_worker_threads():
    yield
    left = live_threads()
    for thread in left:  # stop them so one leak does not fail every later test
        thread.quit()
        thread.wait(5000)
    assert not left, f"{len(left)} worker thread(s) left running; call client.shutdown()"


@pytest.fixture
def fake_engine() -> type[FakeEngine]:
    return FakeEngine


@pytest.fixture
def make_client(qapp):
    clients: list[EngineClient] = []

    def make(behaviour: str = "invert") -> EngineClient:
        client = EngineClient(lambda: FakeEngine(behaviour))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.shutdown()


@pytest.fixture
def client(make_client) -> EngineClient:
    return make_client()


def fake_upscale_spec() -> ModelSpec:
    return ModelSpec(
        id="fake-x2", task="upscale", name="Fake ×2", file=Path("fake-x2.onnx"), sha256="0" * 64,
        inputs=(), outputs=(), licence="test", source="tests", reproduce="none", scale=2, default=True,
    )


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(BUILTIN_MODELS + (fake_upscale_spec(),))


def synthetic_image(width: int = 200, height: int = 150) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    return np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=2).astype(np.uint8)


@pytest.fixture
def make_window(qtbot, catalog, tmp_path) -> Callable:
    from PIL import Image

    from llmvis_studio.ui.main_window import MainWindow

    windows = []

    def make(client: EngineClient):
        path = tmp_path / "synthetic.png"
        Image.fromarray(synthetic_image()).save(path)
        window = MainWindow(client, catalog)
        assert window.open_path(path)
        window.show()
        qtbot.waitExposed(window)
        window.canvas.actual_size()
        windows.append(window)
        return window

    yield make
    for window in windows:  # never leave a modal "unsaved changes" question open
        window.model.mark_saved()
        window.close()
        window.deleteLater()


@pytest.fixture
def window(make_window, client):
    return make_window(client)
