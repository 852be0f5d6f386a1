"""The `log_file` fixture: core.notify's log file in a temporary data folder, detached again afterwards."""

import logging

import pytest

from llmvis_studio.core.notify import attach_log_file


@pytest.fixture
def log_file(tmp_path):
    path = attach_log_file(tmp_path / "data")
    yield path
    root = logging.getLogger("llmvis_studio")
    for handler in list(root.handlers):
        if getattr(handler, "baseFilename", None) == str(path):
            root.removeHandler(handler)
            handler.close()
