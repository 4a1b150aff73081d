"""`sciml report`: the report files, the cross-sweep figures the sweeps allow, and the CLI."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from results_records import rec
from sciml_tui.cli import app
from sciml_tui.errors import UserError
from sciml_tui.results import sweep_results
from sciml_tui.results.report import build_report, write_report
from sciml_tui.results.report_data import mixture_groups, model_size_rows, shift_rows
from sciml_tui.results.report_inputs import SweepInput

NS = [8, 16, 32, 64, 128]
FIXTURE = Path(__file__).parents[1] / "tui" / "fixtures" / "workspace"
DATASETS = {
    f"{name}-0000000{i}": {"id": f"{name}-0000000{i}", "name": name, "system": system, "range": rng, "n": 32,
                           "sizes": {"train": 256, "val": 64, "test": 64}, "seed": i}
    for i, (name, system, rng) in enumerate([
        ("poisson-1-5", "poisson", [1, 5]), ("poisson-1-2.5", "poisson", [1, 2.5]),
        ("poisson-5-10", "poisson", [5, 10]), ("poisson-10-20", "poisson", [10, 20]),
        ("advdiff-0.2-1", "advdiff", [0.2, 1]), ("helmholtz-1-10", "helmholtz", [1, 10])])}


def _ds(name: str) -> str:
    return next(k for k, d in DATASETS.items() if d["name"] == name)


def _pre(name, model, data, mixture=None):
    return {"id": f"{name}-{model}-abcdef01", "role": "pretrain", "init": "pretrain", "model": model,
            "state": "done", "datasets": [_ds(d) for d in data], "mixture": mixture, "test_error": 0.01,
            "elapsed_s": 120.0, "device": "cuda:0", "lr": 1e-3,
            "config": {"recipe": {"epochs": 500, "batch_size": 128, "schedule": "cosine", "weight_decay": 0.0},
                       "precision": "fp32"}}


def _curve(init, a, b, dataset, model="tiny", parent=None, seeds=(0, 1, 2)):
    return [rec(init, n, 1e-3, s, a * n ** b * (1 + 0.02 * s), model=model, parent=parent,
                datasets=[_ds(dataset)], elapsed_s=10.0, device="cuda:0", params=1000 if model == "tiny" else 9000,
                config={"recipe": {"epochs": 100, "batch_size": 16}})
            for n in NS for s in seeds]


def _input(name, runs, target=0.05):
    return SweepInput(name=name, res=sweep_results(runs, name, target=target), runs=runs, datasets=DATASETS)


def mixture_input():
    mix, single = _pre("pre-mix", "tiny", ["poisson-1-5", "advdiff-0.2-1", "helmholtz-1-10"], "all-three"), \
        _pre("pre-poisson", "tiny", ["poisson-1-5"])
    runs = ([mix, single] + _curve("scratch", 1.0, -0.5, "poisson-5-10")
            + _curve("finetune", 0.2, -0.5, "poisson-5-10", parent=mix["id"])
            + _curve("finetune", 0.1, -0.5, "poisson-5-10", parent=single["id"]))
    return _input("mix-poisson", runs)


def shift_inputs():
    pre = _pre("pre-1-5", "tiny", ["poisson-1-5"])
    out = []
    for name, dataset, a in (("ood-far", "poisson-10-20", 0.4), ("ood-near", "poisson-1-2.5", 0.05),
                             ("ood-mid", "poisson-5-10", 0.2)):
        out.append(_input(name, [pre] + _curve("scratch", 1.0, -0.5, dataset)
                          + _curve("finetune", a, -0.5, dataset, parent=pre["id"])
                          + [rec("zeroshot", None, None, 0, a, parent=pre["id"], datasets=[_ds(dataset)])],
                          target=0.1))
    return out


def model_size_input():
    runs = []
    for model, a in (("fno-1m", 0.1), ("tiny", 0.3)):
        pre = _pre("pre-1-5", model, ["poisson-1-5"])
        runs += [pre] + _curve("scratch", 1.0, -0.5, "poisson-5-10", model=model) + _curve(
            "finetune", a, -0.5, "poisson-5-10", model=model, parent=pre["id"])
    return _input("sizes", runs)


def _figure_names(inputs):
    return [f.name for f in build_report(inputs)[1]]


def assert_standalone(html: str, n_figures: int) -> None:
    assert html.startswith("<!DOCTYPE html>")
    srcs = re.findall(r'src="([^"]*)"', html)
    assert len(srcs) == n_figures
    assert all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert "href=" not in html and "<link" not in html and "<script" not in html


def test_mixture_vs_single_system(tmp_path):
    inp = mixture_input()
    assert _figure_names([inp]) == ["error-vs-n-mix-poisson", "mixture-vs-single"]
    groups = mixture_groups([inp])
    assert len(groups) == 1 and groups[0]["dataset"]["name"] == "poisson-5-10"
    labels = [c["label"] for c in groups[0]["curves"]]
    assert labels == ["scratch", "fine-tuned from pre-mix (mixture: all-three)",
                      "fine-tuned from pre-poisson (single system: poisson-1-5)"]
    from sciml_tui.results.cross_figures import mixture_figure

    legend = [t.get_text() for t in mixture_figure(groups).axes[0].get_legend().get_texts()]
    assert labels[1] in legend and labels[2] in legend and "target 5e-2" in legend
    written = write_report([inp], tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "## Mixture vs single-system pre-training" in md
    assert "| poisson-5-10 | pre-mix | mixture | all-three | tiny |" in md
    assert "| poisson-5-10 | pre-poisson | single system | poisson-1-5 | tiny |" in md
    assert_standalone((tmp_path / "rep" / "report.html").read_text(), len(written["figures"]))


def test_factor_vs_physics_shift_is_ordered_by_range(tmp_path):
    inputs = shift_inputs()
    assert _figure_names(inputs) == ["error-vs-n-ood-far", "error-vs-n-ood-near", "error-vs-n-ood-mid",
                                     "factor-vs-shift"]
    rows = shift_rows(inputs)
    assert [r["dataset"]["range_label"] for r in rows] == ["[1, 2.5]", "[5, 10]", "[10, 20]"]
    assert [r["zeroshot"] for r in rows] == [0.05, 0.2, 0.4]
    from sciml_tui.results.cross_figures import factor_vs_shift_figure

    ax = factor_vs_shift_figure(rows).axes[0]
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["[1, 2.5]", "[5, 10]", "[10, 20]"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "tiny from pre-1-5 (poisson-1-5)"
    assert "factor 1 (no gain from pre-training)" in legend
    assert ax.get_legend().get_title().get_text().startswith("bars: 95% CI")
    write_report(inputs, tmp_path / "rep")
    md = (tmp_path / "rep" / "report.md").read_text()
    assert md.index("| pre-1-5 | poisson-1-5 | tiny | poisson-1-2.5 | [1, 2.5] |") < md.index("| [5, 10] |")


def test_factor_vs_model_size(tmp_path):
    inp = model_size_input()
    assert _figure_names([inp]) == ["error-vs-n-sizes", "factor-vs-model-size"]
    rows = model_size_rows([inp])
    assert [r["model"] for r in rows] == ["tiny", "fno-1m"]  # in order of size
    assert [r["params"] for r in rows] == [1000, 9000]
    from sciml_tui.results.cross_figures import factor_vs_model_figure

    ax = factor_vs_model_figure(rows).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["tiny\n(1000 params)", "fno-1m\n(9000 params)"]
    assert len([t for t in ax.yaxis.get_ticklabels() if t.get_text()]) >= 3
    write_report([inp], tmp_path / "rep")
    assert "## Data efficiency vs model size" in (tmp_path / "rep" / "report.md").read_text()


def test_single_sweep_draws_no_cross_figures():
    inp = _input("one", _curve("scratch", 1.0, -0.5, "poisson-5-10")
                 + _curve("finetune", 0.2, -0.5, "poisson-5-10", parent="p"))
    assert _figure_names([inp]) == ["error-vs-n-one"]
    assert not model_size_rows([inp]) and not shift_rows([inp]) and not mixture_groups([inp])


def test_report_files_tables_warnings_and_methods(tmp_path):
    inp = _input("few", _curve("scratch", 1.0, -0.5, "poisson-5-10", seeds=(0,))
                 + _curve("finetune", 0.2, -0.5, "poisson-5-10", parent="p", seeds=(0,)))
    out = tmp_path / "rep"
    written = write_report([inp], out)
    assert sorted(p.name for p in out.iterdir()) == ["figures", "report.html", "report.md", "results.json"]
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["error-vs-n-few.png", "error-vs-n-few.svg"]
    assert written["figures"] == ["error-vs-n-few"]
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for text in (md, page):
        assert "rest on fewer than 3 seeds" in text  # the few_seeds warning
        assert "mean ± sample std (ddof=1)" in text  # the metric legend
        assert "downstream examples N: 8, 16, 32, 64, 128" in text
        assert "hardware: cuda:0 (" in text
    assert "| N | scratch | fine-tuned |" in md
    assert "<th>N fine-tuned</th>" in page  # the factor table
    assert "![" in md and "](figures/error-vs-n-few.svg)" in md
    data = json.loads((out / "results.json").read_text())
    assert data["sweeps"]["few"] == json.loads(json.dumps(inp.res))
    assert data["methods"]["few"]["seeds"] == [0]


def test_no_sweeps_and_an_out_path_that_is_a_file(tmp_path):
    with pytest.raises(UserError, match="at least one sweep"):
        write_report([], tmp_path / "rep")
    (tmp_path / "file").write_text("keep")
    with pytest.raises(UserError, match="is a file"):
        write_report([mixture_input()], tmp_path / "file")
    assert (tmp_path / "file").read_text() == "keep"


runner = CliRunner()


@pytest.fixture
def fixture_ws(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(FIXTURE, ws)
    return ws


def test_cli_report_on_the_fixture_workspace(fixture_ws, tmp_path):
    out = tmp_path / "report"
    r = runner.invoke(app, ["report", "quickstart", "-w", str(fixture_ws), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote" in r.output and "report.html" in r.output
    page = (out / "report.html").read_text()
    assert_standalone(page, 1)
    md = (out / "report.md").read_text()
    assert "# Report: quickstart" in md and "| N | scratch | fine-tuned | zero-shot |" in md
    assert "warning: tiny: the two curves share no error range" in md
    assert "hardware: cpu on gpu-node" in md
    r = runner.invoke(app, ["report", "quickstart", "-w", str(fixture_ws), "--out", str(out), "--json",
                            "--target", "0.1"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["figures"] == ["error-vs-n-quickstart"]
    assert json.loads((out / "results.json").read_text())["sweeps"]["quickstart"]["target"] == 0.1


@pytest.mark.parametrize("args,message", [
    (["nope"], "unknown sweep 'nope'"),
    (["quickstart", "quickstart"], "named twice"),
    (["quickstart", "--target", "-1"], "--target must be a positive"),
])
def test_cli_report_bad_input_is_one_line(fixture_ws, tmp_path, args, message):
    r = runner.invoke(app, ["report", *args, "-w", str(fixture_ws), "--out", str(tmp_path / "rep")])
    assert r.exit_code == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "rep").exists()


def test_cli_report_needs_out(fixture_ws):
    r = runner.invoke(app, ["report", "quickstart", "-w", str(fixture_ws)])
    assert r.exit_code == 2 and "--out" in r.stderr
