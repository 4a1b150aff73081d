"""The committed report of the CPU-scale studies (docs/report/) says what the README quotes: the
shipped quickstart is fair (no lr at an edge of its grid, no warning) and carries its interval."""

from __future__ import annotations

import json
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "docs" / "report"


def _sweeps() -> dict:
    return json.loads((REPORT / "results.json").read_text())["sweeps"]


def test_the_committed_quickstart_has_no_lr_edge_and_no_warning():
    qs = _sweeps()["quickstart"]
    assert qs["warnings"] == []
    points = [p for c in qs["curves"] if c["init"] != "zeroshot" for p in c["points"]]
    assert len(points) == 10 and all(p["lr_at_edge"] is None for p in points)
    eff = qs["uncertainty"]["efficiency"]
    assert eff["target"] == 0.15 and eff["ci"][0] < eff["factor"] < eff["ci"][1]


def test_every_lr_edge_left_in_the_studies_is_at_the_bound_the_spec_sets():
    """Adaptive grids grew wherever they could: an edge that remains is one the bound stopped."""
    for name, res in _sweeps().items():
        for c in res["curves"]:
            for p in c["points"]:
                if p.get("lr_at_edge"):
                    assert p["lr_at_bound"], (name, c["init"], p["n"])


def test_the_report_names_the_figures_it_embeds():
    md = (REPORT / "report.md").read_text()
    figures = sorted(p.stem for p in (REPORT / "figures").glob("*.png"))
    assert len(figures) == 11 and all(f"figures/{f}.svg" in md for f in figures)
    assert all((REPORT / "figures" / f"{f}.svg").is_file() for f in figures)
