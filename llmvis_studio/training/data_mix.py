"""Which photos the restoration trainers (`train sr`, `train denoise`) draw from: `--data`.

- ``default``: the original ~40 sources of data.py (scikit-image / scikit-learn / matplotlib samples, wallpapers),
  validated on their three held-out images.
- ``pack``: the shared photo pack (photo_pack.py: BSDS500 train+test, Kodak24, Wikimedia Commons), TRAIN split only;
  validated on the pack's held-out photos, which no model trains on.
- ``pack+default``: both training sets together (crops are drawn per image, weighted by √area as in data.py, so the
  pack's ~470 photos dominate), validated on the pack's held-out photos.

Both sets load in a fixed order, so a run is reproducible from its seed and resumes with the same image list.
`--init` may also name an ONNX file: its initialisers (named like the torch parameters, as export.py writes them)
become the starting weights, for models whose training checkpoint was not kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from llmvis_studio.training import data, photo_pack

CHOICES = ("default", "pack", "pack+default")


def _parts(spec: str) -> set[str]:
    if spec not in CHOICES:
        raise SystemExit(f"--data must be one of {', '.join(CHOICES)}, not {spec!r}")
    return set(spec.split("+"))


def training_images(spec: str, names: list[str] | None = None, pack_limit: int = 0) -> list[tuple[str, np.ndarray]]:
    """(name, uint8 HxWx3) of every training image the spec asks for; `names` filters the default sources,
    `pack_limit` > 0 keeps only the first photos of the pack (tiny test runs)."""
    parts = _parts(spec)
    out: list[tuple[str, np.ndarray]] = []
    if "pack" in parts:
        out += [(f"pack/{n}", img) for n, img in photo_pack.load_pack("train", limit=pack_limit)]
    if "default" in parts:
        out += data.load_images("train", names=names)
    return out


def validation_crops(spec: str, size: int, per_image: int) -> list[np.ndarray]:
    """Fixed crops of held-out photos: the pack's held-out split when the spec uses the pack, else data.py's."""
    if "pack" not in _parts(spec):
        return data.validation_crops(size=size, per_image=per_image)
    return data.fixed_crops(photo_pack.load_pack("held-out"), size, per_image)


def onnx_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The named initialisers of an ONNX file as torch tensors (a state dict for load_body_from)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}


def init_weights(path: str) -> dict[str, torch.Tensor]:
    """--init: a training checkpoint (its "model" entry or a bare state dict) or an exported .onnx file."""
    if path.lower().endswith(".onnx"):
        return onnx_state_dict(path)
    saved = torch.load(path, map_location="cpu", weights_only=False)
    return saved.get("model", saved)
