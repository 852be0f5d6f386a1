"""Reading and writing images with their metadata; atomic writes."""

from .imageio import load_document, load_image, load_mask, save_image, save_mask

__all__ = ["load_document", "load_image", "load_mask", "save_image", "save_mask"]
