"""CMYK → RGB with the file's own ICC profile (LittleCMS through Pillow's ImageCms), or the plain formula without one.

Printers' CMYK is far from the naive 1 − C formula: without the profile a CMYK photo comes out with washed-out,
shifted colours, so the embedded profile is used whenever there is one. The result is sRGB.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageCms


def cmyk_to_srgb(picture: Image.Image, icc_profile: bytes) -> tuple[Image.Image, bool]:
    """(an RGB picture, whether the embedded profile was used). `picture` is mode CMYK."""
    if icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                picture,
                source,
                ImageCms.createProfile("sRGB"),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
            if converted is not None:
                return converted, True
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: fall back to the plain conversion (the caller says so)
    return picture.convert("RGB"), False


def cmyk_array_to_rgb(cmyk: np.ndarray, icc_profile: bytes) -> np.ndarray:
    """H×W×4 CMYK (uint8 or uint16, 0 = no ink) → H×W×3 uint8 sRGB."""
    if cmyk.dtype == np.uint16:
        cmyk = (cmyk.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    rgb, _ = cmyk_to_srgb(Image.fromarray(np.ascontiguousarray(cmyk), "CMYK"), icc_profile)
    return np.asarray(rgb).copy()
