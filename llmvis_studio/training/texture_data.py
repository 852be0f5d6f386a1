"""Texture classes for the resolution-free generator: which files, which regions, which licences.

    python -m llmvis_studio.training.texture_data --out runs/texture-data     # build the cache + sources.json

Sources (no download at run time):
- `supertuxkart-data` (apt): photo textures in /usr/share/games/supertuxkart/data/textures, licence per file from the
  package's DEP-5 copyright file (mostly CC-BY-SA-3.0/4.0, some CC0);
- `gimp-data` (apt): small seamless patterns in /usr/share/gimp/2.0/patterns/*/*.pat (GPL-3+);
- regions of the photo pack in ../shared/training/photos (Kodak: unrestricted; Wikimedia: per file, see its SOURCES.md;
  BSDS500: Corel images distributed by UC Berkeley for research, named in the model card).

Every source is scaled so its longer side is at most WORK_SIDE px (the scale the generator paints at), then split:
the left part trains the GAN, the right HOLDOUT_FRACTION is held out for the benchmark's classifier and its
detail reference (held-out crops, not held-out photos: most classes have only 3-7 sources).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from llmvis_studio.training.image_folder import FolderSummary

STK = Path("/usr/share/games/supertuxkart/data/textures")
STK_COPYRIGHT = Path("/usr/share/doc/supertuxkart-data/copyright")
GIMP = Path("/usr/share/gimp/2.0/patterns")
PHOTOS = Path(__file__).resolve().parents[3] / "shared" / "training" / "photos"  # ../shared next to the repo
WORK_SIDE = 512
HOLDOUT_FRACTION = 0.25
MAX_MODES = 8  # looks per class the generator learns apart (one per source; a user's many images share 8)
MIN_SIDE = 64  # a pattern smaller than this is tiled 2×2 (gimp patterns are seamless)


@dataclass(frozen=True)
class Source:
    kind: str  # stk | gimp | photo
    path: str  # relative to its root
    box: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)  # x0, y0, x1, y1 as fractions
    transform: str = ""  # "" | "storm" (darkened, desaturated: storm clouds from cloud photos)


def stk(path: str, box=(0.0, 0.0, 1.0, 1.0), transform: str = "") -> Source:
    return Source("stk", path, tuple(box), transform)


def gimp(path: str) -> Source:
    return Source("gimp", path)


def photo(path: str, box=(0.0, 0.0, 1.0, 1.0), transform: str = "") -> Source:
    return Source("photo", path, tuple(box), transform)


# Chosen by looking at contact sheets of every candidate (regions avoid objects, text and horizon lines).
CLASSES: dict[str, list[Source]] = {
    "sky": [
        stk("skybox/blue_sky_east.jpg", (0, 0, 1, 0.45)),
        stk("skybox/blue_sky_north.jpg", (0, 0, 1, 0.45)),
        stk("skybox/blue_sky_top.jpg"),
        photo("wikimedia/049.png", (0, 0, 1, 0.33)),
        photo("wikimedia/008.png", (0, 0, 0.3, 0.5)),
    ],
    "clouds": [
        stk("sky3.jpg"),
        stk("stk_generic_clouds_a.png"),
        stk("stk_generic_cloudsPattern_a.png"),
        stk("skybox/genericskybox_east.jpg", (0, 0, 1, 0.6)),
        gimp("Sky/sky.pat"),
        photo("wikimedia/047.png", (0, 0, 0.5, 0.42)),
        photo("wikimedia/047.png", (0.65, 0, 1, 0.42)),
        photo("kodak24/kodim16.png", (0, 0.03, 1, 0.36)),
    ],
    "storm clouds": [
        stk("sky.jpg"),
        stk("cloudshadow.png"),
        photo("wikimedia/018.png", (0, 0, 1, 0.3)),
        stk("sky.jpg", transform="storm"),
        stk("sky3.jpg", transform="storm"),
        stk("stk_generic_clouds_a.png", transform="storm"),
        photo("wikimedia/047.png", (0, 0, 0.5, 0.42), transform="storm"),
    ],
    "sunset sky": [
        stk("stk_generic_sunsetPattern_a.png"),
        stk("skybox/generic_purple_skybox_east.png", (0, 0, 1, 0.45)),
        stk("skybox/generic_purple_skybox_north.png", (0, 0, 1, 0.45)),
        photo("wikimedia/018.png", (0, 0.27, 1, 0.5)),
    ],
    "grass": [
        stk("grass2.jpg"),
        stk("racetrack_grass.jpg"),
        # Real lawn photos in place of the two softest game textures (stk_generic_grassA, grain 0.2, and
        # stk_generic_grassC): photographed grass is sharp. Same source count: the look table is indexed by it.
        photo("bsds500/train-28075.jpg", (0, 0.45, 0.94, 1)),  # meadow below the two horses, tree shadow
        stk("stk_generic_grassB.png"),
        photo("kodak24/kodim20.png", (0.66, 0.84, 1, 0.995)),  # airfield grass right of the plane's wheel
        stk("grass3.jpg"),
    ],
    "foliage": [
        stk("plants.jpg", (0, 0, 1, 0.6)),
        stk("TiZeta_ivy.png"),
        gimp("Plant/leaves.pat"),
        photo("kodak24/kodim13.png", (0, 0.22, 1, 0.45)),
    ],
    "tree bark": [
        stk("TiZeta_barkM.png"),
        stk("palmBark.jpg"),
        stk("hd_palmTreeBark_a_Albedo.png"),
        stk("city_tree.jpg"),
        gimp("Wood/bark.pat"),
    ],
    "water": [
        stk("oceanicWater.png"),
        stk("canyon_water.png"),
        gimp("Water/pool.pat"),
        photo("kodak24/kodim16.png", (0, 0.5, 1, 1)),
        photo("wikimedia/047.png", (0, 0.7, 0.45, 1)),
        photo("wikimedia/047.png", (0.6, 0.7, 1, 1)),
    ],
    "sea waves": [
        stk("sea.jpg"),
        stk("sea2.jpg"),
        photo("kodak24/kodim06.png", (0.01, 0.32, 0.36, 0.5)),  # left of the sailboat: its mast and ropes are no waves
        photo("kodak24/kodim06.png", (0.78, 0.5, 1, 1)),
    ],
    "sand": [
        stk("sand.png"),
        stk("sand2.jpg"),
        stk("hd_beach_01_d.png"),
        stk("stk_generic_sand_a.png"),
        photo("wikimedia/049.png", (0, 0.6, 1, 1)),
    ],
    "gravel": [stk("canyon_dirt_road.jpg"), stk("dirt.jpg"), gimp("Stone/granite1.pat")],
    "rock": [
        stk("rock1.jpg"),
        stk("stk_generic_rock_a.png"),
        stk("stk_generic_rock_b.png"),
        stk("rockMountain.jpg"),
        stk("blackrock.jpg"),
        stk("snowrock.jpg"),
        stk("stk_karstRock_a.png"),
    ],
    "snow": [stk("snow.png"), stk("stk_generic_snow_a.png"), stk("snowyroad.png", (0.15, 0, 0.75, 1))],
    "brick wall": [
        stk("city_bricks.png"),
        stk("stk_generic_brickA.png"),
        stk("beige_bricks.jpg"),
        stk("stk_generic_brickRoad_a.png"),
        gimp("Stone/brick.pat"),
    ],
    "stone wall": [
        stk("HortonRockWall.jpg"),
        stk("HortonRockWall2.jpg"),
        stk("HortonStone6.jpg"),
        stk("stk_generic_wallRock_a.png"),
        stk("castelwall.jpg"),
        stk("hacienda_ground.jpg"),
        gimp("Stone/rock.pat"),
    ],
    "wood planks": [
        stk("oldWood.png"),
        stk("dark-wall-wood.png"),
        stk("canyon_boards.png"),
        stk("japanRedWood.png"),
        stk("JapanwoodBridge.jpg"),
    ],
}
# Walls, planks and rock are shown smaller than the game's texture scale: a 64 px crop should hold a few bricks.
CLASS_SCALE = {"brick wall": 0.5, "stone wall": 0.6, "wood planks": 0.6, "rock": 0.7, "tree bark": 0.7}
# Ground and wall textures look right upside down; skies and bark do not.
VFLIP_OK = frozenset({"grass", "foliage", "sand", "gravel", "rock", "snow", "water"})


# ---------------------------------------------------------------- readers and licences


def read_gimp_pattern(path: Path) -> np.ndarray:
    """A GIMP .pat: big-endian header (size, version, width, height, bytes per pixel), 'GPAT', name, pixels."""
    raw = path.read_bytes()
    header, _version, width, height, depth = struct.unpack(">5I", raw[:20])
    if raw[20:24] != b"GPAT" or depth not in (1, 2, 3, 4):
        raise ValueError(f"{path} is not a GIMP pattern")
    pixels = np.frombuffer(raw[header : header + width * height * depth], np.uint8).reshape(height, width, depth)
    return np.repeat(pixels[..., :1], 3, axis=2) if depth < 3 else pixels[..., :3].copy()


def parse_dep5(text: str) -> list[tuple[list[str], str]]:
    """(file globs, licence) per stanza of a Debian DEP-5 copyright file, in file order (the last match wins)."""
    stanzas, globs, licence, in_files = [], [], None, False
    for line in text.splitlines() + [""]:
        if not line.strip():
            if globs and licence:
                stanzas.append((globs, licence))
            globs, licence, in_files = [], None, False
            continue
        if line.startswith("Files:"):
            globs, in_files = line[6:].split(), True
        elif line.startswith("License:"):
            licence, in_files = line[8:].strip(), False
        elif in_files and line.startswith((" ", "\t")):
            globs.extend(line.split())
        elif not line.startswith((" ", "\t")):
            in_files = False
    return stanzas


def stk_licence(relative: str, stanzas: list[tuple[list[str], str]]) -> str:
    target = f"data/textures/{relative}"
    found = "unknown"
    for globs, licence in stanzas:
        if any(fnmatch.fnmatchcase(target, pattern) for pattern in globs):
            found = licence
    return found


def source_path(source: Source, photos: Path = PHOTOS) -> Path:
    root = {"stk": STK, "gimp": GIMP, "photo": photos}[source.kind]
    return root / source.path


def licence_of(source: Source, stanzas: list[tuple[list[str], str]]) -> str:
    if source.kind == "stk":
        return stk_licence(source.path, stanzas)
    if source.kind == "gimp":
        return "GPL-3+ (gimp-data)"
    if source.path.startswith("kodak24/"):
        return "Kodak Lossless True Color Image Suite (unrestricted use)"
    if source.path.startswith("bsds500/"):
        return "BSDS500 (Corel images distributed by UC Berkeley for research; named in the model card)"
    return "Wikimedia Commons (CC-BY / CC-BY-SA / PD, see photos/wikimedia/SOURCES.md)"


def load_source(source: Source, photos: Path = PHOTOS, scale: float = 1.0) -> np.ndarray:
    """RGB uint8 region at the working scale (longer side ≤ WORK_SIDE, then × `scale`)."""
    path = source_path(source, photos)
    if source.kind == "gimp":
        rgb = read_gimp_pattern(path)
        while min(rgb.shape[:2]) < 2 * MIN_SIDE:
            rgb = np.tile(rgb, (2, 2, 1))
    else:
        with Image.open(path) as opened:
            rgba = opened.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgb = np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = source.box
    rgb = rgb[int(y0 * h) : int(np.ceil(y1 * h)), int(x0 * w) : int(np.ceil(x1 * w))]
    scale *= min(1.0, WORK_SIDE / max(rgb.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        rgb = np.asarray(Image.fromarray(rgb).resize(size, Image.LANCZOS))
    if source.transform == "storm":
        rgb = storm(rgb)
    return np.ascontiguousarray(rgb)


def storm(rgb: np.ndarray) -> np.ndarray:
    """Cloud photo → storm clouds: mostly desaturated, darker, a cool cast, more contrast in the mid-tones."""
    x = rgb.astype(np.float32) / 255.0
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32)
    x = 0.25 * x + 0.75 * grey[..., None]
    x = np.clip((x - 0.5) * 1.3 + 0.5, 0, 1) ** 1.6 * 0.75
    x *= np.array([0.95, 0.98, 1.05], np.float32)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def split(rgb: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """(training part, held-out right strip or None when the region is too narrow to give one)."""
    w = rgb.shape[1]
    cut = int(round(w * (1.0 - HOLDOUT_FRACTION)))
    if w - cut < MIN_SIDE or cut < MIN_SIDE:
        return rgb, None
    return rgb[:, :cut], rgb[:, cut:]


# ---------------------------------------------------------------- the cache


def build(out: Path, photos: Path = PHOTOS) -> dict:
    """Write out/train_*.png, out/holdout_*.png and out/sources.json; returns the JSON."""
    stanzas = parse_dep5(STK_COPYRIGHT.read_text(encoding="utf-8")) if STK_COPYRIGHT.is_file() else []
    out.mkdir(parents=True, exist_ok=True)
    record: dict = {"work_side": WORK_SIDE, "holdout_fraction": HOLDOUT_FRACTION, "classes": {}}
    for index, (name, sources) in enumerate(CLASSES.items()):
        rows = []
        for number, source in enumerate(sources):
            rgb = load_source(source, photos, CLASS_SCALE.get(name, 1.0))
            train, held = split(rgb)
            stem = f"{index:02d}_{number:02d}"
            Image.fromarray(train).save(out / f"train_{stem}.png")
            if held is not None:
                Image.fromarray(held).save(out / f"holdout_{stem}.png")
            rows.append(
                {
                    "file": f"{source.kind}:{source.path}",
                    "box": list(source.box),
                    "transform": source.transform,
                    "licence": licence_of(source, stanzas),
                    "train": f"train_{stem}.png",
                    "holdout": f"holdout_{stem}.png" if held is not None else None,
                    "size": [int(rgb.shape[1]), int(rgb.shape[0])],
                }
            )
        record["classes"][name] = rows
    (out / "sources.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


@dataclass
class TextureSet:
    """The cache in memory: per class a list of RGB uint8 images (train or held-out parts)."""

    names: list[str]
    images: list[list[np.ndarray]]

    @classmethod
    def load(cls, folder: Path, part: str = "train") -> TextureSet:
        record = json.loads((Path(folder) / "sources.json").read_text(encoding="utf-8"))
        names, images = [], []
        for name, rows in record["classes"].items():
            files = [row[part] for row in rows if row.get(part)]
            names.append(name)
            images.append([np.asarray(Image.open(Path(folder) / f).convert("RGB")) for f in files])
        return cls(names, images)

    @classmethod
    def from_folder(cls, folder: Path, side: int = 256) -> tuple[TextureSet, FolderSummary]:
        """A user's image folder (one sub-folder per class, the rules of `train gan`): every image scaled so its
        shorter side is about `side` px. Returns the set and the folder summary (skipped files, notes)."""
        from llmvis_studio.training.image_folder import ImageFolder

        folder_data = ImageFolder(str(folder), side)
        return cls(list(folder_data.classes), folder_data.images), folder_data.summary

    def crops(
        self,
        rng: np.random.Generator,
        labels: np.ndarray,
        size: int,
        augment: bool = True,
        modes: Optional[np.ndarray] = None,
    ) -> np.ndarray:
        """N×size×size×3 uint8 random crops, one per label: from source `modes[i]` of the class when given
        (see `mode_of`), else a source picked by area so big ones count more."""
        out = np.empty((len(labels), size, size, 3), np.uint8)
        for row, label in enumerate(labels):
            pool = self.images[label]
            if modes is not None:
                pool = [im for j, im in enumerate(pool) if j % MAX_MODES == modes[row]]
            weights = np.array([max(1, (im.shape[0] - size + 1) * (im.shape[1] - size + 1)) for im in pool], float)
            image = _at_least(pool[rng.choice(len(pool), p=weights / weights.sum())], size)
            y = rng.integers(0, image.shape[0] - size + 1)
            x = rng.integers(0, image.shape[1] - size + 1)
            crop = image[y : y + size, x : x + size]
            if augment and rng.random() < 0.5:
                crop = crop[:, ::-1]
            if augment and self.names[label] in VFLIP_OK and rng.random() < 0.5:
                crop = crop[::-1]
            out[row] = crop
        return out

    def mode_counts(self) -> list[int]:
        """Modes per class: its sources (image j belongs to mode j % MAX_MODES)."""
        return [min(len(pool), MAX_MODES) for pool in self.images]

    def random_modes(self, rng: np.random.Generator, labels: np.ndarray, size: int) -> np.ndarray:
        """A mode per label, by the area of its sources (a big texture is a more common look of the class), each
        at least half as often as an even share: a small photo region next to 512 px game textures (a lawn strip
        of 200×80 px) was drawn once in ~500 steps and never learned."""
        out = np.empty(len(labels), np.int64)
        for row, label in enumerate(labels):
            out[row] = rng.choice(self.mode_counts()[label], p=self.mode_shares(label, size))
        return out

    def mode_shares(self, label: int, size: int) -> np.ndarray:
        area = np.zeros(self.mode_counts()[label])
        for j, im in enumerate(self.images[label]):
            area[j % MAX_MODES] += max(1, (im.shape[0] - size + 1) * (im.shape[1] - size + 1))
        share = np.maximum(area / area.sum(), 0.5 / len(area))
        return share / share.sum()


def _at_least(image: np.ndarray, size: int) -> np.ndarray:
    h, w = image.shape[:2]
    if h >= size and w >= size:
        return image
    scale = size / min(h, w)
    return np.asarray(
        Image.fromarray(image).resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.LANCZOS)
    )


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    args = parser.parse_args(argv)
    record = build(args.out, args.photos)
    for name, rows in record["classes"].items():
        print(f"{name}: {len(rows)} sources, licences {sorted({r['licence'] for r in rows})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
