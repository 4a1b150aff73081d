import json

import pytest
import torch

from sciml_tui.errors import UserError
from sciml_tui.learning.checkpoint import load_checkpoint
from sciml_tui.learning.entry import main as entry_main
from sciml_tui.learning.metrics_log import read_metrics, read_result
from sciml_tui.learning.run import run_in_dir

from .conftest import base_config, make_dataset, write_run


@pytest.fixture(scope="module")
def pretrained(poisson_data, tmp_path_factory):
    run = write_run(tmp_path_factory.mktemp("runs") / "pre", base_config(poisson_data, mode="pretrain"))
    result = run_in_dir(run)
    assert result["status"] == "done", result
    return run


def test_pretrain_writes_the_run_directory_contract(pretrained):
    for name in ("config.yaml", "metrics.json", "train.log", "result.json", "checkpoints/best.pt", "checkpoints/last.pt"):
        assert (pretrained / name).is_file(), name
    result = read_result(pretrained)
    for key in ("status", "test_error", "best_val_error", "best_epoch", "epochs_run", "elapsed_s", "n_train", "params",
                "message"):
        assert key in result
    assert result["epochs_run"] == 3 and result["n_train"] == 32 and 0 < result["test_error"] < 10
    metrics = read_metrics(pretrained)
    assert [r["epoch"] for r in metrics["epochs"]] == [1, 2, 3]
    assert set(metrics["epochs"][0]) == {"epoch", "train_loss", "val_error", "lr", "samples_per_s", "time_s"}
    assert metrics["epochs"][0]["lr"] == pytest.approx(1e-3)
    assert metrics["epochs"][1]["lr"] == pytest.approx(0.5e-3 * (1 + torch.cos(torch.tensor(torch.pi / 3)).item()))
    assert len(metrics["steps"]) == 12 and set(metrics["steps"][0]) == {"step", "epoch", "loss"}
    best = torch.load(pretrained / "checkpoints/best.pt", weights_only=True)
    assert best["scales"]["f"] > 0 and best["layout"] == "compact" and best["channels"] == ["f", "K11", "K22", "K12"]
    assert best["epoch"] == result["best_epoch"]
    # 3 epochs: epoch 3 is the last 10%; its gain over the best of epochs 1-2, relative
    vals = [r["val_error"] for r in metrics["epochs"]]
    assert result["late_gain"] == pytest.approx(max(0.0, (min(vals[:2]) - min(vals)) / min(vals[:2])))
    last = torch.load(pretrained / "checkpoints/last.pt", weights_only=True)
    assert {"optimizer", "scheduler", "epoch"} <= set(last)


def test_read_helpers_tolerate_missing_and_torn_files(tmp_path):
    assert read_metrics(tmp_path) == {"epochs": [], "steps": []}
    assert read_result(tmp_path) is None
    (tmp_path / "metrics.json").write_text('{"epochs": {"1": {"ep')
    assert read_metrics(tmp_path) == {"epochs": [], "steps": []}


def test_finetune_and_zeroshot_use_the_pretraining_scales(pretrained, poisson_data, tmp_path):
    ckpt = str(pretrained / "checkpoints/best.pt")
    ft = write_run(tmp_path / "ft", {**base_config(poisson_data, mode="finetune", n_train=8), "init_checkpoint": ckpt})
    del_model = json.loads(json.dumps(base_config(poisson_data, mode="zeroshot")))
    del del_model["model"]  # zero-shot takes the architecture from the checkpoint
    zs = write_run(tmp_path / "zs", {**del_model, "init_checkpoint": ckpt})
    r_ft, r_zs = run_in_dir(ft), run_in_dir(zs)
    assert r_ft["status"] == "done" and r_ft["n_train"] == 8
    assert r_zs["status"] == "done" and r_zs["epochs_run"] == 0 and r_zs["n_train"] is None
    pre = load_checkpoint(ckpt)
    assert load_checkpoint(ft / "checkpoints/best.pt")["scales"] == pre["scales"]
    assert r_zs["test_error"] == pytest.approx(read_result(pretrained)["test_error"], rel=1e-5)
    assert not (zs / "checkpoints").exists()


def test_checkpoint_of_another_layout_or_architecture_is_refused(pretrained, tmp_path):
    ckpt = str(pretrained / "checkpoints/best.pt")
    helm = make_dataset(tmp_path / "helm", "helmholtz", n=16, sizes=(8, 4, 4), lo=1, hi=3)
    bad_channels = write_run(tmp_path / "a", {**base_config(helm, mode="finetune"), "init_checkpoint": ckpt})
    r = run_in_dir(bad_channels)
    assert r["status"] == "failed" and "expects input channels" in r["message"]
    bad_layout = write_run(tmp_path / "b", {**base_config(helm, mode="finetune", layout="union"), "init_checkpoint": ckpt})
    r = run_in_dir(bad_layout)
    assert r["status"] == "failed" and "compact channel layout" in r["message"]
    bad_arch_cfg = base_config(ckpt_data(pretrained), mode="finetune", model={"width": 12, "modes": 3})
    r = run_in_dir(write_run(tmp_path / "c", {**bad_arch_cfg, "init_checkpoint": ckpt}))
    assert r["status"] == "failed" and "holds a model" in r["message"]


def ckpt_data(run):
    import yaml

    return yaml.safe_load((run / "config.yaml").read_text())["data"][0]["path"]


def test_corrupt_checkpoint_is_a_user_error(pretrained, tmp_path):
    good = (pretrained / "checkpoints/best.pt").read_bytes()
    bad = tmp_path / "bad.pt"
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(UserError, match="not a readable checkpoint"):
        load_checkpoint(bad)
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(UserError, match="not a checkpoint written by this tool"):
        load_checkpoint(tmp_path / "foreign.pt")


def test_divergence_is_reported_with_exit_code_3(poisson_data, tmp_path, capsys):
    run = write_run(tmp_path / "div", base_config(poisson_data, recipe={"lr": 1e12, "epochs": 3}))
    code = entry_main([str(run)])
    result = read_result(run)
    assert code == 3 and result["status"] == "diverged"
    assert "diverged" in result["message"] and "lower learning rate" in result["message"]
    assert result["test_error"] is None


def test_failed_run_writes_result_and_exit_code_1(tmp_path, capsys):
    run = write_run(tmp_path / "missing", base_config(tmp_path / "nowhere"))
    assert entry_main([str(run)]) == 1
    result = read_result(run)
    assert result["status"] == "failed" and "not found" in result["message"]
    assert "error:" in capsys.readouterr().err


def test_bad_config_names_file_and_key(tmp_path):
    run = write_run(tmp_path / "badcfg", {"mode": "scratch", "data": [{"path": "x"}], "recipe": {"lr": -1}})
    assert entry_main([str(run)]) == 1
    msg = read_result(run)["message"]
    assert "config.yaml" in msg and "recipe.lr" in msg


def test_bf16_precision_flag_trains_on_cpu(poisson_data, tmp_path):
    r = run_in_dir(write_run(tmp_path / "bf16", base_config(poisson_data, precision="bf16", recipe={"epochs": 2})))
    assert r["status"] == "done" and 0 < r["test_error"] < 10


def test_cuda_device_without_cuda_is_a_clear_failure(poisson_data, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = run_in_dir(write_run(tmp_path / "cuda", base_config(poisson_data, device="cuda")))
    assert r["status"] == "failed" and "CUDA is not available" in r["message"]


def test_mixture_pretraining_in_the_union_layout_then_finetune(tmp_path):
    a = make_dataset(tmp_path / "p", "poisson", n=16, sizes=(16, 4, 4))
    b = make_dataset(tmp_path / "h", "helmholtz", n=16, sizes=(16, 4, 4), lo=1, hi=3)
    mix = base_config(a, mode="pretrain", layout="union", n_train=16, recipe={"epochs": 2})
    mix["data"] = [{"path": str(a), "weight": 3}, {"path": str(b), "weight": 1}]
    pre = write_run(tmp_path / "mix", mix)
    r = run_in_dir(pre)
    assert r["status"] == "done" and r["n_train"] == 16
    best = load_checkpoint(pre / "checkpoints/best.pt")
    assert best["channels"] == ["f", "D11", "D22", "D12", "a1", "a2", "omega"] and best["arch"]["in_channels"] == 7
    assert best["systems"] == ["helmholtz", "poisson"] and len(best["scales"]["coef"]) == 6
    ckpt = str(pre / "checkpoints/best.pt")
    ft = run_in_dir(write_run(tmp_path / "ft", {**base_config(b, mode="finetune", layout="union", n_train=8),
                                                 "init_checkpoint": ckpt}))
    assert ft["status"] == "done"
    compact = run_in_dir(write_run(tmp_path / "ftc", {**base_config(b, mode="finetune", n_train=8),
                                                       "init_checkpoint": ckpt}))
    assert compact["status"] == "failed" and "layout: union" in compact["message"]


@pytest.mark.slow
def test_compile_flag_trains_and_matches_eager(poisson_data, tmp_path):
    eager = run_in_dir(write_run(tmp_path / "eager", base_config(poisson_data, recipe={"epochs": 1})))
    compiled = run_in_dir(write_run(tmp_path / "compiled", base_config(poisson_data, compile=True,
                                                                        recipe={"epochs": 1})))
    assert compiled["status"] == "done", compiled["message"]
    assert compiled["test_error"] == pytest.approx(eager["test_error"], rel=1e-3)


def test_subset_offset_trains_on_a_shifted_subset(poisson_data, tmp_path):
    from sciml_tui.learning.config import RunConfig
    from sciml_tui.learning.data import read_split
    from sciml_tui.learning.trainer import Trainer

    full = read_split(poisson_data / "train.h5")
    for offset in (0, 1):
        cfg = RunConfig(**base_config(poisson_data, mode="scratch", n_train=8, subset_offset=offset))
        trainer = Trainer(cfg, tmp_path / f"off{offset}")
        trainer._prepare()
        (split,) = trainer.train_splits
        torch.testing.assert_close(torch.from_numpy(split.f), torch.from_numpy(full.f[offset::4]))


def test_a_run_on_a_subset_normalizes_with_the_pools_scales(poisson_data, tmp_path):
    from sciml_tui.learning.config import RunConfig
    from sciml_tui.learning.data import pool_scales
    from sciml_tui.learning.trainer import Trainer

    trainer = Trainer(RunConfig(**base_config(poisson_data, mode="scratch", n_train=8)), tmp_path / "sub")
    trainer._prepare()
    assert trainer.scales == pytest.approx(pool_scales([poisson_data], "compact"))
