"""The seed's Fourier Neural Operator (FNO), 2-D, periodic.

Input (B, C_in, H, W): the source plane f and one constant plane per coefficient, already
normalized (see `data.py`). Output (B, 1, H, W): the predicted solution u.

Structure (as the seed): pointwise lift C_in -> width; `layers` Fourier layers, each
spectral conv + pointwise linear, summed, GELU after every layer but the last; head
width -> 2*width, GELU, -> 1. No padding, no normalization layers. Pointwise maps are 1x1
convolutions (same parameters as the seed's Linear / Conv1d, no permutes needed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sciml_tui.learning.spectral_conv import SpectralConv2d


class FNO2d(nn.Module):
    def __init__(self, in_channels: int, width: int, modes: int, layers: int = 4, out_channels: int = 1) -> None:
        super().__init__()
        self.arch = {"in_channels": in_channels, "width": width, "modes": modes, "layers": layers,
                     "out_channels": out_channels}
        self.lift = nn.Conv2d(in_channels, width, 1)
        self.spectral = nn.ModuleList(SpectralConv2d(width, width, modes) for _ in range(layers))
        self.pointwise = nn.ModuleList(nn.Conv2d(width, width, 1) for _ in range(layers))
        self.head1 = nn.Conv2d(width, 2 * width, 1)
        self.head2 = nn.Conv2d(2 * width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lift(x)
        last = len(self.spectral) - 1
        for i, (spec, point) in enumerate(zip(self.spectral, self.pointwise)):
            x = spec(x) + point(x)
            if i != last:
                x = F.gelu(x)
        x = F.gelu(self.head1(x))
        return self.head2(x)

