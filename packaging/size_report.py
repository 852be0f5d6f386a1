"""Print a bundle's size and what dominates it; the last line is the same report as JSON.

    python packaging/size_report.py dist/llmvis-studio [--top 15]

Sizes are of regular files (symlinks are not counted twice). "largest" lists files and
folders together, ranked by size; a folder is listed only when no single file inside it
or sub-folder already accounts for nearly all (>= 90 %) of it, so each row says something new.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

# What each part of a Linux bundle is, by path prefix under the contents folder (_internal/).
GROUPS = (
    ("onnxruntime CUDA provider", ("onnxruntime/capi/libonnxruntime_providers_cuda",)),
    ("onnxruntime TensorRT provider", ("onnxruntime/capi/libonnxruntime_providers_tensorrt",)),
    ("onnxruntime core", ("onnxruntime/",)),
    ("models", ("models/",)),
    ("OpenCV (cv2 + its libs)", ("cv2/", "opencv_python_headless.libs/", "opencv_python.libs/")),
    ("Qt / PySide6", ("PySide6/", "shiboken6/", "libQt6", "libicu")),
    ("numpy", ("numpy/", "numpy.libs/")),
    ("Pillow", ("PIL/", "pillow.libs/")),
    ("Python runtime", ("libpython", "base_library.zip", "python3.", "lib-dynload/")),
    ("resources", ("resources/",)),
)


def files_of(root: Path) -> list[tuple[Path, int]]:
    out = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            out.append((path, path.stat().st_size))
    return out


def contents_dir(bundle: Path) -> Path:
    internal = bundle / "_internal"
    return internal if internal.is_dir() else bundle


def group_of(relative: str) -> str:
    for name, prefixes in GROUPS:
        if relative.startswith(prefixes):
            return name
    return "other shared libraries and Python modules"


def report(bundle: Path, top: int = 15) -> dict:
    files = files_of(bundle)
    total = sum(size for _, size in files)
    inside = contents_dir(bundle)
    folder_sizes: dict[Path, int] = defaultdict(int)
    groups: dict[str, int] = defaultdict(int)
    for path, size in files:
        for parent in path.relative_to(bundle).parents:
            if parent != Path("."):
                folder_sizes[parent] += size
        relative = path.relative_to(inside).as_posix() if inside in path.parents else path.name
        groups[group_of(relative)] += size
    biggest_child: dict[Path, int] = defaultdict(int)
    for path, size in [(p.relative_to(bundle), s) for p, s in files] + list(folder_sizes.items()):
        biggest_child[path.parent] = max(biggest_child[path.parent], size)
    entries = [(str(p.relative_to(bundle)), s, "file") for p, s in files]
    entries += [
        (str(p) + "/", s, "dir")
        for p, s in folder_sizes.items()
        if p != inside.relative_to(bundle) and biggest_child[p] < 0.9 * s
    ]
    entries.sort(key=lambda e: -e[1])
    return {
        "bundle": str(bundle),
        "total_bytes": total,
        "total_mib": round(total / 2**20, 1),
        "files": len(files),
        "largest": [{"path": p, "kind": k, "mib": round(s / 2**20, 1)} for p, s, k in entries[:top]],
        "by_component": [
            {"component": g, "mib": round(s / 2**20, 1), "percent": round(100 * s / max(total, 1), 1)}
            for g, s in sorted(groups.items(), key=lambda kv: -kv[1])
        ],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--tarball", type=Path, help="also report this archive's size")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    if not args.bundle.is_dir():
        print(f"error: no bundle at {args.bundle}", file=sys.stderr)
        return 2
    data = report(args.bundle, args.top)
    if args.tarball and args.tarball.is_file():
        data["tarball"] = str(args.tarball)
        data["tarball_mib"] = round(args.tarball.stat().st_size / 2**20, 1)
    print(
        f"bundle {data['bundle']}: {data['total_mib']} MiB in {data['files']} files"
        + (f"; {data['tarball']}: {data['tarball_mib']} MiB" if "tarball" in data else "")
    )
    print(f"largest {args.top}:")
    for entry in data["largest"]:
        print(f"  {entry['mib']:8.1f} MiB  {entry['path']}")
    print("by component:")
    for entry in data["by_component"]:
        print(f"  {entry['mib']:8.1f} MiB  {entry['percent']:5.1f} %  {entry['component']}")
    print(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
