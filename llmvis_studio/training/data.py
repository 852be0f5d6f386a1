"""The offline photo set used to train the restoration models, and on-the-fly degradations.

Sources (no downloads at training time):
- images bundled with scikit-image (``skimage.data`` functions that need no ``pooch`` download),
- scikit-learn ``load_sample_images()`` (china, flower),
- matplotlib sample data (grace_hopper.jpg),
- photographic wallpapers from Debian packages installed with
  ``apt-get install -y plasma-workspace-wallpapers mate-backgrounds`` (drawn / abstract ones are excluded by name).

Benchmark images (Set5, Set14, anything under ../shared/benchmarks) are never part of this set; a test checks it.
Images are decoded once, their longest side capped (which also hides wallpaper JPEG artefacts), and kept as uint8
arrays in memory. A few images are held out for validation crops and never used for training.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

MAX_SIDE = 1536

# scikit-image images that load offline (no pooch). `cat` is the same photo as `chelsea`; colorwheel/logo are drawn.
SKIMAGE_COLOUR = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry", "retina"]
SKIMAGE_GREY = ["camera", "coins", "moon", "grass", "gravel", "brick", "clock"]

# Photographic wallpapers (checked by eye on a contact sheet); the rest of those packages are drawn or abstract.
PLASMA_PHOTOS = [
    "Autumn",
    "BytheWater",
    "ColdRipple",
    "ColorfulCups",
    "DarkestHour",
    "EveningGlow",
    "FallenLeaf",
    "Grey",
    "Kite",
    "OneStandsOut",
    "Path",
    "Volna",
    "summer_1am",
]
MATE_NATURE = [
    "Aqua",
    "Blinds",
    "Dune",
    "FreshFlower",
    "Garden",
    "GreenMeadow",
    "LadyBird",
    "RainDrops",
    "Storm",
    "TwoWings",
    "Wood",
    "YellowFlower",
]
PLASMA_DIR = Path("/usr/share/wallpapers")
MATE_DIR = Path("/usr/share/backgrounds/mate/nature")
APT_PACKAGES = ["plasma-workspace-wallpapers", "mate-backgrounds"]

# Held out for validation crops: never trained on.
VALIDATION_NAMES = ("skimage/rocket", "mate/Dune", "plasma/Grey")


@dataclass(frozen=True)
class SourceImage:
    name: str  # e.g. "skimage/astronaut", "plasma/Autumn"
    origin: str  # file path or python call that produced the pixels
    sha256: str  # of the source file bytes (or of the raw array for in-memory sources)
    loader: Callable[[], np.ndarray]


def _file_loader(path: Path) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))

    return load


def _sha_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _skimage_source(name: str) -> SourceImage | None:
    import skimage.data

    func = getattr(skimage.data, name, None)
    if func is None:
        return None
    try:
        arr = np.asarray(func())
    except Exception:  # needs a download (pooch) on this install
        return None
    return SourceImage(
        f"skimage/{name}", f"skimage.data.{name}()", hashlib.sha256(arr.tobytes()).hexdigest(), lambda a=arr: a
    )


def _largest_plasma(name: str) -> Path | None:
    folder = PLASMA_DIR / name / "contents" / "images"
    if not folder.is_dir():
        return None
    files = [p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    if not files:
        return None
    return max(files, key=lambda p: (p.stat().st_size, p.name))


def list_sources() -> list[SourceImage]:
    """Every available training-source image (train + validation), in a fixed order."""
    out: list[SourceImage] = []
    for name in SKIMAGE_COLOUR + SKIMAGE_GREY:
        src = _skimage_source(name)
        if src is not None:
            out.append(src)
    try:
        import sklearn.datasets

        for path in sorted(sklearn.datasets.load_sample_images().filenames):
            p = Path(path)
            out.append(
                SourceImage(f"sklearn/{p.stem}", f"sklearn sample image {p.name}", _sha_file(p), _file_loader(p))
            )
    except Exception:
        pass
    try:
        import matplotlib.cbook

        p = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
        out.append(
            SourceImage(
                "matplotlib/grace_hopper", "matplotlib sample_data/grace_hopper.jpg", _sha_file(p), _file_loader(p)
            )
        )
    except Exception:
        pass
    for name in PLASMA_PHOTOS:
        p = _largest_plasma(name)
        if p is not None:
            out.append(SourceImage(f"plasma/{name}", str(p), _sha_file(p), _file_loader(p)))
    for name in MATE_NATURE:
        p = MATE_DIR / f"{name}.jpg"
        if p.is_file():
            out.append(SourceImage(f"mate/{name}", str(p), _sha_file(p), _file_loader(p)))
    return out


def training_manifest() -> list[dict[str, str]]:
    """Name, origin, sha256 and split of every source image (for the model card)."""
    return [
        {
            "name": s.name,
            "origin": s.origin,
            "sha256": s.sha256,
            "split": "validation" if s.name in VALIDATION_NAMES else "train",
        }
        for s in list_sources()
    ]


def _prepare(arr: np.ndarray, max_side: int) -> np.ndarray:
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    arr = np.ascontiguousarray(arr.astype(np.uint8))
    h, w = arr.shape[:2]
    if max(h, w) > max_side:
        f = max_side / max(h, w)
        im = Image.fromarray(arr).resize((max(1, round(w * f)), max(1, round(h * f))), Image.BICUBIC)
        arr = np.asarray(im)
    return arr


def load_images(
    split: str = "train", max_side: int = MAX_SIDE, names: Iterable[str] | None = None
) -> list[tuple[str, np.ndarray]]:
    """Decode the images of one split ("train", "validation" or "all") into uint8 HxWx3 arrays."""
    wanted = set(names) if names is not None else None
    out = []
    for s in list_sources():
        is_val = s.name in VALIDATION_NAMES
        if split == "train" and is_val or split == "validation" and not is_val:
            continue
        if wanted is not None and s.name not in wanted:
            continue
        out.append((s.name, _prepare(s.loader(), max_side)))
    return out


# ----------------------------------------------------------------------------------------------------------------
# crops and degradations


def random_crop(rng: np.random.Generator, img: np.ndarray, size: int, scale_aug: float = 0.0) -> np.ndarray:
    """A size×size uint8 crop with random flip / 90° rotation; with probability `scale_aug` the crop is taken from a
    larger window downscaled by up to 2× (Pillow BICUBIC), which adds detail-dense variants of each photo."""
    h, w = img.shape[:2]
    src = size
    if scale_aug > 0 and rng.random() < scale_aug:
        src = int(size * rng.uniform(1.0, 2.0))
    src = min(src, h, w)
    y = int(rng.integers(0, h - src + 1))
    x = int(rng.integers(0, w - src + 1))
    crop = img[y : y + src, x : x + src]
    if src != size:
        crop = np.asarray(Image.fromarray(crop).resize((size, size), Image.BICUBIC))
    k = int(rng.integers(0, 4))
    if k:
        crop = np.rot90(crop, k)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    return np.ascontiguousarray(crop)


def bicubic_down(hr: np.ndarray, scale: int) -> np.ndarray:
    """Pillow BICUBIC downscale (antialiased), the benchmark protocol's degradation. hr: uint8 HxWx3."""
    h, w = hr.shape[:2]
    return np.asarray(Image.fromarray(hr).resize((w // scale, h // scale), Image.BICUBIC))


def _gauss_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def _jpeg(img_u8: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img_u8).save(buf, format="JPEG", quality=int(quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def degrade_for_denoise(
    rng: np.random.Generator, clean: np.ndarray, gaussian_share: float = 0.75, jpeg_share: float = 0.35
) -> np.ndarray:
    """Blind scan degradation of a uint8 HxWx3 crop → float32 HxWx3 in [0, 1].

    Mild blur (p=0.15), then Gaussian noise σ∈[0,55]/255 (p=gaussian_share; a fifth of it luminance-correlated) or
    Poisson noise (p=0.15), then JPEG at quality 10–90 (p=jpeg_share). Values are clipped to [0, 1] and, most of the
    time, quantised to 8 bits as a saved scan would be.
    """
    x = clean.astype(np.float32) / 255.0
    if rng.random() < 0.15:
        x = _gauss_blur(x, float(rng.uniform(0.3, 1.0)))
    r = rng.random()
    if r < gaussian_share:
        sigma = float(rng.uniform(0.0, 55.0)) / 255.0
        if rng.random() < 0.2:
            n = rng.standard_normal(x.shape[:2] + (1,), dtype=np.float32) * sigma * 0.7
            n = n + rng.standard_normal(x.shape, dtype=np.float32) * sigma * 0.7
        else:
            n = rng.standard_normal(x.shape, dtype=np.float32) * sigma
        x = x + n
    elif r < gaussian_share + 0.15:
        peak = float(10 ** rng.uniform(1.0, 3.0))  # photons at white: 10..1000
        x = rng.poisson(np.clip(x, 0, 1) * peak).astype(np.float32) / peak
    x = np.clip(x, 0.0, 1.0)
    if rng.random() < jpeg_share:
        x = _jpeg((x * 255.0 + 0.5).astype(np.uint8), int(rng.integers(10, 91))).astype(np.float32) / 255.0
    elif rng.random() < 0.8:
        x = np.round(x * 255.0) / 255.0
    return x.astype(np.float32)


def to_chw(img: np.ndarray) -> np.ndarray:
    a = img.astype(np.float32)
    if img.dtype == np.uint8:
        a /= 255.0
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def sr_batch(
    rng: np.random.Generator, images: list[np.ndarray], batch: int, hr_patch: int, scale: int, scale_aug: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """(lr, hr) float32 NCHW in [0, 1]; lr is hr_patch/scale pixels square."""
    hr_patch -= hr_patch % scale
    lrs, hrs = [], []
    weights = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64) ** 0.5
    weights /= weights.sum()
    for _ in range(batch):
        img = images[int(rng.choice(len(images), p=weights))]
        hr = random_crop(rng, img, hr_patch, scale_aug)
        lrs.append(to_chw(bicubic_down(hr, scale)))
        hrs.append(to_chw(hr))
    return np.stack(lrs), np.stack(hrs)


def denoise_batch(
    rng: np.random.Generator,
    images: list[np.ndarray],
    batch: int,
    patch: int,
    gaussian_share: float = 0.75,
    jpeg_share: float = 0.35,
) -> tuple[np.ndarray, np.ndarray]:
    """(noisy, clean) float32 NCHW in [0, 1]; patch is made even."""
    patch -= patch % 2
    xs, ys = [], []
    weights = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64) ** 0.5
    weights /= weights.sum()
    for _ in range(batch):
        img = images[int(rng.choice(len(images), p=weights))]
        clean = random_crop(rng, img, patch, 0.5)
        xs.append(to_chw(degrade_for_denoise(rng, clean, gaussian_share, jpeg_share)))
        ys.append(to_chw(clean))
    return np.stack(xs), np.stack(ys)


def validation_crops(size: int = 192, per_image: int = 2) -> list[np.ndarray]:
    """Fixed uint8 crops of the held-out images (deterministic)."""
    return fixed_crops(load_images("validation"), size, per_image)


def fixed_crops(images: list[tuple[str, np.ndarray]], size: int, per_image: int) -> list[np.ndarray]:
    """`per_image` size×size uint8 crops of each (name, image), at places fixed by one seed (validation sets)."""
    rng = np.random.default_rng(1234)
    crops = []
    for _, img in images:
        for _ in range(per_image):
            h, w = img.shape[:2]
            y = int(rng.integers(0, h - size + 1))
            x = int(rng.integers(0, w - size + 1))
            crops.append(np.ascontiguousarray(img[y : y + size, x : x + size]))
    return crops


def benchmark_root() -> Path:
    env = os.environ.get("LLMVIS_BENCHMARKS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks"
