"""`batch --engine ray` against a Ray head started inside the test on 127.0.0.1 (and stopped again).

A worker is killed mid-run: nothing is lost, every output equals the local engine's pixel for pixel, the
inputs are untouched, a rerun finishes only what is left, and no Ray process outlives the test.
"""

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from llmvis_studio.batch import BatchJob, run_batch
from llmvis_studio.files import load_image, save_image
from llmvis_studio.paths import sample_image

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # read at import: Ray stays on 127.0.0.1
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'llmvis-studio[cluster]')")
from llmvis_studio.batch_ray import run_batch_ray  # noqa: E402  (after the skip: it needs ray)

COUNT = 10
RAY_PROCESS_MARKS = ("raylet", "gcs_server", "default_worker.py", "log_monitor.py", "ray::")


def ray_processes() -> set[int]:
    """Pids of Ray's own processes on this machine (head services and workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(mark in cmdline for mark in RAY_PROCESS_MARKS):
            found.add(int(entry.name))
    return found


def listening_addresses(pids: set[int]) -> set[str]:
    """The local IPv4 addresses (hex, as /proc/net writes them) that these processes accept connections on."""
    sockets = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        sockets.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6", "udp", "udp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            listens = fields[3] == "0A" or table.startswith("udp")
            if listens and fields[9] in sockets:
                found.add(fields[1].rsplit(":", 1)[0][-8:])  # IPv4 part, also of a v4-mapped IPv6 address
    return found


def wait_until_gone(pids: set[int], seconds: float = 30.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = pids & ray_processes()
        if not left:
            return left
        time.sleep(0.2)
    return pids & ray_processes()


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def make_inputs(folder: Path, count: int = COUNT) -> dict[str, str]:
    """Crops (64–96 px) of the bundled sample photo: real content for the real bundled upscaler."""
    folder.mkdir()
    photo, _ = load_image(sample_image())
    rng = np.random.default_rng(19)
    for i in range(count):
        h, w = (int(v) for v in rng.integers(64, 97, size=2))
        y, x = int(rng.integers(0, photo.shape[0] - h)), int(rng.integers(0, photo.shape[1] - w))
        save_image(folder / f"scan{i:02d}.png", np.ascontiguousarray(photo[y : y + h, x : x + w]))
    return digest(folder)


def job_for(inputs: Path, out: Path) -> BatchJob:
    return BatchJob(op="upscale", input_dir=inputs, output_dir=out, params={"scale": 4})


def assert_same_pixels(ours: Path, reference: Path) -> None:
    names = sorted(p.name for p in reference.glob("*.png"))
    assert sorted(p.name for p in ours.glob("*.png")) == names
    for name in names:
        assert np.array_equal(load_image(ours / name)[0], load_image(reference / name)[0]), name
    assert not list(ours.glob(".*.part")), "a half-written temp file was left in OUT"


@pytest.fixture
def bundled_models(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMVIS_MODELS_DIR", raising=False)
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "data"))


def test_killed_worker_loses_nothing_and_outputs_match_local(tmp_path, bundled_models, caplog):
    from llmvis_studio.engine import Engine

    inputs = tmp_path / "in"
    before = make_inputs(inputs)
    reference = tmp_path / "local"
    assert run_batch(job_for(inputs, reference), Engine().run).done == COUNT

    already = ray_processes()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    started = ray_processes() - already
    try:
        assert ray.util.get_node_ip_address() == "127.0.0.1"
        out = tmp_path / "ray"
        pools, pids, killed = [], {}, []

        def remember(pool) -> None:
            pools.append(pool)
            pids.update(pool.pids())  # slot → worker pid, asked of the actors themselves

        def kill_the_other_worker(outcome) -> None:  # once, while the other worker has an image in flight
            if not killed:
                victim = next(pid for pid in pids.values() if pid != outcome.worker_pid)
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        summary = run_batch_ray(job_for(inputs, out), workers=2, on_pool=remember, on_result=kill_the_other_worker)
        ray_now = ray_processes() - already
        assert listening_addresses(ray_now) == {"0100007F"}, "Ray must listen on 127.0.0.1 only"
        assert killed and sum(pools[0].replaced.values()) >= 1, "the kill must cost a worker"
        requeued = [r.getMessage() for r in caplog.records if "died on" in r.getMessage()]
        assert requeued, "an image sent to the killed worker must have been lost and given to another"
        assert (summary.done, summary.skipped, summary.failed) == (COUNT, 0, 0), summary.errors
        assert_same_pixels(out, reference)
        assert digest(inputs) == before

        finished = {p.name: p.stat().st_mtime_ns for p in out.glob("*.png")}
        for name in list(finished)[:3]:  # as if the run had stopped before these
            (out / name).unlink()
            del finished[name]
        again = run_batch_ray(job_for(inputs, out), workers=2)
        assert (again.done, again.skipped, again.failed) == (3, COUNT - 3, 0)
        assert {
            n: t for n, t in ((p.name, p.stat().st_mtime_ns) for p in out.glob("*.png")) if n in finished
        } == finished, "finished files were redone"
        assert_same_pixels(out, reference)
        assert digest(inputs) == before
    finally:
        ray.shutdown()
    assert started, "the test should have seen the Ray head start"
    assert not wait_until_gone(started), "Ray processes left behind after shutdown"


def test_cli_engine_ray_matches_local_and_stops_its_head(tmp_path, bundled_models, monkeypatch):
    from tests.engine.test_cli import cli

    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")  # the CLI keeps its private head on loopback itself

    inputs = tmp_path / "in"
    before = make_inputs(inputs, count=4)
    local = cli("batch", "upscale", "--in", inputs, "--out", tmp_path / "local", "--scale", "2")
    assert local.returncode == 0, local.stderr
    already = ray_processes()
    proc = cli(
        "batch",
        "upscale",
        "--in",
        inputs,
        "--out",
        tmp_path / "ray",
        "--scale",
        "2",
        "--engine",
        "ray",
        "--workers",
        "2",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["engine"], summary["workers"], summary["done"], summary["failed"]) == ("ray", 2, 4, 0)
    lines = proc.stderr.strip().splitlines()  # with --json only the human summary line; no Ray chatter
    assert len(lines) == 1 and lines[0].startswith("4 written, 0 already done, 0 failed"), proc.stderr
    assert_same_pixels(tmp_path / "ray", tmp_path / "local")
    assert digest(inputs) == before
    assert not wait_until_gone(ray_processes() - already, seconds=20), "the CLI's Ray head outlived it"


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_address_is_one_line(tmp_path):
    from tests.engine.test_cli import assert_one_line_error, cli

    inputs = tmp_path / "in"
    make_inputs(inputs, count=1)
    address = f"127.0.0.1:{free_loopback_port()}"  # nothing listens there: refused at once
    proc = cli(
        "batch",
        "upscale",
        "--in",
        inputs,
        "--out",
        tmp_path / "out",
        "--engine",
        "ray",
        "--address",
        address,
        timeout=60,
    )
    assert_one_line_error(proc)
    assert f"Cannot reach the Ray cluster at {address}" in proc.stderr


def test_missing_ray_says_which_extra(tmp_path):
    inputs = tmp_path / "in"
    make_inputs(inputs, count=1)
    code = (
        "import sys; sys.modules['ray'] = None\n"  # as if the cluster extra were not installed
        "from llmvis_studio.cli import main\n"
        f"sys.exit(main(['batch', 'upscale', '--in', {str(inputs)!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--engine', 'ray']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        "error: Ray is not installed; install the cluster extra: pip install 'llmvis-studio[cluster]'"
    )
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
