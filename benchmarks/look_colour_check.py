"""How the weight of the class colour prior changes the look a fill picks (texture_looks.COLOUR_WEIGHT).

    python benchmarks/look_colour_check.py --data runs/texture-data [--run RUN]

On the real regions of look_grain_check.py (grass, sky, clouds, water and sand in the training pack's photos,
none from the benchmark photo wikimedia/039.png), with the mask inside the region and half out of it, the fill's
ranking (texture_looks.rank) picks a look of the class for each weight and each of three noise seeds. Measured
against the real content the mask hides:
- colour error: the L*a*b* distance between the region's mean colour and the picked look's mean colour after
  the fit (adapt_lab_statistics moves L* half and a*b* a third of the way to the ring's mean);
- grain error: |the picked look's grain − the region's grain| (look_grain_check's measure);
- combined: the mean of the two, each as a fraction of a random look's (the mean over the class's looks), so
  neither unit decides the trade-off.
Weight 0 is the grain-only ranking. Prints both per weight; its last line is JSON.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
from _common import emit
from generate_quality import run_catalog
from look_grain_check import CASES, PHOTOS, masks, ring_grain

from llmvis_studio.core.geometry import nonzero_bounds
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import texture_fill, texture_looks
from llmvis_studio.training.texture_data import TextureSet
from llmvis_studio.training.texture_export import class_statistics

WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2)
SEEDS = (3000, 11, 4242)
CAST = np.array(
    [0.5, 1 / 3, 1 / 3]
)  # adapt_lab_statistics: the share of the ring's mean L*a*b* difference a fill takes


def look_stats(engine: Engine, model_id: str, name: str, seed: int) -> tuple[list[float], list[np.ndarray]]:
    """(grain, mean L*a*b*) of each look's PREVIEW-sized preview of class `name`, as the fill paints them."""
    spec = engine.catalog.get(model_id)
    info = texture_fill.TextureInfo.of(spec)
    model = engine.open_model(spec, "cpu")
    k = info.names.index(name)
    weights = np.eye(len(info.names), dtype=np.float32)[k]
    size = texture_looks.PREVIEW
    previews = [
        texture_fill.paint(model, info, info.vector(weights, np.random.default_rng(seed), (k, i)), size, size, seed)
        for i in range(len(info.modes[k]))
    ]
    return [texture_looks.grain(p) for p in previews], [texture_looks.colour(p) for p in previews]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="texture_data cache the model trained on")
    parser.add_argument("--run", type=Path, help="a training run folder (default: the installed model)")
    parser.add_argument("--lightness", type=float, help="texture_looks.LIGHTNESS_WEIGHT to try")
    args = parser.parse_args()
    if args.lightness is not None:
        texture_looks.LIGHTNESS_WEIGHT = args.lightness
    catalog, model_id = run_catalog(args.run)
    engine = Engine(catalog, threads=2)
    data = TextureSet.load(args.data)
    grains, colours = class_statistics(data, 64)
    class_grain, class_colour = dict(zip(data.names, grains)), dict(zip(data.names, map(np.array, colours)))
    colour_err: dict[str, list] = {"inside": [], "straddle": []}
    grain_err: dict[str, list] = {"inside": [], "straddle": []}
    combined: dict[str, list] = {"inside": [], "straddle": []}
    for name, path, box in CASES:
        rgb = cv2.cvtColor(cv2.imread(str(PHOTOS / path)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        lab = texture_fill.to_lab(rgb)
        region, inside, straddle = masks(rgb.shape, box)
        truth_grain, truth_lab = texture_looks.grain(rgb, region), lab[region].mean(0)
        for kind, hole in (("inside", inside), ("straddle", straddle)):
            _, width = texture_fill.fill_area(rgb, nonzero_bounds(hole.astype(np.uint8)))
            ring = texture_fill.ring_mask(hole, width)
            target = texture_looks.target_grain(ring_grain(rgb, hole), class_grain[name])
            ring_lab = lab[ring].mean(0)
            for seed in SEEDS:
                g, c = look_stats(engine, model_id, name, seed)
                picks = [texture_looks.rank(g, c, target, class_colour[name], w)[0] for w in WEIGHTS]
                seen = [c[p] + CAST * (ring_lab - c[p]) for p in picks]
                every = [ci + CAST * (ring_lab - ci) for ci in c]  # any look: a random pick's errors
                colour_any = np.mean([np.linalg.norm(s - truth_lab) for s in every])
                grain_any = np.mean([abs(gi - truth_grain) for gi in g])
                colour_err[kind].append([float(np.linalg.norm(s - truth_lab)) for s in seen])
                grain_err[kind].append([abs(g[p] - truth_grain) for p in picks])
                combined[kind].append(
                    [
                        (ce / colour_any + ge / grain_any) / 2
                        for ce, ge in zip(colour_err[kind][-1], grain_err[kind][-1])
                    ]
                )
                if seed == SEEDS[0]:
                    print(f"{name:12s} {path:26s} {kind:8s} looks picked by weight: {[p + 1 for p in picks]}")
    result = {}
    for label, errors in (("colour_error", colour_err), ("grain_error", grain_err), ("combined", combined)):
        both = errors["inside"] + errors["straddle"]
        result[label] = {
            **{kind: dict(zip(map(str, WEIGHTS), np.round(np.mean(e, 0), 2).tolist())) for kind, e in errors.items()},
            "both": dict(zip(map(str, WEIGHTS), np.round(np.mean(both, 0), 2).tolist())),
        }
    result["lightness_weight"] = texture_looks.LIGHTNESS_WEIGHT
    emit(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
