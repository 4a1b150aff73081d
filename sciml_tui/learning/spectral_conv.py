"""The 2-D spectral convolution of the seed's FNO, written for speed.

Shapes: input (B, C_in, H, W) real, output (B, C_out, H, W). Fourier modes kept: rows
[:m] and [-m:] (the two corners along H, which has both signs of wavenumber) and columns
[:m] along W (rfft keeps only non-negative wavenumbers there). Transforms use
norm="ortho" as the seed does, and always run in float32 (autocast is switched off here).

The fast path is a pruned 2-D FFT: rfft along W, keep m columns, then a full FFT along H
on those m columns only (m of W//2+1), one batched complex matmul over both corners
(modes as the batch dimension), and the same pruning on the way back (ifft along H on m
columns, then irfft along W, which zero-pads the missing columns itself). No
(B, C, H, W//2+1) zero buffer is allocated.
"""

from __future__ import annotations

import torch
from torch import nn

from sciml_tui.errors import UserError


class SpectralConv2d(nn.Module):
    """Fourier layer: u -> irfft2(W . rfft2(u)) on the kept modes.

    The weight is stored as one real tensor (2 corners, C_in, C_out, m, m, 2: real/imag),
    which has exactly the seed's parameter count (its weights1 and weights2) and the same
    initialisation (uniform in [0, 1/(C_in C_out)) for both real and imaginary parts).
    """

    def __init__(self, in_channels: int, out_channels: int, modes: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.modes = modes
        scale = 1.0 / (in_channels * out_channels)
        self.weight = nn.Parameter(scale * torch.rand(2, in_channels, out_channels, modes, modes, 2))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, modes={self.modes}"

    def check_grid(self, h: int, w: int) -> None:
        m = self.modes
        if 2 * m > h or m > w // 2 + 1:
            raise UserError(
                f"{m} Fourier modes do not fit a {h}x{w} grid (need 2*modes <= {h} and modes <= {w // 2 + 1}): "
                "use fewer modes or a finer grid"
            )

    def complex_weight(self) -> torch.Tensor:
        """(2*m, m, C_in, C_out) complex: corner-major rows, ready for a mode-batched matmul."""
        wt = torch.view_as_complex(self.weight)  # (2, I, O, m, m)
        return wt.permute(0, 3, 4, 1, 2).reshape(2 * self.modes, self.modes, self.in_channels, self.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_grid(*x.shape[-2:])
        return self._fourier(x)

    # Inductor cannot yet lower the complex slicing in this backward; with torch.compile the
    # FFT path stays eager (it is FFT- and matmul-bound anyway) and the pointwise layers compile.
    @torch.compiler.disable
    def _fourier(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        m = self.modes
        dtype = x.dtype
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = x.float()
            xw = torch.fft.rfft(x, dim=-1, norm="ortho")[..., :m]  # (B, I, H, m)
            xf = torch.fft.fft(xw, dim=-2, norm="ortho")  # (B, I, H, m)
            xc = torch.cat((xf[:, :, :m], xf[:, :, h - m :]), dim=2)  # (B, I, 2m, m)
            # (2m, m, B, I) @ (2m, m, I, O) -> (2m, m, B, O): one batched matmul for both corners
            yc = torch.matmul(xc.permute(2, 3, 0, 1), self.complex_weight()).permute(2, 3, 0, 1)
            yf = yc.new_zeros(b, self.out_channels, h, m)
            yf[:, :, :m] = yc[:, :, :m]
            yf[:, :, h - m :] = yc[:, :, m:]
            y = torch.fft.ifft(yf, dim=-2, norm="ortho")
            y = torch.fft.irfft(y, n=w, dim=-1, norm="ortho")
        return y.to(dtype)


def spectral_conv_reference(x: torch.Tensor, weight: torch.Tensor, modes: int) -> torch.Tensor:
    """Plain version, as the seed writes it: full rfft2, two einsums, zero buffer, irfft2.

    `weight` is SpectralConv2d.weight (2, I, O, m, m, 2). Used by tests and benchmarks.
    """
    b, _, h, w = x.shape
    m = modes
    w1 = torch.view_as_complex(weight[0].contiguous())
    w2 = torch.view_as_complex(weight[1].contiguous())
    x_ft = torch.fft.rfft2(x.float(), dim=(-2, -1), norm="ortho")
    out = torch.zeros(b, w1.shape[1], h, w // 2 + 1, dtype=x_ft.dtype, device=x.device)
    out[:, :, :m, :m] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, :m, :m], w1)
    out[:, :, -m:, :m] = torch.einsum("bixy,ioxy->boxy", x_ft[:, :, -m:, :m], w2)
    return torch.fft.irfft2(out, s=(h, w), dim=(-2, -1), norm="ortho").to(x.dtype)
