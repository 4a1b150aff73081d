import json

import yaml
from typer.testing import CliRunner

from sciml_tui.cli import app
from sciml_tui.learning.metrics_log import read_result

from .conftest import base_config

runner = CliRunner()


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
