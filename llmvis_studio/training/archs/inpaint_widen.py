"""Start a wider InpaintNet from a narrower one's weights without changing what it computes (Net2Net-style).

Why: fine-tunes of the 32-channel fill on the photo pack stayed flat (its card), so the net's width, not its data or
loss, looked like the limit; a wider net trained from scratch would spend most of a CPU session relearning what the
narrow one knows. Widening keeps every old channel's weights, gives the new channels their fresh random init, and
zeroes the weights from new input channels into old output channels: the widened net's output is the narrow net's
output (up to rounding), and the new channels then learn because their activations reach the zeroed weights'
gradients.
"""

from __future__ import annotations

import re

import torch

from llmvis_studio.training.archs.inpaint import InpaintNet

# Channel groups of each layer's (output, input) dimension, in the order the layer stacks them: an int k is
# k × channels (a gated conv outputs features then gates; a decoder conv reads the upsampled path then the skip),
# a name is a group whose size does not depend on the width.
_FIXED = {"rgb+mask": 4, "rgb": 3}
_LAYOUT: dict[str, tuple[tuple, tuple]] = {
    "full.0": ((1,), ("rgb+mask",)),
    "full.2": ((1,), (1,)),
    "d1.conv": ((2, 2), (1,)),
    "d2.conv": ((3, 3), (2,)),
    "d3.conv": ((4, 4), (3,)),
    "mid.*.a.conv": ((4, 4), (4,)),
    "mid.*.b": ((4,), (4,)),
    "u2.0": ((3,), (4, 3)),
    "u1.0": ((2,), (3, 2)),
    "u0.0": ((1,), (2, 1)),
    "out": (("rgb",), (1,)),
}


def inpaint_channels(state: dict[str, torch.Tensor]) -> int:
    """The width (channels) of an InpaintNet state dict."""
    return int(state["full.0.weight"].shape[0])


def _group_size(group: int | str, channels: int) -> int:
    return _FIXED[group] if isinstance(group, str) else group * channels


def _old_positions(groups: tuple, old_c: int, new_c: int) -> torch.Tensor:
    """Where each of the narrow layer's channels sits in the wide layer (each group's old channels come first)."""
    positions, start = [], 0
    for group in groups:
        positions.extend(range(start, start + _group_size(group, old_c)))
        start += _group_size(group, new_c)
    return torch.tensor(positions)


def widen_state(narrow: dict[str, torch.Tensor], wide: InpaintNet) -> dict[str, torch.Tensor]:
    """The wide net's state dict with the narrow net's function embedded (see the module docstring)."""
    old_c, new_c = inpaint_channels(narrow), wide.c
    if new_c < old_c:
        raise ValueError(f"cannot widen a {old_c}-channel InpaintNet to {new_c} channels")
    state = {k: v.detach().clone() for k, v in wide.state_dict().items()}
    for key, old in narrow.items():
        layer, kind = key.rsplit(".", 1)
        out_groups, in_groups = _LAYOUT[re.sub(r"^mid\.\d+\.", "mid.*.", layer)]
        rows = _old_positions(out_groups, old_c, new_c)
        if kind == "bias":
            state[key][rows] = old
            continue
        cols = _old_positions(in_groups, old_c, new_c)
        state[key][rows] = 0.0  # new input channels must not reach old outputs
        state[key][rows[:, None], cols[None, :]] = old
    return state


def fit_init(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """--init's weights for `model`: as they are, or widened when they are a narrower InpaintNet's."""
    if isinstance(model, InpaintNet) and inpaint_channels(state) != model.c:
        return widen_state(state, model)
    return state
