"""Results: error-vs-N curves, lr selection by validation, seed statistics, power-law fits,
the data-efficiency factor, and their exports (CSV, JSON, PNG/SVG).

`sweep_results(runs, sweep, target)` is pure (plain run dicts in, a JSON-able dict out);
see docs/architecture.md ("Results API") for the shape.
"""

from sciml_tui.results.curves import efficiency, sweep_results
from sciml_tui.results.export import export_csv, export_json, export_plot, to_csv, to_json
from sciml_tui.results.text import (curve_series, efficiency_line, fit_line, fmt_error, fmt_lr,
                                    fmt_target, models, progress_line, table)

__all__ = [
    "sweep_results", "efficiency",
    "export_csv", "export_json", "export_plot", "to_csv", "to_json",
    "curve_series", "efficiency_line", "fit_line", "fmt_error", "fmt_lr", "fmt_target", "models",
    "progress_line", "table",
]
