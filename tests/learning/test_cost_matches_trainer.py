"""The cost estimate counts the validation work the trainer actually does (one cadence rule)."""

from types import SimpleNamespace

import pytest

from sciml_tui.learning import trainer as trainer_mod
from sciml_tui.learning.config import RunConfig
from sciml_tui.learning.metrics_log import read_metrics, read_result
from sciml_tui.learning.run import run_in_dir
from sciml_tui.specs.cost import run_work

from .conftest import base_config, make_dataset, write_run


@pytest.mark.parametrize("recipe", [{"epochs": 30}, {"epochs": 4, "val_share": None}])
def test_estimated_validation_passes_equal_the_trainers(tmp_path, monkeypatch, recipe):
    data = make_dataset(tmp_path / "data", sizes=(16, 200, 8))  # a big val split: the default validates a subset
    cfg = base_config(data, n_train=8, recipe=recipe)
    run = write_run(tmp_path / "run", cfg)
    seen: list[int] = []
    real = trainer_mod.evaluate

    def counting(model, data, *args, **kw):
        seen.append(len(data))
        return real(model, data, *args, **kw)

    monkeypatch.setattr(trainer_mod, "evaluate", counting)
    result = run_in_dir(run)
    assert result["status"] == "done", result

    unit = SimpleNamespace(id="r", role="sweep", datasets=["d"],
                           config=RunConfig.model_validate(cfg).model_dump(mode="json"))
    work = run_work(unit, {"d": SimpleNamespace(sizes={"train": 16, "val": 200, "test": 8}, n=16, system="poisson")})
    validated = [r["epoch"] for r in read_metrics(run)["epochs"] if r["val_error"] is not None]
    assert validated == work.val_plan.epochs
    assert read_result(run)["val_samples"] == work.val_plan.samples
    assert sum(seen) == work.eval_passes  # epochs' validations + the full-split pass + test
    assert len(seen) == work.validations + (1 if work.final_val_passes else 0) + 1
