"""Style transfer on large photos: detail, structure, colour, tile seams and time, old pipeline vs new.

    python benchmarks/style_detail.py [--style watercolour] [--sheet models/cards/style-detail-sheet.png]

Photos: training-pack Wikimedia photos (../shared/training/photos/wikimedia: 013 a mountain lake with meadows
and sky, 047 the Washington Monument with cherry trees, sky and water, 006 a factory under a blue sky), cubic-
upscaled to 2048 px on the long side (the pack has nothing larger; the upscale makes their finest detail soft,
which is the same for both pipelines).
- old: the pipeline before issue 15, as it was (old_pipeline below: the whole picture at 1024 px, upsampled,
  + 0.7 × the luminance residual; the style's colours, the default then).
- new: the op's defaults (strokes tiled at up to 2048 px, tone from one 1024 px pass, the preset's colours mode:
  keep for watercolour); new_style_colours is the same with colours = style.
Measures (llmvis_studio/training/style_metrics.py): detail_ratio (high-frequency luminance energy, output /
input), structure (gradient-magnitude correlation with the input), colour_shift (mean ΔE after a σ 4 blur),
seam_ratio (gradient across tile cut lines / beside them; 1 = no seam), tone_step (ΔE between tiled and one-
piece runs near the cuts), for the new op and for naive tiles (the tiled stroke pass alone, no tone pass).
Time: engine on 2 threads, wall seconds per run (another engineer's training shares the 2 cores: loaded).
Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np
from _common import ROOT, emit

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.geometry import Extent
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import style_tiles
from llmvis_studio.engine.ops.stylize import find_preset, presets_for
from llmvis_studio.engine.tiling import plan_tiles, run_tiled
from llmvis_studio.training import style_metrics as M

PHOTOS = ("013", "047", "006")
PACK = ROOT.parent / "shared" / "training" / "photos" / "wikimedia"
LONG_SIDE = 2048


def load_photo(name: str) -> np.ndarray:
    image = cv2.cvtColor(cv2.imread(str(PACK / f"{name}.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    height, width = image.shape[:2]
    scale = LONG_SIDE / max(height, width)
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_CUBIC)


def cuts(shape: tuple[int, int]) -> tuple[list[int], list[int]]:
    tiles = plan_tiles(Extent(shape[1], shape[0]), style_tiles.TILE, style_tiles.OVERLAP)
    return sorted({t.core.x for t in tiles if t.core.x}), sorted({t.core.y for t in tiles if t.core.y})


def timed(engine: Engine, image: np.ndarray, **params) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    result = engine.run(EditRequest.build("stylize", image, params=params))
    return result.image, round(time.perf_counter() - started, 2)


def old_pipeline(engine: Engine, image: np.ndarray, style: str) -> tuple[np.ndarray, float]:
    """The pipeline as it was on main before issue 15 (1024 px working size, detail 0.7, colours = style)."""
    started = time.perf_counter()
    out = M.one_pass_reference(network_on(engine, style), image, 1024, 0.7)
    return out, round(time.perf_counter() - started, 2)


def network_on(engine: Engine, style: str):
    spec = engine.catalog.default_for("stylize")
    model = engine.open_model(spec, "cpu")
    vector = find_preset(presets_for(spec), style).vector
    names = [i.name for i in model.session.get_inputs()]
    return style_tiles.network_on(lambda c, v: model.session.run(None, {names[0]: c, names[1]: v})[0], vector)


def naive_tiles(engine: Engine, image: np.ndarray, style: str) -> np.ndarray:
    """The stroke pass alone (tiles with their own instance-norm statistics), to show what the tone pass fixes."""
    infer = network_on(engine, style)
    out = run_tiled(M.as_float(image), infer, tile=style_tiles.TILE, overlap=style_tiles.OVERLAP)
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def one_piece(engine: Engine, image: np.ndarray, **params) -> np.ndarray:
    saved = style_tiles.TILE
    style_tiles.TILE = 1 << 16  # one tile: the whole picture through the network at once
    try:
        return timed(engine, image, **params)[0]
    finally:
        style_tiles.TILE = saved


def scores(output: np.ndarray, photo: np.ndarray) -> dict:
    return {
        "detail_ratio": round(M.detail_ratio(output, photo), 3),
        "structure": round(M.structure(output, photo), 3),
        "colour_shift_dE": round(M.colour_shift(output, photo), 2),
    }


def measure(engine: Engine, name: str, style: str, seams: bool) -> tuple[dict, dict]:
    photo = load_photo(name)
    old, old_s = old_pipeline(engine, photo, style)
    new, new_s = timed(engine, photo, style=style)
    styled, _ = timed(engine, photo, style=style, colours="style")
    row = {
        "photo": f"wikimedia/{name}.png at {photo.shape[1]}×{photo.shape[0]}",
        "old": {**scores(old, photo), "wall_s": old_s},
        "new": {**scores(new, photo), "wall_s": new_s},
        "new_style_colours": scores(styled, photo),
    }
    if seams:
        xs, ys = cuts(photo.shape[:2])
        whole = one_piece(engine, photo, style=style, colours="style")
        naive = naive_tiles(engine, photo, style)
        row["seams"] = {
            "cuts_x": xs,
            "cuts_y": ys,
            "new_seam_ratio": round(M.seam_ratio(styled, xs, ys), 3),
            "one_piece_seam_ratio": round(M.seam_ratio(whole, xs, ys), 3),
            "naive_seam_ratio": round(M.seam_ratio(naive, xs, ys), 3),
            "new_tone_step_dE": round(M.tone_step(styled, whole, xs, ys), 2),
            "naive_tone_step_dE": round(M.tone_step(naive, whole, xs, ys), 2),
        }
    return row, {"photo": photo, "old": old, "new": new, "style": styled}


def contact_sheet(images: list[dict], path) -> None:
    """Per photo, a 384×288 crop at 100 %: input | old | new (default colours) | new with the style's colours."""
    rows = []
    for item in images:
        height, width = item["photo"].shape[:2]
        top, left = height // 2 - 144, width // 2 - 192
        crops = [item[k][top : top + 288, left : left + 384] for k in ("photo", "old", "new", "style")]
        rows.append(np.hstack([np.pad(c, ((4, 4), (4, 4), (0, 0)), constant_values=255) for c in crops]))
    sheet = np.vstack(rows)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", default="watercolour")
    parser.add_argument("--sheet", default=None, help="write the contact sheet PNG here")
    args = parser.parse_args()
    engine = Engine(load_catalog(), threads=2)
    timed(engine, load_photo(PHOTOS[0])[:256, :256], style=args.style)  # warm the sessions
    rows, images = [], []
    for index, name in enumerate(PHOTOS):
        row, pictures = measure(engine, name, args.style, seams=index < 2)
        rows.append(row)
        images.append(pictures)
    if args.sheet:
        contact_sheet(images, args.sheet)
    emit({"style": args.style, "threads": 2, "machine_loaded": "yes: a training shares the 2 cores", "photos": rows})


if __name__ == "__main__":
    main()
