"""Named model sizes (width, Fourier modes): the one list of presets, used by spec validation,
`sciml models`, training and the order of results tables. Imports no torch."""

from __future__ import annotations

from sciml_tui.errors import UserError

# name -> (width, modes), in order of size; parameter counts are for 4 input channels (SYS-1 compact layout)
PRESETS: dict[str, tuple[int, int]] = {
    "tiny": (8, 4),
    "fno-64k": (16, 4),
    "fno-1m": (32, 8),
    "fno-17m": (64, 16),
    "fno-67m": (64, 32),
    "fno-268m": (128, 32),
}


def preset_dims(name: str) -> tuple[int, int]:
    try:
        return PRESETS[name]
    except KeyError:
        raise UserError(f"unknown model preset {name!r} (known: {', '.join(PRESETS)})") from None


def preset_table(in_channels: int = 4, layers: int = 4) -> list[dict]:
    """[{name, width, modes, params}] for `sciml models`; pure arithmetic, no torch."""
    from sciml_tui.learning.param_count import count_params

    return [
        {"name": name, "width": w, "modes": m, "layers": layers,
         "params": count_params(in_channels, w, m, layers)}
        for name, (w, m) in PRESETS.items()
    ]


def resolve_model(preset: str | None, width: int | None, modes: int | None) -> tuple[int, int]:
    """(width, modes) from a preset name, with explicit width/modes winning."""
    pw, pm = preset_dims(preset) if preset else (None, None)
    w, m = width or pw, modes or pm
    if w is None or m is None:
        raise UserError("model needs a preset or both width and modes")
    return w, m
