"""Which detector should be the default? Thin scratches and clean photos on the HELD-OUT training photos.

The default for detect-scratches / restore / Auto-mask damage moves from `scratch-detector` to `damage-detector`
only if the new model finds more print damage than the old one, still meets the thin-scratch bar (F1 ≥ 0.85) AND
keeps clean photos clean (≤ 0.5 % marked on average) on photos neither was trained on (issue 12; see new_wins).
Set5/Set14 are for reporting only, so this check uses the photos that
train_damage.split_photos holds out (one in 20 by a hash of the path; scratch-detector's training never saw the
photo pack's held-out split either: it trained on its own crops, see its card).

Protocol (the old detector's, benchmarks/inpaint_quality.py bench_detector): per photo (longest side ≤ 800 px) two
variants with 4 light or 4 dark thin scratches (masks.render_scratch, seeded), whole shapes as truth; the engine's
`detect-scratches` at the model's default (sensitivity 0.5 for a calibrated model); P / R / F1 with 1 px tolerance,
pooled. Clean: marked fraction on each undamaged photo and on its undamaged old-print look. Prints: one synthetic
old print per photo (real_damage.synthetic_print, seeded): P / R, marked area over the reference area, and `restore`'s
crack contrast removed (1 − mean|restored − clean| / mean|damaged − clean| over the reference mask, luma).

    python benchmarks/damage_heldout.py [--models damage-detector scratch-detector] [--rule finds-more|as-good-faster] [--apply]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import inpaint_quality as iq
import numpy as np
import real_damage as rd
from _common import emit

MAX_SIDE = 800
SENSITIVITY = None  # the model's default (0.5 for a calibrated detector)
THIN_F1_BAR = 0.85  # issue 12: synthetic thin scratches on photos no model saw
CLEAN_BUDGET = 0.005  # issue 12: at most 0.5 % of a clean photo marked


def heldout_photos() -> dict[str, np.ndarray]:
    from llmvis_studio.training.train_damage import load_photo, photo_root, split_photos

    _, held = split_photos(photo_root())
    return {p.stem: load_photo(p, MAX_SIDE) for p in held}


def bench(engine, model_id: str, photos: dict[str, np.ndarray]) -> dict:
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.training import print_damage

    params = {"sensitivity": SENSITIVITY} if SENSITIVITY is not None else {}

    def marks(img: np.ndarray) -> np.ndarray:
        return engine.run(
            EditRequest.build("detect-scratches", img, model_id=model_id, device="cpu", params=params)
        ).image[..., 0]

    counts = {"light": [0, 0, 0, 0], "dark": [0, 0, 0, 0]}
    clean_marked, clean_px, worst = 0, 0, 0.0
    t = time.time()
    for idx, img in enumerate(photos.values()):
        for variant, damaged8, truth in iq.scratched_variants(img, 40_000 + 2 * idx):
            c = iq.tolerant_counts(marks(damaged8), truth)
            counts[variant] = [a + b for a, b in zip(counts[variant], c)]
        look, _ = print_damage.old_print_look(np.random.default_rng(50_000 + idx), img)
        for clean in (img, np.clip(np.round(look * 255), 0, 255).astype(np.uint8)):
            m = np.count_nonzero(marks(clean))
            clean_marked += m
            clean_px += clean.shape[0] * clean.shape[1]
            worst = max(worst, m / (clean.shape[0] * clean.shape[1]))
    prints, marked, ref, contrast = [0, 0, 0, 0], 0, 0, ([], [])  # contrast: per-print (before, after) errors
    for idx, img in enumerate(photos.values()):  # old-print looks with print damage (cracks, tears, dust ...)
        clean_print, damaged, truth = rd.synthetic_print(img, 60_000 + idx)
        found = marks(damaged)
        prints = [a + b for a, b in zip(prints, iq.tolerant_counts(found, truth))]
        marked, ref = marked + int(np.count_nonzero(found)), ref + int(np.count_nonzero(truth))
        restored = engine.run(
            EditRequest.build("restore", damaged, model_id=model_id, device="cpu", params=params)
        ).image
        rd.crack_errors(damaged, restored, clean_print, truth, contrast)
    total = [a + b for a, b in zip(counts["light"], counts["dark"])]
    return {
        "prints": {
            **iq.prf(prints),
            "marked_over_reference_area": round(marked / max(1, ref), 3),
            "restore_crack_contrast_removed": rd.contrast_removed(contrast),
        },
        "thin": iq.prf(total),
        "light": iq.prf(counts["light"]),
        "dark": iq.prf(counts["dark"]),
        "clean_marked_fraction": round(clean_marked / max(1, clean_px), 5),
        "clean_worst_photo_fraction": round(worst, 5),
        "seconds": round(time.time() - t, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["damage-detector", "scratch-detector"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--cache",
        default="runs/damage_heldout_cache.json",
        help="results by model sha256: a model measured before is not run again ('' = no cache)",
    )
    ap.add_argument("--apply", action="store_true", help="make the winner the default detector in models/manifest.json")
    ap.add_argument(
        "--rule",
        choices=["finds-more", "as-good-faster"],
        default="finds-more",
        help="finds-more: the first model must find more print damage (new_wins); as-good-faster: the first is a"
        " faster copy of the second and must find about as much (faster_wins)",
    )
    ap.add_argument("--sensitivity", type=float, default=None, help="instead of the model's default (no cache)")
    a = ap.parse_args()
    global SENSITIVITY
    SENSITIVITY = a.sensitivity
    if a.sensitivity is not None:
        a.cache, a.apply = "", False
    from llmvis_studio.engine import Engine

    photos = heldout_photos()
    engine = Engine(threads=a.threads)
    cache = load_cache(a.cache)
    result = {"photos": len(photos), "max_side": MAX_SIDE, "models": {}}
    for m in a.models:
        # a retrained model (new sha256) or a new mask or restore rule (mask_rule) is measured again
        key = f"{m}:{engine.catalog.get(m).sha256}:{mask_rule()}"
        if key not in cache:
            cache[key] = bench(engine, m, photos)
            save_cache(a.cache, cache)
        result["models"][m] = cache[key]
    if len(a.models) == 2:
        new, old = (result["models"][m] for m in a.models)
        result["rule"] = a.rule
        result["new_beats_old"] = new_wins(new, old) if a.rule == "finds-more" else faster_wins(new, old)
        if a.apply:
            apply_default(*a.models, result["new_beats_old"])
    emit(result)
    return 0


def mask_rule() -> str:
    from llmvis_studio.core import mask
    from llmvis_studio.engine.ops import restore

    fill = f"halo{restore.HALO_FRACTION}x{restore.HALO_STEPS},ns{restore.CLASSICAL_RADIUS}"
    wide = f"wide{mask.WIDE_SCALE}x{mask.WIDE_OPEN}x{mask.WIDE_CONFIDENT}"
    return f"growth{mask.NETWORK_DENSITY}x{mask.NETWORK_LOW_FRACTION},{wide},{fill}"


def new_wins(new: dict, old: dict) -> bool:
    """The issue's bars, not "beat the thin-scratch specialist on its own protocol": that rule kept a default that
    finds 1 % of the damage on old prints (print recall 0.009), the first job of `restore`. The new detector wins when
    it finds more print damage, still meets the thin-scratch bar and keeps clean photos clean on average."""
    return bool(
        new["prints"]["recall"] > old["prints"]["recall"]
        and new["thin"]["f1"] >= THIN_F1_BAR
        and new["clean_marked_fraction"] <= CLEAN_BUDGET
    )


RECALL_GIVE = 0.02  # as-good-faster: how much print recall and ...
CONTRAST_GIVE = 0.01  # ... restore's crack contrast removed a faster detector may lose (fixed before measuring)


def faster_wins(new: dict, old: dict) -> bool:
    """A faster detector (damage-detector-fast: a distilled student, half the work per pixel; issue 12's 15 s for a
    12-MP restore) replaces the default when it still meets the thin-scratch and clean-photo bars and finds about as
    much print damage: recall and crack contrast removed within RECALL_GIVE / CONTRAST_GIVE of the default's."""
    return bool(
        new["prints"]["recall"] >= old["prints"]["recall"] - RECALL_GIVE
        and new["prints"]["restore_crack_contrast_removed"]
        >= old["prints"]["restore_crack_contrast_removed"] - CONTRAST_GIVE
        and new["thin"]["f1"] >= THIN_F1_BAR
        and new["clean_marked_fraction"] <= CLEAN_BUDGET
    )


def load_cache(path: str) -> dict:
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return {}


def save_cache(path: str, cache: dict) -> None:
    import json

    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(cache, indent=1), encoding="utf-8")


def apply_default(new: str, old: str, new_is_better: bool, path: Path | None = None) -> None:
    """Write the decision into models/manifest.json (or `path`): the winner is the default detector, the other is
    not."""
    import json

    from _common import ROOT

    from llmvis_studio.training.manifest_tools import upsert_entry

    path = path or ROOT / "models" / "manifest.json"
    entries = {e["id"]: e for e in json.loads(path.read_text(encoding="utf-8"))["models"]}
    for model_id, is_default in ((new, new_is_better), (old, not new_is_better)):
        model_id = model_id.removesuffix("-int8")
        copy = entries.get(f"{model_id}-int8")  # an int8 copy (quantize_detector) is what the CPU runs by default
        entries[model_id]["default"] = is_default and copy is None
        upsert_entry(path, entries[model_id])
        if copy is not None:
            copy["default"] = is_default
            upsert_entry(path, copy)


if __name__ == "__main__":
    raise SystemExit(main())
