"""training/loop.py and training/export.py on a tiny real model: budgets, resume, checkpoints, ONNX, fp16, entries."""

import json

import numpy as np
import onnx
import pytest
import torch

from llmvis_studio.catalog import sha256_of
from llmvis_studio.training import export, loop


def _tiny_run(tmp_path, steps: int, state: loop.RunState, seen: list):
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 3, 3, padding=1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.rand(4, 3, 8, 8)
    saved = []

    def step(now):
        loss = torch.nn.functional.mse_loss(model(x), x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loop.StepOutcome(float(loss), {"mse": float(loss)}, 0.1)

    def save(now):
        loop.save_checkpoint(tmp_path / "last.pt", {"step": now.step, "elapsed": now.elapsed})
        saved.append(now.step)

    lines = []
    settings = loop.LoopSettings(loop.Budget(steps=steps), log_every=5, val_every=4, ckpt_minutes=60)
    losses = loop.run_loop(state, settings, loop.LoopHooks(step, save, lines.append, lambda now: seen.append(now.step)))
    return losses, saved, lines


def test_the_loop_keeps_its_budget_logs_validates_and_resumes(tmp_path):
    seen: list[int] = []
    losses, saved, lines = _tiny_run(tmp_path, 10, loop.RunState(), seen)
    assert len(losses) == 10 and losses[-1] < losses[0]  # it really trains
    assert seen == [4, 8] and saved == [10]  # validation every 4 steps; one checkpoint at the end
    assert lines[0].startswith("step 5 mse ") and "it/s" in lines[0] and "elapsed" in lines[0]
    resumed = loop.load_checkpoint(tmp_path / "last.pt")
    state = loop.RunState(resumed["step"], resumed["elapsed"])
    more, saved, _ = _tiny_run(tmp_path, 15, state, seen)
    assert len(more) == 5 and state.step == 15 and state.elapsed >= resumed["elapsed"] and saved == [15]


def test_budget_and_cosine_schedule():
    by_steps = loop.Budget(steps=100)
    assert by_steps.fraction(loop.RunState(50, 9e9)) == 0.5 and not by_steps.done(loop.RunState(99, 9e9))
    by_time = loop.Budget(minutes=1.0)
    assert by_time.done(loop.RunState(0, 60.0)) and by_time.fraction(loop.RunState(0, 30.0)) == 0.5
    assert loop.cosine_lr(1.0, 0.0, 0, warmup=10, floor=0.0) == pytest.approx(0.1)  # warm-up
    assert loop.cosine_lr(1.0, 1.0, 50, warmup=10, floor=0.02) == pytest.approx(0.02)  # the floor at the end


def test_export_writes_one_self_contained_file_and_fp16_weights_keep_the_output(tmp_path):
    import onnxruntime as ort

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(16, 3, 1))
    path = tmp_path / "m.onnx"
    export.export_onnx(
        model, path, (torch.rand(1, 3, 16, 16),), ["image"], ["output"], export.spatial_axes(["image", "output"])
    )
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no temp file, no external data
    x = np.random.default_rng(0).random((1, 3, 24, 20), np.float32)
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    assert export.store_weights_as_fp16(path, min_elements=32) == 2  # the two weight tensors; biases stay fp32
    halved = onnx.load(str(path))
    assert sum(i.data_type == onnx.TensorProto.FLOAT16 for i in halved.graph.initializer) == 2
    after = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    assert np.abs(after - before).max() < 2e-3
    entry = export.trained_entry(path, model, {"id": "m", "name": "M", "task": "denoise", "default": False})
    assert entry["sha256"] == sha256_of(path) and entry["parameters"] == 16 * 27 + 16 + 3 * 16 + 3
    assert list(entry)[:5] == ["id", "name", "task", "file", "sha256"]  # the manifest's key order
    export.register(tmp_path / "manifest.json", entry)
    assert json.loads((tmp_path / "manifest.json").read_text())["models"][0]["id"] == "m"
