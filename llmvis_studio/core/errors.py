"""Typed errors that carry a sentence a user can read.

Every layer raises these; the CLI prints `user_message` on one line and the UI shows it in a
message box. Details for a log go in `detail`, never in front of the user.
"""

from __future__ import annotations


class StudioError(Exception):
    """Base class: `user_message` is shown to people, `detail` goes to the log."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail


class InputError(StudioError):
    """Bad arguments or bad input files from the user."""


class ParamError(InputError, ValueError):
    """An op parameter that is unknown (the message lists the allowed names) or of the wrong type."""


class ImageLoadError(InputError):
    """A file that is missing, not an image, truncated or too large."""


class LargeImageError(ImageLoadError):
    """Above the 'ask first' size: the caller may confirm and load again with allow_large."""

    def __init__(self, user_message: str, megapixels: float) -> None:
        super().__init__(user_message)
        self.megapixels = megapixels


class ImageSaveError(StudioError):
    """Writing failed; the original file (if any) is untouched."""


class ModelError(StudioError):
    """A model that is unknown, corrupt, mismatched or cannot run."""


class ModelNotFound(ModelError):
    pass


class ModelIntegrityError(ModelError):
    """sha256 mismatch, pickle, LFS pointer, external data leaving the folder."""


class OutOfMemory(StudioError):
    """Raised by inference when an allocation fails; tiling halves the tile and retries."""


class Cancelled(StudioError):
    """The user cancelled a job; nothing was applied."""

    def __init__(self, user_message: str = "Cancelled.", detail: str = "") -> None:
        super().__init__(user_message, detail)
