"""Parameter count of the FNO by arithmetic (no torch: the CLI lists presets without it)."""

from __future__ import annotations


def count_params(in_channels: int, width: int, modes: int, layers: int = 4, out_channels: int = 1) -> int:
    """Parameter count of FNO2d without building it (the 268M preset is 1 GiB of float32)."""
    lift = in_channels * width + width
    fourier = layers * (2 * width * width * modes * modes * 2 + width * width + width)
    head = width * 2 * width + 2 * width + 2 * width * out_channels + out_channels
    return lift + fourier + head
