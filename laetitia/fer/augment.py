"""Training-time augmentation of uint8 face crops: flip, small rotation, shift and zoom, light.

The geometric part follows the augmentation the shipped model was trained with
(oarriaga/face_classification: Keras `ImageDataGenerator(rotation_range=10,
width_shift_range=0.1, height_shift_range=0.1, zoom_range=0.1, horizontal_flip=True)`, edge
pixels repeated); brightness and contrast jitter is added for webcams. One batched pass of
tensor ops, every random number drawn from the `torch.Generator` passed in, so a seeded
generator (saved in training checkpoints) makes the augmentation reproducible and resumable.

Crops come back as uint8, so the network input is still made by
`laetitia.fer.preprocess.normalize` with the model card, as at inference.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random changes; each is drawn uniformly per image."""

    flip: bool = True
    """Mirror left-right with probability 1/2."""

    max_rotation_deg: float = 10.0
    """Rotation in [-max, max] degrees."""

    max_shift: float = 0.1
    """Shift in [-max, max] of the crop's side, horizontally and vertically."""

    max_zoom: float = 0.1
    """Zoom factor in [1 - max, 1 + max]."""

    max_brightness: float = 0.2
    """Pixel values multiplied by a factor in [1 - max, 1 + max]."""

    max_contrast: float = 0.2
    """Deviations from each image's mean multiplied by a factor in [1 - max, 1 + max]."""

    def to_dict(self) -> dict[str, float | bool]:
        """The ranges as a JSON-ready dict."""
        return asdict(self)


def augment(
    crops: torch.Tensor, generator: torch.Generator, config: AugmentConfig = AugmentConfig()
) -> torch.Tensor:
    """Randomly flipped, rotated, shifted, zoomed and re-lit copies of face crops.

    Args:
        crops: uint8 (B, S, S) grayscale crops on the CPU.
        generator: CPU generator all random numbers come from (7 per image, in one draw).
        config: Ranges of the changes.

    Returns:
        uint8 (B, S, S): new crops; pixels the transform brings in from outside repeat the edge.
    """
    if crops.dtype != torch.uint8 or crops.ndim != 3:
        raise ValueError(f"expected uint8 crops (B, S, S), got {crops.dtype} {tuple(crops.shape)}.")
    batch = crops.shape[0]
    u = torch.rand(batch, 7, generator=generator, dtype=torch.float64) * 2 - 1  # in [-1, 1)
    flip = torch.where((u[:, 0] < 0) & config.flip, -1.0, 1.0)
    angle = u[:, 1] * math.radians(config.max_rotation_deg)
    # affine_grid's coordinates run from -1 to 1 across the image: a shift of f of the side is 2f.
    shift_x, shift_y = u[:, 2] * 2 * config.max_shift, u[:, 3] * 2 * config.max_shift
    zoom = 1 + u[:, 4] * config.max_zoom
    brightness = 1 + u[:, 5] * config.max_brightness
    contrast = 1 + u[:, 6] * config.max_contrast

    # theta maps output coordinates to input coordinates: rotate, then scale by 1/zoom; the
    # flip mirrors the output's x axis first.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift_x], dim=1),
            torch.stack([sin * flip, cos, shift_y], dim=1),
        ],
        dim=1,
    ).float()
    x = crops.unsqueeze(1).float()
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * contrast.float().view(-1, 1, 1, 1)
    x = x * brightness.float().view(-1, 1, 1, 1)
    return x.round_().clamp_(0, 255).to(torch.uint8).squeeze(1)
