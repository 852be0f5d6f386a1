"""The offline installer: build the PyInstaller bundle and run it with no Python environment at all.

The bundle is built once per session by packaging/build.sh (about 1.5 min on a clean clone:
build venv, PyInstaller, tarball); a bundle newer than every file it is built from is reused.
Every frozen run gets a bare environment, as `env -i` would give it: PATH=/usr/bin:/bin, a
scratch HOME, no PYTHON*, no virtualenv, started from an empty folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.ui.test_real_window import xvfb_display  # noqa: F401  (the Xvfb fixture)

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "dist" / "llmvis-studio"
EXE = BUNDLE / "llmvis-studio"
CONTENTS = BUNDLE / "_internal"  # sys._MEIPASS in the frozen app
BUILD_VENV = ROOT / "build" / "package-venv"

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="packaging/build.sh builds the Linux bundle"),
]

NEVER_SHIPPED = (
    "torch",
    "torchvision",
    "onnx",
    "matplotlib",
    "scipy",
    "sklearn",
    "skimage",
    "tkinter",
    "pytest",
    "llmvis_studio.training",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtWebEngineCore",
)
# Shared libraries a user's machine provides only if it has CUDA/cuDNN/TensorRT (see packaging/README.md).
GPU_SYSTEM_LIBS = re.compile(r"^lib(cuda|cudart|cublas|cublasLt|cudnn|cufft|curand|nvinfer|nvonnxparser|nvrtc)\b")


@pytest.fixture(scope="module")
def build_report():
    """Build (or reuse) the bundle; returns packaging/size_report.py's JSON."""
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(ROOT / "packaging" / "build.sh"), "--reuse"], cwd=ROOT, capture_output=True, text=True, timeout=870
    )
    assert proc.returncode == 0, f"build.sh failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["build_seconds"] = round(time.monotonic() - started, 1)
    report["build_log"] = proc.stdout.strip().splitlines()[:-1]
    return report


def bare_env(home: Path, **extra: str) -> dict:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "QT_QPA_PLATFORM": "offscreen", **extra}


def run_frozen(args, tmp_path: Path, timeout: int = 300, **env) -> subprocess.CompletedProcess:
    cwd = tmp_path / "cwd"
    cwd.mkdir(exist_ok=True)
    return subprocess.run(
        [str(EXE), *args],
        cwd=cwd,
        env=bare_env(tmp_path / "home", **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_build_prints_size_and_what_dominates_it(build_report, capsys):
    assert EXE.is_file() and os.access(EXE, os.X_OK)
    assert (CONTENTS / "models" / "manifest.json").is_file() and (CONTENTS / "resources" / "sample.png").is_file()
    assert build_report["total_mib"] > 50 and build_report["largest"] and build_report["by_component"]
    tarball = Path(build_report["tarball"])
    assert (ROOT / tarball).is_file()
    # reading it all also checks gzip's CRC: the archive is complete and holds the whole folder
    listing = subprocess.run(["tar", "-tzf", str(ROOT / tarball)], capture_output=True, text=True, timeout=300)
    assert listing.returncode == 0, listing.stderr
    packed = {line.rstrip("/") for line in listing.stdout.splitlines()}
    on_disk = {p.relative_to(BUNDLE.parent).as_posix() for p in BUNDLE.rglob("*")}
    assert "llmvis-studio/llmvis-studio" in packed and packed == on_disk | {"llmvis-studio"}
    with capsys.disabled():
        top = ", ".join(f"{c['component']} {c['mib']} MiB" for c in build_report["by_component"][:4])
        print(
            f"\n[bundle] {BUNDLE.relative_to(ROOT)}: {build_report['total_mib']} MiB "
            f"(tarball {build_report.get('tarball_mib')} MiB), build/reuse took {build_report['build_seconds']} s; "
            f"largest parts: {top}"
        )


def test_frozen_self_test_passes_with_no_python_environment(build_report, tmp_path):
    from llmvis_studio.catalog import load_catalog

    proc = run_frozen(["self-test", "--json"], tmp_path)
    assert proc.returncode == 0, f"frozen self-test failed:\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(proc.stdout)
    assert report["passed"] is True
    assert all(check["ok"] for check in report["models"]), report["models"]
    # every model of the source tree's catalog was checked, in the bundle's own copy of it
    assert sorted(check["model"] for check in report["models"]) == sorted(spec.id for spec in load_catalog()), (
        "the bundle's catalog differs from models/ (changed after the build?)"
    )
    assert "CPUExecutionProvider" in report["available_providers"]
    assert "CUDAExecutionProvider" in report["available_providers"], "the CUDA provider is missing from the bundle"


def test_frozen_editor_renders_a_screenshot_offscreen(build_report, tmp_path):
    from llmvis_studio.files import load_image

    shot = tmp_path / "window.png"
    proc = run_frozen([str(CONTENTS / "resources" / "sample.png"), "--screenshot", str(shot)], tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check_window_picture(load_image(shot)[0])


@pytest.mark.xvfb
def test_frozen_editor_renders_on_a_real_x_server(build_report, tmp_path, xvfb_display):  # noqa: F811
    """The xcb platform plugin and the X libraries the bundle carries load and draw."""
    from llmvis_studio.files import load_image

    shot = tmp_path / "window.png"
    proc = run_frozen(
        [str(CONTENTS / "resources" / "sample.png"), "--screenshot", str(shot)],
        tmp_path,
        timeout=120,
        QT_QPA_PLATFORM="xcb",
        DISPLAY=xvfb_display,
    )
    assert proc.returncode == 0, proc.stderr
    check_window_picture(load_image(shot)[0])


def check_window_picture(picture: np.ndarray) -> None:
    height, width = picture.shape[:2]
    assert width >= 640 and height >= 400
    assert len(np.unique(picture[..., :3].reshape(-1, 3), axis=0)) > 3000, "the window shows no photo"
    reddish = (picture[..., 0] > 150) & (picture[..., 1] < 80) & (picture[..., 2] < 80)
    assert reddish.sum() > 100, "the flag in the sample photo is not on screen"


def frozen_modules() -> set[str]:
    viewer = BUILD_VENV / "bin" / "pyi-archive_viewer"
    proc = subprocess.run([str(viewer), "--list", "--recursive", str(EXE)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(re.findall(r"'([\w.]+)'\s*$", proc.stdout, flags=re.M))


def test_bundle_leaves_out_torch_training_and_unused_qt(build_report):
    modules = frozen_modules()
    assert "llmvis_studio.engine.session" in modules and "onnxruntime" in modules
    shipped = sorted(m for m in modules for never in NEVER_SHIPPED if m == never or m.startswith(never + "."))
    assert not shipped, f"left-out modules are in the bundle: {shipped[:20]}"
    files = [p.relative_to(BUNDLE).as_posix() for p in BUNDLE.rglob("*")]
    unwanted = [
        f
        for f in files
        if re.search(
            r"torch|Qt6(Qml|Quick|WebEngine|Pdf|3D|Multimedia|Designer)|"
            r"/qml/|opencv_python\.libs|libQt5",
            f,
        )
    ]
    assert not unwanted, unwanted[:20]
    # every module of the app except training ships, also those reached only through lazy imports
    source = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "llmvis_studio").rglob("*.py")
        if "training" not in p.parts
    }
    assert source <= modules, sorted(source - modules)


def test_every_bundled_library_finds_its_dependencies(build_report):
    """As the bootloader runs them (LD_LIBRARY_PATH=_internal), only CUDA's own libraries may be missing."""
    if shutil.which("ldd") is None:
        pytest.skip("no ldd")
    missing = {}
    for lib in sorted(CONTENTS.rglob("*.so*")):
        if lib.is_symlink() or not lib.is_file():
            continue
        proc = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, env={"LD_LIBRARY_PATH": str(CONTENTS)})
        absent = re.findall(r"^\s*(\S+) => not found", proc.stdout, flags=re.M)
        if absent:
            missing[lib.relative_to(CONTENTS).as_posix()] = absent
    gpu_providers = {
        "onnxruntime/capi/libonnxruntime_providers_cuda.so",
        "onnxruntime/capi/libonnxruntime_providers_tensorrt.so",
    }
    unexpected = {
        lib: names
        for lib, names in missing.items()
        if lib not in gpu_providers or not all(GPU_SYSTEM_LIBS.match(n) for n in names)
    }
    assert not unexpected, unexpected
