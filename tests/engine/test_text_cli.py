"""`llmvis-studio prompt TEXT --json` and `prompt - --json` (one object per stdin line, model loaded once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from llmvis_studio.paths import models_dir


def run_cli(*args, stdin=None):
    env = dict(os.environ, LLMVIS_MODELS_DIR=str(models_dir()))
    env["LLMVIS_DATA_DIR"] = env.get("LLMVIS_DATA_DIR", "/tmp/llmvis-test-data")
    return subprocess.run(
        [sys.executable, "-m", "llmvis_studio", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_prompt_json_prints_one_object():
    proc = run_cli("prompt", "fill this with clouds", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["op"] == "generate" and result["content"] == "clouds"
    assert {"style", "confidence", "alternatives"} <= set(result)


def test_prompt_stdin_one_object_per_line():
    prompts = [
        "upscale x4 please",
        "make it look like a watercolour",
        "",
        "what's the weather in Oslo?",
        "remove the noise",
    ]
    proc = run_cli("prompt", "-", "--json", stdin="\n".join(prompts) + "\n")
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.strip("\n").split("\n")]
    assert [r["prompt"] for r in results] == prompts
    assert [r["op"] for r in results] == ["upscale", "stylize", "none", "none", "denoise"]
    assert results[0]["params"]["scale"] == 4 and results[1]["style"] == "watercolour"


def test_prompt_plain_text():
    proc = run_cli("prompt", "van gogh style")
    assert proc.returncode == 0 and proc.stdout.startswith("stylize (style: starry-swirls)")


def test_stdin_batches_group_the_lines_that_arrived_together():
    from llmvis_studio.cli.text import stdin_batches

    read, write = os.pipe()
    os.write(write, "upscale x2\r\nfüll mit wolken\npartial".encode())
    os.close(write)
    assert list(stdin_batches(read)) == [["upscale x2", "füll mit wolken"], ["partial"]]
    os.close(read)


def test_two_hundred_lines_one_answer_each_with_then():
    prompts = ["remove the date stamp", "colourize this", "cut out the person", "get rid of the car"] * 50
    proc = run_cli("prompt", "-", "--json", stdin="\n".join(prompts) + "\n")
    assert proc.returncode == 0, proc.stderr
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["prompt"] for r in results] == prompts
    assert [(r["op"], r["then"]) for r in results[:4]] == [
        ("detect-text", "inpaint"),
        ("colourize", None),
        ("remove-background", None),
        ("inpaint", None),
    ]
