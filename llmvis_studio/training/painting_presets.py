"""Style presets from real public-domain artworks in the photo pack, next to the procedural ones.

    python -m llmvis_studio.training.rebuild_presets --models models [--pack ../shared/training/photos/wikimedia]

The training pack's Wikimedia folder (50 downsampled Commons files, pages listed in its SOURCES.md) holds two
artworks whose age puts them in the public domain everywhere (artists dead for more than 70 years; Commons
tags such faithful reproductions PD-old / PD-Art): Gustave Doré's Don Quixote wood engraving (1863, engraved by
Héliodore Pisan) and P. S. Krøyer's self-portrait (signed "S.K. 1888"). A third artwork there, Elmer Garnsey's
ceiling mural in the Library of Congress, is left out: the file is a photograph of a ceiling, whose own
licence cannot be checked offline. Note: the pack's numbered files do not follow SOURCES.md's order (002 is the
Vézelay basilica, the fifth page listed), so each artwork was matched to its page by what it shows.

Each preset is the Magenta style predictor's 100-d vector of a square crop of the artwork (a region with the
brushwork or hatching, at the predictor's 256 px), stored in style-presets.json with its source and licence.
rebuild_presets.py rewrites style-presets.json (procedural presets first, as export_magenta_style makes them, then
these) and the presets sha256 in manifest.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

PACK = Path(__file__).resolve().parents[3] / "shared" / "training" / "photos" / "wikimedia"
PRESETS_NAME = "style-presets.json"
TRANSFER_ID = "magenta-style-transfer"
STYLE_SIZE = 256


@dataclass(frozen=True)
class Painting:
    name: str
    description: str
    aliases: tuple[str, ...]
    file: str  # in the pack's wikimedia folder
    crop: tuple[int, int, int]  # x, y, side (px) of the square the predictor sees
    title: str
    artist: str
    year: str
    page: str  # the Commons page (SOURCES.md)
    colours: str = "style"  # the preset's default colours mode (stylize: "keep" = the photo's colours and light)
    mix: float = 1.0
    licence: str = "public domain (PD-old: the artist died more than 70 years ago)"

    def source(self) -> str:
        return f"{self.title}, {self.artist}, {self.year}; {self.page}; {self.licence}"


PAINTINGS: tuple[Painting, ...] = (
    Painting(
        "dore-engraving",
        "Gustave Doré engraving: dense black wood-engraved hatching and cross-hatching on cream paper, "
        "a 19th-century book illustration (Don Quixote and the windmills, 1863).",
        ("dore", "doré", "gustave dore", "gustave doré", "hatching", "cross hatching", "etching", "book illustration"),
        "007.png",
        (40, 500, 560),
        "Adventure with the Windmills (Don Quixote illustration)",
        "Gustave Doré (1832-1883), engraved by Héliodore Pisan (1822-1890)",
        "1863",
        "https://commons.wikimedia.org/wiki/File:Adventure_with_the_Windmills.jpg",
    ),
    Painting(
        "kroyer-oil",
        "P. S. Krøyer oil painting: loose visible brush strokes, sunlit Skagen blue and cream, "
        "Scandinavian impressionism (self-portrait, 1888).",
        ("kroyer", "krøyer", "skagen", "impressionism", "impressionist", "plein air", "oil sketch"),
        "027.png",
        (0, 560, 600),
        "Self-portrait (signed S.K. 1888)",
        "Peder Severin Krøyer (1851-1909)",
        "1888",
        "https://commons.wikimedia.org/wiki/File:Krøyer_PS.jpg",
        colours="keep",
    ),
)


def style_square(image: np.ndarray, crop: tuple[int, int, int]) -> np.ndarray:
    """RGB uint8 artwork → its crop square at 256×256, NHWC float32 0..1 (the predictor's input)."""
    x, y, side = crop
    if y + side > image.shape[0] or x + side > image.shape[1]:
        raise ValueError(f"crop {crop} does not fit a {image.shape[1]}×{image.shape[0]} image")
    square = image[y : y + side, x : x + side]
    small = cv2.resize(square, (STYLE_SIZE, STYLE_SIZE), interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) / 255.0)[None]


def load_rgb(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f"{path} is missing or not an image: the painting presets need the photo pack")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def painting_entries(predictor, pack: Path = PACK) -> list[dict]:
    """Preset entries (the presets file's format) for PAINTINGS; predictor: an onnxruntime session."""
    input_name = predictor.get_inputs()[0].name
    entries = []
    for painting in PAINTINGS:
        square = style_square(load_rgb(pack / painting.file), painting.crop)
        vector = predictor.run(None, {input_name: square})[0].reshape(-1)
        entries.append(
            {
                "name": painting.name,
                "description": painting.description,
                "aliases": list(painting.aliases),
                "mix": painting.mix,
                "colours": painting.colours,
                "source": painting.source(),
                "licence": painting.licence,
                "vector": [round(float(v), 6) for v in vector],
            }
        )
    return entries
