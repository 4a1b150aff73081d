import json

import pytest
import yaml
from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.learning.metrics_log import read_result

from .conftest import base_config

runner = CliRunner()


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    """Every `sciml train` here records its run in a workspace of its own, never the current folder."""
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setenv("SCIML_WORKSPACE", str(ws))
    return ws


def test_models_json_lists_presets_with_counts():
    res = runner.invoke(app, ["models", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.output)}
    assert rows["fno-17m"] == {**rows["fno-17m"], "width": 64, "modes": 16, "params": 16_802_625}
    assert {"tiny", "fno-64k", "fno-1m", "fno-268m", "fno-67m"} <= set(rows)
    plain = runner.invoke(app, ["models"])
    assert plain.exit_code == 0 and "268,535,425" in plain.output


def test_train_with_overrides_runs_and_writes_resolved_config(poisson_data, tmp_path):
    cfg = tmp_path / "quick.yaml"
    cfg.write_text(yaml.safe_dump(base_config(poisson_data, recipe={"epochs": 2})))
    run_dir = tmp_path / "run"
    res = runner.invoke(app, ["train", str(cfg), "--run-dir", str(run_dir), "--set", "recipe.lr=5e-4",
                              "--set", "n_train=16"])
    assert res.exit_code == 0, res.output
    assert "status done" in res.output and "epoch 2/2" in res.output
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["recipe"]["lr"] == 5e-4 and saved["n_train"] == 16
    assert read_result(run_dir)["n_train"] == 16
    again = runner.invoke(app, ["train", str(cfg), "--run-dir", str(run_dir)])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(app, ["train", str(cfg), "--run-dir", str(run_dir), "--resume", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.output)["status"] == "done"


def test_bad_config_is_one_line_naming_file_and_key(tmp_path, poisson_data):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(yaml.safe_dump(base_config(poisson_data, recipe={"epochs": 0})))
    res = runner.invoke(app, ["train", str(cfg), "--run-dir", str(tmp_path / "r")])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad.yaml" in lines[0] and "recipe.epochs" in lines[0]
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(base_config(poisson_data)))
    unknown = runner.invoke(app, ["train", str(good), "--set", "recipe.nope=1"])
    assert unknown.exit_code == 2 and "recipe.nope" in unknown.output
    missing = runner.invoke(app, ["train", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "not found" in missing.output
    (tmp_path / "junk.yaml").write_text("mode: [unclosed\n")
    junk = runner.invoke(app, ["train", str(tmp_path / "junk.yaml")])
    assert junk.exit_code == 2 and "junk.yaml" in junk.output and "Traceback" not in junk.output
    assert not (tmp_path / "r").exists()


def test_finetune_config_without_model_takes_the_checkpoint_architecture(poisson_data, tmp_path):
    pre_cfg = tmp_path / "pre.yaml"
    pre_cfg.write_text(yaml.safe_dump(base_config(poisson_data, mode="pretrain", model={"width": 10, "modes": 3},
                                                  recipe={"epochs": 1})))
    assert runner.invoke(app, ["train", str(pre_cfg), "--run-dir", str(tmp_path / "pre")]).exit_code == 0
    ft = base_config(poisson_data, mode="finetune", n_train=8, recipe={"epochs": 1})
    del ft["model"]
    ft["init_checkpoint"] = str(tmp_path / "pre" / "checkpoints" / "best.pt")
    ft_cfg = tmp_path / "ft.yaml"
    ft_cfg.write_text(yaml.safe_dump(ft))
    res = runner.invoke(app, ["train", str(ft_cfg), "--run-dir", str(tmp_path / "ft"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["params"] == read_result(tmp_path / "pre")["params"]


def _record_dataset(ws, name, path):
    from sciml_tui.store import WorkspaceStore

    WorkspaceStore(ws).upsert_dataset({"id": f"{name}-0123abcd", "name": name, "system": "poisson",
                                       "path": str(path), "state": "ready"})


def test_train_speaks_the_spec_vocabulary_and_its_run_shows_everywhere(poisson_data, tmp_path, workspace):
    _record_dataset(workspace, "pois", poisson_data)
    cfg = tmp_path / "quick.yaml"
    cfg.write_text("mode: scratch\ndata: pois\nmodel: tiny\nn_train: 16\n"
                   "recipe: {epochs: 2, batch_size: 8}\ndevice: cpu\nthreads: 1\n")
    res = runner.invoke(app, ["train", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    rid = json.loads(res.output)["id"]
    saved = yaml.safe_load((workspace / "runs" / rid / "config.yaml").read_text())
    assert saved["data"] == [{"path": str(poisson_data), "weight": 1.0}] and saved["model"]["preset"] == "tiny"
    status = runner.invoke(app, ["status", "-w", str(workspace), "--sweep", "train-quick", "--json"])
    assert status.exit_code == 0, status.output
    [row] = json.loads(status.output)["runs"]
    assert row["id"] == rid and row["state"] == "done" and row["test_error"] is not None
    assert "train-quick" in runner.invoke(app, ["status", "-w", str(workspace)]).output
    logs = runner.invoke(app, ["logs", rid, "-w", str(workspace)])
    assert logs.exit_code == 0 and "epoch" in logs.output
    results = runner.invoke(app, ["results", "train-quick", "-w", str(workspace), "--json"])
    assert results.exit_code == 0, results.output
    [curve] = json.loads(results.output)["curves"]
    assert curve["init"] == "scratch" and curve["points"][0]["n"] == 16
    from sciml_tui.store import WorkspaceStore

    rec = WorkspaceStore(workspace).run(rid)
    assert rec["datasets"] == ["pois-0123abcd"] and rec["run_dir"] == str(workspace / "runs" / rid)


def test_train_takes_a_dataset_folder_relative_to_the_config_and_a_mixture(poisson_data, tmp_path, workspace):
    (tmp_path / "cfgs").mkdir()
    link = tmp_path / "cfgs" / "pois"
    link.symlink_to(poisson_data)
    cfg = tmp_path / "cfgs" / "mix.yaml"
    cfg.write_text("mode: pretrain\ndata: {pois: 1.0, " + str(poisson_data) + ": 2.0}\nmodel: tiny\n"
                   "recipe: {epochs: 1, batch_size: 8}\ndevice: cpu\n")
    res = runner.invoke(app, ["train", str(cfg), "--json"])
    assert res.exit_code == 0, res.output
    saved = yaml.safe_load((workspace / "runs" / json.loads(res.output)["id"] / "config.yaml").read_text())
    assert [d["weight"] for d in saved["data"]] == [1.0, 2.0] and saved["layout"] == "union"


def test_train_config_errors_list_every_problem_with_its_line(tmp_path, workspace):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("mode: scratch\ndata: nowhere\nmodel: fno-9t\nrecipe:\n  epochs: 0\n  lr: -1\n")
    res = runner.invoke(app, ["train", str(cfg)])
    assert res.exit_code == 2 and "Traceback" not in res.output and "more problems" not in res.output
    assert f"{cfg}:5: recipe.epochs" in res.output and f"{cfg}:6: recipe.lr" in res.output
    cfg.write_text("mode: scratch\ndata: nowhere\nmodel: fno-9t\n")
    res = runner.invoke(app, ["train", str(cfg)])
    assert res.exit_code == 2
    assert f"{cfg}:2: data: unknown dataset 'nowhere'" in res.output
    assert f"{cfg}:3: model: unknown model preset 'fno-9t'" in res.output
    assert not (workspace / ".sciml").exists()  # nothing recorded for a config that does not load
