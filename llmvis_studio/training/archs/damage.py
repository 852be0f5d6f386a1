"""DamageNet: the print-damage detector (v2 of the scratch detector).

Why this shape: a 4000×3000 scan must be checked in a few seconds on two cores, and crack networks, torn corners and
emulsion-loss patches need context (tens of px) while 1 px cracks need full resolution. The image is folded 2×2 into
channels (pixel-unshuffle: no detail lost), the U-Net works at 1/2, 1/4 and 1/8 with dilations, and the output is
unfolded back (pixel-shuffle) to a full-resolution map. About a fifth of ScratchNet's work per pixel.

ONNX: input `image` (RGB 0..1, NCHW), output `mask` (1 channel, calibrated probability of damage). Stride 8.
`calibration` (a, b) is baked into the export: p = sigmoid(a · logit + b).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def _conv(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation)


class DamageNet(nn.Module):
    STRIDE = 8

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        c = self.c = channels
        act = nn.LeakyReLU(0.1)
        self.f0 = nn.Sequential(_conv(12, c), act, _conv(c, c), act)  # 1/2
        self.f1 = nn.Sequential(_conv(c, 2 * c, 2), act, _conv(2 * c, 2 * c, dilation=2), act)  # 1/4
        self.f2 = nn.Sequential(
            _conv(2 * c, 2 * c, 2), act, _conv(2 * c, 2 * c, dilation=2), act, _conv(2 * c, 2 * c, dilation=4), act
        )  # 1/8
        self.g1 = nn.Sequential(_conv(4 * c, 2 * c), act)
        self.g0 = nn.Sequential(_conv(3 * c, c), act, _conv(c, 4))
        self.register_buffer("calibration", torch.tensor([1.0, 0.0]))

    def config(self) -> dict:
        return {"arch": "DamageNet", "channels": self.c}

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        x = F.pixel_unshuffle(image * 2 - 1, 2)
        f0 = self.f0(x)
        f1 = self.f1(f0)
        f2 = self.f2(f1)
        g1 = self.g1(torch.cat([F.interpolate(f2, size=f1.shape[-2:], mode="nearest"), f1], 1))
        g0 = self.g0(torch.cat([F.interpolate(g1, size=f0.shape[-2:], mode="nearest"), f0], 1))
        return F.pixel_shuffle(g0, 2)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        a, b = self.calibration[0], self.calibration[1]
        return torch.sigmoid(self.logits(image) * a + b)


class CalibratedScratchNet(nn.Module):
    """The old detector's network (archs.inpaint.ScratchNet: full-resolution convs, 1/2 and 1/4 with dilations,
    stride 4) with the same baked calibration as DamageNet. Why: it can start from scratch-detector's weights, which
    already find thin scratches (F1 0.91 on the held-out photos), and learn print cracks on top; DamageNet has to
    learn thin scratches from nothing, which a shared 2-core CPU cannot give it in one training window."""

    STRIDE = 4

    def __init__(self, channels: int = 16, widths: tuple[int, int, int] | None = None) -> None:
        super().__init__()
        from .inpaint import ScratchNet

        self.net = ScratchNet(channels, widths)
        self.c = channels
        self.register_buffer("calibration", torch.tensor([1.0, 0.0]))

    def config(self) -> dict:
        return {**self.net.config(), "arch": "CalibratedScratchNet"}

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        return self.net.logits(image)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        a, b = self.calibration[0], self.calibration[1]
        return torch.sigmoid(self.logits(image) * a + b)

    def load_onnx(self, path: str) -> None:
        """Weights from an exported ScratchNet ONNX file (initialiser names are the module's parameter names) or from
        an exported CalibratedScratchNet (the same names under `net.`; its baked calibration is not taken: the
        fine-tuned net is calibrated again after training)."""
        import onnx
        from onnx import numpy_helper

        weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(path).graph.initializer}
        self.net.load_state_dict(
            {k: weights[k] if k in weights else weights[f"net.{k}"] for k in self.net.state_dict()}
        )


def exported_widths(path: str) -> tuple[int, int, int]:
    """The full, 1/2 and 1/4 resolution widths of an exported (Calibrated)ScratchNet: the output channels of its
    first convolution at each level. Why: a student's export can be fine-tuned again (runs/ may be gone) only if it
    is told apart from a teacher that would have to be narrowed first."""
    import onnx

    shapes = {i.name.removeprefix("net."): tuple(i.dims) for i in onnx.load(path).graph.initializer}
    return shapes["f0.0.weight"][0], shapes["f1.0.weight"][0], shapes["f2.0.weight"][0]


ARCHS = {"DamageNet": DamageNet, "CalibratedScratchNet": CalibratedScratchNet}


def build(config: dict) -> nn.Module:
    arch = config.get("arch", "DamageNet")
    if config.get("widths"):
        return ARCHS[arch](channels=config.get("channels", 16), widths=tuple(config["widths"]))
    return ARCHS[arch](channels=config.get("channels", 16))


# ----------------------------------------------------------------------------------------------------------------
# a narrower student started from a trained detector: keep each layer's most used channels


def _channel_use(out_weight: torch.Tensor, consumers: list[torch.Tensor]) -> torch.Tensor:
    """How much a layer's output channels matter: the L1 norm of each filter times the L1 norm of the weights that
    read that channel in the layers consuming it (a channel nobody reads, or that is near zero, can go)."""
    made = out_weight.abs().sum(dim=(1, 2, 3))
    read = sum(w.abs().sum(dim=(0, 2, 3)) for w in consumers)
    return made * read


_CONVS = (("f0", (0, 2)), ("f1", (0, 2)), ("f2", (0, 2, 4)), ("g1", (0,)), ("g0", (0, 2)))


def _convs(net: nn.Module) -> dict[str, nn.Conv2d]:
    """A ScratchNet's convolutions by their module path."""
    return {f"{block}.{i}": getattr(net, block)[i] for block, indices in _CONVS for i in indices}


def _keep(use: torch.Tensor, n: int) -> torch.Tensor:
    return torch.sort(torch.topk(use, n).indices).values


@torch.no_grad()
def narrowed_from(teacher: CalibratedScratchNet, widths: tuple[int, int, int]) -> CalibratedScratchNet:
    """A CalibratedScratchNet with `widths` whose every weight is a slice of the teacher's (its most used channels,
    see _channel_use): distillation starts from trained filters rather than from noise. It is a start, not a
    detector: the dropped channels' share of each sum is missing, so its raw output is not yet the teacher's."""
    t, (w0, w1, w2) = teacher.net, widths
    _, t1, t2 = t.widths
    conv = _convs(t)
    w = {k: m.weight for k, m in conv.items()}
    keep = {
        "f0.0": _keep(_channel_use(w["f0.0"], [w["f0.2"]]), w0),
        "f0.2": _keep(_channel_use(w["f0.2"], [w["f1.0"], w["g0.0"][:, t1:]]), w0),
        "f1.0": _keep(_channel_use(w["f1.0"], [w["f1.2"]]), w1),
        "f1.2": _keep(_channel_use(w["f1.2"], [w["f2.0"], w["g1.0"][:, t2:]]), w1),
        "f2.0": _keep(_channel_use(w["f2.0"], [w["f2.2"]]), w2),
        "f2.2": _keep(_channel_use(w["f2.2"], [w["f2.4"]]), w2),
        "f2.4": _keep(_channel_use(w["f2.4"], [w["g1.0"][:, :t2]]), w2),
        "g1.0": _keep(_channel_use(w["g1.0"], [w["g0.0"][:, :t1]]), w1),
        "g0.0": _keep(_channel_use(w["g0.0"], [w["g0.2"]]), w0),
        "g0.2": torch.tensor([0]),
    }
    reads = {  # which of the teacher's input channels each layer keeps (a concat reads two layers' channels)
        "f0.0": torch.arange(3), "f0.2": keep["f0.0"], "f1.0": keep["f0.2"], "f1.2": keep["f1.0"],
        "f2.0": keep["f1.2"], "f2.2": keep["f2.0"], "f2.4": keep["f2.2"],
        "g1.0": torch.cat([keep["f2.4"], keep["f1.2"] + t2]),
        "g0.0": torch.cat([keep["g1.0"], keep["f0.2"] + t1]), "g0.2": keep["g0.0"],
    }  # fmt: skip
    student = CalibratedScratchNet(teacher.c, widths)
    for name, layer in _convs(student.net).items():
        layer.weight.copy_(w[name][keep[name]][:, reads[name]])
        layer.bias.copy_(conv[name].bias[keep[name]])
    return student
