"""The lock files agree with each other and pin every install exactly.

`make lock` writes requirements.txt (the dev set) and requirements/*.lock (what the Makefile installs with
--require-hashes), and pylock.toml (the same dev set in the standard PEP 751 format). If one is refreshed by hand without the other, tools that read pylock.toml
would install something other than what CI tested.
"""

import re
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pinned_versions(lock: Path) -> dict[str, str]:
    pins = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_pylock_lists_exactly_the_dev_lock_versions_with_hashes():
    pylock = tomllib.loads((ROOT / "pylock.toml").read_text())
    assert pylock["lock-version"] == "1.0"
    in_pylock = {normalise(p["name"]): p["version"] for p in pylock["packages"]}
    assert in_pylock == pinned_versions(ROOT / "requirements.txt")
    for package in pylock["packages"]:
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        assert files and all(f["hashes"]["sha256"] for f in files), package["name"]
        assert not any(f.get("url", "").startswith("file:") for f in files), f"{package['name']} points at this machine"


def test_every_lock_line_is_an_exact_pin_with_a_hash():
    for lock in [ROOT / "requirements.txt", *sorted((ROOT / "requirements").glob("*.lock"))]:
        text = lock.read_text()
        requirements = [b for b in re.split(r"\n(?=\S)", text) if b.strip() and not b.startswith("#")]
        assert requirements, lock.name
        for block in requirements:
            assert PIN.match(block), f"{lock.name}: not an exact pin: {block.splitlines()[0]}"
            assert "--hash=sha256:" in block, f"{lock.name}: no hash for {block.splitlines()[0]}"
