"""The texture trainer's folder check, shared by `llmvis-studio train texture` and the editor's Train dialog: a bad
folder is refused in one sentence before any training starts (no traceback, no half-written run folder)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, UnidentifiedImageError

from llmvis_studio.core.errors import InputError
from llmvis_studio.training.image_folder import class_groups


def _picture_sizes(files: list[Path]) -> list[tuple[int, int]]:
    """(width, height) of the files that open as pictures (only the header is read)."""
    sizes = []
    for path in files:
        try:
            with Image.open(path) as image:
                sizes.append(image.size)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
            continue  # unreadable files are reported (and skipped) by the folder reader
    return sizes


def check_texture_folder(folder: Path, crop: int) -> None:
    """Refuse, in one sentence, a folder the texture trainer cannot learn from: missing, empty, or a class whose
    pictures are all smaller than the training crop (they would be blown up into blur). Class sub-folders name the
    classes (the words a prompt uses); pictures lying directly in a folder without sub-folders are one class named
    after the folder, as the shared folder reader (image_folder.class_groups) and `train gan` / `train vae` take them."""
    if not folder.is_dir():
        raise InputError(f"The data folder {folder} does not exist or is not a folder.")
    pictures = dict(class_groups(folder)[0])
    if not any(pictures.values()):
        raise InputError(
            f"{folder} is empty: put pictures of one texture in it, or each kind in its own sub-folder (e.g. sky/ "
            "and grass/; their names are the words a prompt uses)."
        )
    for name, files in pictures.items():
        sizes = _picture_sizes(files)
        if sizes and max(min(size) for size in sizes) < crop:
            biggest = max(sizes, key=min)
            raise InputError(
                f"The pictures in {name}/ are too small (the largest is {biggest[0]}×{biggest[1]} px): the texture "
                f"trainer learns from {crop}×{crop} px crops; use pictures at least {crop} px on each side."
            )
