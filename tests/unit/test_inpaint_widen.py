"""Widening the fill net keeps what it computes, and the new channels can learn."""

import pytest
import torch

from llmvis_studio.training.archs.inpaint import InpaintNet
from llmvis_studio.training.archs.inpaint_widen import fit_init, widen_state


def _inputs():
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 3, 32, 40, generator=g)
    mask = (torch.rand(1, 1, 32, 40, generator=g) > 0.7).float()
    return image, mask, torch.rand(1, 3, 32, 40, generator=g)


def _trained_looking(c: int) -> InpaintNet:
    """A narrow net whose last layer is not near zero (a fresh net's 0.1× output layer would hide differences)."""
    torch.manual_seed(1)
    return InpaintNet(channels=c, out_init=1.0)


def test_the_widened_net_computes_what_the_narrow_one_did():
    narrow, wide = _trained_looking(8), InpaintNet(channels=12)
    wide.load_state_dict(widen_state(narrow.state_dict(), wide))
    with torch.no_grad():
        before, after = narrow(*_inputs()), wide(*_inputs())
    assert (before - _inputs()[2]).abs().max() > 1e-3  # the narrow net does correct the fill
    assert torch.allclose(before, after, atol=1e-6)


def test_the_new_channels_receive_gradients():
    narrow, wide = _trained_looking(8), InpaintNet(channels=12)
    wide.load_state_dict(widen_state(narrow.state_dict(), wide))
    image, mask, fill = _inputs()
    ((wide(image, mask, fill) - image) ** 2).mean().backward()
    new_columns = wide.out.weight.grad[:, 8:]  # the out layer's inputs from the new channels start at zero
    assert (wide.out.weight[:, 8:] == 0).all() and new_columns.abs().sum() > 0


def test_same_width_weights_pass_through_and_narrowing_is_refused():
    net = InpaintNet(channels=8)
    state = net.state_dict()
    assert fit_init(net, state) is state
    with pytest.raises(ValueError, match="cannot widen"):
        widen_state(InpaintNet(channels=12).state_dict(), InpaintNet(channels=8))
