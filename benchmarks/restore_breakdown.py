"""Where does the damage that `restore` leaves sit, and what would a better mask buy? (issue 12)

On synthetic old prints of the held-out training photos (as damage_heldout.py: one print per photo, --seed + index),
restore's mask is rebuilt from the detector's cached map exactly as the op builds it (core.mask.damage_mask, then
restore.size_to_damage) and filled with restore's own Navier–Stokes fill and tone (restore_fill.fill_and_tone), so
other masks can be filled the same way:
- `restore` through the engine, and the rebuilt mask (they should agree to about 0.002);
- oracle masks: restore's mask ∪ / ∩ the reference mask, the reference alone, restore's mask ∪ the reference's wide
  parts (opening with a 15 px disk): what a perfect detector of each kind of damage would give with this fill;
- the damage contrast left, as a share of the prints' damage contrast, by where it sits: reference pixels the mask
  missed, mask pixels by depth (distance to the mask's edge), and the band along the picture's border.
Crack contrast removed is real_damage.py's definition (per-print means). Set5/Set14 are never used.

    python benchmarks/restore_breakdown.py [--seed 60000] [--amount 1.0]
"""

from __future__ import annotations

import argparse
import time

import cv2
import damage_heldout as dh
import numpy as np
import real_damage as rd
from _common import emit

MODEL = "damage-detector-int8"
WIDE_PX = 15  # reference damage at least this wide (opening) counts as wide: tears, large patches
BORDER_PX = 40
DEPTHS = (1.5, 4.0, 8.0)  # mask depth bins (px from the mask's edge)


def restore_mask(score: np.ndarray) -> np.ndarray:
    """restore's mask from a uint8 score map at sensitivity 0.5 (threshold 0.5), as the op builds it."""
    from llmvis_studio.core.mask import damage_mask
    from llmvis_studio.engine.ops import restore

    prob = score.astype(np.float32) / 255
    return restore.size_to_damage(damage_mask(prob, 0.5), prob, 0.5, 1)


def ns_fill(damaged: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from llmvis_studio.engine.ops import restore
    from llmvis_studio.engine.ops.restore_fill import fill_and_tone

    return fill_and_tone(damaged, mask, cv2.INPAINT_NS, restore.CLASSICAL_RADIUS, threads=2)


def where_it_sits(damaged, restored, clean, truth, mask, sums: dict) -> None:
    """Add this print's damage contrast (before) and what is left (after) by location to `sums`."""
    err = np.abs(rd.luma(restored) - rd.luma(clean))
    before = np.abs(rd.luma(damaged) - rd.luma(clean))
    ref, marked = truth > 0, mask > 0
    depth = cv2.distanceTransform(marked.astype(np.uint8), cv2.DIST_L2, 3)
    border = np.zeros_like(ref)
    border[:BORDER_PX], border[-BORDER_PX:], border[:, :BORDER_PX], border[:, -BORDER_PX:] = True, True, True, True
    edges = (0.0,) + DEPTHS + (np.inf,)
    places = {"missed": ref & ~marked, "border_band": ref & border}
    for low, high in zip(edges[:-1], edges[1:]):
        places[f"mask_depth_{low:g}-{high:g}px"] = ref & marked & (depth > low) & (depth <= high)
    sums["before"] = sums.get("before", 0.0) + float(before[ref].sum())
    for name, where in places.items():
        sums[name] = sums.get(name, 0.0) + float(err[where].sum())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=60_000, help="first print's seed (damage_heldout.py uses 60000)")
    ap.add_argument("--amount", type=float, default=1.0, help="how much damage the synthesiser draws")
    a = ap.parse_args()
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    engine = Engine(threads=2)
    t = time.time()
    masks = ("engine_restore", "rebuilt_mask", "mask_or_reference", "mask_and_reference", "reference", "mask_or_wide")
    errors: dict = {k: ([], []) for k in masks}
    sums: dict = {}
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (WIDE_PX, WIDE_PX))
    for idx, img in enumerate(dh.heldout_photos().values()):
        clean, damaged, truth = rd.synthetic_print(img, a.seed + idx, a.amount)

        def run(op: str, params: dict, picture: np.ndarray = damaged) -> np.ndarray:
            return engine.run(EditRequest.build(op, picture, model_id=MODEL, device="cpu", params=params)).image

        score = run("detect-scratches", {"output": "score"})[..., 0]
        mask = restore_mask(score)
        ref = (truth > 0).astype(np.uint8) * 255
        filled = {
            "engine_restore": run("restore", {}),
            "rebuilt_mask": ns_fill(damaged, mask),
            "mask_or_reference": ns_fill(damaged, np.maximum(mask, ref)),
            "mask_and_reference": ns_fill(damaged, np.minimum(mask, ref)),
            "reference": ns_fill(damaged, ref),
            "mask_or_wide": ns_fill(damaged, np.maximum(mask, cv2.morphologyEx(ref, cv2.MORPH_OPEN, disk))),
        }
        for name, out in filled.items():
            rd.crack_errors(damaged, out, clean, truth, errors[name])
        where_it_sits(damaged, filled["rebuilt_mask"], clean, truth, mask, sums)
    before = sums.pop("before")
    emit(
        {
            "prints": len(errors["engine_restore"][0]),
            "seed": a.seed,
            "amount": a.amount,
            "model": MODEL,
            "crack_contrast_removed": {name: rd.contrast_removed(e) for name, e in errors.items()},
            "left_as_share_of_damage_contrast_pooled": {k: round(v / max(before, 1e-9), 4) for k, v in sums.items()},
            "seconds": round(time.time() - t, 1),
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
