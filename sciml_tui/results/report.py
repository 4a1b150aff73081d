"""`sciml report`: one self-contained report of several sweeps, with the paper's figure types.

`write_report(inputs, out_dir)` writes, each file atomically:
  DIR/report.md        Markdown, figures linked from figures/
  DIR/report.html      one standalone page, figures embedded (no other file needed)
  DIR/figures/*.svg|png
  DIR/results.json     the data behind every table and figure
The figures drawn follow from the sweeps given (see `report_data`): error vs N per sweep always;
factor vs model size, vs physics shift, and mixture vs single-system when the sweeps allow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from sciml_tui.atomic import write_text
from sciml_tui.errors import UserError
from sciml_tui.results.caveats import ci_cell, factor_table, factor_text, interval_lines
from sciml_tui.results.report_data import mixture_groups, model_size_rows, shift_rows
from sciml_tui.results.report_inputs import SweepInput
from sciml_tui.results.report_methods import methods
from sciml_tui.results.report_render import to_html, to_markdown
from sciml_tui.results.text import (curves_of, efficiency_line, excluded_line, fit_line, fmt_target, models,
                                    progress_line, table)

ERROR_CAPTION = ("Test relative L2 error against downstream training examples N, log-log, one panel per "
                 "model. Lines: mean over seeds at the lr chosen by validation error; shaded band: ± sample "
                 "std over the seeds (the legend title gives how many); thin dashed: fitted power law "
                 "error ≈ a·N^b; dash-dot level: zero-shot error of the pre-trained model; dotted "
                 "horizontal: the target error; dotted vertical: where each curve reaches it.")
FACTOR_CAPTION = ("Data-efficiency factor N_scratch(ε) / N_fine-tuned(ε) at the target error ε, log "
                  "scale; bars: 95% seed-bootstrap interval; ▲ marks a lower bound, ▼ an upper bound; the "
                  "dotted line is factor 1 (no gain from pre-training).")


class Figure:
    """A figure of the report: its file name, caption and how to draw it."""

    def __init__(self, name: str, caption: str, build: Callable[[], Any]):
        self.name, self.caption, self.build = name, caption, build


def _warning_blocks(inputs: Sequence[SweepInput]) -> list[tuple]:
    from sciml_tui.results.caveats import caveat_lines

    legend = next((caveat_lines(i.res)[0] for i in inputs if caveat_lines(i.res)), None)
    items = [f"{i.name}: {line}" for i in inputs for line in caveat_lines(i.res)[1:]]
    return ([("h", 2, "How to read the numbers, and warnings")] + ([("p", legend)] if legend else [])
            + [("ul", items) if items else ("p", "No warnings.")])


def _summary_blocks(inputs: Sequence[SweepInput]) -> list[tuple]:
    items = []
    for i in inputs:
        items.append(f"{i.name}: {progress_line(i.res)}")
        items += [f"{i.name}, {e['model']}: {efficiency_line(e)}" for e in i.res["efficiency_by_model"]]
    return [("h", 2, "Summary"), ("ul", items)]


def _model_blocks(res: dict, model: str) -> list[tuple]:
    headers, rows = table(res, model)
    blocks: list[tuple] = [("h", 4, model), ("table", headers, rows)]
    lines = [fit_line(res, model), *interval_lines(res, model), excluded_line(res, model)]
    lines += [efficiency_line(e) for e in res["efficiency_by_model"] if e["model"] == model]
    blocks.append(("ul", [line for line in lines if line]))
    fh, fr = factor_table(res, model)
    if fr:
        blocks += [("p", "Factor at other targets (how much it moves with the target):"), ("table", fh, fr)]
    return blocks


def _sweep_blocks(inp: SweepInput, figures: list[Figure]) -> list[tuple]:
    from sciml_tui.results.figures import build_error_figure

    res = inp.res
    blocks: list[tuple] = [("h", 3, f"{inp.name} (target {fmt_target(res['target'])})")]
    if any(c["points"] for c in res["curves"]):
        fig = Figure(f"error-vs-n-{inp.name}", ERROR_CAPTION, lambda r=res: build_error_figure(r, band=True))
        figures.append(fig)
        blocks.append(("figure", fig.name, fig.caption))
    else:
        blocks.append(("p", "No finished points yet."))
    for m in models(res):
        if curves_of(res, m):
            blocks += _model_blocks(res, m)
    return blocks


def _factor_cells(r: dict) -> list[str]:
    zs = "-" if r["zeroshot"] is None else f"{r['zeroshot']:.3g}"
    return [factor_text(r["factor"], r["bound"]) if r["factor"] is not None else f"- ({r['reason']})",
            ci_cell(r["ci"]), zs]


def _cross_blocks(inputs: Sequence[SweepInput], figures: list[Figure]) -> tuple[list[tuple], dict]:
    from sciml_tui.results.cross_figures import factor_vs_model_figure, factor_vs_shift_figure, mixture_figure

    blocks: list[tuple] = []
    sizes, shifts, mixes = model_size_rows(list(inputs)), shift_rows(list(inputs)), mixture_groups(list(inputs))
    if sizes:
        figures.append(Figure("factor-vs-model-size", FACTOR_CAPTION, lambda: factor_vs_model_figure(sizes)))
        blocks += [("h", 2, "Data efficiency vs model size"), ("figure", figures[-1].name, FACTOR_CAPTION),
                   ("table", ["downstream", "pre-training", "model", "params", "factor", "95% CI", "zero-shot error"],
                    [[r["dataset"]["name"], r["pretrain"]["name"], r["model"], r["params"] or "-", *_factor_cells(r)]
                     for r in sizes])]
    if shifts:
        figures.append(Figure("factor-vs-shift", FACTOR_CAPTION, lambda: factor_vs_shift_figure(shifts)))
        blocks += [("h", 2, "Data efficiency vs physics shift"), ("figure", figures[-1].name, FACTOR_CAPTION),
                   ("table", ["pre-training", "pre-trained on", "model", "downstream", "range", "factor", "95% CI",
                              "zero-shot error"],
                    [[r["pretrain"]["name"], r["pretrain"]["data"], r["model"], r["dataset"]["name"],
                      r["dataset"]["range_label"], *_factor_cells(r)] for r in shifts])]
    if mixes:
        caption = ("Mixture against single-system pre-training on each downstream dataset: " + ERROR_CAPTION)
        figures.append(Figure("mixture-vs-single", caption, lambda: mixture_figure(mixes)))
        rows = [[g["dataset"]["name"], r["pretrain"]["name"], "mixture" if r["pretrain"]["is_mixture"] else
                 "single system", r["pretrain"]["data"], r["model"], *_factor_cells(r),
                 "-" if r["finetune_b"] is None else f"{r['finetune_b']:.2f}"] for g in mixes for r in g["rows"]]
        blocks += [("h", 2, "Mixture vs single-system pre-training"), ("figure", figures[-1].name, caption),
                   ("table", ["downstream", "pre-training", "kind", "pre-trained on", "model", "factor", "95% CI",
                              "zero-shot error", "fine-tuned exponent b"], rows)]
    data = {"model_size": sizes, "shift": shifts,
            "mixture": [{k: g[k] for k in ("dataset", "model", "target", "rows")} for g in mixes]}
    return blocks, data


def _methods_blocks(m: dict) -> list[tuple]:
    ns = ", ".join(str(n) for n in m["n_train"]) or "-"
    down = m["downstream"]
    pre = ", ".join(f"{p['name']} ({p['model']}, on {p['data']})" for p in m["pretrain"]) or "none"
    items = [f"downstream dataset: {down['name']} {down['range_label']}; pre-training: {pre}",
             f"downstream examples N: {ns}", f"learning rates tried: {', '.join(m['lr']) or '-'}; {m['lr_rule']}",
             f"seeds: {', '.join(str(s) for s in m['seeds']) or '-'}", f"models: {', '.join(m['models']) or '-'}",
             f"curves: {', '.join(m['inits']) or '-'}",
             "recipe: " + "; ".join(f"{k} ({v} runs)" for k, v in m["recipes"].items()),
             "runs: " + ", ".join(f"{v} {k}" for k, v in m["runs"].items() if v),
             f"hardware: {m['hardware']}", f"time, sweep points: {m['time_points']}",
             f"time, pre-training: {m['time_pretrain']}"]
    blocks: list[tuple] = [("h", 3, m["sweep"]), ("ul", items)]
    if m["datasets"]:
        blocks.append(("table", ["dataset", "system", "parameter range", "grid", "train / val / test", "seed"],
                       [[d["name"], d["system"] or "-", d["range_label"], d["grid"] or "-", _sizes(d["sizes"]),
                         "-" if d["seed"] is None else d["seed"]] for d in m["datasets"]]))
    if m["pretrain"]:
        blocks.append(("table", ["pre-training run", "model", "data", "lr", "recipe", "state", "test error", "time"],
                       [[p["id"], p["model"], p["data"], p["lr"], p["recipe"], p["state"],
                         "-" if p["test_error"] is None else f"{p['test_error']:.3g}", p["time"]]
                        for p in m["pretrain"]]))
    return blocks


def _sizes(sizes: Any) -> str:
    if not isinstance(sizes, dict):
        return "-"
    return " / ".join(str(sizes.get(k, "-")) for k in ("train", "val", "test"))


def build_report(inputs: Sequence[SweepInput]) -> tuple[list[tuple], list[Figure], dict]:
    """The report's blocks, its figures (not drawn yet) and the data behind them."""
    if not inputs:
        raise UserError("name at least one sweep to report on")
    figures: list[Figure] = []
    names = ", ".join(i.name for i in inputs)
    blocks: list[tuple] = [("h", 1, f"Report: {names}")]
    blocks += _summary_blocks(inputs) + _warning_blocks(inputs)
    blocks.append(("h", 2, "Error vs N"))
    for inp in inputs:
        blocks += _sweep_blocks(inp, figures)
    cross, data = _cross_blocks(inputs, figures)
    blocks += cross
    meths = [methods(i) for i in inputs]
    blocks.append(("h", 2, "Methods"))
    for m in meths:
        blocks += _methods_blocks(m)
    data = {"sweeps": {i.name: i.res for i in inputs}, "methods": {m["sweep"]: m for m in meths}, **data,
            "figures": [{"name": f.name, "caption": f.caption} for f in figures]}
    return blocks, figures, data


def write_report(inputs: Sequence[SweepInput], out_dir: str | Path) -> dict:
    """Draw the figures and write report.md, report.html, figures/ and results.json under
    `out_dir`; returns {"out", "files", "figures"}."""
    from sciml_tui.results.figures import save_figure

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; name a folder for the report")
    blocks, figures, data = build_report(inputs)
    files = []
    for f in figures:
        svg, png = out / "figures" / f"{f.name}.svg", out / "figures" / f"{f.name}.png"
        save_figure(f.build(), svg, png)
        files += [svg, png]
    title = blocks[0][2]
    md = to_markdown(blocks, lambda name: f"figures/{name}.svg")
    page = to_html(blocks, title, lambda name: (out / "figures" / f"{name}.svg").read_bytes())
    for name, text in (("report.md", md), ("report.html", page),
                       ("results.json", json.dumps(data, indent=2, default=str) + "\n")):
        write_text(out / name, text)
        files.append(out / name)
    return {"out": str(out), "files": [str(p) for p in files], "figures": [f.name for f in figures]}

