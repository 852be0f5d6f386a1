"""Fixtures for the UI tests: a scriptable fake engine, a real EngineClient, a window.

Every test must leave no worker QThread running; the client fixture shuts its client down.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from llmvis_studio.catalog import BUILTIN_MODELS, Catalog, ModelSpec
from llmvis_studio.core.errors import InputError
from llmvis_studio.core.geometry import nonzero_bounds
from llmvis_studio.core.requests import EditRequest, EditResult, PromptRouting
from llmvis_studio.worker import EngineClient, live_threads
from tests.helpers import fake_spec

TILES = 20
TILE_SECONDS = 0.02

# FakeEngine.route_prompt: first matching keyword wins → (op, confidence); no match → "none".
FAKE_ROUTES = (
    (("somehow",), "stylize", 0.41),  # unsure: the panel asks (see FAKE_UNSURE)
    (("colouri", "coloriz"), "colourize", 0.93),
    (("date stamp", "caption"), "detect-text", 0.86),  # with "remove": then inpaint
    (("watercolo", "look like", "style"), "stylize", 0.92),
    (("remove", "erase"), "inpaint", 0.90),
    (("fill", "add "), "generate", 0.81),
    (("restore", "old photo"), "restore", 0.88),
    (("bigger", "upscale", "enlarge"), "upscale", 0.95),
    (("noise", "grain"), "denoise", 0.87),
)
FAKE_UNSURE = (("stylize", 0.41), ("inpaint", 0.33), ("restore", 0.09))
FAKE_STYLES = ("watercolour", "pencil-sketch", "mosaic")


class FakeEngine:
    """Stands in for the onnxruntime engine: same run(request, progress) contract, tiny work.

    behaviour: "invert" (inverts the image inside the mask, or everywhere without one),
    "upscale" (×2 with np.repeat) or "fail" (raises InputError after a few tiles).
    """

    def __init__(self, behaviour: str = "invert") -> None:
        self.behaviour = behaviour
        self.requests: list[EditRequest] = []  # what run() received, in order
        self.routed: list[str] = []  # what route_prompt() received
        self.route_threads: list[str] = []  # the thread each route_prompt ran on

    def route_prompt(self, text: str) -> PromptRouting:
        """Keyword rules standing in for the text encoder and router (same PromptRouting contract)."""
        import threading

        self.routed.append(text)
        self.route_threads.append(threading.current_thread().name)
        if self.behaviour == "no-router":
            raise InputError("The prompt router is not installed.")
        lower = text.lower()
        for keywords, op, confidence in FAKE_ROUTES:  # noqa: B007 (the matching route is used after the loop)
            if any(word in lower for word in keywords):
                break
        else:
            return PromptRouting(text, "none", 0.9, (("none", 0.9), ("inpaint", 0.05), ("generate", 0.03)))
        if confidence < 0.5:
            return PromptRouting(text, op, confidence, FAKE_UNSURE, ask=True)
        others = tuple((o, 0.02) for o in ("inpaint", "generate", "none") if o != op)[:2]
        style = next((s for s in FAKE_STYLES if s[:5] in lower), FAKE_STYLES[0]) if op == "stylize" else None
        content = re.sub(r"^.*?\b(?:with|add)\s+", "", text).strip() if op == "generate" else None
        scale = re.search(r"[x×]\s?([24])\b", lower)
        params = {"scale": int(scale.group(1))} if op == "upscale" and scale else {}
        then = "inpaint" if op == "detect-text" and "remove" in lower else None
        return PromptRouting(
            text, op, confidence, ((op, confidence),) + others, style=style, content=content, params=params, then=then
        )

    def run(self, request: EditRequest, progress) -> EditResult:
        self.requests.append(request)
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
def _no_dangling_worker_threads(qapp):
    yield
    left = live_threads()
    for thread in left:  # stop them so one leak does not fail every later test
        thread.quit()
        thread.wait(5000)
    delete_top_level_windows(qapp)
    assert not left, f"{len(left)} worker thread(s) left running; call client.shutdown()"


def delete_top_level_windows(app) -> None:
    """Delete the test's windows and dialogs now, then collect its garbage: a used main window left to the
    garbage collector crashed the interpreter when it was destroyed from inside the collection (seen on the
    base commit too, with the collection at a different moment)."""
    for widget in app.topLevelWidgets():
        doc = getattr(widget, "doc", None)
        if doc is not None:
            doc.mark_saved()  # no "unsaved changes" question
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
    gc.collect()


@pytest.fixture
def fake_engine() -> type[FakeEngine]:
    return FakeEngine


@pytest.fixture
def make_client(qapp):
    clients: list[EngineClient] = []

    def make(behaviour: str = "invert") -> EngineClient:
        engine = FakeEngine(behaviour)
        client = EngineClient(lambda: engine)
        client.fake = engine  # tests read what the worker handed the engine
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.shutdown()


@pytest.fixture
def client(make_client) -> EngineClient:
    return make_client()


def fake_upscale_spec() -> ModelSpec:
    return fake_spec("fake-x2", "upscale", "Fake ×2", scale=2)


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
        window.doc.mark_saved()
        window.close()
        window.deleteLater()


@pytest.fixture
def window(make_window, client):
    return make_window(client)
