"""Validation scores and calibration of the print-damage detector (split out of train_damage, which trains it).

Calibration: Platt scaling of the logits on the held-out photos' crops, then the bias is shifted so that the best-F1
threshold (among those marking at most CLEAN_BUDGET of the clean crops) lands on 0.5; or, for a distilled student,
so that it marks as many damaged-crop pixels as its teacher does at 0.5 (see calibrate).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from llmvis_studio.training.train_inpaint import tolerant_prf

# calibration: at sensitivity 0.5 at most this fraction of a clean held-out print is marked (the bar)
CLEAN_BUDGET = 0.005
KINDS = ("print", "film", "clean", "thin")  # validation crop kinds (train_damage.validation_set)


@torch.no_grad()
def val_logits(model: torch.nn.Module, vset) -> list[np.ndarray]:
    model.eval()
    out = [model.logits(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))[0, 0].numpy() for _, x, _ in vset]
    model.train()
    return out


def scores(logits: list[np.ndarray], vset, threshold_logit: float, only: str = "") -> dict[str, float]:
    """Pooled-per-crop mean precision / recall / F1 (1 px tolerance) on damaged crops (of kind `only` when given);
    marked fraction on clean ones."""
    ps, rs, clean = [], [], []
    for z, (kind, _, y) in zip(logits, vset):
        pred = z > threshold_logit
        if only and kind not in (only, "clean"):
            continue
        if kind == "clean":
            clean.append(float(pred.mean()))
            continue
        p, r, _ = tolerant_prf(pred, y)
        ps.append(p)
        rs.append(r)
    p, r = float(np.mean(ps)), float(np.mean(rs))
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / max(1e-9, p + r),
        "clean_marked": float(np.mean(clean)) if clean else 0.0,
    }


def platt(logits: list[np.ndarray], vset, pixels: int = 400_000, seed: int = 0) -> tuple[float, float]:
    """Fit p = sigmoid(a·z + b) to the held-out labels (a pixel subsample)."""
    z = np.concatenate([logit.ravel() for logit in logits])
    y = np.concatenate([(v[2] > 0).ravel() for v in vset]).astype(np.float32)
    idx = np.random.default_rng(seed).choice(z.size, min(pixels, z.size), replace=False)
    zt, yt = torch.from_numpy(z[idx]), torch.from_numpy(y[idx])
    ab = torch.tensor([1.0, 0.0], requires_grad=True)
    opt = torch.optim.LBFGS([ab], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")  # plain LBFGS can diverge

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(zt * ab[0] + ab[1], yt)
        loss.backward()
        return loss

    opt.step(closure)
    a, b = float(ab[0].detach()), float(ab[1].detach())
    if (
        not (math.isfinite(a) and math.isfinite(b)) or not 0.05 <= a <= 20
    ):  # an untrained net (tiny test runs): no scaling
        return 1.0, 0.0
    return a, b


def teacher_marked(path: str, vset) -> int:
    """How many pixels of the damaged validation crops an exported, calibrated detector marks at probability 0.5
    (its default sensitivity), run as the engine runs it (onnxruntime, fp32 file)."""
    import onnxruntime as ort

    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sum(
        int(np.count_nonzero(session.run(None, {"image": x.transpose(2, 0, 1)[None].copy()})[0] > 0.5))
        for kind, x, _ in vset
        if kind != "clean"
    )


def logit_marking(logits: list[np.ndarray], vset, count: int) -> float:
    """The raw-logit threshold above which `count` pixels of the damaged validation crops are marked."""
    z = np.sort(np.concatenate([logit.ravel() for logit, (kind, _, _) in zip(logits, vset) if kind != "clean"]))
    return float(z[max(0, z.size - max(1, count))])


def calibrate(model: torch.nn.Module, vset, log, match_teacher: str = "") -> dict[str, Any]:
    """Platt scaling, then shift the bias so the best-F1 threshold is 0.5; bakes (a, b) into model.calibration.
    "Best" is the best F1 among thresholds that mark at most CLEAN_BUDGET of the clean held-out prints (clean
    photos must stay untouched), else the threshold that marks the least of them.

    match_teacher (an exported detector): instead, 0.5 is where the student marks as many pixels of the damaged
    validation crops as that teacher does at its 0.5 (a distilled student takes the teacher's operating point; its
    own best-F1 point marked less: on held-out prints restore then removed less of the cracks' contrast)."""
    model.calibration.copy_(torch.tensor([1.0, 0.0]))
    logits = val_logits(model, vset)
    a, b = platt(logits, vset)
    grid = [round(t, 3) for t in list(np.arange(0.05, 0.96, 0.05)) + [0.97, 0.98, 0.99, 0.995]]
    f1, clean = {}, {}
    for t in grid:  # thresholds on the Platt probability, as raw-logit thresholds
        s = scores(logits, vset, (math.log(t / (1 - t)) - b) / a)
        f1[t], clean[t] = s["f1"], s["clean_marked"]
    feasible = [t for t in grid if clean[t] <= CLEAN_BUDGET]
    best = max(feasible, key=f1.get) if feasible else min(grid, key=clean.get)
    b_shift = b - math.log(best / (1 - best))
    log(f"calibration platt a {a:.3f} b {b:.3f}; best F1 {f1[best]:.3f} at platt p {best}; baked b {b_shift:.3f}")
    matched: dict[str, Any] = {}
    if match_teacher:
        count = teacher_marked(match_teacher, vset)
        b_shift = -a * logit_marking(logits, vset, count)
        matched = {"teacher": Path(match_teacher).name, "teacher_marked_pixels": count}
        log(f"operating point of {match_teacher}: {count} damaged-crop pixels marked; baked b {b_shift:.3f}")
    model.calibration.copy_(torch.tensor([a, b_shift]))
    at_half = scores(logits, vset, -b_shift / a)
    by_sens = {
        s: round(scores(logits, vset, (math.log((1 - s) / s) - b_shift) / a)["f1"], 4)
        for s in (0.2, 0.35, 0.5, 0.65, 0.8)
    }
    by_kind = {
        k: {m: round(v, 4) for m, v in scores(logits, vset, -b_shift / a, only=k).items()}
        for k in KINDS
        if k != "clean"
    }
    log(f"at sensitivity 0.5 by kind {json.dumps(by_kind)}")
    return {
        "platt": [round(a, 4), round(b, 4)],
        "baked": [round(a, 4), round(b_shift, 4)],
        "at_sensitivity_0.5_by_kind": by_kind,
        "f1_by_platt_threshold": {str(k): round(v, 4) for k, v in f1.items()},
        "clean_marked_by_platt_threshold": {str(k): round(v, 5) for k, v in clean.items()},
        "clean_budget": CLEAN_BUDGET,
        "f1_by_sensitivity": {str(k): v for k, v in by_sens.items()},
        "at_sensitivity_0.5": {k: round(v, 5) for k, v in at_half.items()},
        **({"matched_operating_point": matched} if matched else {}),
    }
