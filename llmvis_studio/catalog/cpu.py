"""What this CPU can do, for choices that depend on it (which of two equally good models is the faster one here).

Why: int8 convolutions are fast only with VNNI (AVX512-VNNI or AVX-VNNI); on a CPU without it an int8 network runs no
faster than fp32, and a narrower fp32 network wins. The flags come from /proc/cpuinfo; where that cannot be read
(Windows, macOS) the set is empty and the choice that needs no flag is made.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The first processor's feature flags ("avx2", "avx512_vnni", ...); empty when unknown."""
    try:
        lines = CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return frozenset()
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()
