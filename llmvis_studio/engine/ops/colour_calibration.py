"""A calibrated chroma gain for the colourizer: how much of the net's predicted colour to trust, per kind of pixel.

Why: a net trained for minutes is surer of some colours than of others. One global gain can only trade all colour
against PSNR at once. Here the gain depends on the predicted hue sector, the predicted chroma, the lightness and the
local texture (smooth or detailed); each cell's gain is the least-squares gain C/P (C = Σ pred·truth,
P = Σ pred·pred) fitted on held-out photos, times one multiplier m. Why a multiplier: for a fixed error budget,
colour is bought most cheaply where the prediction correlates with the truth, and scaling the least-squares gains by a
common m is exactly that allocation (m = 2 spends the whole error budget of the grey input). Three uses: `vivid`
(the table as stored, m × the least-squares gains), automatic (`automatic` × the least-squares gains, chosen on TUNE
photos to be colourful with a PSNR margin over grey) and hinted (the least-squares gains). The table lives in the
model's manifest entry (`chroma_calibration`); training/colourize_calibrate.py fits it. Pure numpy, no Qt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import cv2
import numpy as np

from ...core.errors import InputError


@dataclass(frozen=True)
class ChromaCalibration:
    hue_sectors: int
    chroma_edges: tuple[float, ...]  # predicted chroma (Lab units) bin edges
    lightness_edges: tuple[float, ...]  # L* bin edges
    gains: tuple[float, ...]  # hue-major, then chroma, then lightness; the multiplier already applied
    multiplier: float = 1.0  # m: gains / m are the least-squares (PSNR-best) gains
    texture_edges: tuple[float, ...] = ()  # local L* std (5×5, working size) bin edges; innermost index
    automatic: float = 1.0  # the default automatic colours: this × the least-squares gains

    TEXTURE_WINDOW = 5

    @property
    def cells(self) -> int:
        return (
            self.hue_sectors
            * (len(self.chroma_edges) + 1)
            * (len(self.lightness_edges) + 1)
            * (len(self.texture_edges) + 1)
        )

    def __post_init__(self) -> None:
        if self.multiplier <= 0 or self.automatic <= 0:
            raise InputError(f"Chroma calibration multipliers must be positive, not {self.multiplier:g}.")
        if self.hue_sectors < 1 or len(self.gains) != self.cells:
            raise InputError(f"Chroma calibration needs {self.cells} gains, found {len(self.gains)}.")

    def cell_index(self, lightness: np.ndarray, ab: np.ndarray) -> np.ndarray:
        chroma = np.hypot(ab[..., 0], ab[..., 1])
        hue = np.arctan2(ab[..., 1], ab[..., 0])
        sector = ((hue + np.pi) * (self.hue_sectors / (2 * np.pi))).astype(np.int64) % self.hue_sectors
        c_bin = np.digitize(chroma, self.chroma_edges)
        l_bin = np.digitize(lightness, self.lightness_edges)
        cell = (sector * (len(self.chroma_edges) + 1) + c_bin) * (len(self.lightness_edges) + 1) + l_bin
        if not self.texture_edges:
            return cell
        return cell * (len(self.texture_edges) + 1) + np.digitize(
            local_std(lightness, self.TEXTURE_WINDOW), self.texture_edges
        )

    def apply(self, lightness: np.ndarray, ab: np.ndarray, vivid: bool = True, hinted: bool = False) -> np.ndarray:
        """Working-size L* (H×W) and predicted ab (H×W×2) → calibrated ab (same shape, float32).

        vivid: the table as stored (the most colourful); else the automatic default (`automatic` × the least-squares
        gains), or with hinted the least-squares (PSNR-best) gains themselves."""
        scale = 1.0 if vivid else (1.0 if hinted else self.automatic) / self.multiplier
        gain = np.asarray(self.gains, np.float32)[self.cell_index(lightness, ab)] * np.float32(scale)
        return (ab * gain[..., None]).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "hue_sectors": self.hue_sectors,
            "chroma_edges": list(self.chroma_edges),
            "lightness_edges": list(self.lightness_edges),
            "gains": [round(g, 4) for g in self.gains],
            "multiplier": self.multiplier,
            "texture_edges": list(self.texture_edges),
            "automatic": self.automatic,
        }

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> Optional[ChromaCalibration]:
        if not data:
            return None
        try:
            return cls(
                int(data["hue_sectors"]),
                tuple(float(v) for v in data["chroma_edges"]),
                tuple(float(v) for v in data["lightness_edges"]),
                tuple(float(v) for v in data["gains"]),
                float(data.get("multiplier", 1.0)),
                tuple(float(v) for v in data.get("texture_edges", ())),
                float(data.get("automatic", 1.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InputError(f"The model's chroma calibration is malformed ({error}).") from error


def local_std(lightness: np.ndarray, window: int) -> np.ndarray:
    """Standard deviation of L* in a window around each pixel: smooth (sky, snow, studio backdrops) vs textured
    (foliage, fabric). The net's guesses are wrong more often on smooth areas (it paints them yellow)."""
    values = lightness.astype(np.float32)
    mean = cv2.blur(values, (window, window))
    return np.sqrt(np.maximum(cv2.blur(values * values, (window, window)) - mean * mean, 0.0))


def fit_gains(
    cells: np.ndarray, pred: np.ndarray, truth: np.ndarray, weights: np.ndarray, n_cells: int, shrink: float
) -> np.ndarray:
    """Least-squares gain per cell, shrunk toward the global gain (sparse cells borrow from the whole table).

    cells: N cell indices; pred/truth: N×2 ab; weights: N (per pixel, e.g. 1 / the photo's grey error, so each photo
    counts like its share of the mean PSNR). shrink: prior strength as a share of the average cell's P."""
    pt = weights * (pred * truth).sum(axis=1)
    pp = weights * (pred * pred).sum(axis=1)
    c = np.bincount(cells, pt, n_cells)
    p = np.bincount(cells, pp, n_cells)
    global_gain = pt.sum() / max(pp.sum(), 1e-12)
    prior = shrink * pp.sum() / n_cells
    denominator = p + prior
    gains = np.full(n_cells, global_gain)  # a cell without data (and no prior) takes the global gain
    seen = denominator > 0
    gains[seen] = (c[seen] + prior * global_gain) / denominator[seen]
    return np.clip(gains, 0.0, None)
